//! An OCI runtime-spec config (parsed by the `oci-spec` crate) lowered to
//! what rdock's container init runs: `InitSpec` with an `OciRootfs`, the
//! cgroup's path and resources. What the config asks and rdock cannot do
//! is a clear error here, before anything is created.

use super::cgroup::{cgroup_path, device_rules, resources, v1_files};
use super::rootfs::{parse_options, propagation, OciMount, OciRootfs};
use super::OciError;
use crate::runtime::devices::{Node, Rule};
use crate::runtime::process::{InitMode, InitSpec, NsMode, ProcessExtras};
use crate::runtime::resources::Resources;
use crate::runtime::rlimits::Ulimit;
use crate::runtime::rootfs::{Idmap, Overlay};
use crate::runtime::userns::{IdMap, Remap};
use crate::runtime::{caps, seccomp};
use oci_spec::runtime::{Capabilities, LinuxNamespaceType, Process, Spec};
use serde::Serialize;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

type Result<T> = std::result::Result<T, OciError>;

/// A container's config, lowered.
pub struct Plan {
    pub init: InitSpec,
    /// The cgroup's parent and leaf, relative to each hierarchy's root.
    pub cgroup_parent: String,
    pub cgroup_name: String,
    pub resources: Resources,
    pub device_rules: Vec<Rule>,
    /// cgroup v2 files written as given (`unified`).
    pub unified: Vec<(String, String)>,
    /// cgroup files of controllers rdock has no flags for (net_cls,
    /// net_prio, hugetlb, rdma): written where the host has them,
    /// skipped elsewhere, as runc does.
    pub v1_files: Vec<(String, String)>,
    /// Namespaces joined by path: open until the init is spawned.
    pub held: Vec<OwnedFd>,
    /// Host uid and gid of the container's root (its user namespace's
    /// mapping of 0; 0 without one): what the init's files are owned by.
    pub root_ids: (u32, u32),
}

fn container_root(linux: &oci_spec::runtime::Linux) -> (u32, u32) {
    let of = |m: &Option<Vec<oci_spec::runtime::LinuxIdMapping>>| {
        m.iter()
            .flatten()
            .find(|m| m.container_id() == 0)
            .map_or(0, |m| m.host_id())
    };
    (of(linux.uid_mappings()), of(linux.gid_mappings()))
}

/// Read `config.json` from a bundle.
pub fn load(bundle: &Path) -> Result<Spec> {
    let path = bundle.join("config.json");
    let text = std::fs::read_to_string(&path).map_err(|e| OciError::Io {
        what: format!("reading {}", path.display()),
        source: e,
    })?;
    serde_json::from_str(&text).map_err(|e| OciError::Config(format!("{}: {e}", path.display())))
}

/// The JSON name of a spec enum value ("CAP_KILL", "RLIMIT_NOFILE", "c").
pub fn json_name<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

fn invalid(msg: impl Into<String>) -> OciError {
    OciError::Config(msg.into())
}

/// Lower a container's config. `bundle` is absolute.
pub fn lower(spec: &Spec, bundle: &Path, id: &str) -> Result<Plan> {
    let linux = spec
        .linux()
        .as_ref()
        .ok_or_else(|| invalid("linux: the config has no linux section"))?;
    // A bundle's config may come from a less trusted hand than the
    // runtime's caller (a pod's annotations, where a CRI runtime passes
    // them on): rdock's annotations, which name host directories to mount
    // and write, are for rdock's own containers only.
    if let Some(key) = spec
        .annotations()
        .iter()
        .flatten()
        .map(|(k, _)| k)
        .find(|k| k.starts_with(RDOCK_PREFIX))
    {
        return Err(OciError::Unsupported(format!(
            "annotation {key}: reserved for rdock's own containers"
        )));
    }
    // So are its mount options (they copy into and create host paths).
    if let Some(o) = spec
        .mounts()
        .iter()
        .flatten()
        .flat_map(|m| m.options().iter().flatten())
        .find(|o| o.starts_with(RDOCK_OPTION_PREFIX))
    {
        return Err(OciError::Unsupported(format!(
            "mount option {o}: reserved for rdock's own containers"
        )));
    }
    let mut held = Vec::new();
    let (init, root_ids) = lower_init(spec, bundle, &mut held)?;
    let (cgroup_parent, cgroup_name) = cgroup_path(linux.cgroups_path().as_deref(), id)?;
    let res = linux.resources().as_ref();
    Ok(Plan {
        init,
        cgroup_parent,
        cgroup_name,
        resources: res.map(resources).transpose()?.unwrap_or_default(),
        device_rules: res
            .map(|r| device_rules(r, linux, false))
            .unwrap_or_default(),
        v1_files: res.map(v1_files).transpose()?.unwrap_or_default(),
        unified: res
            .and_then(|r| r.unified().as_ref())
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
        held,
        root_ids,
    })
}

