//! Safe extraction of a layer tarball into its own directory.
//!
//! Every entry's parent is opened with openat2(RESOLVE_BENEATH |
//! RESOLVE_NO_SYMLINKS) relative to the layer directory, and the entry is
//! created with *at calls on that fd: a `..`, an absolute path or a symlink
//! planted by an earlier entry can never make a write land outside the
//! layer. The tar crate's own `unpack` is not used: its checks and its
//! behaviour on hostile input are not ours to choose, and it costs extra
//! path walks per entry.

use crate::util::openat2;
use nix::errno::Errno;
use nix::sys::stat::{Mode, SFlag};
use std::ffi::CString;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum LayerError {
    #[error("layer entry {path:?} escapes the layer: {why}")]
    Escape { path: String, why: String },
    #[error("layer entry {path:?}: {source}")]
    Entry {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("reading layer: {0}")]
    Read(#[source] std::io::Error),
    /// Go's archive/tar words for a stream that is no tar (see
    /// `go_tar_error`).
    #[error("{0}")]
    Tar(&'static str),
    #[error("layer entry {path:?}: unsupported: {why}")]
    Unsupported { path: String, why: String },
}

#[derive(Debug, Default, Clone)]
pub struct LayerStats {
    /// Sum of regular file sizes (what docker shows as a layer's size).
    pub size: u64,
    pub entries: u64,
}

const WHITEOUT_PREFIX: &str = ".wh.";
const OPAQUE: &str = ".wh..wh..opq";
const RESOLVE: u64 =
    libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_MAGICLINKS;

fn lossy(p: &[u8]) -> String {
    String::from_utf8_lossy(p).into_owned()
}

fn escape(path: &[u8], why: &str) -> LayerError {
    LayerError::Escape {
        path: lossy(path),
        why: why.into(),
    }
}

fn entry_err(path: &[u8], e: impl Into<std::io::Error>) -> LayerError {
    LayerError::Entry {
        path: lossy(path),
        source: e.into(),
    }
}

/// Split a tar path into its components: "./" prefixes and empty or "."
/// components dropped; ".." and absolute paths refused.
fn components(raw: &[u8]) -> Result<Vec<&[u8]>, LayerError> {
    if raw.first() == Some(&b'/') {
        return Err(escape(raw, "absolute path"));
    }
    let mut out = Vec::new();
    for c in raw.split(|b| *b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => return Err(escape(raw, "\"..\" component")),
            _ => {
                if c.contains(&0) {
                    return Err(escape(raw, "NUL in path"));
                }
                out.push(c)
            }
        }
    }
    Ok(out)
}

fn cstr(b: &[u8]) -> CString {
    // Components never contain NUL (checked in `components`).
    CString::new(b).unwrap_or_default()
}

/// Open (creating as needed) the directory `comps` under `root`, never
/// following a symlink.
fn open_dir(root: BorrowedFd<'_>, comps: &[&[u8]], raw: &[u8]) -> Result<OwnedFd, LayerError> {
    let rel = if comps.is_empty() {
        b".".to_vec()
    } else {
        comps.join(&b'/')
    };
    match openat2(root, &rel, libc::O_PATH | libc::O_DIRECTORY, RESOLVE) {
        Ok(fd) => return Ok(fd),
        Err(Errno::ENOENT) => {}
        Err(e) => return Err(walk_error(raw, e)),
    }
    let mut dir = openat2(root, b".", libc::O_PATH | libc::O_DIRECTORY, RESOLVE)
        .map_err(|e| entry_err(raw, e))?;
    for c in comps {
        match nix::sys::stat::mkdirat(
            Some(dir.as_raw_fd()),
            &*cstr(c),
            Mode::from_bits_truncate(0o755),
        ) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(entry_err(raw, e)),
        }
        dir = openat2(dir.as_fd(), c, libc::O_PATH | libc::O_DIRECTORY, RESOLVE)
            .map_err(|e| walk_error(raw, e))?;
    }
    Ok(dir)
}

fn walk_error(raw: &[u8], e: Errno) -> LayerError {
    match e {
        Errno::ELOOP | Errno::EXDEV => escape(raw, "a parent directory is a symlink"),
        Errno::ENOTDIR => escape(raw, "a parent is not a directory"),
        e => entry_err(raw, e),
    }
}

