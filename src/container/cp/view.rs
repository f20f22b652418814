//! A container's filesystem as `cp` sees it: the root fd every path inside
//! the container is resolved from.
//!
//! Running container: its init's root, /proc/PID/root, opened as a
//! directory fd. Lookups from that fd cross the mounts of the container's
//! own mount namespace, so volumes, tmpfs mounts and the bind-mounted
//! /etc files are seen, and a copy into the container lands where its
//! processes see it (docker's daemon works on a second view of the
//! rootfs instead, where a tmpfs is private and a copy into it is lost).
//!
//! Stopped container: nothing is mounted. This process enters a private
//! mount namespace (unshare, propagation from the host only), mounts the
//! container's overlay on its `merged` dir and binds its volumes as its
//! start would, and leaves the namespace again when the view is dropped.
//! Why mount rather than read upper and lower layers directly: the kernel
//! already implements overlay's rules (whiteouts, opaque dirs, copy-up,
//! redirects), and a copy-up written by hand would be a second, subtly
//! different overlay. Why a private namespace rather than a mount on the
//! host that we unmount afterwards: these mounts exist only in a namespace
//! held by this process, so no path, error or SIGKILL can leave one
//! behind; the host never sees them at all.
//!
//! Both hold the container's `rootfs.lock` for the whole copy: `start`
//! takes it around mounting the rootfs (lifecycle::launch), so a container
//! never starts on an overlay that a copy has mounted too (two overlays on
//! one upper dir is undefined behaviour), and a restart waits for a copy
//! into the running container to end.

use super::entry::sys;
use super::resolve::{lookup, Found, Lookup};
use super::CpError;
use crate::container::state::proc_start_time;
use crate::container::store::{Container, ContainerStore};
use crate::paths::Paths;
use crate::runtime::mountspec::{MountKind, MountSpec};
use crate::util::FileLock;
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::mount::MsFlags;
use nix::sys::stat::{Mode, SFlag};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

/// Back in the host's mount namespace (and working directory) on drop,
/// which destroys the private namespace and every mount in it.
struct PrivateNs {
    host_ns: OwnedFd,
    cwd: OwnedFd,
}

impl Drop for PrivateNs {
    fn drop(&mut self) {
        // Failure here cannot be reported from drop; the namespace and its
        // mounts still die with this process.
        let _ = nix::sched::setns(self.host_ns.as_fd(), nix::sched::CloneFlags::CLONE_NEWNS);
        let _ = nix::unistd::fchdir(self.cwd.as_raw_fd());
    }
}

pub struct ContainerFs {
    // Field order is drop order: the root fd (which pins the mounts), then
    // the namespace, then the lock that keeps `start` away.
    root: OwnedFd,
    _ns: Option<PrivateNs>,
    _lock: FileLock,
    pub running: bool,
    pub container: Container,
}

fn open_path(p: &Path, flags: OFlag) -> Result<OwnedFd, Errno> {
    let fd = nix::fcntl::open(p, flags | OFlag::O_CLOEXEC, Mode::empty())?;
    // SAFETY: open just returned this fd and nothing else owns it.
    Ok(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) })
}

impl ContainerFs {
    /// Open the view of container `c`. For a stopped container this enters
    /// a private mount namespace, which needs a single-threaded process
    /// (the CLI is one).
    pub fn open(paths: &Paths, c: &Container) -> Result<ContainerFs, CpError> {
        let lock = FileLock::on_dir(&c.dir.join("upper"))
            .map_err(|e| CpError::io("locking the container's rootfs", e))?;
        // Read again under the lock: it may have started or stopped since.
        let c = ContainerStore::new(paths).load(&c.config.id)?;
        if c.state.is_alive() {
            let root = open_path(
                Path::new(&format!("/proc/{}/root", c.state.pid)),
                OFlag::O_PATH | OFlag::O_DIRECTORY,
            );
            // The same process as recorded, not a reused pid: checked after
            // the open, so the fd is of the container's init.
            match root {
                Ok(root) if proc_start_time(c.state.pid) == Some(c.state.pid_start) => {
                    return Ok(ContainerFs {
                        root,
                        _ns: None,
                        _lock: lock,
                        running: true,
                        container: c,
                    });
                }
                // Never mount the overlay of a container that still runs.
                Err(e) if c.state.is_alive() => {
                    return Err(sys(format!(
                        "opening the root of container {}",
                        c.config.name
                    ))(e))
                }
                // It exited meanwhile: a stopped container now.
                _ => {}
            }
        }
        let (ns, root) = mount_stopped(paths, &c)?;
        Ok(ContainerFs {
            root,
            _ns: Some(ns),
            _lock: lock,
            running: false,
            container: c,
        })
    }

