//! `rdock version` and `rdock info`, in docker 28's shapes.
//!
//! rdock has no daemon: the "server" these commands describe is rdock's
//! own engine, the library in this binary. Its version is rdock's, and
//! it speaks docker 28's API semantics (1.50) only: there is no older API
//! to negotiate down to, so its minimum API version is 1.50 too
//! (docs/compatibility.md).

use crate::error::Result;
use crate::paths::Paths;
use clap::Args;
use serde_json::{json, Value};

/// The API version docker 28's client speaks, and the one rdock's engine
/// answers as (client and server are one program).
use crate::engine::{API_VERSION, SERVER_PLATFORM, VERSION};

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

pub fn version(_paths: &Paths, a: VersionArgs) -> Result<i32> {
    let v = json!({"Client": client_version(true), "Server": crate::engine::server_version()});
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
pub fn info(paths: &Paths, a: InfoArgs) -> Result<i32> {
    let mut v = crate::engine::info(paths)?;
    if let Some(o) = v.as_object_mut() {
        let mut client = serde_json::Map::new();
        client.insert("Debug".into(), super::client_debug().into());
        if let Value::Object(c) = client_version(false) {
            client.extend(c);
        }
        client.insert("Plugins".into(), json!([]));
        client.insert("Warnings".into(), Value::Null);
        o.insert("ClientInfo".into(), Value::Object(client));
    }
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
