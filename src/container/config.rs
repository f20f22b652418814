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
    /// A bridge network by name (`bridge` is the default one).
    Bridge(String),
    /// `container:ID`: the network namespace of another container.
    Container(String),
}

impl NetworkMode {
    /// As inspect's HostConfig.NetworkMode shows it.
    pub fn as_string(&self) -> String {
        match self {
            NetworkMode::None => "none".into(),
            NetworkMode::Host => "host".into(),
            NetworkMode::Bridge(n) => n.clone(),
            NetworkMode::Container(id) => format!("container:{id}"),
        }
    }

    /// Does the container get a network namespace of its own?
    pub fn own_netns(&self) -> bool {
        matches!(self, NetworkMode::None | NetworkMode::Bridge(_))
    }
}

/// What the network side of `run` asked for, beyond the mode.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkOptions {
    /// `-p`, parsed; host ports of 0 are picked at each start.
    #[serde(default)]
    pub publish: Vec<crate::network::ports::PortMapping>,
    /// `-P`: every exposed port on a random host port.
    #[serde(default)]
    pub publish_all: bool,
    /// The image's EXPOSE and `--expose`, as `80/tcp` keys.
    #[serde(default)]
    pub exposed: Vec<String>,
    #[serde(default)]
    pub dns: Vec<String>,
    #[serde(default)]
    pub dns_search: Vec<String>,
    #[serde(default)]
    pub dns_options: Vec<String>,
    /// `--add-host name:ip`, as `ip\tname` lines for /etc/hosts.
    #[serde(default)]
    pub extra_hosts: Vec<String>,
    #[serde(default)]
    pub ip: Option<std::net::Ipv4Addr>,
    #[serde(default)]
    pub mac: Option<String>,
    /// `--network-alias`, on the network of `--network`.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// `--network name=N,gw-priority=P` of the network of `--network`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub gw_priority: i64,
    /// `--link NAME[:ALIAS]`, as given.
    #[serde(default)]
    pub links: Vec<String>,
    /// Networks joined by `network connect`, after the first.
    #[serde(default)]
    pub connected: Vec<Attachment>,
    /// Disconnected from the network of `--network` (the mode stays, as
    /// docker's HostConfig.NetworkMode does).
    #[serde(default)]
    pub detached: bool,
}

/// A container on one more bridge network.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub network: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub ip: Option<std::net::Ipv4Addr>,
    /// `--network name=N,mac-address=M` for a network after the first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    /// `gw-priority`: the highest gives the default route (docker 28).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub gw_priority: i64,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
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
    #[serde(default)]
    pub net: NetworkOptions,
    pub mounts: Vec<MountSpec>,
    pub ulimits: Vec<Ulimit>,
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub stop_signal: Option<String>,
    #[serde(default)]
    pub log: LogConfig,
    /// -m, --cpus, --pids-limit, ... (docker's HostConfig resources).
    #[serde(default)]
    pub resources: crate::runtime::resources::Resources,
    /// `--shm-size` in bytes; 0 = docker's 64 MiB.
    #[serde(default)]
    pub shm_size: i64,
    /// `--cgroup-parent`; empty = rdock's own parent.
    #[serde(default)]
    pub cgroup_parent: String,
    /// `--cgroupns`: "private" or "host"; empty = the host's default.
    #[serde(default)]
    pub cgroupns: String,
    /// `--device` mappings, as docker records them.
    #[serde(default)]
    pub devices: Vec<crate::runtime::devices::Mapping>,
    /// `--device-cgroup-rule` lines.
    #[serde(default)]
    pub device_cgroup_rules: Vec<String>,
    /// `--pid`: "" (private), "host" or "container:<id>".
    #[serde(default)]
    pub pid_mode: String,
    /// `--ipc`: "private" (also ""), "shareable", "none", "host" or
    /// "container:<id>".
    #[serde(default)]
    pub ipc_mode: String,
    /// `--uts`: "" or "host".
    #[serde(default)]
    pub uts_mode: String,
    /// `--group-add`: extra groups (names or numbers) of the process.
    #[serde(default)]
    pub group_add: Vec<String>,
    /// `--sysctl` key=value pairs, set in the container's namespaces.
    #[serde(default)]
    pub sysctls: BTreeMap<String, String>,
    /// `--oom-score-adj`.
    #[serde(default)]
    pub oom_score_adj: i32,
    /// `--userns`: "" or "host" (no remapping for this container).
    #[serde(default)]
    pub userns_mode: String,
    /// The id mapping from daemon.json's userns-remap, fixed at create.
    #[serde(default)]
    pub userns_remap: Option<crate::runtime::userns::Remap>,
    /// `--security-opt`, as docker's HostConfig.SecurityOpt keeps them
    /// (a seccomp profile file's JSON inline, as the docker CLI sends it).
    #[serde(default)]
    pub security_opt: Vec<String>,
    /// `--security-opt systempaths=unconfined`: no masked or read-only
    /// /proc and /sys paths (the docker CLI turns it into empty
    /// HostConfig.MaskedPaths/ReadonlyPaths).
    #[serde(default)]
    pub unmask_system_paths: bool,
    /// The image's HEALTHCHECK merged with `--health-*`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<super::health::HealthConfig>,
    /// `--stop-timeout` seconds: `stop`'s default wait.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<i64>,
    /// `--domainname`: the UTS domain name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub domainname: String,
    /// `--annotation` key=value pairs (kept and shown, as docker's
    /// HostConfig.Annotations; no runtime reads them here).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// The process (pid, start time) this container lives no longer than
    /// (a build's step container): once it is gone, the next sweep
    /// removes the container (`debris.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<(i32, u64)>,
}

