//! `kill -9` at random instants of `run -d`, `build`, `pull` and `load`:
//! afterwards nothing is frozen, nothing is half-made, the next command
//! that takes the store lock sweeps what the dead left, and states read
//! right. (`commit` under kill -9 is in tests/freeze.rs.)

mod common;
use common::registry::{files_tar, Layout, Registry};
use common::*;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Start `c`, SIGKILL it after `after` (if still running).
fn kill_after(mut c: Command, after: Duration) {
    let mut child = c
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn rdock");
    std::thread::sleep(after);
    let _ = child.kill();
    let _ = child.wait();
}

fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

/// Is the container's cgroup frozen (v1 freezer or v2 cgroup.freeze)?
fn frozen(id: &str) -> bool {
    let v1 = Path::new("/sys/fs/cgroup/freezer/rdock")
        .join(id)
        .join("freezer.state");
    let v2 = Path::new("/sys/fs/cgroup/rdock")
        .join(id)
        .join("cgroup.freeze");
    std::fs::read_to_string(v1).is_ok_and(|s| s.trim() != "THAWED")
        || std::fs::read_to_string(v2).is_ok_and(|s| s.trim() == "1")
}

/// What every loop checks once `sweeper` (a command that takes the store
/// lock) ran: no debris, nothing frozen, every container listed with a
/// state that is docker's.
fn assert_clean(r: &Rdock, sweeper: &[&str]) {
    r.run(sweeper).ok();
    let tmp = entries(&r.root.join("tmp"));
    assert!(tmp.is_empty(), "tmp/ keeps {tmp:?}");
    let owned = entries(&r.root.join("owned"));
    assert!(owned.is_empty(), "dead builds' containers stay: {owned:?}");
    let listed = r.run(&["ps", "-aq", "--no-trunc"]).ok().to_string();
    for id in entries(&r.root.join("containers")) {
        let dir = r.root.join("containers").join(&id);
        assert!(dir.join("config.json").exists(), "half-made container {id}");
        assert!(listed.contains(&id), "{id} is not listed");
        assert!(!frozen(&id), "{id} is frozen");
        let status = r.run(&["inspect", "-f", "{{.State.Status}}", &id]);
        let status = status.ok().trim().to_string();
        assert!(
            ["created", "running", "exited"].contains(&status.as_str()),
            "{id}: {status}"
        );
    }
    for sock in entries(&r.runroot.join("attach")) {
        let id = sock.trim_end_matches(".sock");
        assert!(
            r.root.join("containers").join(id).exists(),
            "stray socket {sock}"
        );
    }
    for layer in entries(&r.root.join("layers")) {
        if layer != "l" {
            let d = r.root.join("layers").join(&layer);
            assert!(d.join("diff").is_dir(), "half a layer: {layer}");
        }
    }
}

/// Remove every container; then nothing of theirs may stay.
fn assert_all_removed(r: &Rdock) {
    let ids = r.run(&["ps", "-aq", "--no-trunc"]).ok().to_string();
    for id in ids.split_whitespace() {
        r.run(&["rm", "-f", id]).ok();
        assert!(cgroups_of(id).is_empty(), "cgroups of {id} stay");
        assert!(mounts_mentioning(id).is_empty(), "mounts of {id} stay");
    }
    assert!(entries(&r.root.join("containers")).is_empty());
    assert!(entries(&r.runroot.join("attach")).is_empty());
}

#[test]
fn killed_run_d_leaves_nothing_behind() {
    let r = Rdock::with_busybox();
    let mut d = Rng::new();
    for i in 0..15 {
        let name = format!("k{i}");
        let c = r.cmd(&[
            "run",
            "-d",
            "--name",
            &name,
            "--network",
            "none",
            "busybox",
            "sleep",
            "600",
        ]);
        kill_after(c, d.delay(60));
    }
    assert_clean(&r, &["system", "prune", "-f"]);
    // The store still works, names included.
    r.run(&["run", "--rm", "--network", "none", "busybox", "true"])
        .ok();
    assert_all_removed(&r);
}

#[test]
fn killed_build_leaves_no_step_container() {
    let r = Rdock::with_busybox();
    let ctx = r.dir.path().join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM busybox\nRUN sleep 0.3; echo one > /one\nRUN sleep 0.3; echo two > /two\n",
    )
    .unwrap();
    let mut d = Rng::new();
    let ctx_s = ctx.to_str().unwrap();
    for i in 0..8 {
        let tag = format!("k:{i}");
        let mut c = r.cmd(&[
            "build",
            "--no-cache",
            "--network",
            "none",
            "-t",
            &tag,
            ctx_s,
        ]);
        if i % 2 == 0 {
            kill_after(c, d.delay(900));
            continue;
        }
        // Every other one dies for sure while a step container runs.
        let mut child = c
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while entries(&r.root.join("owned")).is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    // Step containers of the dead builds: swept, with their cgroups.
    let steps = entries(&r.root.join("owned"));
    assert_clean(&r, &["container", "prune", "-f"]);
    for id in &steps {
        assert!(cgroups_of(id).is_empty(), "cgroups of step {id} stay");
    }
    // A build now works (and uses whatever cache the dead ones made).
    r.run(&["build", "-q", "--network", "none", "-t", "after", ctx_s])
        .ok();
    assert_all_removed(&r);
}

fn pushed_image(reg: &Registry, dir: &Path) -> String {
    let mut layout = Layout::new(dir);
    let big: String = (0..200_000).map(|i| format!("{i:08}\n")).collect();
    let layers = vec![
        files_tar(&[("a/one", "1"), ("a/big", big.as_str())]),
        files_tar(&[("b/two", "2"), ("b/big", &big[..big.len() / 2])]),
        files_tar(&[("c/three", "3")]),
    ];
    layout.image("v1", "amd64", &layers, &["/bin/sh"]);
    reg.skopeo_push(dir, "v1", "crash/app:v1", &[]);
    format!("{}/crash/app:v1", reg.host())
}

