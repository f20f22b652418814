//! `build`: images from a Dockerfile.
//!
//! `dockerfile` parses, `shell_lex` expands variables as docker does,
//! `ignore` matches .dockerignore, `context` reads the build context,
//! `executor` runs the stages (RUN in a real container, COPY/ADD through
//! `copy` into a container's rootfs view), `cache` remembers each step's
//! result.

pub mod cache;
pub mod context;
pub mod copy;
pub mod dockerfile;
mod executor;
pub mod git;
pub mod ignore;
mod progress;
pub mod prune;
pub mod remote;
pub mod run_mount;
pub mod shell_lex;

pub use executor::{build, BuildOptions, Output, StepLimits};

use thiserror::Error;

#[derive(Debug, Error)]
pub enum BuildError {
    #[error(transparent)]
    Parse(#[from] dockerfile::ParseError),
    #[error("file not found in build context or excluded by .dockerignore: stat {0}: file does not exist")]
    NotFound(String),
    #[error("{0}")]
    Msg(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// A step failed: the file, line and instruction, then why.
    #[error("{file}:{line}: {instruction}: {source}")]
    Step {
        file: String,
        line: usize,
        instruction: String,
        source: Box<crate::error::Error>,
    },
    #[error("build interrupted")]
    Interrupted,
}

impl BuildError {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        BuildError::Io {
            context: context.into(),
            source,
        }
    }
}

impl From<shell_lex::LexError> for BuildError {
    fn from(e: shell_lex::LexError) -> Self {
        BuildError::Msg(e.to_string())
    }
}
