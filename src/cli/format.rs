//! Output formatting as docker prints it: `--format` templates, tables
//! aligned like Go's tabwriter, human sizes and durations, statuses.

use super::template::{Mode, Row, Template, TemplateError, Val};
use chrono::{DateTime, Utc};
use thiserror::Error;

/// docker's CLI reports both parse and execution errors of a template as
/// "template parsing error: " + Go's text.
#[derive(Debug, Error)]
pub enum FormatError {
    #[error("template parsing error: {0}")]
    Parse(String),
    #[error("template parsing error: {0}")]
    Exec(String),
    /// A message in the command's own words (`ps`, `events`, `info`).
    #[error("{0}")]
    Other(String),
}

impl From<TemplateError> for FormatError {
    fn from(e: TemplateError) -> Self {
        match e {
            TemplateError::Parse(m) => FormatError::Parse(m),
            TemplateError::Exec(m) => FormatError::Exec(m),
        }
    }
}

/// docker's CLI turns the two-character escapes `\t` and `\n` of a
/// `--format` into real tabs and newlines.
fn unescape(f: &str) -> String {
    f.replace("\\t", "\t").replace("\\n", "\n")
}

/// The key under which a row carries its labels for the `Label` method
/// (taken out of the row's fields).
pub const LABELS_KEY: &str = "\0labels";

/// A row's JSON as the formatter context docker's CLI would build.
fn to_row(type_name: &str, v: &serde_json::Value) -> Row {
    let mut fields = v.as_object().cloned().unwrap_or_default();
    let labels = fields.remove(LABELS_KEY).map(|l| {
        l.as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect()
            })
            .unwrap_or_default()
    });
    Row {
        type_name: type_name.to_string(),
        fields,
        labels,
        header: false,
        ..Row::default()
    }
}

/// Render rows for a listing command (`ps`, `images`), as docker's
/// formatter.Context does.
/// `format`: the user's `--format` (None = default table; "table", "table TMPL",
/// "json", or a plain template applied per row, no header).
/// `default_table`: e.g. "table {{.ID}}\t{{.Image}}".
/// `headers`: field name -> column header, e.g. ("ID", "CONTAINER ID").
/// `type_name`: Go's name of the row's context, as errors show it.
/// Returns the full text to print, each line ending in '\n'.
pub fn render_rows(
    format: Option<&str>,
    default_table: &str,
    headers: &[(&str, &str)],
    type_name: &str,
    rows: &[serde_json::Value],
) -> Result<String, FormatError> {
    let format = match format {
        None | Some("") | Some("table") => default_table.to_string(),
        Some(f) => f.to_string(),
    };
    let table = format.starts_with("table");
    let body = match format.strip_prefix("table") {
        Some(rest) => rest,
        None if format == "json" => "{{json .}}",
        None => &format,
    };
    // `ps` words its errors its own way.
    let ps = type_name == "*formatter.ContainerContext";
    let body = body.trim_matches(' ');
    let src = if ps { body.to_string() } else { unescape(body) };
    let mut tmpl = Template::parse(&src).map_err(|e| match e {
        TemplateError::Parse(m) | TemplateError::Exec(m) if ps => {
            FormatError::Other(format!("failed to parse template: {m}"))
        }
        e => e.into(),
    })?;
    if ps {
        // docker's `ps` reports columns of the --format as typed.
        tmpl.unescape_text();
        tmpl.col_offset = format.len().saturating_sub(
            format
                .trim_start_matches("table")
                .trim_start_matches(' ')
                .len(),
        );
    }
    let mut out = String::new();
    for r in rows {
        let row = Val::Row(std::rc::Rc::new(to_row(type_name, r)));
        out.push_str(&tmpl.execute(&row, Mode::Row).map_err(|e| match e {
            TemplateError::Parse(m) | TemplateError::Exec(m) if ps => {
                FormatError::Other(format!("failed to execute template: {m}"))
            }
            e => e.into(),
        })?);
        out.push('\n');
    }
    if !table {
        return Ok(out);
    }
    let mut text = tmpl.execute_header(&super::template::header_value(headers));
    text.push('\n');
    text.push_str(&out);
    Ok(tabwriter(&text))
}

