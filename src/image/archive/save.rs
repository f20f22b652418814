//! `save`: images from the store into one archive.
//!
//! docker-archive (the default) is what docker 25+ writes: an OCI layout
//! whose layers are uncompressed tars named by their diff IDs, plus
//! `manifest.json` and `repositories` for older readers. The store keeps
//! compressed layer blobs as received, decompressed on the way out, and
//! plain ones as their files plus a tar-split, rebuilt on the way out with
//! file data copied by the kernel (copy_file_range or sendfile), never
//! through memory. `--format oci-archive` writes the
//! blobs and manifests exactly as stored.
//!
//! Entries follow docker's order: blobs first, the manifests that name
//! them last.

use super::load::{ANNOTATION_IMAGE_NAME, ANNOTATION_REF_NAME};
use super::{platform_matches, ArchiveError, Result};
use crate::image::config::ImageConfig;
use crate::image::layer::split::{Piece, Rebuild};
use crate::image::oci::{
    self, Descriptor, ImageManifest, IndexEntry, Platform, Probe, MEDIA_OCI_CONFIG,
    MEDIA_OCI_INDEX, MEDIA_OCI_LAYER_TAR, MEDIA_OCI_MANIFEST,
};
use crate::image::reference::Reference;
use crate::image::store::{sha256_hex, ImageRecord, ImageStore, Index};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    DockerArchive,
    OciArchive,
}

pub struct SaveOptions {
    pub format: Format,
    pub platform: Option<Platform>,
}

