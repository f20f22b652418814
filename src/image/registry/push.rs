//! `push`: every blob the registry lacks (checked with HEAD), mounted from
//! another repository of the same registry when the image came from one,
//! else uploaded (POST, PATCH with the whole blob streamed, PUT with its
//! digest); then the manifest, byte for byte as stored, so its digest is
//! the one `pull` recorded. A layer whose upload fails in the network (or
//! on a server error) is pushed again from the start, docker's 5 attempts
//! with its back-off (see `transfer`); the config and manifest are not, as
//! docker's are not.

use super::client::{body_error, url_host, Registry};
use super::credentials;
use super::settings::Settings;
use super::transfer::{retrying_text, Retry, UPLOAD_ATTEMPTS};
use super::RegistryError;
use crate::image::oci::{self, Descriptor, ImageManifest, MEDIA_OCI_MANIFEST};
use crate::image::reference::Reference;
use crate::image::store::{ImageRecord, ImageStore};
use ureq::http::Method;

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// "The push refers to repository [host/repo]"
    Start { repo: String },
    /// Per layer: "Preparing", "Pushing", "Pushed", "Layer already exists",
    /// "Mounted from other/repo".
    Layer { id: String, status: String },
}

pub struct Pushed {
    pub tag: String,
    pub digest: String,
    pub size: usize,
}

fn short(digest: impl AsRef<str>) -> String {
    digest
        .as_ref()
        .trim_start_matches("sha256:")
        .chars()
        .take(12)
        .collect()
}

fn check(
    resp: &mut ureq::http::Response<ureq::Body>,
    url: &str,
    ok: &[u16],
) -> Result<(), RegistryError> {
    let s = resp.status().as_u16();
    if ok.contains(&s) {
        return Ok(());
    }
    let msg = body_error(resp);
    Err(match s {
        401 | 403 => RegistryError::Unauthorized(if msg.is_empty() {
            "authentication required".into()
        } else {
            msg
        }),
        _ => RegistryError::Status {
            url: url.to_string(),
            status: s,
            msg,
        },
    })
}

fn location(resp: &ureq::http::Response<ureq::Body>, url: &str) -> Result<String, RegistryError> {
    resp.headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .map(str::to_string)
        .ok_or_else(|| RegistryError::Status {
            url: url.to_string(),
            status: resp.status().as_u16(),
            msg: "upload without a Location".into(),
        })
}

fn with_query(loc: &str, q: &str) -> String {
    format!("{loc}{}{q}", if loc.contains('?') { '&' } else { '?' })
}

/// Another repository of the same registry this image is known in, for a
/// cross-repository mount.
fn mount_source(img: &ImageRecord, r: &Reference) -> Option<String> {
    img.digests
        .iter()
        .chain(img.names.iter())
        .filter_map(|n| Reference::parse(n.split('@').next().unwrap_or(n)).ok())
        .find(|o| o.domain == r.domain && o.path != r.path)
        .map(|o| o.path)
}

/// One push's fixed parts.
struct Pusher<'a> {
    store: &'a ImageStore,
    reg: &'a Registry,
    r: &'a Reference,
    scope: &'a str,
    /// A repository of the same registry to mount blobs from.
    from: Option<&'a str>,
    report: &'a dyn Fn(Event),
}

