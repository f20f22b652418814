//! Detached containers kept by their monitor: logs, stop, kill, wait,
//! restart, rename, and what happens when the monitor itself dies.

mod common;
use common::*;
use std::time::{Duration, Instant};

const LOOP: &str =
    "trap 'echo got-usr1' USR1; trap 'echo bye; exit 3' TERM; while true; do sleep 0.05; done";

#[test]
fn logs_keep_streams_apart_with_docker_options() {
    let r = Rdock::with_busybox();
    let id = r
        .run(&[
            "run",
            "-d",
            "--name",
            "talker",
            "busybox",
            "sh",
            "-c",
            "echo one; echo two >&2; echo three; printf partial",
        ])
        .ok()
        .trim()
        .to_string();
    assert_eq!(id.len(), 64, "run -d prints the full ID");
    assert_eq!(r.run(&["wait", "talker"]).ok(), "0\n");
    let out = r.run(&["logs", "talker"]);
    assert_eq!(out.code, 0);
    assert_eq!(out.stdout, "one\nthree\npartial");
    assert_eq!(out.stderr, "two\n");
    // The file is docker's json-file.
    let path = r
        .run(&["inspect", "-f", "{{.LogPath}}", "talker"])
        .ok()
        .trim()
        .to_string();
    assert!(path.ends_with(&format!("{id}-json.log")), "{path}");
    let first: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(first["log"], "one\n");
    assert_eq!(first["stream"], "stdout");
    assert_eq!(r.run(&["logs", "--tail", "1", "talker"]).stdout, "partial");
    assert_eq!(r.run(&["logs", "-n", "0", "talker"]).stdout, "");
    let ts = r.run(&["logs", "-t", "talker"]).stdout;
    let first = ts.lines().next().unwrap();
    let (stamp, text) = first.split_once(' ').unwrap();
    assert_eq!(text, "one");
    assert!(
        chrono::DateTime::parse_from_rfc3339(stamp).is_ok() && stamp.len() == 30,
        "{stamp}"
    );
    assert_eq!(
        r.run(&["logs", "--since", "1h", "talker"]).stdout,
        "one\nthree\npartial"
    );
    assert_eq!(
        r.run(&["logs", "--until", "2000-01-01", "talker"]).stdout,
        ""
    );
    r.run(&["logs", "--since", "someday", "talker"]).fails_1();
    r.run(&["logs", "nosuch"]).fails_1();
}

#[test]
fn log_options_rotation_details_and_the_none_driver() {
    let r = Rdock::with_busybox();
    // Rotation: 1 KiB files, 3 of them; the newest lines survive in order.
    r.run(&[
        "run",
        "-d",
        "--name",
        "rotor",
        "--label",
        "team=blue sky",
        "-e",
        "STAGE=ci",
        "--log-opt",
        "max-size=1k",
        "--log-opt",
        "max-file=3",
        "--log-opt",
        "labels=team",
        "--log-opt",
        "env=STAGE",
        "busybox",
        "sh",
        "-c",
        "i=0; while [ $i -lt 300 ]; do echo line $i; i=$((i+1)); done",
    ])
    .ok();
    assert_eq!(r.run(&["wait", "rotor"]).ok(), "0\n");
    let path = r
        .run(&["inspect", "-f", "{{.LogPath}}", "rotor"])
        .ok()
        .trim()
        .to_string();
    for n in ["", ".1", ".2"] {
        let len = std::fs::metadata(format!("{path}{n}")).unwrap().len();
        assert!(len <= 1024 + 200, "{path}{n}: {len}");
    }
    assert!(!std::path::Path::new(&format!("{path}.3")).exists());
    let out = r.run(&["logs", "rotor"]).ok().to_string();
    let nums: Vec<usize> = out
        .lines()
        .map(|l| l.trim_start_matches("line ").parse().unwrap())
        .collect();
    assert_eq!(*nums.last().unwrap(), 299);
    assert!(nums[0] > 0, "old lines were rotated away");
    assert!(nums.windows(2).all(|w| w[1] == w[0] + 1), "{nums:?}");
    // --tail reaches back across the rotated files.
    // (Each entry is ~110 bytes with its attrs, so the three files hold
    // 20-30 lines; 15 needs the older files whenever the newest holds less.)
    let newest = std::fs::read_to_string(&path).unwrap().lines().count();
    assert!(newest < 15, "{newest} lines in the newest file");
    let tail = r.run(&["logs", "--tail", "15", "rotor"]).ok().to_string();
    assert_eq!(tail.lines().count(), 15);
    assert!(tail.ends_with("line 299\n"));
    assert!(tail.starts_with("line 285\n"), "{tail}");
    // --details: the attributes asked for, url-escaped, before each line.
    let details = r
        .run(&["logs", "--details", "--tail", "1", "rotor"])
        .ok()
        .to_string();
    assert_eq!(details, "STAGE=ci,team=blue+sky line 299\n");
    let opts = r
        .run(&["inspect", "-f", "{{json .HostConfig.LogConfig}}", "rotor"])
        .ok()
        .to_string();
    let v: serde_json::Value = serde_json::from_str(&opts).unwrap();
    assert_eq!(v["Type"], "json-file");
    assert_eq!(v["Config"]["max-file"], "3");
    // Without attributes --details still puts docker's separating space.
    r.run(&["run", "--name", "plain", "busybox", "echo", "hi"])
        .ok();
    assert_eq!(r.run(&["logs", "--details", "plain"]).ok(), " hi\n");
    // The none driver keeps nothing, and logs says so as docker does.
    r.run(&[
        "run",
        "--log-driver",
        "none",
        "--name",
        "mute",
        "busybox",
        "echo",
        "hi",
    ])
    .ok();
    assert!(r
        .run(&["logs", "mute"])
        .fails_1()
        .contains("configured logging driver does not support reading"));
    // Bad options are refused before anything is created.
    let before = r.snapshot();
    assert!(r
        .run(&["run", "--log-opt", "max-file=x", "busybox", "true"])
        .fails_125()
        .contains("max-file"));
    assert!(r
        .run(&["create", "--log-opt", "bogus=1", "busybox"])
        .fails_1()
        .contains("unknown log opt 'bogus' for json-file log driver"));
    r.run(&["create", "--log-driver", "syslog", "busybox"])
        .fails_1();
    assert_eq!(before, r.snapshot());
}