/// An image to save, with the tags to save it under.
struct Selected {
    rec: ImageRecord,
    tags: Vec<Reference>,
    /// The first name that selected it, for errors.
    arg: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Compression {
    None,
    Gzip,
    Zstd,
}

/// A layer blob, opened while the store was locked (a concurrent `rmi`
/// can unlink it, not take it away from us).
struct Blob {
    source: Source,
    desc: Descriptor,
    compression: Compression,
}

enum Source {
    File(File),
    /// A plain layer tar the store keeps as files plus a tar-split;
    /// rebuilt once, when written.
    Split(RefCell<Option<Rebuild>>),
}

struct ImageParts {
    config: Vec<u8>,
    diff_ids: Vec<String>,
    /// Bottom first, one per layer.
    blobs: Vec<usize>,
    /// The stored manifest when every blob it names is in the store.
    manifest: Option<Vec<u8>>,
    tags: Vec<Reference>,
    id: String,
}

/// docker's rules for what names select (`parseNames` in docker's
/// tarexport): `repo:tag` that tag; a bare `repo` every tag of the
/// repository; an ID, ID prefix or `@digest` the image with no tag.
fn select(idx: &Index, names: &[String]) -> Result<Vec<Selected>> {
    let mut out: Vec<Selected> = Vec::new();
    let mut push = |rec: &ImageRecord, tag: Option<Reference>, arg: &str| {
        let sel = match out.iter().position(|s| s.rec.id == rec.id) {
            Some(p) => out.get_mut(p),
            None => {
                out.push(Selected {
                    rec: rec.clone(),
                    tags: vec![],
                    arg: arg.to_string(),
                });
                out.last_mut()
            }
        };
        if let (Some(sel), Some(t)) = (sel, tag) {
            if !sel.tags.contains(&t) {
                sel.tags.push(t);
            }
        }
    };
    for s in names {
        let last = s.rsplit('/').next().unwrap_or(s);
        let parsed = Reference::parse(s).ok();
        match parsed {
            Some(_) if s.contains('@') => {
                let rec = idx
                    .lookup(s)
                    .map_err(|_| ArchiveError::NotFound(s.clone()))?;
                push(rec, None, s);
            }
            Some(r) if last.contains(':') && r.familiar_name() != "sha256" => {
                let full = r.to_string();
                let rec = idx
                    .images
                    .iter()
                    .find(|i| i.names.contains(&full))
                    .ok_or_else(|| ArchiveError::NotFound(s.clone()))?;
                push(rec, Some(r), s);
            }
            Some(r) if !last.contains(':') => {
                let repo = format!("{}:", r.name());
                let mut found = false;
                for rec in &idx.images {
                    for n in &rec.names {
                        if let Some(tag) = n.strip_prefix(&repo) {
                            if !tag.contains('/') {
                                push(rec, Reference::parse(n).ok(), s);
                                found = true;
                            }
                        }
                    }
                }
                if !found {
                    let rec = idx
                        .lookup(s)
                        .map_err(|_| ArchiveError::NotFound(s.clone()))?;
                    push(rec, None, s);
                }
            }
            _ => {
                let rec = idx
                    .lookup(s)
                    .map_err(|_| ArchiveError::NotFound(s.clone()))?;
                push(rec, None, s);
            }
        }
    }
    Ok(out)
}

fn sniff(f: &File) -> io::Result<Compression> {
    let mut m = [0u8; 4];
    let n = f.read_at(&mut m, 0)?;
    Ok(match crate::util::filled(&m, n)? {
        [0x1f, 0x8b, ..] => Compression::Gzip,
        [0x28, 0xb5, 0x2f, 0xfd] => Compression::Zstd,
        _ => Compression::None,
    })
}

/// Everything `save` needs from the store, read and opened under its lock.
fn gather(
    store: &ImageStore,
    names: &[String],
    opts: &SaveOptions,
) -> Result<(Vec<ImageParts>, Vec<Blob>)> {
    let _lock = store.lock()?;
    let idx = store.index()?;
    let selected = select(&idx, names)?;
    let mut blobs: Vec<Blob> = Vec::new();
    let mut parts = Vec::new();
    for sel in selected {
        let arg = &sel.arg;
        let rec = &sel.rec;
        let config = store.read_blob(&rec.id)?;
        let cfg: ImageConfig = serde_json::from_slice(&config)
            .map_err(|e| ArchiveError::Invalid(format!("image config {}: {e}", rec.id)))?;
        if let Some(want) = &opts.platform {
            if !platform_matches(want, &cfg.platform()) {
                return Err(ArchiveError::Docker(format!(
                    "image with reference {arg} was found but does not match the specified platform: wanted {want}, actual: {}",
                    cfg.platform()
                )));
            }
        }
        let diff_ids = cfg.rootfs.diff_ids.clone();
        if diff_ids.len() != rec.layers.len() {
            return Err(ArchiveError::Invalid(format!(
                "image {} has {} layers but its config lists {}",
                rec.id,
                rec.layers.len(),
                diff_ids.len()
            )));
        }
        let manifest_bytes = store.read_blob(&rec.manifest).ok();
        let manifest: Option<ImageManifest> = manifest_bytes
            .as_ref()
            .and_then(|b| serde_json::from_slice(b).ok());
        let mut all_stored = manifest
            .as_ref()
            .is_some_and(|m| m.layers().len() == rec.layers.len());
        let mut idxs = Vec::with_capacity(rec.layers.len());
        for (i, (chain, diff_id)) in rec.layers.iter().zip(&diff_ids).enumerate() {
            // The manifest's blob if the store has it, else the blob the
            // layer was stored from (the same tar, maybe compressed
            // differently).
            let from_manifest = manifest.as_ref().and_then(|m| m.layers().get(i));
            let mut candidates = Vec::new();
            if let Some(d) = from_manifest {
                candidates.push(oci::bare(d));
            }
            if let Some(info) = store.layer_info(chain) {
                candidates.push(info.blob);
            }
            let mut opened = None;
            for d in candidates {
                if let Some(p) = blobs.iter().position(|b| b.desc.digest() == d.digest()) {
                    opened = Some((p, d));
                    break;
                }
                let hex = d.digest().as_ref().trim_start_matches("sha256:");
                let path = store.paths().blob(hex);
                if let Ok(file) = File::open(&path) {
                    let compression =
                        sniff(&file).map_err(|e| ArchiveError::io("reading a layer blob", e))?;
                    opened = Some((blobs.len(), d.clone()));
                    blobs.push(Blob {
                        source: Source::File(file),
                        desc: d,
                        compression,
                    });
                    break;
                }
                if let Some(rebuild) = store.layer_split(chain, d.digest().as_ref())? {
                    opened = Some((blobs.len(), d.clone()));
                    blobs.push(Blob {
                        source: Source::Split(RefCell::new(Some(rebuild))),
                        desc: d,
                        compression: Compression::None,
                    });
                    break;
                }
            }
            let Some((p, d)) = opened else {
                return Err(ArchiveError::Invalid(format!(
                    "the store has no blob for layer {} of image {}",
                    diff_id, rec.id
                )));
            };
            if from_manifest.is_none_or(|m| m.digest() != d.digest()) {
                all_stored = false;
            }
            idxs.push(p);
        }
        parts.push(ImageParts {
            config,
            diff_ids,
            blobs: idxs,
            manifest: manifest_bytes.filter(|_| all_stored),
            tags: sel.tags,
            id: rec.id.clone(),
        });
    }
    Ok((parts, blobs))
}

/// Writes a tar stream to a file or pipe. Headers are written directly;
/// file data goes through `io::copy` between file descriptors, which the
/// standard library turns into copy_file_range/sendfile/splice.
struct TarOut<'a> {
    out: &'a File,
    /// Absolute offset in `out` (a pipe counts from 0).
    pos: u64,
    /// Regular file, not O_APPEND: a header can be rewritten in place.
    seekable: bool,
    store: &'a ImageStore,
}

