//! Pull (and run) against a real registry on loopback, populated by a peer
//! tool (skopeo) from OCI layouts this test writes itself.

mod common;
use common::registry::*;
use common::*;

/// busybox + /etc/motd, then a layer adding /hello.txt and whiting out motd.
fn two_layer_image(layout: &mut Layout, tag: &str) -> BuiltImage {
    let mut base = busybox_tar();
    // Append motd to the busybox layer: rebuild as a tar with it.
    let mut b = tar::Builder::new(Vec::new());
    let mut a = tar::Archive::new(&base[..]);
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        let h = e.header().clone();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut data).unwrap();
        b.append(&h, &data[..]).unwrap();
    }
    let mut h = tar::Header::new_gnu();
    h.set_mode(0o644);
    h.set_size(5);
    b.append_data(&mut h, "etc/motd", &b"motd\n"[..]).unwrap();
    base = b.into_inner().unwrap();
    let top = files_tar(&[
        ("hello.txt", "hello from the registry\n"),
        ("etc/.wh.motd", ""),
    ]);
    layout.image(tag, "amd64", &[base, top], &["sh"])
}

#[test]
fn pull_run_and_repull_from_a_real_registry() {
    let reg = Registry::start();
    let lay = tempfile::tempdir().unwrap();
    let mut layout = Layout::new(lay.path());
    let img = two_layer_image(&mut layout, "v1");
    reg.skopeo_push(lay.path(), "v1", "team/app:v1", &[]);

    let r = Rdock::new();
    let name = format!("{}/team/app:v1", reg.host());
    let out = r.run(&["pull", &name]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "v1: Pulling from team/app", "{}", out.stdout);
    for d in &img.layer_digests {
        let short = &d[7..19];
        assert!(
            out.stdout.contains(&format!("{short}: Pull complete")),
            "{}",
            out.stdout
        );
    }
    assert!(
        out.stdout
            .contains(&format!("Digest: {}", img.manifest_digest)),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains(&format!("Status: Downloaded newer image for {name}")),
        "{}",
        out.stdout
    );
    assert_eq!(lines.last().unwrap(), &name);
    // The image ID is the config digest, as docker shows it.
    let id = r
        .run(&["images", "-q", "--no-trunc", &name])
        .ok()
        .trim()
        .to_string();
    assert_eq!(id, img.config_digest);
    let digests = r
        .run(&["image", "inspect", "-f", "{{json .RepoDigests}}", &name])
        .ok()
        .to_string();
    assert!(
        digests.contains(&format!("{}/team/app@{}", reg.host(), img.manifest_digest)),
        "{digests}"
    );
    // Layers stacked with the whiteout applied.
    let out = r
        .run(&[
            "run",
            "--rm",
            &name,
            "sh",
            "-c",
            "cat /hello.txt; ls /etc/motd 2>&1 || true",
        ])
        .ok()
        .to_string();
    assert!(out.starts_with("hello from the registry\n"), "{out}");
    assert!(out.contains("No such file"), "{out}");
    // A second pull changes nothing.
    let again = r.run(&["pull", &name]).ok().to_string();
    assert!(again.contains("Already exists"), "{again}");
    assert!(
        again.contains(&format!("Status: Image is up to date for {name}")),
        "{again}"
    );
    // -q prints the reference only; by digest works too.
    let by_digest = format!("{}/team/app@{}", reg.host(), img.manifest_digest);
    assert_eq!(
        r.run(&["pull", "-q", &by_digest]).ok(),
        format!("{by_digest}\n")
    );
}