#[test]
fn logs_follow_until_the_container_stops() {
    let r = Rdock::with_busybox();
    r.run(&[
        "run",
        "-d",
        "--name",
        "ticker",
        "busybox",
        "sh",
        "-c",
        "for i in 1 2 3; do echo tick $i; sleep 0.2; done",
    ])
    .ok();
    let start = Instant::now();
    let out = r.run(&["logs", "-f", "ticker"]);
    assert_eq!(out.stdout, "tick 1\ntick 2\ntick 3\n");
    assert!(
        start.elapsed() >= Duration::from_millis(300),
        "-f returned before the end"
    );
}

#[test]
fn stop_kill_wait_restart_rename() {
    let r = Rdock::with_busybox();
    r.run(&["run", "-d", "--name", "svc", "busybox", "sh", "-c", LOOP])
        .ok();
    let pid = wait_for_pid(&r, "svc");
    std::thread::sleep(Duration::from_millis(100));
    // kill -s passes the signal; the shell's trap answers in the log.
    assert_eq!(r.run(&["kill", "-s", "USR1", "svc"]).ok(), "svc\n");
    std::thread::sleep(Duration::from_millis(200));
    assert!(r.run(&["logs", "svc"]).stdout.contains("got-usr1"));
    // stop: SIGTERM first; the trap exits 3.
    assert_eq!(r.run(&["stop", "svc"]).ok(), "svc\n");
    assert!(std::fs::metadata(format!("/proc/{pid}")).is_err());
    assert_eq!(r.run(&["wait", "svc"]).ok(), "3\n");
    let st = r
        .run(&["ps", "-a", "--format", "{{.Status}}"])
        .ok()
        .to_string();
    assert!(st.starts_with("Exited (3) "), "{st}");
    // Stopping a stopped container is fine; killing one is docker's error.
    assert_eq!(r.run(&["stop", "svc"]).ok(), "svc\n");
    let e = r.run(&["kill", "svc"]);
    assert_eq!(e.code, 1);
    assert!(e.stderr.contains("is not running"), "{}", e.stderr);
    // restart runs it again in the background, same ID.
    assert_eq!(r.run(&["restart", "svc"]).ok(), "svc\n");
    let pid2 = wait_for_pid(&r, "svc");
    assert_ne!(pid2, pid);
    // A container that ignores SIGTERM is killed after -t seconds.
    r.run(&[
        "run",
        "-d",
        "--name",
        "stubborn",
        "busybox",
        "sh",
        "-c",
        "trap '' TERM; while true; do sleep 0.05; done",
    ])
    .ok();
    wait_for_pid(&r, "stubborn");
    let t = Instant::now();
    r.run(&["stop", "-t", "1", "stubborn"]).ok();
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "{took:?}"
    );
    assert_eq!(r.run(&["wait", "stubborn"]).ok(), "137\n");
    // --stop-signal is used by stop.
    r.run(&[
        "run",
        "-d",
        "--name",
        "usr",
        "--stop-signal",
        "USR1",
        "busybox",
        "sh",
        "-c",
        "trap 'exit 7' USR1; while true; do sleep 0.05; done",
    ])
    .ok();
    wait_for_pid(&r, "usr");
    std::thread::sleep(Duration::from_millis(100));
    r.run(&["stop", "usr"]).ok();
    assert_eq!(r.run(&["wait", "usr"]).ok(), "7\n");
    r.run(&["run", "--stop-signal", "NOPE", "busybox", "true"])
        .fails_125();
    // rename
    r.run(&["rename", "svc", "svc2"]).ok();
    assert_eq!(
        r.run(&["inspect", "-f", "{{.Name}}", "svc2"]).ok(),
        "/svc2\n"
    );
    r.run(&["inspect", "svc"])
        .code
        .ne(&0)
        .then_some(())
        .expect("old name gone");
    // docker's daemon line, then its CLI's.
    let e = r.run(&["rename", "svc2", "usr"]);
    assert_eq!(e.code, 1);
    assert!(e.stderr.contains("is already in use"), "{}", e.stderr);
    assert!(e
        .stderr
        .ends_with("\nError: failed to rename container named svc2\n"));
    assert_eq!(r.run(&["rename", "svc2", "bad name"]).code, 1);
    r.run(&["rm", "-f", "svc2"]).ok();
}