/// What is at `name` in `dir` now (without following a symlink).
fn existing(dir: &OwnedFd, name: &CString) -> Option<libc::mode_t> {
    nix::sys::stat::fstatat(
        Some(dir.as_raw_fd()),
        name.as_c_str(),
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .ok()
    .map(|st| st.st_mode & libc::S_IFMT)
}

/// Remove whatever is at `name` (a directory recursively), never following
/// symlinks.
fn remove_at(
    dir: &OwnedFd,
    name: &CString,
    kind: libc::mode_t,
    raw: &[u8],
) -> Result<(), LayerError> {
    if kind == libc::S_IFDIR {
        // remove_dir_all does not follow symlinks inside the tree; the fd
        // path pins the parent we resolved.
        let p = format!(
            "/proc/self/fd/{}/{}",
            dir.as_raw_fd(),
            name.to_string_lossy()
        );
        std::fs::remove_dir_all(p).map_err(|e| entry_err(raw, e))
    } else {
        nix::unistd::unlinkat(
            Some(dir.as_raw_fd()),
            name.as_c_str(),
            nix::unistd::UnlinkatFlags::NoRemoveDir,
        )
        .map_err(|e| entry_err(raw, e))
    }
}

fn set_xattr(
    dir: &OwnedFd,
    name: &CString,
    key: &str,
    value: &[u8],
    raw: &[u8],
) -> Result<(), LayerError> {
    let path = CString::new(format!(
        "/proc/self/fd/{}/{}",
        dir.as_raw_fd(),
        name.to_string_lossy()
    ))
    .map_err(|_| escape(raw, "NUL in path"))?;
    let k = CString::new(key).map_err(|_| escape(raw, "NUL in xattr name"))?;
    // SAFETY: valid C strings and a buffer of the given length.
    let r = unsafe {
        libc::lsetxattr(
            path.as_ptr(),
            k.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    if r != 0 {
        let e = Errno::last();
        // Filesystems without xattr support lose them, as with docker.
        if e != Errno::ENOTSUP {
            return Err(entry_err(raw, e));
        }
    }
    Ok(())
}

struct Meta {
    uid: u32,
    gid: u32,
    mode: u32,
    mtime: i64,
}

fn set_owner_mode(
    dir: &OwnedFd,
    name: &CString,
    m: &Meta,
    symlink: bool,
    raw: &[u8],
) -> Result<(), LayerError> {
    let d = Some(dir.as_raw_fd());
    nix::unistd::fchownat(
        d,
        name.as_c_str(),
        Some(m.uid.into()),
        Some(m.gid.into()),
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .map_err(|e| entry_err(raw, e))?;
    if !symlink {
        // After chown, which clears setuid/setgid.
        nix::sys::stat::fchmodat(
            d,
            name.as_c_str(),
            Mode::from_bits_truncate(m.mode),
            nix::sys::stat::FchmodatFlags::FollowSymlink,
        )
        .map_err(|e| entry_err(raw, e))?;
    }
    Ok(())
}

fn set_mtime(
    dir: BorrowedFd<'_>,
    name: &CString,
    mtime: i64,
    raw: &[u8],
) -> Result<(), LayerError> {
    let t = nix::sys::time::TimeSpec::new(mtime, 0);
    nix::sys::stat::utimensat(
        Some(dir.as_raw_fd()),
        name.as_c_str(),
        &t,
        &t,
        nix::sys::stat::UtimensatFlags::NoFollowSymlink,
    )
    .map_err(|e| entry_err(raw, e))
}

/// A tar header the tar crate could not read. Its messages quote the
/// header's raw bytes (a hostile archive's terminal escapes and newlines):
/// say what Go's archive/tar says, as docker does. Errors of the reader
/// under it (EIO, a broken pipe) keep their cause.
fn header_error(e: std::io::Error) -> LayerError {
    match go_tar_error(&e) {
        Some(go) => LayerError::Tar(go),
        None => LayerError::Read(e),
    }
}

/// What Go's archive/tar says for a stream the tar crate could not read
/// (docker prints it alone): `unexpected EOF` for one that ends early,
/// `archive/tar: invalid tar header` otherwise. None for an error of the
/// reader underneath (EIO, a broken pipe), which keeps its cause.
pub fn go_tar_error(e: &std::io::Error) -> Option<&'static str> {
    if e.raw_os_error().is_some() {
        return None;
    }
    let text = e.to_string();
    Some(
        if e.kind() == std::io::ErrorKind::UnexpectedEof
            || text.contains("entire block")
            || text.contains("unexpected EOF")
        {
            "unexpected EOF"
        } else {
            "archive/tar: invalid tar header"
        },
    )
}

/// Extract an *uncompressed* tar stream into `dest` (an existing, empty
/// directory). Whiteouts become overlayfs whiteouts. On error the caller
/// removes `dest`.
pub fn extract(tar: impl Read, dest: &Path) -> Result<LayerStats, LayerError> {
    extract_recording(tar, dest, None)
}

/// As [`extract`], telling `split` (which sees the same stream through its
/// tee) where file contents lie and what gets removed.
pub fn extract_recording(
    tar: impl Read,
    dest: &Path,
    split: Option<&split::Recorder>,
) -> Result<LayerStats, LayerError> {
    let removing = |path: Vec<u8>, kind: libc::mode_t, raw: &[u8]| -> Result<(), LayerError> {
        match split {
            Some(r) => r
                .before_remove(&path, kind == libc::S_IFDIR)
                .map_err(|e| entry_err(raw, e)),
            None => Ok(()),
        }
    };
    let rel = |parents: &[&[u8]], name: &[u8]| -> Vec<u8> {
        let mut p = parents.join(&b'/');
        if !p.is_empty() {
            p.push(b'/');
        }
        p.extend_from_slice(name);
        p
    };
    let root: OwnedFd = File::open(dest).map_err(|e| entry_err(b".", e))?.into();
    let mut stats = LayerStats::default();
    let mut archive = tar::Archive::new(tar);
    // Directory mtimes are set last: creating children changes them.
    let mut dir_times: Vec<(Vec<u8>, i64)> = Vec::new();
    let mut buf = vec![0u8; 256 * 1024];
    // The last parent directory, reused while entries stay in it. Cleared
    // whenever an entry could change what a cached path names.
    let mut cached: Option<(Vec<u8>, OwnedFd)> = None;

    for entry in archive.entries().map_err(header_error)? {
        let mut entry = entry.map_err(header_error)?;
        let raw = entry.path_bytes().into_owned();
        let kind = entry.header().entry_type();
        if matches!(
            kind,
            tar::EntryType::XGlobalHeader
                | tar::EntryType::XHeader
                | tar::EntryType::GNULongName
                | tar::EntryType::GNULongLink
        ) {
            continue;
        }
        stats.entries = stats.entries.saturating_add(1);
        let comps = components(&raw)?;
        let h = entry.header();
        let old = h.as_old();
        let meta = Meta {
            uid: numeric(h.uid(), &old.uid, &raw)? as u32,
            gid: numeric(h.gid(), &old.gid, &raw)? as u32,
            mode: numeric(h.mode().map(u64::from), &old.mode, &raw)? as u32 & 0o7777,
            mtime: numeric(h.mtime(), &old.mtime, &raw)? as i64,
        };
        let Some((last, parents)) = comps.split_last() else {
            // "." itself: the layer root's own metadata.
            if kind == tar::EntryType::Directory {
                nix::unistd::fchownat(
                    Some(root.as_raw_fd()),
                    ".",
                    Some(meta.uid.into()),
                    Some(meta.gid.into()),
                    nix::fcntl::AtFlags::empty(),
                )
                .map_err(|e| entry_err(&raw, e))?;
                nix::sys::stat::fchmodat(
                    Some(root.as_raw_fd()),
                    ".",
                    Mode::from_bits_truncate(meta.mode),
                    nix::sys::stat::FchmodatFlags::FollowSymlink,
                )
                .map_err(|e| entry_err(&raw, e))?;
                dir_times.push((b".".to_vec(), meta.mtime));
            }
            continue;
        };
        let parent_key = parents.join(&b'/');
        let dir = match cached.take() {
            Some((k, fd)) if k == parent_key => fd,
            _ => open_dir(root.as_fd(), parents, &raw)?,
        };
        let last_s = std::str::from_utf8(last).unwrap_or("");

        // Whiteouts.
        if last_s == OPAQUE {
            let fd = openat2(
                dir.as_fd(),
                b".",
                libc::O_RDONLY | libc::O_DIRECTORY,
                RESOLVE,
            )
            .map_err(|e| entry_err(&raw, e))?;
            let k = c"trusted.overlay.opaque";
            // SAFETY: valid fd, C string and buffer.
            let r =
                unsafe { libc::fsetxattr(fd.as_raw_fd(), k.as_ptr(), b"y".as_ptr().cast(), 1, 0) };
            if r != 0 {
                return Err(entry_err(&raw, Errno::last()));
            }
            cached = Some((parent_key, dir));
            continue;
        }
        if last.starts_with(b".wh..wh.") {
            // Other AUFS metadata (.wh..wh.plnk, ...): meaningless here.
            cached = Some((parent_key, dir));
            continue;
        }
        if let Some(hidden) = last.strip_prefix(WHITEOUT_PREFIX.as_bytes()) {
            if hidden.is_empty() || hidden == b"." || hidden == b".." {
                return Err(escape(&raw, "bad whiteout name"));
            }
            let name = cstr(hidden);
            if let Some(k) = existing(&dir, &name) {
                removing(rel(parents, hidden), k, &raw)?;
                remove_at(&dir, &name, k, &raw)?;
            }
            mknod(&dir, &name, SFlag::S_IFCHR, 0, 0, &raw)?;
            cached = Some((parent_key, dir));
            continue;
        }

        let name = cstr(last);
        let prev = existing(&dir, &name);
        let is_dir = kind == tar::EntryType::Directory;
        if let Some(k) = prev {
            if !(is_dir && k == libc::S_IFDIR) {
                removing(rel(parents, last), k, &raw)?;
                remove_at(&dir, &name, k, &raw)?;
            }
        }
        let mut symlink = false;
        match kind {
            tar::EntryType::Directory => {
                if prev != Some(libc::S_IFDIR) {
                    nix::sys::stat::mkdirat(
                        Some(dir.as_raw_fd()),
                        name.as_c_str(),
                        Mode::from_bits_truncate(0o700),
                    )
                    .map_err(|e| entry_err(&raw, e))?;
                }
                dir_times.push((comps.join(&b'/'), meta.mtime));
            }
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                let fd = nix::fcntl::openat(
                    Some(dir.as_raw_fd()),
                    name.as_c_str(),
                    nix::fcntl::OFlag::O_CREAT
                        | nix::fcntl::OFlag::O_EXCL
                        | nix::fcntl::OFlag::O_WRONLY
                        | nix::fcntl::OFlag::O_NOFOLLOW
                        | nix::fcntl::OFlag::O_CLOEXEC,
                    Mode::from_bits_truncate(0o600),
                )
                .map_err(|e| entry_err(&raw, e))?;
                // SAFETY: openat just returned this fd; the File owns it.
                let mut f = unsafe { <File as std::os::fd::FromRawFd>::from_raw_fd(fd) };
                if let (Some(r), false) = (split, kind == tar::EntryType::GNUSparse) {
                    // Sparse entries stay verbatim: what they extract to is
                    // not what the tar holds.
                    r.begin_file(&rel(parents, last), entry.size())
                        .map_err(|e| entry_err(&raw, e))?;
                }
                loop {
                    let n = entry.read(&mut buf).map_err(LayerError::Read)?;
                    if n == 0 {
                        break;
                    }
                    let data = crate::util::filled(&buf, n).map_err(LayerError::Read)?;
                    f.write_all(data).map_err(|e| entry_err(&raw, e))?;
                    stats.size = stats.size.saturating_add(n as u64);
                }
            }
            tar::EntryType::Symlink => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| entry_err(&raw, Errno::EINVAL))?;
                nix::unistd::symlinkat(&*cstr(&target), Some(dir.as_raw_fd()), name.as_c_str())
                    .map_err(|e| entry_err(&raw, e))?;
                symlink = true;
            }
            tar::EntryType::Link => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| entry_err(&raw, Errno::EINVAL))?
                    .into_owned();
                let tcomps = components(&target)
                    .map_err(|_| escape(&raw, "hardlink target outside the layer"))?;
                let Some((tlast, tparents)) = tcomps.split_last() else {
                    return Err(escape(&raw, "hardlink to the layer root"));
                };
                let tdir = open_dir(root.as_fd(), tparents, &raw)?;
                nix::unistd::linkat(
                    Some(tdir.as_raw_fd()),
                    &*cstr(tlast),
                    Some(dir.as_raw_fd()),
                    name.as_c_str(),
                    nix::fcntl::AtFlags::empty(),
                )
                .map_err(|e| entry_err(&raw, e))?;
                // A hard link shares the target's inode and metadata.
                cached = Some((parent_key, dir));
                continue;
            }
            tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => {
                let h = entry.header();
                let major = h.device_major().ok().flatten().unwrap_or(0);
                let minor = h.device_minor().ok().flatten().unwrap_or(0);
                let k = match kind {
                    tar::EntryType::Char => SFlag::S_IFCHR,
                    tar::EntryType::Block => SFlag::S_IFBLK,
                    _ => SFlag::S_IFIFO,
                };
                mknod(&dir, &name, k, major, minor, &raw)?;
            }
            other => {
                return Err(LayerError::Unsupported {
                    path: lossy(&raw),
                    why: format!("entry type {other:?}"),
                })
            }
        }
        set_owner_mode(&dir, &name, &meta, symlink, &raw)?;
        if let Some(exts) = entry.pax_extensions().map_err(LayerError::Read)? {
            for ext in exts {
                let ext = ext.map_err(LayerError::Read)?;
                if let Some(key) = ext.key().ok().and_then(|k| k.strip_prefix("SCHILY.xattr.")) {
                    set_xattr(&dir, &name, key, ext.value_bytes(), &raw)?;
                }
            }
        }
        if !is_dir {
            set_mtime(dir.as_fd(), &name, meta.mtime, &raw)?;
        }
        if symlink || prev == Some(libc::S_IFDIR) {
            // A symlink may now stand where a cached path pointed.
            cached = None;
        } else {
            cached = Some((parent_key, dir));
        }
    }
    drop(cached);
    for (path, mtime) in dir_times.iter().rev() {
        let comps = components(path)?;
        let (parent, name): (&[&[u8]], CString) = match comps.split_last() {
            Some((l, p)) => (p, cstr(l)),
            None => (&[], cstr(b".")),
        };
        // The directory may have been replaced by a later entry.
        if let Ok(d) = openat2(
            root.as_fd(),
            &if parent.is_empty() {
                b".".to_vec()
            } else {
                parent.join(&b'/')
            },
            libc::O_PATH | libc::O_DIRECTORY,
            RESOLVE,
        ) {
            if existing(&d, &name) == Some(libc::S_IFDIR) {
                set_mtime(d.as_fd(), &name, *mtime, path)?;
            }
        }
    }
    Ok(stats)
}

