//! `manifest`: image manifests and manifest lists as the docker client's
//! `docker manifest` sees them, fetched straight from a registry (no image
//! store involved), the local lists `create` and `annotate` build (in
//! docker's own directory, `store.rs`), and the list `push` sends.
//!
//! The shapes printed are docker's: a manifest re-indented byte for byte
//! as the registry sent it; a list rebuilt from its entries; `-v` as the
//! docker client marshals its `ImageManifest` records.

pub mod gojson;
pub mod store;

use super::client::{body_error, Registry};
use super::pull::{fetch_manifest, FetchedManifest};
use super::settings::Settings;
use super::{credentials, RegistryError};
use crate::image::oci::{
    IndexEntry, Platform, Probe, MEDIA_DOCKER_LIST, MEDIA_DOCKER_MANIFEST, MEDIA_OCI_INDEX,
    MEDIA_OCI_MANIFEST,
};
use crate::image::reference::Reference;
use crate::image::store::sha256_hex;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::sync::Mutex;
use ureq::http::Method;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// application/vnd.docker.distribution.manifest.v2+json
    Schema2,
    /// application/vnd.oci.image.manifest.v1+json
    Oci,
}

/// One image manifest with what docker's client knows of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageManifest {
    /// The full reference it was fetched by ("host/repo:tag", or
    /// "host/repo:tag@digest" for an entry of a list).
    pub reference: String,
    pub descriptor: IndexEntry,
    /// The bytes the registry sent (empty in files of old docker versions).
    pub raw: Vec<u8>,
    /// The manifest's JSON as docker holds it (as sent, or compacted once
    /// stored), with its kind; None when a stored file has neither.
    pub payload: Option<(Kind, Vec<u8>)>,
}

/// docker's file (and `-v`) shape of an `ImageManifest`.
#[derive(Serialize, Deserialize)]
struct Record {
    #[serde(rename = "Ref", default)]
    reference: String,
    #[serde(rename = "Descriptor", default)]
    descriptor: IndexEntry,
    #[serde(rename = "Raw", default, skip_serializing_if = "String::is_empty")]
    raw: String,
    #[serde(
        rename = "SchemaV2Manifest",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    schema2: Option<Box<RawValue>>,
    #[serde(
        rename = "OCIManifest",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    oci: Option<Box<RawValue>>,
    // Files written before docker had `Descriptor`.
    #[serde(rename = "Digest", default, skip_serializing)]
    old_digest: String,
    #[serde(rename = "Platform", default, skip_serializing)]
    old_platform: Option<Platform>,
}

impl ImageManifest {
    /// What docker's `Payload()` gives: the media type and the JSON.
    fn payload(&self) -> Result<(String, &[u8]), RegistryError> {
        match &self.payload {
            Some((Kind::Oci, p)) => Ok((MEDIA_OCI_MANIFEST.to_string(), p)),
            Some((Kind::Schema2, p)) => Ok((schema2_media_type(p), p)),
            None => Err(RegistryError::Invalid(format!(
                "{} has no payload",
                self.reference
            ))),
        }
    }

    /// Go's `json.Marshal` of docker's `ImageManifest`.
    pub fn marshal(&self) -> Result<Vec<u8>, RegistryError> {
        let body = |k: Kind| -> Result<Option<Box<RawValue>>, RegistryError> {
            match &self.payload {
                Some((kind, p)) if *kind == k => {
                    let s = String::from_utf8(gojson::compact(p))
                        .map_err(|e| RegistryError::Invalid(format!("manifest: {e}")))?;
                    RawValue::from_string(s)
                        .map(Some)
                        .map_err(|e| RegistryError::Invalid(format!("manifest: {e}")))
                }
                _ => Ok(None),
            }
        };
        let rec = Record {
            reference: self.reference.clone(),
            descriptor: self.descriptor.clone(),
            raw: base64::engine::general_purpose::STANDARD.encode(&self.raw),
            schema2: body(Kind::Schema2)?,
            oci: body(Kind::Oci)?,
            old_digest: String::new(),
            old_platform: None,
        };
        let json = serde_json::to_vec(&rec)
            .map_err(|e| RegistryError::Invalid(format!("manifest: {e}")))?;
        // serde_json does not escape HTML characters; Go's Marshal does.
        Ok(gojson::compact(&json))
    }