/// `run -d IMG true; rm NAME` at once: the program has ended while its
/// monitor still records the exit. docker never calls that running; rdock
/// waits for the record (rm came within its exit 8 times in 30 before).
#[test]
fn rm_right_after_a_short_detached_run_waits_for_its_exit() {
    let r = Rdock::with_busybox();
    let since = chrono::Utc::now().timestamp().to_string();
    for i in 0..20 {
        let name = format!("short{i}");
        r.run(&[
            "run",
            "-d",
            "--name",
            &name,
            "--network",
            "none",
            "busybox",
            "true",
        ])
        .ok();
        r.run(&["rm", &name]).ok();
    }
    let until = (chrono::Utc::now().timestamp() + 1).to_string();
    let out = r
        .run(&[
            "events",
            "--since",
            &since,
            "--until",
            &until,
            "--filter",
            "type=container",
            "--format",
            "{{.Actor.Attributes.name}} {{.Action}}",
        ])
        .ok()
        .to_string();
    for i in 0..20 {
        let name = format!("short{i}");
        let actions: Vec<&str> = out
            .lines()
            .filter_map(|l| l.strip_prefix(&format!("{name} ")))
            .collect();
        assert_eq!(actions, ["create", "start", "die", "destroy"], "{name}");
    }
}

#[test]
fn a_killed_monitor_leaves_a_container_that_reads_exited() {
    let r = Rdock::with_busybox();
    r.run(&["run", "-d", "--name", "orphan", "busybox", "sleep", "30"])
        .ok();
    let pid = wait_for_pid(&r, "orphan");
    let monitor = ppid(pid);
    assert_ne!(monitor, 1);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(monitor),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    // The container itself is still there (reparented), and can be stopped.
    std::thread::sleep(Duration::from_millis(100));
    assert!(std::fs::metadata(format!("/proc/{pid}")).is_ok());
    r.run(&["stop", "-t", "0", "orphan"]).ok();
    let st = r
        .run(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.Running}}",
            "orphan",
        ])
        .ok()
        .to_string();
    assert_eq!(st, "exited false\n");
    let id = r
        .run(&["inspect", "-f", "{{.Id}}", "orphan"])
        .ok()
        .trim()
        .to_string();
    assert!(
        cgroups_of(&id).is_empty(),
        "cgroup of a dead monitor's container left"
    );
    r.run(&["rm", "orphan"]).ok();
}

#[test]
fn the_monitor_survives_its_terminal_closing() {
    let r = Rdock::with_busybox();
    let cmd = format!(
        "{} --root {} --runroot {} run -d --name survivor busybox sleep 30; sleep 30",
        bin(),
        r.root.display(),
        r.runroot.display()
    );
    let t = Tmux::start(&r.dir.path().join("tmux.sock"), 80, 24, &cmd);
    wait_for_pid(&r, "survivor");
    // Closing the terminal sends SIGHUP to its session.
    drop(t);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        r.run(&["inspect", "-f", "{{.State.Status}}", "survivor"])
            .ok(),
        "running\n"
    );
    r.run(&["stop", "-t", "0", "survivor"]).ok();
    assert_eq!(r.run(&["wait", "survivor"]).ok(), "137\n");
}