#[test]
fn killed_pull_and_load_leave_a_usable_store() {
    let reg = Registry::start();
    let lay = tempfile::tempdir().unwrap();
    let name = pushed_image(&reg, lay.path());
    let r = Rdock::new();
    let mut d = Rng::new();
    for _ in 0..10 {
        kill_after(r.cmd(&["pull", "-q", &name]), d.delay(400));
    }
    assert_clean(&r, &["image", "prune", "-f"]);
    r.run(&["pull", "-q", &name]).ok();
    let archive = r.dir.path().join("app.tar");
    r.run(&["save", "-o", archive.to_str().unwrap(), &name])
        .ok();
    r.run(&["rmi", &name]).ok();
    for _ in 0..10 {
        kill_after(
            r.cmd(&["load", "-q", "-i", archive.to_str().unwrap()]),
            d.delay(300),
        );
    }
    assert_clean(&r, &["image", "prune", "-f"]);
    let out = r.run(&["load", "-q", "-i", archive.to_str().unwrap()]);
    assert!(out.ok().contains(&name), "{}", out.stdout);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !entries(&r.root.join("tmp")).is_empty() {
        assert!(Instant::now() < deadline, "tmp/ keeps what load made");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(r.run(&["images", "-q"]).ok().lines().count(), 1);
}

#[test]
fn rm_after_a_dead_monitor_leaves_no_socket() {
    let r = Rdock::with_busybox();
    let id = r
        .run(&["run", "-d", "--network", "none", "busybox", "sleep", "600"])
        .ok()
        .trim()
        .to_string();
    let state: serde_json::Value = serde_json::from_slice(
        &std::fs::read(r.root.join("containers").join(&id).join("state.json")).unwrap(),
    )
    .unwrap();
    let monitor = state["owner_pid"].as_i64().unwrap() as i32;
    assert!(monitor > 0, "{state}");
    let sock = r.runroot.join("attach").join(format!("{id}.sock"));
    assert!(sock.exists());
    // SAFETY: signalling a pid this test's container owns.
    assert_eq!(unsafe { libc::kill(monitor, libc::SIGKILL) }, 0);
    r.run(&["rm", "-f", &id]).ok();
    assert!(!sock.exists(), "the dead monitor's socket stays");
    assert!(cgroups_of(&id).is_empty(), "its cgroups stay");
}

/// The other half of `a_killed_test_process_leaves_nothing_behind`: a
/// test process with a store and a foreground container (its CLI its
/// only reaper), killed from outside. Run by that test only.
#[test]
#[ignore]
fn killed_test_process_child() {
    let r = Rdock::with_busybox();
    // Never waited for: it dies with this process, killed from outside.
    #[allow(clippy::zombie_processes)]
    let _fg = r
        .cmd(&["run", "--name", "fg", "busybox", "sleep", "600"])
        .spawn()
        .expect("run");
    let deadline = Instant::now() + Duration::from_secs(10);
    while r.run(&["ps", "-q"]).ok().trim().is_empty() {
        assert!(Instant::now() < deadline, "the container never ran");
        std::thread::sleep(Duration::from_millis(20));
    }
    println!("STORE {}", r.dir.path().display());
    std::thread::sleep(Duration::from_secs(600));
}

/// A test process killed mid-test runs no `Drop`: its container (and
/// cgroups, lease, bridge, table, store) stayed on the host once, after
/// a hung test was killed. The next test process's first store sweeps
/// what dead test processes left (tests/common/stale.rs).
#[test]
fn a_killed_test_process_leaves_nothing_behind() {
    use std::io::BufRead;
    use std::os::unix::process::CommandExt;
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "killed_test_process_child",
            "--ignored",
            "--nocapture",
        ])
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the child test");
    let out = child.stdout.take().expect("stdout");
    let store = std::io::BufReader::new(out)
        .lines()
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix("STORE ").map(std::path::PathBuf::from))
        .expect("the child's store");
    // SAFETY: the child's own process group (process_group(0) above).
    unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
    let _ = child.wait();
    let id = entries(&store.join("root/containers"))
        .into_iter()
        .next()
        .expect("the child's container");
    assert!(
        !cgroups_of(&id).is_empty(),
        "the kill left no cgroup to sweep"
    );
    let settings: serde_json::Value =
        serde_json::from_slice(&std::fs::read(store.join("daemon.json")).expect("daemon.json"))
            .expect("settings");
    let bridge = settings["bridge"].as_str().expect("bridge").to_string();
    let links = || {
        let o = Command::new("ip")
            .args(["-br", "link"])
            .output()
            .expect("ip");
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    assert!(
        links().contains(&bridge),
        "the container's bridge was not made"
    );
    assert!(std::fs::read_to_string("/run/rdock-network/leases.json")
        .unwrap_or_default()
        .contains(&id));

    let swept = common::stale::sweep(store.parent().expect("tmp"));
    assert!(swept.contains(&store), "{swept:?}");
    assert!(!store.exists());
    assert_eq!(cgroups_of(&id), Vec::<String>::new());
    let links = Command::new("ip")
        .args(["-br", "link"])
        .output()
        .expect("ip");
    assert!(!String::from_utf8_lossy(&links.stdout).contains(&bridge));
    let leases = std::fs::read_to_string("/run/rdock-network/leases.json").unwrap_or_default();
    assert!(!leases.contains(&id), "{leases}");
    // A live test process's store is left alone.
    let mine = Rdock::new();
    common::stale::sweep(mine.dir.path().parent().expect("tmp"));
    assert!(mine.dir.path().exists());
}
