//! An OCI bundle's root filesystem, built by the container's init in its
//! new mount namespace: the bundle's rootfs bound onto itself, the
//! config's mounts in the order listed, the device nodes, pivot_root,
//! sysctls, then masked and read-only paths (runtime-spec config.md and
//! config-linux.md). Every mount point is resolved inside the root with
//! openat2 RESOLVE_IN_ROOT, as for docker's containers (`runtime::rootfs`).

use crate::runtime::devices::Node;
use crate::runtime::rootfs::{
    apply_sysctls, do_mount, fill_volume, fs_ids, make_node, make_node_in, make_readonly,
    mask_paths, mount_cgroups_v1, mount_overlay, open_dir, resolve, resolve_replacing_symlink,
    set_attr, sys, Kind, Overlay, DEVICES, DEV_LINKS,
};
use crate::runtime::{Result, RuntimeError};
use nix::mount::{umount2, MntFlags, MsFlags};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

/// One entry of the config's `mounts`, its options sorted out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OciMount {
    pub destination: String,
    pub source: String,
    pub fstype: String,
    pub flags: MsFlags,
    /// Options the kernel takes as the filesystem's data ("size=65536k").
    pub data: String,
    /// "shared", "rprivate", ...: applied after the mount, in order.
    pub propagation: Vec<MsFlags>,
    /// `bind`/`rbind` (or type "bind").
    pub bind: bool,
    /// Recursive attributes (`rro`, `rnosuid`, ...): set and cleared with
    /// mount_setattr on the mount and everything below it.
    pub rec_set: u64,
    pub rec_clear: u64,
    /// rdock's own options, for docker's containers (`x-rdock.*`, in the
    /// `x-` namespace mount(8) leaves to userspace):
    /// `copy-up`: an empty volume is first filled from the rootfs;
    /// `replace-link`: an image's symlink or dir at the destination is
    /// replaced by a file (the /etc files); `create-source`: a missing
    /// bind source dir is created (`-v`).
    pub copy_up: bool,
    pub replace_link: bool,
    pub create_source: bool,
    /// `idmap`/`ridmap`: bound through this user namespace's mapping (an
    /// fd the parent holds); true: `ridmap`, the submounts too.
    pub idmap: Option<(RawFd, bool)>,
}