    pub fn root(&self) -> BorrowedFd<'_> {
        self.root.as_fd()
    }

    /// docker's checkWritablePath: a destination inside a mount is as
    /// writable as that mount (the deepest one that holds it), elsewhere
    /// as the rootfs.
    pub fn check_writable(&self, path: &str) -> Result<(), CpError> {
        let cfg = &self.container.config;
        let holder = cfg
            .mounts
            .iter()
            .filter(|m| within(&m.destination, path))
            .max_by_key(|m| m.destination.components().count());
        match holder {
            Some(m) if m.readonly => Err(CpError::VolumeReadOnly),
            Some(_) => Ok(()),
            None if cfg.readonly_rootfs => Err(CpError::RootfsReadOnly),
            None => Ok(()),
        }
    }
}

/// `path` is `dest` or below it.
fn within(dest: &Path, path: &str) -> bool {
    let d = dest.to_string_lossy();
    let d = d.trim_end_matches('/');
    path == d || path.starts_with(&format!("{d}/")) || d.is_empty()
}

/// Enter a private mount namespace and mount the container's rootfs and
/// volumes there. On error the namespace is left again (the guard drops).
fn mount_stopped(paths: &Paths, c: &Container) -> Result<(PrivateNs, OwnedFd), CpError> {
    let host_ns = open_path(Path::new("/proc/self/ns/mnt"), OFlag::O_RDONLY)
        .map_err(sys("opening this process's mount namespace"))?;
    let cwd = open_path(Path::new("."), OFlag::O_PATH | OFlag::O_DIRECTORY)
        .map_err(sys("opening the working directory"))?;
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS)
        .map_err(sys("entering a private mount namespace"))?;
    let ns = PrivateNs { host_ns, cwd };
    // Host mounts still reach us; nothing of ours reaches the host.
    nix::mount::mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_SLAVE,
        None::<&str>,
    )
    .map_err(sys("making the private mount namespace a slave"))?;
    let merged = paths.rootfs_mountpoint();
    crate::util::mkdirs_private(&merged)
        .map_err(|e| CpError::io("creating the rootfs mountpoint", e))?;
    mount_overlay(paths, c, &merged, &ns)?;
    let root = open_path(&merged, OFlag::O_PATH | OFlag::O_DIRECTORY)
        .map_err(sys(format!("opening {}", merged.display())))?;
    let mut mounts: Vec<&MountSpec> = c.config.mounts.iter().collect();
    // Parents before children, as at start.
    mounts.sort_by_key(|m| m.destination.components().count());
    for m in mounts {
        mount_volume(root.as_fd(), m)?;
    }
    for (file, dest) in [
        ("hostname", "/etc/hostname"),
        ("hosts", "/etc/hosts"),
        ("resolv.conf", "/etc/resolv.conf"),
    ] {
        let src = c.dir.join(file);
        // Only where the rootfs already has a plain file: start replaces
        // a symlink there, which is not for a copy to do.
        if let (true, Ok(Lookup::Found(f))) = (src.exists(), lookup(root.as_fd(), dest, false)) {
            if f.st.st_mode & SFlag::S_IFMT.bits() == SFlag::S_IFREG.bits() {
                bind_on(&src, &f, false)?;
            }
        }
    }
    Ok((ns, root))
}

