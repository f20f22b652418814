//! `manifest` against a real registry on loopback: what rdock prints is
//! compared with the registry's own bytes (skopeo) and, byte for byte,
//! with what the docker 28 client prints for the same registry (the
//! client alone: `docker manifest` needs no engine). Local lists live in a
//! per-test DOCKER_CONFIG, so docker's files and rdock's can be compared.

mod common;
use common::registry::*;
use common::*;
use std::process::Command;

struct Env {
    r: Rdock,
    reg: Registry,
    /// DOCKER_CONFIG for rdock, and another for docker.
    cfg: tempfile::TempDir,
    docker_cfg: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        Env {
            r: Rdock::with_busybox(),
            reg: Registry::start(),
            cfg: tempfile::tempdir().unwrap(),
            docker_cfg: tempfile::tempdir().unwrap(),
        }
    }

    fn rdock(&self, args: &[&str]) -> Run {
        let mut c = self.r.cmd(args);
        c.env("DOCKER_CONFIG", self.cfg.path());
        Run::from(c.output().unwrap())
    }

    /// The docker client; `--insecure` after the subcommand where it
    /// talks to the registry (docker refuses plain HTTP without it, even
    /// on loopback).
    fn docker(&self, args: &[&str]) -> Run {
        let mut a: Vec<&str> = args.to_vec();
        if matches!(a.get(1), Some(&"inspect") | Some(&"create") | Some(&"push")) {
            a.insert(2, "--insecure");
        }
        Run::from(
            Command::new("docker")
                .env("DOCKER_CONFIG", self.docker_cfg.path())
                .args(&a)
                .output()
                .expect("the docker client (docker 28) is part of the test machine"),
        )
    }

    fn name(&self, repo: &str) -> String {
        format!("{}/{repo}", self.reg.host())
    }

    /// busybox pushed by rdock as HOST/busybox:latest.
    fn push_busybox(&self) -> String {
        let name = self.name("busybox:latest");
        self.r.run(&["tag", "busybox", &name]).ok();
        self.r.run(&["push", &name]).ok();
        name
    }

    /// The bytes the registry serves for `name`.
    fn raw(&self, name: &str) -> Vec<u8> {
        let out = Command::new("skopeo")
            .args(["inspect", "--raw", "--tls-verify=false"])
            .arg(format!("docker://{name}"))
            .output()
            .expect("skopeo");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// Two images (amd64, arm64) and their OCI index, pushed by skopeo
    /// as HOST/multi:1.
    fn push_index(&self) -> (String, BuiltImage, BuiltImage) {
        let lay = tempfile::tempdir().unwrap();
        let mut layout = Layout::new(lay.path());
        let amd = layout.image("", "amd64", &[files_tar(&[("a", "amd64\n")])], &["sh"]);
        let arm = layout.image("", "arm64", &[files_tar(&[("a", "arm64\n")])], &["sh"]);
        let list = layout.multi("multi", &[(&amd, "amd64"), (&arm, "arm64")]);
        self.reg
            .skopeo_push(lay.path(), "multi", "multi:1", &["--all"]);
        (list, amd, arm)
    }

    fn files(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
        let mut out = vec![];
        for list in std::fs::read_dir(dir.join("manifests"))
            .into_iter()
            .flatten()
        {
            let list = list.unwrap().path();
            for f in std::fs::read_dir(&list).unwrap() {
                let f = f.unwrap().path();
                let rel = f.strip_prefix(dir).unwrap().display().to_string();
                out.push((rel, std::fs::read(&f).unwrap()));
            }
        }
        out.sort();
        out
    }
}

fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("{e}: {s}"))
}

#[test]
fn inspect_prints_the_registrys_manifest_as_docker_does() {
    let e = Env::new();
    let name = e.push_busybox();
    let out = e.rdock(&["manifest", "inspect", &name]);
    let text = out.ok();
    // The registry's manifest, re-indented with tabs.
    let raw = e.raw(&name);
    assert_eq!(
        json(text),
        serde_json::from_slice::<serde_json::Value>(&raw).unwrap()
    );
    assert!(text.starts_with("{\n\t\"schemaVersion\": 2,\n"), "{text}");
    assert!(text.ends_with("\n}\n"), "{text:?}");
    // Exactly what docker prints.
    assert_eq!(text, e.docker(&["manifest", "inspect", &name]).ok());
    // Without a tag: the default one.
    let short = e.name("busybox");
    assert_eq!(e.rdock(&["manifest", "inspect", &short]).ok(), text);
}