impl ContainerConfig {
    /// The command as docker's engine lists it (`ps` COMMAND, the API's
    /// summary): the arguments with spaces in single quotes.
    pub fn command_line(&self) -> String {
        let mut cmd = self.path.clone();
        for a in &self.args {
            cmd.push(' ');
            if a.contains(' ') {
                cmd.push_str(&format!("'{a}'"));
            } else {
                cmd.push_str(a);
            }
        }
        cmd
    }
}

impl ContainerConfig {
    /// The cgroup parent (relative to each hierarchy's root).
    pub fn cgroup_parent(&self) -> &str {
        let p = self.cgroup_parent.trim_matches('/');
        if p.is_empty() {
            crate::container::lifecycle::CGROUP_PARENT
        } else {
            p
        }
    }

    /// Whether the container gets its own cgroup namespace. docker's
    /// default is private on cgroup v2 but host on v1; rdock keeps it
    /// private on both (it hides the host's cgroup paths) unless
    /// `--cgroupns host` is asked for (docs/security.md).
    /// `--cgroupns`, or docker's default: private on cgroup v2, the
    /// host's on v1 (`default-cgroupns-mode`).
    pub fn private_cgroupns(&self) -> bool {
        match self.cgroupns.as_str() {
            "host" => false,
            "private" => true,
            _ => {
                crate::runtime::cgroups::CgroupMode::detect()
                    == crate::runtime::cgroups::CgroupMode::Unified
            }
        }
    }
}

/// docker's `--security-opt` values, parsed as its daemon does
/// (`parseSecurityOpt`). rdock has no LSM: `label` and `apparmor` are
/// accepted and recorded, as docker does on a host without SELinux or
/// AppArmor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecurityOptions {
    pub no_new_privileges: bool,
    /// `seccomp=`: "unconfined", "builtin" or a profile's JSON; None is
    /// docker's default profile.
    pub seccomp: Option<String>,
    pub apparmor: Option<String>,
    pub labels: Vec<String>,
}

impl SecurityOptions {
    pub fn parse(opts: &[String]) -> Result<SecurityOptions, String> {
        let mut s = SecurityOptions::default();
        for opt in opts {
            match opt.as_str() {
                "no-new-privileges" => {
                    s.no_new_privileges = true;
                    continue;
                }
                "disable" => {
                    s.labels.push("disable".into());
                    continue;
                }
                _ => {}
            }
            // `key:value` is docker's deprecated spelling, still accepted.
            let kv = if opt.contains('=') {
                opt.split_once('=')
            } else {
                opt.split_once(':')
            };
            let Some((k, v)) = kv else {
                return Err(format!("invalid --security-opt 1: {opt:?}"));
            };
            match k {
                "label" => s.labels.push(v.to_string()),
                "apparmor" => s.apparmor = Some(v.to_string()),
                "seccomp" => s.seccomp = Some(v.to_string()),
                "no-new-privileges" => {
                    s.no_new_privileges = parse_go_bool(v)
                        .ok_or_else(|| format!("invalid --security-opt 2: {opt:?}"))?
                }
                _ => return Err(format!("invalid --security-opt 2: {opt:?}")),
            }
        }
        Ok(s)
    }

    /// The seccomp profile to run with.
    pub fn seccomp_mode(&self) -> crate::runtime::seccomp::Mode {
        use crate::runtime::seccomp::Mode;
        match self.seccomp.as_deref() {
            None | Some("") | Some("builtin") => Mode::Default,
            Some("unconfined") => Mode::Unconfined,
            Some(json) => Mode::Custom(json.to_string()),
        }
    }
}

