//! A container's config as an OCI runtime-spec `Spec`, in memory: the
//! container half that `runtime::oci::lower` turns into the init's
//! namespaces and rootfs, with the same code as an OCI bundle's config.
//! What the runtime-spec cannot say is in rdock's annotations (the root as
//! an overlay of image layers, `lower::overlay_keys`) and mount options
//! (`x-rdock.copy-up`, `replace-link`, `create-source`).
//!
//! The process too: docker's user and `--group-add` by name (resolved in
//! the container's own /etc files once its rootfs is up, where a
//! runtime-spec process has numeric ids), `--init` and docker's rules for
//! capabilities and rlimits are rdock's `process_keys` annotations. The
//! cgroup is not in it: it is made from the container's resources before
//! the spawn, with the same `runtime::resources` code a runtime-spec's
//! resources are lowered to.

use crate::container::config::{ContainerConfig, NetworkMode};
use crate::container::store::Container;
use crate::error::{Error, Result};
use crate::paths::Paths;
use crate::runtime::caps::NAMES;
use crate::runtime::devices::{self, Node, Rule};
use crate::runtime::oci::lower::{overlay_keys, process_keys};
use crate::runtime::resources::{device_numbers, Resources, ThrottleDevice};
use crate::runtime::rlimits::Ulimit;
use crate::runtime::rootfs::{MountKind, MountSpec, DEVICES, MASKED, READONLY};
use oci_spec::runtime::{
    Capability, Linux, LinuxBlockIo, LinuxCapabilitiesBuilder, LinuxCpu, LinuxDevice,
    LinuxDeviceBuilder, LinuxDeviceCgroup, LinuxDeviceCgroupBuilder, LinuxDeviceType,
    LinuxIdMapping, LinuxIdMappingBuilder, LinuxMemory, LinuxNamespace, LinuxNamespaceBuilder,
    LinuxNamespaceType, LinuxPidsBuilder, LinuxResources, LinuxSeccomp, LinuxThrottleDevice,
    LinuxThrottleDeviceBuilder, LinuxWeightDeviceBuilder, Mount, MountBuilder, PosixRlimitBuilder,
    PosixRlimitType, Process, RootBuilder, Spec, User,
};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Where a namespace the container may share comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Source {
    Private,
    Host,
    /// Another container's (its init's /proc/PID/ns/*).
    Path(PathBuf),
}

/// The namespaces and shared files a container takes from elsewhere,
/// checked by the caller (the donors run) before the spec is made.
#[derive(Debug, Clone)]
pub(super) struct Shared {
    pub pid: Source,
    pub ipc: Source,
    /// `--network container:X`: that container's network namespace.
    pub net: Option<PathBuf>,
    /// The /dev/shm bound instead of a new tmpfs (`--ipc host`,
    /// `container:X`, `shareable`).
    pub shm: Option<PathBuf>,
    /// Where /etc/hostname, hosts and resolv.conf come from.
    pub names_dir: PathBuf,
    /// The device nodes to make (`--device`, every host device with
    /// `--privileged`).
    pub devices: Vec<Node>,
}

fn spec_err(e: oci_spec::OciSpecError) -> Error {
    Error::msg(format!("building the container's OCI spec: {e}"))
}

/// What docker's process is made of beside the config: computed by the
/// caller (its environment has the links' variables).
pub(in crate::container) struct ProcessInput {
    pub env: Vec<String>,
    /// The bounding set (`--cap-add`, `--cap-drop`, `--privileged`).
    pub caps: u64,
    /// With daemon.json's default-ulimits.
    pub ulimits: Vec<Ulimit>,
    pub no_new_privs: bool,
    /// Its seccomp section (from the same capabilities).
    pub seccomp: Option<LinuxSeccomp>,
}

