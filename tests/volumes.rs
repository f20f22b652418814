//! Volumes: `volume create|ls|inspect|rm|prune`, `-v NAME:/path`, anonymous
//! volumes, docker's copy-up, `--mount type=volume`, `--volumes-from`,
//! `rm -v`, and the seed's backup and restore flow.

mod common;
use common::Rdock;
use std::path::Path;

fn run_none<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["run", "--network", "none"];
    v.extend_from_slice(args);
    v
}

fn volumes_dir_entries(r: &Rdock) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(r.root.join("volumes"))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n != ".lock")
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn volume_commands_as_docker() {
    let r = Rdock::with_busybox();
    assert_eq!(r.run(&["volume", "create", "data1"]).ok(), "data1\n");
    // An existing name: docker returns it again.
    assert_eq!(
        r.run(&["volume", "create", "-d", "local", "data1"]).ok(),
        "data1\n"
    );
    r.run(&["volume", "create", "--label", "tier=db", "--name", "data2"])
        .ok();
    let anon = r.run(&["volume", "create"]).ok().trim().to_string();
    assert_eq!(anon.len(), 64, "{anon}");
    let ls = r.run(&["volume", "ls"]).ok().to_string();
    let mut lines = ls.lines();
    let header = lines.next().unwrap();
    assert!(
        header.starts_with("DRIVER") && header.contains("VOLUME NAME"),
        "{ls}"
    );
    assert!(ls.contains("local     data1"), "{ls}");
    assert_eq!(
        r.run(&["volume", "ls", "-q", "--filter", "label=tier=db"])
            .ok(),
        "data2\n"
    );
    assert_eq!(
        r.run(&["volume", "ls", "-q", "--filter", "name=ta1"]).ok(),
        "data1\n"
    );
    assert_eq!(
        r.run(&[
            "volume",
            "ls",
            "--format",
            "{{.Name}} {{.Driver}}",
            "-f",
            "name=data2"
        ])
        .ok(),
        "data2 local\n"
    );
    // inspect: docker's document.
    let out = r.run(&["volume", "inspect", "data2"]).ok().to_string();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let v = &v[0];
    assert_eq!(v["Name"], "data2");
    assert_eq!(v["Driver"], "local");
    assert_eq!(v["Scope"], "local");
    assert_eq!(v["Labels"]["tier"], "db");
    assert_eq!(
        v["Mountpoint"].as_str().unwrap(),
        r.root.join("volumes/data2/_data").to_str().unwrap()
    );
    assert!(v["CreatedAt"].as_str().unwrap().len() >= 20);
    assert!(v.get("Options").is_some());
    assert_eq!(
        r.run(&["volume", "inspect", "-f", "{{.Name}}", "data1"])
            .ok(),
        "data1\n"
    );
    // The generic inspect finds volumes too.
    assert_eq!(
        r.run(&["inspect", "-f", "{{.Driver}}", "data1"]).ok(),
        "local\n"
    );
    // Unknown volume: docker's text, exit 1; -f ignores it.
    let e = r.run(&["volume", "inspect", "nosuch"]);
    assert_eq!(e.code, 1);
    assert!(e.stderr.contains("no such volume"), "{}", e.stderr);
    let e = r.run(&["volume", "rm", "nosuch"]);
    assert_eq!(e.code, 1);
    r.run(&["volume", "rm", "-f", "nosuch"]).ok();
    // Driver other than local.
    let e = r
        .run(&["volume", "create", "-d", "nfs", "x1"])
        .fails_1()
        .to_string();
    assert!(e.contains("plugin \"nfs\" not found"), "{e}");
    let e = r
        .run(&["volume", "create", "-o", "bogus=1", "x2"])
        .fails_1()
        .to_string();
    assert!(e.contains("invalid option key: \"bogus\""), "{e}");
    // dangling: no container uses it.
    r.run(&run_none(&[
        "--name", "c1", "-v", "data1:/d", "busybox", "true",
    ]))
    .ok();
    let dangling = r
        .run(&["volume", "ls", "-q", "-f", "dangling=true"])
        .ok()
        .to_string();
    assert!(
        !dangling.contains("data1") && dangling.contains("data2"),
        "{dangling}"
    );
    assert_eq!(
        r.run(&["volume", "ls", "-q", "-f", "dangling=false"]).ok(),
        "data1\n"
    );
    // system df counts them.
    let df = r.run(&["system", "df"]).ok().to_string();
    let row = df.lines().find(|l| l.starts_with("Local Volumes")).unwrap();
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(&cols[2..4], ["3", "1"], "{df}");
    r.run(&["rm", "c1"]).ok();
    r.run(&["volume", "rm", "data1", "data2", &anon]).ok();
    assert_eq!(r.run(&["volume", "ls", "-q"]).ok(), "");
    assert!(volumes_dir_entries(&r).is_empty());
}

