//! A cgroup per container on cgroup v2 and on v1/hybrid hosts.
//! STUB: to be implemented (helper "cgroups+security").

use super::Result;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupMode {
    /// /sys/fs/cgroup is cgroup2.
    Unified,
    /// v1 controllers, plus a v2 hierarchy at /sys/fs/cgroup/unified.
    Hybrid,
    /// v1 only.
    Legacy,
}

impl CgroupMode {
    pub fn detect() -> CgroupMode {
        CgroupMode::Legacy
    }
    /// "1" or "2", as `docker info` prints CgroupVersion.
    pub fn version(&self) -> &'static str {
        match self {
            CgroupMode::Unified => "2",
            _ => "1",
        }
    }
}

/// The cgroup(s) of one container: one directory per v1 hierarchy, or one v2 dir.
#[derive(Debug)]
pub struct Cgroup {
    pub mode: CgroupMode,
    pub dirs: Vec<PathBuf>,
}

impl Cgroup {
    /// Create (or reuse) `<hierarchy>/<parent>/<name>` in every hierarchy
    /// rdock uses; `parent` is e.g. "rdock".
    pub fn create(_parent: &str, _name: &str) -> Result<Cgroup> {
        Ok(Cgroup {
            mode: CgroupMode::detect(),
            dirs: vec![],
        })
    }
    /// The same paths without creating anything (for removal).
    pub fn open(_parent: &str, _name: &str) -> Cgroup {
        Cgroup {
            mode: CgroupMode::detect(),
            dirs: vec![],
        }
    }
    /// On a unified host: an O_DIRECTORY fd of the container's cgroup, for
    /// clone3's CLONE_INTO_CGROUP. None elsewhere.
    pub fn v2_fd(&self) -> Option<std::os::fd::OwnedFd> {
        None
    }
    /// Move `pid` into every hierarchy's cgroup.
    pub fn add_pid(&self, _pid: i32) -> Result<()> {
        Ok(())
    }
    /// Remove the directories (children first); fine if already gone. Kills
    /// nothing: the caller makes sure the cgroup is empty.
    pub fn remove(&self) -> Result<()> {
        Ok(())
    }
}

impl Cgroup {
    /// STUB until the cgroups module lands.
    pub fn pids(&self) -> Vec<i32> {
        vec![]
    }
    /// STUB until the cgroups module lands.
    pub fn kill_all(&self, _sig: nix::sys::signal::Signal) {}
}
