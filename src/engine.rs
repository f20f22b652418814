//! The engine's own description, as docker's daemon gives it: the
//! `version` and `info` documents, for `rdock version`/`info` and the API
//! service's `/version` and `/info`.
//!
//! rdock has no daemon: the "server" these describe is rdock's own engine,
//! the library in this binary. Its version is rdock's, and it speaks
//! docker 28's API semantics (1.50).

use crate::container::state::Status;
use crate::container::store::ContainerStore;
use crate::error::Result;
use crate::image::store::ImageStore;
use crate::paths::Paths;
use crate::runtime::cgroups::CgroupMode;
use serde_json::{json, Value};
use std::path::Path;

/// The API version docker 28's client speaks, and the one rdock's engine
/// answers as.
pub const API_VERSION: &str = "1.50";
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// What `version` prints after "Server:" where docker names its platform.
pub const SERVER_PLATFORM: &str = "rdock (no daemon: this binary is the engine)";

pub fn kernel() -> String {
    nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn machine() -> String {
    nix::sys::utsname::uname()
        .map(|u| u.machine().to_string_lossy().into_owned())
        .unwrap_or_else(|_| std::env::consts::ARCH.to_string())
}

/// The engine's part of docker's `version` document (`Server`).
pub fn server_version() -> Value {
    let arch = crate::image::config::host_arch();
    let kernel = kernel();
    json!({
            "Platform": {"Name": SERVER_PLATFORM},
            "Components": [{
                "Name": "Engine",
                "Version": VERSION,
                "Details": {
                    "ApiVersion": API_VERSION,
                    "Arch": arch,
                    "Experimental": "false",
                    "KernelVersion": kernel,
                    "MinAPIVersion": API_VERSION,
                    "Os": "linux",
                },
            }],
            "Version": VERSION,
            "ApiVersion": API_VERSION,
            "MinAPIVersion": API_VERSION,
            "GitCommit": "",
            "GoVersion": "",
            "Os": "linux",
            "Arch": arch,
            "KernelVersion": kernel,
    })
}

fn os_release() -> (String, String) {
    let text = std::fs::read_to_string("/etc/os-release")
        .or_else(|_| std::fs::read_to_string("/usr/lib/os-release"))
        .unwrap_or_default();
    let get = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .map(|v| v.trim().trim_matches('"').trim_matches('\'').to_string())
    };
    (
        get("PRETTY_NAME").unwrap_or_else(|| "Linux".into()),
        get("VERSION_ID").unwrap_or_default(),
    )
}

fn mem_total() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .unwrap_or(0)
        .saturating_mul(1024)
}

/// CPUs this process may run on (Go's runtime.NumCPU, as docker counts).
fn ncpu() -> usize {
    match nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0)) {
        Ok(set) => (0..nix::sched::CpuSet::count())
            .filter(|&i| set.is_set(i).unwrap_or(false))
            .count()
            .max(1),
        Err(_) => 1,
    }
}

/// The store's ID, as docker 23+'s engine-id: a UUID made on first use
/// and kept in the root. Empty when it can be neither read nor made.
fn engine_id(paths: &Paths) -> String {
    let file = paths.root.join("engine-id");
    let read = || {
        std::fs::read_to_string(&file)
            .map(|s| s.trim().to_string())
            .ok()
            .filter(|s| !s.is_empty())
    };
    if let Some(id) = read() {
        return id;
    }
    let h = crate::util::random_hex(16);
    let b = h.as_bytes();
    let part = |r: std::ops::Range<usize>| String::from_utf8_lossy(b.get(r).unwrap_or_default());
    // Version 4, variant 10xx: a random UUID.
    let variant = match b.get(16) {
        Some(c) => match c % 4 {
            0 => '8',
            1 => '9',
            2 => 'a',
            _ => 'b',
        },
        None => '8',
    };
    let id = format!(
        "{}-{}-4{}-{variant}{}-{}",
        part(0..8),
        part(8..12),
        part(13..16),
        part(17..20),
        part(20..32)
    );
    // An empty file (an older rdock killed between create and write) is
    // no ID: it makes way.
    if std::fs::metadata(&file).is_ok_and(|m| m.len() == 0) {
        let _ = std::fs::remove_file(&file);
    }
    // Of two first `info`s one writes it and both print it; 0600, as every
    // file of the store (docs/security.md).
    match crate::util::write_once(&file, id.as_bytes()) {
        Ok(false) => read().unwrap_or(id),
        _ => id,
    }
}

/// docker's name for the filesystem under the root ("Backing Filesystem").
fn backing_fs(root: &Path) -> &'static str {
    let Ok(s) = nix::sys::statfs::statfs(root) else {
        return "<unknown>";
    };
    // The magic numbers docker's fsutils knows, for the common ones.
    #[allow(clippy::unnecessary_cast)]
    match s.filesystem_type().0 as i64 {
        0xEF53 => "extfs",
        0x58465342 => "xfs",
        0x9123683E => "btrfs",
        0x01021994 => "tmpfs",
        0x794c7630 => "overlayfs",
        0x2fc12fc1 => "zfs",
        0x6969 => "nfs",
        0xF2F52010 => "f2fs",
        0x65735546 => "fuse",
        _ => "<unknown>",
    }
}

