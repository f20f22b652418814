//! `builder prune`: docker's filters (as the engine checks them) and
//! `--keep-storage`, mapped onto rdock's cache (step records and
//! `RUN --mount=type=cache` directories), and the prune itself, for the
//! CLI and the API's `/build/prune`:
//! (step records and `RUN --mount=type=cache` directories):
//! - `until`/`unused-for`: entries last made or used before the time;
//! - `label`/`label!`: a step's image labels (docker's engine accepts these
//!   and ignores them; rdock applies them; a cache mount has none);
//! - `id`: entries whose key contains the value (BuildKit's `id~=`);
//! - `type`: `regular` (steps) or `exec.cachemount` (mounts);
//! - `inuse`, `shared`: rdock's entries are neither (a running build keeps
//!   the whole cache), so `=true` chooses none; `private`: all are;
//! - `parent`, `description`: BuildKit's record fields rdock has none of:
//!   `=` anything chooses none;
//! - `--keep-storage`: the chosen entries, oldest first, until what stays
//!   of the cache fits.

use crate::error::{Error, Result};
use crate::image::store::ImageStore;
use crate::paths::Paths;
use std::collections::{BTreeMap, HashSet};
use std::time::SystemTime;

fn image_layers(images: &ImageStore) -> Result<HashSet<String>> {
    Ok(images
        .index()?
        .images
        .into_iter()
        .flat_map(|i| i.layers)
        .collect())
}

fn mounts_size(paths: &Paths) -> u64 {
    super::cache::mount_dirs(paths)
        .iter()
        .map(|d| crate::util::tree_size(d))
        .sum()
}

fn layers_size(images: &ImageStore, layers: &HashSet<String>) -> u64 {
    layers
        .iter()
        .filter_map(|l| images.layer_info(l))
        .map(|i| i.size)
        .sum()
}

/// The build cache as `system df` counts it: its entries, and the bytes
/// only it holds (layers no image has, and its cache mounts).
pub fn usage(paths: &Paths) -> Result<(usize, u64)> {
    let images = ImageStore::new(paths);
    let (n, only) = super::cache::usage(paths, &image_layers(&images)?);
    Ok((
        n,
        layers_size(&images, &only).saturating_add(mounts_size(paths)),
    ))
}

/// Every cache entry with the bytes only it holds (its layer when no
/// image has it; a cache mount's files), as the API's `system/df` lists
/// them; the sizes add up to `usage`'s.
pub fn records(paths: &Paths) -> Result<Vec<(super::cache::Entry, u64)>> {
    let images = ImageStore::new(paths);
    let (_, only) = super::cache::usage(paths, &image_layers(&images)?);
    Ok(super::cache::entries(paths)
        .into_iter()
        .map(|e| {
            let size = entry_size(&images, &only, &e);
            (e, size)
        })
        .collect())
}

fn entry_size(images: &ImageStore, only: &HashSet<String>, e: &super::cache::Entry) -> u64 {
    match &e.layer {
        Some(l) if only.contains(l) => images.layer_info(l).map_or(0, |i| i.size),
        Some(_) => 0,
        None if e.kind == super::cache::Kind::Mount => crate::util::tree_size(e.path()),
        None => 0,
    }
}

/// Remove the whole build cache and the layers only it held.
pub fn prune_all(paths: &Paths) -> Result<Pruned> {
    prune(paths, &CacheFilter::default())
}

/// The entries the filters choose, and with `--keep-storage` only the
/// oldest of them until what stays fits.
fn chosen_entries(
    paths: &Paths,
    images: &ImageStore,
    only: &HashSet<String>,
    filter: &CacheFilter,
) -> Vec<super::cache::Entry> {
    let all = super::cache::entries(paths);
    let Some(keep) = filter.keep_storage else {
        return all.into_iter().filter(|e| filter.selects(e)).collect();
    };
    let size = |e: &super::cache::Entry| entry_size(images, only, e);
    let mut total: u64 = all.iter().map(size).sum();
    let mut out = Vec::new();
    for e in all.into_iter().filter(|e| filter.selects(e)) {
        if total <= keep {
            break;
        }
        total = total.saturating_sub(size(&e));
        out.push(e);
    }
    out
}

