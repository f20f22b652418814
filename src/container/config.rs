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
    /// `--restart`: "no", "always", "unless-stopped", "on-failure[:N]".
    #[serde(default)]
    pub restart: RestartPolicy,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub network: NetworkMode,
    pub mounts: Vec<MountSpec>,
    pub ulimits: Vec<Ulimit>,
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub stop_signal: Option<String>,
}

/// A restart policy, parsed from docker's `--restart` forms.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestartPolicy {
    /// "no", "always", "unless-stopped", "on-failure".
    pub name: String,
    /// on-failure's limit; 0 = no limit.
    #[serde(default)]
    pub max_retries: u32,
}

impl RestartPolicy {
    pub fn parse(s: &str) -> Result<RestartPolicy, String> {
        let (name, count) = match s.split_once(':') {
            Some((n, c)) => (n, Some(c)),
            None => (s, None),
        };
        match (name, count) {
            ("" | "no", None) => Ok(RestartPolicy::default()),
            ("always" | "unless-stopped", None) => Ok(RestartPolicy {
                name: name.into(),
                max_retries: 0,
            }),
            ("on-failure", c) => {
                let max_retries = match c {
                    None => 0,
                    Some(c) => c
                        .parse::<i64>()
                        .ok()
                        .filter(|n| *n >= 0)
                        .map(|n| n as u32)
                        .ok_or_else(|| format!("invalid restart policy format: maximum retry count must be a positive integer: {c}"))?,
                };
                Ok(RestartPolicy {
                    name: name.into(),
                    max_retries,
                })
            }
            ("always" | "unless-stopped" | "no", Some(_)) => Err(
                "invalid restart policy format: maximum retry count can only be used with 'on-failure'"
                    .to_string(),
            ),
            _ => Err(format!("invalid restart policy format: unknown policy '{name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'")),
        }
    }

    pub fn is_none(&self) -> bool {
        self.name.is_empty() || self.name == "no"
    }

    /// Whether an exit with `code`, after `restarts` restarts, runs again.
    /// `stopped`: the user stopped it.
    pub fn should_restart(&self, code: i32, restarts: u32, stopped: bool) -> bool {
        if stopped {
            return false;
        }
        match self.name.as_str() {
            "always" | "unless-stopped" => true,
            "on-failure" => code != 0 && (self.max_retries == 0 || restarts < self.max_retries),
            _ => false,
        }
    }

    /// docker's name for inspect: "no" when unset.
    pub fn display_name(&self) -> &str {
        if self.name.is_empty() {
            "no"
        } else {
            &self.name
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_policies() {
        assert!(RestartPolicy::parse("no").unwrap().is_none());
        assert_eq!(RestartPolicy::parse("on-failure:3").unwrap().max_retries, 3);
        assert!(RestartPolicy::parse("always:3").is_err());
        assert!(RestartPolicy::parse("sometimes").is_err());
        assert!(RestartPolicy::parse("on-failure:x").is_err());
        let p = RestartPolicy::parse("on-failure:2").unwrap();
        assert!(p.should_restart(1, 1, false));
        assert!(!p.should_restart(1, 2, false));
        assert!(!p.should_restart(0, 0, false));
        let a = RestartPolicy::parse("always").unwrap();
        assert!(a.should_restart(0, 100, false));
        assert!(!a.should_restart(0, 0, true));
    }
}
