//! OCI image-spec types: the one definition of each that pull, push, save,
//! load, `manifest` and the store share.
//!
//! The `oci-spec` crate's where they fit: an image manifest and its content
//! descriptors ([`ImageManifest`], [`Descriptor`], [`MediaType`],
//! [`Digest`]). They serialize byte for byte as rdock has always written
//! manifests (whose digests are image and manifest IDs), and read what
//! docker reads: every field a descriptor needs, a valid digest (docker
//! checks layer digests before pulling too).
//!
//! rdock's own where the crate's do not fit:
//! - [`Platform`]: oci-spec 0.8 spells `os.version` and `os.features`
//!   `os_version`/`os_features` (oci-spec-rs#163), so a list's or a
//!   config's values would be lost; and it wants `os` and `architecture`.
//! - [`IndexEntry`], [`Index`], [`Probe`]: index.json, manifest lists and
//!   docker's `manifest` files are read as leniently as docker reads them,
//!   Go's zero values for what is missing (mediaType, size, schemaVersion,
//!   even the digest in docker's old files), where oci-spec's ImageIndex
//!   and Descriptor require them; and oci-spec keeps annotations in a
//!   HashMap, written in random order where docker (Go) sorts the keys.
//! - Media types: docker's (schema 2 manifests and lists) are only
//!   `MediaType::Other` to oci-spec, and `match` needs constants, so all
//!   are `&str` here (the OCI ones checked against oci-spec's in a test).

use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;
use thiserror::Error;

pub use oci_spec::image::{Descriptor, Digest, ImageManifest, MediaType};

pub const MEDIA_OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const MEDIA_OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const MEDIA_OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
pub const MEDIA_OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const MEDIA_OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
pub const MEDIA_OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const MEDIA_DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const MEDIA_DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const MEDIA_DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const MEDIA_DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

#[derive(Debug, Error)]
pub enum OciError {
    #[error("invalid digest {digest:?}: {reason}")]
    Digest { digest: String, reason: String },
    #[error("\"{0}\": unknown operating system or architecture: invalid argument")]
    Platform(String),
    #[error("{what}: {source}")]
    Json {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{0}")]
    Spec(#[from] oci_spec::OciSpecError),
}

/// A digest from its text, checked as oci-spec checks it.
pub fn digest(s: &str) -> Result<Digest, OciError> {
    Digest::try_from(s).map_err(|e| OciError::Digest {
        digest: s.to_string(),
        reason: e.to_string(),
    })
}

/// A descriptor of what rdock keeps of a blob: media type, digest, size.
pub fn descriptor(media_type: &str, digest_text: &str, size: u64) -> Result<Descriptor, OciError> {
    Ok(Descriptor::new(
        MediaType::from(media_type),
        size,
        digest(digest_text)?,
    ))
}

/// `d` without annotations, URLs or platform: the store's layer records
/// and the manifests rdock writes keep only these three fields.
pub fn bare(d: &Descriptor) -> Descriptor {
    Descriptor::new(d.media_type().clone(), d.size(), d.digest().clone())
}

/// The OCI manifest rdock writes for an image it made or re-described.
pub fn manifest(config: Descriptor, layers: Vec<Descriptor>) -> Result<ImageManifest, OciError> {
    Ok(oci_spec::image::ImageManifestBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageManifest)
        .config(config)
        .layers(layers)
        .build()?)
}

/// An image manifest from its JSON; `what` names it in errors.
pub fn parse_manifest(bytes: &[u8], what: &str) -> Result<ImageManifest, OciError> {
    serde_json::from_slice(bytes).map_err(|source| OciError::Json {
        what: what.to_string(),
        source,
    })
}

/// A JSON `null` read as the type's default, as Go reads it.
fn nullable<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A platform in an index entry, an image config or docker's `manifest`
/// records, in Go's `ocispec.Platform` shape (field order, omissions).
/// Also what `--platform` asks for (os, architecture, variant).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    #[serde(default, deserialize_with = "nullable")]
    pub architecture: String,
    #[serde(default, deserialize_with = "nullable")]
    pub os: String,
    #[serde(
        default,
        rename = "os.version",
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub os_version: String,
    #[serde(
        default,
        rename = "os.features",
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub os_features: Vec<String>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub variant: String,
}

