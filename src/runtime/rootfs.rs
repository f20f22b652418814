//! The container's filesystem, built inside its new mount namespace by the
//! container's init (the clone child): overlay rootfs, /proc, /sys, /dev,
//! user mounts, /etc files, pivot_root, then masked and read-only paths.
//!
//! Every mount point inside the rootfs is resolved with openat2
//! RESOLVE_IN_ROOT and mounted on through /proc/self/fd, so a symlink in
//! the image (`/proc -> /etc`, `/data -> /`) can never redirect a mount
//! outside the container's root.

use super::mountspec::TMPFS_FLAGS;
pub use super::mountspec::{parse_mount, parse_tmpfs, parse_volume, MountKind, MountSpec};
use super::{Result, RuntimeError};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::stat::{Mode, SFlag};
use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

#[derive(Debug, Clone)]
pub struct RootfsSpec {
    /// Directory that holds the short layer links; the init chdirs here so
    /// `lowers` can be short relative paths and 100+ layers fit in overlay's
    /// one-page option string.
    pub layers_dir: PathBuf,
    /// Lower layers relative to `layers_dir` (e.g. "l/ABCDEF"), topmost first.
    /// May be empty (an image without layers).
    pub lowers: Vec<String>,
    pub upper: PathBuf,
    pub work: PathBuf,
    /// Existing empty directory where the overlay is mounted, then pivoted into.
    pub target: PathBuf,
    pub readonly: bool,
    pub mounts: Vec<MountSpec>,
    /// Files bind-mounted over /etc/hostname, /etc/hosts, /etc/resolv.conf.
    pub hostname_file: Option<PathBuf>,
    pub hosts_file: Option<PathBuf>,
    pub resolv_file: Option<PathBuf>,
    /// --privileged: no masked or read-only paths, /sys read-write.
    pub privileged: bool,
    /// `--security-opt systempaths=unconfined`: no masked or read-only paths.
    pub unmask: bool,
    /// The init has its own network namespace (not --network host).
    pub new_netns: bool,
    /// `--shm-size` in bytes; 0 = docker's 64 MiB.
    pub shm_size: u64,
    /// `--device` nodes (all host devices with --privileged).
    pub devices: Vec<super::devices::Node>,
    /// `--sysctl`s, written while /proc/sys is still writable.
    pub sysctls: Vec<(String, String)>,
    /// `--ipc none`: no /dev/shm.
    pub ipc_none: bool,
    /// `--ipc host` / `container:X`: that /dev/shm, bound instead of a new
    /// tmpfs (POSIX shared memory lives there, not in the IPC namespace).
    pub shm_bind: Option<PathBuf>,
    /// userns-remap: the user namespace (an fd the parent holds) whose
    /// mapping the layers and the container's dir are seen through, that
    /// dir (parent of upper/, work/ and the /etc files), and the host uid
    /// and gid of the container's root.
    pub idmap: Option<(RawFd, PathBuf, u32, u32)>,
    /// cgroup v1: the container's directory in each v1 hierarchy (host
    /// paths), bound at /sys/fs/cgroup/<hierarchy> as runc does.
    pub cgroup_dirs: Vec<PathBuf>,
}

