//! Writing entries into a directory: the destination of every copy that
//! does not end in a tar stream, on the host or in a container.
//!
//! Everything below the extraction directory is reached from its fd one
//! name at a time with O_NOFOLLOW: an entry never passes through a symlink,
//! whether the archive made it a moment ago (symlink-then-file) or it was
//! there before, or was swapped in while we work. Names are cleaned as
//! docker cleans them: a leading "/" is dropped (so an absolute name lands
//! below the extraction directory), ".." that climbs out is refused. Files
//! are created with O_EXCL after removing what was there, and their
//! owner, mode and capabilities set through the new fd; other objects are
//! changed through an fd of their own (checked not to be a symlink) or
//! with *_NOFOLLOW calls, so nothing is ever done through a name that a
//! process in the container could have turned into a link to the host.

use super::entry::{sys, Entry, Kind, Sink, CAPS_XATTR};
use super::resolve::{on_pseudo_fs, open_at};
use super::CpError;
use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{FileStat, Mode, SFlag};
use nix::unistd::{Gid, Uid};
use std::ffi::OsStr;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

/// Who owns what the copy creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// The entries' own uid/gid (`-a`).
    Keep,
    /// Fixed ids: a container's root (0:0) for copies into a container.
    Fixed(u32, u32),
    /// Whoever runs the copy (no chown): copies onto the host.
    Caller,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Host,
    Container,
}

pub struct Extractor {
    base: OwnedFd,
    /// The extraction directory as the user knows it, for messages.
    base_display: String,
    side: Side,
    owner: Owner,
    /// The directories of the last entry's parent, below `base`: entries
    /// come depth first, so this is all the caching they need, with a
    /// number of fds bounded by the depth.
    stack: Vec<(Vec<u8>, OwnedFd)>,
    /// Directory times are set last: creating their children changes them.
    dirs: Vec<(Vec<Vec<u8>>, i64)>,
    pub warnings: Vec<String>,
    /// One copy buffer for all files: io::copy's 8 KiB is slow for big ones.
    buf: Vec<u8>,
}

/// docker's filepath.Clean of an archive name, then the checks of its
/// Untar: components of a name that stays below the extraction directory,
/// or an error for one that climbs out.
pub fn clean_name(name: &[u8], dest: &str) -> Result<Vec<Vec<u8>>, CpError> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    let mut climbs = false;
    for c in name.split(|b| *b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => {
                if out.pop().is_none() {
                    climbs = true;
                }
            }
            c => out.push(c.to_vec()),
        }
    }
    // An absolute name cleans to a path below "/": docker joins it to the
    // destination. A relative one that climbs out is a breakout.
    if climbs && name.first() != Some(&b'/') {
        return Err(CpError::Breakout {
            name: String::from_utf8_lossy(name).into_owned(),
            dest: dest.to_string(),
        });
    }
    Ok(out)
}

fn join(parts: &[Vec<u8>]) -> String {
    let v: Vec<&[u8]> = parts.iter().map(|p| p.as_slice()).collect();
    String::from_utf8_lossy(&v.join(&b'/')).into_owned()
}

impl Extractor {
    /// `base` must be a directory fd (O_PATH is enough).
    pub fn new(
        base: OwnedFd,
        base_display: String,
        side: Side,
        owner: Owner,
    ) -> Result<Self, CpError> {
        if side == Side::Container && on_pseudo_fs(base.as_fd()) {
            return Err(CpError::PseudoFs(base_display));
        }
        Ok(Extractor {
            base,
            base_display,
            side,
            owner,
            stack: Vec::new(),
            dirs: Vec::new(),
            warnings: Vec::new(),
            buf: Vec::new(),
        })
    }

    fn display(&self, parts: &[Vec<u8>]) -> String {
        let rel = join(parts);
        if rel.is_empty() {
            self.base_display.clone()
        } else if self.base_display.ends_with('/') {
            format!("{}{rel}", self.base_display)
        } else {
            format!("{}/{rel}", self.base_display)
        }
    }

