//! Issue 22's proof for rdock-runtime: the opencontainers/runtime-tools
//! validation suite (scripts/runtime-validation.sh) against runc and
//! rdock-runtime in the same run. rdock-runtime must pass every validation
//! program and every test point that runc passes on this host, and at
//! least as many programs. About four minutes (the first run also builds
//! the suite): `cargo test --test oci_validation -- --nocapture`
//! (RTV_TESTS="default state ..." narrows the run).

use std::path::PathBuf;
use std::process::Command;

fn rdock_runtime() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_rdock-runtime"))
}

/// The programs a runtime passed, from the script's "NAME: passed N ..." line.
fn passed(stdout: &str, name: &str) -> Option<u32> {
    let prefix = format!("{name}: passed ");
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

#[test]
fn rdock_runtime_passes_what_runc_passes() {
    let runtime = rdock_runtime();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/runtime-validation.sh");
    let out = Command::new(script)
        .arg("runc")
        .arg(&runtime)
        .output()
        .expect("run scripts/runtime-validation.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    print!("{stdout}");
    eprint!("{}", String::from_utf8_lossy(&out.stderr));

    // The script's own verdict, and the figures it rests on, checked apart.
    for what in ["programs", "points"] {
        let line = format!("# {what} runc passes that rdock-runtime does not: 0");
        assert!(
            stdout.lines().any(|l| l == line),
            "rdock-runtime fails {what} that runc passes (listed above)"
        );
    }
    let runc = passed(&stdout, "runc").expect("runc's summary line");
    let ours = passed(&stdout, "rdock-runtime").expect("rdock-runtime's summary line");
    assert!(
        ours >= runc,
        "rdock-runtime passed {ours} programs, runc {runc}"
    );
    assert!(out.status.success(), "the script's verdict: {}", out.status);
}
