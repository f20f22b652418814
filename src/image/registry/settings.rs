//! Registry settings a docker user would put in the daemon's
//! `/etc/docker/daemon.json`; rdock has no daemon, so they live in
//! `/etc/rdock/daemon.json` (or the file named by `RDOCK_DAEMON_CONFIG`),
//! with docker's key names:
//!
//! ```json
//! { "insecure-registries": ["myregistry:5000"],
//!   "registry-mirrors": ["https://mirror.example.com"] }
//! ```
//!
//! Loopback registries (localhost, 127.0.0.0/8, ::1) are insecure without
//! being listed, as with docker. Mirrors serve Docker Hub images only.

use serde::Deserialize;

pub const DEFAULT_PATH: &str = "/etc/rdock/daemon.json";

#[derive(Debug, Default, Clone, Deserialize)]
pub struct Settings {
    #[serde(default, rename = "insecure-registries")]
    pub insecure: Vec<String>,
    #[serde(default, rename = "registry-mirrors")]
    pub mirrors: Vec<String>,
    #[serde(default, rename = "max-concurrent-downloads")]
    pub max_concurrent_downloads: Option<usize>,
}

impl Settings {
    /// The settings file, or defaults when there is none. A file that does
    /// not parse is an error: silently ignoring it would send traffic where
    /// the user did not mean it to go.
    pub fn load() -> Result<Settings, super::RegistryError> {
        let json = crate::util::daemon_json().map_err(super::RegistryError::Config)?;
        Settings::deserialize(json).map_err(|e| super::RegistryError::Config(e.to_string()))
    }

    /// Layers downloaded at once (docker's default: 3).
    pub fn concurrency(&self) -> usize {
        self.max_concurrent_downloads.unwrap_or(3).clamp(1, 16)
    }
}