#[test]
fn verbose_shows_dockers_record_with_the_configs_platform() {
    let e = Env::new();
    let name = e.push_busybox();
    let raw = e.raw(&name);
    let out = e.rdock(&["manifest", "inspect", "-v", &name]);
    let text = out.ok().to_string();
    assert_eq!(text, e.docker(&["manifest", "inspect", "-v", &name]).ok());
    let v = json(&text);
    assert_eq!(v["Ref"], name.as_str());
    let digest = format!("sha256:{}", hex_sha(&raw));
    assert_eq!(v["Descriptor"]["digest"], digest.as_str());
    assert_eq!(v["Descriptor"]["size"], raw.len());
    assert_eq!(v["Descriptor"]["platform"]["os"], "linux");
    // rdock's busybox is an image of this host's architecture.
    let arch = json(
        e.r.run(&[
            "image",
            "inspect",
            "-f",
            "{{json .Architecture}}",
            "busybox",
        ])
        .ok(),
    );
    assert_eq!(v["Descriptor"]["platform"]["architecture"], arch);
    use base64::Engine;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(v["Raw"].as_str().unwrap())
        .unwrap();
    assert_eq!(decoded, raw);
    // rdock pushes OCI manifests.
    assert_eq!(
        v["OCIManifest"],
        serde_json::from_slice::<serde_json::Value>(&raw).unwrap()
    );
    // --verbose is the long form.
    assert_eq!(
        e.rdock(&["manifest", "inspect", "--verbose", "--insecure", &name])
            .ok(),
        text
    );
}

fn hex_sha(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(data))
}

#[test]
fn missing_manifests_fail_in_dockers_words() {
    let e = Env::new();
    e.push_busybox();
    let missing_tag = e.name("busybox:nope");
    let err = e.rdock(&["manifest", "inspect", &missing_tag]);
    assert_eq!(err.fails_1(), format!("no such manifest: {missing_tag}\n"));
    assert!(err.stdout.is_empty());
    // docker's text and status are the same.
    let d = e.docker(&["manifest", "inspect", &missing_tag]);
    assert_eq!(d.code, 1);
    assert_eq!(d.stderr, err.stderr);
    // A repository the registry never had; the default tag is named.
    let missing_repo = e.name("nothing");
    assert_eq!(
        e.rdock(&["manifest", "inspect", &missing_repo]).fails_1(),
        format!("no such manifest: {missing_repo}:latest\n")
    );
    // A digest that is not there.
    let by_digest = format!("{}@sha256:{}", e.name("busybox"), "0".repeat(64));
    assert_eq!(
        e.rdock(&["manifest", "inspect", &by_digest]).fails_1(),
        format!("no such manifest: {by_digest}\n")
    );
    // A bad reference, and a registry nobody listens on.
    assert!(e
        .rdock(&["manifest", "inspect", "Bad:Name"])
        .fails_1()
        .starts_with("invalid reference format"));
    let port = free_port();
    let err = e.rdock(&["manifest", "inspect", &format!("127.0.0.1:{port}/x")]);
    assert!(
        err.fails_1().contains(&format!("127.0.0.1:{port}")),
        "{}",
        err.stderr
    );
}

#[test]
fn an_index_is_rebuilt_from_its_entries_as_docker_does() {
    let e = Env::new();
    let (list, amd, arm) = e.push_index();
    let name = e.name("multi:1");
    let text = e.rdock(&["manifest", "inspect", &name]).ok().to_string();
    assert_eq!(text, e.docker(&["manifest", "inspect", &name]).ok());
    // Three-space indentation: docker marshals a list of its own.
    assert!(text.starts_with("{\n   \"schemaVersion\": 2,\n"), "{text}");
    let v = json(&text);
    assert_eq!(v["mediaType"], "application/vnd.oci.image.index.v1+json");
    let entries = v["manifests"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["digest"], amd.manifest_digest.as_str());
    assert_eq!(entries[0]["platform"]["architecture"], "amd64");
    assert_eq!(entries[1]["digest"], arm.manifest_digest.as_str());
    assert_eq!(entries[1]["platform"]["architecture"], "arm64");
    // By the index's digest: the same.
    let by_digest = format!("{}@{list}", e.name("multi"));
    assert_eq!(e.rdock(&["manifest", "inspect", &by_digest]).ok(), text);

    // -v: one record per entry, named by tag and digest.
    let verbose = e
        .rdock(&["manifest", "inspect", "-v", &name])
        .ok()
        .to_string();
    assert_eq!(
        verbose,
        e.docker(&["manifest", "inspect", "-v", &name]).ok()
    );
    let v = json(&verbose);
    let recs = v.as_array().unwrap();
    assert_eq!(recs.len(), 2);
    assert_eq!(
        recs[1]["Ref"],
        format!("{name}@{}", arm.manifest_digest).as_str()
    );
    assert_eq!(recs[1]["Descriptor"]["platform"]["architecture"], "arm64");
    assert_eq!(
        recs[1]["OCIManifest"]["config"]["digest"],
        arm.config_digest.as_str()
    );
    // An entry by its own digest is a plain manifest.
    let entry = format!("{}@{}", e.name("multi"), amd.manifest_digest);
    assert_eq!(
        json(e.rdock(&["manifest", "inspect", &entry]).ok()),
        serde_json::from_slice::<serde_json::Value>(&e.raw(&entry)).unwrap()
    );
}