/// What the host's cgroups let rdock limit, as docker's sysinfo finds it.
struct Limits {
    memory: bool,
    swap: bool,
    kmem_tcp: bool,
    cfs_period: bool,
    cfs_quota: bool,
    shares: bool,
    cpuset: bool,
    pids: bool,
    oom_kill_disable: bool,
}

fn limits(mode: CgroupMode) -> Limits {
    let v1 = |p: &str| Path::new("/sys/fs/cgroup").join(p).exists();
    if matches!(mode, CgroupMode::Unified) {
        let ctl = std::fs::read_to_string("/sys/fs/cgroup/cgroup.controllers").unwrap_or_default();
        let has = |c: &str| ctl.split_whitespace().any(|x| x == c);
        return Limits {
            memory: has("memory"),
            swap: has("memory"),
            kmem_tcp: false,
            cfs_period: has("cpu"),
            cfs_quota: has("cpu"),
            shares: has("cpu"),
            cpuset: has("cpuset"),
            pids: has("pids"),
            oom_kill_disable: false,
        };
    }
    Limits {
        memory: v1("memory/memory.limit_in_bytes"),
        swap: v1("memory/memory.memsw.limit_in_bytes"),
        kmem_tcp: v1("memory/memory.kmem.tcp.limit_in_bytes"),
        cfs_period: v1("cpu/cpu.cfs_period_us"),
        cfs_quota: v1("cpu/cpu.cfs_quota_us"),
        shares: v1("cpu/cpu.shares"),
        cpuset: v1("cpuset/cpuset.cpus"),
        // The hierarchy's root has no pids.max: mounted is enough.
        pids: v1("pids/cgroup.procs"),
        oom_kill_disable: v1("memory/memory.oom_control"),
    }
}

/// docker's warnings for what the host cannot do.
fn warnings(l: &Limits, forwarding: bool) -> Vec<String> {
    let mut w = Vec::new();
    let checks = [
        (l.memory, "WARNING: No memory limit support"),
        (l.swap, "WARNING: No swap limit support"),
        (l.cfs_quota, "WARNING: No cpu cfs quota support"),
        (l.cfs_period, "WARNING: No cpu cfs period support"),
        (l.shares, "WARNING: No cpu shares support"),
        (l.cpuset, "WARNING: No cpuset support"),
        (forwarding, "WARNING: IPv4 forwarding is disabled"),
    ];
    for (ok, msg) in checks {
        if !ok {
            w.push(msg.to_string());
        }
    }
    w
}

/// docker's SecurityOptions: the seccomp profile containers get (rdock's
/// built-in one, docker's default), user-namespace remapping when
/// configured, rootless when not root, cgroupns when private by default.
fn security_options(mode: CgroupMode) -> Vec<String> {
    let mut o = vec!["name=seccomp,profile=builtin".to_string()];
    if !nix::unistd::geteuid().is_root() {
        o.push("name=rootless".into());
    }
    if matches!(mode, CgroupMode::Unified) {
        o.push("name=cgroupns".into());
    }
    if crate::runtime::userns::configured()
        .ok()
        .flatten()
        .is_some()
    {
        o.push("name=userns".into());
    }
    o
}

/// The registry settings as docker's RegistryConfig (its field order).
fn registry_config() -> Value {
    let s = crate::image::registry::settings::Settings::load().unwrap_or_default();
    let mut index = serde_json::Map::new();
    index.insert(
        "docker.io".into(),
        json!({"Mirrors": s.mirrors, "Name": "docker.io", "Official": true, "Secure": true}),
    );
    let mut cidrs = vec!["::1/128".to_string(), "127.0.0.0/8".to_string()];
    for r in &s.insecure {
        if r.contains('/') {
            cidrs.push(r.clone());
        } else {
            index.insert(
                r.clone(),
                json!({"Mirrors": [], "Name": r, "Official": false, "Secure": false}),
            );
        }
    }
    // The engine's own list: null when there is none (a nil slice).
    let mirrors = (!s.mirrors.is_empty()).then_some(&s.mirrors);
    json!({"IndexConfigs": index, "InsecureRegistryCIDRs": cidrs, "Mirrors": mirrors})
}

/// The proxy the registry client would use, as docker shows its daemon's
/// (credentials masked).
fn proxy(upper: &str) -> String {
    let v = std::env::var(upper)
        .or_else(|_| std::env::var(upper.to_ascii_lowercase()))
        .unwrap_or_default();
    match (v.split_once("://"), v.rsplit_once('@')) {
        (Some((scheme, rest)), Some((_, host))) if rest.contains('@') => {
            format!("{scheme}://xxxxx:xxxxx@{host}")
        }
        _ => v,
    }
}

fn count_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

fn threads() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("Threads:"))
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(1)
}

