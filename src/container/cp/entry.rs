//! What a copy moves: a stream of entries, as a tar archive has them. The
//! sources (a directory tree read through fds, a tar stream) produce them;
//! the sinks (a tar stream, an extraction into a directory) consume them.

use super::resolve::{fstat_fd, is_type, on_pseudo_fs, open_at};
use super::CpError;
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::{FileStat, SFlag};
use std::collections::HashMap;
use std::ffi::OsStr;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;

/// The only extended attribute carried, as docker's archives carry it:
/// file capabilities (ping, arping...).
pub const CAPS_XATTR: &str = "security.capability";
const PAX_CAPS: &str = "SCHILY.xattr.security.capability";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Symlink(Vec<u8>),
    /// A second name of a file already in the stream (its entry name).
    Hardlink(Vec<u8>),
    Fifo,
    Char(u64),
    Block(u64),
}

#[derive(Debug, Clone)]
pub struct Entry {
    /// '/'-separated path relative to the extraction directory; "." is
    /// that directory itself.
    pub name: Vec<u8>,
    pub kind: Kind,
    /// Permission bits with setuid/setgid/sticky.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: i64,
    pub size: u64,
    pub caps: Option<Vec<u8>>,
}

pub trait Sink {
    /// `data` yields exactly `e.size` bytes for a regular file, nothing else.
    fn put(&mut self, e: &Entry, data: &mut dyn Read) -> Result<(), CpError>;
}

pub fn sys(what: impl Into<String>) -> impl FnOnce(Errno) -> CpError {
    let what = what.into();
    move |errno| CpError::Sys { what, errno }
}

fn display(name: &[u8]) -> String {
    String::from_utf8_lossy(name).into_owned()
}

/// A regular file's content as exactly `size` bytes: a file that shrank
/// while being read is padded with zeros (as GNU tar does), one that grew
/// is cut, so a tar stream stays well-formed.
pub struct Exact<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Exact<R> {
    pub fn new(inner: R, size: u64) -> Self {
        Exact { inner, left: size }
    }
}

impl<R: Read> Read for Exact<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let Some(chunk) = buf.get_mut(..want) else {
            return Ok(0);
        };
        let n = match self.inner.read(chunk) {
            Ok(0) => {
                chunk.fill(0);
                want
            }
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => 0,
            Err(e) => return Err(e),
        };
        if n > want {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "read past the buffer",
            ));
        }
        // n <= want <= left.
        self.left = self.left.saturating_sub(n as u64);
        Ok(n)
    }
}

fn entry_from_stat(name: Vec<u8>, st: &FileStat, kind: Kind) -> Entry {
    Entry {
        name,
        size: if kind == Kind::File {
            st.st_size as u64
        } else {
            0
        },
        kind,
        mode: st.st_mode & 0o7777,
        uid: st.st_uid,
        gid: st.st_gid,
        mtime: st.st_mtime,
        caps: None,
    }
}

