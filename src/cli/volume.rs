//! `volume create|ls|inspect|rm|prune`, as docker's local driver.

use super::format::{human_size, render_rows};
use crate::error::{Error, Result};
use crate::paths::Paths;
use crate::volume::{Volume, VolumeError, VolumeStore};
use clap::{Args, Subcommand};
use serde_json::{json, Value};
use std::collections::BTreeMap;

// Parsed once per process: the size of the largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum VolumeCommand {
    /// Create a volume
    Create(CreateArgs),
    /// List volumes
    #[command(alias = "list")]
    Ls(LsArgs),
    /// Display detailed information on one or more volumes
    Inspect(InspectArgs),
    /// Remove one or more volumes
    #[command(alias = "remove")]
    #[command(
        long_about = "Remove one or more volumes. You cannot remove a volume that is in use by a container."
    )]
    Rm(RmArgs),
    /// Remove unused local volumes
    Prune(PruneArgs),
    /// Update a volume (cluster volumes only)
    #[command(hide = true)]
    Update(UpdateArgs),
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Cluster Volume availability ("active", "pause", "drain") (default "active")
    #[arg(long, hide = true)]
    pub availability: Option<String>,
    pub volume: String,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    // docker hides the cluster volume flags before an engine that is no
    // swarm manager, as rdock never is.
    /// Cluster Volume availability ("active", "pause", "drain")
    #[arg(long, default_value = "active", hide = true)]
    pub availability: String,
    /// Specify volume driver name
    #[arg(short = 'd', long, default_value = "local")]
    pub driver: String,
    /// Cluster Volume group (cluster volumes)
    #[arg(long, hide = true)]
    pub group: Option<String>,
    /// Set metadata for a volume
    #[arg(long)]
    pub label: Vec<String>,
    /// Specify volume name
    #[arg(long = "name", hide = true)]
    pub name_flag: Option<String>,
    /// Set driver specific options
    #[arg(short = 'o', long, value_name = "map")]
    pub opt: Vec<String>,
    // Cluster volume options (swarm only): parsed, then refused.
    /// Minimum size of the Cluster Volume in bytes
    #[arg(long = "limit-bytes", value_name = "bytes", hide = true)]
    pub limit_bytes: Option<String>,
    /// Maximum size of the Cluster Volume in bytes
    #[arg(long = "required-bytes", value_name = "bytes", hide = true)]
    pub required_bytes: Option<String>,
    /// Cluster Volume access scope ("single", "multi") (default "single")
    #[arg(long, hide = true)]
    pub scope: Option<String>,
    /// Cluster Volume secrets
    #[arg(long, value_name = "map", hide = true)]
    pub secret: Vec<String>,
    /// Cluster Volume access sharing ("none", "readonly", "onewriter", "all") (default "none")
    #[arg(long, hide = true)]
    pub sharing: Option<String>,
    /// A topology that the Cluster Volume would be preferred in
    #[arg(long = "topology-preferred", hide = true)]
    pub topology_preferred: Vec<String>,
    /// A topology that the Cluster Volume must be accessible from
    #[arg(long = "topology-required", hide = true)]
    pub topology_required: Vec<String>,
    /// Cluster Volume access type ("mount", "block") (default "block")
    #[arg(long = "type", hide = true)]
    pub cluster_type: Option<String>,
    pub name: Option<String>,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    /// Display only cluster volumes, and use cluster volume list formatting
    #[arg(long, hide = true)]
    pub cluster: bool,
    /// Provide filter values (e.g. "dangling=true")
    #[arg(short = 'f', long, value_name = "filter")]
    pub filter: Vec<String>,
    #[arg(long, help = super::help::FORMAT_HELP)]
    pub format: Option<String>,
    /// Only display volume names
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    #[arg(short = 'f', long, help = super::help::INSPECT_FORMAT_HELP)]
    pub format: Option<String>,
    #[arg(required = true)]
    pub names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    /// Force the removal of one or more volumes
    #[arg(short = 'f', long)]
    pub force: bool,
    #[arg(required = true)]
    pub names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Remove all unused volumes, not just anonymous ones
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Provide filter values (e.g. "label=<label>")
    #[arg(long, value_name = "filter")]
    pub filter: Vec<String>,
    /// Do not prompt for confirmation
    #[arg(short = 'f', long)]
    pub force: bool,
}

pub fn run(paths: &Paths, cmd: VolumeCommand) -> Result<i32> {
    match cmd {
        VolumeCommand::Create(a) => create(paths, a),
        // Only cluster volumes can be updated, as in docker.
        VolumeCommand::Update(_) => Err(Error::msg(
            "cluster volumes need a swarm manager; rdock has no swarm mode",
        )),
        VolumeCommand::Ls(a) => ls(paths, a),
        VolumeCommand::Inspect(a) => inspect(paths, a),
        VolumeCommand::Rm(a) => rm(paths, a),
        VolumeCommand::Prune(a) => prune(paths, a),
    }
}

/// `k=v` pairs (a bare `k` is `k=`), as docker's opts take them.
fn key_values(items: &[String]) -> BTreeMap<String, String> {
    items
        .iter()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (kv.clone(), String::new()),
        })
        .collect()
}