    /// The ids a new object gets, or None to leave it to the kernel.
    fn ids(&self, e: &Entry) -> Option<(u32, u32)> {
        match self.owner {
            Owner::Keep => Some((e.uid, e.gid)),
            Owner::Fixed(u, g) => Some((u, g)),
            Owner::Caller => None,
        }
    }

    /// A file changing hands keeps no setuid/setgid bit nor file
    /// capabilities for the new owner: a container's setuid-1000 file
    /// copied out by root must not become setuid root on the host.
    fn safe_mode(&self, e: &Entry) -> (u32, bool) {
        let (uid, gid) = self
            .ids(e)
            .unwrap_or((Uid::effective().as_raw(), Gid::effective().as_raw()));
        let mut mode = e.mode;
        let mut caps = e.caps.is_some();
        if e.kind == Kind::File {
            if uid != e.uid {
                mode &= !libc::S_ISUID;
                caps = false;
            }
            if gid != e.gid {
                mode &= !libc::S_ISGID;
            }
        }
        (mode, caps)
    }

    /// The directory `parts` (below base), created as needed (mode 0755,
    /// owned as docker's implied directories: the destination's root),
    /// never through a symlink.
    fn parent(&mut self, parts: &[Vec<u8>], create: bool) -> Result<OwnedFd, CpError> {
        let keep = self
            .stack
            .iter()
            .zip(parts)
            .take_while(|((a, _), b)| a == *b)
            .count();
        self.stack.truncate(keep);
        // `here`: the parts down to the one opened next.
        for here in (keep..parts.len()).filter_map(|i| parts.get(..=i)) {
            let Some(part) = here.last() else {
                continue;
            };
            let name = OsStr::from_bytes(part);
            let cur = match self.stack.last() {
                Some((_, fd)) => fd.as_fd(),
                None => self.base.as_fd(),
            };
            let flags = OFlag::O_PATH | OFlag::O_DIRECTORY;
            let fd = match open_at(cur, name, flags) {
                Ok(fd) => fd,
                Err(Errno::ENOENT) if create => {
                    match nix::sys::stat::mkdirat(
                        Some(cur.as_raw_fd()),
                        name,
                        Mode::from_bits_truncate(0o755),
                    ) {
                        Ok(()) | Err(Errno::EEXIST) => {}
                        Err(e) => return Err(sys(format!("mkdir {}", self.display(here)))(e)),
                    }
                    let fd = open_at(cur, name, flags)
                        .map_err(sys(format!("open {}", self.display(here))))?;
                    // Whatever this process's umask.
                    chmod_fd(fd.as_fd(), 0o755)
                        .map_err(sys(format!("chmod {}", self.display(here))))?;
                    if self.side == Side::Container && self.owner != Owner::Caller {
                        let (u, g) = match self.owner {
                            Owner::Fixed(u, g) => (u, g),
                            _ => (0, 0),
                        };
                        chown_fd(fd.as_fd(), u, g)
                            .map_err(sys(format!("chown {}", self.display(here))))?;
                    }
                    fd
                }
                Err(Errno::ENOTDIR) => {
                    let st = lstat_at(cur, name).ok();
                    if st.map(|s| is_fmt(&s, SFlag::S_IFLNK)).unwrap_or(false) {
                        return Err(CpError::ThroughSymlink(self.display(here)));
                    }
                    return Err(sys(format!("open {}", self.display(here)))(Errno::ENOTDIR));
                }
                Err(e) => return Err(sys(format!("open {}", self.display(here)))(e)),
            };
            if self.side == Side::Container && on_pseudo_fs(fd.as_fd()) {
                return Err(CpError::PseudoFs(self.display(here)));
            }
            self.stack.push((part.clone(), fd));
        }
        // A duplicate, so the caller may go on changing `self`.
        match self.stack.last() {
            Some((_, fd)) => fd.as_fd(),
            None => self.base.as_fd(),
        }
        .try_clone_to_owned()
        .map_err(|e| CpError::io("duplicating a directory fd", e))
    }

