//! One registry's HTTP API v2: endpoint and scheme, the `WWW-Authenticate`
//! challenge (bearer tokens cached per scope for the command, or basic
//! auth), and requests that retry once after authenticating.
//!
//! Blocking `ureq` on plain threads: registry traffic is the only network
//! rdock does, and it must finish (threads joined) before a container is
//! cloned, so an async runtime would buy nothing here.

use super::credentials::Credentials;
use super::settings::Settings;
use super::RegistryError;
use base64::Engine;
use std::collections::HashMap;
use std::io::Read;
use std::sync::Mutex;
use std::time::Duration;
use ureq::http::{Method, Request, Response, StatusCode};
use ureq::Body;

pub const USER_AGENT: &str = concat!("rdock/", env!("CARGO_PKG_VERSION"));

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
    },
}

/// Parse a `WWW-Authenticate` header: `Bearer realm="...",service="...",scope="..."`.
pub fn parse_challenge(h: &str) -> Option<Challenge> {
    let h = h.trim();
    let (scheme, rest) = h.split_once(' ').unwrap_or((h, ""));
    if scheme.eq_ignore_ascii_case("basic") {
        return Some(Challenge::Basic);
    }
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let mut params = HashMap::new();
    let mut s = rest.trim();
    while !s.is_empty() {
        let Some((k, v)) = s.split_once('=') else {
            break;
        };
        let k = k.trim().to_ascii_lowercase();
        let v = v.trim_start();
        let (val, after) = if let Some(q) = v.strip_prefix('"') {
            let end = q.find('"').unwrap_or(q.len());
            (q[..end].to_string(), q.get(end + 1..).unwrap_or(""))
        } else {
            let end = v.find(',').unwrap_or(v.len());
            (v[..end].trim().to_string(), &v[end..])
        };
        params.insert(k, val);
        s = after.trim_start().trim_start_matches(',').trim_start();
    }
    Some(Challenge::Bearer {
        realm: params.remove("realm")?,
        service: params.remove("service"),
    })
}

pub struct Registry {
    agent: ureq::Agent,
    /// The reference's domain ("docker.io", "localhost:5000").
    pub domain: String,
    /// Where requests go: "https://registry-1.docker.io", "http://127.0.0.1:5000".
    base: Mutex<Option<String>>,
    hosts: Vec<String>,
    insecure: bool,
    creds: Option<Credentials>,
    challenge: Mutex<Option<Challenge>>,
    tokens: Mutex<HashMap<String, String>>,
}

fn is_loopback(host: &str) -> bool {
    let h = host
        .rsplit_once(':')
        .map(|(h, p)| {
            if p.chars().all(|c| c.is_ascii_digit()) {
                h
            } else {
                host
            }
        })
        .unwrap_or(host);
    let h = h.trim_start_matches('[').trim_end_matches(']');
    h == "localhost"
        || h == "::1"
        || h.parse::<std::net::Ipv4Addr>()
            .map(|a| a.is_loopback())
            .unwrap_or(false)
}

impl Registry {
    pub fn new(domain: &str, creds: Option<Credentials>, settings: &Settings) -> Registry {
        let insecure = is_loopback(domain) || settings.insecure.iter().any(|i| i == domain);
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .user_agent(USER_AGENT)
            // Redirects are followed in `request`, which decides where
            // credentials may go.
            .max_redirects(0)
            .timeout_connect(Some(Duration::from_secs(30)))
            // docker's "insecure" also means an HTTPS registry whose
            // certificate does not verify (self-signed, wrong name).
            .tls_config(
                ureq::tls::TlsConfig::builder()
                    .disable_verification(insecure)
                    .build(),
            )
            .build()
            .into();
        let mut hosts = Vec::new();
        if domain == "docker.io" {
            hosts.extend(settings.mirrors.iter().cloned());
            hosts.push("https://registry-1.docker.io".to_string());
        } else {
            hosts.push(domain.to_string());
        }
        Registry {
            agent,
            domain: domain.to_string(),
            base: Mutex::new(None),
            hosts,
            insecure,
            creds,
            challenge: Mutex::new(None),
            tokens: Mutex::new(HashMap::new()),
        }
    }

