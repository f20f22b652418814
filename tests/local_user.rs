//! A local unprivileged user gains nothing from rdock's files, sockets and
//! locks (docker's CVE-2021-41091 class): whatever the caller's umask, the
//! store and the runroot are closed to others, secrets are 0600, and what
//! containers see (their "/", /etc/hosts, their umask) is docker's.

mod common;
use common::*;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Not root, in no group of the host's: what a local user is.
const OUTSIDER: &str = "54321";

/// `args` as the outsider, which must be refused for lack of permission
/// (not for any other reason).
fn refused(args: &[&str]) -> bool {
    let o = as_outsider(args);
    let err = String::from_utf8_lossy(&o.stderr);
    !o.status.success() && (err.contains("Permission denied") || err.contains("PermissionError"))
}

/// `args` as the outsider; its exit status.
fn as_outsider(args: &[&str]) -> std::process::Output {
    Command::new("setpriv")
        .args([
            &format!("--reuid={OUTSIDER}"),
            &format!("--regid={OUTSIDER}"),
            "--clear-groups",
            "--",
            // Through a shell: setpriv itself may exec with root's
            // capabilities still effective (they go at that exec).
            BUSYBOX,
            "sh",
            "-c",
            "exec \"$@\"",
            "sh",
        ])
        .args(args)
        .output()
        .expect("setpriv (util-linux) must be installed")
}

/// rdock with the caller's umask set to `umask`.
fn with_umask(r: &Rdock, umask: u32, args: &[&str]) -> Run {
    let mut c = r.cmd(args);
    // SAFETY: umask is async-signal-safe.
    unsafe {
        c.pre_exec(move || {
            libc::umask(umask as libc::mode_t);
            Ok(())
        });
    }
    Run::from(c.output().expect("spawn rdock"))
}

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .mode()
        & 0o7777
}

fn wait_for_log(r: &Rdock, name: &str, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !r.run(&["logs", name]).stdout.contains(needle) {
        assert!(Instant::now() < deadline, "{name} never printed {needle}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Everything under `dir`, not following links.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        out.push(p.clone());
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            walk(&p, out);
        }
    }
}

/// Inside a container's or a layer's or a volume's content: modes there
/// are the image's and the container's business.
fn is_content(p: &Path) -> bool {
    let s = p.to_string_lossy();
    [
        "/upper/",
        "/diff/",
        "/_data/",
        "/blobs/",
        "/builder/mounts/",
    ]
    .iter()
    .any(|c| s.contains(c))
}

