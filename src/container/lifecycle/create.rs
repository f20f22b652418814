//! `create`: resolve the image, merge its config with the flags, write
//! `containers/<id>/`.

use super::env::config_env;
use crate::container::config::{
    self, ContainerConfig, NetworkMode, NetworkOptions, SecurityOptions,
};
use crate::container::store::{Container, ContainerStore};
use crate::container::{health, network};
use crate::error::{Error, Result};
use crate::image::config::RunDefaults;
use crate::image::store::ImageStore;
use crate::paths::Paths;
use crate::runtime::resources::{HostSupport, Resources};
use crate::runtime::rlimits::Ulimit;
use crate::runtime::rootfs::MountSpec;
use crate::runtime::userns::Remap;
use crate::runtime::{caps, devices, RuntimeError};
use crate::util;
use std::collections::BTreeMap;

/// What `create`/`run` were asked for (already parsed from flags).
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    pub image: String,
    pub name: String,
    /// Arguments after the image.
    pub cmd: Vec<String>,
    /// `--entrypoint` (one word) or the API's Entrypoint: Some(empty)
    /// clears the image's entrypoint.
    pub entrypoint: Option<Vec<String>>,
    pub env: Vec<String>,
    pub workdir: Option<String>,
    pub user: Option<String>,
    pub hostname: Option<String>,
    pub tty: bool,
    pub interactive: bool,
    pub auto_remove: bool,
    pub mounts: Vec<MountSpec>,
    /// `--volumes-from CONTAINER[:ro|rw]`.
    pub volumes_from: Vec<String>,
    pub readonly: bool,
    pub network: NetworkMode,
    pub net: config::NetworkOptions,
    pub privileged: bool,
    /// `--init`: rdock's own init as PID 1.
    pub init: bool,
    pub restart: config::RestartPolicy,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub ulimits: Vec<Ulimit>,
    pub labels: BTreeMap<String, String>,
    /// `--stop-signal`, over the image's STOPSIGNAL.
    pub stop_signal: Option<String>,
    pub log_driver: Option<String>,
    pub log_opts: Vec<String>,
    pub resources: crate::runtime::resources::Resources,
    pub shm_size: i64,
    pub cgroup_parent: String,
    pub cgroupns: String,
    pub devices: Vec<crate::runtime::devices::Mapping>,
    pub device_cgroup_rules: Vec<String>,
    pub pid_mode: String,
    pub ipc_mode: String,
    pub uts_mode: String,
    pub group_add: Vec<String>,
    pub sysctls: BTreeMap<String, String>,
    pub oom_score_adj: i32,
    pub userns_mode: String,
    /// `--security-opt`, as the docker CLI passes them on (a seccomp
    /// profile's file already read into `seccomp=<json>`).
    pub security_opt: Vec<String>,
    /// `--security-opt systempaths=unconfined`.
    pub unmask_system_paths: bool,
    /// `--health-*` (over the image's HEALTHCHECK) or `--no-healthcheck`
    /// (Test ["NONE"]).
    pub healthcheck: Option<health::HealthConfig>,
    pub stop_timeout: Option<i64>,
    pub domainname: String,
    pub annotations: BTreeMap<String, String>,
    /// The process (pid, start time) the container lives no longer than:
    /// a build's step container.
    pub owner: Option<(i32, u64)>,
}

pub(in crate::container) const HOSTS_NONE: &str = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::\tip6-localnet\nff00::\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n";

/// The hostname and domain name a new container gets: `-h`; else the
/// host's with `--uts host` or `--net host`; else the short ID. With
/// another container's network they become that one's at each start
/// (`share_names`).
fn default_hostname(
    opts: &CreateOptions,
    network: &NetworkMode,
    id: &str,
) -> Result<(String, String)> {
    if let Some(h) = &opts.hostname {
        return Ok((h.clone(), opts.domainname.clone()));
    }
    let host = opts.uts_mode == "host" || *network == NetworkMode::Host;
    let name = match host {
        true => nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_default(),
        false => id.get(..12).unwrap_or(id).to_string(),
    };
    Ok((name, opts.domainname.clone()))
}