/// The container's config as a runtime-spec config.
pub(super) fn container_spec(
    paths: &Paths,
    c: &Container,
    shared: &Shared,
    mut input: ProcessInput,
) -> Result<Spec> {
    let cfg = &c.config;
    let remap = cfg.userns_remap.as_ref().map(|r| r.root());
    let mut spec = Spec::default();
    let seccomp = input.seccomp.take();
    let (process, process_annotations) = process(&DockerProcess::of(cfg), input)?;
    spec.set_process(Some(process));
    spec.set_root(Some(
        RootBuilder::default()
            .path(paths.rootfs_mountpoint())
            .readonly(cfg.readonly_rootfs)
            .build()
            .map_err(spec_err)?,
    ));
    let own_uts = cfg.uts_mode != "host";
    spec.set_hostname(own_uts.then(|| cfg.hostname.clone()));
    spec.set_domainname(own_uts.then(|| cfg.domainname.clone()));
    let mut annotations = overlay(paths, c);
    annotations.extend(process_annotations);
    spec.set_annotations(Some(annotations));
    spec.set_mounts(Some(mounts(cfg, shared, remap)?));
    let confined = !cfg.privileged && !cfg.unmask_system_paths;
    let list = |l: &[&str]| {
        if confined {
            l.iter().map(|p| p.to_string()).collect()
        } else {
            Vec::new()
        }
    };
    let mut linux = Linux::default();
    linux
        .set_resources(None)
        .set_namespaces(Some(namespaces(cfg, shared)?))
        .set_devices(Some(devices(&shared.devices, remap)?))
        .set_masked_paths(Some(list(MASKED)))
        .set_readonly_paths(Some(list(READONLY)))
        .set_sysctl(Some(
            cfg.sysctls.clone().into_iter().collect::<HashMap<_, _>>(),
        ))
        .set_rootfs_propagation(root_propagation(&cfg.mounts))
        .set_seccomp(seccomp)
        .set_resources(Some(resources(cfg)?));
    if let Some(r) = &cfg.userns_remap {
        linux
            .set_uid_mappings(Some(id_mappings(&r.uids)?))
            .set_gid_mappings(Some(id_mappings(&r.gids)?));
    }
    spec.set_linux(Some(linux));
    Ok(spec)
}

/// The root: the image's layers (topmost first) under the container's
/// upper dir, by rdock's annotations.
fn overlay(paths: &Paths, c: &Container) -> HashMap<String, String> {
    let lowers: Vec<String> = c
        .config
        .layers
        .iter()
        .rev()
        .map(|l| crate::image::store::short_link(l))
        .collect();
    let s = |p: PathBuf| p.to_string_lossy().into_owned();
    let mut a = HashMap::from([
        (overlay_keys::LAYERS.to_string(), s(paths.layers())),
        (overlay_keys::LOWERS.to_string(), lowers.join(":")),
        (overlay_keys::UPPER.to_string(), s(c.dir.join("upper"))),
        (overlay_keys::WORK.to_string(), s(c.dir.join("work"))),
    ]);
    if c.config.userns_remap.is_some() {
        a.insert(overlay_keys::IDMAP.to_string(), s(c.dir.clone()));
    }
    a
}

/// A docker process: a container's own, or an `exec`'s.
pub(in crate::container) struct DockerProcess {
    pub args: Vec<String>,
    pub cwd: String,
    pub tty: bool,
    pub oom_score_adj: i32,
    /// docker's `--user` and `--group-add`, resolved in the container.
    pub user: String,
    pub group_add: Vec<String>,
    /// `--init`.
    pub init: bool,
}

impl DockerProcess {
    /// The container's own process.
    fn of(cfg: &ContainerConfig) -> DockerProcess {
        let mut args = vec![cfg.path.clone()];
        args.extend(cfg.args.iter().cloned());
        DockerProcess {
            args,
            cwd: cfg.working_dir.clone(),
            tty: cfg.tty,
            oom_score_adj: cfg.oom_score_adj,
            user: cfg.user.clone(),
            group_add: cfg.group_add.clone(),
            init: cfg.init,
        }
    }
}