/// Go's strconv.ParseBool.
fn parse_go_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// `--log-driver` and `--log-opt`, as inspect's HostConfig.LogConfig.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogConfig {
    /// "json-file" (empty means json-file), "local" (kept in the same
    /// json-file format here) or "none".
    pub driver: String,
    pub opts: BTreeMap<String, String>,
    /// What `logs --details` shows with each line: the labels and
    /// environment variables named by the `labels`/`env` options, fixed
    /// at create time as docker does.
    #[serde(default)]
    pub attrs: BTreeMap<String, String>,
}

impl LogConfig {
    pub fn driver_name(&self) -> &str {
        if self.driver.is_empty() {
            "json-file"
        } else {
            &self.driver
        }
    }

    /// max-size in bytes (docker's binary units: 10k, 20m, 1g).
    pub fn max_size(&self) -> Option<u64> {
        self.opts
            .get("max-size")
            .and_then(|v| parse_ram(v))
            .filter(|v| *v > 0)
    }

    pub fn max_file(&self) -> u32 {
        self.opts
            .get("max-file")
            .and_then(|v| v.parse().ok())
            .unwrap_or(1)
    }

    /// Check the driver and options as docker's json-file driver does, and
    /// work out the `--details` attributes.
    pub fn new(
        driver: Option<&str>,
        opts: &[String],
        labels: &BTreeMap<String, String>,
        env: &[String],
    ) -> Result<LogConfig, String> {
        let driver = driver.unwrap_or("json-file");
        let allowed: &[&str] = match driver {
            "json-file" | "local" => &[
                "max-size",
                "max-file",
                "compress",
                "labels",
                "labels-regex",
                "env",
                "env-regex",
                "tag",
                // docker's generic options: rdock's log writer never blocks
                // the container on a slow reader, so both modes behave alike.
                "mode",
                "max-buffer-size",
            ],
            "none" => {
                if !opts.is_empty() {
                    return Err("invalid logging opts for driver none".into());
                }
                &[]
            }
            // docker's own drivers rdock has not: said plainly.
            other @ ("syslog" | "journald" | "gelf" | "fluentd" | "awslogs" | "splunk"
            | "etwlogs" | "gcplogs" | "logentries") => {
                return Err(format!(
                    "logging driver {other} is not supported by rdock (json-file, local, none)"
                ))
            }
            other => {
                return Err(format!(
                    "error looking up logging plugin {other}: plugin \"{other}\" not found"
                ))
            }
        };
        let mut map = BTreeMap::new();
        for o in opts {
            let Some((k, v)) = o.split_once('=') else {
                return Err(format!("invalid log opt {o:?}: expected key=value"));
            };
            if !allowed.contains(&k) {
                return Err(format!("unknown log opt '{k}' for {driver} log driver"));
            }
            map.insert(k.to_string(), v.to_string());
        }
        if let Some(m) = map.get("mode") {
            if m != "blocking" && m != "non-blocking" {
                return Err(format!("logger: logging mode not supported: {m}"));
            }
        }
        if let Some(v) = map.get("max-size") {
            if v != "-1" && parse_ram(v).is_none() {
                return Err(format!("invalid max-size {v:?}"));
            }
        }
        if let Some(v) = map.get("max-file") {
            match v.parse::<i64>() {
                Ok(n) if n >= 1 => {}
                Ok(_) => return Err("max-file cannot be less than 1".into()),
                Err(_) => return Err(format!("invalid max-file {v:?}")),
            }
        }
        if let Some(v) = map.get("compress") {
            if v.parse::<bool>().is_err() {
                return Err(format!("invalid compress value {v:?}"));
            }
        }
        let mut attrs = BTreeMap::new();
        let list = |key: &str| -> Vec<String> {
            map.get(key)
                .map(|v| v.split(',').map(str::to_string).collect())
                .unwrap_or_default()
        };
        let regex = |key: &str| -> Result<Option<regex_lite::Regex>, String> {
            map.get(key)
                .map(|r| regex_lite::Regex::new(r).map_err(|e| format!("invalid {key}: {e}")))
                .transpose()
        };
        let wanted = list("labels");
        let label_re = regex("labels-regex")?;
        for (k, v) in labels {
            if wanted.contains(k) || label_re.as_ref().is_some_and(|r| r.is_match(k)) {
                attrs.insert(k.clone(), v.clone());
            }
        }
        let wanted = list("env");
        let env_re = regex("env-regex")?;
        for e in env {
            let (k, v) = e.split_once('=').unwrap_or((e, ""));
            if wanted.iter().any(|w| w == k) || env_re.as_ref().is_some_and(|r| r.is_match(k)) {
                attrs.insert(k.to_string(), v.to_string());
            }
        }
        Ok(LogConfig {
            driver: driver.to_string(),
            opts: map,
            attrs,
        })
    }
}

