//! The content-addressed image store.
//!
//! - `blobs/sha256/<hex>`: manifests, configs, layer blobs as received.
//! - `layers/<chain-hex>/diff`: each layer extracted once, keyed by chain ID
//!   so equal stacks share; `layers/l/<short>` short symlinks for overlay.
//! - `images.json`: the index of images, their names and digests.
//!
//! Concurrency: slow work (download, decompress, extract) happens outside the
//! store lock in `tmp/<pid>-<rand>`; every rename into `blobs/` or `layers/`
//! and every index change happens under the lock, so a GC (also under the
//! lock) never sees a half-added image, and a `kill -9` leaves only `tmp/`
//! debris that the next writer sweeps.

use super::config::ImageConfig;
use super::layer::{self, split};
use super::oci::{self, Descriptor, ImageManifest};
use super::reference::Reference;
use super::ImageError;
use crate::paths::Paths;
use crate::util::{self, FileLock};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

type Result<T, E = ImageError> = std::result::Result<T, E>;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ImageRecord {
    /// "sha256:<config digest hex>", as docker shows IMAGE ID.
    pub id: String,
    /// Digest of the manifest blob describing this image in our store.
    pub manifest: String,
    /// Full normalised references with tag: "docker.io/library/busybox:latest".
    #[serde(default)]
    pub names: Vec<String>,
    /// "docker.io/library/busybox@sha256:..." for images pulled by digest.
    #[serde(default)]
    pub digests: Vec<String>,
    /// Chain IDs (hex), bottom layer first.
    #[serde(default)]
    pub layers: Vec<String>,
    /// Sum of the layers' unpacked sizes.
    #[serde(default)]
    pub size: u64,
    /// RFC 3339 from the config, when it has one.
    #[serde(default)]
    pub created: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Index {
    #[serde(default)]
    pub images: Vec<ImageRecord>,
}

impl Index {
    pub fn by_id(&self, id: &str) -> Option<&ImageRecord> {
        self.images.iter().find(|i| i.id == id)
    }

    /// Docker's lookup order: a reference name first, then an ID or ID prefix.
    pub fn lookup(&self, s: &str) -> Result<&ImageRecord> {
        // docker names a missing reference with its tag ("nope:latest").
        let mut missing = s.to_string();
        if let Ok(r) = Reference::parse(s) {
            let full = r.to_string();
            missing = r.familiar();
            if let Some(img) = self
                .images
                .iter()
                .find(|i| i.names.contains(&full) || i.digests.contains(&full))
            {
                return Ok(img);
            }
        }
        let hex = s.strip_prefix("sha256:").unwrap_or(s);
        if !hex.is_empty() && hex.len() <= 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            let hex = hex.to_ascii_lowercase();
            let matches: Vec<&ImageRecord> = self
                .images
                .iter()
                .filter(|i| i.id.trim_start_matches("sha256:").starts_with(&hex))
                .collect();
            if let [only] = matches.as_slice() {
                return Ok(only);
            }
        }
        Err(ImageError::NotFound(missing))
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Compression {
    None,
    Gzip,
    Zstd,
}

/// Chunks between the stages of `stage_layer`, and how many may wait.
const CHUNK: usize = 1 << 20;
const DEPTH: usize = 4;

/// Reads the chunks a channel delivers; EOF once the sender is gone.
/// Spent chunks go back on `recycle`, if given, so the reader reuses them
/// instead of faulting in and zeroing fresh memory for every megabyte.
struct ChanReader {
    rx: mpsc::Receiver<Vec<u8>>,
    cur: Vec<u8>,
    pos: usize,
    recycle: Option<mpsc::Sender<Vec<u8>>>,
}

impl ChanReader {
    fn new(rx: mpsc::Receiver<Vec<u8>>, recycle: Option<mpsc::Sender<Vec<u8>>>) -> Self {
        ChanReader {
            rx,
            cur: Vec::new(),
            pos: 0,
            recycle,
        }
    }
}

impl Read for ChanReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.cur.len() {
            match self.rx.recv() {
                Ok(c) => {
                    let spent = std::mem::replace(&mut self.cur, c);
                    if let Some(r) = &self.recycle {
                        if spent.capacity() == CHUNK {
                            let _ = r.send(spent);
                        }
                    }
                    self.pos = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let mut rest = self.cur.get(self.pos..).unwrap_or_default();
        let n = rest.read(buf)?;
        // n is at most what was left: pos stays within cur.
        self.pos = self.pos.saturating_add(n);
        Ok(n)
    }
}

/// Fill `buf` from `r` as far as it goes (short only at EOF).
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0usize;
    while let Some(rest) = buf.get_mut(got..).filter(|rest| !rest.is_empty()) {
        match r.read(rest) {
            Ok(0) => break,
            Ok(n) => got = got.saturating_add(n.min(rest.len())),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// The middle stage: decompress (if needed) and hash the tar (the diff
/// ID), passing it on to extraction. `Ok(None)`: extraction stopped
/// early (its own error tells why).
fn decode_stage(
    compression: Compression,
    raw: mpsc::Receiver<Vec<u8>>,
    out: mpsc::SyncSender<Vec<u8>>,
    recycle: mpsc::Sender<Vec<u8>>,
) -> Result<Option<String>> {
    let mut hasher = Sha256::new();
    if compression == Compression::None {
        // The blob is the tar: chunks go on as they are, no copy.
        for chunk in raw {
            hasher.update(&chunk);
            if out.send(chunk).is_err() {
                return Ok(None);
            }
        }
        return Ok(Some(hex::encode(hasher.finalize())));
    }
    let raw = ChanReader::new(raw, Some(recycle));
    let mut dec: Box<dyn Read> = match compression {
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(
            io::BufReader::with_capacity(256 * 1024, raw),
        )),
        _ => Box::new(
            zstd::stream::read::Decoder::new(raw)
                .map_err(|e| ImageError::io("reading zstd layer", e))?,
        ),
    };
    loop {
        let mut buf = vec![0u8; CHUNK];
        let n = read_full(&mut dec, &mut buf).map_err(|e| ImageError::io("reading layer", e))?;
        if n == 0 {
            break;
        }
        buf.truncate(n);
        hasher.update(&buf);
        if out.send(buf).is_err() {
            return Ok(None);
        }
    }
    Ok(Some(hex::encode(hasher.finalize())))
}

/// One layer as it ends up in the store.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LayerInfo {
    pub chain_id: String,
    pub diff_id: String,
    /// Media type, digest and size only (`oci::bare`).
    pub blob: Descriptor,
    /// Unpacked size.
    pub size: u64,
}

/// A layer extracted into a temp dir, not yet in the store. Dropping it
/// removes the dir, so a failed pull leaves nothing behind.
pub struct StagedLayer {
    dir: PathBuf,
    pub info: LayerInfo,
}

impl StagedLayer {
    /// The blob, until the layer is installed (`load` stages a blob a
    /// second time from it when one archive layer sits on two different
    /// parents).
    pub fn blob_reader(&self) -> Result<Box<dyn Read + Send>> {
        open_blob_in(&self.dir)?
            .ok_or_else(|| ImageError::Invalid("a staged layer has no blob".into()))
    }
}

/// A layer dir's own copy of its blob: a compressed blob kept as received,
/// or the plain tar rebuilt from its tar-split.
fn open_blob_in(dir: &Path) -> Result<Option<Box<dyn Read + Send>>> {
    match fs::File::open(dir.join("blob")) {
        Ok(f) => return Ok(Some(Box::new(f))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(ImageError::io("opening a layer blob", e)),
    }
    Ok(split::Rebuild::open(dir)
        .map_err(|e| ImageError::io("opening a layer's tar-split", e))?
        .map(|r| Box::new(r.into_reader()) as Box<dyn Read + Send>))
}

impl Drop for StagedLayer {
    fn drop(&mut self) {
        // Gone already once installed (renamed into layers/).
        let _ = layer::remove_tree(&self.dir);
    }
}

/// An image as a registry (or an archive) describes it: the exact bytes of
/// its config and manifest, so the image ID and digests stay the
/// registry's, and per layer either a staged copy or one already stored.
pub struct ReceivedImage {
    pub config: Vec<u8>,
    pub manifest: Vec<u8>,
    /// Bottom first; `None` where the store has the layer (by chain ID).
    pub layers: Vec<(String, Option<StagedLayer>)>,
    /// Extra blobs to keep (a manifest list the manifest came from).
    pub extra_blobs: Vec<Vec<u8>>,
    /// Full name to tag ("docker.io/library/busybox:latest"), if any.
    pub name: Option<String>,
    /// "docker.io/library/busybox@sha256:..." to record, if any.
    pub repo_digest: Option<String>,
}

pub struct ImageStore {
    paths: Paths,
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Chain ID of a layer stacked on `parent` (hex, or None for the bottom).
pub fn chain_id(parent: Option<&str>, diff_id: &str) -> String {
    match parent {
        None => diff_id.trim_start_matches("sha256:").to_string(),
        Some(p) => sha256_hex(format!("sha256:{p} {diff_id}").as_bytes()),
    }
}

/// Overlay lowerdir entry (relative to `layers/`) for a chain ID.
pub fn short_link(chain_hex: &str) -> String {
    format!("l/{}", crate::util::first_chars(chain_hex, 16))
}

impl ImageStore {
    pub fn new(paths: &Paths) -> Self {
        ImageStore {
            paths: paths.clone(),
        }
    }

    pub fn paths(&self) -> &Paths {
        &self.paths
    }

    fn ensure_dirs(&self) -> Result<()> {
        for d in [
            self.paths.blobs(),
            self.paths.short_links(),
            self.paths.tmp(),
        ] {
            util::mkdirs_private(&d)
                .map_err(|e| ImageError::io(format!("creating {}", d.display()), e))?;
        }
        Ok(())
    }

    pub fn lock(&self) -> Result<FileLock> {
        FileLock::exclusive(&self.paths.lock_file())
            .map_err(|e| ImageError::io("locking the store", e))
    }

    pub fn index(&self) -> Result<Index> {
        match fs::read(self.paths.images_index()) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| ImageError::Json {
                what: "images.json".into(),
                source: e,
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Index::default()),
            Err(e) => Err(ImageError::io("reading images.json", e)),
        }
    }

    /// Write the index; the caller holds the store lock.
    pub fn write_index(&self, idx: &Index) -> Result<()> {
        let data = serde_json::to_vec_pretty(idx).map_err(|e| ImageError::Json {
            what: "images.json".into(),
            source: e,
        })?;
        util::atomic_write(&self.paths.images_index(), &data)
            .map_err(|e| ImageError::io("writing images.json", e))
    }

    /// Read-modify-write the index under the store lock.
    pub fn update<R>(&self, f: impl FnOnce(&mut Index) -> Result<R>) -> Result<R> {
        self.ensure_dirs()?;
        let _lock = self.lock()?;
        let mut idx = self.index()?;
        let r = f(&mut idx)?;
        self.write_index(&idx)?;
        Ok(r)
    }

    pub fn read_blob(&self, digest: &str) -> Result<Vec<u8>> {
        let hex = digest.trim_start_matches("sha256:");
        fs::read(self.paths.blob(hex))
            .map_err(|e| ImageError::io(format!("reading blob {digest}"), e))
    }

    pub fn config(&self, img: &ImageRecord) -> Result<ImageConfig> {
        let b = self.read_blob(&img.id)?;
        serde_json::from_slice(&b).map_err(|e| ImageError::Json {
            what: format!("image config {}", img.id),
            source: e,
        })
    }

    pub fn manifest(&self, img: &ImageRecord) -> Result<ImageManifest> {
        let b = self.read_blob(&img.manifest)?;
        Ok(oci::parse_manifest(
            &b,
            &format!("manifest {}", img.manifest),
        )?)
    }

    /// A fresh temp dir under `tmp/`, named by our pid so a sweep can tell
    /// abandoned ones (dead pid) from in-flight ones.
    pub fn temp_dir(&self) -> Result<PathBuf> {
        self.ensure_dirs()?;
        let p = self
            .paths
            .tmp()
            .join(format!("{}-{}", std::process::id(), util::random_hex(6)));
        util::mkdirs(&p, util::PRIVATE_DIR)
            .map_err(|e| ImageError::io(format!("creating {}", p.display()), e))?;
        Ok(p)
    }

    /// Remove temp dirs left by processes that no longer exist.
    /// How many it removed.
    pub fn sweep_tmp(&self) -> usize {
        let Ok(rd) = fs::read_dir(self.paths.tmp()) else {
            return 0;
        };
        let mut n = 0usize;
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let pid: Option<i32> = name.split('-').next().and_then(|p| p.parse().ok());
            if let Some(pid) = pid {
                if Path::new(&format!("/proc/{pid}")).exists() {
                    continue;
                }
            }
            if layer::remove_tree(&e.path()).is_ok() {
                n = n.saturating_add(1);
            }
        }
        n
    }

    /// Stream one layer (tar, or gzip-compressed tar) into a staging dir:
    /// the blob is kept as received, hashed on the way; the tar is hashed
    /// (diff ID) and extracted in the same pass.
    pub fn stage_layer(&self, input: impl Read, parent_chain: Option<&str>) -> Result<StagedLayer> {
        let dir = self.temp_dir()?;
        let res = self.stage_layer_in(&dir, input, parent_chain);
        if res.is_err() {
            let _ = layer::remove_tree(&dir);
        }
        res.map(|info| StagedLayer { dir, info })
    }

    /// Three stages on their own threads, so that reading and keeping
    /// the blob, decompressing and hashing, and extracting overlap: this
    /// thread reads the input and writes the blob as received; a second
    /// decompresses and hashes the tar; a third extracts it.
    fn stage_layer_in(
        &self,
        dir: &Path,
        mut input: impl Read,
        parent_chain: Option<&str>,
    ) -> Result<LayerInfo> {
        let read_err = |e| ImageError::io("reading layer", e);
        let mut first = vec![0u8; CHUNK];
        let n = read_full(&mut input, &mut first).map_err(read_err)?;
        first.truncate(n);
        let compression = match first.get(..4).or_else(|| first.get(..2)) {
            Some([0x1f, 0x8b, ..]) => Compression::Gzip,
            Some([0x28, 0xb5, 0x2f, 0xfd]) => Compression::Zstd,
            _ => Compression::None,
        };
        // A plain tar is kept as its extracted files plus a tar-split (see
        // layer::split); only a compressed blob is kept as received.
        let mut blob = match compression {
            Compression::None => None,
            _ => Some(
                fs::File::create(dir.join("blob"))
                    .map_err(|e| ImageError::io("creating blob", e))?,
            ),
        };
        let diff_dir = dir.join("diff");
        fs::create_dir(&diff_dir).map_err(|e| ImageError::io("creating layer dir", e))?;
        let (raw_tx, raw_rx) = mpsc::sync_channel::<Vec<u8>>(DEPTH);
        let (tar_tx, tar_rx) = mpsc::sync_channel::<Vec<u8>>(DEPTH);
        let (recycle_tx, recycle_rx) = mpsc::channel::<Vec<u8>>();
        let mut raw_hasher = Sha256::new();
        let mut count = 0u64;
        let (read_res, decoded, extracted) = std::thread::scope(|s| {
            let decoder = {
                let recycle = recycle_tx.clone();
                s.spawn(move || decode_stage(compression, raw_rx, tar_tx, recycle))
            };
            let diff_dir = &diff_dir;
            let extractor = s.spawn(move || -> Result<layer::LayerStats> {
                // Plain tars reach extraction in the very chunks this
                // thread read: those come back for reuse.
                let recycle = (compression == Compression::None).then_some(recycle_tx);
                let mut r = ChanReader::new(tar_rx, recycle);
                if compression != Compression::None {
                    let stats = layer::extract(&mut r, diff_dir)?;
                    // Tar's end-of-archive padding is part of the digest:
                    // let it through to the hasher.
                    io::copy(&mut r, &mut io::sink()).map_err(read_err)?;
                    return Ok(stats);
                }
                let split_err = |e: io::Error| ImageError::io("recording the layer's tar-split", e);
                let rec = split::Recorder::create(dir).map_err(split_err)?;
                let mut tee = split::Tee::new(&mut r, rec.clone());
                let stats = layer::extract_recording(&mut tee, diff_dir, Some(&rec))?;
                // The end-of-archive padding belongs to the tar too.
                io::copy(&mut tee, &mut io::sink()).map_err(read_err)?;
                drop(tee);
                rec.finish().map_err(split_err)?;
                Ok(stats)
            });
            let read_res = (|| -> Result<()> {
                let mut chunk = first;
                while !chunk.is_empty() {
                    if let Some(blob) = blob.as_mut() {
                        blob.write_all(&chunk)
                            .map_err(|e| ImageError::io("writing blob", e))?;
                    }
                    count = count.saturating_add(chunk.len() as u64);
                    if compression != Compression::None {
                        raw_hasher.update(&chunk);
                    }
                    if raw_tx.send(chunk).is_err() {
                        // A later stage failed; its error says why.
                        return Ok(());
                    }
                    chunk = recycle_rx.try_recv().unwrap_or_default();
                    chunk.resize(CHUNK, 0);
                    let n = read_full(&mut input, &mut chunk).map_err(read_err)?;
                    chunk.truncate(n);
                }
                Ok(())
            })();
            drop(raw_tx);
            let decoded = decoder
                .join()
                .unwrap_or_else(|_| Err(ImageError::Invalid("layer decoder panicked".into())));
            let extracted = extractor
                .join()
                .unwrap_or_else(|_| Err(ImageError::Invalid("layer extraction panicked".into())));
            (read_res, decoded, extracted)
        });
        // The input's failure first, then the decoder's, then extraction's.
        read_res?;
        let decoded = decoded?;
        let stats = extracted?;
        let diff_hex =
            decoded.ok_or_else(|| ImageError::Invalid("layer extraction stopped early".into()))?;
        let blob_hex = if compression == Compression::None {
            diff_hex.clone()
        } else {
            hex::encode(raw_hasher.finalize())
        };
        let diff_id = format!("sha256:{diff_hex}");
        let media_type = match compression {
            Compression::Gzip => oci::MEDIA_OCI_LAYER_GZIP,
            Compression::Zstd => oci::MEDIA_OCI_LAYER_ZSTD,
            Compression::None => oci::MEDIA_OCI_LAYER_TAR,
        };
        Ok(LayerInfo {
            chain_id: chain_id(parent_chain, &diff_id),
            diff_id,
            blob: oci::descriptor(media_type, &format!("sha256:{blob_hex}"), count)?,
            size: stats.size,
        })
    }

    /// Move a staged layer into the store (caller holds the lock). If the
    /// same chain is already there, the staged copy is dropped.
    fn install_layer(&self, staged: StagedLayer) -> Result<LayerInfo> {
        let info = staged.info.clone();
        let blob_dst = self
            .paths
            .blob(info.blob.digest().as_ref().trim_start_matches("sha256:"));
        let staged_blob = staged.dir.join("blob");
        if !blob_dst.exists() && staged_blob.exists() {
            fs::rename(&staged_blob, &blob_dst)
                .map_err(|e| ImageError::io("storing layer blob", e))?;
        }
        let layer_dir = self.paths.layer(&info.chain_id);
        if !layer_dir.join("diff").exists() {
            let meta = serde_json::to_vec(&info).map_err(|e| ImageError::Json {
                what: "layer meta".into(),
                source: e,
            })?;
            fs::write(staged.dir.join("meta.json"), meta)
                .map_err(|e| ImageError::io("writing layer meta", e))?;
            let _ = fs::remove_file(staged.dir.join("blob"));
            // A layer dir without diff/ is debris from a crash: replace it.
            if layer_dir.exists() {
                let _ = layer::remove_tree(&layer_dir);
            }
            fs::rename(&staged.dir, &layer_dir).map_err(|e| ImageError::io("storing layer", e))?;
            let link = self.paths.layers().join(short_link(&info.chain_id));
            let _ = fs::remove_file(&link);
            std::os::unix::fs::symlink(format!("../{}/diff", info.chain_id), &link)
                .map_err(|e| ImageError::io("linking layer", e))?;
        } else {
            // Stored already (maybe from a compressed blob of the same
            // tar): it takes this plain tar's split if the store has no
            // other copy of the tar. keep/ first, so a split never names
            // kept files that are not there.
            let split_src = staged.dir.join(split::FILE_NAME);
            let split_dst = layer_dir.join(split::FILE_NAME);
            if split_src.exists() && !split_dst.exists() && !blob_dst.exists() {
                let keep = staged.dir.join("keep");
                if keep.exists() {
                    let _ = layer::remove_tree(&layer_dir.join("keep"));
                    fs::rename(&keep, layer_dir.join("keep"))
                        .map_err(|e| ImageError::io("storing layer", e))?;
                }
                fs::rename(&split_src, &split_dst)
                    .map_err(|e| ImageError::io("storing layer", e))?;
            }
            let _ = layer::remove_tree(&staged.dir);
        }
        Ok(info)
    }

    /// A stored layer blob by digest: the blob file, or for the layer's
    /// plain tar (its diff ID), the tar rebuilt from its tar-split.
    pub fn open_layer_blob(
        &self,
        chain: &str,
        digest: &str,
    ) -> Result<Option<Box<dyn Read + Send>>> {
        match fs::File::open(self.paths.blob(digest.trim_start_matches("sha256:"))) {
            Ok(f) => return Ok(Some(Box::new(f))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(ImageError::io(format!("opening blob {digest}"), e)),
        }
        Ok(self
            .layer_split(chain, digest)?
            .map(|r| Box::new(r.into_reader()) as Box<dyn Read + Send>))
    }

    /// The tar-split that rebuilds blob `digest` of layer `chain`, if the
    /// store keeps that blob so.
    pub fn layer_split(&self, chain: &str, digest: &str) -> Result<Option<split::Rebuild>> {
        match self.layer_info(chain) {
            Some(info) if info.diff_id == digest => {
                split::Rebuild::open(&self.paths.layer(chain.trim_start_matches("sha256:")))
                    .map_err(|e| ImageError::io(format!("opening the tar-split of {digest}"), e))
            }
            _ => Ok(None),
        }
    }

    fn put_blob_locked(&self, data: &[u8]) -> Result<String> {
        let hex = sha256_hex(data);
        let p = self.paths.blob(&hex);
        if !p.exists() {
            util::atomic_write(&p, data).map_err(|e| ImageError::io("writing blob", e))?;
        }
        Ok(format!("sha256:{hex}"))
    }

    /// Add an image made of `layers` (bottom first, already staged) and
    /// `config` (its rootfs.diff_ids are filled in here); tag it with `name`.
    /// Returns the image ID.
    pub fn add_image(
        &self,
        config: ImageConfig,
        layers: Vec<StagedLayer>,
        name: Option<&Reference>,
    ) -> Result<String> {
        self.add_image_on(config, Vec::new(), layers, name)
    }

    /// As `add_image`, on top of layers already in the store (`commit`).
    pub fn add_image_on(
        &self,
        mut config: ImageConfig,
        base: Vec<LayerInfo>,
        layers: Vec<StagedLayer>,
        name: Option<&Reference>,
    ) -> Result<String> {
        config.rootfs.kind = "layers".into();
        config.rootfs.diff_ids = base
            .iter()
            .map(|l| l.diff_id.clone())
            .chain(layers.iter().map(|l| l.info.diff_id.clone()))
            .collect();
        let config_bytes = serde_json::to_vec(&config).map_err(|e| ImageError::Json {
            what: "image config".into(),
            source: e,
        })?;
        self.ensure_dirs()?;
        let _lock = self.lock()?;
        let mut infos = base;
        for l in layers {
            infos.push(self.install_layer(l)?);
        }
        let config_digest = self.put_blob_locked(&config_bytes)?;
        let manifest = oci::manifest(
            oci::descriptor(
                oci::MEDIA_OCI_CONFIG,
                &config_digest,
                config_bytes.len() as u64,
            )?,
            infos.iter().map(|i| i.blob.clone()).collect(),
        )?;
        let manifest_bytes = serde_json::to_vec(&manifest).map_err(|e| ImageError::Json {
            what: "manifest".into(),
            source: e,
        })?;
        let manifest_digest = self.put_blob_locked(&manifest_bytes)?;
        let mut idx = self.index()?;
        let full_name = name.map(|n| n.to_string());
        if let Some(n) = &full_name {
            for img in idx.images.iter_mut() {
                img.names.retain(|x| x != n);
            }
        }
        if let Some(img) = idx.images.iter_mut().find(|i| i.id == config_digest) {
            if let Some(n) = full_name {
                img.names.push(n);
            }
        } else {
            idx.images.push(ImageRecord {
                id: config_digest.clone(),
                manifest: manifest_digest,
                names: full_name.into_iter().collect(),
                digests: vec![],
                layers: infos.iter().map(|i| i.chain_id.clone()).collect(),
                size: infos.iter().map(|i| i.size).sum(),
                created: config.created.clone(),
            });
        }
        self.write_index(&idx)?;
        Ok(config_digest)
    }

    /// Install one staged layer and, under the same lock, run `record`
    /// (which makes something refer to it), so a concurrent GC never sees
    /// the layer unreferenced (`build`'s steps).
    pub fn add_layer_with<R>(
        &self,
        staged: StagedLayer,
        record: impl FnOnce(&LayerInfo) -> Result<R>,
    ) -> Result<(LayerInfo, R)> {
        self.ensure_dirs()?;
        let _lock = self.lock()?;
        let info = self.install_layer(staged)?;
        let r = record(&info)?;
        Ok((info, r))
    }

    /// Whether a layer (by chain ID, "sha256:" optional) is in the store.
    pub fn has_layer(&self, chain: &str) -> bool {
        self.paths
            .layer(chain.trim_start_matches("sha256:"))
            .join("diff")
            .is_dir()
    }

    /// A stored layer's metadata.
    pub fn layer_info(&self, chain: &str) -> Option<LayerInfo> {
        let p = self
            .paths
            .layer(chain.trim_start_matches("sha256:"))
            .join("meta.json");
        serde_json::from_slice(&fs::read(p).ok()?).ok()
    }

    /// Add an image received whole (pull, load). Returns the image ID and
    /// whether the store already had it under that name.
    pub fn add_received(&self, img: ReceivedImage) -> Result<(String, bool)> {
        self.ensure_dirs()?;
        let _lock = self.lock()?;
        let mut infos = Vec::with_capacity(img.layers.len());
        for (chain, staged) in img.layers {
            let info = match staged {
                Some(s) => self.install_layer(s)?,
                // Checked again under the lock: a concurrent rmi may have
                // collected it since the pull looked.
                None => self
                    .layer_info(&chain)
                    .filter(|_| self.has_layer(&chain))
                    .ok_or_else(|| {
                        ImageError::Invalid(format!(
                            "layer {chain} vanished from the store during the pull; pull again"
                        ))
                    })?,
            };
            infos.push(info);
        }
        let id = self.put_blob_locked(&img.config)?;
        let manifest_digest = self.put_blob_locked(&img.manifest)?;
        for b in &img.extra_blobs {
            self.put_blob_locked(b)?;
        }
        let created = serde_json::from_slice::<ImageConfig>(&img.config)
            .ok()
            .and_then(|c| c.created);
        let mut idx = self.index()?;
        let mut up_to_date = false;
        if let Some(n) = &img.name {
            up_to_date = idx.images.iter().any(|i| i.id == id && i.names.contains(n));
            for other in idx.images.iter_mut() {
                other.names.retain(|x| x != n);
            }
        }
        let rec = match idx.images.iter().position(|i| i.id == id) {
            Some(p) => idx.images.get_mut(p),
            None => {
                idx.images.push(ImageRecord {
                    id: id.clone(),
                    manifest: manifest_digest,
                    names: vec![],
                    digests: vec![],
                    layers: infos.iter().map(|i| i.chain_id.clone()).collect(),
                    size: infos.iter().map(|i| i.size).sum(),
                    created,
                });
                idx.images.last_mut()
            }
        };
        let rec = rec.ok_or_else(|| ImageError::NotFound(id.clone()))?;
        if let Some(n) = img.name {
            rec.names.push(n);
        }
        if let Some(d) = img.repo_digest {
            if !rec.digests.contains(&d) {
                rec.digests.push(d);
            }
        }
        self.write_index(&idx)?;
        Ok((id, up_to_date))
    }

    /// Record "name@digest" for an image (after a push).
    pub fn add_repo_digest(&self, id: &str, repo_digest: &str) -> Result<()> {
        self.update(|idx| {
            if let Some(img) = idx.images.iter_mut().find(|i| i.id == id) {
                if !img.digests.iter().any(|d| d == repo_digest) {
                    img.digests.push(repo_digest.to_string());
                }
            }
            Ok(())
        })
    }

    /// The overlay lower entries of an image, topmost first.
    pub fn lowers(&self, img: &ImageRecord) -> Vec<String> {
        img.layers.iter().rev().map(|c| short_link(c)).collect()
    }

    /// Delete layers and blobs no image references and no container uses
    /// (`container_layers`: chain IDs of existing containers). Caller holds the lock.
    pub fn gc_locked(&self, idx: &Index, container_layers: &HashSet<String>) -> Result<()> {
        let mut keep_layers: HashSet<String> = container_layers.clone();
        // The build cache's records name layers no image may hold any more.
        keep_layers.extend(crate::build::cache::layers_in_use(&self.paths));
        let mut keep_blobs: HashSet<String> = HashSet::new();
        for img in &idx.images {
            keep_layers.extend(img.layers.iter().cloned());
            keep_blobs.insert(img.id.trim_start_matches("sha256:").to_string());
            keep_blobs.insert(img.manifest.trim_start_matches("sha256:").to_string());
            if let Ok(m) = self.manifest(img) {
                for l in m.layers() {
                    keep_blobs.insert(l.digest().as_ref().trim_start_matches("sha256:").into());
                }
            }
        }
        if let Ok(rd) = fs::read_dir(self.paths.layers()) {
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name == "l" || keep_layers.contains(&name) {
                    continue;
                }
                let _ = fs::remove_file(self.paths.layers().join(short_link(&name)));
                layer::remove_tree(&e.path())
                    .map_err(|e| ImageError::io(format!("removing layer {name}"), e))?;
            }
        }
        // The blob a kept layer was stored from stays too, even if no
        // manifest names it any more (`save` falls back to it).
        for l in &keep_layers {
            if let Some(info) = self.layer_info(l) {
                keep_blobs.insert(
                    info.blob
                        .digest()
                        .as_ref()
                        .trim_start_matches("sha256:")
                        .into(),
                );
            }
        }
        if let Ok(rd) = fs::read_dir(self.paths.blobs()) {
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if !keep_blobs.contains(&name) {
                    let _ = fs::remove_file(e.path());
                }
            }
        }
        Ok(())
    }
}
