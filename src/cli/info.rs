//! `rdock version` and `rdock info`, in docker 28's shapes.
//!
//! rdock has no daemon: the "server" these commands describe is rdock's
//! own engine, the library in this binary. Its version is rdock's, and
//! it speaks docker 28's API semantics (1.50) only: there is no older API
//! to negotiate down to, so its minimum API version is 1.50 too
//! (docs/compatibility.md).

use crate::container::state::Status;
use crate::container::store::ContainerStore;
use crate::error::Result;
use crate::image::store::ImageStore;
use crate::paths::Paths;
use crate::runtime::cgroups::CgroupMode;
use clap::Args;
use serde_json::{json, Value};
use std::path::Path;

/// The API version docker 28's client speaks, and the one rdock's engine
/// answers as (client and server are one program).
pub const API_VERSION: &str = "1.50";
const VERSION: &str = env!("CARGO_PKG_VERSION");
/// What `version` prints after "Server:" where docker names its platform.
const SERVER_PLATFORM: &str = "rdock (no daemon: this binary is the engine)";

#[derive(Debug, Args)]
pub struct VersionArgs {
    #[arg(short = 'f', long, help = super::help::INSPECT_FORMAT_HELP)]
    pub format: Option<String>,
}

#[derive(Debug, Args)]
pub struct InfoArgs {
    #[arg(short = 'f', long, help = super::help::INSPECT_FORMAT_HELP)]
    pub format: Option<String>,
}

fn kernel() -> String {
    nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn machine() -> String {
    nix::sys::utsname::uname()
        .map(|u| u.machine().to_string_lossy().into_owned())
        .unwrap_or_else(|_| std::env::consts::ARCH.to_string())
}

/// The struct-valued fields of docker 28's `versionInfo` and their types.
const VERSION_STRUCTS: &[(&str, &str)] = &[
    ("Client", "system.clientVersion"),
    ("Server", "*types.Version"),
];

/// The struct-valued fields of docker 28's `dockerInfo` and their types.
const INFO_STRUCTS: &[(&str, &str)] = &[
    ("ClientInfo", "*system.clientInfo"),
    ("Plugins", "system.PluginsInfo"),
    ("RegistryConfig", "*registry.ServiceConfig"),
    ("Swarm", "swarm.Info"),
    ("ContainerdCommit", "system.Commit"),
    ("RuncCommit", "system.Commit"),
    ("InitCommit", "system.Commit"),
    ("FirewallBackend", "*system.FirewallInfo"),
];

/// Apply a user's template as docker's CLI does for `version`/`info`
/// (`name`: Go's template name, "version" or ""). A template that does not
/// parse exits 64; one that fails to execute prints an empty line and
/// exits 1; either way the error goes to stderr in Go's words.
fn print_template(
    name: &str,
    tmpl: &str,
    type_name: &str,
    structs: &'static [(&'static str, &'static str)],
    v: &Value,
) -> Result<i32> {
    use super::template::{Mode, Row, Template, TemplateError, Val};
    let named = |msg: String| {
        if name.is_empty() {
            msg
        } else {
            msg.replacen("template: :", &format!("template: {name}:"), 1)
                .replacen("executing \"\"", &format!("executing \"{name}\""), 1)
        }
    };
    let tmpl = if tmpl == "json" { "{{json .}}" } else { tmpl };
    let t = match Template::parse(tmpl) {
        Ok(t) => t,
        Err(TemplateError::Parse(m) | TemplateError::Exec(m)) => {
            eprintln!("template parsing error: {}", named(m));
            return Ok(64);
        }
    };
    // `{{json .}}`: the struct's fields in docker's order (the template's
    // `json` prints a Go map's keys sorted).
    if matches!(tmpl.trim(), "{{json .}}" | "{{ json . }}") {
        println!("{v}");
        return Ok(0);
    }
    let row = Row {
        type_name: type_name.to_string(),
        fields: v.as_object().cloned().unwrap_or_default(),
        labels: None,
        header: false,
        structs,
        plain: false,
    };
    // Go writes as it goes: what came before a failure shows.
    let (out, r) = t.execute_partial(&Val::Row(std::rc::Rc::new(row)), Mode::Row);
    println!("{out}");
    match r {
        Ok(()) => Ok(0),
        Err(TemplateError::Exec(m) | TemplateError::Parse(m)) => {
            eprintln!("{}", named(m));
            Ok(1)
        }
    }
}

/// docker's clientVersion (omitempty fields rdock has no value for left
/// out: it is not built by Go, and records no commit or build time).
fn client_version(api: bool) -> Value {
    let mut c = serde_json::Map::new();
    c.insert("Version".into(), VERSION.into());
    if api {
        c.insert("ApiVersion".into(), API_VERSION.into());
    }
    c.insert("DefaultAPIVersion".into(), API_VERSION.into());
    c.insert("Os".into(), "linux".into());
    c.insert("Arch".into(), crate::image::config::host_arch().into());
    c.insert("Context".into(), "default".into());
    Value::Object(c)
}

fn version_value() -> Value {
    let arch = crate::image::config::host_arch();
    let kernel = kernel();
    json!({
        "Client": client_version(true),
        "Server": {
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
        },
    })
}

pub fn version(_paths: &Paths, a: VersionArgs) -> Result<i32> {
    let v = version_value();
    if let Some(f) = a.format.as_deref().filter(|f| !f.is_empty()) {
        return print_template("version", f, "system.versionInfo", VERSION_STRUCTS, &v);
    }
    // docker's default template through a tabwriter (min width 20); the
    // lines for what a Go build records (Go version, commit, build time)
    // are left out: rdock has none of them.
    let arch = crate::image::config::host_arch();
    let line = |label: &str, value: &str| format!("{label:<20}{value}\n");
    let mut out = String::from("Client:\n");
    out.push_str(&line(" Version:", VERSION));
    out.push_str(&line(" API version:", API_VERSION));
    out.push_str(&line(" OS/Arch:", &format!("linux/{arch}")));
    out.push_str(&line(" Context:", "default"));
    out.push_str(&format!("\nServer: {SERVER_PLATFORM}\n Engine:\n"));
    out.push_str(&line("  Version:", VERSION));
    out.push_str(&line(
        "  API version:",
        &format!("{API_VERSION} (minimum version {API_VERSION})"),
    ));
    out.push_str(&line("  OS/Arch:", &format!("linux/{arch}")));
    out.push_str(&line("  Experimental:", "false"));
    print!("{out}");
    Ok(0)
}

/// NAME and VERSION_ID of /etc/os-release (PRETTY_NAME is what docker
/// shows as the operating system).
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
fn info_value(paths: &Paths) -> Result<Value> {
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
        let mut client = serde_json::Map::new();
        client.insert("Debug".into(), super::client_debug().into());
        if let Value::Object(c) = client_version(false) {
            client.extend(c);
        }
        client.insert("Plugins".into(), json!([]));
        client.insert("Warnings".into(), Value::Null);
        o.insert("ClientInfo".into(), Value::Object(client));
    }
    Ok(v)
}

