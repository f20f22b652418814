//! What the runtime gets for a container: the `InitSpec` (and its
//! `RootfsSpec`), the namespaces it joins, its cgroup, all from the
//! container's config. (To become "config -> OCI spec".)

use super::env::process_env;
use crate::container::config::{ContainerConfig, NetworkMode, SecurityOptions};
use crate::container::store::{Container, ContainerStore};
use crate::error::{Error, Result};
use crate::paths::Paths;
use crate::runtime::cgroups::Cgroup;
use crate::runtime::process::{InitMode, InitSpec, NsMode};
use crate::runtime::rootfs::RootfsSpec;
use crate::runtime::{caps, devices, RuntimeError};
use std::os::fd::AsRawFd;

pub(super) fn init_spec(paths: &Paths, c: &Container, stdio: Option<[i32; 3]>) -> Result<InitSpec> {
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
        // Set by `join_namespaces`; `launch` holds them open.
        pid_ns: NsMode::Private,
        ipc_ns: NsMode::Private,
        own_uts: cfg.uts_mode != "host",
        group_add: cfg.group_add.clone(),
        oom_score_adj: cfg.oom_score_adj,
        // Set by `join_namespaces`, which creates the namespace.
        userns: None,
        stdio,
        seccomp,
        no_new_privs,
        extra: Default::default(),
    })
}

/// The namespaces a container's init joins, opened for it: held by the
/// caller until the child has joined them.
pub(super) struct Joined {
    _netns: Option<std::fs::File>,
    _pidns: Option<std::fs::File>,
    _ipcns: Option<std::fs::File>,
    _userns: Option<std::os::fd::OwnedFd>,
}

/// Fill in the namespaces of `spec`: another container's network, PID
/// and IPC namespaces, the /dev/shm to bind, a new user namespace
/// (`userns-remap`).
pub(super) fn join_namespaces(
    store: &ContainerStore,
    c: &Container,
    spec: &mut InitSpec,
) -> Result<Joined> {
    let netns = match &c.config.network {
        NetworkMode::Container(other) => {
            let f = container_netns(store, other)?;
            spec.join_netns = Some(f.as_raw_fd());
            Some(f)
        }
        _ => None,
    };
    let (pidns, ipcns);
    (spec.pid_ns, pidns) = ns_mode(store, &c.config.pid_mode, "PID", "pid", None)?;
    (spec.ipc_ns, ipcns) = ns_mode(
        store,
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
    let userns = match &c.config.userns_remap {
        Some(remap) => Some(remap.create_ns()?),
        None => None,
    };
    spec.userns = userns.as_ref().map(|f| f.as_raw_fd());
    if let InitMode::Create { rootfs, .. } = &mut spec.mode {
        rootfs.shm_bind = shm;
        let (uid, gid) = c.config.userns_remap.as_ref().map_or((0, 0), |r| r.root());
        rootfs.idmap = spec.userns.map(|fd| (fd, c.dir.clone(), uid, gid));
    }
    Ok(Joined {
        _netns: netns,
        _pidns: pidns,
        _ipcns: ipcns,
        _userns: userns,
    })
}

/// Another container's network namespace, to join: it must be running.
fn container_netns(store: &ContainerStore, other: &str) -> Result<std::fs::File> {
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
    std::fs::File::open(format!("/proc/{}/ns/net", target.state.pid)).map_err(|e| {
        Error::msg(format!(
            "cannot join network namespace of container {}: {e}",
            target.config.name
        ))
    })
}

/// The container's cgroup, made and limited (resources, device rules);
/// on v1 its dirs go into `spec`'s rootfs, to be bound read-only.
pub(super) fn container_cgroup(c: &Container, spec: &mut InitSpec) -> Result<Cgroup> {
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
    Ok(cgroup)
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
pub(in crate::container) fn release_shm(dir: &std::path::Path) {
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
pub(in crate::container) fn confinement(
    cfg: &ContainerConfig,
    caps: u64,
) -> Result<(Option<crate::runtime::seccomp::Program>, bool)> {
    let security = SecurityOptions::parse(&cfg.security_opt).map_err(Error::msg)?;
    let filter =
        crate::runtime::seccomp::filter_for(&security.seccomp_mode(), cfg.privileged, caps)
            .map_err(RuntimeError::from)?;
    Ok((filter, security.no_new_privileges))
}
