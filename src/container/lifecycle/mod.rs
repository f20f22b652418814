//! Container lifecycle: create from options, start (foreground, or
//! detached under a small monitor process), remove.

use super::config::{ContainerConfig, NetworkMode, SecurityOptions};
use super::state::{proc_start_time, State, Status};
use super::store::{Container, ContainerStore};
use super::tty::{pump_tty, TtyIo};
use crate::error::IoContext;
use crate::error::{Error, Result};
use crate::image::store::ImageStore;
use crate::paths::Paths;
use crate::runtime::cgroups::Cgroup;
use crate::runtime::devices;
use crate::runtime::process::NsMode;
use crate::runtime::process::{self, InitMode, InitSpec, Spawned};
use crate::runtime::resources::HostSupport;
use crate::runtime::rlimits::Ulimit;
use crate::runtime::rootfs::{MountSpec, RootfsSpec};
use crate::runtime::{caps, RuntimeError};
use crate::util;
use nix::sys::signal::{SigSet, Signal};
use nix::unistd::Pid;
use std::collections::BTreeMap;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};

/// Parent cgroup of every container without `--cgroup-parent`.
pub const CGROUP_PARENT: &str = crate::runtime::cgroups::RDOCK_PARENT;

/// What `create`/`run` were asked for (already parsed from flags).
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    pub image: String,
    pub name: String,
    /// Arguments after the image.
    pub cmd: Vec<String>,
    /// `--entrypoint`: Some("") clears the image's entrypoint.
    pub entrypoint: Option<String>,
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
    pub net: super::config::NetworkOptions,
    pub privileged: bool,
    /// `--init`: rdock's own init as PID 1.
    pub init: bool,
    pub restart: super::config::RestartPolicy,
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
    pub healthcheck: Option<super::health::HealthConfig>,
    pub stop_timeout: Option<i64>,
    pub domainname: String,
    pub annotations: BTreeMap<String, String>,
    /// The process (pid, start time) the container lives no longer than:
    /// a build's step container.
    pub owner: Option<(i32, u64)>,
}

pub(super) const HOSTS_NONE: &str = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::\tip6-localnet\nff00::\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n";

/// Merge `KEY=VALUE` overrides into `env`, later wins, order kept.
pub fn merge_env(env: &mut Vec<String>, overrides: &[String]) {
    for kv in overrides {
        let key = kv.split('=').next().unwrap_or(kv);
        env.retain(|e| e.split('=').next() != Some(key));
        env.push(kv.clone());
    }
}

/// docker's `ReplaceOrAppendEnvValues`: each override replaces its key in
/// place or is appended; a bare `KEY` (no `=`) removes KEY.
pub fn replace_or_append_env(env: &mut Vec<String>, overrides: &[String]) {
    let key = |e: &str| e.split('=').next().unwrap_or("").to_string();
    let mut unset = Vec::new();
    for kv in overrides {
        let k = key(kv);
        match env.iter_mut().find(|e| key(e) == k) {
            Some(_) if !kv.contains('=') => unset.push(k),
            Some(e) => *e = kv.clone(),
            None if kv.contains('=') => env.push(kv.clone()),
            None => {}
        }
    }
    env.retain(|e| !unset.contains(&key(e)));
}

/// A container's `Config.Env` as docker's create makes it: the user's
/// variables (a repeated key keeps its first place and its last value),
/// then the image's that the user did not name. PATH, HOSTNAME and TERM
/// are not in it: they are added at each start and exec (`process_env`).
pub fn config_env(image: &[String], user: &[String]) -> Vec<String> {
    let key = |e: &str| e.split('=').next().unwrap_or("").to_string();
    let mut env: Vec<String> = Vec::new();
    for kv in user {
        match env.iter_mut().find(|e| key(e) == key(kv)) {
            Some(e) => *e = kv.clone(),
            None => env.push(kv.clone()),
        }
    }
    for kv in image {
        if !env.iter().any(|e| key(e) == key(kv)) {
            env.push(kv.clone());
        }
    }
    env
}

/// The environment a process of the container starts with, as docker's
/// `CreateDaemonEnvironment`: PATH, HOSTNAME, TERM (with a TTY) and the
/// links' variables, then the container's own `Config.Env` over them.
pub fn process_env(cfg: &ContainerConfig, tty: bool, links: &[String]) -> Vec<String> {
    let mut env = vec![
        format!("PATH={}", process::DEFAULT_PATH),
        format!("HOSTNAME={}", cfg.hostname),
    ];
    if tty {
        env.push("TERM=xterm".into());
    }
    env.extend(links.iter().cloned());
    replace_or_append_env(&mut env, &cfg.env);
    env
}

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
    create_from(paths, opts, &source)
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
        _ => super::network::hosts_file(config, None, &[]),
    };
    (hosts, resolv)
}

