//! Path resolution inside a container's root, one component at a time from
//! file descriptors, in user space.
//!
//! Why not one openat2(RESOLVE_IN_ROOT) call: `cp` needs more than the
//! object. docker's rules want the canonical path a symlink leads to (a
//! dangling link as destination names the file to create; the read-only
//! volume check works on the resolved path), and a missing path must say
//! how far it got. The walk gives the same guarantee as RESOLVE_IN_ROOT:
//! every step is an `openat(dir, name, O_PATH|O_NOFOLLOW)` of a single
//! component from a directory fd already inside the root; a symlink's text
//! is read from its own fd and spliced into the remaining components, an
//! absolute one restarting at the root fd; ".." pops our own stack of fds
//! and never goes above the root. No path string is ever handed to the
//! kernel to resolve, so neither `../..` chains, absolute links, /proc
//! magic links (read as plain text, then resolved inside the root) nor a
//! link swapped in mid-walk can lead outside. Mount points are crossed as
//! the kernel crosses them for the container (volumes, tmpfs), since
//! lookups from fds of its tree see its mounts.

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::{FileStat, Mode, SFlag};
use std::ffi::{OsStr, OsString};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

/// Linux's own limit on symlinks in one resolution.
const MAX_LINKS: usize = 40;

/// An object found inside the root.
#[derive(Debug)]
pub struct Found {
    /// O_PATH fd of the directory that holds it (the root itself for "/").
    pub parent: OwnedFd,
    /// Its name in `parent`; "." when the object is the root.
    pub name: OsString,
    /// Canonical absolute path inside the container.
    pub path: String,
    /// lstat of the object.
    pub st: FileStat,
}

#[derive(Debug)]
pub enum Lookup {
    Found(Found),
    /// Nothing there. `path` is where the walk was heading, symlinks
    /// followed as far as they exist (docker's FollowSymlinkInScope for a
    /// broken link), the rest cleaned lexically.
    Missing {
        path: String,
    },
}

pub fn is_type(st: &FileStat, t: SFlag) -> bool {
    st.st_mode & SFlag::S_IFMT.bits() == t.bits()
}

pub fn fstat_fd(fd: BorrowedFd<'_>) -> Result<FileStat, Errno> {
    nix::sys::stat::fstat(fd.as_raw_fd())
}

/// openat(2) of one name relative to `dir`, never following a final symlink.
pub fn open_at(dir: BorrowedFd<'_>, name: &OsStr, flags: OFlag) -> Result<OwnedFd, Errno> {
    let fd = nix::fcntl::openat(
        Some(dir.as_raw_fd()),
        name,
        flags | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    // SAFETY: openat just returned this fd and nothing else owns it.
    Ok(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) })
}

