//! The flags `run` and `create` share (docker's container options), defined
//! once, and their translation into `CreateOptions`.

pub use super::run_values::{
    check_attach, env_flag, go_io_error, parse_add_host, parse_security_opts, read_env_file,
};
use super::run_values::{expose_ports, ns_flag, parse_sysctl, read_label_file};
use crate::container::config::{NetworkMode, NetworkOptions};
use crate::container::lifecycle::CreateOptions;
use crate::error::{Error, Result};
use crate::runtime::{rlimits, rootfs};
use clap::{ArgMatches, Args, FromArgMatches};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Args)]
pub struct ContainerFlags {
    /// Assign a name to the container
    #[arg(long)]
    pub name: Option<String>,
    /// Set environment variables
    #[arg(short = 'e', long = "env")]
    pub env: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long = "env-file")]
    pub env_file: Vec<String>,
    /// Working directory inside the container
    #[arg(short = 'w', long)]
    pub workdir: Option<String>,
    /// Username or UID (format: <name|uid>[:<group|gid>])
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    /// Container host name
    #[arg(short = 'h', long)]
    pub hostname: Option<String>,
    /// Overwrite the default ENTRYPOINT of the image
    #[arg(long)]
    pub entrypoint: Option<String>,
    /// Keep STDIN open even if not attached
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY
    #[arg(short = 't', long)]
    pub tty: bool,
    /// Automatically remove the container and its associated anonymous volumes when it exits
    #[arg(long)]
    pub rm: bool,
    /// Bind mount a volume
    #[arg(short = 'v', long = "volume")]
    pub volume: Vec<String>,
    /// Mount volumes from the specified container(s)
    #[arg(long = "volumes-from")]
    pub volumes_from: Vec<String>,
    /// Optional volume driver for the container
    #[arg(long = "volume-driver")]
    pub volume_driver: Option<String>,
    /// Attach a filesystem mount to the container
    #[arg(long, value_name = "mount")]
    pub mount: Vec<String>,
    /// Mount a tmpfs directory
    #[arg(long)]
    pub tmpfs: Vec<String>,
    /// Mount the container's root filesystem as read only
    #[arg(long = "read-only")]
    pub read_only: bool,
    /// Connect a container to a network
    #[arg(long = "network", alias = "net", value_name = "network")]
    pub network: Vec<String>,
    /// Add network-scoped alias for the container
    #[arg(long = "network-alias", alias = "net-alias")]
    pub network_alias: Vec<String>,
    /// Add link to another container
    #[arg(long = "link")]
    pub link: Vec<String>,
    /// Publish a container's port(s) to the host
    #[arg(short = 'p', long = "publish")]
    pub publish: Vec<String>,
    /// Publish all exposed ports to random ports
    #[arg(short = 'P', long = "publish-all")]
    pub publish_all: bool,
    /// Expose a port or a range of ports
    #[arg(long)]
    pub expose: Vec<String>,
    /// Set custom DNS servers
    #[arg(long)]
    pub dns: Vec<String>,
    /// Set DNS options
    #[arg(long = "dns-option", alias = "dns-opt")]
    pub dns_option: Vec<String>,
    /// Set custom DNS search domains
    #[arg(long = "dns-search")]
    pub dns_search: Vec<String>,
    /// Add a custom host-to-IP mapping (host:ip)
    #[arg(long = "add-host")]
    pub add_host: Vec<String>,
    /// IPv4 address (e.g., 172.30.100.104)
    #[arg(long)]
    pub ip: Option<String>,
    /// Container MAC address (e.g., 92:d0:c6:0a:29:33)
    #[arg(long = "mac-address")]
    pub mac_address: Option<String>,
    /// Give extended privileges to this container
    #[arg(long)]
    pub privileged: bool,
    /// Run an init inside the container that forwards signals and reaps processes
    #[arg(long)]
    pub init: bool,
    /// Restart policy to apply when a container exits
    #[arg(long, default_value = "no")]
    pub restart: String,
    /// Add Linux capabilities
    #[arg(long = "cap-add")]
    pub cap_add: Vec<String>,
    /// Drop Linux capabilities
    #[arg(long = "cap-drop")]
    pub cap_drop: Vec<String>,
    /// Ulimit options (default [])
    #[arg(long, value_name = "ulimit")]
    pub ulimit: Vec<String>,
    /// Set meta data on a container
    #[arg(short = 'l', long = "label")]
    pub label: Vec<String>,
    /// Read in a line delimited file of labels
    #[arg(long = "label-file")]
    pub label_file: Vec<String>,
    /// Write the container ID to the file
    #[arg(long)]
    pub cidfile: Option<String>,
    /// Pull image before running ("always", "missing", "never")
    #[arg(long, default_value = "missing")]
    pub pull: String,
    /// Suppress the pull output
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Set platform if server is multi-platform capable
    #[arg(long)]
    pub platform: Option<String>,
    /// Signal to stop the container
    #[arg(long = "stop-signal")]
    pub stop_signal: Option<String>,
    /// Logging driver for the container
    #[arg(long = "log-driver")]
    pub log_driver: Option<String>,
    /// Log driver options
    #[arg(long = "log-opt")]
    pub log_opt: Vec<String>,
    /// Security Options
    #[arg(long = "security-opt", value_name = "list")]
    pub security_opt: Vec<String>,
    /// Skip image verification (default true)
    #[arg(long = "disable-content-trust", num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub disable_content_trust: Option<String>,
    /// Add a host device to the container
    #[arg(long)]
    pub device: Vec<String>,
    /// PID namespace to use
    #[arg(long)]
    pub pid: Option<String>,
    /// IPC mode to use
    #[arg(long)]
    pub ipc: Option<String>,
    /// UTS namespace to use
    #[arg(long)]
    pub uts: Option<String>,
    /// Add additional groups to join
    #[arg(long = "group-add")]
    pub group_add: Vec<String>,
    /// Sysctl options
    #[arg(long, value_name = "map")]
    pub sysctl: Vec<String>,
    /// User namespace to use
    #[arg(long)]
    pub userns: Option<String>,
    /// Tune host's OOM preferences (-1000 to 1000)
    #[arg(long = "oom-score-adj", allow_hyphen_values = true, value_name = "int")]
    pub oom_score_adj: Option<String>,
    /// Add a rule to the cgroup allowed devices list
    #[arg(long = "device-cgroup-rule")]
    pub device_cgroup_rule: Vec<String>,
    /// Container NIS domain name
    #[arg(long)]
    pub domainname: Option<String>,
    /// Timeout (in seconds) to stop a container
    #[arg(long = "stop-timeout", allow_hyphen_values = true, value_name = "int")]
    pub stop_timeout: Option<String>,
    /// Add an annotation to the container (passed through to the OCI runtime)
    #[arg(long, value_name = "map")]
    pub annotation: Vec<String>,
    /// Command to run to check health
    #[arg(long = "health-cmd")]
    pub health_cmd: Option<String>,
    /// Time between running the check (ms|s|m|h) (default 0s)
    #[arg(
        long = "health-interval",
        allow_hyphen_values = true,
        value_name = "duration"
    )]
    pub health_interval: Option<String>,
    /// Consecutive failures needed to report unhealthy
    #[arg(
        long = "health-retries",
        allow_hyphen_values = true,
        value_name = "int"
    )]
    pub health_retries: Option<String>,
    /// Time between running the check during the start period (ms|s|m|h) (default 0s)
    #[arg(
        long = "health-start-interval",
        allow_hyphen_values = true,
        value_name = "duration"
    )]
    pub health_start_interval: Option<String>,
    /// Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)
    #[arg(
        long = "health-start-period",
        allow_hyphen_values = true,
        value_name = "duration"
    )]
    pub health_start_period: Option<String>,
    /// Maximum time to allow one check to run (ms|s|m|h) (default 0s)
    #[arg(
        long = "health-timeout",
        allow_hyphen_values = true,
        value_name = "duration"
    )]
    pub health_timeout: Option<String>,
    /// Disable any container-specified HEALTHCHECK
    #[arg(long = "no-healthcheck")]
    pub no_healthcheck: bool,
    // The Windows-only flags: docker hides them before a Linux engine.
    /// CPU count (Windows only)
    #[arg(
        hide = true,
        long = "cpu-count",
        allow_hyphen_values = true,
        value_name = "int"
    )]
    pub cpu_count: Option<String>,
    /// CPU percent (Windows only)
    #[arg(
        hide = true,
        long = "cpu-percent",
        allow_hyphen_values = true,
        value_name = "int"
    )]
    pub cpu_percent: Option<String>,
    /// Maximum IO bandwidth limit for the system drive (Windows only)
    #[arg(hide = true, long = "io-maxbandwidth", value_name = "bytes")]
    pub io_maxbandwidth: Option<String>,
    /// Maximum IOps limit for the system drive (Windows only)
    #[arg(
        hide = true,
        long = "io-maxiops",
        allow_hyphen_values = true,
        value_name = "uint"
    )]
    pub io_maxiops: Option<String>,
    /// Container isolation technology
    #[arg(long)]
    pub isolation: Option<String>,
    /// Runtime to use for this container
    #[arg(long)]
    pub runtime: Option<String>,
    /// Storage driver options for the container
    #[arg(long = "storage-opt")]
    pub storage_opt: Vec<String>,
    /// GPU devices to add to the container ('all' to pass all GPUs)
    #[arg(long, value_name = "gpu-request")]
    pub gpus: Option<String>,
    #[command(flatten)]
    pub limits: super::limit_flags::RunLimitFlags,
    #[command(flatten)]
    pub later: NotYet,
}

