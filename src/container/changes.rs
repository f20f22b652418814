//! What a container changed: its overlay upper dir against its image's
//! layers. `diff` lists it; `commit` writes it as a layer tar with OCI
//! whiteouts.
//!
//! rdock has no init layer (docker's holds /etc/hosts and the other mount
//! targets), so the files rdock itself puts in the upper dir as mount
//! targets are left out here: a fresh container has no changes, as with
//! docker.

use super::store::Container;
use crate::error::{Error, Result};
use crate::paths::Paths;
use std::collections::HashMap;
use std::ffi::{CString, OsStr};
use std::fs::Metadata;
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Added,
    Changed,
    Deleted,
}

impl Kind {
    /// docker's letters: A, C, D.
    pub fn letter(&self) -> char {
        match self {
            Kind::Added => 'A',
            Kind::Changed => 'C',
            Kind::Deleted => 'D',
        }
    }
}

/// Mount targets rdock creates in every container's upper dir.
const RUNTIME_FILES: &[&str] = &["/etc/hosts", "/etc/hostname", "/etc/resolv.conf"];
const RUNTIME_DIRS: &[&str] = &["/proc", "/sys", "/dev"];

/// The image layers of a container, top first.
fn lowers(paths: &Paths, c: &Container) -> Vec<PathBuf> {
    c.config
        .layers
        .iter()
        .rev()
        .map(|l| paths.layer(l.trim_start_matches("sha256:")).join("diff"))
        .collect()
}

fn is_whiteout(m: &Metadata) -> bool {
    m.file_type().is_char_device() && m.rdev() == 0
}