/// `create` from an image already resolved.
pub fn create_from(paths: &Paths, opts: &CreateOptions, img: &ImageSource) -> Result<Container> {
    if let Some(sig) = &opts.stop_signal {
        crate::runtime::signals::parse(sig)?;
    }
    let d = &img.config.config;

    // docker: --entrypoint replaces the image's entrypoint and drops its cmd.
    let (entrypoint, cmd) = match &opts.entrypoint {
        Some(ep) => (
            if ep.is_empty() {
                None
            } else {
                Some(vec![ep.clone()])
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
    };
    let mut argv: Vec<String> = entrypoint.clone().unwrap_or_default();
    argv.extend(cmd.clone().unwrap_or_default());
    let Some((path, args)) = argv.split_first() else {
        return Err(Error::msg("no command specified"));
    };
    // Validate early so a bad flag is a create-time error, not a start-time one.
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
    // Devices are looked up at start, as docker does (`create --device
    // /dev/nope` succeeds; its start fails).
    // Another container's namespaces: by ID from now on, as docker keys them.
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
    // A bad rule is the docker client's own refusal (exit 125).
    for r in &opts.device_cgroup_rules {
        devices::parse_rule(r).map_err(|e| Error::from(e).client())?;
    }
    let mut resources = opts.resources.clone().with_defaults();
    // Looking at the host's cgroups costs a few syscalls: only when asked.
    if resources != Default::default() {
        for w in resources.verify(&HostSupport::detect(), false)? {
            eprintln!("WARNING: {w}");
        }
    }

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
        let (name, _) = super::network::split_link(link);
        ContainerStore::new(paths).resolve(name).map_err(|_| {
            Error::msg(format!(
                "could not get container for {name}: No such container: {name}"
            ))
        })?;
    }
    let id = util::random_hex(32);
    let (hostname, domainname) = default_hostname(opts, &network, &id)?;
    let env = config_env(d.env.as_deref().unwrap_or_default(), &opts.env);

    let mut labels = d.labels.clone().unwrap_or_default();
    labels.extend(opts.labels.clone());
    let image_check: Option<super::health::HealthConfig> = d
        .extra
        .get("Healthcheck")
        .and_then(|v| serde_json::from_value(v.clone()).ok());
    let healthcheck =
        super::health::HealthConfig::merge(opts.healthcheck.as_ref(), image_check.as_ref());
    if let Some(h) = &healthcheck {
        h.validate().map_err(Error::msg)?;
    }

    let mut config = ContainerConfig {
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
        resources: resources.clone(),
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
    config.log = super::config::LogConfig::new(
        opts.log_driver.as_deref(),
        &opts.log_opts,
        &config.labels,
        &config.env,
    )
    .map_err(Error::msg)?;
    super::network::check_addresses(paths, &config)?;
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

fn init_spec(paths: &Paths, c: &Container, stdio: Option<[i32; 3]>) -> Result<InitSpec> {
    let cfg = &c.config;
    let caps = caps::resolve(&cfg.cap_add, &cfg.cap_drop, cfg.privileged)?;
    let (seccomp, no_new_privs) = confinement(cfg, caps)?;
    let mut argv = vec![cfg.path.clone()];
    argv.extend(cfg.args.iter().cloned());
    // Another container's network comes with its /etc/hostname, hosts and
    // resolv.conf: the same files, so its later changes show here too.
    let names_dir = match &cfg.network {
        NetworkMode::Container(other) => ContainerStore::new(paths)
            .resolve(other)
            .map_or_else(|_| paths.container(other), |t| t.dir),
        _ => c.dir.clone(),
    };
    Ok(InitSpec {
        mode: InitMode::Create {
            rootfs: Box::new(RootfsSpec {
                layers_dir: paths.layers(),
                lowers: cfg
                    .layers
                    .iter()
                    .rev()
                    .map(|l| crate::image::store::short_link(l))
                    .collect(),
                upper: c.dir.join("upper"),
                work: c.dir.join("work"),
                target: paths.rootfs_mountpoint(),
                readonly: cfg.readonly_rootfs,
                mounts: cfg.mounts.clone(),
                hostname_file: Some(names_dir.join("hostname")),
                hosts_file: Some(names_dir.join("hosts")),
                resolv_file: Some(names_dir.join("resolv.conf")),
                privileged: cfg.privileged,
                unmask: cfg.unmask_system_paths,
                new_netns: cfg.network.own_netns(),
                shm_size: cfg.shm_size.max(0) as u64,
                devices: device_nodes(cfg)?,
                sysctls: cfg.sysctls.clone().into_iter().collect(),
                ipc_none: cfg.ipc_mode == "none",
                shm_bind: None,
                idmap: None,
                cgroup_dirs: Vec::new(),
            }),
            hostname: cfg.hostname.clone(),
            domainname: cfg.domainname.clone(),
        },
        argv,
        env: process_env(cfg, cfg.tty, &[]),
        cwd: cfg.working_dir.clone(),
        user: cfg.user.clone(),
        caps,
        init: cfg.init,
        ulimits: crate::runtime::rlimits::with_defaults(&cfg.ulimits)?,
        tty: cfg.tty,
        stdin_open: cfg.open_stdin,
        new_netns: cfg.network.own_netns(),
        private_cgroupns: cfg.private_cgroupns(),
        join_netns: None,
        // Set by `launch`, which holds the joined namespaces open.
        pid_ns: NsMode::Private,
        ipc_ns: NsMode::Private,
        own_uts: cfg.uts_mode != "host",
        group_add: cfg.group_add.clone(),
        oom_score_adj: cfg.oom_score_adj,
        // Set by `launch`, which creates the namespace and holds it.
        userns: None,
        stdio,
        seccomp,
        no_new_privs,
    })
}

/// A shareable container's /dev/shm: a tmpfs mounted in the host's mount
/// namespace under the container's dir, so joiners can bind it too (as
/// docker does). Unmounted when the container stops or goes.
fn shareable_shm(c: &Container) -> Result<std::path::PathBuf> {
    use std::os::unix::fs::MetadataExt;
    let p = c.dir.join("shm");
    std::fs::create_dir_all(&p)
        .map_err(|e| Error::msg(format!("creating {}: {e}", p.display())))?;
    let dev = |q: &std::path::Path| std::fs::metadata(q).map(|m| m.dev()).ok();
    if dev(&p) != dev(&c.dir) {
        return Ok(p); // still mounted from an earlier run
    }
    let size = if c.config.shm_size > 0 {
        (c.config.shm_size as u64).div_ceil(1024)
    } else {
        65536
    };
    nix::mount::mount(
        Some("shm"),
        &p,
        Some("tmpfs"),
        nix::mount::MsFlags::MS_NOSUID
            | nix::mount::MsFlags::MS_NODEV
            | nix::mount::MsFlags::MS_NOEXEC,
        Some(format!("mode=1777,size={size}k").as_str()),
    )
    .map_err(|e| Error::msg(format!("mounting the shareable /dev/shm: {e}")))?;
    Ok(p)
}

/// Undo `shareable_shm` (nothing there is fine).
pub(super) fn release_shm(dir: &std::path::Path) {
    let _ = nix::mount::umount2(&dir.join("shm"), nix::mount::MntFlags::MNT_DETACH);
}

/// `--pid`/`--ipc` modes: private (the default; also "shareable", "none"
/// for IPC), the host's, or a running container's namespace, opened here
/// and held by the caller until the child has joined it.
fn ns_mode(
    store: &ContainerStore,
    mode: &str,
    what: &str,
    ns: &str,
    ipc_of: Option<&str>,
) -> Result<(NsMode, Option<std::fs::File>)> {
    if mode == "host" {
        return Ok((NsMode::Host, None));
    }
    let Some(other) = mode.strip_prefix("container:") else {
        return Ok((NsMode::Private, None));
    };
    let target = store
        .load(other)
        .map_err(|_| Error::msg(format!("No such container: {other}")))?;
    if !target.state.is_alive() {
        return Err(Error::msg(format!(
            "cannot join {what} of a non running container: {}",
            target.config.name
        )));
    }
    if ipc_of.is_some() && !matches!(target.config.ipc_mode.as_str(), "shareable" | "host") {
        return Err(Error::msg(format!(
            "cannot join IPC of container {}: non-shareable IPC (hint: use IpcMode:shareable for the donor container)",
            target.config.id
        )));
    }
    let f = std::fs::File::open(format!("/proc/{}/ns/{ns}", target.state.pid)).map_err(|e| {
        Error::msg(format!(
            "cannot join {what} of container {}: {e}",
            target.config.name
        ))
    })?;
    Ok((NsMode::Join(f.as_raw_fd()), Some(f)))
}

/// The device nodes to make: the `--device` ones, or every host device
/// for `--privileged`.
fn device_nodes(cfg: &ContainerConfig) -> crate::runtime::Result<Vec<devices::Node>> {
    let mut nodes = if cfg.privileged {
        devices::host_devices()
    } else {
        Vec::new()
    };
    for m in &cfg.devices {
        nodes.extend(devices::resolve_mapping(m)?.0);
    }
    Ok(nodes)
}

/// docker's default allowlist, then `--device` and `--device-cgroup-rule`.
fn device_rules(cfg: &ContainerConfig) -> crate::runtime::Result<Vec<devices::Rule>> {
    let mut rules = devices::default_rules();
    for m in &cfg.devices {
        rules.extend(devices::resolve_mapping(m)?.1);
    }
    for r in &cfg.device_cgroup_rules {
        rules.push(devices::parse_rule(r)?);
    }
    Ok(rules)
}

/// The seccomp filter (compiled here, in the parent, so the container's
/// init only installs it) and no_new_privs for a container's processes,
/// its init and `exec`s alike: docker applies the container's profile,
/// computed from the container's capabilities, to every exec, `exec
/// --privileged` included.
pub(super) fn confinement(
    cfg: &super::config::ContainerConfig,
    caps: u64,
) -> Result<(Option<crate::runtime::seccomp::Program>, bool)> {
    let security = SecurityOptions::parse(&cfg.security_opt).map_err(Error::msg)?;
    let filter =
        crate::runtime::seccomp::filter_for(&security.seccomp_mode(), cfg.privileged, caps)
            .map_err(RuntimeError::from)?;
    Ok((filter, security.no_new_privileges))
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

/// With another container's network, the names are that container's,
/// taken at start and recorded (docker's `initializeNetworking`): the
/// container as it starts, when they changed.
fn share_names(store: &ContainerStore, c: &Container) -> Result<Option<Container>> {
    let NetworkMode::Container(other) = &c.config.network else {
        return Ok(None);
    };
    let Ok(t) = store.resolve(other) else {
        return Ok(None); // launch says why it cannot join
    };
    let (h, d) = (&t.config.hostname, &t.config.domainname);
    if c.config.hostname == *h && c.config.domainname == *d {
        return Ok(None);
    }
    store.update_config(&c.config.id, |cfg| {
        cfg.hostname = h.clone();
        cfg.domainname = d.clone();
    })?;
    let mut updated = c.clone();
    updated.config.hostname = h.clone();
    updated.config.domainname = d.clone();
    Ok(Some(updated))
}

/// Spawn the container and record it as running; or record why it could
/// not start, as docker does: its state keeps the error and docker's exit
/// code, and a `--rm` container goes (so a retry can take its name).
pub(super) fn launch(
    paths: &Paths,
    c: &Container,
    stdio: Option<[i32; 3]>,
) -> Result<(Spawned, Cgroup)> {
    if c.state.status == Status::Running {
        return Err(Error::msg(format!(
            "container {} is already running",
            c.config.name
        )));
    }
    try_launch(paths, c, stdio).inspect_err(|e| record_start_failure(paths, c, e))
}

fn record_start_failure(paths: &Paths, c: &Container, e: &Error) {
    debug!("start of {} failed: {e}", c.config.id);
    let store = ContainerStore::new(paths);
    if c.config.auto_remove {
        let _ = store.remove(c);
        let _ = crate::volume::release_anonymous(paths, &c.config.mounts);
        return;
    }
    // 126/127 when the program cannot be run, else 128 (docker's "exit
    // status unknown").
    let code = match e.exit_code() {
        code @ (126 | 127) => code,
        _ => 128,
    };
    let state = State {
        status: if c.state.status == Status::Created {
            Status::Created
        } else {
            Status::Exited
        },
        exit_code: code,
        error: e.to_string(),
        ..c.state.clone()
    };
    let _ = store.save_state(&c.config.id, &state);
}

fn try_launch(paths: &Paths, c: &Container, stdio: Option<[i32; 3]>) -> Result<(Spawned, Cgroup)> {
    // `cp` holds this while it has this container's rootfs open or its
    // overlay mounted: never two overlays on one upper dir.
    let _rootfs = util::FileLock::on_dir(&c.dir.join("upper"))
        .ctx(|| "locking the container's rootfs".into())?;
    util::mkdirs_private(&paths.rootfs_mountpoint())
        .ctx(|| "creating the rootfs mountpoint".into())?;
    crate::volume::prepare_start(paths, &c.config.mounts)?;
    let store = ContainerStore::new(paths);
    let shared;
    let c = match share_names(&store, c)? {
        Some(updated) => {
            shared = updated;
            &shared
        }
        None => c,
    };
    let mut spec = init_spec(paths, c, stdio)?;
    // Held open until the child has joined it.
    let _shared_netns = match &c.config.network {
        NetworkMode::Container(other) => {
            let target = store.resolve(other).map_err(|_| {
                Error::msg(format!(
                    "joining network namespace of container: No such container: {other}"
                ))
            })?;
            if !target.state.is_alive() {
                return Err(Error::msg(format!(
                    "cannot join network namespace of a non running container: {}",
                    target.config.name
                )));
            }
            let f =
                std::fs::File::open(format!("/proc/{}/ns/net", target.state.pid)).map_err(|e| {
                    Error::msg(format!(
                        "cannot join network namespace of container {}: {e}",
                        target.config.name
                    ))
                })?;
            spec.join_netns = Some(f.as_raw_fd());
            Some(f)
        }
        _ => None,
    };
    let (_shared_pidns, _shared_ipcns);
    (spec.pid_ns, _shared_pidns) = ns_mode(&store, &c.config.pid_mode, "PID", "pid", None)?;
    (spec.ipc_ns, _shared_ipcns) = ns_mode(
        &store,
        &c.config.ipc_mode,
        "IPC",
        "ipc",
        Some(&c.config.name),
    )?;
    let shm = match spec.ipc_ns {
        NsMode::Host => Some(std::path::PathBuf::from("/dev/shm")),
        // The donor's /dev/shm: a tmpfs on the host side (a mount in the
        // donor's own namespace could not be bound from here).
        NsMode::Join(_) => c
            .config
            .ipc_mode
            .strip_prefix("container:")
            .and_then(|id| store.load(id).ok())
            .map(|d| d.dir.join("shm")),
        NsMode::Private if c.config.ipc_mode == "shareable" => Some(shareable_shm(c)?),
        NsMode::Private => None,
    };
    let _userns = match &c.config.userns_remap {
        Some(remap) => Some(remap.create_ns()?),
        None => None,
    };
    spec.userns = _userns.as_ref().map(|f| f.as_raw_fd());
    if let InitMode::Create { rootfs, .. } = &mut spec.mode {
        rootfs.shm_bind = shm;
        let (uid, gid) = c.config.userns_remap.as_ref().map_or((0, 0), |r| r.root());
        rootfs.idmap = spec.userns.map(|fd| (fd, c.dir.clone(), uid, gid));
    }
    for m in &c.config.mounts {
        debug!(
            "mount {:?} {} -> {} ro={} {:?}",
            m.kind,
            m.source.display(),
            m.destination.display(),
            m.readonly,
            m.options
        );
    }
    let cgroup = Cgroup::create(c.config.cgroup_parent(), &c.config.id)?;
    if let Err(e) = c
        .config
        .resources
        .apply(&cgroup)
        .and_then(|_| device_rules(&c.config))
        .and_then(|rules| devices::apply(&cgroup, &rules, c.config.privileged))
    {
        let _ = cgroup.remove();
        return Err(e.into());
    }
    if let InitMode::Create { rootfs, .. } = &mut spec.mode {
        rootfs.cgroup_dirs = cgroup.v1_dirs();
    }
    let links = match super::network::links(paths, c) {
        Ok(l) => l,
        Err(e) => {
            let _ = cgroup.remove();
            return Err(e);
        }
    };
    if !links.env.is_empty() {
        spec.env = process_env(&c.config, c.config.tty, &links.env);
    }
    let endpoints = match super::network::prepare(paths, c, &links) {
        Ok(ep) => ep,
        Err(e) => {
            let _ = cgroup.remove();
            return Err(e);
        }
    };
    let id = c.config.id.clone();
    let mut plumb = |pid: i32| -> crate::runtime::Result<()> {
        if endpoints.is_empty() {
            return Ok(());
        }
        super::network::plumb(&id, &endpoints, pid)
            .map_err(|e| crate::runtime::RuntimeError::Other(e.to_string()))
    };
    // Only bridge endpoints have anything to do there.
    let hook: Option<&mut dyn FnMut(i32) -> crate::runtime::Result<()>> = if endpoints.is_empty() {
        None
    } else {
        Some(&mut plumb)
    };
    let spawned = match process::spawn_with(&spec, &cgroup, hook) {
        Ok(s) => s,
        Err(e) => {
            let _ = cgroup.remove();
            super::network::teardown(paths, c);
            return Err(e.into());
        }
    };
    let state = State {
        status: Status::Running,
        pid: spawned.pid,
        pid_start: proc_start_time(spawned.pid).unwrap_or(0),
        exit_code: 0,
        oom_killed: false,
        started_at: Some(now()),
        finished_at: None,
        error: String::new(),
        paused: false,
        freezing: false,
        restarting: false,
        stop_requested: false,
        restart_count: c.state.restart_count,
        owner_pid: std::process::id() as i32,
        owner_start: proc_start_time(std::process::id() as i32).unwrap_or(0),
    };
    store.save_state(&c.config.id, &state)?;
    super::health::start_prober(paths, &c.config, &c.dir, spawned.pid);
    crate::events::container(paths, &c.config, "start", &[]);
    Ok((spawned, cgroup))
}

/// After the container's init is gone: record the exit, drop the cgroup,
/// remove the container if it was `--rm`.
pub(super) fn finish(paths: &Paths, c: &Container, cgroup: &Cgroup, code: i32) -> Result<()> {
    let store = ContainerStore::new(paths);
    // Read before the cgroup (and its counters) goes.
    let oom = crate::runtime::resources::oom_killed(cgroup);
    let _ = cgroup.remove();
    release_shm(&c.dir);
    super::network::teardown(paths, c);
    die_events(paths, c, code, oom);
    if c.config.auto_remove {
        store.remove(c)?;
        crate::events::container(paths, &c.config, "destroy", &[]);
        // docker's --rm takes the anonymous volumes with it.
        return Ok(crate::volume::release_anonymous(paths, &c.config.mounts)?);
    }
    store.update_state(&c.config.id, |state| {
        state.oom_killed = oom;
        state.status = Status::Exited;
        state.paused = false;
        state.restarting = false;
        state.pid = 0;
        state.exit_code = code;
        state.finished_at = Some(now());
    })?;
    Ok(())
}

/// docker's events for an exit: "oom" first if the kernel killed for
/// memory, then "die" with the exit code and how long it ran.
pub(super) fn die_events(paths: &Paths, c: &Container, code: i32, oom: bool) {
    if oom {
        crate::events::container(paths, &c.config, "oom", &[]);
    }
    let ran = c
        .state
        .started_at
        .as_deref()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| chrono::Utc::now().signed_duration_since(t).num_seconds())
        .unwrap_or(0);
    crate::events::container(
        paths,
        &c.config,
        "die",
        &[
            ("exitCode", code.to_string()),
            ("execDuration", ran.to_string()),
        ],
    );
}

/// Signals the foreground CLI (and an attached session) passes on to the
/// container (docker's sig-proxy).
pub(super) const PROXIED: &[Signal] = &[
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
];

/// Which of a foreground container's outputs reach the terminal (`-a`):
/// the others go only to its log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Streams {
    pub stdout: bool,
    pub stderr: bool,
}

impl Streams {
    pub const ALL: Streams = Streams {
        stdout: true,
        stderr: true,
    };
}

/// Run the container attached to this terminal until it exits; returns its
/// exit code. The CLI process plays the monitor's part meanwhile.
pub fn start_foreground(paths: &Paths, c: &Container, streams: Streams) -> Result<i32> {
    let sfd = forwarding_signals()?;
    // Its output goes to the log too, as docker's does, so `logs` works
    // after a foreground run; not for --rm, whose log goes with it.
    let mut log = if c.config.auto_remove || c.config.log.driver_name() == "none" {
        None
    } else {
        let path = super::logs::log_path(&c.dir, &c.config.id);
        Some(
            super::logs::LogWriter::open(&path, &c.config.log)
                .ctx(|| "opening the container log".into())?,
        )
    };
    let pipe = || {
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| RuntimeError::sys("pipe", e))
    };
    let pipes = match (&log, c.config.tty) {
        (Some(_), false) => Some((pipe()?, pipe()?)),
        _ => None,
    };
    // Unlogged and not attached (`--rm -a stderr`): that output goes nowhere.
    let null = match (&pipes, c.config.tty, streams) {
        (None, false, s) if s != Streams::ALL => Some(
            std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/null")
                .ctx(|| "opening /dev/null".into())?,
        ),
        _ => None,
    };
    let stdio = match (&pipes, &null) {
        (Some((o, e)), _) => Some([libc::STDIN_FILENO, o.1.as_raw_fd(), e.1.as_raw_fd()]),
        (None, Some(n)) => {
            let pick = |on: bool, fd: i32| if on { fd } else { n.as_raw_fd() };
            Some([
                libc::STDIN_FILENO,
                pick(streams.stdout, libc::STDOUT_FILENO),
                pick(streams.stderr, libc::STDERR_FILENO),
            ])
        }
        (None, None) => None,
    };
    let (spawned, cgroup) = launch(paths, c, stdio)?;
    drop(null);
    let pid = Pid::from_raw(spawned.pid);
    let code = match (pipes, spawned.pty_master) {
        (Some(((out, out_w), (err, err_w))), _) => {
            drop((out_w, err_w));
            let log = log.as_mut().ok_or_else(|| Error::msg("no log"))?;
            pump_logged(&sfd, pid, [out, err], log, streams)?
        }
        (None, Some(master)) => {
            let tty = TtyIo {
                stdin: c.config.open_stdin,
                stdout: streams.stdout,
                // Detachable containers run under a monitor instead.
                detach_keys: &[],
            };
            pump_tty(&sfd, pid, master, tty, log.as_mut())?.unwrap_or(0)
        }
        (None, None) => wait_forwarding(&sfd, pid)?,
    };
    if let Some(l) = log.as_mut() {
        let _ = l.flush();
    }
    // The container's status is what the caller waits for: a failure to
    // record it (a full disk) is worth a warning, not the exit code.
    if let Err(e) = finish(paths, c, &cgroup, code) {
        eprintln!(
            "WARNING: container {} exited with {code}, but its state could not be recorded: {e}",
            c.config.name
        );
    }
    Ok(code)
}

/// How a `build` step's container ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepExit {
    Exited(i32),
    /// SIGINT, SIGTERM or SIGHUP arrived: the step was killed, as
    /// BuildKit cancels a RUN on ^C (a pid-1 shell would ignore a
    /// forwarded SIGINT and the build would go on).
    Interrupted,
}