/// docker flags rdock parses but does not implement yet: (long, short,
/// the value's type (none: a bool), docker's help). Using one is a clear
/// error rather than a silent no-op; help lists them as docker does.
const NOT_YET: &[(&str, Option<char>, Option<&str>, &str)] = &[
    (
        "ip6",
        None,
        Some("string"),
        "IPv6 address (e.g., 2001:db8::33)",
    ),
    (
        "link-local-ip",
        None,
        Some("list"),
        "Container IPv4/IPv6 link-local addresses",
    ),
    (
        "use-api-socket",
        None,
        None,
        "Bind mount Docker API socket and required auth",
    ),
];

/// Which of the NOT_YET flags were given.
#[derive(Debug, Clone, Default)]
pub struct NotYet {
    pub given: Vec<String>,
}

impl FromArgMatches for NotYet {
    fn from_arg_matches(m: &ArgMatches) -> std::result::Result<Self, clap::Error> {
        let given = NOT_YET
            .iter()
            .filter(|(long, ..)| {
                m.value_source(long) == Some(clap::parser::ValueSource::CommandLine)
            })
            .map(|(long, ..)| long.to_string())
            .collect();
        Ok(NotYet { given })
    }
    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> std::result::Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

impl Args for NotYet {
    fn augment_args(mut cmd: clap::Command) -> clap::Command {
        for (long, short, value, help) in NOT_YET {
            let mut a = clap::Arg::new(*long).long(*long).help(*help);
            if let Some(s) = short {
                a = a.short(*s);
            }
            a = match value {
                Some(kind) => a.action(clap::ArgAction::Append).value_name(*kind),
                None => a.action(clap::ArgAction::SetTrue),
            };
            cmd = cmd.arg(a);
        }
        cmd
    }
    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

impl ContainerFlags {
    /// Validate and translate into the library's options.
    pub fn to_options(&self, image: &str, cmd: &[String]) -> Result<CreateOptions> {
        super::client_checks::check(self)?;
        if let Some(flag) = self.later.given.first() {
            return Err(Error::msg(format!(
                "--{flag} is not supported by rdock yet"
            )));
        }
        self.windows_and_engine_flags()?;
        if let Some(p) = &self.platform {
            let host = format!("linux/{}", crate::image::config::host_arch());
            if p != &host && p != "linux" {
                return Err(Error::msg(format!(
                    "image with reference {image} was found but does not match the specified platform: wanted {p}"
                )));
            }
        }
        if !matches!(self.pull.as_str(), "always" | "missing" | "never") {
            return Err(Error::msg(format!(
                "invalid pull option: '{}': must be one of \"always\", \"missing\" or \"never\"",
                self.pull
            )));
        }
        if let Some(w) = self
            .workdir
            .as_deref()
            .filter(|w| !w.is_empty() && !w.starts_with('/'))
        {
            return Err(Error::msg(format!(
                "the working directory '{w}' is invalid, it needs to be an absolute path"
            )));
        }
        use crate::container::config::RestartPolicy;
        let (policy, count) = RestartPolicy::parse_parts(&self.restart).map_err(Error::msg)?;
        if self.rm && !matches!(policy, "" | "no") {
            return Err(Error::msg(
                "conflicting options: cannot specify both --restart and --rm",
            ));
        }
        let restart = RestartPolicy::from_parts(policy, count).map_err(Error::msg)?;
        let mut env = Vec::new();
        for f in &self.env_file {
            env.extend(read_env_file(f)?);
        }
        env.extend(self.env.iter().map(|e| env_flag(e)));

        if let Some(d) = self
            .volume_driver
            .as_deref()
            .filter(|d| !d.is_empty() && *d != "local")
        {
            return Err(Error::msg(format!(
                "error looking up volume plugin {d}: plugin \"{d}\" not found"
            )));
        }
        let mut mounts = Vec::new();
        for v in &self.volume {
            mounts.push(rootfs::parse_volume(v)?);
        }
        for m in &self.mount {
            mounts.push(rootfs::parse_mount(m)?);
        }
        for t in &self.tmpfs {
            mounts.push(rootfs::parse_tmpfs(t)?);
        }
        let plan = super::run_networks::plan(
            &self.network,
            &super::run_networks::Wide {
                aliases: &self.network_alias,
                ip: self.ip.as_deref(),
                mac: self.mac_address.as_deref(),
            },
        )?;
        let network = plan.mode.clone();
        let net = self.network_options(&plan)?;
        let ulimits = self
            .ulimit
            .iter()
            .map(|u| rlimits::parse(u))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let mut labels = BTreeMap::new();
        let mut label_lines = Vec::new();
        for f in &self.label_file {
            label_lines.extend(read_label_file(f)?);
        }
        label_lines.extend(self.label.iter().cloned());
        for l in label_lines {
            let (k, v) = l.split_once('=').unwrap_or((&l, ""));
            labels.insert(k.to_string(), v.to_string());
        }
        let (security_opt, unmask_system_paths) = parse_security_opts(&self.security_opt)?;
        // An empty name is no name (docker picks one).
        if let Some(name) = self.name.as_ref().filter(|n| !n.is_empty()) {
            if !crate::container::store::valid_name(name.trim_start_matches('/')) {
                return Err(crate::container::ContainerError::InvalidName(name.clone()).into());
            }
        }
        let opts = CreateOptions {
            image: image.to_string(),
            name: self
                .name
                .clone()
                .unwrap_or_default()
                .trim_start_matches('/')
                .to_string(),
            cmd: cmd.to_vec(),
            entrypoint: self.entrypoint.as_ref().map(|e| {
                if e.is_empty() {
                    vec![]
                } else {
                    vec![e.clone()]
                }
            }),
            env,
            workdir: self.workdir.clone(),
            user: self.user.clone(),
            hostname: self.hostname.clone(),
            tty: self.tty,
            interactive: self.interactive,
            auto_remove: self.rm,
            mounts,
            volumes_from: self.volumes_from.clone(),
            readonly: self.read_only,
            network,
            net,
            privileged: self.privileged,
            init: self.init,
            restart,
            cap_add: self.cap_add.clone(),
            cap_drop: self.cap_drop.clone(),
            ulimits,
            labels,
            stop_signal: self.stop_signal.clone(),
            log_driver: self.log_driver.clone(),
            log_opts: self.log_opt.clone(),
            resources: self.limits.to_resources()?,
            shm_size: self.limits.shm_size()?,
            cgroup_parent: super::limit_flags::clean_cgroup_parent(
                self.limits.cgroup_parent.as_deref().unwrap_or_default(),
            ),
            cgroupns: self.limits.cgroupns()?,
            devices: self
                .device
                .iter()
                .map(|d| crate::runtime::devices::parse_mapping(d))
                .collect::<std::result::Result<Vec<_>, _>>()?,
            device_cgroup_rules: self.device_cgroup_rule.clone(),
            pid_mode: ns_flag("--pid", "PID", &self.pid, false)?,
            ipc_mode: ns_flag("--ipc", "IPC", &self.ipc, true)?,
            uts_mode: match self.uts.as_deref() {
                None | Some("") => String::new(),
                Some("host") => "host".into(),
                Some(_) => return Err(Error::msg("--uts: invalid UTS mode")),
            },
            userns_mode: match self.userns.as_deref() {
                None | Some("") => String::new(),
                Some("host") => "host".into(),
                Some(_) => return Err(Error::msg("--userns: invalid USER mode")),
            },
            group_add: self.group_add.clone(),
            sysctls: self
                .sysctl
                .iter()
                .map(|s| parse_sysctl(s))
                .collect::<Result<_>>()?,
            oom_score_adj: match &self.oom_score_adj {
                None => 0,
                Some(s) => crate::runtime::resources::parse_int("--oom-score-adj", s)? as i32,
            },
            security_opt,
            unmask_system_paths,
            healthcheck: self.healthcheck()?,
            stop_timeout: match &self.stop_timeout {
                None => None,
                Some(s) => Some(crate::runtime::resources::parse_int("--stop-timeout", s)?),
            },
            domainname: self.domainname.clone().unwrap_or_default(),
            annotations: self
                .annotation
                .iter()
                .map(|a| {
                    let (k, v) = a.split_once('=').unwrap_or((a, ""));
                    (k.to_string(), v.to_string())
                })
                .collect(),
            owner: None,
        };
        // The engine's refusals, checked here too so that `create` reports
        // them as docker's CLI shows them.
        crate::container::lifecycle::check_network_conflicts(&opts)?;
        Ok(opts)
    }