/// An image a container is made from: a stored image, or (for `build`)
/// a step's config on top of stored layers.
pub struct ImageSource {
    pub id: String,
    /// Chain IDs, bottom first.
    pub layers: Vec<String>,
    pub config: crate::image::config::ImageConfig,
}

pub fn create(paths: &Paths, opts: &CreateOptions) -> Result<Container> {
    let (c, warnings) = create_warned(paths, opts)?;
    print_warnings(&warnings);
    Ok(c)
}

/// The engine's warnings, as docker's CLI prints a create's.
fn print_warnings(warnings: &[String]) {
    for w in warnings {
        eprintln!("WARNING: {w}");
    }
}

/// `create`, its warnings returned (the API answers them) rather than
/// printed.
pub fn create_warned(paths: &Paths, opts: &CreateOptions) -> Result<(Container, Vec<String>)> {
    let images = ImageStore::new(paths);
    let idx = images.index()?;
    let img = idx.lookup(&opts.image)?;
    debug!(
        "image {} is {} ({} layers)",
        opts.image,
        img.id,
        img.layers.len()
    );
    let source = ImageSource {
        id: img.id.clone(),
        layers: img.layers.clone(),
        config: images.config(img)?,
    };
    create_from_warned(paths, opts, &source)
}

/// The container's /etc/hosts and /etc/resolv.conf as written at create
/// (a `container:` network's are never read: it shares the other's).
fn names_files(config: &ContainerConfig) -> (String, String) {
    use crate::network::resolv::{self, Overrides, Transform};
    let (source, host_resolv) = resolv::host_source();
    let o = Overrides {
        dns: &config.net.dns,
        search: &config.net.dns_search,
        options: &config.net.dns_options,
    };
    let how = match config.network {
        NetworkMode::Host => Transform::Host,
        _ => Transform::Legacy,
    };
    let resolv = resolv::generate(source, &host_resolv, o, how, false);
    let hosts = match &config.network {
        // The host's file, unless there are `--add-host`s: then docker's
        // own (libnetwork's `buildHostsFile`).
        NetworkMode::Host if config.net.extra_hosts.is_empty() => {
            std::fs::read_to_string("/etc/hosts").unwrap_or_else(|_| HOSTS_NONE.into())
        }
        // On a bridge, the container's own line is added when it gets
        // its address.
        _ => network::hosts_file(config, None, &[]),
    };
    (hosts, resolv)
}

/// `create` from an image already resolved.
pub fn create_from(paths: &Paths, opts: &CreateOptions, img: &ImageSource) -> Result<Container> {
    let (c, warnings) = create_from_warned(paths, opts, img)?;
    print_warnings(&warnings);
    Ok(c)
}

