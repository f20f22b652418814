//! Image authoring: `diff`, `commit` (stopped and running containers,
//! whiteouts, opaque dirs, ownership, links), `history`.

mod common;
use common::*;

#[test]
fn diff_and_commit_carry_every_kind_of_change() {
    let r = Rdock::with_busybox();
    // A fresh container has no changes (rdock's mount targets are not).
    r.run(&["create", "--name", "fresh", "busybox", "true"])
        .ok();
    r.run(&["start", "-a", "fresh"]).ok();
    assert_eq!(r.run(&["diff", "fresh"]).ok(), "");

    r.run(&[
        "run",
        "--name",
        "c1",
        "busybox",
        "sh",
        "-c",
        "echo hi > /newfile && chown 1000:1000 /newfile && ln /newfile /hardlink \
         && ln -s /newfile /symlink && rm /bin/ls && mkdir -p /d/e \
         && rm -rf /root && mkdir /root && echo x > /root/new",
    ])
    .ok();
    assert_eq!(
        r.run(&["diff", "c1"]).ok(),
        "C /bin\nD /bin/ls\nA /d\nA /d/e\nA /hardlink\nA /newfile\nC /root\nA /root/new\nA /symlink\n"
    );
    let id = r
        .run(&[
            "commit",
            "-m",
            "the message",
            "-a",
            "Someone <s@example.test>",
            "-c",
            "ENV FOO=bar",
            "-c",
            "CMD [\"cat\", \"/newfile\"]",
            "c1",
            "authored:v1",
        ])
        .ok()
        .trim()
        .to_string();
    assert!(id.starts_with("sha256:") && id.len() == 71, "{id}");
    assert_eq!(r.run(&["run", "--rm", "authored:v1"]).ok(), "hi\n");
    let out = r
        .run(&[
            "run",
            "--rm",
            "authored:v1",
            "sh",
            "-c",
            "test ! -e /bin/ls && echo gone; echo $FOO; stat -c '%u:%g %h' /newfile; \
             readlink /symlink; ls /root; test -d /d/e && echo dir",
        ])
        .ok()
        .to_string();
    assert_eq!(out, "gone\nbar\n1000:1000 2\n/newfile\nnew\ndir\n");
    assert_eq!(
        r.run(&[
            "inspect",
            "-f",
            "{{.Author}}|{{.Comment}}|{{.Id}}",
            "authored:v1"
        ])
        .ok(),
        format!("Someone <s@example.test>|the message|{id}\n")
    );
    let hist = r.run(&["history", "authored:v1"]).ok().to_string();
    let lines: Vec<&str> = hist.lines().collect();
    assert!(lines[0].starts_with("IMAGE "), "{hist}");
    assert!(lines[1].starts_with(&id[7..19]), "{hist}");
    assert!(lines[1].ends_with("the message"), "{hist}");
    assert!(
        lines[1].contains("sh -c echo hi > /newfile && chown 1000:1000 …"),
        "{hist}"
    );
    assert!(lines[2].starts_with("<missing>"), "{hist}");
    assert_eq!(
        r.run(&["history", "-q", "--no-trunc", "authored:v1"]).ok(),
        format!("{id}\n<missing>\n")
    );

    // A directory emptied and made again hides what the layers below had
    // (an opaque directory, `.wh..wh..opq` in the layer).
    r.run(&[
        "run",
        "--name",
        "c2",
        "busybox",
        "sh",
        "-c",
        "mkdir /o && touch /o/old1 /o/old2",
    ])
    .ok();
    r.run(&["commit", "c2", "layered:1"]).ok();
    r.run(&[
        "run",
        "--name",
        "c3",
        "layered:1",
        "sh",
        "-c",
        "rm -rf /o && mkdir /o && touch /o/new",
    ])
    .ok();
    assert_eq!(r.run(&["diff", "c3"]).ok(), "C /o\nA /o/new\n");
    r.run(&["commit", "c3", "layered:2"]).ok();
    assert_eq!(
        r.run(&["run", "--rm", "layered:2", "ls", "/o"]).ok(),
        "new\n"
    );
}

#[test]
fn commit_a_running_container_without_a_name() {
    let r = Rdock::with_busybox();
    r.run(&[
        "run",
        "-d",
        "--name",
        "live",
        "busybox",
        "sh",
        "-c",
        "echo data > /tmp/f && sleep 60",
    ])
    .ok();
    wait_for_pid(&r, "live");
    for _ in 0..50 {
        if r.run(&["exec", "live", "cat", "/tmp/f"]).code == 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let id = r.run(&["commit", "-p", "live"]).ok().trim().to_string();
    // Paused for the commit only.
    assert_eq!(
        r.run(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.Paused}}",
            "live"
        ])
        .ok(),
        "running false\n"
    );
    assert_eq!(r.run(&["run", "--rm", &id, "cat", "/tmp/f"]).ok(), "data\n");
    let images = r
        .run(&["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"])
        .ok()
        .to_string();
    assert!(
        images.contains(&format!("<none>:<none> {}", &id[7..19])),
        "{images}"
    );
    let e = r.run(&["commit", "nosuch"]).fails_1().to_string();
    assert!(e.contains("No such container"), "{e}");
}

