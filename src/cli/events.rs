//! `rdock events` (and `system events`): the journal the other commands
//! write, filtered and printed as docker prints events; followed until
//! `--until` or an interrupt.

use crate::error::{Error, Result};
use crate::events::{journal, old_journal, Message};
use crate::paths::Paths;
use chrono::{DateTime, Utc};
use clap::Args;
use serde_json::{json, Value};
use std::io::{BufRead, Read, Seek, Write};
use std::time::Duration;

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

/// docker's filter keys; several values of one key match any, keys all.
const KEYS: &[&str] = &[
    "config",
    "container",
    "daemon",
    "event",
    "image",
    "label",
    "network",
    "node",
    "plugin",
    "scope",
    "secret",
    "service",
    "type",
    "volume",
];

struct Filters(Vec<(String, String)>);

impl Filters {
    fn parse(raw: &[String]) -> Result<Filters> {
        let mut out = Vec::new();
        for r in raw {
            let (k, v) = r.split_once('=').ok_or_else(|| {
                Error::msg(format!("bad format of filter (expected name=value): {r}"))
            })?;
            if !KEYS.contains(&k) {
                return Err(Error::msg(format!("invalid filter '{k}'")));
            }
            out.push((k.to_string(), v.to_string()));
        }
        Ok(Filters(out))
    }