/// A docker process as a runtime-spec process (command, environment,
/// working dir, terminal, capabilities, rlimits, no_new_privs,
/// oom_score_adj), and rdock's annotations for what it cannot say (see
/// `lower::process_keys`): the user and groups by name, `--init`,
/// docker's rules.
pub(in crate::container) fn process(
    p: &DockerProcess,
    input: ProcessInput,
) -> Result<(Process, Vec<(String, String)>)> {
    let caps: HashSet<Capability> = (0..64)
        .filter(|n| input.caps & (1u64 << n) != 0)
        .filter_map(|n| NAMES.get(n as usize))
        .filter_map(|name| Capability::from_str(name).ok())
        .collect();
    let rlimits = input
        .ulimits
        .iter()
        .map(|u| {
            let typ = PosixRlimitType::from_str(&format!("RLIMIT_{}", u.name.to_uppercase()))
                .map_err(|_| Error::msg(format!("invalid ulimit type: {}", u.name)))?;
            // -1 (unlimited) is RLIM_INFINITY.
            let v = |x: i64| u64::try_from(x).unwrap_or(u64::MAX);
            PosixRlimitBuilder::default()
                .typ(typ)
                .soft(v(u.soft))
                .hard(v(u.hard))
                .build()
                .map_err(spec_err)
        })
        .collect::<Result<Vec<_>>>()?;
    let mut out = Process::default();
    out.set_args(Some(p.args.clone()))
        .set_env(Some(input.env))
        .set_cwd(PathBuf::from(&p.cwd))
        .set_terminal(Some(p.tty))
        .set_user(User::default())
        .set_capabilities(Some(
            LinuxCapabilitiesBuilder::default()
                .bounding(caps.clone())
                .effective(caps.clone())
                .permitted(caps)
                .build()
                .map_err(spec_err)?,
        ))
        .set_rlimits(Some(rlimits))
        .set_no_new_privileges(Some(input.no_new_privs))
        .set_oom_score_adj((p.oom_score_adj != 0).then_some(p.oom_score_adj))
        .set_apparmor_profile(None)
        .set_selinux_label(None);
    let mut a = vec![
        (process_keys::USER.to_string(), p.user.clone()),
        (process_keys::DOCKER_RULES.to_string(), "true".to_string()),
    ];
    if !p.group_add.is_empty() {
        a.push((process_keys::GROUP_ADD.to_string(), p.group_add.join(",")));
    }
    if p.init {
        a.push((process_keys::INIT.to_string(), "true".to_string()));
    }
    Ok((out, a))
}

/// docker's limits as the spec's resources, and its device rules: docker's
/// allowlist, `--device`, `--device-cgroup-rule` (none with
/// `--privileged`: no device restriction). Block devices are named by
/// their numbers, looked up now.
fn resources(cfg: &ContainerConfig) -> Result<LinuxResources> {
    let r = &cfg.resources;
    let some = |v: i64| (v != 0).then_some(v);
    let mut out = LinuxResources::default();
    if r.memory != 0
        || r.memory_reservation != 0
        || r.memory_swap != 0
        || r.oom_kill_disable
        || r.memory_swappiness.is_some_and(|s| s >= 0)
    {
        let mut m = LinuxMemory::default();
        m.set_limit(some(r.memory))
            .set_reservation(some(r.memory_reservation))
            .set_swap(some(r.memory_swap))
            .set_swappiness(r.memory_swappiness.and_then(|s| u64::try_from(s).ok()))
            .set_disable_oom_killer(r.oom_kill_disable.then_some(true));
        out.set_memory(Some(m));
    }
    // --cpus as the quota and period it stands for (100 ms periods).
    let (quota, period) = match r.nano_cpus {
        n if n > 0 => (n.saturating_mul(100_000) / 1_000_000_000, 100_000),
        _ => (r.cpu_quota, r.cpu_period),
    };
    let unsigned = |v: i64| (v != 0).then(|| u64::try_from(v).ok()).flatten();
    if r.cpu_shares != 0
        || quota != 0
        || period != 0
        || r.cpu_rt_period != 0
        || r.cpu_rt_runtime != 0
        || !r.cpuset_cpus.is_empty()
        || !r.cpuset_mems.is_empty()
    {
        let mut c = LinuxCpu::default();
        c.set_shares(unsigned(r.cpu_shares))
            .set_quota(some(quota))
            .set_period(unsigned(period))
            .set_realtime_runtime(some(r.cpu_rt_runtime))
            .set_realtime_period(unsigned(r.cpu_rt_period))
            .set_cpus((!r.cpuset_cpus.is_empty()).then(|| r.cpuset_cpus.clone()))
            .set_mems((!r.cpuset_mems.is_empty()).then(|| r.cpuset_mems.clone()));
        out.set_cpu(Some(c));
    }
    if let Some(p) = r.pids_limit {
        out.set_pids(Some(
            LinuxPidsBuilder::default()
                .limit(p)
                .build()
                .map_err(spec_err)?,
        ));
    }
    out.set_block_io(block_io(r)?);
    let rules = if cfg.privileged {
        Vec::new()
    } else {
        device_rules(cfg)?
    };
    out.set_devices(Some(
        rules
            .iter()
            .map(device_cgroup)
            .collect::<Result<Vec<_>>>()?,
    ));
    Ok(out)
}

