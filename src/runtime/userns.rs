//! User-namespace remapping (daemon.json `"userns-remap"`, as docker's):
//! container root is an unprivileged host uid from /etc/subuid and
//! /etc/subgid.
//!
//! How rdock does it (docker instead keeps chowned copies of every layer):
//! the init builds the rootfs while still privileged on the host, with the
//! image layers as *idmapped* mounts (so a file owned by host root shows as
//! owned by the container's root), then enters the user namespace right
//! before it drops to the container's user and execs. The user namespace
//! comes from a short-lived helper process the parent creates with the
//! mapping written; its fd is all the init needs.

use super::{Result, RuntimeError};
use serde::{Deserialize, Serialize};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

/// One line of a uid_map or gid_map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdMap {
    pub container: u32,
    pub host: u32,
    pub size: u32,
}

/// A container's id mapping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Remap {
    pub uids: Vec<IdMap>,
    pub gids: Vec<IdMap>,
}

/// daemon.json's `"userns-remap"` (rdock's settings file, as for the
/// bridge), if set.
pub fn configured() -> Result<Option<String>> {
    let v = crate::util::daemon_json().map_err(invalid)?;
    Ok(v.get("userns-remap")
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
        .map(str::to_string))
}

fn invalid(msg: impl Into<String>) -> RuntimeError {
    RuntimeError::InvalidArg(msg.into())
}

/// Subordinate ranges of `name` (or of its numeric id) in a subuid-style
/// file, as container-contiguous maps starting at container id 0.
fn ranges(file: &str, keys: &[String]) -> Result<Vec<IdMap>> {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let mut out = Vec::new();
    let mut next = 0u32;
    for line in text.lines() {
        let f: Vec<&str> = line.trim().split(':').collect();
        let [who, start, count] = f.as_slice() else {
            continue;
        };
        if !keys.iter().any(|k| k == who) {
            continue;
        }
        let (Ok(host), Ok(size)) = (start.parse::<u32>(), count.parse::<u32>()) else {
            continue;
        };
        out.push(IdMap {
            container: next,
            host,
            size,
        });
        next = next.saturating_add(size);
    }
    Ok(out)
}

fn passwd_lookup(file: &str, key: &str) -> Option<(String, u32)> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        let (name, id) = (f.first()?, f.get(2)?.parse::<u32>().ok()?);
        (*name == key || key.parse::<u32>().ok() == Some(id)).then(|| (name.to_string(), id))
    })
}

/// docker's `userns-remap` value ("user", "user:group", "uid:gid";
/// "default" is docker's `dockremap` user) resolved against /etc/subuid
/// and /etc/subgid, which may name the user or its number.
pub fn resolve_setting(value: &str) -> Result<Remap> {
    let (user, group) = match value {
        "default" => ("dockremap", "dockremap"),
        v => v.split_once(':').unwrap_or((v, v)),
    };
    let keys = |db: &str, who: &str| -> Vec<String> {
        let mut k = vec![who.to_string()];
        if let Some((name, id)) = passwd_lookup(db, who) {
            k.push(name);
            k.push(id.to_string());
        }
        k
    };
    let uids = ranges("/etc/subuid", &keys("/etc/passwd", user))?;
    let gids = ranges("/etc/subgid", &keys("/etc/group", group))?;
    if uids.is_empty() {
        return Err(invalid(format!(
            "userns-remap: no subordinate uid ranges for {user:?} in /etc/subuid"
        )));
    }
    if gids.is_empty() {
        return Err(invalid(format!(
            "userns-remap: no subordinate gid ranges for {group:?} in /etc/subgid"
        )));
    }
    Ok(Remap { uids, gids })
}

impl Remap {
    /// The host uid/gid of the container's root.
    pub fn root(&self) -> (u32, u32) {
        let first = |m: &[IdMap]| m.first().map_or(0, |m| m.host);
        (first(&self.uids), first(&self.gids))
    }

    fn map_text(maps: &[IdMap]) -> String {
        maps.iter()
            .map(|m| format!("{} {} {}\n", m.container, m.host, m.size))
            .collect()
    }

