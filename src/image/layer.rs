//! Safe extraction of a layer tarball into its own directory.
//! STUB: to be implemented (helper "layer").

use std::io::Read;
use std::path::Path;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum LayerError {
    #[error("layer entry {path:?} escapes the layer: {why}")]
    Escape { path: String, why: String },
    #[error("layer entry {path:?}: {source}")]
    Entry {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("reading layer: {0}")]
    Read(#[source] std::io::Error),
    #[error("layer entry {path:?}: unsupported: {why}")]
    Unsupported { path: String, why: String },
}

#[derive(Debug, Default, Clone)]
pub struct LayerStats {
    /// Sum of regular file sizes (what docker shows as a layer's size).
    pub size: u64,
    pub entries: u64,
}

/// Extract an *uncompressed* tar stream into `dest` (an existing, empty
/// directory). Whiteouts become overlayfs whiteouts. On error the caller
/// removes `dest`.
pub fn extract(_tar: impl Read, _dest: &Path) -> Result<LayerStats, LayerError> {
    Err(LayerError::Unsupported {
        path: String::new(),
        why: "not implemented".into(),
    })
}

/// Remove a (possibly partial) layer dir. STUB until the layer module lands.
pub fn remove_tree(dest: &Path) -> std::io::Result<()> {
    match std::fs::remove_dir_all(dest) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        r => r,
    }
}