fn get_caps(fd: BorrowedFd<'_>) -> Option<Vec<u8>> {
    let name = std::ffi::CString::new(CAPS_XATTR).ok()?;
    let mut buf = vec![0u8; 256];
    // SAFETY: valid fd, NUL-terminated name, buffer valid for its length.
    let n = unsafe {
        libc::fgetxattr(
            fd.as_raw_fd(),
            name.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if n <= 0 {
        return None;
    }
    buf.truncate(n as usize);
    Some(buf)
}

/// Reads a tree through fds: each step an openat of one name with
/// O_NOFOLLOW from its directory's fd, so nothing below the top is ever
/// reached through a symlink, whoever swaps one in meanwhile.
/// See `TreeReader::filter`.
pub type PathFilter<'a> = dyn Fn(&[u8], bool) -> bool + 'a;

pub struct TreeReader<'a> {
    /// Directories on kernel pseudo filesystems read as empty (a running
    /// container's /proc, /sys...).
    pub skip_pseudo: bool,
    pub sink: &'a mut dyn Sink,
    /// Which objects below the top to read: called with the path below
    /// the top ("a/b") and whether it is a directory; false skips it (a
    /// directory with everything below it). `build` applies .dockerignore
    /// with it.
    pub filter: Option<&'a PathFilter<'a>>,
    links: HashMap<(u64, u64), Vec<u8>>,
    top_len: usize,
}

impl<'a> TreeReader<'a> {
    pub fn new(sink: &'a mut dyn Sink, skip_pseudo: bool) -> Self {
        TreeReader {
            skip_pseudo,
            sink,
            filter: None,
            links: HashMap::new(),
            top_len: 0,
        }
    }

    /// Emit `name` in `dir` ("." for `dir` itself), and everything below
    /// it, with entry names starting at `top`.
    pub fn read(&mut self, dir: BorrowedFd<'_>, name: &OsStr, top: &[u8]) -> Result<(), CpError> {
        self.top_len = top.len();
        self.visit(dir, name, top.to_vec(), true)
    }

    fn visit(
        &mut self,
        dir: BorrowedFd<'_>,
        name: &OsStr,
        arch: Vec<u8>,
        top: bool,
    ) -> Result<(), CpError> {
        let what = || display(&arch);
        let st = match nix::sys::stat::fstatat(
            Some(dir.as_raw_fd()),
            name,
            nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
        ) {
            Ok(st) => st,
            // Gone since its directory was listed: as tar, skip it.
            Err(Errno::ENOENT) if !top => return Ok(()),
            Err(e) => return Err(sys(format!("lstat {}", what()))(e)),
        };
        let fmt = SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits());
        if let (Some(filter), false) = (self.filter, top) {
            let below = arch
                .get(self.top_len.saturating_add(1)..)
                .unwrap_or_default();
            if !filter(below, fmt == SFlag::S_IFDIR) {
                return Ok(());
            }
        }
        match fmt {
            SFlag::S_IFREG => {
                // O_NONBLOCK: a FIFO swapped in for the file must not hang us.
                let fd = match open_at(
                    dir,
                    name,
                    OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_NOCTTY,
                ) {
                    Ok(fd) => fd,
                    Err(Errno::ENOENT | Errno::ELOOP) if !top => return Ok(()),
                    Err(e) => return Err(sys(format!("open {}", what()))(e)),
                };
                let st = fstat_fd(fd.as_fd()).map_err(sys(format!("stat {}", what())))?;
                if !is_type(&st, SFlag::S_IFREG) {
                    // Replaced by something else while we looked: skip.
                    return Ok(());
                }
                if st.st_nlink > 1 {
                    let key = (st.st_dev, st.st_ino);
                    if let Some(first) = self.links.get(&key) {
                        let e = entry_from_stat(arch, &st, Kind::Hardlink(first.clone()));
                        return self.sink.put(&e, &mut io::empty());
                    }
                    self.links.insert(key, arch.clone());
                }
                let mut e = entry_from_stat(arch, &st, Kind::File);
                e.caps = get_caps(fd.as_fd());
                let size = e.size;
                let mut data = Exact::new(std::fs::File::from(fd), size);
                self.sink.put(&e, &mut data)
            }
            SFlag::S_IFDIR => {
                let fd = match open_at(dir, name, OFlag::O_RDONLY | OFlag::O_DIRECTORY) {
                    Ok(fd) => fd,
                    Err(Errno::ENOENT | Errno::ENOTDIR | Errno::ELOOP) if !top => return Ok(()),
                    Err(e) => return Err(sys(format!("open {}", what()))(e)),
                };
                let st = fstat_fd(fd.as_fd()).map_err(sys(format!("stat {}", what())))?;
                self.sink.put(
                    &entry_from_stat(arch.clone(), &st, Kind::Dir),
                    &mut io::empty(),
                )?;
                if self.skip_pseudo && on_pseudo_fs(fd.as_fd()) {
                    return Ok(());
                }
                for child in list_dir(fd.as_fd()).map_err(sys(format!("reading {}", what())))? {
                    // Below "." the names are "./x", as docker's.
                    let mut a = arch.clone();
                    a.push(b'/');
                    a.extend_from_slice(&child);
                    self.visit(fd.as_fd(), OsStr::from_bytes(&child), a, false)?;
                }
                Ok(())
            }
            SFlag::S_IFLNK => {
                let target = match nix::fcntl::readlinkat(Some(dir.as_raw_fd()), name) {
                    Ok(t) => t.into_encoded_bytes(),
                    Err(Errno::ENOENT | Errno::EINVAL) if !top => return Ok(()),
                    Err(e) => return Err(sys(format!("readlink {}", what()))(e)),
                };
                self.sink.put(
                    &entry_from_stat(arch, &st, Kind::Symlink(target)),
                    &mut io::empty(),
                )
            }
            SFlag::S_IFIFO => self
                .sink
                .put(&entry_from_stat(arch, &st, Kind::Fifo), &mut io::empty()),
            SFlag::S_IFCHR => self.sink.put(
                &entry_from_stat(arch, &st, Kind::Char(st.st_rdev)),
                &mut io::empty(),
            ),
            SFlag::S_IFBLK => self.sink.put(
                &entry_from_stat(arch, &st, Kind::Block(st.st_rdev)),
                &mut io::empty(),
            ),
            // Sockets cannot travel in a tar; docker skips them too.
            _ => Ok(()),
        }
    }
}

