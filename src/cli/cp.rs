//! `rdock cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-` and
//! `rdock cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH`: parse, call
//! `container::cp`, print docker's progress and success line.

use crate::cli::format::human_size;
use crate::container::cp::{self, CopyOptions, CpError, Input, Output};
use crate::error::Result;
use crate::paths::Paths;
use clap::Args;
use std::io::Write;
use std::time::{Duration, Instant};

/// docker's Long of `cp`.
pub const LONG: &str = "Copy files/folders between a container and the local filesystem

Use '-' as the source to read a tar archive from stdin
and extract it to a directory destination in a container.
Use '-' as the destination to stream a tar archive of a
container source to stdout.";

#[derive(Debug, Args)]
pub struct CpArgs {
    /// Archive mode (copy all uid/gid information)
    #[arg(short = 'a', long)]
    pub archive: bool,
    /// Always follow symbol link in SRC_PATH
    #[arg(short = 'L', long = "follow-link")]
    pub follow_link: bool,
    /// Suppress progress output during copy. Progress output is
    /// automatically suppressed if no terminal is attached
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// CONTAINER:SRC_PATH or SRC_PATH|-
    #[arg(allow_hyphen_values = true)]
    pub source: String,
    /// DEST_PATH|- or CONTAINER:DEST_PATH
    #[arg(allow_hyphen_values = true)]
    pub destination: String,
}

fn isatty(fd: i32) -> bool {
    nix::unistd::isatty(fd).unwrap_or(false)
}

/// docker's progress on a terminal: "Copying to container - 2.05kB",
/// rewritten in place at most every 75 ms, erased at the end.
struct Progress {
    header: &'static str,
    live: bool,
    last: Option<Instant>,
    shown: u64,
}

impl Progress {
    fn start(header: &'static str, live: bool) -> Progress {
        if live {
            // Save the cursor, hide it, then the header and 0B.
            eprint!("\x1b[sPreparing to copy...\x1b[?25l\x1b[u\x1b[2K{header}0B");
        }
        Progress {
            header,
            live,
            last: None,
            shown: 0,
        }
    }

    fn update(&mut self, n: u64) {
        if !self.live || n == self.shown {
            return;
        }
        let now = Instant::now();
        if self
            .last
            .is_some_and(|t| now.duration_since(t) < Duration::from_millis(75))
        {
            return;
        }
        self.last = Some(now);
        self.shown = n;
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\x1b[{}G\x1b[0K{}",
            self.header.len().saturating_add(1),
            human_size(n)
        );
        let _ = err.flush();
    }

    fn end(&mut self) {
        if self.live {
            eprint!("\x1b[?25h\x1b[u\x1b[2K");
            self.live = false;
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.end();
    }
}

pub fn run(paths: &Paths, a: CpArgs) -> Result<i32> {
    if a.source.is_empty() {
        return Err(CpError::EmptySource.into());
    }
    if a.destination.is_empty() {
        return Err(CpError::EmptyDestination.into());
    }
    let (src_ctr, src_path) = cp::split_arg(&a.source);
    let (dst_ctr, dst_path) = cp::split_arg(&a.destination);
    // As docker: progress only when stdout is a terminal (or -q), drawn
    // only when stderr is one too.
    let quiet = a.quiet || !isatty(libc::STDOUT_FILENO);
    let opts = CopyOptions {
        archive: a.archive,
        follow_link: a.follow_link,
    };
    let live = !quiet && isatty(libc::STDERR_FILENO);
    let copied = match (src_ctr, dst_ctr) {
        (Some(_), Some(_)) => return Err(CpError::BetweenContainers.into()),
        (None, None) => return Err(CpError::NoContainer.into()),
        (Some(c), None) => {
            if dst_path == "-" {
                if isatty(libc::STDOUT_FILENO) {
                    return Err(CpError::Terminal.into());
                }
                let mut out =
                    std::io::BufWriter::with_capacity(128 * 1024, crate::util::QuietStdout);
                // Nothing is printed around a stream, as docker.
                cp::copy_out(
                    paths,
                    c,
                    src_path,
                    Output::Stream(&mut out),
                    opts,
                    &mut |_| {},
                )?;
                out.flush()
                    .map_err(|e| CpError::io("writing the tar stream", e))?;
                return Ok(0);
            }
            let mut p = Progress::start("Copying from container - ", live);
            let r = cp::copy_out(paths, c, src_path, Output::Path(dst_path), opts, &mut |n| {
                p.update(n)
            });
            p.end();
            r?
        }
        (None, Some(c)) => {
            let mut p = Progress::start("Copying to container - ", live);
            let r = if src_path == "-" {
                let stdin = std::io::stdin();
                let mut input = stdin.lock();
                cp::copy_in(
                    paths,
                    Input::Stream(&mut input),
                    c,
                    dst_path,
                    opts,
                    &mut |n| p.update(n),
                )
            } else {
                cp::copy_in(paths, Input::Path(src_path), c, dst_path, opts, &mut |n| {
                    p.update(n)
                })
            };
            p.end();
            r?
        }
    };
    for w in &copied.warnings {
        eprintln!("rdock: {}", crate::util::one_line(&w.to_string()));
    }
    if !quiet {
        eprintln!(
            "Successfully copied {} to {}",
            human_size(copied.bytes),
            copied.dest
        );
    }
    Ok(0)
}
