//! Registry traffic: the HTTP API v2 client with docker's auth flows,
//! credentials in docker's config file, pull, push, and the manifest
//! commands.

pub mod client;
pub mod credentials;
pub mod manifest;
pub mod pull;
pub mod push;
pub mod settings;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum RegistryError {
    /// The network or the server failed; docker's shape: `Get "URL": why`.
    #[error("Get \"{url}\": {msg}")]
    Http { url: String, msg: String },
    #[error("manifest for {reference} not found: {detail}")]
    ManifestUnknown { reference: String, detail: String },
    /// `manifest` commands: the registry has no such manifest (or denies it).
    #[error("no such manifest: {0}")]
    NoSuchManifest(String),
    /// `manifest` commands: no such local list, or image in one.
    #[error("No such manifest: {0}")]
    LocalNotFound(String),
    #[error("pull access denied for {0}, repository does not exist or may require 'docker login': denied: requested access to the resource is denied")]
    Denied(String),
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    #[error("{url}: unexpected status {status}: {msg}")]
    Status {
        url: String,
        status: u16,
        msg: String,
    },
    #[error("filesystem layer verification failed for digest {digest} (got {got})")]
    DigestMismatch { digest: String, got: String },
    #[error("no matching manifest for {0} in the manifest list entries")]
    NoPlatform(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Config(String),
    #[error("credential helper: {0}")]
    Helper(String),
    #[error("pull aborted")]
    Aborted,
    #[error(transparent)]
    Image(#[from] crate::image::ImageError),
}
