//! One registry's HTTP API v2: endpoint and scheme, the `WWW-Authenticate`
//! challenge (bearer tokens cached per scope for the command, or basic
//! auth), and requests that retry once after authenticating.
//!
//! Blocking `ureq` on plain threads: registry traffic is the only network
//! rdock does, and it must finish (threads joined) before a container is
//! cloned, so an async runtime would buy nothing here. Its timeouts (see
//! `settings::Timeouts`) are ureq's own: a connect timeout, and per-read
//! and per-write timeouts that ureq sets on the socket (SO_RCVTIMEO,
//! SO_SNDTIMEO) before each read and write: an idle timeout, with no limit
//! on a whole body, and no thread to watch it.

use super::credentials::Credentials;
use super::settings::{human, Settings, Timeouts};
use super::RegistryError;
use base64::Engine;
use std::collections::HashMap;
use std::io::Read;
use std::sync::Mutex;
use std::time::Duration;
use ureq::http::{Method, Request, Response, StatusCode};
use ureq::{AsSendBody, Body};

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
            let (val, after) = q.split_once('"').unwrap_or((q, ""));
            (val.to_string(), after)
        } else {
            // The comma stays with the rest (trimmed below).
            let end = v.find(',').unwrap_or(v.len());
            let (val, after) = v.split_at_checked(end).unwrap_or((v, ""));
            (val.trim().to_string(), after)
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
    pub timeouts: Timeouts,
    /// Ping as the docker CLI's client does (`manifest`): a failure to
    /// reach the HTTPS endpoint ends the search, only an HTTPS protocol
    /// failure (a plain-HTTP server) moves on to HTTP.
    pub ping_as_cli: bool,
}

/// An agent's settings for registry traffic: no status as error, no
/// redirects of its own, the timeouts. `insecure` also accepts a
/// certificate that does not verify.
pub fn agent_config(
    insecure: bool,
    t: &Timeouts,
) -> ureq::config::ConfigBuilder<ureq::typestate::AgentScope> {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .user_agent(USER_AGENT)
        // Redirects are followed in `Registry::request`, which decides
        // where credentials may go.
        .max_redirects(0)
        .timeout_connect(Some(t.connect))
        .timeout_per_read(Some(t.idle))
        .timeout_per_write(Some(t.idle))
        // docker's "insecure" also means an HTTPS registry whose
        // certificate does not verify (self-signed, wrong name).
        .tls_config(
            ureq::tls::TlsConfig::builder()
                .disable_verification(insecure)
                .build(),
        )
}

/// A request that failed in the network, as one line naming the URL and
/// what went wrong in words (ureq's own text is terse: "timeout: per
/// read", "io: Peer disconnected").
pub fn net_error(method: &Method, url: &str, e: ureq::Error, t: &Timeouts) -> RegistryError {
    RegistryError::Net {
        method: go_method(method),
        url: url.to_string(),
        cause: net_cause(url, e, t),
    }
}

/// Go's resolver failure as docker prints it: "dial tcp: lookup HOST on
/// DNS:53: no such host" (the first nameserver of /etc/resolv.conf).
fn no_such_host(peer: &str) -> String {
    let host = peer.rsplit_once(':').map_or(peer, |(h, _)| h);
    let ns = std::fs::read_to_string("/etc/resolv.conf")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("nameserver").map(|a| a.trim().to_string()))
        })
        .map(|a| format!(" on {a}:53"))
        .unwrap_or_default();
    format!("dial tcp: lookup {host}{ns}: no such host")
}

/// The host could not be reached at all (no name, no connection), as
/// opposed to a server that answered in another protocol.
fn unreachable(e: &ureq::Error) -> bool {
    match e {
        ureq::Error::HostNotFound
        | ureq::Error::ConnectionFailed
        | ureq::Error::Timeout(ureq::Timeout::Connect) => true,
        ureq::Error::Io(io) => {
            matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::NotFound
            ) || io.to_string().contains("failed to lookup address")
        }
        _ => false,
    }
}

