//! The entries of an image archive by path, without unpacking it.
//!
//! A seekable archive file is scanned header by header (its data stays in
//! the file, read later by offset); a stream (stdin, or a compressed
//! archive) is read once, in order: small files are kept in memory and
//! anything that looks like a layer (a tar, gzip or zstd stream) is staged
//! into the store's `tmp/` as it passes, since the manifests that say what
//! is a layer usually come last.
//!
//! Paths are checked as entries arrive: absolute paths, `..` components,
//! symlinks pointing outside the archive and entries below a symlink are
//! refused, whether or not a manifest names them.

use super::{ArchiveError, Progress, Reporting, Result};
use crate::image::store::{ImageStore, StagedLayer};
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;

/// The largest file read into memory (manifests, configs, index.json).
pub const SMALL_LIMIT: u64 = 32 << 20;

pub enum Data {
    /// In the archive file at this offset (seekable archives).
    At { offset: u64, size: u64 },
    /// Read into memory as it streamed by.
    Mem(Vec<u8>),
    /// Staged as a layer as it streamed by.
    Staged(Box<StagedLayer>),
    /// A staged layer handed out already.
    Taken,
    /// Neither small nor a layer: read past.
    Skipped,
    /// Looked like a layer but could not be staged; an error only if a
    /// manifest names it as a layer.
    Failed(String),
}

pub enum Node {
    File(Data),
    /// Target normalised to a path from the archive's root.
    Symlink(String),
    Hardlink(String),
    Dir,
}

#[derive(Default)]
pub struct Catalog {
    nodes: HashMap<String, Node>,
    file: Option<File>,
}

fn invalid(msg: String) -> ArchiveError {
    ArchiveError::Invalid(msg)
}

/// A tar-level read error: the input is not (or no longer) a tar archive,
/// or a compressed stream ended early.
fn not_tar(e: io::Error) -> ArchiveError {
    // Go's archive/tar words, as docker prints them (the tar crate's quote
    // the header's raw bytes).
    match crate::image::layer::go_tar_error(&e) {
        Some(go) => ArchiveError::Docker(go.into()),
        None => invalid(format!("reading the tar stream: {e}")),
    }
}

/// An entry whose data the archive cuts short: Go's reader hits the end.
fn truncated() -> ArchiveError {
    ArchiveError::Docker("unexpected EOF".into())
}

/// An entry's path, normalised: "./" and empty components dropped;
/// absolute paths and ".." refused.
pub fn clean_entry(raw: &[u8]) -> Result<String> {
    let s = std::str::from_utf8(raw).map_err(|_| {
        invalid(format!(
            "entry {:?}: name is not UTF-8",
            String::from_utf8_lossy(raw)
        ))
    })?;
    if s.starts_with('/') {
        return Err(invalid(format!("entry {s:?}: absolute path")));
    }
    let mut out: Vec<&str> = Vec::new();
    for c in s.split('/') {
        match c {
            "" | "." => {}
            ".." => return Err(invalid(format!("entry {s:?}: \"..\" component"))),
            c => out.push(c),
        }
    }
    Ok(out.join("/"))
}

/// `target` seen from the directory holding `link`, as a path from the
/// archive's root; None when it is absolute or climbs out of the archive.
pub fn join_link(link: &str, target: &str) -> Option<String> {
    if target.starts_with('/') {
        return None;
    }
    let dir = link.rsplit_once('/').map_or("", |(d, _)| d);
    crate::util::path::clean_rel(&format!("{dir}/{target}"))
}