    /// Read docker's file shape back.
    pub fn unmarshal(data: &[u8]) -> Result<ImageManifest, serde_json::Error> {
        let rec: Record = serde_json::from_slice(data)?;
        let payload = match (rec.schema2, rec.oci) {
            (Some(p), _) => Some((Kind::Schema2, p.get().as_bytes().to_vec())),
            (None, Some(p)) => Some((Kind::Oci, p.get().as_bytes().to_vec())),
            _ => None,
        };
        let raw = base64::engine::general_purpose::STANDARD
            .decode(rec.raw.as_bytes())
            .unwrap_or_default();
        let mut m = ImageManifest {
            reference: rec.reference,
            descriptor: rec.descriptor,
            raw,
            payload,
        };
        if !rec.old_digest.is_empty() {
            // As docker reads its old files: the descriptor from the
            // payload and the separate fields.
            if let Ok((media, p)) = m.payload() {
                m.descriptor = IndexEntry {
                    media_type: media,
                    digest: rec.old_digest,
                    size: p.len() as i64,
                    platform: rec.old_platform,
                    ..Default::default()
                };
            }
        }
        Ok(m)
    }

    /// The config and layer digests the manifest names.
    fn blobs(&self) -> Vec<String> {
        let Some((_, p)) = &self.payload else {
            return Vec::new();
        };
        let v: serde_json::Value = serde_json::from_slice(p).unwrap_or_default();
        v.get("config")
            .into_iter()
            .chain(
                v.get("layers")
                    .and_then(serde_json::Value::as_array)
                    .into_iter()
                    .flatten(),
            )
            .filter_map(|d| d.get("digest")?.as_str().map(str::to_string))
            .collect()
    }
}

fn schema2_media_type(p: &[u8]) -> String {
    serde_json::from_slice::<Probe>(p)
        .map(|m| m.media_type)
        .unwrap_or_default()
}

/// `docker manifest inspect`'s output without `-v` for one manifest: its
/// JSON re-indented with tabs, and a newline.
pub fn payload_text(m: &ImageManifest) -> Result<Vec<u8>, RegistryError> {
    let (_, p) = m.payload()?;
    let mut out = gojson::indent(p, "\t");
    out.push(b'\n');
    Ok(out)
}

/// `-v`: docker's records, tab-indented; an array for a list.
pub fn verbose_text(ms: &[ImageManifest], list: bool) -> Result<Vec<u8>, RegistryError> {
    let mut json = Vec::new();
    if list {
        json.push(b'[');
    }
    for (i, m) in ms.iter().enumerate() {
        if i > 0 {
            json.push(b',');
        }
        json.extend(m.marshal()?);
    }
    if list {
        json.push(b']');
    }
    let mut out = gojson::indent(&json, "\t");
    out.push(b'\n');
    Ok(out)
}

