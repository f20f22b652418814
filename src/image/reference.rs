//! Image references parsed and normalised as docker does:
//! `ubuntu` → `docker.io/library/ubuntu:latest`, `host:port/repo:tag`,
//! `name@sha256:...`.

use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ReferenceError {
    #[error("invalid reference format")]
    InvalidFormat,
    #[error("invalid reference format: repository name ({0}) must be lowercase")]
    Uppercase(String),
    #[error("invalid repository name ({0}), cannot specify 64-byte hexadecimal strings")]
    HexName(String),
    #[error("repository name must not be more than 255 characters")]
    TooLong,
}

/// A normalised reference: `docker.io/library/ubuntu:latest`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    /// Registry host[:port], e.g. "docker.io", "localhost:5000".
    pub domain: String,
    /// Repository path, e.g. "library/ubuntu".
    pub path: String,
    /// Tag; `None` only when a digest is given without a tag.
    pub tag: Option<String>,
    /// "sha256:<hex>" when given.
    pub digest: Option<String>,
}

pub const DEFAULT_DOMAIN: &str = "docker.io";
const LEGACY_DOMAIN: &str = "index.docker.io";

fn is_lower_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// One path component: lowercase alnum runs joined by ".", "_", "__" or
/// one or more "-".
fn valid_component(c: &str) -> bool {
    let b = c.as_bytes();
    let (Some(&first), Some(&last)) = (b.first(), b.last()) else {
        return false;
    };
    if !is_lower_alnum(first) || !is_lower_alnum(last) {
        return false;
    }
    // The separators are what lies between the alnum runs.
    c.split(|ch: char| ch.is_ascii_lowercase() || ch.is_ascii_digit())
        .filter(|sep| !sep.is_empty())
        .all(|sep| sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-'))
}

/// host[:port], host being dot-separated labels of alnum and inner '-', or
/// a bracketed IPv6 address.
fn valid_domain(d: &str) -> bool {
    let (host, port) = if let Some(rest) = d.strip_prefix('[') {
        match rest.split_once(']') {
            Some((h, p)) => {
                if h.is_empty() || !h.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
                    return false;
                }
                (
                    None,
                    p.strip_prefix(':').map(Some).unwrap_or(if p.is_empty() {
                        None
                    } else {
                        Some("x")
                    }),
                )
            }
            None => return false,
        }
    } else {
        match d.rsplit_once(':') {
            Some((h, p)) => (Some(h), Some(p)),
            None => (Some(d), None),
        }
    };
    if let Some(p) = port {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
    }
    match host {
        None => true,
        Some(h) => {
            !h.is_empty()
                && h.split('.').all(|l| {
                    let b = l.as_bytes();
                    b.first().is_some_and(u8::is_ascii_alphanumeric)
                        && b.last().is_some_and(u8::is_ascii_alphanumeric)
                        && b.iter().all(|x| x.is_ascii_alphanumeric() || *x == b'-')
                })
        }
    }
}

fn valid_tag(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() <= 128
        && b.first()
            .is_some_and(|f| f.is_ascii_alphanumeric() || *f == b'_')
        && b.iter()
            .all(|x| x.is_ascii_alphanumeric() || matches!(x, b'_' | b'.' | b'-'))
}

fn valid_digest(d: &str) -> bool {
    let Some((alg, hex)) = d.split_once(':') else {
        return false;
    };
    let hexok = |n: usize| {
        hex.len() == n
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    match alg {
        "sha256" => hexok(64),
        "sha512" => hexok(128),
        _ => false,
    }
}

fn is_hex64(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl Reference {
    /// Parse and normalise. A reference with neither tag nor digest gets tag "latest".
    pub fn parse(s: &str) -> Result<Reference, ReferenceError> {
        if s.is_empty() {
            return Err(ReferenceError::InvalidFormat);
        }
        let (rest, digest) = match s.split_once('@') {
            Some((r, d)) => {
                if !valid_digest(d) {
                    return Err(ReferenceError::InvalidFormat);
                }
                (r, Some(d.to_string()))
            }
            None => (s, None),
        };
        // A tag is after the last ':' that follows the last '/'.
        let (name, tag) = match rest.rsplit_once(':') {
            Some((name, t)) if !t.contains('/') => {
                if !valid_tag(t) {
                    return Err(ReferenceError::InvalidFormat);
                }
                (name, Some(t.to_string()))
            }
            _ => (rest, None),
        };
        if name.is_empty() {
            return Err(ReferenceError::InvalidFormat);
        }
        if name.len() > 255 {
            return Err(ReferenceError::TooLong);
        }
        let (domain, path) = match name.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_string(), rest.to_string())
            }
            _ => (DEFAULT_DOMAIN.to_string(), name.to_string()),
        };
        if !valid_domain(&domain) {
            return Err(ReferenceError::InvalidFormat);
        }
        if path.bytes().any(|b| b.is_ascii_uppercase()) {
            let lowered = path.to_ascii_lowercase();
            if lowered.split('/').all(valid_component) {
                // docker names the remote name, official images under library/.
                let remote = if domain == DEFAULT_DOMAIN && !path.contains('/') {
                    format!("library/{path}")
                } else {
                    path.to_string()
                };
                return Err(ReferenceError::Uppercase(remote));
            }
            return Err(ReferenceError::InvalidFormat);
        }
        if !path.split('/').all(valid_component) {
            return Err(ReferenceError::InvalidFormat);
        }
        if domain == DEFAULT_DOMAIN
            && !name.contains('/')
            && tag.is_none()
            && digest.is_none()
            && is_hex64(name)
        {
            return Err(ReferenceError::HexName(name.to_string()));
        }
        let domain = if domain == LEGACY_DOMAIN {
            DEFAULT_DOMAIN.to_string()
        } else {
            domain
        };
        let path = if domain == DEFAULT_DOMAIN && !path.contains('/') {
            format!("library/{path}")
        } else {
            path
        };
        let tag = if tag.is_none() && digest.is_none() {
            Some("latest".to_string())
        } else {
            tag
        };
        Ok(Reference {
            domain,
            path,
            tag,
            digest,
        })
    }

    /// "docker.io/library/ubuntu"
    pub fn name(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }

    /// Docker's short form of the repository: "ubuntu", "user/app", "localhost:5000/app".
    pub fn familiar_name(&self) -> String {
        if self.domain == DEFAULT_DOMAIN {
            self.path
                .strip_prefix("library/")
                .filter(|p| !p.contains('/'))
                .unwrap_or(&self.path)
                .to_string()
        } else {
            self.name()
        }
    }

    /// The short form with tag and digest: "ubuntu:16.04", "app@sha256:...".
    pub fn familiar(&self) -> String {
        let mut s = self.familiar_name();
        if let Some(t) = &self.tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = &self.digest {
            s.push('@');
            s.push_str(d);
        }
        s
    }

    pub fn tag_str(&self) -> &str {
        self.tag.as_deref().unwrap_or("latest")
    }
}