#[test]
fn create_annotate_push_rm_as_docker_and_in_its_files() {
    let e = Env::new();
    let bb = e.push_busybox();
    let (_, _, arm) = e.push_index();
    let arm_ref = format!("{}@{}", e.name("multi"), arm.manifest_digest);
    let list = e.name("combined:v1");
    // The same steps with rdock and with docker.
    for tool in ["rdock", "docker"] {
        let run = |args: &[&str]| {
            if tool == "rdock" {
                e.rdock(args)
            } else {
                e.docker(args)
            }
        };
        let out = run(&["manifest", "create", &list, &bb, &arm_ref]);
        assert_eq!(out.ok(), format!("Created manifest list {list}\n"));
        // Once made, a list changes only with --amend.
        let again = run(&["manifest", "create", &list, &bb]);
        assert!(
            again
                .stderr
                .contains("refusing to amend an existing manifest list with no --amend flag"),
            "{tool}: {}",
            again.stderr
        );
        // A list cannot be an entry of a list.
        let nested = run(&["manifest", "create", "--amend", &list, &e.name("multi:1")]);
        assert!(
            nested
                .stderr
                .contains(&format!("{} is a manifest list", e.name("multi:1"))),
            "{tool}: {}",
            nested.stderr
        );
        run(&[
            "manifest",
            "annotate",
            "--os-features",
            "f1,f2",
            "--variant",
            "v8",
            &list,
            &arm_ref,
        ])
        .ok();
        let bad = run(&["manifest", "annotate", "--arch", "pdp11", &list, &bb]);
        assert!(
            bad.stderr
                .contains("manifest entry for image has unsupported os/arch combination: /pdp11"),
            "{tool}: {}",
            bad.stderr
        );
        let absent = run(&["manifest", "annotate", "--os", "linux", &list, "busybox"]);
        assert!(
            absent.stderr.contains(&format!(
                "manifest for image busybox does not exist in {list}"
            )),
            "{tool}: {}",
            absent.stderr
        );
    }
    // Files as docker writes them, so each reads the other's.
    let ours = Env::files(e.cfg.path());
    assert_eq!(ours.len(), 2, "{ours:?}");
    assert_eq!(ours, Env::files(e.docker_cfg.path()));

    // inspect of the local list, and of one of its images.
    for args in [
        vec!["manifest", "inspect", list.as_str()],
        vec!["manifest", "inspect", "-v", list.as_str()],
        vec!["manifest", "inspect", list.as_str(), arm_ref.as_str()],
    ] {
        let mine = e.rdock(&args).ok().to_string();
        assert_eq!(mine, e.docker(&args).ok(), "{args:?}");
    }
    let local = json(e.rdock(&["manifest", "inspect", &list]).ok());
    assert_eq!(local["manifests"][1]["platform"]["variant"], "v8");
    assert_eq!(
        local["manifests"][1]["platform"]["os.features"],
        serde_json::json!(["f1", "f2"])
    );
    let missing = e.rdock(&["manifest", "inspect", &list, &bb.replace("latest", "nope")]);
    assert_eq!(
        missing.fails_1(),
        format!("No such manifest: {}\n", bb.replace("latest", "nope"))
    );

    // push: each image into the list's repository, then the list.
    let out = e.rdock(&["manifest", "push", "--purge", &list]);
    let text = out.ok().to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    let bb_digest = format!("sha256:{}", hex_sha(&e.raw(&bb)));
    let target = e.name("combined");
    assert_eq!(
        lines[0],
        format!("Pushed ref {target}@{bb_digest} with digest: {bb_digest}")
    );
    assert_eq!(
        lines[1],
        format!(
            "Pushed ref {target}@{0} with digest: {0}",
            arm.manifest_digest
        )
    );
    // The list the registry now has, digest and all.
    let served = e.raw(&list);
    assert_eq!(lines[2], format!("sha256:{}", hex_sha(&served)));
    let v: serde_json::Value = serde_json::from_slice(&served).unwrap();
    assert_eq!(v["manifests"][0]["digest"], bb_digest.as_str());
    assert_eq!(v["manifests"][1]["digest"], arm.manifest_digest.as_str());
    assert_eq!(v["manifests"][1]["platform"]["variant"], "v8");
    // docker pushes the same bytes.
    let d = e.docker(&["manifest", "push", &list]);
    assert_eq!(d.ok().lines().last(), Some(lines[2]));
    // --purge removed rdock's local list; inspect now asks the registry.
    assert!(Env::files(e.cfg.path()).is_empty());
    let remote = e.rdock(&["manifest", "inspect", &list]).ok().to_string();
    assert_eq!(remote, e.docker(&["manifest", "inspect", &list]).ok());
    // The entry pushed by digest is there too.
    let moved = format!("{target}@{}", arm.manifest_digest);
    assert_eq!(e.raw(&moved), e.raw(&arm_ref));

    // rm: docker's list (made by docker) goes with rdock's rm; a missing
    // list fails, the others are still removed.
    let shared = Command::new(bin())
        .env("DOCKER_CONFIG", e.docker_cfg.path())
        .args(["manifest", "rm", &list, "nosuch:1"])
        .output()
        .unwrap();
    let shared = Run::from(shared);
    assert_eq!(shared.code, 1);
    assert_eq!(
        shared.stderr,
        "No such manifest: docker.io/library/nosuch:1\n"
    );
    assert!(Env::files(e.docker_cfg.path()).is_empty());
    assert_eq!(
        e.rdock(&["manifest", "push", &list]).fails_1(),
        format!("No such manifest: {list}\n")
    );
}

