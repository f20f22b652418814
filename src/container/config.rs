//! What a container is: everything `start` needs to run it again, fixed at
//! `create` time and stored as `containers/<id>/config.json`.

use crate::runtime::rlimits::Ulimit;
use crate::runtime::rootfs::MountSpec;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NetworkMode {
    #[default]
    None,
    Host,
}

impl NetworkMode {
    pub fn as_str(&self) -> &'static str {
        match self {
            NetworkMode::None => "none",
            NetworkMode::Host => "host",
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ContainerConfig {
    pub id: String,
    pub name: String,
    /// RFC 3339 with nanoseconds, as docker's inspect shows.
    pub created: String,
    /// What the user typed (`busybox`), shown in `ps` IMAGE.
    pub image: String,
    /// "sha256:..." image ID.
    pub image_id: String,
    /// Chain IDs of the image's layers, bottom first (kept here so the
    /// image's layers survive `rmi -f` while the container exists).
    pub layers: Vec<String>,
    /// The program and its arguments (entrypoint + cmd resolved).
    pub path: String,
    pub args: Vec<String>,
    /// The image's Entrypoint and Cmd after overrides, for inspect.
    pub entrypoint: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    pub env: Vec<String>,
    pub working_dir: String,
    pub user: String,
    pub hostname: String,
    pub tty: bool,
    pub open_stdin: bool,
    pub auto_remove: bool,
    pub readonly_rootfs: bool,
    pub privileged: bool,
    #[serde(default)]
    pub init: bool,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub network: NetworkMode,
    pub mounts: Vec<MountSpec>,
    pub ulimits: Vec<Ulimit>,
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub stop_signal: Option<String>,
}