fn xattr(path: &Path, name: &str) -> Option<Vec<u8>> {
    let p = CString::new(path.as_os_str().as_bytes()).ok()?;
    let n = CString::new(name).ok()?;
    let mut buf = vec![0u8; 256];
    // SAFETY: valid C strings and a buffer of the given length.
    let r = unsafe { libc::lgetxattr(p.as_ptr(), n.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if r < 0 {
        return None;
    }
    buf.truncate(r as usize);
    Some(buf)
}

fn is_opaque(path: &Path) -> bool {
    xattr(path, "trusted.overlay.opaque").as_deref() == Some(b"y")
}

/// Every xattr of `path` but overlayfs' own, for the tar.
fn xattrs(path: &Path) -> Vec<(String, Vec<u8>)> {
    let Ok(p) = CString::new(path.as_os_str().as_bytes()) else {
        return Vec::new();
    };
    let mut names = vec![0u8; 4096];
    // SAFETY: valid C string and buffer.
    let r = unsafe { libc::llistxattr(p.as_ptr(), names.as_mut_ptr().cast(), names.len()) };
    if r <= 0 {
        return Vec::new();
    }
    names.truncate(r as usize);
    names
        .split(|b| *b == 0)
        .filter(|n| !n.is_empty())
        .filter_map(|n| std::str::from_utf8(n).ok())
        .filter(|n| !n.starts_with("trusted.overlay."))
        .filter_map(|n| xattr(path, n).map(|v| (n.to_string(), v)))
        .collect()
}

/// What the image's layers (top first) have at `rel` (relative, no
/// leading slash), following overlay's whiteouts and opaque dirs.
fn lower_meta(lowers: &[PathBuf], rel: &Path) -> Option<Metadata> {
    let ancestors: Vec<&Path> = {
        let mut v: Vec<&Path> = rel
            .ancestors()
            .skip(1)
            .filter(|a| !a.as_os_str().is_empty())
            .collect();
        v.reverse();
        v
    };
    for layer in lowers {
        for a in &ancestors {
            if let Ok(m) = std::fs::symlink_metadata(layer.join(a)) {
                if is_whiteout(&m) {
                    return None;
                }
            }
        }
        if let Ok(m) = std::fs::symlink_metadata(layer.join(rel)) {
            return if is_whiteout(&m) { None } else { Some(m) };
        }
        if ancestors.iter().any(|a| is_opaque(&layer.join(a))) {
            return None;
        }
    }
    None
}

/// One entry of the upper dir worth reporting or committing.
struct Entry {
    rel: PathBuf,
    meta: Metadata,
    in_lower: Option<Metadata>,
}

/// Walk the upper dir, depth first in name order, skipping rdock's mount
/// targets; a directory that exists below and only holds skipped entries
/// (copied up for a mount target) is skipped too.
fn walk(
    upper: &Path,
    rel: &Path,
    lowers: &[PathBuf],
    skip: &dyn Fn(&Path, &Metadata) -> bool,
    out: &mut Vec<Entry>,
) -> io::Result<bool> {
    let mut names: Vec<_> = std::fs::read_dir(upper.join(rel))?
        .flatten()
        .map(|e| e.file_name())
        .collect();
    names.sort();
    let mut any = false;
    for name in names {
        let r = rel.join(&name);
        let meta = std::fs::symlink_metadata(upper.join(&r))?;
        if skip(&r, &meta) {
            continue;
        }
        let in_lower = lower_meta(lowers, &r);
        let same = in_lower.as_ref().is_some_and(|l| {
            l.is_dir() && l.mode() == meta.mode() && l.uid() == meta.uid() && l.gid() == meta.gid()
        });
        let at = out.len();
        out.push(Entry {
            rel: r.clone(),
            meta: meta.clone(),
            in_lower,
        });
        if meta.is_dir() && !is_whiteout(&meta) {
            let inner = walk(upper, &r, lowers, skip, out)?;
            if !inner && same && !is_opaque(&upper.join(&r)) {
                out.remove(at);
                continue;
            }
        }
        any = true;
    }
    Ok(any)
}

fn entries(paths: &Paths, c: &Container) -> Result<Vec<Entry>> {
    let upper = c.dir.join("upper");
    let lowers = lowers(paths, c);
    let targets: Vec<PathBuf> = c
        .config
        .mounts
        .iter()
        .map(|m| m.destination.clone())
        .collect();
    let skip = |rel: &Path, meta: &Metadata| {
        let abs = Path::new("/").join(rel);
        if RUNTIME_FILES.iter().any(|f| abs == Path::new(f)) && meta.is_file() && meta.len() == 0 {
            return true;
        }
        if RUNTIME_DIRS.iter().any(|d| abs == Path::new(d)) {
            return true;
        }
        // An empty mount target that the image did not have.
        targets.contains(&abs)
            && lower_meta(&lowers, rel).is_none()
            && (meta.is_file() && meta.len() == 0
                || meta.is_dir()
                    && std::fs::read_dir(upper.join(rel)).is_ok_and(|mut d| d.next().is_none()))
    };
    let mut out = Vec::new();
    walk(&upper, Path::new(""), &lowers, &skip, &mut out)
        .map_err(|e| Error::msg(format!("reading the container's changes: {e}")))?;
    Ok(out)
}

/// `diff`: (kind, absolute path), sorted by path as docker prints them.
pub fn changes(paths: &Paths, c: &Container) -> Result<Vec<(Kind, PathBuf)>> {
    let mut v: Vec<(Kind, PathBuf)> = entries(paths, c)?
        .into_iter()
        .map(|e| {
            let kind = if is_whiteout(&e.meta) {
                Kind::Deleted
            } else if e.in_lower.is_some() {
                Kind::Changed
            } else {
                Kind::Added
            };
            (kind, Path::new("/").join(e.rel))
        })
        .collect();
    v.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(v)
}

/// A PAX extended header (xattrs as SCHILY.xattr.*), which the tar crate
/// cannot write itself.
fn append_pax<W: Write>(b: &mut tar::Builder<W>, records: &[(String, Vec<u8>)]) -> io::Result<()> {
    let mut data = Vec::new();
    for (k, v) in records {
        // "LEN KEY=VALUE\n", LEN counting itself.
        // In-memory lengths: far from saturating.
        let body = k.len().saturating_add(v.len()).saturating_add(3);
        let mut len = body.saturating_add(body.to_string().len());
        if len.to_string().len() != body.to_string().len() {
            len = len.saturating_add(1);
        }
        data.extend_from_slice(format!("{len} {k}=").as_bytes());
        data.extend_from_slice(v);
        data.push(b'\n');
    }
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::XHeader);
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_path("PaxHeaders/x")?;
    h.set_cksum();
    b.append(&h, data.as_slice())
}

fn header_for(meta: &Metadata) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_mode(meta.mode() & 0o7777);
    h.set_uid(meta.uid() as u64);
    h.set_gid(meta.gid() as u64);
    h.set_mtime(meta.mtime().max(0) as u64);
    h.set_size(0);
    h
}

