//! Removing what nothing uses: stopped containers, dangling (or unused)
//! images, unused networks and volumes, with docker's prune filters. The
//! CLI's `prune` commands and the API's `/x/prune` endpoints both call
//! these and format what they return.

use crate::container::ops;
use crate::container::state::Status;
use crate::container::store::ContainerStore;
use crate::error::{Error, Result};
use crate::image::store::ImageStore;
use crate::paths::Paths;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// docker's prune filters: `until` (created before a time), `label` and
/// `label!` (`key` or `key=value`); `dangling` for images.
#[derive(Debug, Default)]
pub struct PruneFilter {
    until: Option<DateTime<Utc>>,
    label: Vec<(String, Option<String>)>,
    not_label: Vec<(String, Option<String>)>,
    /// `dangling=false`: every unused image, as `-a`.
    pub all_images: bool,
}

/// The keys `container prune` and `network prune` take.
pub const KEYS: &[&str] = &["until", "label", "label!"];
/// The keys `image prune` takes.
pub const IMAGE_KEYS: &[&str] = &["until", "label", "label!", "dangling"];

impl PruneFilter {
    /// `accepted`: the keys this prune takes (docker refuses the others).
    pub fn parse(args: &[String], accepted: &[&str]) -> Result<PruneFilter> {
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
                    let t = crate::util::timearg::parse_time(v, now)
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
    pub fn selects(&self, created: &str, labels: &BTreeMap<String, String>) -> bool {
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

/// What a prune removed and the bytes it gave back.
#[derive(Debug, Default)]
pub struct Pruned<T> {
    pub removed: Vec<T>,
    pub space: u64,
    /// Objects that could not go, the rest pruned all the same (docker's
    /// daemon logs them; the CLI prints them).
    pub failures: Vec<Error>,
}

/// Remove every stopped container the filter selects: their IDs and the
/// space their writable layers took.
pub fn containers(paths: &Paths, filter: &PruneFilter) -> Pruned<String> {
    let store = ContainerStore::new(paths);
    let mut out = Pruned::default();
    for c in store.list() {
        if matches!(
            c.state.status,
            Status::Exited | Status::Created | Status::Dead
        ) && !c.state.is_alive()
            // A running build's step container (made, not started yet) is
            // the build's: it goes with it.
            && !c.config.owner.is_some_and(crate::container::debris::alive)
            && filter.selects(&c.config.created, &c.config.labels)
        {
            let used = crate::util::tree_size(&c.dir.join("upper"));
            // As docker's prune: one that cannot go (a start in progress)
            // is left, the rest still pruned.
            match ops::remove(paths, &c, false) {
                Ok(()) => {
                    out.space = used.saturating_add(out.space);
                    out.removed.push(c.config.id);
                }
                Err(Error::Container(crate::container::ContainerError::Running(_))) => {}
                Err(e) => out.failures.push(e),
            }
        }
    }
    crate::events::pruned(paths, "container", out.space);
    out
}

/// An image a prune removed: its names (each untagged) and ID.
#[derive(Debug)]
pub struct PrunedImage {
    /// Familiar names (`busybox:latest`).
    pub untagged: Vec<String>,
    pub id: String,
}

/// Remove dangling (or, with `all`, unused) images the filter selects.
pub fn images(paths: &Paths, all: bool, filter: &PruneFilter) -> Result<Pruned<PrunedImage>> {
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
    let space = gone.iter().map(|g| g.size).sum();
    crate::events::pruned(paths, "image", space);
    let removed = gone
        .into_iter()
        .map(|g| PrunedImage {
            untagged: g
                .names
                .iter()
                .map(|n| {
                    crate::image::reference::Reference::parse(n)
                        .map(|r| r.familiar())
                        .unwrap_or_else(|_| n.clone())
                })
                .collect(),
            id: g.id,
        })
        .collect();
    Ok(Pruned {
        removed,
        space,
        failures: Vec::new(),
    })
}

/// Remove the user networks no container names: their names.
pub fn networks(paths: &Paths, filter: &PruneFilter) -> Vec<String> {
    // Unlike docker, a network that a stopped container names is kept:
    // pruning it would leave that container unable to start.
    let named: std::collections::HashSet<String> = ContainerStore::new(paths)
        .list()
        .iter()
        .flat_map(|c| crate::container::network::attachments(&c.config))
        .map(|a| a.network)
        .collect();
    let mut removed = Vec::new();
    for def in crate::network::store::user_networks(paths) {
        if named.contains(&def.name) || !filter.selects(&def.created, &def.labels) {
            continue;
        }
        if crate::container::network::remove_network(paths, &def).is_ok() {
            removed.push(def.name);
        }
    }
    crate::events::pruned(paths, "network", 0);
    removed
}

/// Remove the unused volumes `filter` selects (anonymous ones only unless
/// it says `all`): their names and bytes.
pub fn volumes(
    paths: &Paths,
    filter: &crate::volume::select::PruneFilters,
) -> Result<Pruned<String>> {
    use crate::volume::{VolumeError, VolumeStore};
    let store = VolumeStore::new(paths);
    let _lock = store.lock()?;
    let mut out = Pruned::default();
    for v in store.unused() {
        if !filter.selects(&v) {
            continue;
        }
        let bytes = store.size(&v);
        match store.remove_locked(&v.name, false) {
            Ok(()) => {
                out.removed.push(v.name);
                out.space = bytes.saturating_add(out.space);
            }
            // Taken by a container created meanwhile: not unused after all.
            Err(VolumeError::InUse { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    crate::events::pruned(paths, "volume", out.space);
    Ok(out)
}