/// A config's init: its process, namespaces and rootfs, seccomp and
/// personality (everything but the cgroup), for a bundle and for
/// docker's containers alike. Namespaces joined by path and a new user
/// namespace are opened into `held`, to keep until the init is spawned.
/// Returns the init and the host uid and gid of the container's root.
pub fn lower_init(
    spec: &Spec,
    bundle: &Path,
    held: &mut Vec<OwnedFd>,
) -> Result<(InitSpec, (u32, u32))> {
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| invalid("process: the config has no process to run"))?;
    let linux = spec
        .linux()
        .as_ref()
        .ok_or_else(|| invalid("linux: the config has no linux section"))?;
    let mut init = process_init(process, spec.annotations().as_ref())?;
    let root_ids = lower_container(spec, bundle, &mut init, held)?;
    if let Some(s) = linux.seccomp() {
        init.seccomp = seccomp_program(s, init.caps)?;
    }
    if let Some(p) = linux.personality() {
        init.extra.personality = match json_name(&p.domain()).as_str() {
            "LINUX32" => Some(0x0008),
            _ => Some(0),
        };
    }
    Ok((init, root_ids))
}

/// A config's cgroup limits: its resources and device rules (none: no
/// device restriction). With docker's rules (`process_keys::
/// DOCKER_RULES`) the device rules are docker's list as given.
pub fn lower_cgroup(spec: &Spec) -> Result<(Resources, Vec<Rule>)> {
    let Some(linux) = spec.linux() else {
        return Ok((Resources::default(), Vec::new()));
    };
    let Some(r) = linux.resources() else {
        return Ok((Resources::default(), Vec::new()));
    };
    let docker = spec
        .annotations()
        .as_ref()
        .and_then(|a| a.get(process_keys::DOCKER_RULES))
        .is_some_and(|v| v == "true");
    Ok((resources(r)?, device_rules(r, linux, docker)))
}

/// Every annotation of rdock's own begins so.
pub const RDOCK_PREFIX: &str = "org.rdock.";
/// And every mount option of rdock's own.
pub const RDOCK_OPTION_PREFIX: &str = "x-rdock.";

/// rdock's annotations for what docker's process needs and a
/// runtime-spec process cannot say.
pub mod process_keys {
    /// docker's `--user` (name or id, with `:group`), resolved in the
    /// container's own /etc/passwd and /etc/group once its rootfs is up;
    /// the config's numeric ids are then not used.
    pub const USER: &str = "org.rdock.process.user";
    /// `--group-add`: names or ids, comma-separated, resolved so too.
    pub const GROUP_ADD: &str = "org.rdock.process.group-add";
    /// `--init`: the init stays as PID 1 (forwarding signals, reaping)
    /// and runs the program as its child.
    pub const INIT: &str = "org.rdock.process.init";
    /// docker's rules for the process: the capabilities are the bounding
    /// set, effective and permitted for root only (and only those rdock
    /// has); a container's nofile limit is docker's unless given; umask
    /// 022.
    pub const DOCKER_RULES: &str = "org.rdock.process.docker-rules";
}

/// A config's process (or an `exec`'s), with rdock's process annotations
/// where they are given.
pub fn process_init(
    p: &Process,
    annotations: Option<&std::collections::HashMap<String, String>>,
) -> Result<InitSpec> {
    let mut init = process_spec(p)?;
    if let Some(a) = annotations {
        docker_process(a, &mut init);
    }
    Ok(init)
}