    fn http_err(url: &str, e: impl std::fmt::Display) -> RegistryError {
        RegistryError::Http {
            url: url.to_string(),
            msg: e.to_string(),
        }
    }

    /// The endpoint, found once per command: the first mirror or host that
    /// answers `/v2/`; insecure (loopback or configured) registries fall
    /// back from HTTPS to plain HTTP, as docker does.
    fn base(&self) -> Result<String, RegistryError> {
        if let Some(b) = self.base.lock().ok().and_then(|b| b.clone()) {
            return Ok(b);
        }
        let mut last_err = None;
        for h in &self.hosts {
            let candidates: Vec<String> = if h.starts_with("http://") || h.starts_with("https://") {
                vec![h.trim_end_matches('/').to_string()]
            } else if self.insecure {
                vec![format!("https://{h}"), format!("http://{h}")]
            } else {
                vec![format!("https://{h}")]
            };
            let probing = candidates.len() > 1;
            for c in candidates {
                let url = format!("{c}/v2/");
                let mut req = self.agent.get(&url);
                if probing && c.starts_with("https://") {
                    // A plain-HTTP server may never answer a TLS hello.
                    req = req
                        .config()
                        .timeout_global(Some(Duration::from_secs(3)))
                        .build();
                }
                match req.call() {
                    Ok(_) => {
                        if let Ok(mut b) = self.base.lock() {
                            *b = Some(c.clone());
                        }
                        return Ok(c);
                    }
                    Err(e) => last_err = Some(Self::http_err(&url, e)),
                }
            }
        }
        Err(last_err.unwrap_or_else(|| Self::http_err(&self.domain, "no endpoint")))
    }

    fn auth_header(&self, scope: &str) -> Option<String> {
        if let Some(t) = self.tokens.lock().ok().and_then(|t| t.get(scope).cloned()) {
            return Some(t);
        }
        let ch = self.challenge.lock().ok().and_then(|c| c.clone());
        match (ch, &self.creds) {
            (Some(Challenge::Basic), Some(c)) => Some(basic(c)),
            _ => None,
        }
    }

    /// Fetch a bearer token for `scope` the way Docker Hub issues them.
    fn fetch_token(
        &self,
        realm: &str,
        service: Option<&str>,
        scope: &str,
    ) -> Result<String, RegistryError> {
        let mut url = format!("{realm}{}", if realm.contains('?') { '&' } else { '?' });
        let mut q = Vec::new();
        if let Some(s) = service {
            q.push(format!("service={}", urlencode(s)));
        }
        if !scope.is_empty() {
            q.push(format!("scope={}", urlencode(scope)));
        }
        if let Some(c) = &self.creds {
            q.push(format!("account={}", urlencode(&c.username)));
        }
        url.push_str(&q.join("&"));
        let mut req = self.agent.get(&url);
        if let Some(c) = &self.creds {
            req = req.header("Authorization", &basic(c));
        }
        let mut resp = req.call().map_err(|e| Self::http_err(&url, e))?;
        if resp.status() == StatusCode::UNAUTHORIZED || resp.status() == StatusCode::FORBIDDEN {
            return Err(RegistryError::Unauthorized(body_error(&mut resp)));
        }
        if !resp.status().is_success() {
            return Err(RegistryError::Status {
                url,
                status: resp.status().as_u16(),
                msg: body_error(&mut resp),
            });
        }
        let v: serde_json::Value = serde_json::from_slice(&read_small(&mut resp, &url)?)
            .map_err(|e| Self::http_err(&url, e))?;
        let tok = v["token"]
            .as_str()
            .or_else(|| v["access_token"].as_str())
            .unwrap_or_default();
        if tok.is_empty() {
            return Err(Self::http_err(&url, "no token in the answer"));
        }
        Ok(format!("Bearer {tok}"))
    }