/// Does the start of a file look like a layer: gzip, zstd, or a tar
/// header (ustar magic, or a valid header checksum for old formats, or
/// the zero blocks of an empty tar)?
pub fn looks_like_layer(head: &[u8], size: u64) -> bool {
    if head.starts_with(&[0x1f, 0x8b]) || head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        return true;
    }
    let Some(head) = head.first_chunk::<512>() else {
        return false;
    };
    if &head[257..262] == b"ustar" {
        return true;
    }
    if head.iter().all(|b| *b == 0) {
        return size >= 1024;
    }
    // Old (v7) tar: the checksum field is the sum of the header's bytes
    // with the field itself read as spaces.
    let field = &head[148..156];
    let text: String = field
        .iter()
        .take_while(|b| **b != 0 && **b != b' ')
        .map(|b| *b as char)
        .collect();
    let Ok(want) = u32::from_str_radix(text.trim(), 8) else {
        return false;
    };
    let sum: u32 = head
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if (148..156).contains(&i) {
                32
            } else {
                *b as u32
            }
        })
        .sum();
    sum == want
}

/// Counts what passes, so a short entry (truncated archive) is noticed.
struct Counted<R> {
    inner: R,
    n: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        // Saturated, it still differs from the size expected.
        self.n = self.n.saturating_add(n as u64);
        Ok(n)
    }
}

fn read_head(r: &mut impl Read, want: usize) -> io::Result<Vec<u8>> {
    let mut head = vec![0u8; want];
    let mut got = 0usize;
    while let Some(rest) = head.get_mut(got..).filter(|rest| !rest.is_empty()) {
        let n = r.read(rest)?;
        if n == 0 {
            break;
        }
        got = got.saturating_add(n.min(rest.len()));
    }
    head.truncate(got);
    Ok(head)
}

fn entry_kind(
    path: &str,
    kind: tar::EntryType,
    link: Option<std::borrow::Cow<'_, [u8]>>,
) -> Result<Option<Node>> {
    let link_str = || -> Result<String> {
        let raw = link.as_deref().unwrap_or_default();
        std::str::from_utf8(raw)
            .map(String::from)
            .map_err(|_| invalid(format!("entry {path:?}: link target is not UTF-8")))
    };
    Ok(match kind {
        tar::EntryType::Directory => Some(Node::Dir),
        tar::EntryType::Symlink => {
            let t = link_str()?;
            let Some(to) = join_link(path, &t) else {
                return Err(invalid(format!(
                    "entry {path:?}: symlink to {t:?} points outside the archive"
                )));
            };
            Some(Node::Symlink(to))
        }
        tar::EntryType::Link => {
            let t = link_str()?;
            Some(Node::Hardlink(clean_entry(t.as_bytes())?))
        }
        tar::EntryType::Regular | tar::EntryType::Continuous => None,
        // Devices, fifos and the like mean nothing in an image archive:
        // catalogued as directories, so nothing can name them as files.
        _ => Some(Node::Dir),
    })
}

impl Catalog {
    /// Catalogue a seekable, uncompressed archive file: headers only.
    pub fn scan_file(file: File) -> Result<Catalog> {
        let len = file
            .metadata()
            .map_err(|e| ArchiveError::io("reading the archive", e))?
            .len();
        let mut cat = Catalog::default();
        {
            let mut ar = tar::Archive::new(&file);
            let entries = ar
                .entries_with_seek()
                .map_err(|e| ArchiveError::io("reading the archive", e))?;
            for e in entries {
                let e = e.map_err(not_tar)?;
                let path = clean_entry(&e.path_bytes())?;
                let kind = e.header().entry_type();
                let node = match entry_kind(&path, kind, e.link_name_bytes())? {
                    Some(n) => n,
                    None if kind.is_file() => {
                        let offset = e.raw_file_position();
                        let size = e.size();
                        if offset.saturating_add(size) > len {
                            return Err(truncated());
                        }
                        Node::File(Data::At { offset, size })
                    }
                    None => continue,
                };
                if !path.is_empty() {
                    cat.nodes.insert(path, node);
                }
            }
        }
        cat.file = Some(file);
        cat.check_links()?;
        Ok(cat)
    }

