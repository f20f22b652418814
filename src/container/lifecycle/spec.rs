//! What the runtime gets for a container: the `InitSpec` (its process from
//! the config, its namespaces and rootfs lowered from the config's OCI
//! spec), the namespaces it joins, its cgroup.

use super::env::process_env;
use super::oci::{ProcessInput, Shared, Source};
use crate::container::config::{ContainerConfig, NetworkMode, SecurityOptions};
use crate::container::store::{Container, ContainerStore};
use crate::error::{Error, Result};
use crate::paths::Paths;
use crate::runtime::cgroups::Cgroup;
use crate::runtime::oci::{lower, OciError};
use crate::runtime::process::{InitMode, InitSpec};
use crate::runtime::resources::Resources;
use crate::runtime::{caps, devices, RuntimeError};
use oci_spec::runtime::LinuxSeccomp;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

/// The container's init, lowered by the runtime from the container's
/// config as an OCI spec (`oci::container_spec`), with the code that
/// lowers a bundle's. `link_env`: the `--link` variables. The fds it
/// returns (namespaces joined, a new user namespace) stay open until the
/// child is spawned.
/// A container's spec, lowered for the runtime.
pub(super) struct Lowered {
    pub init: InitSpec,
    /// Namespace fds, held open (while this lives) until the child has
    /// joined them.
    _held: Vec<OwnedFd>,
    /// Its cgroup's limits and device rules.
    pub resources: Resources,
    pub device_rules: Vec<devices::Rule>,
}

pub(super) fn init_spec(
    paths: &Paths,
    store: &ContainerStore,
    c: &Container,
    stdio: Option<[i32; 3]>,
    link_env: &[String],
) -> Result<Lowered> {
    let cfg = &c.config;
    let caps = caps::resolve(&cfg.cap_add, &cfg.cap_drop, cfg.privileged)?;
    let (seccomp, no_new_privs) = confinement(cfg, caps)?;
    let input = ProcessInput {
        env: process_env(cfg, cfg.tty, link_env),
        caps,
        ulimits: crate::runtime::rlimits::with_defaults(&cfg.ulimits)?,
        no_new_privs,
        seccomp,
    };
    let shared = shared(store, c)?;
    let spec = super::oci::container_spec(paths, c, &shared, input)?;
    let mut held = Vec::new();
    let (mut init, _) =
        lower::lower_init(&spec, Path::new("/"), &mut held).map_err(lowering_error)?;
    // Its I/O is the caller's, as a runtime's process inherits its stdio.
    init.stdin_open = cfg.open_stdin;
    init.stdio = stdio;
    let (resources, device_rules) = lower::lower_cgroup(&spec).map_err(lowering_error)?;
    Ok(Lowered {
        init,
        _held: held,
        resources,
        device_rules,
    })
}

/// What the container takes from elsewhere: another container's network,
/// PID and IPC namespaces (which must run), the /dev/shm to bind, the
/// /etc files, the device nodes.
fn shared(store: &ContainerStore, c: &Container) -> Result<Shared> {
    let cfg = &c.config;
    // Another container's network comes with its /etc/hostname, hosts and
    // resolv.conf: the same files, so its later changes show here too.
    let (net, names_dir) = match &cfg.network {
        NetworkMode::Container(other) => {
            let (path, dir) = container_netns(store, other)?;
            (Some(path), dir)
        }
        _ => (None, c.dir.clone()),
    };
    let pid = ns_source(store, &cfg.pid_mode, "PID", "pid", None)?;
    let ipc = ns_source(store, &cfg.ipc_mode, "IPC", "ipc", Some(&cfg.name))?;
    let shm = match &ipc {
        Source::Host => Some(PathBuf::from("/dev/shm")),
        // The donor's /dev/shm: a tmpfs on the host side (a mount in the
        // donor's own namespace could not be bound from here).
        Source::Path(_) => cfg
            .ipc_mode
            .strip_prefix("container:")
            .and_then(|id| store.load(id).ok())
            .map(|d| d.dir.join("shm")),
        Source::Private if cfg.ipc_mode == "shareable" => Some(shareable_shm(c)?),
        Source::Private => None,
    };
    Ok(Shared {
        pid,
        ipc,
        net,
        shm,
        names_dir,
        devices: device_nodes(cfg)?,
    })
}

/// Another container's network namespace, to join (it must be running),
/// and the dir of its /etc files.
fn container_netns(store: &ContainerStore, other: &str) -> Result<(PathBuf, PathBuf)> {
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
    let path = PathBuf::from(format!("/proc/{}/ns/net", target.state.pid));
    if let Err(e) = std::fs::metadata(&path) {
        return Err(Error::msg(format!(
            "cannot join network namespace of container {}: {e}",
            target.config.name
        )));
    }
    Ok((path, target.dir))
}

/// The container's cgroup, made and limited (resources, device rules);
/// on v1 its dirs go into `spec`'s rootfs, to be bound read-only.
pub(super) fn container_cgroup(c: &Container, lowered: &mut Lowered) -> Result<Cgroup> {
    let cgroup = Cgroup::create(c.config.cgroup_parent(), &c.config.id)?;
    let rules = &lowered.device_rules;
    if let Err(e) = lowered
        .resources
        .apply(&cgroup)
        .and_then(|_| devices::apply(&cgroup, rules, rules.is_empty()))
    {
        let _ = cgroup.remove();
        return Err(e.into());
    }
    if let InitMode::Oci { rootfs, .. } = &mut lowered.init.mode {
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
/// for IPC), the host's, or a running container's namespace.
fn ns_source(
    store: &ContainerStore,
    mode: &str,
    what: &str,
    ns: &str,
    ipc_of: Option<&str>,
) -> Result<Source> {
    if mode == "host" {
        return Ok(Source::Host);
    }
    let Some(other) = mode.strip_prefix("container:") else {
        return Ok(Source::Private);
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
    let path = PathBuf::from(format!("/proc/{}/ns/{ns}", target.state.pid));
    if let Err(e) = std::fs::metadata(&path) {
        return Err(Error::msg(format!(
            "cannot join {what} of container {}: {e}",
            target.config.name
        )));
    }
    Ok(Source::Path(path))
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

/// The seccomp section (docker's profile for this container, as the
/// runtime-spec says it) and no_new_privs for a container's processes,
/// its init and `exec`s alike: docker applies the container's profile,
/// computed from the container's capabilities, to every exec, `exec
/// --privileged` included. The filter is compiled in the parent, so the
/// container's init only installs it.
pub(in crate::container) fn confinement(
    cfg: &ContainerConfig,
    caps: u64,
) -> Result<(Option<LinuxSeccomp>, bool)> {
    let security = SecurityOptions::parse(&cfg.security_opt).map_err(Error::msg)?;
    let section =
        crate::runtime::seccomp::spec::spec_for(&security.seccomp_mode(), cfg.privileged, caps)
            .map_err(RuntimeError::from)?;
    Ok((section, security.no_new_privileges))
}

/// The runtime's errors as the CLI reports them.
pub(in crate::container) fn lowering_error(e: OciError) -> Error {
    match e {
        OciError::Runtime(e) => Error::from(e),
        e => Error::msg(e.to_string()),
    }
}
