//! `image prune` and `container prune`.

use super::format::human_size;
use crate::container::lifecycle;
use crate::container::state::Status;
use crate::container::store::ContainerStore;
use crate::error::{Error, Result};
use crate::image::store::ImageStore;
use crate::paths::Paths;
use clap::Args;

#[derive(Debug, Args)]
pub struct ImagePruneArgs {
    /// Remove all unused images, not just dangling ones
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Provide filter values (e.g. "until=<timestamp>")
    #[arg(long)]
    pub filter: Vec<String>,
    /// Do not prompt for confirmation
    #[arg(short = 'f', long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct ContainerPruneArgs {
    /// Provide filter values (e.g. "until=<timestamp>")
    #[arg(long)]
    pub filter: Vec<String>,
    /// Do not prompt for confirmation
    #[arg(short = 'f', long)]
    pub force: bool,
}

/// docker asks before pruning unless -f; with no terminal to ask, it reads
/// stdin and treats anything but y/Y as no.
pub(crate) fn confirm(question: &str, force: bool) -> bool {
    if force {
        return true;
    }
    use std::io::Write;
    print!("{question}\nAre you sure you want to continue? [y/N] ");
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    matches!(line.trim(), "y" | "Y" | "yes")
}

pub fn run_images(paths: &Paths, a: ImagePruneArgs) -> Result<i32> {
    if !a.filter.is_empty() {
        return Err(Error::msg("prune filters are not supported by rdock yet"));
    }
    let q = if a.all {
        "WARNING! This will remove all images without at least one container associated to them."
    } else {
        "WARNING! This will remove all dangling images."
    };
    if !confirm(q, a.force) {
        return Ok(0);
    }
    let containers = ContainerStore::new(paths);
    let gone = crate::image::manage::prune(
        &ImageStore::new(paths),
        a.all,
        &containers.images_in_use(),
        &containers.layers_in_use(),
    )?;
    if !gone.is_empty() {
        println!("Deleted Images:");
        for g in &gone {
            for n in &g.names {
                println!(
                    "untagged: {}",
                    crate::image::reference::Reference::parse(n)
                        .map(|r| r.familiar())
                        .unwrap_or_else(|_| n.clone())
                );
            }
            println!("deleted: {}", g.id);
        }
        println!();
    }
    println!(
        "Total reclaimed space: {}",
        human_size(gone.iter().map(|g| g.size).sum())
    );
    Ok(0)
}

pub fn run_containers(paths: &Paths, a: ContainerPruneArgs) -> Result<i32> {
    if !a.filter.is_empty() {
        return Err(Error::msg("prune filters are not supported by rdock yet"));
    }
    if !confirm("WARNING! This will remove all stopped containers.", a.force) {
        return Ok(0);
    }
    let store = ContainerStore::new(paths);
    let mut removed = Vec::new();
    for c in store.list() {
        if matches!(
            c.state.status,
            Status::Exited | Status::Created | Status::Dead
        ) && !c.state.is_alive()
        {
            lifecycle::remove(paths, &c, false)?;
            removed.push(c.config.id);
        }
    }
    if !removed.is_empty() {
        println!("Deleted Containers:");
        for id in &removed {
            println!("{id}");
        }
        println!();
    }
    println!("Total reclaimed space: 0B");
    Ok(0)
}