/// Run the container with the given stdin/stdout/stderr fds until it
/// exits, unlogged (a `build` step's container).
pub fn run_step(paths: &Paths, c: &Container, stdio: [i32; 3]) -> Result<StepExit> {
    let mut mask = SigSet::empty();
    for s in [
        Signal::SIGCHLD,
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
    ] {
        mask.add(s);
    }
    mask.thread_block()
        .map_err(|e| RuntimeError::sys("sigprocmask", e))?;
    let sfd =
        nix::sys::signalfd::SignalFd::with_flags(&mask, nix::sys::signalfd::SfdFlags::SFD_CLOEXEC)
            .map_err(|e| RuntimeError::sys("signalfd", e))?;
    let (spawned, cgroup) = launch(paths, c, Some(stdio))?;
    let pid = Pid::from_raw(spawned.pid);
    let mut interrupted = false;
    let code = loop {
        if let Some(code) = try_reap(pid) {
            break code;
        }
        match sfd.read_signal() {
            Ok(Some(info)) if info.ssi_signo as i32 != libc::SIGCHLD => {
                interrupted = true;
                let _ = nix::sys::signal::kill(pid, Signal::SIGKILL);
            }
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(RuntimeError::sys("reading signals", e).into()),
        }
    };
    finish(paths, c, &cgroup, code)?;
    Ok(if interrupted {
        StepExit::Interrupted
    } else {
        StepExit::Exited(code)
    })
}

