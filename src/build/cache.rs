//! The build cache: what each step produced, keyed by everything the step
//! depends on (its parent, the instruction, the build args it sees and,
//! for COPY/ADD, its sources' content). A record holds the step's whole
//! image config and layers, so a hit needs no work at all, and the IDs of
//! a fully cached rebuild are the previous build's.
//!
//! Records live in `<root>/builder/cache/<key>.json`. They are GC roots
//! (`ImageStore::gc_locked` keeps their layers): an `rmi` of a built image
//! leaves its layers to the cache until `builder prune`, as docker does.

use crate::image::config::ImageConfig;
use crate::paths::Paths;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// "sha256:<hex>" of the config's JSON: the image ID this step would
    /// have as an image.
    pub id: String,
    pub config: ImageConfig,
    /// Chain IDs, bottom first.
    pub layers: Vec<String>,
}

impl StepRecord {
    /// A record for `config` (its rootfs already filled in) on `layers`.
    pub fn new(config: ImageConfig, layers: Vec<String>) -> Result<StepRecord, serde_json::Error> {
        let bytes = serde_json::to_vec(&config)?;
        Ok(StepRecord {
            id: format!("sha256:{}", hex::encode(Sha256::digest(&bytes))),
            config,
            layers,
        })
    }
}

/// A cache key from the parts a step depends on.
pub fn key(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    hex::encode(h.finalize())
}

fn record_path(paths: &Paths, key: &str) -> PathBuf {
    paths.build_cache().join(format!("{key}.json"))
}

/// The record for `key`, if there is one whose layers are all still stored.
pub fn lookup(paths: &Paths, key: &str) -> Option<StepRecord> {
    let data = std::fs::read(record_path(paths, key)).ok()?;
    let rec: StepRecord = serde_json::from_slice(&data).ok()?;
    // Last used now: `builder prune --filter until=` spares it.
    if let Ok(f) = std::fs::File::options()
        .write(true)
        .open(record_path(paths, key))
    {
        let _ = f.set_modified(std::time::SystemTime::now());
    }
    let complete = rec.layers.iter().all(|l| {
        paths
            .layer(l.trim_start_matches("sha256:"))
            .join("diff")
            .is_dir()
    });
    complete.then_some(rec)
}

/// Record a step's result. Callers that just installed a layer call this
/// under the store lock (`ImageStore::add_layer_with`).
pub fn store(paths: &Paths, key: &str, rec: &StepRecord) -> std::io::Result<()> {
    let dir = paths.build_cache();
    crate::util::mkdirs_private(&dir)?;
    let data = serde_json::to_vec(rec).map_err(std::io::Error::other)?;
    // No fsync: a lost record is a cache miss, nothing worse.
    crate::util::replace_file(&record_path(paths, key), &data)
}

/// Every layer some record names (GC roots).
pub fn layers_in_use(paths: &Paths) -> HashSet<String> {
    let mut out = HashSet::new();
    for (_, rec) in records(paths) {
        out.extend(rec.layers);
    }
    out
}

fn records(paths: &Paths) -> Vec<(PathBuf, StepRecord)> {
    let Ok(rd) = std::fs::read_dir(paths.build_cache()) else {
        return Vec::new();
    };
    rd.flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
        .filter_map(|e| {
            let rec = serde_json::from_slice(&std::fs::read(e.path()).ok()?).ok()?;
            Some((e.path(), rec))
        })
        .collect()
}

/// What `builder prune` removed.
#[derive(Debug, Default)]
pub struct Pruned {
    /// The removed records' keys.
    pub keys: Vec<String>,
}

/// What a cache entry is, as BuildKit's `type` filter names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A step's result (BuildKit's "regular").
    Step,
    /// A `RUN --mount=type=cache` directory ("exec.cachemount").
    Mount,
}

/// One cache entry as `builder prune` chooses among them.
#[derive(Debug, Clone)]
pub struct Entry {
    pub key: String,
    pub kind: Kind,
    /// Last made or used (the record's or the directory's mtime).
    pub used: std::time::SystemTime,
    /// The step's image labels (none for a cache mount).
    pub labels: std::collections::BTreeMap<String, String>,
    /// The step's own layer, its last (none for a cache mount).
    pub layer: Option<String>,
    path: PathBuf,
}

impl Entry {
    /// Where it lives (a mount's directory, a step's record).
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }
}

