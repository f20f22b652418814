//! Containers in the foreground and their lifecycle, against real
//! containers: run options, exit codes, ps, rm, and that nothing leaks.

mod common;
use common::*;
use std::path::Path;
use std::time::Duration;

#[test]
fn run_echo_and_exit_codes() {
    let r = Rdock::with_busybox();
    assert_eq!(
        r.run(&["run", "--rm", "busybox", "echo", "hello", "world"])
            .ok(),
        "hello world\n"
    );
    assert_eq!(
        r.run(&["run", "--rm", "busybox", "sh", "-c", "exit 3"])
            .code,
        3
    );
    // Killed by a signal (from outside: PID 1 ignores its own SIGKILL): 128 + N.
    let mut fg = r
        .cmd(&["run", "--rm", "--name", "victim", "busybox", "sleep", "30"])
        .spawn()
        .unwrap();
    let pid = wait_for_pid(&r, "victim");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    assert_eq!(fg.wait().unwrap().code(), Some(137));
    let nf = r.run(&["run", "--rm", "busybox", "nosuchcmd"]);
    assert_eq!(nf.code, 127, "{}", nf.stderr);
    assert!(
        nf.stderr.contains("executable file not found"),
        "{}",
        nf.stderr
    );
    assert_eq!(
        r.run(&["run", "--rm", "busybox", "/no/such/path"]).code,
        127
    );
    let ne = r.run(&["run", "--rm", "busybox", "/bin/notexec"]);
    assert_eq!(ne.code, 126, "{}", ne.stderr);
    assert_eq!(r.run(&["run", "--rm", "busybox", "/etc"]).code, 126);
    // Failed starts leave no container behind with --rm... docker keeps
    // the created container when not --rm.
    assert_eq!(r.run(&["ps", "-aq"]).ok(), "");
}

#[test]
fn unknown_image_and_bad_flags_are_125_and_change_nothing() {
    let r = Rdock::with_busybox();
    let before = r.snapshot();
    let e = r
        .run(&["run", "--pull", "never", "nosuchimage"])
        .fails_125()
        .to_string();
    assert!(e.contains("No such image: nosuchimage:latest"), "{e}");
    // Without --pull never, docker's two lines: the notice, then why the
    // pull failed (a closed loopback port: tests never leave loopback).
    let e = r.run(&["run", "127.0.0.1:1/nosuchimage"]);
    assert_eq!(e.code, 125);
    assert!(
        e.stderr
            .starts_with("Unable to find image '127.0.0.1:1/nosuchimage:latest' locally\n"),
        "{}",
        e.stderr
    );
    assert!(e.stderr.contains("127.0.0.1:1/v2/"), "{}", e.stderr);
    r.run(&["run", "--bogus", "busybox"]).fails_125();
    r.run(&["run", "--memory", "1m", "busybox", "true"])
        .fails_125();
    r.run(&["run", "--cap-add", "NOT_A_CAP", "busybox", "true"])
        .fails_125();
    r.run(&["run", "--ulimit", "nofile=10:5", "busybox", "true"])
        .fails_125();
    r.run(&["run", "--name", "bad name", "busybox", "true"])
        .fails_125();
    // A relative host path is neither a path nor a volume name (docker's error).
    let e = r
        .run(&["run", "-v", "relative/dir:/x", "busybox", "true"])
        .fails_125()
        .to_string();
    assert!(
        e.contains("includes invalid characters for a local volume name"),
        "{e}"
    );
    r.run(&["run", "--entrypoint", "", "busybox"]).fails_125();
    let e = r
        .run(&["run", "-w", "rel", "busybox", "pwd"])
        .fails_125()
        .to_string();
    assert!(e.contains("needs to be an absolute path"), "{e}");
    r.run(&["run", "--tmpfs", "/x:size=bogus", "busybox", "true"])
        .fails_125();
    r.run(&["run", "--mount", "type=bind,target=/x", "busybox", "true"])
        .fails_125();
    assert_eq!(r.snapshot(), before);
}