fn docker_process(a: &std::collections::HashMap<String, String>, init: &mut InitSpec) {
    use process_keys::*;
    if let Some(u) = a.get(USER) {
        init.user = u.clone();
        init.extra.ids = None;
    }
    if let Some(g) = a.get(GROUP_ADD) {
        init.group_add = g
            .split(',')
            .filter(|g| !g.is_empty())
            .map(str::to_string)
            .collect();
    }
    init.init = a.get(INIT).is_some_and(|v| v == "true");
    if a.get(DOCKER_RULES).is_some_and(|v| v == "true") {
        init.extra.cap_sets = None;
        init.extra.exact_rlimits = false;
    }
}

/// The container half of a config (root, mounts, devices, namespaces,
/// names), the same for an OCI bundle and for docker's containers, put
/// into `init`: its namespaces, and its mode, `InitMode::Oci` with the
/// rootfs to build. Namespaces joined by path are opened into `held`.
/// Returns the host uid and gid of the container's root.
pub fn lower_container(
    spec: &Spec,
    bundle: &Path,
    init: &mut InitSpec,
    held: &mut Vec<OwnedFd>,
) -> Result<(u32, u32)> {
    let root = spec
        .root()
        .as_ref()
        .ok_or_else(|| invalid("root: the config has no root"))?;
    let linux = spec
        .linux()
        .as_ref()
        .ok_or_else(|| invalid("linux: the config has no linux section"))?;
    let root_path = if root.path().is_absolute() {
        root.path().clone()
    } else {
        bundle.join(root.path())
    };
    if !root_path.is_dir() {
        return Err(invalid(format!(
            "rootfs ({}) does not exist",
            root_path.display()
        )));
    }
    let ns = namespaces(linux.namespaces().as_deref().unwrap_or(&[]), held)?;
    init.pid_ns = ns.pid;
    init.ipc_ns = ns.ipc;
    init.new_netns = ns.new_net;
    init.join_netns = ns.join_net;
    init.own_uts = ns.new_uts;
    init.private_cgroupns = ns.new_cgroup;
    init.extra.join = ns.join.clone();
    init.extra.host_mount_ns = !ns.new_mount;
    init.extra.time_offsets = time_offsets(linux, ns.new_time)?;
    init.userns = user_namespace(linux, ns.user, held)?;
    let root_ids = container_root(linux);
    let own_uts = ns.new_uts || ns.join.iter().any(|(_, t)| *t == libc::CLONE_NEWUTS);
    if spec.hostname().as_ref().is_some_and(|h| !h.is_empty()) && !own_uts {
        return Err(invalid(
            "unable to set hostname without a private UTS namespace",
        ));
    }
    let overlay = overlay(spec, init.userns, root_ids)?;
    let rootfs = OciRootfs {
        root: root_path,
        overlay,
        readonly: root.readonly().unwrap_or(false),
        mounts: mounts(spec, held)?,
        propagation: match linux.rootfs_propagation().as_deref() {
            None | Some("") => None,
            Some(p) => Some(
                propagation(p)
                    .ok_or_else(|| invalid(format!("rootfsPropagation: unknown value {p:?}")))?,
            ),
        },
        devices: devices(linux)?,
        masked: linux.masked_paths().clone().unwrap_or_default(),
        readonly_paths: linux.readonly_paths().clone().unwrap_or_default(),
        sysctls: linux
            .sysctl()
            .as_ref()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
        cgroup_dirs: Vec::new(),
        no_pivot: false,
        create_container: Vec::new(),
        hook_state: None,
    };
    init.mode = InitMode::Oci {
        rootfs: Box::new(rootfs),
        hostname: spec.hostname().clone().filter(|_| own_uts),
        domainname: spec.domainname().clone().filter(|_| own_uts),
    };
    Ok(root_ids)
}

/// A new time namespace's /proc/self/timens_offsets lines.
fn time_offsets(linux: &oci_spec::runtime::Linux, new_time: bool) -> Result<Option<String>> {
    let given = linux.time_offsets().as_ref();
    if !new_time {
        if given.is_some_and(|m| !m.is_empty()) {
            return Err(invalid("timeOffsets given without a time namespace"));
        }
        return Ok(None);
    }
    Ok(Some(
        given
            .map(|m| {
                m.iter()
                    .map(|(clock, o)| {
                        format!(
                            "{clock} {} {}\n",
                            o.secs().unwrap_or(0),
                            o.nanosecs().unwrap_or(0)
                        )
                    })
                    .collect::<String>()
            })
            .unwrap_or_default(),
    ))
}

