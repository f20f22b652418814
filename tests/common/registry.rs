//! A real registry server (Debian's `docker-registry`, the distribution
//! project's registry) on a free loopback port, with its own storage dir,
//! killed when dropped; and OCI layouts written by hand (independent of
//! rdock's code) that skopeo pushes into it.

use super::*;
use sha2::{Digest, Sha256};
use std::net::TcpListener;
use std::time::Duration;

pub const REGISTRY_BIN: &str = "/usr/bin/docker-registry";

pub struct Registry {
    child: std::process::Child,
    pub dir: tempfile::TempDir,
    pub port: u16,
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

impl Registry {
    /// Start a registry; `auth` is an extra YAML `auth:` section (indented
    /// two spaces) or "".
    pub fn start_with(auth: &str) -> Registry {
        Registry::start_in(tempfile::tempdir().expect("tempdir"), auth)
    }

    /// Start with `extra` YAML (auth:, middleware:) in a given dir, whose
    /// `data/` is the storage root.
    pub fn start_in(dir: tempfile::TempDir, extra: &str) -> Registry {
        let auth = extra;
        assert!(
            Path::new(REGISTRY_BIN).exists(),
            "install the registry: apt-get install docker-registry"
        );
        let port = free_port();
        let cfg = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n{auth}",
            dir.path().join("data").display()
        );
        let cfg_path = dir.path().join("config.yml");
        std::fs::write(&cfg_path, cfg).expect("config");
        let child = Command::new(REGISTRY_BIN)
            .arg("serve")
            .arg(&cfg_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start docker-registry");
        let r = Registry { child, dir, port };
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return r;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("registry did not start on port {port}");
    }

    pub fn start() -> Registry {
        Registry::start_with("")
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Push an OCI layout's tag with skopeo (a peer that is not rdock).
    pub fn skopeo_push(&self, layout: &Path, tag: &str, repo: &str, extra: &[&str]) {
        let out = Command::new("skopeo")
            .args(["copy", "--dest-tls-verify=false"])
            .args(extra)
            .arg(format!("oci:{}:{tag}", layout.display()))
            .arg(format!("docker://{}/{repo}", self.host()))
            .output()
            .expect("skopeo");
        assert!(
            out.status.success(),
            "skopeo copy: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Where the registry keeps a blob (to tamper with it in tests).
    pub fn blob_path(&self, digest: &str) -> PathBuf {
        let hex = digest.trim_start_matches("sha256:");
        self.dir
            .path()
            .join("data/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sha(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

/// Writes an OCI image layout by hand: blobs, manifests, index.json.
pub struct Layout {
    pub dir: PathBuf,
    index: Vec<serde_json::Value>,
    /// How layers are stored: "gzip", "zstd" or "none".
    pub compression: &'static str,
}

pub struct BuiltImage {
    pub manifest_digest: String,
    pub config_digest: String,
    pub layer_digests: Vec<String>,
}

impl Layout {
    pub fn new(dir: &Path) -> Layout {
        std::fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
        std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
        Layout {
            dir: dir.to_path_buf(),
            index: vec![],
            compression: "gzip",
        }
    }

    pub fn blob(&self, data: &[u8]) -> String {
        let d = sha(data);
        std::fs::write(
            self.dir
                .join("blobs/sha256")
                .join(d.trim_start_matches("sha256:")),
            data,
        )
        .unwrap();
        d
    }

    /// An image of `layers` (uncompressed tars, gzipped here), for `arch`,
    /// tagged `tag` in index.json (unless `tag` is empty).
    pub fn image(&mut self, tag: &str, arch: &str, layers: &[Vec<u8>], cmd: &[&str]) -> BuiltImage {
        let mut descs = vec![];
        let mut diff_ids = vec![];
        let mut layer_digests = vec![];
        for l in layers {
            diff_ids.push(sha(l));
            let (blob, media) = match self.compression {
                "gzip" => (gzip(l), "application/vnd.oci.image.layer.v1.tar+gzip"),
                "zstd" => (
                    zstd::encode_all(&l[..], 3).unwrap(),
                    "application/vnd.oci.image.layer.v1.tar+zstd",
                ),
                _ => (l.clone(), "application/vnd.oci.image.layer.v1.tar"),
            };
            let d = self.blob(&blob);
            layer_digests.push(d.clone());
            descs.push(serde_json::json!({
                "mediaType": media, "digest": d, "size": blob.len()
            }));
        }
        let config = serde_json::json!({
            "created": "2024-01-02T03:04:05Z",
            "architecture": arch, "os": "linux",
            "config": {"Cmd": cmd, "Env": ["PATH=/bin"]},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": [{"created": "2024-01-02T03:04:05Z", "created_by": "test layout"}]
        })
        .to_string();
        let config_digest = self.blob(config.as_bytes());
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": config_digest, "size": config.len()},
            "layers": descs
        })
        .to_string();
        let manifest_digest = self.blob(manifest.as_bytes());
        let mut entry = serde_json::json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": manifest_digest, "size": manifest.len(),
            "platform": {"architecture": arch, "os": "linux"}
        });
        if !tag.is_empty() {
            entry["annotations"] = serde_json::json!({"org.opencontainers.image.ref.name": tag});
        }
        self.index.push(entry);
        self.write_index();
        BuiltImage {
            manifest_digest,
            config_digest,
            layer_digests,
        }
    }

    /// A multi-platform index over images already written (untagged),
    /// tagged `tag`.
    pub fn multi(&mut self, tag: &str, images: &[(&BuiltImage, &str)]) -> String {
        let manifests: Vec<serde_json::Value> = images
            .iter()
            .map(|(img, arch)| {
                let size = std::fs::metadata(
                    self.dir
                        .join("blobs/sha256")
                        .join(img.manifest_digest.trim_start_matches("sha256:")),
                )
                .unwrap()
                .len();
                serde_json::json!({
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": img.manifest_digest, "size": size,
                    "platform": {"architecture": arch, "os": "linux"}
                })
            })
            .collect();
        let idx = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": manifests
        })
        .to_string();
        let d = self.blob(idx.as_bytes());
        self.index.retain(|e| {
            e["annotations"].is_null()
                || e["annotations"]["org.opencontainers.image.ref.name"] != tag
        });
        self.index.push(serde_json::json!({
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "digest": d, "size": idx.len(),
            "annotations": {"org.opencontainers.image.ref.name": tag}
        }));
        self.write_index();
        d
    }