    /// Catalogue an archive read as a stream, staging layers as they pass.
    pub fn read_stream(
        r: impl Read,
        store: &ImageStore,
        progress: Option<Progress>,
    ) -> Result<Catalog> {
        let mut cat = Catalog::default();
        let mut r = Counted { inner: r, n: 0 };
        {
            let mut ar = tar::Archive::new(&mut r);
            let entries = ar
                .entries()
                .map_err(|e| ArchiveError::io("reading the archive", e))?;
            for e in entries {
                let mut e = e.map_err(not_tar)?;
                let path = clean_entry(&e.path_bytes())?;
                let kind = e.header().entry_type();
                let node = match entry_kind(&path, kind, e.link_name_bytes())? {
                    Some(n) => n,
                    None if kind.is_file() => {
                        let size = e.size();
                        Node::File(Self::stream_file(&path, &mut e, size, store, progress)?)
                    }
                    None => continue,
                };
                if !path.is_empty() {
                    cat.nodes.insert(path, node);
                }
            }
        }
        // Past the end-of-archive blocks: a truncated gzip or zstd stream
        // only shows when its decoder reaches the end.
        io::copy(&mut r, &mut io::sink())
            .map_err(|e| ArchiveError::io("reading the archive", e))?;
        cat.check_links()?;
        Ok(cat)
    }

    /// One regular file of a streamed archive: a layer is staged, a small
    /// file kept, anything else read past.
    fn stream_file(
        path: &str,
        e: &mut impl Read,
        size: u64,
        store: &ImageStore,
        progress: Option<Progress>,
    ) -> Result<Data> {
        let io_err = |e| ArchiveError::io("reading the archive", e);
        let head = read_head(e, 512.min(size as usize)).map_err(io_err)?;
        if looks_like_layer(&head, size) {
            let mut r = Counted {
                inner: io::Cursor::new(head).chain(&mut *e),
                n: 0,
            };
            // Named by its file name (a digest, in archives docker,
            // podman and skopeo write).
            let name = path.rsplit('/').next().unwrap_or(path);
            let staged = store.stage_layer(Reporting::new(&mut r, name, size, progress), None);
            // Whatever staging left unread (a tar's trailing padding).
            io::copy(&mut r, &mut io::sink()).map_err(io_err)?;
            if r.n != size {
                return Err(truncated());
            }
            return Ok(match staged {
                Ok(s) => Data::Staged(Box::new(s)),
                Err(err) => Data::Failed(err.to_string()),
            });
        }
        if size > SMALL_LIMIT {
            io::copy(e, &mut io::sink()).map_err(io_err)?;
            return Ok(Data::Skipped);
        }
        let mut buf = head;
        e.read_to_end(&mut buf).map_err(io_err)?;
        if buf.len() as u64 != size {
            return Err(truncated());
        }
        Ok(Data::Mem(buf))
    }

