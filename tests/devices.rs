//! Devices: the default allowlist keeps host devices out even though a
//! container may mknod, `--device` and `--device-cgroup-rule` let chosen
//! ones in with the permissions given, `--privileged` gets them all.

mod common;
use common::*;

fn sh(r: &Rdock, flags: &[&str], script: &str) -> String {
    let mut args = vec!["run", "--rm", "--network", "none"];
    args.extend_from_slice(flags);
    args.extend_from_slice(&["busybox", "sh", "-c", script]);
    let out = r.run(&args);
    format!("{}{}", out.stdout, out.stderr)
}

/// tty1 (4:1) is not on docker's list: the node can be made (mknod is
/// allowed for every device) but not opened.
const TTY1: &str = "mknod /dev/t1 c 4 1; echo x > /dev/t1 && echo opened; true";

#[test]
fn host_devices_stay_out_by_default() {
    let r = Rdock::with_busybox();
    let out = sh(&r, &[], TTY1);
    assert!(out.contains("Operation not permitted"), "{out}");
    assert!(!out.contains("opened"), "{out}");
    // docker's list: the same null under another name works.
    let out = sh(
        &r,
        &[],
        "mknod /dev/n2 c 1 3 && echo x > /dev/n2 && echo null-ok",
    );
    assert!(out.contains("null-ok"), "{out}");
    // A rule lets it in: now the kernel's own answer, not the cgroup's.
    let out = sh(&r, &["--device-cgroup-rule", "c 4:1 rwm"], TTY1);
    assert!(!out.contains("Operation not permitted"), "{out}");
}

#[test]
fn device_flag_maps_a_node_with_its_permissions() {
    let r = Rdock::with_busybox();
    // tty1: not on docker's list, so only the mapping's "r" applies.
    // Opening it is enough (no read or write happens).
    let out = sh(
        &r,
        &["--device", "/dev/tty1:/dev/mytty:r"],
        "ls -l /dev/mytty; true < /dev/mytty && echo read-ok; true > /dev/mytty || echo write-denied",
    );
    assert!(out.contains("4,   1"), "{out}");
    assert!(out.contains("read-ok"), "{out}");
    assert!(out.contains("write-denied"), "{out}");
    r.run(&[
        "create",
        "--name",
        "dv",
        "--network",
        "none",
        "--device",
        "/dev/full",
        "--device-cgroup-rule",
        "c 42:* rmw",
        "busybox",
        "true",
    ])
    .ok();
    let devs = r
        .run(&[
            "inspect",
            "-f",
            "{{json .HostConfig.Devices}} {{json .HostConfig.DeviceCgroupRules}}",
            "dv",
        ])
        .ok()
        .trim()
        .to_string();
    assert_eq!(
        devs,
        r#"[{"PathOnHost":"/dev/full","PathInContainer":"/dev/full","CgroupPermissions":"rwm"}] ["c 42:* rmw"]"#
    );
    // As docker: the device is looked up at start (create succeeds), and
    // run's client reads "no such file" as 127.
    let e = r.run(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--device",
        "/dev/nope",
        "busybox",
        "true",
    ]);
    assert_eq!(e.code, 127, "{}", e.stderr);
    assert!(
        e.message().contains(
            "error gathering device information while adding custom device \"/dev/nope\": no such file or directory"
        ),
        "{}",
        e.stderr
    );
    let e = r.run(&[
        "create",
        "--network",
        "none",
        "--device-cgroup-rule",
        "x 1:2 r",
        "busybox",
        "true",
    ]);
    assert!(e
        .fails_125()
        .contains("invalid device cgroup format 'x 1:2 r'"));
    r.run(&["rm", "dv"]).ok();
}

#[test]
fn privileged_gets_every_host_device() {
    let r = Rdock::with_busybox();
    let host = std::fs::read_dir("/dev").unwrap().count();
    let out = sh(&r, &["--privileged"], &format!("ls /dev | wc -l; {TTY1}"));
    let n: usize = out.lines().next().unwrap().trim().parse().unwrap();
    assert!(
        n + 10 >= host && n > 20,
        "{n} nodes in the container, {host} on the host"
    );
    assert!(!out.contains("Operation not permitted"), "{out}");
}

/// A bind over one of the default nodes (`-v /dev/urandom:/dev/random`,
/// a common trick for programs that read /dev/random) is what the
/// container sees there: the node made under it does not get in the way.
#[test]
fn a_bind_over_a_default_node_wins() {
    let r = Rdock::with_busybox();
    let out = sh(
        &r,
        &["-v", "/dev/urandom:/dev/random"],
        "head -c 4 /dev/random | wc -c; grep -c ' /dev/random ' /proc/self/mountinfo",
    );
    assert_eq!(out, "4\n1\n");
}
