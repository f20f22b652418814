//! Images: references, the content-addressed store, layer extraction,
//! image configs and archive formats.

pub mod archive;
pub mod config;
pub mod history;
pub mod import;
pub mod inspect;
pub mod layer;
pub mod manage;
pub mod oci;
pub mod reference;
pub mod registry;
pub mod select;
pub mod store;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum ImageError {
    #[error("No such image: {0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("conflict: unable to remove repository reference \"{reference}\" (must force) - container {container} is using its referenced image {image}")]
    InUse {
        reference: String,
        container: String,
        image: String,
    },
    #[error("conflict: unable to delete {0} (must be forced) - image is referenced in multiple repositories")]
    MultipleRefs(String),
    #[error(transparent)]
    Layer(#[from] layer::LayerError),
    #[error(transparent)]
    Oci(#[from] oci::OciError),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid JSON in {what}: {source}")]
    Json {
        what: String,
        #[source]
        source: serde_json::Error,
    },
}

impl ImageError {
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        ImageError::Io {
            what: what.into(),
            source,
        }
    }
}