#[test]
fn exec_joins_the_running_container() {
    let r = Rdock::with_busybox();
    r.run(&[
        "run",
        "-d",
        "--name",
        "host1",
        "-e",
        "FOO=bar",
        "--hostname",
        "inside",
        "busybox",
        "sleep",
        "30",
    ])
    .ok();
    let init = wait_for_pid(&r, "host1");
    let out = r
        .run(&[
            "exec",
            "host1",
            "sh",
            "-c",
            "echo $$ $FOO; hostname; grep CapEff /proc/self/status; cat /proc/1/cmdline",
        ])
        .ok()
        .to_string();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0], "2 bar",
        "in the container's pid namespace, with its env"
    );
    assert_eq!(lines[1], "inside");
    assert!(lines[2].ends_with("00000000a80425fb"), "{out}");
    assert!(lines[3].starts_with("sleep"), "{out}");
    // In the container's cgroup: on v2 its own cgroup namespace shows
    // every hierarchy at its root ("/"); on v1 the host's namespace (as
    // docker's default there) shows the container's cgroup by its ID.
    let cg = r
        .run(&["exec", "host1", "cat", "/proc/self/cgroup"])
        .ok()
        .to_string();
    let id = r
        .run(&["inspect", "-f", "{{.Id}}", "host1"])
        .ok()
        .trim()
        .to_string();
    assert!(
        !cg.is_empty()
            && cg
                .lines()
                .all(|l| l.ends_with(":/") || l.ends_with(&format!("/{id}"))),
        "{cg}"
    );
    // Exit codes, -u, -w, -e, -i, and docker's 126/127.
    assert_eq!(r.run(&["exec", "host1", "sh", "-c", "exit 7"]).code, 7);
    assert_eq!(r.run(&["exec", "host1", "nosuch"]).code, 127);
    assert_eq!(r.run(&["exec", "host1", "/etc"]).code, 126);
    assert_eq!(
        r.run(&[
            "exec",
            "-u",
            "alice",
            "-w",
            "/tmp",
            "-e",
            "X=1",
            "host1",
            "sh",
            "-c",
            "id -u; pwd; echo $X"
        ])
        .ok(),
        "1000\n/tmp\n1\n"
    );
    assert_eq!(
        r.run_stdin(&["exec", "-i", "host1", "cat"], b"via stdin\n")
            .ok(),
        "via stdin\n"
    );
    let privileged = r
        .run(&[
            "exec",
            "--privileged",
            "host1",
            "grep",
            "CapEff",
            "/proc/self/status",
        ])
        .ok()
        .to_string();
    assert!(!privileged.contains("a80425fb"), "{privileged}");
    // -d returns at once; the command runs on.
    assert_eq!(
        r.run(&[
            "exec",
            "-d",
            "host1",
            "sh",
            "-c",
            "sleep 0.3; touch /tmp/done"
        ])
        .code,
        0
    );
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(r.run(&["exec", "host1", "ls", "/tmp/done"]).code, 0);
    assert_eq!(
        std::fs::read_to_string(format!("/proc/{init}/comm"))
            .unwrap()
            .trim(),
        "sleep"
    );
    r.run(&["stop", "-t", "0", "host1"]).ok();
    let e = r.run(&["exec", "host1", "true"]).fails_1().to_string();
    assert!(e.contains("is not running"), "{e}");
}

