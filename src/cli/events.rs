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
    Template(super::template::Template),
}

/// The message as docker's template sees its `*events.Message`: a struct
/// (a field it lacks is an error), whose `Actor` is a struct too (printed
/// `{ID map[...]}`) and whose `Attributes` a map (a key it lacks prints
/// "<no value>").
fn execute(t: &super::template::Template, v: Value) -> std::result::Result<String, String> {
    use super::template::{Mode, Row, TemplateError, Val};
    let row = Row {
        type_name: "*events.Message".into(),
        fields: v.as_object().cloned().unwrap_or_default(),
        structs: &[("Actor", "events.Actor")],
        ..Row::default()
    };
    t.execute(&Val::Row(std::rc::Rc::new(row)), Mode::Row)
        .map_err(|(TemplateError::Parse(m) | TemplateError::Exec(m))| m)
}

/// docker's check of a user's template: parsed, then run on an empty
/// message; either failure is "Error parsing format", exit 64.
fn template(format: &str) -> std::result::Result<super::template::Template, String> {
    use super::template::{Template, TemplateError};
    let t =
        Template::parse(format).map_err(|(TemplateError::Parse(m) | TemplateError::Exec(m))| m)?;
    execute(&t, template_value(&Message::default()))?;
    Ok(t)
}

fn render(out: &Output, m: &Message) -> Result<String> {
    Ok(match out {
        Output::Default => line(m),
        Output::Json => serde_json::to_string(m).map_err(|e| Error::msg(e.to_string()))?,
        Output::Template(t) => execute(t, template_value(m)).map_err(Error::msg)?,
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
        Some(t) => match template(t) {
            Ok(t) => Output::Template(t),
            Err(m) => {
                eprintln!("Error parsing format: {m}");
                return Ok(64);
            }
        },
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
