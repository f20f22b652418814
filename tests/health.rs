//! Healthchecks (`--health-*`, the image's HEALTHCHECK, `--no-healthcheck`),
//! and the other per-container settings docker keeps beside them:
//! `--stop-timeout`, `--domainname`, `--annotation`.

mod common;
use common::*;
use std::time::{Duration, Instant};

fn inspect(r: &Rdock, what: &str, format: &str) -> String {
    r.run(&["inspect", "-f", format, what])
        .ok()
        .trim()
        .to_string()
}

/// Poll `format` on `name` until it reads `want` (10 s at most).
#[track_caller]
fn wait_for(r: &Rdock, name: &str, format: &str, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = inspect(r, name, format);
        if got == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{name}: {format} is {got:?}, never {want:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Processes whose command line mentions this test's store (the CLI's
/// forks: monitors and probers).
fn store_processes(r: &Rdock) -> Vec<String> {
    let root = r.root.display().to_string();
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        if !e
            .file_name()
            .to_string_lossy()
            .chars()
            .all(|c| c.is_ascii_digit())
        {
            continue;
        }
        if let Ok(cmd) = std::fs::read(e.path().join("cmdline")) {
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            if cmd.contains(&root) {
                out.push(format!("{} {cmd}", e.file_name().to_string_lossy()));
            }
        }
    }
    out
}

fn status_of(r: &Rdock, name: &str) -> String {
    r.run(&[
        "ps",
        "-a",
        "--filter",
        &format!("name={name}"),
        "--format",
        "{{.Status}}",
    ])
    .ok()
    .trim()
    .to_string()
}

#[test]
fn health_goes_from_starting_to_unhealthy_to_healthy() {
    let r = Rdock::with_busybox();
    r.run(&[
        "run",
        "-d",
        "--name",
        "probed",
        "--health-cmd",
        "echo probing; test -e /tmp/ok",
        "--health-interval",
        "100ms",
        "--health-retries",
        "2",
        "busybox",
        "sleep",
        "600",
    ])
    .ok();
    assert_eq!(
        inspect(&r, "probed", "{{json .Config.Healthcheck}}"),
        r#"{"Test":["CMD-SHELL","echo probing; test -e /tmp/ok"],"Interval":100000000,"Retries":2}"#
    );
    wait_for(&r, "probed", "{{.State.Health.Status}}", "unhealthy");
    assert!(status_of(&r, "probed").ends_with(" (unhealthy)"));
    let filtered = |h: &str| {
        r.run(&[
            "ps",
            "--filter",
            &format!("health={h}"),
            "--format",
            "{{.Names}}",
        ])
        .ok()
        .trim()
        .to_string()
    };
    assert_eq!(filtered("unhealthy"), "probed");
    assert_eq!(filtered("healthy"), "");
    r.run(&["exec", "probed", "touch", "/tmp/ok"]).ok();
    wait_for(&r, "probed", "{{.State.Health.Status}}", "healthy");
    assert!(status_of(&r, "probed").ends_with(" (healthy)"));
    assert_eq!(filtered("healthy"), "probed");
    assert_eq!(
        inspect(&r, "probed", "{{.State.Health.FailingStreak}}"),
        "0"
    );
    wait_for(&r, "probed", "{{len .State.Health.Log}}", "5");
    let log = inspect(
        &r,
        "probed",
        "{{len .State.Health.Log}} {{with index .State.Health.Log 0}}{{.ExitCode}} {{json .Output}}{{end}}",
    );
    // The last five results, each with its output.
    assert!(log.starts_with("5 "), "{log}");
    assert!(log.ends_with(r#""probing\n""#), "{log}");
    // A container without a check is "none" to the filter.
    r.run(&["run", "-d", "--name", "plain", "busybox", "sleep", "600"])
        .ok();
    assert_eq!(filtered("none"), "plain");
    assert!(status_of(&r, "plain").starts_with("Up "));
    assert!(!status_of(&r, "plain").contains('('));
    let e = r.run(&["ps", "--filter", "health=fine"]);
    assert!(e
        .fails_1()
        .contains("invalid filter 'health=fine': invalid value for health (fine): must be one of none, starting, healthy, unhealthy"));

    // The prober ends with the container's process: after stop, only
    // the other container's monitor is left.
    assert!(store_processes(&r).iter().any(|p| p.contains("probing")));
    r.run(&["stop", "-t", "0", "probed"]).ok();
    let deadline = Instant::now() + Duration::from_secs(5);
    while store_processes(&r).iter().any(|p| p.contains("probing")) {
        assert!(Instant::now() < deadline, "{:?}", store_processes(&r));
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(status_of(&r, "probed").starts_with("Exited"));
    // A new start probes again (its reset to "starting" is unit-tested:
    // with a 100 ms interval the first probe may already have passed).
    r.run(&["start", "probed"]).ok();
    wait_for(&r, "probed", "{{.State.Health.Status}}", "healthy");
    r.run(&["rm", "-f", "probed", "plain"]).ok();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !store_processes(&r).is_empty() {
        assert!(Instant::now() < deadline, "{:?}", store_processes(&r));
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn probes_time_out_and_start_periods_forgive() {
    let r = Rdock::with_busybox();
    r.run(&[
        "run",
        "-d",
        "--name",
        "slow",
        "--health-cmd",
        "sleep 5",
        "--health-timeout",
        "200ms",
        "--health-interval",
        "100ms",
        "--health-retries",
        "1",
        "busybox",
        "sleep",
        "600",
    ])
    .ok();
    wait_for(&r, "slow", "{{.State.Health.Status}}", "unhealthy");
    assert_eq!(
        inspect(
            &r,
            "slow",
            "{{with index .State.Health.Log 0}}{{.ExitCode}} {{.Output}}{{end}}"
        ),
        "-1 Health check exceeded timeout (200ms)"
    );
    // Within its start period a failing container stays "starting",
    // probed at the start interval, not the (long) interval.
    r.run(&[
        "run",
        "-d",
        "--name",
        "warming",
        "--health-cmd",
        "exit 1",
        "--health-interval",
        "1h",
        "--health-start-period",
        "1h",
        "--health-start-interval",
        "100ms",
        "--health-retries",
        "1",
        "busybox",
        "sleep",
        "600",
    ])
    .ok();
    wait_for(&r, "warming", "{{len .State.Health.Log}}", "3");
    assert_eq!(
        inspect(&r, "warming", "{{.State.Health.Status}}"),
        "starting"
    );
    assert_eq!(
        inspect(&r, "warming", "{{.State.Health.FailingStreak}}"),
        "0"
    );
    assert!(status_of(&r, "warming").ends_with(" (health: starting)"));
    r.run(&["rm", "-f", "slow", "warming"]).ok();
}

#[test]
fn image_healthchecks_merge_with_flags_or_are_turned_off() {
    let r = Rdock::with_busybox();
    r.run_stdin(
        &["build", "-q", "-t", "checked", "-"],
        b"FROM busybox\nHEALTHCHECK --interval=1h --retries=1 CMD [\"test\", \"-e\", \"/ready\"]\n\
          RUN touch /ready\n",
    )
    .ok();
    // The image's check, with the interval taken from the flag.
    r.run(&[
        "run",
        "-d",
        "--name",
        "img",
        "--health-interval",
        "100ms",
        "checked",
        "sleep",
        "600",
    ])
    .ok();
    assert_eq!(
        inspect(&r, "img", "{{json .Config.Healthcheck}}"),
        r#"{"Test":["CMD","test","-e","/ready"],"Interval":100000000,"Retries":1}"#
    );
    wait_for(&r, "img", "{{.State.Health.Status}}", "healthy");
    // --no-healthcheck: no probing, no State.Health.
    r.run(&[
        "run",
        "-d",
        "--name",
        "off",
        "--no-healthcheck",
        "checked",
        "sleep",
        "600",
    ])
    .ok();
    assert_eq!(
        inspect(&r, "off", "{{json .Config.Healthcheck}}"),
        // docker's merge: NONE over the image's test, its other fields kept.
        r#"{"Test":["NONE"],"Interval":3600000000000,"Retries":1}"#
    );
    assert_eq!(inspect(&r, "off", "{{json .State.Health}}"), "null");
    assert!(!status_of(&r, "off").contains('('));
    // commit keeps the container's check.
    r.run(&["commit", "img", "committed"]).ok();
    assert_eq!(
        r.run(&[
            "image",
            "inspect",
            "-f",
            "{{json .Config.Healthcheck}}",
            "committed"
        ])
        .ok()
        .trim(),
        r#"{"Test":["CMD","test","-e","/ready"],"Interval":100000000,"Retries":1}"#
    );
    r.run(&["rm", "-f", "img", "off"]).ok();

    for (args, why) in [
        (
            vec!["--no-healthcheck", "--health-cmd", "true"],
            "--no-healthcheck conflicts with --health-* options",
        ),
        (
            vec!["--health-interval", "-1s"],
            "--health-interval cannot be negative",
        ),
        (
            vec!["--health-timeout", "10us"],
            "Timeout in Healthcheck cannot be less than 1ms",
        ),
        (
            vec!["--health-start-period", "soon"],
            "invalid argument \"soon\" for \"--health-start-period\" flag: time: invalid duration \"soon\"",
        ),
        (
            vec!["--health-retries", "-2"],
            "--health-retries cannot be negative",
        ),
    ] {
        let mut a = vec!["run", "--rm"];
        a.extend(args.iter().copied());
        a.extend(["busybox", "true"]);
        let e = r.run(&a);
        assert!(e.fails_125().contains(why), "{args:?}: {}", e.stderr);
    }
    assert_eq!(r.run(&["ps", "-aq"]).ok(), "");
}

/// A probe is an exec: it sees the `--link` variables, and fails (-1, in
/// docker's words) once a linked container stopped.
#[test]
fn probes_see_link_variables_as_exec_does() {
    let r = Rdock::with_busybox();
    r.run(&[
        "run", "-d", "--name", "hldb", "--expose", "5432", "busybox", "sleep", "300",
    ])
    .ok();
    r.run(&[
        "run",
        "-d",
        "--name",
        "hlapp",
        "--link",
        "hldb:db",
        "--health-cmd",
        "env | grep ^DB_PORT_5432_TCP_PORT=",
        "--health-interval",
        "200ms",
        "busybox",
        "sleep",
        "300",
    ])
    .ok();
    wait_for(&r, "hlapp", "{{.State.Health.Status}}", "healthy");
    let out = inspect(&r, "hlapp", "{{(index .State.Health.Log 0).Output}}");
    assert_eq!(out, "DB_PORT_5432_TCP_PORT=5432");
    r.run(&["stop", "-t", "0", "hldb"]).ok();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let log = inspect(
            &r,
            "hlapp",
            "{{range .State.Health.Log}}{{.ExitCode}} {{.Output}}\n{{end}}",
        );
        if log.lines().last()
            == Some("-1 Cannot link to a non running container: /hldb AS /hlapp/db")
        {
            break;
        }
        assert!(Instant::now() < deadline, "{log}");
        std::thread::sleep(Duration::from_millis(50));
    }
    r.run(&["rm", "-f", "hlapp", "hldb"]).ok();
}

#[test]
fn stop_timeout_domainname_and_annotations() {
    let r = Rdock::with_busybox();
    let out = r
        .run(&[
            "run",
            "--rm",
            "--hostname",
            "web",
            "--domainname",
            "example.org",
            "busybox",
            "cat",
            "/proc/sys/kernel/hostname",
            "/proc/sys/kernel/domainname",
        ])
        .ok()
        .to_string();
    assert_eq!(out, "web\nexample.org\n");
    r.run(&[
        "run",
        "-d",
        "--name",
        "slowstop",
        "--stop-timeout",
        "1",
        "--domainname",
        "example.org",
        "--annotation",
        "com.example/owner=ops",
        "--annotation",
        "flag",
        "busybox",
        "sleep",
        "600",
    ])
    .ok();
    assert_eq!(
        inspect(
            &r,
            "slowstop",
            "{{.Config.StopTimeout}} {{.Config.Domainname}} {{json .HostConfig.Annotations}}"
        ),
        r#"1 example.org {"com.example/owner":"ops","flag":""}"#
    );
    // `sleep` as pid 1 ignores SIGTERM: stop waits the container's own
    // timeout (1 s, not docker's default 10 s) and kills it.
    let t = Instant::now();
    r.run(&["stop", "slowstop"]).ok();
    assert!(t.elapsed() < Duration::from_secs(8), "{:?}", t.elapsed());
    assert_eq!(inspect(&r, "slowstop", "{{.State.ExitCode}}"), "137");
    let e = r.run(&["run", "--rm", "--stop-timeout", "soon", "busybox", "true"]);
    assert!(e
        .fails_125()
        .contains("invalid argument \"soon\" for \"--stop-timeout\" flag"));
    r.run(&["rm", "slowstop"]).ok();
}
