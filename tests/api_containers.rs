//! The Engine API's container and image archive endpoints driven by the
//! docker 28 CLI: `cp` both ways (running and stopped containers),
//! export, diff, top, stats, update, commit, history, save and load,
//! each compared with rdock's own CLI on the same store.

mod common;

use common::api::{text, Service};
use common::Rdock;
use std::path::Path;
use std::process::{Command, Stdio};

/// Every file under `dir` with its contents, sorted: two trees compare
/// equal when these do.
fn tree(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(dir).unwrap().display().to_string();
            if p.is_dir() {
                out.push((format!("{rel}/"), String::new()));
                todo.push(p);
            } else {
                out.push((rel, std::fs::read_to_string(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// The names in a tar stream, sorted.
fn tar_names(tar: &[u8]) -> Vec<String> {
    let mut child = Command::new("tar")
        .arg("t")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(tar).unwrap();
    }
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success());
    let mut names: Vec<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    names.sort();
    names
}

#[test]
fn docker_cp_into_and_out_of_running_and_stopped_containers() {
    let r = Rdock::with_busybox();
    let s = Service::start(&r, &["--time", "0"]);
    s.ok(&["run", "-d", "--name", "cp-run", "busybox", "sleep", "300"]);
    s.ok(&["create", "--name", "cp-stop", "busybox", "true"]);
    let host = r.dir.path().join("host");
    std::fs::create_dir_all(host.join("dir/sub")).unwrap();
    std::fs::write(host.join("file"), "one\n").unwrap();
    std::fs::write(host.join("dir/a"), "a\n").unwrap();
    std::fs::write(host.join("dir/sub/b"), "b\n").unwrap();
    let h = |p: &str| host.join(p).display().to_string();
    for c in ["cp-run", "cp-stop"] {
        // In: a file under a new name, a directory into /tmp.
        let (code, out, err) = text(&s.docker(&["cp", &h("file"), &format!("{c}:/tmp/f")]));
        assert_eq!((code, out.as_str()), (0, ""), "{err}");
        s.ok(&["cp", &h("dir"), &format!("{c}:/tmp/")]);
        // Out, by docker and by rdock: the same trees, the same as sent.
        let (dk, rd) = (host.join(format!("dk-{c}")), host.join(format!("rd-{c}")));
        std::fs::create_dir(&dk).unwrap();
        std::fs::create_dir(&rd).unwrap();
        for src in ["/tmp/f", "/tmp/dir"] {
            s.ok(&["cp", &format!("{c}:{src}"), &dk.display().to_string()]);
            r.run(&["cp", &format!("{c}:{src}"), &rd.display().to_string()])
                .ok();
        }
        assert_eq!(tree(&dk), tree(&rd), "{c}");
        assert_eq!(
            tree(&dk),
            vec![
                ("dir/".into(), String::new()),
                ("dir/a".into(), "a\n".into()),
                ("dir/sub/".into(), String::new()),
                ("dir/sub/b".into(), "b\n".into()),
                ("f".into(), "one\n".into()),
            ],
            "{c}"
        );
        // A tar stream out (HEAD-less GET), as rdock's.
        let dk_tar = s.docker(&["cp", &format!("{c}:/tmp/dir"), "-"]).stdout;
        let rd_tar = r
            .cmd(&["cp", &format!("{c}:/tmp/dir"), "-"])
            .output()
            .unwrap()
            .stdout;
        assert_eq!(tar_names(&dk_tar), tar_names(&rd_tar));
        // A missing path: docker's error (the daemon's 404) and exit 1.
        let (code, _, err) = text(&s.docker(&["cp", &format!("{c}:/nope"), &h("x")]));
        assert_eq!(code, 1);
        assert_eq!(
            err,
            format!("Error response from daemon: Could not find the file /nope in container {c}\n")
        );
        let rd_err = r.run(&["cp", &format!("{c}:/nope"), &h("x")]);
        assert_eq!(
            err,
            format!("Error response from daemon: {}", rd_err.fails_1())
        );
    }
    // What the running container's processes see.
    assert_eq!(
        r.run(&["exec", "cp-run", "cat", "/tmp/f", "/tmp/dir/sub/b"])
            .ok(),
        "one\nb\n"
    );
    s.ok(&["rm", "-f", "cp-run", "cp-stop"]);
}

#[test]
fn export_diff_top_stats_update() {
    let r = Rdock::with_busybox();
    let s = Service::start(&r, &["--time", "0"]);
    s.ok(&[
        "run",
        "-d",
        "--name",
        "ops",
        "busybox",
        "sh",
        "-c",
        "touch /tmp/new; rm /etc/group; exec sleep 300",
    ]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !s.ok(&["diff", "ops"]).contains("D /etc/group") {
        assert!(std::time::Instant::now() < deadline, "no changes");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let diff = s.ok(&["diff", "ops"]);
    assert_eq!(diff, r.run(&["diff", "ops"]).ok());
    assert!(
        diff.contains("A /tmp/new\n") && diff.contains("C /etc\n"),
        "{diff}"
    );

    let dk = s.docker(&["export", "ops"]);
    assert!(dk.status.success());
    let rd = r.cmd(&["export", "ops"]).output().unwrap();
    let names = tar_names(&dk.stdout);
    assert_eq!(names, tar_names(&rd.stdout));
    assert!(names.iter().any(|n| n == "tmp/new") && !names.iter().any(|n| n == "etc/group"));

    // top: the same cells (docker's CLI pads its table its own way).
    let cells = |t: &str| -> Vec<Vec<String>> {
        t.lines()
            .map(|l| l.split_whitespace().map(str::to_string).collect())
            .collect()
    };
    let top = s.ok(&["top", "ops"]);
    assert_eq!(cells(&top), cells(r.run(&["top", "ops"]).ok()));
    assert!(top.contains("sleep 300"), "{top}");
    assert_eq!(
        cells(&s.ok(&["top", "ops", "-o", "pid,comm"])),
        cells(r.run(&["top", "ops", "-o", "pid,comm"]).ok())
    );

    // update, then stats: the limit both ways.
    assert_eq!(s.ok(&["update", "--memory", "64m", "ops"]), "ops\n");
    assert_eq!(
        r.run(&["inspect", "-f", "{{.HostConfig.Memory}}", "ops"])
            .ok(),
        "67108864\n"
    );
    let fmt = "{{.Name}} {{.PIDs}} {{.MemUsage}}";
    let limit = |t: &str| t.split(" / ").nth(1).unwrap_or_default().to_string();
    let dk = s.ok(&["stats", "--no-stream", "--format", fmt, "ops"]);
    let rd = r.run(&["stats", "--no-stream", "--format", fmt, "ops"]);
    assert!(dk.starts_with("ops 1 "), "{dk}");
    assert_eq!(limit(&dk), "64MiB\n");
    assert_eq!(limit(&dk), limit(rd.ok()));
    assert_eq!(dk.split(" / ").next(), rd.ok().split(" / ").next());

    // A stopped container: docker's 409 for top, zeros for stats.
    s.ok(&["create", "--name", "ops-stopped", "busybox", "true"]);
    let (code, _, err) = text(&s.docker(&["top", "ops-stopped"]));
    assert_eq!(code, 1);
    assert!(err.contains("is not running"), "{err}");
    assert_eq!(
        s.ok(&["stats", "--no-stream", "--format", fmt, "ops-stopped"]),
        "ops-stopped 0 0B / 0B\n"
    );
    s.ok(&["rm", "-f", "ops", "ops-stopped"]);
}

#[test]
fn commit_history_save_load() {
    let r = Rdock::with_busybox();
    let s = Service::start(&r, &["--time", "0"]);
    s.ok(&[
        "run",
        "--name",
        "snap-src",
        "busybox",
        "sh",
        "-c",
        "echo saved > /greeting",
    ]);
    let id = s.ok(&[
        "commit",
        "-m",
        "a message",
        "-a",
        "someone",
        "-c",
        "CMD [\"cat\", \"/greeting\"]",
        "snap-src",
        "snap:v1",
    ]);
    assert!(id.starts_with("sha256:") && id.trim().len() == 71, "{id}");
    assert_eq!(s.ok(&["run", "--rm", "snap:v1"]), "saved\n");
    assert_eq!(
        r.run(&["inspect", "-f", "{{.Author}} {{.Comment}}", "snap:v1"])
            .ok(),
        "someone a message\n"
    );

    let fmt = "{{.ID}}|{{.CreatedBy}}|{{.Size}}|{{.Comment}}";
    let dk = s.ok(&["history", "--no-trunc", "--format", fmt, "snap:v1"]);
    assert_eq!(
        dk,
        r.run(&["history", "--no-trunc", "--format", fmt, "snap:v1"])
            .ok()
    );
    assert!(
        dk.starts_with(id.trim()) && dk.contains("|a message\n"),
        "{dk}"
    );
    // (The table's CREATED column is compared by the format above's
    // absence: the API's seconds and the store's fractions may round
    // differently.)
    assert_eq!(
        s.ok(&["history", "-q", "snap:v1"]),
        r.run(&["history", "-q", "snap:v1"]).ok()
    );

    // save | load: the image comes back, runs, has the same ID.
    let tar = s.docker(&["save", "snap:v1"]);
    assert!(tar.status.success());
    let names = tar_names(&tar.stdout);
    assert!(names.iter().any(|n| n == "manifest.json"), "{names:?}");
    s.ok(&["rm", "snap-src"]);
    s.ok(&["rmi", "snap:v1"]);
    let mut load = s.docker_cmd(&["load"]);
    load.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = load.spawn().unwrap();
    {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(&tar.stdout).unwrap();
    }
    let (code, out, err) = text(&child.wait_with_output().unwrap());
    assert_eq!(
        (code, out.as_str()),
        (0, "Loaded image: snap:v1\n"),
        "{err}"
    );
    assert_eq!(
        s.ok(&["inspect", "-f", "{{.Id}}", "snap:v1"]).trim(),
        id.trim()
    );
    assert_eq!(s.ok(&["run", "--rm", "snap:v1"]), "saved\n");
    // A missing image: docker's 404 before any byte of archive.
    let (code, out, err) = text(&s.docker(&["save", "nope"]));
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(
        err,
        // The image as it was asked for, as docker 28.5 names it.
        "Error response from daemon: No such image: nope\n"
    );
    r.run(&["rmi", "snap:v1"]).ok();
}
