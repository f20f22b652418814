//! Turning a container config into a running process: clone(2) with new
//! namespaces, the rootfs (overlay, /proc, /sys, /dev, pivot_root), cgroups,
//! capabilities, rlimits, user switching, then execve.

pub mod caps;
pub mod cgroups;
pub mod devices;
pub mod init_spec;
mod init_steps;
pub mod mountspec;
pub mod oci;
pub mod process;
pub mod resources;
pub mod rlimits;
pub mod rootfs;
pub mod seccomp;
pub mod signals;
pub mod user;
pub mod userns;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum RuntimeError {
    /// A system call failed; `what` names the operation and its object.
    #[error("{what}: {source}")]
    Sys {
        what: String,
        #[source]
        source: nix::Error,
    },
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Seccomp(#[from] seccomp::SeccompError),
    #[error("cgroup: {0}")]
    Cgroup(String),
    /// A user-supplied option value that cannot be used (bad --ulimit, unknown capability...).
    #[error("{0}")]
    InvalidArg(String),
    #[error("unable to find user {0}")]
    UserNotFound(String),
    /// The working directory could not be entered: runc's words, with
    /// Go's text for the errno.
    #[error("chdir to cwd (\"{0}\") set in config.json failed: {1}")]
    Cwd(String, String),
    #[error("unable to find group {0}")]
    GroupNotFound(String),
    /// exit 127: docker's wording.
    #[error("exec: \"{0}\": executable file not found in $PATH")]
    ExecNotFound(String),
    /// exit 127: a path that does not exist.
    #[error("exec: \"{0}\": stat {0}: no such file or directory")]
    ExecMissing(String),
    /// exit 126.
    #[error("exec: \"{0}\": permission denied")]
    ExecDenied(String),
    /// exit 126 for any other execve failure.
    #[error("exec: \"{0}\": {1}")]
    ExecFailed(String, String),
    /// A signal ended the wait for a process that could not start;
    /// exits 128 + the signal, as if it had killed us.
    #[error("interrupted by {} before the process started (a frozen container keeps it waiting)", .0.as_str())]
    Interrupted(nix::sys::signal::Signal),
    #[error("{0}")]
    Other(String),
}

impl RuntimeError {
    pub fn sys(what: impl Into<String>, source: nix::Error) -> Self {
        RuntimeError::Sys {
            what: what.into(),
            source,
        }
    }
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        RuntimeError::Io {
            what: what.into(),
            source,
        }
    }
    pub fn exit_code(&self) -> i32 {
        match self {
            RuntimeError::ExecNotFound(_) | RuntimeError::ExecMissing(_) => 127,
            RuntimeError::ExecDenied(_) | RuntimeError::ExecFailed(..) => 126,
            RuntimeError::Interrupted(sig) => 128_i32.saturating_add(*sig as i32),
            _ => 125,
        }
    }
}

pub type Result<T, E = RuntimeError> = std::result::Result<T, E>;
