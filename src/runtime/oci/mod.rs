//! rdock as an OCI runtime (`rdock-runtime`, runc's command line), and the
//! runtime-spec as the one contract of rdock's own containers: a config
//! lowered to rdock's container init (`lower`), its root filesystem
//! (`rootfs`), its cgroup (`cgroup`), the containers' state under the
//! runtime's root (`state`) and the lifecycle operations (`ops`).

pub mod cgroup;
pub mod hooks;
pub mod lower;
pub mod ops;
pub mod rootfs;
pub mod state;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum OciError {
    /// The config cannot be used as written.
    #[error("{0}")]
    Config(String),
    /// The config asks for what rdock-runtime does not do (yet).
    #[error("{0}")]
    Unsupported(String),
    #[error("container does not exist")]
    NotFound,
    #[error("container with id exists: {0}")]
    Exists(String),
    #[error("invalid container id {0:?}: only letters, digits, '_', '+', '-' and '.' are allowed")]
    BadId(String),
    /// An operation the container's status does not allow.
    #[error("{0}")]
    State(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Runtime(#[from] crate::runtime::RuntimeError),
}

impl OciError {
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        OciError::Io {
            what: what.into(),
            source,
        }
    }
}

pub type Result<T, E = OciError> = std::result::Result<T, E>;