    /// Set the times of the directories, deepest first. Call once all
    /// entries are in.
    pub fn finish(mut self) -> Result<Vec<String>, CpError> {
        let dirs = std::mem::take(&mut self.dirs);
        for (parts, mtime) in dirs.iter().rev() {
            let Some((last, parent_parts)) = parts.split_last() else {
                // The extraction directory itself.
                let _ = set_times(self.base.as_fd(), OsStr::new("."), *mtime);
                continue;
            };
            // Skipped if something replaced it meanwhile.
            if let Ok(parent) = self.parent(parent_parts, false) {
                let _ = set_times(parent.as_fd(), OsStr::from_bytes(last), *mtime);
            }
        }
        Ok(std::mem::take(&mut self.warnings))
    }

    fn write_file(
        &mut self,
        parent: BorrowedFd<'_>,
        name: &OsStr,
        e: &Entry,
        data: &mut dyn Read,
        shown: &str,
        in_place: bool,
    ) -> Result<(), CpError> {
        let flags = if in_place {
            OFlag::O_WRONLY | OFlag::O_TRUNC
        } else {
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL
        };
        let fd = nix::fcntl::openat(
            Some(parent.as_raw_fd()),
            name,
            flags | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC | OFlag::O_NOCTTY,
            Mode::from_bits_truncate(0o600),
        )
        .map_err(sys(format!("open {shown}")))?;
        // SAFETY: openat just returned this fd and nothing else owns it.
        let fd = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
        let mut f = std::fs::File::from(fd);
        if self.buf.is_empty() {
            self.buf = vec![0u8; 256 * 1024];
        }
        let mut n = 0u64;
        // n stays at most e.size: each read is at most what is left.
        while n < e.size {
            let left = usize::try_from(e.size.saturating_sub(n)).unwrap_or(usize::MAX);
            let want = self.buf.len().min(left);
            let Some(chunk) = self.buf.get_mut(..want) else {
                break;
            };
            let got = match data.read(chunk) {
                Ok(0) => break,
                Ok(k) => k,
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(CpError::io(format!("read {shown}"), err)),
            };
            let got_data = crate::util::filled(chunk, got)
                .map_err(|err| CpError::io(format!("read {shown}"), err))?;
            f.write_all(got_data)
                .map_err(|err| CpError::io(format!("write {shown}"), err))?;
            n = n.saturating_add(got as u64);
        }
        if n != e.size {
            return Err(CpError::Tar(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("{shown}: archive ended inside the file"),
            )));
        }
        f.flush()
            .map_err(|err| CpError::io(format!("write {shown}"), err))?;
        if in_place {
            // A mount point (a bind-mounted /etc/hosts): its owner and mode
            // belong to the file on the host; only the content changes.
            return Ok(());
        }
        let (mode, caps) = self.safe_mode(e);
        if let Some((u, g)) = self.ids(e) {
            chown_fd(f.as_fd(), u, g).map_err(sys(format!("chown {shown}")))?;
        }
        if let (true, Some(c)) = (caps, &e.caps) {
            set_caps(f.as_fd(), c).map_err(sys(format!("setxattr {shown}")))?;
        }
        nix::sys::stat::fchmod(f.as_raw_fd(), Mode::from_bits_truncate(mode))
            .map_err(sys(format!("chmod {shown}")))?;
        let t = nix::sys::time::TimeSpec::new(e.mtime, 0);
        nix::sys::stat::futimens(f.as_raw_fd(), &t, &t).map_err(sys(format!("utimes {shown}")))
    }
}

fn is_fmt(st: &FileStat, t: SFlag) -> bool {
    st.st_mode & SFlag::S_IFMT.bits() == t.bits()
}

fn lstat_at(dir: BorrowedFd<'_>, name: &OsStr) -> Result<FileStat, Errno> {
    nix::sys::stat::fstatat(Some(dir.as_raw_fd()), name, AtFlags::AT_SYMLINK_NOFOLLOW)
}

fn chown_fd(fd: BorrowedFd<'_>, uid: u32, gid: u32) -> Result<(), Errno> {
    // AT_EMPTY_PATH: works for O_PATH fds as for open files.
    nix::unistd::fchownat(
        Some(fd.as_raw_fd()),
        "",
        Some(Uid::from_raw(uid)),
        Some(Gid::from_raw(gid)),
        AtFlags::AT_SYMLINK_NOFOLLOW | AtFlags::AT_EMPTY_PATH,
    )
}

