//! `image prune` and `container prune`, and the filters every prune takes.

use super::format::human_size;
use crate::container::ops;
use crate::container::state::Status;
use crate::container::store::ContainerStore;
use crate::error::{Error, Result};
use crate::image::store::ImageStore;
use crate::paths::Paths;
use chrono::{DateTime, Utc};
use clap::Args;
use std::collections::BTreeMap;

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

/// docker's prune filters: `until` (created before a time), `label` and
/// `label!` (`key` or `key=value`); `dangling` for images.
#[derive(Debug, Default)]
pub(crate) struct PruneFilter {
    until: Option<DateTime<Utc>>,
    label: Vec<(String, Option<String>)>,
    not_label: Vec<(String, Option<String>)>,
    /// `dangling=false`: every unused image, as `-a`.
    pub(crate) all_images: bool,
}

impl PruneFilter {
    /// `accepted`: the keys this prune takes (docker refuses the others).
    pub(crate) fn parse(args: &[String], accepted: &[&str]) -> Result<PruneFilter> {
        let now = Utc::now();
        let mut f = PruneFilter::default();
        for a in args {
            let (k, v) = a
                .split_once('=')
                .ok_or_else(|| Error::msg("bad format of filter (expected name=value)"))?;
            if !accepted.contains(&k) {
                return Err(Error::msg(format!("invalid filter '{k}'")));
            }
            let kv = || match v.split_once('=') {
                Some((k, v)) => (k.to_string(), Some(v.to_string())),
                None => (v.to_string(), None),
            };
            match k {
                "until" => {
                    let t = super::timearg::parse_time(v, now)
                        .map_err(|e| Error::msg(e.to_string()))?;
                    f.until = Some(t);
                }
                "label" => f.label.push(kv()),
                "label!" => f.not_label.push(kv()),
                "dangling" => match v {
                    "true" | "1" => f.all_images = false,
                    "false" | "0" => f.all_images = true,
                    _ => return Err(Error::msg(format!("invalid filter 'dangling={v}'"))),
                },
                _ => {}
            }
        }
        Ok(f)
    }

    /// Whether an object created at `created` (RFC 3339) with `labels` is
    /// one the prune may take.
    pub(crate) fn selects(&self, created: &str, labels: &BTreeMap<String, String>) -> bool {
        if let Some(until) = self.until {
            match DateTime::parse_from_rfc3339(created) {
                Ok(c) if c.with_timezone(&Utc) < until => {}
                _ => return false,
            }
        }
        let has = |(k, v): &(String, Option<String>)| match (labels.get(k), v) {
            (Some(_), None) => true,
            (Some(have), Some(want)) => have == want,
            (None, _) => false,
        };
        self.label.iter().all(has) && !self.not_label.iter().any(has)
    }
}

pub fn run_images(paths: &Paths, a: ImagePruneArgs) -> Result<i32> {
    // What killed commands left (docs/architecture.md, crash safety).
    crate::container::debris::sweep(paths);
    let filter = PruneFilter::parse(&a.filter, &["until", "label", "label!", "dangling"])?;
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
    let containers = ContainerStore::new(paths);
    let store = ImageStore::new(paths);
    let selects = |img: &crate::image::store::ImageRecord| {
        let labels = store
            .config(img)
            .ok()
            .and_then(|c| c.config.labels)
            .unwrap_or_default();
        filter.selects(img.created.as_deref().unwrap_or_default(), &labels)
    };
    let gone = crate::image::manage::prune(
        &store,
        all,
        &selects,
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
    let filter = PruneFilter::parse(&a.filter, &["until", "label", "label!"])?;
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
    let store = ContainerStore::new(paths);
    let mut removed = Vec::new();
    let mut size = 0;
    for c in store.list() {
        if matches!(
            c.state.status,
            Status::Exited | Status::Created | Status::Dead
        ) && !c.state.is_alive()
            && filter.selects(&c.config.created, &c.config.labels)
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