    /// A user namespace with this mapping, held by an fd: a helper child
    /// unshares it, we write its maps, keep a handle and let it go.
    pub fn create_ns(&self) -> Result<OwnedFd> {
        let sys = |what: &str| {
            let e = nix::errno::Errno::last();
            RuntimeError::sys(format!("user namespace: {what}"), e)
        };
        let (ready_r, ready_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
            .map_err(|e| RuntimeError::sys("pipe", e))?;
        let (go_r, go_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
            .map_err(|e| RuntimeError::sys("pipe", e))?;
        // SAFETY: the child only calls async-signal-safe functions (unshare,
        // write, read, _exit) before it exits.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(sys("fork"));
        }
        if pid == 0 {
            // SAFETY: raw syscalls on fds we own, then _exit.
            unsafe {
                // Our copies of the parent's ends, or the read below never
                // sees EOF.
                libc::close(go_w.as_raw_fd());
                libc::close(ready_r.as_raw_fd());
                let ok = libc::unshare(libc::CLONE_NEWUSER) == 0;
                let b = [u8::from(ok)];
                libc::write(ready_w.as_raw_fd(), b.as_ptr().cast(), 1);
                let mut x = [0u8; 1];
                libc::read(go_r.as_raw_fd(), x.as_mut_ptr().cast(), 1);
                libc::_exit(0);
            }
        }
        drop(ready_w);
        drop(go_r);
        let reap = || {
            let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None);
        };
        let mut b = [0u8; 1];
        let n = nix::unistd::read(ready_r.as_raw_fd(), &mut b).unwrap_or(0);
        if n != 1 || b[0] != 1 {
            drop(go_w);
            reap();
            return Err(RuntimeError::Other(
                "user namespace: the helper could not unshare one".into(),
            ));
        }
        let write = |file: &str, data: &str| {
            std::fs::write(format!("/proc/{pid}/{file}"), data)
                .map_err(|e| RuntimeError::io(format!("writing {file} of the user namespace"), e))
        };
        let res = write("uid_map", &Self::map_text(&self.uids))
            .and_then(|_| write("gid_map", &Self::map_text(&self.gids)))
            .and_then(|_| {
                std::fs::File::open(format!("/proc/{pid}/ns/user"))
                    .map(OwnedFd::from)
                    .map_err(|e| RuntimeError::io("opening the user namespace", e))
            });
        drop(go_w);
        reap();
        res
    }
}

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;

// Mount API constants (linux/mount.h), not in the libc crate yet.
const OPEN_TREE_CLONE: u32 = 1;
const AT_RECURSIVE: u32 = 0x8000;
const AT_EMPTY_PATH: u32 = 0x1000;
const MOUNT_ATTR_IDMAP: u64 = 0x0010_0000;
const MOVE_MOUNT_F_EMPTY_PATH: u32 = 0x4;
const MOVE_MOUNT_T_EMPTY_PATH: u32 = 0x40;

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// Bind `src` (recursively) onto `dst` through the mapping of `userns`
/// (an idmapped mount, 5.12+).
pub fn idmapped_bind(src: &Path, dst: &Path, userns: RawFd) -> Result<()> {
    let tree = idmapped_tree(src, userns, true, false)?;
    let cdst = CString::new(dst.as_os_str().as_bytes())
        .map_err(|_| RuntimeError::Other(format!("bad path {}", dst.display())))?;
    // SAFETY: a valid detached-mount fd, an empty path with
    // MOVE_MOUNT_F_EMPTY_PATH, and a valid C string.
    let r = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            tree.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_FDCWD,
            cdst.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH,
        )
    };
    if r < 0 {
        return Err(RuntimeError::sys(
            format!("mounting the idmapped {}", dst.display()),
            nix::errno::Errno::last(),
        ));
    }
    Ok(())
}

/// An OCI `idmap`/`ridmap` bind: `src` onto the directory or file `dst`
/// (an fd, O_PATH) through `userns`'s mapping; `rbind`: with its
/// submounts; `ridmap`: the submounts idmapped too.
pub fn idmapped_bind_at(
    src: &Path,
    dst: RawFd,
    userns: RawFd,
    rbind: bool,
    ridmap: bool,
) -> Result<()> {
    let tree = idmapped_tree(src, userns, rbind, ridmap)?;
    // SAFETY: two valid fds and empty paths with the matching flags.
    let r = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            tree.as_raw_fd(),
            c"".as_ptr(),
            dst,
            c"".as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
        )
    };
    if r < 0 {
        return Err(RuntimeError::sys(
            format!("mounting the idmapped {}", src.display()),
            nix::errno::Errno::last(),
        ));
    }
    Ok(())
}

