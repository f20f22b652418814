//! `cp` against real containers, running and stopped: docker's rules for
//! paths, -a, -L, tar streams both ways, volumes, progress output, and
//! the hostile set (symlinks in the container that point at host paths,
//! tar streams that try to climb out), each checked on both sides: the
//! container file that must change did, the host file that must not did
//! not. Every test also checks that no mount was left behind.

mod common;
use common::*;
use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Stdio;

/// A container that runs until removed.
fn running(r: &Rdock, name: &str, extra: &[&str]) {
    let mut args = vec!["run", "-d", "--network", "none", "--name", name];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["busybox", "sleep", "1000"]);
    r.run(&args).ok();
}

fn sh(r: &Rdock, c: &str, script: &str) -> String {
    r.run(&["exec", c, "sh", "-c", script]).ok().to_string()
}

/// Nothing of this test's store is mounted on the host, and nothing is
/// mounted on any container's `merged` dir (a copy's private view).
#[track_caller]
fn no_mounts_left(r: &Rdock) {
    let root = r.dir.path().display().to_string();
    let left = mounts_mentioning(&root);
    assert!(left.is_empty(), "mounts left behind: {left:#?}");
}

/// A directory tree as "path kind[:content]" lines, sorted, on the host.
fn host_tree(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, p: &Path, out: &mut Vec<String>) {
        let mut names: Vec<_> = std::fs::read_dir(p)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        for path in names {
            let rel = format!("./{}", path.strip_prefix(base).unwrap().display());
            let m = std::fs::symlink_metadata(&path).unwrap();
            if m.file_type().is_symlink() {
                out.push(format!("{rel} l"));
            } else if m.is_dir() {
                out.push(format!("{rel} d"));
                walk(base, &path, out);
            } else {
                out.push(format!(
                    "{rel} f:{}",
                    std::fs::read_to_string(&path).unwrap()
                ));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// The same listing of a directory inside a running container, by its
/// own tools.
fn container_tree(r: &Rdock, c: &str, dir: &str) -> Vec<String> {
    let script = format!(
        "cd {dir} && find . -mindepth 1 | sort | while read p; do \
         if [ -L \"$p\" ]; then echo \"$p l\"; elif [ -d \"$p\" ]; then echo \"$p d\"; \
         else echo \"$p f:$(cat \"$p\")\"; fi; done"
    );
    let mut v: Vec<String> = sh(r, c, &script).lines().map(String::from).collect();
    v.sort();
    v
}

fn write(p: &Path, content: &str) {
    if let Some(d) = p.parent() {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::write(p, content).unwrap();
}

#[test]
fn copies_both_ways_on_created_running_and_exited_containers() {
    let r = Rdock::with_busybox();
    let src = r.dir.path().join("hello.txt");
    write(&src, "hello from the host\n");
    let src_s = src.to_str().unwrap();
    r.run(&[
        "create",
        "--network",
        "none",
        "--name",
        "created",
        "busybox",
        "sleep",
        "1000",
    ])
    .ok();
    running(&r, "up", &[]);
    running(&r, "done", &[]);
    r.run(&["stop", "-t", "0", "done"]).ok();
    for c in ["created", "up", "done"] {
        r.run(&["cp", src_s, &format!("{c}:/tmp/in.txt")]).ok();
        no_mounts_left(&r);
        let out = r.dir.path().join(format!("out-{c}.txt"));
        r.run(&[
            "container",
            "cp",
            &format!("{c}:/tmp/in.txt"),
            out.to_str().unwrap(),
        ])
        .ok();
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "hello from the host\n",
            "{c}"
        );
        // Relative container paths are relative to "/", as docker's.
        let out2 = r.dir.path().join(format!("out2-{c}.txt"));
        r.run(&["cp", &format!("{c}:tmp/in.txt"), out2.to_str().unwrap()])
            .ok();
        assert_eq!(
            std::fs::read_to_string(&out2).unwrap(),
            "hello from the host\n"
        );
        no_mounts_left(&r);
    }
    // What was copied into the stopped ones is there when they run, and
    // the running one sees it at once.
    assert_eq!(sh(&r, "up", "cat /tmp/in.txt"), "hello from the host\n");
    for c in ["created", "done"] {
        r.run(&["start", c]).ok();
        assert_eq!(sh(&r, c, "cat /tmp/in.txt"), "hello from the host\n", "{c}");
    }
    // A stopped container's files keep their mode and time on the way out.
    r.run(&["stop", "-t", "0", "up"]).ok();
    let out = r.dir.path().join("busybox");
    r.run(&["cp", "up:/bin/busybox", out.to_str().unwrap()])
        .ok();
    let m = std::fs::metadata(&out).unwrap();
    assert_eq!(m.permissions().mode() & 0o7777, 0o755);
    assert_eq!(m.mtime(), 1_700_000_000);
    assert_eq!(
        std::fs::read(&out).unwrap(),
        std::fs::read(BUSYBOX).unwrap()
    );
    no_mounts_left(&r);
}

/// One row of docker's table: SRC_PATH (file `f`, directory `d` with
/// `a` and `sub/b`) with or without "/" and "/.", DEST_PATH missing, a
/// file, a directory, with or without "/" and "/.". Each destination
/// starts as `file` ("old") and `dir/keep` ("k").
struct Case {
    src: &'static str,
    dst: &'static str,
    /// What the destination directory holds afterwards (besides `file`
    /// and `dir/keep` unless listed), or the error text.
    want: Result<&'static [&'static str], &'static str>,
    /// The error text when copying out of the container, where docker's
    /// words differ.
    want_out_err: Option<&'static str>,
    want_in_err: Option<&'static str>,
}

const D_TREE: &[&str] = &["./new d", "./new/a f:A", "./new/sub d", "./new/sub/b f:B"];

fn cases() -> Vec<Case> {
    let ok = |w: &'static [&'static str]| Case {
        src: "",
        dst: "",
        want: Ok(w),
        want_out_err: None,
        want_in_err: None,
    };
    let err = |e: &'static str| Case {
        src: "",
        dst: "",
        want: Err(e),
        want_out_err: None,
        want_in_err: None,
    };
    let c = |src, dst, mut case: Case| {
        case.src = src;
        case.dst = dst;
        case
    };
    vec![
        // SRC_PATH is a file.
        c("f", "new", ok(&["./new f:F"])),
        c("f", "new/", err("no such directory")),
        c("f", "file", ok(&["./file f:F"])),
        Case {
            want_out_err: Some("not a directory"),
            ..c("f", "file/", err("no such directory"))
        },
        c("f", "dir", ok(&["./dir/f f:F"])),
        c("f", "dir/", ok(&["./dir/f f:F"])),
        c("f", "dir/.", ok(&["./dir/f f:F"])),
        c("f/", "dir", err("not a directory")),
        c("f/.", "dir", err("not a directory")),
        // SRC_PATH is a directory.
        c("d", "new", ok(D_TREE)),
        c("d", "new/", ok(D_TREE)),
        c("d/", "new", ok(D_TREE)),
        c("d/.", "new", ok(D_TREE)),
        c("d", "file", err("cannot copy directory")),
        c("d/.", "file", err("cannot copy directory")),
        c(
            "d",
            "dir",
            ok(&[
                "./dir/d d",
                "./dir/d/a f:A",
                "./dir/d/sub d",
                "./dir/d/sub/b f:B",
            ]),
        ),
        c(
            "d/",
            "dir",
            ok(&[
                "./dir/d d",
                "./dir/d/a f:A",
                "./dir/d/sub d",
                "./dir/d/sub/b f:B",
            ]),
        ),
        c(
            "d/.",
            "dir",
            ok(&["./dir/a f:A", "./dir/sub d", "./dir/sub/b f:B"]),
        ),
        c(
            "d/.",
            "dir/",
            ok(&["./dir/a f:A", "./dir/sub d", "./dir/sub/b f:B"]),
        ),
        c(
            "d/.",
            "dir/.",
            ok(&["./dir/a f:A", "./dir/sub d", "./dir/sub/b f:B"]),
        ),
        // Parents are never created.
        Case {
            want_out_err: Some("invalid output path: directory"),
            want_in_err: Some("Could not find the file"),
            ..c("d", "missing/new", err(""))
        },
        Case {
            want_out_err: Some("invalid output path: directory"),
            want_in_err: Some("Could not find the file"),
            ..c("f", "missing/new", err(""))
        },
        Case {
            want_out_err: Some("no such file or directory"),
            want_in_err: Some("Could not find the file"),
            ..c("d", "new/.", err(""))
        },
        // A missing source.
        Case {
            want_out_err: Some("Could not find the file"),
            want_in_err: Some("no such file or directory"),
            ..c("nosuch", "dir", err(""))
        },
    ]
}