#[test]
fn parallel_commands_share_one_store() {
    let r = Rdock::with_busybox();
    let runs: Vec<_> = (0..6)
        .map(|_| {
            r.cmd(&["run", "--rm", "busybox", "true"])
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in runs {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let creates: Vec<_> = (0..4)
        .map(|_| {
            r.cmd(&["create", "--name", "same", "busybox", "true"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    let codes: Vec<i32> = creates
        .into_iter()
        .map(|mut c| c.wait().unwrap().code().unwrap())
        .collect();
    assert_eq!(codes.iter().filter(|c| **c == 0).count(), 1, "{codes:?}");
    // docker's daemon refuses the name: exit 1.
    assert!(codes.iter().all(|c| *c == 0 || *c == 1), "{codes:?}");
    assert_eq!(r.run(&["ps", "-aq"]).ok().lines().count(), 1);
}

#[test]
fn name_in_use_is_refused() {
    let r = Rdock::with_busybox();
    r.run(&["create", "--name", "web", "busybox", "true"]).ok();
    let e = r
        .run(&["create", "--name", "web", "busybox", "true"])
        .fails_1()
        .to_string();
    assert!(e.contains("is already in use"), "{e}");
    assert_eq!(r.run(&["ps", "-aq"]).ok().lines().count(), 1);
}

#[test]
fn environment_workdir_user_hostname_entrypoint() {
    let r = Rdock::with_busybox();
    let envf = r.dir.path().join("env");
    std::fs::write(&envf, "# comment\nFROM_FILE=yes\n\nOVER=file\n").unwrap();
    let out = r
        .run(&[
            "run",
            "--rm",
            "-e",
            "A=1",
            "--env",
            "OVER=flag",
            "--env-file",
            envf.to_str().unwrap(),
            "busybox",
            "sh",
            "-c",
            "echo $A $FROM_FILE $OVER $HOME $PATH",
        ])
        .ok()
        .to_string();
    assert_eq!(
        out,
        "1 yes flag /root /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
    );
    assert_eq!(
        r.run(&["run", "--rm", "-w", "/tmp", "busybox", "pwd"]).ok(),
        "/tmp\n"
    );
    assert_eq!(
        r.run(&["run", "--rm", "-w", "/new/dir", "busybox", "pwd"])
            .ok(),
        "/new/dir\n"
    );
    let e = r
        .run(&["run", "--rm", "-u", "nosuch", "busybox", "id"])
        .fails_125()
        .to_string();
    assert!(
        e.contains("unable to find user nosuch: no matching entries in passwd file"),
        "{e}"
    );
    assert_eq!(
        r.run(&["run", "--rm", "-u", "alice", "busybox", "id"]).ok(),
        "uid=1000(alice) gid=1000(alice) groups=50(staff),1000(alice)\n"
    );
    assert_eq!(
        r.run(&[
            "run",
            "--rm",
            "-u",
            "1000:50",
            "busybox",
            "sh",
            "-c",
            "id -u; id -g"
        ])
        .ok(),
        "1000\n50\n"
    );
    assert_eq!(
        r.run(&[
            "run",
            "--rm",
            "-u",
            "nobody",
            "busybox",
            "sh",
            "-c",
            "echo $HOME"
        ])
        .ok(),
        "/nonexistent\n"
    );
    let bad = r.run(&["run", "--rm", "-u", "nosuchuser", "busybox", "true"]);
    assert_ne!(bad.code, 0);
    assert!(bad.stderr.contains("nosuchuser"), "{}", bad.stderr);
    assert_eq!(
        r.run(&[
            "run",
            "--rm",
            "--hostname",
            "box1",
            "busybox",
            "sh",
            "-c",
            "hostname; cat /etc/hostname; echo $HOSTNAME"
        ])
        .ok(),
        "box1\nbox1\nbox1\n"
    );
    let id = r
        .run(&["create", "busybox", "hostname"])
        .ok()
        .trim()
        .to_string();
    assert_eq!(r.run(&["start", "-a", &id]).ok().trim(), &id[..12]);
    assert_eq!(
        r.run(&["run", "--rm", "--entrypoint", "echo", "busybox", "a", "b"])
            .ok(),
        "a b\n"
    );
    assert_eq!(
        r.run(&["run", "--rm", "--entrypoint", "/bin/echo", "busybox"])
            .ok(),
        "\n"
    );
}

#[test]
fn etc_files_are_the_containers_own() {
    let r = Rdock::with_busybox();
    let out = r
        .run(&[
            "run",
            "--rm",
            "--hostname",
            "box1",
            "busybox",
            "sh",
            "-c",
            "cat /etc/hostname; grep -c localhost /etc/hosts; wc -c < /etc/resolv.conf",
        ])
        .ok()
        .to_string();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "box1", "{out}");
    assert!(lines[1].parse::<u32>().unwrap() >= 1, "{out}");
    // The image's dangling resolv.conf symlink was replaced by the file.
    let host_resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    if host_resolv.lines().any(|l| l.starts_with("nameserver")) {
        assert_ne!(lines[2].trim(), "0", "{out}");
    }
    // Writes to them stay in the container's own files, not the image.
    let id = r
        .run(&[
            "create",
            "busybox",
            "sh",
            "-c",
            "echo 10.0.0.9 db >> /etc/hosts",
        ])
        .ok()
        .trim()
        .to_string();
    r.run(&["start", "-a", &id]).ok();
    let hosts = std::fs::read_to_string(r.root.join("containers").join(&id).join("hosts")).unwrap();
    assert!(hosts.contains("10.0.0.9 db"), "{hosts}");
    assert_eq!(
        r.run(&[
            "run",
            "--rm",
            "busybox",
            "grep",
            "-c",
            "10.0.0.9",
            "/etc/hosts"
        ])
        .code,
        1
    );
}

#[test]
fn mounts_bind_tmpfs_readonly() {
    let r = Rdock::with_busybox();
    let host = r.dir.path().join("shared");
    std::fs::create_dir(&host).unwrap();
    std::fs::write(host.join("in.txt"), "from host").unwrap();
    let v = format!("{}:/data", host.display());
    assert_eq!(
        r.run(&[
            "run",
            "--rm",
            "-v",
            &v,
            "busybox",
            "sh",
            "-c",
            "cat /data/in.txt; echo out > /data/out.txt"
        ])
        .ok(),
        "from host"
    );
    assert_eq!(
        std::fs::read_to_string(host.join("out.txt")).unwrap(),
        "out\n"
    );
    let ro = format!("{}:/data:ro", host.display());
    assert_ne!(
        r.run(&["run", "--rm", "-v", &ro, "busybox", "touch", "/data/x"])
            .code,
        0
    );
    let m = format!("type=bind,source={},target=/m,readonly", host.display());
    assert_eq!(
        r.run(&["run", "--rm", "--mount", &m, "busybox", "cat", "/m/in.txt"])
            .ok(),
        "from host"
    );
    assert_ne!(
        r.run(&["run", "--rm", "--mount", &m, "busybox", "touch", "/m/y"])
            .code,
        0
    );
    let out = r
        .run(&[
            "run",
            "--rm",
            "--tmpfs",
            "/scratch:size=1m",
            "busybox",
            "sh",
            "-c",
            "grep /scratch /proc/mounts",
        ])
        .ok()
        .to_string();
    assert!(
        out.starts_with("tmpfs /scratch tmpfs") && out.contains("nosuid") && out.contains("nodev"),
        "{out}"
    );
    let out = r
        .run(&[
            "run",
            "--rm",
            "--mount",
            "type=tmpfs,target=/t",
            "busybox",
            "sh",
            "-c",
            "touch /t/a && echo ok",
        ])
        .ok()
        .to_string();
    assert_eq!(out, "ok\n");
    assert_ne!(
        r.run(&["run", "--rm", "--read-only", "busybox", "touch", "/x"])
            .code,
        0
    );
    assert_eq!(
        r.run(&[
            "run",
            "--rm",
            "--read-only",
            "--tmpfs",
            "/tmp",
            "busybox",
            "touch",
            "/tmp/x"
        ])
        .code,
        0
    );
    // -v creates a missing host directory, as docker does; --mount refuses.
    let missing = host.join("nope");
    let v = format!("{}:/x", missing.display());
    r.run(&["run", "--rm", "-v", &v, "busybox", "true"]).ok();
    assert!(missing.is_dir());
    let m = format!("type=bind,source={}/absent,target=/x", host.display());
    let e = r
        .run(&["run", "--rm", "--mount", &m, "busybox", "true"])
        .fails_125()
        .to_string();
    assert!(e.contains("bind source path does not exist"), "{e}");
    // A symlink in the image (/escape -> /tmp) is resolved inside the
    // container's root: the bind lands on the container's /tmp/x.
    let v = format!("{}:/escape/x", host.display());
    assert_eq!(
        r.run(&["run", "--rm", "-v", &v, "busybox", "cat", "/tmp/x/in.txt"])
            .ok(),
        "from host"
    );
    assert!(!Path::new("/tmp/x/in.txt").exists());
    // Writes to the rootfs go to the container's upper layer, not the image.
    let id = r
        .run(&["create", "busybox", "sh", "-c", "echo changed > /etc/motd"])
        .ok()
        .trim()
        .to_string();
    assert_eq!(r.run(&["start", "-a", &id]).code, 0);
    assert_eq!(
        r.run(&[
            "run",
            "--rm",
            "busybox",
            "sh",
            "-c",
            "cat /etc/motd 2>/dev/null || echo absent"
        ])
        .ok(),
        "absent\n"
    );
}

#[test]
fn confinement_matches_docker_defaults() {
    let r = Rdock::with_busybox();
    let caps = r
        .run(&[
            "run",
            "--rm",
            "busybox",
            "grep",
            "-E",
            "^Cap(Inh|Prm|Eff|Bnd|Amb)",
            "/proc/self/status",
        ])
        .ok()
        .to_string();
    assert!(caps.contains("CapEff:\t00000000a80425fb"), "{caps}");
    assert!(caps.contains("CapBnd:\t00000000a80425fb"), "{caps}");
    assert!(caps.contains("CapInh:\t0000000000000000"), "{caps}");
    let nonroot = r
        .run(&[
            "run",
            "--rm",
            "-u",
            "1000",
            "busybox",
            "grep",
            "CapEff",
            "/proc/self/status",
        ])
        .ok()
        .to_string();
    assert!(nonroot.contains("0000000000000000"), "{nonroot}");
    let added = r
        .run(&[
            "run",
            "--rm",
            "--cap-add",
            "NET_ADMIN",
            "--cap-drop",
            "chown",
            "busybox",
            "grep",
            "CapEff",
            "/proc/self/status",
        ])
        .ok()
        .to_string();
    assert!(added.contains("00000000a80435fa"), "{added}");
    let priv_ = r
        .run(&[
            "run",
            "--rm",
            "--privileged",
            "busybox",
            "grep",
            "CapEff",
            "/proc/self/status",
        ])
        .ok()
        .to_string();
    assert!(!priv_.contains("a80425fb"), "{priv_}");
    // --privileged: /sys writable, nothing masked or read-only.
    let mounts = r
        .run(&[
            "run",
            "--rm",
            "--privileged",
            "busybox",
            "cat",
            "/proc/mounts",
        ])
        .ok()
        .to_string();
    assert!(
        mounts.lines().any(|l| l.starts_with("sysfs /sys sysfs rw")),
        "{mounts}"
    );
    assert!(!mounts.contains(" /proc/sys "), "{mounts}");
    assert!(!mounts.contains(" /proc/timer_list "), "{mounts}");
    // Masked and read-only paths.
    // (Each masked file this kernel has reads as empty.)
    for f in [
        "/proc/kcore",
        "/proc/keys",
        "/proc/timer_list",
        "/proc/interrupts",
    ] {
        if std::path::Path::new(f).exists() {
            let cmd = format!("wc -c < {f}");
            assert_eq!(
                r.run(&["run", "--rm", "busybox", "sh", "-c", &cmd])
                    .ok()
                    .trim(),
                "0",
                "{f}"
            );
        }
    }
    assert_ne!(
        r.run(&[
            "run",
            "--rm",
            "busybox",
            "sh",
            "-c",
            "echo x > /proc/sys/kernel/hostname"
        ])
        .code,
        0
    );
    assert_ne!(
        r.run(&["run", "--rm", "busybox", "touch", "/sys/x"]).code,
        0
    );
    // PID 1 and namespaces.
    assert_eq!(
        r.run(&["run", "--rm", "busybox", "sh", "-c", "echo $$"])
            .ok(),
        "1\n"
    );
    let links = r
        .run(&["run", "--rm", "busybox", "ls", "/sys/class/net"])
        .ok()
        .to_string();
    assert_eq!(links.trim(), "eth0\nlo", "the default bridge");
    let links = r
        .run(&[
            "run",
            "--rm",
            "--network",
            "none",
            "busybox",
            "cat",
            "/sys/class/net/lo/operstate",
            "/sys/class/net/lo/flags",
        ])
        .ok()
        .to_string();
    assert_eq!(links, "unknown\n0x9\n", "--network none: lo only, and up");
    let host_links = r
        .run(&[
            "run",
            "--rm",
            "--network",
            "host",
            "busybox",
            "cat",
            "/proc/net/dev",
        ])
        .ok()
        .to_string();
    // /proc/net/dev, not `ls /sys/class/net`: ls stats each link, and a
    // parallel test's veth vanishing meanwhile made it fail.
    assert!(host_links.contains("lo:"), "{host_links}");
    // /dev as docker has it.
    let dev = r
        .run(&["run", "--rm", "busybox", "ls", "/dev"])
        .ok()
        .to_string();
    for n in [
        "null", "zero", "full", "random", "urandom", "tty", "ptmx", "pts", "shm", "mqueue", "fd",
        "stdin", "stdout", "stderr",
    ] {
        assert!(
            dev.split_whitespace().any(|x| x == n),
            "/dev/{n} missing: {dev}"
        );
    }
    assert_eq!(
        r.run(&[
            "run",
            "--rm",
            "busybox",
            "sh",
            "-c",
            "echo hi > /dev/null && head -c 4 /dev/zero | wc -c"
        ])
        .ok()
        .trim(),
        "4"
    );
    // --ulimit sets, and nothing is raised otherwise.
    assert_eq!(
        r.run(&[
            "run",
            "--rm",
            "--ulimit",
            "nofile=512:1024",
            "busybox",
            "sh",
            "-c",
            "ulimit -n; ulimit -Hn"
        ])
        .ok(),
        "512\n1024\n"
    );
}

#[test]
fn ps_statuses_filters_and_formats() {
    let r = Rdock::with_busybox();
    let created = r
        .run(&["create", "--name", "c-created", "busybox", "true"])
        .ok()
        .trim()
        .to_string();
    r.run(&["run", "--name", "c-exited", "busybox", "sh", "-c", "exit 2"]);
    let running = r
        .run(&["run", "-d", "--name", "c-running", "busybox", "sleep", "30"])
        .ok()
        .trim()
        .to_string();
    assert_eq!(running.len(), 64);

    let ps = r.run(&["ps"]).ok().to_string();
    let header = ps.lines().next().unwrap();
    for col in [
        "CONTAINER ID",
        "IMAGE",
        "COMMAND",
        "CREATED",
        "STATUS",
        "PORTS",
        "NAMES",
    ] {
        assert!(header.contains(col), "{header}");
    }
    assert_eq!(ps.lines().count(), 2, "only the running one: {ps}");
    assert!(ps.contains("c-running") && ps.contains("Up "), "{ps}");
    assert!(ps.contains("\"sleep 30\""), "{ps}");

    let all = r
        .run(&["ps", "-a", "--format", "{{.Names}}|{{.Status}}"])
        .ok()
        .to_string();
    assert!(all.contains("c-created|Created"), "{all}");
    assert!(
        all.lines()
            .any(|l| l.starts_with("c-exited|Exited (2) ") && l.ends_with(" ago")),
        "{all}"
    );
    assert_eq!(
        all.lines().next().unwrap().split('|').next().unwrap(),
        "c-running",
        "newest first"
    );

    assert_eq!(r.run(&["ps", "-q"]).ok().trim(), &running[..12]);
    assert_eq!(r.run(&["ps", "-q", "--no-trunc"]).ok().trim(), running);
    assert_eq!(
        r.run(&["ps", "-l", "--format", "{{.Names}}"]).ok(),
        "c-running\n"
    );
    assert_eq!(
        r.run(&["ps", "-n", "2", "--format", "{{.Names}}"]).ok(),
        "c-running\nc-exited\n"
    );
    assert_eq!(
        r.run(&["ps", "-a", "--filter", "status=created", "-q", "--no-trunc"])
            .ok()
            .trim(),
        created
    );
    assert_eq!(
        r.run(&[
            "ps",
            "-a",
            "--filter",
            "name=exited",
            "--format",
            "{{.Names}}"
        ])
        .ok(),
        "c-exited\n"
    );
    assert_eq!(
        r.run(&[
            "ps",
            "-a",
            "--filter",
            &format!("id={}", &created[..6]),
            "--format",
            "{{.Names}}"
        ])
        .ok(),
        "c-created\n"
    );
    assert_eq!(
        r.run(&["ps", "-a", "--filter", "ancestor=busybox", "-q"])
            .ok()
            .lines()
            .count(),
        3
    );
    assert_eq!(
        r.run(&["ps", "-a", "--filter", "ancestor=other", "-q"])
            .ok(),
        ""
    );
    r.run(&["ps", "--filter", "status=bogus"]).fails_1();
    let json = r.run(&["ps", "--format", "json"]).ok().to_string();
    let v: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(v["Names"], "c-running");
    assert_eq!(v["State"], "running");

    // inspect of a running container
    let st = r
        .run(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.Running}} {{.Name}}",
            "c-running",
        ])
        .ok()
        .to_string();
    assert_eq!(st, "running true /c-running\n");
    let pid: i32 = r
        .run(&["inspect", "-f", "{{.State.Pid}}", "c-running"])
        .ok()
        .trim()
        .parse()
        .unwrap();
    assert!(pid > 1);
    let ex = r
        .run(&[
            "container",
            "inspect",
            "-f",
            "{{.State.ExitCode}} {{.State.Status}}",
            "c-exited",
        ])
        .ok()
        .to_string();
    assert_eq!(ex, "2 exited\n");

    // rm refuses a running container without -f; rm -f kills it.
    let e = r.run(&["rm", "c-running"]);
    assert_eq!(e.code, 1);
    assert!(
        e.stderr
            .contains("cannot remove container \"c-running\": container is running"),
        "{}",
        e.stderr
    );
    let out = r
        .run(&["rm", "-f", "c-running", "c-exited"])
        .ok()
        .to_string();
    assert_eq!(out, "c-running\nc-exited\n");
    assert!(
        std::fs::metadata(format!("/proc/{pid}")).is_err(),
        "container process gone"
    );
    assert!(
        cgroups_of(&running).is_empty(),
        "cgroup left: {:?}",
        cgroups_of(&running)
    );
    let miss = r.run(&["rm", "nosuch"]);
    assert_eq!(miss.code, 1);
    assert!(
        miss.stderr.contains("No such container: nosuch"),
        "{}",
        miss.stderr
    );
}

#[test]
fn nothing_leaks_after_rm_and_auto_remove() {
    let r = Rdock::with_busybox();
    let root = r.root.display().to_string();
    r.run(&["run", "--rm", "--name", "gone", "busybox", "true"])
        .ok();
    assert_eq!(r.run(&["ps", "-aq"]).ok(), "");
    assert!(!r.root.join("names/gone").exists());
    let id = r
        .run(&["run", "-d", "busybox", "sleep", "30"])
        .ok()
        .trim()
        .to_string();
    assert!(
        !cgroups_of(&id).is_empty(),
        "a running container has a cgroup"
    );
    assert!(
        mounts_mentioning(&root).is_empty(),
        "the host sees no container mounts"
    );
    r.run(&["rm", "-f", &id]).ok();
    assert!(cgroups_of(&id).is_empty());
    assert!(!r.root.join("containers").join(&id).exists());
    assert!(mounts_mentioning(&root).is_empty());
    // --rm with -d: removed when it exits.
    let id = r
        .run(&["run", "-d", "--rm", "busybox", "true"])
        .ok()
        .trim()
        .to_string();
    for _ in 0..200 {
        if !r.root.join("containers").join(&id).exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!r.root.join("containers").join(&id).exists());
    assert!(cgroups_of(&id).is_empty());
}

#[test]
fn create_start_and_container_prune() {
    let r = Rdock::with_busybox();
    let id = r
        .run(&[
            "container",
            "create",
            "--name",
            "job",
            "busybox",
            "sh",
            "-c",
            "echo ran; exit 4",
        ])
        .ok()
        .trim()
        .to_string();
    assert_eq!(
        r.run(&["inspect", "-f", "{{.State.Status}}", "job"]).ok(),
        "created\n"
    );
    let out = r.run(&["start", "-a", "job"]);
    assert_eq!(out.code, 4);
    assert_eq!(out.stdout, "ran\n");
    // start -ai feeds our stdin to a container created with -i, each time.
    let cat = r
        .run(&["create", "-i", "busybox", "cat"])
        .ok()
        .trim()
        .to_string();
    for input in ["first\n", "second\n"] {
        let out = r.run_stdin(&["start", "-ai", &cat], input.as_bytes());
        assert_eq!((out.code, out.stdout.as_str()), (0, input));
    }
    // A detached start runs it again; start prints the name given.
    assert_eq!(r.run(&["start", "job"]).ok(), "job\n");
    for _ in 0..200 {
        if r.run(&["inspect", "-f", "{{.State.Status}}", "job"]).stdout == "exited\n" {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        r.run(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.ExitCode}}",
            "job"
        ])
        .ok(),
        "exited 4\n"
    );
    let cidfile = r.dir.path().join("cid");
    let keep = r
        .run(&[
            "run",
            "-d",
            "--cidfile",
            cidfile.to_str().unwrap(),
            "busybox",
            "sleep",
            "30",
        ])
        .ok()
        .trim()
        .to_string();
    assert_eq!(std::fs::read_to_string(&cidfile).unwrap(), keep);
    let out = r.run(&["container", "prune", "-f"]).ok().to_string();
    assert!(out.contains(&id), "{out}");
    assert_eq!(
        r.run(&["ps", "-aq", "--no-trunc"]).ok().trim(),
        keep,
        "running container kept"
    );
}

#[test]
fn signals_are_forwarded_to_the_container() {
    let r = Rdock::with_busybox();
    let mut child = r
        .cmd(&[
            "run",
            "--rm",
            "busybox",
            "sh",
            "-c",
            "trap 'echo got-term; exit 7' TERM; echo ready; while true; do sleep 0.1; done",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut buf = [0u8; 6];
    std::io::Read::read_exact(&mut out, &mut buf).unwrap();
    assert_eq!(&buf, b"ready\n");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = child.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    assert_eq!(rest, "got-term\n");
    assert_eq!(status.code(), Some(7));
}

#[test]
fn interactive_stdin_is_passed_through() {
    let r = Rdock::with_busybox();
    assert_eq!(
        r.run_stdin(&["run", "--rm", "-i", "busybox", "cat"], b"piped in\n")
            .ok(),
        "piped in\n"
    );
    // Without -i the container's stdin is empty.
    assert_eq!(
        r.run_stdin(&["run", "--rm", "busybox", "cat"], b"ignored\n")
            .ok(),
        ""
    );
}

#[test]
fn tty_session_under_tmux() {
    let r = Rdock::with_busybox();
    let cmdline = format!(
        "{} --root {} --runroot {} run -it --rm busybox sh; echo EXIT=$?; sleep 30",
        bin(),
        r.root.display(),
        r.runroot.display()
    );
    let t = Tmux::start(&r.dir.path().join("tmux.sock"), 100, 30, &cmdline);
    t.wait_for("/ #");
    t.send(&["tty; stty size; echo $TERM", "Enter"]);
    let screen = t.wait_for("xterm");
    assert!(screen.contains("/dev/pts/0"), "{screen}");
    assert!(screen.contains("30 100"), "{screen}");
    t.run(&["resize-window", "-x", "80", "-y", "24"]);
    std::thread::sleep(Duration::from_millis(100));
    t.send(&["stty size", "Enter"]);
    t.wait_for("24 80");
    t.send(&["exit 5", "Enter"]);
    t.wait_for("EXIT=5");
}

#[test]
fn ps_filters_by_exit_code_order_volume_network_and_ports() {
    let r = Rdock::with_busybox();
    let names = |filters: &[&str]| -> Vec<String> {
        let mut args = vec!["ps", "-a", "--format", "{{.Names}}"];
        for f in filters {
            args.push("--filter");
            args.push(f);
        }
        let mut v: Vec<String> = r.run(&args).ok().lines().map(String::from).collect();
        v.sort();
        v
    };
    r.run(&["run", "--name", "f-ok", "busybox", "true"]).ok();
    r.run(&["run", "--name", "f-bad", "busybox", "sh", "-c", "exit 3"]);
    r.run(&["network", "create", "f-net"]).ok();
    let host_port = registry::free_port();
    let publish = format!("127.0.0.1:{host_port}:80");
    r.run(&[
        "run",
        "-d",
        "--name",
        "f-web",
        "--network",
        "f-net",
        "-p",
        &publish,
        "--expose",
        "9000-9001/udp",
        "-v",
        "f-data:/data",
        "busybox",
        "sleep",
        "600",
    ])
    .ok();
    assert_eq!(names(&["exited=0"]), ["f-ok"]);
    assert_eq!(names(&["exited=3", "exited=0"]), ["f-bad", "f-ok"]);
    assert_eq!(names(&["before=f-bad"]), ["f-ok"]);
    assert_eq!(names(&["since=f-ok"]), ["f-bad", "f-web"]);
    assert_eq!(names(&["since=f-ok", "before=f-web"]), ["f-bad"]);
    assert_eq!(names(&["volume=f-data"]), ["f-web"]);
    assert_eq!(names(&["volume=/data"]), ["f-web"]);
    assert_eq!(names(&["network=f-net"]), ["f-web"]);
    let net_id = r
        .run(&["network", "inspect", "-f", "{{.Id}}", "f-net"])
        .ok()
        .trim()
        .to_string();
    assert_eq!(names(&[&format!("network={net_id}")]), ["f-web"]);
    // publish= is the host's port, expose= the container's; either passes.
    assert_eq!(names(&[&format!("publish={host_port}")]), ["f-web"]);
    assert_eq!(
        names(&[&format!("publish={}-{}/tcp", host_port - 1, host_port + 1)]),
        ["f-web"]
    );
    assert!(names(&["publish=80"]).is_empty());
    assert!(names(&[&format!("publish={host_port}/udp")]).is_empty());
    assert_eq!(names(&["expose=80"]), ["f-web"]);
    assert_eq!(names(&["expose=9001/udp"]), ["f-web"]);
    assert!(names(&["expose=9001"]).is_empty());
    assert_eq!(
        names(&["expose=9001", "publish=80", "expose=9000/udp"]),
        ["f-web"]
    );
    assert!(names(&["is-task=true"]).is_empty());
    // -s: the writable layer and, with the image under it, the virtual size.
    r.run(&[
        "run",
        "--name",
        "f-size",
        "busybox",
        "sh",
        "-c",
        "head -c 5000 /bin/busybox > /f",
    ])
    .ok();
    let size = r
        .run(&[
            "ps",
            "-a",
            "-s",
            "--filter",
            "name=f-size",
            "--format",
            "{{.Size}}",
        ])
        .ok()
        .trim()
        .to_string();
    assert!(
        size.starts_with("5kB (virtual ") && size.ends_with("MB)"),
        "{size}"
    );
    r.run(&["rm", "f-size"]).ok();
    assert_eq!(names(&["is-task=false"]).len(), 3);
    for bad in ["exited=x", "publish=http", "before=nothing-here"] {
        let e = r.run(&["ps", "--filter", bad]);
        assert_eq!(e.code, 1, "{bad}");
    }
    r.run(&["rm", "-f", "f-web", "f-ok", "f-bad"]).ok();
    r.run(&["network", "rm", "f-net"]).ok();
}
