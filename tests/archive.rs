//! `save` and `load` against the real binary: round trips, several images
//! in one archive, compressed archives and stdin, archives exchanged with
//! skopeo and podman, docker's errors, and a corpus of hostile archives
//! that must fail with one line, exit 125 and an unchanged store.

mod common;
use common::registry::{files_tar, Layout};
use common::*;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn sha(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

fn hex_of(digest: &str) -> &str {
    digest.trim_start_matches("sha256:")
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// One entry of a hand-made archive. Names are written into the header
/// as given (`../x`, `/etc/x` included), bypassing the tar crate's checks.
enum E {
    File(Vec<u8>),
    Symlink(String),
    Dir,
}

fn tar_of(entries: &[(String, E)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, e) in entries {
        let mut h = tar::Header::new_ustar();
        let raw = name.as_bytes();
        h.as_old_mut().name[..raw.len()].copy_from_slice(raw);
        h.set_mode(0o644);
        h.set_mtime(0);
        match e {
            E::File(data) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(data.len() as u64);
                h.set_cksum();
                b.append(&h, &data[..]).expect("append");
            }
            E::Symlink(t) => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_size(0);
                h.as_old_mut().linkname[..t.len()].copy_from_slice(t.as_bytes());
                h.set_cksum();
                b.append(&h, std::io::empty()).expect("append");
            }
            E::Dir => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(0o755);
                h.set_size(0);
                h.set_cksum();
                b.append(&h, std::io::empty()).expect("append");
            }
        }
    }
    b.into_inner().expect("tar")
}

