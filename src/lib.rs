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

pub mod build;
pub mod cli;
pub mod container;
pub mod error;
pub mod events;
pub mod image;
pub mod network;
pub mod paths;
pub mod runtime;
pub mod util;
pub mod volume;

pub use error::{Error, Result};