fn create_from_warned(
    paths: &Paths,
    opts: &CreateOptions,
    img: &ImageSource,
) -> Result<(Container, Vec<String>)> {
    let mut warnings = Vec::new();
    check_network_conflicts(opts)?;
    if let Some(sig) = &opts.stop_signal {
        crate::runtime::signals::parse(sig)?;
    }
    let d = &img.config.config;

    let (entrypoint, cmd) = command(opts, d);
    let mut argv: Vec<String> = entrypoint.clone().unwrap_or_default();
    argv.extend(cmd.clone().unwrap_or_default());
    let Some((path, args)) = argv.split_first() else {
        return Err(Error::msg("no command specified"));
    };
    check_confinement(opts)?;
    let (pid_mode, ipc_mode, userns_remap) = namespace_modes(paths, opts)?;
    check_flags(opts, &ipc_mode)?;
    let resources = checked_resources(opts, &mut warnings)?;
    let (network, mut net) = networks(paths, opts)?;
    if network == NetworkMode::Host {
        // docker warns about -p only: -P alone publishes nothing yet.
        if !net.publish.is_empty() {
            warnings.push("Published ports are discarded when using host network mode".into());
        }
        net.publish.clear();
        net.publish_all = false;
    }
    let id = util::random_hex(32);
    let (hostname, domainname) = default_hostname(opts, &network, &id)?;
    let env = config_env(d.env.as_deref().unwrap_or_default(), &opts.env);

    let mut labels = d.labels.clone().unwrap_or_default();
    labels.extend(opts.labels.clone());
    let healthcheck = healthcheck(opts, d)?;

    let config = ContainerConfig {
        id,
        name: opts.name.clone(),
        created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
        image: opts.image.clone(),
        image_id: img.id.clone(),
        layers: img.layers.clone(),
        path: path.clone(),
        args: args.to_vec(),
        entrypoint,
        cmd,
        env,
        working_dir: opts
            .workdir
            .clone()
            .or_else(|| d.working_dir.clone())
            .filter(|w| !w.is_empty())
            .unwrap_or_else(|| "/".into()),
        user: opts
            .user
            .clone()
            .or_else(|| d.user.clone())
            .unwrap_or_default(),
        hostname,
        tty: opts.tty,
        open_stdin: opts.interactive,
        auto_remove: opts.auto_remove,
        readonly_rootfs: opts.readonly,
        privileged: opts.privileged,
        init: opts.init,
        restart: opts.restart.clone(),
        cap_add: opts.cap_add.clone(),
        cap_drop: opts.cap_drop.clone(),
        network,
        net,
        mounts: opts.mounts.clone(),
        ulimits: opts.ulimits.clone(),
        labels,
        stop_signal: opts.stop_signal.clone().or_else(|| d.stop_signal.clone()),
        log: Default::default(),
        resources,
        shm_size: opts.shm_size,
        cgroup_parent: opts.cgroup_parent.clone(),
        cgroupns: opts.cgroupns.clone(),
        devices: opts.devices.clone(),
        device_cgroup_rules: opts.device_cgroup_rules.clone(),
        pid_mode,
        ipc_mode,
        uts_mode: opts.uts_mode.clone(),
        group_add: opts.group_add.clone(),
        sysctls: opts.sysctls.clone(),
        oom_score_adj: opts.oom_score_adj,
        userns_mode: opts.userns_mode.clone(),
        userns_remap,
        security_opt: opts.security_opt.clone(),
        unmask_system_paths: opts.unmask_system_paths,
        healthcheck,
        stop_timeout: opts.stop_timeout,
        domainname,
        annotations: opts.annotations.clone(),
        owner: opts.owner,
    };
    Ok((write_container(paths, opts, d, config)?, warnings))
}

/// The entrypoint and cmd: the image's, or the flags'. docker:
/// --entrypoint replaces the image's entrypoint and drops its cmd.
fn command(opts: &CreateOptions, d: &RunDefaults) -> (Option<Vec<String>>, Option<Vec<String>>) {
    match &opts.entrypoint {
        Some(ep) => (
            if ep.is_empty() {
                None
            } else {
                Some(ep.clone())
            },
            if opts.cmd.is_empty() {
                None
            } else {
                Some(opts.cmd.clone())
            },
        ),
        None => (
            d.entrypoint.clone().filter(|e| !e.is_empty()),
            if opts.cmd.is_empty() {
                d.cmd.clone()
            } else {
                Some(opts.cmd.clone())
            },
        ),
    }
}

/// Capabilities and security options, validated early so a bad flag is
/// a create-time error, not a start-time one.
fn check_confinement(opts: &CreateOptions) -> Result<()> {
    let caps = caps::resolve(&opts.cap_add, &opts.cap_drop, opts.privileged)?;
    let security = SecurityOptions::parse(&opts.security_opt).map_err(Error::msg)?;
    // A custom profile that cannot be compiled is refused now (docker
    // finds out at start); the built-in one needs no check, and `run`
    // compiles it once, at start.
    let mode = security.seccomp_mode();
    if matches!(mode, crate::runtime::seccomp::Mode::Custom(_)) {
        crate::runtime::seccomp::filter_for(&mode, opts.privileged, caps)
            .map_err(RuntimeError::from)?;
    }
    Ok(())
}