/// chmod of the object an fd (O_PATH included) refers to, through its
/// /proc/self/fd link, which the kernel follows to that very inode. Never
/// for a symlink: the walk would go on to the link's target.
fn chmod_fd(fd: BorrowedFd<'_>, mode: u32) -> Result<(), Errno> {
    let st = nix::sys::stat::fstat(fd.as_raw_fd())?;
    if is_fmt(&st, SFlag::S_IFLNK) {
        return Err(Errno::ELOOP);
    }
    nix::sys::stat::fchmodat(
        None,
        format!("/proc/self/fd/{}", fd.as_raw_fd()).as_str(),
        Mode::from_bits_truncate(mode),
        nix::sys::stat::FchmodatFlags::FollowSymlink,
    )
}

fn chown_at(dir: BorrowedFd<'_>, name: &OsStr, uid: u32, gid: u32) -> Result<(), Errno> {
    nix::unistd::fchownat(
        Some(dir.as_raw_fd()),
        name,
        Some(Uid::from_raw(uid)),
        Some(Gid::from_raw(gid)),
        AtFlags::AT_SYMLINK_NOFOLLOW,
    )
}

fn set_times(dir: BorrowedFd<'_>, name: &OsStr, mtime: i64) -> Result<(), Errno> {
    let t = nix::sys::time::TimeSpec::new(mtime, 0);
    nix::sys::stat::utimensat(
        Some(dir.as_raw_fd()),
        name,
        &t,
        &t,
        nix::sys::stat::UtimensatFlags::NoFollowSymlink,
    )
}