    /// Flags for Windows containers or for engine plugins: checked, then
    /// accepted or refused with the error docker on Linux gives.
    fn windows_and_engine_flags(&self) -> Result<()> {
        let int = |flag: &str, v: &Option<String>| -> Result<i64> {
            match v {
                None => Ok(0),
                Some(s) => Ok(crate::runtime::resources::parse_int(flag, s)?),
            }
        };
        // Windows-only: docker's Linux daemon ignores the count and drops
        // the percent with a warning.
        int("--cpu-count", &self.cpu_count)?;
        if int("--cpu-percent", &self.cpu_percent)? > 0 {
            eprintln!("WARNING: linux does not support CPU percent. Percent discarded.");
        }
        let bandwidth = match &self.io_maxbandwidth {
            None => 0,
            Some(s) => crate::runtime::mountspec::ram_in_bytes(s).ok_or_else(|| {
                Error::msg(format!(
                    "invalid argument \"{s}\" for \"--io-maxbandwidth\" flag: invalid size: '{s}'"
                ))
            })?,
        } as i64;
        if bandwidth != 0 || int("--io-maxiops", &self.io_maxiops)? != 0 {
            return Err(Error::msg(
                "Invalid QoS settings: linux does not support Maximum IO Bandwidth or Maximum IO IOps",
            ));
        }
        if let Some(iso) = self.isolation.as_deref().filter(|i| !i.is_empty()) {
            if !iso.eq_ignore_ascii_case("default") {
                // The engine's refusal (docker 28's words), not the CLI's.
                return Err(crate::container::ContainerError::Invalid(format!(
                    "invalid isolation ({iso}): linux only supports 'default'"
                ))
                .into());
            }
        }
        // rdock is its own runtime; the names docker gives its default
        // one are accepted.
        if let Some(rt) = self.runtime.as_deref().filter(|r| !r.is_empty()) {
            if rt != "runc" && rt != "io.containerd.runc.v2" {
                return Err(Error::msg(format!("Unknown runtime specified {rt}")));
            }
        }
        if !self.storage_opt.is_empty() {
            return Err(Error::msg(
                "--storage-opt is supported only for overlay over xfs with 'pquota' mount option",
            ));
        }
        if self.gpus.is_some() {
            // No GPU device driver is registered (docker's wording).
            return Err(Error::msg(
                "could not select device driver \"\" with capabilities: [[gpu]]",
            ));
        }
        Ok(())
    }