impl std::fmt::Display for Reference {
    /// The full normalised form: name, then ":tag" if any, then "@digest" if any.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.name())?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// Could `s` be (a prefix of) an image ID: optional "sha256:" and 1 to 64
/// lowercase hex digits.
pub fn is_id_prefix(s: &str) -> bool {
    let h = s.strip_prefix("sha256:").unwrap_or(s);
    !h.is_empty()
        && h.len() <= 64
        && h.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full(s: &str) -> String {
        Reference::parse(s)
            .unwrap_or_else(|e| panic!("{s}: {e}"))
            .to_string()
    }

    #[test]
    fn normalises_like_docker() {
        assert_eq!(full("ubuntu"), "docker.io/library/ubuntu:latest");
        assert_eq!(full("ubuntu:16.04"), "docker.io/library/ubuntu:16.04");
        assert_eq!(full("user/app"), "docker.io/user/app:latest");
        assert_eq!(
            full("index.docker.io/library/busybox"),
            "docker.io/library/busybox:latest"
        );
        assert_eq!(
            full("docker.io/busybox"),
            "docker.io/library/busybox:latest"
        );
        assert_eq!(full("localhost/app"), "localhost/app:latest");
        assert_eq!(
            full("localhost:5000/a/b/c:v1.2-x_y"),
            "localhost:5000/a/b/c:v1.2-x_y"
        );
        assert_eq!(full("127.0.0.1:5000/app"), "127.0.0.1:5000/app:latest");
        assert_eq!(full("quay.io/x/y"), "quay.io/x/y:latest");
        assert_eq!(full("[::1]:5000/app:t"), "[::1]:5000/app:t");
        assert_eq!(
            full("ab-c__d/e---f.g:latest"),
            "docker.io/ab-c__d/e---f.g:latest"
        );
        let d = format!("sha256:{}", "a".repeat(64));
        assert_eq!(
            full(&format!("busybox@{d}")),
            format!("docker.io/library/busybox@{d}")
        );
        assert_eq!(
            full(&format!("busybox:1@{d}")),
            format!("docker.io/library/busybox:1@{d}")
        );
        let r = Reference::parse(&format!("busybox@{d}")).unwrap();
        assert_eq!(r.tag, None);
        assert_eq!(r.tag_str(), "latest");
    }

    #[test]
    fn familiar_forms() {
        let f = |s: &str| Reference::parse(s).unwrap().familiar();
        assert_eq!(f("ubuntu"), "ubuntu:latest");
        assert_eq!(f("docker.io/library/ubuntu:16.04"), "ubuntu:16.04");
        assert_eq!(f("user/app:1"), "user/app:1");
        assert_eq!(f("docker.io/library/a/b"), "library/a/b:latest");
        assert_eq!(f("localhost:5000/app"), "localhost:5000/app:latest");
        assert_eq!(
            Reference::parse("ubuntu").unwrap().familiar_name(),
            "ubuntu"
        );
    }

    #[test]
    fn rejects_bad_references() {
        for bad in [
            "",
            ":",
            "a:",
            ":tag",
            "a//b",
            "-a",
            "a-",
            "/a",
            "a/",
            "a@sha256:abc",
            "a@md5:00",
            "a:-x",
            "a:b:c",
            "a b",
            "a..b",
            "a___b",
            "host:port/app",
            "a$b",
            &format!("a:{}", "t".repeat(129)),
        ] {
            assert!(Reference::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        assert_eq!(
            Reference::parse("Ubuntu").unwrap_err().to_string(),
            "invalid reference format: repository name (library/Ubuntu) must be lowercase"
        );
        let hex = "0123456789abcdef".repeat(4);
        assert!(matches!(
            Reference::parse(&hex),
            Err(ReferenceError::HexName(_))
        ));
        assert!(Reference::parse(&format!("{hex}:tag")).is_ok());
        assert_eq!(
            Reference::parse(&"a".repeat(256)),
            Err(ReferenceError::TooLong)
        );
    }

    #[test]
    fn id_prefixes() {
        assert!(is_id_prefix("abc123"));
        assert!(is_id_prefix("sha256:abc"));
        assert!(!is_id_prefix("busybox"));
        assert!(!is_id_prefix(""));
        assert!(!is_id_prefix(&"a".repeat(65)));
    }
}