fn expected(case: &Case) -> Vec<String> {
    let mut base: BTreeMap<String, String> =
        [("./dir", "d"), ("./dir/keep", "f:k"), ("./file", "f:old")]
            .into_iter()
            .map(|(p, k)| (p.to_string(), k.to_string()))
            .collect();
    for line in case.want.unwrap_or(&[]) {
        let (p, k) = line.split_once(' ').unwrap();
        base.insert(p.to_string(), k.to_string());
    }
    base.into_iter().map(|(p, k)| format!("{p} {k}")).collect()
}

#[test]
fn docker_trailing_slash_and_existing_directory_table() {
    let r = Rdock::with_busybox();
    running(&r, "tbl", &[]);
    let cases = cases();
    // The source tree on both sides, and one fresh destination per case.
    let hsrc = r.dir.path().join("src");
    write(&hsrc.join("f"), "F");
    write(&hsrc.join("d/a"), "A");
    write(&hsrc.join("d/sub/b"), "B");
    let mut setup = String::from(
        "mkdir -p /srcs/d/sub && echo -n F > /srcs/f && echo -n A > /srcs/d/a && echo -n B > /srcs/d/sub/b",
    );
    for i in 0..cases.len() {
        setup.push_str(&format!(
            " && mkdir -p /cases/{i}/dir && echo -n old > /cases/{i}/file && echo -n k > /cases/{i}/dir/keep"
        ));
        let h = r.dir.path().join(format!("cases/{i}"));
        write(&h.join("file"), "old");
        write(&h.join("dir/keep"), "k");
    }
    sh(&r, "tbl", &setup);
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        // Into the container.
        let res = r.run(&[
            "cp",
            hsrc.join(case.src).to_str().unwrap(),
            &format!("tbl:/cases/{i}/{}", case.dst),
        ]);
        let label = format!("cp {} tbl:{} (in)", case.src, case.dst);
        match (case.want_in_err.map(Err).unwrap_or(case.want), res.code) {
            (Ok(_), 0) => {
                let got = container_tree(&r, "tbl", &format!("/cases/{i}"));
                if got != expected(case) {
                    failures.push(format!("{label}: got {got:?}, want {:?}", expected(case)));
                }
            }
            (Err(e), 1) if res.stderr.contains(e) && res.stderr.lines().count() == 1 => {
                let got = container_tree(&r, "tbl", &format!("/cases/{i}"));
                if got != expected(case) {
                    failures.push(format!("{label}: failed but changed {got:?}"));
                }
            }
            (want, _) => failures.push(format!(
                "{label}: want {want:?}, got {} {}",
                res.code, res.stderr
            )),
        }
        // Out of the container.
        let h = r.dir.path().join(format!("cases/{i}"));
        let res = r.run(&[
            "cp",
            &format!("tbl:/srcs/{}", case.src),
            &format!("{}/{}", h.display(), case.dst),
        ]);
        let label = format!("cp tbl:{} {} (out)", case.src, case.dst);
        match (case.want_out_err.map(Err).unwrap_or(case.want), res.code) {
            (Ok(_), 0) => {
                let got = host_tree(&h);
                if got != expected(case) {
                    failures.push(format!("{label}: got {got:?}, want {:?}", expected(case)));
                }
            }
            (Err(e), 1) if res.stderr.contains(e) && res.stderr.lines().count() == 1 => {
                let got = host_tree(&h);
                if got != expected(case) {
                    failures.push(format!("{label}: failed but changed {got:?}"));
                }
            }
            (want, _) => failures.push(format!(
                "{label}: want {want:?}, got {} {}",
                res.code, res.stderr
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    no_mounts_left(&r);
}

#[test]
fn archive_mode_keeps_ids_and_default_gives_them_to_root() {
    let r = Rdock::with_busybox();
    running(&r, "ctr", &[]);
    let f = r.dir.path().join("owned");
    write(&f, "x");
    std::os::unix::fs::chown(&f, Some(1234), Some(5678)).unwrap();
    r.run(&["cp", f.to_str().unwrap(), "ctr:/tmp/plain"]).ok();
    r.run(&["cp", "-a", f.to_str().unwrap(), "ctr:/tmp/kept"])
        .ok();
    r.run(&["cp", "--archive", f.to_str().unwrap(), "ctr:/tmp/kept2"])
        .ok();
    assert_eq!(
        sh(&r, "ctr", "stat -c %u:%g /tmp/plain /tmp/kept /tmp/kept2"),
        "0:0\n1234:5678\n1234:5678\n"
    );
    // Out of the container: the copier's ids, or the container's with -a;
    // a setuid bit does not survive a change of owner.
    sh(
        &r,
        "ctr",
        "echo -n y > /tmp/alice && chown 1000:1000 /tmp/alice && chmod 4755 /tmp/alice",
    );
    let plain = r.dir.path().join("alice-plain");
    let kept = r.dir.path().join("alice-kept");
    r.run(&["cp", "ctr:/tmp/alice", plain.to_str().unwrap()])
        .ok();
    r.run(&["cp", "-a", "ctr:/tmp/alice", kept.to_str().unwrap()])
        .ok();
    let m = std::fs::metadata(&plain).unwrap();
    assert_eq!((m.uid(), m.gid(), m.mode() & 0o7777), (0, 0, 0o755));
    let m = std::fs::metadata(&kept).unwrap();
    assert_eq!((m.uid(), m.gid(), m.mode() & 0o7777), (1000, 1000, 0o4755));
    // A directory's ids apply to everything below it.
    let d = r.dir.path().join("tree");
    write(&d.join("sub/file"), "z");
    for p in [d.clone(), d.join("sub"), d.join("sub/file")] {
        std::os::unix::fs::chown(&p, Some(42), Some(43)).unwrap();
    }
    r.run(&["cp", d.to_str().unwrap(), "ctr:/tmp/tree"]).ok();
    r.run(&["cp", "-a", d.to_str().unwrap(), "ctr:/tmp/treea"])
        .ok();
    assert_eq!(
        sh(
            &r,
            "ctr",
            "stat -c %u:%g /tmp/tree /tmp/tree/sub/file /tmp/treea /tmp/treea/sub/file"
        ),
        "0:0\n0:0\n42:43\n42:43\n"
    );
    no_mounts_left(&r);
}

#[test]
fn follow_link_copies_the_target_under_the_links_name() {
    let r = Rdock::with_busybox();
    running(&r, "ctr", &[]);
    sh(
        &r,
        "ctr",
        "mkdir -p /data/real && echo -n target > /data/real/file && ln -s /data/real/file /lnk \
         && ln -s real /data/dirlink && ln -s /data/nowhere /dangling",
    );
    let out = r.dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    // Without -L the link itself.
    r.run(&["cp", "ctr:/lnk", out.to_str().unwrap()]).ok();
    assert_eq!(
        std::fs::read_link(out.join("lnk")).unwrap(),
        Path::new("/data/real/file")
    );
    // With -L the file it names, under the link's name.
    let out2 = r.dir.path().join("out2");
    std::fs::create_dir(&out2).unwrap();
    r.run(&["cp", "-L", "ctr:/lnk", out2.to_str().unwrap()])
        .ok();
    assert_eq!(std::fs::read_to_string(out2.join("lnk")).unwrap(), "target");
    r.run(&[
        "cp",
        "--follow-link",
        "ctr:/data/dirlink",
        out2.to_str().unwrap(),
    ])
    .ok();
    assert_eq!(
        std::fs::read_to_string(out2.join("dirlink/file")).unwrap(),
        "target"
    );
    // A trailing slash follows a directory link without -L.
    let out3 = r.dir.path().join("out3");
    r.run(&["cp", "ctr:/data/dirlink/", out3.to_str().unwrap()])
        .ok();
    assert_eq!(
        std::fs::read_to_string(out3.join("file")).unwrap(),
        "target"
    );

    // From the host: the same rules.
    let h = r.dir.path().join("h");
    write(&h.join("real"), "host target");
    std::os::unix::fs::symlink("real", h.join("hl")).unwrap();
    r.run(&["cp", h.join("hl").to_str().unwrap(), "ctr:/tmp/"])
        .ok();
    r.run(&[
        "cp",
        "-L",
        h.join("hl").to_str().unwrap(),
        "ctr:/tmp/hl-followed",
    ])
    .ok();
    assert_eq!(
        sh(&r, "ctr", "readlink /tmp/hl; cat /tmp/hl-followed"),
        "real\nhost target"
    );
    // A destination that is a symlink is followed inside the container, a
    // dangling one names the file to create.
    r.run(&["cp", h.join("real").to_str().unwrap(), "ctr:/lnk"])
        .ok();
    r.run(&["cp", h.join("real").to_str().unwrap(), "ctr:/dangling"])
        .ok();
    assert_eq!(
        sh(
            &r,
            "ctr",
            "cat /data/real/file; echo; cat /data/nowhere; echo; readlink /lnk"
        ),
        "host target\nhost target\n/data/real/file\n"
    );
    no_mounts_left(&r);
}

fn tar_list(data: &[u8]) -> Vec<String> {
    let mut child = std::process::Command::new("tar")
        .args(["-tvf", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(data).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            // "mode owner size date time name [-> target]": keep mode, owner, name.
            let f: Vec<&str> = l.split_whitespace().collect();
            format!("{} {} {}", f[0], f[1], f[5..].join(" "))
        })
        .collect()
}

#[test]
fn tar_streams_both_ways_match_tar() {
    let r = Rdock::with_busybox();
    running(&r, "ctr", &[]);
    sh(
        &r,
        "ctr",
        "mkdir -p /x/sub && echo -n one > /x/one && echo -n two > /x/sub/two && ln -s one /x/link \
         && ln /x/one /x/hard && mkfifo /x/fifo && chown 1000:50 /x/sub/two && chmod 600 /x/sub/two",
    );
    let out = r
        .cmd(&["cp", "ctr:/x", "-"])
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // No progress line for a stream, even on a terminal.
    assert!(out.stderr.is_empty());
    let mut got = tar_list(&out.stdout);
    got.sort();
    let mut want = vec![
        "drwxr-xr-x 0/0 x/",
        "prw-r--r-- 0/0 x/fifo",
        "-rw-r--r-- 0/0 x/hard",
        "lrwxrwxrwx 0/0 x/link -> one",
        "hrw-r--r-- 0/0 x/one link to x/hard",
        "drwxr-xr-x 0/0 x/sub/",
        "-rw------- 1000/50 x/sub/two",
    ];
    want.sort();
    assert_eq!(got, want);
    // "/." streams the contents, as docker's "./" entries.
    let out = r
        .cmd(&["cp", "ctr:/x/sub/.", "-"])
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(
        tar_list(&out.stdout),
        vec!["drwxr-xr-x 0/0 ./", "-rw------- 1000/50 ./two"]
    );
    // Host tar extracts the stream to the same files.
    let ex = r.dir.path().join("ex");
    std::fs::create_dir(&ex).unwrap();
    let out = r
        .cmd(&["cp", "ctr:/x", "-"])
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    let mut t = std::process::Command::new("tar")
        .args(["-xf", "-", "-C", ex.to_str().unwrap()])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    t.stdin.take().unwrap().write_all(&out.stdout).unwrap();
    assert!(t.wait().unwrap().success());
    assert_eq!(
        std::fs::read_to_string(ex.join("x/sub/two")).unwrap(),
        "two"
    );
    assert_eq!(std::fs::metadata(ex.join("x/hard")).unwrap().nlink(), 2);

    // Into the container: a tar made by host tar, plain and gzip, into a
    // directory (the "." entry leaves the directory as it is).
    let src = r.dir.path().join("tsrc");
    write(&src.join("a"), "AA");
    write(&src.join("deep/b"), "BB");
    std::fs::set_permissions(src.join("deep/b"), std::fs::Permissions::from_mode(0o640)).unwrap();
    let tarball = std::process::Command::new("tar")
        .args(["-cf", "-", "-C", src.to_str().unwrap(), "."])
        .output()
        .unwrap()
        .stdout;
    sh(&r, "ctr", "mkdir -p /in1 /in2 && chmod 711 /in1");
    r.run_stdin(&["cp", "-", "ctr:/in1"], &tarball).ok();
    r.run_stdin(&["cp", "-a", "-", "ctr:/in2/"], &gzip(&tarball))
        .ok();
    // bzip2, as docker's daemon reads it (by the host's bzip2).
    let mut bz = std::process::Command::new("bzip2")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = bz.stdin.take().unwrap();
    let raw = tarball.clone();
    let feeder = std::thread::spawn(move || std::io::Write::write_all(&mut input, &raw));
    let bzipped = bz.wait_with_output().unwrap().stdout;
    feeder.join().unwrap().unwrap();
    assert!(bzipped.starts_with(b"BZh"));
    sh(&r, "ctr", "mkdir /in3");
    r.run_stdin(&["cp", "-", "ctr:/in3"], &bzipped).ok();
    assert_eq!(
        sh(
            &r,
            "ctr",
            "cat /in1/a /in1/deep/b /in2/a /in3/deep/b; stat -c '%a %u' /in1 /in1/deep/b"
        ),
        "AABBAABB711 0\n640 0\n"
    );
    // A destination that is not a directory.
    let e = r.run_stdin(&["cp", "-", "ctr:/in1/a"], &tarball);
    assert!(
        e.fails_1()
            .contains("destination \"ctr:/in1/a\" must be a directory"),
        "{}",
        e.stderr
    );
    let e = r.run_stdin(&["cp", "-", "ctr:/nope"], &tarball);
    assert!(e.fails_1().contains("must be a directory"));
    // Not a tar at all.
    let e = r.run_stdin(
        &["cp", "-", "ctr:/in1"],
        "not a tar ".repeat(100).as_bytes(),
    );
    e.fails_1();
    no_mounts_left(&r);
}

/// A raw tar entry: the name is written as is, "../" and all (the tar
/// crate refuses to build such names, as it should).
fn raw_entry(b: &mut Vec<u8>, name: &str, kind: tar::EntryType, link: &str, data: &[u8]) {
    let mut h = tar::Header::new_gnu();
    {
        let old = h.as_old_mut();
        old.name[..name.len()].copy_from_slice(name.as_bytes());
        old.linkname[..link.len()].copy_from_slice(link.as_bytes());
    }
    h.set_entry_type(kind);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mode(0o644);
    h.set_size(data.len() as u64);
    h.set_mtime(1_700_000_000);
    h.set_cksum();
    b.extend_from_slice(h.as_bytes());
    b.extend_from_slice(data);
    b.resize(b.len().div_ceil(512) * 512, 0);
}

/// (name, type, link target, data).
type RawEntry<'a> = (&'a str, tar::EntryType, &'a str, &'a [u8]);

fn raw_tar(entries: &[RawEntry]) -> Vec<u8> {
    let mut b = Vec::new();
    for (n, k, l, d) in entries {
        raw_entry(&mut b, n, *k, l, d);
    }
    b.extend_from_slice(&[0u8; 1024]);
    b
}

/// The host's side of the hostile tests: a file and a directory whose
/// paths the container mirrors and links to.
struct HostBait {
    file: String,
    dir: String,
}

impl HostBait {
    fn new(r: &Rdock) -> HostBait {
        let dir = r.dir.path().join("bait");
        write(&dir.join("secret"), "host");
        HostBait {
            file: dir.join("secret").display().to_string(),
            dir: dir.display().to_string(),
        }
    }
    #[track_caller]
    fn untouched(&self) {
        assert_eq!(std::fs::read_to_string(&self.file).unwrap(), "host");
        let names: Vec<_> = std::fs::read_dir(&self.dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec!["secret"], "files appeared in the host dir");
    }
}

/// The container holds the same paths as the bait (with its own content),
/// and links to them every way: absolute, relative with more ".." than
/// there are directories, a symlinked parent, a link to "/".
fn plant_links(r: &Rdock, c: &str, bait: &HostBait) {
    sh(
        r,
        c,
        &format!(
            "mkdir -p {dir} /a/b && echo -n container > {file} \
             && ln -s {file} /evil && ln -s ../../../../../../../../../..{file} /a/b/rel \
             && ln -s {dir} /evildir && ln -s / /a/root && ln -s ../../../../../.. /a/b/up",
            dir = bait.dir,
            file = bait.file
        ),
    );
}

fn check_links_stay_inside(r: &Rdock, c: &str, bait: &HostBait) {
    let out = r.dir.path().join(format!("loot-{c}"));
    std::fs::create_dir_all(&out).unwrap();
    let o = |n: &str| out.join(n).display().to_string();
    // Reads through every kind of link get the container's file.
    for (src, name) in [
        ("/evil", "1"),
        ("/a/b/rel", "2"),
        ("/evildir/secret", "3"),
        (&format!("/a/root{}", bait.file) as &str, "4"),
        (&format!("/a/b/up{}", bait.file) as &str, "5"),
    ] {
        r.run(&["cp", "-L", &format!("{c}:{src}"), &o(name)]).ok();
        assert_eq!(
            std::fs::read_to_string(o(name)).unwrap(),
            "container",
            "{src}"
        );
    }
    // A directory read through a link: its contents are the container's.
    r.run(&["cp", &format!("{c}:/evildir/."), &o("dir")]).ok();
    assert_eq!(
        std::fs::read_to_string(out.join("dir/secret")).unwrap(),
        "container"
    );
    // Writes through them change the container's file, never the host's.
    let pwn = r.dir.path().join("pwn");
    write(&pwn, "pwned");
    let pwn = pwn.to_str().unwrap();
    for dst in ["/evil", "/a/b/rel"] {
        r.run(&["cp", pwn, &format!("{c}:{dst}")]).ok();
        bait.untouched();
    }
    for dst in [
        "/evildir/",
        "/evildir/new",
        "/a/root/evildir/",
        "/a/b/up/evildir/deeper",
    ] {
        r.run(&["cp", pwn, &format!("{c}:{dst}")]).ok();
        bait.untouched();
    }
    let tarball = raw_tar(&[("streamed", tar::EntryType::Regular, "", b"s")]);
    r.run_stdin(&["cp", "-", &format!("{c}:/evildir")], &tarball)
        .ok();
    r.run_stdin(&["cp", "-", &format!("{c}:/a/b/up{}", bait.dir)], &tarball)
        .ok();
    bait.untouched();
}

fn check_container_got_writes(r: &Rdock, c: &str, bait: &HostBait) {
    assert_eq!(
        sh(
            r,
            c,
            &format!(
                "cd {} && for f in *; do echo \"$f:$(cat $f)\"; done",
                bait.dir
            )
        ),
        "deeper:pwned\nnew:pwned\npwn:pwned\nsecret:pwned\nstreamed:s\n"
    );
}

#[test]
fn container_symlinks_never_lead_to_the_host_running() {
    let r = Rdock::with_busybox();
    let bait = HostBait::new(&r);
    running(&r, "ctr", &[]);
    plant_links(&r, "ctr", &bait);
    check_links_stay_inside(&r, "ctr", &bait);
    check_container_got_writes(&r, "ctr", &bait);
    bait.untouched();
    no_mounts_left(&r);
}

#[test]
fn container_symlinks_never_lead_to_the_host_stopped() {
    let r = Rdock::with_busybox();
    let bait = HostBait::new(&r);
    running(&r, "ctr", &[]);
    plant_links(&r, "ctr", &bait);
    r.run(&["stop", "-t", "0", "ctr"]).ok();
    check_links_stay_inside(&r, "ctr", &bait);
    no_mounts_left(&r);
    r.run(&["start", "ctr"]).ok();
    check_container_got_writes(&r, "ctr", &bait);
    bait.untouched();
    no_mounts_left(&r);
}

#[test]
fn hostile_tar_streams_are_refused_or_kept_inside() {
    let r = Rdock::with_busybox();
    let bait = HostBait::new(&r);
    running(&r, "ctr", &[]);
    plant_links(&r, "ctr", &bait);
    sh(&r, "ctr", "mkdir -p /dst/in");
    use tar::EntryType::{Directory, Link, Regular, Symlink};
    let refused: Vec<(Vec<RawEntry>, &str)> = vec![
        (vec![("../escaped", Regular, "", b"x")], "is outside of"),
        (
            vec![("in/../../escaped", Regular, "", b"x")],
            "is outside of",
        ),
        // Symlink, then a file through it: to the host path, and to "/".
        (
            vec![
                ("lnk", Symlink, &bait.dir, b""),
                ("lnk/pwned", Regular, "", b"x"),
            ],
            "symbolic link",
        ),
        (
            vec![("up", Symlink, "/", b""), ("up/escaped", Regular, "", b"x")],
            "symbolic link",
        ),
        // A relative link out of the destination, as docker refuses it.
        (
            vec![("rel", Symlink, "../../../../etc", b"")],
            "invalid symlink",
        ),
        (
            vec![("hl", Link, "../../etc/passwd", b"")],
            "invalid hardlink",
        ),
        // A file over a directory, a directory over a symlink.
        (
            vec![("in", Regular, "", b"x")],
            "cannot overwrite directory",
        ),
        (
            vec![("s", Symlink, "/etc", b""), ("s/", Directory, "", b"")],
            "cannot overwrite non-directory",
        ),
    ];
    for (entries, err) in &refused {
        let e = r.run_stdin(&["cp", "-", "ctr:/dst"], &raw_tar(entries));
        assert!(
            e.fails_1().contains(err),
            "{entries:?}: want {err}, got {}",
            e.stderr
        );
        bait.untouched();
        assert_eq!(
            sh(
                &r,
                "ctr",
                "ls -d /escaped /etc/pwned 2>&1 | grep -c 'No such'"
            ),
            "2\n",
            "{entries:?}: {}",
            sh(&r, "ctr", "ls -la / /etc")
        );
        assert_eq!(sh(&r, "ctr", &format!("ls {}", bait.dir)), "secret\n");
    }
    // An absolute name lands below the destination, as docker puts it; so
    // does a "../" that stays inside.
    let t = raw_tar(&[
        ("/abs/file", Regular, "", b"abs"),
        ("in/../back", Regular, "", b"back"),
    ]);
    r.run_stdin(&["cp", "-", "ctr:/dst"], &t).ok();
    assert_eq!(sh(&r, "ctr", "cat /dst/abs/file /dst/back"), "absback");
    // A symlink the container already has in the destination is not
    // followed either.
    sh(&r, "ctr", &format!("ln -s {} /dst/pre", bait.dir));
    let e = r.run_stdin(
        &["cp", "-", "ctr:/dst"],
        &raw_tar(&[("pre/x", Regular, "", b"x")]),
    );
    assert!(e.fails_1().contains("symbolic link"), "{}", e.stderr);
    assert_eq!(sh(&r, "ctr", &format!("ls {}", bait.dir)), "secret\n");
    bait.untouched();
    no_mounts_left(&r);
}

#[test]
fn volumes_tmpfs_and_etc_files_are_seen_as_the_container_sees_them() {
    let r = Rdock::with_busybox();
    let vol = r.dir.path().join("vol");
    let ro = r.dir.path().join("ro");
    std::fs::create_dir_all(&vol).unwrap();
    std::fs::create_dir_all(&ro).unwrap();
    write(&ro.join("inside"), "ro content");
    let v = format!("{}:/data", vol.display());
    let rov = format!("{}:/rodata:ro", ro.display());
    running(&r, "ctr", &["-v", &v, "-v", &rov, "--tmpfs", "/scratch"]);
    let f = r.dir.path().join("f");
    write(&f, "payload");
    let f = f.to_str().unwrap();
    r.run(&["cp", f, "ctr:/data/"]).ok();
    assert_eq!(std::fs::read_to_string(vol.join("f")).unwrap(), "payload");
    r.run(&["cp", f, "ctr:/scratch/"]).ok();
    assert_eq!(sh(&r, "ctr", "cat /scratch/f"), "payload");
    // The bind-mounted /etc/hosts: written in place, seen by the container.
    let hosts = r.dir.path().join("hosts");
    write(&hosts, "10.1.2.3 copied\n");
    r.run(&["cp", hosts.to_str().unwrap(), "ctr:/etc/hosts"])
        .ok();
    assert_eq!(sh(&r, "ctr", "cat /etc/hosts"), "10.1.2.3 copied\n");
    let e = r.run(&["cp", f, "ctr:/rodata/"]);
    assert!(e.fails_1().contains("mounted volume is marked read-only"));
    let out = r.dir.path().join("ro-out");
    r.run(&["cp", "ctr:/rodata/inside", out.to_str().unwrap()])
        .ok();
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "ro content");

    // Stopped: the volumes are there too (the tmpfs is empty, as at start).
    r.run(&["stop", "-t", "0", "ctr"]).ok();
    write(&r.dir.path().join("g"), "second");
    r.run(&["cp", r.dir.path().join("g").to_str().unwrap(), "ctr:/data/"])
        .ok();
    assert_eq!(std::fs::read_to_string(vol.join("g")).unwrap(), "second");
    let e = r.run(&["cp", f, "ctr:/rodata/"]);
    assert!(e.fails_1().contains("mounted volume is marked read-only"));
    let out = r.dir.path().join("ro-out2");
    r.run(&["cp", "ctr:/rodata/inside", out.to_str().unwrap()])
        .ok();
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "ro content");
    let out = r
        .cmd(&["cp", "ctr:/scratch", "-"])
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(tar_list(&out.stdout).len(), 1, "a stopped tmpfs is empty");
    assert!(std::fs::read_dir(&ro).unwrap().count() == 1);
    no_mounts_left(&r);

    // A read-only rootfs: docker's error, outside volumes only.
    running(&r, "rofs", &["--read-only", "-v", &v]);
    let e = r.run(&["cp", f, "rofs:/tmp/"]);
    assert!(e.fails_1().contains("container rootfs is marked read-only"));
    r.run(&["cp", f, "rofs:/data/copied"]).ok();
    assert_eq!(
        std::fs::read_to_string(vol.join("copied")).unwrap(),
        "payload"
    );
    no_mounts_left(&r);
}