    /// `--health-*` and `--no-healthcheck`, as the docker CLI reads them.
    fn healthcheck(&self) -> Result<Option<crate::container::health::HealthConfig>> {
        use crate::container::health::HealthConfig;
        let duration = |flag: &str, v: &Option<String>| -> Result<i64> {
            let Some(s) = v else {
                return Ok(0);
            };
            let ns = crate::util::parse_go_duration(s).ok_or_else(|| {
                Error::msg(format!(
                    "invalid argument \"{s}\" for \"{flag}\" flag: time: invalid duration \"{s}\""
                ))
            })?;
            if ns < 0 {
                return Err(Error::msg(format!("{flag} cannot be negative")));
            }
            Ok(ns)
        };
        let interval = duration("--health-interval", &self.health_interval)?;
        let timeout = duration("--health-timeout", &self.health_timeout)?;
        let start_period = duration("--health-start-period", &self.health_start_period)?;
        let start_interval = duration("--health-start-interval", &self.health_start_interval)?;
        let retries = match &self.health_retries {
            None => 0,
            Some(s) => crate::runtime::resources::parse_int("--health-retries", s)?,
        };
        if retries < 0 {
            return Err(Error::msg("--health-retries cannot be negative"));
        }
        let cmd = self.health_cmd.clone().unwrap_or_default();
        let any = !cmd.is_empty()
            || interval != 0
            || timeout != 0
            || start_period != 0
            || start_interval != 0
            || retries != 0;
        if self.no_healthcheck {
            if any {
                return Err(Error::msg(
                    "--no-healthcheck conflicts with --health-* options",
                ));
            }
            return Ok(Some(HealthConfig {
                test: vec!["NONE".into()],
                ..Default::default()
            }));
        }
        if !any {
            return Ok(None);
        }
        Ok(Some(HealthConfig {
            test: if cmd.is_empty() {
                Vec::new()
            } else {
                vec!["CMD-SHELL".into(), cmd]
            },
            interval,
            timeout,
            start_period,
            start_interval,
            retries,
        }))
    }