#[test]
fn names_that_escape_the_volumes_dir_are_refused() {
    let r = Rdock::with_busybox();
    let before = r.snapshot();
    for bad in ["../x", "/abs", "a/b", "..", "x"] {
        let e = r.run(&["volume", "create", bad]).fails_1().to_string();
        assert!(
            e.contains("includes invalid characters for a local volume name"),
            "{bad}: {e}"
        );
    }
    for bad in [
        "type=volume,source=../x,target=/d",
        "type=volume,source=a/../../b,target=/d",
    ] {
        let e = r
            .run(&run_none(&["--mount", bad, "busybox", "true"]))
            .fails_125()
            .to_string();
        assert!(e.contains("invalid characters"), "{bad}: {e}");
    }
    let e = r
        .run(&run_none(&[
            "--mount",
            "type=volume,source=/abs,target=/d",
            "busybox",
            "true",
        ]))
        .fails_125()
        .to_string();
    assert!(e.contains("may not be an absolute path"), "{e}");
    // docker's own error for a relative host path that is not ./ or ../
    let e = r
        .run(&run_none(&["-v", "some/dir:/d", "busybox", "true"]))
        .fails_125()
        .to_string();
    assert!(
        e.contains("\"some/dir\" includes invalid characters"),
        "{e}"
    );
    assert_eq!(r.run(&["ps", "-aq"]).ok(), "");
    assert_eq!(r.snapshot(), before);
    assert!(!r.root.join("x").exists() && !r.dir.path().join("x").exists());
}

#[test]
fn mount_flag_validation_and_duplicates() {
    let r = Rdock::with_busybox();
    for (args, msg) in [
        (
            vec!["--mount", "type=volume,target=/d,tmpfs-size=1m"],
            "cannot mix 'tmpfs-*' options with mount type 'volume'",
        ),
        (
            vec!["--mount", "type=volume,target=/d,bind-propagation=rshared"],
            "cannot mix 'bind-*' options with mount type 'volume'",
        ),
        (
            vec!["--mount", "type=bind,source=/tmp,target=/d,volume-nocopy"],
            "cannot mix 'volume-*' options with mount type 'bind'",
        ),
        (
            vec!["--mount", "type=volume,source=v"],
            "target is required",
        ),
        (
            vec!["-v", "a1:/d", "-v", "a2:/d"],
            "Duplicate mount point: /d",
        ),
        (
            vec!["--volume-driver", "nfs", "-v", "a1:/d"],
            "plugin \"nfs\" not found",
        ),
        (
            vec!["--volumes-from", "nosuch"],
            "No such container: nosuch",
        ),
    ] {
        let mut a = args.clone();
        a.extend(["busybox", "true"]);
        let e = r.run(&run_none(&a)).fails_125().to_string();
        assert!(e.contains(msg), "{args:?}: {e}");
    }
    // Nothing of a refused container stays: no volume was made.
    assert_eq!(r.run(&["volume", "ls", "-q"]).ok(), "");
    // A create that fails after its volumes were made (the name is taken)
    // takes its anonymous volumes back; the named one stays, as docker's.
    r.run(&run_none(&["--name", "taken", "busybox", "true"]))
        .ok();
    let e = r
        .run(&run_none(&[
            "--name", "taken", "-v", "/anon", "-v", "kept:/k", "busybox", "true",
        ]))
        .fails_125()
        .to_string();
    assert!(e.contains("is already in use"), "{e}");
    assert_eq!(
        r.run(&["volume", "ls", "-q"]).ok(),
        "kept
"
    );
}

