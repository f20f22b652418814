//! Where things live on disk. Persistent data under `root` (default
//! /var/lib/rdock), run-time data under `runroot` (default /run/rdock).

use std::path::{Path, PathBuf};

pub const DEFAULT_ROOT: &str = "/var/lib/rdock";
pub const DEFAULT_RUNROOT: &str = "/run/rdock";

#[derive(Debug, Clone)]
pub struct Paths {
    pub root: PathBuf,
    pub runroot: PathBuf,
}

impl Paths {
    pub fn new(root: impl Into<PathBuf>, runroot: impl Into<PathBuf>) -> Self {
        Paths {
            root: root.into(),
            runroot: runroot.into(),
        }
    }
    /// Global store lock: held briefly around every mutation of an index.
    pub fn lock_file(&self) -> PathBuf {
        self.root.join("lock")
    }
    pub fn tmp(&self) -> PathBuf {
        self.root.join("tmp")
    }
    pub fn blobs(&self) -> PathBuf {
        self.root.join("blobs/sha256")
    }
    pub fn blob(&self, hex: &str) -> PathBuf {
        self.blobs().join(hex)
    }
    /// Extracted layers, keyed by chain ID hex.
    pub fn layers(&self) -> PathBuf {
        self.root.join("layers")
    }
    pub fn layer(&self, chain_hex: &str) -> PathBuf {
        self.layers().join(chain_hex)
    }
    /// Short symlinks to layer diff dirs, so overlay's one-page option string
    /// holds 100+ lower layers.
    pub fn short_links(&self) -> PathBuf {
        self.layers().join("l")
    }
    pub fn images_index(&self) -> PathBuf {
        self.root.join("images.json")
    }
    pub fn containers(&self) -> PathBuf {
        self.root.join("containers")
    }
    pub fn container(&self, id: &str) -> PathBuf {
        self.containers().join(id)
    }
    /// `names/<name>` is a symlink to the container ID: creating it is the
    /// atomic claim of a name.
    pub fn names(&self) -> PathBuf {
        self.root.join("names")
    }
    /// Where a container's overlay is mounted, always inside a private mount
    /// namespace (the container's, or `cp`'s): one empty dir serves every
    /// container, and a `run` creates no mountpoint of its own in the store.
    pub fn rootfs_mountpoint(&self) -> PathBuf {
        self.runroot.join("rootfs")
    }
    /// `owned/<id>`: "pid start" of the process a container lives no
    /// longer than (a build's step container), so a sweep finds those of
    /// dead builds without reading every container.
    pub fn owned(&self) -> PathBuf {
        self.root.join("owned")
    }
    pub fn run_container(&self, id: &str) -> PathBuf {
        self.runroot.join("containers").join(id)
    }
    /// `build`'s step cache: one record per step result.
    pub fn build_cache(&self) -> PathBuf {
        self.root.join("builder/cache")
    }
    /// Held shared by every running build, exclusively by a prune of the
    /// build cache.
    pub fn build_lock(&self) -> PathBuf {
        self.root.join("builder/build.lock")
    }
    /// `RUN --mount=type=cache` directories.
    pub fn build_cache_mounts(&self) -> PathBuf {
        self.root.join("builder/mounts")
    }
    pub fn is_under_root(&self, p: &Path) -> bool {
        p.starts_with(&self.root)
    }
}