/// The manifest list docker builds from its entries (what `inspect`
/// prints for a list without `-v`, and what `push` sends): schema 2 list,
/// or an OCI index when the first entry is an OCI manifest; each entry's
/// media type, size, digest and platform, indented by three spaces. With
/// the list's media type.
pub fn list_json(
    target: &Reference,
    ms: &[ImageManifest],
) -> Result<(&'static str, Vec<u8>), RegistryError> {
    // distribution's `ManifestDescriptor` (what docker's client builds
    // lists from): its own field order and omissions, not an OCI
    // descriptor's.
    #[derive(Serialize)]
    struct Entry<'a> {
        #[serde(rename = "mediaType", skip_serializing_if = "str::is_empty")]
        media_type: &'a str,
        #[serde(skip_serializing_if = "is_zero")]
        size: i64,
        #[serde(skip_serializing_if = "str::is_empty")]
        digest: &'a str,
        platform: Platform,
    }
    #[derive(Serialize)]
    struct List<'a> {
        #[serde(rename = "schemaVersion")]
        schema_version: u32,
        #[serde(rename = "mediaType")]
        media_type: &'a str,
        manifests: Vec<Entry<'a>>,
    }
    fn is_zero(n: &i64) -> bool {
        *n == 0
    }
    let mut entries = Vec::new();
    for m in ms {
        let domain = Reference::parse(&m.reference)
            .map(|r| r.domain)
            .unwrap_or_default();
        if domain != target.domain {
            return Err(RegistryError::Invalid(format!(
                "failed to assemble ManifestDescriptor: cannot use source images from a different registry than the target image: {domain} != {}",
                target.domain
            )));
        }
        entries.push(Entry {
            media_type: &m.descriptor.media_type,
            size: m.descriptor.size,
            digest: &m.descriptor.digest,
            // The OS features survive; CPU features are not recorded.
            platform: m.descriptor.platform.clone().unwrap_or_default(),
        });
    }
    let media_type = match entries.first() {
        Some(e) if e.media_type == MEDIA_OCI_MANIFEST => MEDIA_OCI_INDEX,
        _ => MEDIA_DOCKER_LIST,
    };
    let json = serde_json::to_vec(&List {
        schema_version: 2,
        media_type,
        manifests: entries,
    })
    .map_err(|e| RegistryError::Invalid(format!("manifest list: {e}")))?;
    Ok((media_type, gojson::indent(&gojson::compact(&json), "   ")))
}

/// What a registry answered for a reference.
pub enum Remote {
    Manifest(Box<ImageManifest>),
    List(Vec<ImageManifest>),
}

/// A manifest or a list, told apart as docker's client does: by the
/// Content-Type the registry sent.
enum Doc {
    Manifest(Kind),
    List(Vec<IndexEntry>),
}

fn classify(m: &FetchedManifest) -> Result<Doc, RegistryError> {
    let bad = |e: String| RegistryError::Invalid(e);
    let p: Probe = serde_json::from_slice(&m.bytes).map_err(|e| bad(e.to_string()))?;
    match m.content_type.as_str() {
        MEDIA_DOCKER_MANIFEST => {
            if p.media_type != MEDIA_DOCKER_MANIFEST {
                return Err(bad(format!(
                    "mediaType in manifest should be '{MEDIA_DOCKER_MANIFEST}' not '{}'",
                    p.media_type
                )));
            }
            Ok(Doc::Manifest(Kind::Schema2))
        }
        MEDIA_OCI_MANIFEST => {
            if p.manifests.is_some() {
                return Err(bad("ocimanifest: expected manifest but found index".into()));
            }
            if !p.media_type.is_empty() && p.media_type != MEDIA_OCI_MANIFEST {
                return Err(bad(format!(
                    "if present, mediaType in manifest should be '{MEDIA_OCI_MANIFEST}' not '{}'",
                    p.media_type
                )));
            }
            Ok(Doc::Manifest(Kind::Oci))
        }
        MEDIA_DOCKER_LIST => {
            if p.media_type != MEDIA_DOCKER_LIST {
                return Err(bad(format!(
                    "mediaType in manifest list should be '{MEDIA_DOCKER_LIST}' not '{}'",
                    p.media_type
                )));
            }
            Ok(Doc::List(p.manifests.unwrap_or_default()))
        }
        MEDIA_OCI_INDEX => {
            if p.has_config() || p.has_layers() {
                return Err(bad("index: expected index but found manifest".into()));
            }
            if !p.media_type.is_empty() && p.media_type != MEDIA_OCI_INDEX {
                return Err(bad(format!(
                    "if present, mediaType in image index should be '{MEDIA_OCI_INDEX}' not '{}'",
                    p.media_type
                )));
            }
            Ok(Doc::List(p.manifests.unwrap_or_default()))
        }
        other => Err(bad(format!(
            "unsupported manifest media type and no default available: {other}"
        ))),
    }
}

/// A registry client for manifest commands: docker's client talks to the
/// registry itself, so no mirrors; `--insecure` allows plain HTTP and
/// unverified TLS for that registry (loopback is allowed anyway, as for
/// `pull`).
pub struct Client {
    reg: Registry,
    settings: Settings,
}