/// The names in a directory, sorted (docker walks in lexical order too).
fn list_dir(dir: BorrowedFd<'_>) -> Result<Vec<Vec<u8>>, Errno> {
    let d = nix::dir::Dir::openat(
        Some(dir.as_raw_fd()),
        ".",
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )?;
    let mut names = Vec::new();
    for ent in d.into_iter() {
        let ent = ent?;
        let n = ent.file_name().to_bytes();
        if n != b"." && n != b".." {
            names.push(n.to_vec());
        }
    }
    names.sort();
    Ok(names)
}

/// Feed the entries of a tar stream (already decompressed) to `sink`.
/// Names are passed on as the archive has them; the extraction decides
/// what is acceptable.
pub fn read_tar(input: &mut dyn Read, sink: &mut dyn Sink) -> Result<(), CpError> {
    let mut ar = tar::Archive::new(input);
    let entries = ar.entries().map_err(CpError::Tar)?;
    for ent in entries {
        let mut ent = ent.map_err(CpError::Tar)?;
        let h = ent.header();
        let kind = match h.entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => Kind::File,
            tar::EntryType::Directory => Kind::Dir,
            tar::EntryType::Symlink | tar::EntryType::Link => {
                let target = ent
                    .link_name_bytes()
                    .map(|t| t.into_owned())
                    .unwrap_or_default();
                if h.entry_type() == tar::EntryType::Symlink {
                    Kind::Symlink(target)
                } else {
                    Kind::Hardlink(target)
                }
            }
            tar::EntryType::Fifo => Kind::Fifo,
            tar::EntryType::Char | tar::EntryType::Block => {
                let major = h.device_major().ok().flatten().unwrap_or(0);
                let minor = h.device_minor().ok().flatten().unwrap_or(0);
                let dev = nix::sys::stat::makedev(major as u64, minor as u64);
                if h.entry_type() == tar::EntryType::Char {
                    Kind::Char(dev)
                } else {
                    Kind::Block(dev)
                }
            }
            // Global headers and the like carry no file.
            tar::EntryType::XGlobalHeader
            | tar::EntryType::XHeader
            | tar::EntryType::GNULongName
            | tar::EntryType::GNULongLink => continue,
            other => {
                return Err(CpError::Tar(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("unhandled tar header type {}", other.as_byte()),
                )))
            }
        };
        let mut caps = None;
        if let Ok(Some(exts)) = ent.pax_extensions() {
            for ext in exts.flatten() {
                if ext.key() == Ok(PAX_CAPS) {
                    caps = Some(ext.value_bytes().to_vec());
                }
            }
        }
        let h = ent.header();
        let e = Entry {
            name: ent.path_bytes().into_owned(),
            size: if kind == Kind::File {
                h.size().map_err(CpError::Tar)?
            } else {
                0
            },
            kind,
            mode: h.mode().map_err(CpError::Tar)? & 0o7777,
            uid: h.uid().map_err(CpError::Tar)? as u32,
            gid: h.gid().map_err(CpError::Tar)? as u32,
            mtime: h.mtime().map_err(CpError::Tar)? as i64,
            caps,
        };
        sink.put(&e, &mut ent)?;
    }
    Ok(())
}

