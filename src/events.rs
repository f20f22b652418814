//! `events`: what happened to containers, images, networks and volumes.
//!
//! With no daemon to broadcast them, each command appends its events to a
//! journal, `<root>/events.log`, one docker-shaped JSON message per line
//! (an O_APPEND write of one line: concurrent writers never interleave
//! within a line). `rdock events` reads it back and follows it. The
//! journal is rotated once past 4 MiB, so `--since` reaches as far back
//! as the last two files.

pub mod read;

use crate::paths::Paths;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

const ROTATE_AT: u64 = 4 << 20;

/// docker's events.Actor.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "Attributes")]
    pub attributes: BTreeMap<String, String>,
}

/// docker's events.Message, as the API and `--format '{{json .}}'` show it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Deprecated fields docker still fills for container and image events.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub status: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub from: String,
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(rename = "Action")]
    pub action: String,
    #[serde(rename = "Actor")]
    pub actor: Actor,
    pub scope: String,
    pub time: i64,
    #[serde(rename = "timeNano")]
    pub time_nano: i64,
}

pub fn journal(paths: &Paths) -> PathBuf {
    paths.root.join("events.log")
}

/// The rotated journal, read before the current one.
pub fn old_journal(paths: &Paths) -> PathBuf {
    paths.root.join("events.log.1")
}

/// Record an event. Never fails the command that had it: an event that
/// cannot be written is lost, as one a docker client missed.
pub fn emit(
    paths: &Paths,
    kind: &str,
    action: &str,
    id: &str,
    attributes: BTreeMap<String, String>,
) {
    let now = chrono::Utc::now();
    let nanos = now.timestamp_nanos_opt().unwrap_or(0);
    let legacy = matches!(kind, "container" | "image");
    let msg = Message {
        status: if legacy {
            action.to_string()
        } else {
            String::new()
        },
        id: if legacy {
            id.to_string()
        } else {
            String::new()
        },
        from: if kind == "container" {
            attributes.get("image").cloned().unwrap_or_default()
        } else {
            String::new()
        },
        kind: kind.to_string(),
        action: action.to_string(),
        actor: Actor {
            id: id.to_string(),
            attributes,
        },
        scope: "local".into(),
        time: nanos / 1_000_000_000,
        time_nano: nanos,
    };
    let Ok(mut line) = serde_json::to_vec(&msg) else {
        return;
    };
    line.push(b'\n');
    let path = journal(paths);
    let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(crate::util::PRIVATE_FILE)
        .open(&path)
    else {
        return;
    };
    let _ = f.write_all(&line);
    // Rotation is rare. Only a writer whose file is still the current
    // journal renames it: one holding an already rotated file must not
    // rename the new one over the history.
    use std::os::unix::fs::MetadataExt;
    if let (Ok(mine), Ok(current)) = (f.metadata(), std::fs::metadata(&path)) {
        if mine.len() > ROTATE_AT && mine.ino() == current.ino() {
            let _ = std::fs::rename(&path, old_journal(paths));
        }
    }
}

/// A container's attributes as docker gives them: its labels, image and
/// name.
pub fn container_attributes(
    cfg: &crate::container::config::ContainerConfig,
) -> BTreeMap<String, String> {
    let mut a = cfg.labels.clone();
    a.insert("image".into(), cfg.image.clone());
    a.insert("name".into(), cfg.name.clone());
    a
}

/// A container event with its usual attributes and `extra` ones.
pub fn container(
    paths: &Paths,
    cfg: &crate::container::config::ContainerConfig,
    action: &str,
    extra: &[(&str, String)],
) {
    let mut a = container_attributes(cfg);
    for (k, v) in extra {
        a.insert((*k).to_string(), v.clone());
    }
    emit(paths, "container", action, &cfg.id, a);
}

/// An image event: `id` the image's reference or ID, `name` its name.
pub fn image(paths: &Paths, action: &str, id: &str, name: &str) {
    let mut a = BTreeMap::new();
    a.insert("name".into(), name.to_string());
    emit(paths, "image", action, id, a);
}

/// A network event (`container`: the container connected or not).
pub fn network(
    paths: &Paths,
    action: &str,
    id: &str,
    name: &str,
    kind: &str,
    container: Option<&str>,
) {
    let mut a = BTreeMap::new();
    a.insert("name".into(), name.to_string());
    a.insert("type".into(), kind.to_string());
    if let Some(c) = container {
        a.insert("container".into(), c.to_string());
    }
    emit(paths, "network", action, id, a);
}

/// docker's record of a prune (`kind`: container, image, network,
/// volume, builder): no actor, the bytes it gave back.
pub fn pruned(paths: &Paths, kind: &str, reclaimed: u64) {
    let mut a = BTreeMap::new();
    a.insert("reclaimed".into(), reclaimed.to_string());
    emit(paths, kind, "prune", "", a);
}

/// A volume event.
pub fn volume(paths: &Paths, action: &str, name: &str, extra: &[(&str, String)]) {
    let mut a = BTreeMap::new();
    a.insert("driver".into(), "local".to_string());
    for (k, v) in extra {
        a.insert((*k).to_string(), v.clone());
    }
    emit(paths, "volume", action, name, a);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_appended_as_docker_messages() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::new(dir.path(), dir.path().join("run"));
        let mut a = BTreeMap::new();
        a.insert("image".into(), "busybox".into());
        a.insert("name".into(), "web".into());
        emit(&paths, "container", "start", "abc", a);
        emit(&paths, "network", "create", "n1", BTreeMap::new());
        let text = std::fs::read_to_string(journal(&paths)).unwrap();
        let msgs: Vec<Message> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[0].status, "start");
        assert_eq!(msgs[0].from, "busybox");
        assert_eq!(msgs[0].actor.attributes["name"], "web");
        assert!(msgs[0].time_nano / 1_000_000_000 == msgs[0].time);
        // Only container and image events carry the legacy fields.
        assert!(!text.lines().nth(1).unwrap().contains("\"status\""));
    }

    #[test]
    fn a_full_journal_is_rotated_once_with_its_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::new(dir.path(), dir.path().join("run"));
        let filler = format!("{}\n", "x".repeat(1023));
        std::fs::write(
            journal(&paths),
            filler.repeat((ROTATE_AT / 1024) as usize + 1),
        )
        .unwrap();
        emit(&paths, "volume", "create", "v1", BTreeMap::new());
        let old = std::fs::read_to_string(old_journal(&paths)).unwrap();
        assert!(old.trim_end().ends_with('}') && old.contains("\"v1\""));
        assert!(!journal(&paths).exists());
        // The next event starts a new journal; the history stays.
        emit(&paths, "volume", "create", "v2", BTreeMap::new());
        assert_eq!(
            std::fs::read_to_string(journal(&paths))
                .unwrap()
                .lines()
                .count(),
            1
        );
        assert_eq!(std::fs::read_to_string(old_journal(&paths)).unwrap(), old);
    }
}