/// `--pid` and `--ipc` (another container's by ID from now on, as docker
/// keys them), and the user namespace remapping (refused with the host's
/// namespaces).
fn namespace_modes(paths: &Paths, opts: &CreateOptions) -> Result<(String, String, Option<Remap>)> {
    let by_id = |mode: &str| -> Result<String> {
        match mode.strip_prefix("container:") {
            Some(other) => Ok(format!(
                "container:{}",
                ContainerStore::new(paths).resolve(other)?.config.id
            )),
            None => Ok(mode.to_string()),
        }
    };
    let (pid_mode, ipc_mode) = (by_id(&opts.pid_mode)?, by_id(&opts.ipc_mode)?);
    let userns_remap = match crate::runtime::userns::configured()? {
        Some(v) if opts.userns_mode != "host" => {
            if opts.privileged {
                return Err(Error::msg("privileged mode is incompatible with user namespaces.  You must run the container in the host namespace when running privileged mode"));
            }
            if opts.network == NetworkMode::Host {
                return Err(Error::msg(
                    "cannot share the host's network namespace when user namespaces are enabled",
                ));
            }
            if pid_mode == "host" {
                return Err(Error::msg(
                    "cannot share the host PID namespace when user namespaces are enabled",
                ));
            }
            Some(crate::runtime::userns::resolve_setting(&v)?)
        }
        _ => None,
    };
    Ok((pid_mode, ipc_mode, userns_remap))
}

/// Flags that conflict or are out of range: refused at create.
fn check_flags(opts: &CreateOptions, ipc_mode: &str) -> Result<()> {
    if opts.uts_mode == "host" && opts.hostname.is_some() {
        return Err(Error::msg("Conflicting options: hostname and the UTS mode"));
    }
    if !(-1000..=1000).contains(&opts.oom_score_adj) {
        return Err(Error::msg(format!(
            "Invalid value {}, range for oom score adj is [-1000, 1000]",
            opts.oom_score_adj
        )));
    }
    for k in opts.sysctls.keys() {
        let host_ipc = ipc_mode == "host" && !k.starts_with("net.");
        let host_net = opts.network == NetworkMode::Host && k.starts_with("net.");
        if host_ipc {
            return Err(Error::msg(format!(
                "sysctl {k:?} is not allowed in host IPC namespace"
            )));
        }
        if host_net {
            return Err(Error::msg(format!(
                "sysctl {k:?} not allowed in host network namespace"
            )));
        }
    }
    // Devices themselves are looked up at start, as docker does (`create
    // --device /dev/nope` succeeds; its start fails).
    // A bad rule is the docker client's own refusal (exit 125).
    for r in &opts.device_cgroup_rules {
        devices::parse_rule(r).map_err(|e| Error::from(e).client())?;
    }
    Ok(())
}

/// The resource limits, with their defaults, checked against the host.
fn checked_resources(opts: &CreateOptions, warnings: &mut Vec<String>) -> Result<Resources> {
    let mut resources = opts.resources.clone().with_defaults();
    // Looking at the host's cgroups costs a few syscalls: only when asked.
    if resources != Default::default() {
        warnings.extend(resources.verify(&HostSupport::detect(), false)?);
    }
    Ok(resources)
}

/// docker's engine's refusals of options a shared network cannot take.
pub fn check_network_conflicts(opts: &CreateOptions) -> Result<()> {
    let conflict =
        |what: &str| -> Result<()> { Err(Error::msg(format!("conflicting options: {what}"))) };
    let n = &opts.net;
    match &opts.network {
        NetworkMode::Container(_) => {
            if opts.hostname.is_some() {
                return conflict("hostname and the network mode");
            }
            if !n.links.is_empty() {
                return conflict("container type network can't be used with links. This would result in undefined behavior");
            }
            if !n.dns.is_empty() {
                return conflict("dns and the network mode");
            }
            if !n.extra_hosts.is_empty() {
                return conflict("custom host-to-IP mapping and the network mode");
            }
            if n.mac.is_some() {
                return conflict("mac-address and the network mode");
            }
            if !n.publish.is_empty() || n.publish_all {
                return conflict("port publishing and the container type network mode");
            }
            if !n.exposed.is_empty() {
                return conflict("port exposing and the container type network mode");
            }
        }
        NetworkMode::Host => {
            if !n.links.is_empty() {
                return conflict("host type networking can't be used with links. This would result in undefined behavior");
            }
            if n.mac.is_some() {
                return conflict("mac-address and the network mode");
            }
        }
        _ => {}
    }
    Ok(())
}