fn block_io(r: &Resources) -> Result<Option<LinuxBlockIo>> {
    let numbers = |path: &str, given: Option<(u64, u64)>| -> Result<(i64, i64)> {
        let (maj, min) = given.map_or_else(|| device_numbers(path), Ok)?;
        Ok((
            i64::try_from(maj).unwrap_or(i64::MAX),
            i64::try_from(min).unwrap_or(i64::MAX),
        ))
    };
    let throttle = |list: &[ThrottleDevice]| -> Result<Option<Vec<LinuxThrottleDevice>>> {
        if list.is_empty() {
            return Ok(None);
        }
        list.iter()
            .map(|d| {
                let (major, minor) = numbers(&d.path, d.numbers)?;
                LinuxThrottleDeviceBuilder::default()
                    .major(major)
                    .minor(minor)
                    .rate(d.rate)
                    .build()
                    .map_err(spec_err)
            })
            .collect::<Result<Vec<_>>>()
            .map(Some)
    };
    if r.blkio_weight == 0
        && r.blkio_weight_device.is_empty()
        && [
            &r.device_read_bps,
            &r.device_write_bps,
            &r.device_read_iops,
            &r.device_write_iops,
        ]
        .iter()
        .all(|l| l.is_empty())
    {
        return Ok(None);
    }
    let weights = r
        .blkio_weight_device
        .iter()
        .map(|d| {
            let (major, minor) = numbers(&d.path, d.numbers)?;
            LinuxWeightDeviceBuilder::default()
                .major(major)
                .minor(minor)
                .weight(d.weight)
                .build()
                .map_err(spec_err)
        })
        .collect::<Result<Vec<_>>>()?;
    let mut b = LinuxBlockIo::default();
    b.set_weight((r.blkio_weight != 0).then_some(r.blkio_weight))
        .set_weight_device((!weights.is_empty()).then_some(weights))
        .set_throttle_read_bps_device(throttle(&r.device_read_bps)?)
        .set_throttle_write_bps_device(throttle(&r.device_write_bps)?)
        .set_throttle_read_iops_device(throttle(&r.device_read_iops)?)
        .set_throttle_write_iops_device(throttle(&r.device_write_iops)?);
    Ok(Some(b))
}

/// docker's default allowlist, then `--device` and `--device-cgroup-rule`.
fn device_rules(cfg: &ContainerConfig) -> crate::runtime::Result<Vec<Rule>> {
    let mut rules = devices::default_rules();
    for m in &cfg.devices {
        rules.extend(devices::resolve_mapping(m)?.1);
    }
    for r in &cfg.device_cgroup_rules {
        rules.push(devices::parse_rule(r)?);
    }
    Ok(rules)
}