#[test]
fn run_pulls_a_missing_image_with_dockers_messages() {
    let reg = Registry::start();
    let lay = tempfile::tempdir().unwrap();
    let mut layout = Layout::new(lay.path());
    two_layer_image(&mut layout, "latest");
    reg.skopeo_push(lay.path(), "latest", "app:latest", &[]);
    let r = Rdock::new();
    let name = format!("{}/app", reg.host());
    let out = r.run(&["run", "--rm", &name, "cat", "/hello.txt"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout, "hello from the registry\n",
        "pull output stays off stdout"
    );
    assert!(
        out.stderr.starts_with(&format!(
            "Unable to find image '{name}:latest' locally\nlatest: Pulling from app\n"
        )),
        "{}",
        out.stderr
    );
    // --pull never with a missing image, and --pull always.
    let e = r
        .run(&[
            "run",
            "--rm",
            "--pull",
            "never",
            &format!("{}/nope", reg.host()),
        ])
        .fails_125()
        .to_string();
    assert!(e.contains("No such image"), "{e}");
    let out = r.run(&["create", "--pull", "always", "-q", &name]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stderr.contains("Unable to find"), "{}", out.stderr);
}

#[test]
fn manifest_lists_resolve_to_the_host_platform() {
    let reg = Registry::start();
    let lay = tempfile::tempdir().unwrap();
    let mut layout = Layout::new(lay.path());
    let amd = layout.image("", "amd64", &[files_tar(&[("arch", "amd64\n")])], &["sh"]);
    let arm = layout.image("", "arm64", &[files_tar(&[("arch", "arm64\n")])], &["sh"]);
    let list = layout.multi("multi", &[(&amd, "amd64"), (&arm, "arm64")]);
    reg.skopeo_push(lay.path(), "multi", "multi:1", &["--all"]);
    let r = Rdock::new();
    let name = format!("{}/multi:1", reg.host());
    let out = r.run(&["pull", &name]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains(&format!("Digest: {list}")),
        "{}",
        out.stdout
    );
    let want = if std::env::consts::ARCH == "aarch64" {
        &arm
    } else {
        &amd
    };
    assert_eq!(
        r.run(&["images", "-q", "--no-trunc", &name]).ok().trim(),
        want.config_digest
    );
    // Another platform on request.
    let other = if std::env::consts::ARCH == "aarch64" {
        ("linux/amd64", &amd)
    } else {
        ("linux/arm64", &arm)
    };
    r.run(&["pull", "--platform", other.0, &name]).ok();
    assert_eq!(
        r.run(&["images", "-q", "--no-trunc", &name]).ok().trim(),
        other.1.config_digest
    );
    let e = r
        .run(&["pull", "--platform", "linux/s390x", &name])
        .fails_1()
        .to_string();
    assert!(e.contains("no matching manifest for linux/s390x"), "{e}");
}

#[test]
fn pull_failures_are_clear_and_store_nothing() {
    let reg = Registry::start();
    let lay = tempfile::tempdir().unwrap();
    let mut layout = Layout::new(lay.path());
    let img = two_layer_image(&mut layout, "v1");
    reg.skopeo_push(lay.path(), "v1", "app:v1", &[]);
    let r = Rdock::new();
    let before = r.snapshot();
    // Unknown tag and repository: docker's message.
    let e = r
        .run(&["pull", &format!("{}/app:nope", reg.host())])
        .fails_1()
        .to_string();
    assert!(
        e.contains(&format!(
            "manifest for {}/app:nope not found: manifest unknown",
            reg.host()
        )),
        "{e}"
    );
    r.run(&["pull", &format!("{}/nosuch/repo", reg.host())])
        .fails_1();
    // Registry down.
    let e = r
        .run(&["pull", &format!("127.0.0.1:{}/app:v1", free_port())])
        .fails_1()
        .to_string();
    assert!(e.contains("/v2/"), "{e}");
    // A tampered blob: the digest check refuses it and nothing is stored.
    let blob = reg.blob_path(&img.layer_digests[1]);
    let mut data = std::fs::read(&blob).unwrap();
    let tampered = gzip(&files_tar(&[("hello.txt", "evil\n")]));
    data.clear();
    data.extend_from_slice(&tampered);
    std::fs::write(&blob, &data).unwrap();
    let e = r
        .run(&["pull", &format!("{}/app:v1", reg.host())])
        .fails_1()
        .to_string();
    assert!(e.contains("verification failed"), "{e}");
    let mut after = r.snapshot();
    after.retain(|p| {
        p != "tmp" && p != "blobs" && p != "blobs/sha256" && p != "layers" && p != "layers/l"
    });
    let mut before = before;
    before.retain(|p| {
        p != "tmp" && p != "blobs" && p != "blobs/sha256" && p != "layers" && p != "layers/l"
    });
    assert_eq!(after, before, "a failed pull left files in the store");
}

#[test]
fn concurrent_pulls_of_one_image() {
    let reg = Registry::start();
    let lay = tempfile::tempdir().unwrap();
    let mut layout = Layout::new(lay.path());
    let img = two_layer_image(&mut layout, "v1");
    reg.skopeo_push(lay.path(), "v1", "app:v1", &[]);
    let r = Rdock::new();
    let name = format!("{}/app:v1", reg.host());
    let kids: Vec<_> = (0..3)
        .map(|_| {
            r.cmd(&["pull", "-q", &name])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for k in kids {
        let o = k.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    assert_eq!(
        r.run(&["images", "-q", "--no-trunc"]).ok().trim(),
        img.config_digest
    );
    let layers = std::fs::read_dir(r.root.join("layers")).unwrap().count();
    assert_eq!(layers, 3, "two layers and l/");
    assert_eq!(
        r.run(&["run", "--rm", &name, "cat", "/hello.txt"]).ok(),
        "hello from the registry\n"
    );
}

fn with_config(r: &Rdock, cfg: &std::path::Path, args: &[&str], stdin: &[u8]) -> Run {
    use std::io::Write;
    let mut c = r.cmd(args);
    c.env("DOCKER_CONFIG", cfg)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    if let Some(mut s) = child.stdin.take() {
        let _ = s.write_all(stdin);
    }
    Run::from(child.wait_with_output().unwrap())
}

#[test]
fn basic_auth_login_pull_logout() {
    let auth_dir = tempfile::tempdir().unwrap();
    let htpasswd = auth_dir.path().join("htpasswd");
    std::fs::write(
        &htpasswd,
        format!("alice:{}\n", bcrypt::hash("s3cret", 4).unwrap()),
    )
    .unwrap();
    let reg = Registry::start_with(&format!(
        "auth:\n  htpasswd:\n    realm: test\n    path: {}\n",
        htpasswd.display()
    ));
    let lay = tempfile::tempdir().unwrap();
    let mut layout = Layout::new(lay.path());
    two_layer_image(&mut layout, "v1");
    reg.skopeo_push(
        lay.path(),
        "v1",
        "private/app:v1",
        &["--dest-creds", "alice:s3cret"],
    );

    let r = Rdock::new();
    let cfg = tempfile::tempdir().unwrap();
    let name = format!("{}/private/app:v1", reg.host());
    let e = with_config(&r, cfg.path(), &["pull", &name], b"");
    assert_eq!(e.code, 1, "{}", e.stderr);
    assert!(e.stderr.contains("pull access denied for"), "{}", e.stderr);

    let e = with_config(
        &r,
        cfg.path(),
        &["login", "-u", "alice", "-p", "wrong", &reg.host()],
        b"",
    );
    assert_eq!(e.code, 1, "{}", e.stderr);
    assert!(
        e.stderr
            .contains("Using --password via the CLI is insecure"),
        "{}",
        e.stderr
    );
    assert!(e.stderr.contains("failed"), "{}", e.stderr);
    assert!(
        !cfg.path().join("config.json").exists(),
        "bad credentials were saved"
    );
    let e = with_config(&r, cfg.path(), &["login", &reg.host()], b"");
    assert!(e.stderr.contains("non TTY"), "{}", e.stderr);

    let ok = with_config(
        &r,
        cfg.path(),
        &["login", "-u", "alice", "--password-stdin", &reg.host()],
        b"s3cret\n",
    );
    assert_eq!(
        (ok.code, ok.stdout.as_str()),
        (0, "Login Succeeded\n"),
        "{}",
        ok.stderr
    );
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(cfg.path().join("config.json")).unwrap()).unwrap();
    assert_eq!(
        saved["auths"][reg.host()]["auth"],
        "YWxpY2U6czNjcmV0",
        "base64 of alice:s3cret"
    );

    let p = with_config(&r, cfg.path(), &["pull", "-q", &name], b"");
    assert_eq!(p.code, 0, "{}", p.stderr);
    // --config names the same directory as DOCKER_CONFIG.
    let r2 = Rdock::new();
    let p = r2.run(&[
        "--config",
        cfg.path().to_str().unwrap(),
        "pull",
        "-q",
        &name,
    ]);
    assert_eq!(p.code, 0, "{}", p.stderr);

    let out = with_config(&r, cfg.path(), &["logout", &reg.host()], b"");
    assert_eq!(
        out.stdout,
        format!("Removing login credentials for {}\n", reg.host())
    );
    let out = with_config(&r, cfg.path(), &["logout", &reg.host()], b"");
    // docker 28 says it removes them, there or not.
    assert_eq!(
        out.stdout,
        format!("Removing login credentials for {}\n", reg.host())
    );
    let r3 = Rdock::new();
    assert_eq!(with_config(&r3, cfg.path(), &["pull", &name], b"").code, 1);
}

#[test]
fn push_is_readable_by_a_peer_and_pulls_back_identical() {
    let reg = Registry::start();
    let r = Rdock::with_busybox();
    let name = format!("{}/bb:1", reg.host());
    r.run(&["tag", "busybox", &name]).ok();
    let id = r
        .run(&["images", "-q", "--no-trunc", "busybox"])
        .ok()
        .trim()
        .to_string();
    let out = r.run(&["push", &name]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.starts_with(&format!(
            "The push refers to repository [{}/bb]\n",
            reg.host()
        )),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains(": Pushed\n"), "{}", out.stdout);
    let last = out.stdout.lines().last().unwrap().to_string();
    assert!(last.starts_with("1: digest: sha256:"), "{last}");
    let digest = last.split_whitespace().nth(2).unwrap().to_string();

    // The peer reads what rdock wrote: same digest, and a full copy works.
    let insp = std::process::Command::new("skopeo")
        .args(["inspect", "--tls-verify=false", &format!("docker://{name}")])
        .output()
        .unwrap();
    assert!(
        insp.status.success(),
        "{}",
        String::from_utf8_lossy(&insp.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&insp.stdout).unwrap();
    assert_eq!(v["Digest"], digest);
    let dest = tempfile::tempdir().unwrap();
    let cp = std::process::Command::new("skopeo")
        .args([
            "copy",
            "--src-tls-verify=false",
            &format!("docker://{name}"),
        ])
        .arg(format!("oci:{}:x", dest.path().display()))
        .output()
        .unwrap();
    assert!(
        cp.status.success(),
        "{}",
        String::from_utf8_lossy(&cp.stderr)
    );

    // Pushing again uploads nothing; another repo of the registry mounts.
    let again = r.run(&["push", &name]).ok().to_string();
    assert!(again.contains("Layer already exists"), "{again}");
    assert!(!again.contains("Pushed"), "{again}");
    let other = format!("{}/other:1", reg.host());
    r.run(&["tag", "busybox", &other]).ok();
    let out = r.run(&["push", &other]).ok().to_string();
    assert!(out.contains("Mounted from bb"), "{out}");

    // Back into a fresh store: the same image ID, and it runs.
    let r2 = Rdock::new();
    r2.run(&["pull", "-q", &name]).ok();
    assert_eq!(r2.run(&["images", "-q", "--no-trunc"]).ok().trim(), id);
    assert_eq!(
        r2.run(&["run", "--rm", &name, "echo", "round trip"]).ok(),
        "round trip\n"
    );

    let e = r
        .run(&["push", &format!("{}/nothing:here", reg.host())])
        .fails_1()
        .to_string();
    assert!(
        e.contains("An image does not exist locally with the tag"),
        "{e}"
    );
}

#[test]
fn bearer_token_auth_like_docker_hub() {
    let tokens = TokenServer::start("alice", "s3cret");
    let reg = Registry::start_with(&tokens.registry_auth());
    let lay = tempfile::tempdir().unwrap();
    let mut layout = Layout::new(lay.path());
    two_layer_image(&mut layout, "v1");
    reg.skopeo_push(
        lay.path(),
        "v1",
        "app:v1",
        &["--dest-creds", "alice:s3cret"],
    );

    // Anonymous pull: one token for the pull scope, reused for every blob.
    let r = Rdock::new();
    let cfg = tempfile::tempdir().unwrap();
    let name = format!("{}/app:v1", reg.host());
    tokens.requests.lock().unwrap().clear();
    let out = with_config(&r, cfg.path(), &["pull", &name], b"");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(*tokens.requests.lock().unwrap(), ["repository:app:pull"]);
    assert_eq!(
        with_config(
            &r,
            cfg.path(),
            &["run", "--rm", &name, "cat", "/hello.txt"],
            b""
        )
        .stdout,
        "hello from the registry\n"
    );

    // Anonymous push is refused; after login it works.
    let mine = format!("{}/mine:1", reg.host());
    r.run(&["tag", &name, &mine]).ok();
    let e = with_config(&r, cfg.path(), &["push", &mine], b"");
    assert_eq!(e.code, 1, "{}", e.stdout);
    assert!(e.stderr.contains("unauthorized"), "{}", e.stderr);
    let bad = with_config(
        &r,
        cfg.path(),
        &["login", "-u", "alice", "--password-stdin", &reg.host()],
        b"nope\n",
    );
    assert_eq!(bad.code, 1, "{}", bad.stderr);
    let ok = with_config(
        &r,
        cfg.path(),
        &["login", "-u", "alice", "--password-stdin", &reg.host()],
        b"s3cret\n",
    );
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    let p = with_config(&r, cfg.path(), &["push", &mine], b"");
    assert_eq!(p.code, 0, "{}", p.stderr);
    assert!(p.stdout.contains("Mounted from app"), "{}", p.stdout);
}

#[test]
fn kill_9_mid_pull_then_pull_again() {
    let reg = Registry::start();
    let lay = tempfile::tempdir().unwrap();
    let mut layout = Layout::new(lay.path());
    layout.compression = "none";
    layout.image("v1", "amd64", &[busybox_tar(), big_tar(32)], &["sh"]);
    reg.skopeo_push(lay.path(), "v1", "big:v1", &[]);
    let r = Rdock::new();
    let name = format!("{}/big:v1", reg.host());
    let tmp = r.root.join("tmp");
    let mut child = r
        .cmd(&["pull", "-q", &name])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once a layer is being staged.
    let mut staged = false;
    for _ in 0..2000 {
        if std::fs::read_dir(&tmp)
            .map(|d| d.count() > 0)
            .unwrap_or(false)
        {
            staged = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    assert!(staged, "the pull never started staging");
    assert!(
        child.try_wait().unwrap().is_none(),
        "the pull finished before it could be killed"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        r.run(&["images", "-q"]).ok(),
        "",
        "a killed pull left an image"
    );
    let out = r.run(&["pull", "-q", &name]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        std::fs::read_dir(&tmp).unwrap().count(),
        0,
        "debris of the killed pull"
    );
    assert_eq!(
        r.run(&["run", "--rm", &name, "sh", "-c", "wc -c < /big.bin"])
            .ok()
            .trim(),
        (32u64 << 20).to_string()
    );
}

#[test]
fn search_speaks_docker_hubs_api() {
    let (port, seen) = search_server();
    let r = Rdock::new();
    let term = format!("127.0.0.1:{port}/box");
    let out = r.run(&["search", &term]).ok().to_string();
    assert_eq!(
        out,
        "NAME          DESCRIPTION                                     STARS     OFFICIAL\n\
         busybox       Busybox base image, with a description long …   3300      [OK]\n\
         someone/box   a box                                           12        \n\
         other/box                                                     0         \n"
    );
    assert!(
        seen.lock().unwrap()[0].starts_with("/v1/search?q=box&n=25"),
        "{:?}",
        seen.lock().unwrap()
    );
    let out = r
        .run(&[
            "search",
            "--filter",
            "is-official=true",
            "--format",
            "{{.Name}} {{.StarCount}}",
            &term,
        ])
        .ok()
        .to_string();
    assert_eq!(out, "busybox 3300\n");
    let out = r
        .run(&[
            "search",
            "-f",
            "stars=10",
            "--limit",
            "5",
            "--no-trunc",
            "--format",
            "{{.Description}}",
            &term,
        ])
        .ok()
        .to_string();
    assert_eq!(
        out,
        "Busybox base image, with a description long enough to be cut\na box\n"
    );
    assert!(seen.lock().unwrap().last().unwrap().contains("n=5"));
    r.run(&["search", "--limit", "101", &term]).fails_1();
    r.run(&["search", "-f", "bogus=1", &term]).fails_1();
}

#[test]
fn all_tags_and_zstd_layers() {
    let reg = Registry::start();
    let lay = tempfile::tempdir().unwrap();
    let mut layout = Layout::new(lay.path());
    two_layer_image(&mut layout, "v1");
    layout.compression = "zstd";
    layout.image("v2", "amd64", &[files_tar(&[("v", "2\n")])], &["sh"]);
    reg.skopeo_push(lay.path(), "v1", "app:v1", &[]);
    reg.skopeo_push(lay.path(), "v2", "app:v2", &[]);
    let r = Rdock::new();
    let repo = format!("{}/app", reg.host());
    let out = r.run(&["pull", "-a", &repo]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("v1: Pulling from app"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("v2: Pulling from app"),
        "{}",
        out.stdout
    );
    assert_eq!(out.stdout.lines().last().unwrap(), repo);
    let tags = r
        .run(&["images", "--format", "{{.Tag}}", &repo])
        .ok()
        .to_string();
    let mut tags: Vec<&str> = tags.lines().collect();
    tags.sort();
    assert_eq!(tags, ["v1", "v2"]);
    let manifest = std::process::Command::new("skopeo")
        .args([
            "inspect",
            "--raw",
            "--tls-verify=false",
            &format!("docker://{repo}:v2"),
        ])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&manifest.stdout).contains("zstd"),
        "the layer is not zstd"
    );
    assert_eq!(
        r.run(&["run", "--rm", &format!("{repo}:v2"), "/bin/cat", "/v"])
            .code,
        127,
        "v2 has no busybox"
    );
    assert_eq!(r.run(&["pull", "-a", &format!("{repo}:v1")]).code, 1);
}

#[test]
fn credential_helpers_are_used() {
    let auth_dir = tempfile::tempdir().unwrap();
    let htpasswd = auth_dir.path().join("htpasswd");
    std::fs::write(
        &htpasswd,
        format!("bob:{}\n", bcrypt::hash("pw", 4).unwrap()),
    )
    .unwrap();
    let reg = Registry::start_with(&format!(
        "auth:\n  htpasswd:\n    realm: test\n    path: {}\n",
        htpasswd.display()
    ));
    // A docker-credential-* helper that keeps its secrets in a file.
    let bin = tempfile::tempdir().unwrap();
    let store = bin.path().join("store.json");
    let helper = bin.path().join("docker-credential-rdocktest");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\nS={}\ncase \"$1\" in\n store) cat > $S ;;\n get) read server; if [ -s $S ]; then sed 's/\"Secret\"/\"Secret\"/' $S; else echo 'credentials not found in native keychain'; exit 1; fi ;;\n erase) rm -f $S ;;\nesac\n",
            store.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let cfg = tempfile::tempdir().unwrap();
    std::fs::write(
        cfg.path().join("config.json"),
        r#"{"credsStore": "rdocktest"}"#,
    )
    .unwrap();
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );

    let r = Rdock::with_busybox();
    let name = format!("{}/helped:1", reg.host());
    r.run(&["tag", "busybox", &name]).ok();
    let run = |args: &[&str], input: &[u8]| {
        use std::io::Write;
        let mut c = r.cmd(args);
        c.env("DOCKER_CONFIG", cfg.path()).env("PATH", &path);
        c.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut ch = c.spawn().unwrap();
        ch.stdin.take().unwrap().write_all(input).unwrap();
        Run::from(ch.wait_with_output().unwrap())
    };
    assert_eq!(run(&["push", "-q", &name], b"").code, 1);
    let ok = run(
        &["login", "-u", "bob", "--password-stdin", &reg.host()],
        b"pw\n",
    );
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    let kept = std::fs::read_to_string(&store).unwrap();
    assert!(
        kept.contains("\"Username\":\"bob\"") && kept.contains("\"Secret\":\"pw\""),
        "{kept}"
    );
    let cfgtext = std::fs::read_to_string(cfg.path().join("config.json")).unwrap();
    assert!(
        !cfgtext.contains("auths"),
        "the secret went to config.json: {cfgtext}"
    );
    let p = run(&["push", "-q", &name], b"");
    assert_eq!(p.code, 0, "{}", p.stderr);
    assert_eq!(
        run(&["logout", &reg.host()], b"").stdout,
        format!("Removing login credentials for {}\n", reg.host())
    );
    assert!(!store.exists());
}

#[test]
fn blob_redirects_to_storage_without_credentials() {
    // The registry answers blob GETs with a redirect to "blob storage" (a
    // plain file server over its storage dir), as registries backed by S3
    // do; with bearer auth, the token must not follow to the other host.
    let tokens = TokenServer::start("alice", "s3cret");
    let dir = tempfile::tempdir().unwrap();
    let files = FileServer::start(dir.path().join("data"));
    let extra = format!(
        "{}middleware:\n  storage:\n    - name: redirect\n      options:\n        baseurl: http://127.0.0.1:{}/\n",
        tokens.registry_auth(),
        files.port
    );
    let reg = Registry::start_in(dir, &extra);
    let lay = tempfile::tempdir().unwrap();
    let mut layout = Layout::new(lay.path());
    two_layer_image(&mut layout, "v1");
    reg.skopeo_push(
        lay.path(),
        "v1",
        "app:v1",
        &["--dest-creds", "alice:s3cret"],
    );
    let served_before = files.served.load(std::sync::atomic::Ordering::Relaxed);
    // Only rdock's requests count from here.
    files
        .saw_authorization
        .store(false, std::sync::atomic::Ordering::Relaxed);
    let r = Rdock::new();
    let name = format!("{}/app:v1", reg.host());
    let out = r.run(&["pull", "-q", &name]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        files.served.load(std::sync::atomic::Ordering::Relaxed) >= served_before + 3,
        "blobs were not fetched from the storage redirect"
    );
    assert!(
        !files
            .saw_authorization
            .load(std::sync::atomic::Ordering::Relaxed),
        "credentials leaked to the blob storage host"
    );
    assert_eq!(
        r.run(&["run", "--rm", &name, "cat", "/hello.txt"]).ok(),
        "hello from the registry\n"
    );
}

/// One 3 MiB layer of incompressible data, served by a hostile registry.
fn hostile(fault: hostile::Fault) -> (hostile::Hostile, BuiltImage, tempfile::TempDir) {
    let lay = tempfile::tempdir().unwrap();
    let mut layout = Layout::new(lay.path());
    layout.compression = "none";
    let img = layout.image("v1", "amd64", &[big_tar(3)], &["sh"]);
    (
        hostile::Hostile::start(lay.path(), &img, "v1", fault),
        img,
        lay,
    )
}

#[test]
fn a_stalled_registry_fails_with_the_host_named() {
    use std::time::Duration;
    // A manifest that never comes: no retry (docker retries layers only).
    let (srv, _img, _lay) = hostile(hostile::Fault::StallManifest);
    let r = Rdock::new();
    let out = hostile::run_within(
        hostile::impatient(&r, &["pull", &format!("{}/app:v1", srv.host())]),
        Duration::from_secs(30),
    );
    let e = out.fails_1();
    assert!(e.contains(&srv.host()) && e.contains("manifests/v1"), "{e}");
    assert!(e.contains("no data for 1 s"), "{e}");
    let reqs = srv.requests.lock().unwrap().clone();
    let asked = reqs.iter().filter(|q| q.contains("/manifests/")).count();
    assert_eq!(asked, 1, "a manifest is not retried: {reqs:?}");
    assert!(hostile::tmp_is_empty(&r));

    // A layer that stops after 1 MiB, every time: docker's five attempts,
    // each resumed where the data stopped, then one line naming the layer.
    let (srv, img, _lay) = hostile(hostile::Fault::StallLayer { at: 1 << 20 });
    let out = hostile::run_within(
        hostile::impatient(&r, &["pull", &format!("{}/app:v1", srv.host())]),
        Duration::from_secs(60),
    );
    let e = out.fails_1();
    let layer = &img.layer_digests[0];
    assert!(e.contains(&srv.host()) && e.contains(layer.as_str()), "{e}");
    assert!(
        e.contains("no data for 1 s") && e.contains("5 attempts"),
        "{e}"
    );
    let short = &layer[7..19];
    assert!(
        out.stdout
            .contains(&format!("{short}: Retrying in 20 seconds\n")),
        "{}",
        out.stdout
    );
    let reqs = srv.requests.lock().unwrap().clone();
    let resumed = reqs.iter().filter(|q| q.ends_with("range=bytes=1048576-"));
    assert_eq!(resumed.count(), 4, "{reqs:?}");
    assert!(hostile::tmp_is_empty(&r));
    assert_eq!(r.run(&["images", "-q"]).ok(), "");

    // A host that never completes the connection: the connect timeout.
    let dead = hostile::Unanswering::start();
    let host = format!("127.0.0.1:{}", dead.port);
    let out = hostile::run_within(
        hostile::impatient(&r, &["pull", &format!("{host}/app:v1")]),
        Duration::from_secs(20),
    );
    let e = out.fails_1();
    assert!(
        e.contains(&format!("connecting to {host}: timed out")),
        "{e}"
    );
}

#[test]
fn a_dropped_layer_is_resumed_after_docker_s_back_off() {
    use std::time::Duration;
    for ranges in [true, false] {
        let (srv, img, _lay) = hostile(hostile::Fault::DropLayerOnce {
            at: 1 << 20,
            ranges,
        });
        let r = Rdock::new();
        let name = format!("{}/app:v1", srv.host());
        let out = hostile::run_within(
            hostile::impatient(&r, &["pull", &name]),
            Duration::from_secs(60),
        );
        assert_eq!(out.code, 0, "{}", out.stderr);
        let short = &img.layer_digests[0][7..19];
        assert!(
            out.stdout.contains(&format!(
                "{short}: Retrying in 5 seconds\n{short}: Retrying in 4 seconds\n"
            )),
            "{}",
            out.stdout
        );
        assert!(!out.stdout.contains("Retrying in 10"), "{}", out.stdout);
        assert!(
            out.stdout.contains(&format!("{short}: Pull complete")),
            "{}",
            out.stdout
        );
        let reqs = srv.requests.lock().unwrap().clone();
        assert!(
            reqs.iter().any(|q| q.ends_with("range=bytes=1048576-")),
            "{reqs:?}"
        );
        assert_eq!(
            r.run(&["images", "-q", "--no-trunc", &name]).ok().trim(),
            img.config_digest
        );
        assert!(hostile::tmp_is_empty(&r));
    }
}

#[test]
fn a_cut_upload_is_pushed_again() {
    use std::time::Duration;
    let reg = Registry::start();
    let proxy = hostile::FlakyProxy::start(reg.port, 256 << 10);
    let r = Rdock::with_busybox();
    let name = format!("127.0.0.1:{}/bb:1", proxy.port);
    r.run(&["tag", "busybox", &name]).ok();
    let out = hostile::run_within(
        hostile::impatient(&r, &["push", &name]),
        Duration::from_secs(60),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(proxy.cuts.load(std::sync::atomic::Ordering::Relaxed) >= 1);
    assert!(
        out.stdout.contains(": Retrying in 5 seconds\n"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains(": Pushed\n"), "{}", out.stdout);
    let digest = out
        .stdout
        .lines()
        .last()
        .unwrap()
        .split_whitespace()
        .nth(2)
        .unwrap()
        .to_string();
    // The registry itself, not through the proxy, has the whole image.
    let r2 = Rdock::new();
    let direct = format!("{}/bb@{digest}", reg.host());
    r2.run(&["pull", "-q", &direct]).ok();
    assert_eq!(r2.run(&["run", "--rm", &direct, "echo", "ok"]).ok(), "ok\n");
}
