//! The Kubernetes path of rdock-runtime: containerd's CRI plugin with a
//! runtime handler `rdock` (the runc shim, its `BinaryName` option naming
//! rdock-runtime), driven through the CRI v1 API as the kubelet drives a
//! pod whose RuntimeClass names that handler. The client is
//! tests/cri/client.py (Debian's python3-grpcio, python3-grpc-tools).

mod common;

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PAUSE: &str = "docker.io/rdkcri/pause:1";
const BUSYBOX: &str = "docker.io/rdkcri/busybox:1";
const PYTHON: &str = "/usr/bin/python3";

fn runtime_bin() -> &'static str {
    env!("CARGO_BIN_EXE_rdock-runtime")
}

/// Why the test cannot run here, if it cannot.
fn missing_tool() -> Option<String> {
    for tool in ["containerd", "ctr", "runc"] {
        if Command::new(tool).arg("--version").output().is_err() {
            return Some(format!("{tool} is not installed"));
        }
    }
    let grpc = Command::new(PYTHON)
        .args(["-c", "import grpc, grpc_tools"])
        .output();
    if !grpc.is_ok_and(|o| o.status.success()) {
        return Some("python3-grpcio and python3-grpc-tools are not installed".into());
    }
    None
}

/// A private containerd with its CRI plugin (own root, state, sockets,
/// CNI dirs; host network pods only), the handler `rdock` running
/// rdock-runtime and the default `runc` handler runc, each with its
/// runtime root in the temp dir. Dropped: every container, shim, mount
/// and cgroup it made is removed.
struct Cri {
    dir: tempfile::TempDir,
    child: std::process::Child,
    /// The pods' cgroup parent, under each hierarchy's root.
    cgroup_parent: String,
}