fn device_cgroup(r: &Rule) -> Result<LinuxDeviceCgroup> {
    let typ = match r.kind {
        'b' => LinuxDeviceType::B,
        'c' => LinuxDeviceType::C,
        _ => LinuxDeviceType::A,
    };
    let mut d = LinuxDeviceCgroupBuilder::default()
        .allow(r.allow)
        .typ(typ)
        .access(r.access.clone())
        .build()
        .map_err(spec_err)?;
    d.set_major(r.major.map(i64::from))
        .set_minor(r.minor.map(i64::from));
    Ok(d)
}

fn id_mappings(maps: &[crate::runtime::userns::IdMap]) -> Result<Vec<LinuxIdMapping>> {
    maps.iter()
        .map(|m| {
            LinuxIdMappingBuilder::default()
                .container_id(m.container)
                .host_id(m.host)
                .size(m.size)
                .build()
                .map_err(spec_err)
        })
        .collect()
}

fn namespaces(cfg: &ContainerConfig, shared: &Shared) -> Result<Vec<LinuxNamespace>> {
    let ns = |typ: LinuxNamespaceType, path: Option<&PathBuf>| {
        let b = LinuxNamespaceBuilder::default().typ(typ);
        match path {
            Some(p) => b.path(p.clone()).build(),
            None => b.build(),
        }
        .map_err(spec_err)
    };
    let mut out = vec![ns(LinuxNamespaceType::Mount, None)?];
    for (typ, src) in [
        (LinuxNamespaceType::Pid, &shared.pid),
        (LinuxNamespaceType::Ipc, &shared.ipc),
    ] {
        match src {
            Source::Private => out.push(ns(typ, None)?),
            Source::Host => {}
            Source::Path(p) => out.push(ns(typ, Some(p))?),
        }
    }
    match (&cfg.network, &shared.net) {
        (NetworkMode::Container(_), Some(p)) => out.push(ns(LinuxNamespaceType::Network, Some(p))?),
        (n, _) if n.own_netns() => out.push(ns(LinuxNamespaceType::Network, None)?),
        _ => {}
    }
    if cfg.uts_mode != "host" {
        out.push(ns(LinuxNamespaceType::Uts, None)?);
    }
    if cfg.private_cgroupns() {
        out.push(ns(LinuxNamespaceType::Cgroup, None)?);
    }
    if cfg.userns_remap.is_some() {
        out.push(ns(LinuxNamespaceType::User, None)?);
    }
    Ok(out)
}

fn mount(dest: &str, typ: &str, source: &Path, options: &[&str]) -> Result<Mount> {
    MountBuilder::default()
        .destination(dest)
        .typ(typ)
        .source(source)
        .options(options.iter().map(|o| o.to_string()).collect::<Vec<_>>())
        .build()
        .map_err(spec_err)
}