fn config_json(layers: &[Vec<u8>], cmd: &[&str], arch: &str) -> Vec<u8> {
    let diff_ids: Vec<String> = layers.iter().map(|l| sha(l)).collect();
    serde_json::json!({
        "created": "2024-01-02T03:04:05Z",
        "architecture": arch, "os": "linux",
        "config": {"Cmd": cmd, "Env": ["PATH=/bin"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    })
    .to_string()
    .into_bytes()
}

/// An image for `docker_archive`: (tags, layers, cmd).
type Img<'a> = (&'a [&'a str], Vec<Vec<u8>>, &'a [&'a str]);

/// A docker-archive written by hand, as docker 25+ lays it out (layers
/// and configs under blobs/sha256, manifest.json last).
fn docker_archive(images: &[Img]) -> Vec<(String, E)> {
    let mut entries = vec![
        ("blobs/".to_string(), E::Dir),
        ("blobs/sha256/".to_string(), E::Dir),
    ];
    let mut manifest = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (tags, layers, cmd) in images {
        for l in layers {
            let name = format!("blobs/sha256/{}", hex_of(&sha(l)));
            if seen.insert(name.clone()) {
                entries.push((name, E::File(l.clone())));
            }
        }
        let config = config_json(layers, cmd, "amd64");
        let cname = format!("blobs/sha256/{}", hex_of(&sha(&config)));
        entries.push((cname.clone(), E::File(config)));
        manifest.push(serde_json::json!({
            "Config": cname,
            "RepoTags": tags,
            "Layers": layers.iter().map(|l| format!("blobs/sha256/{}", hex_of(&sha(l)))).collect::<Vec<_>>(),
        }));
    }
    entries.push((
        "manifest.json".into(),
        E::File(serde_json::to_vec(&manifest).expect("json")),
    ));
    entries
}

fn set_file(entries: &mut [(String, E)], name: &str, data: Vec<u8>) {
    for (n, e) in entries.iter_mut() {
        if n == name {
            *e = E::File(data);
            return;
        }
    }
    panic!("no entry {name}");
}

fn manifest_of(entries: &[(String, E)]) -> serde_json::Value {
    for (n, e) in entries {
        if let (true, E::File(d)) = (n == "manifest.json", e) {
            return serde_json::from_slice(d).expect("manifest.json");
        }
    }
    panic!("no manifest.json");
}

fn hello_layer() -> Vec<u8> {
    files_tar(&[("hello.txt", "hello from the second layer\n")])
}

/// A file's tar listing (names only).
fn listing(path: &Path) -> Vec<String> {
    let mut ar = tar::Archive::new(std::fs::File::open(path).expect("open archive"));
    ar.entries()
        .expect("entries")
        .map(|e| {
            e.expect("entry")
                .path()
                .expect("path")
                .display()
                .to_string()
        })
        .collect()
}

fn member(path: &Path, name: &str) -> Vec<u8> {
    let mut ar = tar::Archive::new(std::fs::File::open(path).expect("open archive"));
    for e in ar.entries().expect("entries") {
        let mut e = e.expect("entry");
        if e.path().expect("path").display().to_string() == name {
            let mut v = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut v).expect("read");
            return v;
        }
    }
    panic!("{name} not in {}", path.display());
}

fn id_of(r: &Rdock, image: &str) -> String {
    r.run(&["inspect", "-f", "{{.Id}}", image])
        .ok()
        .trim()
        .to_string()
}

fn run_echo(r: &Rdock, image: &str, word: &str) {
    let out = r.run(&["run", "--rm", "--network", "none", image, "echo", word]);
    assert_eq!(out.ok().trim(), word);
}

// ---- round trips ----

#[test]
fn save_load_round_trip_keeps_id_and_runs() {
    let a = Rdock::with_busybox();
    a.run(&["tag", "busybox", "localhost:5000/team/bb:v2"]).ok();
    let id = id_of(&a, "busybox");
    let file = a.dir.path().join("out.tar");
    a.run(&[
        "save",
        "-o",
        p(&file),
        "busybox:latest",
        "localhost:5000/team/bb:v2",
    ])
    .ok();
    // docker 25+'s layout: OCI layout plus manifest.json and repositories.
    let names = listing(&file);
    for want in ["oci-layout", "index.json", "manifest.json", "repositories"] {
        assert!(names.iter().any(|n| n == want), "{want} missing: {names:?}");
    }
    let m: serde_json::Value = serde_json::from_slice(&member(&file, "manifest.json")).unwrap();
    assert_eq!(m[0]["Config"], format!("blobs/sha256/{}", hex_of(&id)));
    assert_eq!(
        m[0]["RepoTags"],
        serde_json::json!(["busybox:latest", "localhost:5000/team/bb:v2"])
    );
    // The layer is the uncompressed tar whose digest is the diff ID.
    let layer = m[0]["Layers"][0].as_str().unwrap().to_string();
    let diff = a
        .run(&["inspect", "-f", "{{index .RootFS.Layers 0}}", "busybox"])
        .ok()
        .trim()
        .to_string();
    assert_eq!(layer, format!("blobs/sha256/{}", hex_of(&diff)));
    assert_eq!(sha(&member(&file, &layer)), diff);
    let repos: serde_json::Value = serde_json::from_slice(&member(&file, "repositories")).unwrap();
    assert_eq!(repos["busybox"]["latest"], hex_of(&diff));
    let index: serde_json::Value = serde_json::from_slice(&member(&file, "index.json")).unwrap();
    assert_eq!(
        index["manifests"][0]["annotations"]["io.containerd.image.name"],
        "docker.io/library/busybox:latest"
    );
    assert_eq!(
        index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"],
        "latest"
    );
    // docker's -o: mode 0600, no temp file left beside it.
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );

    let b = Rdock::new();
    let out = b.run(&["load", "-i", p(&file)]);
    assert_eq!(
        out.ok(),
        "Loaded image: busybox:latest\nLoaded image: localhost:5000/team/bb:v2\n"
    );
    assert_eq!(id_of(&b, "busybox"), id);
    assert_eq!(id_of(&b, "localhost:5000/team/bb:v2"), id);
    run_echo(&b, "busybox", "round-trip");
    // Loading again: same image, same lines, nothing new in the store.
    let before = b.snapshot();
    b.run(&["image", "load", "-q", "-i", p(&file)]).ok();
    assert_eq!(b.snapshot(), before);
}

/// A layer that replaces and whites out its own files, with long names,
/// PAX records, links and odd padding: the shapes a tar-split must keep.
fn tricky_layer() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let file = |b: &mut tar::Builder<Vec<u8>>, path: &str, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(1_600_000_000);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, path, data).expect("append");
    };
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Directory);
    h.set_mode(0o755);
    h.set_size(0);
    b.append_data(&mut h, "d/", std::io::empty()).expect("dir");
    file(&mut b, "d/a", b"first a\n");
    file(&mut b, "d/big", &vec![0x5a; 300_001]);
    file(
        &mut b,
        &format!("d/{}", "long".repeat(40)),
        b"a long name\n",
    );
    b.append_pax_extensions([("SCHILY.xattr.user.k", &b"v"[..])])
        .expect("pax");
    file(&mut b, "d/with-xattr", b"x\n");
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_size(0);
    h.set_mode(0o777);
    b.append_link(&mut h, "d/link", "a").expect("symlink");
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Link);
    h.set_size(0);
    h.set_mode(0o644);
    b.append_link(&mut h, "d/hard", "d/big").expect("hardlink");
    file(&mut b, "d/a", b"second a, replacing the first\n");
    file(&mut b, "d/.wh.big", b"");
    file(&mut b, "gone/inner", b"inner\n");
    file(&mut b, "gone", b"a file where a dir was\n");
    let mut v = b.into_inner().expect("tar");
    // Trailing zeros past the end-of-archive blocks, as some writers pad.
    v.extend_from_slice(&[0u8; 4096]);
    v
}

