//! ps, update, events, features, spec, and the refused checkpoint/restore.

use crate::runtime::oci::ops;
use crate::runtime::oci::state::{Entry, OCI_VERSION};
use crate::runtime::oci::OciError;
use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct PsArgs {
    /// select one of: table or json
    #[arg(long, short = 'f', default_value = "table")]
    pub format: String,
    pub id: String,
    /// options for ps (table format)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub ps_args: Vec<String>,
}

#[derive(Args, Debug)]
pub struct UpdateArgs {
    /// path to the file containing the resources to update or '-' to read from the standard input
    #[arg(long, short = 'r')]
    pub resources: Option<String>,
    pub id: String,
}

#[derive(Args, Debug)]
pub struct EventsArgs {
    /// display the container's stats then exit
    #[arg(long)]
    pub stats: bool,
    /// set the stats collection interval
    #[arg(long, default_value = "5s")]
    pub interval: String,
    pub id: String,
}

#[derive(Args, Debug)]
pub struct SpecArgs {
    /// path to the root of the bundle directory
    #[arg(long, short = 'b')]
    pub bundle: Option<PathBuf>,
    /// generate a configuration for a rootless container
    #[arg(long)]
    pub rootless: bool,
}

#[derive(Args, Debug)]
pub struct AnyArgs {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub rest: Vec<String>,
}

fn json_out<T: serde::Serialize>(v: &T) -> Result<(), OciError> {
    let text = serde_json::to_string(v).map_err(|e| OciError::Config(e.to_string()))?;
    println!("{text}");
    Ok(())
}

/// `ps`: the container's pids as JSON, or the host's `ps` table filtered
/// to them (as runc does).
pub fn ps(root: &Path, a: &PsArgs) -> Result<i32, OciError> {
    let pids = ops::pids(root, &a.id)?;
    if a.format == "json" {
        json_out(&pids)?;
        return Ok(0);
    }
    if a.format != "table" {
        return Err(OciError::Config(format!(
            "invalid format option {:?}",
            a.format
        )));
    }
    let out =
        crate::container::top::host_ps(&a.ps_args).map_err(|e| OciError::io("running ps", e))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let Some(header) = lines.next() else {
        return Ok(0);
    };
    let col = header
        .split_whitespace()
        .position(|h| h == "PID")
        .ok_or_else(|| OciError::Config("ps: no PID column in its output".into()))?;
    println!("{header}");
    for l in lines {
        let pid = l
            .split_whitespace()
            .nth(col)
            .and_then(|p| p.parse::<i32>().ok());
        if pid.is_some_and(|p| pids.contains(&p)) {
            println!("{l}");
        }
    }
    Ok(0)
}

pub fn update(root: &Path, a: &UpdateArgs) -> Result<i32, OciError> {
    let Some(src) = &a.resources else {
        return Err(OciError::Unsupported(
            "update: only --resources is supported by rdock-runtime".into(),
        ));
    };
    let text = if src == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .map_err(|e| OciError::io("reading stdin", e))?;
        s
    } else {
        std::fs::read_to_string(src).map_err(|e| OciError::io(format!("reading {src}"), e))?
    };
    let res: oci_spec::runtime::LinuxResources =
        serde_json::from_str(&text).map_err(|e| OciError::Config(format!("resources: {e}")))?;
    ops::update(root, &a.id, &res)?;
    Ok(0)
}

fn read_num(p: &Path) -> u64 {
    std::fs::read_to_string(p)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// `events --stats`: one stats event (runc's shape, the fields rdock
/// reads: pids, cpu usage, memory usage).
pub fn events(root: &Path, a: &EventsArgs) -> Result<i32, OciError> {
    if !a.stats {
        return Err(OciError::Unsupported(
            "events: only --stats is supported by rdock-runtime".into(),
        ));
    }
    let e = Entry::load(root, &a.id)?;
    let cg = e.cgroup();
    let (mut cpu, mut mem) = (0u64, 0u64);
    for d in &cg.dirs {
        cpu = cpu.max(read_num(&d.join("cpuacct.usage")));
        mem = mem
            .max(read_num(&d.join("memory.usage_in_bytes")))
            .max(read_num(&d.join("memory.current")));
        if let Ok(s) = std::fs::read_to_string(d.join("cpu.stat")) {
            if let Some(u) = s.lines().find_map(|l| l.strip_prefix("usage_usec ")) {
                cpu = cpu.max(u.trim().parse::<u64>().unwrap_or(0).saturating_mul(1000));
            }
        }
    }
    json_out(&serde_json::json!({
        "type": "stats",
        "id": a.id,
        "data": {
            "cpu": {"usage": {"total": cpu}},
            "memory": {"usage": {"usage": mem}},
            "pids": {"current": cg.pids().len()},
        }
    }))?;
    Ok(0)
}

pub fn features() -> Result<i32, OciError> {
    json_out(&crate::runtime::oci::lower::features())?;
    Ok(0)
}

/// `spec`: a starting config.json in the bundle (refuses to overwrite).
pub fn spec(a: &SpecArgs) -> Result<i32, OciError> {
    if a.rootless {
        return Err(OciError::Unsupported(
            "spec --rootless: rootless containers are not supported by rdock-runtime yet".into(),
        ));
    }
    let dir = a.bundle.clone().unwrap_or_else(|| PathBuf::from("."));
    let path = dir.join("config.json");
    if path.exists() {
        return Err(OciError::Config(
            "File config.json exists. Remove it first".into(),
        ));
    }
    let spec = crate::runtime::oci::lower::default_spec();
    let text = serde_json::to_string_pretty(&spec).map_err(|e| OciError::Config(e.to_string()))?;
    // runc's config.json is world-readable; the mode is ours, not the umask's.
    crate::util::write_mode(&path, text.as_bytes(), 0o644)
        .map_err(|e| OciError::io(format!("writing {}", path.display()), e))?;
    let _ = OCI_VERSION;
    Ok(0)
}
