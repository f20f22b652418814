//! Registry traffic: the HTTP API v2 client with docker's auth flows,
//! credentials in docker's config file, pull, push, and the manifest
//! commands.

pub mod client;
pub mod credentials;
pub mod manifest;
pub mod pull;
pub mod push;
pub mod search;
pub mod settings;
pub mod transfer;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum RegistryError {
    /// A request that could not be made, or an answer that made no sense
    /// (a token answer without a token, endless redirects); docker's
    /// shape: `Get "URL": why`.
    #[error("Get \"{url}\": {msg}")]
    Http { url: String, msg: String },
    /// The network failed: no connection, no answer, or an answer cut
    /// short or stalled. Go's shape, `Get "URL": why`, with a cause that
    /// says what happened in words (`client::net_error`).
    #[error("{method} \"{url}\": {cause}")]
    Net {
        method: String,
        url: String,
        cause: String,
    },
    /// The docker CLI's own registry client (`manifest`) could not reach
    /// the registry's HTTPS endpoint, which it tries first.
    #[error("failed to configure transport: error pinging v2 registry: {0}")]
    Ping(Box<RegistryError>),
    /// A layer transfer that failed for good, after docker's retries:
    /// `what` names the layer and the host ("downloading layer sha256:…
    /// from registry.example").
    #[error("{what}: {cause}{}", gave_up(*attempts))]
    Transfer {
        what: String,
        cause: String,
        attempts: u32,
    },
    /// A failure in a command's talk with one registry, named; see
    /// `RegistryError::context`.
    #[error("{action} {host}: {source}")]
    Context {
        action: &'static str,
        host: String,
        source: Box<RegistryError>,
    },
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
    #[error(transparent)]
    Oci(#[from] crate::image::oci::OciError),
}

fn gave_up(attempts: u32) -> String {
    if attempts > 1 {
        format!(" (gave up after {attempts} attempts)")
    } else {
        String::new()
    }
}

impl RegistryError {
    /// Whether docker would try a layer transfer again after this: a
    /// network failure or a server error (5xx), not an answer such as
    /// "denied", "unknown" or a digest that does not match.
    pub fn is_retryable(&self) -> bool {
        match self {
            RegistryError::Net { .. } => true,
            RegistryError::Status { status, .. } => *status >= 500,
            _ => false,
        }
    }

    /// The URL a request failed at, when the error has one.
    pub fn url(&self) -> Option<&str> {
        match self {
            RegistryError::Net { url, .. }
            | RegistryError::Status { url, .. }
            | RegistryError::Http { url, .. } => Some(url),
            _ => None,
        }
    }

    /// The cause alone, without the URL, for a message that names the
    /// host its own way.
    pub fn cause(&self) -> String {
        match self {
            RegistryError::Net { cause, .. } => cause.clone(),
            RegistryError::Status { status, msg, .. } if msg.is_empty() => {
                format!("unexpected status {status}")
            }
            RegistryError::Status { status, msg, .. } => {
                format!("unexpected status {status}: {msg}")
            }
            e => e.to_string(),
        }
    }

    /// Name the registry a failure came from ("pulling from HOST: …"),
    /// unless the message names it already (a URL, or a reference with the
    /// host in it): the host once, not two or three times on the line.
    pub fn context(self, action: &'static str, host: &str) -> RegistryError {
        if self.to_string().contains(host) {
            return self;
        }
        RegistryError::Context {
            action,
            host: host.to_string(),
            source: Box::new(self),
        }
    }
}
