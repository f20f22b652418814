//! The pieces a container's filesystem is built from, inside its new mount
//! namespace by the container's init (the clone child): the overlay root,
//! mounts resolved inside the root, device nodes, cgroup v1 binds, masked
//! and read-only paths, docker's defaults. `oci::rootfs::setup` puts them
//! together, for docker's containers and OCI bundles alike.
//!
//! Every mount point inside the rootfs is resolved with openat2
//! RESOLVE_IN_ROOT and mounted on through /proc/self/fd, so a symlink in
//! the image (`/proc -> /etc`, `/data -> /`) can never redirect a mount
//! outside the container's root.

pub use super::mountspec::{parse_mount, parse_tmpfs, parse_volume, MountKind, MountSpec};
use super::{Result, RuntimeError};
use nix::mount::{mount, MsFlags};
use nix::sys::stat::{Mode, SFlag};
use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// rdock's own root (docker's containers): an overlay of image layers,
/// mounted on the config's root path by the init, in its mount namespace
/// (gone with it), instead of a bundle's prepared directory.
#[derive(Debug, Clone)]
pub struct Overlay {
    /// Directory that holds the short layer links; the init chdirs here so
    /// `lowers` can be short relative paths and 100+ layers fit in overlay's
    /// one-page option string.
    pub layers_dir: PathBuf,
    /// Lower layers relative to `layers_dir` (e.g. "l/ABCDEF"), topmost first.
    /// May be empty (an image without layers: the upper dir alone).
    pub lowers: Vec<String>,
    pub upper: PathBuf,
    pub work: PathBuf,
    /// userns-remap: the layers and this dir (parent of upper/, work/ and
    /// the /etc files) are seen through the user namespace's mapping.
    pub idmap: Option<Idmap>,
}