/// docker's default masked paths (oci/defaults.go): hidden from the container.
pub(crate) const MASKED: &[&str] = &[
    "/proc/asound",
    "/proc/acpi",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// docker's default read-only paths.
pub(crate) const READONLY: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// Device nodes every container gets: (name, major, minor).
pub(crate) const DEVICES: &[(&str, u64, u64)] = &[
    ("null", 1, 3),
    ("zero", 1, 5),
    ("full", 1, 7),
    ("random", 1, 8),
    ("urandom", 1, 9),
    ("tty", 5, 0),
];

pub(crate) const DEV_LINKS: &[(&str, &str)] = &[
    ("fd", "/proc/self/fd"),
    ("stdin", "/proc/self/fd/0"),
    ("stdout", "/proc/self/fd/1"),
    ("stderr", "/proc/self/fd/2"),
    ("ptmx", "pts/ptmx"),
];

pub(crate) fn sys(what: impl Into<String>) -> impl FnOnce(nix::Error) -> RuntimeError {
    let what = what.into();
    move |e| RuntimeError::sys(what, e)
}

pub(crate) fn do_mount(
    src: Option<&Path>,
    target: &Path,
    fstype: Option<&str>,
    flags: MsFlags,
    data: Option<&str>,
    what: &str,
) -> Result<()> {
    mount(src, target, fstype, flags, data).map_err(sys(what.to_string()))
}

/// Runs in the clone child, in its new mount namespace, as root. On return
/// the process is in the new root ("/") with the old root detached.
pub fn setup(spec: &RootfsSpec) -> Result<()> {
    // Nothing we mount may propagate back to the host.
    do_mount(
        None,
        Path::new("/"),
        None,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None,
        "making / private",
    )?;
    let remapped;
    let spec = match &spec.idmap {
        Some((ns, dir, uid, gid)) => {
            remapped = idmapped_spec(spec, *ns, dir)?;
            // Through the idmapped upper only the mapped root's ids can be
            // written: overlayfs's own work (work/work, copy-up, done with
            // its mounter's credentials) and every file this setup makes in
            // the rootfs happen as that fsuid, all capabilities kept. The
            // user switch before exec sets the fsuid again.
            nix::unistd::setfsgid((*gid).into());
            nix::unistd::setfsuid((*uid).into());
            super::caps::raise_effective()?;
            mount_root(&remapped)?;
            &remapped
        }
        None => {
            mount_root(spec)?;
            spec
        }
    };
    let root = open_dir(&spec.target)?;

    let common = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    let proc = resolve(&root, "/proc", Kind::Dir)?;
    do_mount(
        Some(Path::new("proc")),
        &proc.path(),
        Some("proc"),
        common,
        None,
        "mounting /proc",
    )?;

    let sys_dir = resolve(&root, "/sys", Kind::Dir)?;
    let mut sys_flags = common;
    if !spec.privileged {
        sys_flags |= MsFlags::MS_RDONLY;
    }
    do_mount(
        Some(Path::new("sysfs")),
        &sys_dir.path(),
        Some("sysfs"),
        sys_flags,
        None,
        "mounting /sys",
    )?;
    if super::cgroups::CgroupMode::detect() == super::cgroups::CgroupMode::Unified {
        // Our cgroup namespace makes the container's own cgroup the root here.
        if let Ok(cg) = resolve(&root, "/sys/fs/cgroup", Kind::Existing) {
            let mut f = common | MsFlags::MS_RELATIME;
            if !spec.privileged {
                f |= MsFlags::MS_RDONLY;
            }
            do_mount(
                Some(Path::new("cgroup2")),
                &cg.path(),
                Some("cgroup2"),
                f,
                None,
                "mounting /sys/fs/cgroup",
            )?;
        }
    } else {
        mount_cgroups_v1(&root, &spec.cgroup_dirs, spec.privileged)?;
    }

    setup_dev(&root, spec)?;
    for n in &spec.devices {
        make_node(&root, n)?;
    }

    let mut mounts: Vec<&MountSpec> = spec.mounts.iter().collect();
    // Parents before children, as docker sorts them.
    mounts.sort_by_key(|m| m.destination.components().count());
    for m in mounts {
        user_mount(&root, m)?;
    }

    // After the user's mounts, as docker sorts its own /etc files among
    // them by depth: a volume on /etc gets them on top (and copied up what
    // the image had there), while a user mount on the file itself wins.
    for (file, dest) in [
        (&spec.hostname_file, "/etc/hostname"),
        (&spec.hosts_file, "/etc/hosts"),
        (&spec.resolv_file, "/etc/resolv.conf"),
    ] {
        if spec.mounts.iter().any(|m| m.destination == Path::new(dest)) {
            continue;
        }
        if let Some(src) = file {
            if src.exists() {
                let d = resolve_replacing_symlink(&root, dest)?;
                do_mount(
                    Some(src),
                    &d.path(),
                    None,
                    MsFlags::MS_BIND,
                    None,
                    &format!("bind-mounting {dest}"),
                )?;
            }
        }
    }

    if spec.readonly {
        do_mount(
            None,
            &spec.target,
            None,
            MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_RDONLY,
            None,
            "remounting the root read-only",
        )?;
    }
    drop(root);

    nix::unistd::chdir(&spec.target).map_err(sys("chdir to the rootfs"))?;
    nix::unistd::pivot_root(".", ".").map_err(sys("pivot_root"))?;
    umount2(".", MntFlags::MNT_DETACH).map_err(sys("detaching the old root"))?;
    nix::unistd::chdir("/").map_err(sys("chdir /"))?;

    apply_sysctls(&spec.sysctls)?;
    if !spec.privileged && !spec.unmask {
        mask_paths(MASKED, READONLY)?;
    }
    Ok(())
}

/// Write each sysctl under /proc/sys (after pivot_root: the container's).
pub(crate) fn apply_sysctls(sysctls: &[(String, String)]) -> Result<()> {
    for (k, v) in sysctls {
        let path = format!("/proc/sys/{}", k.replace('.', "/"));
        std::fs::write(&path, v)
            .map_err(|e| RuntimeError::io(format!("setting sysctl {k}={v}"), e))?;
    }
    Ok(())
}

/// userns-remap: the layers and the container's dir bound through the
/// user namespace's mapping under `<dir>/idm` (in our private mount
/// namespace, gone with it), and the spec pointed at those views. On disk
/// nothing changes: a file the container's root creates is stored as
/// owned by uid 0, as in any other container.
fn idmapped_spec(spec: &RootfsSpec, ns: RawFd, dir: &Path) -> Result<RootfsSpec> {
    let idm = dir.join("idm");
    let mk = |p: &Path| match std::fs::create_dir(p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(RuntimeError::io(format!("creating {}", p.display()), e)),
    };
    mk(&idm)?;
    mk(&idm.join("c"))?;
    super::userns::idmapped_bind(dir, &idm.join("c"), ns)?;
    let mut lowers = Vec::with_capacity(spec.lowers.len());
    for (i, l) in spec.lowers.iter().enumerate() {
        let name = i.to_string();
        mk(&idm.join(&name))?;
        super::userns::idmapped_bind(&spec.layers_dir.join(l), &idm.join(&name), ns)?;
        lowers.push(name);
    }
    let c = idm.join("c");
    let inside = |p: &Option<PathBuf>| {
        p.as_ref().map(|p| {
            p.strip_prefix(dir)
                .map(|rel| c.join(rel))
                .unwrap_or(p.clone())
        })
    };
    Ok(RootfsSpec {
        layers_dir: idm.clone(),
        lowers,
        upper: inside(&Some(spec.upper.clone())).unwrap_or_default(),
        work: inside(&Some(spec.work.clone())).unwrap_or_default(),
        hostname_file: inside(&spec.hostname_file),
        hosts_file: inside(&spec.hosts_file),
        resolv_file: inside(&spec.resolv_file),
        ..spec.clone()
    })
}

/// The overlay (or, for an image without layers, the upper dir alone).
fn mount_root(spec: &RootfsSpec) -> Result<()> {
    if spec.lowers.is_empty() {
        return do_mount(
            Some(&spec.upper),
            &spec.target,
            None,
            MsFlags::MS_BIND,
            None,
            "bind-mounting the rootfs",
        );
    }
    // Relative lowerdirs keep the option string short; overlay resolves them
    // against our cwd at mount time.
    nix::unistd::chdir(&spec.layers_dir).map_err(sys("chdir to the layer store"))?;
    let data = format!(
        "lowerdir={},upperdir={},workdir={}",
        spec.lowers.join(":"),
        spec.upper.display(),
        spec.work.display()
    );
    do_mount(
        Some(Path::new("overlay")),
        &spec.target,
        Some("overlay"),
        MsFlags::empty(),
        Some(&data),
        "mounting the overlay rootfs",
    )
}

fn setup_dev(root: &OwnedFd, spec: &RootfsSpec) -> Result<()> {
    let shm_size = spec.shm_size;
    let shm = format!(
        "mode=1777,size={}k",
        if shm_size == 0 {
            65536
        } else {
            shm_size.div_ceil(1024)
        }
    );
    // Under userns-remap the container's root owns its /dev and /dev/shm.
    let owner = spec
        .idmap
        .as_ref()
        .map(|(_, _, u, g)| format!(",uid={u},gid={g}"))
        .unwrap_or_default();
    let shm = format!("{shm}{owner}");
    let dev = resolve(root, "/dev", Kind::Dir)?;
    let dev_path = dev.path();
    do_mount(
        Some(Path::new("tmpfs")),
        &dev_path,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME,
        Some(&format!("mode=755,size=65536k{owner}")),
        "mounting /dev",
    )?;
    // Re-open: the fd from before the mount points at the covered directory.
    let dev = resolve(root, "/dev", Kind::Existing)?;
    let d = dev.fd.as_raw_fd();
    for (name, major, minor) in DEVICES {
        mknodat(
            d,
            name,
            SFlag::S_IFCHR,
            0o666,
            nix::sys::stat::makedev(*major, *minor),
        )?;
    }
    for (name, target) in DEV_LINKS {
        nix::unistd::symlinkat(*target, Some(d), *name)
            .map_err(sys(format!("symlink /dev/{name}")))?;
    }
    // As runc: /dev/core only where the kernel has /proc/kcore (the
    // host's /proc: this runs before pivot_root).
    if Path::new("/proc/kcore").exists() {
        nix::unistd::symlinkat("/proc/kcore", Some(d), "core").map_err(sys("symlink /dev/core"))?;
    }
    for (name, fstype, flags, data) in [
        (
            "pts",
            "devpts",
            MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
            "newinstance,ptmxmode=0666,mode=0620,gid=5",
        ),
        (
            "shm",
            "tmpfs",
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
            shm.as_str(),
        ),
        (
            "mqueue",
            "mqueue",
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
            "",
        ),
    ] {
        if name == "shm" && spec.ipc_none {
            continue;
        }
        nix::sys::stat::mkdirat(Some(d), name, Mode::from_bits_truncate(0o755))
            .map_err(sys(format!("mkdir /dev/{name}")))?;
        let p = PathBuf::from(format!("/proc/self/fd/{d}/{name}"));
        if let (Some(src), "shm") = (&spec.shm_bind, name) {
            do_mount(
                Some(src),
                &p,
                None,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None,
                "binding the shared /dev/shm",
            )?;
            continue;
        }
        let data = (!data.is_empty()).then_some(data);
        // docker names /dev/shm's tmpfs "shm" (what df shows).
        let source = if name == "shm" { "shm" } else { fstype };
        do_mount(
            Some(Path::new(source)),
            &p,
            Some(fstype),
            flags,
            data,
            &format!("mounting /dev/{name}"),
        )?;
    }
    Ok(())
}

/// A `--device` node at its path in the container, with the host node's
/// mode and owner.
pub(crate) fn make_node(root: &OwnedFd, n: &super::devices::Node) -> Result<()> {
    let p = Path::new(&n.path);
    let (Some(parent), Some(name)) = (p.parent(), p.file_name().and_then(|s| s.to_str())) else {
        return Err(RuntimeError::Other(format!("bad device path {}", n.path)));
    };
    let dir = resolve(root, &parent.to_string_lossy(), Kind::Dir)?;
    let d = dir.fd.as_raw_fd();
    // A node the image or /dev already has at that path is replaced.
    let _ = nix::unistd::unlinkat(Some(d), name, nix::unistd::UnlinkatFlags::NoRemoveDir);
    let kind = match n.kind {
        'b' => SFlag::S_IFBLK,
        // An OCI config's FIFO ("p").
        'p' => SFlag::S_IFIFO,
        _ => SFlag::S_IFCHR,
    };
    let dev = nix::sys::stat::makedev(u64::from(n.major), u64::from(n.minor));
    mknodat(d, name, kind, n.mode & 0o777, dev)?;
    nix::unistd::fchownat(
        Some(d),
        name,
        Some(n.uid.into()),
        Some(n.gid.into()),
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .map_err(sys(format!("chown {}", n.path)))
}

pub(crate) fn mknodat(dir: RawFd, name: &str, kind: SFlag, perm: u32, dev: u64) -> Result<()> {
    let c =
        CString::new(name).map_err(|_| RuntimeError::Other(format!("bad device name {name}")))?;
    // SAFETY: valid NUL-terminated path and a dir fd we own.
    let r = unsafe { libc::mknodat(dir, c.as_ptr(), kind.bits() | perm, dev) };
    if r != 0 {
        return Err(RuntimeError::sys(
            format!("mknod /dev/{name}"),
            nix::errno::Errno::last(),
        ));
    }
    // mknod honours the umask; set the mode exactly.
    nix::sys::stat::fchmodat(
        Some(dir),
        name,
        Mode::from_bits_truncate(perm),
        nix::sys::stat::FchmodatFlags::FollowSymlink,
    )
    .map_err(sys(format!("chmod /dev/{name}")))
}

/// docker's copy-up: a volume that is still empty gets what the rootfs
/// has at its destination (a dir there), before it covers it. The volume's
/// dir is locked meanwhile so two containers starting on one new volume do
/// not both fill it.
fn fill_volume(root: &OwnedFd, m: &MountSpec) -> Result<()> {
    let rel = m.destination.to_string_lossy();
    let rel = rel.trim_start_matches('/');
    let Ok(src) = openat2_in_root(root, Path::new(rel), libc::O_RDONLY | libc::O_DIRECTORY) else {
        return Ok(());
    };
    let what = |e: std::io::Error| {
        RuntimeError::io(
            format!("copying {} into its volume", m.destination.display()),
            e,
        )
    };
    let _lock = crate::util::FileLock::on_dir(&m.source).map_err(what)?;
    let dst = std::fs::File::open(&m.source).map_err(what)?;
    if crate::volume::copy::is_empty_dir(dst.as_fd()).map_err(what)? {
        crate::volume::copy::copy_tree(src.as_fd(), dst.as_fd()).map_err(what)?;
    }
    Ok(())
}

fn user_mount(root: &OwnedFd, m: &MountSpec) -> Result<()> {
    let dest = m.destination.to_string_lossy();
    if m.kind == MountKind::Volume && m.copy_up {
        fill_volume(root, m)?;
    }
    match m.kind {
        MountKind::Bind | MountKind::Volume => {
            if m.create_source && !m.source.exists() {
                std::fs::create_dir_all(&m.source)
                    .map_err(|e| RuntimeError::io(format!("creating {}", m.source.display()), e))?;
            }
            let meta = std::fs::metadata(&m.source).map_err(|e| {
                RuntimeError::InvalidArg(format!(
                    "invalid mount config for type \"bind\": bind source path does not exist: {} ({e})",
                    m.source.display()
                ))
            })?;
            let kind = if meta.is_dir() { Kind::Dir } else { Kind::File };
            let d = resolve(root, &dest, kind)?;
            do_mount(
                Some(&m.source),
                &d.path(),
                None,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None,
                &format!("bind-mounting {} on {dest}", m.source.display()),
            )?;
            // Resolve again: the old fd names the covered directory, not
            // the new mount's root that the flags below must change.
            let d = resolve(root, &dest, Kind::Existing)?;
            let target = d.path();
            for p in &m.options {
                let flag = match p.as_str() {
                    "shared" => MsFlags::MS_SHARED,
                    "rshared" => MsFlags::MS_SHARED | MsFlags::MS_REC,
                    "slave" => MsFlags::MS_SLAVE,
                    "rslave" => MsFlags::MS_SLAVE | MsFlags::MS_REC,
                    "private" => MsFlags::MS_PRIVATE,
                    _ => MsFlags::MS_PRIVATE | MsFlags::MS_REC,
                };
                do_mount(
                    None,
                    &target,
                    None,
                    flag,
                    None,
                    &format!("propagation of {dest}"),
                )?;
            }
            if m.readonly {
                make_readonly(&target, true)?;
            }
        }
        MountKind::Tmpfs => {
            let d = resolve(root, &dest, Kind::Dir)?;
            let mut flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
            let mut data = Vec::new();
            for o in &m.options {
                match TMPFS_FLAGS.iter().find(|(n, _, _)| n == o) {
                    Some((_, true, f)) => flags |= MsFlags::from_bits_truncate(*f),
                    Some((_, false, f)) => flags &= !MsFlags::from_bits_truncate(*f),
                    None => data.push(o.as_str()),
                }
            }
            if m.readonly {
                flags |= MsFlags::MS_RDONLY;
            }
            let data = data.join(",");
            do_mount(
                Some(Path::new("tmpfs")),
                &d.path(),
                Some("tmpfs"),
                flags,
                (!data.is_empty()).then_some(data.as_str()),
                &format!("mounting tmpfs on {dest}"),
            )?;
        }
    }
    Ok(())
}

/// cgroup v1 as runc mounts it: a tmpfs at /sys/fs/cgroup and, in it,
/// each hierarchy's directory of the container bound read-only (read-write
/// with --privileged) under the hierarchy's name; a co-mounted hierarchy
/// ("cpu,cpuacct") gets a symlink per controller. The container sees its
/// own cgroup only, whatever its cgroup namespace.
pub(crate) fn mount_cgroups_v1(root: &OwnedFd, dirs: &[PathBuf], privileged: bool) -> Result<()> {
    let Ok(cg) = resolve(root, "/sys/fs/cgroup", Kind::Existing) else {
        return Ok(());
    };
    let common = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    do_mount(
        Some(Path::new("tmpfs")),
        &cg.path(),
        Some("tmpfs"),
        common | MsFlags::MS_RELATIME,
        Some("mode=755"),
        "mounting /sys/fs/cgroup",
    )?;
    let base = Path::new(super::cgroups::CGROUP_ROOT);
    let mut bound = Vec::new();
    for dir in dirs {
        let Some(name) = dir
            .strip_prefix(base)
            .ok()
            .and_then(|r| r.components().next())
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
        else {
            continue;
        };
        let dest = format!("/sys/fs/cgroup/{name}");
        let target = resolve(root, &dest, Kind::Dir)?;
        do_mount(
            Some(dir),
            &target.path(),
            None,
            MsFlags::MS_BIND,
            None,
            &format!("binding {}", dir.display()),
        )?;
        bound.push(dest);
        if name.contains(',') {
            let cgdir = resolve(root, "/sys/fs/cgroup", Kind::Existing)?;
            for ctl in name.split(',') {
                let _ = nix::unistd::symlinkat(name.as_str(), Some(cgdir.fd.as_raw_fd()), ctl);
            }
        }
    }
    // The tmpfs and every bind in it read-only (docker's), nosuid, nodev,
    // noexec: one recursive mount_setattr (5.12+) instead of a remount per
    // hierarchy (the start path pays per mount call).
    let mut attr = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
    if !privileged {
        attr |= MOUNT_ATTR_RDONLY;
    }
    // Re-resolved: `cg` is the directory the tmpfs covers, not a mount.
    // docker leaves the tmpfs itself read-write: ro is taken back off it.
    let top = resolve(root, "/sys/fs/cgroup", Kind::Existing)?;
    if set_attr(&top.path(), attr, 0, true) && set_attr(&top.path(), 0, MOUNT_ATTR_RDONLY, false) {
        return Ok(());
    }
    for dest in bound {
        let mut f = MsFlags::MS_REMOUNT | MsFlags::MS_BIND | common | MsFlags::MS_RELATIME;
        if !privileged {
            f |= MsFlags::MS_RDONLY;
        }
        // Re-resolved: the fd from before the bind is the covered dir.
        let target = resolve(root, &dest, Kind::Existing)?;
        do_mount(
            None,
            &target.path(),
            None,
            f,
            None,
            &format!("remounting {dest}"),
        )?;
    }
    Ok(())
}

pub(crate) const MOUNT_ATTR_NOSUID: u64 = 0x2;
pub(crate) const MOUNT_ATTR_NODEV: u64 = 0x4;
pub(crate) const MOUNT_ATTR_NOEXEC: u64 = 0x8;

/// mount_setattr: `set` and `clear` on `target` (and, `recursive`, every
/// mount below it); false where the kernel has no mount_setattr.
pub(crate) fn set_attr(target: &Path, set: u64, clear: u64, recursive: bool) -> bool {
    let m = MountAttr {
        attr_set: set,
        attr_clr: clear,
        propagation: 0,
        userns_fd: 0,
    };
    let Ok(c) = CString::new(target.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: valid path and a correctly sized mount_attr.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            libc::AT_FDCWD,
            c.as_ptr(),
            if recursive {
                AT_RECURSIVE as libc::c_uint
            } else {
                0
            },
            &m as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    r == 0
}

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}
pub(crate) const MOUNT_ATTR_RDONLY: u64 = 0x1;
const AT_RECURSIVE: libc::c_int = 0x8000;

/// Read-only, recursively where the kernel has mount_setattr (5.12+), so
/// submounts of a bind source are read-only too, as docker 25+ makes them.
pub(crate) fn make_readonly(target: &Path, recursive: bool) -> Result<()> {
    // mount_setattr changes only the read-only bit; a remount would also
    // drop nosuid/nodev/noexec unless repeated.
    if set_attr(target, MOUNT_ATTR_RDONLY, 0, recursive) {
        return Ok(());
    }
    do_mount(
        None,
        target,
        None,
        MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_RDONLY,
        None,
        &format!("remounting {} read-only", target.display()),
    )
}

/// After pivot_root: hide docker's masked paths and make its read-only
/// paths read-only. Paths the kernel lacks are skipped.
pub(crate) fn mask_paths<S: AsRef<str>>(masked: &[S], readonly: &[S]) -> Result<()> {
    for p in masked {
        let p = p.as_ref();
        let path = Path::new(p);
        let Ok(meta) = std::fs::symlink_metadata(path) else {
            continue;
        };
        let r = if meta.is_dir() {
            mount(
                Some("tmpfs"),
                path,
                Some("tmpfs"),
                MsFlags::MS_RDONLY,
                None::<&str>,
            )
        } else {
            mount(
                Some("/dev/null"),
                path,
                None::<&str>,
                MsFlags::MS_BIND,
                None::<&str>,
            )
        };
        r.map_err(sys(format!("masking {p}")))?;
    }
    for p in readonly {
        let p = p.as_ref();
        let path = Path::new(p);
        if std::fs::symlink_metadata(path).is_err() {
            continue;
        }
        do_mount(
            Some(path),
            path,
            None,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None,
            &format!("binding {p}"),
        )?;
        make_readonly(path, false)?;
    }
    Ok(())
}

pub(crate) fn open_dir(p: &Path) -> Result<OwnedFd> {
    let fd = nix::fcntl::open(
        p,
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(sys(format!("opening {}", p.display())))?;
    // SAFETY: `open` just returned this fd and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Create as a directory if missing.
    Dir,
    /// Create as an empty file if missing.
    File,
    /// Must exist.
    Existing,
}

/// An O_PATH fd of a path inside the container's root.
pub(crate) struct InRoot {
    pub(crate) fd: OwnedFd,
}

impl InRoot {
    /// The magic link to mount on: the kernel follows it to the exact
    /// object we resolved, never to whatever a path would name later.
    pub(crate) fn path(&self) -> PathBuf {
        PathBuf::from(format!("/proc/self/fd/{}", self.fd.as_raw_fd()))
    }
}

fn openat2_in_root(
    root: &OwnedFd,
    rel: &Path,
    flags: i32,
) -> std::result::Result<OwnedFd, nix::errno::Errno> {
    crate::util::openat2(
        root.as_fd(),
        rel.as_os_str().as_bytes(),
        flags,
        libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS,
    )
}

/// Resolve `dest` (absolute, inside the container) under `root`, creating
/// what is missing; symlinks are followed as if `root` were "/".
pub(crate) fn resolve(root: &OwnedFd, dest: &str, kind: Kind) -> Result<InRoot> {
    let rel = dest.trim_start_matches('/');
    let rel = if rel.is_empty() { "." } else { rel };
    match openat2_in_root(root, Path::new(rel), libc::O_PATH) {
        Ok(fd) => return Ok(InRoot { fd }),
        Err(nix::errno::Errno::ENOENT) if kind != Kind::Existing => {}
        Err(e) => {
            return Err(RuntimeError::sys(
                format!("resolving {dest} in the container"),
                e,
            ))
        }
    }
    // Create the missing components one by one, each relative to its
    // already-resolved parent.
    let comps: Vec<&std::ffi::OsStr> = Path::new(rel)
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n),
            _ => None,
        })
        .collect();
    let mut prefix = PathBuf::from(".");
    for (i, name) in comps.iter().enumerate() {
        let next = prefix.join(name);
        match openat2_in_root(root, &next, libc::O_PATH) {
            Ok(_) => {}
            Err(nix::errno::Errno::ENOENT) => {
                let parent = openat2_in_root(root, &prefix, libc::O_PATH | libc::O_DIRECTORY)
                    .map_err(sys(format!("resolving {dest} in the container")))?;
                let last = comps.len().checked_sub(1) == Some(i);
                let r = if last && kind == Kind::File {
                    nix::fcntl::openat(
                        Some(parent.as_raw_fd()),
                        *name,
                        nix::fcntl::OFlag::O_CREAT
                            | nix::fcntl::OFlag::O_EXCL
                            | nix::fcntl::OFlag::O_NOFOLLOW
                            | nix::fcntl::OFlag::O_CLOEXEC
                            | nix::fcntl::OFlag::O_WRONLY,
                        Mode::from_bits_truncate(0o644),
                    )
                    .map(|fd| {
                        let _ = nix::unistd::close(fd);
                    })
                } else {
                    nix::sys::stat::mkdirat(
                        Some(parent.as_raw_fd()),
                        *name,
                        Mode::from_bits_truncate(0o755),
                    )
                };
                match r {
                    Ok(()) | Err(nix::errno::Errno::EEXIST) => {}
                    Err(e) => {
                        return Err(RuntimeError::sys(
                            format!("creating {dest} in the container"),
                            e,
                        ))
                    }
                }
            }
            Err(e) => {
                return Err(RuntimeError::sys(
                    format!("resolving {dest} in the container"),
                    e,
                ))
            }
        }
        prefix = next;
    }
    let fd = openat2_in_root(root, Path::new(rel), libc::O_PATH)
        .map_err(sys(format!("resolving {dest} in the container")))?;
    Ok(InRoot { fd })
}

