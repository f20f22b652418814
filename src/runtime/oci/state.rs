//! The runtime's record of its containers: `<root>/<id>/state.json` (what
//! `create` learnt) and `<root>/<id>/exec.fifo` (there until `start`).
//! The status is computed, never stored: the init's pid and start time
//! say whether it lives, the fifo whether it has been started, the
//! freezer whether it is paused. The root is 0700, files 0600.

use super::{OciError, Result};
use crate::runtime::cgroups::Cgroup;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// runc's default is /run/runc; ours beside it.
pub const DEFAULT_ROOT: &str = "/run/rdock-runtime";
pub const FIFO: &str = "exec.fifo";
const STATE: &str = "state.json";

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Saved {
    pub id: String,
    pub pid: i32,
    /// The init's start time in /proc (ticks since boot): a reused pid is
    /// not ours.
    pub pid_start: u64,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    /// RFC 3339 with nanoseconds, as runc writes it.
    pub created: String,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    pub cgroup_parent: String,
    pub cgroup_name: String,
    /// The config's hooks run at start and delete (JSON of the spec's).
    #[serde(default)]
    pub hooks: Option<oci_spec::runtime::Hooks>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Created,
    Running,
    Paused,
    Stopped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

/// runc's `state` output.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub oci_version: &'static str,
    pub id: String,
    pub pid: i32,
    pub status: &'static str,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    pub owner: String,
}

pub const OCI_VERSION: &str = "1.2.0";

/// runc's rule for ids: they name a directory.
pub fn check_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id != "."
        && id != ".."
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+-.".contains(c));
    if ok {
        Ok(())
    } else {
        Err(OciError::BadId(id.to_string()))
    }
}

/// One container's directory under the runtime root.
pub struct Entry {
    pub dir: PathBuf,
    pub saved: Saved,
}

/// The runtime's root: made 0700, tightened if looser, refused if
/// another user owns it (as rdock's own roots).
pub fn root_dir(root: &Path) -> Result<()> {
    crate::util::secure_root_dir(root).map_err(|e| OciError::io(format!("{}", root.display()), e))
}

impl Entry {
    pub fn load(root: &Path, id: &str) -> Result<Entry> {
        check_id(id)?;
        let dir = root.join(id);
        let text = match std::fs::read(dir.join(STATE)) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(OciError::NotFound),
            Err(e) => return Err(OciError::io(format!("reading the state of {id}"), e)),
        };
        let saved = serde_json::from_slice(&text)
            .map_err(|e| OciError::Config(format!("state of {id}: {e}")))?;
        Ok(Entry { dir, saved })
    }

    pub fn save(&self) -> Result<()> {
        let data =
            serde_json::to_vec(&self.saved).map_err(|e| OciError::Config(format!("state: {e}")))?;
        // Renamed into place, not fsynced: the root is a tmpfs (/run) and
        // the status is recomputed from /proc anyway.
        crate::util::replace_file(&self.dir.join(STATE), &data)
            .map_err(|e| OciError::io("writing the container's state", e))
    }

    pub fn cgroup(&self) -> Cgroup {
        Cgroup::open(&self.saved.cgroup_parent, &self.saved.cgroup_name)
    }

    /// Whether the init we started still runs (a zombie does not).
    pub fn alive(&self) -> bool {
        self.saved.pid > 0
            && crate::util::proc_start_time(self.saved.pid) == Some(self.saved.pid_start)
    }

    pub fn status(&self) -> Status {
        if !self.alive() {
            return Status::Stopped;
        }
        if self.dir.join(FIFO).exists() {
            return Status::Created;
        }
        if self.cgroup().is_frozen() {
            return Status::Paused;
        }
        Status::Running
    }

    pub fn report(&self) -> Report {
        let status = self.status();
        Report {
            oci_version: OCI_VERSION,
            id: self.saved.id.clone(),
            pid: if status == Status::Stopped {
                0
            } else {
                self.saved.pid
            },
            status: status.as_str(),
            bundle: self.saved.bundle.clone(),
            rootfs: self.saved.rootfs.clone(),
            created: self.saved.created.clone(),
            annotations: self.saved.annotations.clone(),
            owner: String::new(),
        }
    }

    /// The state the spec passes to hooks on stdin, with the status of
    /// the point they run at (a poststart hook sees "running" even if
    /// the program has already exited).
    pub fn hook_state(&self, status: Status) -> serde_json::Value {
        let r = self.report();
        serde_json::json!({
            "ociVersion": r.oci_version,
            "id": r.id,
            "status": status.as_str(),
            "pid": r.pid,
            "bundle": r.bundle,
            "annotations": r.annotations,
        })
    }
}

/// Every container under the root, by id.
pub fn list(root: &Path) -> Result<Vec<Entry>> {
    let rd = match std::fs::read_dir(root) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(OciError::io(format!("reading {}", root.display()), e)),
    };
    let mut out = Vec::new();
    for ent in rd.flatten() {
        let id = ent.file_name().to_string_lossy().into_owned();
        if let Ok(e) = Entry::load(root, &id) {
            out.push(e);
        }
    }
    out.sort_by(|a, b| a.saved.id.cmp(&b.saved.id));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_as_runc_takes_them() {
        assert!(check_id("abc-1.2_x+y").is_ok());
        for bad in ["", ".", "..", "a/b", "a b", "../x"] {
            assert!(check_id(bad).is_err(), "{bad}");
        }
    }
}