#[derive(Debug, Clone)]
pub struct Idmap {
    pub dir: PathBuf,
    /// The user namespace (an fd the parent holds open).
    pub ns: RawFd,
    /// Host uid and gid of the container's root.
    pub uid: u32,
    pub gid: u32,
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

/// Write each sysctl under /proc/sys (after pivot_root: the container's).
pub(crate) fn apply_sysctls(sysctls: &[(String, String)]) -> Result<()> {
    for (k, v) in sysctls {
        let path = format!("/proc/sys/{}", k.replace('.', "/"));
        std::fs::write(&path, v)
            .map_err(|e| RuntimeError::io(format!("setting sysctl {k}={v}"), e))?;
    }
    Ok(())
}

/// Mount the overlay on `target`; under userns-remap, through idmapped
/// binds of the layers and of the container's dir under `<dir>/idm` (in
/// our private mount namespace, gone with it). Returns where the
/// container's dir is seen from then on (its idmapped view), if remapped.
/// On disk nothing changes: a file the container's root creates is stored
/// as owned by uid 0, as in any other container.
pub(crate) fn mount_overlay(target: &Path, o: &Overlay) -> Result<Option<(PathBuf, PathBuf)>> {
    let Some(m) = &o.idmap else {
        mount_layers(target, &o.layers_dir, &o.lowers, &o.upper, &o.work)?;
        return Ok(None);
    };
    let idm = m.dir.join("idm");
    let mk = |p: &Path| match std::fs::create_dir(p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(RuntimeError::io(format!("creating {}", p.display()), e)),
    };
    mk(&idm)?;
    let c = idm.join("c");
    mk(&c)?;
    super::userns::idmapped_bind(&m.dir, &c, m.ns)?;
    let mut lowers = Vec::with_capacity(o.lowers.len());
    for (i, l) in o.lowers.iter().enumerate() {
        let name = i.to_string();
        mk(&idm.join(&name))?;
        super::userns::idmapped_bind(&o.layers_dir.join(l), &idm.join(&name), m.ns)?;
        lowers.push(name);
    }
    let inside = |p: &Path| {
        p.strip_prefix(&m.dir)
            .map_or(p.to_path_buf(), |r| c.join(r))
    };
    // Through the idmapped upper only the mapped root's ids can be
    // written: overlayfs's own work (work/work, copy-up, done with its
    // mounter's credentials) and every file the setup makes in the rootfs
    // happen as that fsuid, all capabilities kept. The user switch before
    // exec sets the fsuid again.
    nix::unistd::setfsgid(m.gid.into());
    nix::unistd::setfsuid(m.uid.into());
    super::caps::raise_effective()?;
    mount_layers(target, &idm, &lowers, &inside(&o.upper), &inside(&o.work))?;
    Ok(Some((m.dir.clone(), c)))
}

/// The overlay (or, for an image without layers, the upper dir alone).
fn mount_layers(
    target: &Path,
    layers_dir: &Path,
    lowers: &[String],
    upper: &Path,
    work: &Path,
) -> Result<()> {
    if lowers.is_empty() {
        return do_mount(
            Some(upper),
            target,
            None,
            MsFlags::MS_BIND,
            None,
            "bind-mounting the rootfs",
        );
    }
    // Relative lowerdirs keep the option string short; overlay resolves them
    // against our cwd at mount time.
    nix::unistd::chdir(layers_dir).map_err(sys("chdir to the layer store"))?;
    let data = format!(
        "lowerdir={},upperdir={},workdir={}",
        lowers.join(":"),
        upper.display(),
        work.display()
    );
    do_mount(
        Some(Path::new("overlay")),
        target,
        Some("overlay"),
        MsFlags::empty(),
        Some(&data),
        "mounting the overlay rootfs",
    )
}

/// The uid and gid the files we create get (our fs ids): a chown to
/// them changes nothing.
pub(crate) fn fs_ids() -> (u32, u32) {
    // SAFETY: with an id no one has, setfsuid/setfsgid change nothing and
    // return the current one.
    unsafe {
        (
            libc::setfsuid(u32::MAX) as u32,
            libc::setfsgid(u32::MAX) as u32,
        )
    }
}

/// A device node at its path in the container, with its mode and owner.
/// `creator`: our `fs_ids`.
pub(crate) fn make_node(
    root: &OwnedFd,
    n: &super::devices::Node,
    creator: (u32, u32),
) -> Result<()> {
    let p = Path::new(&n.path);
    let (Some(parent), Some(name)) = (p.parent(), p.file_name().and_then(|s| s.to_str())) else {
        return Err(RuntimeError::Other(format!("bad device path {}", n.path)));
    };
    let dir = resolve(root, &parent.to_string_lossy(), Kind::Dir)?;
    make_node_in(dir.fd.as_raw_fd(), name, n, creator)
}

/// `make_node` in the directory `d`.
pub(crate) fn make_node_in(
    d: RawFd,
    name: &str,
    n: &super::devices::Node,
    creator: (u32, u32),
) -> Result<()> {
    let kind = match n.kind {
        'b' => SFlag::S_IFBLK,
        // An OCI config's FIFO ("p").
        'p' => SFlag::S_IFIFO,
        _ => SFlag::S_IFCHR,
    };
    let dev = nix::sys::stat::makedev(u64::from(n.major), u64::from(n.minor));
    match mknodat(d, name, kind, n.mode & 0o777, dev) {
        // A node the image or /dev already has at that path is replaced;
        // one a mount covers (`-v /dev/urandom:/dev/random`) is left be.
        Err(nix::errno::Errno::EEXIST) => {
            match nix::unistd::unlinkat(Some(d), name, nix::unistd::UnlinkatFlags::NoRemoveDir) {
                Err(nix::errno::Errno::EBUSY) => return Ok(()),
                _ => mknodat(d, name, kind, n.mode & 0o777, dev),
            }
        }
        r => r,
    }
    .map_err(sys(format!("mknod {}", n.path)))?;
    if (n.uid, n.gid) == creator {
        return Ok(());
    }
    nix::unistd::fchownat(
        Some(d),
        name,
        Some(n.uid.into()),
        Some(n.gid.into()),
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .map_err(sys(format!("chown {}", n.path)))
}

fn mknodat(dir: RawFd, name: &str, kind: SFlag, perm: u32, dev: u64) -> nix::Result<()> {
    let c = CString::new(name).map_err(|_| nix::errno::Errno::EINVAL)?;
    // SAFETY: valid NUL-terminated path and a dir fd we own.
    let r = unsafe { libc::mknodat(dir, c.as_ptr(), kind.bits() | perm, dev) };
    if r != 0 {
        return Err(nix::errno::Errno::last());
    }
    // mknod honours the umask; set the mode exactly.
    nix::sys::stat::fchmodat(
        Some(dir),
        name,
        Mode::from_bits_truncate(perm),
        nix::sys::stat::FchmodatFlags::FollowSymlink,
    )
}

/// docker's copy-up: a volume that is still empty gets what the rootfs
/// has at its destination (a dir there), before it covers it. The volume's
/// dir is locked meanwhile so two containers starting on one new volume do
/// not both fill it.
pub(crate) fn fill_volume(root: &OwnedFd, dest: &str, source: &Path) -> Result<()> {
    let rel = dest.trim_start_matches('/');
    let Ok(src) = openat2_in_root(root, Path::new(rel), libc::O_RDONLY | libc::O_DIRECTORY) else {
        return Ok(());
    };
    let what = |e: std::io::Error| RuntimeError::io(format!("copying {dest} into its volume"), e);
    let _lock = crate::util::FileLock::on_dir(source).map_err(what)?;
    let dst = std::fs::File::open(source).map_err(what)?;
    if crate::volume::copy::is_empty_dir(dst.as_fd()).map_err(what)? {
        crate::volume::copy::copy_tree(src.as_fd(), dst.as_fd()).map_err(what)?;
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
/// what is missing; symlinks are followed as if `root` were "/", a
/// dangling one too (what it names is made, as runc does: an image's
/// `/etc/resolv.conf -> ../run/systemd/resolve/stub-resolv.conf`).
pub(crate) fn resolve(root: &OwnedFd, dest: &str, kind: Kind) -> Result<InRoot> {
    resolve_following(root, dest, kind, 0)
}

/// The common missing mount point (/sys/fs/cgroup/cpu in a fresh tmpfs,
/// /etc/hosts in an image without one): its parent is a directory, and
/// only the last component is made, relative to the parent's fd. Three
/// calls where the walk below takes one per component, twice. None for
/// anything else (a missing ancestor, a dangling symlink at the end):
/// the walk handles those.
fn create_last(root: &OwnedFd, rel: &Path, kind: Kind) -> Option<InRoot> {
    let name = rel.file_name()?;
    let parent = match rel.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let dir = openat2_in_root(root, parent, libc::O_PATH | libc::O_DIRECTORY).ok()?;
    make_one(&dir, name, kind == Kind::File).ok()?;
    openat2_in_root(root, rel, libc::O_PATH)
        .ok()
        .map(|fd| InRoot { fd })
}

/// One new component in `dir` (resolved in the root): an empty file or
/// a directory, never through a symlink (EEXIST if anything is there).
fn make_one(
    dir: &OwnedFd,
    name: &std::ffi::OsStr,
    file: bool,
) -> std::result::Result<(), nix::errno::Errno> {
    if !file {
        return nix::sys::stat::mkdirat(
            Some(dir.as_raw_fd()),
            name,
            Mode::from_bits_truncate(0o755),
        );
    }
    let fd = nix::fcntl::openat(
        Some(dir.as_raw_fd()),
        name,
        nix::fcntl::OFlag::O_CREAT
            | nix::fcntl::OFlag::O_EXCL
            | nix::fcntl::OFlag::O_NOFOLLOW
            | nix::fcntl::OFlag::O_CLOEXEC
            | nix::fcntl::OFlag::O_WRONLY,
        Mode::from_bits_truncate(0o644),
    )?;
    let _ = nix::unistd::close(fd);
    Ok(())
}

/// Symlinks followed at most, as the kernel's MAXSYMLINKS.
const MAX_LINKS: u32 = 40;

fn resolve_following(root: &OwnedFd, dest: &str, kind: Kind, links: u32) -> Result<InRoot> {
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
    if let Some(made) = create_last(root, Path::new(rel), kind) {
        return Ok(made);
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
                match make_one(&parent, name, last && kind == Kind::File) {
                    Ok(()) => {}
                    // There but not found: a dangling symlink (or a race).
                    Err(nix::errno::Errno::EEXIST) => {
                        if let Ok(target) = nix::fcntl::readlinkat(Some(parent.as_raw_fd()), *name)
                        {
                            let base = in_root_path(root, &parent)
                                .unwrap_or_else(|| Path::new("/").join(&prefix));
                            return follow_dangling(
                                root, dest, kind, links, &base, target, &comps, i,
                            );
                        }
                    }
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

/// Where `fd` (a directory resolved under `root`) is, as a path inside
/// the root: the kernel's own name for it, so `..` in a link beside it
/// goes where the kernel would take it, whatever links led there.
fn in_root_path(root: &OwnedFd, fd: &OwnedFd) -> Option<PathBuf> {
    let at = |f: &OwnedFd| std::fs::read_link(format!("/proc/self/fd/{}", f.as_raw_fd())).ok();
    let (r, p) = (at(root)?, at(fd)?);
    p.strip_prefix(&r).ok().map(|rel| Path::new("/").join(rel))
}

/// A dangling link at `comps[i]` in the directory `base` (a path in the
/// root): go on from what it names, still inside the root (each step
/// resolved in it again).
#[allow(clippy::too_many_arguments)]
fn follow_dangling(
    root: &OwnedFd,
    dest: &str,
    kind: Kind,
    links: u32,
    base: &Path,
    target: std::ffi::OsString,
    comps: &[&std::ffi::OsStr],
    i: usize,
) -> Result<InRoot> {
    if links >= MAX_LINKS {
        return Err(RuntimeError::sys(
            format!("resolving {dest} in the container"),
            nix::errno::Errno::ELOOP,
        ));
    }
    let mut p = base.join(target);
    p.extend(comps.iter().skip(i.saturating_add(1)));
    let next = crate::util::path::clean_abs(&p.to_string_lossy());
    resolve_following(root, &next, kind, links.saturating_add(1))
}

/// For the /etc files: an image's symlink there (resolv.conf pointing into
/// /run, say) is replaced by a plain file so the bind lands at that path.
pub(crate) fn resolve_replacing_symlink(root: &OwnedFd, dest: &str) -> Result<InRoot> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn root_of(dir: &Path) -> OwnedFd {
        let fd = nix::fcntl::open(
            dir,
            nix::fcntl::OFlag::O_PATH
                | nix::fcntl::OFlag::O_DIRECTORY
                | nix::fcntl::OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .unwrap();
        // SAFETY: `open` just returned this fd.
        unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) }
    }

    /// Where an O_PATH fd points, as the host sees it.
    fn target(r: &InRoot) -> PathBuf {
        std::fs::read_link(r.path()).unwrap()
    }

    #[test]
    fn missing_mount_points_are_made_inside_the_root() {
        let d = tempfile::tempdir().unwrap();
        let top = d.path().join("root");
        std::fs::create_dir_all(top.join("etc")).unwrap();
        std::fs::create_dir_all(top.join("sys/fs/cgroup")).unwrap();
        let root = root_of(&top);
        // The parent exists: only the last component is made.
        let r = resolve(&root, "/etc/hosts", Kind::File).unwrap();
        assert_eq!(target(&r), top.join("etc/hosts"));
        assert!(top.join("etc/hosts").is_file());
        let r = resolve(&root, "/sys/fs/cgroup/cpu", Kind::Dir).unwrap();
        assert_eq!(target(&r), top.join("sys/fs/cgroup/cpu"));
        assert!(top.join("sys/fs/cgroup/cpu").is_dir());
        // Missing ancestors: made one by one.
        let r = resolve(&root, "/a/b/c", Kind::File).unwrap();
        assert!(top.join("a/b").is_dir() && top.join("a/b/c").is_file());
        assert_eq!(target(&r), top.join("a/b/c"));
        // Existing: found, not made again.
        let r = resolve(&root, "/etc/hosts", Kind::Existing).unwrap();
        assert_eq!(target(&r), top.join("etc/hosts"));
        assert!(resolve(&root, "/nope", Kind::Existing).is_err());
    }

    #[test]
    fn links_never_lead_out_of_the_root() {
        let d = tempfile::tempdir().unwrap();
        let top = d.path().join("root");
        let outside = d.path().join("outside");
        std::fs::create_dir_all(top.join("etc")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        // A dangling link at the end: what it names is made, in the root.
        std::os::unix::fs::symlink("../run/x/conf", top.join("etc/resolv.conf")).unwrap();
        let r = resolve(&root_of(&top), "/etc/resolv.conf", Kind::File).unwrap();
        assert_eq!(target(&r), top.join("run/x/conf"));
        // Links aiming above the root stay inside it, as if it were "/".
        std::os::unix::fs::symlink("../../../outside", top.join("up")).unwrap();
        let r = resolve(&root_of(&top), "/up/f", Kind::File).unwrap();
        assert_eq!(target(&r), top.join("outside/f"));
        std::os::unix::fs::symlink(&outside, top.join("abs")).unwrap();
        let r = resolve(&root_of(&top), "/abs/g", Kind::Dir).unwrap();
        assert!(target(&r).starts_with(&top), "{}", target(&r).display());
        assert!(!outside.join("f").exists() && !outside.join("g").exists());
        // A parent given as "..": still the root's own.
        let r = resolve(&root_of(&top), "/../../h", Kind::File).unwrap();
        assert_eq!(target(&r), top.join("h"));
    }
}