impl Cri {
    fn start() -> Cri {
        let dir = tempfile::Builder::new()
            .prefix("rdock-cri-")
            .tempdir()
            .unwrap();
        for d in ["cni-bin", "cni-conf", "logs"] {
            std::fs::create_dir(dir.path().join(d)).unwrap();
        }
        let cfg = config(dir.path(), runtime_bin());
        std::fs::write(dir.path().join("config.toml"), cfg).unwrap();
        let log = std::fs::File::create(dir.path().join("containerd.log")).unwrap();
        let child = Command::new("containerd")
            .arg("--config")
            .arg(dir.path().join("config.toml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let c = Cri {
            dir,
            child,
            cgroup_parent: format!("rdkcri{}", std::process::id()),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while c.call("Version", json!({})).is_err() {
            assert!(
                Instant::now() < deadline,
                "containerd's CRI did not start: {}",
                c.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        c
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn sock(&self) -> String {
        self.path().join("c.sock").display().to_string()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.path().join("containerd.log")).unwrap_or_default()
    }

    /// Where the runc shim keeps each handler's runtime state: its `Root`
    /// option and the namespace.
    fn state_root(&self, handler: &str) -> PathBuf {
        self.path().join(format!("{handler}-root")).join("k8s.io")
    }

    /// One CRI call: the response, or the gRPC error.
    fn call(&self, method: &str, req: Value) -> Result<Value, String> {
        let client = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cri/client.py");
        let o = Command::new(PYTHON)
            .arg(client)
            .arg(self.path().join("gen"))
            .arg(self.sock())
            .arg(method)
            .arg(req.to_string())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        if o.status.success() {
            Ok(serde_json::from_slice(&o.stdout).unwrap())
        } else {
            Err(String::from_utf8_lossy(&o.stderr).into_owned())
        }
    }

    #[track_caller]
    fn ok(&self, method: &str, req: Value) -> Value {
        match self.call(method, req) {
            Ok(v) => v,
            Err(e) => panic!("{method}: {e}\ncontainerd's log:\n{}", self.log()),
        }
    }

    /// A pod sandbox config as the kubelet sends it for a host-network pod
    /// (no hostname: the host's UTS namespace is kept); `pid` is "POD" for
    /// `shareProcessNamespace: true`, else "CONTAINER".
    fn pod_config(&self, name: &str, pid: &str) -> Value {
        let logs = self.path().join("logs").join(name);
        std::fs::create_dir_all(&logs).unwrap();
        json!({
            "metadata": {"name": name, "namespace": "rdkcri", "uid": format!("uid-{name}"), "attempt": 0},
            "log_directory": logs,
            "linux": {
                "cgroup_parent": format!("/{}/{name}", self.cgroup_parent),
                "security_context": {
                    "namespace_options": {"network": "NODE", "pid": pid, "ipc": "POD"}
                }
            }
        })
    }

    /// The runtime's `state` of a container, from the handler's root.
    fn rt_state(&self, id: &str) -> Option<Value> {
        let o = Command::new(runtime_bin())
            .arg("--root")
            .arg(self.state_root("rdock"))
            .args(["state", id])
            .output()
            .unwrap();
        o.status
            .success()
            .then(|| serde_json::from_slice(&o.stdout).unwrap())
    }

    /// The record the runtime binary wrote for a container: rdock-runtime's
    /// state.json has `pid_start`, runc's `init_process_pid`.
    fn record(&self, handler: &str, id: &str) -> Option<Value> {
        let f = self.state_root(handler).join(id).join("state.json");
        let text = std::fs::read(f).ok()?;
        Some(serde_json::from_slice(&text).unwrap())
    }

    /// The shims this containerd started: pid and command line.
    fn shims(&self) -> Vec<(i32, Vec<String>)> {
        let needle = self.sock();
        let mut out = Vec::new();
        for e in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            let Ok(raw) = std::fs::read(e.path().join("cmdline")) else {
                continue;
            };
            let args: Vec<String> = raw
                .split(|b| *b == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            if args
                .windows(2)
                .any(|w| w[0] == "-address" && w[1] == needle)
            {
                out.push((pid, args));
            }
        }
        out
    }
}

/// containerd's config: the CRI stanza of docs/kubernetes.md for the
/// `rdock` handler, everything else private to `d`.
fn config(d: &Path, runtime: &str) -> String {
    let d = d.display();
    format!(
        r#"version = 2
root = "{d}/root"
state = "{d}/state"
[grpc]
  address = "{d}/c.sock"
[ttrpc]
  address = "{d}/c.sock.ttrpc"
[debug]
  address = "{d}/debug.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "{d}/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{PAUSE}"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  disable_apparmor = true
  # Sandboxes get oom_score_adj -998, which needs CAP_SYS_RESOURCE: this
  # host's bounding set lacks it (runc fails the same way).
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{d}/cni-bin"
    conf_dir = "{d}/cni-conf"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        Root = "{d}/runc-root"
        SystemdCgroup = false
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.rdock]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.rdock.options]
        BinaryName = "{runtime}"
        Root = "{d}/rdock-root"
        SystemdCgroup = false
"#
    )
}

/// The shim's socket (containerd 1.6: /run/containerd/s/ + the sha256 of
/// address/namespace/id), which a killed shim leaves behind.
fn shim_socket(args: &[String]) -> Option<PathBuf> {
    use sha2::Digest;
    let arg = |name: &str| args.windows(2).find(|w| w[0] == name).map(|w| w[1].clone());
    let key = format!(
        "{}/{}/{}",
        arg("-address")?,
        arg("-namespace")?,
        arg("-id")?
    );
    let hex: String = sha2::Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Some(Path::new("/run/containerd/s").join(hex))
}

impl Drop for Cri {
    fn drop(&mut self) {
        // Containers a failed test left: through each runtime's state.
        for (bin, handler) in [(runtime_bin(), "rdock"), ("runc", "runc")] {
            common::delete_runtime_containers(bin, &self.state_root(handler));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        for (pid, args) in self.shims() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
            if let Some(s) = shim_socket(&args) {
                let _ = std::fs::remove_file(s);
            }
        }
        let mut mounts = common::mounts_mentioning(&self.path().display().to_string());
        mounts.reverse();
        for line in mounts {
            if let Some(m) = line.split_whitespace().nth(4) {
                let _ = nix::mount::umount2(m, nix::mount::MntFlags::MNT_DETACH);
            }
        }
        // Whatever still runs in the pods' cgroups (a runtime that lost
        // track of its container): killed, then the cgroups removed.
        let trees: Vec<PathBuf> = std::fs::read_dir("/sys/fs/cgroup")
            .into_iter()
            .flatten()
            .flatten()
            .map(|h| h.path().join(&self.cgroup_parent))
            .filter(|t| t.is_dir())
            .collect();
        let deadline = Instant::now() + Duration::from_secs(10);
        while trees.iter().any(|t| kill_cgroup_tree(t)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        for t in &trees {
            remove_cgroup_tree(t);
        }
    }
}

/// SIGKILL every process in a cgroup tree; whether there was any.
fn kill_cgroup_tree(dir: &Path) -> bool {
    let mut any = false;
    let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
    for pid in procs.lines().filter_map(|p| p.parse().ok()) {
        any = true;
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            any |= kill_cgroup_tree(&e.path());
        }
    }
    any
}

/// rmdir a cgroup and its children, deepest first.
fn remove_cgroup_tree(dir: &Path) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            remove_cgroup_tree(&e.path());
        }
    }
    let _ = std::fs::remove_dir(dir);
}

