//! Docker is the oracle: every case in tests/conformance/*.cases runs through
//! a private Docker Engine (with the docker 28 client) and through rdock,
//! and their stdout, stderr and exit status must match after
//! normalisation, unless the case is in the ledger (`[allow: reason]`),
//! which this test prints. `RDOCK_CONFORMANCE=STEM` runs one file.

#[path = "conformance/cases.rs"]
mod cases;
mod common;
#[path = "conformance/normalise.rs"]
mod normalise;
#[path = "conformance/world.rs"]
mod world;

use cases::{Compare, Group, Step};
use std::fmt::Write as _;
use std::path::Path;
use world::{Engine, Outcome, World};

#[derive(Default)]
struct Tally {
    cases: usize,
    identical: usize,
    allowed: Vec<String>,
    failures: Vec<String>,
}

fn compared(o: &Outcome, w: &World, how: Compare) -> String {
    let tmp = w.tmp.display().to_string();
    let out = normalise::normalise(&o.stdout, &tmp, w.program);
    let err = normalise::normalise(&o.stderr, &tmp, w.program);
    match how {
        Compare::All => format!("exit {}\n--- stdout\n{out}--- stderr\n{err}", o.code),
        Compare::Sorted => {
            let mut lines: Vec<&str> = out.lines().collect();
            lines.sort();
            format!(
                "exit {}\n--- stdout (sorted)\n{}\n--- stderr\n{err}",
                o.code,
                lines.join("\n")
            )
        }
        Compare::ExitOnly => format!("exit {}\n", o.code),
        Compare::NoStderr => format!("exit {}\n--- stdout\n{out}", o.code),
    }
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("      | {l}\n")).collect()
}

fn judge(g: &Group, s: &Step, d: (&Outcome, &World), r: (&Outcome, &World), t: &mut Tally) {
    let at = format!("{}:{} [{}] {}", g.file, s.lineno, g.title, s.line);
    if s.setup {
        if d.0.code != 0 || r.0.code != 0 {
            t.failures.push(format!(
                "{at}\n    setup failed: docker exit {} {:?}, rdock exit {} {:?}",
                d.0.code, d.0.stderr, r.0.code, r.0.stderr
            ));
        }
        return;
    }
    t.cases += 1;
    let dc = compared(d.0, d.1, s.compare);
    let rc = compared(r.0, r.1, s.compare);
    match (dc == rc, &s.allow) {
        (true, None) => t.identical += 1,
        (false, Some(why)) => t.allowed.push(format!("{at}\n    allowed: {why}")),
        (true, Some(_)) => t.failures.push(format!(
            "{at}\n    now identical to docker: drop its [allow:] from the ledger"
        )),
        (false, None) => t.failures.push(format!(
            "{at}\n    docker:\n{}    rdock:\n{}",
            indent(&dc),
            indent(&rc)
        )),
    }
}

fn run_group(w: &World, g: &Group) -> Vec<Outcome> {
    let outs = g.steps.iter().map(|s| w.run(&s.line)).collect();
    w.reset();
    outs
}

#[test]
fn rdock_answers_as_docker_does() {
    suite(
        "tests/conformance",
        "rdkc",
        "172.31.250.1/24",
        150,
        "conformance-report.txt",
        |r, tmp, reg| (World::rdock(r, tmp, reg), None),
    );
}

/// The same cases format through the docker 28 CLI on both sides: a
/// private Docker Engine against rdock's API service (tests/conformance/api).
#[test]
fn rdock_api_answers_as_dockerd_does() {
    suite(
        "tests/conformance/api",
        "rdka",
        "172.31.249.1/24",
        190,
        "conformance-api-report.txt",
        |r, tmp, reg| {
            let s = common::api::Service::start(r, &["--time", "0"]);
            (World::rdock_api(r, &s.sock, tmp, reg), Some(s))
        },
    );
}

/// Run the cases in `dir` through docker and the world `second` makes,
/// on a store with busybox; `bridge`, `cidr` and `pool` keep the engine's
/// networks apart from the other suite's.
fn suite(
    dir: &str,
    bridge: &str,
    cidr: &str,
    pool: u32,
    report_name: &str,
    second: impl FnOnce(&common::Rdock, &Path, &str) -> (World, Option<common::api::Service>),
) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let only = std::env::var("RDOCK_CONFORMANCE").ok();
    let groups: Vec<Group> = cases::load(&dir)
        .into_iter()
        .filter(|g| only.as_ref().is_none_or(|o| g.file == format!("{o}.cases")))
        .collect();
    if groups.is_empty() && only.is_some() {
        return;
    }
    assert!(!groups.is_empty(), "no conformance cases found");

    let scratch = tempfile::Builder::new()
        .prefix("rdock-conformance-")
        .tempdir()
        .expect("tempdir");
    let tag = std::process::id() % 100_000;
    let engine = Engine::start(
        &scratch.path().join("engine"),
        &format!("{bridge}{tag}"),
        cidr,
        // As rdock's store has one (tests/common), apart from any other.
        &format!("base=10.{}.0.0/16,size=24", pool + tag % 40),
    );
    let r = common::Rdock::with_busybox();
    let dtmp = scratch.path().join("docker");
    let rtmp = scratch.path().join("rdock");
    let reg = common::registry::Registry::start();
    let docker = World::docker(&engine, &dtmp, &reg.host());
    let (rdock, _service) = second(&r, &rtmp, &reg.host());
    // The same busybox image, ID and all, in both worlds.
    // rdock with its store's settings even here: without them a command
    // would use the host's defaults (rdock0, table "rdock").
    let load = docker.run(&format!(
        "RDOCK_DAEMON_CONFIG={} {} --root {} --runroot {} save busybox | D load",
        r.dir.path().join("daemon.json").display(),
        common::bin(),
        r.root.display(),
        r.runroot.display()
    ));
    assert_eq!(load.code, 0, "docker load: {}", load.stderr);

    let mut t = Tally::default();
    for g in &groups {
        let (d, rd) = std::thread::scope(|s| {
            let d = s.spawn(|| run_group(&docker, g));
            let rd = run_group(&rdock, g);
            (d.join().expect("docker world"), rd)
        });
        for (i, step) in g.steps.iter().enumerate() {
            judge(g, step, (&d[i], &docker), (&rd[i], &rdock), &mut t);
        }
    }

    let mut report = String::new();
    let _ = writeln!(
        report,
        "ledger of allowed differences ({}):",
        t.allowed.len()
    );
    for a in &t.allowed {
        let _ = writeln!(report, "  {a}");
    }
    for f in &t.failures {
        let _ = writeln!(report, "FAIL {f}");
    }
    let _ = writeln!(
        report,
        "conformance: {} cases, {} identical, {} allowed differences, {} failures",
        t.cases,
        t.identical,
        t.allowed.len(),
        t.failures.len()
    );
    println!("{report}");
    let _ = std::fs::write(
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(report_name),
        &report,
    );
    assert!(t.failures.is_empty(), "{report}");
}
