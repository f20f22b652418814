//! `rdock load [-i FILE] [-q] [--platform P]`: docker-archive or OCI
//! archive, plain, gzip or zstd, from a file or standard input.

use crate::error::{Error, IoContext, Result};
use crate::image::archive::load::{self, Input, LoadOptions};
use crate::image::archive::parse_platform;
use crate::image::store::ImageStore;
use crate::paths::Paths;
use clap::Args;
use std::fs::File;
use std::io::{IsTerminal, Seek};
use std::os::fd::AsFd;

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
fn stdin_input() -> Result<Input> {
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

pub fn run(paths: &Paths, a: LoadArgs) -> Result<i32> {
    let platform = a
        .platform
        .as_deref()
        .filter(|p| !p.is_empty())
        .map(parse_platform)
        .transpose()?;
    let input = match a.input.as_deref().filter(|i| !i.is_empty()) {
        Some(path) => Input::File(File::open(path).ctx(|| format!("open {path}"))?),
        None => stdin_input()?,
    };
    let store = ImageStore::new(paths);
    // docker's -q hides progress only; "Loaded image" lines stay. rdock
    // draws no progress, so -q changes nothing.
    let _ = a.quiet;
    let lines = load::load(&store, input, &LoadOptions { platform })?;
    for l in lines {
        println!("{l}");
    }
    Ok(0)
}