/// rdock's annotations for a root that is an overlay of image layers,
/// mounted by the init (docker's containers; see `docs/oci-runtime.md`).
pub mod overlay_keys {
    /// The layer store's dir; the lowers are relative to it.
    pub const LAYERS: &str = "org.rdock.rootfs.layers";
    /// Lower layers, topmost first, ':'-separated (empty: none).
    pub const LOWERS: &str = "org.rdock.rootfs.lowers";
    pub const UPPER: &str = "org.rdock.rootfs.upper";
    pub const WORK: &str = "org.rdock.rootfs.work";
    /// With a user namespace: the dir seen through its mapping (the
    /// container's, holding upper/, work/ and the /etc files).
    pub const IDMAP: &str = "org.rdock.rootfs.idmap";
}

fn overlay(spec: &Spec, userns: Option<i32>, ids: (u32, u32)) -> Result<Option<Overlay>> {
    use overlay_keys::*;
    let Some(a) = spec.annotations().as_ref() else {
        return Ok(None);
    };
    let (Some(upper), Some(work)) = (a.get(UPPER), a.get(WORK)) else {
        return Ok(None);
    };
    let lowers = a.get(LOWERS).map(String::as_str).unwrap_or("");
    let idmap = match (a.get(IDMAP), userns) {
        (None, _) => None,
        (Some(dir), Some(ns)) => Some(Idmap {
            dir: PathBuf::from(dir),
            ns,
            uid: ids.0,
            gid: ids.1,
        }),
        (Some(_), None) => return Err(invalid(format!("{IDMAP} given without a user namespace"))),
    };
    Ok(Some(Overlay {
        layers_dir: PathBuf::from(a.get(LAYERS).map(String::as_str).unwrap_or("/")),
        lowers: lowers
            .split(':')
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect(),
        upper: PathBuf::from(upper),
        work: PathBuf::from(work),
        idmap,
    }))
}

pub fn process_spec(p: &Process) -> Result<InitSpec> {
    let args = p.args().clone().unwrap_or_default();
    if args.is_empty() {
        return Err(invalid("args must not be empty"));
    }
    let user = p.user();
    let (bounding, sets) = cap_sets(p)?;
    let mut ulimits = Vec::new();
    for r in p.rlimits().iter().flatten() {
        let name = json_name(&r.typ());
        let short = name.strip_prefix("RLIMIT_").unwrap_or(&name).to_lowercase();
        ulimits.push(Ulimit {
            name: short,
            soft: i64::try_from(r.soft()).unwrap_or(-1),
            hard: i64::try_from(r.hard()).unwrap_or(-1),
        });
    }
    Ok(InitSpec {
        mode: InitMode::Join {
            namespaces: Vec::new(),
            pid_ns: -1,
        },
        argv: args,
        env: p.env().clone().unwrap_or_default(),
        cwd: p.cwd().to_string_lossy().into_owned(),
        user: String::new(),
        caps: bounding,
        init: false,
        ulimits,
        tty: p.terminal().unwrap_or(false),
        stdin_open: true,
        new_netns: false,
        private_cgroupns: false,
        join_netns: None,
        pid_ns: NsMode::Private,
        ipc_ns: NsMode::Private,
        own_uts: false,
        group_add: Vec::new(),
        oom_score_adj: p.oom_score_adj().unwrap_or(0),
        userns: None,
        stdio: None,
        seccomp: None,
        no_new_privs: p.no_new_privileges().unwrap_or(false),
        extra: ProcessExtras {
            cap_sets: Some(sets),
            ids: Some((
                user.uid(),
                user.gid(),
                user.additional_gids().clone().unwrap_or_default(),
            )),
            umask: user.umask(),
            exact_rlimits: true,
            ..Default::default()
        },
    })
}

fn cap_mask(set: &Option<Capabilities>) -> Result<u64> {
    let mut m = 0u64;
    for c in set.iter().flatten() {
        let name = json_name(c);
        let n =
            caps::by_name(&name).ok_or_else(|| invalid(format!("unknown capability {name:?}")))?;
        if n < 64 {
            m |= 1 << n;
        }
    }
    Ok(m)
}

