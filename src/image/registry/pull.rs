//! `pull`: resolve a reference to a manifest for this platform, then fetch
//! the config and the missing layers, several at once, each decompressed,
//! hashed and extracted while it streams into its own staging directory;
//! a layer download that fails is retried and resumed as docker's are
//! (`transfer`). Nothing reaches the store unless every digest matches.

use super::client::{body_error, read_small, Registry};
use super::credentials;
use super::settings::Settings;
use super::transfer::{read_blob, BlobDownload, Retry};
use super::RegistryError;
use crate::image::config::ImageConfig;
use crate::image::oci::{self, Descriptor, Platform, Probe};
use crate::image::reference::Reference;
use crate::image::store::{chain_id, sha256_hex, ImageStore, ReceivedImage, StagedLayer};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// What a pull reports (with the downloads it makes, `transfer.rs`).
pub use super::transfer::Event;

const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

pub struct PullOptions {
    pub platform: Platform,
    /// The credentials to use (the API's X-Registry-Auth); None: those
    /// docker's config.json holds for the registry.
    pub credentials: Option<credentials::Credentials>,
}

pub struct Pulled {
    pub id: String,
    /// The digest the reference resolved to (a list's, for a list).
    pub digest: String,
    pub up_to_date: bool,
}

fn short(digest: impl AsRef<str>) -> String {
    digest
        .as_ref()
        .trim_start_matches("sha256:")
        .chars()
        .take(12)
        .collect()
}

fn verify(bytes: &[u8], digest: &str) -> Result<(), RegistryError> {
    let got = format!("sha256:{}", sha256_hex(bytes));
    if !digest.starts_with("sha256:") {
        return Err(RegistryError::Invalid(format!(
            "unsupported digest algorithm: {digest}"
        )));
    }
    if got != digest {
        return Err(RegistryError::DigestMismatch {
            digest: digest.to_string(),
            got,
        });
    }
    Ok(())
}

/// A manifest or list as the registry sent it.
pub struct FetchedManifest {
    pub bytes: Vec<u8>,
    /// sha256 of `bytes`, computed here (not taken from the registry).
    pub digest: String,
    /// The response's Content-Type without parameters ("" when absent).
    pub content_type: String,
}

/// GET a manifest or list by tag or digest, accepting every schema 2 and
/// OCI type. Not verified against a digest reference: callers word that
/// failure their own way. 404 is `ManifestUnknown`, 401/403 `Denied`.
pub fn fetch_manifest(
    reg: &Registry,
    r: &Reference,
    reference: &str,
    scope: &str,
) -> Result<FetchedManifest, RegistryError> {
    let path = format!("/v2/{}/manifests/{reference}", r.path);
    let (mut resp, url) = reg.get_traced(&path, scope, &[("Accept", ACCEPT)])?;
    match resp.status().as_u16() {
        200 => {}
        404 => {
            return Err(RegistryError::ManifestUnknown {
                reference: r.familiar(),
                detail: body_error(&mut resp),
            })
        }
        401 | 403 => return Err(RegistryError::Denied(r.familiar_name())),
        s => {
            return Err(RegistryError::Status {
                url,
                status: s,
                msg: body_error(&mut resp),
            })
        }
    }
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let bytes = read_small(&mut resp, &url, &reg.timeouts)?;
    let digest = format!("sha256:{}", sha256_hex(&bytes));
    Ok(FetchedManifest {
        bytes,
        digest,
        content_type,
    })
}

/// A manifest or list by tag or digest: its bytes and digest (computed, and
/// checked against a digest reference).
fn get_manifest(
    reg: &Registry,
    r: &Reference,
    reference: &str,
    scope: &str,
) -> Result<(Vec<u8>, String), RegistryError> {
    let m = fetch_manifest(reg, r, reference, scope)?;
    if reference.starts_with("sha256:") {
        verify(&m.bytes, reference)?;
    }
    Ok((m.bytes, m.digest))
}

/// Pull `r` into the store.
pub fn pull(
    store: &ImageStore,
    r: &Reference,
    opts: &PullOptions,
    report: &(dyn Fn(Event) + Sync),
) -> Result<Pulled, RegistryError> {
    let settings = Settings::load()?;
    let creds = match &opts.credentials {
        Some(c) => Some(c.clone()),
        None => credentials::lookup(&r.domain)?,
    };
    let reg = Registry::new(&r.domain, creds, &settings);
    pull_from(&reg, &settings, store, r, opts, report)
        .map_err(|e| e.context("pulling from", &reg.host()))
}

