//! `load`: the images of a docker-archive or OCI archive into the store.
//!
//! 1. Catalogue the archive ([`Catalog`]): a plain archive file by its
//!    headers, anything else (stdin, gzip or zstd archives) as one stream,
//!    staging layers as they pass.
//! 2. Plan: `manifest.json` (docker-archive) or else `index.json` (OCI)
//!    names configs and layers; every name is resolved inside the archive,
//!    every digest that names a blob is checked.
//! 3. Stage the layers the store lacks (in parallel from a file), each
//!    checked against its diff ID (and blob digest where a manifest gives
//!    one).
//! 4. Only then add the images, as a pull does (`ImageStore::add_received`).
//!
//! Any failure before step 4 leaves the store as it was: staged layers
//! live in `tmp/` and are removed when dropped.

use super::catalog::{Catalog, Data};
use super::{platform_matches, ArchiveError, Progress, Reporting, Result};
use crate::image::config::ImageConfig;
use crate::image::oci::{
    self, Descriptor, Index, IndexEntry, Platform, Probe, MEDIA_DOCKER_LIST, MEDIA_OCI_CONFIG,
    MEDIA_OCI_INDEX,
};
use crate::image::reference::Reference;
use crate::image::store::{chain_id, sha256_hex, ImageStore, ReceivedImage, StagedLayer};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{self, BufRead, Read};
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

pub struct LoadOptions {
    /// Load only images of this platform (docker's `--platform`); for a
    /// multi-platform OCI index, the one to pick (default: the host's).
    pub platform: Option<Platform>,
}

/// Where the archive comes from.
pub enum Input<'a> {
    File(File),
    Stream(Box<dyn Read + 'a>),
}

#[derive(Deserialize)]
struct DockerItem {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags", default)]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers", default)]
    layers: Vec<String>,
}

pub const ANNOTATION_IMAGE_NAME: &str = "io.containerd.image.name";
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";

#[derive(Debug, Clone)]
struct PlannedLayer {
    /// Resolved path in the archive.
    path: String,
    diff_id: String,
    chain: String,
    parent: Option<String>,
    /// The manifest's descriptor (OCI archives): the blob's digest and size.
    desc: Option<Descriptor>,
}

struct PlannedImage {
    id: String,
    config: Vec<u8>,
    names: Vec<Reference>,
    layers: Vec<PlannedLayer>,
    /// The archive's own manifest (OCI), kept when the store ends up with
    /// exactly its blobs.
    manifest: Option<(Vec<u8>, Vec<Descriptor>)>,
}

fn invalid(s: String) -> ArchiveError {
    ArchiveError::Invalid(s)
}

fn json<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| invalid(format!("{what}: {e}")))
}

/// The 64-hex sha256 a path's file name carries (`blobs/sha256/<hex>`,
/// `<hex>.json`), if any.
fn digest_in_name(path: &str) -> Option<String> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let hex = name.strip_suffix(".json").unwrap_or(name);
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| format!("sha256:{}", hex.to_ascii_lowercase()))
}

/// `blobs/sha256/<hex>` for a digest; only sha256 with 64 hex digits, so a
/// digest cannot smuggle a path.
fn blob_path(digest: &str) -> Result<String> {
    match digest.split_once(':') {
        Some(("sha256", hex)) if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Ok(format!("blobs/sha256/{hex}"))
        }
        _ => Err(invalid(format!("unsupported digest {digest:?}"))),
    }
}

fn check_digest(bytes: &[u8], digest: &str, what: &str) -> Result<()> {
    let got = format!("sha256:{}", sha256_hex(bytes));
    if got != digest {
        return Err(ArchiveError::Digest {
            what: what.to_string(),
            expected: digest.to_string(),
            got,
        });
    }
    Ok(())
}