impl Pusher<'_> {
    /// A layer blob, with docker's retries.
    fn layer(&self, d: &Descriptor, chain: Option<&str>) -> Result<(), RegistryError> {
        let tick = self.reg.timeouts.backoff_tick;
        let mut retry = Retry::new(UPLOAD_ATTEMPTS, tick, None);
        loop {
            let err = match self.blob(d, chain, self.report) {
                Ok(()) => return Ok(()),
                Err(e) => e,
            };
            let mut countdown = |seconds| {
                (self.report)(Event::Layer {
                    id: short(d.digest()),
                    status: retrying_text(seconds),
                })
            };
            if !err.is_retryable() {
                return Err(err);
            }
            if !retry.again(&mut countdown) {
                let host = err
                    .url()
                    .map_or(self.reg.host(), |u| url_host(u).to_string());
                return Err(RegistryError::Transfer {
                    what: format!("uploading layer {} to {host}", d.digest()),
                    cause: err.cause(),
                    attempts: retry.attempts(),
                });
            }
        }
    }

    /// Push one blob unless the registry has it (or can mount it).
    fn blob(
        &self,
        d: &Descriptor,
        // The layer (chain ID) a layer blob belongs to; None for the config.
        chain: Option<&str>,
        report: &dyn Fn(Event),
    ) -> Result<(), RegistryError> {
        let (reg, r, scope) = (self.reg, self.r, self.scope);
        let id = short(d.digest());
        let head = format!("/v2/{}/blobs/{}", r.path, d.digest());
        let resp = reg.request(Method::HEAD, &head, scope, &[], &[])?;
        if resp.status().as_u16() == 200 {
            report(Event::Layer {
                id,
                status: "Layer already exists".into(),
            });
            return Ok(());
        }
        if let Some(from) = self.from {
            let mount_scope = format!("{scope} repository:{from}:pull");
            let path = format!(
                "/v2/{}/blobs/uploads/?mount={}&from={}",
                r.path,
                d.digest(),
                from
            );
            let resp = reg.request(
                Method::POST,
                &path,
                &mount_scope,
                &[("Content-Length", "0")],
                &[],
            )?;
            if resp.status().as_u16() == 201 {
                report(Event::Layer {
                    id,
                    status: format!("Mounted from {from}"),
                });
                return Ok(());
            }
        }
        let file = self.open_local(d, chain)?;
        report(Event::Layer {
            id: id.clone(),
            status: "Pushing".into(),
        });
        self.upload(d, file)?;
        report(Event::Layer {
            id,
            status: "Pushed".into(),
        });
        Ok(())
    }

    /// The blob's bytes from the store.
    fn open_local(
        &self,
        d: &Descriptor,
        chain: Option<&str>,
    ) -> Result<Box<dyn std::io::Read + Send>, RegistryError> {
        let not_stored = |why: String| {
            RegistryError::Invalid(format!(
                "blob {} is not in the local store ({why}); it cannot be pushed",
                d.digest()
            ))
        };
        Ok(match chain {
            Some(chain) => self
                .store
                .open_layer_blob(chain, d.digest().as_ref())
                .map_err(|e| not_stored(e.to_string()))?
                .ok_or_else(|| not_stored("no such blob".into()))?,
            None => Box::new(
                std::fs::File::open(
                    self.store
                        .paths()
                        .blob(d.digest().as_ref().trim_start_matches("sha256:")),
                )
                .map_err(|e| not_stored(e.to_string()))?,
            ),
        })
    }

    /// An upload: POST for a location, PATCH with the whole blob, PUT
    /// with its digest.
    fn upload(
        &self,
        d: &Descriptor,
        mut file: Box<dyn std::io::Read + Send>,
    ) -> Result<(), RegistryError> {
        let (reg, scope) = (self.reg, self.scope);
        let start = reg.url(&format!("/v2/{}/blobs/uploads/", self.r.path))?;
        let mut resp = reg.request(Method::POST, &start, scope, &[("Content-Length", "0")], &[])?;
        check(&mut resp, &start, &[202])?;
        // Absolute, so that messages name the host.
        let loc = reg.url(&location(&resp, &start)?)?;
        let len = d.size().to_string();
        let mut resp = reg.send_stream(
            Method::PATCH,
            &loc,
            scope,
            &[
                ("Content-Type", "application/octet-stream"),
                ("Content-Length", &len),
            ],
            &mut file,
        )?;
        check(&mut resp, &loc, &[202, 204])?;
        let loc = match location(&resp, &loc) {
            Ok(next) => reg.url(&next)?,
            Err(_) => loc,
        };
        let put = with_query(
            &loc,
            &format!("digest={}", super::client::urlencode(d.digest().as_ref())),
        );
        // The registry moves the whole blob into place before it answers.
        let mut resp =
            reg.request_patient(Method::PUT, &put, scope, &[("Content-Length", "0")], &[])?;
        check(&mut resp, &put, &[201, 204])
    }
}