fn pull_from(
    reg: &Registry,
    settings: &Settings,
    store: &ImageStore,
    r: &Reference,
    opts: &PullOptions,
    report: &(dyn Fn(Event) + Sync),
) -> Result<Pulled, RegistryError> {
    let scope = format!("repository:{}:pull", r.path);
    let top_ref = r
        .digest
        .clone()
        .or_else(|| r.tag.clone())
        .unwrap_or_else(|| "latest".into());
    store.sweep_tmp();

    let (top_bytes, top_digest) = get_manifest(reg, r, &top_ref, &scope)?;
    report(Event::Start {
        tag_or_digest: top_ref.clone(),
        repo: r.path.clone(),
    });
    let top = Probe::parse(&top_bytes, "manifest")?;
    let mut extra_blobs = Vec::new();
    let (manifest_bytes, probe) = if let Some(list) = &top.manifests {
        let entry = list
            .iter()
            .filter(|e| !e.media_type.contains("attestation") && !e.digest.is_empty())
            .find(|e| {
                e.platform
                    .as_ref()
                    .is_some_and(|p| opts.platform.matches(p))
            })
            .ok_or_else(|| RegistryError::NoPlatform(opts.platform.to_string()))?;
        let (b, _) = get_manifest(reg, r, &entry.digest, &scope)?;
        let m = Probe::parse(&b, "manifest")?;
        extra_blobs.push(top_bytes.clone());
        (b, m)
    } else {
        (top_bytes.clone(), top)
    };
    if probe.schema_version != 2 || probe.manifests.is_some() {
        return Err(RegistryError::Invalid(format!(
            "unsupported manifest (schema {}, {}): only image manifests of schema 2 and OCI are supported",
            probe.schema_version, probe.media_type
        )));
    }
    if !probe.has_config() || !probe.has_layers() {
        return Err(RegistryError::Invalid(
            "manifest without config or layers".into(),
        ));
    }
    let manifest = oci::parse_manifest(&manifest_bytes, "manifest")?;
    let (config_desc, layer_descs) = (manifest.config(), manifest.layers());

    // The config: small, and it names the diff IDs the layers must have.
    let config_digest = config_desc.digest().as_ref();
    let config_bytes = read_blob(reg, r, config_digest, &scope)?;
    verify(&config_bytes, config_digest)?;
    let config: ImageConfig = serde_json::from_slice(&config_bytes)
        .map_err(|e| RegistryError::Invalid(format!("image config: {e}")))?;
    let diff_ids = &config.rootfs.diff_ids;
    if diff_ids.len() != layer_descs.len() {
        return Err(RegistryError::Invalid(format!(
            "image config has {} layers, manifest {}",
            diff_ids.len(),
            layer_descs.len()
        )));
    }
    let mut chains = Vec::with_capacity(diff_ids.len());
    let mut parent: Option<String> = None;
    for d in diff_ids {
        let c = chain_id(parent.as_deref(), d);
        parent = Some(c.clone());
        chains.push(c);
    }

    let plan = Plan {
        descs: layer_descs,
        diff_ids,
        chains: &chains,
    };
    let staged = fetch_layers(store, reg, (r, &scope), &plan, settings, report)?;

    let name = r.tag.as_ref().map(|_| r.to_string());
    let repo_digest = Some(format!("{}@{}", r.name(), top_digest));
    let (id, up_to_date) = store.add_received(ReceivedImage {
        config: config_bytes,
        manifest: manifest_bytes,
        layers: chains.into_iter().zip(staged).collect(),
        extra_blobs,
        name,
        repo_digest,
    })?;
    Ok(Pulled {
        id,
        digest: top_digest,
        up_to_date,
    })
}

/// An image's layers: their descriptors, and the diff and chain IDs each
/// must have.
struct Plan<'a> {
    descs: &'a [Descriptor],
    diff_ids: &'a [String],
    chains: &'a [String],
}

impl Plan<'_> {
    /// Layer `i`: its descriptor, diff ID and parent's chain ID.
    fn layer(&self, i: usize) -> Option<(&Descriptor, &str, Option<&str>)> {
        let parent = match i.checked_sub(1) {
            Some(p) => Some(self.chains.get(p)?.as_str()),
            None => None,
        };
        Some((self.descs.get(i)?, self.diff_ids.get(i)?.as_str(), parent))
    }
}

