//! Real clients of the Engine API against rdock's service: the Python
//! docker SDK (PyPI), testcontainers-python (PyPI), and docker-compose
//! 1.29 (Debian's). scripts/test.sh installs them (the PyPI ones in
//! target/test-data/pyvenv).

mod common;

use common::api::{Service, CLIENT_LIMIT};
use common::output_within;
use common::Rdock;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn venv_python() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-data/pyvenv/bin/python")
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/api")
        .join(name)
}

fn client(s: &Service, program: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(program);
    c.args(args)
        .env("DOCKER_HOST", format!("unix://{}", s.sock.display()))
        .env("DOCKER_CONFIG", s.sock.with_file_name("docker-config"))
        .stdin(Stdio::null());
    c
}

#[track_caller]
fn check(o: &Output, what: &str) -> String {
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success(),
        "{what} failed ({:?}):\n{out}\n{err}",
        o.status.code()
    );
    out
}

#[test]
fn python_docker_sdk() {
    let r = Rdock::with_busybox();
    let s = Service::start(&r, &["--time", "0"]);
    let o = output_within(
        &mut client(
            &s,
            &venv_python(),
            &[script("sdk.py").to_str().unwrap_or_default()],
        ),
        CLIENT_LIMIT,
    );
    let out = check(&o, "tests/api/sdk.py");
    assert!(out.contains("SDK OK"), "{out}");
    assert_eq!(r.run(&["ps", "-aq"]).ok(), "");
    assert_eq!(
        r.run(&["network", "ls", "-q", "--filter", "name=sdknet"])
            .ok(),
        ""
    );
}

#[test]
fn testcontainers_python() {
    let r = Rdock::with_busybox();
    let s = Service::start(&r, &["--time", "0"]);
    let mut tc = client(
        &s,
        &venv_python(),
        &[script("testcontainers_check.py")
            .to_str()
            .unwrap_or_default()],
    );
    // Ryuk, testcontainers' reaper, is an image from Docker Hub.
    tc.env("TESTCONTAINERS_RYUK_DISABLED", "true");
    let o = output_within(&mut tc, CLIENT_LIMIT);
    let out = check(&o, "tests/api/testcontainers_check.py");
    assert!(out.contains("TC OK"), "{out}");
    assert_eq!(r.run(&["ps", "-aq"]).ok(), "");
}

#[test]
fn docker_compose_project() {
    let r = Rdock::with_busybox();
    let s = Service::start(&r, &["--time", "0"]);
    let project = r.dir.path().join("proj");
    let copy = Command::new("cp")
        .arg("-r")
        .arg(script("compose"))
        .arg(&project)
        .status()
        .expect("cp");
    assert!(copy.success());
    let compose = |args: &[&str]| -> Output {
        let mut full = vec!["-p", "rdk"];
        full.extend_from_slice(args);
        let mut c = client(&s, Path::new("/usr/bin/docker-compose"), &full);
        c.current_dir(&project);
        output_within(&mut c, CLIENT_LIMIT)
    };
    check(&compose(&["up", "-d", "--build"]), "compose up");
    let ps = check(&compose(&["ps"]), "compose ps");
    assert!(ps.contains("rdk_db_1") && ps.contains("rdk_web_1"), "{ps}");
    assert!(ps.contains("(healthy)"), "{ps}");
    // web waited for db's health, then found it by name on the network.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let logs = loop {
        let logs = check(&compose(&["logs", "--no-color"]), "compose logs");
        if logs.contains("db-resolved") || std::time::Instant::now() > deadline {
            break logs;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(
        logs.contains("db-up") && logs.contains("web-up") && logs.contains("db-resolved"),
        "{logs}"
    );
    let out = check(
        &compose(&["exec", "-T", "db", "cat", "/built", "/data/v"]),
        "compose exec",
    );
    assert_eq!(out, "built-by-compose\nstored\n");
    let out = check(
        &compose(&["run", "--rm", "-T", "web", "echo", "ran"]),
        "compose run",
    );
    assert!(out.contains("ran"), "{out}");
    // The project's objects are rdock's: the CLI sees them.
    let names = r.run(&["ps", "--format", "{{.Names}}"]).ok().to_string();
    assert!(
        names.contains("rdk_db_1") && names.contains("rdk_web_1"),
        "{names}"
    );
    assert!(r.run(&["volume", "ls", "-q"]).ok().contains("rdk_data"));
    check(&compose(&["down", "-v"]), "compose down");
    assert_eq!(r.run(&["ps", "-aq"]).ok(), "");
    assert!(!r.run(&["volume", "ls", "-q"]).ok().contains("rdk_data"));
    assert!(!r.run(&["network", "ls"]).ok().contains("rdk_back"));
}