fn header(path: &str, size: u64, dir: bool) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    // Paths here are short ("blobs/sha256/" + 64 hex), within ustar's 100.
    let _ = h.set_path(path);
    h.set_size(size);
    h.set_mode(if dir { 0o755 } else { 0o644 });
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_entry_type(if dir {
        tar::EntryType::Directory
    } else {
        tar::EntryType::Regular
    });
    h.set_cksum();
    h
}

const ZEROS: [u8; 1024] = [0u8; 1024];

impl TarOut<'_> {
    fn err(e: io::Error) -> ArchiveError {
        ArchiveError::io("writing the archive", e)
    }

    fn write(&mut self, b: &[u8]) -> Result<()> {
        let mut out = self.out;
        out.write_all(b).map_err(Self::err)?;
        self.advance(b.len() as u64)
    }

    fn advance(&mut self, n: u64) -> Result<()> {
        self.pos = self
            .pos
            .checked_add(n)
            .ok_or_else(|| ArchiveError::Invalid("the archive is too large".into()))?;
        Ok(())
    }

    /// The zeros that fill the last 512-byte block of `size` bytes.
    fn pad(&mut self, size: u64) -> Result<()> {
        let rem = (size % 512) as usize;
        match ZEROS.get(rem..512) {
            Some(zeros) if rem != 0 => self.write(zeros),
            _ => Ok(()),
        }
    }

    fn dir(&mut self, path: &str) -> Result<()> {
        self.write(header(path, 0, true).as_bytes())
    }

    fn bytes(&mut self, path: &str, data: &[u8]) -> Result<()> {
        self.write(header(path, data.len() as u64, false).as_bytes())?;
        self.write(data)?;
        self.pad(data.len() as u64)
    }

    /// `size` bytes of `f` from its start, copied by the kernel.
    fn copy_file(&mut self, f: &File, size: u64) -> Result<()> {
        let mut src = f;
        // Blobs are opened fresh and read from 0, but make sure.
        io::Seek::seek(&mut src, io::SeekFrom::Start(0)).map_err(Self::err)?;
        let mut out = self.out;
        let n = io::copy(&mut src.take(size), &mut out).map_err(Self::err)?;
        if n != size {
            return Err(ArchiveError::Invalid(format!(
                "a blob shrank while it was saved ({n} of {size} bytes)"
            )));
        }
        self.advance(n)
    }

    /// A stored blob as it is. Returns its size.
    fn blob_as_is(&mut self, path: &str, b: &Blob) -> Result<u64> {
        let file = match &b.source {
            Source::File(f) => f,
            Source::Split(cell) => return self.rebuilt(path, b, cell),
        };
        let size = file
            .metadata()
            .map_err(|e| ArchiveError::io("reading a blob", e))?
            .len();
        self.write(header(path, size, false).as_bytes())?;
        self.copy_file(file, size)?;
        self.pad(size)?;
        Ok(size)
    }

    /// A plain layer tar rebuilt from the layer's files and tar-split:
    /// headers from the records, file data copied by the kernel.
    fn rebuilt(&mut self, path: &str, b: &Blob, cell: &RefCell<Option<Rebuild>>) -> Result<u64> {
        let size = b.desc.size();
        let mut rebuild = cell.borrow_mut().take().ok_or_else(|| {
            ArchiveError::Invalid(format!("layer {} written twice", b.desc.digest()))
        })?;
        let err = |e| ArchiveError::io(format!("rebuilding layer {}", b.desc.digest()), e);
        self.write(header(path, size, false).as_bytes())?;
        let mut n = 0u64;
        while let Some(piece) = rebuild.next_piece().map_err(err)? {
            match piece {
                Piece::Bytes(v) => {
                    self.write(&v)?;
                    // Saturated, it still differs from `size` below.
                    n = n.saturating_add(v.len() as u64);
                }
                Piece::File(f, len) => {
                    self.copy_file(&f, len)?;
                    n = n.saturating_add(len);
                }
            }
        }
        if n != size {
            return Err(ArchiveError::Invalid(format!(
                "layer {} rebuilt to {n} bytes, not {size}: the stored layer is damaged",
                b.desc.digest()
            )));
        }
        self.pad(size)?;
        Ok(size)
    }

    /// A layer blob as an uncompressed tar. Returns its size.
    fn layer_tar(&mut self, path: &str, b: &Blob) -> Result<u64> {
        let file = match &b.source {
            _ if b.compression == Compression::None => return self.blob_as_is(path, b),
            Source::File(f) => f,
            Source::Split(_) => return self.blob_as_is(path, b),
        };
        let decoder = || -> Result<Box<dyn Read + '_>> {
            let r = io::BufReader::with_capacity(256 << 10, file);
            Ok(match b.compression {
                Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(r)),
                _ => Box::new(
                    zstd::stream::read::Decoder::with_buffer(r)
                        .map_err(|e| ArchiveError::io("reading a zstd layer", e))?,
                ),
            })
        };
        // The same blob may have been read before (another image).
        io::Seek::rewind(&mut &*file).map_err(|e| ArchiveError::io("reading a blob", e))?;
        if self.seekable {
            // Header now with size 0, rewritten once the size is known.
            let at = self.pos;
            self.write(header(path, 0, false).as_bytes())?;
            let n = self.pump(&mut decoder()?)?;
            self.pad(n)?;
            self.out
                .write_all_at(header(path, n, false).as_bytes(), at)
                .map_err(Self::err)?;
            return Ok(n);
        }
        // A pipe cannot go back: decompress into tmp/ first.
        let dir = self.store.temp_dir()?;
        let res = (|| {
            let tmp_path: PathBuf = dir.join("layer.tar");
            let mut tmp = File::options()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&tmp_path)
                .map_err(|e| ArchiveError::io("creating a temp file", e))?;
            let n = io::copy(
                &mut decoder()?,
                &mut io::BufWriter::with_capacity(1 << 20, &mut tmp),
            )
            .map_err(|e| ArchiveError::io("decompressing a layer", e))?;
            self.write(header(path, n, false).as_bytes())?;
            self.copy_file(&tmp, n)?;
            self.pad(n)?;
            Ok(n)
        })();
        let _ = std::fs::remove_dir_all(&dir);
        res
    }

    /// Copy a reader through a large buffer. Returns the byte count.
    fn pump(&mut self, r: &mut dyn Read) -> Result<u64> {
        let mut buf = vec![0u8; 1 << 20];
        let mut total = 0u64;
        loop {
            let n = match r.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(ArchiveError::io("decompressing a layer", e)),
            };
            let data = crate::util::filled(&buf, n)
                .map_err(|e| ArchiveError::io("decompressing a layer", e))?;
            self.write(data)?;
            total = total.saturating_add(n as u64);
        }
        Ok(total)
    }

    fn finish(&mut self) -> Result<()> {
        self.write(&ZEROS)
    }
}