    /// Refuse entries below a symlink (or below a file): extracting such an
    /// archive naively writes through the link; here it would at least
    /// make two names for one path.
    fn check_links(&self) -> Result<()> {
        for k in self.nodes.keys() {
            let mut prefix = String::new();
            let comps: Vec<&str> = k.split('/').collect();
            let parents = comps.split_last().map_or(&[][..], |(_, p)| p);
            for c in parents {
                if !prefix.is_empty() {
                    prefix.push('/');
                }
                prefix.push_str(c);
                match self.nodes.get(&prefix) {
                    Some(Node::Symlink(_)) => {
                        return Err(invalid(format!(
                            "entry {k:?} is below the symlink {prefix:?}"
                        )))
                    }
                    Some(Node::File(_)) | Some(Node::Hardlink(_)) => {
                        return Err(invalid(format!("entry {k:?} is below the file {prefix:?}")))
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// The regular file a manifest's `path` names, following the archive's
    /// own links; `who` names the manifest for errors.
    pub fn resolve(&self, path: &str, who: &str) -> Result<String> {
        let outside = || invalid(format!("{who} names a file outside the archive: {path:?}"));
        if path.starts_with('/') {
            return Err(outside());
        }
        let mut todo: Vec<String> = path.split('/').rev().map(String::from).collect();
        let mut done: Vec<String> = Vec::new();
        let mut hops = 0u32;
        while let Some(c) = todo.pop() {
            match c.as_str() {
                "" | "." => continue,
                ".." => {
                    done.pop().ok_or_else(outside)?;
                    continue;
                }
                _ => done.push(c),
            }
            // A link's target may be a link again.
            while let Some(Node::Symlink(t) | Node::Hardlink(t)) = self.nodes.get(&done.join("/")) {
                hops = hops.saturating_add(1);
                if hops > 40 {
                    return Err(invalid(format!("{who}: too many links resolving {path:?}")));
                }
                done = t
                    .split('/')
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect();
            }
        }
        let cur = done.join("/");
        match self.nodes.get(&cur) {
            Some(Node::File(_)) => Ok(cur),
            Some(_) => Err(invalid(format!(
                "{who} names {path:?}, which is not a file"
            ))),
            None => Err(invalid(format!(
                "{who} names a file missing from the archive: {path:?}"
            ))),
        }
    }

    pub fn contains(&self, path: &str) -> bool {
        matches!(self.nodes.get(path), Some(Node::File(_)))
    }

    pub fn data(&self, resolved: &str) -> Option<&Data> {
        match self.nodes.get(resolved) {
            Some(Node::File(d)) => Some(d),
            _ => None,
        }
    }

    /// The archive file, for a catalogue made by `scan_file`.
    pub fn file(&self) -> Option<&File> {
        self.file.as_ref()
    }

    /// Hand out a layer staged while streaming (once).
    pub fn take_staged(&mut self, resolved: &str) -> Option<StagedLayer> {
        let Some(Node::File(d)) = self.nodes.get_mut(resolved) else {
            return None;
        };
        match std::mem::replace(d, Data::Taken) {
            Data::Staged(s) => Some(*s),
            other => {
                *d = other;
                None
            }
        }
    }

    /// A small file's bytes (manifests, configs, index.json).
    pub fn read_small(&self, resolved: &str) -> Result<Vec<u8>> {
        match self.data(resolved) {
            Some(Data::Mem(b)) => Ok(b.clone()),
            Some(Data::At { offset, size }) => {
                if *size > SMALL_LIMIT {
                    return Err(invalid(format!(
                        "{resolved} is too large for a JSON document"
                    )));
                }
                let f = self
                    .file
                    .as_ref()
                    .ok_or_else(|| invalid(format!("{resolved}: no archive file")))?;
                let mut buf = vec![0u8; *size as usize];
                f.read_exact_at(&mut buf, *offset)
                    .map_err(|e| ArchiveError::io(format!("reading {resolved}"), e))?;
                Ok(buf)
            }
            Some(Data::Failed(e)) => Err(invalid(format!("{resolved}: {e}"))),
            Some(Data::Skipped) => Err(invalid(format!(
                "{resolved} is too large for a JSON document"
            ))),
            Some(Data::Staged(_) | Data::Taken) => Err(invalid(format!(
                "{resolved} is a layer, not a JSON document"
            ))),
            None => Err(invalid(format!("{resolved} is missing"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(entries: Vec<(&str, Node)>) -> Catalog {
        let mut c = Catalog::default();
        for (k, n) in entries {
            c.nodes.insert(k.to_string(), n);
        }
        c
    }

    fn file() -> Node {
        Node::File(Data::Mem(b"{}".to_vec()))
    }

    #[test]
    fn entry_names_are_normalised_or_refused() {
        assert_eq!(
            clean_entry(b"./blobs//sha256/./x").unwrap(),
            "blobs/sha256/x"
        );
        assert_eq!(clean_entry(b"./").unwrap(), "");
        assert!(clean_entry(b"/etc/passwd")
            .unwrap_err()
            .to_string()
            .contains("absolute"));
        assert!(clean_entry(b"a/../b")
            .unwrap_err()
            .to_string()
            .contains("\"..\""));
        assert!(clean_entry(b"\xff").is_err());
    }

    #[test]
    fn link_targets_stay_inside() {
        assert_eq!(
            join_link("id/layer.tar", "../abc.tar").as_deref(),
            Some("abc.tar")
        );
        assert_eq!(join_link("a/b/c", "../../d").as_deref(), Some("d"));
        assert_eq!(join_link("a/b", "./c/./d").as_deref(), Some("a/c/d"));
        assert_eq!(join_link("a/b", "../../x"), None);
        assert_eq!(join_link("a", "/etc/passwd"), None);
    }

    #[test]
    fn resolution_follows_links_inside_the_catalogue() {
        let c = with(vec![
            ("abc.tar", file()),
            ("id/layer.tar", Node::Symlink("abc.tar".into())),
            ("hard", Node::Hardlink("id/layer.tar".into())),
            ("dir", Node::Dir),
            ("alias", Node::Symlink("id".into())),
            ("loop1", Node::Symlink("loop2".into())),
            ("loop2", Node::Symlink("loop1".into())),
        ]);
        assert_eq!(c.resolve("id/layer.tar", "m").unwrap(), "abc.tar");
        assert_eq!(c.resolve("./hard", "m").unwrap(), "abc.tar");
        assert_eq!(c.resolve("alias/layer.tar", "m").unwrap(), "abc.tar");
        assert_eq!(c.resolve("dir/../abc.tar", "m").unwrap(), "abc.tar");
        let err = |p: &str| c.resolve(p, "m").unwrap_err().to_string();
        assert!(err("../abc.tar").contains("outside the archive"));
        assert!(err("/abc.tar").contains("outside the archive"));
        assert!(err("nope").contains("missing from the archive"));
        assert!(err("dir").contains("not a file"));
        assert!(err("loop1").contains("too many links"));
    }

    #[test]
    fn entries_below_links_or_files_are_refused() {
        let c = with(vec![("sub", Node::Symlink("x".into())), ("sub/f", file())]);
        assert!(c
            .check_links()
            .unwrap_err()
            .to_string()
            .contains("below the symlink"));
        let c = with(vec![("f", file()), ("f/g", file())]);
        assert!(c
            .check_links()
            .unwrap_err()
            .to_string()
            .contains("below the file"));
        let c = with(vec![("d", Node::Dir), ("d/f", file())]);
        assert!(c.check_links().is_ok());
    }

    #[test]
    fn layer_sniffing() {
        assert!(looks_like_layer(&[0x1f, 0x8b, 8, 0], 100));
        assert!(looks_like_layer(&[0x28, 0xb5, 0x2f, 0xfd], 100));
        assert!(!looks_like_layer(b"{\"schemaVersion\":2}", 19));
        assert!(!looks_like_layer(b"1.0", 3));
        // The empty tar of docker's empty layers: 1024 zero bytes.
        assert!(looks_like_layer(&[0u8; 512], 1024));
        assert!(!looks_like_layer(&[0u8; 512], 512));
        // An old-style header: no ustar magic, valid checksum.
        let mut h = tar::Header::new_old();
        h.set_path("file").unwrap();
        h.set_size(0);
        h.set_cksum();
        assert!(looks_like_layer(h.as_bytes(), 1024));
        let mut bad = h.as_bytes().to_vec();
        bad[0] ^= 1;
        assert!(!looks_like_layer(&bad, 1024));
    }

    #[test]
    fn small_files_from_a_file_by_offset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.tar");
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_ustar();
        h.set_size(7);
        h.set_mode(0o644);
        b.append_data(&mut h, "manifest.json", &b"[\"x\"]\n\n"[..])
            .unwrap();
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        b.append_link(&mut h, "m", "manifest.json").unwrap();
        std::fs::write(&path, b.into_inner().unwrap()).unwrap();
        let c = Catalog::scan_file(File::open(&path).unwrap()).unwrap();
        let r = c.resolve("m", "test").unwrap();
        assert_eq!(c.read_small(&r).unwrap(), b"[\"x\"]\n\n");
        // Cut inside the data: refused at scan time.
        let data = std::fs::read(&path).unwrap();
        std::fs::write(&path, &data[..515]).unwrap();
        let e = Catalog::scan_file(File::open(&path).unwrap())
            .err()
            .unwrap();
        assert_eq!(e.to_string(), "unexpected EOF");
    }
}