/// Plain layers are kept as their files plus a tar-split, not a second
/// copy: `save` and `push` must give back the exact tar (its digest is the
/// diff ID), also when the same layer first came in compressed.
#[test]
fn plain_layers_are_rebuilt_byte_exact() {
    let r = Rdock::new();
    let dir = tempfile::tempdir().unwrap();
    let layer = tricky_layer();
    let diff = sha(&layer);
    r.run_stdin(&["import", "-", "gz:1"], &gzip(&layer)).ok();
    r.run_stdin(&["import", "-", "plain:1"], &layer).ok();
    r.run_stdin(&["import", "-", "plain:2"], &layer).ok();
    // The compressed copy goes; the plain tar now lives only as files
    // plus the split.
    r.run(&["rmi", "gz:1"]).ok();
    let blob = r.root.join("blobs").join(hex_of(&diff));
    assert!(!blob.exists(), "a plain layer's bytes were stored twice");
    let out = dir.path().join("s.tar");
    r.run(&["save", "-o", p(&out), "plain:1", "plain:2"]).ok();
    let got = member(&out, &format!("blobs/sha256/{}", hex_of(&diff)));
    assert_eq!(got.len(), layer.len());
    assert!(
        got == layer,
        "the saved layer differs from the imported tar"
    );
    // To a pipe too (no seeking back).
    let piped = r.cmd(&["save", "plain:1"]).output().unwrap();
    assert!(piped.status.success(), "{piped:?}");
    let piped_path = dir.path().join("p.tar");
    std::fs::write(&piped_path, &piped.stdout).unwrap();
    assert!(member(&piped_path, &format!("blobs/sha256/{}", hex_of(&diff))) == layer);
    // What the layer holds: the replacing entries won.
    let cat = r.run(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        "/bin/busybox:/busybox:ro",
        "plain:1",
        "/busybox",
        "sh",
        "-c",
        "/busybox cat /d/a /gone; /busybox ls /d; /busybox wc -c < /d/hard",
    ]);
    let text = cat.ok();
    assert!(text.contains("second a, replacing the first"), "{text}");
    assert!(text.contains("a file where a dir was"), "{text}");
    assert!(
        !text.lines().any(|l| l == "big"),
        "whiteout ignored: {text}"
    );
    assert!(text.lines().any(|l| l.trim() == "300001"), "{text}");
    // A damaged store is one clear error, not a wrong archive.
    let chain = hex_of(&diff).to_string();
    let layer_dir = r.root.join("layers").join(&chain);
    std::fs::write(layer_dir.join("diff/d/a"), b"tampered").unwrap();
    let bad = r.run(&["save", "-o", p(&dir.path().join("bad.tar")), "plain:1"]);
    assert!(bad.fails_1().contains("damaged"), "{}", bad.fails_1());
}