impl Client {
    pub fn new(domain: &str, insecure: bool) -> Result<Client, RegistryError> {
        let mut settings = Settings::load()?;
        settings.mirrors.clear();
        if insecure {
            settings.insecure.push(domain.to_string());
        }
        let mut reg = Registry::new(domain, credentials::lookup(domain)?, &settings);
        reg.ping_as_cli = true;
        Ok(Client { reg, settings })
    }

    fn fetch(&self, r: &Reference, by: &str) -> Result<FetchedManifest, RegistryError> {
        let scope = format!("repository:{}:pull", r.path);
        fetch_manifest(&self.reg, r, by, &scope).map_err(|e| match e {
            // docker tries every endpoint and then gives up in these words.
            RegistryError::ManifestUnknown { .. } | RegistryError::Denied(_) => {
                RegistryError::NoSuchManifest(r.to_string())
            }
            e => e,
        })
    }

    /// docker's `GetManifest` and, for a list, `GetManifestList`.
    pub fn get(&self, r: &Reference) -> Result<Remote, RegistryError> {
        // A tag wins over a digest, which is then checked, as docker does.
        let by = r
            .tag
            .clone()
            .or_else(|| r.digest.clone())
            .unwrap_or_else(|| "latest".into());
        let m = self.fetch(r, &by)?;
        let doc = classify(&m)?;
        if let Some(want) = &r.digest {
            if *want != m.digest {
                return Err(RegistryError::Invalid(format!(
                    "manifest verification failed for digest {want}"
                )));
            }
        }
        match doc {
            Doc::Manifest(kind) => {
                let mut im = image_manifest(r.to_string(), kind, m);
                im.descriptor.platform = Some(self.config_platform(r, &im)?);
                Ok(Remote::Manifest(Box::new(im)))
            }
            // docker takes an empty list for no answer at all.
            Doc::List(entries) if entries.is_empty() => {
                Err(RegistryError::NoSuchManifest(r.to_string()))
            }
            Doc::List(entries) => Ok(Remote::List(self.entries(r, &entries)?)),
        }
    }

    /// docker's `GetManifest` alone: a list is an error.
    pub fn get_manifest(&self, r: &Reference) -> Result<ImageManifest, RegistryError> {
        match self.get(r)? {
            Remote::Manifest(m) => Ok(*m),
            Remote::List(_) => Err(RegistryError::Invalid(format!("{r} is a manifest list"))),
        }
    }

    /// The os/architecture fields of the image's config.
    fn config_platform(&self, r: &Reference, m: &ImageManifest) -> Result<Platform, RegistryError> {
        let Some((_, p)) = &m.payload else {
            return Ok(Platform::default());
        };
        let v: serde_json::Value = serde_json::from_slice(p).unwrap_or_default();
        let Some(digest) = v.pointer("/config/digest").and_then(|d| d.as_str()) else {
            return Ok(Platform::default());
        };
        let scope = format!("repository:{}:pull", r.path);
        let data = super::transfer::read_blob(&self.reg, r, digest, &scope)?;
        if format!("sha256:{}", sha256_hex(&data)) != digest {
            return Err(RegistryError::Invalid(format!(
                "image config verification failed for digest {digest}"
            )));
        }
        serde_json::from_slice(&data)
            .map_err(|e| RegistryError::Invalid(format!("image config {digest}: {e}")))
    }

