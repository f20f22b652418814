//! rdock-runtime, the OCI runtime: runc's command line on a bundle, the
//! same container as runc makes from the same config, and containerd
//! driving it through its runc shim (`ctr run --runc-binary`).

mod common;

use common::Tmux;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn runtime_bin() -> &'static str {
    env!("CARGO_BIN_EXE_rdock-runtime")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// A bundle (busybox rootfs, the runtime's `spec` config edited by `edit`)
/// and a runtime root, in one temp dir.
struct Bundle {
    dir: tempfile::TempDir,
}

impl Bundle {
    fn new(edit: impl FnOnce(&mut Value)) -> Bundle {
        let dir = tempfile::Builder::new()
            .prefix("rdock-oci-")
            .tempdir()
            .unwrap();
        let rootfs = dir.path().join("rootfs");
        std::fs::create_dir(&rootfs).unwrap();
        tar::Archive::new(&common::busybox_tar()[..])
            .unpack(&rootfs)
            .unwrap();
        let b = Bundle { dir };
        let o = b.rt(&["spec", "--bundle", b.path().to_str().unwrap()]);
        assert!(o.status.success(), "{:?}", text(&o));
        let cfg_path = b.path().join("config.json");
        let mut cfg: Value =
            serde_json::from_str(&std::fs::read_to_string(&cfg_path).unwrap()).unwrap();
        cfg["process"]["terminal"] = Value::Bool(false);
        edit(&mut cfg);
        std::fs::write(&cfg_path, cfg.to_string()).unwrap();
        b
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn root(&self) -> PathBuf {
        self.path().join("state")
    }

    /// rdock-runtime with this bundle's root, run in the bundle.
    fn rt(&self, args: &[&str]) -> Output {
        Command::new(runtime_bin())
            .arg("--root")
            .arg(self.root())
            .args(args)
            .current_dir(self.path())
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// For commands that leave a process holding our stdio (`create`,
    /// `exec --detach`): its output goes to a file.
    fn rt_detached(&self, args: &[&str]) -> (bool, String) {
        let log = self.path().join("detached.out");
        let f = std::fs::File::create(&log).unwrap();
        let ok = Command::new(runtime_bin())
            .arg("--root")
            .arg(self.root())
            .args(args)
            .current_dir(self.path())
            .stdin(Stdio::null())
            .stdout(f.try_clone().unwrap())
            .stderr(f)
            .status()
            .unwrap()
            .success();
        (ok, std::fs::read_to_string(&log).unwrap_or_default())
    }

    fn status(&self, id: &str) -> String {
        let o = self.rt(&["state", id]);
        let v: Value = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
        v["status"].as_str().unwrap_or("").to_string()
    }

    fn wait_status(&self, id: &str, want: &str) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            if self.status(id) == want {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("{id} never became {want}: {}", self.status(id));
    }
}

fn set_args(cfg: &mut Value, script: &str) {
    cfg["process"]["args"] = serde_json::json!(["sh", "-c", script]);
}

fn unique(name: &str) -> String {
    format!("rdkoci{}-{name}", std::process::id())
}

/// What the container sees of itself: mounts, capabilities, ids, /dev.
const PROBE: &str =
    "hostname; id; grep -E 'Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp:' /proc/self/status; \
    ls /dev; ulimit -n; umask; \
    awk '{for (i = 7; $i != \"-\"; i++); print $5, $6, $(i+1), $(i+3)}' /proc/self/mountinfo";

/// `run` of one bundle by rdock-runtime and by runc: the container's
/// stdout and exit status, each.
fn both_run(b: &Bundle, id: &str) -> Option<(Output, Output)> {
    if Command::new("runc").arg("--version").output().is_err() {
        eprintln!("runc is not installed: skipping the comparison");
        return None;
    }
    let ours = b.rt(&["run", id]);
    let runc = Command::new("runc")
        .arg("--root")
        .arg(b.path().join("runc-state"))
        .args(["run", id])
        .current_dir(b.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Some((ours, runc))
}

#[test]
fn run_makes_the_container_runc_makes() {
    let b = Bundle::new(|c| set_args(c, PROBE));
    let id = unique("same");
    let Some((ours, runc)) = both_run(&b, &id) else {
        return;
    };
    assert!(runc.status.success(), "runc: {:?}", text(&runc));
    assert!(ours.status.success(), "rdock-runtime: {:?}", text(&ours));
    assert_eq!(text(&ours).0, text(&runc).0);
    assert!(text(&ours).0.contains("CapBnd:\t0000000020000420"));
    // Nothing kept: no state, no cgroup.
    assert!(common::cgroups_of(&id).is_empty());
    assert_eq!(text(&b.rt(&["list", "-q"])).0, "");
}

/// A mount on a dangling symlink (an image's `/etc/resolv.conf ->
/// ../run/systemd/resolve/stub-resolv.conf`, as a CRI runtime binds the
/// pod's resolv.conf there): what the link names is made and mounted on,
/// inside the root, as runc does.
#[test]
fn mounts_on_dangling_symlinks_as_runc_makes_them() {
    let bundle = || {
        let b = Bundle::new(|c| {
            set_args(
                c,
                "cat /etc/resolv.conf; ls /run/systemd/resolve/ /srv/x; cat /srv/x/f; readlink /etc/resolv.conf; \
                 cat /usr/run2/x",
            );
            c["root"]["readonly"] = Value::Bool(true);
            let m = c["mounts"].as_array_mut().unwrap();
            for (src, dest) in [
                ("host-resolv", "/etc/resolv.conf"),
                ("host-dir", "/data"),
                // Through a directory link: `..` is taken from where the
                // link really is (/usr/etc2), not from /l.
                ("host-resolv", "/l/conf"),
            ] {
                m.push(serde_json::json!({
                    "destination": dest, "type": "bind", "source": src,
                    "options": ["rbind", "ro"],
                }));
            }
        });
        let rootfs = b.path().join("rootfs");
        let _ = std::fs::remove_file(rootfs.join("etc/resolv.conf"));
        std::os::unix::fs::symlink(
            "../run/systemd/resolve/stub-resolv.conf",
            rootfs.join("etc/resolv.conf"),
        )
        .unwrap();
        std::os::unix::fs::symlink("/srv/x", rootfs.join("data")).unwrap();
        std::fs::create_dir_all(rootfs.join("usr/etc2")).unwrap();
        std::os::unix::fs::symlink("usr/etc2", rootfs.join("l")).unwrap();
        std::os::unix::fs::symlink("../run2/x", rootfs.join("usr/etc2/conf")).unwrap();
        std::fs::write(b.path().join("host-resolv"), "nameserver 192.0.2.1\n").unwrap();
        std::fs::create_dir(b.path().join("host-dir")).unwrap();
        std::fs::write(b.path().join("host-dir/f"), "in the dir\n").unwrap();
        b
    };
    let (ours, theirs) = (bundle(), bundle());
    let id = unique("dangling");
    let o = ours.rt(&["run", &id]);
    assert!(o.status.success(), "rdock-runtime: {:?}", text(&o));
    let (out, _) = text(&o);
    assert!(out.starts_with("nameserver 192.0.2.1\n"), "{out}");
    assert!(out.contains("in the dir"), "{out}");
    assert!(out.ends_with("nameserver 192.0.2.1\n"), "{out}");
    if Command::new("runc").arg("--version").output().is_err() {
        return;
    }
    let r = Command::new("runc")
        .arg("--root")
        .arg(theirs.path().join("runc-state"))
        .args(["run", &id])
        .current_dir(theirs.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(r.status.success(), "runc: {:?}", text(&r));
    assert_eq!(out, text(&r).0);
}

#[test]
fn a_user_namespace_as_runc_makes_it() {
    let b = Bundle::new(|c| {
        set_args(
            c,
            "id; cat /proc/self/uid_map /proc/self/gid_map; ls -ln /bin/busybox; \
             grep CapEff /proc/self/status; touch /bin/x; echo status $?",
        );
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({"type": "user"}));
        let map = serde_json::json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
        c["linux"]["uidMappings"] = map.clone();
        c["linux"]["gidMappings"] = map;
        c["root"]["readonly"] = Value::Bool(false);
    });
    let id = unique("userns");
    let Some((ours, runc)) = both_run(&b, &id) else {
        return;
    };
    assert_eq!(
        text(&ours).0,
        text(&runc).0,
        "{:?} {:?}",
        text(&ours).1,
        text(&runc).1
    );
    assert_eq!(ours.status.code(), runc.status.code());
    let out = text(&ours).0;
    assert!(out.contains("0     100000      65536"), "{out}");
    // The rootfs is the host's root's: not the container root's to write.
    assert!(out.contains("status 1"), "{out}");
}

/// `idmap` binds (runtime-spec 1.2; runc 1.1 here has none to compare
/// with): the host's files seen through the container's mapping, or the
/// mount's own, where a plain bind shows them as nobody's.
#[test]
fn idmapped_mounts_as_the_mappings_say() {
    let map = |host: u32| serde_json::json!([{"containerID": 0, "hostID": host, "size": 65536}]);
    let b = Bundle::new(|c| {
        set_args(
            c,
            "stat -c %u:%g /idm/f /own/f /plain/f; touch /idm/new; echo made $?",
        );
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({"type": "user"}));
        c["linux"]["uidMappings"] = map(100000);
        c["linux"]["gidMappings"] = map(100000);
        let m = c["mounts"].as_array_mut().unwrap();
        m.push(serde_json::json!({"destination": "/idm", "type": "bind",
            "source": "data", "options": ["rbind", "idmap"]}));
        m.push(serde_json::json!({"destination": "/own", "type": "bind",
            "source": "data", "options": ["rbind", "ridmap"],
            "uidMappings": map(101000), "gidMappings": map(101000)}));
        m.push(serde_json::json!({"destination": "/plain", "type": "bind",
            "source": "data", "options": ["rbind"]}));
    });
    std::fs::create_dir(b.path().join("data")).unwrap();
    std::fs::write(b.path().join("data/f"), "x").unwrap();
    let o = b.rt(&["run", &unique("idmap")]);
    assert!(o.status.success(), "{:?}", text(&o));
    // On disk 0: the container's root through its own mapping; 1000
    // through the mount's (host 101000 is its 1000); nobody's unmapped.
    assert_eq!(text(&o).0, "0:0\n1000:1000\n65534:65534\nmade 0\n");
    use std::os::unix::fs::MetadataExt;
    let made = std::fs::metadata(b.path().join("data/new")).unwrap();
    assert_eq!((made.uid(), made.gid()), (0, 0));
    // Mappings without the option, and an idmapped non-bind, are refused.
    let b = Bundle::new(|c| {
        set_args(c, "true");
        c["mounts"].as_array_mut().unwrap().push(serde_json::json!({
            "destination": "/x", "type": "tmpfs", "source": "tmpfs",
            "uidMappings": map(1), "gidMappings": map(1)}));
    });
    let err = text(&b.rt(&["run", &unique("idmap2")])).1;
    assert!(err.contains("without the idmap or ridmap option"), "{err}");
}

#[test]
fn lifecycle_as_runc_defines_it() {
    let b = Bundle::new(|c| set_args(c, "echo started; exec sleep 300"));
    let id = unique("life");
    let pid_file = b.path().join("init.pid");
    let (ok, out) = b.rt_detached(&[
        "create",
        "--bundle",
        b.path().to_str().unwrap(),
        "--pid-file",
        pid_file.to_str().unwrap(),
        &id,
    ]);
    assert!(ok, "{out}");
    assert_eq!(b.status(&id), "created");
    let pid: i32 = std::fs::read_to_string(&pid_file).unwrap().parse().unwrap();
    let state: Value = serde_json::from_slice(&b.rt(&["state", &id]).stdout).unwrap();
    assert_eq!(state["pid"], pid);
    assert_eq!(state["bundle"], b.path().to_str().unwrap());
    // Created, not started: the program has not run.
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap();
    assert_ne!(comm.trim(), "sleep");

    let o = b.rt(&["create", &id]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o)
        .1
        .contains(&format!("container with id exists: {id}")));

    assert!(b.rt(&["start", &id]).status.success());
    assert_eq!(b.status(&id), "running");
    let o = b.rt(&["start", &id]);
    assert_eq!(o.status.code(), Some(1), "a second start: {:?}", text(&o));

    let o = b.rt(&["exec", &id, "sh", "-c", "echo in $(hostname); exit 4"]);
    assert_eq!(o.status.code(), Some(4));
    assert_eq!(text(&o).0, "in rdock\n");
    let (ok, out) = b.rt_detached(&[
        "exec",
        "--detach",
        "--pid-file",
        "exec.pid",
        &id,
        "sleep",
        "200",
    ]);
    assert!(ok, "{out}");

    let pids: Vec<i32> =
        serde_json::from_slice(&b.rt(&["ps", "--format", "json", &id]).stdout).unwrap();
    assert!(pids.contains(&pid), "{pids:?}");
    assert_eq!(pids.len(), 2, "{pids:?}");

    assert!(b.rt(&["pause", &id]).status.success());
    assert_eq!(b.status(&id), "paused");
    assert!(b.rt(&["resume", &id]).status.success());
    assert_eq!(b.status(&id), "running");

    let o = b.rt(&["delete", &id]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).1.contains("not stopped: running"),
        "{:?}",
        text(&o)
    );

