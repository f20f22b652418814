//! `image prune` and `container prune`, and the filters every prune takes.

use super::format::human_size;
use crate::error::Result;
use crate::paths::Paths;
use clap::Args;

#[derive(Debug, Args)]
pub struct ImagePruneArgs {
    /// Remove all unused images, not just dangling ones
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Provide filter values (e.g. "until=<timestamp>")
    #[arg(long, value_name = "filter")]
    pub filter: Vec<String>,
    /// Do not prompt for confirmation
    #[arg(short = 'f', long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct ContainerPruneArgs {
    /// Provide filter values (e.g. "until=<timestamp>")
    #[arg(long, value_name = "filter")]
    pub filter: Vec<String>,
    /// Do not prompt for confirmation
    #[arg(short = 'f', long)]
    pub force: bool,
}

/// `confirm` with the question on the prompt's line (`builder prune`).
pub(crate) fn confirm_line(question: &str, force: bool) -> bool {
    if force {
        return true;
    }
    use std::io::Write;
    print!("{question} [y/N] ");
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    matches!(line.trim(), "y" | "Y" | "yes")
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

pub(crate) use crate::prune::PruneFilter;

pub fn run_images(paths: &Paths, a: ImagePruneArgs) -> Result<i32> {
    // What killed commands left (docs/architecture.md, crash safety).
    crate::container::debris::sweep(paths);
    let filter = PruneFilter::parse(&a.filter, crate::prune::IMAGE_KEYS)?;
    let all = a.all || filter.all_images;
    let q = if all {
        "WARNING! This will remove all images without at least one container associated to them."
    } else {
        "WARNING! This will remove all dangling images."
    };
    if !confirm(q, a.force) {
        return Ok(0);
    }
    let (text, size) = prune_images(paths, all, &filter)?;
    print!("{text}");
    println!("Total reclaimed space: {}", human_size(size));
    Ok(0)
}

/// Remove dangling (or, with `all`, unused) images: docker's "Deleted
/// Images:" section and the space given back.
pub(crate) fn prune_images(
    paths: &Paths,
    all: bool,
    filter: &PruneFilter,
) -> Result<(String, u64)> {
    let gone = crate::prune::images(paths, all, filter)?;
    let mut out = String::new();
    if !gone.removed.is_empty() {
        out.push_str("Deleted Images:\n");
        for g in &gone.removed {
            for n in &g.untagged {
                out.push_str(&format!("untagged: {n}\n"));
            }
            out.push_str(&format!("deleted: {}\n", g.id));
        }
        out.push('\n');
    }
    Ok((out, gone.space))
}

pub fn run_containers(paths: &Paths, a: ContainerPruneArgs) -> Result<i32> {
    // What killed commands left (docs/architecture.md, crash safety).
    crate::container::debris::sweep(paths);
    let filter = PruneFilter::parse(&a.filter, crate::prune::KEYS)?;
    if !confirm("WARNING! This will remove all stopped containers.", a.force) {
        return Ok(0);
    }
    let (text, size) = prune_containers(paths, &filter)?;
    print!("{text}");
    println!("Total reclaimed space: {}", human_size(size));
    Ok(0)
}

/// Remove every stopped container: docker's "Deleted Containers:" section
/// and the space their writable layers took.
pub(crate) fn prune_containers(paths: &Paths, filter: &PruneFilter) -> Result<(String, u64)> {
    let pruned = crate::prune::containers(paths, filter);
    for e in &pruned.failures {
        super::report_line(e);
    }
    let mut out = String::new();
    if !pruned.removed.is_empty() {
        out.push_str("Deleted Containers:\n");
        for id in &pruned.removed {
            out.push_str(id);
            out.push('\n');
        }
        out.push('\n');
    }
    Ok((out, pruned.space))
}
