//! Image references parsed and normalised as docker does.
//! STUB: to be implemented (helper "reference+format").

use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ReferenceError {
    #[error("invalid reference format")]
    InvalidFormat,
    #[error("invalid reference format: repository name ({0}) must be lowercase")]
    Uppercase(String),
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

impl Reference {
    /// Parse and normalise. A reference with neither tag nor digest gets tag "latest".
    pub fn parse(_s: &str) -> Result<Reference, ReferenceError> {
        Err(ReferenceError::InvalidFormat)
    }
    /// "docker.io/library/ubuntu"
    pub fn name(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }
    /// Docker's short form of the repository: "ubuntu", "user/app", "localhost:5000/app".
    pub fn familiar_name(&self) -> String {
        self.name()
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

/// STUB until the reference module lands.
pub fn is_id_prefix(s: &str) -> bool {
    let h = s.strip_prefix("sha256:").unwrap_or(s);
    !h.is_empty()
        && h.len() <= 64
        && h.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl Reference {
    /// STUB until the reference module lands.
    pub fn familiar(&self) -> String {
        self.to_string()
    }
    /// STUB until the reference module lands.
    pub fn tag_str(&self) -> &str {
        self.tag.as_deref().unwrap_or("latest")
    }
}