#[test]
fn several_images_in_one_archive_share_layers() {
    let base = busybox_tar();
    let entries = docker_archive(&[
        (&["one:1", "one:latest"], vec![base.clone()], &["sh"]),
        (
            &["two:2"],
            vec![base.clone(), hello_layer()],
            &["cat", "/hello.txt"],
        ),
    ]);
    let a = Rdock::new();
    let out = a.run_stdin(&["load"], &tar_of(&entries));
    assert_eq!(
        out.ok(),
        "Loaded image: one:1\nLoaded image: one:latest\nLoaded image: two:2\n"
    );
    assert_eq!(
        a.run(&["run", "--rm", "--network", "none", "two:2"]).ok(),
        "hello from the second layer\n"
    );
    // The shared base layer is stored once.
    let layers = std::fs::read_dir(a.root.join("layers"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name() != "l")
        .count();
    assert_eq!(layers, 2);

    // Saved together: each layer once, both images in manifest.json.
    let file = a.dir.path().join("both.tar");
    a.run(&["save", "-o", p(&file), "one", "two:2"]).ok();
    let names = listing(&file);
    let base_entry = format!("blobs/sha256/{}", hex_of(&sha(&base)));
    assert_eq!(names.iter().filter(|n| **n == base_entry).count(), 1);
    let m: serde_json::Value = serde_json::from_slice(&member(&file, "manifest.json")).unwrap();
    assert_eq!(m.as_array().unwrap().len(), 2);
    // A bare repository saves all its tags, as docker does.
    assert_eq!(m[0]["RepoTags"], serde_json::json!(["one:1", "one:latest"]));
    assert_eq!(m[1]["Layers"].as_array().unwrap().len(), 2);

    let b = Rdock::new();
    b.run(&["load", "-i", p(&file)]).ok();
    assert_eq!(id_of(&b, "two:2"), id_of(&a, "two:2"));
    assert_eq!(id_of(&b, "one:1"), id_of(&a, "one:latest"));
    run_echo(&b, "one:1", "first");
}

#[test]
fn untagged_images_by_id_and_tag_moves() {
    let a = Rdock::with_busybox();
    let id = id_of(&a, "busybox");
    let file = a.dir.path().join("byid.tar");
    a.run(&["save", "-o", p(&file), &hex_of(&id)[..12]]).ok();
    let m: serde_json::Value = serde_json::from_slice(&member(&file, "manifest.json")).unwrap();
    assert!(m[0]["RepoTags"].is_null(), "{m}");
    let b = Rdock::new();
    assert_eq!(
        b.run(&["load", "-i", p(&file)]).ok(),
        format!("Loaded image ID: {id}\n")
    );
    assert_eq!(
        b.run(&["images", "-q", "--no-trunc"]).ok().trim(),
        id.as_str()
    );

    // Loading a tag another image has moves it, with docker's notice.
    let other = docker_archive(&[(&["busybox:latest"], vec![hello_layer()], &["sh"])]);
    let out = a.run_stdin(&["load"], &tar_of(&other));
    assert_eq!(
        out.ok(),
        format!(
            "The image busybox:latest already exists, renaming the old one with ID {id} to empty string\nLoaded image: busybox:latest\n"
        )
    );
    assert_ne!(id_of(&a, "busybox"), id);
}

#[test]
fn compressed_archives_and_stdin() {
    let a = Rdock::with_busybox();
    let id = id_of(&a, "busybox");
    // To a pipe (stdout), then gzip, zstd and plain through stdin.
    let out = a.cmd(&["save", "busybox"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plain = out.stdout;
    assert_eq!(
        plain,
        std::fs::read({
            let f = a.dir.path().join("f.tar");
            a.run(&["save", "-o", p(&f), "busybox"]).ok();
            f
        })
        .unwrap(),
        "the same bytes to a pipe and to a file"
    );
    for (what, data) in [
        ("gzip", gzip(&plain)),
        ("zstd", zstd::encode_all(&plain[..], 3).unwrap()),
        ("plain", plain.clone()),
    ] {
        let b = Rdock::new();
        let out = b.run_stdin(&["load"], &data);
        assert_eq!(out.ok(), "Loaded image: busybox:latest\n", "{what}");
        assert_eq!(id_of(&b, "busybox"), id, "{what}");
        // And from a file.
        let c = Rdock::new();
        let f = c.dir.path().join("in");
        std::fs::write(&f, &data).unwrap();
        c.run(&["load", "-i", p(&f)]).ok();
        assert_eq!(id_of(&c, "busybox"), id, "{what}");
    }
    let b = Rdock::new();
    b.run_stdin(&["load"], &gzip(&plain)).ok();
    run_echo(&b, "busybox", "from-gzip");
}

#[test]
fn layers_inside_may_be_compressed_and_repeated() {
    // gzip and zstd layer files inside a docker-archive, and one layer
    // used twice in a stack (two chain IDs from one blob).
    let base = busybox_tar();
    let hello = hello_layer();
    let mut entries = docker_archive(&[(
        &["mixed:1"],
        vec![base.clone(), hello.clone(), base.clone()],
        &["sh"],
    )]);
    set_file(
        &mut entries,
        &format!("blobs/sha256/{}", hex_of(&sha(&base))),
        gzip(&base),
    );
    set_file(
        &mut entries,
        &format!("blobs/sha256/{}", hex_of(&sha(&hello))),
        zstd::encode_all(&hello[..], 3).unwrap(),
    );
    let data = tar_of(&entries);
    for stdin in [false, true] {
        let r = Rdock::new();
        let out = if stdin {
            r.run_stdin(&["load"], &data)
        } else {
            let f = r.dir.path().join("mixed.tar");
            std::fs::write(&f, &data).unwrap();
            r.run(&["load", "-i", p(&f)])
        };
        assert_eq!(out.ok(), "Loaded image: mixed:1\n", "stdin: {stdin}");
        assert_eq!(
            r.run(&[
                "run",
                "--rm",
                "--network",
                "none",
                "mixed:1",
                "cat",
                "/hello.txt"
            ])
            .ok(),
            "hello from the second layer\n"
        );
        // Saved again, layers come out uncompressed, named by diff ID.
        let f = r.dir.path().join("again.tar");
        r.run(&["save", "-o", p(&f), "mixed:1"]).ok();
        assert_eq!(
            member(&f, &format!("blobs/sha256/{}", hex_of(&sha(&hello)))),
            hello
        );
        assert_eq!(
            member(&f, &format!("blobs/sha256/{}", hex_of(&sha(&base)))),
            base
        );
        // To a pipe too (decompressed through a temp file).
        let out = r.cmd(&["save", "mixed:1"]).output().unwrap();
        assert!(out.status.success());
        let c = Rdock::new();
        c.run_stdin(&["load"], &out.stdout).ok();
        assert_eq!(id_of(&c, "mixed:1"), id_of(&r, "mixed:1"));
        assert!(
            std::fs::read_dir(r.root.join("tmp"))
                .unwrap()
                .next()
                .is_none(),
            "tmp/ left behind"
        );
    }
}

// ---- OCI archives ----

#[test]
fn oci_archives_multi_platform_and_names() {
    let dir = tempfile::tempdir().unwrap();
    let mut l = Layout::new(&dir.path().join("layout"));
    let amd = l.image("", "amd64", &[busybox_tar()], &["echo", "amd64"]);
    let arm = l.image(
        "",
        "arm64",
        &[busybox_tar(), hello_layer()],
        &["echo", "arm64"],
    );
    l.multi(
        "docker.io/library/multi:1",
        &[(&amd, "amd64"), (&arm, "arm64")],
    );
    // An OCI archive is the layout in a tar.
    let archive = dir.path().join("oci.tar");
    let st = Command::new("tar")
        .args(["-C", p(&dir.path().join("layout")), "-cf", p(&archive), "."])
        .status()
        .unwrap();
    assert!(st.success());
    let r = Rdock::new();
    assert_eq!(
        r.run(&["load", "-i", p(&archive)]).ok(),
        "Loaded image: multi:1\n"
    );
    assert_eq!(id_of(&r, "multi:1"), amd.config_digest);
    assert_eq!(
        r.run(&["run", "--rm", "--network", "none", "multi:1"]).ok(),
        "amd64\n"
    );
    let s = Rdock::new();
    s.run(&["load", "--platform", "linux/arm64", "-i", p(&archive)])
        .ok();
    assert_eq!(id_of(&s, "multi:1"), arm.config_digest);

    // rdock's own OCI archive: blobs as stored (gzip here), whole names.
    let f = r.dir.path().join("rd-oci.tar");
    r.run(&["save", "--format", "oci-archive", "-o", p(&f), "multi:1"])
        .ok();
    let names = listing(&f);
    assert!(!names.iter().any(|n| n == "manifest.json"), "{names:?}");
    assert!(names.contains(&format!("blobs/sha256/{}", hex_of(&amd.layer_digests[0]))));
    let index: serde_json::Value = serde_json::from_slice(&member(&f, "index.json")).unwrap();
    assert_eq!(
        index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"],
        "docker.io/library/multi:1"
    );
    assert_eq!(index["manifests"][0]["digest"], amd.manifest_digest);
    let t = Rdock::new();
    t.run(&["load", "-i", p(&f)]).ok();
    assert_eq!(id_of(&t, "multi:1"), amd.config_digest);
}

/// index.json and manifests as Go reads them: no schemaVersion, media
/// types or sizes in the index, nulls, unknown fields, annotated layer
/// descriptors. The archive's manifest is kept (its ID is the image's
/// digest in an OCI save) since its blobs are the store's.
#[test]
fn oci_archives_read_as_leniently_as_docker_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut l = Layout::new(&dir.path().join("layout"));
    l.compression = "none";
    let layer = busybox_tar();
    let layer_digest = l.blob(&layer);
    let config = config_json(std::slice::from_ref(&layer), &["echo", "lenient"], "amd64");
    let config_digest = l.blob(&config);
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": null,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": config_digest, "size": config.len(), "annotations": null},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": layer_digest, "size": layer.len(),
                    "annotations": {"org.example.note": "kept in the manifest, not the store"},
                    "urls": null}],
        "annotations": {"org.example.x": "y"},
        "future": {"field": [1, 2]}
    })
    .to_string();
    let manifest_digest = l.blob(manifest.as_bytes());
    let list = serde_json::json!({
        "manifests": [{"digest": manifest_digest,
                       "platform": {"os": "linux", "architecture": "amd64",
                                    "variant": null, "os.features": null}}]
    })
    .to_string();
    let list_digest = l.blob(list.as_bytes());
    let index = serde_json::json!({
        "manifests": [{"digest": list_digest, "annotations":
            {"org.opencontainers.image.ref.name": "docker.io/library/lenient:1"}}],
        "annotations": null
    });
    std::fs::write(l.dir.join("index.json"), index.to_string()).unwrap();
    let archive = dir.path().join("oci.tar");
    let st = Command::new("tar")
        .args(["-C", p(&l.dir), "-cf", p(&archive), "."])
        .status()
        .unwrap();
    assert!(st.success());
    let r = Rdock::new();
    assert_eq!(
        r.run(&["load", "-i", p(&archive)]).ok(),
        "Loaded image: lenient:1\n"
    );
    assert_eq!(id_of(&r, "lenient:1"), config_digest);
    let f = r.dir.path().join("saved.tar");
    r.run(&["save", "--format", "oci-archive", "-o", p(&f), "lenient:1"])
        .ok();
    let saved: serde_json::Value = serde_json::from_slice(&member(&f, "index.json")).unwrap();
    assert_eq!(saved["manifests"][0]["digest"], manifest_digest);
}

