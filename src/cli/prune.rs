//! `image prune` and `container prune`.

use super::format::human_size;
use crate::container::ops;
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
    // What killed commands left (docs/architecture.md, crash safety).
    crate::container::debris::sweep(paths);
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
    let (text, size) = prune_images(paths, a.all)?;
    print!("{text}");
    println!("Total reclaimed space: {}", human_size(size));
    Ok(0)
}

/// Remove dangling (or, with `all`, unused) images: docker's "Deleted
/// Images:" section and the space given back.
pub(crate) fn prune_images(paths: &Paths, all: bool) -> Result<(String, u64)> {
    let containers = ContainerStore::new(paths);
    let gone = crate::image::manage::prune(
        &ImageStore::new(paths),
        all,
        &containers.images_in_use(),
        &containers.layers_in_use(),
    )?;
    let mut out = String::new();
    if !gone.is_empty() {
        out.push_str("Deleted Images:\n");
        for g in &gone {
            for n in &g.names {
                out.push_str(&format!(
                    "untagged: {}\n",
                    crate::image::reference::Reference::parse(n)
                        .map(|r| r.familiar())
                        .unwrap_or_else(|_| n.clone())
                ));
            }
            out.push_str(&format!("deleted: {}\n", g.id));
        }
        out.push('\n');
    }
    Ok((out, gone.iter().map(|g| g.size).sum()))
}

pub fn run_containers(paths: &Paths, a: ContainerPruneArgs) -> Result<i32> {
    // What killed commands left (docs/architecture.md, crash safety).
    crate::container::debris::sweep(paths);
    if !a.filter.is_empty() {
        return Err(Error::msg("prune filters are not supported by rdock yet"));
    }
    if !confirm("WARNING! This will remove all stopped containers.", a.force) {
        return Ok(0);
    }
    let (text, size) = prune_containers(paths)?;
    print!("{text}");
    println!("Total reclaimed space: {}", human_size(size));
    Ok(0)
}

/// Remove every stopped container: docker's "Deleted Containers:" section
/// and the space their writable layers took.
pub(crate) fn prune_containers(paths: &Paths) -> Result<(String, u64)> {
    let store = ContainerStore::new(paths);
    let mut removed = Vec::new();
    let mut size = 0;
    for c in store.list() {
        if matches!(
            c.state.status,
            Status::Exited | Status::Created | Status::Dead
        ) && !c.state.is_alive()
        {
            let used = crate::util::tree_size(&c.dir.join("upper"));
            // As docker's prune: one that cannot go (a start in progress)
            // is left, the rest still pruned.
            match ops::remove(paths, &c, false) {
                Ok(()) => {
                    size = used.saturating_add(size);
                    removed.push(c.config.id);
                }
                Err(Error::Container(crate::container::ContainerError::Running(_))) => {}
                Err(e) => super::report_line(&e),
            }
        }
    }
    let mut out = String::new();
    if !removed.is_empty() {
        out.push_str("Deleted Containers:\n");
        for id in &removed {
            out.push_str(id);
            out.push('\n');
        }
        out.push('\n');
    }
    Ok((out, size))
}