pub fn info(paths: &Paths, a: InfoArgs) -> Result<i32> {
    let v = info_value(paths)?;
    if let Some(f) = a.format.as_deref().filter(|f| !f.is_empty()) {
        return print_template("", f, "system.dockerInfo", INFO_STRUCTS, &v);
    }
    print!("{}", info_text(&v));
    for w in v
        .get("Warnings")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        eprintln!("{}", w.as_str().unwrap_or_default());
    }
    Ok(0)
}

/// docker 28's `info` text (prettyPrintInfo) from the document.
fn info_text(v: &Value) -> String {
    let s = |k: &str| match v.get(k) {
        Some(Value::String(x)) => x.clone(),
        Some(Value::Null) | None => String::new(),
        Some(x) => x.to_string(),
    };
    let list = |x: Option<&Value>| -> Vec<String> {
        x.and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|e| {
                e.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| e.to_string())
            })
            .collect()
    };
    let mut o = String::from("Client:\n");
    o.push_str(&format!(
        " Version:    {VERSION}\n Context:    default\n Debug Mode: {}\n",
        super::client_debug()
    ));
    o.push_str("\nServer:\n");
    for (label, key) in [
        (" Containers:", "Containers"),
        ("  Running:", "ContainersRunning"),
        ("  Paused:", "ContainersPaused"),
        ("  Stopped:", "ContainersStopped"),
        (" Images:", "Images"),
        (" Server Version:", "ServerVersion"),
        (" Storage Driver:", "Driver"),
    ] {
        o.push_str(&format!("{label} {}\n", s(key)));
    }
    for pair in v
        .get("DriverStatus")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let p = list(Some(pair));
        o.push_str(&format!(
            "  {}: {}\n",
            p.first().map(String::as_str).unwrap_or_default(),
            p.get(1).map(String::as_str).unwrap_or_default()
        ));
    }
    for (label, key) in [
        (" Logging Driver:", "LoggingDriver"),
        (" Cgroup Driver:", "CgroupDriver"),
        (" Cgroup Version:", "CgroupVersion"),
    ] {
        o.push_str(&format!("{label} {}\n", s(key)));
    }
    let plugins = v.get("Plugins");
    o.push_str(" Plugins:\n");
    for (label, key) in [("Volume", "Volume"), ("Network", "Network"), ("Log", "Log")] {
        o.push_str(&format!(
            "  {label}: {}\n",
            list(plugins.and_then(|p| p.get(key))).join(" ")
        ));
    }
    o.push_str(" Swarm: inactive\n");
    let mut runtimes: Vec<&String> = v
        .get("Runtimes")
        .and_then(Value::as_object)
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    runtimes.sort();
    let runtimes: Vec<&str> = runtimes.into_iter().map(String::as_str).collect();
    o.push_str(&format!(" Runtimes: {}\n", runtimes.join(" ")));
    o.push_str(&format!(" Default Runtime: {}\n", s("DefaultRuntime")));
    o.push_str(&format!(" Init Binary: {}\n", s("InitBinary")));
    o.push_str(" containerd version: \n runc version: \n init version: \n");
    o.push_str(" Security Options:\n");
    for opt in list(v.get("SecurityOptions")) {
        let mut name = "";
        let mut profile = None;
        for kv in opt.split(',') {
            match kv.split_once('=') {
                Some(("name", n)) => name = n,
                Some(("profile", p)) => profile = Some(p),
                _ => {}
            }
        }
        o.push_str(&format!("  {name}\n"));
        if let Some(p) = profile {
            o.push_str(&format!("   Profile: {p}\n"));
        }
    }
    let mem = v.get("MemTotal").and_then(Value::as_u64).unwrap_or(0);
    for (label, value) in [
        (" Kernel Version:", s("KernelVersion")),
        (" Operating System:", s("OperatingSystem")),
        (" OSType:", s("OSType")),
        (" Architecture:", s("Architecture")),
        (" CPUs:", s("NCPU")),
        (" Total Memory:", super::format::bytes_size(mem)),
        (" Name:", s("Name")),
        (" ID:", s("ID")),
        (" Docker Root Dir:", s("DockerRootDir")),
        (" Debug Mode:", s("Debug")),
        (" HTTP Proxy:", s("HttpProxy")),
        (" HTTPS Proxy:", s("HttpsProxy")),
        (" No Proxy:", s("NoProxy")),
        (" Experimental:", s("ExperimentalBuild")),
    ] {
        // Go's fprintlnNonEmpty for the strings that may be empty.
        if !value.is_empty() {
            o.push_str(&format!("{label} {value}\n"));
        }
    }
    let reg = v.get("RegistryConfig");
    o.push_str(" Insecure Registries:\n");
    if let Some(idx) = reg
        .and_then(|r| r.get("IndexConfigs"))
        .and_then(Value::as_object)
    {
        for (name, c) in idx {
            if c.get("Secure") == Some(&Value::Bool(false)) {
                o.push_str(&format!("  {name}\n"));
            }
        }
    }
    for cidr in list(reg.and_then(|r| r.get("InsecureRegistryCIDRs"))) {
        o.push_str(&format!("  {cidr}\n"));
    }
    let mirrors = list(reg.and_then(|r| r.get("Mirrors")));
    if !mirrors.is_empty() {
        o.push_str(" Registry Mirrors:\n");
        for m in mirrors {
            o.push_str(&format!("  {m}\n"));
        }
    }
    o.push_str(&format!(
        " Live Restore Enabled: {}\n",
        s("LiveRestoreEnabled")
    ));
    if let Some(pools) = v.get("DefaultAddressPools").and_then(Value::as_array) {
        o.push_str(" Default Address Pools:\n");
        for p in pools {
            o.push_str(&format!(
                "   Base: {}, Size: {}\n",
                p.get("Base").and_then(Value::as_str).unwrap_or_default(),
                p.get("Size").cloned().unwrap_or_default()
            ));
        }
    }
    o.push('\n');
    o
}