    /// Authenticate after a 401. Returns whether a retry can succeed.
    fn authenticate(&self, resp: &Response<Body>, scope: &str) -> Result<bool, RegistryError> {
        let Some(ch) = resp
            .headers()
            .get("www-authenticate")
            .and_then(|h| h.to_str().ok())
            .and_then(parse_challenge)
        else {
            return Ok(false);
        };
        if let Ok(mut c) = self.challenge.lock() {
            *c = Some(ch.clone());
        }
        match ch {
            Challenge::Basic => Ok(self.creds.is_some()),
            Challenge::Bearer { realm, service } => {
                let t = self.fetch_token(&realm, service.as_deref(), scope)?;
                if let Ok(mut m) = self.tokens.lock() {
                    m.insert(scope.to_string(), t);
                }
                Ok(true)
            }
        }
    }

    /// Send a request to `path` (e.g. "/v2/library/busybox/manifests/latest")
    /// with the rights of `scope`; on 401, authenticate and retry once.
    /// `body` is replayable bytes; streaming uploads go through `send_with`.
    pub fn request(
        &self,
        method: Method,
        path: &str,
        scope: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Response<Body>, RegistryError> {
        let mut url = self.url(path)?;
        let origin = origin_of(&url).to_string();
        let mut retried = false;
        let mut hops = 0;
        loop {
            let mut b = Request::builder().method(method.clone()).uri(&url);
            for (k, v) in headers {
                b = b.header(*k, *v);
            }
            // Credentials only ever go to the registry's own scheme, host
            // and port, never to the blob storage a redirect leads to.
            if origin_of(&url) == origin {
                if let Some(a) = self.auth_header(scope) {
                    b = b.header("Authorization", a);
                }
            }
            let req = b.body(body).map_err(|e| Self::http_err(&url, e))?;
            let resp = self.agent.run(req).map_err(|e| Self::http_err(&url, e))?;
            if resp.status() == StatusCode::UNAUTHORIZED
                && !retried
                && origin_of(&url) == origin
                && self.authenticate(&resp, scope)?
            {
                retried = true;
                continue;
            }
            let redirect = matches!(resp.status().as_u16(), 301 | 302 | 303 | 307 | 308)
                && (method == Method::GET || method == Method::HEAD);
            if let (true, Some(loc)) = (
                redirect,
                resp.headers().get("location").and_then(|l| l.to_str().ok()),
            ) {
                hops += 1;
                if hops > 10 {
                    return Err(Self::http_err(&url, "too many redirects"));
                }
                url = if loc.starts_with("http://") || loc.starts_with("https://") {
                    loc.to_string()
                } else {
                    format!("{}{loc}", origin_of(&url))
                };
                continue;
            }
            return Ok(resp);
        }
    }

    /// A streaming upload: authenticate first (with a cheap request) so the
    /// body is sent once.
    pub fn send_stream(
        &self,
        method: Method,
        url_or_path: &str,
        scope: &str,
        headers: &[(&str, &str)],
        body: &mut dyn Read,
    ) -> Result<Response<Body>, RegistryError> {
        let url = if url_or_path.starts_with("http") {
            url_or_path.to_string()
        } else {
            self.url(url_or_path)?
        };
        let mut b = Request::builder().method(method).uri(&url);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        if let Some(a) = self.auth_header(scope) {
            b = b.header("Authorization", a);
        }
        let req = b
            .body(ureq::SendBody::from_reader(body))
            .map_err(|e| Self::http_err(&url, e))?;
        self.agent.run(req).map_err(|e| Self::http_err(&url, e))
    }

    /// A full URL for a path, or the path itself when it already is one
    /// (upload locations may be absolute).
    pub fn url(&self, path: &str) -> Result<String, RegistryError> {
        if path.starts_with("http://") || path.starts_with("https://") {
            return Ok(path.to_string());
        }
        Ok(format!("{}{path}", self.base()?))
    }

    /// `/v2/` with credentials: what `login` checks.
    pub fn check_login(&self) -> Result<(), RegistryError> {
        let resp = self.request(Method::GET, "/v2/", "", &[], &[])?;
        match resp.status().as_u16() {
            200..=299 => Ok(()),
            401 | 403 => Err(RegistryError::Unauthorized(
                "incorrect username or password".into(),
            )),
            s => Err(RegistryError::Status {
                url: self.url("/v2/")?,
                status: s,
                msg: String::new(),
            }),
        }
    }
}

/// All tags of a repository (`/v2/<name>/tags/list`), following `Link`
/// pagination.
pub fn list_tags(
    r: &crate::image::reference::Reference,
    settings: &Settings,
) -> Result<Vec<String>, RegistryError> {
    let creds = super::credentials::lookup(&r.domain)?;
    let reg = Registry::new(&r.domain, creds, settings);
    let scope = format!("repository:{}:pull", r.path);
    let mut path = format!("/v2/{}/tags/list", r.path);
    let mut tags = Vec::new();
    loop {
        let mut resp = reg.request(Method::GET, &path, &scope, &[], &[])?;
        match resp.status().as_u16() {
            200 => {}
            401 | 403 => return Err(RegistryError::Denied(r.familiar_name())),
            404 => {
                return Err(RegistryError::ManifestUnknown {
                    reference: r.familiar_name(),
                    detail: body_error(&mut resp),
                })
            }
            s => {
                return Err(RegistryError::Status {
                    url: reg.url(&path)?,
                    status: s,
                    msg: body_error(&mut resp),
                })
            }
        }
        let next = resp
            .headers()
            .get("link")
            .and_then(|l| l.to_str().ok())
            .and_then(|l| l.split(';').next())
            .map(|l| {
                l.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string()
            });
        let v: serde_json::Value = serde_json::from_slice(&read_small(&mut resp, &path)?)
            .map_err(|e| RegistryError::Invalid(format!("tags list: {e}")))?;
        if let Some(a) = v["tags"].as_array() {
            tags.extend(a.iter().filter_map(|t| t.as_str().map(str::to_string)));
        }
        match next {
            Some(n) if !n.is_empty() => path = n,
            _ => break,
        }
    }
    Ok(tags)
}

/// "https://host:port" of a URL (scheme, host and port: what decides
/// where credentials may go, as Go's HTTP client decides it).
fn origin_of(url: &str) -> &str {
    let after = url.find("://").map(|i| i + 3).unwrap_or(0);
    match url[after..].find('/') {
        Some(i) => &url[..after + i],
        None => url,
    }
}

fn basic(c: &Credentials) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", c.username, c.secret))
    )
}

