//! `rdock ps` / `container ls`.

use super::format::{self, render_rows};
use crate::container::store::{Container, ContainerStore};
use crate::error::{Error, Result};
use crate::image::store::ImageStore;
use crate::paths::Paths;
use chrono::{DateTime, Utc};
use clap::Args;
use serde_json::json;

#[derive(Debug, Args)]
pub struct PsArgs {
    /// Show all containers (default shows just running)
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Filter output based on conditions provided
    #[arg(short = 'f', long)]
    pub filter: Vec<String>,
    /// Format output using a custom template
    #[arg(long)]
    pub format: Option<String>,
    /// Show n last created containers (includes all states)
    #[arg(short = 'n', long = "last", default_value_t = -1, allow_negative_numbers = true)]
    pub last: i64,
    /// Show the latest created container (includes all states)
    #[arg(short = 'l', long)]
    pub latest: bool,
    /// Don't truncate output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Only display container IDs
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Display total file sizes
    #[arg(short = 's', long)]
    pub size: bool,
}

const DEFAULT_TABLE: &str =
    "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";
const HEADERS: &[(&str, &str)] = &[
    ("ID", "CONTAINER ID"),
    ("Image", "IMAGE"),
    ("Command", "COMMAND"),
    ("CreatedAt", "CREATED AT"),
    ("RunningFor", "CREATED"),
    ("Status", "STATUS"),
    ("Ports", "PORTS"),
    ("Names", "NAMES"),
    ("State", "STATE"),
    ("Size", "SIZE"),
    ("Labels", "LABELS"),
    ("Mounts", "MOUNTS"),
    ("Networks", "NETWORKS"),
];

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

struct Filters {
    status: Vec<String>,
    name: Vec<String>,
    id: Vec<String>,
    ancestor: Vec<String>,
    label: Vec<String>,
    health: Vec<String>,
}

fn parse_filters(raw: &[String]) -> Result<Filters> {
    let mut f = Filters {
        status: vec![],
        name: vec![],
        id: vec![],
        ancestor: vec![],
        label: vec![],
        health: vec![],
    };
    for r in raw {
        let (k, v) = r.split_once('=').ok_or_else(|| {
            Error::msg(format!("bad format of filter (expected name=value): {r}"))
        })?;
        let v = v.to_string();
        match k {
            "status" => {
                if !matches!(
                    v.as_str(),
                    "created"
                        | "restarting"
                        | "running"
                        | "removing"
                        | "paused"
                        | "exited"
                        | "dead"
                ) {
                    return Err(Error::msg(format!("invalid filter 'status={v}'")));
                }
                f.status.push(v)
            }
            "name" => f.name.push(v),
            "id" => f.id.push(v),
            "ancestor" => f.ancestor.push(v),
            "label" => f.label.push(v),
            "health" => {
                if !matches!(v.as_str(), "starting" | "healthy" | "unhealthy" | "none") {
                    return Err(Error::msg(format!(
                        "Unrecognised filter value for health: {v}"
                    )));
                }
                f.health.push(v)
            }
            _ => return Err(Error::msg(format!("invalid filter '{k}'"))),
        }
    }
    Ok(f)
}

fn matches(f: &Filters, c: &Container, ancestors: &[String]) -> bool {
    (f.status.is_empty() || f.status.iter().any(|s| s == c.state.display_status()))
        && (f.name.is_empty()
            || f.name
                .iter()
                .any(|n| c.config.name.contains(n.trim_start_matches('/'))))
        && (f.id.is_empty() || f.id.iter().any(|i| c.config.id.starts_with(i.as_str())))
        && (f.ancestor.is_empty() || ancestors.contains(&c.config.image_id))
        && (f.health.is_empty() || f.health.iter().any(|h| *h == health_status(c)))
        && f.label.iter().all(|l| match l.split_once('=') {
            Some((k, v)) => c.config.labels.get(k).map(|x| x == v).unwrap_or(false),
            None => c.config.labels.contains_key(l),
        })
}

