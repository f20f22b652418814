//! userns-remap (daemon.json, as docker's): the container's root is an
//! unprivileged host uid from /etc/subuid, files still look root-owned
//! inside and are stored as in any other container, `--userns host` opts
//! out, and what docker refuses with remapping is refused.

mod common;
use common::*;
use std::path::Path;

/// Lines this test adds to /etc/subuid and /etc/subgid, removed (with the
/// files, if it made them) when it ends.
struct SubIds {
    line: String,
    created: Vec<&'static str>,
}

impl SubIds {
    fn add(line: &str) -> SubIds {
        let mut created = Vec::new();
        for f in ["/etc/subuid", "/etc/subgid"] {
            if !Path::new(f).exists() {
                created.push(f);
            }
            let mut text = std::fs::read_to_string(f).unwrap_or_default();
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(line);
            text.push('\n');
            std::fs::write(f, text).unwrap();
        }
        SubIds {
            line: line.to_string(),
            created,
        }
    }
}

impl Drop for SubIds {
    fn drop(&mut self) {
        for f in ["/etc/subuid", "/etc/subgid"] {
            if self.created.contains(&f) {
                let _ = std::fs::remove_file(f);
                continue;
            }
            if let Ok(text) = std::fs::read_to_string(f) {
                let kept: String = text
                    .lines()
                    .filter(|l| *l != self.line)
                    .map(|l| format!("{l}\n"))
                    .collect();
                let _ = std::fs::write(f, kept);
            }
        }
    }
}

#[test]
fn remapped_root_is_an_unprivileged_host_uid() {
    let uid = 60000 + std::process::id() % 5000;
    let base = 500_000 + (std::process::id() % 100) * 65536;
    let _ids = SubIds::add(&format!("{uid}:{base}:65536"));
    let r = Rdock::with_busybox();
    let cfg = r.dir.path().join("daemon.json");
    let mut settings: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&cfg).unwrap()).unwrap();
    settings["userns-remap"] = format!("{uid}:{uid}").into();
    std::fs::write(&cfg, settings.to_string()).unwrap();

    r.run(&[
        "run",
        "-d",
        "--name",
        "un",
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        "touch /made-inside; sleep 600",
    ])
    .ok();
    let pid = wait_for_pid(&r, "un");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let host_uid = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string();
    assert_eq!(host_uid, base.to_string(), "{status}");
    let inside = r
        .run(&["exec", "un", "sh", "-c", "cat /proc/self/uid_map; id -u; stat -c %u /bin /made-inside; mknod /dev/x c 1 3 2>&1 || true"])
        .ok()
        .to_string();
    let words: Vec<&str> = inside.split_whitespace().collect();
    assert_eq!(
        &words[..3],
        &["0", base.to_string().as_str(), "65536"],
        "{inside}"
    );
    // Root inside, owning the image's files and its own.
    assert_eq!(&words[3..6], &["0", "0", "0"], "{inside}");
    // Privileged over nothing of the host's.
    assert!(inside.contains("Operation not permitted"), "{inside}");
    // Its /dev, nodes, /dev/shm and /etc files are its root's too.
    let owners = r
        .run(&[
            "exec",
            "un",
            "stat",
            "-c",
            "%u:%g",
            "/dev",
            "/dev/null",
            "/dev/shm",
            "/etc/hostname",
        ])
        .ok()
        .to_string();
    assert_eq!(owners, "0:0\n".repeat(4), "{owners}");
    // On disk the container's files are stored as in any container.
    let id = r
        .run(&["inspect", "-f", "{{.Id}}", "un"])
        .ok()
        .trim()
        .to_string();
    let made = r
        .root
        .join("containers")
        .join(&id)
        .join("upper/made-inside");
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(&made).unwrap().uid(), 0);
    r.run(&["rm", "-f", "un"]).ok();
    assert!(
        mounts_mentioning(&id).is_empty(),
        "{:?}",
        mounts_mentioning(&id)
    );

    // --userns host: no remapping.
    let out = r
        .run(&[
            "run",
            "--rm",
            "--network",
            "none",
            "--userns",
            "host",
            "busybox",
            "cat",
            "/proc/self/uid_map",
        ])
        .ok()
        .to_string();
    assert_eq!(
        out.split_whitespace().collect::<Vec<_>>(),
        ["0", "0", "4294967295"]
    );
    // docker's refusals.
    let e = r.run(&["create", "--privileged", "busybox", "true"]);
    assert!(e
        .fails_1()
        .contains("privileged mode is incompatible with user namespaces"));
    let e = r.run(&["create", "--network", "host", "busybox", "true"]);
    assert!(e
        .fails_1()
        .contains("host's network namespace when user namespaces are enabled"));
    r.run(&[
        "create",
        "--name",
        "opt",
        "--userns",
        "host",
        "--privileged",
        "busybox",
        "true",
    ])
    .ok();
    assert_eq!(
        r.run(&["inspect", "-f", "{{.HostConfig.UsernsMode}}", "opt"])
            .ok()
            .trim(),
        "host"
    );
    let e = r.run(&["create", "--userns", "private", "busybox", "true"]);
    assert!(e.fails_125().contains("--userns: invalid USER mode"));
    r.run(&["rm", "opt"]).ok();
}