fn set_caps(fd: BorrowedFd<'_>, value: &[u8]) -> Result<(), Errno> {
    let name = std::ffi::CString::new(CAPS_XATTR).map_err(|_| Errno::EINVAL)?;
    // SAFETY: valid fd, NUL-terminated name, value valid for its length.
    let r = unsafe {
        libc::fsetxattr(
            fd.as_raw_fd(),
            name.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    if r != 0 {
        return Err(Errno::last());
    }
    Ok(())
}

/// docker's check of a symlink's target: a relative one that climbs above
/// the extraction directory is refused (an absolute one is left alone).
fn symlink_escapes(parts: &[Vec<u8>], target: &[u8]) -> bool {
    if target.first() == Some(&b'/') {
        return false;
    }
    // Path lengths are far from i64's limits: nothing saturates.
    let mut depth = (parts.len() as i64).saturating_sub(1);
    for c in target.split(|b| *b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => {
                depth = depth.saturating_sub(1);
                if depth < 0 {
                    return true;
                }
            }
            _ => depth = depth.saturating_add(1),
        }
    }
    false
}

impl Sink for Extractor {
    fn put(&mut self, e: &Entry, data: &mut dyn Read) -> Result<(), CpError> {
        let parts = clean_name(&e.name, &self.base_display)?;
        let shown = self.display(&parts);
        let Some((last, parent_parts)) = parts.split_last() else {
            // The extraction directory itself (the "." of `dir/.`): docker
            // leaves an existing directory as it is.
            if e.kind == Kind::Dir {
                return Ok(());
            }
            return Err(CpError::OverwriteDir {
                path: shown,
                dest: self.base_display.clone(),
            });
        };
        if matches!(e.kind, Kind::Char(_) | Kind::Block(_)) && self.side == Side::Host {
            // A device node made by a container, copied out by root, would
            // give whoever can reach the copy the host's disk or memory.
            self.warnings.push(format!(
                "skipped device node {shown}: rdock creates no device nodes on the host"
            ));
            return Ok(());
        }
        let ids = self.ids(e);
        let (mode, _) = self.safe_mode(e);
        let base_display = self.base_display.clone();
        let parent_fd = self.parent(parent_parts, true)?;
        let parent = parent_fd.as_fd();
        let name = OsStr::from_bytes(last);
        let mut in_place = false;
        match lstat_at(parent, name) {
            Ok(st) => {
                let is_dir = is_fmt(&st, SFlag::S_IFDIR);
                match (is_dir, e.kind == Kind::Dir) {
                    (true, true) => {
                        // Merge: the directory takes the entry's metadata.
                        let fd = open_at(parent, name, OFlag::O_RDONLY | OFlag::O_DIRECTORY)
                            .map_err(sys(format!("open {shown}")))?;
                        if let Some((u, g)) = ids {
                            chown_fd(fd.as_fd(), u, g).map_err(sys(format!("chown {shown}")))?;
                        }
                        nix::sys::stat::fchmod(fd.as_raw_fd(), Mode::from_bits_truncate(mode))
                            .map_err(sys(format!("chmod {shown}")))?;
                        self.dirs.push((parts.clone(), e.mtime));
                        return Ok(());
                    }
                    (true, false) => {
                        return Err(CpError::OverwriteDir {
                            path: shown,
                            dest: base_display,
                        })
                    }
                    (false, true) => {
                        return Err(CpError::OverwriteNonDir {
                            path: shown,
                            dest: base_display,
                        })
                    }
                    (false, false) => {
                        match nix::unistd::unlinkat(
                            Some(parent.as_raw_fd()),
                            name,
                            nix::unistd::UnlinkatFlags::NoRemoveDir,
                        ) {
                            Ok(()) | Err(Errno::ENOENT) => {}
                            // A file that is a mount point (the bind-mounted
                            // /etc/hosts of a container): write it in place,
                            // where docker fails.
                            Err(Errno::EBUSY)
                                if e.kind == Kind::File && is_fmt(&st, SFlag::S_IFREG) =>
                            {
                                in_place = true;
                            }
                            Err(err) => return Err(sys(format!("remove {shown}"))(err)),
                        }
                    }
                }
            }
            Err(Errno::ENOENT) => {}
            Err(err) => return Err(sys(format!("lstat {shown}"))(err)),
        }
        match &e.kind {
            Kind::File => self.write_file(parent, name, e, data, &shown, in_place),
            Kind::Dir => {
                nix::sys::stat::mkdirat(
                    Some(parent.as_raw_fd()),
                    name,
                    Mode::from_bits_truncate(0o700),
                )
                .map_err(sys(format!("mkdir {shown}")))?;
                let fd = open_at(parent, name, OFlag::O_RDONLY | OFlag::O_DIRECTORY)
                    .map_err(sys(format!("open {shown}")))?;
                if let Some((u, g)) = ids {
                    chown_fd(fd.as_fd(), u, g).map_err(sys(format!("chown {shown}")))?;
                }
                nix::sys::stat::fchmod(fd.as_raw_fd(), Mode::from_bits_truncate(mode))
                    .map_err(sys(format!("chmod {shown}")))?;
                self.dirs.push((parts.clone(), e.mtime));
                Ok(())
            }
            Kind::Symlink(target) => {
                if symlink_escapes(&parts, target) {
                    return Err(CpError::BadSymlink {
                        path: shown,
                        target: String::from_utf8_lossy(target).into_owned(),
                    });
                }
                nix::unistd::symlinkat(OsStr::from_bytes(target), Some(parent.as_raw_fd()), name)
                    .map_err(sys(format!("symlink {shown}")))?;
                if let Some((u, g)) = ids {
                    chown_at(parent, name, u, g).map_err(sys(format!("chown {shown}")))?;
                }
                set_times(parent, name, e.mtime).map_err(sys(format!("utimes {shown}")))
            }
            Kind::Hardlink(target) => {
                let tparts = match clean_name(target, &base_display) {
                    Ok(p) if !p.is_empty() => p,
                    _ => {
                        return Err(CpError::BadHardlink {
                            path: shown,
                            target: String::from_utf8_lossy(target).into_owned(),
                        })
                    }
                };
                // The link target's directory, resolved as strictly; the
                // current entry's parent is re-resolved afterwards.
                let (tlast, tparent_parts) = tparts.split_last().ok_or(CpError::BadHardlink {
                    path: shown.clone(),
                    target: String::from_utf8_lossy(target).into_owned(),
                })?;
                let tparent = self.parent(tparent_parts, false)?;
                nix::unistd::linkat(
                    Some(tparent.as_raw_fd()),
                    OsStr::from_bytes(tlast),
                    Some(parent.as_raw_fd()),
                    name,
                    AtFlags::empty(),
                )
                .map_err(sys(format!("link {shown}")))
            }
            Kind::Fifo | Kind::Char(_) | Kind::Block(_) => {
                let (t, dev) = match e.kind {
                    Kind::Char(d) => (SFlag::S_IFCHR, d),
                    Kind::Block(d) => (SFlag::S_IFBLK, d),
                    _ => (SFlag::S_IFIFO, 0),
                };
                nix::sys::stat::mknodat(
                    Some(parent.as_raw_fd()),
                    name,
                    t,
                    Mode::from_bits_truncate(0o600),
                    dev,
                )
                .map_err(sys(format!("mknod {shown}")))?;
                let fd =
                    open_at(parent, name, OFlag::O_PATH).map_err(sys(format!("open {shown}")))?;
                if let Some((u, g)) = ids {
                    chown_fd(fd.as_fd(), u, g).map_err(sys(format!("chown {shown}")))?;
                }
                chmod_fd(fd.as_fd(), e.mode & 0o777).map_err(sys(format!("chmod {shown}")))?;
                set_times(parent, name, e.mtime).map_err(sys(format!("utimes {shown}")))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    fn ent(name: &str, kind: Kind) -> Entry {
        Entry {
            name: name.as_bytes().to_vec(),
            kind,
            mode: 0o644,
            uid: 1234,
            gid: 5678,
            mtime: 1_600_000_000,
            size: 0,
            caps: None,
        }
    }

    fn file(name: &str, data: &str) -> (Entry, Vec<u8>) {
        let mut e = ent(name, Kind::File);
        e.size = data.len() as u64;
        (e, data.as_bytes().to_vec())
    }

    fn extractor(d: &std::path::Path, owner: Owner, side: Side) -> Extractor {
        let fd: OwnedFd = std::fs::File::open(d).unwrap().into();
        Extractor::new(fd, d.display().to_string(), side, owner).unwrap()
    }

    #[test]
    fn names_are_cleaned_as_docker_does() {
        let n = |s: &str| clean_name(s.as_bytes(), "/d").map(|v| join(&v));
        assert_eq!(n("a/./b//c").unwrap(), "a/b/c");
        assert_eq!(n("/etc/passwd").unwrap(), "etc/passwd");
        assert_eq!(n("a/../b").unwrap(), "b");
        assert_eq!(n("./").unwrap(), "");
        assert_eq!(n("/../../x").unwrap(), "x");
        assert!(matches!(n("../x"), Err(CpError::Breakout { .. })));
        assert!(matches!(n("a/../../x"), Err(CpError::Breakout { .. })));
        assert!(symlink_escapes(&[b"a".to_vec()], b"../x"));
        assert!(!symlink_escapes(&[b"a".to_vec(), b"b".to_vec()], b"../x"));
        assert!(!symlink_escapes(&[b"a".to_vec()], b"/etc/passwd"));
    }

    #[test]
    fn entries_never_pass_through_symlinks() {
        let d = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let dest = d.path().join("dest");
        std::fs::create_dir(&dest).unwrap();
        std::os::unix::fs::symlink(outside.path(), dest.join("pre")).unwrap();
        let mut x = extractor(&dest, Owner::Caller, Side::Host);
        // Symlink first, then a file through it.
        x.put(
            &ent(
                "link",
                Kind::Symlink(outside.path().as_os_str().as_bytes().to_vec()),
            ),
            &mut std::io::empty(),
        )
        .unwrap();
        let (e, data) = file("link/evil", "x");
        assert!(matches!(
            x.put(&e, &mut &data[..]),
            Err(CpError::ThroughSymlink(_))
        ));
        let (e, data) = file("pre/evil", "x");
        assert!(matches!(
            x.put(&e, &mut &data[..]),
            Err(CpError::ThroughSymlink(_))
        ));
        // A directory entry over an existing symlink is docker's error.
        assert!(matches!(
            x.put(&ent("pre", Kind::Dir), &mut std::io::empty()),
            Err(CpError::OverwriteNonDir { .. })
        ));
        // An existing symlink as the final name is replaced, not followed.
        let (e, data) = file("pre", "replaced");
        x.put(&e, &mut &data[..]).unwrap();
        x.finish().unwrap();
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
        assert_eq!(
            std::fs::read_to_string(dest.join("pre")).unwrap(),
            "replaced"
        );
    }

    #[test]
    fn owners_modes_and_setuid() {
        let d = tempfile::tempdir().unwrap();
        let mut x = extractor(d.path(), Owner::Fixed(0, 0), Side::Container);
        let (mut e, data) = file("sub/dir/suid", "#!");
        e.mode = 0o4755;
        x.put(&e, &mut &data[..]).unwrap();
        let (mut e, data) = file("sub/dir/keep", "k");
        e.mode = 0o4755;
        e.uid = 0;
        e.gid = 0;
        x.put(&e, &mut &data[..]).unwrap();
        let mut dir = ent("sub", Kind::Dir);
        dir.mode = 0o750;
        x.put(&dir, &mut std::io::empty()).unwrap();
        x.put(&ent("fifo", Kind::Fifo), &mut std::io::empty())
            .unwrap();
        x.finish().unwrap();
        let m = std::fs::metadata(d.path().join("sub/dir/suid")).unwrap();
        // Changed hands: the setuid bit is gone.
        assert_eq!(
            (m.uid(), m.gid(), m.permissions().mode() & 0o7777),
            (0, 0, 0o755)
        );
        assert_eq!(m.mtime(), 1_600_000_000);
        let m = std::fs::metadata(d.path().join("sub/dir/keep")).unwrap();
        assert_eq!(m.permissions().mode() & 0o7777, 0o4755);
        let m = std::fs::metadata(d.path().join("sub")).unwrap();
        assert_eq!(m.permissions().mode() & 0o7777, 0o750);
        assert_eq!(m.mtime(), 1_600_000_000);
        let m = std::fs::metadata(d.path().join("sub/dir")).unwrap();
        assert_eq!(m.permissions().mode() & 0o7777, 0o755);
        let m = std::fs::symlink_metadata(d.path().join("fifo")).unwrap();
        assert!(std::os::unix::fs::FileTypeExt::is_fifo(&m.file_type()));
        assert_eq!(m.permissions().mode() & 0o777, 0o644);

        let d = tempfile::tempdir().unwrap();
        let mut x = extractor(d.path(), Owner::Keep, Side::Container);
        let (e, data) = file("f", "1");
        x.put(&e, &mut &data[..]).unwrap();
        x.put(
            &ent("h", Kind::Hardlink(b"f".to_vec())),
            &mut std::io::empty(),
        )
        .unwrap();
        assert!(matches!(
            x.put(
                &ent("h2", Kind::Hardlink(b"../f".to_vec())),
                &mut std::io::empty()
            ),
            Err(CpError::Breakout { .. } | CpError::BadHardlink { .. })
        ));
        x.finish().unwrap();
        let m = std::fs::metadata(d.path().join("h")).unwrap();
        assert_eq!((m.uid(), m.gid(), m.nlink()), (1234, 5678, 2));
    }

    #[test]
    fn devices_are_not_made_on_the_host() {
        let d = tempfile::tempdir().unwrap();
        let mut x = extractor(d.path(), Owner::Caller, Side::Host);
        x.put(
            &ent("sda", Kind::Block(nix::sys::stat::makedev(8, 0))),
            &mut std::io::empty(),
        )
        .unwrap();
        let w = x.finish().unwrap();
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(!d.path().join("sda").exists());
    }

    #[test]
    fn a_short_archive_is_an_error() {
        let d = tempfile::tempdir().unwrap();
        let mut x = extractor(d.path(), Owner::Caller, Side::Host);
        let (mut e, data) = file("f", "abc");
        e.size = 10;
        assert!(x.put(&e, &mut &data[..]).is_err());
    }
}