impl Default for OciMount {
    fn default() -> Self {
        OciMount {
            destination: String::new(),
            source: String::new(),
            fstype: String::new(),
            flags: MsFlags::empty(),
            data: String::new(),
            propagation: Vec::new(),
            bind: false,
            rec_set: 0,
            rec_clear: 0,
            copy_up: false,
            replace_link: false,
            create_source: false,
            idmap: None,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct OciRootfs {
    /// The bundle's root directory (host path); with `overlay`, the
    /// empty directory the overlay is mounted on.
    pub root: PathBuf,
    pub overlay: Option<Overlay>,
    pub readonly: bool,
    pub mounts: Vec<OciMount>,
    /// `rootfsPropagation`; None: runc's default, rslave.
    pub propagation: Option<MsFlags>,
    /// The config's devices and the default nodes every container has.
    pub devices: Vec<Node>,
    pub masked: Vec<String>,
    pub readonly_paths: Vec<String>,
    pub sysctls: Vec<(String, String)>,
    /// cgroup v1: the container's dirs, bound under a "cgroup" mount.
    pub cgroup_dirs: Vec<PathBuf>,
    /// `--no-pivot`: MS_MOVE and chroot instead of pivot_root.
    pub no_pivot: bool,
    /// createContainer hooks: run here once the mounts are made, before
    /// pivot_root (their paths are the runtime's), with `hook_state`.
    pub create_container: Vec<oci_spec::runtime::Hook>,
    /// The state hooks get on stdin, but for pid and status.
    pub hook_state: Option<serde_json::Value>,
}

/// Parse a mount's options as runc does: flags, propagation, recursive
/// attributes; the rest is the filesystem's data.
pub fn parse_options(fstype: &str, options: &[String]) -> OciMount {
    let mut m = OciMount {
        fstype: fstype.to_string(),
        bind: fstype == "bind",
        ..Default::default()
    };
    let mut data = Vec::new();
    for o in options {
        let (set, clear) = match o.as_str() {
            "ro" => (MsFlags::MS_RDONLY, MsFlags::empty()),
            "rw" => (MsFlags::empty(), MsFlags::MS_RDONLY),
            "nosuid" => (MsFlags::MS_NOSUID, MsFlags::empty()),
            "suid" => (MsFlags::empty(), MsFlags::MS_NOSUID),
            "nodev" => (MsFlags::MS_NODEV, MsFlags::empty()),
            "dev" => (MsFlags::empty(), MsFlags::MS_NODEV),
            "noexec" => (MsFlags::MS_NOEXEC, MsFlags::empty()),
            "exec" => (MsFlags::empty(), MsFlags::MS_NOEXEC),
            "sync" => (MsFlags::MS_SYNCHRONOUS, MsFlags::empty()),
            "async" => (MsFlags::empty(), MsFlags::MS_SYNCHRONOUS),
            "dirsync" => (MsFlags::MS_DIRSYNC, MsFlags::empty()),
            "remount" => (MsFlags::MS_REMOUNT, MsFlags::empty()),
            "mand" => (MsFlags::MS_MANDLOCK, MsFlags::empty()),
            "nomand" => (MsFlags::empty(), MsFlags::MS_MANDLOCK),
            "atime" => (MsFlags::empty(), MsFlags::MS_NOATIME),
            "noatime" => (MsFlags::MS_NOATIME, MsFlags::empty()),
            "diratime" => (MsFlags::empty(), MsFlags::MS_NODIRATIME),
            "nodiratime" => (MsFlags::MS_NODIRATIME, MsFlags::empty()),
            "relatime" => (MsFlags::MS_RELATIME, MsFlags::empty()),
            "norelatime" => (MsFlags::empty(), MsFlags::MS_RELATIME),
            "strictatime" => (MsFlags::MS_STRICTATIME, MsFlags::empty()),
            "nostrictatime" => (MsFlags::empty(), MsFlags::MS_STRICTATIME),
            "bind" => {
                m.bind = true;
                (MsFlags::MS_BIND, MsFlags::empty())
            }
            "rbind" => {
                m.bind = true;
                (MsFlags::MS_BIND | MsFlags::MS_REC, MsFlags::empty())
            }
            "x-rdock.copy-up" => {
                m.copy_up = true;
                continue;
            }
            "x-rdock.replace-link" => {
                m.replace_link = true;
                continue;
            }
            "x-rdock.create-source" => {
                m.create_source = true;
                continue;
            }
            other => {
                if let Some(p) = propagation(other) {
                    m.propagation.push(p);
                } else if let Some((set, clear)) = recursive_attr(other) {
                    m.rec_set |= set;
                    m.rec_clear |= clear;
                    m.rec_set &= !clear;
                } else if !matches!(other, "tmpcopyup" | "idmap" | "ridmap") {
                    // The filesystem's own option (idmap and ridmap are
                    // the caller's: it makes their user namespace).
                    data.push(other.to_string());
                }
                continue;
            }
        };
        m.flags.insert(set);
        m.flags.remove(clear);
    }
    m.data = data.join(",");
    m
}

/// A propagation option's flags.
pub fn propagation(o: &str) -> Option<MsFlags> {
    Some(match o {
        "private" => MsFlags::MS_PRIVATE,
        "rprivate" => MsFlags::MS_PRIVATE | MsFlags::MS_REC,
        "shared" => MsFlags::MS_SHARED,
        "rshared" => MsFlags::MS_SHARED | MsFlags::MS_REC,
        "slave" => MsFlags::MS_SLAVE,
        "rslave" => MsFlags::MS_SLAVE | MsFlags::MS_REC,
        "unbindable" => MsFlags::MS_UNBINDABLE,
        "runbindable" => MsFlags::MS_UNBINDABLE | MsFlags::MS_REC,
        _ => return None,
    })
}

/// `rro`, `rnosuid`, ...: (set, clear) for mount_setattr.
fn recursive_attr(o: &str) -> Option<(u64, u64)> {
    use crate::runtime::rootfs::{
        MOUNT_ATTR_NODEV as NODEV, MOUNT_ATTR_NOEXEC as NOEXEC, MOUNT_ATTR_NOSUID as NOSUID,
        MOUNT_ATTR_RDONLY as RDONLY,
    };
    const NOATIME: u64 = 0x10;
    const STRICTATIME: u64 = 0x20;
    const NODIRATIME: u64 = 0x80;
    Some(match o {
        "rro" => (RDONLY, 0),
        "rrw" => (0, RDONLY),
        "rnosuid" => (NOSUID, 0),
        "rsuid" => (0, NOSUID),
        "rnodev" => (NODEV, 0),
        "rdev" => (0, NODEV),
        "rnoexec" => (NOEXEC, 0),
        "rexec" => (0, NOEXEC),
        "rnodiratime" => (NODIRATIME, 0),
        "rdiratime" => (0, NODIRATIME),
        "rnoatime" => (NOATIME, 0),
        "rstrictatime" => (STRICTATIME, 0),
        _ => return None,
    })
}

/// Runs in the clone child, in its new mount namespace, as root. On return
/// the process is in the new root with the old one detached.
pub fn setup(spec: &OciRootfs) -> Result<()> {
    // runc's default until the root is pivoted: rslave. The config's
    // rootfsPropagation goes on "/" after pivot_root, which refuses a
    // shared parent, and a bind of an unbindable tree fails.
    do_mount(
        None,
        Path::new("/"),
        None,
        MsFlags::MS_SLAVE | MsFlags::MS_REC,
        None,
        "setting the propagation of /",
    )?;
    // pivot_root needs the new root to be a mount point.
    let idmapped = match &spec.overlay {
        Some(o) => mount_overlay(&spec.root, o)?,
        None => {
            do_mount(
                Some(&spec.root),
                &spec.root,
                None,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None,
                "binding the rootfs onto itself",
            )?;
            None
        }
    };
    let root = open_dir(&spec.root)?;
    let mut dev_bound = false;
    for m in &spec.mounts {
        mount_one(&root, spec, m, idmapped.as_ref())?;
        if m.destination == "/dev" && m.bind {
            dev_bound = true;
        }
    }
    if !dev_bound {
        setup_dev(&root, &spec.devices)?;
    }
    if !spec.create_container.is_empty() {
        // The host's /proc is still ours: its "self" is our host pid.
        let pid = std::fs::read_link("/proc/self")
            .ok()
            .and_then(|p| p.to_str().and_then(|s| s.parse().ok()))
            .unwrap_or(0);
        super::hooks::run_init_hooks(
            &spec.create_container,
            spec.hook_state.as_ref(),
            pid,
            "creating",
        )?;
    }
    if spec.readonly {
        do_mount(
            None,
            &spec.root,
            None,
            MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_RDONLY,
            None,
            "remounting the root read-only",
        )?;
    }
    drop(root);
    enter_root(spec)?;
    if let Some(p) = spec.propagation {
        do_mount(
            None,
            Path::new("/"),
            None,
            p,
            None,
            "setting rootfsPropagation",
        )?;
    }
    apply_sysctls(&spec.sysctls)?;
    // runc's order: read-only paths, then masked ones.
    mask_paths(&[], &spec.readonly_paths)?;
    mask_paths(&spec.masked, &[])
}

/// Without a mount namespace of its own (an OCI config without one): no
/// mounts at all, as runc; the process is only rooted in the bundle.
pub fn chroot_only(spec: &OciRootfs) -> Result<()> {
    nix::unistd::chdir(&spec.root).map_err(sys("chdir to the rootfs"))?;
    nix::unistd::chroot(".").map_err(sys("chroot"))?;
    nix::unistd::chdir("/").map_err(sys("chdir /"))
}

fn enter_root(spec: &OciRootfs) -> Result<()> {
    nix::unistd::chdir(&spec.root).map_err(sys("chdir to the rootfs"))?;
    if spec.no_pivot {
        do_mount(
            Some(&spec.root),
            Path::new("/"),
            None,
            MsFlags::MS_MOVE,
            None,
            "moving the rootfs to /",
        )?;
        nix::unistd::chroot(".").map_err(sys("chroot"))?;
    } else {
        nix::unistd::pivot_root(".", ".").map_err(sys("pivot_root"))?;
        umount2(".", MntFlags::MNT_DETACH).map_err(sys("detaching the old root"))?;
    }
    nix::unistd::chdir("/").map_err(sys("chdir /"))
}

/// One mount of the config. `idmapped`: (a host dir, its idmapped view)
/// under userns-remap, where bind sources in that dir are taken from.
fn mount_one(
    root: &OwnedFd,
    spec: &OciRootfs,
    m: &OciMount,
    idmapped: Option<&(PathBuf, PathBuf)>,
) -> Result<()> {
    let dest = m.destination.as_str();
    let what = format!("mounting {} on {dest}", m.fstype);
    if matches!(m.fstype.as_str(), "cgroup" | "cgroup2") {
        return mount_cgroup(root, spec, m);
    }
    if m.bind {
        mount_bind(root, m, idmapped)?;
    } else {
        let target = resolve(root, dest, Kind::Dir)?;
        let data = (!m.data.is_empty()).then_some(m.data.as_str());
        let src = if m.source.is_empty() {
            m.fstype.as_str()
        } else {
            m.source.as_str()
        };
        do_mount(
            Some(Path::new(src)),
            &target.path(),
            Some(&m.fstype),
            m.flags,
            data,
            &what,
        )?;
    }
    if m.propagation.is_empty() && m.rec_set == 0 && m.rec_clear == 0 {
        return Ok(());
    }
    let mounted = resolve(root, dest, Kind::Existing)?;
    for p in &m.propagation {
        do_mount(
            None,
            &mounted.path(),
            None,
            *p,
            None,
            &format!("setting the propagation of {dest}"),
        )?;
    }
    if (m.rec_set != 0 || m.rec_clear != 0)
        && !set_attr(&mounted.path(), m.rec_set, m.rec_clear, true)
    {
        if m.rec_set == crate::runtime::rootfs::MOUNT_ATTR_RDONLY && m.rec_clear == 0 {
            // Before 5.12 (no mount_setattr): read-only as docker then made
            // it, the mount itself (make_readonly's remount).
            return make_readonly(&mounted.path(), true);
        }
        return Err(RuntimeError::Other(format!(
            "recursive mount attributes on {dest}: mount_setattr failed: {}",
            nix::errno::Errno::last()
        )));
    }
    Ok(())
}

/// A bind mount of the config: its source (through the idmapped view
/// where it is in that dir), copy-up, the flags a remount gives it.
fn mount_bind(root: &OwnedFd, m: &OciMount, idmapped: Option<&(PathBuf, PathBuf)>) -> Result<()> {
    let dest = m.destination.as_str();
    let viewed;
    let src = match idmapped {
        Some((dir, view)) if Path::new(&m.source).starts_with(dir) => {
            viewed = view.join(
                Path::new(&m.source)
                    .strip_prefix(dir)
                    .unwrap_or(Path::new("")),
            );
            viewed.as_path()
        }
        _ => Path::new(&m.source),
    };
    let meta = bind_source(src, m)?;
    if m.copy_up {
        fill_volume(root, dest, src)?;
    }
    let target = if m.replace_link {
        resolve_replacing_symlink(root, dest)?
    } else {
        let kind = if meta.is_dir() { Kind::Dir } else { Kind::File };
        resolve(root, dest, kind)?
    };
    let base = MsFlags::MS_BIND | (m.flags & MsFlags::MS_REC);
    let what = format!("bind-mounting {} on {dest}", m.source);
    match m.idmap {
        Some((ns, ridmap)) => crate::runtime::userns::idmapped_bind_at(
            src,
            target.fd.as_raw_fd(),
            ns,
            m.flags.contains(MsFlags::MS_REC),
            ridmap,
        )?,
        None => do_mount(Some(src), &target.path(), None, base, None, &what)?,
    }
    let rest = m.flags & !(MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_REMOUNT);
    if !rest.is_empty() {
        // A bind takes its flags only from a remount.
        let again = resolve(root, dest, Kind::Existing)?;
        do_mount(
            None,
            &again.path(),
            None,
            MsFlags::MS_REMOUNT | MsFlags::MS_BIND | rest,
            None,
            &format!("remounting {dest}"),
        )?;
    }
    Ok(())
}

/// A bind's source, made first if `create-source` asks (as `-v` does).
fn bind_source(src: &Path, m: &OciMount) -> Result<std::fs::Metadata> {
    if m.create_source && !src.exists() {
        std::fs::create_dir_all(src)
            .map_err(|e| RuntimeError::io(format!("creating {}", src.display()), e))?;
    }
    std::fs::metadata(src).map_err(|e| {
        RuntimeError::InvalidArg(format!(
            "invalid mount config for type \"bind\": bind source path does not exist: {} ({e})",
            src.display()
        ))
    })
}

/// A "cgroup" mount: cgroup2 on a unified host; on v1 a tmpfs with the
/// container's directory of each hierarchy, as runc mounts it.
fn mount_cgroup(root: &OwnedFd, spec: &OciRootfs, m: &OciMount) -> Result<()> {
    let ro = m.flags.contains(MsFlags::MS_RDONLY);
    if crate::runtime::cgroups::CgroupMode::detect() == crate::runtime::cgroups::CgroupMode::Unified
    {
        let target = resolve(root, &m.destination, Kind::Dir)?;
        return do_mount(
            Some(Path::new("cgroup2")),
            &target.path(),
            Some("cgroup2"),
            m.flags & !(MsFlags::MS_BIND | MsFlags::MS_REC),
            None,
            "mounting the cgroup2 filesystem",
        );
    }
    resolve(root, &m.destination, Kind::Dir)?;
    mount_cgroups_v1(root, &spec.cgroup_dirs, !ro)
}

/// The default device nodes and the config's, /dev's symlinks and ptmx
/// (where /dev is not bound from the host).
fn setup_dev(root: &OwnedFd, devices: &[Node]) -> Result<()> {
    let dev = resolve(root, "/dev", Kind::Dir)?;
    // In a setgid /dev (a bundle's own) a node takes the dir's group:
    // then every node is chowned.
    let setgid = nix::sys::stat::fstat(dev.fd.as_raw_fd())
        .map(|st| st.st_mode & libc::S_ISGID != 0)
        .unwrap_or(true);
    let creator = if setgid {
        (u32::MAX, u32::MAX)
    } else {
        fs_ids()
    };
    for (name, major, minor) in DEVICES {
        let path = format!("/dev/{name}");
        if devices.iter().any(|d| d.path == path) {
            continue;
        }
        let node = Node {
            path,
            kind: 'c',
            major: *major as u32,
            minor: *minor as u32,
            mode: 0o666,
            uid: 0,
            gid: 0,
        };
        make_node_in(dev.fd.as_raw_fd(), name, &node, creator)?;
    }
    for n in devices {
        make_node(root, n, creator)?;
    }
    let d = dev.fd.as_raw_fd();
    for (name, target) in DEV_LINKS {
        if *name == "ptmx" {
            let _ = nix::unistd::unlinkat(Some(d), *name, nix::unistd::UnlinkatFlags::NoRemoveDir);
        }
        match nix::unistd::symlinkat(*target, Some(d), *name) {
            Ok(()) | Err(nix::errno::Errno::EEXIST) => {}
            Err(e) => return Err(RuntimeError::sys(format!("symlink /dev/{name}"), e)),
        }
    }
    if Path::new("/proc/kcore").exists() {
        let _ = nix::unistd::symlinkat("/proc/kcore", Some(d), "core");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(o: &[&str]) -> Vec<String> {
        o.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn options_as_runc_reads_them() {
        let m = parse_options(
            "tmpfs",
            &opts(&["nosuid", "strictatime", "mode=755", "size=65536k"]),
        );
        assert_eq!(m.flags, MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME);
        assert_eq!(m.data, "mode=755,size=65536k");
        assert!(!m.bind);
        let b = parse_options("none", &opts(&["rbind", "ro", "rprivate", "rnoexec"]));
        assert!(b.bind);
        assert_eq!(
            b.flags,
            MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_RDONLY
        );
        assert_eq!(b.propagation, vec![MsFlags::MS_PRIVATE | MsFlags::MS_REC]);
        assert_eq!(b.rec_set, crate::runtime::rootfs::MOUNT_ATTR_NOEXEC);
        let rw = parse_options("bind", &opts(&["ro", "rw"]));
        assert!(rw.bind);
        assert!(!rw.flags.contains(MsFlags::MS_RDONLY));
    }
}