/// docker's mounts in docker's order: its defaults (/proc, /dev, /dev/pts,
/// /sys, the cgroups, /dev/mqueue, /dev/shm), the user's parents before
/// children, then the /etc files (on top of a volume on /etc; a user
/// mount on the file itself wins).
fn mounts(cfg: &ContainerConfig, shared: &Shared, remap: Option<(u32, u32)>) -> Result<Vec<Mount>> {
    let owner = remap
        .map(|(u, g)| format!(",uid={u},gid={g}"))
        .unwrap_or_default();
    let dev = format!("mode=755,size=65536k{owner}");
    let ro = |yes: bool| if yes { "ro" } else { "rw" };
    let mut out = vec![
        mount(
            "/proc",
            "proc",
            Path::new("proc"),
            &["nosuid", "noexec", "nodev"],
        )?,
        mount(
            "/dev",
            "tmpfs",
            Path::new("tmpfs"),
            &["nosuid", "strictatime", &dev],
        )?,
        mount(
            "/dev/pts",
            "devpts",
            Path::new("devpts"),
            &[
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5",
            ],
        )?,
        mount(
            "/sys",
            "sysfs",
            Path::new("sysfs"),
            &["nosuid", "noexec", "nodev", ro(!cfg.privileged)],
        )?,
        mount(
            "/sys/fs/cgroup",
            "cgroup",
            Path::new("cgroup"),
            &["nosuid", "noexec", "nodev", "relatime", ro(!cfg.privileged)],
        )?,
        mount(
            "/dev/mqueue",
            "mqueue",
            Path::new("mqueue"),
            &["nosuid", "noexec", "nodev"],
        )?,
    ];
    match &shared.shm {
        Some(src) => out.push(mount("/dev/shm", "bind", src, &["rbind", "rprivate"])?),
        None if cfg.ipc_mode == "none" => {}
        None => {
            let size = match cfg.shm_size.max(0) as u64 {
                0 => 65536,
                n => n.div_ceil(1024),
            };
            let data = format!("mode=1777,size={size}k{owner}");
            out.push(mount(
                "/dev/shm",
                "tmpfs",
                Path::new("shm"),
                &["nosuid", "noexec", "nodev", &data],
            )?);
        }
    }
    let mut user: Vec<&MountSpec> = cfg.mounts.iter().collect();
    user.sort_by_key(|m| m.destination.components().count());
    for m in user {
        out.push(user_mount(m)?);
    }
    // In docker's order (what /proc/self/mountinfo lists).
    for (name, dest) in [
        ("resolv.conf", "/etc/resolv.conf"),
        ("hostname", "/etc/hostname"),
        ("hosts", "/etc/hosts"),
    ] {
        let src = shared.names_dir.join(name);
        if cfg.mounts.iter().any(|m| m.destination == Path::new(dest)) || !src.exists() {
            continue;
        }
        out.push(mount(
            dest,
            "bind",
            &src,
            &["bind", "rprivate", "x-rdock.replace-link"],
        )?);
    }
    Ok(out)
}

/// A `-v`, `--mount` or `--tmpfs` mount.
fn user_mount(m: &MountSpec) -> Result<Mount> {
    let dest = m.destination.to_string_lossy();
    if m.kind == MountKind::Tmpfs {
        let mut o = vec!["nosuid", "nodev", "noexec"];
        o.extend(m.options.iter().map(String::as_str));
        if m.readonly {
            o.push("ro");
        }
        return mount(&dest, "tmpfs", Path::new("tmpfs"), &o);
    }
    let mut o = vec!["rbind"];
    // docker's default propagation for binds and volumes: rprivate.
    let mut propagation: Vec<&str> = m
        .options
        .iter()
        .map(|p| match p.as_str() {
            p @ ("shared" | "rshared" | "slave" | "rslave" | "private") => p,
            _ => "rprivate",
        })
        .collect();
    if propagation.is_empty() {
        propagation.push("rprivate");
    }
    o.extend(propagation);
    if m.readonly {
        // Recursively read-only, as docker 25+ makes `ro` binds.
        o.push("rro");
    }
    if m.kind == MountKind::Volume && m.copy_up {
        o.push("x-rdock.copy-up");
    }
    if m.create_source {
        o.push("x-rdock.create-source");
    }
    mount(&dest, "bind", &m.source, &o)
}

/// As docker: "/" shared when a bind is (its propagation needs a shared
/// parent), slave when one is a slave; else the runtime's default.
fn root_propagation(mounts: &[MountSpec]) -> Option<String> {
    let has = |names: &[&str]| {
        mounts
            .iter()
            .any(|m| m.options.iter().any(|o| names.contains(&o.as_str())))
    };
    if has(&["shared", "rshared"]) {
        Some("rshared".into())
    } else if has(&["slave", "rslave"]) {
        Some("rslave".into())
    } else {
        None
    }
}