/// Whether `f` is a regular file we may write at any offset (not
/// O_APPEND, where pwrite appends).
fn is_seekable(f: &File) -> bool {
    let regular = f.metadata().map(|m| m.is_file()).unwrap_or(false);
    // SAFETY: F_GETFL on a valid fd.
    let flags = unsafe { libc::fcntl(f.as_raw_fd(), libc::F_GETFL) };
    regular && flags >= 0 && flags & libc::O_APPEND == 0
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(v).map_err(|e| ArchiveError::Invalid(format!("encoding JSON: {e}")))
}

/// Save `names` into `out` (a file or a pipe, written from its current
/// offset).
pub fn save(store: &ImageStore, names: &[String], opts: &SaveOptions, out: &File) -> Result<()> {
    let (images, blobs) = gather(store, names, opts)?;
    let start = {
        let mut o = out;
        io::Seek::stream_position(&mut o).unwrap_or(0)
    };
    let mut w = TarOut {
        out,
        pos: start,
        seekable: is_seekable(out),
        store,
    };
    w.dir("blobs/")?;
    w.dir("blobs/sha256/")?;
    let mut written: HashSet<String> = HashSet::new();
    let oci_layout = br#"{"imageLayoutVersion":"1.0.0"}"#;
    let mut index_entries: Vec<IndexEntry> = Vec::new();

    // Indices into `blobs` are gather's own.
    let blob = |b: usize| {
        blobs
            .get(b)
            .ok_or_else(|| ArchiveError::Invalid(format!("internal error: no blob {b}")))
    };
    if opts.format == Format::OciArchive {
        for img in &images {
            for &b in &img.blobs {
                let blob = blob(b)?;
                let hex = blob.desc.digest().as_ref().trim_start_matches("sha256:");
                let hex = hex.to_string();
                if written.insert(hex.clone()) {
                    w.blob_as_is(&format!("blobs/sha256/{hex}"), blob)?;
                }
            }
            let manifest = match &img.manifest {
                Some(m) => m.clone(),
                None => to_json(&oci::manifest(
                    config_descriptor(img)?,
                    img.blobs
                        .iter()
                        .map(|&b| blob(b).map(|b| b.desc.clone()))
                        .collect::<Result<_>>()?,
                )?)?,
            };
            let media_type = Probe::parse(&manifest, "manifest")
                .ok()
                .map(|p| p.media_type)
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| MEDIA_OCI_MANIFEST.into());
            write_meta_blobs(&mut w, &mut written, img, &manifest)?;
            index_entries.extend(index_entries_for(img, &manifest, &media_type, true));
        }
        w.bytes("index.json", &to_json(&index(index_entries))?)?;
        w.bytes("oci-layout", oci_layout)?;
        return w.finish();
    }

    // docker-archive: each layer once, uncompressed, named by its diff ID.
    let mut tar_sizes: BTreeMap<String, u64> = BTreeMap::new();
    for img in &images {
        // gather made one blob per diff ID.
        for (&b, diff_id) in img.blobs.iter().zip(&img.diff_ids) {
            let hex = diff_id.trim_start_matches("sha256:").to_string();
            if !written.insert(hex.clone()) {
                continue;
            }
            let n = w.layer_tar(&format!("blobs/sha256/{hex}"), blob(b)?)?;
            tar_sizes.insert(hex, n);
        }
    }
    let mut manifest_json: Vec<serde_json::Value> = Vec::new();
    let mut repositories: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for img in &images {
        let layers: Vec<Descriptor> = img
            .diff_ids
            .iter()
            .map(|d| {
                let hex = d.trim_start_matches("sha256:");
                let size = tar_sizes.get(hex).copied().unwrap_or(0);
                oci::descriptor(MEDIA_OCI_LAYER_TAR, d, size)
            })
            .collect::<std::result::Result<_, _>>()?;
        let manifest = to_json(&oci::manifest(config_descriptor(img)?, layers)?)?;
        write_meta_blobs(&mut w, &mut written, img, &manifest)?;
        index_entries.extend(index_entries_for(img, &manifest, MEDIA_OCI_MANIFEST, false));
        let repo_tags: Vec<String> = img.tags.iter().map(|t| t.familiar()).collect();
        manifest_json.push(serde_json::json!({
            "Config": format!("blobs/sha256/{}", img.id.trim_start_matches("sha256:")),
            "RepoTags": if repo_tags.is_empty() { serde_json::Value::Null } else { repo_tags.into() },
            "Layers": img.diff_ids.iter()
                .map(|d| format!("blobs/sha256/{}", d.trim_start_matches("sha256:")))
                .collect::<Vec<_>>(),
        }));
        if let Some(top) = img.diff_ids.last() {
            for t in &img.tags {
                repositories.entry(t.familiar_name()).or_default().insert(
                    t.tag_str().to_string(),
                    top.trim_start_matches("sha256:").into(),
                );
            }
        }
    }
    w.bytes("index.json", &to_json(&index(index_entries))?)?;
    let mut mj = to_json(&manifest_json)?;
    mj.push(b'\n');
    w.bytes("manifest.json", &mj)?;
    w.bytes("oci-layout", oci_layout)?;
    if !repositories.is_empty() {
        let mut r = to_json(&repositories)?;
        r.push(b'\n');
        w.bytes("repositories", &r)?;
    }
    w.finish()
}

