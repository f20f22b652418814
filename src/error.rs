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
    /// A message of several lines (docker's multi-line daemon errors),
    /// each line made safe for a terminal on its own.
    #[error("{}", .0.join("\n"))]
    Lines(Vec<String>),
    /// An error that carries its own exit status (126/127 reported by a monitor).
    #[error("{0}")]
    WithCode(Box<Error>, i32),
    /// A value the docker CLI itself refuses before it asks the daemon:
    /// `create` prints it with its help line and exits 125 (the daemon's
    /// refusals exit 1).
    #[error(transparent)]
    Client(Box<Error>),
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

    /// Mark an error as found by the client, before any work (see `Client`).
    pub fn client(self) -> Self {
        match self {
            Error::Client(_) => self,
            e => Error::Client(Box::new(e)),
        }
    }

    /// The status a container's start records (State.ExitCode) and `run`
    /// exits with: 126/127 when the container's command cannot be run,
    /// 125 for any other failure.
    pub fn exit_code(&self) -> i32 {
        self.status(125)
    }

    /// The exit status of a command whose failures exit `default` (the
    /// docker 28 CLI: 125 for `run`, 1 for most others); an error that
    /// carries its own status keeps it.
    pub fn status(&self, default: i32) -> i32 {
        match self {
            Error::Exit(code) => *code,
            Error::WithCode(_, code) => *code,
            Error::Client(e) => e.status(default),
            // docker's CLI: a template that fails is a plain error.
            Error::Format(_) => 1,
            Error::Runtime(e) => match e.exit_code() {
                125 => default,
                code => code,
            },
            // As docker's CLI after an interrupted build.
            Error::Build(crate::build::BuildError::Interrupted) => 130,
            _ => default,
        }
    }

    /// The error as printed on stderr: one line, control characters
    /// escaped (names and paths come from users), except docker's messages
    /// of several lines, whose lines are each made safe.
    pub fn printable(&self) -> String {
        match self {
            // Tabs and newlines are the message's own layout; nothing else is.
            Error::Lines(l) | Error::Network(crate::network::NetworkError::Lines(l)) => l
                .iter()
                .map(|l| {
                    l.split('\t')
                        .map(crate::util::one_line)
                        .collect::<Vec<_>>()
                        .join("\t")
                })
                .collect::<Vec<_>>()
                .join("\n"),
            Error::Client(e) => e.printable(),
            Error::WithCode(e, _) => e.printable(),
            e => crate::util::one_line(&e.to_string()).into_owned(),
        }
    }

    /// Whether the error says the named object does not exist (what
    /// `rm -f` and `rmi -f` report without failing, as docker's).
    pub fn is_not_found(&self) -> bool {
        use crate::container::ContainerError;
        use crate::image::ImageError;
        match self {
            Error::Container(ContainerError::NotFound(_))
            | Error::Image(ImageError::NotFound(_)) => true,
            Error::Volume(crate::volume::VolumeError::NotFound(_)) => true,
            Error::WithCode(e, _) | Error::Client(e) => e.is_not_found(),
            _ => false,
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
