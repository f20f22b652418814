//! Image store commands against the real binary: import, images, tag, rmi,
//! inspect, prune, and the failure cases.

mod common;
use common::*;

#[test]
fn import_plain_and_gzip_gives_same_image_id_layer() {
    let r = Rdock::new();
    let tar = busybox_tar();
    let plain = r.dir.path().join("bb.tar");
    let gz = r.dir.path().join("bb.tar.gz");
    std::fs::write(&plain, &tar).unwrap();
    std::fs::write(&gz, gzip(&tar)).unwrap();
    let id1 = r
        .run(&["import", plain.to_str().unwrap(), "one:1"])
        .ok()
        .trim()
        .to_string();
    assert!(id1.starts_with("sha256:") && id1.len() == 71, "{id1}");
    let id2 = r
        .run(&["import", gz.to_str().unwrap(), "two:2"])
        .ok()
        .trim()
        .to_string();
    // Same diff ID either way.
    let l1 = r
        .run(&["image", "inspect", "-f", "{{json .RootFS.Layers}}", "one:1"])
        .ok()
        .to_string();
    let l2 = r
        .run(&["image", "inspect", "-f", "{{json .RootFS.Layers}}", "two:2"])
        .ok()
        .to_string();
    assert_eq!(l1, l2);
    assert_ne!(id1, id2, "created times differ, so configs differ");
    // Equal layers are extracted once.
    let layers: Vec<_> = std::fs::read_dir(r.root.join("layers"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name() != "l")
        .collect();
    assert_eq!(layers.len(), 1);
}

#[test]
fn import_from_stdin_with_changes_and_message() {
    let r = Rdock::new();
    let out = r.run_stdin(
        &[
            "import",
            "-c",
            "ENV FOO=bar",
            "-c",
            "WORKDIR /tmp",
            "-c",
            "CMD [\"echo\",\"hi\"]",
            "-c",
            "USER alice",
            "-c",
            "EXPOSE 8080",
            "-c",
            "LABEL team=core",
            "-m",
            "my message",
            "-",
            "mine:v1",
        ],
        &busybox_tar(),
    );
    out.ok();
    let f = |t: &str| {
        r.run(&["inspect", "-f", t, "mine:v1"])
            .ok()
            .trim()
            .to_string()
    };
    assert_eq!(f("{{.Config.WorkingDir}}"), "/tmp");
    assert_eq!(f("{{json .Config.Cmd}}"), r#"["echo","hi"]"#);
    assert_eq!(f("{{.Config.User}}"), "alice");
    assert_eq!(f("{{index .Config.Labels \"team\"}}"), "core");
    assert_eq!(f("{{.Comment}}"), "my message");
    assert!(f("{{json .Config.Env}}").contains("FOO=bar"));
    assert!(f("{{json .Config.ExposedPorts}}").contains("8080/tcp"));
    assert_eq!(f("{{.Os}}/{{.Architecture}}"), "linux/amd64");
    // The image runs with those defaults.
    assert_eq!(r.run(&["run", "--rm", "mine:v1"]).ok(), "hi\n");
    assert_eq!(
        r.run(&[
            "run",
            "--rm",
            "mine:v1",
            "sh",
            "-c",
            "echo $FOO $(pwd) $(id -u)"
        ])
        .ok(),
        "bar /tmp 1000\n"
    );
}

#[test]
fn images_lists_docker_columns() {
    let r = Rdock::with_busybox();
    let out = r.run(&["images"]).ok().to_string();
    let mut lines = out.lines();
    let header = lines.next().unwrap();
    assert!(
        header.starts_with("REPOSITORY   TAG       IMAGE ID       CREATED"),
        "{header:?}"
    );
    assert!(header.ends_with("SIZE"), "{header:?}");
    let row = lines.next().unwrap();
    assert!(row.starts_with("busybox      latest    "), "{row:?}");
    assert!(row.contains("MB"), "{row:?}");
    let id = r.run(&["images", "-q"]).ok().trim().to_string();
    assert_eq!(id.len(), 12);
    let full = r
        .run(&["images", "-q", "--no-trunc"])
        .ok()
        .trim()
        .to_string();
    assert!(
        full.starts_with("sha256:")
            && full.ends_with(&full[full.len() - 4..])
            && full.contains(&id)
    );
    assert_eq!(
        r.run(&["images", "--format", "{{.Repository}}:{{.Tag}}"])
            .ok(),
        "busybox:latest\n"
    );
    let json = r.run(&["images", "--format", "json"]).ok().to_string();
    let v: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(v["Repository"], "busybox");
    assert!(r
        .run(&["images", "--digests"])
        .ok()
        .lines()
        .next()
        .unwrap()
        .contains("DIGEST"));
    assert_eq!(r.run(&["image", "ls", "-q"]).ok().trim(), id);
    // No intermediate images exist without build: -a lists the same.
    assert_eq!(r.run(&["images", "-a", "-q"]).ok().trim(), id);
}

#[test]
fn images_filter_by_reference() {
    let r = Rdock::with_busybox();
    r.run(&["tag", "busybox", "localhost:5000/team/app:2.0"])
        .ok();
    r.run(&["tag", "busybox", "other:1"]).ok();
    let out = r
        .run(&[
            "images",
            "--filter",
            "reference=busy*",
            "--format",
            "{{.Repository}}",
        ])
        .ok()
        .to_string();
    assert_eq!(out, "busybox\n");
    let out = r
        .run(&[
            "images",
            "--format",
            "{{.Repository}}:{{.Tag}}",
            "-f",
            "reference=localhost:5000/*/*",
        ])
        .ok()
        .to_string();
    assert_eq!(out, "localhost:5000/team/app:2.0\n");
    let out = r
        .run(&["images", "--format", "{{.Repository}}", "other"])
        .ok()
        .to_string();
    assert_eq!(out, "other\n");
    r.run(&["images", "--filter", "bogus=1"]).fails_1();
    // before=/since= by creation time: commits made one after another.
    r.run(&["run", "--name", "mk", "busybox", "true"]).ok();
    r.run(&["commit", "mk", "first:1"]).ok();
    std::thread::sleep(std::time::Duration::from_millis(20));
    r.run(&["commit", "mk", "second:1"]).ok();
    let repos = |f: &str| {
        r.run(&["images", "--filter", f, "--format", "{{.Repository}}"])
            .ok()
            .lines()
            .map(String::from)
            .collect::<Vec<_>>()
    };
    assert_eq!(repos("since=first:1"), ["second"]);
    assert!(repos("before=first:1").contains(&"busybox".to_string()));
    assert!(!repos("before=first:1").contains(&"second".to_string()));
    r.run(&["images", "--filter", "since=nothing:here"])
        .fails_1();
}

#[test]
fn tag_and_rmi_untag_then_delete() {
    let r = Rdock::with_busybox();
    r.run(&["tag", "busybox", "mybox:1.0"]).ok();
    assert_eq!(
        r.run(&["images", "-q"]).ok().lines().count(),
        2,
        "two rows, one image"
    );
    let out = r.run(&["rmi", "mybox:1.0"]).ok().to_string();
    assert_eq!(out, "Untagged: mybox:1.0\n");
    assert!(
        r.root.join("layers").read_dir().unwrap().count() > 1,
        "layer kept"
    );
    let out = r.run(&["rmi", "busybox"]).ok().to_string();
    assert!(
        out.starts_with("Untagged: busybox:latest\nDeleted: sha256:"),
        "{out}"
    );
    assert_eq!(r.run(&["images", "-q"]).ok(), "");
    // Layers and blobs are gone with the last image.
    let layers: Vec<_> = std::fs::read_dir(r.root.join("layers"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name() != "l")
        .collect();
    assert!(layers.is_empty());
    assert_eq!(
        std::fs::read_dir(r.root.join("blobs/sha256"))
            .unwrap()
            .count(),
        0
    );
    assert_eq!(
        std::fs::read_dir(r.root.join("layers/l")).unwrap().count(),
        0
    );
}

#[test]
fn rmi_by_id_with_several_tags_needs_force() {
    let r = Rdock::with_busybox();
    r.run(&["tag", "busybox", "second"]).ok();
    let id = r
        .run(&["images", "-q"])
        .ok()
        .lines()
        .next()
        .unwrap()
        .to_string();
    let err = r.run(&["rmi", &id]);
    assert_eq!(err.code, 1);
    assert!(
        err.stderr.contains("referenced in multiple repositories"),
        "{}",
        err.stderr
    );
    let out = r.run(&["rmi", "-f", &id]).ok().to_string();
    assert!(
        out.contains("Untagged: busybox:latest")
            && out.contains("Untagged: second:latest")
            && out.contains("Deleted: sha256:"),
        "{out}"
    );
}

#[test]
fn rmi_refused_while_a_container_uses_the_image() {
    let r = Rdock::with_busybox();
    let cid = r
        .run(&["create", "--name", "user1", "busybox", "true"])
        .ok()
        .trim()
        .to_string();
    let err = r.run(&["rmi", "busybox"]);
    assert_eq!(err.code, 1);
    assert!(
        err.stderr.contains("container") && err.stderr.contains(&cid[..12]),
        "{}",
        err.stderr
    );
    assert_eq!(r.run(&["images", "-q"]).ok().lines().count(), 1);
    // Forced: untagged, the container still runs from its layers.
    r.run(&["rmi", "-f", "busybox"]).ok();
    assert_eq!(r.run(&["start", "-a", "user1"]).code, 0);
    r.run(&["rm", "user1"]).ok();
}

#[test]
fn image_prune_removes_dangling_only_unless_all() {
    let r = Rdock::with_busybox();
    let tar = r.dir.path().join("bb.tar");
    std::fs::write(&tar, busybox_tar()).unwrap();
    r.run(&["import", tar.to_str().unwrap()]).ok();
    assert_eq!(r.run(&["images", "-q"]).ok().lines().count(), 2);
    assert_eq!(
        r.run(&[
            "images",
            "--filter",
            "dangling=true",
            "--format",
            "{{.Repository}}:{{.Tag}}"
        ])
        .ok(),
        "<none>:<none>\n"
    );
    let out = r.run(&["image", "prune", "-f"]).ok().to_string();
    assert!(
        out.contains("deleted: sha256:") && out.contains("Total reclaimed space:"),
        "{out}"
    );
    assert_eq!(r.run(&["images", "-q"]).ok().lines().count(), 1);
    r.run(&["image", "prune", "-a", "-f"]).ok();
    assert_eq!(r.run(&["images", "-q"]).ok(), "");
}

#[test]
fn image_inspect_has_docker_shape() {
    let r = Rdock::with_busybox();
    let out = r.run(&["image", "inspect", "busybox"]).ok().to_string();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let img = &v[0];
    assert!(img["Id"].as_str().unwrap().starts_with("sha256:"));
    assert_eq!(img["RepoTags"][0], "busybox:latest");
    assert_eq!(img["RootFS"]["Type"], "layers");
    assert!(img["Size"].as_u64().unwrap() > 1_000_000);
    assert_eq!(img["Config"]["Cmd"][0], "sh");
    // By ID prefix too, and a missing image is an error.
    let id = img["Id"].as_str().unwrap()[7..19].to_string();
    assert_eq!(
        r.run(&["inspect", "-f", "{{.Id}}", &id]).ok().trim(),
        img["Id"].as_str().unwrap()
    );
    let miss = r.run(&["image", "inspect", "nope"]);
    assert_eq!(miss.code, 1);
    assert!(
        miss.stderr.contains("No such image: nope"),
        "{}",
        miss.stderr
    );
}

#[test]
fn bad_references_are_rejected() {
    let r = Rdock::with_busybox();
    let e = r.run(&["tag", "busybox", "Bad:tag"]).fails_1().to_string();
    assert!(e.contains("must be lowercase"), "{e}");
    r.run(&["tag", "busybox", "a//b"]).fails_1();
    r.run(&["tag", "nope", "x"]).fails_1();
    let e = r.run(&["run", "--rm", "UPPER"]).fails_125().to_string();
    assert!(e.contains("invalid reference format"), "{e}");
}

fn hostile_tar(path: &str, kind: tar::EntryType, link: Option<&str>) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Directory);
    h.set_mode(0o755);
    h.set_size(0);
    b.append_data(&mut h, "ok", std::io::empty()).unwrap();
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(0o644);
    h.set_size(if kind == tar::EntryType::Regular {
        4
    } else {
        0
    });
    // Write the raw name so the tar crate's own path checks are bypassed.
    let name = &mut h.as_old_mut().name;
    name[..path.len()].copy_from_slice(path.as_bytes());
    if let Some(l) = link {
        h.as_old_mut().linkname[..l.len()].copy_from_slice(l.as_bytes());
    }
    h.set_cksum();
    let body: &[u8] = if kind == tar::EntryType::Regular {
        b"evil"
    } else {
        b""
    };
    b.append(&h, body).unwrap();
    b.into_inner().unwrap()
}

#[test]
fn hostile_tar_is_refused_and_store_unchanged() {
    let r = Rdock::with_busybox();
    let before = r.snapshot();
    let outside = r.dir.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    let cases: Vec<Vec<u8>> = vec![
        hostile_tar("../../../../evil", tar::EntryType::Regular, None),
        hostile_tar("/tmp/evil-abs", tar::EntryType::Regular, None),
        hostile_tar("ok/../../evil", tar::EntryType::Regular, None),
        hostile_tar("hl", tar::EntryType::Link, Some("../../../../etc/passwd")),
        hostile_tar("hl", tar::EntryType::Link, Some("/etc/passwd")),
        {
            // symlink to the outside dir, then a file through it
            let mut b = tar::Builder::new(Vec::new());
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Symlink);
            h.set_size(0);
            b.append_link(&mut h, "s", &outside).unwrap();
            let mut h = tar::Header::new_gnu();
            h.set_size(4);
            h.set_mode(0o644);
            b.append_data(&mut h, "s/evil", &b"evil"[..]).unwrap();
            b.into_inner().unwrap()
        },
    ];
    for (i, t) in cases.iter().enumerate() {
        let out = r.run_stdin(&["import", "-", &format!("evil:{i}")], t);
        let e = out.fails_1();
        assert!(
            e.contains("escape") || e.contains("outside") || e.contains("refus"),
            "case {i}: {e}"
        );
        assert_eq!(r.snapshot(), before, "case {i}: store changed");
    }
    assert_eq!(
        std::fs::read_dir(&outside).unwrap().count(),
        0,
        "something written outside"
    );
    assert!(!std::path::Path::new("/tmp/evil-abs").exists());
    // A truncated archive fails cleanly too.
    let t = busybox_tar();
    let out = r.run_stdin(&["import", "-", "trunc"], &gzip(&t)[..4000]);
    out.fails_1();
    assert_eq!(r.snapshot(), before);
}