impl Entry {
    #[cfg(test)]
    pub fn for_test(
        key: &str,
        kind: Kind,
        used: std::time::SystemTime,
        labels: std::collections::BTreeMap<String, String>,
    ) -> Entry {
        Entry {
            key: key.into(),
            kind,
            used,
            labels,
            layer: None,
            path: PathBuf::new(),
        }
    }
}

/// Every record and cache mount, oldest first.
pub fn entries(paths: &Paths) -> Vec<Entry> {
    let mtime = |p: &PathBuf| {
        std::fs::metadata(p)
            .and_then(|m| m.modified())
            .unwrap_or(std::time::UNIX_EPOCH)
    };
    let mut out: Vec<Entry> = records(paths)
        .into_iter()
        .map(|(p, rec)| Entry {
            key: p
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
            kind: Kind::Step,
            used: mtime(&p),
            labels: rec.config.config.labels.clone().unwrap_or_default(),
            layer: rec.layers.last().cloned(),
            path: p,
        })
        .collect();
    out.extend(mount_dirs(paths).into_iter().map(|p| {
        Entry {
            key: p
                .file_name()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
            kind: Kind::Mount,
            used: mtime(&p),
            labels: Default::default(),
            layer: None,
            path: p,
        }
    }));
    out.sort_by_key(|e| e.used);
    out
}

/// Remove these entries (from `entries`). The layers only records held
/// go with the next GC, which the caller runs.
pub fn remove(chosen: &[Entry]) -> std::io::Result<Pruned> {
    let mut keys = Vec::new();
    for e in chosen {
        match e.kind {
            Kind::Step => std::fs::remove_file(&e.path)?,
            Kind::Mount => {
                crate::image::layer::remove_tree(&e.path)?;
                let _ = std::fs::remove_file(e.path.with_extension("lock"));
            }
        }
        keys.push(e.key.clone());
    }
    keys.sort();
    Ok(Pruned { keys })
}

/// Remove every record and cache mount (BuildKit's prune removes cache
/// mounts too).
pub fn prune(paths: &Paths) -> std::io::Result<Pruned> {
    let pruned = remove(&entries(paths))?;
    // Locks of mounts already gone.
    if let Ok(rd) = std::fs::read_dir(paths.build_cache_mounts()) {
        for e in rd.flatten() {
            if e.path().extension().is_some_and(|x| x == "lock") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    Ok(pruned)
}

/// The records and cache mounts, and the layers only records hold (no
/// image in `image_layers` does): what `system df` counts as build cache.
pub fn usage(paths: &Paths, image_layers: &HashSet<String>) -> (usize, HashSet<String>) {
    let recs = records(paths);
    let mounts = mount_dirs(paths).len();
    let only: HashSet<String> = recs
        .iter()
        .flat_map(|(_, r)| r.layers.iter())
        .filter(|l| !image_layers.contains(*l))
        .cloned()
        .collect();
    (recs.len().saturating_add(mounts), only)
}

/// The cache mounts' directories.
pub fn mount_dirs(paths: &Paths) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(paths.build_cache_mounts()) else {
        return Vec::new();
    };
    rd.flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_none() && p.is_dir())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_separate_their_parts() {
        assert_ne!(key(&["ab", "c"]), key(&["a", "bc"]));
        assert_eq!(key(&["a", "b"]), key(&["a", "b"]));
    }

    #[test]
    fn record_id_is_the_config_digest() {
        let cfg = ImageConfig::default();
        let rec = StepRecord::new(cfg.clone(), vec![]).unwrap();
        let bytes = serde_json::to_vec(&cfg).unwrap();
        assert_eq!(
            rec.id,
            format!("sha256:{}", hex::encode(Sha256::digest(&bytes)))
        );
    }

    #[test]
    fn a_record_whose_layer_is_gone_is_a_miss() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::new(dir.path().join("root"), dir.path().join("run"));
        let rec = StepRecord::new(ImageConfig::default(), vec!["abc".into()]).unwrap();
        store(&paths, "k", &rec).unwrap();
        assert!(lookup(&paths, "k").is_none());
        std::fs::create_dir_all(paths.layer("abc").join("diff")).unwrap();
        assert_eq!(lookup(&paths, "k"), Some(rec));
        assert_eq!(layers_in_use(&paths).len(), 1);
        let (n, only) = usage(&paths, &HashSet::new());
        assert_eq!((n, only.len()), (1, 1));
        let held: HashSet<String> = ["abc".to_string()].into();
        assert!(usage(&paths, &held).1.is_empty());
        assert_eq!(prune(&paths).unwrap().keys, ["k"]);
        assert!(lookup(&paths, "k").is_none());
    }
}