#[test]
fn export_then_import_round_trips() {
    let r = Rdock::with_busybox();
    r.run(&[
        "run",
        "-d",
        "--name",
        "ex",
        "busybox",
        "sh",
        "-c",
        "echo exported > /data && rm /bin/ls && sleep 60",
    ])
    .ok();
    wait_for_pid(&r, "ex");
    for _ in 0..50 {
        if r.run(&["exec", "ex", "cat", "/data"]).code == 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // Of a running container, to stdout.
    let out = r.cmd(&["export", "ex"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut names = Vec::new();
    let mut data = String::new();
    let mut ar = tar::Archive::new(out.stdout.as_slice());
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let p = e.path().unwrap().display().to_string();
        if p == "data" {
            std::io::Read::read_to_string(&mut e, &mut data).unwrap();
        }
        names.push(p);
    }
    assert_eq!(data, "exported\n");
    assert!(names.contains(&"bin/busybox".to_string()), "{names:?}");
    assert!(names.contains(&"bin/sh".to_string()), "{names:?}");
    assert!(!names.contains(&"bin/ls".to_string()), "{names:?}");
    assert!(names
        .iter()
        .all(|n| !n.starts_with('/') && !n.starts_with("./")));
    // To a file, read back by import.
    let file = r.dir.path().join("ex.tar");
    r.run(&["export", "-o", file.to_str().unwrap(), "ex"]).ok();
    r.run(&["import", file.to_str().unwrap(), "reimported"])
        .ok();
    assert_eq!(
        r.run(&["run", "--rm", "reimported", "cat", "/data"]).ok(),
        "exported\n"
    );
    // The overlay lived in export's own mount namespace: nothing is left.
    assert!(mounts_mentioning(&r.root.join("tmp").display().to_string()).is_empty());
    let e = r.run(&["export", "nosuch"]).fails_1().to_string();
    assert!(e.contains("No such container"), "{e}");
}

#[test]
fn system_df_and_prune() {
    let r = Rdock::with_busybox();
    r.run(&[
        "run",
        "--name",
        "done1",
        "busybox",
        "sh",
        "-c",
        "head -c 5000 /bin/busybox > /blob",
    ])
    .ok();
    let id = r
        .run(&["inspect", "-f", "{{.Id}}", "done1"])
        .ok()
        .trim()
        .to_string();
    r.run(&["commit", "done1"]).ok();
    let df = r.run(&["system", "df"]).ok().to_string();
    let rows: Vec<Vec<&str>> = df.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(rows[0], ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]);
    assert_eq!(rows[1][..3], ["Images", "2", "1"], "{df}");
    assert_eq!(
        rows[2],
        ["Containers", "1", "0", "5kB", "5kB", "(100%)"],
        "{df}"
    );
    assert_eq!(rows[3][..2], ["Local", "Volumes"], "{df}");
    // Without -f and with no "y" on stdin, nothing goes.
    assert!(r.run(&["system", "prune"]).ok().contains("Are you sure"));
    assert_eq!(r.run(&["ps", "-aq"]).ok().lines().count(), 1);
    r.run(&["network", "create", "unused"]).ok();
    let out = r.run(&["system", "prune", "-f"]).ok().to_string();
    assert!(
        out.starts_with(&format!(
            "Deleted Containers:\n{id}\n\nDeleted Networks:\nunused\n\nDeleted Images:\n"
        )),
        "{out}"
    );
    assert!(out.contains("Total reclaimed space: "), "{out}");
    assert_eq!(r.run(&["ps", "-aq"]).ok(), "");
    // The tagged image stays without -a.
    assert_eq!(r.run(&["images", "-q"]).ok().lines().count(), 1);
}

#[test]
fn system_df_verbose_lists_each_image_container_and_volume() {
    let r = Rdock::with_busybox();
    r.run(&[
        "run",
        "--name",
        "dfv",
        "-v",
        "dfvol:/data",
        "busybox",
        "sh",
        "-c",
        "head -c 5000 /bin/busybox > /f",
    ])
    .ok();
    r.run(&["commit", "dfv", "derived:1"]).ok();
    let out = r.run(&["system", "df", "-v"]).ok().to_string();
    let sections: Vec<&str> = out
        .lines()
        .filter(|l| l.ends_with("space usage:") || l.starts_with("Build cache usage:"))
        .collect();
    assert_eq!(
        sections,
        [
            "Images space usage:",
            "Containers space usage:",
            "Local Volumes space usage:",
            "Build cache usage: 0B"
        ],
        "{out}"
    );
    let row = |prefix: &str| -> Vec<String> {
        out.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} row: {out}"))
            .split_whitespace()
            .map(String::from)
            .collect()
    };
    // busybox's layer is shared with the image committed on it; the
    // commit's own layer is its unique size; one container uses busybox.
    let bb = row("busybox ");
    // SIZE in 3 significant digits, SHARED SIZE in 4 (docker's df -v).
    let size = bb[bb.len() - 4].trim_end_matches("MB");
    assert!(bb[bb.len() - 3].starts_with(size), "{out}");
    assert_eq!(bb[bb.len() - 2], "0B", "{out}");
    assert_eq!(bb[bb.len() - 1], "1", "{out}");
    let derived = row("derived ");
    assert_eq!(derived[derived.len() - 2], "5kB", "{out}");
    assert_eq!(derived[derived.len() - 1], "0", "{out}");
    let c = row(&r.run(&["inspect", "-f", "{{.Id}}", "dfv"]).ok()[..12]);
    assert_eq!(c.last().unwrap(), "dfv");
    assert!(c.contains(&"5kB".to_string()), "{out}");
    let v = row("dfvol ");
    assert_eq!(v, ["dfvol", "1", "0B"]);
    let json: serde_json::Value =
        serde_json::from_str(r.run(&["system", "df", "-v", "--format", "json"]).ok()).unwrap();
    assert_eq!(json["Volumes"][0]["Name"], "dfvol");
    assert_eq!(json["Containers"][0]["Names"], "dfv");
    r.run(&["rm", "-v", "dfv"]).ok();
    r.run(&["volume", "rm", "dfvol"]).ok();
}