/// Push the image that `r` (tagged) names in the store.
pub fn push(
    store: &ImageStore,
    r: &Reference,
    report: &dyn Fn(Event),
) -> Result<Pushed, RegistryError> {
    push_as(store, r, None, report)
}

/// The local tags of `r`'s repository (`push --all-tags`).
pub fn repository_tags(store: &ImageStore, r: &Reference) -> Result<Vec<Reference>, RegistryError> {
    let prefix = format!("{}:", r.name());
    Ok(store
        .index()?
        .images
        .iter()
        .flat_map(|i| i.names.iter())
        .filter(|n| n.starts_with(&prefix))
        .filter_map(|n| Reference::parse(n).ok())
        .collect())
}

/// `push` with these credentials (the API's X-Registry-Auth); None: those
/// docker's config.json holds for the registry.
pub fn push_as(
    store: &ImageStore,
    r: &Reference,
    creds: Option<credentials::Credentials>,
    report: &dyn Fn(Event),
) -> Result<Pushed, RegistryError> {
    let full = r.to_string();
    // docker names the repository before it looks for the image.
    report(Event::Start { repo: r.name() });
    let idx = store.index()?;
    let img = idx
        .images
        .iter()
        .find(|i| i.names.contains(&full))
        .cloned()
        .ok_or_else(|| {
            let repo = r.name();
            let has_repo = idx
                .images
                .iter()
                .flat_map(|i| &i.names)
                .any(|n| Reference::parse(n).is_ok_and(|x| x.name() == repo));
            RegistryError::Invalid(if has_repo {
                format!("tag does not exist: {}", r.familiar())
            } else {
                format!(
                    "An image does not exist locally with the tag: {}",
                    r.familiar_name()
                )
            })
        })?;
    let manifest_bytes = store.read_blob(&img.manifest)?;
    let manifest = oci::parse_manifest(&manifest_bytes, "stored manifest")?;
    let settings = Settings::load()?;
    let creds = match creds {
        Some(c) => Some(c),
        None => credentials::lookup(&r.domain)?,
    };
    let reg = Registry::new(&r.domain, creds, &settings);
    let scope = format!("repository:{}:pull,push", r.path);
    let from = mount_source(&img, r);
    let p = Pusher {
        store,
        reg: &reg,
        r,
        scope: &scope,
        from: from.as_deref(),
        report,
    };
    push_image(&p, &img, &manifest, &manifest_bytes)
        .map_err(|e| e.context("pushing to", &reg.host()))
}

/// The layers, the config, then the manifest.
fn push_image(
    p: &Pusher,
    img: &ImageRecord,
    manifest: &ImageManifest,
    manifest_bytes: &[u8],
) -> Result<Pushed, RegistryError> {
    let (store, reg, r, scope, report) = (p.store, p.reg, p.r, p.scope, p.report);
    // Docker lists layers top first.
    for d in manifest.layers().iter().rev() {
        report(Event::Layer {
            id: short(d.digest()),
            status: "Preparing".into(),
        });
    }
    for (i, d) in manifest.layers().iter().enumerate().rev() {
        p.layer(d, img.layers.get(i).map(String::as_str))?;
    }
    p.blob(manifest.config(), None, &|_| {})?;
    let tag = r.tag_str().to_string();
    let path = format!("/v2/{}/manifests/{tag}", r.path);
    let media = manifest
        .media_type()
        .as_ref()
        .map_or(MEDIA_OCI_MANIFEST, |m| m.as_ref());
    let mut resp = reg.request(
        Method::PUT,
        &path,
        scope,
        &[("Content-Type", media)],
        manifest_bytes,
    )?;
    check(&mut resp, &reg.url(&path)?, &[201, 200])?;
    let digest = format!("sha256:{}", crate::image::store::sha256_hex(manifest_bytes));
    store.add_repo_digest(&img.id, &format!("{}@{digest}", r.name()))?;
    Ok(Pushed {
        tag,
        digest,
        size: manifest_bytes.len(),
    })
}
