//! Reading a container's json-file log as `logs` does: `--tail` from the
//! end backwards across the rotated files, `--since`/`--until`, and
//! following the file while the container runs. For the CLI's `logs` and
//! `attach` and the API's `/containers/{id}/logs`.

use super::logs::{self, log_path, Entry};
use super::store::{Container, ContainerStore};
use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use std::os::unix::fs::MetadataExt;
use std::time::Duration;

/// What to read.
#[derive(Debug, Default, Clone)]
pub struct LogQuery {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// The last N lines; None for all.
    pub tail: Option<usize>,
    pub follow: bool,
}

fn read_err(p: &std::path::Path, e: std::io::Error) -> Error {
    Error::msg(format!("reading {}: {e}", p.display()))
}

/// Each entry of `c`'s log that `q` selects, to `emit`, oldest first.
pub fn read(
    store: &ContainerStore,
    c: &Container,
    q: &LogQuery,
    emit: impl FnMut(&Entry),
) -> Result<()> {
    read_until(store, c, q, || false, emit)
}

/// `read`, whose following also ends when `stop` says so (the API's
/// client went away).
pub fn read_until(
    store: &ContainerStore,
    c: &Container,
    q: &LogQuery,
    mut stop: impl FnMut() -> bool,
    mut emit: impl FnMut(&Entry),
) -> Result<()> {
    let (since, until, tail) = (q.since, q.until, q.tail);
    let path = log_path(&c.dir, &c.config.id);
    let keep = |e: &Entry| since.is_none_or(|s| e.time >= s) && until.is_none_or(|u| e.time <= u);
    // Where to start in each file, oldest first; --tail N reads only the
    // end of the newest file(s).
    let files = logs::log_files(&path);
    let mut starts: Vec<(std::path::PathBuf, u64)> = Vec::new();
    match tail {
        None => starts = files.into_iter().map(|f| (f, 0)).collect(),
        Some(mut n) => {
            for f in files.into_iter().rev() {
                if n == 0 {
                    break;
                }
                let Ok(mut file) = std::fs::File::open(&f) else {
                    continue;
                };
                let (off, found) = logs::tail_offset(&mut file, n).map_err(|e| read_err(&f, e))?;
                n = n.saturating_sub(found);
                starts.push((f, off));
            }
            starts.reverse();
        }
    }
    let mut offset = 0;
    for (f, start) in &starts {
        let (entries, end) = logs::read_from(f, *start).map_err(|e| read_err(f, e))?;
        for e in entries.iter().filter(|e| keep(e)) {
            emit(e);
        }
        offset = end;
    }
    if !q.follow {
        return Ok(());
    }
    if starts.last().is_none_or(|(f, _)| *f != path) {
        offset = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    }
    let past_until = || until.is_some_and(|u| Utc::now() > u) || stop();
    follow(store, &c.config.id, &path, offset, past_until, |e| {
        if keep(e) {
            emit(e);
        }
    })?;
    Ok(())
}

/// Follow the log at `path` from `offset`: each entry appended goes to
/// `emit`, until the container has stopped (or `stop` says so). The open
/// file is read to its end even after rotation renamed it; then the new
/// log file is followed from its start.
pub fn follow(
    store: &ContainerStore,
    id: &str,
    path: &std::path::Path,
    mut offset: u64,
    mut stop: impl FnMut() -> bool,
    mut emit: impl FnMut(&Entry),
) -> Result<()> {
    let mut file = std::fs::File::open(path).map_err(|e| read_err(path, e))?;
    loop {
        let running = store.raw_state(id).is_some_and(|s| {
            s.status == super::state::Status::Running && s.is_alive() || s.restarting
        });
        if file.metadata().map(|m| m.len()).unwrap_or(0) < offset {
            offset = 0; // truncated (max-file 1)
        }
        let (more, next) = logs::read_file_from(&mut file, offset).unwrap_or((vec![], offset));
        offset = next;
        more.iter().for_each(&mut emit);
        let rotated = match (std::fs::metadata(path), file.metadata()) {
            (Ok(now), Ok(ours)) => now.ino() != ours.ino(),
            _ => false,
        };
        if rotated {
            if let Ok(f) = std::fs::File::open(path) {
                file = f;
                offset = 0;
                continue;
            }
        }
        if !running || stop() {
            // One last read: the monitor writes before it records the exit.
            let (last, _) = logs::read_file_from(&mut file, offset).unwrap_or_default();
            last.iter().for_each(&mut emit);
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