/// Garbage is refused in Go's archive/tar words, and nothing of it (no
/// terminal escape, no newline) reaches the terminal.
#[test]
fn garbage_import_is_one_clean_line() {
    let r = Rdock::new();
    let mut header = busybox_tar()[..512].to_vec();
    // A size field of terminal escapes, with a checksum that fits it.
    header[124..136].copy_from_slice(b"\x1b[2J\x1b[Hz\n\x07\0\0");
    header[148..156].copy_from_slice(b"        ");
    let sum: u32 = header.iter().map(|b| u32::from(*b)).sum();
    header[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    header.resize(4096, 0);
    let mut elf = std::fs::read("/bin/sh").unwrap();
    elf.truncate(3000);
    for (what, input, want) in [
        ("escapes", header, "archive/tar: invalid tar header"),
        ("an ELF", elf, "archive/tar: invalid tar header"),
        (
            "short",
            b"\x1b]0;pwned\x07 not a tar\n".to_vec(),
            "unexpected EOF",
        ),
    ] {
        let out = r.run_stdin(&["import", "-", "junk"], &input);
        let e = out.fails_1();
        assert!(e.contains(want), "{what}: {e:?}");
        assert!(
            !e.trim_end_matches('\n').chars().any(char::is_control),
            "{what}: control characters reached the terminal: {e:?}"
        );
    }
}

#[test]
fn concurrent_imports_keep_the_store_consistent() {
    let r = Rdock::new();
    let tar = r.dir.path().join("bb.tar");
    std::fs::write(&tar, busybox_tar()).unwrap();
    let children: Vec<_> = (0..4)
        .map(|i| {
            r.cmd(&["import", tar.to_str().unwrap(), &format!("c{i}")])
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let out = r
        .run(&["images", "--format", "{{.Repository}}"])
        .ok()
        .to_string();
    let mut names: Vec<&str> = out.lines().collect();
    names.sort();
    assert_eq!(names, ["c0", "c1", "c2", "c3"]);
    let layers: Vec<_> = std::fs::read_dir(r.root.join("layers"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name() != "l")
        .collect();
    assert_eq!(layers.len(), 1, "one shared layer");
    assert_eq!(
        std::fs::read_dir(r.root.join("tmp")).unwrap().count(),
        0,
        "no temp debris"
    );
}

#[test]
fn kill_9_during_import_leaves_a_usable_store() {
    use std::io::Write;
    let r = Rdock::new();
    let tar = busybox_tar();
    let mut child = r
        .cmd(&["import", "-", "half"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&tar[..tar.len() / 2]).unwrap();
    // Wait until the import is staging its layer, then kill it mid-way.
    let tmp = r.root.join("tmp");
    for _ in 0..200 {
        if std::fs::read_dir(&tmp)
            .map(|d| d.count() > 0)
            .unwrap_or(false)
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(
        std::fs::read_dir(&tmp).unwrap().count() > 0,
        "the import never started staging"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    drop(stdin);
    assert_eq!(r.run(&["images", "-q"]).ok(), "");
    // The next import works and sweeps the dead one's debris.
    let file = r.dir.path().join("bb.tar");
    std::fs::write(&file, &tar).unwrap();
    r.run(&["import", file.to_str().unwrap(), "whole"]).ok();
    assert_eq!(
        r.run(&["images", "--format", "{{.Repository}}"]).ok(),
        "whole\n"
    );
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0, "debris left");
    assert_eq!(r.run(&["run", "--rm", "whole", "true"]).code, 0);
}

#[test]
fn store_location_from_the_environment() {
    let r = Rdock::with_busybox();
    let out = std::process::Command::new(bin())
        .env("RDOCK_ROOT", &r.root)
        .env("RDOCK_RUNROOT", &r.runroot)
        .args(["images", "--format", "{{.Repository}}"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "busybox\n");
    let out = std::process::Command::new(bin())
        .args(["--log-level", "debug", "--root"])
        .arg(&r.root)
        .arg("--runroot")
        .arg(&r.runroot)
        .args(["info", "--format", "{{.DockerRootDir}}"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        r.root.to_str().unwrap()
    );
}

#[test]
fn unknown_commands_and_flags_exit_as_docker() {
    let r = Rdock::new();
    let e = r.run(&["images", "--bogus"]).fails_125().to_string();
    assert!(e.contains("unknown flag: --bogus"), "{e}");
    // docker exits 1, not 125, for a command it does not know.
    let e = r.run(&["frobnicate"]);
    assert_eq!(e.code, 1);
    assert!(
        e.stderr.contains("unknown command: rdock frobnicate"),
        "{}",
        e.stderr
    );
    assert!(r.run(&["--version"]).ok().starts_with("rdock version "));
    assert!(r.run(&["-v"]).ok().starts_with("rdock version "));
    let info = r
        .run(&["info", "--format", "{{.CgroupVersion}} {{.Driver}}"])
        .ok()
        .to_string();
    assert!(info == "1 overlay\n" || info == "2 overlay\n", "{info}");
    assert!(r.run(&["info"]).ok().contains("Cgroup Version:"));
    assert!(r.run(&["version"]).ok().contains("Version:"));
}

/// `rdock images -q | head -1`: a reader gone before rdock writes ends
/// rdock by SIGPIPE as it ends the docker CLI (a Go program), quietly;
/// never a panic (exit 101, or 134 with panic=abort).
#[test]
fn a_closed_stdout_ends_quietly_by_sigpipe() {
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::os::unix::process::ExitStatusExt;
    let r = Rdock::with_busybox();
    r.run(&["create", "--name", "piped", "busybox"]).ok();
    for args in [
        &["images", "-q"][..],
        &["inspect", "busybox"],
        &["history", "busybox"],
        &["save", "busybox"],
        &["export", "piped"],
        &["cp", "piped:/bin", "-"],
        &["ps", "-a"],
    ] {
        let mut fds = [0; 2];
        // Close-on-exec: a child another test thread spawns meanwhile
        // must not inherit the read end and keep the pipe open.
        // SAFETY: pipe2 fills the two fds it returns.
        assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        // SAFETY: both fds are ours; the read end closes at once.
        let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        drop(read);
        let out = r
            .cmd(args)
            .stdout(std::process::Stdio::from(write))
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        assert_eq!(
            out.status.signal(),
            Some(libc::SIGPIPE),
            "{args:?}: {:?} {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.stderr.is_empty(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    r.run(&["rm", "piped"]).ok();
}