    /// Each entry of a list, fetched (a few at once) and checked against
    /// its digest; its platform is the list's. docker also reads each
    /// entry's config, whose platform it then discards: rdock does not.
    fn entries(
        &self,
        r: &Reference,
        entries: &[IndexEntry],
    ) -> Result<Vec<ImageManifest>, RegistryError> {
        let queue = Mutex::new(0..entries.len());
        let results: Mutex<Vec<Option<Result<ImageManifest, RegistryError>>>> =
            Mutex::new((0..entries.len()).map(|_| None).collect());
        let workers = self.settings.concurrency().min(entries.len().max(1));
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(|| loop {
                    let next = queue.lock().ok().and_then(|mut q| q.next());
                    let Some((i, e)) = next.and_then(|i| Some((i, entries.get(i)?))) else {
                        break;
                    };
                    let res = self.entry(r, e);
                    if let Ok(mut v) = results.lock() {
                        if let Some(slot) = v.get_mut(i) {
                            *slot = Some(res);
                        }
                    }
                });
            }
        });
        results
            .into_inner()
            .unwrap_or_default()
            .into_iter()
            .map(|r| r.unwrap_or(Err(RegistryError::Aborted)))
            .collect()
    }

    fn entry(&self, r: &Reference, e: &IndexEntry) -> Result<ImageManifest, RegistryError> {
        let m = self.fetch(r, &e.digest)?;
        let kind = match classify(&m)? {
            Doc::Manifest(k) => k,
            Doc::List(_) => {
                return Err(RegistryError::Invalid(format!(
                    "unsupported manifest type: {}",
                    m.content_type
                )))
            }
        };
        if m.digest != e.digest {
            return Err(RegistryError::Invalid(format!(
                "manifest verification failed for digest {}",
                e.digest
            )));
        }
        let mut with_digest = r.clone();
        with_digest.digest = Some(e.digest.clone());
        let mut im = image_manifest(with_digest.to_string(), kind, m);
        im.descriptor.platform = Some(e.platform.clone().unwrap_or_default());
        Ok(im)
    }

    /// Mount `digest` from repository `from` into `target`: docker's
    /// manifest push copies nothing, so a blob the registry cannot mount
    /// is an error (except for Windows' foreign layers).
    fn mount(
        &self,
        target: &Reference,
        from: &Reference,
        digest: &str,
        windows: bool,
    ) -> Result<(), RegistryError> {
        let scope = format!(
            "repository:{}:pull,push repository:{}:pull",
            target.path, from.path
        );
        let path = format!(
            "/v2/{}/blobs/uploads/?mount={digest}&from={}",
            target.path, from.path
        );
        let mut resp =
            self.reg
                .request(Method::POST, &path, &scope, &[("Content-Length", "0")], &[])?;
        let source = format!("{}@{digest}", from.name());
        match resp.status().as_u16() {
            201 => Ok(()),
            202 => {
                // An upload was started instead: cancel it.
                if let Some(loc) = resp.headers().get("location").and_then(|l| l.to_str().ok()) {
                    let loc = loc.to_string();
                    let _ = self.reg.request(Method::DELETE, &loc, &scope, &[], &[]);
                }
                if windows {
                    Ok(())
                } else {
                    Err(RegistryError::Invalid(format!(
                        "error mounting {source} to {target}"
                    )))
                }
            }
            _ => Err(RegistryError::Invalid(format!(
                "failed to mount blob {source} to {target}: {}",
                body_error(&mut resp)
            ))),
        }
    }

    /// PUT a manifest or list under `by` (a tag or digest) of `r`; the
    /// digest the registry reports.
    fn put(
        &self,
        r: &Reference,
        shown: &str,
        by: &str,
        media_type: &str,
        body: &[u8],
    ) -> Result<String, RegistryError> {
        let scope = format!("repository:{}:pull,push", r.path);
        let path = format!("/v2/{}/manifests/{by}", r.path);
        let mut resp = self.reg.request(
            Method::PUT,
            &path,
            &scope,
            &[("Content-Type", media_type)],
            body,
        )?;
        if !resp.status().is_success() {
            let status = resp.status().as_u16();
            let mut msg = body_error(&mut resp);
            if msg.is_empty() {
                msg = format!("unexpected status {status}");
            }
            return Err(RegistryError::Invalid(format!(
                "failed to put manifest {shown}: {msg}"
            )));
        }
        Ok(resp
            .headers()
            .get("docker-content-digest")
            .and_then(|d| d.to_str().ok())
            .map(str::to_string)
            .unwrap_or_else(|| format!("sha256:{}", sha256_hex(body))))
    }
}

