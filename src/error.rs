//! The crate-level error: each module has its own typed error, gathered here
//! so the CLI can map any failure to one line on stderr and an exit code.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum Error {
    #[error(transparent)]
    Image(#[from] crate::image::ImageError),
    #[error(transparent)]
    Archive(#[from] crate::image::archive::ArchiveError),
    #[error(transparent)]
    Registry(#[from] crate::image::registry::RegistryError),
    #[error(transparent)]
    Reference(#[from] crate::image::reference::ReferenceError),
    #[error(transparent)]
    Container(#[from] crate::container::ContainerError),
    #[error(transparent)]
    Cp(#[from] crate::container::cp::CpError),
    #[error(transparent)]
    Runtime(#[from] crate::runtime::RuntimeError),
    #[error(transparent)]
    Network(#[from] crate::network::NetworkError),
    #[error(transparent)]
    Format(#[from] crate::cli::format::FormatError),
    #[error(transparent)]
    Volume(#[from] crate::volume::VolumeError),
    #[error(transparent)]
    Build(#[from] crate::build::BuildError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// A plain message for errors raised at the CLI edge.
    #[error("{0}")]
    Msg(String),
    /// An error that carries its own exit status (126/127 reported by a monitor).
    #[error("{0}")]
    WithCode(Box<Error>, i32),
    /// The container ran and its process exited with this status; not a failure of rdock.
    #[error("container exited with status {0}")]
    Exit(i32),
}

impl Error {
    pub fn with_code(self, code: i32) -> Self {
        Error::WithCode(Box::new(self), code)
    }

    pub fn msg(s: impl Into<String>) -> Self {
        Error::Msg(s.into())
    }

    /// Exit status as docker reports it: 125 for rdock's own failures,
    /// 126/127 when the container's command cannot be run.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Exit(code) => *code,
            Error::WithCode(_, code) => *code,
            Error::Runtime(e) => e.exit_code(),
            // docker's CLI: a template that fails is a plain error.
            Error::Format(_) => 1,
            // As docker's CLI after an interrupted build.
            Error::Build(crate::build::BuildError::Interrupted) => 130,
            _ => 125,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Attach a human context to an io::Error.
pub trait IoContext<T> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|source| Error::Io {
            context: context(),
            source,
        })
    }
}