/// A numeric header field; an empty one (all NULs or spaces, as some
/// writers leave uid/gid) reads as 0, as Go's archive/tar reads it.
fn numeric(v: std::io::Result<u64>, field: &[u8], raw: &[u8]) -> Result<u64, LayerError> {
    match v {
        Ok(n) => Ok(n),
        Err(_) if field.iter().all(|b| *b == 0 || *b == b' ') => Ok(0),
        Err(e) => Err(entry_err(raw, e)),
    }
}

fn mknod(
    dir: &OwnedFd,
    name: &CString,
    kind: SFlag,
    major: u32,
    minor: u32,
    raw: &[u8],
) -> Result<(), LayerError> {
    let dev = nix::sys::stat::makedev(major as u64, minor as u64);
    // SAFETY: valid dir fd and C string.
    let r = unsafe { libc::mknodat(dir.as_raw_fd(), name.as_ptr(), kind.bits(), dev) };
    if r != 0 {
        return Err(entry_err(raw, Errno::last()));
    }
    Ok(())
}

/// Remove a (possibly partial) layer dir. Symlinks inside are removed, never
/// followed.
pub fn remove_tree(dest: &Path) -> std::io::Result<()> {
    match std::fs::remove_dir_all(dest) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        r => r,
    }
}

pub mod split;

#[cfg(test)]
mod tests;