/// The nodes to make. Under userns-remap the default ones too, owned by
/// the container's root (its /dev is).
fn devices(nodes: &[Node], remap: Option<(u32, u32)>) -> Result<Vec<LinuxDevice>> {
    let mut all: Vec<Node> = Vec::new();
    if let Some((uid, gid)) = remap {
        all.extend(DEVICES.iter().map(|(name, major, minor)| Node {
            path: format!("/dev/{name}"),
            kind: 'c',
            major: *major as u32,
            minor: *minor as u32,
            mode: 0o666,
            uid,
            gid,
        }));
    }
    all.extend(nodes.iter().cloned());
    all.iter()
        .map(|n| {
            let typ = match n.kind {
                'b' => LinuxDeviceType::B,
                'p' => LinuxDeviceType::P,
                _ => LinuxDeviceType::C,
            };
            LinuxDeviceBuilder::default()
                .path(&n.path)
                .typ(typ)
                .major(i64::from(n.major))
                .minor(i64::from(n.minor))
                .file_mode(n.mode)
                .uid(n.uid)
                .gid(n.gid)
                .build()
                .map_err(spec_err)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::rootfs::{parse_tmpfs, parse_volume};

    fn shared(names_dir: &Path) -> Shared {
        Shared {
            pid: Source::Private,
            ipc: Source::Private,
            net: None,
            shm: None,
            names_dir: names_dir.to_path_buf(),
            devices: Vec::new(),
        }
    }

    fn dests(m: &[Mount]) -> Vec<String> {
        m.iter()
            .map(|m| m.destination().display().to_string())
            .collect()
    }

    #[test]
    fn docker_mounts_in_dockers_order() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["hostname", "hosts", "resolv.conf"] {
            std::fs::write(dir.path().join(f), "x").unwrap();
        }
        let cfg = ContainerConfig {
            mounts: vec![
                parse_volume("/srv/a/b:/data/deep").unwrap(),
                parse_volume("/srv/hosts:/etc/hosts:ro").unwrap(),
                parse_tmpfs("/data:size=1m").unwrap(),
            ],
            ..Default::default()
        };
        let m = mounts(&cfg, &shared(dir.path()), None).unwrap();
        assert_eq!(
            dests(&m),
            [
                "/proc",
                "/dev",
                "/dev/pts",
                "/sys",
                "/sys/fs/cgroup",
                "/dev/mqueue",
                "/dev/shm",
                // the user's, parents first
                "/data",
                "/data/deep",
                "/etc/hosts",
                // the /etc files but the one the user mounted
                "/etc/resolv.conf",
                "/etc/hostname",
            ]
        );
        let opts = |i: usize| m[i].options().clone().unwrap_or_default();
        assert_eq!(opts(7), ["nosuid", "nodev", "noexec", "size=1m"]);
        assert_eq!(
            opts(9),
            ["rbind", "rprivate", "rro", "x-rdock.create-source"]
        );
        assert_eq!(opts(11), ["bind", "rprivate", "x-rdock.replace-link"]);
    }

    #[test]
    fn ipc_and_privileged_variants() {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = ContainerConfig {
            ipc_mode: "none".into(),
            privileged: true,
            ..Default::default()
        };
        let m = mounts(&cfg, &shared(dir.path()), Some((1000, 1000))).unwrap();
        assert!(!dests(&m).contains(&"/dev/shm".to_string()));
        assert!(m[1].options().as_ref().unwrap()[2].ends_with(",uid=1000,gid=1000"));
        assert!(m[3].options().as_ref().unwrap().contains(&"rw".to_string()));
        cfg.ipc_mode = "host".into();
        let mut s = shared(dir.path());
        s.shm = Some("/dev/shm".into());
        let m = mounts(&cfg, &s, None).unwrap();
        let shm = m.iter().find(|m| m.destination() == Path::new("/dev/shm"));
        assert_eq!(shm.unwrap().typ().as_deref(), Some("bind"));
    }

    #[test]
    fn docker_limits_through_the_spec() {
        use crate::runtime::oci::lower::lower_cgroup;
        let mut cfg = ContainerConfig::default();
        cfg.resources.memory = 64 << 20;
        cfg.resources.nano_cpus = 1_500_000_000;
        cfg.resources.pids_limit = Some(50);
        cfg.device_cgroup_rules = vec!["c 42:* rm".into()];
        let mut spec = Spec::default();
        let mut linux = Linux::default();
        linux.set_resources(Some(resources(&cfg).unwrap()));
        spec.set_linux(Some(linux));
        let docker = HashMap::from([(process_keys::DOCKER_RULES.to_string(), "true".into())]);
        spec.set_annotations(Some(docker));
        let (r, rules) = lower_cgroup(&spec).unwrap();
        assert_eq!(r.memory, 64 << 20);
        assert_eq!(
            (r.cpu_quota, r.cpu_period, r.nano_cpus),
            (150_000, 100_000, 0)
        );
        assert_eq!(r.pids_limit, Some(50));
        // docker's list as it is: no rule added to it.
        let mut want = devices::default_rules();
        want.push(devices::parse_rule("c 42:* rm").unwrap());
        assert_eq!(rules, want);
        // --privileged: no device restriction.
        cfg.privileged = true;
        let mut linux = Linux::default();
        linux.set_resources(Some(resources(&cfg).unwrap()));
        spec.set_linux(Some(linux));
        assert!(lower_cgroup(&spec).unwrap().1.is_empty());
    }

    #[test]
    fn root_propagation_as_docker_sets_it() {
        let v = |s: &str| parse_volume(s).unwrap();
        assert_eq!(root_propagation(&[v("/a:/a")]), None);
        assert_eq!(
            root_propagation(&[v("/a:/a:rslave")]).as_deref(),
            Some("rslave")
        );
        assert_eq!(
            root_propagation(&[v("/a:/a:rslave"), v("/b:/b:shared")]).as_deref(),
            Some("rshared")
        );
    }

    #[test]
    fn the_spec_lowers_to_an_overlay_root_with_these_mounts() {
        use crate::runtime::process::InitMode;
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::new(dir.path().join("root"), dir.path().join("run"));
        std::fs::create_dir_all(paths.rootfs_mountpoint()).unwrap();
        let c = Container {
            dir: dir.path().join("c"),
            config: ContainerConfig {
                layers: vec!["a".repeat(64), "b".repeat(64)],
                hostname: "h1".into(),
                path: "sh".into(),
                args: vec!["-c".into(), "x".into()],
                user: "app:staff".into(),
                group_add: vec!["audio".into(), "7".into()],
                init: true,
                uts_mode: String::new(),
                network: NetworkMode::None,
                ..Default::default()
            },
            state: Default::default(),
        };
        let input = ProcessInput {
            env: vec!["A=1".into()],
            caps: crate::runtime::caps::DEFAULT_MASK,
            ulimits: vec![Ulimit {
                name: "nproc".into(),
                soft: 10,
                hard: -1,
            }],
            no_new_privs: true,
            seccomp: None,
        };
        let spec = container_spec(&paths, &c, &shared(&c.dir), input).unwrap();
        let mut held = Vec::new();
        let (init, _) =
            crate::runtime::oci::lower::lower_init(&spec, Path::new("/"), &mut held).unwrap();
        assert!(init.new_netns && init.own_uts);
        // docker's process, as the init took it before the spec.
        assert_eq!(init.argv, ["sh", "-c", "x"]);
        assert_eq!(init.env, ["A=1"]);
        assert_eq!(init.caps, crate::runtime::caps::DEFAULT_MASK);
        assert_eq!(init.user, "app:staff");
        assert_eq!(init.group_add, ["audio", "7"]);
        assert!(init.init && init.no_new_privs && init.extra.cap_sets.is_none());
        assert!(!init.extra.exact_rlimits && init.extra.ids.is_none());
        assert_eq!(init.ulimits.len(), 1);
        assert_eq!((init.ulimits[0].soft, init.ulimits[0].hard), (10, -1));
        let InitMode::Oci {
            rootfs, hostname, ..
        } = &init.mode
        else {
            panic!("not an Oci init");
        };
        assert_eq!(hostname.as_deref(), Some("h1"));
        let o = rootfs.overlay.as_ref().unwrap();
        assert_eq!(o.upper, c.dir.join("upper"));
        assert_eq!(o.lowers, ["l/bbbbbbbbbbbbbbbb", "l/aaaaaaaaaaaaaaaa"]);
        assert_eq!(rootfs.masked.len(), MASKED.len());
        assert_eq!(rootfs.mounts[0].destination, "/proc");
    }
}