/// A blob named by a descriptor's digest and size (0: not given):
/// resolved, read, digest and size checked.
fn read_blob(cat: &Catalog, digest: &str, size: i64, who: &str) -> Result<Vec<u8>> {
    let path = cat.resolve(&blob_path(digest)?, who)?;
    let bytes = cat.read_small(&path)?;
    check_digest(&bytes, digest, &path)?;
    if size != 0 && i64::try_from(bytes.len()).ok() != Some(size) {
        return Err(invalid(format!(
            "{path} has {} bytes, its descriptor says {size}",
            bytes.len(),
        )));
    }
    Ok(bytes)
}

/// docker's RepoTags entry: a name with a tag.
fn repo_tag(t: &str) -> Result<Reference> {
    let r = Reference::parse(t).map_err(|e| ArchiveError::Docker(e.to_string()))?;
    let last = t.rsplit('/').next().unwrap_or(t);
    if r.digest.is_some() || !last.contains(':') {
        return Err(ArchiveError::Docker(format!("invalid tag {t:?}")));
    }
    Ok(r)
}

/// An OCI index entry's image name: containerd's annotation, else a
/// `ref.name` that is a whole reference (podman writes
/// "localhost/app:1"); a bare tag ("latest", as skopeo writes) names no
/// repository, so such an image loads untagged.
fn oci_name(ann: &BTreeMap<String, String>) -> Option<Reference> {
    if let Some(r) = ann
        .get(ANNOTATION_IMAGE_NAME)
        .and_then(|n| Reference::parse(n).ok())
    {
        return Some(r).filter(|r| r.tag.is_some());
    }
    let n = ann.get(ANNOTATION_REF_NAME)?;
    if !n.contains(':') && !n.contains('/') {
        return None;
    }
    Reference::parse(n).ok().filter(|r| r.tag.is_some())
}

struct Planner<'a> {
    cat: &'a Catalog,
    opts: &'a LoadOptions,
    images: Vec<PlannedImage>,
}