/// The health filter's view: "none" without a check.
fn health_status(c: &Container) -> String {
    crate::container::inspect::health_of(c)
        .map(|h| h.status)
        .unwrap_or_else(|| "none".into())
}

/// docker's STATUS cell: the state, and the health while it runs.
fn status_cell(c: &Container, now: chrono::DateTime<Utc>) -> String {
    let text = format::status_text(
        c.state.display_status(),
        c.state.exit_code,
        c.state.started_at.as_deref().and_then(parse_time),
        c.state.finished_at.as_deref().and_then(parse_time),
        now,
    );
    if c.state.display_status() != "running" {
        return text;
    }
    match crate::container::inspect::health_of(c).map(|h| h.status) {
        Some(s) if s == crate::container::health::STARTING => format!("{text} (health: starting)"),
        Some(s) if !s.is_empty() => format!("{text} ({s})"),
        _ => text,
    }
}

/// docker's COMMAND cell: quoted, truncated to 20 characters with "…".
fn command_cell(c: &Container, no_trunc: bool) -> String {
    let mut cmd = c.config.path.clone();
    for a in &c.config.args {
        cmd.push(' ');
        cmd.push_str(a);
    }
    if !no_trunc && cmd.chars().count() > 20 {
        cmd = cmd.chars().take(19).collect::<String>() + "…";
    }
    format!("\"{cmd}\"")
}

pub fn run(paths: &Paths, a: PsArgs) -> Result<i32> {
    let f = parse_filters(&a.filter)?;
    let mut ancestors = Vec::new();
    if !f.ancestor.is_empty() {
        let idx = ImageStore::new(paths).index()?;
        for name in &f.ancestor {
            if let Ok(img) = idx.lookup(name) {
                ancestors.push(img.id.clone());
            }
        }
    }
    let all = a.all || a.latest || a.last > 0 || !f.status.is_empty();
    let mut list: Vec<Container> = ContainerStore::new(paths)
        .list()
        .into_iter()
        .filter(|c| all || c.state.status == crate::container::state::Status::Running)
        .collect();
    if a.latest {
        list.truncate(1);
    } else if a.last > 0 {
        list.truncate(a.last as usize);
    }
    list.retain(|c| matches(&f, c, &ancestors));

    if a.quiet {
        for c in &list {
            println!(
                "{}",
                if a.no_trunc {
                    &c.config.id
                } else {
                    c.short_id()
                }
            );
        }
        return Ok(0);
    }
    let now = Utc::now();
    let rows: Vec<serde_json::Value> = list
        .iter()
        .map(|c| {
            let created = parse_time(&c.config.created).unwrap_or(now);
            let labels: Vec<String> = c.config.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            json!({
                "ID": if a.no_trunc { c.config.id.clone() } else { c.short_id().to_string() },
                "Image": c.config.image,
                "Command": command_cell(c, a.no_trunc),
                "CreatedAt": created.format("%Y-%m-%d %H:%M:%S %z UTC").to_string(),
                "RunningFor": format::since(created, now),
                "Status": status_cell(c, now),
                "State": c.state.display_status(),
                "Ports": crate::container::network::ports_text(c),
                "Names": c.config.name,
                "Labels": labels.join(","),
                "Mounts": c.config.mounts.iter().map(|m| m.destination.display().to_string()).collect::<Vec<_>>().join(","),
                "Networks": crate::container::network::network_names(&c.config),
                "Size": "0B",
            })
        })
        .collect();
    let table = if a.size {
        format!("{DEFAULT_TABLE}\t{{{{.Size}}}}")
    } else {
        DEFAULT_TABLE.to_string()
    };
    print!(
        "{}",
        render_rows(a.format.as_deref(), &table, HEADERS, &rows)?
    );
    Ok(0)
}