#[test]
fn a_local_user_reaches_nothing_rdock_made() {
    let r = Rdock::with_busybox();
    // The test's temp dir is 0700 itself: open it, so only rdock's own
    // modes stand between the outsider and the store.
    std::fs::set_permissions(r.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let run = with_umask(
        &r,
        0o000,
        &[
            "run",
            "-d",
            "-i",
            "--name",
            "suid",
            "-e",
            "DB_PASSWORD=hunter2",
            "-v",
            "vol:/data",
            "busybox",
            "sh",
            "-c",
            "cp /bin/busybox /tmp/x; chmod 4755 /tmp/x; echo secret > /data/f; \
             echo log-secret; umask; stat -c %a /; exec sleep 600",
        ],
    );
    let id = run.ok().trim().to_string();
    wait_for_log(&r, "suid", "log-secret");
    let logs = r.run(&["logs", "suid"]).ok().to_string();
    // The container's umask and "/" are docker's, whatever the caller's.
    assert!(logs.contains("\n0022\n755\n"), "{logs}");
    with_umask(&r, 0o000, &["commit", "suid", "suidimg"]).ok();

    let cdir = r.root.join("containers").join(&id);
    let upper_x = cdir.join("upper/tmp/x");
    assert_eq!(mode(&upper_x), 0o4755, "the container's setuid file");
    let layer_x = {
        let mut all = Vec::new();
        walk(&r.root.join("layers"), &mut all);
        all.into_iter()
            .find(|p| p.ends_with("diff/tmp/x"))
            .expect("the committed layer holds tmp/x")
    };
    let sock = std::fs::read_dir(r.runroot.join("attach"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .next()
        .expect("the monitor's attach socket");

    // Explicit modes, though the caller's umask was 000.
    assert_eq!(mode(&r.root), 0o700);
    assert_eq!(mode(&r.runroot), 0o700);
    assert_eq!(mode(&cdir), 0o700);
    assert_eq!(mode(&cdir.join("upper")), 0o755);
    assert_eq!(mode(&cdir.join("config.json")), 0o600);
    assert_eq!(mode(&cdir.join(format!("{id}-json.log"))), 0o600);
    assert_eq!(mode(&cdir.join("hosts")), 0o644);
    assert_eq!(mode(&sock), 0o600);
    // Nothing rdock keeps for itself is writable by others, or readable
    // when it may hold a secret.
    let mut all = Vec::new();
    walk(&r.root, &mut all);
    walk(&r.runroot, &mut all);
    for p in all.iter().filter(|p| !is_content(p)) {
        let m = std::fs::symlink_metadata(p).unwrap();
        if m.file_type().is_symlink() {
            continue;
        }
        assert_eq!(m.mode() & 0o022, 0, "{} is {:o}", p.display(), m.mode());
        let name = p.file_name().unwrap_or_default().to_string_lossy();
        if name.ends_with(".json") && !name.starts_with("meta") || name.ends_with(".log") {
            assert_eq!(m.mode() & 0o077, 0, "{} is {:o}", p.display(), m.mode());
        }
    }

    // And the outsider: no setuid root shell, no secrets, no stdin. (It
    // can run what it uses and reach the test's dir: a refusal below is
    // rdock's modes at work, not a broken probe.)
    let bb = BUSYBOX;
    let py = "/usr/bin/python3";
    assert!(as_outsider(&[bb, "stat", r.dir.path().to_str().unwrap()])
        .status
        .success());
    assert!(as_outsider(&[py, "-c", "print(1)"]).status.success());
    for target in [&upper_x, &layer_x] {
        let t = target.to_str().unwrap();
        assert!(refused(&[t, "id", "-u"]), "the outsider ran {t}");
        assert!(refused(&[bb, "stat", t]), "{t}");
    }
    for secret in [
        cdir.join("config.json"),
        cdir.join(format!("{id}-json.log")),
        r.root.join("images.json"),
        r.root.join("events.log"),
        r.root.join("volumes/vol/_data/f"),
    ] {
        let p = secret.to_str().unwrap();
        assert!(refused(&[bb, "cat", p]), "the outsider read {p}");
    }
    assert!(
        refused(&[
            py,
            "-c",
            "import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])",
            sock.to_str().unwrap(),
        ]),
        "the outsider reached the attach socket"
    );
    // A lock file the outsider could open, it could hold forever.
    let lock = r.root.join("lock");
    assert!(
        refused(&[bb, "cat", lock.to_str().unwrap()]),
        "the store lock"
    );
    r.run(&["rm", "-f", "suid"]).ok();
}

#[test]
fn an_existing_loose_store_is_closed_and_a_foreign_one_refused() {
    let r = Rdock::with_busybox();
    std::fs::set_permissions(&r.root, std::fs::Permissions::from_mode(0o755)).unwrap();
    r.run(&["images", "-q"]).ok();
    assert_eq!(mode(&r.root), 0o700, "an old 0755 store is tightened");
    std::os::unix::fs::chown(&r.root, Some(54321), None).unwrap();
    let e = r.run(&["images"]);
    assert_eq!(e.code, 1, "{}", e.stderr);
    assert!(e.stderr.contains("owned by uid 54321"), "{}", e.stderr);
    assert_eq!(e.stderr.lines().count(), 1, "{}", e.stderr);
    std::os::unix::fs::chown(&r.root, Some(0), None).unwrap();
}

/// docker writes ~/.docker/config.json through a temp file made 0600: the
/// credentials are never readable by others, not even for a moment.
#[test]
fn credentials_are_never_written_readable_by_others() {
    let r = Rdock::new();
    let cfg = tempfile::tempdir().unwrap();
    let auth =
        r#"{"auths": {"one.example": {"auth": "YTpi"}, "two.example": {"auth": "YzpkZA=="}}}"#;
    std::fs::write(cfg.path().join("config.json"), auth).unwrap();
    let trace = r.dir.path().join("trace");
    let mut c = Command::new("strace");
    c.args(["-f", "-qq", "-e", "trace=openat,open,creat", "-o"])
        .arg(&trace)
        .arg(bin())
        .args(["--root"])
        .arg(&r.root)
        .arg("--runroot")
        .arg(&r.runroot)
        .args(["logout", "one.example"])
        .env("DOCKER_CONFIG", cfg.path());
    // SAFETY: umask is async-signal-safe.
    unsafe {
        c.pre_exec(|| {
            libc::umask(0);
            Ok(())
        });
    }
    let out = c.output().expect("strace must be installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let trace = std::fs::read_to_string(&trace).unwrap();
    let dir = cfg.path().to_string_lossy().to_string();
    let creates: Vec<&str> = trace
        .lines()
        .filter(|l| l.contains(&dir) && l.contains("O_CREAT"))
        .collect();
    assert!(
        !creates.is_empty(),
        "config.json was not rewritten:\n{trace}"
    );
    for l in creates {
        assert!(l.contains(", 0600)"), "created with another mode: {l}");
    }
    assert_eq!(mode(&cfg.path().join("config.json")), 0o600);
    let saved = std::fs::read_to_string(cfg.path().join("config.json")).unwrap();
    assert!(!saved.contains("one.example") && saved.contains("two.example"));
}