fn image_manifest(reference: String, kind: Kind, m: FetchedManifest) -> ImageManifest {
    let media_type = match kind {
        Kind::Oci => MEDIA_OCI_MANIFEST.to_string(),
        Kind::Schema2 => schema2_media_type(&m.bytes),
    };
    ImageManifest {
        reference,
        descriptor: IndexEntry {
            media_type,
            digest: m.digest,
            size: m.bytes.len() as i64,
            ..Default::default()
        },
        raw: m.bytes.clone(),
        payload: Some((kind, m.bytes)),
    }
}

/// `docker manifest create`: record each manifest (from this list if it
/// has it, else from the registry) in the local list `target`.
pub fn create(
    target: &Reference,
    images: &[Reference],
    amend: bool,
    insecure: bool,
) -> Result<(), RegistryError> {
    match store::get_list(target) {
        Err(RegistryError::LocalNotFound(_)) => {}
        Err(e) => return Err(e),
        Ok(_) if !amend => {
            return Err(RegistryError::Invalid(
                "refusing to amend an existing manifest list with no --amend flag".into(),
            ))
        }
        Ok(_) => {}
    }
    for r in images {
        let m = match store::get(target, r) {
            Ok(m) if !m.raw.is_empty() => m,
            Ok(_) | Err(RegistryError::LocalNotFound(_)) => {
                Client::new(&r.domain, insecure)?.get_manifest(r)?
            }
            Err(e) => return Err(e),
        };
        store::save(target, r, &m)?;
    }
    Ok(())
}

/// What `annotate` sets; empty fields are left as they are.
#[derive(Debug, Default)]
pub struct Annotation {
    pub os: String,
    pub arch: String,
    pub os_version: String,
    pub os_features: Vec<String>,
    pub variant: String,
}

/// docker's table of valid os/architecture pairs for `annotate`.
const VALID_OS_ARCH: &[(&str, &str)] = &[
    ("darwin", "386"),
    ("darwin", "amd64"),
    ("darwin", "arm"),
    ("darwin", "arm64"),
    ("dragonfly", "amd64"),
    ("freebsd", "386"),
    ("freebsd", "amd64"),
    ("freebsd", "arm"),
    ("linux", "386"),
    ("linux", "amd64"),
    ("linux", "arm"),
    ("linux", "arm64"),
    ("linux", "ppc64le"),
    ("linux", "mips64"),
    ("linux", "mips64le"),
    ("linux", "riscv64"),
    ("linux", "s390x"),
    ("netbsd", "386"),
    ("netbsd", "amd64"),
    ("netbsd", "arm"),
    ("openbsd", "386"),
    ("openbsd", "amd64"),
    ("openbsd", "arm"),
    ("plan9", "386"),
    ("plan9", "amd64"),
    ("solaris", "amd64"),
    ("windows", "386"),
    ("windows", "amd64"),
];

/// `docker manifest annotate`. `names` are the list and image as the user
/// wrote them, for docker's messages.
pub fn annotate(
    target: &Reference,
    image: &Reference,
    a: &Annotation,
    names: (&str, &str),
) -> Result<(), RegistryError> {
    let mut m = match store::get(target, image) {
        Err(RegistryError::LocalNotFound(_)) => {
            return Err(RegistryError::Invalid(format!(
                "manifest for image {} does not exist in {}",
                names.1, names.0
            )))
        }
        r => r?,
    };
    let p = m.descriptor.platform.get_or_insert_with(Default::default);
    if !a.os.is_empty() {
        p.os = a.os.clone();
    }
    if !a.arch.is_empty() {
        p.architecture = a.arch.clone();
    }
    for f in &a.os_features {
        if !p.os_features.contains(f) {
            p.os_features.push(f.clone());
        }
    }
    if !a.variant.is_empty() {
        p.variant = a.variant.clone();
    }
    if !a.os_version.is_empty() {
        p.os_version = a.os_version.clone();
    }
    if !VALID_OS_ARCH.contains(&(p.os.as_str(), p.architecture.as_str())) {
        // docker names the flags' values here, not the resulting pair.
        return Err(RegistryError::Invalid(format!(
            "manifest entry for image has unsupported os/arch combination: {}/{}",
            a.os, a.arch
        )));
    }
    store::save(target, image, &m)
}