fn net_cause(url: &str, e: ureq::Error, t: &Timeouts) -> String {
    use std::io::ErrorKind;
    use ureq::Timeout;
    let peer = authority(url);
    match e {
        ureq::Error::Timeout(Timeout::Connect) => {
            format!("connecting to {peer}: timed out after {}", human(t.connect))
        }
        ureq::Error::Timeout(Timeout::PerRead) => {
            format!("stalled: no data for {}", human(t.idle))
        }
        ureq::Error::Timeout(Timeout::PerWrite) => {
            format!("stalled: could not send for {}", human(t.idle))
        }
        ureq::Error::Timeout(other) => format!("timed out ({other})"),
        ureq::Error::HostNotFound => no_such_host(&peer),
        ureq::Error::Io(io) if io.to_string().contains("failed to lookup address") => {
            no_such_host(&peer)
        }
        ureq::Error::Io(io) => match io.kind() {
            // Go's words, as docker prints them.
            ErrorKind::ConnectionRefused => format!("dial tcp {peer}: connect: connection refused"),
            ErrorKind::UnexpectedEof => {
                "the connection closed before the answer was complete".into()
            }
            ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe => {
                "the connection was reset".into()
            }
            _ => io.to_string(),
        },
        ureq::Error::Tls(m) => format!("TLS with {peer}: {m}"),
        ureq::Error::Rustls(r) => format!("TLS with {peer}: {r}"),
        other => other.to_string(),
    }
}

/// Go's spelling of a method in its URL errors: "Get", "Patch".
fn go_method(m: &Method) -> String {
    let s = m.as_str();
    let mut out = s.get(..1).unwrap_or_default().to_ascii_uppercase();
    out.push_str(&s.get(1..).unwrap_or_default().to_ascii_lowercase());
    out
}