/// Write the container's changes as a layer tar (OCI whiteouts: `.wh.NAME`
/// for a deletion, `.wh..wh..opq` in a directory that hides what was below).
pub fn write_layer<W: Write>(paths: &Paths, c: &Container, out: W) -> Result<W> {
    write_changes(c, &Changes::of(paths, c)?, out)
}

/// A container's changes, read once: to tell whether there are any
/// before writing them (`build` adds no layer for a step without any).
pub struct Changes(Vec<Entry>);

impl Changes {
    pub fn of(paths: &Paths, c: &Container) -> Result<Changes> {
        Ok(Changes(entries(paths, c)?))
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// `write_layer` of changes already read.
pub fn write_changes<W: Write>(c: &Container, changes: &Changes, out: W) -> Result<W> {
    let upper = c.dir.join("upper");
    let list = &changes.0;
    let err = |e: io::Error| Error::msg(format!("writing the layer: {e}"));
    let mut b = tar::Builder::new(out);
    let mut links = Links::new();
    for e in list {
        let src = upper.join(&e.rel);
        if is_whiteout(&e.meta) {
            let name = e.rel.file_name().unwrap_or(OsStr::new(""));
            let mut wh = std::ffi::OsString::from(".wh.");
            wh.push(name);
            let path = e.rel.with_file_name(wh);
            let mut h = header_for(&e.meta);
            h.set_mode(0o644);
            h.set_entry_type(tar::EntryType::Regular);
            b.append_data(&mut h, &path, io::empty()).map_err(err)?;
            continue;
        }
        append_entry(&mut b, &src, &e.rel, &e.meta, &mut links).map_err(err)?;
    }
    b.into_inner().map_err(err)
}

/// Hard links already written: (dev, inode) -> first path.
pub type Links = HashMap<(u64, u64), PathBuf>;

/// One file, directory, link, device or fifo at `src`, as `rel` in the
/// tar (with its xattrs; an opaque directory gets its `.wh..wh..opq`).
/// Sockets are not archived (as tar and docker skip them).
pub fn append_entry<W: Write>(
    b: &mut tar::Builder<W>,
    src: &Path,
    rel: &Path,
    meta: &Metadata,
    links: &mut Links,
) -> io::Result<()> {
    let ft = meta.file_type();
    let xa = xattrs(src);
    if !xa.is_empty() {
        let records: Vec<(String, Vec<u8>)> = xa
            .into_iter()
            .map(|(k, v)| (format!("SCHILY.xattr.{k}"), v))
            .collect();
        append_pax(b, &records)?;
    }
    let mut h = header_for(meta);
    if ft.is_dir() {
        h.set_entry_type(tar::EntryType::Directory);
        b.append_data(&mut h, rel, io::empty())?;
        if is_opaque(src) {
            let mut o = header_for(meta);
            o.set_mode(0o644);
            o.set_entry_type(tar::EntryType::Regular);
            b.append_data(&mut o, rel.join(".wh..wh..opq"), io::empty())?;
        }
    } else if ft.is_symlink() {
        h.set_entry_type(tar::EntryType::Symlink);
        let target = std::fs::read_link(src)?;
        b.append_link(&mut h, rel, &target)?;
    } else if ft.is_file() {
        let key = (meta.dev(), meta.ino());
        if meta.nlink() > 1 {
            if let Some(first) = links.get(&key) {
                h.set_entry_type(tar::EntryType::Link);
                return b.append_link(&mut h, rel, first);
            }
            links.insert(key, rel.to_path_buf());
        }
        h.set_entry_type(tar::EntryType::Regular);
        h.set_size(meta.len());
        let f = std::fs::File::open(src)?;
        // A file that changes while it is read must not corrupt the tar:
        // exactly the header's size is written.
        let body = f.take(meta.len()).chain(io::repeat(0)).take(meta.len());
        b.append_data(&mut h, rel, body)?;
    } else if ft.is_char_device() || ft.is_block_device() {
        h.set_entry_type(if ft.is_char_device() {
            tar::EntryType::Char
        } else {
            tar::EntryType::Block
        });
        let rdev = meta.rdev();
        h.set_device_major(libc::major(rdev))?;
        h.set_device_minor(libc::minor(rdev))?;
        b.append_data(&mut h, rel, io::empty())?;
    } else if ft.is_fifo() {
        h.set_entry_type(tar::EntryType::Fifo);
        b.append_data(&mut h, rel, io::empty())?;
    }
    Ok(())
}
