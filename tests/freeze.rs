//! Freezes that must never outlive what made them (a killed or failing
//! `commit`), `exec` against a frozen container, and exits nobody could
//! record (a killed monitor, a state that cannot be written).

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Run `cmd` to its end, or kill it after `limit` (None then).
fn finish_within(mut cmd: Command, limit: Duration) -> Option<Run> {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn rdock");
    wait_within(child, limit)
}

fn wait_within(mut child: Child, limit: Duration) -> Option<Run> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if child.try_wait().expect("try_wait").is_some() {
            return Some(Run::from(child.wait_with_output().expect("output")));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

fn id_of(r: &Rdock, name: &str) -> String {
    r.run(&["inspect", "-f", "{{.Id}}", name])
        .ok()
        .trim()
        .to_string()
}

/// Every freezer file of the container's cgroup(s) with whether it says
/// frozen: v1's freezer.state, v2's cgroup.freeze (in the unified
/// hierarchy of a hybrid host, or the only one).
fn freezers(id: &str) -> Vec<(PathBuf, bool)> {
    let mut out = Vec::new();
    for dir in cgroups_of(id) {
        let dir = Path::new(&dir);
        if let Ok(s) = std::fs::read_to_string(dir.join("freezer.state")) {
            out.push((dir.join("freezer.state"), s.trim() != "THAWED"));
        }
        if let Ok(s) = std::fs::read_to_string(dir.join("cgroup.freeze")) {
            out.push((dir.join("cgroup.freeze"), s.trim() != "0"));
        }
    }
    out
}

#[track_caller]
fn assert_thawed(id: &str) {
    let f = freezers(id);
    assert!(!f.is_empty(), "no freezer found for {id}");
    assert!(f.iter().all(|(_, frozen)| !frozen), "still frozen: {f:?}");
}

/// `exec C true` completes (within 10 s) and succeeds; `inspect` says
/// running, not paused.
#[track_caller]
fn assert_usable(r: &Rdock, name: &str) {
    let exec = finish_within(r.cmd(&["exec", name, "true"]), Duration::from_secs(10))
        .expect("exec hung: the container is frozen");
    exec.ok();
    assert_eq!(
        r.run(&["inspect", "-f", "{{.State.Status}} {{.State.Paused}}", name])
            .ok(),
        "running false\n"
    );
}

/// Poll `exec C test -e PATH` until it succeeds.
fn wait_for_file(r: &Rdock, name: &str, path: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if r.run(&["exec", name, "test", "-e", path]).code == 0 {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{path} never appeared in {name}");
}

#[test]
fn a_commit_killed_at_any_point_leaves_the_container_running() {
    let r = Rdock::with_busybox();
    // Changes that take a commit longer to read than the 150 ms in which
    // it is killed: most kills land while it has the container frozen.
    r.run(&[
        "run",
        "-d",
        "--name",
        "kc",
        "busybox",
        "sh",
        "-c",
        "dd if=/dev/zero of=/tmp/big bs=1M count=16 2>/dev/null; mkdir /m; \
         for i in $(seq 1000); do echo $i > /m/f$i; done; touch /tmp/ready; sleep 600",
    ])
    .ok();
    wait_for_file(&r, "kc", "/tmp/ready");
    let id = id_of(&r, "kc");
    let marker = r.root.join("containers").join(&id).join("freeze.lock");
    let mut rng = Rng::new();
    let mut left_frozen = 0;
    for round in 0..15 {
        let wait = Duration::from_millis(rng.below(151));
        let mut commit = r.cmd(&["commit", "kc"]);
        commit.stdout(Stdio::null()).stderr(Stdio::null());
        let mut child = commit.spawn().expect("spawn commit");
        std::thread::sleep(wait);
        let _ = child.kill();
        let _ = child.wait();
        if freezers(&id).iter().any(|(_, frozen)| *frozen) {
            left_frozen += 1;
        }
        // The next command to look at it thaws what the commit froze.
        assert_usable(&r, "kc");
        assert_thawed(&id);
        assert!(
            !marker.exists(),
            "round {round} ({wait:?}): the marker stayed"
        );
    }
    eprintln!("{left_frozen} of 15 kills left the container frozen");
    assert!(
        left_frozen > 0,
        "no kill landed while the container was frozen"
    );
    // What the dead commits staged in tmp/ goes with the next command that
    // takes the store lock (a commit among them), not the next pull.
    r.run(&["commit", "kc", "after-kills"]).ok();
    let tmp: Vec<_> = std::fs::read_dir(r.root.join("tmp"))
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(tmp.is_empty(), "the dead commits' staging stays: {tmp:?}");
    // A user's pause is not undone by that recovery.
    r.run(&["pause", "kc"]).ok();
    assert_eq!(
        r.run(&["inspect", "-f", "{{.State.Paused}}", "kc"]).ok(),
        "true\n"
    );
    assert!(freezers(&id).iter().any(|(_, frozen)| *frozen));
    r.run(&["unpause", "kc"]).ok();
    r.run(&["rm", "-f", "kc"]).ok();
}

/// The available bytes of the filesystem holding `p`.
fn available(p: &Path) -> u64 {
    let s = nix::sys::statvfs::statvfs(p).expect("statvfs");
    s.blocks_available() as u64 * s.fragment_size() as u64
}

/// Fill the filesystem of `dir` until `leave` bytes are left (about).
fn fill(dir: &Path, name: &str, leave: u64) {
    use std::io::Write;
    let mut f = std::fs::File::create(dir.join(name)).expect("filler");
    let chunk = vec![0xa5u8; 64 * 1024];
    while available(dir) > leave {
        let want = (available(dir) - leave).min(chunk.len() as u64) as usize;
        if f.write_all(&chunk[..want]).is_err() {
            break;
        }
    }
    let _ = f.sync_all();
}

#[test]
fn a_commit_on_a_full_disk_says_so_and_thaws() {
    let r = Rdock::new();
    std::fs::create_dir_all(&r.root).unwrap();
    // The store on a small tmpfs of its own (unmounted by Rdock's drop,
    // after its containers are removed).
    let root = r.root.to_str().unwrap().to_string();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=40m", "tmpfs", &root])
        .status()
        .unwrap();
    assert!(mounted.success());
    let tar = r.dir.path().join("busybox.tar");
    std::fs::write(&tar, busybox_tar()).unwrap();
    r.run(&[
        "import",
        "-c",
        "CMD [\"sh\"]",
        tar.to_str().unwrap(),
        "busybox",
    ])
    .ok();
    r.run(&[
        "run",
        "-d",
        "--name",
        "full",
        "busybox",
        "sh",
        "-c",
        "dd if=/dev/urandom of=/data bs=1M count=4 2>/dev/null; touch /ready; sleep 600",
    ])
    .ok();
    wait_for_file(&r, "full", "/ready");
    let id = id_of(&r, "full");

    // Room for small files (the state) but not for the layer: the error
    // is the store's, not the broken pipe it leaves the tar writer.
    fill(&r.root, "filler1", 512 * 1024);
    let e = r.run(&["commit", "full", "big:1"]).fails_1().to_lowercase();
    assert!(e.contains("no space left on device"), "{e}");
    assert!(!e.contains("broken pipe"), "{e}");
    assert_thawed(&id);
    assert_usable(&r, "full");

    // Not a byte left.
    fill(&r.root, "filler2", 0);
    let e = r.run(&["commit", "full", "big:2"]).fails_1().to_lowercase();
    assert!(e.contains("no space left on device"), "{e}");
    assert_thawed(&id);
    assert_usable(&r, "full");
    assert!(!r.run(&["images"]).ok().contains("big"));
    let _ = std::fs::remove_file(r.root.join("filler1"));
    let _ = std::fs::remove_file(r.root.join("filler2"));
    r.run(&["rm", "-f", "full"]).ok();
}

#[test]
fn exec_into_a_paused_container_is_refused_at_once() {
    let r = Rdock::with_busybox();
    r.run(&["run", "-d", "--name", "pz", "busybox", "sleep", "600"])
        .ok();
    wait_for_pid(&r, "pz");
    let id = id_of(&r, "pz");
    r.run(&["pause", "pz"]).ok();
    // docker names the container as the user did.
    for target in ["pz", &id[..12]] {
        let exec = finish_within(r.cmd(&["exec", target, "true"]), Duration::from_secs(10))
            .expect("exec into a paused container hung");
        let e = exec.fails_1();
        assert_eq!(
            e.trim_end(),
            format!("Container {target} is paused, unpause the container before exec")
        );
    }
    // -d too, and no exec event for an exec refused.
    let exec = finish_within(
        r.cmd(&["exec", "-d", "pz", "true"]),
        Duration::from_secs(10),
    )
    .expect("exec -d into a paused container hung");
    exec.fails_1();
    r.run(&["unpause", "pz"]).ok();
    r.run(&["exec", "pz", "true"]).ok();
    r.run(&["rm", "-f", "pz"]).ok();
}

/// Writes `value` to the container's freezer files behind rdock's back.
fn freeze_directly(id: &str, frozen: bool) {
    for (file, _) in freezers(id) {
        let v = match (file.ends_with("freezer.state"), frozen) {
            (true, true) => "FROZEN",
            (true, false) => "THAWED",
            (false, true) => "1",
            (false, false) => "0",
        };
        // One freezer is enough to stop it: v2 where there is one.
        if std::fs::write(&file, v).is_ok() && frozen {
            return;
        }
    }
}

/// Thaws the container even when the test fails.
struct Thaw(String);

impl Drop for Thaw {
    fn drop(&mut self) {
        freeze_directly(&self.0, false);
    }
}

#[test]
fn exec_blocked_by_a_frozen_container_still_obeys_sigterm() {
    let r = Rdock::with_busybox();
    r.run(&["run", "-d", "--name", "fz", "busybox", "sleep", "600"])
        .ok();
    wait_for_pid(&r, "fz");
    let id = id_of(&r, "fz");
    let _thaw = Thaw(id.clone());
    // Frozen after any check `exec` could make: its process joins a
    // frozen cgroup and cannot start.
    freeze_directly(&id, true);
    // Processes in the container's cgroup (a killed exec's process stays
    // there, frozen, under a v1 freezer).
    // By pid, not by count: an earlier exec's killed process may leave
    // the cgroup while the next one joins.
    let members = || -> std::collections::HashSet<String> {
        cgroups_of(&id)
            .iter()
            .filter_map(|d| std::fs::read_to_string(Path::new(d).join("cgroup.procs")).ok())
            .flat_map(|p| p.lines().map(str::to_string).collect::<Vec<_>>())
            .collect()
    };
    for (sig, code) in [
        (nix::sys::signal::Signal::SIGTERM, 143),
        (nix::sys::signal::Signal::SIGINT, 130),
    ] {
        let before = members();
        let child = r
            .cmd(&["exec", "fz", "echo", "never"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        // Until its process is in the container's cgroup (and frozen).
        let deadline = Instant::now() + Duration::from_secs(10);
        let joined = || members().difference(&before).next().is_some();
        while !joined() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(joined(), "the exec's process never joined the cgroup");
        nix::sys::signal::kill(pid, sig).unwrap();
        let out = wait_within(child, Duration::from_secs(5))
            .unwrap_or_else(|| panic!("exec ignored {sig}"));
        assert_eq!(out.code, code, "{}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
        assert!(!out.stdout.contains("never"));
    }
    freeze_directly(&id, false);
    r.run(&["exec", "fz", "true"]).ok();
    r.run(&["rm", "-f", "fz"]).ok();
}

/// A freeze no state records (a `pause` killed between freezing and
/// recording) does not keep `stop` from asking the container to end (its
/// TERM trap runs: exit 42, not a SIGKILL's 137), nor `rm -f` from
/// removing it.
#[test]
fn stop_and_rm_end_a_container_frozen_behind_their_back() {
    let r = Rdock::with_busybox();
    let trap = "trap 'exit 42' TERM; while true; do sleep 0.1; done";
    for (name, args) in [
        ("fs", &["stop", "-t", "5", "fs"][..]),
        ("fr", &["rm", "-f", "fr"][..]),
    ] {
        r.run(&["run", "-d", "--name", name, "busybox", "sh", "-c", trap])
            .ok();
        wait_for_pid(&r, name);
        let id = id_of(&r, name);
        let _thaw = Thaw(id.clone());
        freeze_directly(&id, true);
        let child = r
            .cmd(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = wait_within(child, Duration::from_secs(15))
            .unwrap_or_else(|| panic!("{args:?} hung on the frozen container"));
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
    }
    let code = r.run(&["inspect", "-f", "{{.State.ExitCode}}", "fs"]);
    assert_eq!(
        code.ok(),
        "42\n",
        "stop's SIGTERM never reached the frozen container"
    );
    r.run(&["rm", "-f", "fs"]).ok();
    assert!(r.run(&["ps", "-aq"]).ok().is_empty());
}

#[test]
fn an_exit_nobody_recorded_reads_137_with_a_reason() {
    let r = Rdock::with_busybox();
    r.run(&["run", "-d", "--name", "km", "busybox", "sleep", "600"])
        .ok();
    let pid = wait_for_pid(&r, "km");
    let monitor = ppid(pid);
    assert_ne!(monitor, 1);
    for p in [monitor, pid] {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(p),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = || {
        r.run(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.ExitCode}}",
            "km",
        ])
        .ok()
        .to_string()
    };
    while status().starts_with("running") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(status(), "exited 137\n");
    let err = r
        .run(&["inspect", "-f", "{{.State.Error}}", "km"])
        .ok()
        .to_string();
    assert!(!err.trim().is_empty(), "no reason given");
    let ps = r
        .run(&["ps", "-a", "--filter", "name=km", "--format", "{{.Status}}"])
        .ok()
        .to_string();
    assert!(ps.starts_with("Exited (137)"), "{ps}");
    // Recorded as such by the next command that puts it right.
    r.run(&["stop", "km"]).ok();
    assert_eq!(status(), "exited 137\n");
    assert_eq!(r.run(&["wait", "km"]).ok(), "137\n");

    // Exits the monitor saw keep their status and no error.
    r.run(&["run", "-d", "--name", "ok0", "busybox", "true"])
        .ok();
    assert_eq!(r.run(&["wait", "ok0"]).ok(), "0\n");
    let init = {
        r.run(&["run", "-d", "--name", "k9", "busybox", "sleep", "600"])
            .ok();
        wait_for_pid(&r, "k9")
    };
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(init),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    assert_eq!(r.run(&["wait", "k9"]).ok(), "137\n");
    for name in ["ok0", "k9"] {
        assert_eq!(
            r.run(&["inspect", "-f", "[{{.State.Error}}]", name]).ok(),
            "[]\n"
        );
    }
    r.run(&["rm", "-f", "km", "ok0", "k9"]).ok();
}

/// Puts state.json back as a file even when the test fails.
struct Restore(PathBuf);

impl Drop for Restore {
    fn drop(&mut self) {
        if self.0.is_dir() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

#[test]
fn a_foreground_run_reports_its_exit_even_when_its_state_cannot_be_written() {
    let r = Rdock::with_busybox();
    let sig = r.dir.path().join("sig");
    std::fs::create_dir(&sig).unwrap();
    let child = r
        .cmd(&[
            "run",
            "--name",
            "fgs",
            "-v",
            &format!("{}:/sig", sig.display()),
            "busybox",
            "sh",
            "-c",
            "while [ ! -e /sig/go ]; do sleep 0.05; done; exit 3",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_pid(&r, "fgs");
    let state = r
        .root
        .join("containers")
        .join(id_of(&r, "fgs"))
        .join("state.json");
    let _restore = Restore(state.clone());
    // A directory where state.json was: no new state can replace it.
    std::fs::remove_file(&state).unwrap();
    std::fs::create_dir(&state).unwrap();
    std::fs::write(state.join("keep"), "").unwrap();
    std::fs::write(sig.join("go"), "").unwrap();
    let out = wait_within(child, Duration::from_secs(20)).expect("run did not end");
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.starts_with("WARNING: "), "{}", out.stderr);
    drop(_restore);
    r.run(&["rm", "-f", "fgs"]).ok();
}