/// Apply one template to one value of a typed struct (`version`, `info`,
/// `events`): `type_name` is Go's name for it. No trailing newline added.
pub fn render_struct(
    tmpl: &str,
    type_name: &str,
    value: &serde_json::Value,
) -> Result<String, FormatError> {
    let row = Val::Row(std::rc::Rc::new(to_row(type_name, value)));
    Ok(Template::parse(&unescape(tmpl))?.execute(&row, Mode::Row)?)
}

/// Apply one template to one inspect document (`inspect -f`), docker's
/// typed try and raw fallback. No trailing newline added.
pub fn render_template(tmpl: &str, value: &serde_json::Value) -> Result<String, FormatError> {
    Ok(Template::parse(tmpl)?.execute_inspect(value)?)
}

// Go's tabwriter.NewWriter(out, 10, 1, 3, ' ', 0), as docker's tables use.
const MIN_WIDTH: usize = 10;
const PADDING: usize = 3;

/// Align tab-separated cells in columns as Go's text/tabwriter does: a
/// column runs over consecutive lines that have a cell in it; the text
/// after a line's last tab is not part of any column.
pub fn tabwriter(text: &str) -> String {
    tabwriter_min(text, MIN_WIDTH)
}

/// `tabwriter` with another minimum cell width (`top`'s is 20).
pub fn tabwriter_min(text: &str, min_width: usize) -> String {
    let lines: Vec<Vec<&str>> = text
        .strip_suffix('\n')
        .unwrap_or(text)
        .split('\n')
        .map(|l| l.split('\t').collect())
        .collect();
    let mut out = String::new();
    let mut widths = Vec::new();
    format_block(&lines, min_width, &mut widths, &mut out);
    out
}

/// Go's tabwriter cell alignment: a run of lines that have a cell in
/// this column (one that is not their last) shares its width.
fn format_block(block: &[Vec<&str>], min: usize, widths: &mut Vec<usize>, out: &mut String) {
    let column = widths.len();
    let in_column = |l: &Vec<&str>| l.len().saturating_sub(1) > column;
    let mut rest = block;
    while let Some(start) = rest.iter().position(in_column) {
        let (before, from) = rest.split_at_checked(start).unwrap_or((rest, &[]));
        write_lines(before, widths, out);
        let len = from
            .iter()
            .position(|l| !in_column(l))
            .unwrap_or(from.len());
        let (run, after) = from.split_at_checked(len).unwrap_or((from, &[]));
        let width = run
            .iter()
            .filter_map(|l| l.get(column))
            .map(|cell| cell.chars().count().saturating_add(PADDING))
            .fold(min, usize::max);
        widths.push(width);
        format_block(run, min, widths, out);
        widths.pop();
        rest = after;
    }
    write_lines(rest, widths, out);
}

fn write_lines(lines: &[Vec<&str>], widths: &[usize], out: &mut String) {
    for line in lines {
        let last = line.len().saturating_sub(1);
        for (j, cell) in line.iter().enumerate() {
            out.push_str(cell);
            if j < last {
                let w = widths.get(j).copied().unwrap_or(0);
                out.push_str(&" ".repeat(w.saturating_sub(cell.chars().count())));
            }
        }
        out.push('\n');
    }
}

/// Go's %.Ng: N significant digits, trailing zeros dropped, exponent form
/// when the exponent is < -4 or >= N.
fn fmt_g(v: f64, prec: usize) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let e = format!("{:.*e}", prec.saturating_sub(1), v);
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let trim = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    let prec = i32::try_from(prec).unwrap_or(i32::MAX);
    if exp < -4 || exp >= prec {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", trim(mant), exp.abs())
    } else {
        // exp is within ±324 (f64's range), prec small.
        let decimals = prec.saturating_sub(1).saturating_sub(exp).max(0) as usize;
        trim(&format!("{v:.decimals$}"))
    }
}

/// docker's HumanSize (go-units HumanSizeWithPrecision(size, 3)): decimal
/// units: "4.26kB", "77.8MB".
pub fn human_size(bytes: u64) -> String {
    human_size_prec(bytes, 3)
}

