//! Format parsing: names, digests, paths.

use super::*;

#[test]
fn digests_in_names() {
    let h = "a".repeat(64);
    assert_eq!(
        digest_in_name(&format!("blobs/sha256/{h}")),
        Some(format!("sha256:{h}"))
    );
    assert_eq!(
        digest_in_name(&format!("{h}.json")),
        Some(format!("sha256:{h}"))
    );
    assert_eq!(digest_in_name("abc/json"), None);
    assert_eq!(
        blob_path(&format!("sha256:{h}")).unwrap(),
        format!("blobs/sha256/{h}")
    );
    // A digest cannot smuggle a path.
    assert!(blob_path("sha256:../../etc/passwd").is_err());
    assert!(blob_path(&format!("sha512:{h}")).is_err());
    assert!(check_digest(b"x", &format!("sha256:{}", sha256_hex(b"x")), "x").is_ok());
    let e = check_digest(b"y", &format!("sha256:{}", sha256_hex(b"x")), "layer l").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("invalid archive: layer l has digest sha256:"),
        "{e}"
    );
}

#[test]
fn repo_tags_need_a_tag() {
    assert_eq!(
        repo_tag("busybox:latest").unwrap().to_string(),
        "docker.io/library/busybox:latest"
    );
    assert_eq!(
        repo_tag("localhost:5000/app:v1").unwrap().familiar(),
        "localhost:5000/app:v1"
    );
    assert_eq!(
        repo_tag("busybox").unwrap_err().to_string(),
        "invalid tag \"busybox\""
    );
    assert_eq!(
        repo_tag("localhost:5000/app").unwrap_err().to_string(),
        "invalid tag \"localhost:5000/app\""
    );
    assert!(repo_tag("Busybox:1").is_err());
}

#[test]
fn oci_names() {
    let ann = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let name = |a: &BTreeMap<String, String>| oci_name(a).map(|r| r.to_string());
    assert_eq!(
        name(&ann(&[
            (ANNOTATION_IMAGE_NAME, "docker.io/library/busybox:1"),
            (ANNOTATION_REF_NAME, "1")
        ])),
        Some("docker.io/library/busybox:1".into())
    );
    // podman's whole names.
    assert_eq!(
        name(&ann(&[(ANNOTATION_REF_NAME, "localhost/app:2")])),
        Some("localhost/app:2".into())
    );
    // skopeo's bare tags name no repository.
    assert_eq!(name(&ann(&[(ANNOTATION_REF_NAME, "latest")])), None);
    assert_eq!(name(&ann(&[])), None);
}