impl Planner<'_> {
    /// Check a config and turn it into a planned image (None: another
    /// platform, skipped as docker skips it).
    fn image(
        &self,
        config: Vec<u8>,
        layer_paths: Vec<(String, Option<Descriptor>)>,
        names: Vec<Reference>,
        manifest: Option<(Vec<u8>, Vec<Descriptor>)>,
        what: &str,
    ) -> Result<Option<PlannedImage>> {
        let cfg: ImageConfig = json(&config, what)?;
        if !cfg.os.is_empty() && cfg.os != "linux" {
            return Err(ArchiveError::Docker(format!(
                "cannot load {} image on linux",
                cfg.os
            )));
        }
        if let Some(want) = &self.opts.platform {
            if !platform_matches(want, &cfg.platform()) {
                return Ok(None);
            }
        }
        let diff_ids = &cfg.rootfs.diff_ids;
        if diff_ids.len() != layer_paths.len() {
            return Err(ArchiveError::Docker(format!(
                "invalid manifest, layers length mismatch: expected {}, got {}",
                layer_paths.len(),
                diff_ids.len()
            )));
        }
        let mut layers = Vec::with_capacity(diff_ids.len());
        let mut parent: Option<String> = None;
        for ((path, desc), diff_id) in layer_paths.into_iter().zip(diff_ids) {
            if !diff_id.starts_with("sha256:") || diff_id.len() != 71 {
                return Err(invalid(format!("{what}: bad diff ID {diff_id:?}")));
            }
            let chain = chain_id(parent.as_deref(), diff_id);
            layers.push(PlannedLayer {
                path,
                diff_id: diff_id.clone(),
                chain: chain.clone(),
                parent: parent.replace(chain),
                desc,
            });
        }
        Ok(Some(PlannedImage {
            id: format!("sha256:{}", sha256_hex(&config)),
            config,
            names,
            layers,
            manifest,
        }))
    }

    fn add(&mut self, img: PlannedImage) {
        if let Some(prev) = self.images.iter_mut().find(|i| i.id == img.id) {
            for n in img.names {
                if !prev.names.contains(&n) {
                    prev.names.push(n);
                }
            }
        } else {
            self.images.push(img);
        }
    }

    fn docker(&mut self, manifest_path: &str) -> Result<()> {
        let cat = self.cat;
        let bytes = cat.read_small(manifest_path)?;
        let items: Option<Vec<DockerItem>> = json(&bytes, "manifest.json")?;
        let items = items.ok_or_else(|| {
            ArchiveError::Docker("invalid manifest, manifest cannot be null (but can be [])".into())
        })?;
        for it in items {
            let cpath = cat.resolve(&it.config, "manifest.json")?;
            let config = cat.read_small(&cpath)?;
            // Docker names configs by their digest: a mismatch is a
            // corrupt or forged archive.
            if let Some(d) = digest_in_name(&cpath) {
                check_digest(&config, &d, &format!("config {cpath}"))?;
            }
            let mut layers = Vec::with_capacity(it.layers.len());
            for l in &it.layers {
                layers.push((cat.resolve(l, "manifest.json")?, None));
            }
            let names = it
                .repo_tags
                .unwrap_or_default()
                .iter()
                .map(|t| repo_tag(t))
                .collect::<Result<Vec<_>>>()?;
            if let Some(img) = self.image(config, layers, names, None, &cpath)? {
                self.add(img);
            }
        }
        Ok(())
    }

    fn oci(&mut self, index_path: &str) -> Result<()> {
        let cat = self.cat;
        let idx: Index = json(&cat.read_small(index_path)?, "index.json")?;
        for d in &idx.manifests {
            if d.is_attestation() {
                continue;
            }
            let names: Vec<Reference> = oci_name(&d.annotations).into_iter().collect();
            if let Some(img) = self.oci_entry(d, names, 0)? {
                self.add(img);
            }
        }
        Ok(())
    }

    fn oci_entry(
        &self,
        d: &IndexEntry,
        names: Vec<Reference>,
        depth: u32,
    ) -> Result<Option<PlannedImage>> {
        if depth > 4 {
            return Err(invalid("index.json: indexes nested too deep".into()));
        }
        let bytes = read_blob(self.cat, &d.digest, d.size, "index.json")?;
        let what = format!("manifest {}", d.digest);
        let m = Probe::parse(&bytes, &what)?;
        if let Some(list) = m.manifests {
            if !(d.media_type.is_empty()
                || d.media_type == MEDIA_OCI_INDEX
                || d.media_type == MEDIA_DOCKER_LIST)
            {
                return Err(invalid(format!(
                    "{}: an index with media type {}",
                    d.digest, d.media_type
                )));
            }
            let want = self.opts.platform.clone().unwrap_or_else(Platform::host);
            let pick = list.iter().filter(|e| !e.is_attestation()).find(|e| {
                e.platform
                    .as_ref()
                    .is_some_and(|p| platform_matches(&want, p))
            });
            let Some(pick) = pick else {
                if self.opts.platform.is_some() {
                    return Ok(None);
                }
                return Err(ArchiveError::Docker(format!(
                    "no matching manifest for {want} in the manifest list entries"
                )));
            };
            return self.oci_entry(pick, names, depth.saturating_add(1));
        }
        if !m.has_config() || !m.has_layers() {
            return Err(invalid(format!(
                "manifest {} has no config or layers",
                d.digest
            )));
        }
        if m.schema_version != 2 {
            return Err(invalid(format!(
                "manifest {}: schema version {} is not supported",
                d.digest, m.schema_version
            )));
        }
        let manifest = oci::parse_manifest(&bytes, &what)?;
        let config_desc = manifest.config();
        let config_size = i64::try_from(config_desc.size()).unwrap_or(i64::MAX);
        let config = read_blob(self.cat, config_desc.digest().as_ref(), config_size, &what)?;
        let layer_descs = manifest.layers();
        let mut layers = Vec::with_capacity(layer_descs.len());
        for l in layer_descs {
            let p = self.cat.resolve(&blob_path(l.digest().as_ref())?, &what)?;
            layers.push((p, Some(l.clone())));
        }
        self.image(
            config,
            layers,
            names,
            Some((bytes, layer_descs.clone())),
            &format!("config {}", config_desc.digest()),
        )
    }
}