    fn values(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    fn matches(&self, m: &Message) -> bool {
        let attr = |k: &str| m.actor.attributes.get(k).map(String::as_str);
        let any = |key: &str, test: &dyn Fn(&str) -> bool| {
            let vs = self.values(key);
            vs.is_empty() || vs.iter().any(|v| test(v))
        };
        // An action "health_status: healthy" matches "health_status" too.
        let action_base = m.action.split(':').next().unwrap_or(&m.action);
        let of_kind = |kind: &str, v: &str| {
            m.kind == kind && (m.actor.id.starts_with(v) || attr("name") == Some(v))
        };
        any("type", &|v| m.kind == v)
            && any("event", &|v| m.action == v || action_base == v)
            && any("scope", &|v| m.scope == v)
            && any("container", &|v| {
                of_kind("container", v) || (m.kind == "network" && attr("container").is_some_and(|c| c.starts_with(v)))
            })
            && any("image", &|v| {
                (m.kind == "container" && attr("image") == Some(v)) || of_kind("image", v)
            })
            && any("network", &|v| of_kind("network", v))
            && any("volume", &|v| of_kind("volume", v))
            && any("label", &|v| match v.split_once('=') {
                Some((k, val)) => attr(k) == Some(val),
                None => attr(v).is_some(),
            })
            // Swarm and plugin objects never occur here.
            && ["config", "daemon", "node", "plugin", "secret", "service"]
                .iter()
                .all(|k| self.values(k).is_empty())
    }
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

/// Hand each complete line of `partial` to `emit`; false once it says
/// the stream is over.
fn drain_lines(
    partial: &mut String,
    emit: &mut dyn FnMut(&Message) -> Result<bool>,
) -> Result<bool> {
    while let Some(nl) = partial.find('\n') {
        let l: String = partial.drain(..=nl).collect();
        if let Ok(m) = serde_json::from_str::<Message>(l.trim_end()) {
            if !emit(&m)? {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

pub fn run(paths: &Paths, a: EventsArgs) -> Result<i32> {
    let filters = Filters::parse(&a.filter)?;
    let now = Utc::now();
    let since = a
        .since
        .as_deref()
        .map(|s| super::timearg::parse_time(s, now))
        .transpose()
        .map_err(|e| Error::msg(e.to_string()))?;
    let until = a
        .until
        .as_deref()
        .map(|s| super::timearg::parse_time(s, now))
        .transpose()
        .map_err(|e| Error::msg(e.to_string()))?;
    if let (Some(s), Some(u)) = (since, until) {
        if u < s {
            return Err(Error::msg("`since` time must be before `until` time"));
        }
    }
    let output = match a.format.as_deref().map(str::trim) {
        None | Some("") => Output::Default,
        Some("json") | Some("{{json .}}") => Output::Json,
        Some(t) => Output::Template(t.to_string()),
    };
    let nanos = |t: DateTime<Utc>| t.timestamp_nanos_opt().unwrap_or(i64::MAX);
    let since_ns = since.map(nanos);
    let until_ns = until.map(nanos);
    let mut stdout = std::io::stdout().lock();
    let mut emit = |m: &Message| -> Result<bool> {
        if until_ns.is_some_and(|u| m.time_nano > u) {
            return Ok(false);
        }
        if since_ns.is_none_or(|s| m.time_nano >= s) && filters.matches(m) {
            // A closed pipe (`| head`) ends the stream quietly.
            if writeln!(stdout, "{}", render(&output, m)?)
                .and_then(|_| stdout.flush())
                .is_err()
            {
                return Ok(false);
            }
        }
        Ok(true)
    };
    // The past, for --since: the rotated journal, then the current one.
    let mut pos = 0u64;
    let mut inode = 0u64;
    if since.is_some() {
        if let Ok(f) = std::fs::File::open(old_journal(paths)) {
            for l in std::io::BufReader::new(f).lines().map_while(|l| l.ok()) {
                if let Ok(m) = serde_json::from_str::<Message>(&l) {
                    if !emit(&m)? {
                        return Ok(0);
                    }
                }
            }
        }
    } else if let Ok(meta) = std::fs::metadata(journal(paths)) {
        // Without --since only what happens from now on.
        pos = meta.len();
        inode = std::os::unix::fs::MetadataExt::ino(&meta);
    }
    let mut partial = String::new();
    loop {
        if let Ok(mut f) = std::fs::File::open(journal(paths)) {
            let meta = f.metadata().ok();
            let ino = meta
                .as_ref()
                .map(std::os::unix::fs::MetadataExt::ino)
                .unwrap_or(0);
            if ino != inode {
                // Rotated: what was written to the old file since the last
                // look first (it is the rotated journal now), then the new
                // file from its start.
                if inode != 0 {
                    if let Ok(mut old) = std::fs::File::open(old_journal(paths)) {
                        let same = old
                            .metadata()
                            .is_ok_and(|m| std::os::unix::fs::MetadataExt::ino(&m) == inode);
                        if same && old.seek(std::io::SeekFrom::Start(pos)).is_ok() {
                            let mut rest = String::new();
                            let _ = old.read_to_string(&mut rest);
                            partial.push_str(&rest);
                            if !drain_lines(&mut partial, &mut emit)? {
                                return Ok(0);
                            }
                        }
                    }
                    pos = 0;
                }
                inode = ino;
                partial.clear();
            }
            let len = meta.map(|m| m.len()).unwrap_or(0);
            if len > pos && f.seek(std::io::SeekFrom::Start(pos)).is_ok() {
                let mut chunk = String::new();
                let n = f.read_to_string(&mut chunk).unwrap_or(0) as u64;
                pos = pos.saturating_add(n);
                partial.push_str(&chunk);
                if !drain_lines(&mut partial, &mut emit)? {
                    return Ok(0);
                }
            }
        }
        match until {
            Some(u) if Utc::now() > u => return Ok(0),
            _ => {}
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn msg(kind: &str, action: &str, id: &str, attrs: &[(&str, &str)]) -> Message {
        Message {
            kind: kind.into(),
            action: action.into(),
            actor: crate::events::Actor {
                id: id.into(),
                attributes: attrs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<BTreeMap<_, _>>(),
            },
            scope: "local".into(),
            ..Default::default()
        }
    }

    fn f(v: &[&str]) -> Filters {
        Filters::parse(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn filters_match_as_docker() {
        let start = msg(
            "container",
            "start",
            "abc123",
            &[("name", "web"), ("image", "busybox"), ("tier", "db")],
        );
        let health = msg(
            "container",
            "health_status: healthy",
            "abc123",
            &[("name", "web")],
        );
        let net = msg(
            "network",
            "connect",
            "n1",
            &[("name", "front"), ("container", "abc123")],
        );
        assert!(f(&["type=container", "event=start"]).matches(&start));
        assert!(f(&["event=stop", "event=start"]).matches(&start));
        assert!(!f(&["type=image"]).matches(&start));
        assert!(f(&["container=web"]).matches(&start));
        assert!(f(&["container=abc"]).matches(&start));
        assert!(f(&["container=abc"]).matches(&net));
        assert!(f(&["image=busybox", "label=tier=db", "label=tier"]).matches(&start));
        assert!(!f(&["label=tier=web"]).matches(&start));
        assert!(f(&["event=health_status"]).matches(&health));
        assert!(f(&["network=front"]).matches(&net));
        assert!(!f(&["service=x"]).matches(&start));
        assert!(Filters::parse(&["colour=red".into()]).is_err());
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
