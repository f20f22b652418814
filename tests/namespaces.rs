//! `--pid`, `--ipc`, `--uts`, `--sysctl`, `--group-add`, `--oom-score-adj`:
//! which namespaces a container gets or shares, and what runs in them.

mod common;
use common::*;

fn run(r: &Rdock, flags: &[&str], cmd: &[&str]) -> String {
    let mut args = vec!["run", "--rm", "--network", "none"];
    args.extend_from_slice(flags);
    args.push("busybox");
    args.extend_from_slice(cmd);
    r.run(&args).ok().trim().to_string()
}

fn id_of(r: &Rdock, name: &str) -> String {
    r.run(&["inspect", "-f", "{{.Id}}", name])
        .ok()
        .trim()
        .to_string()
}

fn ns_of(pid: &str, ns: &str) -> String {
    std::fs::read_link(format!("/proc/{pid}/ns/{ns}"))
        .unwrap()
        .display()
        .to_string()
}

#[test]
fn pid_and_ipc_of_the_host_or_another_container() {
    let r = Rdock::with_busybox();
    // Private: the container's own pid 1.
    assert_eq!(run(&r, &[], &["sh", "-c", "echo $$"]), "1");
    // Host: the host's pid namespace and IPC namespace.
    assert_eq!(
        run(
            &r,
            &["--pid", "host", "--ipc", "host"],
            &[
                "sh",
                "-c",
                "readlink /proc/self/ns/pid; readlink /proc/self/ns/ipc"
            ]
        ),
        format!("{}\n{}", ns_of("self", "pid"), ns_of("self", "ipc"))
    );
    r.run(&[
        "run",
        "-d",
        "--name",
        "donor",
        "--network",
        "none",
        "--ipc",
        "shareable",
        "busybox",
        "sleep",
        "600",
    ])
    .ok();
    let donor = wait_for_pid(&r, "donor").to_string();
    let ps = run(&r, &["--pid", "container:donor"], &["ps", "-o", "comm"]);
    assert!(ps.contains("sleep"), "{ps}");
    assert_eq!(
        run(
            &r,
            &["--ipc", "container:donor"],
            &["readlink", "/proc/self/ns/ipc"]
        ),
        ns_of(&donor, "ipc")
    );
    // And its /dev/shm, where POSIX shared memory lives.
    r.run(&["exec", "donor", "sh", "-c", "echo shared > /dev/shm/seg"])
        .ok();
    assert_eq!(
        run(&r, &["--ipc", "container:donor"], &["cat", "/dev/shm/seg"]),
        "shared"
    );
    let shm_mounts = mounts_mentioning(&format!("{}/shm", id_of(&r, "donor")));
    assert_eq!(shm_mounts.len(), 1, "{shm_mounts:?}");
    // A private donor's IPC is not shared (docker's default mode).
    r.run(&[
        "run",
        "-d",
        "--name",
        "private",
        "--network",
        "none",
        "busybox",
        "sleep",
        "600",
    ])
    .ok();
    let e = r.run(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--ipc",
        "container:private",
        "busybox",
        "true",
    ]);
    assert!(e.fails_125().contains("non-shareable IPC"), "{}", e.stderr);
    r.run(&["stop", "-t", "0", "private"]).ok();
    let e = r.run(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--pid",
        "container:private",
        "busybox",
        "true",
    ]);
    assert!(
        e.fails_125()
            .contains("cannot join PID of a non running container: private"),
        "{}",
        e.stderr
    );
    let modes = r
        .run(&[
            "inspect",
            "-f",
            "{{.HostConfig.IpcMode}} {{.HostConfig.PidMode}}",
            "donor",
            "private",
        ])
        .ok()
        .to_string();
    assert_eq!(modes, "shareable \nprivate \n");
    // --ipc none: no /dev/shm.
    assert!(!run(&r, &["--ipc", "none"], &["ls", "/dev"])
        .lines()
        .any(|l| l == "shm"));
    let donor_id = id_of(&r, "donor");
    r.run(&["rm", "-f", "donor", "private"]).ok();
    assert!(
        mounts_mentioning(&donor_id).is_empty(),
        "{:?}",
        mounts_mentioning(&donor_id)
    );
    // docker's client refuses --pid and --uts; its engine --ipc.
    for (flag, want) in [
        ("--pid", "--pid: invalid PID mode"),
        ("--uts", "--uts: invalid UTS mode"),
    ] {
        let e = r.run(&["create", flag, "bogus", "busybox", "true"]);
        assert!(e.fails_125().contains(want), "{}", e.stderr);
    }
    let e = r.run(&["create", "--ipc", "bogus", "busybox", "true"]);
    assert!(
        e.fails_1().contains("invalid IPC mode: bogus"),
        "{}",
        e.stderr
    );
}

#[test]
fn uts_host_keeps_the_host_name() {
    let r = Rdock::with_busybox();
    let host = nix::unistd::gethostname().unwrap().into_string().unwrap();
    assert_eq!(run(&r, &["--uts", "host"], &["hostname"]), host);
    assert_ne!(run(&r, &[], &["hostname"]), host);
    let e = r.run(&["create", "--uts", "host", "-h", "x1", "busybox", "true"]);
    assert!(e
        .fails_1()
        .contains("Conflicting options: hostname and the UTS mode"));
}

#[test]
fn sysctls_groups_and_oom_score() {
    let r = Rdock::with_busybox();
    let out = run(
        &r,
        &[
            "--sysctl",
            "net.ipv4.ip_forward=1",
            "--sysctl",
            "kernel.shmmax=123456789",
        ],
        &[
            "cat",
            "/proc/sys/net/ipv4/ip_forward",
            "/proc/sys/kernel/shmmax",
        ],
    );
    assert_eq!(out, "1\n123456789");
    // The host's own values are untouched.
    assert_ne!(
        std::fs::read_to_string("/proc/sys/kernel/shmmax")
            .unwrap()
            .trim(),
        "123456789"
    );
    let e = r.run(&["create", "--sysctl", "vm.swappiness=1", "busybox", "true"]);
    assert!(e
        .fails_125()
        .contains("sysctl 'vm.swappiness=1' is not allowed"));
    let e = r.run(&[
        "create",
        "--network",
        "host",
        "--sysctl",
        "net.ipv4.ip_forward=1",
        "busybox",
        "true",
    ]);
    assert!(e
        .fails_1()
        .contains("not allowed in host network namespace"));
    assert_eq!(
        run(
            &r,
            &["--group-add", "10", "--group-add", "1234"],
            &["id", "-G"]
        ),
        "0 10 1234"
    );
    let e = r.run(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--group-add",
        "nosuchgroup",
        "busybox",
        "true",
    ]);
    assert!(
        e.stderr.contains("unable to find group nosuchgroup"),
        "{}",
        e.stderr
    );
    // (A negative value needs CAP_SYS_RESOURCE, which this machine's root
    // lacks.)
    assert_eq!(
        run(
            &r,
            &["--oom-score-adj", "500"],
            &["cat", "/proc/self/oom_score_adj"]
        ),
        "500"
    );
    let e = r.run(&["create", "--oom-score-adj", "2000", "busybox", "true"]);
    assert!(e
        .fails_1()
        .contains("range for oom score adj is [-1000, 1000]"));
}