    /// `-p`, `-P`, `--expose`, `--dns*`, `--add-host`, `--ip`,
    /// `--mac-address`, validated as docker validates them.
    fn network_options(&self, plan: &super::run_networks::NetworkPlan) -> Result<NetworkOptions> {
        let mode = &plan.mode;
        let mut net = NetworkOptions::default();
        for p in &self.publish {
            net.publish.extend(crate::network::ports::parse_publish(p)?);
        }
        net.publish_all = self.publish_all;
        for e in &self.expose {
            for (port, proto) in expose_ports(e)? {
                let key = format!("{port}/{}", proto.as_str());
                if !net.exposed.contains(&key) {
                    net.exposed.push(key);
                }
            }
        }
        // Published ports are exposed too, as docker records them.
        for m in &net.publish {
            let key = format!("{}/{}", m.container_port, m.proto.as_str());
            if !net.exposed.contains(&key) {
                net.exposed.push(key);
            }
        }
        for l in &self.link {
            let (name, alias) = crate::container::network::split_link(l);
            if name.is_empty() || alias.is_empty() || l.matches(':').count() > 1 {
                return Err(Error::msg(format!("invalid format for link: {l}")));
            }
            crate::container::network::check_name("link name", name)?;
            crate::container::network::check_name("link alias", alias)?;
        }
        net.links = self.link.clone();
        for a in &plan.aliases {
            crate::container::network::check_name("alias", a)?;
        }
        net.aliases = plan.aliases.clone();
        net.gw_priority = plan.gw_priority;
        net.connected = plan.others.clone();
        if matches!(mode, NetworkMode::Host) && !net.publish.is_empty() {
            // docker warns about -p only: -P alone publishes nothing yet.
            eprintln!("WARNING: Published ports are discarded when using host network mode");
            net.publish.clear();
            net.publish_all = false;
        }
        for d in &self.dns {
            d.parse::<std::net::IpAddr>()
                .map_err(|_| Error::msg(format!("{d} is not an ip address")))?;
        }
        net.dns = self.dns.clone();
        net.dns_search = self.dns_search.clone();
        net.dns_options = self.dns_option.clone();
        for h in &self.add_host {
            net.extra_hosts.push(parse_add_host(h)?);
        }
        if let Some(ip) = &plan.ip {
            let ip = super::run_networks::parse_ip(ip)?;
            net.ip = Some(ip);
        }
        if let Some(m) = &plan.mac {
            crate::network::bridge::parse_mac(m)?;
            net.mac = Some(m.clone());
        }
        Ok(net)
    }

