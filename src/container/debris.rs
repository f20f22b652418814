//! What killed processes leave behind, found and removed by the next
//! command that takes the store lock (`sweep`), and by `system prune`:
//! temp dirs of dead processes (an interrupted pull, commit, load, rm),
//! half-made container dirs (a `create` killed before its config.json),
//! step containers of a killed build (and their cgroups), and attach
//! sockets whose monitor is gone. `run` never sweeps: its path stays one
//! of creating, not scanning.

use super::store::ContainerStore;
use crate::paths::Paths;
use crate::util;
use std::fs;

/// This process, as a container's `owner` names it.
pub fn this_process() -> (i32, u64) {
    let me = std::process::id() as i32;
    (me, super::state::proc_start_time(me).unwrap_or(0))
}

/// Whether the process (pid, start time) still runs.
pub fn alive((pid, start): (i32, u64)) -> bool {
    pid > 0 && super::state::proc_start_time(pid) == Some(start)
}

/// What a sweep removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swept {
    pub temp_dirs: usize,
    pub half_made: usize,
    pub orphans: usize,
    pub sockets: usize,
}

/// Remove what dead processes left in the store. Best effort: whatever
/// cannot be removed now stays for the next sweep.
pub fn sweep(paths: &Paths) -> Swept {
    Swept {
        temp_dirs: crate::image::store::ImageStore::new(paths).sweep_tmp(),
        half_made: half_made(paths),
        orphans: orphans(paths),
        sockets: sockets(paths),
    }
}

/// Container dirs without config.json. `create` holds names/.lock from
/// making the dir until its config.json exists, and `rm` moves a dir out
/// in one rename: under that lock, such a dir is a killed create's.
fn half_made(paths: &Paths) -> usize {
    let Ok(rd) = fs::read_dir(paths.containers()) else {
        return 0;
    };
    let dirs: Vec<_> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| !p.join("config.json").exists())
        .collect();
    if dirs.is_empty() {
        return 0;
    }
    let Ok(_names) = util::FileLock::exclusive(&paths.names().join(".lock")) else {
        return 0;
    };
    let mut n = 0usize;
    for dir in dirs {
        if dir.join("config.json").exists() {
            continue;
        }
        let id = dir
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        // It never started (the config comes first), but a start may have
        // made its cgroup; only rdock's default parent can be known here.
        let _ =
            crate::runtime::cgroups::Cgroup::open(super::lifecycle::CGROUP_PARENT, &id).remove();
        if crate::image::layer::remove_tree(&dir).is_ok() {
            n = n.saturating_add(1);
        }
    }
    // Names whose container has no config are reclaimed on their next
    // claim; drop those pointing nowhere now.
    if let Ok(rd) = fs::read_dir(paths.names()) {
        for e in rd.flatten() {
            if let Ok(target) = fs::read_link(e.path()) {
                if !paths.container(&target.to_string_lossy()).exists() {
                    let _ = fs::remove_file(e.path());
                }
            }
        }
    }
    n
}

/// Containers whose owner (a build) died: removed, running or not.
fn orphans(paths: &Paths) -> usize {
    let Ok(rd) = fs::read_dir(paths.owned()) else {
        return 0;
    };
    let store = ContainerStore::new(paths);
    let mut n = 0usize;
    for e in rd.flatten() {
        let owner = fs::read_to_string(e.path()).ok().and_then(|s| {
            let (pid, start) = s.trim().split_once(' ')?;
            Some((pid.parse().ok()?, start.parse().ok()?))
        });
        if owner.is_some_and(alive) {
            continue;
        }
        let id = e.file_name().to_string_lossy().into_owned();
        match store.load(&id) {
            Ok(c) => {
                if super::ops::remove(paths, &c, true).is_ok() {
                    n = n.saturating_add(1);
                }
            }
            // Its container is gone (or never got its config).
            Err(_) => {
                let _ = fs::remove_file(e.path());
            }
        }
    }
    n
}

/// Attach sockets of containers that are gone. (One whose monitor died
/// stays until its container is removed or started again: a monitor
/// listens before it records itself, so "no live monitor" could be one
/// just starting.)
fn sockets(paths: &Paths) -> usize {
    let Ok(rd) = fs::read_dir(super::attach::socket_dir(paths)) else {
        return 0;
    };
    let mut n = 0usize;
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(id) = name.strip_suffix(".sock") else {
            continue;
        };
        if !paths.container(id).exists() && fs::remove_file(e.path()).is_ok() {
            n = n.saturating_add(1);
        }
    }
    n
}