#[test]
fn pause_and_unpause_freeze_the_container() {
    let r = Rdock::with_busybox();
    r.run(&[
        "run",
        "-d",
        "--name",
        "counter",
        "busybox",
        "sh",
        "-c",
        "i=0; while true; do i=$((i+1)); echo $i; sleep 0.02; done",
    ])
    .ok();
    wait_for_pid(&r, "counter");
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(r.run(&["pause", "counter"]).ok(), "counter\n");
    let st = r
        .run(&["ps", "--format", "{{.Status}}|{{.State}}"])
        .ok()
        .to_string();
    assert!(
        st.starts_with("Up ") && st.contains("(Paused)|paused"),
        "{st}"
    );
    assert_eq!(
        r.run(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.Running}} {{.State.Paused}}",
            "counter"
        ])
        .ok(),
        "paused true true\n"
    );
    assert_eq!(
        r.run(&["ps", "-q", "--filter", "status=paused"])
            .ok()
            .lines()
            .count(),
        1
    );
    let before = r.run(&["logs", "counter"]).stdout.lines().count();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        r.run(&["logs", "counter"]).stdout.lines().count(),
        before,
        "a paused container ran"
    );
    assert_eq!(r.run(&["pause", "counter"]).code, 1, "already paused");
    assert_eq!(r.run(&["unpause", "counter"]).ok(), "counter\n");
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        r.run(&["logs", "counter"]).stdout.lines().count() > before,
        "it did not resume"
    );
    // A paused container can still be stopped.
    r.run(&["pause", "counter"]).ok();
    r.run(&["stop", "-t", "1", "counter"]).ok();
    assert_eq!(
        r.run(&["inspect", "-f", "{{.State.Status}}", "counter"])
            .ok(),
        "exited\n"
    );
    assert_eq!(r.run(&["unpause", "counter"]).code, 1);
}

#[test]
fn init_forwards_signals_and_reaps_orphans() {
    let r = Rdock::with_busybox();
    assert_eq!(
        r.run(&[
            "run",
            "--rm",
            "--init",
            "busybox",
            "sh",
            "-c",
            "echo $$; exit 3"
        ])
        .code,
        3
    );
    let out = r
        .run(&["run", "--rm", "--init", "busybox", "sh", "-c", "echo $$"])
        .ok()
        .to_string();
    assert_ne!(out.trim(), "1", "the program is not PID 1 under --init");
    assert_eq!(
        r.run(&["run", "--rm", "--init", "busybox", "nosuch"]).code,
        127
    );
    // An orphan's zombie: PID 1 here is a `sleep` that never waits, unless
    // --init put rdock's init there.
    let script = "(sleep 0.1 &); exec sleep 5";
    r.run(&[
        "run", "-d", "--name", "noinit", "busybox", "sh", "-c", script,
    ])
    .ok();
    r.run(&[
        "run", "-d", "--init", "--name", "withinit", "busybox", "sh", "-c", script,
    ])
    .ok();
    std::thread::sleep(Duration::from_millis(600));
    let zombies = |name: &str| {
        r.run(&["exec", name, "sh", "-c", "ps -o stat | grep -c Z || true"])
            .ok()
            .trim()
            .to_string()
    };
    assert_eq!(zombies("noinit"), "1", "without --init the zombie stays");
    assert_eq!(zombies("withinit"), "0", "the init reaps it");
    r.run(&["rm", "-f", "noinit", "withinit"]).ok();
    // stop's SIGTERM reaches the program through the init.
    r.run(&[
        "run",
        "-d",
        "--init",
        "--name",
        "initd",
        "busybox",
        "sh",
        "-c",
        "trap 'exit 5' TERM; while true; do sleep 0.05; done",
    ])
    .ok();
    wait_for_pid(&r, "initd");
    std::thread::sleep(Duration::from_millis(150));
    r.run(&["stop", "initd"]).ok();
    assert_eq!(r.run(&["wait", "initd"]).ok(), "5\n");
}

#[test]
fn top_lists_the_containers_processes() {
    let r = Rdock::with_busybox();
    r.run(&[
        "run",
        "-d",
        "--name",
        "topped",
        "busybox",
        "sh",
        "-c",
        "sleep 29 & sleep 30; wait",
    ])
    .ok();
    let init = wait_for_pid(&r, "topped");
    std::thread::sleep(Duration::from_millis(200));
    r.run(&["exec", "-d", "topped", "sleep", "28"]).ok();
    std::thread::sleep(Duration::from_millis(200));
    let out = r.run(&["top", "topped"]).ok().to_string();
    let mut lines = out.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with(&format!("{:20}{:20}PPID", "UID", "PID")),
        "{out}"
    );
    let rows: Vec<&str> = lines.collect();
    assert!(rows.iter().any(|l| l.contains(&init.to_string())), "{out}");
    for want in ["sleep 29", "sleep 30", "sleep 28"] {
        assert!(
            rows.iter().any(|l| l.ends_with(want)),
            "{want} missing: {out}"
        );
    }
    assert!(!out.contains("rdock"), "host processes listed: {out}");
    let custom = r.run(&["top", "topped", "-o", "pid,comm"]).ok().to_string();
    assert!(
        custom.starts_with(&format!("{:20}COMMAND\n", "PID")),
        "{custom}"
    );
    r.run(&["stop", "-t", "0", "topped"]).ok();
    r.run(&["top", "topped"]).fails_1();
}