/// A registry serving HTTPS with a self-signed certificate on an address
/// that is not loopback (loopback registries are insecure anyway).
struct TlsRegistry {
    child: std::process::Child,
    _dir: tempfile::TempDir,
    host: String,
}

impl TlsRegistry {
    /// None when this host has no global IPv4 address to listen on.
    fn start() -> Option<TlsRegistry> {
        let out = Command::new("ip")
            .args(["-4", "-o", "addr", "show", "scope", "global"])
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let ip = text
            .split_whitespace()
            .skip_while(|w| *w != "inet")
            .nth(1)?
            .split('/')
            .next()?
            .to_string();
        let dir = tempfile::tempdir().unwrap();
        let (key, cert) = (dir.path().join("key.pem"), dir.path().join("cert.pem"));
        let ok = Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            ])
            .args(["-subj", "/CN=rdock-test-elsewhere"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .output()
            .unwrap()
            .status
            .success();
        assert!(ok, "openssl");
        let port = free_port();
        let cfg = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {ip}:{port}\n  tls:\n    certificate: {}\n    key: {}\n",
            dir.path().join("data").display(),
            cert.display(),
            key.display()
        );
        std::fs::write(dir.path().join("config.yml"), cfg).unwrap();
        let child = Command::new(REGISTRY_BIN)
            .arg("serve")
            .arg(dir.path().join("config.yml"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let reg = TlsRegistry {
            child,
            _dir: dir,
            host: format!("{ip}:{port}"),
        };
        for _ in 0..200 {
            if std::net::TcpStream::connect(&reg.host).is_ok() {
                return Some(reg);
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        panic!("registry did not start on {}", reg.host);
    }
}

impl Drop for TlsRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn insecure_allows_a_registry_whose_certificate_does_not_verify() {
    let Some(reg) = TlsRegistry::start() else {
        eprintln!("skipped: this host has no global IPv4 address for a non-loopback registry");
        return;
    };
    let lay = tempfile::tempdir().unwrap();
    let mut layout = Layout::new(lay.path());
    let img = layout.image("v1", "amd64", &[files_tar(&[("a", "a\n")])], &["sh"]);
    let name = format!("{}/app:v1", reg.host);
    let out = Command::new("skopeo")
        .args(["copy", "--dest-tls-verify=false"])
        .arg(format!("oci:{}:v1", lay.path().display()))
        .arg(format!("docker://{name}"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let e = Env {
        r: Rdock::new(),
        reg: Registry::start(),
        cfg: tempfile::tempdir().unwrap(),
        docker_cfg: tempfile::tempdir().unwrap(),
    };
    // Verified by default: the self-signed certificate is refused.
    let err = e.rdock(&["manifest", "inspect", &name]);
    assert!(
        err.fails_1()
            .starts_with(&format!("Get \"https://{}/v2/\": ", reg.host)),
        "{}",
        err.stderr
    );
    let v = json(e.rdock(&["manifest", "inspect", "--insecure", &name]).ok());
    assert_eq!(v["config"]["digest"], img.config_digest.as_str());
}