/// For the /etc files: an image's symlink there (resolv.conf pointing into
/// /run, say) is replaced by a plain file so the bind lands at that path.
fn resolve_replacing_symlink(root: &OwnedFd, dest: &str) -> Result<InRoot> {
    let p = Path::new(dest);
    let (Some(parent), Some(name)) = (p.parent(), p.file_name()) else {
        return Err(RuntimeError::Other(format!("bad path {dest}")));
    };
    // An O_PATH fd serves as the dir fd of the *at calls below.
    let dir = resolve(root, &parent.to_string_lossy(), Kind::Dir)?;
    let dfd = &dir.fd;
    match nix::sys::stat::fstatat(
        Some(dfd.as_raw_fd()),
        name,
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    ) {
        Ok(st)
            if st.st_mode & libc::S_IFMT == libc::S_IFLNK
                || st.st_mode & libc::S_IFMT == libc::S_IFDIR =>
        {
            let flag = if st.st_mode & libc::S_IFMT == libc::S_IFDIR {
                nix::unistd::UnlinkatFlags::RemoveDir
            } else {
                nix::unistd::UnlinkatFlags::NoRemoveDir
            };
            nix::unistd::unlinkat(Some(dfd.as_raw_fd()), name, flag)
                .map_err(sys(format!("replacing {dest}")))?;
        }
        _ => {}
    }
    resolve(root, dest, Kind::File)
}