#[test]
fn kernel_filesystems_are_not_copied() {
    let r = Rdock::with_busybox();
    running(&r, "ctr", &[]);
    let out = r.dir.path().join("o");
    let e = r.run(&["cp", "ctr:/proc/1/status", out.to_str().unwrap()]);
    assert!(e
        .fails_1()
        .contains("Could not find the file /proc/1/status in container ctr"));
    let e = r.run(&[
        "cp",
        "ctr:/proc/self/root/etc/passwd",
        out.to_str().unwrap(),
    ]);
    e.fails_1();
    let f = r.dir.path().join("f");
    write(&f, "x");
    let e = r.run(&["cp", f.to_str().unwrap(), "ctr:/proc/"]);
    assert!(e.fails_1().contains("pseudo filesystem"), "{}", e.stderr);
    let e = r.run(&["cp", f.to_str().unwrap(), "ctr:/sys/kernel/"]);
    e.fails_1();
    // The directory itself reads as empty.
    let o = r
        .cmd(&["cp", "ctr:/proc", "-"])
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(tar_list(&o.stdout), vec!["dr-xr-xr-x 0/0 proc/"]);
    // Copying the whole root skips them, and makes no device nodes here.
    let all = r.dir.path().join("all");
    let res = r.run(&["cp", "ctr:/", all.to_str().unwrap()]);
    assert_eq!(res.code, 0, "{}", res.stderr);
    assert!(res.stderr.contains("skipped device node"), "{}", res.stderr);
    assert!(all.join("bin/busybox").exists());
    assert!(!all.join("dev/null").exists());
    assert_eq!(std::fs::read_dir(all.join("proc")).unwrap().count(), 0);
    assert_eq!(std::fs::read_dir(all.join("sys")).unwrap().count(), 0);
    no_mounts_left(&r);
}

