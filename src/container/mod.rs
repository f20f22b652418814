//! Containers: the on-disk config and state of each container, names,
//! and the lifecycle operations (create, start, remove).

use thiserror::Error;

pub mod attach;
pub mod changes;
pub mod commit;
pub mod config;
pub mod cp;
pub mod debris;
pub mod exec;
pub mod export;
pub mod freeze;
pub mod health;
pub mod inspect;
pub mod lifecycle;
pub mod log_read;
pub mod logs;
pub mod monitor;
pub mod network;
pub mod networks;
pub mod ops;
pub mod select;
pub mod session;
pub mod state;
pub mod stats;
pub mod store;
pub mod top;
pub mod tty;

#[derive(Debug, Error)]
pub enum ContainerError {
    #[error("No such container: {0}")]
    NotFound(String),
    #[error("Conflict. The container name \"/{name}\" is already in use by container \"{id}\". You have to remove (or rename) that container to be able to reuse that name.")]
    NameInUse { name: String, id: String },
    #[error("Invalid container name ({0}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")]
    InvalidName(String),
    #[error("multiple IDs found with provided prefix: {0}")]
    Ambiguous(String),
    /// The container as the user named it.
    #[error("cannot remove container \"{0}\": container is running: stop the container before removing or force remove")]
    Running(String),
    #[error("{0}")]
    Invalid(String),
    /// docker's refusal, naming the container as the user did.
    #[error("Container {0} is paused, unpause the container before exec")]
    ExecPaused(String),
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

impl ContainerError {
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        ContainerError::Io {
            what: what.into(),
            source,
        }
    }
}
