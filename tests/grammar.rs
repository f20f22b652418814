//! docker's (cobra/pflag) command-line grammar, end to end: where flags
//! stop, what a value may look like, bools with values, repeated flags,
//! docker 28's usage errors, the client's spec checks, signals.

mod common;
use common::*;

/// docker 28's usage error for `rdock PATH`: the message, the usage line,
/// where help is; exit 125.
#[track_caller]
fn usage_error(r: &Run, first: &str, use_line: &str, path: &str) {
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        format!("{first}\n\nUsage:  {use_line}\n\nRun '{path} --help' for more information\n")
    );
}

const RUN_USAGE: &str = "rdock run [OPTIONS] IMAGE [COMMAND] [ARG...]";

#[test]
fn run_and_exec_stop_reading_flags_at_their_first_argument() {
    let r = Rdock::with_busybox();
    // `-c` after the image is sh's, not --cpu-shares; -d after it is ls's.
    let out = r.run(&["run", "--rm", "busybox", "sh", "-c", "echo $0 -c", "-d"]);
    assert_eq!(out.ok(), "-d -c\n");
    let out = r.run(&["run", "--rm", "--entrypoint", "ls", "busybox", "-d", "/etc"]);
    assert_eq!(out.ok(), "/etc\n");
    // Everything after the image reaches the program, `--` included.
    let out = r.run(&[
        "run",
        "--rm",
        "--entrypoint",
        "echo",
        "busybox",
        "-v",
        "-h",
        "--help",
        "-e",
        "x",
        "--",
        "-d",
    ]);
    assert_eq!(out.ok(), "-v -h --help -e x -- -d\n");
    // Before the image, `--` ends the flags.
    assert_eq!(
        r.run(&["run", "--rm", "--", "busybox", "echo", "hi"]).ok(),
        "hi\n"
    );
    let id = r.run(&["create", "busybox", "-d"]).ok().trim().to_string();
    let cmd = r.run(&["inspect", "-f", "{{json .Config.Cmd}}", &id]);
    assert_eq!(cmd.ok(), "[\"-d\"]\n");
    r.run(&["run", "-d", "--name", "gx", "busybox", "sleep", "300"])
        .ok();
    let out = r.run(&["exec", "gx", "echo", "-d", "-i", "-e", "x"]);
    assert_eq!(out.ok(), "-d -i -e x\n");
    r.run(&["rm", "-f", "gx", &id]).ok();
}

#[test]
fn values_starting_with_a_dash_and_repeated_flags() {
    let r = Rdock::with_busybox();
    // `-y` is -w's value (then refused as a relative directory), -x -e's.
    let e = r.run(&["run", "--rm", "-e", "-x", "-w", "-y", "busybox", "pwd"]);
    assert!(
        e.fails_125()
            .contains("the working directory '-y' is invalid"),
        "{}",
        e.stderr
    );
    let out = r.run(&[
        "run",
        "--rm",
        "-e",
        "-x=1",
        "--entrypoint",
        "env",
        "busybox",
    ]);
    assert!(out.ok().lines().any(|l| l == "-x=1"), "{}", out.stdout);
    let out = r.run(&[
        "run",
        "--rm",
        "-e=A=1",
        "--env=B=2",
        "-eC=3",
        "busybox",
        "sh",
        "-c",
        "echo $A$B$C",
    ]);
    assert_eq!(out.ok(), "123\n");
    let out = r.run(&["history", "--format", "--{{.Size}}--", "busybox"]);
    assert!(out.ok().starts_with("--"), "{}", out.stdout);
    // The last value of a single-value flag wins.
    let out = r.run(&[
        "run",
        "--rm",
        "-w",
        "/a",
        "-w",
        "/tmp",
        "-u",
        "nobody",
        "-u",
        "root",
        "busybox",
        "sh",
        "-c",
        "pwd; id -u",
    ]);
    assert_eq!(out.ok(), "/tmp\n0\n");
    r.run(&["create", "--name", "ga", "--name", "gb", "busybox"])
        .ok();
    let out = r.run(&["ps", "-a", "--format", "x", "--format", "{{.Names}}"]);
    assert_eq!(out.ok(), "gb\n");
    r.run(&["rm", "gb"]).ok();
}

#[test]
fn bools_take_go_values() {
    let r = Rdock::with_busybox();
    let out = r.run(&[
        "run",
        "--rm=true",
        "-d=F",
        "-i=0",
        "-t=false",
        "busybox",
        "echo",
        "b",
    ]);
    assert_eq!(out.ok(), "b\n");
    assert_eq!(
        r.run(&["run", "--rm", "-it=false", "busybox", "echo", "c"])
            .ok(),
        "c\n"
    );
    assert_eq!(r.run(&["ps", "-a=TRUE", "-q"]).ok(), "");
    usage_error(
        &r.run(&["ps", "-a=yes"]),
        "invalid argument \"yes\" for \"-a, --all\" flag: strconv.ParseBool: parsing \"yes\": invalid syntax",
        "rdock ps [OPTIONS]",
        "rdock ps",
    );
    usage_error(
        &r.run(&["run", "--rm=x", "busybox"]),
        "invalid argument \"x\" for \"--rm\" flag: strconv.ParseBool: parsing \"x\": invalid syntax",
        RUN_USAGE,
        "rdock run",
    );
}