#[test]
fn errors_are_docker_texts_one_line_exit_1() {
    let r = Rdock::with_busybox();
    r.run(&["create", "--network", "none", "--name", "ctr", "busybox"])
        .ok();
    // A first mount of the overlay makes its work dir: before the snapshot.
    let warm = r.dir.path().join("warm");
    r.run(&["cp", "ctr:/etc/passwd", warm.to_str().unwrap()])
        .ok();
    let before = r.snapshot();
    let out = r.dir.path().join("x");
    let o = out.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["cp", "nosuch:/etc", o], "No such container: nosuch"),
        (&["cp", o, "nosuch:/etc"], "No such container: nosuch"),
        (
            &["cp", "ctr:/nope", o],
            "Could not find the file /nope in container ctr",
        ),
        (
            &["cp", "ctr:/etc", "ctr:/tmp"],
            "copying between containers is not supported",
        ),
        (
            &["cp", "/etc/hostname", o],
            "must specify at least one container source",
        ),
        (&["cp", "", o], "source can not be empty"),
        (&["cp", "ctr:/etc", ""], "destination can not be empty"),
        (
            &["cp", "ctr:/etc/passwd", "/nonexistent-dir/x"],
            "invalid output path: directory \"/nonexistent-dir\" does not exist",
        ),
        (&["cp", "ctr:/etc/passwd/", o], "not a directory"),
        (
            &["cp", "ctr:/etc/passwd", "/dev/null"],
            "invalid output path: \"/dev/null\" must be a directory or a regular file",
        ),
        (
            &["cp", "/etc/hostname", "ctr:/bin/busybox/"],
            "no such directory",
        ),
        (&["cp", "/etc", "ctr:/etc/passwd"], "cannot copy directory"),
        (
            &["cp", "/nonexistent", "ctr:/tmp"],
            "lstat /nonexistent: no such file or directory",
        ),
    ];
    for (args, want) in cases {
        let e = r.run(args);
        assert!(e.fails_1().contains(want), "{args:?}: {}", e.stderr);
        no_mounts_left(&r);
    }
    // Overwriting a directory with a file.
    let d = r.dir.path().join("tmp");
    write(&d, "not a dir");
    let e = r.run(&["cp", d.to_str().unwrap(), "ctr:/"]);
    assert!(
        e.fails_1().contains("cannot overwrite directory \"/tmp\""),
        "{}",
        e.stderr
    );
    assert_eq!(r.snapshot(), before);
    assert!(!out.exists());
    // docker exits 1 for a missing argument (125 is for bad flags).
    let e = r.run(&["cp"]);
    assert_eq!(e.code, 1);
    assert!(
        e.stderr.contains("'rdock cp' requires 2 arguments"),
        "{}",
        e.stderr
    );
    no_mounts_left(&r);
}

