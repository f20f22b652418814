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
        assert!(
            Path::new(REGISTRY_BIN).exists(),
            "install the registry: apt-get install docker-registry"
        );
        let dir = tempfile::tempdir().expect("tempdir");
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
            let gz = gzip(l);
            let d = self.blob(&gz);
            layer_digests.push(d.clone());
            descs.push(serde_json::json!({
                "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "digest": d, "size": gz.len()
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