fn cap_sets(p: &Process) -> Result<(u64, caps::Sets)> {
    let Some(c) = p.capabilities() else {
        return Ok((0, caps::Sets::default()));
    };
    Ok((
        cap_mask(c.bounding())?,
        caps::Sets {
            effective: cap_mask(c.effective())?,
            permitted: cap_mask(c.permitted())?,
            inheritable: cap_mask(c.inheritable())?,
            ambient: cap_mask(c.ambient())?,
        },
    ))
}

/// Where the process's user namespace comes from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum UserNs {
    Host,
    New,
    /// An fd in `held`.
    Join(i32),
}

/// The user namespace the init enters last: a new one with the config's
/// mappings (made now, held by an fd), or one joined by path.
fn user_namespace(
    linux: &oci_spec::runtime::Linux,
    user: UserNs,
    held: &mut Vec<OwnedFd>,
) -> Result<Option<i32>> {
    let (uids, gids) = (id_maps(linux.uid_mappings()), id_maps(linux.gid_mappings()));
    match user {
        UserNs::Host if !uids.is_empty() || !gids.is_empty() => Err(invalid(
            "uidMappings/gidMappings given without a user namespace",
        )),
        UserNs::Host => Ok(None),
        UserNs::Join(fd) => Ok(Some(fd)),
        UserNs::New if uids.is_empty() || gids.is_empty() => Err(invalid(
            "a new user namespace needs uidMappings and gidMappings",
        )),
        UserNs::New => {
            let fd = Remap { uids, gids }.create_ns()?;
            let raw = fd.as_raw_fd();
            held.push(fd);
            Ok(Some(raw))
        }
    }
}

struct Namespaces {
    new_mount: bool,
    new_time: bool,
    user: UserNs,
    pid: NsMode,
    ipc: NsMode,
    new_net: bool,
    join_net: Option<i32>,
    new_uts: bool,
    new_cgroup: bool,
    join: Vec<(i32, libc::c_int)>,
}

fn open_ns(path: &Path, held: &mut Vec<OwnedFd>) -> Result<i32> {
    let f = std::fs::File::open(path).map_err(|e| OciError::Io {
        what: format!("opening namespace {}", path.display()),
        source: e,
    })?;
    let fd = OwnedFd::from(f);
    let raw = fd.as_raw_fd();
    held.push(fd);
    Ok(raw)
}

fn namespaces(
    list: &[oci_spec::runtime::LinuxNamespace],
    held: &mut Vec<OwnedFd>,
) -> Result<Namespaces> {
    let mut ns = Namespaces {
        new_mount: false,
        new_time: false,
        user: UserNs::Host,
        pid: NsMode::Host,
        ipc: NsMode::Host,
        new_net: false,
        join_net: None,
        new_uts: false,
        new_cgroup: false,
        join: Vec::new(),
    };
    for n in list {
        let path = n.path().as_ref().filter(|p| !p.as_os_str().is_empty());
        match (n.typ(), path) {
            (LinuxNamespaceType::Mount, None) => ns.new_mount = true,
            // As runc: joined first, then the rootfs set up in it.
            (LinuxNamespaceType::Mount, Some(p)) => {
                ns.new_mount = true;
                ns.join.push((open_ns(p, held)?, libc::CLONE_NEWNS));
            }
            (LinuxNamespaceType::Pid, None) => ns.pid = NsMode::Private,
            (LinuxNamespaceType::Pid, Some(p)) => ns.pid = NsMode::Join(open_ns(p, held)?),
            (LinuxNamespaceType::Ipc, None) => ns.ipc = NsMode::Private,
            (LinuxNamespaceType::Ipc, Some(p)) => ns.ipc = NsMode::Join(open_ns(p, held)?),
            (LinuxNamespaceType::Network, None) => ns.new_net = true,
            (LinuxNamespaceType::Network, Some(p)) => ns.join_net = Some(open_ns(p, held)?),
            (LinuxNamespaceType::Uts, None) => ns.new_uts = true,
            (LinuxNamespaceType::Uts, Some(p)) => {
                ns.join.push((open_ns(p, held)?, libc::CLONE_NEWUTS))
            }
            (LinuxNamespaceType::Cgroup, None) => ns.new_cgroup = true,
            (LinuxNamespaceType::Cgroup, Some(p)) => {
                ns.join.push((open_ns(p, held)?, libc::CLONE_NEWCGROUP))
            }
            (LinuxNamespaceType::User, None) => ns.user = UserNs::New,
            (LinuxNamespaceType::User, Some(p)) => ns.user = UserNs::Join(open_ns(p, held)?),
            (LinuxNamespaceType::Time, None) => ns.new_time = true,
            (LinuxNamespaceType::Time, Some(p)) => {
                ns.join.push((open_ns(p, held)?, libc::CLONE_NEWTIME))
            }
        }
    }
    Ok(ns)
}

