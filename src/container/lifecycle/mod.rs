//! Container lifecycle: create from options, start (foreground, or
//! detached under a small monitor process), remove.
//!
//! - `create`: the image resolved and merged with the flags, the
//!   container's dir written;
//! - `env`: the environment of its processes;
//! - `oci`: the container's config as an OCI runtime-spec `Spec` (root,
//!   mounts, devices, namespaces), which the runtime lowers as it does a
//!   bundle's;
//! - `spec`: what the runtime gets: the process, the lowered spec, the
//!   cgroup;
//! - `launch`: spawning it with its networks, recording its start and exit;
//! - `foreground`: the CLI as its parent (signals, output, terminal).

mod create;
mod env;
mod foreground;
mod launch;
mod oci;
mod spec;

pub(in crate::container) use create::HOSTS_NONE;
pub use create::{
    check_network_conflicts, create, create_from, create_warned, CreateOptions, ImageSource,
};
pub use env::{config_env, merge_env, process_env, replace_or_append_env};
pub(in crate::container) use foreground::{attach, forwarding_signals, try_reap, PROXIED};
pub use foreground::{run_step, start_foreground, StepExit, Streams};
pub(in crate::container) use launch::{die_events, finish, launch};
pub(in crate::container) use oci::{process, DockerProcess, ProcessInput};
pub(in crate::container) use spec::{confinement, lowering_error, release_shm};

/// Parent cgroup of every container without `--cgroup-parent`.
pub const CGROUP_PARENT: &str = crate::runtime::cgroups::RDOCK_PARENT;