/// A byte range of the archive file; stops early once `abort` is set.
struct Range<'a> {
    file: &'a File,
    pos: u64,
    /// Bytes left to read.
    left: u64,
    abort: &'a AtomicBool,
}

impl Read for Range<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.abort.load(Ordering::Relaxed) {
            return Err(io::Error::other("load aborted"));
        }
        let n = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let Some(chunk) = buf.get_mut(..n).filter(|c| !c.is_empty()) else {
            return Ok(0);
        };
        let got = self.file.read_at(chunk, self.pos)?;
        if got == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        // got <= left; the offset past the file's end fails in read_at.
        self.pos = self.pos.saturating_add(got as u64);
        self.left = self.left.saturating_sub(got as u64);
        Ok(got)
    }
}

/// A staged layer checked against its plan: blob digest and size (when a
/// manifest gives them) and diff ID. Takes the plan's chain ID (a layer
/// staged from a stream did not know its parent) and descriptor.
fn verify(mut s: StagedLayer, l: &PlannedLayer) -> Result<StagedLayer> {
    if let Some(d) = &l.desc {
        if s.info.blob.digest() != d.digest() {
            return Err(ArchiveError::Digest {
                what: format!("layer {}", l.path),
                expected: d.digest().to_string(),
                got: s.info.blob.digest().to_string(),
            });
        }
        if s.info.blob.size() != d.size() {
            return Err(invalid(format!(
                "layer {} has {} bytes, its descriptor says {}",
                l.path,
                s.info.blob.size(),
                d.size()
            )));
        }
        s.info.blob = oci::bare(d);
    }
    if s.info.diff_id != l.diff_id {
        return Err(ArchiveError::Digest {
            what: format!("layer {} (uncompressed)", l.path),
            expected: l.diff_id.clone(),
            got: s.info.diff_id.clone(),
        });
    }
    s.info.chain_id = l.chain.clone();
    Ok(s)
}

fn layer_error(l: &PlannedLayer, e: impl std::fmt::Display) -> ArchiveError {
    invalid(format!("layer {}: {e}", l.path))
}