/// A detached copy of the mount tree at `src` (`recursive`: with its
/// submounts), idmapped through `userns` (`recursive_idmap`: all of it).
fn idmapped_tree(
    src: &Path,
    userns: RawFd,
    recursive: bool,
    recursive_idmap: bool,
) -> Result<OwnedFd> {
    let csrc = CString::new(src.as_os_str().as_bytes())
        .map_err(|_| RuntimeError::Other(format!("bad path {}", src.display())))?;
    let sys = |what: String| RuntimeError::sys(what, nix::errno::Errno::last());
    let rec = if recursive { AT_RECURSIVE } else { 0 };
    // SAFETY: valid C string; returns a new fd or -1.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_open_tree,
            libc::AT_FDCWD,
            csrc.as_ptr(),
            OPEN_TREE_CLONE | rec | libc::O_CLOEXEC as u32,
        )
    };
    if fd < 0 {
        return Err(sys(format!("open_tree {}", src.display())));
    }
    // SAFETY: the kernel just returned this fd.
    let tree = unsafe { OwnedFd::from_raw_fd(fd as RawFd) };
    let attr = MountAttr {
        attr_set: MOUNT_ATTR_IDMAP,
        attr_clr: 0,
        propagation: 0,
        userns_fd: userns as u64,
    };
    let flags = AT_EMPTY_PATH | if recursive_idmap { AT_RECURSIVE } else { 0 };
    // SAFETY: a valid detached-mount fd, an empty path with AT_EMPTY_PATH,
    // and a mount_attr of the size passed.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            tree.as_raw_fd(),
            c"".as_ptr(),
            flags,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if r < 0 {
        return Err(sys(format!("idmapping {}", src.display())));
    }
    Ok(tree)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_by_name_or_number() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("subuid");
        std::fs::write(
            &f,
            "alice:100000:65536\n1234:300000:1000\n1234:400000:500\n",
        )
        .unwrap();
        let f = f.to_str().unwrap();
        assert_eq!(
            ranges(f, &["alice".into()]).unwrap(),
            vec![IdMap {
                container: 0,
                host: 100000,
                size: 65536
            }]
        );
        assert_eq!(
            ranges(f, &["bob".into(), "1234".into()]).unwrap(),
            vec![
                IdMap {
                    container: 0,
                    host: 300000,
                    size: 1000
                },
                IdMap {
                    container: 1000,
                    host: 400000,
                    size: 500
                },
            ]
        );
    }

    /// A real user namespace with the mapping, and an idmapped mount that
    /// shows a root-owned file as owned by the mapped id.
    #[test]
    fn namespace_and_idmapped_mount() {
        let remap = Remap {
            uids: vec![IdMap {
                container: 0,
                host: 200000,
                size: 1000,
            }],
            gids: vec![IdMap {
                container: 0,
                host: 200000,
                size: 1000,
            }],
        };
        let ns = remap.create_ns().unwrap();
        let src = tempfile::tempdir().unwrap();
        std::fs::write(src.path().join("f"), "x").unwrap();
        let dst = tempfile::tempdir().unwrap();
        // In a private mount namespace of a thread of our own (unshare of a
        // mount namespace is per thread), so nothing leaks; a fork of the
        // multithreaded test harness could deadlock in malloc.
        let (s, d, fd) = (src.path().to_owned(), dst.path().to_owned(), ns.as_raw_fd());
        let uid = std::thread::spawn(move || {
            use std::os::unix::fs::MetadataExt;
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS).unwrap();
            nix::mount::mount(
                None::<&str>,
                "/",
                None::<&str>,
                nix::mount::MsFlags::MS_REC | nix::mount::MsFlags::MS_PRIVATE,
                None::<&str>,
            )
            .unwrap();
            idmapped_bind(&s, &d, fd).unwrap();
            std::fs::metadata(d.join("f")).unwrap().uid()
        })
        .join()
        .unwrap();
        assert_eq!(uid, 200000);
    }
}