/// Writes the entries as a tar stream (GNU format, as `tar` reads it).
pub struct TarSink<W: Write> {
    builder: tar::Builder<W>,
}

impl<W: Write> TarSink<W> {
    pub fn new(w: W) -> Self {
        let mut builder = tar::Builder::new(w);
        builder.mode(tar::HeaderMode::Complete);
        TarSink { builder }
    }

    pub fn finish(self) -> Result<W, CpError> {
        self.builder
            .into_inner()
            .map_err(|e| CpError::io("writing the tar stream", e))
    }
}

impl<W: Write> Sink for TarSink<W> {
    fn put(&mut self, e: &Entry, data: &mut dyn Read) -> Result<(), CpError> {
        let werr = |e| CpError::io("writing the tar stream", e);
        let mut h = tar::Header::new_gnu();
        h.set_mode(e.mode);
        h.set_uid(e.uid as u64);
        h.set_gid(e.gid as u64);
        h.set_mtime(e.mtime.max(0) as u64);
        h.set_size(0);
        let mut name = e.name.clone();
        if let Some(caps) = &e.caps {
            self.builder
                .append_pax_extensions([(PAX_CAPS, caps.as_slice())])
                .map_err(werr)?;
        }
        let path = |n: &[u8]| std::path::PathBuf::from(OsStr::from_bytes(n));
        // Short names go in as they are ("./x", as docker writes them; the
        // tar crate would drop the "./"); longer ones through the crate's
        // GNU long-name entries.
        let link = match &e.kind {
            Kind::Symlink(t) | Kind::Hardlink(t) => Some(t),
            _ => None,
        };
        let dir_name = |mut n: Vec<u8>| {
            if n.last() != Some(&b'/') {
                n.push(b'/');
            }
            n
        };
        let raw_name = if e.kind == Kind::Dir {
            dir_name(name.clone())
        } else {
            name.clone()
        };
        if raw_name.len() < 100 && link.is_none_or(|l| l.len() < 100) {
            h.set_entry_type(match &e.kind {
                Kind::File => tar::EntryType::Regular,
                Kind::Dir => tar::EntryType::Directory,
                Kind::Symlink(_) => tar::EntryType::Symlink,
                Kind::Hardlink(_) => tar::EntryType::Link,
                Kind::Fifo => tar::EntryType::Fifo,
                Kind::Char(_) => tar::EntryType::Char,
                Kind::Block(_) => tar::EntryType::Block,
            });
            if let Kind::Char(dev) | Kind::Block(dev) = e.kind {
                let _ = h.set_device_major(nix::sys::stat::major(dev) as u32);
                let _ = h.set_device_minor(nix::sys::stat::minor(dev) as u32);
            }
            if e.kind == Kind::File {
                h.set_size(e.size);
            }
            {
                // Both fit: their lengths were checked above.
                let old = h.as_old_mut();
                if let Some(n) = old.name.get_mut(..raw_name.len()) {
                    n.copy_from_slice(&raw_name);
                }
                if let Some((l, slot)) =
                    link.and_then(|l| Some((l, old.linkname.get_mut(..l.len())?)))
                {
                    slot.copy_from_slice(l);
                }
            }
            h.set_cksum();
            return self.builder.append(&h, data).map_err(werr);
        }
        match &e.kind {
            Kind::File => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(e.size);
                self.builder
                    .append_data(&mut h, path(&name), data)
                    .map_err(werr)
            }
            Kind::Dir => {
                h.set_entry_type(tar::EntryType::Directory);
                name = dir_name(name);
                self.builder
                    .append_data(&mut h, path(&name), io::empty())
                    .map_err(werr)
            }
            Kind::Symlink(t) | Kind::Hardlink(t) => {
                h.set_entry_type(if matches!(e.kind, Kind::Symlink(_)) {
                    tar::EntryType::Symlink
                } else {
                    tar::EntryType::Link
                });
                self.builder
                    .append_link(&mut h, path(&name), path(t))
                    .map_err(werr)
            }
            Kind::Fifo | Kind::Char(_) | Kind::Block(_) => {
                let (t, dev) = match e.kind {
                    Kind::Char(d) => (tar::EntryType::Char, d),
                    Kind::Block(d) => (tar::EntryType::Block, d),
                    _ => (tar::EntryType::Fifo, 0),
                };
                h.set_entry_type(t);
                if dev != 0 {
                    let _ = h.set_device_major(nix::sys::stat::major(dev) as u32);
                    let _ = h.set_device_minor(nix::sys::stat::minor(dev) as u32);
                }
                self.builder
                    .append_data(&mut h, path(&name), io::empty())
                    .map_err(werr)
            }
        }
    }
}