pub fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A small body (manifest, config, token, error) read whole.
pub fn read_small(resp: &mut Response<Body>, url: &str) -> Result<Vec<u8>, RegistryError> {
    resp.body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_vec()
        .map_err(|e| Registry::http_err(url, e))
}

/// The registry's error text: `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"..."}]}`
/// as docker prints it ("manifest unknown: manifest unknown").
pub fn body_error(resp: &mut Response<Body>) -> String {
    let data = resp
        .body_mut()
        .with_config()
        .limit(1 << 20)
        .read_to_vec()
        .unwrap_or_default();
    let v: serde_json::Value = serde_json::from_slice(&data).unwrap_or_default();
    let msgs: Vec<String> = v["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    let code = e["code"]
                        .as_str()
                        .unwrap_or("")
                        .to_ascii_lowercase()
                        .replace('_', " ");
                    let msg = e["message"].as_str().unwrap_or("");
                    format!("{code}: {msg}")
                })
                .collect()
        })
        .unwrap_or_default();
    if msgs.is_empty() {
        String::from_utf8_lossy(&data).trim().to_string()
    } else {
        msgs.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges() {
        assert_eq!(
            parse_challenge(
                r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull""#
            ),
            Some(Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into())
            })
        );
        assert_eq!(
            parse_challenge(r#"Basic realm="Registry Realm""#),
            Some(Challenge::Basic)
        );
        assert_eq!(parse_challenge("Bearer service=x"), None);
        assert_eq!(parse_challenge("Negotiate"), None);
    }

    #[test]
    fn loopback_hosts() {
        for h in [
            "localhost",
            "localhost:5000",
            "127.0.0.1:5000",
            "127.3.4.5",
            "[::1]:5000",
        ] {
            assert!(is_loopback(h), "{h}");
        }
        for h in ["example.com", "10.0.0.1:5000", "registry-1.docker.io"] {
            assert!(!is_loopback(h), "{h}");
        }
        assert_eq!(
            urlencode("repository:a/b:pull,push"),
            "repository%3Aa%2Fb%3Apull%2Cpush"
        );
    }
}