#[test]
fn restart_policies_are_kept_by_the_monitor() {
    let r = Rdock::with_busybox();
    // on-failure:2 runs it three times in all, then gives up.
    r.run(&[
        "run",
        "-d",
        "--name",
        "flaky",
        "--restart",
        "on-failure:2",
        "busybox",
        "sh",
        "-c",
        "echo run; exit 1",
    ])
    .ok();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline
        && r.run(&[
            "inspect",
            "-f",
            "{{.RestartCount}} {{.State.Status}}",
            "flaky",
        ])
        .stdout
            != "2 exited\n"
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        r.run(&["inspect", "-f", "{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}} {{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}}", "flaky"])
            .ok(),
        "2 exited 1 on-failure 2\n"
    );
    assert_eq!(r.run(&["logs", "flaky"]).stdout, "run\nrun\nrun\n");
    // A clean exit is not a failure.
    r.run(&[
        "run",
        "-d",
        "--name",
        "fine",
        "--restart",
        "on-failure",
        "busybox",
        "true",
    ])
    .ok();
    assert_eq!(r.run(&["wait", "fine"]).ok(), "0\n");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        r.run(&["inspect", "-f", "{{.RestartCount}}", "fine"]).ok(),
        "0\n"
    );
    // always restarts until stopped; stop wins, even while it waits.
    r.run(&[
        "run",
        "-d",
        "--name",
        "forever",
        "--restart",
        "always",
        "busybox",
        "sh",
        "-c",
        "sleep 0.1",
    ])
    .ok();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline
        && r.run(&["inspect", "-f", "{{.RestartCount}}", "forever"])
            .stdout
            .trim()
            .parse::<u32>()
            .unwrap_or(0)
            < 2
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    r.run(&["stop", "forever"]).ok();
    let n = r
        .run(&["inspect", "-f", "{{.RestartCount}}", "forever"])
        .ok()
        .to_string();
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        r.run(&[
            "inspect",
            "-f",
            "{{.RestartCount}} {{.State.Status}}",
            "forever"
        ])
        .ok(),
        format!("{} exited\n", n.trim())
    );
    // docker's validation.
    let e = r
        .run(&["run", "--rm", "--restart", "always", "busybox", "true"])
        .fails_125()
        .to_string();
    assert!(
        e.contains("conflicting options: cannot specify both --restart and --rm"),
        "{e}"
    );
    r.run(&["run", "--restart", "sometimes", "busybox", "true"])
        .fails_125();
    r.run(&["run", "--restart", "always:3", "busybox", "true"])
        .fails_125();
}

#[test]
fn attach_streams_and_returns_the_exit_code() {
    let r = Rdock::with_busybox();
    r.run(&[
        "run",
        "-di",
        "--name",
        "reader",
        "busybox",
        "sh",
        "-c",
        "read x; echo got $x; echo oops >&2; exit 4",
    ])
    .ok();
    wait_for_pid(&r, "reader");
    let out = r.run_stdin(&["attach", "reader"], b"hello\n");
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (4, "got hello\n", "oops\n")
    );
    // --no-stdin: output only, until the container is stopped.
    r.run(&[
        "run",
        "-d",
        "--name",
        "ticker",
        "busybox",
        "sh",
        "-c",
        "while true; do echo t; sleep 0.1; done",
    ])
    .ok();
    wait_for_pid(&r, "ticker");
    let child = r
        .cmd(&["attach", "--no-stdin", "ticker"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    r.run(&["kill", "ticker"]).ok();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(137));
    assert!(String::from_utf8_lossy(&o.stdout).lines().count() >= 2);
    let e = r.run(&["attach", "ticker"]).fails_1().to_string();
    assert!(
        e.contains("You cannot attach to a stopped container"),
        "{e}"
    );
    // docker 28's words for keys its daemon refuses.
    r.run(&["run", "-d", "--name", "idle", "busybox", "sleep", "300"])
        .ok();
    wait_for_pid(&r, "idle");
    let o = r.run(&["attach", "--detach-keys", "ctrl-", "idle"]);
    assert_eq!(
        (o.code, o.stderr.as_str()),
        (1, "unable to upgrade to tcp, received 400\n")
    );
}