/// docker's RAMInBytes: a number with an optional b, k, m, g, t, p unit
/// (binary multiples, case-insensitive, optional trailing "b").
pub fn parse_ram(s: &str) -> Option<u64> {
    let t = s.trim().to_ascii_lowercase();
    let t = t
        .strip_suffix('b')
        .filter(|r| !r.is_empty() && r.ends_with(|c: char| c.is_ascii_alphabetic()))
        .unwrap_or(&t);
    let split = t.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let mult: u64 = match unit {
        "" | "b" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        "t" => 1 << 40,
        "p" => 1 << 50,
        _ => return None,
    };
    let v: f64 = num.parse().ok()?;
    if v < 0.0 {
        return None;
    }
    Some((v * mult as f64) as u64)
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
        let (name, count) = Self::parse_parts(s)?;
        Self::from_parts(name, count)
    }

    /// The docker client's reading (opts.ParseRestartPolicy): the name
    /// and the count, unchecked.
    pub fn parse_parts(s: &str) -> Result<(&str, i64), String> {
        let (name, count) = s.split_once(':').unwrap_or((s, ""));
        if s.contains(':') && name.is_empty() {
            return Err("invalid restart policy format: no policy provided before colon".into());
        }
        let count = match count {
            "" => 0,
            c => c.parse::<i64>().map_err(|_| {
                "invalid restart policy format: maximum retry count must be an integer".to_string()
            })?,
        };
        Ok((name, count))
    }

    /// The engine's check (moby 25+'s ValidateRestartPolicy).
    pub fn from_parts(name: &str, count: i64) -> Result<RestartPolicy, String> {
        match name {
            "" | "no" | "always" | "unless-stopped" if count != 0 => Err(format!(
                "invalid restart policy: maximum retry count can only be used with 'on-failure'{}",
                if count < 0 { " and cannot be negative" } else { "" }
            )),
            "" | "no" => Ok(RestartPolicy::default()),
            "always" | "unless-stopped" => Ok(RestartPolicy {
                name: name.into(),
                max_retries: 0,
            }),
            "on-failure" => Ok(RestartPolicy {
                name: name.into(),
                max_retries: u32::try_from(count).map_err(|_| {
                    "invalid restart policy: maximum retry count cannot be negative".to_string()
                })?,
            }),
            _ => Err(format!("invalid restart policy: unknown policy '{name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'")),
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

    #[test]
    fn security_options_as_docker_parses_them() {
        let p = |o: &[&str]| {
            SecurityOptions::parse(&o.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        };
        assert!(p(&["no-new-privileges"]).unwrap().no_new_privileges);
        assert!(p(&["no-new-privileges=true"]).unwrap().no_new_privileges);
        assert!(p(&["no-new-privileges:1"]).unwrap().no_new_privileges);
        assert!(!p(&["no-new-privileges=false"]).unwrap().no_new_privileges);
        assert_eq!(
            p(&["no-new-privileges=yes"]).unwrap_err(),
            "invalid --security-opt 2: \"no-new-privileges=yes\""
        );
        assert_eq!(
            p(&["bogus=1"]).unwrap_err(),
            "invalid --security-opt 2: \"bogus=1\""
        );
        assert_eq!(
            p(&["bogus"]).unwrap_err(),
            "invalid --security-opt 1: \"bogus\""
        );
        let s = p(&["label=disable", "apparmor=unconfined", "seccomp=unconfined"]).unwrap();
        assert_eq!(s.labels, ["disable"]);
        assert_eq!(s.apparmor.as_deref(), Some("unconfined"));
        assert_eq!(s.seccomp_mode(), crate::runtime::seccomp::Mode::Unconfined);
        assert_eq!(
            p(&["seccomp=builtin"]).unwrap().seccomp_mode(),
            crate::runtime::seccomp::Mode::Default
        );
    }

    #[test]
    fn log_options_are_validated_as_docker_does() {
        let none = BTreeMap::new();
        let opts = |o: &[&str]| o.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let ok = |d: Option<&str>, o: &[&str]| LogConfig::new(d, &opts(o), &none, &[]);
        assert!(ok(None, &["max-size=10m", "max-file=3", "mode=non-blocking"]).is_ok());
        assert!(ok(Some("local"), &["max-buffer-size=4m", "compress=false"]).is_ok());
        assert!(ok(None, &["mode=sometimes"])
            .unwrap_err()
            .contains("logging mode not supported"));
        assert!(ok(None, &["max-file=0"]).is_err());
        assert!(ok(None, &["max-size=lots"]).is_err());
        assert!(ok(Some("none"), &["max-size=1m"]).is_err());
        assert!(ok(Some("syslog"), &[]).is_err());
        assert!(ok(None, &["novalue"]).is_err());
    }
}