/// `docker manifest push`: the list's images that live in another
/// repository are mounted and put into `target`'s repository by digest
/// (`report` gets docker's "Pushed ref" line for each), then the list is
/// put under `target`'s tag. Returns its digest.
pub fn push(
    target: &Reference,
    insecure: bool,
    purge: bool,
    report: &dyn Fn(String),
) -> Result<String, RegistryError> {
    let ms = store::get_list(target)?;
    if ms.is_empty() {
        return Err(RegistryError::Invalid(format!("{target} not found")));
    }
    for m in &ms {
        let ok = m
            .descriptor
            .platform
            .as_ref()
            .is_some_and(|p| !p.architecture.is_empty() && !p.os.is_empty());
        if !ok {
            return Err(RegistryError::Invalid(format!(
                "manifest {} must have an OS and Architecture to be pushed to a registry",
                m.reference
            )));
        }
    }
    let (list_type, list) = list_json(target, &ms)?;
    let client = Client::new(&target.domain, insecure)?;
    // Images from other repositories: their blobs first, then themselves.
    let mut puts = Vec::new();
    for m in &ms {
        let src = Reference::parse(&m.reference)
            .map_err(|e| RegistryError::Invalid(format!("{}: {e}", m.reference)))?;
        if src.path == target.path {
            continue;
        }
        let windows = m
            .descriptor
            .platform
            .as_ref()
            .is_some_and(|p| p.os == "windows");
        for d in m.blobs() {
            client.mount(target, &src, &d, windows)?;
        }
        // Byte for byte as fetched, so the digest stays the list's.
        let (media, payload) = m.payload()?;
        let body = if m.raw.is_empty() {
            payload.to_vec()
        } else {
            m.raw.clone()
        };
        let digest = format!("sha256:{}", sha256_hex(&body));
        if digest != m.descriptor.digest {
            return Err(RegistryError::Invalid(format!(
                "internal digest mismatch for {}: expected {}, got {digest}",
                m.reference, m.descriptor.digest
            )));
        }
        puts.push((media, body, digest));
    }
    for (media, body, digest) in puts {
        let shown = format!("{}@{digest}", target.name());
        let got = client.put(target, &shown, &digest, &media, &body)?;
        report(format!("Pushed ref {shown} with digest: {got}"));
    }
    let by = target
        .tag
        .clone()
        .or_else(|| target.digest.clone())
        .unwrap_or_else(|| "latest".into());
    let digest = client.put(target, &target.to_string(), &by, list_type, &list)?;
    if purge {
        store::remove(target)?;
    }
    Ok(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(
        reference: &str,
        kind: Kind,
        payload: &str,
        platform: Option<Platform>,
    ) -> ImageManifest {
        ImageManifest {
            reference: reference.into(),
            descriptor: IndexEntry {
                media_type: match kind {
                    Kind::Oci => MEDIA_OCI_MANIFEST.into(),
                    Kind::Schema2 => MEDIA_DOCKER_MANIFEST.into(),
                },
                digest: format!("sha256:{}", sha256_hex(payload.as_bytes())),
                size: payload.len() as i64,
                platform,
                ..Default::default()
            },
            raw: payload.as_bytes().to_vec(),
            payload: Some((kind, payload.as_bytes().to_vec())),
        }
    }

    #[test]
    fn records_round_trip_in_dockers_shape() {
        let p = "{\n   \"schemaVersion\": 2,\n   \"mediaType\": \"application/vnd.docker.distribution.manifest.v2+json\",\n   \"config\": {\"digest\": \"sha256:aa\"},\n   \"layers\": [{\"digest\": \"sha256:bb\"}]\n}";
        let m = sample(
            "docker.io/library/x:latest",
            Kind::Schema2,
            p,
            Some(Platform {
                architecture: "amd64".into(),
                os: "linux".into(),
                ..Default::default()
            }),
        );
        let json = String::from_utf8(m.marshal().unwrap()).unwrap();
        assert!(json.starts_with(&format!(
            r#"{{"Ref":"docker.io/library/x:latest","Descriptor":{{"mediaType":"{MEDIA_DOCKER_MANIFEST}","digest":"{}","size":{},"platform":{{"architecture":"amd64","os":"linux"}}}},"Raw":""#,
            m.descriptor.digest,
            p.len()
        )), "{json}");
        assert!(json.ends_with(r#","SchemaV2Manifest":{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"digest":"sha256:aa"},"layers":[{"digest":"sha256:bb"}]}}"#), "{json}");
        let back = ImageManifest::unmarshal(json.as_bytes()).unwrap();
        assert_eq!(back.raw, m.raw);
        assert_eq!(back.descriptor, m.descriptor);
        assert_eq!(back.blobs(), vec!["sha256:aa", "sha256:bb"]);
        // What docker then prints of it is the compacted payload, indented.
        assert_eq!(
            String::from_utf8(payload_text(&back).unwrap()).unwrap(),
            String::from_utf8(payload_text(&m).unwrap()).unwrap()
        );
    }

    #[test]
    fn lists_are_rebuilt_as_docker_builds_them() {
        let plat = |a: &str| {
            Some(Platform {
                architecture: a.into(),
                os: "linux".into(),
                variant: if a == "arm" {
                    "v7".into()
                } else {
                    String::new()
                },
                ..Default::default()
            })
        };
        let at = |p: &str| format!("h:5000/r:1@sha256:{}", sha256_hex(p.as_bytes()));
        let a = sample(&at("{}"), Kind::Oci, "{}", plat("amd64"));
        let b = sample(&at("{ }"), Kind::Oci, "{ }", plat("arm"));
        let target = Reference::parse("h:5000/r:1").unwrap();
        let out = String::from_utf8(list_json(&target, &[a.clone(), b]).unwrap().1).unwrap();
        let want = format!(
            "{{\n   \"schemaVersion\": 2,\n   \"mediaType\": \"{MEDIA_OCI_INDEX}\",\n   \"manifests\": [\n      {{\n         \"mediaType\": \"{MEDIA_OCI_MANIFEST}\",\n         \"size\": 2,\n         \"digest\": \"{}\",\n         \"platform\": {{\n            \"architecture\": \"amd64\",\n            \"os\": \"linux\"\n         }}\n      }},\n      {{\n         \"mediaType\": \"{MEDIA_OCI_MANIFEST}\",\n         \"size\": 3,\n         \"digest\": \"sha256:{}\",\n         \"platform\": {{\n            \"architecture\": \"arm\",\n            \"os\": \"linux\",\n            \"variant\": \"v7\"\n         }}\n      }}\n   ]\n}}",
            a.descriptor.digest,
            sha256_hex(b"{ }")
        );
        assert_eq!(out, want);
        let other = Reference::parse("other:5000/r:1").unwrap();
        let err = list_json(&other, &[a]).unwrap_err().to_string();
        assert!(err.ends_with("h:5000 != other:5000"), "{err}");
        let empty = String::from_utf8(list_json(&target, &[]).unwrap().1).unwrap();
        assert!(
            empty.contains(MEDIA_DOCKER_LIST) && empty.contains("\"manifests\": []"),
            "{empty}"
        );
    }

    #[test]
    fn media_types_decide_manifest_or_list() {
        let f = |ct: &str, body: &str| FetchedManifest {
            bytes: body.as_bytes().to_vec(),
            digest: String::new(),
            content_type: ct.into(),
        };
        assert!(matches!(
            classify(&f(MEDIA_OCI_MANIFEST, r#"{"config":{}}"#)),
            Ok(Doc::Manifest(Kind::Oci))
        ));
        assert!(matches!(
            classify(&f(MEDIA_OCI_INDEX, r#"{"manifests":[{"digest":"sha256:a"}]}"#)),
            Ok(Doc::List(e)) if e.len() == 1
        ));
        assert!(classify(&f(MEDIA_OCI_INDEX, r#"{"layers":[]}"#)).is_err());
        assert!(classify(&f(MEDIA_DOCKER_MANIFEST, r#"{"mediaType":"x"}"#)).is_err());
        let e = classify(&f("text/plain", "{}")).err().unwrap().to_string();
        assert_eq!(
            e,
            "unsupported manifest media type and no default available: text/plain"
        );
    }
}