    /// Write `--cidfile` (refusing an existing file, as docker does).
    pub fn write_cidfile(&self, id: &str) -> Result<()> {
        if let Some(p) = &self.cidfile {
            use std::io::Write;
            let mut f = crate::util::create_user_file(std::path::Path::new(p), 0o644, true)
                .map_err(|e| {
                    Error::msg(if e.kind() == std::io::ErrorKind::AlreadyExists {
                        format!("container ID file found, make sure the other container isn't running or delete {p}")
                    } else {
                        format!("failed to create the container ID file: open {p}: {}", go_io_error(&e))
                    })
                })?;
            f.write_all(id.as_bytes())
                .map_err(|e| Error::msg(format!("writing {p}: {e}")))?;
        }
        Ok(())
    }
}

/// Create the container, or fail as docker does when the image is missing
/// (pulling a missing image first, as `--pull` says).
pub fn create_container(
    paths: &crate::paths::Paths,
    flags: &ContainerFlags,
    image: &str,
    cmd: &[String],
) -> Result<crate::container::store::Container> {
    // docker's client checks most flag values itself (`create` shows its
    // help line and exits 125 for those); the name is the daemon's.
    let opts = flags.to_options(image, cmd).map_err(|e| match e {
        Error::Container(
            crate::container::ContainerError::InvalidName(_)
            | crate::container::ContainerError::Invalid(_),
        ) => e,
        e => e.client(),
    })?;
    if !crate::image::reference::is_id_prefix(image) {
        crate::image::reference::Reference::parse(image)?;
    }
    super::pull::ensure_image(
        paths,
        image,
        &flags.pull,
        flags.platform.as_deref(),
        flags.quiet,
    )?;
    let c = crate::container::lifecycle::create(paths, &opts)?;
    // docker's client adds it to the daemon's warnings, once created.
    let loopback = flags
        .dns
        .iter()
        .filter_map(|d| d.parse::<std::net::IpAddr>().ok())
        .find(|a| a.is_loopback());
    if let Some(a) = loopback {
        eprintln!("WARNING: Localhost DNS ({a}) may fail in containers.");
    }
    flags.write_cidfile(&c.config.id)?;
    Ok(c)
}
