//! `rdock logs`: the json-file log of a container, stdout entries to our
//! stdout and stderr entries to our stderr.

use crate::container::logs::{self, log_path, Entry, Stream};
use crate::container::store::ContainerStore;
use crate::error::{Error, Result};
use crate::paths::Paths;
use chrono::{SecondsFormat, Utc};
use clap::Args;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Show extra details provided to logs
    #[arg(long)]
    pub details: bool,
    /// Follow log output
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)
    #[arg(long)]
    pub since: Option<String>,
    /// Number of lines to show from the end of the logs
    #[arg(short = 'n', long, default_value = "all")]
    pub tail: String,
    /// Show timestamps
    #[arg(short = 't', long)]
    pub timestamps: bool,
    /// Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)
    #[arg(long)]
    pub until: Option<String>,
    pub container: String,
}

/// Go's url.QueryEscape, which docker applies to `--details` attributes.
fn query_escape(s: &str, out: &mut Vec<u8>) {
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b),
            b' ' => out.push(b'+'),
            _ => out.extend_from_slice(format!("%{b:02X}").as_bytes()),
        }
    }
}

fn print(e: &Entry, a: &LogsArgs) {
    let mut line = Vec::new();
    if a.timestamps {
        line.extend_from_slice(
            e.time
                .to_rfc3339_opts(SecondsFormat::Nanos, true)
                .as_bytes(),
        );
        line.push(b' ');
    }
    if a.details {
        // docker: "k=v,k2=v2 " sorted by key; a lone space when none.
        for (i, (k, v)) in e.attrs.iter().enumerate() {
            if i > 0 {
                line.push(b',');
            }
            query_escape(k, &mut line);
            line.push(b'=');
            query_escape(v, &mut line);
        }
        line.push(b' ');
    }
    line.extend_from_slice(e.log.as_bytes());
    let _ = match e.stream {
        // `logs -f | head` ends when head does.
        Stream::Stdout => crate::util::QuietStdout.write_all(&line),
        Stream::Stderr => std::io::stderr().lock().write_all(&line),
    };
}

use super::timearg::parse_time;

fn read_err(p: &std::path::Path, e: std::io::Error) -> Error {
    Error::msg(format!("reading {}: {e}", p.display()))
}

pub fn run(paths: &Paths, a: LogsArgs) -> Result<i32> {
    let store = ContainerStore::new(paths);
    let c = store.resolve(&a.container)?;
    if c.config.log.driver_name() == "none" {
        return Err(Error::msg(
            "configured logging driver does not support reading",
        ));
    }
    let now = Utc::now();
    let arg = |flag: &str, v: &Option<String>| {
        v.as_deref()
            .map(|s| parse_time(s, now))
            .transpose()
            .map_err(|e| Error::msg(format!("invalid value for {flag:?}: {e}")))
    };
    let since = arg("since", &a.since)?;
    let until = arg("until", &a.until)?;
    let tail: Option<usize> = match a.tail.as_str() {
        "all" | "" => None,
        n => match n.parse::<i64>() {
            Ok(v) if v < 0 => None,
            Ok(v) => Some(v as usize),
            // As the engine: a --tail it cannot read means all lines.
            Err(_) => None,
        },
    };
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
            print(e, &a);
        }
        offset = end;
    }
    if !a.follow {
        return Ok(0);
    }
    if starts.last().is_none_or(|(f, _)| *f != path) {
        offset = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    }
    let past_until = || until.is_some_and(|u| Utc::now() > u);
    follow(&store, &c.config.id, &path, offset, past_until, |e| {
        if keep(e) {
            print(e, &a);
        }
    })?;
    Ok(0)
}

/// Follow the log at `path` from `offset`: each entry appended goes to
/// `emit`, until the container has stopped (or `stop` says so). The open
/// file is read to its end even after rotation renamed it; then the new
/// log file is followed from its start.
pub(super) fn follow(
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
            s.status == crate::container::state::Status::Running && s.is_alive() || s.restarting
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
