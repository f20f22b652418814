//! `rdock load [-i FILE] [-q] [--platform P]`: docker-archive or OCI
//! archive, plain, gzip or zstd, from a file or standard input. On a
//! terminal each layer gets docker's "Loading layer" bar (not with -q).

use super::format::human_size_prec;
use crate::error::{Error, Result};
use crate::image::archive::load::{self, Input, LoadOptions};
use crate::image::archive::parse_platform;
use crate::image::store::ImageStore;
use crate::paths::Paths;
use clap::Args;
use std::fs::File;
use std::io::{IsTerminal, Seek, Write};
use std::os::fd::AsFd;
use std::sync::Mutex;

#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Read from tar archive file, instead of STDIN
    #[arg(short = 'i', long)]
    pub input: Option<String>,
    /// Suppress the load output
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Load only the given platform variant. Formatted as "os[/arch[/variant]]" (e.g., "linux/amd64")
    #[arg(long)]
    pub platform: Option<String>,
}

/// Standard input: a regular file at its start (`< image.tar`) is read by
/// offsets like `-i`, anything else as a stream.
fn stdin_input() -> Result<Input<'static>> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Err(Error::msg("requested load from stdin, but stdin is empty"));
    }
    if let Ok(fd) = stdin.as_fd().try_clone_to_owned() {
        let mut f = File::from(fd);
        let regular = f.metadata().map(|m| m.is_file()).unwrap_or(false);
        if regular && f.stream_position().ok() == Some(0) {
            return Ok(Input::File(f));
        }
    }
    Ok(Input::Stream(Box::new(stdin)))
}

/// `-i PATH`: a regular file is read by offsets; a pipe (`-i <(zcat
/// x.tar.gz)`, a FIFO), which docker's client streams, as a stream.
fn file_input(f: File) -> Input<'static> {
    if f.metadata().map(|m| m.is_file()).unwrap_or(false) {
        Input::File(f)
    } else {
        Input::Stream(Box::new(f))
    }
}

/// docker's "Loading layer" bars on a terminal: one line per layer,
/// rewritten in place.
#[derive(Default)]
struct Bars {
    ids: Mutex<Vec<String>>,
}

impl Bars {
    fn show(&self, id: &str, current: u64, total: u64) {
        let Ok(mut ids) = self.ids.lock() else {
            return;
        };
        let mut out = std::io::stdout().lock();
        // Lines up from the bottom to this layer's.
        let up = match ids.iter().position(|x| x == id) {
            Some(p) => ids.len().saturating_sub(p),
            None => {
                ids.push(id.to_string());
                let _ = out.write_all(b"\n");
                1
            }
        };
        let _ = write!(
            out,
            "\x1b[{up}A\r\x1b[2K{id}: Loading layer {}\x1b[{up}B\r",
            bar(current, total)
        );
        let _ = out.flush();
    }
}

/// "[=====>      ]  1.234MB/5.678MB", as docker's JSONProgress draws
/// it: one "=" per 2%, then ">", padded to 50; the current size right
/// aligned in 8 columns.
fn bar(current: u64, total: u64) -> String {
    let pct = ((current.min(total) as f64 / total.max(1) as f64) * 100.0) as usize / 2;
    format!(
        "[{}>{}] {:>8}/{}",
        "=".repeat(pct),
        " ".repeat(50usize.saturating_sub(pct)),
        human_size_prec(current, 4),
        human_size_prec(total, 4)
    )
}

type Report<'a> = &'a (dyn Fn(&str, u64, u64) + Sync);

pub fn run(paths: &Paths, a: LoadArgs) -> Result<i32> {
    // What killed commands left (docs/architecture.md, crash safety).
    crate::container::debris::sweep(paths);
    let platform = a
        .platform
        .as_deref()
        .filter(|p| !p.is_empty())
        .map(parse_platform)
        .transpose()?;
    let input =
        match a.input.as_deref().filter(|i| !i.is_empty()) {
            Some(path) => file_input(File::open(path).map_err(|e| {
                Error::msg(format!("open {path}: {}", crate::util::go_io_error(&e)))
            })?),
            None => stdin_input()?,
        };
    let store = ImageStore::new(paths);
    // As docker: bars only on a terminal and without -q; the "Loaded
    // image" lines always.
    let bars = Bars::default();
    let show = |id: &str, cur: u64, total: u64| bars.show(id, cur, total);
    let progress: Option<Report> = (!a.quiet && std::io::stdout().is_terminal()).then_some(&show);
    let lines = load::load(&store, input, &LoadOptions { platform }, progress)?;
    for l in lines {
        // "Loaded image: NAME" / "Loaded image ID: sha256:...".
        if let Some((_, what)) = l.split_once(": ") {
            crate::events::image(paths, "load", what, what);
        }
        println!("{l}");
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_as_docker_draws_them() {
        assert_eq!(bar(0, 100), format!("[>{}]       0B/100B", " ".repeat(50)));
        assert_eq!(
            bar(100, 100),
            format!("[{}>]     100B/100B", "=".repeat(50))
        );
        assert_eq!(
            bar(1_000_000, 2_000_000),
            format!("[{}>{}]      1MB/2MB", "=".repeat(25), " ".repeat(25))
        );
    }
}