/// Stage every planned layer the store lacks, keyed by chain ID.
fn stage_all(
    store: &ImageStore,
    cat: &mut Catalog,
    images: &[PlannedImage],
    progress: Option<Progress>,
) -> Result<HashMap<String, StagedLayer>> {
    let mut jobs: Vec<&PlannedLayer> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for l in images.iter().flat_map(|i| i.layers.iter()) {
        if seen.insert(l.chain.clone()) && !store.has_layer(&l.chain) {
            jobs.push(l);
        }
    }
    let mut out: HashMap<String, StagedLayer> = HashMap::new();
    if let Some(file) = cat.file() {
        // From the file: several layers at once, each from its offset.
        let abort = AtomicBool::new(false);
        let queue = Mutex::new(jobs.iter());
        let results: Mutex<Vec<(String, Result<StagedLayer>)>> = Mutex::new(Vec::new());
        let workers = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            .clamp(1, 4)
            .min(jobs.len().max(1));
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(|| loop {
                    let next = queue.lock().ok().and_then(|mut q| q.next().copied());
                    let Some(l) = next else { break };
                    let res = match cat.data(&l.path) {
                        Some(Data::At { offset, size }) => {
                            let r = Range {
                                file,
                                pos: *offset,
                                left: *size,
                                abort: &abort,
                            };
                            let r = Reporting::new(
                                r,
                                l.diff_id.trim_start_matches("sha256:"),
                                *size,
                                progress,
                            );
                            store
                                .stage_layer(r, l.parent.as_deref())
                                .map_err(|e| layer_error(l, e))
                                .and_then(|s| verify(s, l))
                        }
                        _ => Err(invalid(format!("layer {} is missing", l.path))),
                    };
                    if res.is_err() {
                        abort.store(true, Ordering::Relaxed);
                    }
                    if let Ok(mut v) = results.lock() {
                        v.push((l.chain.clone(), res));
                    }
                });
            }
        });
        let mut errors = Vec::new();
        for (chain, res) in results.into_inner().unwrap_or_default() {
            match res {
                Ok(s) => {
                    out.insert(chain, s);
                }
                Err(e) => errors.push(e),
            }
        }
        // The real failure, not the "aborted" of the layers it stopped.
        let aborted = |e: &ArchiveError| e.to_string().contains("load aborted");
        if let Some(e) = errors
            .iter()
            .position(|e| !aborted(e))
            .or((!errors.is_empty()).then_some(0))
        {
            return Err(errors.swap_remove(e));
        }
        return Ok(out);
    }
    // From a stream: the layers were staged while it was read.
    let mut by_path: HashMap<String, String> = HashMap::new();
    for l in jobs {
        let staged = if let Some(s) = cat.take_staged(&l.path) {
            s
        } else if let Some(first) = by_path.get(&l.path).and_then(|c| out.get(c)) {
            // The same blob at another place in a stack (another parent):
            // a second extraction, from the first one's blob.
            let f = first.blob_reader()?;
            store
                .stage_layer(f, l.parent.as_deref())
                .map_err(|e| layer_error(l, e))?
        } else {
            match cat.data(&l.path) {
                Some(Data::Failed(e)) => return Err(layer_error(l, e)),
                Some(Data::Mem(b)) => store
                    .stage_layer(io::Cursor::new(b.clone()), l.parent.as_deref())
                    .map_err(|e| layer_error(l, e))?,
                _ => return Err(invalid(format!("layer {} is not a tar archive", l.path))),
            }
        };
        let staged = verify(staged, l)?;
        by_path
            .entry(l.path.clone())
            .or_insert_with(|| l.chain.clone());
        out.insert(l.chain.clone(), staged);
    }
    Ok(out)
}

/// Open the input: a plain archive file is read by offsets; a gzip or
/// zstd archive, or a pipe, as a stream.
fn catalogue(store: &ImageStore, input: Input<'_>, progress: Option<Progress>) -> Result<Catalog> {
    let io_err = |e| ArchiveError::io("reading the archive", e);
    match input {
        Input::File(f) => {
            let mut magic = [0u8; 4];
            let n = f.read_at(&mut magic, 0).map_err(io_err)?;
            match crate::util::filled(&magic, n).map_err(io_err)? {
                [0x1f, 0x8b, ..] => Catalog::read_stream(
                    flate2::read::MultiGzDecoder::new(io::BufReader::with_capacity(256 << 10, f)),
                    store,
                    progress,
                ),
                [0x28, 0xb5, 0x2f, 0xfd] => Catalog::read_stream(
                    zstd::stream::read::Decoder::new(f).map_err(io_err)?,
                    store,
                    progress,
                ),
                _ => Catalog::scan_file(f),
            }
        }
        Input::Stream(r) => {
            let mut r = io::BufReader::with_capacity(256 << 10, r);
            let head = r.fill_buf().map_err(io_err)?;
            if head.starts_with(&[0x1f, 0x8b]) {
                Catalog::read_stream(flate2::read::MultiGzDecoder::new(r), store, progress)
            } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
                Catalog::read_stream(
                    zstd::stream::read::Decoder::with_buffer(r).map_err(io_err)?,
                    store,
                    progress,
                )
            } else {
                Catalog::read_stream(r, store, progress)
            }
        }
    }
}

