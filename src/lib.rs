//! rdock: a daemonless, docker-compatible container CLI.
//!
//! Layout: `cli` parses and prints, `image` owns references, the blob/layer
//! store and archive formats, `container` owns per-container config and
//! state, `runtime` turns a container config into a running process
//! (namespaces, mounts, cgroups, capabilities), `network` the bridge and
//! firewall, `volume` named and anonymous volumes, `events` the journal
//! `rdock events` reads.

// serde_json::json! of docker's inspect document nests deeper than the default allows.
#![recursion_limit = "256"]
// No panics outside tests: errors are values, one line on stderr. That
// includes out-of-bounds indexing and slicing and integer overflow (an
// ARG-only Dockerfile once panicked on `len() - 1`): use get(), patterns,
// checked_*/saturating_*; a provably safe site may say so in a narrow
// #[allow] with its proof.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::todo,
        clippy::unimplemented,
        clippy::unreachable,
        clippy::indexing_slicing,
        clippy::string_slice,
        clippy::arithmetic_side_effects
    )
)]

/// std's `print!`/`println!` panic when stdout is a closed pipe
/// (`rdock images -q | head -1`); these end the process as a Go program
/// (docker) ends: by SIGPIPE, quietly. Other write errors are dropped, as
/// Go's fmt.Print drops them.
macro_rules! print {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!($crate::util::QuietStdout, $($arg)*);
    }};
}
macro_rules! println {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!($crate::util::QuietStdout, $($arg)*);
    }};
}

/// A debug message (`-D`, `--log-level debug`): formatted only when on.
macro_rules! debug {
    ($($arg:tt)*) => {{
        if $crate::util::log::enabled($crate::util::log::Level::Debug) {
            $crate::util::log::emit($crate::util::log::Level::Debug, format_args!($($arg)*));
        }
    }};
}

pub mod api;
pub mod build;
pub mod cli;
pub mod container;
pub mod engine;
pub mod error;
pub mod events;
pub mod image;
pub mod network;
pub mod paths;
pub mod prune;
pub mod runtime;
pub mod usage;
pub mod util;
pub mod volume;

pub use error::{Error, Result};