fn write_meta_blobs(
    w: &mut TarOut<'_>,
    written: &mut HashSet<String>,
    img: &ImageParts,
    manifest: &[u8],
) -> Result<()> {
    let chex = img.id.trim_start_matches("sha256:").to_string();
    if written.insert(chex.clone()) {
        w.bytes(&format!("blobs/sha256/{chex}"), &img.config)?;
    }
    let mhex = sha256_hex(manifest);
    if written.insert(mhex.clone()) {
        w.bytes(&format!("blobs/sha256/{mhex}"), manifest)?;
    }
    Ok(())
}

/// index.json entries for an image: one per tag, as docker writes them
/// (containerd's name annotation and the tag as `ref.name`; an OCI archive
/// gets the whole name as `ref.name`, as podman writes it, so that
/// `oci-archive:FILE:NAME` finds it), or one without annotations for an
/// untagged image.
fn index_entries_for(
    img: &ImageParts,
    manifest: &[u8],
    media_type: &str,
    full_ref_name: bool,
) -> Vec<IndexEntry> {
    let base = IndexEntry {
        media_type: media_type.to_string(),
        digest: format!("sha256:{}", sha256_hex(manifest)),
        size: i64::try_from(manifest.len()).unwrap_or(i64::MAX),
        ..Default::default()
    };
    if img.tags.is_empty() {
        return vec![base];
    }
    img.tags
        .iter()
        .map(|t| {
            let ref_name = if full_ref_name {
                t.to_string()
            } else {
                t.tag_str().to_string()
            };
            let mut e = base.clone();
            e.annotations = [
                (ANNOTATION_IMAGE_NAME.to_string(), t.to_string()),
                (ANNOTATION_REF_NAME.to_string(), ref_name),
            ]
            .into();
            e
        })
        .collect()
}