/// The target of a symlink opened with O_PATH|O_NOFOLLOW.
fn read_link_fd(fd: BorrowedFd<'_>) -> Result<Vec<u8>, Errno> {
    let mut buf = vec![0u8; (libc::PATH_MAX as usize).saturating_add(1)];
    // SAFETY: readlinkat with an empty path reads the link `fd` refers to
    // (O_PATH symlink fds support this); the buffer is valid for its length.
    let n = unsafe {
        libc::readlinkat(
            fd.as_raw_fd(),
            c"".as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if n < 0 {
        return Err(Errno::last());
    }
    buf.truncate(n as usize);
    Ok(buf)
}

fn components(p: &[u8]) -> impl Iterator<Item = &[u8]> {
    p.split(|b| *b == b'/')
        .filter(|c| !c.is_empty() && *c != b".")
}

fn join_names(stack: &[(Vec<u8>, OwnedFd)], more: &[&[u8]]) -> String {
    let mut out = Vec::new();
    for (name, _) in stack.iter().skip(1) {
        out.push(b'/');
        out.extend_from_slice(name);
    }
    let mut parts: Vec<&[u8]> = Vec::new();
    for c in more {
        if *c == b".." {
            parts.pop();
        } else {
            parts.push(c);
        }
    }
    for c in parts {
        out.push(b'/');
        out.extend_from_slice(c);
    }
    if out.is_empty() {
        out.push(b'/');
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Resolve `path` (absolute or relative to "/", inside the container)
/// under `root`. Symlinks in the middle are always followed, inside the
/// root; the last component's only when `follow_final`.
pub fn lookup(root: BorrowedFd<'_>, path: &str, follow_final: bool) -> Result<Lookup, Errno> {
    walk(root, path, follow_final, false)
}

/// As `lookup`, but a symlink that leads out of `root` (an absolute
/// target, or ".." above the root) is EXDEV rather than resolved inside
/// it: a build context's links must stay in the context.
pub fn lookup_confined(
    root: BorrowedFd<'_>,
    path: &str,
    follow_final: bool,
) -> Result<Lookup, Errno> {
    walk(root, path, follow_final, true)
}

fn walk(
    root: BorrowedFd<'_>,
    path: &str,
    follow_final: bool,
    confined: bool,
) -> Result<Lookup, Errno> {
    let root_dup = root.try_clone_to_owned().map_err(|_| Errno::EMFILE)?;
    let mut stack: Vec<(Vec<u8>, OwnedFd)> = vec![(Vec::new(), root_dup)];
    let mut queue: std::collections::VecDeque<Vec<u8>> =
        components(path.as_bytes()).map(|c| c.to_vec()).collect();
    let mut links = 0usize;
    while let Some(comp) = queue.pop_front() {
        if comp == b".." {
            if stack.len() > 1 {
                stack.pop();
            } else if confined {
                return Err(Errno::EXDEV);
            }
            continue;
        }
        let last = queue.is_empty();
        let cur = match stack.last() {
            Some((_, fd)) => fd.as_fd(),
            None => return Err(Errno::EINVAL),
        };
        let fd = match open_at(cur, OsStr::from_bytes(&comp), OFlag::O_PATH) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) => {
                let mut rest: Vec<&[u8]> = vec![&comp];
                rest.extend(queue.iter().map(|c| c.as_slice()));
                return Ok(Lookup::Missing {
                    path: join_names(&stack, &rest),
                });
            }
            Err(e) => return Err(e),
        };
        let st = fstat_fd(fd.as_fd())?;
        if is_type(&st, SFlag::S_IFLNK) && (!last || follow_final) {
            links = links.saturating_add(1);
            if links > MAX_LINKS {
                return Err(Errno::ELOOP);
            }
            let target = read_link_fd(fd.as_fd())?;
            if target.first() == Some(&b'/') {
                if confined {
                    return Err(Errno::EXDEV);
                }
                stack.truncate(1);
            }
            for c in components(&target).collect::<Vec<_>>().into_iter().rev() {
                queue.push_front(c.to_vec());
            }
            continue;
        }
        if !last {
            if !is_type(&st, SFlag::S_IFDIR) {
                return Err(Errno::ENOTDIR);
            }
            stack.push((comp, fd));
            continue;
        }
        let path = join_names(&stack, &[&comp]);
        let parent = match stack.pop() {
            Some((_, p)) => p,
            None => return Err(Errno::EINVAL),
        };
        return Ok(Lookup::Found(Found {
            parent,
            name: OsString::from_vec(comp),
            path,
            st,
        }));
    }
    // Nothing left: the object is the directory on top of the stack.
    let path = join_names(&stack, &[]);
    let (_, fd) = stack.pop().ok_or(Errno::EINVAL)?;
    let st = fstat_fd(fd.as_fd())?;
    Ok(Lookup::Found(Found {
        parent: fd,
        name: OsString::from("."),
        path,
        st,
    }))
}

impl Found {
    /// Open the object itself (never through a symlink).
    pub fn open(&self, flags: OFlag) -> Result<OwnedFd, Errno> {
        open_at(self.parent.as_fd(), &self.name, flags)
    }
    pub fn is_dir(&self) -> bool {
        is_type(&self.st, SFlag::S_IFDIR)
    }
}

/// Kernel pseudo filesystems: a container's /proc, /sys, cgroup, devpts,
/// mqueue... What docker's view of a container shows there is the empty
/// directory of its image; rdock reads them as empty and never writes there.
pub fn on_pseudo_fs(fd: BorrowedFd<'_>) -> bool {
    const PSEUDO: &[i64] = &[
        0x9fa0,      // proc
        0x6265_6572, // sysfs
        0x0027_e0eb, // cgroup
        0x6367_7270, // cgroup2
        0x1cd1,      // devpts
        0x1980_0202, // mqueue
        0x7363_6673, // securityfs
        0x6462_6720, // debugfs
        0x7472_6163, // tracefs
        0xcafe_4a11, // bpf
        0x6165_676c, // pstore
        0xf97c_ff8c, // selinuxfs
        0xde5e_81e4, // efivarfs
        0x6265_6570, // configfs
        0x6573_5543, // fusectl
        0x4249_4e4d, // binfmt_misc
        0x6e73_6673, // nsfs
    ];
    // SAFETY: statfs is plain data, filled by the kernel for a valid fd.
    let mut sfs: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: fstatfs on a valid fd (O_PATH fds are accepted).
    if unsafe { libc::fstatfs(fd.as_raw_fd(), &mut sfs) } != 0 {
        return false;
    }
    PSEUDO.contains(&(sfs.f_type as i64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn root(d: &std::path::Path) -> OwnedFd {
        std::fs::File::open(d).unwrap().into()
    }

    fn found(l: Lookup) -> Found {
        match l {
            Lookup::Found(f) => f,
            Lookup::Missing { path } => panic!("missing {path}"),
        }
    }

    #[test]
    fn symlinks_resolve_inside_the_root() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        std::fs::create_dir_all(r.join("etc")).unwrap();
        std::fs::create_dir_all(r.join("usr/lib")).unwrap();
        std::fs::write(r.join("etc/passwd"), "container").unwrap();
        symlink("/etc/passwd", r.join("abs")).unwrap();
        symlink("../../../../../etc/passwd", r.join("usr/rel")).unwrap();
        symlink("/", r.join("usr/up")).unwrap();
        symlink("usr/lib", r.join("lib")).unwrap();
        symlink("/nowhere/file", r.join("dangling")).unwrap();
        symlink("loop", r.join("loop")).unwrap();
        let root = root(r);
        for p in ["/abs", "usr/rel", "/usr/up/etc/passwd", "/../../etc/passwd"] {
            let f = found(lookup(root.as_fd(), p, true).unwrap());
            assert_eq!(f.path, "/etc/passwd", "{p}");
            let fd = f.open(OFlag::O_RDONLY).unwrap();
            let mut s = String::new();
            std::io::Read::read_to_string(&mut std::fs::File::from(fd), &mut s).unwrap();
            assert_eq!(s, "container", "{p}");
        }
        // Without following, the link itself.
        let f = found(lookup(root.as_fd(), "/abs", false).unwrap());
        assert!(is_type(&f.st, SFlag::S_IFLNK));
        assert_eq!(f.path, "/abs");
        // Symlinked parents.
        let f = found(lookup(root.as_fd(), "/lib/", true).unwrap());
        assert_eq!(f.path, "/usr/lib");
        assert!(f.is_dir());
        match lookup(root.as_fd(), "/dangling", true).unwrap() {
            Lookup::Missing { path } => assert_eq!(path, "/nowhere/file"),
            Lookup::Found(f) => panic!("found {}", f.path),
        }
        match lookup(root.as_fd(), "/lib/x/../y", true).unwrap() {
            Lookup::Missing { path } => assert_eq!(path, "/usr/lib/y"),
            Lookup::Found(f) => panic!("found {}", f.path),
        }
        assert_eq!(
            lookup(root.as_fd(), "/loop", true).unwrap_err(),
            Errno::ELOOP
        );
        assert_eq!(
            lookup(root.as_fd(), "/etc/passwd/x", true).unwrap_err(),
            Errno::ENOTDIR
        );
        let f = found(lookup(root.as_fd(), "/", true).unwrap());
        assert_eq!((f.path.as_str(), f.name.as_bytes()), ("/", &b"."[..]));
        let f = found(lookup(root.as_fd(), "/usr/..", true).unwrap());
        assert_eq!(f.path, "/");
    }
}
