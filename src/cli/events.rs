//! `rdock events` (and `system events`): the journal the other commands
//! write, filtered and printed as docker prints events; followed until
//! `--until` or an interrupt.

use crate::error::{Error, Result};
use crate::events::read::{follow, sent, Filters, Flow, Query};
use crate::events::Message;
use crate::paths::Paths;
use chrono::{DateTime, Utc};
use clap::Args;
use serde_json::{json, Value};
use std::io::Write;

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Filter output based on conditions provided
    #[arg(short = 'f', long, value_name = "filter")]
    pub filter: Vec<String>,
    #[arg(long, help = super::help::INSPECT_FORMAT_HELP)]
    pub format: Option<String>,
    /// Show all events created since timestamp
    #[arg(long)]
    pub since: Option<String>,
    /// Stream events until this timestamp
    #[arg(long)]
    pub until: Option<String>,
}

/// docker's default line: local time, type, action, actor and attributes.
fn line(m: &Message) -> String {
    let t = DateTime::from_timestamp(
        m.time_nano / 1_000_000_000,
        (m.time_nano % 1_000_000_000) as u32,
    )
    .unwrap_or_default()
    .with_timezone(&chrono::Local);
    // Go's RFC3339NanoFixed: "Z" for UTC, else the offset.
    let offset = if t.offset().local_minus_utc() == 0 {
        "Z".to_string()
    } else {
        t.format("%:z").to_string()
    };
    let mut s = format!(
        "{}{offset} {} {} {}",
        t.format("%Y-%m-%dT%H:%M:%S%.9f"),
        m.kind,
        m.action,
        m.actor.id
    );
    if !m.actor.attributes.is_empty() {
        let attrs: Vec<String> = m
            .actor
            .attributes
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        s.push_str(&format!(" ({})", attrs.join(", ")));
    }
    s
}

/// The message as templates see docker's struct (field names, not the
/// JSON keys).
fn template_value(m: &Message) -> Value {
    json!({
        "Status": m.status, "ID": m.id, "From": m.from,
        "Type": m.kind, "Action": m.action,
        "Actor": {"ID": m.actor.id, "Attributes": m.actor.attributes},
        "Scope": m.scope, "Time": m.time, "TimeNano": m.time_nano,
    })
}

enum Output {
    Default,
    Json,
    Template(String),
}

fn render(out: &Output, m: &Message) -> Result<String> {
    Ok(match out {
        Output::Default => line(m),
        Output::Json => serde_json::to_string(m).map_err(|e| Error::msg(e.to_string()))?,
        Output::Template(t) => super::format::render_template(t, &template_value(m))?,
    })
}

pub fn run(paths: &Paths, a: EventsArgs) -> Result<i32> {
    let filters = Filters::parse(&a.filter)?;
    let now = Utc::now();
    let time = |s: &Option<String>| {
        s.as_deref()
            .map(|s| super::timearg::parse_time(s, now))
            .transpose()
            .map_err(|e| Error::msg(e.to_string()))
    };
    let q = Query {
        since: time(&a.since)?,
        until: time(&a.until)?,
        filters,
    };
    let text = |arg: &Option<String>, t: Option<DateTime<Utc>>| match (arg, t) {
        (Some(a), Some(t)) => sent(a, t),
        _ => String::new(),
    };
    q.check(&text(&a.since, q.since), &text(&a.until, q.until))?;
    let output = match a.format.as_deref().map(str::trim) {
        None | Some("") => Output::Default,
        Some("json") | Some("{{json .}}") => Output::Json,
        Some(t) => Output::Template(t.to_string()),
    };
    let mut stdout = std::io::stdout().lock();
    let mut emit = |m: &Message| -> Result<Flow> {
        // A closed pipe (`| head`) ends the stream quietly.
        if writeln!(stdout, "{}", render(&output, m)?)
            .and_then(|_| stdout.flush())
            .is_err()
        {
            return Ok(Flow::Stop);
        }
        Ok(Flow::More)
    };
    follow(paths, &q, &mut emit, &mut || Flow::More)?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(kind: &str, action: &str, id: &str, attrs: &[(&str, &str)]) -> Message {
        crate::events::read::test_message(kind, action, id, attrs)
    }

    #[test]
    fn default_lines_read_as_dockers() {
        let mut m = msg(
            "container",
            "die",
            "abc",
            &[("exitCode", "0"), ("name", "web")],
        );
        m.time_nano = 1_700_000_000_123_456_789;
        let l = line(&m);
        assert!(l.contains(".123456789"), "{l}");
        assert!(
            l.ends_with(" container die abc (exitCode=0, name=web)"),
            "{l}"
        );
    }
}