/// What a prune removed: the entries' keys and the bytes freed; `busy`
/// when a build was running and nothing was touched.
#[derive(Debug, Default)]
pub struct Pruned {
    pub keys: Vec<String>,
    pub size: u64,
    pub busy: bool,
}

/// Remove the entries `filter` chooses, and the layers only they held.
pub fn prune(paths: &Paths, filter: &CacheFilter) -> Result<Pruned> {
    // A running build's finished steps are held only by their cache
    // records (and its cache mounts by their locks): leave them alone.
    let Some(_lock) = crate::util::FileLock::try_exclusive(&paths.build_lock())
        .map_err(|e| Error::msg(format!("locking the build cache: {e}")))?
    else {
        return Ok(Pruned {
            busy: true,
            ..Default::default()
        });
    };
    let images = ImageStore::new(paths);
    let held = image_layers(&images)?;
    let (_, only) = super::cache::usage(paths, &held);
    let size_before = layers_size(&images, &only).saturating_add(mounts_size(paths));
    let pruned = if filter.is_empty() {
        super::cache::prune(paths)
    } else {
        super::cache::remove(&chosen_entries(paths, &images, &only, filter))
    }
    .map_err(|e| Error::msg(format!("removing the build cache: {e}")))?;
    let (_, only_after) = super::cache::usage(paths, &held);
    let size = size_before
        .saturating_sub(layers_size(&images, &only_after).saturating_add(mounts_size(paths)));
    let in_use = crate::container::store::ContainerStore::new(paths).layers_in_use();
    images.update(|idx| images.gc_locked(idx, &in_use))?;
    crate::events::pruned(paths, "builder", size);
    Ok(Pruned {
        keys: pruned.keys,
        size,
        busy: false,
    })
}

use super::cache::{Entry, Kind};

#[derive(Debug, Default)]
pub struct CacheFilter {
    until: Option<SystemTime>,
    label: Vec<(String, Option<String>)>,
    not_label: Vec<(String, Option<String>)>,
    id: Option<String>,
    kind: Option<String>,
    /// Filters only a BuildKit record could meet (`inuse=true`...).
    none: bool,
    pub keep_storage: Option<u64>,
}

/// The engine's own words, behind docker's "failed to prune build cache".
fn failed(why: impl std::fmt::Display) -> Error {
    Error::msg(format!("failed to prune build cache: {why}"))
}