/// "host:port" of a URL, the port the scheme's own when none is given.
fn authority(url: &str) -> String {
    let rest = origin_of(url);
    let (scheme, hostport) = rest.split_once("://").unwrap_or(("https", rest));
    let hostport = hostport.rsplit_once('@').map_or(hostport, |(_, h)| h);
    let has_port = hostport
        .rsplit_once(':')
        .is_some_and(|(h, p)| !h.is_empty() && !p.contains(']') && p.parse::<u16>().is_ok());
    if has_port {
        hostport.to_string()
    } else if scheme == "http" {
        format!("{hostport}:80")
    } else {
        format!("{hostport}:443")
    }
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
        let agent = agent_config(insecure, &settings.timeouts).build().into();
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
            timeouts: settings.timeouts,
            ping_as_cli: false,
        }
    }

    /// The host (and port) requests go to once the endpoint is known
    /// ("registry-1.docker.io", "127.0.0.1:5000"), else the domain.
    pub fn host(&self) -> String {
        match self.base.lock().ok().and_then(|b| b.clone()) {
            Some(b) => b
                .split_once("://")
                .map_or(b.clone(), |(_, h)| h.to_string()),
            None => self.domain.clone(),
        }
    }

    fn net_err(&self, method: &Method, url: &str, e: ureq::Error) -> RegistryError {
        net_error(method, url, e, &self.timeouts)
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
                let res = req.call();
                debug!(
                    "registry: GET {url} -> {}",
                    res.as_ref()
                        .map_or_else(|e| e.to_string(), |r| r.status().to_string())
                );
                match res {
                    Ok(_) => {
                        if let Ok(mut b) = self.base.lock() {
                            *b = Some(c.clone());
                        }
                        return Ok(c);
                    }
                    Err(e) => {
                        let unreachable = unreachable(&e);
                        let err = self.net_err(&Method::GET, &url, e);
                        if self.ping_as_cli && c.starts_with("https://") && unreachable {
                            return Err(RegistryError::Ping(Box::new(err)));
                        }
                        last_err = Some(err);
                    }
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
        let mut resp = req
            .call()
            .map_err(|e| self.net_err(&Method::GET, &url, e))?;
        // Its query names the account: the realm alone is shown.
        debug!("registry: token from {realm} -> {}", resp.status().as_u16());
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
        let v: serde_json::Value =
            serde_json::from_slice(&read_small(&mut resp, &url, &self.timeouts)?)
                .map_err(|e| Self::http_err(&url, e))?;
        let tok = v
            .get("token")
            .and_then(serde_json::Value::as_str)
            .or_else(|| v.get("access_token").and_then(serde_json::Value::as_str))
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
    /// `body` is replayable bytes; streaming uploads go through `send_stream`.
    pub fn request(
        &self,
        method: Method,
        path: &str,
        scope: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Response<Body>, RegistryError> {
        Ok(self
            .request_as(method, path, scope, headers, body, false)?
            .0)
    }

    /// A GET as `request` sends it, with the URL the answer came from (a
    /// redirect's target: blob storage, a CDN), for messages.
    pub fn get_traced(
        &self,
        path: &str,
        scope: &str,
        headers: &[(&str, &str)],
    ) -> Result<(Response<Body>, String), RegistryError> {
        self.request_as(Method::GET, path, scope, headers, &[], false)
    }

    /// `request` for the one that completes an upload: its answer may take
    /// a while (`Timeouts::upload_commit`).
    pub fn request_patient(
        &self,
        method: Method,
        path: &str,
        scope: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Response<Body>, RegistryError> {
        Ok(self.request_as(method, path, scope, headers, body, true)?.0)
    }

    /// Run one request with the agent, giving a patient one longer to answer.
    fn run<S: AsSendBody>(
        &self,
        req: Request<S>,
        patient: bool,
    ) -> Result<Response<Body>, RegistryError> {
        let method = req.method().clone();
        let url = req.uri().to_string();
        let mut t = self.timeouts;
        let req = if patient {
            t.idle = t.upload_commit();
            self.agent
                .configure_request(req)
                .timeout_per_read(Some(t.idle))
                .build()
        } else {
            req
        };
        let res = self
            .agent
            .run(req)
            .map_err(|e| net_error(&method, &url, e, &t));
        match &res {
            Ok(r) => debug!(
                "registry: {method} {} -> {}",
                no_query(&url),
                r.status().as_u16()
            ),
            Err(e) => debug!("registry: {method} {} failed: {e}", no_query(&url)),
        }
        res
    }

    fn request_as(
        &self,
        method: Method,
        path: &str,
        scope: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        patient: bool,
    ) -> Result<(Response<Body>, String), RegistryError> {
        let mut url = self.url(path)?;
        let origin = origin_of(&url).to_string();
        let mut retried = false;
        let mut hops = 0u32;
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
            let resp = self.run(req, patient)?;
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
                hops = hops.saturating_add(1);
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
            return Ok((resp, url));
        }
    }

    /// A streaming upload: authenticate first (with a cheap request) so the
    /// body is sent once. Its answer comes once the whole body is stored,
    /// so it may take a while (`Timeouts::upload_commit`).
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
        self.run(req, true)
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
    tags_of(&reg, r).map_err(|e| e.context("listing tags from", &reg.host()))
}

fn tags_of(
    reg: &Registry,
    r: &crate::image::reference::Reference,
) -> Result<Vec<String>, RegistryError> {
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
        let url = reg.url(&path)?;
        let v: serde_json::Value =
            serde_json::from_slice(&read_small(&mut resp, &url, &reg.timeouts)?)
                .map_err(|e| RegistryError::Invalid(format!("tags list from {url}: {e}")))?;
        if let Some(a) = v.get("tags").and_then(serde_json::Value::as_array) {
            tags.extend(a.iter().filter_map(|t| t.as_str().map(str::to_string)));
        }
        match next {
            Some(n) if !n.is_empty() => path = n,
            _ => break,
        }
    }
    Ok(tags)
}

/// "host:port" of a URL as written ("registry.example", "127.0.0.1:5000").
pub fn url_host(url: &str) -> &str {
    let o = origin_of(url);
    o.split_once("://").map_or(o, |(_, h)| h)
}

/// "https://host:port" of a URL (scheme, host and port: what decides
/// where credentials may go, as Go's HTTP client decides it).
fn origin_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    // The path is a suffix of `rest`, so of `url`.
    rest.find('/')
        .and_then(|i| rest.get(i..))
        .and_then(|path| url.strip_suffix(path))
        .unwrap_or(url)
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

/// A small body (manifest, config, token, error) read whole, from `url`.
pub fn read_small(
    resp: &mut Response<Body>,
    url: &str,
    t: &Timeouts,
) -> Result<Vec<u8>, RegistryError> {
    resp.body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_vec()
        .map_err(|e| net_error(&Method::GET, url, e, t))
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
    let text = |e: &serde_json::Value, key| {
        e.get(key)
            .and_then(serde_json::Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let msgs: Vec<String> = v
        .get("errors")
        .and_then(serde_json::Value::as_array)
        .map(|a| {
            a.iter()
                .map(|e| {
                    let code = text(e, "code").to_ascii_lowercase().replace('_', " ");
                    let msg = text(e, "message");
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

/// A URL without its query (which may carry an account or a signed
/// storage token), for debug messages.
fn no_query(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
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
    fn network_failures_in_words() {
        let t = Timeouts {
            connect: Duration::from_secs(30),
            idle: Duration::from_millis(1500),
            backoff_tick: Duration::from_secs(1),
        };
        let cause = |url: &str, e| match net_error(&Method::GET, url, e, &t) {
            RegistryError::Net { method, cause, .. } => {
                assert_eq!(method, "Get");
                cause
            }
            other => panic!("{other}"),
        };
        let url = "https://registry.example/v2/";
        assert_eq!(
            cause(url, ureq::Error::Timeout(ureq::Timeout::Connect)),
            "connecting to registry.example:443: timed out after 30 s"
        );
        assert_eq!(
            cause(url, ureq::Error::Timeout(ureq::Timeout::PerRead)),
            "stalled: no data for 1.5 s"
        );
        let nx = cause(url, ureq::Error::HostNotFound);
        assert!(
            nx.starts_with("dial tcp: lookup registry.example") && nx.ends_with(": no such host"),
            "{nx}"
        );
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(
            cause("http://127.0.0.1:1/v2/", ureq::Error::Io(refused)),
            "dial tcp 127.0.0.1:1: connect: connection refused"
        );
        // A body's read error comes back through io::Error.
        let wrapped = ureq::Error::Timeout(ureq::Timeout::PerRead).into_io();
        assert_eq!(
            cause(url, ureq::Error::from(wrapped)),
            "stalled: no data for 1.5 s"
        );
        let e = net_error(
            &Method::PATCH,
            "http://[::1]:5000/v2/x/blobs/uploads/1",
            ureq::Error::Timeout(ureq::Timeout::PerWrite),
            &t,
        );
        assert_eq!(
            e.to_string(),
            "Patch \"http://[::1]:5000/v2/x/blobs/uploads/1\": stalled: could not send for 1.5 s"
        );
        assert_eq!(authority("http://[::1]/v2/"), "[::1]:80");
        assert_eq!(authority("https://u:p@host:8443/x"), "host:8443");
        assert_eq!(
            url_host("https://registry-1.docker.io/v2/"),
            "registry-1.docker.io"
        );
    }

    #[test]
    fn errors_name_the_host_once() {
        let denied = RegistryError::Denied("busybox".into());
        assert_eq!(
            denied.context("pulling from", "registry-1.docker.io").to_string(),
            "pulling from registry-1.docker.io: pull access denied for busybox, repository does not exist or may require 'docker login': denied: requested access to the resource is denied"
        );
        let named = RegistryError::ManifestUnknown {
            reference: "127.0.0.1:5000/app:nope".into(),
            detail: "manifest unknown: manifest unknown".into(),
        };
        let shown = named.to_string();
        assert_eq!(
            named.context("pulling from", "127.0.0.1:5000").to_string(),
            shown
        );
        let gave_up = RegistryError::Transfer {
            what: "uploading layer sha256:ab to h".into(),
            cause: "the connection was reset".into(),
            attempts: 5,
        };
        assert_eq!(
            gave_up.to_string(),
            "uploading layer sha256:ab to h: the connection was reset (gave up after 5 attempts)"
        );
        let s503 = RegistryError::Status {
            url: "http://h/v2/".into(),
            status: 503,
            msg: String::new(),
        };
        assert!(s503.is_retryable());
        assert_eq!(s503.cause(), "unexpected status 503");
        assert!(!RegistryError::Denied("x".into()).is_retryable());
    }

    #[test]
    fn the_clis_ping_stops_at_an_unreachable_https_endpoint() {
        // Port 1 on loopback: nothing listens, the connect is refused.
        let mut reg = Registry::new("127.0.0.1:1", None, &Settings::default());
        let pull = reg.base().unwrap_err().to_string();
        assert!(pull.starts_with("Get \"http://127.0.0.1:1/v2/\""), "{pull}");
        reg.ping_as_cli = true;
        assert_eq!(
            reg.base().unwrap_err().to_string(),
            "failed to configure transport: error pinging v2 registry: Get \"https://127.0.0.1:1/v2/\": dial tcp 127.0.0.1:1: connect: connection refused"
        );
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