/// Download the layers the store lacks, a few at once, in docker's words;
/// the first that fails stops the others. Per layer: staged, or None when
/// the store had it.
fn fetch_layers(
    store: &ImageStore,
    reg: &Registry,
    (r, scope): (&Reference, &str),
    plan: &Plan,
    settings: &Settings,
    report: &(dyn Fn(Event) + Sync),
) -> Result<Vec<Option<StagedLayer>>, RegistryError> {
    let mut todo: Vec<usize> = Vec::new();
    // As many chain IDs as descriptors (checked when the plan is made).
    for (i, (d, chain)) in plan.descs.iter().zip(plan.chains).enumerate() {
        if store.has_layer(chain) {
            report(Event::Layer {
                id: short(d.digest()),
                status: "Already exists",
            });
        } else {
            report(Event::Layer {
                id: short(d.digest()),
                status: "Pulling fs layer",
            });
            todo.push(i);
        }
    }
    let workers = settings.concurrency().min(todo.len().max(1));
    for d in todo.iter().skip(workers).filter_map(|&i| plan.descs.get(i)) {
        report(Event::Layer {
            id: short(d.digest()),
            status: "Waiting",
        });
    }
    let queue = Mutex::new(todo.into_iter());
    let abort = AtomicBool::new(false);
    let results: Mutex<Vec<(usize, Result<StagedLayer, RegistryError>)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let next = queue.lock().ok().and_then(|mut q| q.next());
                let Some(i) = next else { break };
                let res = fetch_layer(store, reg, (r, scope), plan, i, report, (&abort, settings));
                if res.is_err() {
                    abort.store(true, Ordering::Relaxed);
                }
                if let Ok(mut v) = results.lock() {
                    v.push((i, res));
                }
            });
        }
    });
    let mut staged: Vec<Option<StagedLayer>> = (0..plan.descs.len()).map(|_| None).collect();
    let mut first_err = None;
    for (i, res) in results.into_inner().unwrap_or_default() {
        match res {
            Ok(l) => {
                if let Some(slot) = staged.get_mut(i) {
                    *slot = Some(l);
                }
            }
            // The first real failure, not the "aborted" of the others.
            Err(e) if first_err.is_none() || matches!(first_err, Some(RegistryError::Aborted)) => {
                first_err = Some(e)
            }
            Err(_) => {}
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(staged),
    }
}

/// Download, check and stage layer `i`, retrying as docker does (see
/// `transfer`). A resumed download whose digest does not match starts
/// over, as docker's does: the registry's ranges may not be its blob's.
fn fetch_layer(
    store: &ImageStore,
    reg: &Registry,
    (r, scope): (&Reference, &str),
    plan: &Plan,
    i: usize,
    report: &(dyn Fn(Event) + Sync),
    (abort, settings): (&AtomicBool, &Settings),
) -> Result<StagedLayer, RegistryError> {
    let (d, diff_id, parent) = plan
        .layer(i)
        .ok_or_else(|| RegistryError::Invalid(format!("no layer {i} in the manifest")))?;
    let id = short(d.digest());
    let tick = settings.timeouts.backoff_tick;
    let mut retry = Retry::new(settings.download_attempts(), tick, Some(abort));
    loop {
        let mut dl = BlobDownload::new(reg, r, scope, d, report, &mut retry);
        let staged = store.stage_layer(&mut dl, parent);
        let (failure, resumed) = (dl.failure.take(), dl.resumed);
        let staged = match (staged, failure) {
            (Ok(s), _) => s,
            (Err(_), Some(f)) => return Err(f),
            (Err(_), None) if abort.load(Ordering::Relaxed) => return Err(RegistryError::Aborted),
            (Err(e), None) => return Err(e.into()),
        };
        report(Event::Layer {
            id: id.clone(),
            status: "Verifying Checksum",
        });
        match check_layer(staged, d, diff_id) {
            Err(RegistryError::DigestMismatch { .. })
                if resumed
                    && retry.again(&mut |seconds| {
                        report(Event::Retrying {
                            id: id.clone(),
                            seconds,
                        })
                    }) => {}
            Err(e) => return Err(e),
            Ok(staged) => {
                report(Event::Layer {
                    id: id.clone(),
                    status: "Download complete",
                });
                report(Event::Layer {
                    id,
                    status: "Pull complete",
                });
                return Ok(staged);
            }
        }
    }
}

/// The staged layer's blob and diff digests against the manifest's and
/// the config's.
fn check_layer(
    mut staged: StagedLayer,
    d: &Descriptor,
    diff_id: &str,
) -> Result<StagedLayer, RegistryError> {
    if staged.info.blob.digest() != d.digest() {
        return Err(RegistryError::DigestMismatch {
            digest: d.digest().to_string(),
            got: staged.info.blob.digest().to_string(),
        });
    }
    if staged.info.diff_id != diff_id {
        return Err(RegistryError::DigestMismatch {
            digest: diff_id.to_string(),
            got: staged.info.diff_id.clone(),
        });
    }
    // Keep the registry's descriptor (its media type) for push and save.
    staged.info.blob = oci::bare(d);
    Ok(staged)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_checked() {
        let d = format!("sha256:{}", sha256_hex(b"x"));
        assert!(verify(b"x", &d).is_ok());
        assert!(matches!(
            verify(b"y", &d),
            Err(RegistryError::DigestMismatch { .. })
        ));
        assert!(verify(b"x", "md5:00").is_err());
    }
}
