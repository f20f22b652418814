//! What the store holds and how much of it is in use: `system df` (the
//! CLI's table and the API's `/system/df` document).

use crate::container::store::{Container, ContainerStore};
use crate::error::Result;
use crate::image::store::{ImageRecord, ImageStore};
use crate::paths::Paths;
use std::collections::{HashMap, HashSet};

/// Everything `system df` counts, gathered once.
pub struct Usage {
    /// Images with the number of containers using each and the bytes of
    /// their layers other images share.
    pub images: Vec<(ImageRecord, usize, u64)>,
    /// Every distinct layer's bytes, and the bytes of layers no image in
    /// use holds.
    pub layers_total: u64,
    pub layers_free: u64,
    /// Containers with their writable layer's bytes.
    pub containers: Vec<(Container, u64)>,
    /// Volumes with their users (links) and bytes.
    pub volumes: Vec<(crate::volume::Volume, usize, u64)>,
    pub cache_count: usize,
    pub cache_size: u64,
}

/// The build cache: its entries and the bytes only it holds (layers no
/// image has, and its cache mounts).
pub fn build_cache(paths: &Paths) -> Result<(usize, u64)> {
    crate::build::prune::usage(paths)
}

fn volumes(paths: &Paths, containers: &[Container]) -> Vec<(crate::volume::Volume, usize, u64)> {
    let vstore = crate::volume::VolumeStore::new(paths);
    vstore
        .list()
        .into_iter()
        .map(|v| {
            let links = containers
                .iter()
                .filter(|c| {
                    c.config.mounts.iter().any(|m| {
                        m.kind == crate::runtime::rootfs::MountKind::Volume && m.name == v.name
                    })
                })
                .count();
            let size = vstore.size(&v);
            (v, links, size)
        })
        .collect()
}

pub fn usage(paths: &Paths) -> Result<Usage> {
    let store = ImageStore::new(paths);
    let idx = store.index()?;
    let containers = ContainerStore::new(paths).list();
    let users = |id: &str| {
        containers
            .iter()
            .filter(|c| c.config.image_id == id)
            .count()
    };
    // Layers are shared: each counts once, and is reclaimable only when no
    // image in use holds it.
    let mut layer_size: HashMap<&str, u64> = HashMap::new();
    let mut holders: HashMap<&str, usize> = HashMap::new();
    let mut in_use: HashSet<&str> = HashSet::new();
    for img in &idx.images {
        for l in &img.layers {
            layer_size
                .entry(l.as_str())
                .or_insert_with(|| store.layer_info(l).map(|i| i.size).unwrap_or(0));
            let n = holders.entry(l.as_str()).or_default();
            *n = n.saturating_add(1);
            if users(&img.id) > 0 {
                in_use.insert(l.as_str());
            }
        }
    }
    let layers_total = layer_size.values().sum();
    let layers_free = layer_size
        .iter()
        .filter(|(l, _)| !in_use.contains(*l))
        .map(|(_, s)| s)
        .sum();
    let images = idx
        .images
        .iter()
        .map(|img| {
            let shared = img
                .layers
                .iter()
                .filter(|l| holders.get(l.as_str()).copied().unwrap_or(0) > 1)
                .map(|l| layer_size.get(l.as_str()).copied().unwrap_or(0))
                .sum();
            (img.clone(), users(&img.id), shared)
        })
        .collect();
    let volumes = volumes(paths, &containers);
    let containers = containers
        .into_iter()
        .map(|c| {
            let size = crate::util::tree_size(&c.dir.join("upper"));
            (c, size)
        })
        .collect();
    let (cache_count, cache_size) = build_cache(paths)?;
    Ok(Usage {
        images,
        layers_total,
        layers_free,
        containers,
        volumes,
        cache_count,
        cache_size,
    })
}