fn mount_overlay(
    paths: &Paths,
    c: &Container,
    target: &Path,
    ns: &PrivateNs,
) -> Result<(), CpError> {
    let cfg = &c.config;
    if cfg.layers.is_empty() {
        return nix::mount::mount(
            Some(&c.dir.join("upper")),
            target,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(sys("bind-mounting the container's rootfs"));
    }
    // As at start: short relative lowerdirs, resolved against the cwd, so
    // 100+ layers fit in overlay's one-page option string.
    let lowers: Vec<String> = cfg
        .layers
        .iter()
        .rev()
        .map(|l| crate::image::store::short_link(l))
        .collect();
    let data = format!(
        "lowerdir={},upperdir={},workdir={}",
        lowers.join(":"),
        c.dir.join("upper").display(),
        c.dir.join("work").display()
    );
    nix::unistd::chdir(&paths.layers()).map_err(sys("chdir to the layer store"))?;
    let r = nix::mount::mount(
        Some("overlay"),
        target,
        Some("overlay"),
        MsFlags::empty(),
        Some(data.as_str()),
    );
    let back = nix::unistd::fchdir(ns.cwd.as_raw_fd());
    r.map_err(sys("mounting the container's overlay"))?;
    back.map_err(sys("returning to the working directory"))
}

/// Bind `src` on the object `f` (through its fd, never a path that could
/// have changed), read-only if asked.
fn bind_on(src: &Path, f: &Found, readonly: bool) -> Result<(), CpError> {
    let target = f
        .open(OFlag::O_PATH)
        .map_err(sys(format!("opening {}", f.path)))?;
    let at = PathBuf::from(format!("/proc/self/fd/{}", target.as_raw_fd()));
    nix::mount::mount(
        Some(src),
        &at,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(sys(format!(
        "bind-mounting {} on {}",
        src.display(),
        f.path
    )))?;
    if readonly {
        // The fd from before names the covered object; the new mount's
        // root is what must become read-only.
        let target = f
            .open(OFlag::O_PATH)
            .map_err(sys(format!("opening {}", f.path)))?;
        let at = PathBuf::from(format!("/proc/self/fd/{}", target.as_raw_fd()));
        nix::mount::mount(
            None::<&str>,
            &at,
            None::<&str>,
            MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_RDONLY,
            None::<&str>,
        )
        .map_err(sys(format!("making {} read-only", f.path)))?;
    }
    Ok(())
}

/// The destination of a mount inside the root, created if missing (as
/// start creates it): a directory, or an empty file for a file bind.
fn ensure(root: BorrowedFd<'_>, dest: &str, dir: bool) -> Result<Found, CpError> {
    let what = || format!("creating {dest} in the container");
    let parts: Vec<&str> = dest.split('/').filter(|p| !p.is_empty()).collect();
    // `up`: the parts before this one, as "/a/b" ("" at the root).
    let mut up = String::new();
    let mut names = parts.iter().peekable();
    while let Some(&name) = names.next() {
        let last = names.peek().is_none();
        let prefix = format!("{up}/{name}");
        let up_dir = std::mem::replace(&mut up, prefix.clone());
        let parent = match lookup(root, &prefix, true).map_err(sys(what()))? {
            Lookup::Found(f) if f.is_dir() || last => continue,
            Lookup::Found(_) => return Err(sys(what())(Errno::ENOTDIR)),
            Lookup::Missing { .. } => {
                let up_dir = if up_dir.is_empty() { "/" } else { &up_dir };
                match lookup(root, up_dir, true).map_err(sys(what()))? {
                    Lookup::Found(f) if f.is_dir() => f,
                    _ => return Err(sys(what())(Errno::ENOENT)),
                }
            }
        };
        let pfd = parent
            .open(OFlag::O_PATH | OFlag::O_DIRECTORY)
            .map_err(sys(what()))?;
        let r = if last && !dir {
            nix::fcntl::openat(
                Some(pfd.as_raw_fd()),
                name,
                OFlag::O_CREAT
                    | OFlag::O_EXCL
                    | OFlag::O_NOFOLLOW
                    | OFlag::O_CLOEXEC
                    | OFlag::O_WRONLY,
                Mode::from_bits_truncate(0o644),
            )
            .map(|fd| {
                let _ = nix::unistd::close(fd);
            })
        } else {
            nix::sys::stat::mkdirat(Some(pfd.as_raw_fd()), name, Mode::from_bits_truncate(0o755))
        };
        match r {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(sys(what())(e)),
        }
    }
    match lookup(root, dest, true).map_err(sys(what()))? {
        Lookup::Found(f) => Ok(f),
        Lookup::Missing { .. } => Err(sys(what())(Errno::ENOENT)),
    }
}

/// A volume of a stopped container, mounted in our private view as its
/// start would (a tmpfs is fresh and empty, as it is at every start).
fn mount_volume(root: BorrowedFd<'_>, m: &MountSpec) -> Result<(), CpError> {
    let dest = m.destination.to_string_lossy();
    match m.kind {
        MountKind::Bind | MountKind::Volume => {
            let Ok(meta) = std::fs::metadata(&m.source) else {
                // Its start would fail or create it; the copy sees the
                // rootfs there.
                return Ok(());
            };
            let f = ensure(root, &dest, meta.is_dir())?;
            bind_on(&m.source, &f, m.readonly)
        }
        MountKind::Tmpfs => {
            let f = ensure(root, &dest, true)?;
            let target = f
                .open(OFlag::O_PATH)
                .map_err(sys(format!("opening {}", f.path)))?;
            let at = PathBuf::from(format!("/proc/self/fd/{}", target.as_raw_fd()));
            // Size, mode and owner options shape what a copy out sees of
            // the mount's root; flags do not matter here.
            let data: Vec<&str> = m
                .options
                .iter()
                .map(|o| o.as_str())
                .filter(|o| {
                    o.starts_with("mode=") || o.starts_with("uid=") || o.starts_with("gid=")
                })
                .collect();
            let data = data.join(",");
            let mut flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV;
            if m.readonly {
                flags |= MsFlags::MS_RDONLY;
            }
            nix::mount::mount(
                Some("tmpfs"),
                &at,
                Some("tmpfs"),
                flags,
                (!data.is_empty()).then_some(data.as_str()),
            )
            .map_err(sys(format!("mounting a tmpfs on {dest}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_within_mounts() {
        assert!(within(Path::new("/data"), "/data"));
        assert!(within(Path::new("/data"), "/data/x"));
        assert!(within(Path::new("/data/"), "/data/x"));
        assert!(!within(Path::new("/data"), "/database"));
        assert!(!within(Path::new("/data"), "/"));
    }
}