    let list = text(&b.rt(&["list"])).0;
    assert!(list.starts_with("ID "), "{list}");
    assert!(list.contains(&id) && list.contains("running"), "{list}");

    assert!(b.rt(&["kill", &id, "KILL"]).status.success());
    b.wait_status(&id, "stopped");
    let o = b.rt(&["kill", &id, "9"]);
    assert_eq!(o.status.code(), Some(1));
    // The exec'd sleep outlived the init's namespace? The cgroup kill at
    // delete takes every process.
    assert!(b.rt(&["delete", &id]).status.success());
    assert!(common::cgroups_of(&id).is_empty());
    let o = b.rt(&["state", &id]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).1.contains("container does not exist"));
    assert!(b.rt(&["delete", "--force", &id]).status.success());
}

#[test]
fn refusals_are_one_clear_line() {
    let b = Bundle::new(|c| set_args(c, "true"));
    for (args, want) in [
        (
            vec!["--systemd-cgroup", "run", "x"],
            "systemd cgroup driver is not supported",
        ),
        (
            vec!["checkpoint", "x"],
            "checkpoint/restore is not supported",
        ),
        (vec!["start", "no-such"], "container does not exist"),
        (vec!["create", "../x"], "invalid container id"),
    ] {
        let o = b.rt(&args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        let err = text(&o).1;
        assert!(err.contains(want), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    // The JSON log containerd's go-runc reads back.
    let log = b.path().join("log.json");
    let o = b.rt(&[
        "--log",
        log.to_str().unwrap(),
        "--log-format",
        "json",
        "start",
        "no-such",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let line: Value = serde_json::from_str(std::fs::read_to_string(&log).unwrap().trim()).unwrap();
    assert_eq!(line["level"], "error");
    assert_eq!(line["msg"], "container does not exist");
    let features: Value = serde_json::from_slice(&b.rt(&["features"]).stdout).unwrap();
    assert_eq!(features["linux"]["cgroup"]["v1"], true);
    // rdock's own overlay annotations name host dirs: not from a bundle.
    let b = Bundle::new(|c| {
        set_args(c, "true");
        c["annotations"] = serde_json::json!({"org.rdock.rootfs.upper": "/etc"});
    });
    let o = b.rt(&["run", &unique("ann")]);
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o).1;
    assert!(
        err.contains("annotation org.rdock.rootfs.upper: reserved"),
        "{err}"
    );
    // So are its mount options (copy-up would write host dirs as root).
    let b = Bundle::new(|c| {
        set_args(c, "true");
        c["mounts"].as_array_mut().unwrap().push(serde_json::json!({
            "destination": "/x", "type": "bind", "source": "/tmp",
            "options": ["rbind", "x-rdock.copy-up"]}));
    });
    let err = text(&b.rt(&["run", &unique("opt")])).1;
    assert!(
        err.contains("mount option x-rdock.copy-up: reserved"),
        "{err}"
    );
}

#[test]
fn exit_status_and_hooks() {
    let out = tempfile::tempdir().unwrap();
    let o = out.path().to_str().unwrap().to_string();
    let hook = |name: &str| serde_json::json!({"path": "/bin/sh", "args": ["sh", "-c", format!("cat > {o}/{name}")]});
    let (pre, post_start, post_stop) = (hook("prestart"), hook("poststart"), hook("poststop"));
    let (create_runtime, create_container) = (hook("createRuntime"), hook("createContainer"));
    // startContainer's path and files are the container's: /out is the
    // test's dir, bound in.
    let start_container =
        serde_json::json!({"path": "/bin/sh", "args": ["sh", "-c", "cat > /out/startContainer"]});
    let b = Bundle::new(|c| {
        set_args(c, "exit 7");
        c["hooks"] = serde_json::json!({
            "prestart": [pre], "poststart": [post_start], "poststop": [post_stop],
            "createRuntime": [create_runtime], "createContainer": [create_container],
            "startContainer": [start_container],
        });
        c["mounts"].as_array_mut().unwrap().push(serde_json::json!({
            "destination": "/out", "type": "bind", "source": o, "options": ["rbind", "rw"],
        }));
    });
    let id = unique("hooks");
    let r = b.rt(&["run", &id]);
    assert_eq!(r.status.code(), Some(7), "{:?}", text(&r));
    for (name, status) in [
        ("prestart", "created"),
        ("createRuntime", "creating"),
        ("createContainer", "creating"),
        ("startContainer", "created"),
        ("poststart", "running"),
        ("poststop", "stopped"),
    ] {
        let v: Value =
            serde_json::from_str(&std::fs::read_to_string(out.path().join(name)).unwrap()).unwrap();
        assert_eq!(v["id"], id.as_str(), "{name}");
        assert_eq!(v["status"], status, "{name}: {v}");
        assert_eq!(v["bundle"], b.path().to_str().unwrap(), "{name}");
    }
}

/// A private containerd (its own root, state and socket; no CRI) whose
/// runc shim runs rdock-runtime. Stopped, its mounts and cgroups removed,
/// when dropped.
struct Containerd {
    dir: tempfile::TempDir,
    child: std::process::Child,
    ns: String,
}

impl Containerd {
    fn start() -> Option<Containerd> {
        if Command::new("containerd")
            .arg("--version")
            .output()
            .is_err()
        {
            eprintln!("containerd is not installed: skipping");
            return None;
        }
        let dir = tempfile::Builder::new()
            .prefix("rdock-ctd-")
            .tempdir()
            .unwrap();
        let d = dir.path().display();
        let cfg = format!(
            "version = 2\nroot = \"{d}/root\"\nstate = \"{d}/state\"\n\
             disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n\
             [grpc]\n  address = \"{d}/c.sock\"\n[ttrpc]\n  address = \"{d}/c.sock.ttrpc\"\n\
             [debug]\n  address = \"{d}/debug.sock\"\n"
        );
        std::fs::write(dir.path().join("config.toml"), cfg).unwrap();
        let log = std::fs::File::create(dir.path().join("log")).unwrap();
        let child = Command::new("containerd")
            .arg("--config")
            .arg(dir.path().join("config.toml"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let c = Containerd {
            dir,
            child,
            ns: format!("rdkt{}", std::process::id()),
        };
        for _ in 0..500 {
            if c.ctr(&["version"]).status.success() {
                return Some(c);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("containerd did not start");
    }

    fn sock(&self) -> String {
        self.dir.path().join("c.sock").display().to_string()
    }

    fn ctr_cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("ctr");
        c.args(["-a", &self.sock(), "-n", &self.ns]).args(args);
        c.stdin(Stdio::null());
        c
    }

    fn ctr(&self, args: &[&str]) -> Output {
        self.ctr_cmd(args).output().unwrap()
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        // Tasks left by a failed test: killed through the runtime's state
        // (the runc shim's root for our namespace), then their shims.
        let state = format!("/run/containerd/runc/{}", self.ns);
        common::delete_runtime_containers(runtime_bin(), Path::new(&state));
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = Command::new("pkill")
            .args(["-9", "-f", "--", &format!("-address {}", self.sock())])
            .status();
        let _ = std::fs::remove_dir_all(&state);
        for line in common::mounts_mentioning(&self.dir.path().display().to_string()) {
            if let Some(m) = line.split_whitespace().nth(4) {
                let _ = nix::mount::umount2(m, nix::mount::MntFlags::MNT_DETACH);
            }
        }
        for h in std::fs::read_dir("/sys/fs/cgroup")
            .into_iter()
            .flatten()
            .flatten()
        {
            let _ = std::fs::remove_dir(h.path().join(&self.ns));
        }
    }
}

const IMAGE: &str = "docker.io/library/busybox:latest";

#[test]
fn containerd_runs_containers_through_rdock_runtime() {
    let Some(ctd) = Containerd::start() else {
        return;
    };
    let r = common::Rdock::with_busybox();
    let archive = r.dir.path().join("bb.tar");
    r.run(&["save", "-o", archive.to_str().unwrap(), "busybox"])
        .ok();
    let o = ctd.ctr(&["images", "import", archive.to_str().unwrap()]);
    assert!(o.status.success(), "{:?}", text(&o));
    let rt = runtime_bin();

    // run --rm: output and exit status.
    let o = ctd.ctr(&[
        "run",
        "--runc-binary",
        rt,
        "--rm",
        IMAGE,
        "r1",
        "sh",
        "-c",
        "echo hi from $(id -u); exit 3",
    ]);
    assert_eq!(text(&o).0, "hi from 0\n", "{:?}", text(&o));
    assert_eq!(o.status.code(), Some(3));

    // run -d, exec, ps, pause/resume, kill, delete.
    let o = ctd.ctr(&[
        "run",
        "-d",
        "--runc-binary",
        rt,
        IMAGE,
        "d1",
        "sleep",
        "300",
    ]);
    assert!(o.status.success(), "{:?}", text(&o));
    let tasks = text(&ctd.ctr(&["task", "ls"])).0;
    assert!(tasks.contains("d1") && tasks.contains("RUNNING"), "{tasks}");
    let o = ctd.ctr(&[
        "task",
        "exec",
        "--exec-id",
        "e1",
        "d1",
        "sh",
        "-c",
        "echo exec; exit 2",
    ]);
    assert_eq!(text(&o).0, "exec\n");
    assert_eq!(o.status.code(), Some(2));
    let ps = text(&ctd.ctr(&["task", "ps", "d1"])).0;
    assert_eq!(ps.lines().count(), 2, "{ps}");
    assert!(ctd.ctr(&["task", "pause", "d1"]).status.success());
    assert!(text(&ctd.ctr(&["task", "ls"])).0.contains("PAUSED"));
    assert!(ctd.ctr(&["task", "resume", "d1"]).status.success());
    assert!(text(&ctd.ctr(&["task", "ls"])).0.contains("RUNNING"));

    // exec -t and run -t: a terminal through the console socket.
    let sock = ctd.dir.path().join("tmux.sock");
    let ctr_line = format!("ctr -a {} -n {}", ctd.sock(), ctd.ns);
    let t = Tmux::start(
        &sock,
        100,
        30,
        &format!("{ctr_line} task exec -t --exec-id e2 d1 sh; echo EXEC-EXIT=$?; sleep 60"),
    );
    // Typed before the shell set up its line editing, keys are dropped.
    t.wait_for("/ #");
    t.send(&["tty; echo X$((6*7))Y", "Enter"]);
    let screen = t.wait_for("X42Y");
    assert!(screen.contains("/dev/pts/"), "{screen}");
    t.send(&["exit 6", "Enter"]);
    t.wait_for("EXEC-EXIT=6");
    drop(t);
    let t = Tmux::start(
        &sock.with_file_name("tmux2.sock"),
        100,
        30,
        &format!(
            "{ctr_line} run -t --runc-binary {rt} --rm {IMAGE} t1 sh; echo RUN-EXIT=$?; sleep 60"
        ),
    );
    t.wait_for("/ #");
    // ctr sets the pty's size once the task has started (its resize call
    // can come after the shell's first prompt, with runc too): asked
    // again until it has.
    let mut screen = String::new();
    for n in 1..=50 {
        t.send(&[&format!("stty size; echo X$(({n}*1000+7))Y"), "Enter"]);
        screen = t.wait_for(&format!("X{}Y", n * 1000 + 7));
        if screen.contains("30 100") {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(screen.contains("30 100"), "{screen}");
    t.send(&["exit 5", "Enter"]);
    t.wait_for("RUN-EXIT=5");
    drop(t);

    assert!(ctd
        .ctr(&["task", "kill", "-s", "SIGKILL", "d1"])
        .status
        .success());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !text(&ctd.ctr(&["task", "ls"])).0.contains("STOPPED") {
        assert!(std::time::Instant::now() < deadline, "d1 never stopped");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(ctd.ctr(&["task", "rm", "d1"]).status.success());
    assert!(ctd.ctr(&["container", "rm", "d1"]).status.success());
    assert_eq!(text(&ctd.ctr(&["container", "ls", "-q"])).0, "");
    for h in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        assert!(
            !h.path().join(&ctd.ns).join("d1").exists(),
            "{}",
            h.path().display()
        );
    }
}

#[test]
fn podman_runs_containers_through_rdock_runtime() {
    let Some(pm) = common::podman::Podman::new() else {
        return;
    };
    let r = common::Rdock::with_busybox();
    let archive = r.dir.path().join("bb.tar");
    r.run(&["save", "-o", archive.to_str().unwrap(), "busybox"])
        .ok();
    pm.ok(&["load", "-i", archive.to_str().unwrap()]);
    let rt = runtime_bin();
    // podman passes no --root: the runtime's state goes in the test's
    // dir, given to every podman command that reaches the runtime.
    let flag = format!("root={}", pm.dir.path().join("rt-state").display());
    let g = ["--runtime-flag", flag.as_str()];
    let podman = |args: &[&str]| -> Output {
        let all: Vec<&str> = g.iter().chain(args).copied().collect();
        pm.cmd(&all).output().unwrap()
    };
    let ok = |args: &[&str]| -> String {
        let o = podman(args);
        assert!(o.status.success(), "{args:?}: {:?}", text(&o));
        text(&o).0
    };
    let shell = format!("{} --runtime-flag {flag}", pm.shell());
    // This host's hard RLIMIT_NOFILE is below podman's default.
    let limits = [
        "--ulimit",
        "nofile=1024:1024",
        "--ulimit",
        "nproc=4096:4096",
        "--network",
        "none",
    ];
    let run = |extra: &[&str]| -> Output {
        let mut args = vec!["run", "--runtime", rt];
        args.extend_from_slice(&limits);
        args.extend_from_slice(extra);
        podman(&args)
    };
    let o = run(&["--rm", "busybox", "sh", "-c", "echo hi $(id -u); exit 3"]);
    assert_eq!(text(&o).0, "hi 0\n", "{:?}", text(&o));
    assert_eq!(o.status.code(), Some(3));

    let o = run(&["-d", "--name", "pd1", "busybox", "sleep", "300"]);
    assert!(o.status.success(), "{:?}", text(&o));
    let o = podman(&["exec", "pd1", "sh", "-c", "echo exec; exit 2"]);
    assert_eq!(text(&o).0, "exec\n");
    assert_eq!(o.status.code(), Some(2));
    // run -it and exec -it: the terminal through conmon's console socket.
    let sock = pm.dir.path().join("tmux.sock");
    let line = format!("{} run -it --rm --runtime {rt} {}", shell, limits.join(" "));
    let t = Tmux::start(
        &sock,
        90,
        25,
        &format!("{line} busybox sh; echo RUN-EXIT=$?; sleep 60"),
    );
    t.wait_for("/ #");
    t.send(&["stty size; echo X$((7*8))Y", "Enter"]);
    let screen = t.wait_for("X56Y");
    assert!(screen.contains("25 90"), "{screen}");
    t.send(&["exit 4", "Enter"]);
    t.wait_for("RUN-EXIT=4");
    drop(t);
    let t = Tmux::start(
        &sock.with_file_name("tmux2.sock"),
        90,
        25,
        &format!("{shell} exec -it pd1 sh; echo EXEC-EXIT=$?; sleep 60"),
    );
    t.wait_for("/ #");
    t.send(&["tty; echo X$((6*7))Y", "Enter"]);
    let screen = t.wait_for("X42Y");
    assert!(screen.contains("/dev/pts/"), "{screen}");
    t.send(&["exit 3", "Enter"]);
    t.wait_for("EXEC-EXIT=3");
    drop(t);
    ok(&["pause", "pd1"]);
    assert_eq!(
        ok(&["inspect", "--format", "{{.State.Status}}", "pd1"]).trim(),
        "paused"
    );
    ok(&["unpause", "pd1"]);
    ok(&["kill", "pd1"]);
    assert_eq!(ok(&["wait", "pd1"]).trim(), "137");
    ok(&["rm", "pd1"]);
    assert_eq!(ok(&["ps", "-aq"]), "");
    // The runtime kept its state where podman told it to.
    assert!(pm.dir.path().join("rt-state").is_dir());
}

#[test]
fn a_time_namespace_with_offsets() {
    let b = Bundle::new(|c| {
        set_args(c, "cut -d. -f1 /proc/uptime; readlink /proc/self/ns/time");
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({"type": "time"}));
        c["linux"]["timeOffsets"] = serde_json::json!({"boottime": {"secs": 864000}});
    });
    let id = unique("time");
    let o = b.rt(&["run", &id]);
    assert!(o.status.success(), "{:?}", text(&o));
    let out = text(&o).0;
    let mut lines = out.lines();
    let uptime: u64 = lines.next().unwrap().parse().unwrap();
    let host: u64 = std::fs::read_to_string("/proc/uptime")
        .unwrap()
        .split('.')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    // Ten days ahead of the host's boot time, give or take the run.
    assert!(uptime >= host + 864000 - 5, "{uptime} vs {host}");
    let ns = lines.next().unwrap();
    assert_ne!(
        ns,
        std::fs::read_link("/proc/self/ns/time")
            .unwrap()
            .to_str()
            .unwrap()
    );
}

/// `create` killed mid-way (here while a prestart hook runs): the next
/// commands see a stopped container, and `delete` removes it all.
#[test]
fn a_killed_create_is_repaired_by_delete() {
    let b = Bundle::new(|c| {
        set_args(c, "true");
        c["hooks"] =
            serde_json::json!({"prestart": [{"path": "/bin/sleep", "args": ["sleep", "31.7"]}]});
    });
    let id = unique("killed");
    let mut child = Command::new(runtime_bin())
        .arg("--root")
        .arg(b.root())
        .args(["create", &id])
        .current_dir(b.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Until the hook runs: the container's cgroup exists by then.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while common::cgroups_of(&id).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "create never got to its hook"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let _ = Command::new("pkill")
        .args(["-x", "-f", "sleep 31.7"])
        .status();
    assert_eq!(b.status(&id), "stopped");
    // Killed even before that first record: its dir alone.
    let early = unique("early");
    std::fs::create_dir(b.root().join(&early)).unwrap();
    let o = b.rt(&["delete", &early]);
    assert!(o.status.success(), "{:?}", text(&o));
    assert!(!b.root().join(&early).exists());
    let o = b.rt(&["create", &id]);
    assert!(
        text(&o).1.contains("container with id exists"),
        "{:?}",
        text(&o)
    );
    let o = b.rt(&["delete", &id]);
    assert!(o.status.success(), "{:?}", text(&o));
    assert!(common::cgroups_of(&id).is_empty());
    assert_eq!(text(&b.rt(&["list", "-q"])).0, "");
}

/// `run` of a config with a terminal, and `exec -t`, without a console
/// socket: rdock-runtime keeps the terminal and pumps it, as runc does.
#[test]
fn run_and_exec_on_the_callers_terminal() {
    let b = Bundle::new(|c| {
        c["process"]["terminal"] = Value::Bool(true);
        set_args(c, "sh");
    });
    let id = unique("tty");
    let sock = b.path().join("tmux.sock");
    let rt = format!(
        "cd {} && {} --root {}",
        b.path().display(),
        runtime_bin(),
        b.root().display()
    );
    let t = Tmux::start(
        &sock,
        80,
        20,
        &format!("{rt} run {id}; echo RUN-EXIT=$?; sleep 60"),
    );
    t.wait_for("/ #");
    t.send(&["stty size; tty; echo X$((3*4))Y", "Enter"]);
    let screen = t.wait_for("X12Y");
    assert!(
        screen.contains("20 80") && screen.contains("/dev/pts/0"),
        "{screen}"
    );

    let t2 = Tmux::start(
        &sock.with_file_name("tmux2.sock"),
        70,
        15,
        &format!("{rt} exec -t {id} sh; echo EXEC-EXIT=$?; sleep 60"),
    );
    t2.wait_for("/ #");
    t2.send(&["stty size; tty; echo X$((4*5))Y", "Enter"]);
    let screen = t2.wait_for("X20Y");
    assert!(
        screen.contains("15 70") && screen.contains("/dev/pts/1"),
        "{screen}"
    );
    t2.send(&["exit 3", "Enter"]);
    t2.wait_for("EXEC-EXIT=3");
    drop(t2);

    t.send(&["exit 9", "Enter"]);
    t.wait_for("RUN-EXIT=9");
    drop(t);
    // `run` deleted it.
    assert_eq!(text(&b.rt(&["list", "-q"])).0, "");
}

/// A prestart hook past its timeout fails `create`, which leaves nothing.
#[test]
fn a_hook_past_its_timeout_fails_create() {
    let b = Bundle::new(|c| {
        set_args(c, "true");
        c["hooks"] = serde_json::json!({"prestart": [
            {"path": "/bin/sleep", "args": ["sleep", "5"], "timeout": 1}
        ]});
    });
    let id = unique("timeout");
    let started = std::time::Instant::now();
    let (ok, out) = b.rt_detached(&["create", &id]);
    assert!(!ok, "{out}");
    assert!(out.contains("timed out"), "{out}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "the hook was waited for"
    );
    let o = b.rt(&["state", &id]);
    assert!(
        text(&o).1.contains("container does not exist"),
        "{:?}",
        text(&o)
    );
    assert!(common::cgroups_of(&id).is_empty());
}