/// The seed's data-volume-container chapter: a backup of dbdata's volume
/// through --volumes-from into a host dir, restored into a new container's
/// volume.
#[test]
fn backup_and_restore_through_volumes_from() {
    let r = Rdock::with_busybox();
    let pwd = r.dir.path().join("pwd");
    std::fs::create_dir(&pwd).unwrap();
    let backup = format!("{}:/backup", pwd.display());
    r.run(&run_none(&[
        "--name",
        "dbdata",
        "-v",
        "/dbdata",
        "busybox",
        "sh",
        "-c",
        "mkdir /dbdata/sub && echo precious > /dbdata/sub/rows && chown 1000:50 /dbdata/sub/rows",
    ]))
    .ok();
    let out = r
        .run(&run_none(&[
            "--volumes-from",
            "dbdata",
            "-v",
            &backup,
            "--name",
            "worker",
            "busybox",
            "tar",
            "cvf",
            "/backup/backup.tar",
            "/dbdata",
        ]))
        .ok()
        .to_string();
    assert!(out.contains("dbdata/sub/rows"), "{out}");
    assert!(pwd.join("backup.tar").exists());
    // Restore into a fresh volume of a new container.
    r.run(&run_none(&[
        "--name", "dbdata2", "-v", "/dbdata", "busybox", "true",
    ]))
    .ok();
    r.run(&run_none(&[
        "--rm",
        "--volumes-from",
        "dbdata2",
        "-v",
        &backup,
        "busybox",
        "tar",
        "xvf",
        "/backup/backup.tar",
    ]))
    .ok();
    let out = r
        .run(&run_none(&[
            "--rm",
            "--volumes-from",
            "dbdata2",
            "busybox",
            "stat",
            "-c",
            "%u:%g %n",
            "/dbdata/sub/rows",
        ]))
        .ok()
        .to_string();
    assert_eq!(out, "1000:50 /dbdata/sub/rows\n");
    assert_eq!(
        r.run(&run_none(&[
            "--rm",
            "--volumes-from",
            "dbdata2",
            "busybox",
            "cat",
            "/dbdata/sub/rows"
        ]))
        .ok(),
        "precious\n"
    );
    // The two containers have different volumes.
    let vol = |c: &str| {
        r.run(&[
            "inspect",
            "-f",
            "{{range .Mounts}}{{.Type}} {{.Name}}{{end}}",
            c,
        ])
        .ok()
        .trim()
        .to_string()
    };
    let (a, b) = (vol("dbdata"), vol("dbdata2"));
    assert!(
        a.starts_with("volume ") && b.starts_with("volume ") && a != b,
        "{a} {b}"
    );
    // The worker inherited dbdata's volume and the bind.
    let w = r
        .run(&[
            "inspect",
            "-f",
            "{{range .Mounts}}{{.Type}}:{{.Destination}} {{end}}",
            "worker",
        ])
        .ok()
        .to_string();
    assert!(
        w.contains("volume:/dbdata") && w.contains("bind:/backup"),
        "{w}"
    );
}

#[test]
fn volumes_from_shares_writes_at_once_and_takes_a_mode() {
    let r = Rdock::with_busybox();
    r.run(&run_none(&[
        "-d", "--name", "dbdata", "-v", "/dbdata", "busybox", "sleep", "60",
    ]))
    .ok();
    r.run(&run_none(&[
        "-d",
        "--name",
        "db1",
        "--volumes-from",
        "dbdata",
        "busybox",
        "sleep",
        "60",
    ]))
    .ok();
    r.run(&run_none(&[
        "-d",
        "--name",
        "db2",
        "--volumes-from",
        "db1",
        "busybox",
        "sleep",
        "60",
    ]))
    .ok();
    r.run(&["exec", "db1", "sh", "-c", "echo from-db1 > /dbdata/f"])
        .ok();
    assert_eq!(
        r.run(&["exec", "db2", "cat", "/dbdata/f"]).ok(),
        "from-db1\n"
    );
    r.run(&["exec", "db2", "sh", "-c", "echo from-db2 >> /dbdata/f"])
        .ok();
    assert_eq!(
        r.run(&["exec", "dbdata", "cat", "/dbdata/f"]).ok(),
        "from-db1\nfrom-db2\n"
    );
    // :ro makes every inherited mount read-only.
    let e = r.run(&run_none(&[
        "--rm",
        "--volumes-from",
        "dbdata:ro",
        "busybox",
        "sh",
        "-c",
        "echo x > /dbdata/g",
    ]));
    assert_ne!(e.code, 0);
    assert!(e.stderr.contains("Read-only file system"), "{}", e.stderr);
    let e = r
        .run(&run_none(&[
            "--rm",
            "--volumes-from",
            "dbdata:bogus",
            "busybox",
            "true",
        ]))
        .fails_125()
        .to_string();
    assert!(e.contains("invalid mode: bogus"), "{e}");
}