/// A foreground container's output: to our stdout/stderr and to its log,
/// while signals are forwarded; until it has exited and its pipes are
/// drained.
fn pump_logged(
    sfd: &nix::sys::signalfd::SignalFd,
    pid: Pid,
    pipes: [OwnedFd; 2],
    log: &mut super::logs::LogWriter,
    streams: Streams,
) -> Result<i32> {
    use super::logs::Stream;
    let mut open = [true, true];
    let mut code: Option<i32> = None;
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        if code.is_none() {
            code = try_reap(pid);
        }
        if code.is_some() && !open[0] && !open[1] {
            break;
        }
        let mut fds = [
            libc::pollfd {
                fd: sfd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: if open[0] { pipes[0].as_raw_fd() } else { -1 },
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: if open[1] { pipes[1].as_raw_fd() } else { -1 },
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // After the exit, what is left is read; a process that escaped
        // the pid namespace holding a pipe cannot keep us for ever.
        let timeout = if code.is_some() { 1000 } else { -1 };
        // SAFETY: a valid array of pollfd of the given length.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 3, timeout) };
        if n == 0 && code.is_some() {
            break;
        }
        if n < 0 {
            continue;
        }
        if fds[0].revents != 0 {
            if let Ok(Some(info)) = sfd.read_signal() {
                let sig = info.ssi_signo as i32;
                if sig != libc::SIGCHLD && sig != libc::SIGWINCH {
                    if let Ok(s) = Signal::try_from(sig) {
                        let _ = nix::sys::signal::kill(pid, s);
                    }
                }
            }
        }
        let pipes = fds.iter().skip(1).zip(open.iter_mut());
        for ((pfd, open), stream) in pipes.zip([Stream::Stdout, Stream::Stderr]) {
            if pfd.revents == 0 {
                continue;
            }
            // SAFETY: reading into our buffer from a pipe we own.
            let r = unsafe { libc::read(pfd.fd, buf.as_mut_ptr().cast(), buf.len()) };
            if r <= 0 {
                if r == 0 || nix::errno::Errno::last() != nix::errno::Errno::EINTR {
                    *open = false;
                }
                continue;
            }
            let Some(data) = buf.get(..r as usize) else {
                continue;
            };
            let _ = match stream {
                Stream::Stdout if streams.stdout => std::io::stdout().lock().write_all(data),
                Stream::Stderr if streams.stderr => std::io::stderr().lock().write_all(data),
                _ => Ok(()),
            };
            let _ = log.write(stream, data);
        }
    }
    Ok(code.unwrap_or(255))
}

/// Block the signals a foreground CLI forwards (and SIGCHLD, SIGWINCH) and
/// read them from a signalfd. Call before spawning: children inherit the
/// mask, and the container's init clears it before exec.
pub(super) fn forwarding_signals() -> Result<nix::sys::signalfd::SignalFd> {
    let mut mask = SigSet::empty();
    for s in PROXIED {
        mask.add(*s);
    }
    mask.add(Signal::SIGCHLD);
    mask.add(Signal::SIGWINCH);
    mask.thread_block()
        .map_err(|e| RuntimeError::sys("sigprocmask", e))?;
    Ok(
        nix::sys::signalfd::SignalFd::with_flags(&mask, nix::sys::signalfd::SfdFlags::SFD_CLOEXEC)
            .map_err(|e| RuntimeError::sys("signalfd", e))?,
    )
}

/// Stay with a spawned process until it exits: forward signals, and with a
/// TTY proxy the terminal. Returns its exit code, or None when the user
/// typed `detach_keys` (TTY and stdin only): it goes on without us.
pub(super) fn attach(
    sfd: &nix::sys::signalfd::SignalFd,
    spawned: Spawned,
    stdin_open: bool,
    detach_keys: &[u8],
) -> Result<Option<i32>> {
    let pid = Pid::from_raw(spawned.pid);
    match spawned.pty_master {
        Some(master) => {
            let tty = TtyIo {
                stdin: stdin_open,
                stdout: true,
                detach_keys: if stdin_open { detach_keys } else { &[] },
            };
            pump_tty(sfd, pid, master, tty, None)
        }
        None => wait_forwarding(sfd, pid).map(Some),
    }
}

pub(super) fn try_reap(pid: Pid) -> Option<i32> {
    // libc directly: the monitor calls this every loop, and nix's status
    // decoding is more code to keep resident.
    let mut status = 0;
    // SAFETY: waitpid on our own child with a valid status pointer.
    let r = unsafe { libc::waitpid(pid.as_raw(), &mut status, libc::WNOHANG) };
    if r == 0 {
        None
    } else if r < 0 {
        (nix::errno::Errno::last() == nix::errno::Errno::ECHILD).then_some(255)
    } else if libc::WIFEXITED(status) {
        Some(libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        Some(libc::WTERMSIG(status).saturating_add(128))
    } else {
        None
    }
}

fn wait_forwarding(sfd: &nix::sys::signalfd::SignalFd, pid: Pid) -> Result<i32> {
    loop {
        if let Some(code) = try_reap(pid) {
            return Ok(code);
        }
        match sfd.read_signal() {
            Ok(Some(info)) => {
                let sig = info.ssi_signo as i32;
                if sig != libc::SIGCHLD && sig != libc::SIGWINCH {
                    if let Ok(s) = Signal::try_from(sig) {
                        let _ = nix::sys::signal::kill(pid, s);
                    }
                }
            }
            Ok(None) => {}
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(RuntimeError::sys("reading signals", e).into()),
        }
    }
}