/// Go's time.Now().Format(RFC3339Nano) in local time.
fn system_time() -> String {
    let t = chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    match t.split_once('.') {
        Some((secs, frac)) => {
            let cut = frac
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(frac.len());
            let (digits, zone) = frac.split_at(cut);
            let digits = digits.trim_end_matches('0');
            if digits.is_empty() {
                format!("{secs}{zone}")
            } else {
                format!("{secs}.{digits}{zone}")
            }
        }
        None => t,
    }
}

/// daemon.json's `default-address-pools`, as docker's info shows them.
fn address_pools() -> Vec<Value> {
    crate::util::daemon_json()
        .ok()
        .and_then(|j| j.get("default-address-pools"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| json!({"Base": p.get("base").cloned().unwrap_or_default(), "Size": p.get("size").cloned().unwrap_or_default()}))
        .collect()
}

/// docker's `info` document (system.Info and the CLI's ClientInfo), in
/// its key order, with what is true of rdock.
pub fn info(paths: &Paths) -> Result<Value> {
    let list = ContainerStore::new(paths).list();
    let paused = list.iter().filter(|c| c.state.is_paused()).count();
    let running = list
        .iter()
        .filter(|c| c.state.status == Status::Running)
        .count();
    let images = ImageStore::new(paths).index()?.images.len();
    let mode = CgroupMode::detect();
    let l = limits(mode);
    let forwarding =
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").is_ok_and(|s| s.trim() == "1");
    let (os, os_version) = os_release();
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "rdock".into());
    let warnings = warnings(&l, forwarding);
    let pools = address_pools();
    let mut v = json!({
        "ID": engine_id(paths),
        "Containers": list.len(),
        "ContainersRunning": running.saturating_sub(paused),
        "ContainersPaused": paused,
        "ContainersStopped": list.len().saturating_sub(running),
        "Images": images,
        "Driver": "overlay",
        "DriverStatus": [
            ["Backing Filesystem", backing_fs(&paths.root)],
            ["Supports d_type", "true"],
            ["Using metacopy", "false"],
            ["Native Overlay Diff", "true"],
            ["userxattr", "false"],
        ],
        "Plugins": {
            "Volume": ["local"],
            "Network": ["bridge", "host", "null"],
            "Authorization": null,
            "Log": ["json-file"],
        },
        "MemoryLimit": l.memory,
        "SwapLimit": l.swap,
        "KernelMemoryTCP": l.kmem_tcp,
        "CpuCfsPeriod": l.cfs_period,
        "CpuCfsQuota": l.cfs_quota,
        "CPUShares": l.shares,
        "CPUSet": l.cpuset,
        "PidsLimit": l.pids,
        "IPv4Forwarding": forwarding,
        "Debug": false,
        "NFd": count_fds(),
        "OomKillDisable": l.oom_kill_disable,
        // No goroutines: the threads of the one process that is the engine.
        "NGoroutines": threads(),
        "SystemTime": system_time(),
        "LoggingDriver": "json-file",
        "CgroupDriver": "cgroupfs",
        "CgroupVersion": mode.version(),
        "NEventsListener": 0,
        "KernelVersion": kernel(),
        "OperatingSystem": os,
        "OSVersion": os_version,
        "OSType": "linux",
        "Architecture": machine(),
        "IndexServerAddress": "https://index.docker.io/v1/",
        "RegistryConfig": registry_config(),
        "NCPU": ncpu(),
        "MemTotal": mem_total(),
        "GenericResources": null,
        "DockerRootDir": paths.root,
        "HttpProxy": proxy("HTTP_PROXY"),
        "HttpsProxy": proxy("HTTPS_PROXY"),
        "NoProxy": proxy("NO_PROXY"),
        "Name": nix::unistd::gethostname().map(|h| h.to_string_lossy().into_owned()).unwrap_or_default(),
        "Labels": [],
        "ExperimentalBuild": false,
        "ServerVersion": VERSION,
        // rdock is its own runtime: docker's runtime names reach it.
        "Runtimes": {
            "io.containerd.runc.v2": {"path": exe},
            "runc": {"path": exe},
        },
        "DefaultRuntime": "runc",
        "Swarm": {
            "NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive",
            "ControlAvailable": false, "Error": "", "RemoteManagers": null,
        },
        // Containers never depend on a daemon that could stop.
        "LiveRestoreEnabled": true,
        "Isolation": "",
        // The container init (`--init`) is built in, as is the runtime:
        // no containerd, runc or docker-init to name.
        "InitBinary": "",
        "ContainerdCommit": {"ID": ""},
        "RuncCommit": {"ID": ""},
        "InitCommit": {"ID": ""},
        "SecurityOptions": security_options(mode),
        "DefaultAddressPools": pools,
        "FirewallBackend": {"Driver": "nftables"},
        "CDISpecDirs": null,
        "Warnings": if warnings.is_empty() { Value::Null } else { json!(warnings) },
        "ClientInfo": {},
    });
    if let Some(o) = v.as_object_mut() {
        // omitempty in docker's types.
        for (key, empty) in [
            ("KernelMemoryTCP", !l.kmem_tcp),
            ("DefaultAddressPools", pools.is_empty()),
        ] {
            if empty {
                o.shift_remove(key);
            }
        }
    }
    Ok(v)
}