#[test]
fn copy_up_fills_a_new_volume_with_content_and_ownership() {
    let r = Rdock::with_busybox();
    // An image with /data holding files of uid 1000, and VOLUME /data.
    r.run(&run_none(&[
        "--name", "maker", "busybox", "sh", "-c",
        "mkdir -p /data/sub && echo seed > /data/sub/file && ln -s /etc/passwd /data/link && chown -R 1000:50 /data && chmod 750 /data",
    ]))
    .ok();
    r.run(&["commit", "-c", "VOLUME /data", "maker", "withvol"])
        .ok();
    // The image's VOLUME: an anonymous volume, filled from the image.
    let out = r
        .run(&run_none(&[
            "--name", "c1", "withvol", "sh", "-c",
            "stat -c '%u:%g %a' /data /data/sub/file; cat /data/sub/file; readlink /data/link; grep -c /data /proc/mounts",
        ]))
        .ok()
        .to_string();
    assert_eq!(out, "1000:50 750\n1000:50 644\nseed\n/etc/passwd\n1\n");
    let name = r
        .run(&["inspect", "-f", "{{range .Mounts}}{{.Name}}{{end}}", "c1"])
        .ok()
        .trim()
        .to_string();
    let data = r.root.join("volumes").join(&name).join("_data");
    assert_eq!(
        std::fs::read_to_string(data.join("sub/file")).unwrap(),
        "seed\n"
    );
    // The link was copied as a link, not followed on the host.
    assert!(std::fs::symlink_metadata(data.join("link"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(
        r.run(&["inspect", "-f", "{{json .Config.Volumes}}", "c1"])
            .ok(),
        "{\"/data\":{}}\n"
    );
    // A named volume is filled once; what it holds is never overwritten.
    r.run(&run_none(&[
        "--rm",
        "-v",
        "named:/data",
        "withvol",
        "sh",
        "-c",
        "echo mine > /data/sub/file",
    ]))
    .ok();
    assert_eq!(
        r.run(&run_none(&[
            "--rm",
            "-v",
            "named:/data",
            "withvol",
            "cat",
            "/data/sub/file"
        ]))
        .ok(),
        "mine\n"
    );
    // nocopy leaves it empty; so does volume-nocopy.
    assert_eq!(
        r.run(&run_none(&[
            "--rm",
            "-v",
            "empty1:/data:nocopy",
            "withvol",
            "ls",
            "-A",
            "/data"
        ]))
        .ok(),
        ""
    );
    assert_eq!(
        r.run(&run_none(&[
            "--rm",
            "--mount",
            "type=volume,source=empty2,target=/data,volume-nocopy",
            "withvol",
            "ls",
            "-A",
            "/data",
        ]))
        .ok(),
        ""
    );
    // A path the image lacks: created, nothing copied.
    assert_eq!(
        r.run(&run_none(&[
            "--rm",
            "-v",
            "fresh:/new/dir",
            "busybox",
            "ls",
            "-A",
            "/new/dir"
        ]))
        .ok(),
        ""
    );
    // A bind mount is never filled.
    let host = r.dir.path().join("hostdir");
    std::fs::create_dir(&host).unwrap();
    r.run(&run_none(&[
        "--rm",
        "-v",
        &format!("{}:/data", host.display()),
        "withvol",
        "true",
    ]))
    .ok();
    assert_eq!(std::fs::read_dir(&host).unwrap().count(), 0);
}

#[test]
fn readonly_volumes_are_enforced() {
    let r = Rdock::with_busybox();
    r.run(&run_none(&[
        "--rm",
        "-v",
        "rov:/d",
        "busybox",
        "sh",
        "-c",
        "echo a > /d/f",
    ]))
    .ok();
    for args in [
        vec!["-v", "rov:/d:ro"],
        vec!["--mount", "type=volume,source=rov,target=/d,readonly"],
    ] {
        let mut a = vec!["--rm"];
        a.extend(args.iter().copied());
        a.extend(["busybox", "sh", "-c", "cat /d/f; echo b > /d/f"]);
        let e = r.run(&run_none(&a));
        assert_eq!(e.code, 1, "{args:?}");
        assert_eq!(e.stdout, "a\n");
        assert!(e.stderr.contains("Read-only file system"), "{}", e.stderr);
    }
    let f = r.root.join("volumes/rov/_data/f");
    assert_eq!(std::fs::read_to_string(f).unwrap(), "a\n");
}

#[test]
fn a_volume_in_use_is_not_removed() {
    let r = Rdock::with_busybox();
    r.run(&run_none(&[
        "--name",
        "stopped",
        "-v",
        "keep:/d",
        "busybox",
        "sh",
        "-c",
        "echo 1 > /d/f",
    ]))
    .ok();
    let e = r.run(&["volume", "rm", "keep"]);
    assert_eq!(e.code, 1);
    assert!(
        e.stderr.contains("remove keep: volume is in use"),
        "{}",
        e.stderr
    );
    let id = r
        .run(&["inspect", "-f", "{{.Id}}", "stopped"])
        .ok()
        .trim()
        .to_string();
    assert!(e.stderr.contains(&id), "{}", e.stderr);
    // prune leaves it too.
    r.run(&["volume", "prune", "-af"]).ok();
    assert!(r.root.join("volumes/keep/_data/f").exists());
    // A running container's volume is refused even with -f.
    r.run(&run_none(&[
        "-d", "--name", "running", "-v", "busy:/d", "busybox", "sleep", "60",
    ]))
    .ok();
    let e = r.run(&["volume", "rm", "-f", "busy"]);
    assert_eq!(e.code, 1);
    assert!(e.stderr.contains("volume is in use"), "{}", e.stderr);
    // -f takes a stopped container's volume; its next start gets a new, empty one.
    r.run(&["volume", "rm", "-f", "keep"]).ok();
    assert!(!r.root.join("volumes/keep").exists());
    r.run(&["start", "-a", "stopped"]).ok();
    assert!(r.root.join("volumes/keep/_data/f").exists());
    // Once no container names it, it goes.
    r.run(&["rm", "stopped"]).ok();
    r.run(&["volume", "rm", "keep"]).ok();
    r.run(&["rm", "-f", "running"]).ok();
    r.run(&["volume", "rm", "busy"]).ok();
    assert!(volumes_dir_entries(&r).is_empty());
}

#[test]
fn anonymous_volumes_go_with_rm_v_and_rm_flag() {
    let r = Rdock::with_busybox();
    let count = || r.run(&["volume", "ls", "-q"]).ok().lines().count();
    // --rm takes its anonymous volumes; a named one stays.
    r.run(&run_none(&[
        "--rm", "-v", "/anon", "-v", "named:/n", "busybox", "true",
    ]))
    .ok();
    assert_eq!(r.run(&["volume", "ls", "-q"]).ok(), "named\n");
    // rm without -v keeps them; rm -v removes the anonymous ones only.
    r.run(&run_none(&[
        "--name", "ca", "-v", "/anon", "busybox", "true",
    ]))
    .ok();
    r.run(&run_none(&[
        "--name", "cb", "-v", "/anon", "-v", "named:/n", "busybox", "true",
    ]))
    .ok();
    assert_eq!(count(), 3);
    r.run(&["rm", "ca"]).ok();
    assert_eq!(count(), 3);
    // Shared through --volumes-from: not removed while another container has it.
    r.run(&run_none(&[
        "--name",
        "cc",
        "--volumes-from",
        "cb",
        "busybox",
        "true",
    ]))
    .ok();
    r.run(&["rm", "-v", "cb"]).ok();
    assert_eq!(count(), 3);
    r.run(&["rm", "-v", "cc"]).ok();
    assert_eq!(count(), 2);
    // prune: anonymous unused volumes only, unless -a.
    let out = r.run(&["volume", "prune", "-f"]).ok().to_string();
    assert!(out.starts_with("Deleted Volumes:\n"), "{out}");
    assert!(out.contains("Total reclaimed space:"), "{out}");
    assert_eq!(r.run(&["volume", "ls", "-q"]).ok(), "named\n");
    r.run(&["volume", "prune", "-af"]).ok();
    assert_eq!(count(), 0);
    // system prune --volumes.
    r.run(&run_none(&[
        "--name", "cd", "-v", "/anon", "busybox", "true",
    ]))
    .ok();
    r.run(&["rm", "cd"]).ok();
    let out = r
        .run(&["system", "prune", "-f", "--volumes"])
        .ok()
        .to_string();
    assert!(out.contains("Deleted Volumes:"), "{out}");
    assert_eq!(count(), 0);
    assert!(volumes_dir_entries(&r).is_empty());
}

#[test]
fn parallel_creates_of_one_name_make_one_volume() {
    let r = Rdock::with_busybox();
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let mut c = r.cmd(&["volume", "create", "shared"]);
            std::thread::spawn(move || c.output().unwrap())
        })
        .collect();
    for h in handles {
        let o = h.join().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(String::from_utf8_lossy(&o.stdout), "shared\n");
    }
    assert_eq!(volumes_dir_entries(&r), ["shared"]);
    assert!(r.root.join("volumes/shared/_data").is_dir());
    // Parallel runs that name one new volume: one volume, filled once.
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let name = format!("p{i}");
            let mut c = r.cmd(&run_none(&[
                "--name",
                &name,
                "-v",
                "fresh:/etc",
                "busybox",
                "true",
            ]));
            std::thread::spawn(move || c.output().unwrap())
        })
        .collect();
    for h in handles {
        let o = h.join().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    assert_eq!(volumes_dir_entries(&r), ["fresh", "shared"]);
    let passwd = r.root.join("volumes/fresh/_data/passwd");
    assert!(std::fs::read_to_string(passwd)
        .unwrap()
        .starts_with("root:"));
}