/// Load an archive, reporting layers' progress if asked. Returns docker's
/// output lines.
pub fn load(
    store: &ImageStore,
    input: Input<'_>,
    opts: &LoadOptions,
    progress: Option<Progress>,
) -> Result<Vec<String>> {
    store.sweep_tmp();
    let mut cat = catalogue(store, input, progress)?;
    let mut planner = Planner {
        cat: &cat,
        opts,
        images: Vec::new(),
    };
    if cat.contains("manifest.json") {
        planner.docker("manifest.json")?;
    } else if cat.contains("index.json") {
        planner.oci("index.json")?;
    } else {
        return Err(invalid(
            "neither manifest.json (docker-archive) nor index.json (OCI archive) found".into(),
        ));
    }
    let images = planner.images;
    let mut staged = stage_all(store, &mut cat, &images, progress)?;
    drop(cat);

    // The blob each layer will have in the store: staged ones as staged,
    // others as the store keeps them.
    let mut descs: HashMap<String, Descriptor> = HashMap::new();
    for l in images.iter().flat_map(|i| i.layers.iter()) {
        if descs.contains_key(&l.chain) {
            continue;
        }
        let d = match staged.get(&l.chain) {
            Some(s) => s.info.blob.clone(),
            None => store.layer_info(&l.chain).map(|i| i.blob).ok_or_else(|| {
                invalid(format!(
                    "layer {} vanished from the store; load again",
                    l.chain
                ))
            })?,
        };
        descs.insert(l.chain.clone(), d);
    }

    let mut lines = Vec::new();
    for img in images {
        let layer_descs: Vec<Descriptor> = img
            .layers
            .iter()
            .map(|l| {
                descs
                    .get(&l.chain)
                    .cloned()
                    .ok_or_else(|| invalid(format!("layer {} is missing", l.chain)))
            })
            .collect::<Result<_>>()?;
        let manifest = match img.manifest {
            Some((bytes, ref want))
                if want.iter().map(oci::bare).eq(layer_descs.iter().cloned()) =>
            {
                bytes
            }
            _ => serde_json::to_vec(&oci::manifest(
                oci::descriptor(MEDIA_OCI_CONFIG, &img.id, img.config.len() as u64)?,
                layer_descs,
            )?)
            .map_err(|e| invalid(format!("manifest: {e}")))?,
        };
        let layers: Vec<(String, Option<StagedLayer>)> = img
            .layers
            .iter()
            .map(|l| (l.chain.clone(), staged.remove(&l.chain)))
            .collect();
        let idx = store.index()?;
        let names: Vec<Option<&Reference>> = if img.names.is_empty() {
            vec![None]
        } else {
            img.names.iter().map(Some).collect()
        };
        let mut layers = Some(layers);
        for name in names {
            let full = name.map(|n| n.to_string());
            if let Some(f) = &full {
                if let Some(old) = idx
                    .images
                    .iter()
                    .find(|i| i.id != img.id && i.names.contains(f))
                {
                    lines.push(format!(
                        "The image {} already exists, renaming the old one with ID {} to empty string",
                        name.map(|n| n.familiar()).unwrap_or_default(),
                        old.id
                    ));
                }
            }
            // The layers go in with the first name; later names find them.
            let l = layers
                .take()
                .unwrap_or_else(|| img.layers.iter().map(|l| (l.chain.clone(), None)).collect());
            store.add_received(ReceivedImage {
                config: img.config.clone(),
                manifest: manifest.clone(),
                layers: l,
                extra_blobs: vec![],
                name: full,
                repo_digest: None,
            })?;
            match name {
                Some(n) => lines.push(format!("Loaded image: {}", n.familiar())),
                None => lines.push(format!("Loaded image ID: {}", img.id)),
            }
        }
    }
    Ok(lines)
}

#[cfg(test)]
mod tests;
