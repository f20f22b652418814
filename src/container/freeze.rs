//! Freezes that are not the user's `pause`: `commit` freezes a running
//! container while it reads its changes (docker's `commit --pause`).
//!
//! Whoever freezes holds an flock on `containers/<id>/freeze.lock` from
//! before the freeze until after the thaw, then removes the file. The
//! kernel drops the flock with its holder, so a marker nobody holds is a
//! freeze left by a killed process: every load of the container probes it
//! (one failed open when there is none), and the first to find it
//! orphaned thaws the container, unless the user paused it, and removes
//! it. Lock order: the marker, then the container's state lock.

use super::config::ContainerConfig;
use super::store::{Container, ContainerStore};
use super::ContainerError;
use crate::error::Result;
use crate::paths::Paths;
use crate::runtime::cgroups::Cgroup;
use crate::util::FileLock;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The marker's name in the container's directory.
pub const MARKER: &str = "freeze.lock";

/// Whether `path` still names the file we hold: its last holder may have
/// removed it between our open and our lock.
fn still_named(file: &File, path: &Path) -> bool {
    match (file.metadata(), std::fs::symlink_metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// The marker, locked by us: the container's freeze is ours to undo.
struct Marker {
    _lock: FileLock,
    path: PathBuf,
}

impl Marker {
    /// Create the marker (or take over an orphaned one) and lock it,
    /// waiting while another freezer holds it.
    fn take(path: &Path) -> io::Result<Marker> {
        loop {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(path)?;
            let lock = FileLock::exclusive_on(file)?;
            if still_named(lock.file(), path) {
                return Ok(Marker {
                    _lock: lock,
                    path: path.to_path_buf(),
                });
            }
        }
    }

    /// Removed while still locked: nobody can take it over in between.
    fn remove(self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

enum Probe {
    Absent,
    /// A live process holds it: the container is frozen for a commit.
    Held,
    Orphaned(Marker),
}

fn probe(path: &Path) -> Probe {
    for _ in 0..3 {
        let Ok(file) = File::open(path) else {
            return Probe::Absent;
        };
        let lock = match FileLock::try_exclusive_on(file) {
            Ok(Some(l)) => l,
            Ok(None) => return Probe::Held,
            Err(_) => return Probe::Absent,
        };
        if still_named(lock.file(), path) {
            return Probe::Orphaned(Marker {
                _lock: lock,
                path: path.to_path_buf(),
            });
        }
        // Its holder removed it as we opened it: look again.
    }
    // Taken and dropped over and over: as good as held.
    Probe::Held
}

/// Undo a freeze whose marker we hold: thaw unless the user paused the
/// container, then remove the marker. Under the state lock, so a `pause`
/// is either seen here or comes after. On failure the marker stays, for
/// the next command to try again once we are gone.
fn undo(paths: &Paths, cfg: &ContainerConfig, dir: &Path, marker: Marker) -> Result<()> {
    let _state = match crate::util::FileLock::on_dir(dir) {
        Ok(l) => l,
        // Removed (`rm -f` thaws before it kills): nothing left to thaw.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(ContainerError::io("locking container state", e).into()),
    };
    let paused = ContainerStore::new(paths)
        .raw_state(&cfg.id)
        .is_some_and(|s| s.paused);
    if !paused && Cgroup::open(cfg.cgroup_parent(), &cfg.id).thaw()? {
        crate::events::container(paths, cfg, "unpause", &[]);
    }
    marker.remove();
    Ok(())
}

/// For every load of a container (`ContainerStore::load`): one failed open
/// when there is no marker. A live freezer's marker sets `freezing`; an
/// orphaned one is undone on the spot.
pub(super) fn check(
    paths: &Paths,
    cfg: &ContainerConfig,
    dir: &Path,
    state: &mut super::state::State,
) {
    match probe(&dir.join(MARKER)) {
        Probe::Absent => {}
        Probe::Held => state.freezing = true,
        Probe::Orphaned(marker) => {
            // Still frozen if that failed: `exec` must refuse, not hang.
            state.freezing = undo(paths, cfg, dir, marker).is_err();
        }
    }
}

/// Whether a live process holds the container's marker (for `pause`,
/// which must not take over a commit's freeze).
pub(super) fn held(dir: &Path) -> bool {
    matches!(probe(&dir.join(MARKER)), Probe::Held)
}

/// A running container frozen for a commit: thawed by `release`, or when
/// dropped on an error path; by the next command to load the container if
/// this process is killed.
pub struct Freeze {
    paths: Paths,
    cfg: ContainerConfig,
    dir: PathBuf,
    marker: Option<Marker>,
}

impl Freeze {
    /// Freeze `c`, unless it is not running or the user paused it (None).
    pub fn for_commit(paths: &Paths, c: &Container) -> Result<Option<Freeze>> {
        // As loaded (any orphaned freeze already undone): no marker needed.
        if !c.state.is_alive() || c.state.paused {
            return Ok(None);
        }
        let path = c.dir.join(MARKER);
        let marker = Marker::take(&path)
            .map_err(|e| ContainerError::io(format!("creating {}", path.display()), e))?;
        let mut freeze = Freeze {
            paths: paths.clone(),
            cfg: c.config.clone(),
            dir: c.dir.clone(),
            marker: Some(marker),
        };
        // Decided under the marker: a killed freezer's freeze is ours now.
        let now = ContainerStore::new(paths)
            .raw_state(&c.config.id)
            .unwrap_or_default();
        if !now.is_alive() || now.paused {
            freeze.thaw()?;
            return Ok(None);
        }
        // On failure, dropping `freeze` thaws what may have frozen.
        Cgroup::open(c.config.cgroup_parent(), &c.config.id).set_frozen(true)?;
        crate::events::container(paths, &c.config, "pause", &[]);
        Ok(Some(freeze))
    }

    /// Thaw now (unless the user paused it meanwhile).
    pub fn release(mut self) -> Result<()> {
        self.thaw()
    }

    fn thaw(&mut self) -> Result<()> {
        match self.marker.take() {
            Some(m) => undo(&self.paths, &self.cfg, &self.dir, m),
            None => Ok(()),
        }
    }
}

impl Drop for Freeze {
    fn drop(&mut self) {
        let _ = self.thaw();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marker_is_absent_held_or_orphaned() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join(MARKER);
        assert!(matches!(probe(&path), Probe::Absent));
        let m = Marker::take(&path).unwrap();
        // flock conflicts between open files, even in one process.
        assert!(matches!(probe(&path), Probe::Held));
        drop(m); // as if its holder were killed: the file stays, unlocked
        let Probe::Orphaned(found) = probe(&path) else {
            panic!("a marker nobody holds is orphaned");
        };
        assert!(matches!(probe(&path), Probe::Held), "ours while we hold it");
        found.remove();
        assert!(matches!(probe(&path), Probe::Absent));
        assert!(!held(d.path()));
    }
}
