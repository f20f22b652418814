//! `push`: every blob the registry lacks (checked with HEAD), mounted from
//! another repository of the same registry when the image came from one,
//! else uploaded (POST, PATCH with the whole blob streamed, PUT with its
//! digest); then the manifest, byte for byte as stored, so its digest is
//! the one `pull` recorded.

use super::client::{body_error, Registry};
use super::credentials;
use super::settings::Settings;
use super::RegistryError;
use crate::image::config::{Descriptor, Manifest, MEDIA_OCI_MANIFEST};
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

fn short(digest: &str) -> String {
    let h = digest.trim_start_matches("sha256:");
    h[..h.len().min(12)].to_string()
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

#[allow(clippy::too_many_arguments)]
fn push_blob(
    store: &ImageStore,
    reg: &Registry,
    r: &Reference,
    scope: &str,
    d: &Descriptor,
    // The layer (chain ID) a layer blob belongs to; None for the config.
    chain: Option<&str>,
    from: Option<&str>,
    report: &dyn Fn(Event),
) -> Result<(), RegistryError> {
    let id = short(&d.digest);
    let head = format!("/v2/{}/blobs/{}", r.path, d.digest);
    let resp = reg.request(Method::HEAD, &head, scope, &[], &[])?;
    if resp.status().as_u16() == 200 {
        report(Event::Layer {
            id,
            status: "Layer already exists".into(),
        });
        return Ok(());
    }
    if let Some(from) = from {
        let mount_scope = format!("{scope} repository:{from}:pull");
        let path = format!(
            "/v2/{}/blobs/uploads/?mount={}&from={}",
            r.path, d.digest, from
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
    let not_stored = |why: String| {
        RegistryError::Invalid(format!(
            "blob {} is not in the local store ({why}); it cannot be pushed",
            d.digest
        ))
    };
    let mut file: Box<dyn std::io::Read + Send> = match chain {
        Some(chain) => store
            .open_layer_blob(chain, &d.digest)
            .map_err(|e| not_stored(e.to_string()))?
            .ok_or_else(|| not_stored("no such blob".into()))?,
        None => Box::new(
            std::fs::File::open(store.paths().blob(d.digest.trim_start_matches("sha256:")))
                .map_err(|e| not_stored(e.to_string()))?,
        ),
    };
    report(Event::Layer {
        id: id.clone(),
        status: "Pushing".into(),
    });
    let start = format!("/v2/{}/blobs/uploads/", r.path);
    let mut resp = reg.request(Method::POST, &start, scope, &[("Content-Length", "0")], &[])?;
    check(&mut resp, &start, &[202])?;
    let loc = location(&resp, &start)?;
    let len = d.size.to_string();
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
    let loc = location(&resp, &loc).unwrap_or(loc);
    let put = with_query(
        &loc,
        &format!("digest={}", super::client::urlencode(&d.digest)),
    );
    let mut resp = reg.request(Method::PUT, &put, scope, &[("Content-Length", "0")], &[])?;
    check(&mut resp, &put, &[201, 204])?;
    report(Event::Layer {
        id,
        status: "Pushed".into(),
    });
    Ok(())
}

/// Push the image that `r` (tagged) names in the store.
pub fn push(
    store: &ImageStore,
    r: &Reference,
    report: &dyn Fn(Event),
) -> Result<Pushed, RegistryError> {
    let full = r.to_string();
    let idx = store.index()?;
    let img = idx
        .images
        .iter()
        .find(|i| i.names.contains(&full))
        .cloned()
        .ok_or_else(|| {
            RegistryError::Invalid(format!(
                "An image does not exist locally with the tag: {}",
                r.familiar_name()
            ))
        })?;
    let manifest_bytes = store.read_blob(&img.manifest)?;
    let manifest: Manifest = serde_json::from_slice(&manifest_bytes)
        .map_err(|e| RegistryError::Invalid(format!("stored manifest: {e}")))?;
    let settings = Settings::load()?;
    let reg = Registry::new(&r.domain, credentials::lookup(&r.domain)?, &settings);
    let scope = format!("repository:{}:pull,push", r.path);
    report(Event::Start {
        repo: r.name().trim_start_matches("docker.io/").to_string(),
    });
    let from = mount_source(&img, r);
    // Docker lists layers top first.
    for d in manifest.layers.iter().rev() {
        report(Event::Layer {
            id: short(&d.digest),
            status: "Preparing".into(),
        });
    }
    for (i, d) in manifest.layers.iter().enumerate().rev() {
        let chain = img.layers.get(i).map(String::as_str);
        push_blob(store, &reg, r, &scope, d, chain, from.as_deref(), report)?;
    }
    push_blob(
        store,
        &reg,
        r,
        &scope,
        &manifest.config,
        None,
        from.as_deref(),
        &|_| {},
    )?;
    let tag = r.tag_str().to_string();
    let path = format!("/v2/{}/manifests/{tag}", r.path);
    let media = manifest
        .media_type
        .clone()
        .unwrap_or_else(|| MEDIA_OCI_MANIFEST.into());
    let mut resp = reg.request(
        Method::PUT,
        &path,
        &scope,
        &[("Content-Type", &media)],
        &manifest_bytes,
    )?;
    check(&mut resp, &path, &[201, 200])?;
    let digest = format!(
        "sha256:{}",
        crate::image::store::sha256_hex(&manifest_bytes)
    );
    store.add_repo_digest(&img.id, &format!("{}@{digest}", r.name()))?;
    Ok(Pushed {
        tag,
        digest,
        size: manifest_bytes.len(),
    })
}