// ---- peers ----

fn skopeo(args: &[&str]) {
    let out = Command::new("skopeo")
        .args(["--insecure-policy"])
        .args(args)
        .output()
        .expect("skopeo (apt-get install skopeo)");
    assert!(
        out.status.success(),
        "skopeo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn skopeo_reads_and_writes_docker_archives() {
    let r = Rdock::with_busybox();
    let id = id_of(&r, "busybox");
    let work = tempfile::tempdir().unwrap();
    let ours = work.path().join("rdock.tar");
    r.run(&["save", "-o", p(&ours), "busybox"]).ok();
    // skopeo verifies every digest as it copies.
    let layout = work.path().join("layout");
    skopeo(&[
        "copy",
        &format!("docker-archive:{}", p(&ours)),
        &format!("oci:{}:bb", p(&layout)),
    ]);
    // Also read as an OCI archive: docker's format is an OCI layout too.
    let layout2 = work.path().join("layout2");
    skopeo(&[
        "copy",
        &format!("oci-archive:{}", p(&ours)),
        &format!("oci:{}:bb", p(&layout2)),
    ]);
    // And back: skopeo's docker-archive (<hex>.tar, <hex>.json).
    let theirs = work.path().join("skopeo.tar");
    skopeo(&[
        "copy",
        &format!("oci:{}:bb", p(&layout)),
        &format!("docker-archive:{}:localhost/from-skopeo:1", p(&theirs)),
    ]);
    let s = Rdock::new();
    assert_eq!(
        s.run(&["load", "-i", p(&theirs)]).ok(),
        "Loaded image: localhost/from-skopeo:1\n"
    );
    assert_eq!(id_of(&s, "localhost/from-skopeo:1"), id);
    run_echo(&s, "localhost/from-skopeo:1", "via-skopeo");
}

#[test]
fn skopeo_reads_and_writes_oci_archives() {
    let r = Rdock::with_busybox();
    let id = id_of(&r, "busybox");
    let work = tempfile::tempdir().unwrap();
    let ours = work.path().join("rdock-oci.tar");
    r.run(&["save", "--format", "oci-archive", "-o", p(&ours), "busybox"])
        .ok();
    let layout = work.path().join("layout");
    skopeo(&[
        "copy",
        &format!("oci-archive:{}:docker.io/library/busybox:latest", p(&ours)),
        &format!("oci:{}:bb", p(&layout)),
    ]);
    // skopeo's OCI archive, layers gzip-compressed on the way.
    let theirs = work.path().join("skopeo-oci.tar");
    skopeo(&[
        "copy",
        "--dest-compress",
        &format!("oci:{}:bb", p(&layout)),
        &format!("oci-archive:{}:localhost/oci-skopeo:2", p(&theirs)),
    ]);
    let s = Rdock::new();
    assert_eq!(
        s.run(&["load", "-i", p(&theirs)]).ok(),
        "Loaded image: localhost/oci-skopeo:2\n"
    );
    assert_eq!(id_of(&s, "localhost/oci-skopeo:2"), id);
    run_echo(&s, "localhost/oci-skopeo:2", "oci-via-skopeo");
    // A bare tag as ref.name (skopeo's usual) names no repository.
    let bare = work.path().join("bare.tar");
    skopeo(&[
        "copy",
        &format!("oci:{}:bb", p(&layout)),
        &format!("oci-archive:{}:latest", p(&bare)),
    ]);
    let t = Rdock::new();
    assert_eq!(
        t.run(&["load", "-i", p(&bare)]).ok(),
        format!("Loaded image ID: {id}\n")
    );
}

#[test]
fn podman_exchanges_archives_both_ways() {
    let Some(pm) = Podman::new() else { return };
    let r = Rdock::with_busybox();
    let id = id_of(&r, "busybox");
    let ours = r.dir.path().join("to-podman.tar");
    r.run(&["save", "-o", p(&ours), "busybox"]).ok();
    assert!(pm
        .ok(&["load", "-i", p(&ours)])
        .contains("Loaded image: docker.io/library/busybox:latest"));
    let out = pm.ok(&[
        "run",
        "--rm",
        "--runtime",
        "runc",
        "--network",
        "none",
        "--ulimit",
        "nofile=1024:1024",
        "--ulimit",
        "nproc=4096:4096",
        "docker.io/library/busybox:latest",
        "echo",
        "rdock-saved",
    ]);
    assert_eq!(out.trim(), "rdock-saved");
    assert_eq!(
        pm.ok(&["image", "inspect", "-f", "{{.Id}}", "busybox"])
            .trim(),
        hex_of(&id)
    );

    // podman's docker-archive (legacy <id>/layer.tar symlinks) and its
    // OCI archive (gzip layers).
    let tar = pm.dir.path().join("bb.tar");
    std::fs::write(&tar, busybox_tar()).unwrap();
    pm.ok(&[
        "import",
        "--change",
        "CMD [\"sh\"]",
        p(&tar),
        "localhost/from-podman:1",
    ]);
    let theirs = pm.dir.path().join("podman.tar");
    pm.ok(&["save", "-o", p(&theirs), "localhost/from-podman:1"]);
    let theirs_oci = pm.dir.path().join("podman-oci.tar");
    pm.ok(&[
        "save",
        "--format",
        "oci-archive",
        "-o",
        p(&theirs_oci),
        "localhost/from-podman:1",
    ]);
    let pid = pm.ok(&[
        "image",
        "inspect",
        "-f",
        "{{.Id}}",
        "localhost/from-podman:1",
    ]);
    for f in [&theirs, &theirs_oci] {
        let s = Rdock::new();
        assert_eq!(
            s.run(&["load", "-i", p(f)]).ok(),
            "Loaded image: localhost/from-podman:1\n"
        );
        assert_eq!(hex_of(&id_of(&s, "localhost/from-podman:1")), pid.trim());
        run_echo(&s, "localhost/from-podman:1", "podman-saved");
    }
}

// ---- docker's errors ----

#[test]
fn docker_errors_for_bad_flags_and_outputs() {
    let r = Rdock::with_busybox();
    let e = r.run(&["save", "-o", "/nonexistent-dir/x.tar", "busybox"]);
    assert_eq!(
        e.fails_1(),
        "failed to save image: invalid output path: stat /nonexistent-dir: no such file or directory\n"
    );
    let e = r.run(&["save", "-o", p(r.dir.path()), "busybox"]);
    assert_eq!(
        e.fails_1(),
        "failed to save image: cannot write to a directory\n"
    );
    let e = r.run(&["save", "--platform", "bad", "busybox"]);
    assert!(
        e.fails_1().contains("invalid platform: \"bad\""),
        "{}",
        e.stderr
    );
    let e = r.run(&[
        "save",
        "--platform",
        "linux/s390x",
        "-o",
        p(&r.dir.path().join("p.tar")),
        "busybox",
    ]);
    assert!(
        e.fails_1().contains("image with reference busybox was found but does not match the specified platform: wanted linux/s390x"),
        "{}",
        e.stderr
    );
    // A missing image: error, and no output file, not even a temp one.
    let out = r.dir.path().join("missing.tar");
    let e = r.run(&["save", "-o", p(&out), "busybox", "nothere:1"]);
    assert_eq!(e.fails_1(), "No such image: nothere:1\n");
    assert!(!out.exists());
    assert!(
        !std::fs::read_dir(r.dir.path())
            .unwrap()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with(".tmp-")),
        "temp file left"
    );
    let e = r.run(&["save", "--format", "tarball", "busybox"]);
    assert!(e.fails_1().contains("unsupported format"), "{}", e.stderr);
    let e = r.run(&["load", "--platform", "bad"]);
    assert!(e.fails_1().contains("invalid platform"), "{}", e.stderr);
    let e = r.run(&["load", "-i", "/nonexistent.tar"]);
    assert!(
        e.fails_1().starts_with("open /nonexistent.tar: "),
        "{}",
        e.stderr
    );
    // --platform that matches nothing in a docker-archive: nothing loaded.
    let f = r.dir.path().join("ok.tar");
    r.run(&["save", "-o", p(&f), "busybox"]).ok();
    let s = Rdock::new();
    assert_eq!(
        s.run(&["load", "--platform", "linux/s390x", "-i", p(&f)])
            .ok(),
        ""
    );
    assert_eq!(s.run(&["images", "-q"]).ok(), "");
}