/// Counts what a copy moved the way docker counts it: the size of the tar
/// stream that carries it (headers, data padded to 512-byte blocks, the
/// two closing blocks), reported as it goes.
pub struct Metered<'a, S: Sink + ?Sized> {
    pub inner: &'a mut S,
    pub total: u64,
    pub report: &'a mut dyn FnMut(u64),
}

fn blocks(n: u64) -> u64 {
    n.div_ceil(512).saturating_mul(512)
}

impl<S: Sink + ?Sized> Metered<'_, S> {
    /// The closing blocks of the stream.
    pub fn finish(&mut self) {
        self.total = self.total.saturating_add(1024);
        (self.report)(self.total);
    }
}

struct Counting<'a, 'b> {
    inner: &'a mut dyn Read,
    total: &'a mut u64,
    report: &'a mut (dyn FnMut(u64) + 'b),
}

impl Read for Counting<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        *self.total = self.total.saturating_add(n as u64);
        (self.report)(*self.total);
        Ok(n)
    }
}

impl<S: Sink + ?Sized> Sink for Metered<'_, S> {
    fn put(&mut self, e: &Entry, data: &mut dyn Read) -> Result<(), CpError> {
        // A count for progress: saturating is its right meaning.
        let long = |n: u64| {
            if n > 100 {
                blocks(n.saturating_add(1)).saturating_add(512)
            } else {
                0
            }
        };
        let name_len = (e.name.len() as u64).saturating_add(u64::from(e.kind == Kind::Dir));
        let mut head = long(name_len).saturating_add(512);
        if let Kind::Symlink(t) | Kind::Hardlink(t) = &e.kind {
            head = head.saturating_add(long(t.len() as u64));
        }
        if let Some(c) = &e.caps {
            let pax = (c.len() as u64)
                .saturating_add(PAX_CAPS.len() as u64)
                .saturating_add(8);
            head = head.saturating_add(blocks(pax).saturating_add(512));
        }
        self.total = self.total.saturating_add(head);
        let start = self.total;
        let mut counting = Counting {
            inner: data,
            total: &mut self.total,
            report: &mut *self.report,
        };
        self.inner.put(e, &mut counting)?;
        let moved = self.total.saturating_sub(start);
        self.total = start.saturating_add(blocks(moved.max(e.size)));
        (self.report)(self.total);
        Ok(())
    }
}