/// Run `args` with stdout on a pseudo-terminal; returns (code, stderr).
fn on_terminal(r: &Rdock, args: &[&str], stdin: Option<&[u8]>) -> (i32, String) {
    let pty = nix::pty::openpty(None, None).unwrap();
    let mut cmd = r.cmd(args);
    cmd.stdout(Stdio::from(pty.slave)).stderr(Stdio::piped());
    if stdin.is_some() {
        cmd.stdin(Stdio::piped());
    }
    let mut child = cmd.spawn().unwrap();
    if let (Some(data), Some(mut s)) = (stdin, child.stdin.take()) {
        use std::io::Write;
        s.write_all(data).unwrap();
    }
    drop(cmd);
    let out = child.wait_with_output().unwrap();
    drop(pty.master);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn success_line_only_for_a_terminal_and_streams_never_to_one() {
    let r = Rdock::with_busybox();
    running(&r, "ctr", &[]);
    let f = r.dir.path().join("small");
    write(&f, "hello");
    let fs = f.to_str().unwrap();
    // stdout is a terminal: docker's line on stderr (stderr is a pipe, so
    // no live progress), sized as the tar stream: 512 + 512 + 1024.
    let (code, err) = on_terminal(&r, &["cp", fs, "ctr:/tmp/x"], None);
    assert_eq!(
        (code, err.as_str()),
        (0, "Successfully copied 2.05kB to ctr:/tmp/x\n")
    );
    let o = r.dir.path().join("o");
    let (code, err) = on_terminal(&r, &["cp", "ctr:/tmp/x", o.to_str().unwrap()], None);
    assert_eq!(code, 0);
    assert_eq!(
        err,
        format!("Successfully copied 2.05kB to {}\n", o.display())
    );
    let (code, err) = on_terminal(&r, &["cp", "-q", fs, "ctr:/tmp/y"], None);
    assert_eq!((code, err.as_str()), (0, ""));
    // From a stream, the bytes read (docker prints 0B there).
    let t = raw_tar(&[("s", tar::EntryType::Regular, "", b"abc")]);
    let (code, err) = on_terminal(&r, &["cp", "-", "ctr:/tmp"], Some(&t));
    assert_eq!(
        (code, err.as_str()),
        (0, "Successfully copied 2.05kB to ctr:/tmp\n")
    );
    // A tar stream to a terminal is refused.
    let (code, err) = on_terminal(&r, &["cp", "ctr:/tmp/x", "-"], None);
    assert_eq!(code, 1);
    assert!(
        err.contains("refusing to write a tar stream to a terminal"),
        "{err}"
    );
    // Not a terminal: silent.
    let res = r.run(&["cp", fs, "ctr:/tmp/z"]);
    assert_eq!(
        (res.code, res.stderr.as_str(), res.stdout.as_str()),
        (0, "", "")
    );
    no_mounts_left(&r);
}

#[test]
fn a_stopped_containers_overlay_lives_only_in_the_copys_namespace() {
    let r = Rdock::with_busybox();
    r.run(&[
        "create",
        "--network",
        "none",
        "--name",
        "ctr",
        "busybox",
        "sleep",
        "1000",
    ])
    .ok();
    // A copy that waits for its stdin: while it runs its overlay is in its
    // own mount namespace, never in ours.
    let mut cp = r
        .cmd(&["cp", "-", "ctr:/tmp"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = cp.id();
    let merged = r.root.join("containers");
    let mut seen = false;
    for _ in 0..200 {
        let theirs = std::fs::read_to_string(format!("/proc/{pid}/mountinfo")).unwrap_or_default();
        if theirs.contains(merged.to_str().unwrap()) {
            seen = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(seen, "the copy's own namespace has the overlay");
    no_mounts_left(&r);
    // Meanwhile `start` waits for the copy: never two overlays on one upper.
    let mut start = r
        .cmd(&["start", "ctr"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        start.try_wait().unwrap().is_none(),
        "start did not wait for cp"
    );
    // SIGKILL: the namespace and its mounts die with the process.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let _ = cp.wait();
    assert!(start.wait().unwrap().success());
    assert_eq!(sh(&r, "ctr", "echo ok"), "ok\n");
    no_mounts_left(&r);
}

/// Wait until `script` prints something in the container.
fn wait_for(r: &Rdock, c: &str, script: &str) {
    for _ in 0..500 {
        if !sh(r, c, &format!("{script} 2>/dev/null || true")).is_empty() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("timed out waiting for {script}");
}

#[test]
fn a_directory_swapped_for_a_symlink_mid_copy_in_changes_nothing_outside() {
    let r = Rdock::with_busybox();
    let bait = HostBait::new(&r);
    running(&r, "ctr", &[]);
    plant_links(&r, "ctr", &bait);
    sh(&r, "ctr", "mkdir -p /dst");
    // The first half of the stream: x/ and x/a.
    let mut first = Vec::new();
    raw_entry(&mut first, "x/", tar::EntryType::Directory, "", b"");
    raw_entry(&mut first, "x/a", tar::EntryType::Regular, "", b"a");
    let mut cp = r
        .cmd(&["cp", "-", "ctr:/dst"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = cp.stdin.take().unwrap();
    use std::io::Write;
    stdin.write_all(&first).unwrap();
    stdin.flush().unwrap();
    wait_for(&r, "ctr", "cat /dst/x/a");
    // Now the container makes x a link to the bait's path...
    sh(
        &r,
        "ctr",
        &format!("mv /dst/x /dst/x.old && ln -s {} /dst/x", bait.dir),
    );
    // ... and the stream goes on into x.
    let mut rest = Vec::new();
    raw_entry(&mut rest, "x/b", tar::EntryType::Regular, "", b"b");
    rest.extend_from_slice(&[0u8; 1024]);
    stdin.write_all(&rest).unwrap();
    drop(stdin);
    let out = cp.wait_with_output().unwrap();
    // Whether it lands in the directory it started (now x.old) or is
    // refused, it never reaches the host, nor follows the new link.
    bait.untouched();
    let container_bait = sh(&r, "ctr", &format!("ls {}", bait.dir));
    assert_eq!(container_bait, "secret\n");
    if out.status.success() {
        assert_eq!(sh(&r, "ctr", "cat /dst/x.old/b"), "b");
    }
    no_mounts_left(&r);
}

#[test]
fn a_directory_swapped_for_a_symlink_mid_copy_out_reads_nothing_outside() {
    let r = Rdock::with_busybox();
    let bait = HostBait::new(&r);
    running(&r, "ctr", &[]);
    plant_links(&r, "ctr", &bait);
    // sub/aaa fills the pipe, so the copy is still inside sub when the
    // container swaps it; sub/secret comes after.
    sh(
        &r,
        "ctr",
        "mkdir -p /src/sub && dd if=/dev/zero of=/src/sub/aaa bs=1024 count=4096 2>/dev/null \
         && echo -n container > /src/sub/secret",
    );
    let mut cp = r
        .cmd(&["cp", "ctr:/src", "-"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = cp.stdout.take().unwrap();
    use std::io::Read;
    // Read a little, so it is surely past listing sub and inside aaa.
    let mut head = vec![0u8; 4096];
    stdout.read_exact(&mut head).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    sh(
        &r,
        "ctr",
        &format!("mv /src/sub /src/sub.old && ln -s {} /src/sub", bait.dir),
    );
    let mut rest = Vec::new();
    stdout.read_to_end(&mut rest).unwrap();
    assert!(cp.wait().unwrap().success());
    head.extend_from_slice(&rest);
    let mut ar = tar::Archive::new(&head[..]);
    let mut secret = None;
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let name = e.path().unwrap().display().to_string();
        if name.ends_with("secret") {
            let mut s = String::new();
            e.read_to_string(&mut s).unwrap();
            secret = Some(s);
        }
    }
    // The copy went on in the directory it had open: the container's file.
    assert_eq!(secret.as_deref(), Some("container"));
    bait.untouched();
    no_mounts_left(&r);
}
