//! Failures as the docker 28 CLI reports them: layout, words and exit
//! status per command, what a failed start leaves behind, and
//! `--log-level`/`-D` (issue 21).

mod common;
use common::Rdock;

const RUN_HELP: &str = "\n\nRun 'rdock run --help' for more information\n";

#[test]
fn run_fails_125_in_dockers_layout_other_commands_1_bare() {
    let r = Rdock::with_busybox();
    // run: "rdock: MSG", an empty line, the help line; 125.
    let e = r.run(&["run", "--pull", "never", "--rm", "nothere"]);
    assert_eq!(e.code, 125);
    assert_eq!(
        e.stderr,
        format!("rdock: No such image: nothere:latest{RUN_HELP}")
    );
    // 126/127 when the program cannot be run.
    let e = r.run(&["run", "--rm", "busybox", "nope"]);
    assert_eq!(e.code, 127);
    assert_eq!(
        e.stderr,
        format!("rdock: exec: \"nope\": executable file not found in $PATH{RUN_HELP}")
    );
    // Every other command: the daemon's words alone, exit 1.
    for args in [
        &["rm", "nope"][..],
        &["stop", "nope"],
        &["logs", "nope"],
        &["port", "nope"],
        &["exec", "nope", "true"],
        &["wait", "nope"],
        &["top", "nope"],
    ] {
        assert_eq!(
            r.run(args).fails_1(),
            "No such container: nope\n",
            "{args:?}"
        );
    }
    assert_eq!(
        r.run(&["rmi", "nope"]).fails_1(),
        "No such image: nope:latest\n"
    );
    assert_eq!(
        r.run(&["tag", "nope:1", "x"]).fails_1(),
        "No such image: nope:1\n"
    );
    assert_eq!(
        r.run(&["volume", "rm", "nope"]).fails_1(),
        "get nope: no such volume\n"
    );
    let e = r.run(&["inspect", "nope"]);
    assert_eq!(
        (e.code, e.stderr.as_str()),
        (1, "Error: No such object: nope\n")
    );
    // create: the daemon's refusals exit 1, the client's 125 with
    // create's help line.
    r.run(&["create", "--name", "taken", "busybox"]).ok();
    let e = r.run(&["create", "--name", "taken", "busybox"]);
    assert!(e
        .fails_1()
        .starts_with("Conflict. The container name \"/taken\" is already in use by container \""));
    let e = r.run(&["create", "-p", "99999:80", "busybox"]);
    assert_eq!(e.code, 125);
    assert_eq!(
        e.stderr,
        "rdock: invalid hostPort: 99999\n\nRun 'rdock create --help' for more information\n"
    );
    let e = r.run(&["run", "--name", "taken", "busybox"]);
    assert_eq!(e.code, 125);
    assert!(e
        .message()
        .starts_with("rdock: Conflict. The container name \"/taken\""));
    r.run(&["rm", "taken"]).ok();
}

#[test]
fn multi_object_commands_go_on_and_say_what_docker_says() {
    let r = Rdock::with_busybox();
    r.run(&["create", "--name", "fresh", "busybox", "true"])
        .ok();
    r.run(&["create", "--name", "badcmd", "busybox", "nope"])
        .ok();
    // start: each failure, then the CLI's summary; exit 1 (not 127).
    let e = r.run(&["start", "fresh", "badcmd", "nope"]);
    assert_eq!(e.code, 1);
    assert_eq!(e.stdout, "fresh\n");
    assert_eq!(
        e.stderr,
        "exec: \"nope\": executable file not found in $PATH\nNo such container: nope\nError: failed to start containers: badcmd, nope\n"
    );
    let e = r.run(&["start", "-a", "badcmd"]);
    assert_eq!(e.code, 1, "{}", e.stderr);
    // The failed start is recorded as docker records it.
    let st = r.run(&[
        "inspect",
        "-f",
        "{{.State.Status}} {{.State.ExitCode}}",
        "badcmd",
    ]);
    assert_eq!(st.ok(), "created 127\n");
    // rm -f: a missing container is said, and is no failure.
    let e = r.run(&["rm", "-f", "nope", "fresh"]);
    assert_eq!((e.code, e.stdout.as_str()), (0, "fresh\n"));
    assert_eq!(e.stderr, "No such container: nope\n");
    assert_eq!(r.run(&["rmi", "-f", "nope"]).code, 0);
    // kill: the daemon's prefix, before a bad signal too.
    let e = r.run(&["kill", "nope", "badcmd"]);
    assert_eq!(e.code, 1);
    let lines: Vec<&str> = e.stderr.lines().collect();
    assert_eq!(
        lines[0],
        "cannot kill container: nope: No such container: nope"
    );
    assert!(
        lines[1].starts_with("cannot kill container: badcmd: container "),
        "{}",
        e.stderr
    );
    assert!(lines[1].ends_with(" is not running"), "{}", e.stderr);
    assert_eq!(
        r.run(&["kill", "-s", "NOPE", "badcmd"]).fails_1(),
        "cannot kill container: badcmd: invalid signal: NOPE\n"
    );
    // rename: the daemon's line, then the CLI's.
    r.run(&["create", "--name", "other", "busybox"]).ok();
    let e = r.run(&["rename", "badcmd", "other"]);
    assert_eq!(e.code, 1);
    assert!(
        e.stderr
            .starts_with("Error when allocating new name: Conflict."),
        "{}",
        e.stderr
    );
    assert!(e
        .stderr
        .ends_with("\nError: failed to rename container named badcmd\n"));
    // network rm: docker's CLI ends with "exit status 1".
    let e = r.run(&["network", "rm", "nope"]);
    assert_eq!(
        (e.code, e.stderr.as_str()),
        (1, "network nope not found\nexit status 1\n")
    );
    r.run(&["rm", "-f", "badcmd", "other"]).ok();
}