#[test]
fn tmpfs_volumes_from_driver_options() {
    let r = Rdock::with_busybox();
    r.run(&[
        "volume",
        "create",
        "-o",
        "type=tmpfs",
        "-o",
        "device=tmpfs",
        "-o",
        "o=size=1m",
        "mem",
    ])
    .ok();
    let opts = r
        .run(&["volume", "inspect", "-f", "{{json .Options}}", "mem"])
        .ok()
        .to_string();
    assert_eq!(
        opts,
        "{\"device\":\"tmpfs\",\"o\":\"size=1m\",\"type\":\"tmpfs\"}\n"
    );
    r.run(&run_none(&[
        "-d", "--name", "wr", "-v", "mem:/m", "busybox", "sleep", "60",
    ]))
    .ok();
    r.run(&["exec", "wr", "sh", "-c", "echo shared > /m/f"])
        .ok();
    let out = r
        .run(&run_none(&[
            "--rm",
            "-v",
            "mem:/m",
            "busybox",
            "sh",
            "-c",
            "cat /m/f; df -k /m | tail -1",
        ]))
        .ok()
        .to_string();
    assert!(out.starts_with("shared\n"), "{out}");
    assert!(out.contains(" 1024 "), "{out}");
    let data = r.root.join("volumes/mem/_data");
    assert!(common::mounts_mentioning(data.to_str().unwrap()).len() == 1);
    r.run(&["rm", "-f", "wr"]).ok();
    r.run(&["volume", "rm", "mem"]).ok();
    assert!(common::mounts_mentioning(data.to_str().unwrap()).is_empty());
    assert!(!Path::new(&data).exists());
}
