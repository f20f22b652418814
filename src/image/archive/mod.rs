//! Image archives: `save` writes, `load` reads.
//!
//! Formats:
//! - docker-archive as docker 25+ writes it: an OCI image layout
//!   (`oci-layout`, `index.json`, `blobs/sha256/*` with every layer an
//!   uncompressed tar named by its diff ID) plus docker's `manifest.json`
//!   and `repositories`. Older docker and podman/skopeo archives
//!   (`<hex>.tar`, `<hex>.json`, legacy `<id>/layer.tar` symlinks) are read
//!   through the same `manifest.json`.
//! - OCI archives (`index.json` and blobs only, layers as stored: gzip,
//!   zstd or plain), read and written.
//!
//! The archive is never unpacked onto disk: its entries are catalogued by
//! path ([`catalog`]) and the files that `manifest.json` / `index.json` name
//! are resolved inside that catalogue, so `..`, absolute paths and symlink
//! tricks cannot reach outside it. Layers go through the store's staging
//! (`ImageStore::stage_layer`), which extracts safely and hashes; nothing
//! reaches the store before every digest has matched.

pub mod catalog;
pub mod load;
pub mod save;

use super::config::host_arch;
use super::oci::{normalize_arch, OciError, Platform};
use super::ImageError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ArchiveError {
    /// Malformed or hostile archive content.
    #[error("invalid archive: {0}")]
    Invalid(String),
    #[error("invalid archive: {what} has digest {got}, expected {expected}")]
    Digest {
        what: String,
        expected: String,
        got: String,
    },
    /// An error worded as docker words it, printed as is.
    #[error("{0}")]
    Docker(String),
    #[error("No such image: {0}")]
    NotFound(String),
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

impl ArchiveError {
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        ArchiveError::Io {
            what: what.into(),
            source,
        }
    }
}

/// A malformed manifest, index or digest in an archive.
impl From<OciError> for ArchiveError {
    fn from(e: OciError) -> Self {
        ArchiveError::Invalid(e.to_string())
    }
}

impl From<super::layer::LayerError> for ArchiveError {
    fn from(e: super::layer::LayerError) -> Self {
        ArchiveError::Image(e.into())
    }
}

pub type Result<T, E = ArchiveError> = std::result::Result<T, E>;

/// Progress of a layer being loaded: (short ID, bytes read, total bytes).
pub type Progress<'a> = &'a (dyn Fn(&str, u64, u64) + Sync);

/// Reports what passes through, every 512 KiB and at the end.
pub(crate) struct Reporting<'a, R> {
    pub inner: R,
    pub id: String,
    pub current: u64,
    pub total: u64,
    pub last: u64,
    pub report: Option<Progress<'a>>,
}

impl<'a, R> Reporting<'a, R> {
    pub fn new(inner: R, id: &str, total: u64, report: Option<Progress<'a>>) -> Self {
        Reporting {
            inner,
            id: id.chars().take(12).collect(),
            current: 0,
            total,
            last: 0,
            report,
        }
    }
}

impl<R: std::io::Read> std::io::Read for Reporting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        // Progress: saturating is its meaning.
        self.current = self.current.saturating_add(n as u64);
        if let Some(f) = self.report {
            if self.current.saturating_sub(self.last) >= 512 * 1024
                || (n == 0 && self.current != self.last)
            {
                self.last = self.current;
                f(&self.id, self.current, self.total);
            }
        }
        Ok(n)
    }
}

const KNOWN_OS: &[&str] = &[
    "linux", "windows", "darwin", "freebsd", "netbsd", "openbsd", "solaris", "illumos",
];
const KNOWN_ARCH: &[&str] = &[
    "amd64", "x86_64", "x86-64", "arm64", "aarch64", "arm", "386", "i386", "i686", "ppc64le",
    "ppc64", "s390x", "riscv64", "mips64le", "loong64",
];

/// docker's `--platform` for save/load: `os[/arch[/variant]]`, where a lone
/// OS takes the host's architecture and a lone architecture means Linux
/// (containerd's rules). Errors carry docker's "invalid platform" prefix.
pub fn parse_platform(s: &str) -> Result<Platform> {
    let bad = || {
        ArchiveError::Docker(format!(
            "invalid platform: \"{s}\": unknown operating system or architecture: invalid argument"
        ))
    };
    if !s.contains('/') {
        let l = s.to_ascii_lowercase();
        if KNOWN_OS.contains(&l.as_str()) {
            return Ok(Platform {
                os: l,
                ..Platform::host()
            });
        }
        if KNOWN_ARCH.contains(&l.as_str()) {
            return Ok(Platform::new("linux", &normalize_arch(&l), ""));
        }
        return Err(bad());
    }
    Platform::parse(s).map_err(|_| bad())
}

/// Whether an image of platform `have` (its config's, or its index
/// entry's) is `want`: an OS or architecture it does not name is Linux and
/// the host's.
pub fn platform_matches(want: &Platform, have: &Platform) -> bool {
    let mut have = have.clone();
    if have.os.is_empty() {
        have.os = "linux".into();
    }
    if have.architecture.is_empty() {
        have.architecture = host_arch().into();
    }
    want.matches(&have)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms_parse_like_containerd() {
        let p = parse_platform("linux/arm64/v8").unwrap();
        assert_eq!(p, Platform::new("linux", "arm64", "v8"));
        assert_eq!(parse_platform("linux").unwrap().architecture, host_arch());
        let a = parse_platform("aarch64").unwrap();
        assert_eq!(a, Platform::new("linux", "arm64", ""));
        let e = parse_platform("bad").unwrap_err().to_string();
        assert_eq!(
            e,
            "invalid platform: \"bad\": unknown operating system or architecture: invalid argument"
        );
        assert!(parse_platform("linux//").is_err());
    }

    #[test]
    fn platform_matching() {
        let p = Platform::new;
        let want = parse_platform("linux/arm/v7").unwrap();
        assert!(platform_matches(&want, &p("linux", "arm", "v7")));
        assert!(platform_matches(&want, &p("linux", "arm", "")));
        assert!(!platform_matches(&want, &p("linux", "arm", "v6")));
        assert!(!platform_matches(&want, &p("linux", "amd64", "")));
        let amd = parse_platform("linux/amd64").unwrap();
        assert!(platform_matches(&amd, &p("linux", "x86_64", "")));
        assert!(!platform_matches(&amd, &p("windows", "amd64", "")));
        // What a config does not name is the host's.
        let host = Platform::host();
        assert!(platform_matches(&host, &p("", "", "")));
        assert!(platform_matches(&host, &p("linux", "", "")));
        assert!(!platform_matches(&amd, &p("", "arm", "")));
    }
}