#[test]
fn docker_28s_usage_errors() {
    let r = Rdock::new();
    for (args, first) in [
        (&["run", "--foo", "busybox"][..], "unknown flag: --foo"),
        (&["run", "-dz", "busybox"], "unknown shorthand flag: 'z' in -z"),
        (&["run", "--name"], "flag needs an argument: --name"),
        (&["run", "-dw"], "flag needs an argument: 'w' in -w"),
        (&["run", "---x"], "bad flag syntax: ---x"),
        (&["run", "--cpu-shares", "abc", "busybox"], "invalid argument \"abc\" for \"-c, --cpu-shares\" flag: strconv.ParseInt: parsing \"abc\": invalid syntax"),
    ] {
        usage_error(&r.run(args), first, RUN_USAGE, "rdock run");
    }
    usage_error(
        &r.run(&["image", "list", "--foo"]),
        "unknown flag: --foo",
        "rdock image ls [OPTIONS] [REPOSITORY[:TAG]]",
        "rdock image ls",
    );
    // Argument counts and unknown commands exit 1.
    let e = r.run(&["ps", "foo"]);
    assert_eq!(e.code, 1);
    assert_eq!(
        e.stderr,
        "rdock: 'rdock ps' accepts no arguments\n\nUsage:  rdock ps [OPTIONS]\n\nRun 'rdock ps --help' for more information\n"
    );
    let e = r.run(&["tag", "a"]);
    assert_eq!(e.code, 1);
    assert!(
        e.stderr
            .starts_with("rdock: 'rdock tag' requires 2 arguments\n"),
        "{}",
        e.stderr
    );
    let e = r.run(&["network", "foo"]);
    assert_eq!(e.code, 1);
    assert!(
        e.stderr
            .starts_with("rdock: unknown command: rdock network foo\n\nUsage:  rdock network\n"),
        "{}",
        e.stderr
    );
}

#[test]
fn specs_checked_as_the_docker_client_checks_them() {
    let r = Rdock::with_busybox();
    let e = r.run(&["run", "--rm", "-v", ":/backup", "busybox", "true"]);
    assert_eq!(e.code, 125);
    assert!(
        e.stderr
            .contains("invalid spec: :/backup: empty section between colons"),
        "{}",
        e.stderr
    );
    for (flag, value, why) in [
        ("--mount", "type=bind", "target is required"),
        (
            "--mount",
            "bogus",
            "invalid field 'bogus' must be a key=value pair",
        ),
        (
            "--ulimit",
            "nofile=2:1",
            "ulimit soft limit must be less than or equal to hard limit: 2 > 1",
        ),
        ("-e, --env", "=x", "invalid environment variable: =x"),
        ("--dns", "x", "IP address is not correctly formatted: x"),
    ] {
        let long = flag.rsplit(' ').next().unwrap();
        usage_error(
            &r.run(&["run", "--rm", long, value, "busybox", "true"]),
            &format!("invalid argument \"{value}\" for \"{flag}\" flag: {why}"),
            RUN_USAGE,
            "rdock run",
        );
    }
    let e = r.run(&["run", "--rm", "--restart", "always", "busybox", "true"]);
    assert!(
        e.stderr
            .contains("conflicting options: cannot specify both --restart and --rm"),
        "{}",
        e.stderr
    );
    let e = r.run(&["run", "--env-file", "/nonexistent", "busybox", "true"]);
    assert!(
        e.stderr
            .contains("open /nonexistent: no such file or directory"),
        "{}",
        e.stderr
    );
    assert!(
        r.snapshot().iter().all(|l| !l.contains("containers/")),
        "nothing created"
    );
}

#[test]
fn signals_as_docker_names_them() {
    let r = Rdock::with_busybox();
    for (i, sig) in ["RTMIN+3", "SIGRTMAX-1", "34", "sigterm"]
        .iter()
        .enumerate()
    {
        let name = format!("gs{i}");
        // The container's init ignores a signal it has no handler for.
        let script = "trap 'echo got; exit 0' 15 34 37 63; while :; do sleep 0.1; done";
        r.run(&["run", "-d", "--name", &name, "busybox", "sh", "-c", script])
            .ok();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while r.run(&["top", &name]).ok().lines().count() < 3 {
            assert!(
                std::time::Instant::now() < deadline,
                "{name} did not start its loop"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert_eq!(r.run(&["kill", "-s", sig, &name]).ok(), format!("{name}\n"));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while r.run(&["inspect", "-f", "{{.State.Running}}", &name]).ok() != "false\n" {
            assert!(
                std::time::Instant::now() < deadline,
                "{sig} did not end {name}"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert_eq!(r.run(&["logs", &name]).ok(), "got\n", "{sig}");
        r.run(&["rm", &name]).ok();
    }
    r.run(&["run", "-d", "--name", "gsx", "busybox", "sleep", "300"])
        .ok();
    for (sig, msg) in [
        ("0", "cannot kill container: gsx: invalid signal: 0"),
        (
            "RTMIN+40",
            "cannot kill container: gsx: invalid signal: RTMIN+40",
        ),
        (
            "99",
            "cannot kill container: gsx: the linux daemon does not support signal 99",
        ),
    ] {
        let e = r.run(&["kill", "-s", sig, "gsx"]);
        assert_ne!(e.code, 0);
        assert!(e.stderr.contains(msg), "{sig}: {}", e.stderr);
    }
    r.run(&[
        "create",
        "--name",
        "gsy",
        "--stop-signal",
        "RTMIN+3",
        "busybox",
    ])
    .ok();
    let out = r.run(&["inspect", "-f", "{{.Config.StopSignal}}", "gsy"]);
    assert_eq!(out.ok(), "RTMIN+3\n");
    r.run(&["rm", "-f", "gsx", "gsy"]).ok();
}