/// busybox and a pause image (busybox sleeping forever), saved by rdock
/// into one archive and imported into the CRI's namespace.
fn import_images(cri: &Cri) {
    let r = common::Rdock::new();
    let rootfs = r.dir.path().join("rootfs.tar");
    // With its dangling /etc/resolv.conf symlink, which the CRI binds the
    // pod's resolv.conf through.
    std::fs::write(&rootfs, common::busybox_tar()).unwrap();
    let rootfs = rootfs.to_str().unwrap();
    for (entry, name) in [
        (r#"CMD ["sh"]"#, BUSYBOX),
        (r#"ENTRYPOINT ["sleep", "2147483647"]"#, PAUSE),
    ] {
        r.run(&["import", "-c", "ENV PATH=/bin", "-c", entry, rootfs, name])
            .ok();
    }
    let archive = r.dir.path().join("images.tar");
    r.run(&["save", "-o", archive.to_str().unwrap(), BUSYBOX, PAUSE])
        .ok();
    let o = Command::new("ctr")
        .args(["-a", &cri.sock(), "-n", "k8s.io", "images", "import"])
        .arg(&archive)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(o.status.success(), "{o:?}");
}

fn str_of<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    path.iter()
        .fold(v, |v, k| &v[*k])
        .as_str()
        .unwrap_or_default()
}

fn b64(v: &Value) -> String {
    use base64::Engine;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(v.as_str().unwrap_or_default())
        .unwrap();
    String::from_utf8(raw).unwrap()
}

#[track_caller]
fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !f() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn ns_of(pid: &str, ns: &str) -> PathBuf {
    std::fs::read_link(format!("/proc/{pid}/ns/{ns}")).unwrap()
}

#[test]
fn a_pod_through_the_cri_runs_on_rdock_runtime() {
    if let Some(why) = missing_tool() {
        eprintln!("{why}: skipping");
        return;
    }
    let cri = Cri::start();
    import_images(&cri);
    let v = cri.ok("Version", json!({}));
    assert_eq!(v["runtime_api_version"], "v1", "{v}");

    // The pod: RuntimeClass `rdock`, one process namespace.
    let pod = cri.pod_config("p1", "POD");
    let (sb, shim_sock) = rdock_sandbox(&cri, &pod);
    container_lifecycle(&cri, &sb, &pod);
    default_handler_pod(&cri);

    cri.ok("StopPodSandbox", json!({"pod_sandbox_id": sb}));
    assert!(cri.rt_state(&sb).is_none());
    cri.ok("RemovePodSandbox", json!({"pod_sandbox_id": sb}));
    let pods = cri.ok("ListPodSandbox", json!({}));
    assert_eq!(pods["items"], json!([]), "{pods}");

    // Nothing left running or mounted; the shims gone with their sockets.
    wait_until("the shims outlived their pods", || cri.shims().is_empty());
    assert!(!shim_sock.exists());
    assert_eq!(
        common::mounts_mentioning(&cri.path().display().to_string()),
        Vec::<String>::new()
    );
}

/// RunPodSandbox with the `rdock` handler: the sandbox (its id) runs on
/// rdock-runtime, in a shim of its own (its socket).
fn rdock_sandbox(cri: &Cri, pod: &Value) -> (String, PathBuf) {
    let sb = cri.ok(
        "RunPodSandbox",
        json!({"config": pod, "runtime_handler": "rdock"}),
    );
    let sb = str_of(&sb, &["pod_sandbox_id"]).to_string();
    let st = cri.ok("PodSandboxStatus", json!({"pod_sandbox_id": sb}));
    assert_eq!(str_of(&st, &["status", "state"]), "SANDBOX_READY", "{st}");
    assert_eq!(str_of(&st, &["status", "runtime_handler"]), "rdock");
    // rdock-runtime made it: its record, in the handler's root.
    let rec = cri.record("rdock", &sb).expect("no record in rdock's root");
    assert!(rec.get("pid_start").is_some(), "not rdock-runtime's: {rec}");
    let sb_state = cri.rt_state(&sb).unwrap();
    assert_eq!(sb_state["status"], "running", "{sb_state}");
    // One shim for the pod; its socket where the cleanup looks for it.
    let shims = cri.shims();
    assert_eq!(shims.len(), 1, "{shims:?}");
    let sock = shim_socket(&shims[0].1).unwrap();
    assert!(sock.exists(), "{}", sock.display());
    (sb, sock)
}

/// A container in the pod, from creation to removal, as the kubelet
/// drives it.
fn container_lifecycle(cri: &Cri, sb: &str, pod: &Value) {
    let sb_state = cri.rt_state(sb).unwrap();

    let cmd = "trap 'echo got TERM; exit 0' TERM; echo hello from rdock; sleep 300 & wait";
    let ct = cri.ok(
        "CreateContainer",
        json!({
            "pod_sandbox_id": sb,
            "config": {
                "metadata": {"name": "c1", "attempt": 0},
                "image": {"image": BUSYBOX},
                "command": ["/bin/sh", "-c", cmd],
                "log_path": "c1.log",
                "linux": {"security_context": {"namespace_options":
                    {"network": "NODE", "pid": "POD", "ipc": "POD"}}}
            },
            "sandbox_config": pod,
        }),
    );
    let id = str_of(&ct, &["container_id"]).to_string();
    cri.ok("StartContainer", json!({"container_id": id}));
    let st = cri.ok("ContainerStatus", json!({"container_id": id}));
    assert_eq!(
        str_of(&st, &["status", "state"]),
        "CONTAINER_RUNNING",
        "{st}"
    );
    let log_path = PathBuf::from(str_of(&st, &["status", "log_path"]));
    assert_eq!(log_path, cri.path().join("logs/p1/c1.log"));
    let state = cri.rt_state(&id).unwrap();
    assert_eq!(state["status"], "running", "{state}");
    assert!(cri
        .record("rdock", &id)
        .is_some_and(|r| r.get("pid_start").is_some()));

    // The pod's namespaces, its cgroup.
    let (pid, sb_pid) = (state["pid"].to_string(), sb_state["pid"].to_string());
    assert_eq!(ns_of(&pid, "ipc"), ns_of(&sb_pid, "ipc"));
    assert_eq!(ns_of(&pid, "net"), ns_of("self", "net"));
    assert_eq!(ns_of(&pid, "pid"), ns_of(&sb_pid, "pid"));
    let cg = format!("/{}/p1/{id}", cri.cgroup_parent);
    let cgroups = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    assert!(cgroups.contains(&format!(":memory:{cg}\n")), "{cgroups}");

    // The line it printed, in the CRI log format.
    wait_until("the log never had the line", || {
        std::fs::read_to_string(&log_path).is_ok_and(|l| l.contains(" stdout F hello from rdock\n"))
    });

    let r = cri.ok(
        "ExecSync",
        json!({"container_id": id, "timeout": 10,
               "cmd": ["/bin/sh", "-c", "echo out $(cat /proc/1/comm); echo err >&2; exit 3"]}),
    );
    assert_eq!(r["exit_code"], 3, "{r}");
    // The pod's pid 1 is the sandbox's pause.
    assert_eq!(b64(&r["stdout"]), "out sleep\n");
    assert_eq!(b64(&r["stderr"]), "err\n");

    // The kubelet's resource updates reach the cgroup (rdock-runtime update).
    cri.ok(
        "UpdateContainerResources",
        json!({"container_id": id, "linux": {"memory_limit_in_bytes": 67108864, "cpu_shares": 512}}),
    );
    let limit = format!("/sys/fs/cgroup/memory{cg}/memory.limit_in_bytes");
    assert_eq!(std::fs::read_to_string(limit).unwrap().trim(), "67108864");
    // The shim's stats come from the cgroup the runtime made.
    let stats = cri.ok("ContainerStats", json!({"container_id": id}));
    let mem = &stats["stats"]["memory"];
    let num = |k: &str| str_of(mem, &[k, "value"]).parse::<u64>().unwrap();
    assert!(num("usage_bytes") > 0, "{stats}");
    assert_eq!(
        num("available_bytes") + num("working_set_bytes"),
        67108864,
        "{stats}"
    );

    // Stop: SIGTERM first, which the shell traps.
    cri.ok("StopContainer", json!({"container_id": id, "timeout": 10}));
    let st = cri.ok("ContainerStatus", json!({"container_id": id}));
    assert_eq!(
        str_of(&st, &["status", "state"]),
        "CONTAINER_EXITED",
        "{st}"
    );
    assert_eq!(st["status"]["exit_code"], 0, "{st}");
    assert!(std::fs::read_to_string(&log_path)
        .unwrap()
        .contains(" stdout F got TERM\n"));
    cri.ok("RemoveContainer", json!({"container_id": id}));
    assert!(cri.rt_state(&id).is_none());
    assert!(!Path::new(&format!("/sys/fs/cgroup/memory{cg}")).exists());
}

/// A pod without a RuntimeClass: the default handler, runc.
fn default_handler_pod(cri: &Cri) {
    let pod2 = cri.pod_config("p2", "CONTAINER");
    let sb2 = cri.ok("RunPodSandbox", json!({"config": pod2}));
    let sb2 = str_of(&sb2, &["pod_sandbox_id"]).to_string();
    let rec = cri.record("runc", &sb2).expect("no record in runc's root");
    assert!(rec.get("init_process_pid").is_some(), "not runc's: {rec}");
    assert!(cri.rt_state(&sb2).is_none());
    cri.ok("StopPodSandbox", json!({"pod_sandbox_id": sb2}));
    cri.ok("RemovePodSandbox", json!({"pod_sandbox_id": sb2}));
    assert!(cri.record("runc", &sb2).is_none());
}