fn mounts(spec: &Spec, held: &mut Vec<OwnedFd>) -> Result<Vec<OciMount>> {
    let linux = spec.linux().as_ref();
    let mut out = Vec::new();
    for m in spec.mounts().iter().flatten() {
        let dest = m.destination().to_string_lossy().into_owned();
        if !dest.starts_with('/') {
            return Err(invalid(format!(
                "mount destination {dest:?} is not absolute"
            )));
        }
        let opts = m.options().clone().unwrap_or_default();
        let mut om = parse_options(m.typ().as_deref().unwrap_or(""), &opts);
        om.idmap = idmap(m, &opts, &dest, om.bind, linux, held)?;
        om.destination = crate::util::path::clean_abs(&dest);
        om.source = m
            .source()
            .as_ref()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        out.push(om);
    }
    Ok(out)
}

/// An `idmap`/`ridmap` mount's user namespace (made now, held), with the
/// mount's mappings, else the container's; true for `ridmap`.
fn idmap(
    m: &oci_spec::runtime::Mount,
    opts: &[String],
    dest: &str,
    bind: bool,
    linux: Option<&oci_spec::runtime::Linux>,
    held: &mut Vec<OwnedFd>,
) -> Result<Option<(i32, bool)>> {
    let ridmap = opts.iter().any(|o| o == "ridmap");
    let wanted = ridmap || opts.iter().any(|o| o == "idmap");
    let own = m.uid_mappings().is_some() || m.gid_mappings().is_some();
    if !wanted {
        return match own {
            true => Err(invalid(format!(
                "mount on {dest}: uidMappings/gidMappings without the idmap or ridmap option"
            ))),
            false => Ok(None),
        };
    }
    if !bind {
        return Err(OciError::Unsupported(format!(
            "idmapped mount on {dest}: only bind mounts can be idmapped by rdock-runtime"
        )));
    }
    let (uids, gids) = if own {
        (id_maps(m.uid_mappings()), id_maps(m.gid_mappings()))
    } else {
        let l = linux.ok_or_else(|| invalid("linux: the config has no linux section"))?;
        (id_maps(l.uid_mappings()), id_maps(l.gid_mappings()))
    };
    if uids.is_empty() || gids.is_empty() {
        return Err(invalid(format!(
            "idmapped mount on {dest}: no uidMappings and gidMappings, neither its own nor the container's"
        )));
    }
    let fd = Remap { uids, gids }.create_ns()?;
    let raw = fd.as_raw_fd();
    held.push(fd);
    Ok(Some((raw, ridmap)))
}

fn id_maps(m: &Option<Vec<oci_spec::runtime::LinuxIdMapping>>) -> Vec<IdMap> {
    m.iter()
        .flatten()
        .map(|m| IdMap {
            container: m.container_id(),
            host: m.host_id(),
            size: m.size(),
        })
        .collect()
}

fn devices(linux: &oci_spec::runtime::Linux) -> Result<Vec<Node>> {
    let mut out = Vec::new();
    for d in linux.devices().iter().flatten() {
        let kind = match json_name(&d.typ()).as_str() {
            "b" => 'b',
            "c" | "u" => 'c',
            "p" => 'p',
            other => return Err(invalid(format!("device type {other:?} cannot be created"))),
        };
        let num = |v: i64, what: &str| {
            u32::try_from(v).map_err(|_| invalid(format!("device {what} number {v}")))
        };
        out.push(Node {
            path: crate::util::path::clean_abs(&d.path().to_string_lossy()),
            kind,
            major: num(d.major(), "major")?,
            minor: num(d.minor(), "minor")?,
            mode: d.file_mode().unwrap_or(0o666),
            uid: d.uid().unwrap_or(0),
            gid: d.gid().unwrap_or(0),
        });
    }
    Ok(out)
}