/// Run `rdock ARGS` on a pseudo-terminal (script(1)); its output.
fn on_tty(r: &Rdock, args: &str) -> String {
    let cmdline = format!(
        "{} --root {} --runroot {} {args}",
        bin(),
        p(&r.root),
        p(&r.runroot)
    );
    let out = Command::new("script")
        .args(["-qec", &cmdline, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .expect("script (bsdutils)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn terminals_refused_or_shown_progress() {
    let r = Rdock::with_busybox();
    let out = on_tty(&r, "save busybox");
    assert!(
        out.contains("cowardly refusing to save to a terminal. Use the -o flag or redirect"),
        "{out:?}"
    );
    let out = on_tty(&r, "load");
    assert!(
        out.contains("requested load from stdin, but stdin is empty"),
        "{out:?}"
    );
    // On a terminal, load draws docker's bars, unless -q.
    let f = r.dir.path().join("bb.tar");
    r.run(&["save", "-o", p(&f), "busybox"]).ok();
    let diff = r
        .run(&["inspect", "-f", "{{index .RootFS.Layers 0}}", "busybox"])
        .ok()
        .trim()
        .to_string();
    let s = Rdock::new();
    let out = on_tty(&s, &format!("load -i {}", p(&f)));
    let short = &hex_of(&diff)[..12];
    assert!(
        out.contains(&format!("{short}: Loading layer [{}>]", "=".repeat(50))),
        "{out:?}"
    );
    assert!(out.contains("Loaded image: busybox:latest"), "{out:?}");
    let t = Rdock::new();
    let out = on_tty(&t, &format!("load -q -i {}", p(&f)));
    assert!(!out.contains("Loading layer"), "{out:?}");
    assert!(out.contains("Loaded image: busybox:latest"), "{out:?}");
}

// ---- hostile archives ----

/// Load `data` from a file and from stdin: both must fail with one line
/// containing `want`, exit 125, and leave the store as it was.
#[track_caller]
fn refused(data: &[u8], want: &str) {
    let r = Rdock::with_busybox();
    let before = r.snapshot();
    let f = r.dir.path().join("hostile.tar");
    std::fs::write(&f, data).unwrap();
    for out in [r.run(&["load", "-i", p(&f)]), r.run_stdin(&["load"], data)] {
        let line = out.fails_1();
        assert!(line.contains(want), "want {want:?}, got {line:?}");
        assert_eq!(out.stdout, "");
        assert_eq!(r.snapshot(), before, "the store changed");
    }
    assert!(!Path::new("/tmp/rdock-pwned").exists());
}

fn good() -> Vec<(String, E)> {
    docker_archive(&[(&["victim:1"], vec![busybox_tar(), hello_layer()], &["sh"])])
}

fn config_name(entries: &[(String, E)]) -> String {
    manifest_of(entries)[0]["Config"]
        .as_str()
        .unwrap()
        .to_string()
}

fn with_manifest(entries: &mut [(String, E)], f: impl FnOnce(&mut serde_json::Value)) {
    let mut m = manifest_of(entries);
    f(&mut m);
    set_file(entries, "manifest.json", serde_json::to_vec(&m).unwrap());
}

#[test]
fn hostile_entry_names() {
    let mut e = good();
    e.insert(0, ("../rdock-pwned".into(), E::File(b"x".to_vec())));
    refused(&tar_of(&e), "\"..\" component");
    let mut e = good();
    e.insert(0, ("/tmp/rdock-pwned".into(), E::File(b"x".to_vec())));
    refused(&tar_of(&e), "absolute path");
    // A symlink out of the archive, whether or not anything uses it.
    let mut e = good();
    e.insert(0, ("escape".into(), E::Symlink("/tmp".into())));
    refused(&tar_of(&e), "points outside the archive");
    let mut e = good();
    e.insert(0, ("up".into(), E::Symlink("../..".into())));
    refused(&tar_of(&e), "points outside the archive");
    // Symlink, then a file written "through" it.
    let mut e = good();
    e.insert(0, ("sub".into(), E::Symlink("blobs".into())));
    e.insert(1, ("sub/rdock-pwned".into(), E::File(b"x".to_vec())));
    refused(&tar_of(&e), "is below the symlink");
}

#[test]
fn hostile_manifests() {
    let mut e = good();
    with_manifest(&mut e, |m| m[0]["Config"] = "../../etc/passwd".into());
    refused(
        &tar_of(&e),
        "manifest.json names a file outside the archive",
    );
    let mut e = good();
    with_manifest(&mut e, |m| m[0]["Layers"][1] = "/etc/passwd".into());
    refused(
        &tar_of(&e),
        "manifest.json names a file outside the archive",
    );
    let mut e = good();
    with_manifest(&mut e, |m| m[0]["Layers"][0] = "blobs/sha256/0000".into());
    refused(
        &tar_of(&e),
        "manifest.json names a file missing from the archive",
    );
    // An in-archive symlink to a missing file, and a link loop.
    let mut e = good();
    e.push(("link".into(), E::Symlink("nowhere".into())));
    with_manifest(&mut e, |m| m[0]["Layers"][0] = "link".into());
    refused(&tar_of(&e), "missing from the archive");
    let mut e = good();
    e.push(("a".into(), E::Symlink("b".into())));
    e.push(("b".into(), E::Symlink("a".into())));
    with_manifest(&mut e, |m| m[0]["Config"] = "a".into());
    refused(&tar_of(&e), "too many links");
    let mut e = good();
    with_manifest(&mut e, |m| {
        m[0]["Layers"]
            .as_array_mut()
            .unwrap()
            .pop()
            .map(|_| ())
            .unwrap()
    });
    refused(
        &tar_of(&e),
        "invalid manifest, layers length mismatch: expected 1, got 2",
    );
    let mut e = good();
    set_file(&mut e, "manifest.json", b"null".to_vec());
    refused(&tar_of(&e), "manifest cannot be null");
    let mut e = good();
    set_file(&mut e, "manifest.json", b"[{".to_vec());
    refused(&tar_of(&e), "manifest.json");
    // docker's words (Go's archive/tar) for a stream that is not a tar.
    refused(
        b"this is not an archive at all, just some bytes",
        "unexpected EOF",
    );
    refused(
        &tar_of(&[("hello.txt".into(), E::File(b"hi".to_vec()))]),
        "neither manifest.json",
    );
}

#[test]
fn hostile_digests_and_layers() {
    // A layer that is not the one the config names.
    let mut e = good();
    let hello = hello_layer();
    set_file(
        &mut e,
        &format!("blobs/sha256/{}", hex_of(&sha(&hello))),
        files_tar(&[("hello.txt", "something else entirely\n")]),
    );
    refused(&tar_of(&e), "(uncompressed) has digest sha256:");
    // A config whose name is not its digest.
    let mut e = good();
    let c = config_name(&e);
    let mut cfg: serde_json::Value =
        serde_json::from_slice(match &e.iter().find(|(n, _)| *n == c).unwrap().1 {
            E::File(d) => d,
            _ => unreachable!(),
        })
        .unwrap();
    cfg["config"]["Cmd"] = serde_json::json!(["evil"]);
    set_file(&mut e, &c, serde_json::to_vec(&cfg).unwrap());
    refused(&tar_of(&e), &format!("config {c} has digest"));
    // A layer that escapes with "..".
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.as_old_mut().name[..17].copy_from_slice(b"../../rdock-pwned");
    h.set_size(1);
    h.set_mode(0o644);
    h.set_cksum();
    b.append(&h, &b"x"[..]).unwrap();
    let evil = b.into_inner().unwrap();
    let e = docker_archive(&[(&["evil:1"], vec![evil], &["sh"])]);
    refused(&tar_of(&e), "escapes the layer");
    // A layer with a symlink, then a file through it.
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_size(0);
    b.append_link(&mut h, "tmpdir", "/tmp").unwrap();
    let mut h = tar::Header::new_gnu();
    h.set_size(1);
    h.set_mode(0o644);
    b.append_data(&mut h, "tmpdir/rdock-pwned", &b"x"[..])
        .unwrap();
    let evil = b.into_inner().unwrap();
    let e = docker_archive(&[(&["evil:2"], vec![evil], &["sh"])]);
    refused(&tar_of(&e), "symlink");
    // OCI: a blob whose bytes are not its name.
    let dir = tempfile::tempdir().unwrap();
    let mut l = Layout::new(&dir.path().join("l"));
    l.compression = "none";
    // (A layer the store lacks: one it has is not read from the archive.)
    let img = l.image("localhost/oci:1", "amd64", &[hello_layer()], &["sh"]);
    std::fs::write(
        dir.path()
            .join("l/blobs/sha256")
            .join(hex_of(&img.layer_digests[0])),
        files_tar(&[("x", "y")]),
    )
    .unwrap();
    let out = Command::new("tar")
        .args(["-C", p(&dir.path().join("l")), "-cf", "-", "."])
        .output()
        .unwrap();
    refused(&out.stdout, "has digest sha256:");
}

#[test]
fn truncated_archives() {
    let data = tar_of(&good());
    // Cut inside the second layer's data, and inside manifest.json's.
    refused(&data[..data.len() / 2], "");
    let gz = gzip(&data);
    refused(&gz[..gz.len() - 100], "");
    refused(&gz[..gz.len() / 2], "");
    let zs = zstd::encode_all(&data[..], 3).unwrap();
    refused(&zs[..zs.len() - 50], "");
}

#[test]
fn nothing_left_in_tmp_after_failures() {
    let r = Rdock::with_busybox();
    let mut e = good();
    with_manifest(&mut e, |m| m[0]["Layers"][0] = "blobs/sha256/0000".into());
    r.run_stdin(&["load"], &tar_of(&e)).fails_1();
    let left: Vec<PathBuf> = std::fs::read_dir(r.root.join("tmp"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
