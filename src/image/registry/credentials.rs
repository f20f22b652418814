//! Registry credentials in docker's own file, `$DOCKER_CONFIG/config.json`
//! (default `~/.docker/config.json`): `auths` entries (base64 "user:pass"),
//! and `credsStore` / `credHelpers` through the docker-credential-* helper
//! protocol. rdock reads and writes the same file docker does, so a
//! `docker login` is good for rdock and the other way round.

use super::RegistryError;
use base64::Engine;
use serde_json::{json, Map, Value};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Docker Hub's key in `auths` and for helpers.
pub const HUB_SERVER: &str = "https://index.docker.io/v1/";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub secret: String,
}

/// `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
pub fn config_path() -> PathBuf {
    if let Some(d) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("config.json");
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
    PathBuf::from(home).join(".docker").join("config.json")
}

/// The key docker uses for a registry domain.
pub fn server_key(domain: &str) -> String {
    if domain == "docker.io" || domain == "index.docker.io" || domain == "registry-1.docker.io" {
        HUB_SERVER.to_string()
    } else {
        domain.to_string()
    }
}

fn read_config() -> Result<Map<String, Value>, RegistryError> {
    let p = config_path();
    match std::fs::read(&p) {
        Ok(b) if b.iter().all(u8::is_ascii_whitespace) => Ok(Map::new()),
        Ok(b) => match serde_json::from_slice::<Value>(&b) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err(RegistryError::Config(format!(
                "{}: not a JSON object",
                p.display()
            ))),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Map::new()),
        Err(e) => Err(RegistryError::Config(format!("{}: {e}", p.display()))),
    }
}

fn write_config(m: &Map<String, Value>) -> Result<(), RegistryError> {
    let p = config_path();
    if let Some(d) = p.parent() {
        // docker makes ~/.docker 0700.
        crate::util::mkdirs_private(d)
            .map_err(|e| RegistryError::Config(format!("{}: {e}", d.display())))?;
    }
    let data = serde_json::to_vec_pretty(&Value::Object(m.clone()))
        .map_err(|e| RegistryError::Config(e.to_string()))?;
    // Secrets: the temp file is born 0600 (atomic_write), so the
    // credentials are never readable by others, not even before the rename.
    crate::util::atomic_write(&p, &data)
        .map_err(|e| RegistryError::Config(format!("{}: {e}", p.display())))
}

/// The helper that stores this server's credentials, if any.
fn helper_for(cfg: &Map<String, Value>, key: &str) -> Option<String> {
    cfg.get("credHelpers")
        .and_then(|h| h.get(key))
        .or_else(|| cfg.get("credsStore"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn run_helper(helper: &str, action: &str, input: &str) -> Result<String, RegistryError> {
    let prog = format!("docker-credential-{helper}");
    let mut child = Command::new(&prog)
        .arg(action)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| RegistryError::Config(format!("{prog}: {e}")))?;
    if let Some(mut s) = child.stdin.take() {
        let _ = s.write_all(input.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| RegistryError::Config(format!("{prog}: {e}")))?;
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() {
        return Err(RegistryError::Helper(stdout));
    }
    Ok(stdout)
}

fn decode_auth(auth: &str) -> Option<Credentials> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(auth.trim())
        .ok()?;
    let s = String::from_utf8(raw).ok()?;
    let (u, p) = s.split_once(':')?;
    Some(Credentials {
        username: u.to_string(),
        secret: p.to_string(),
    })
}

/// Stored credentials for a registry domain, if any.
pub fn lookup(domain: &str) -> Result<Option<Credentials>, RegistryError> {
    let cfg = read_config()?;
    let key = server_key(domain);
    if let Some(helper) = helper_for(&cfg, &key) {
        return match run_helper(&helper, "get", &key) {
            Ok(out) => {
                let v: Value = serde_json::from_str(&out).map_err(|e| {
                    RegistryError::Config(format!("docker-credential-{helper}: {e}"))
                })?;
                let text = |key| v.get(key).and_then(Value::as_str).unwrap_or_default();
                let username = text("Username").to_string();
                let secret = text("Secret").to_string();
                Ok((!secret.is_empty()).then_some(Credentials { username, secret }))
            }
            // The helper's "not found" answer.
            Err(RegistryError::Helper(msg)) if msg.contains("credentials not found") => Ok(None),
            Err(e) => Err(e),
        };
    }
    let auths = cfg.get("auths").and_then(Value::as_object);
    let entry = auths.and_then(|a| {
        a.get(&key).or_else(|| {
            // Keys may carry a scheme or a path: "https://host:5000/v2/".
            a.iter()
                .find(|(k, _)| {
                    let bare = k
                        .trim_start_matches("https://")
                        .trim_start_matches("http://");
                    bare.split('/').next() == Some(domain)
                })
                .map(|(_, v)| v)
        })
    });
    Ok(entry
        .and_then(|e| e.get("auth"))
        .and_then(Value::as_str)
        .and_then(decode_auth))
}

/// Save credentials after a successful login.
pub fn store(domain: &str, c: &Credentials) -> Result<(), RegistryError> {
    let mut cfg = read_config()?;
    let key = server_key(domain);
    if let Some(helper) = helper_for(&cfg, &key) {
        let input =
            json!({"ServerURL": key, "Username": c.username, "Secret": c.secret}).to_string();
        run_helper(&helper, "store", &input)?;
        return Ok(());
    }
    let auth =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", c.username, c.secret));
    let auths = cfg
        .entry("auths")
        .or_insert_with(|| Value::Object(Map::new()));
    if !auths.is_object() {
        *auths = Value::Object(Map::new());
    }
    if let Some(a) = auths.as_object_mut() {
        a.insert(key, json!({ "auth": auth }));
    }
    write_config(&cfg)
}

/// Forget a registry's credentials. Returns whether there were any.
pub fn erase(domain: &str) -> Result<bool, RegistryError> {
    let mut cfg = read_config()?;
    let key = server_key(domain);
    if let Some(helper) = helper_for(&cfg, &key) {
        return Ok(run_helper(&helper, "erase", &key).is_ok());
    }
    let removed = cfg
        .get_mut("auths")
        .and_then(Value::as_object_mut)
        .and_then(|a| a.remove(&key))
        .is_some();
    if removed {
        write_config(&cfg)?;
    }
    Ok(removed)
}

/// "https://host:5000/v2/" → "host:5000"; none → Docker Hub.
pub fn domain_of(server: Option<&str>) -> String {
    let s = server.unwrap_or("docker.io");
    let s = s
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let s = s.split('/').next().unwrap_or(s);
    match s {
        "" | "index.docker.io" | "registry-1.docker.io" | "docker.io" => "docker.io".into(),
        o => o.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_field_decodes() {
        let c = decode_auth("dXNlcjpwYTpzcw==").unwrap();
        assert_eq!(c.username, "user");
        assert_eq!(c.secret, "pa:ss");
        assert!(decode_auth("!!").is_none());
        assert_eq!(server_key("docker.io"), HUB_SERVER);
        assert_eq!(server_key("localhost:5000"), "localhost:5000");
    }
}
