//! The container's filesystem, built inside its new mount namespace by the
//! container's init (the clone child): overlay rootfs, /proc, /sys, /dev,
//! volumes, /etc files, masked and read-only paths, pivot_root.
//! STUB: to be implemented (helper "rootfs").

use super::Result;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MountKind {
    Bind,
    Tmpfs,
}

/// One user mount from -v, --mount or --tmpfs, as stored in the container config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountSpec {
    pub kind: MountKind,
    /// Host path for binds (absolute); empty for tmpfs.
    pub source: PathBuf,
    /// Absolute path inside the container.
    pub destination: PathBuf,
    pub readonly: bool,
    /// tmpfs: "size=64m", "mode=1777"; bind: propagation like "rprivate".
    pub options: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct RootfsSpec {
    /// Directory that holds the short layer links; the init chdirs here so
    /// `lowers` can be short relative paths and 100+ layers fit in overlay's
    /// one-page option string.
    pub layers_dir: PathBuf,
    /// Lower layers relative to `layers_dir` (e.g. "l/ABCDEF"), topmost first.
    /// May be empty (an image without layers).
    pub lowers: Vec<String>,
    pub upper: PathBuf,
    pub work: PathBuf,
    /// Existing empty directory where the overlay is mounted, then pivoted into.
    pub target: PathBuf,
    pub readonly: bool,
    pub mounts: Vec<MountSpec>,
    /// Files bind-mounted over /etc/hostname, /etc/hosts, /etc/resolv.conf.
    pub hostname_file: Option<PathBuf>,
    pub hosts_file: Option<PathBuf>,
    pub resolv_file: Option<PathBuf>,
    /// --privileged: no masked or read-only paths, /sys read-write.
    pub privileged: bool,
    /// The init has its own network namespace (not --network host).
    pub new_netns: bool,
}

/// Runs in the clone child, in its new mount namespace, as root. On return
/// the process is in the new root ("/") with the old root detached.
pub fn setup(_spec: &RootfsSpec) -> Result<()> {
    Ok(())
}

/// STUB until the rootfs module lands.
pub fn parse_volume(arg: &str) -> Result<MountSpec> {
    Err(super::RuntimeError::InvalidArg(format!(
        "-v {arg}: not implemented"
    )))
}
/// STUB until the rootfs module lands.
pub fn parse_mount(arg: &str) -> Result<MountSpec> {
    Err(super::RuntimeError::InvalidArg(format!(
        "--mount {arg}: not implemented"
    )))
}
/// STUB until the rootfs module lands.
pub fn parse_tmpfs(arg: &str) -> Result<MountSpec> {
    Err(super::RuntimeError::InvalidArg(format!(
        "--tmpfs {arg}: not implemented"
    )))
}