#[test]
fn attach_to_a_tty_and_detach_with_the_keys() {
    let r = Rdock::with_busybox();
    r.run(&["run", "-dit", "--name", "shell", "busybox", "sh"])
        .ok();
    wait_for_pid(&r, "shell");
    let cmd = format!(
        "{} --root {} --runroot {} attach shell; echo ATTACH=$?; sleep 30",
        bin(),
        r.root.display(),
        r.runroot.display()
    );
    let t = Tmux::start(&r.dir.path().join("tmux.sock"), 90, 20, &cmd);
    std::thread::sleep(Duration::from_millis(300));
    // Waited for past the size's line: "42" alone can show before it.
    t.send(&["echo $((6*7)); stty size; echo $((5*5))X", "Enter"]);
    let screen = t.wait_for("25X");
    assert!(
        screen.contains("42") && screen.contains("20 90"),
        "the window size reached the container: {screen}"
    );
    // ctrl-p ctrl-q detaches (docker's attach reports it, exit 1); the
    // shell goes on.
    t.send(&["C-p", "C-q"]);
    let screen = t.wait_for("ATTACH=1");
    assert!(screen.contains("read escape sequence"), "{screen}");
    assert_eq!(
        r.run(&["inspect", "-f", "{{.State.Status}}", "shell"]).ok(),
        "running\n"
    );
    r.run(&["rm", "-f", "shell"]).ok();
}

#[test]
fn detached_tty_logs_and_auto_remove() {
    let r = Rdock::with_busybox();
    // A -t container's log is its terminal's output (CRLF, as a terminal).
    r.run(&[
        "run",
        "-dt",
        "--name",
        "ttylog",
        "busybox",
        "sh",
        "-c",
        "echo on-a-tty; tty",
    ])
    .ok();
    assert_eq!(r.run(&["wait", "ttylog"]).ok(), "0\n");
    let out = r.run(&["logs", "ttylog"]).stdout;
    assert!(out.starts_with("on-a-tty\r\n/dev/pts/0"), "{out:?}");
    // -d --rm: gone once it exits, cgroup and all.
    let id = r
        .run(&["run", "-d", "--rm", "busybox", "sh", "-c", "sleep 0.2"])
        .ok()
        .trim()
        .to_string();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline && r.run(&["ps", "-aq", "--no-trunc"]).stdout.contains(&id) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !r.run(&["ps", "-aq", "--no-trunc"]).stdout.contains(&id),
        "--rm container kept"
    );
    assert!(!r.root.join("containers").join(&id).exists());
    assert!(cgroups_of(&id).is_empty());
    // An exec failure of a detached run is reported as in the foreground.
    assert_eq!(r.run(&["run", "-d", "busybox", "nosuchcmd"]).code, 127);
}