/// HumanSize with `prec` significant digits (progress bars use 4).
pub fn human_size_prec(bytes: u64, prec: usize) -> String {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    let (v, unit) = scaled(bytes, 1000.0, &UNITS);
    format!("{}{unit}", fmt_g(v, prec))
}

/// docker's BytesSize (go-units CustomSize("%.4g%s", size, 1024, ...)):
/// binary units, as `stats` shows memory: "1.234MiB", "7.5GiB".
pub fn bytes_size(bytes: u64) -> String {
    const UNITS: [&str; 9] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];
    let (v, unit) = scaled(bytes, 1024.0, &UNITS);
    format!("{}{unit}", fmt_g(v, 4))
}

/// `bytes` in the largest of `units` (each `base` times the one before)
/// that keeps the value at least 1.
fn scaled(bytes: u64, base: f64, units: &[&'static str]) -> (f64, &'static str) {
    let mut v = bytes as f64;
    let mut units = units;
    while let [unit, bigger @ ..] = units {
        if v < base || bigger.is_empty() {
            return (v, unit);
        }
        v /= base;
        units = bigger;
    }
    (v, "")
}

pub use crate::util::human::{human_duration, status_text};

/// "3 seconds ago", as `docker ps` CREATED and `docker images` CREATED.
pub fn since(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    format!(
        "{} ago",
        human_duration(now.signed_duration_since(t).to_std().unwrap_or_default())
    )
}

/// An ID as docker shows it by default: no "sha256:", 12 hex digits.
pub fn truncate_id(id: &str) -> &str {
    let h = id.strip_prefix("sha256:").unwrap_or(id);
    crate::util::first_chars(h, 12)
}

/// docker's LABELS cell: `k=v` pairs joined by commas, in key order.
pub fn labels_text(labels: &std::collections::BTreeMap<String, String>) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Print inspect documents: docker's JSON array, or `-f` applied to each;
/// exit 1 when one of the objects was not found.
pub(crate) fn print_values(
    values: Vec<serde_json::Value>,
    format: Option<&str>,
    failed: bool,
) -> crate::error::Result<i32> {
    match format.filter(|f| !f.is_empty()) {
        Some(f) if f != "json" => {
            // As docker: each document that renders is printed; the
            // errors come after, and a blank line stands for no output.
            let mut errors = Vec::new();
            let mut printed = false;
            for v in &values {
                match render_template(f, v) {
                    Ok(text) => {
                        println!("{text}");
                        printed = true;
                    }
                    Err(e) => errors.push(e),
                }
            }
            if !printed {
                println!();
            }
            for e in &errors {
                eprintln!("{e}");
            }
            if !errors.is_empty() {
                return Ok(1);
            }
        }
        _ => {
            // docker indents its inspect JSON by 4 spaces.
            let mut buf = Vec::new();
            let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
            let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
            serde::Serialize::serialize(&serde_json::Value::Array(values), &mut ser)
                .map_err(|e| crate::error::Error::msg(format!("encoding JSON: {e}")))?;
            println!("{}", String::from_utf8_lossy(&buf));
        }
    }
    Ok(if failed { 1 } else { 0 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::Duration;

    #[test]
    fn sizes_like_docker() {
        for (n, s) in [
            (0, "0B"),
            (999, "999B"),
            (1000, "1kB"),
            (4260, "4.26kB"),
            (77_812_345, "77.8MB"),
            (123_456_789, "123MB"),
            (1_234_567_890, "1.23GB"),
            (10_500_000, "10.5MB"),
            (999_999, "1e+03kB"),
        ] {
            assert_eq!(human_size(n), s, "{n}");
        }
    }

    #[test]
    fn binary_sizes_like_docker() {
        for (n, s) in [
            (0, "0B"),
            (1000, "1000B"),
            (1024, "1KiB"),
            (1_293_942, "1.234MiB"),
            (8_053_063_680, "7.5GiB"),
            (1_048_063, "1023KiB"),
            (1_048_575, "1024KiB"),
            (65_536 * 1024, "64MiB"),
        ] {
            assert_eq!(bytes_size(n), s, "{n}");
        }
    }

    #[test]
    fn durations_like_docker() {
        let d = |s: u64| human_duration(Duration::from_secs(s));
        assert_eq!(
            human_duration(Duration::from_millis(300)),
            "Less than a second"
        );
        assert_eq!(d(1), "1 second");
        assert_eq!(d(59), "59 seconds");
        assert_eq!(d(60), "About a minute");
        assert_eq!(d(119), "About a minute");
        assert_eq!(d(120), "2 minutes");
        assert_eq!(d(3599), "59 minutes");
        assert_eq!(d(3600), "About an hour");
        assert_eq!(d(5400), "2 hours");
        assert_eq!(d(47 * 3600), "47 hours");
        assert_eq!(d(48 * 3600), "2 days");
        assert_eq!(d(14 * 86400), "2 weeks");
        assert_eq!(d(60 * 86400), "2 months");
        assert_eq!(d(730 * 86400), "2 years");
    }

    #[test]
    fn statuses() {
        let now = Utc::now();
        let t = Some(now - chrono::Duration::seconds(5));
        assert_eq!(status_text("created", 0, None, None, now), "Created");
        assert_eq!(status_text("running", 0, t, None, now), "Up 5 seconds");
        assert_eq!(
            status_text("paused", 0, t, None, now),
            "Up 5 seconds (Paused)"
        );
        assert_eq!(
            status_text("exited", 137, t, t, now),
            "Exited (137) 5 seconds ago"
        );
        assert_eq!(truncate_id("sha256:0123456789abcdef"), "0123456789ab");
    }

    const HEADERS: &[(&str, &str)] = &[
        ("ID", "CONTAINER ID"),
        ("Image", "IMAGE"),
        ("Names", "NAMES"),
    ];

    #[test]
    fn tables_align_like_tabwriter() {
        let rows = vec![
            json!({"ID": "0123456789ab", "Image": "busybox", "Names": "a"}),
            json!({"ID": "ba9876543210", "Image": "localhost:5000/app:1", "Names": "bb"}),
        ];
        let out = render_rows(
            None,
            "table {{.ID}}\t{{.Image}}\t{{.Names}}",
            HEADERS,
            "T",
            &rows,
        )
        .unwrap();
        assert_eq!(
            out,
            "CONTAINER ID   IMAGE                  NAMES\n\
             0123456789ab   busybox                a\n\
             ba9876543210   localhost:5000/app:1   bb\n"
        );
        // Short columns still take the minimum width of 10.
        let out = render_rows(
            Some("table {{.Names}}\\t{{.ID}}"),
            "",
            HEADERS,
            "T",
            &rows[..1],
        )
        .unwrap();
        assert_eq!(out, "NAMES     CONTAINER ID\na         0123456789ab\n");
        // Header alone when there are no rows.
        let out = render_rows(None, "table {{.ID}}\t{{.Names}}", HEADERS, "T", &[]).unwrap();
        assert_eq!(out, "CONTAINER ID   NAMES\n");
    }

    #[test]
    fn plain_and_json_formats() {
        let rows = vec![json!({"ID": "x", "Names": "n"})];
        assert_eq!(
            render_rows(Some("{{.ID}}:{{.Names}}"), "", HEADERS, "T", &rows).unwrap(),
            "x:n\n"
        );
        assert_eq!(
            render_rows(Some("{{.ID}}\\t{{.Names}}"), "", HEADERS, "T", &rows).unwrap(),
            "x\tn\n"
        );
        assert_eq!(
            render_rows(Some("json"), "", HEADERS, "T", &rows).unwrap(),
            "{\"ID\":\"x\",\"Names\":\"n\"}\n"
        );
        assert!(render_rows(Some("{{.ID"), "", HEADERS, "T", &rows).is_err());
        assert_eq!(
            render_template("{{.A}}", &json!({"A": [1, 2]})).unwrap(),
            "[1 2]"
        );
    }

    #[test]
    fn tabwriter_blocks() {
        // Lines without a cell end a column block, as in Go.
        assert_eq!(
            tabwriter("a\tb\nccc\nlonger-than-ten\tx\n"),
            "a         b\nccc\nlonger-than-ten   x\n"
        );
    }
}