    fn write_index(&self) {
        let tagged: Vec<&serde_json::Value> = self
            .index
            .iter()
            .filter(|e| !e["annotations"].is_null())
            .collect();
        let idx = serde_json::json!({"schemaVersion": 2, "manifests": tagged});
        std::fs::write(self.dir.join("index.json"), idx.to_string()).unwrap();
    }
}

/// A tar with the given (path, contents) files and (path) whiteouts.
pub fn files_tar(files: &[(&str, &str)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (p, c) in files {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        h.set_size(c.len() as u64);
        h.set_mtime(1_700_000_000);
        h.set_uid(0);
        h.set_gid(0);
        b.append_data(&mut h, p, c.as_bytes()).unwrap();
    }
    b.into_inner().unwrap()
}

/// A token endpoint that issues registry tokens the way Docker Hub does:
/// `GET /token?service=..&scope=repository:NAME:ACTIONS` answered with a
/// JWT (RS256, the signing certificate in `x5c`) that the registry trusts
/// through its `rootcertbundle`. Anonymous callers get `pull`; callers
/// with the right basic credentials get what they ask.
pub struct TokenServer {
    pub port: u16,
    pub dir: tempfile::TempDir,
    /// Every scope requested, in order ("" for a login check).
    pub requests: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

fn b64url(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
}

fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 3 <= b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl TokenServer {
    pub const SERVICE: &'static str = "rdock-test-registry";
    pub const ISSUER: &'static str = "rdock-test-issuer";

    pub fn start(user: &str, password: &str) -> TokenServer {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("key.pem");
        let cert = dir.path().join("cert.pem");
        let out = Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=rdock-test-token",
            ])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .output()
            .expect("openssl");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let der = Command::new("openssl")
            .args(["x509", "-outform", "DER", "-in"])
            .arg(&cert)
            .output()
            .expect("openssl");
        use base64::Engine;
        let x5c = base64::engine::general_purpose::STANDARD.encode(&der.stdout);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (reqs, stop2) = (requests.clone(), stop.clone());
        let good = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        );
        std::thread::spawn(move || {
            use std::io::Write;
            while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
                let Ok((stream, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                let _ = stream.set_nonblocking(false);
                let (line, headers) = http_head(&stream);
                let target = line.split_whitespace().nth(1).unwrap_or("").to_string();
                let auth = header(&headers, "authorization").to_string();
                let query = target.split_once('?').map(|x| x.1).unwrap_or("");
                let scopes: Vec<String> = query
                    .split('&')
                    .filter_map(|kv| kv.strip_prefix("scope="))
                    .map(url_decode)
                    .collect();
                reqs.lock().unwrap().push(scopes.join(" "));
                let authed = auth == good;
                let mut w = stream;
                if !auth.is_empty() && !authed {
                    let body = r#"{"details":"incorrect username or password"}"#;
                    let _ = write!(
                        w,
                        "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    continue;
                }
                let mut access = vec![];
                for sc in scopes.iter().flat_map(|s| s.split(' ')) {
                    let parts: Vec<&str> = sc.split(':').collect();
                    if parts.len() == 3 {
                        let actions: Vec<&str> = parts[2]
                            .split(',')
                            .filter(|a| authed || *a == "pull")
                            .collect();
                        access.push(serde_json::json!({"type": parts[0], "name": parts[1], "actions": actions}));
                    }
                }
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs();
                let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "x5c": [x5c]});
                let claims = serde_json::json!({
                    "iss": TokenServer::ISSUER, "sub": if authed { "alice" } else { "" },
                    "aud": TokenServer::SERVICE, "exp": now + 600, "nbf": now - 60, "iat": now,
                    "jti": format!("{now}-{}", reqs.lock().unwrap().len()), "access": access
                });
                let signing = format!(
                    "{}.{}",
                    b64url(header.to_string().as_bytes()),
                    b64url(claims.to_string().as_bytes())
                );
                let mut sign = Command::new("openssl")
                    .args(["dgst", "-sha256", "-sign"])
                    .arg(&key)
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .spawn()
                    .unwrap();
                sign.stdin
                    .take()
                    .unwrap()
                    .write_all(signing.as_bytes())
                    .unwrap();
                let sig = sign.wait_with_output().unwrap().stdout;
                let jwt = format!("{signing}.{}", b64url(&sig));
                let body =
                    serde_json::json!({"token": jwt, "access_token": jwt, "expires_in": 600})
                        .to_string();
                let _ = write!(
                    w,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        TokenServer {
            port,
            dir,
            requests,
            stop,
        }
    }

    /// The registry's `auth:` section trusting this server.
    pub fn registry_auth(&self) -> String {
        format!(
            "auth:\n  token:\n    realm: http://127.0.0.1:{}/token\n    service: {}\n    issuer: {}\n    rootcertbundle: {}\n",
            self.port,
            Self::SERVICE,
            Self::ISSUER,
            self.dir.path().join("cert.pem").display()
        )
    }
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// A static file server for a directory (the "blob storage" a registry
/// redirects to). Records whether any request carried credentials.
pub struct FileServer {
    pub port: u16,
    pub saw_authorization: std::sync::Arc<std::sync::atomic::AtomicBool>,
    pub served: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl FileServer {
    pub fn start(root: PathBuf) -> FileServer {
        use std::io::Write;
        use std::sync::atomic::Ordering;
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let saw = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let served = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (saw2, served2) = (saw.clone(), served.clone());
        std::thread::spawn(move || {
            for s in l.incoming().flatten() {
                let (line, headers) = http_head(&s);
                if headers.iter().any(|(k, _)| k == "authorization") {
                    saw2.store(true, Ordering::Relaxed);
                }
                let path = line
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or("/")
                    .split('?')
                    .next()
                    .unwrap_or("/")
                    .to_string();
                let mut w = s;
                let file = root.join(path.trim_start_matches('/'));
                match std::fs::read(&file) {
                    Ok(data) if !path.contains("..") => {
                        served2.fetch_add(1, Ordering::Relaxed);
                        let _ = write!(
                            w,
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            data.len()
                        );
                        let _ = w.write_all(&data);
                    }
                    _ => {
                        let _ = w.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                    }
                }
            }
        });
        FileServer {
            port,
            saw_authorization: saw,
            served,
        }
    }
}

/// A tar with one file of `mb` MiB of incompressible bytes.
pub fn big_tar(mb: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut data = Vec::with_capacity(mb << 20);
    while data.len() < mb << 20 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        data.extend_from_slice(&x.to_le_bytes());
    }
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_mode(0o644);
    h.set_size(data.len() as u64);
    b.append_data(&mut h, "big.bin", &data[..]).unwrap();
    b.into_inner().unwrap()
}

/// A loopback server speaking Docker Hub's search API; returns the queries.
pub fn search_server() -> (u16, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::Write;
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            // A TLS hello (0x16): hang up, as a plain-HTTP server's 400 would.
            let mut first = [0u8; 1];
            if s.peek(&mut first)
                .map(|n| n == 1 && first[0] == 0x16)
                .unwrap_or(true)
            {
                continue;
            }
            let (line, _) = http_head(&s);
            let target = line.split_whitespace().nth(1).unwrap_or("").to_string();
            if !line.starts_with("GET ") {
                // A TLS hello or anything else: refuse it, as servers do.
                let mut w = s;
                let _ = w.write_all(
                    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
                continue;
            }
            let body = if target.starts_with("/v1/search") {
                seen2.lock().unwrap().push(target);
                serde_json::json!({"num_results": 3, "query": "box", "results": [
                    {"name": "busybox", "description": "Busybox base image, with a description long enough to be cut", "star_count": 3300, "is_official": true, "is_automated": false},
                    {"name": "someone/box", "description": "a box", "star_count": 12, "is_official": false, "is_automated": true},
                    {"name": "other/box", "description": "", "star_count": 0, "is_official": false, "is_automated": false}
                ]}).to_string()
            } else {
                "{}".to_string()
            };
            let mut w = s;
            let _ = write!(w, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
        }
    });
    (port, seen)
}