impl Platform {
    pub fn new(os: &str, architecture: &str, variant: &str) -> Platform {
        Platform {
            os: os.to_string(),
            architecture: architecture.to_string(),
            variant: variant.to_string(),
            ..Default::default()
        }
    }

    /// This host's, as docker names it (arm64 is v8).
    pub fn host() -> Platform {
        let arch = host_arch();
        Platform::new("linux", arch, if arch == "arm64" { "v8" } else { "" })
    }

    /// `os/arch[/variant]`, as docker's `--platform`.
    pub fn parse(s: &str) -> Result<Platform, OciError> {
        let parts: Vec<&str> = s.split('/').collect();
        match parts.as_slice() {
            [os, arch] if !os.is_empty() && !arch.is_empty() => {
                Ok(Platform::new(os, &normalize_arch(arch), ""))
            }
            [os, arch, v] if !os.is_empty() && !arch.is_empty() && !v.is_empty() => {
                Ok(Platform::new(os, &normalize_arch(arch), v))
            }
            _ => Err(OciError::Platform(s.to_string())),
        }
    }

    /// Whether `have` (an index entry's platform) is this one: the same
    /// OS and architecture; a variant missing on either side matches
    /// (arm64 images rarely name v8).
    pub fn matches(&self, have: &Platform) -> bool {
        if have.os != self.os || normalize_arch(&have.architecture) != self.architecture {
            return false;
        }
        self.variant.is_empty() || have.variant.is_empty() || self.variant == have.variant
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if !self.variant.is_empty() {
            write!(f, "/{}", self.variant)?;
        }
        Ok(())
    }
}

/// Go's name for an architecture others spell differently.
pub fn normalize_arch(a: &str) -> String {
    match a {
        "x86_64" | "x86-64" => "amd64".into(),
        "aarch64" => "arm64".into(),
        "i386" | "i686" => "386".into(),
        o => o.to_string(),
    }
}

/// A manifest as an index or a list names it (Go's `ocispec.Descriptor`
/// field order and omissions): also docker's `manifest` records'
/// descriptor.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexEntry {
    #[serde(default, rename = "mediaType", deserialize_with = "nullable")]
    pub media_type: String,
    #[serde(default, deserialize_with = "nullable")]
    pub digest: String,
    #[serde(default, deserialize_with = "nullable")]
    pub size: i64,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
}

impl IndexEntry {
    /// An attestation (buildkit's provenance and SBOM manifests), not an
    /// image.
    pub fn is_attestation(&self) -> bool {
        self.annotations
            .get("vnd.docker.reference.type")
            .is_some_and(|t| t == "attestation-manifest")
            || self.platform.as_ref().is_some_and(|p| p.os == "unknown")
    }
}

/// An OCI index (index.json, a manifest list), as docker writes one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    #[serde(default, rename = "schemaVersion")]
    pub schema_version: u32,
    #[serde(
        default,
        rename = "mediaType",
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub media_type: String,
    #[serde(default, deserialize_with = "nullable")]
    pub manifests: Vec<IndexEntry>,
}

/// A manifest or an index before it is known which: what tells them
/// apart. A manifest's descriptors are then read as [`ImageManifest`].
#[derive(Debug, Default, Deserialize)]
pub struct Probe {
    #[serde(default, rename = "schemaVersion")]
    pub schema_version: u32,
    #[serde(default, rename = "mediaType", deserialize_with = "nullable")]
    pub media_type: String,
    #[serde(default)]
    pub manifests: Option<Vec<IndexEntry>>,
    #[serde(default)]
    config: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    layers: Option<serde::de::IgnoredAny>,
}

impl Probe {
    pub fn parse(bytes: &[u8], what: &str) -> Result<Probe, OciError> {
        serde_json::from_slice(bytes).map_err(|source| OciError::Json {
            what: what.to_string(),
            source,
        })
    }

    pub fn has_config(&self) -> bool {
        self.config.is_some()
    }

    pub fn has_layers(&self) -> bool {
        self.layers.is_some()
    }
}

