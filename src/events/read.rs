//! Reading the journal back: docker's event filters, and the past then
//! the future of the journal (rotations followed) for `rdock events` and
//! the API's `/events`.

use super::{journal, old_journal, Message};
use crate::error::{Error, Result};
use crate::paths::Paths;
use chrono::{DateTime, Utc};
use std::io::{BufRead, Read, Seek};
use std::time::Duration;

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

#[derive(Debug, Default)]
pub struct Filters(Vec<(String, String)>);

impl Filters {
    /// `key=value` items, as the CLI's `--filter` takes them.
    pub fn parse(raw: &[String]) -> Result<Filters> {
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

    pub fn matches(&self, m: &Message) -> bool {
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

/// Which events: those from `since` (none: only what happens from now on,
/// unless `until` is given: then the past up to it, as docker's daemon),
/// until `until` (none: followed for ever), that the filters select.
#[derive(Debug, Default)]
pub struct Query {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub filters: Filters,
}

impl Query {
    /// docker's refusal of an `until` before `since`, naming them as the
    /// client sent them (see `sent`).
    pub fn check(&self, since: &str, until: &str) -> Result<()> {
        match (self.since, self.until) {
            (Some(s), Some(u)) if u < s => Err(Error::msg(format!(
                "`since` time ({since}) cannot be after `until` time ({until})"
            ))),
            _ => Ok(()),
        }
    }
}

/// A time argument as the docker CLI sends it to the engine (its
/// GetTimestamp): Unix seconds as given, a duration as whole seconds,
/// anything else as seconds.nanoseconds.
pub fn sent(arg: &str, t: DateTime<Utc>) -> String {
    if !arg.is_empty() && arg.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return arg.to_string();
    }
    if crate::util::timearg::go_duration(arg).is_some() {
        return t.timestamp().to_string();
    }
    format!("{}.{:09}", t.timestamp(), t.timestamp_subsec_nanos())
}

/// What the reader does after handing out an event or a pause.
pub enum Flow {
    More,
    Stop,
}

/// Hand each complete line of `partial` to `emit`.
fn drain_lines<E>(
    partial: &mut String,
    emit: &mut dyn FnMut(&Message) -> std::result::Result<Flow, E>,
) -> std::result::Result<Flow, E> {
    while let Some(nl) = partial.find('\n') {
        let l: String = partial.drain(..=nl).collect();
        if let Ok(m) = serde_json::from_str::<Message>(l.trim_end()) {
            if let Flow::Stop = emit(&m)? {
                return Ok(Flow::Stop);
            }
        }
    }
    Ok(Flow::More)
}

/// The events `q` selects, each to `emit`, until `until` passes, `emit`
/// says stop, or `idle` (called between looks at the journal, about ten
/// times a second) does.
pub fn follow<E>(
    paths: &Paths,
    q: &Query,
    emit: &mut dyn FnMut(&Message) -> std::result::Result<Flow, E>,
    idle: &mut dyn FnMut() -> Flow,
) -> std::result::Result<(), E> {
    let nanos = |t: DateTime<Utc>| t.timestamp_nanos_opt().unwrap_or(i64::MAX);
    let since_ns = q.since.map(nanos);
    let until_ns = q.until.map(nanos);
    let mut wanted = |m: &Message| -> std::result::Result<Flow, E> {
        if until_ns.is_some_and(|u| m.time_nano > u) {
            return Ok(Flow::Stop);
        }
        if since_ns.is_none_or(|s| m.time_nano >= s) && q.filters.matches(m) {
            return emit(m);
        }
        Ok(Flow::More)
    };
    // The past, for since or until: the rotated journal, then the current one.
    let mut pos = 0u64;
    let mut inode = 0u64;
    if q.since.is_some() || q.until.is_some() {
        if let Ok(f) = std::fs::File::open(old_journal(paths)) {
            for l in std::io::BufReader::new(f).lines().map_while(|l| l.ok()) {
                if let Ok(m) = serde_json::from_str::<Message>(&l) {
                    if let Flow::Stop = wanted(&m)? {
                        return Ok(());
                    }
                }
            }
        }
    } else if let Ok(meta) = std::fs::metadata(journal(paths)) {
        // Only what happens from now on.
        pos = meta.len();
        inode = std::os::unix::fs::MetadataExt::ino(&meta);
    }
    let mut partial = String::new();
    loop {
        if let Flow::Stop = read_new(paths, &mut pos, &mut inode, &mut partial, &mut wanted)? {
            return Ok(());
        }
        if q.until.is_some_and(|u| Utc::now() > u) {
            return Ok(());
        }
        if let Flow::Stop = idle() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// What the journal gained since `pos` in the file `inode`, a rotation
/// followed.
fn read_new<E>(
    paths: &Paths,
    pos: &mut u64,
    inode: &mut u64,
    partial: &mut String,
    emit: &mut dyn FnMut(&Message) -> std::result::Result<Flow, E>,
) -> std::result::Result<Flow, E> {
    use std::os::unix::fs::MetadataExt;
    let Ok(mut f) = std::fs::File::open(journal(paths)) else {
        return Ok(Flow::More);
    };
    let meta = f.metadata().ok();
    let ino = meta.as_ref().map(MetadataExt::ino).unwrap_or(0);
    if ino != *inode {
        // Rotated: what was written to the old file since the last look
        // first (it is the rotated journal now), then the new file from
        // its start.
        if *inode != 0 {
            if let Ok(mut old) = std::fs::File::open(old_journal(paths)) {
                let same = old.metadata().is_ok_and(|m| m.ino() == *inode);
                if same && old.seek(std::io::SeekFrom::Start(*pos)).is_ok() {
                    let mut rest = String::new();
                    let _ = old.read_to_string(&mut rest);
                    partial.push_str(&rest);
                    if let Flow::Stop = drain_lines(partial, emit)? {
                        return Ok(Flow::Stop);
                    }
                }
            }
            *pos = 0;
        }
        *inode = ino;
        partial.clear();
    }
    let len = meta.map(|m| m.len()).unwrap_or(0);
    if len > *pos && f.seek(std::io::SeekFrom::Start(*pos)).is_ok() {
        let mut chunk = String::new();
        let n = f.read_to_string(&mut chunk).unwrap_or(0) as u64;
        *pos = pos.saturating_add(n);
        partial.push_str(&chunk);
        return drain_lines(partial, emit);
    }
    Ok(Flow::More)
}

/// A message for tests (here and the CLI's).
#[cfg(test)]
pub(crate) fn test_message(kind: &str, action: &str, id: &str, attrs: &[(&str, &str)]) -> Message {
    Message {
        kind: kind.into(),
        action: action.into(),
        actor: crate::events::Actor {
            id: id.into(),
            attributes: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        },
        scope: "local".into(),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(kind: &str, action: &str, id: &str, attrs: &[(&str, &str)]) -> Message {
        test_message(kind, action, id, attrs)
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
}