impl CacheFilter {
    /// The engine's check of the filters (`toBuildkitPruneInfo`), docker's
    /// `key=value` strings, and `--keep-storage` in bytes.
    pub fn parse(filters: &[String], keep_storage: Option<u64>) -> Result<CacheFilter> {
        let mut by_key: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for f in filters {
            let (k, v) = f.split_once('=').ok_or_else(|| {
                failed(format!("bad format of filter (expected name=value): {f}"))
            })?;
            by_key.entry(k.trim()).or_default().push(v.trim());
        }
        let mut out = CacheFilter {
            keep_storage,
            ..Default::default()
        };
        const VALID: &[&str] = &[
            "until",
            "unused-for",
            "label",
            "label!",
            "id",
            "parent",
            "type",
            "description",
            "inuse",
            "shared",
            "private",
        ];
        if let Some(k) = by_key.keys().find(|k| !VALID.contains(k)) {
            return Err(failed(format!("invalid filter '{k}'")));
        }
        out.until_from(&by_key)?;
        for (k, values) in &by_key {
            if matches!(*k, "label" | "label!" | "until" | "unused-for") {
                continue;
            }
            let [v] = values.as_slice() else {
                return Err(failed("filters expect only one value"));
            };
            let truthy = matches!(*v, "true" | "1");
            match *k {
                "id" => out.id = Some(v.to_string()),
                "type" => out.kind = Some(v.to_string()),
                "inuse" | "shared" => out.none |= truthy,
                "private" => out.none |= !truthy,
                _ => out.none = true,
            }
        }
        let kv = |v: &&str| match v.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (v.to_string(), None),
        };
        out.label = by_key.get("label").into_iter().flatten().map(kv).collect();
        out.not_label = by_key.get("label!").into_iter().flatten().map(kv).collect();
        Ok(out)
    }

    fn until_from(&mut self, by_key: &BTreeMap<&str, Vec<&str>>) -> Result<()> {
        let until = by_key.get("until");
        let unused = by_key.get("unused-for");
        if until.is_some() && unused.is_some() {
            return Err(failed("conflicting filters: \"until\" and \"unused-for\""));
        }
        let (key, values) = match (until, unused) {
            (Some(v), _) => ("until", v),
            (_, Some(v)) => ("unused-for", v),
            _ => return Ok(()),
        };
        let [v] = values.as_slice() else {
            return Err(failed("filters expect only one value"));
        };
        let t = crate::util::timearg::parse_time(v, chrono::Utc::now()).map_err(|e| {
            failed(format!(
                "\"{key}\" filter expects a duration (e.g., '24h') or a timestamp: {e}"
            ))
        })?;
        self.until = Some(SystemTime::from(t));
        Ok(())
    }

    /// Whether the filters choose this entry.
    pub fn selects(&self, e: &Entry) -> bool {
        if self.none {
            return false;
        }
        if self.until.is_some_and(|u| e.used >= u) {
            return false;
        }
        if self
            .id
            .as_ref()
            .is_some_and(|id| !e.key.contains(id.as_str()))
        {
            return false;
        }
        let kind = match e.kind {
            Kind::Step => "regular",
            Kind::Mount => "exec.cachemount",
        };
        if self.kind.as_ref().is_some_and(|k| k != kind) {
            return false;
        }
        let has = |(k, v): &(String, Option<String>)| match (e.labels.get(k), v) {
            (Some(_), None) => true,
            (Some(have), Some(want)) => have == want,
            (None, _) => false,
        };
        self.label.iter().all(has) && !self.not_label.iter().any(has)
    }

    /// Whether any filter or `--keep-storage` was given (without, the
    /// whole cache goes).
    pub fn is_empty(&self) -> bool {
        self.until.is_none()
            && self.label.is_empty()
            && self.not_label.is_empty()
            && self.id.is_none()
            && self.kind.is_none()
            && !self.none
            && self.keep_storage.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn entry(kind: Kind, labels: &[(&str, &str)], age_secs: u64) -> Entry {
        Entry::for_test(
            "abcdef",
            kind,
            SystemTime::now() - std::time::Duration::from_secs(age_secs),
            labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn engine_refusals_in_its_words() {
        let err = |f: &[&str]| {
            CacheFilter::parse(&strings(f), None)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err(&["bogus=1"]),
            "failed to prune build cache: invalid filter 'bogus'"
        );
        assert_eq!(
            err(&["id=a", "id=b"]),
            "failed to prune build cache: filters expect only one value"
        );
        assert!(err(&["until=1h", "unused-for=1h"]).contains("conflicting filters"));
        assert!(err(&["until=soon"]).contains("\"until\" filter expects a duration"));
        assert!(err(&["until"]).contains("bad format of filter"));
    }

    #[test]
    fn filters_choose_entries() {
        let f = |v: &[&str]| CacheFilter::parse(&strings(v), None).unwrap();
        let old = entry(Kind::Step, &[("team", "a")], 7200);
        let new = entry(Kind::Step, &[], 0);
        let mount = entry(Kind::Mount, &[], 7200);
        assert!(f(&["until=1h"]).selects(&old));
        assert!(!f(&["until=1h"]).selects(&new));
        assert!(f(&["label=team=a"]).selects(&old));
        assert!(!f(&["label=team=b"]).selects(&old));
        assert!(!f(&["label!=team"]).selects(&old));
        assert!(f(&["label!=team"]).selects(&new));
        assert!(f(&["type=exec.cachemount"]).selects(&mount));
        assert!(!f(&["type=regular"]).selects(&mount));
        assert!(f(&["id=cde"]).selects(&old));
        assert!(!f(&["inuse=true"]).selects(&old));
        assert!(f(&["inuse=false"]).selects(&old));
        assert!(f(&[]).is_empty());
    }
}