/// The architecture name as Go (and so docker) spells it.
pub fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        "arm" => "arm",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_are_oci_specs() {
        for (ours, theirs) in [
            (MEDIA_OCI_MANIFEST, MediaType::ImageManifest),
            (MEDIA_OCI_CONFIG, MediaType::ImageConfig),
            (MEDIA_OCI_LAYER_TAR, MediaType::ImageLayer),
            (MEDIA_OCI_LAYER_GZIP, MediaType::ImageLayerGzip),
            (MEDIA_OCI_LAYER_ZSTD, MediaType::ImageLayerZstd),
            (MEDIA_OCI_INDEX, MediaType::ImageIndex),
        ] {
            assert_eq!(ours, theirs.as_ref());
            assert_eq!(MediaType::from(ours), theirs);
        }
        // docker's survive a round trip as `Other`.
        let d = MediaType::from(MEDIA_DOCKER_LAYER_GZIP);
        assert_eq!(d.to_string(), MEDIA_DOCKER_LAYER_GZIP);
    }

    #[test]
    fn manifests_serialize_as_rdock_always_wrote_them() {
        let h = |c: &str| format!("sha256:{}", c.repeat(64));
        let m = manifest(
            descriptor(MEDIA_OCI_CONFIG, &h("a"), 12).unwrap(),
            vec![descriptor(MEDIA_DOCKER_LAYER_GZIP, &h("b"), 34).unwrap()],
        )
        .unwrap();
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(
            json,
            format!(
                r#"{{"schemaVersion":2,"mediaType":"{MEDIA_OCI_MANIFEST}","config":{{"mediaType":"{MEDIA_OCI_CONFIG}","digest":"{}","size":12}},"layers":[{{"mediaType":"{MEDIA_DOCKER_LAYER_GZIP}","digest":"{}","size":34}}]}}"#,
                h("a"),
                h("b")
            )
        );
        let back = parse_manifest(json.as_bytes(), "m").unwrap();
        assert_eq!(back, m);
        // A registry's manifest with fields rdock does not write: read,
        // and `bare` drops them.
        let with_extra = json.replace(
            r#""size":34}"#,
            r#""size":34,"annotations":{"k":"v"},"urls":["http://x"]}"#,
        );
        let m2 = parse_manifest(with_extra.as_bytes(), "m").unwrap();
        assert_ne!(m2.layers(), m.layers());
        assert_eq!(
            m2.layers().iter().map(bare).collect::<Vec<_>>(),
            *m.layers()
        );
    }

    #[test]
    fn manifests_need_what_docker_needs() {
        let ok = r#"{"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","size":1},"layers":[]}"#;
        assert!(parse_manifest(ok.as_bytes(), "m").is_ok());
        // An unknown media type and unknown fields are fine.
        let odd = ok.replace(r#""layers""#, r#""future":{"a":1},"layers""#);
        assert!(parse_manifest(odd.as_bytes(), "m").is_ok());
        for bad in [
            ok.replace("sha256:aaaa", "sha256:AAAA"),
            ok.replace(r#","size":1"#, ""),
            ok.replace(r#""mediaType":"x","#, ""),
        ] {
            assert!(parse_manifest(bad.as_bytes(), "m").is_err(), "{bad}");
        }
        let e = parse_manifest(b"{}", "manifest m").unwrap_err().to_string();
        assert!(e.starts_with("manifest m: missing field"), "{e}");
    }

    #[test]
    fn indexes_are_read_leniently() {
        // No schemaVersion, no media types or sizes, nulls, unknown
        // fields, an odd digest: all as Go would take them.
        let idx: Index = serde_json::from_str(
            r#"{"manifests":[{"digest":"sha256:x","platform":{"os":"linux","architecture":"arm","variant":null,"os.version":"1","os.features":["f"]}},{"digest":"d2","annotations":null,"size":null,"x":1}],"annotations":{"a":"b"}}"#,
        )
        .unwrap();
        assert_eq!(idx.schema_version, 0);
        let [a, b] = idx.manifests.as_slice() else {
            panic!("{idx:?}")
        };
        assert_eq!((a.media_type.as_str(), a.size), ("", 0));
        let p = a.platform.as_ref().unwrap();
        assert_eq!((p.os_version.as_str(), p.variant.as_str()), ("1", ""));
        assert_eq!(p.os_features, ["f"]);
        assert!(b.annotations.is_empty() && b.platform.is_none());
        let null: Index = serde_json::from_str(r#"{"manifests":null}"#).unwrap();
        assert!(null.manifests.is_empty());
    }

    #[test]
    fn indexes_serialize_as_docker_writes_them() {
        let mut e = IndexEntry {
            media_type: MEDIA_OCI_MANIFEST.into(),
            digest: "sha256:ab".into(),
            size: 3,
            ..Default::default()
        };
        e.annotations.insert("org.b".into(), "2".into());
        e.annotations.insert("io.a".into(), "1".into());
        let idx = Index {
            schema_version: 2,
            media_type: MEDIA_OCI_INDEX.into(),
            manifests: vec![e, IndexEntry::default()],
        };
        assert_eq!(
            serde_json::to_string(&idx).unwrap(),
            format!(
                r#"{{"schemaVersion":2,"mediaType":"{MEDIA_OCI_INDEX}","manifests":[{{"mediaType":"{MEDIA_OCI_MANIFEST}","digest":"sha256:ab","size":3,"annotations":{{"io.a":"1","org.b":"2"}}}},{{"mediaType":"","digest":"","size":0}}]}}"#
            )
        );
        let p = Platform {
            os_version: "10".into(),
            os_features: vec!["f".into()],
            ..Platform::new("windows", "amd64", "")
        };
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"architecture":"amd64","os":"windows","os.version":"10","os.features":["f"]}"#
        );
    }

    /// Why indexes and platforms are rdock's own: if this fails, oci-spec
    /// has caught up and its types may replace them.
    #[test]
    fn oci_specs_index_types_do_not_fit() {
        use oci_spec::image::{ImageIndex, Platform as SpecPlatform};
        let go_lenient = r#"{"manifests":[{"digest":"sha256:x"}]}"#;
        assert!(serde_json::from_str::<Index>(go_lenient).is_ok());
        assert!(serde_json::from_str::<ImageIndex>(go_lenient).is_err());
        let p = r#"{"architecture":"amd64","os":"windows","os.version":"10.0"}"#;
        let theirs: SpecPlatform = serde_json::from_str(p).unwrap();
        assert_eq!(theirs.os_version(), &None);
        let ours: Platform = serde_json::from_str(p).unwrap();
        assert_eq!(serde_json::to_string(&ours).unwrap(), p);
    }

    #[test]
    fn probes_tell_manifests_from_indexes() {
        let p = Probe::parse(br#"{"config":{},"layers":null}"#, "x").unwrap();
        assert!(p.has_config() && !p.has_layers() && p.manifests.is_none());
        let p = Probe::parse(
            br#"{"schemaVersion":2,"mediaType":null,"manifests":[{}]}"#,
            "x",
        )
        .unwrap();
        assert_eq!((p.schema_version, p.media_type.as_str()), (2, ""));
        assert_eq!(p.manifests.map(|m| m.len()), Some(1));
        let e = Probe::parse(b"\"x\"", "manifest x")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("manifest x: invalid type"), "{e}");
    }

    #[test]
    fn platforms_parse_and_match() {
        let p = Platform::parse("linux/arm64/v8").unwrap();
        assert_eq!(p, Platform::new("linux", "arm64", "v8"));
        assert_eq!(p.to_string(), "linux/arm64/v8");
        assert_eq!(
            Platform::parse("linux/x86_64").unwrap().architecture,
            "amd64"
        );
        for bad in ["linux", "linux//", "/amd64", "a/b/c/d"] {
            let e = Platform::parse(bad).unwrap_err().to_string();
            assert_eq!(
                e,
                format!("\"{bad}\": unknown operating system or architecture: invalid argument")
            );
        }
        let amd = Platform::parse("linux/amd64").unwrap();
        assert!(amd.matches(&Platform::new("linux", "amd64", "")));
        assert!(amd.matches(&Platform::new("linux", "x86_64", "")));
        assert!(!amd.matches(&Platform::new("linux", "arm64", "")));
        assert!(!amd.matches(&Platform::new("", "amd64", "")));
        let v7 = Platform::parse("linux/arm/v7").unwrap();
        assert!(v7.matches(&Platform::new("linux", "arm", "v7")));
        assert!(v7.matches(&Platform::new("linux", "arm", "")));
        assert!(!v7.matches(&Platform::new("linux", "arm", "v6")));
    }
}