/// The config's seccomp section compiled (docker's profile format but for
/// includes/excludes, which it lacks).
pub fn seccomp_program(
    s: &oci_spec::runtime::LinuxSeccomp,
    bounding: u64,
) -> Result<Option<seccomp::Program>> {
    if seccomp::spec::wants_notify(s) {
        return Err(OciError::Unsupported(
            "seccomp: SCMP_ACT_NOTIFY (a seccomp agent) is not supported".into(),
        ));
    }
    seccomp::compile(&seccomp::spec::from_spec(s), &seccomp::context(bounding))
        .map(Some)
        .map_err(|e| invalid(format!("seccomp: {e}")))
}

/// Host path of a bundle given on the command line (absolute).
pub fn bundle_path(arg: Option<&str>) -> Result<PathBuf> {
    let p = PathBuf::from(arg.unwrap_or("."));
    std::path::absolute(&p).map_err(|e| OciError::Io {
        what: format!("bundle {}", p.display()),
        source: e,
    })
}

/// `spec`'s starting config: the crate's default (runc's), named ours.
pub fn default_spec() -> Spec {
    let mut s = Spec::default();
    s.set_hostname(Some("rdock".into()));
    // As runc's: an interactive shell on a terminal.
    if let Some(p) = s.process_mut() {
        p.set_terminal(Some(true));
    }
    s
}

/// `features`: what this runtime understands (runtime-spec features.md).
pub fn features() -> serde_json::Value {
    let caps: Vec<String> = caps::NAMES.iter().map(|n| format!("CAP_{n}")).collect();
    let mount_options: Vec<&str> = vec![
        "async",
        "atime",
        "bind",
        "defaults",
        "dev",
        "diratime",
        "dirsync",
        "exec",
        "idmap",
        "mand",
        "noatime",
        "nodev",
        "nodiratime",
        "noexec",
        "nomand",
        "norelatime",
        "nostrictatime",
        "nosuid",
        "private",
        "rbind",
        "rdev",
        "rdiratime",
        "relatime",
        "remount",
        "ridmap",
        "rexec",
        "rnoatime",
        "rnodev",
        "rnodiratime",
        "rnoexec",
        "rnosuid",
        "ro",
        "rprivate",
        "rro",
        "rrw",
        "rshared",
        "rslave",
        "rstrictatime",
        "rsuid",
        "runbindable",
        "rw",
        "shared",
        "slave",
        "strictatime",
        "suid",
        "sync",
        "tmpcopyup",
        "unbindable",
    ];
    serde_json::json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": super::state::OCI_VERSION,
        "hooks": ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
        "mountOptions": mount_options,
        "linux": {
            "namespaces": ["cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"],
            "capabilities": caps,
            "cgroup": {"v1": true, "v2": true, "systemd": false, "systemdUser": false},
            "seccomp": {
                "enabled": true,
                "actions": ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL",
                    "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG",
                    "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"],
                "operators": ["SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE",
                    "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"],
                "archs": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32",
                    "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
            },
            "apparmor": {"enabled": false},
            "selinux": {"enabled": false},
            "mountExtensions": {"idmap": {"enabled": true}},
        },
        "annotations": {"io.github.rdock.runtime": "rdock-runtime"},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_default_spec_lowers() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("rootfs")).unwrap();
        let spec = Spec::default();
        let plan = lower(&spec, dir.path(), "c1").unwrap();
        assert_eq!(plan.init.argv, vec!["sh".to_string()]);
        assert!(plan.init.own_uts);
        assert!(plan.init.new_netns);
        assert_eq!(plan.init.pid_ns, NsMode::Private);
        let InitMode::Oci {
            rootfs, hostname, ..
        } = &plan.init.mode
        else {
            panic!("not an OCI init");
        };
        assert!(rootfs.readonly);
        assert!(rootfs.mounts.iter().any(|m| m.destination == "/dev/pts"));
        assert_eq!(hostname.as_deref(), Some("youki"));
        let sets = plan.init.extra.cap_sets.unwrap();
        assert_eq!(
            sets.effective,
            1 << caps::by_name("KILL").unwrap()
                | 1 << caps::by_name("AUDIT_WRITE").unwrap()
                | 1 << caps::by_name("NET_BIND_SERVICE").unwrap()
        );
    }
}