#[test]
fn fifty_parallel_detached_runs() {
    let r = Rdock::with_busybox();
    let kids: Vec<_> = (0..50)
        .map(|_| {
            r.cmd(&["run", "-d", "busybox", "sleep", "20"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut ids = std::collections::HashSet::new();
    for k in kids {
        let o = k.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let id = String::from_utf8_lossy(&o.stdout).trim().to_string();
        assert_eq!(id.len(), 64);
        ids.insert(id);
    }
    assert_eq!(ids.len(), 50, "IDs are unique");
    let names = r.run(&["ps", "--format", "{{.Names}}"]).ok().to_string();
    let names: std::collections::HashSet<&str> = names.lines().collect();
    assert_eq!(names.len(), 50, "all running, names unique");
    let all: Vec<&str> = ids.iter().map(String::as_str).collect();
    let mut args = vec!["rm", "-f"];
    args.extend(all);
    r.run(&args).ok();
    assert_eq!(r.run(&["ps", "-aq"]).ok(), "");
}

#[test]
fn a_big_log_stays_whole_and_tails_from_the_end() {
    let r = Rdock::with_busybox();
    r.run(&[
        "run", "-d", "--name", "chatty", "busybox", "seq", "1", "200000",
    ])
    .ok();
    assert_eq!(r.run(&["wait", "chatty"]).ok(), "0\n");
    let all = r.run(&["logs", "chatty"]).stdout;
    let expected: String = (1..=200_000).map(|i| format!("{i}\n")).collect();
    assert!(
        all == expected,
        "the log lost or mixed lines ({} bytes)",
        all.len()
    );
    assert_eq!(
        r.run(&["logs", "--tail", "3", "chatty"]).stdout,
        "199998\n199999\n200000\n"
    );
}

#[test]
fn image_stopsignal_sig_proxy_and_exec_env_file() {
    use std::os::unix::process::ExitStatusExt;
    let r = Rdock::with_busybox();
    // An image whose STOPSIGNAL is USR1: `stop` sends it, not TERM.
    let tar = r.dir.path().join("bb.tar");
    std::fs::write(&tar, busybox_tar()).unwrap();
    r.run(&[
        "import",
        "-c",
        "STOPSIGNAL SIGUSR1",
        tar.to_str().unwrap(),
        "usr1img",
    ])
    .ok();
    r.run(&[
        "run",
        "-d",
        "--name",
        "sigimg",
        "usr1img",
        "sh",
        "-c",
        "trap 'echo usr1; exit 5' USR1; trap 'exit 6' TERM; while true; do sleep 0.05; done",
    ])
    .ok();
    wait_for_pid(&r, "sigimg");
    std::thread::sleep(Duration::from_millis(100));
    r.run(&["stop", "sigimg"]).ok();
    assert_eq!(r.run(&["wait", "sigimg"]).ok(), "5\n");
    assert_eq!(r.run(&["logs", "sigimg"]).ok(), "usr1\n");

    // attach proxies signals by default; with --sig-proxy=false the
    // signal is the attaching process's own and the container runs on.
    r.run(&[
        "run", "-d", "--name", "proxied", "busybox", "sh", "-c", LOOP,
    ])
    .ok();
    wait_for_pid(&r, "proxied");
    std::thread::sleep(Duration::from_millis(100));
    let attach = |extra: &[&str]| {
        let mut args = vec!["attach", "--no-stdin"];
        args.extend_from_slice(extra);
        args.push("proxied");
        let child = r
            .cmd(&args)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(300));
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGUSR1).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).unwrap();
        child.wait_with_output().unwrap()
    };
    let o = attach(&[]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("got-usr1"));
    let before = r.run(&["logs", "proxied"]).ok().matches("got-usr1").count();
    let o = attach(&["--sig-proxy=false"]);
    assert_eq!(
        o.status.signal(),
        Some(libc::SIGUSR1),
        "the signal's default action"
    );
    let after = r.run(&["logs", "proxied"]).ok().matches("got-usr1").count();
    assert_eq!(before, after, "not passed on");
    let state = r
        .run(&["inspect", "-f", "{{.State.Status}}", "proxied"])
        .ok()
        .to_string();
    assert_eq!(state, "running\n");

    // exec --env-file, with -e over the file as docker's order has it.
    let env = r.dir.path().join("env.list");
    std::fs::write(&env, "# comment\nA=from-file\nB=b\n\nPASSED\n").unwrap();
    let out = r
        .cmd(&[
            "exec",
            "--env-file",
            env.to_str().unwrap(),
            "-e",
            "B=flag",
            "proxied",
            "sh",
            "-c",
            "echo $A $B ${PASSED:-unset}",
        ])
        .env("PASSED", "from-host")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "from-file flag from-host\n"
    );
    r.run(&["rm", "-f", "proxied"]).ok();
}

#[test]
fn inspect_state_has_dockers_fields() {
    let r = Rdock::with_busybox();
    r.run(&["run", "-d", "--name", "st1", "busybox", "sleep", "30"])
        .ok();
    let pid = wait_for_pid(&r, "st1");
    let state = |name: &str| -> serde_json::Value {
        let out = r.run(&["inspect", name]).ok().to_string();
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v[0]["State"].clone()
    };
    let s = state("st1");
    for key in [
        "Status",
        "Running",
        "Paused",
        "Restarting",
        "OOMKilled",
        "Dead",
        "Pid",
        "ExitCode",
        "Error",
        "StartedAt",
        "FinishedAt",
    ] {
        assert!(s.get(key).is_some(), "State.{key} missing: {s}");
    }
    assert_eq!(s["Status"], "running");
    assert_eq!(s["Running"], true);
    assert_eq!(s["Pid"], pid);
    assert_eq!(s["FinishedAt"], "0001-01-01T00:00:00Z");
    r.run(&["kill", "st1"]).ok();
    r.run(&["wait", "st1"]).ok();
    let s = state("st1");
    assert_eq!(
        (&s["Status"], &s["Running"], &s["Pid"], &s["ExitCode"]),
        (
            &serde_json::json!("exited"),
            &serde_json::json!(false),
            &serde_json::json!(0),
            &serde_json::json!(137)
        )
    );
    assert_ne!(s["FinishedAt"], "0001-01-01T00:00:00Z");
    let started = s["StartedAt"].as_str().unwrap();
    assert!(started.len() > 20 && started.ends_with('Z'), "{started}");
}