/// The network mode and options, names canonical; `--link`s must exist.
fn networks(paths: &Paths, opts: &CreateOptions) -> Result<(NetworkMode, NetworkOptions)> {
    let mut network = opts.network.clone();
    // By ID when it exists; else kept as given: docker's create accepts
    // it and the start fails (or finds it, made since).
    if let NetworkMode::Container(other) = &network {
        if let Ok(target) = ContainerStore::new(paths).resolve(other) {
            network = NetworkMode::Container(target.config.id.clone());
        }
    }
    // By name from now on, as docker keys a container's networks. One
    // that does not exist yet is kept as given: docker's create accepts
    // it and the start fails (or finds it, made since).
    let canonical = |name: &str| {
        crate::network::store::find(paths, name).map_or_else(|_| name.to_string(), |n| n.name)
    };
    if let NetworkMode::Bridge(name) = &network {
        network = NetworkMode::Bridge(canonical(name));
    }
    let mut net = opts.net.clone();
    for a in &mut net.connected {
        a.network = canonical(&a.network);
    }
    for link in &opts.net.links {
        let (name, _) = network::split_link(link);
        ContainerStore::new(paths).resolve(name).map_err(|_| {
            Error::msg(format!(
                "could not get container for {name}: No such container: {name}"
            ))
        })?;
    }
    Ok((network, net))
}

/// `--health-*` over the image's HEALTHCHECK, validated.
fn healthcheck(opts: &CreateOptions, d: &RunDefaults) -> Result<Option<health::HealthConfig>> {
    let image_check: Option<health::HealthConfig> = d
        .extra
        .get("Healthcheck")
        .and_then(|v| serde_json::from_value(v.clone()).ok());
    let healthcheck = health::HealthConfig::merge(opts.healthcheck.as_ref(), image_check.as_ref());
    if let Some(h) = &healthcheck {
        h.validate().map_err(Error::msg)?;
    }
    Ok(healthcheck)
}

/// The rest of the config (log, addresses, EXPOSE, volumes), then the
/// container's dir written, with its /etc/hosts and resolv.conf.
fn write_container(
    paths: &Paths,
    opts: &CreateOptions,
    d: &RunDefaults,
    mut config: ContainerConfig,
) -> Result<Container> {
    config.log = config::LogConfig::new(
        opts.log_driver.as_deref(),
        &opts.log_opts,
        &config.labels,
        &config.env,
    )
    .map_err(Error::msg)?;
    network::check_addresses(paths, &config)?;
    // The image's EXPOSE joins --expose (for -P, `ps` and inspect).
    for k in d.exposed_ports.iter().flat_map(|m| m.keys()) {
        let key = if k.contains('/') {
            k.clone()
        } else {
            format!("{k}/tcp")
        };
        if !config.net.exposed.contains(&key) {
            config.net.exposed.push(key);
        }
    }
    let image_volumes: Vec<String> = d.volumes.iter().flat_map(|m| m.keys().cloned()).collect();
    // Held until the config is written: see volume::attach.
    let _volume_lock = crate::volume::attach(
        paths,
        &mut config.mounts,
        &image_volumes,
        &opts.volumes_from,
    )?;
    let (hosts, resolv) = names_files(&config);
    match ContainerStore::new(paths).create(&mut config, &hosts, &resolv) {
        Ok(c) => {
            crate::events::container(paths, &c.config, "create", &[]);
            Ok(c)
        }
        Err(e) => {
            drop(_volume_lock);
            let _ = crate::volume::release_anonymous(paths, &config.mounts);
            Err(e.into())
        }
    }
}