fn index(manifests: Vec<IndexEntry>) -> oci::Index {
    oci::Index {
        schema_version: 2,
        media_type: MEDIA_OCI_INDEX.into(),
        manifests,
    }
}

/// The descriptor of an image's config.
fn config_descriptor(img: &ImageParts) -> Result<Descriptor> {
    Ok(oci::descriptor(
        MEDIA_OCI_CONFIG,
        &img.id,
        img.config.len() as u64,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: &str, names: &[&str]) -> ImageRecord {
        ImageRecord {
            id: format!("sha256:{}", id.repeat(64 / id.len())),
            names: names.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn selection_follows_docker() {
        let idx = Index {
            images: vec![
                rec(
                    "a",
                    &[
                        "docker.io/library/busybox:latest",
                        "docker.io/library/busybox:1",
                    ],
                ),
                rec("b", &["docker.io/library/busybox:2", "localhost/app:v1"]),
                rec("c", &[]),
            ],
        };
        let tags = |names: &[&str]| -> Vec<(String, Vec<String>)> {
            let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
            select(&idx, &names)
                .unwrap()
                .into_iter()
                .map(|s| {
                    (
                        s.rec.id[7..8].to_string(),
                        s.tags.iter().map(|t| t.familiar()).collect(),
                    )
                })
                .collect()
        };
        // A bare repository: all its tags, across images.
        assert_eq!(
            tags(&["busybox"]),
            vec![
                (
                    "a".into(),
                    vec!["busybox:latest".into(), "busybox:1".into()]
                ),
                ("b".into(), vec!["busybox:2".into()])
            ]
        );
        // One tag; the same image twice is one entry.
        assert_eq!(
            tags(&["busybox:1", "busybox:latest"]),
            vec![(
                "a".into(),
                vec!["busybox:1".into(), "busybox:latest".into()]
            )]
        );
        // IDs and prefixes: no tags.
        assert_eq!(tags(&["cccc"]), vec![("c".into(), vec![])]);
        assert_eq!(
            tags(&[&format!("sha256:{}", "b".repeat(64))]),
            vec![("b".into(), vec![])]
        );
        assert_eq!(
            tags(&["localhost/app:v1"]),
            vec![("b".into(), vec!["localhost/app:v1".into()])]
        );
        let missing = |n: &str| select(&idx, &[n.to_string()]).err().map(|e| e.to_string());
        assert_eq!(
            missing("busybox:3").as_deref(),
            Some("No such image: busybox:3")
        );
        assert_eq!(
            missing("nothere").as_deref(),
            Some("No such image: nothere")
        );
    }

    #[test]
    fn headers_are_ustar_with_checksums() {
        let h = header("blobs/sha256/00", 1234, false);
        assert_eq!(h.size().unwrap(), 1234);
        assert_eq!(&h.as_bytes()[257..262], b"ustar");
        assert!(super::super::catalog::looks_like_layer(
            h.as_bytes(),
            1234 + 512
        ));
    }
}