fn create(paths: &Paths, a: CreateArgs) -> Result<i32> {
    let cluster = a.group.is_some()
        || a.availability != "active"
        || a.limit_bytes.is_some()
        || a.required_bytes.is_some()
        || a.scope.is_some()
        || !a.secret.is_empty()
        || a.sharing.is_some()
        || !a.topology_preferred.is_empty()
        || !a.topology_required.is_empty()
        || a.cluster_type.is_some();
    if cluster {
        return Err(Error::msg(
            "cluster volumes need a swarm manager; rdock has no swarm mode",
        ));
    }
    let name = match (&a.name, &a.name_flag) {
        (Some(p), Some(f)) if p != f => {
            return Err(Error::msg(
                "conflicting options: cannot specify a volume-name through both --name and as a positional arg",
            ))
        }
        (Some(n), _) | (None, Some(n)) => Some(n.as_str()),
        (None, None) => None,
    };
    for o in &a.opt {
        if !o.contains('=') {
            return Err(Error::msg(format!(
                "invalid argument \"{o}\" for \"-o, --opt\" flag: invalid key value pair format in driver options"
            )));
        }
    }
    let v = VolumeStore::new(paths)
        .create(name, &a.driver, key_values(&a.label), key_values(&a.opt))
        .map_err(|e| match e {
            // The engine names the volume it was asked for.
            VolumeError::Driver(_) => {
                Error::msg(format!("create {}: {e}", name.unwrap_or_default()))
            }
            e => e.into(),
        })?;
    println!("{}", v.name);
    Ok(0)
}

fn ls(paths: &Paths, a: LsArgs) -> Result<i32> {
    let f = crate::volume::select::Filters::parse(&a.filter)?;
    let list: Vec<Volume> = crate::volume::select::list(paths, &f);
    if a.quiet {
        for v in &list {
            println!("{}", v.name);
        }
        return Ok(0);
    }
    let rows: Vec<Value> = list
        .iter()
        .map(|v| {
            let labels: Vec<String> = v.labels.iter().map(|(k, x)| format!("{k}={x}")).collect();
            json!({
                "Name": v.name,
                "Driver": "local",
                "Scope": "local",
                "Mountpoint": v.mountpoint,
                "Labels": labels.join(","),
                super::format::LABELS_KEY: v.labels,
                "Links": "N/A",
                "Size": "N/A",
                "CreatedAt": v.created_at,
            })
        })
        .collect();
    print!(
        "{}",
        render_rows(
            a.format.as_deref(),
            "table {{.Driver}}\t{{.Name}}",
            &[
                ("Name", "VOLUME NAME"),
                ("Driver", "DRIVER"),
                ("Scope", "SCOPE"),
                ("Mountpoint", "MOUNTPOINT"),
                ("Labels", "LABELS"),
                ("Links", "LINKS"),
                ("Size", "SIZE"),
                ("CreatedAt", "CREATED AT"),
            ],
            "*formatter.volumeContext",
            &rows,
        )?
    );
    Ok(0)
}

fn inspect(paths: &Paths, a: InspectArgs) -> Result<i32> {
    let store = VolumeStore::new(paths);
    let mut values = Vec::new();
    let mut failed = false;
    for name in &a.names {
        match store.get(name) {
            Ok(v) => values.push(v.inspect()),
            Err(e) => {
                super::report_line(&Error::from(e));
                failed = true;
            }
        }
    }
    super::format::print_values(values, a.format.as_deref(), failed)
}

fn rm(paths: &Paths, a: RmArgs) -> Result<i32> {
    let store = VolumeStore::new(paths);
    let mut failed = false;
    for name in &a.names {
        match store.remove(name, a.force) {
            Ok(()) => println!("{name}"),
            // docker's -f: a volume that is not there is no error, and its
            // name is printed as removed.
            Err(VolumeError::NotFound(_)) if a.force => println!("{name}"),
            Err(e) => {
                super::report_line(&Error::from(e));
                failed = true;
            }
        }
    }
    Ok(if failed { 1 } else { 0 })
}

fn prune(paths: &Paths, a: PruneArgs) -> Result<i32> {
    let f = crate::volume::select::PruneFilters::parse(&a.filter, a.all)?;
    let question = if a.all {
        "WARNING! This will remove all local volumes not used by at least one container."
    } else {
        "WARNING! This will remove anonymous local volumes not used by at least one container."
    };
    if !super::prune::confirm(question, a.force) {
        return Ok(0);
    }
    let (text, size) = prune_volumes(paths, &f)?;
    print!("{text}");
    println!("Total reclaimed space: {}", human_size(size));
    Ok(0)
}

/// Remove unused volumes (anonymous ones only unless `all`): docker's
/// "Deleted Volumes:" section and the bytes freed.
pub(crate) fn prune_volumes(
    paths: &Paths,
    filter: &crate::volume::select::PruneFilters,
) -> Result<(String, u64)> {
    let pruned = crate::prune::volumes(paths, filter)?;
    let mut text = String::new();
    if !pruned.removed.is_empty() {
        text.push_str("Deleted Volumes:\n");
        for n in &pruned.removed {
            text.push_str(n);
            text.push('\n');
        }
        text.push('\n');
    }
    Ok((text, pruned.space))
}