#[test]
fn exec_prints_why_its_process_cannot_start_on_stdout() {
    let r = Rdock::with_busybox();
    r.run(&["run", "-d", "--name", "up", "busybox", "sleep", "60"])
        .ok();
    // A user the container lacks: the engine's refusal, before any start.
    let e = r.run(&["exec", "-u", "nobody2", "up", "true"]);
    assert_eq!(
        e.fails_1(),
        "unable to find user nobody2: no matching entries in passwd file\n"
    );
    let e = r.run(&["exec", "up", "nope"]);
    assert_eq!(e.code, 127);
    let e = r.run(&["exec", "-w", "/etc/passwd", "up", "true"]);
    assert_eq!(e.code, 127);
    assert_eq!(
        e.stdout,
        "chdir to cwd (\"/etc/passwd\") set in config.json failed: not a directory: Are you trying to mount a directory onto a file (or vice-versa)? Check if the specified host path exists and is the expected type\r\n"
    );
    r.run(&["rm", "-f", "up"]).ok();
    let e = r.run(&["create", "--name", "down", "busybox"]);
    e.ok();
    let e = r.run(&["exec", "down", "true"]);
    assert!(e.fails_1().starts_with("container "), "{}", e.stderr);
    r.run(&["rm", "down"]).ok();
}

/// A host port something else holds: the run fails (125, docker's words)
/// and leaves what docker leaves: nothing with --rm, else the container
/// Created with the error and 128.
#[test]
fn a_run_whose_port_is_taken_leaves_what_docker_leaves() {
    let r = Rdock::with_busybox();
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port();
    let publish = format!("127.0.0.1:{port}:80");
    for _ in 0..2 {
        // Twice: the retry must not find the name taken.
        let e = r.run(&[
            "run", "--rm", "--name", "pt", "-p", &publish, "busybox", "true",
        ]);
        assert_eq!(e.code, 125, "{}", e.stderr);
        assert!(
            e.message().starts_with(
                "rdock: failed to set up container networking: driver failed programming external connectivity on endpoint pt ("
            ),
            "{}",
            e.stderr
        );
        assert_eq!(r.run(&["ps", "-aq"]).ok(), "");
    }
    let e = r.run(&[
        "run", "-d", "--name", "kept", "-p", &publish, "busybox", "true",
    ]);
    assert_eq!(e.code, 125);
    // As docker's CLI, the ID was printed before the start failed.
    assert_eq!(e.stdout.trim().len(), 64, "{}", e.stdout);
    let st = r.run(&[
        "inspect",
        "-f",
        "{{.State.Status}} {{.State.ExitCode}} {{.State.Error}}",
        "kept",
    ]);
    let st = st.ok();
    assert!(
        st.starts_with(
            "created 128 failed to set up container networking: driver failed programming"
        ),
        "{st}"
    );
    r.run(&["rm", "kept"]).ok();
    drop(holder);
}

#[test]
fn log_level_is_checked_and_debug_says_what_rdock_does() {
    let r = Rdock::with_busybox();
    let e = r.run(&["--log-level=telepathic", "ps"]);
    assert_eq!(
        (e.code, e.stderr.as_str()),
        (1, "Unable to parse logging level: telepathic\n")
    );
    let e = r.run(&["-D", "-l", "telepathic", "ps"]);
    assert_eq!(e.code, 1);
    for level in ["warning", "ERROR", "fatal", "panic", "info", ""] {
        let out = r.run(&["--log-level", level, "ps", "-q"]);
        assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{level}");
    }
    // Off by default; on with -D or --log-level debug.
    assert_eq!(r.run(&["run", "--rm", "busybox", "true"]).stderr, "");
    for flag in [&["-D"][..], &["--log-level", "debug"]] {
        let mut args = flag.to_vec();
        args.extend(["run", "--rm", "busybox", "true"]);
        let out = r.run(&args);
        out.ok();
        for want in ["DEBU[0000] rdock ", "image busybox is sha256:", "cgroup "] {
            assert!(out.stderr.contains(want), "{want}: {}", out.stderr);
        }
        assert!(
            out.stderr.lines().all(|l| l.starts_with("DEBU[")),
            "{}",
            out.stderr
        );
    }
}
