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
    #[arg(short = 'f', long, value_name = "filter")]
    pub filter: Vec<String>,
    #[arg(long, help = super::help::FORMAT_HELP)]
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

pub(super) fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

struct Filters {
    status: Vec<String>,
    /// Regexps docker matches against the name, with or without its "/";
    /// one that does not compile matches nothing.
    name: Vec<Option<regex_lite::Regex>>,
    id: Vec<String>,
    ancestor: Vec<String>,
    label: Vec<String>,
    health: Vec<String>,
    exited: Vec<i32>,
    before: Vec<String>,
    since: Vec<String>,
    volume: Vec<String>,
    network: Vec<String>,
    publish: Vec<PortFilter>,
    expose: Vec<PortFilter>,
    /// `is-task=true`: swarm tasks, of which rdock has none.
    tasks_only: bool,
}

/// `publish=`/`expose=`: a port or a range, and a protocol (tcp unless
/// given), as docker reads them.
#[derive(Debug, Clone, PartialEq)]
struct PortFilter {
    lo: u16,
    hi: u16,
    proto: String,
}

impl PortFilter {
    fn parse(key: &str, v: &str) -> Result<PortFilter> {
        let bad = || Error::msg(format!("invalid filter '{key}={v}'"));
        let (ports, proto) = v.split_once('/').unwrap_or((v, "tcp"));
        let (lo, hi) = match ports.split_once('-') {
            Some((a, b)) => (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?),
            None => {
                let p: u16 = ports.parse().map_err(|_| bad())?;
                (p, p)
            }
        };
        if lo > hi || !matches!(proto, "tcp" | "udp" | "sctp") {
            return Err(bad());
        }
        Ok(PortFilter {
            lo,
            hi,
            proto: proto.to_string(),
        })
    }

    fn covers(&self, port: u16, proto: &str) -> bool {
        (self.lo..=self.hi).contains(&port) && self.proto == proto
    }
}

fn parse_filters(raw: &[String]) -> Result<Filters> {
    let mut f = Filters {
        status: vec![],
        name: vec![],
        id: vec![],
        ancestor: vec![],
        label: vec![],
        health: vec![],
        exited: vec![],
        before: vec![],
        since: vec![],
        volume: vec![],
        network: vec![],
        publish: vec![],
        expose: vec![],
        tasks_only: false,
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
                    return Err(Error::msg(format!(
                        "invalid filter 'status={v}': invalid value for state ({v}): must be one of created, running, paused, restarting, removing, exited, dead"
                    )));
                }
                f.status.push(v)
            }
            "name" => f.name.push(regex_lite::Regex::new(&v).ok()),
            "id" => f.id.push(v),
            "ancestor" => f.ancestor.push(v),
            "label" => f.label.push(v),
            "health" => {
                if !matches!(v.as_str(), "starting" | "healthy" | "unhealthy" | "none") {
                    return Err(Error::msg(format!(
                        "invalid filter 'health={v}': invalid value for health ({v}): must be one of none, starting, healthy, unhealthy"
                    )));
                }
                f.health.push(v)
            }
            "exited" => f.exited.push(v.parse().map_err(|_| {
                Error::msg(format!(
                    "invalid filter 'exited={v}': strconv.Atoi: parsing {v:?}: invalid syntax"
                ))
            })?),
            "before" => f.before.push(v),
            "since" => f.since.push(v),
            "volume" => f.volume.push(v),
            "network" => f.network.push(v),
            "publish" => f.publish.push(PortFilter::parse(k, &v)?),
            "expose" => f.expose.push(PortFilter::parse(k, &v)?),
            "is-task" => match v.as_str() {
                "true" | "1" => f.tasks_only = true,
                "false" | "0" => {}
                _ => return Err(Error::msg(format!("invalid filter 'is-task=[{v}]'"))),
            },
            _ => return Err(Error::msg(format!("invalid filter '{k}'"))),
        }
    }
    Ok(f)
}

/// Creation bounds from `before=`/`since=` (containers named by name or
/// ID): only containers created strictly between them pass.
struct Bounds {
    before: Option<String>,
    since: Option<String>,
}

fn matches(f: &Filters, c: &Container, ancestors: &[String], bounds: &Bounds) -> bool {
    // docker's rule: publish= names a host (public) port, expose= a
    // container (private) one, of the ports a running container has; a
    // match of either passes.
    let ports_pass = f.publish.is_empty() && f.expose.is_empty()
        || crate::container::network::api_ports(c)
            .iter()
            .any(|(private, public, proto)| {
                f.publish
                    .iter()
                    .any(|pf| *public != 0 && pf.covers(*public, proto))
                    || f.expose.iter().any(|pf| pf.covers(*private, proto))
            });
    let networks = crate::container::network::network_names(&c.config);
    !f.tasks_only
        && (f.exited.is_empty()
            || (c.state.display_status() == "exited" && f.exited.contains(&c.state.exit_code)))
        && bounds.before.as_ref().is_none_or(|b| c.config.created < *b)
        && bounds.since.as_ref().is_none_or(|s| c.config.created > *s)
        && (f.volume.is_empty()
            || f.volume.iter().any(|v| {
                c.config
                    .mounts
                    .iter()
                    .any(|m| m.name == *v || m.destination == std::path::Path::new(v))
            }))
        && (f.network.is_empty()
            || f.network
                .iter()
                .any(|n| networks.split(',').any(|have| have == n)))
        && ports_pass
        && (f.status.is_empty() || f.status.iter().any(|s| s == c.state.display_status()))
        && (f.name.is_empty()
            || f.name
                .iter()
                .flatten()
                .any(|n| n.is_match(&c.config.name) || n.is_match(&format!("/{}", c.config.name))))
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
pub(super) fn status_cell(c: &Container, now: chrono::DateTime<Utc>) -> String {
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

/// docker's COMMAND cell: arguments with spaces in single quotes (as the
/// engine lists them), truncated to 20 characters with "…", then quoted
/// as Go's strconv.Quote does.
pub(super) fn command_cell(c: &Container, no_trunc: bool) -> String {
    let mut cmd = c.config.path.clone();
    for a in &c.config.args {
        cmd.push(' ');
        if a.contains(' ') {
            cmd.push_str(&format!("'{a}'"));
        } else {
            cmd.push_str(a);
        }
    }
    if !no_trunc && cmd.chars().count() > 20 {
        cmd = cmd.chars().take(19).collect::<String>() + "…";
    }
    go_quote(&cmd)
}

/// docker's MOUNTS cell: each volume's name (a bind's source), cut to 15
/// characters with "…" unless --no-trunc.
fn mounts_cell(c: &Container, no_trunc: bool) -> String {
    c.config
        .mounts
        .iter()
        .map(|m| {
            let name = if m.name.is_empty() {
                m.source.display().to_string()
            } else {
                m.name.clone()
            };
            if !no_trunc && name.chars().count() > 15 {
                name.chars().take(14).collect::<String>() + "…"
            } else {
                name
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Go's strconv.Quote for the characters a command line holds.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len().saturating_add(2));
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
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
    // network= takes a name or an ID; containers know networks by name.
    let mut f = f;
    f.network = f
        .network
        .iter()
        .map(|n| {
            crate::network::store::find(paths, n)
                .map(|d| d.name)
                .unwrap_or_else(|_| n.clone())
        })
        .collect();
    // before=/since= name containers; docker compares creation times.
    let store = ContainerStore::new(paths);
    let created = |names: &[String]| -> Result<Vec<String>> {
        names
            .iter()
            .map(|n| Ok(store.resolve(n)?.config.created))
            .collect()
    };
    let bounds = Bounds {
        before: created(&f.before)?.into_iter().min(),
        since: created(&f.since)?.into_iter().max(),
    };
    list.retain(|c| matches(&f, c, &ancestors, &bounds));

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
    // `-s` (or a template naming .Size): docker's "12B (virtual 4.3MB)",
    // the writable layer and the image under it. Walking the layer costs:
    // only when asked.
    let want_size = a.size || a.format.as_deref().is_some_and(|f| f.contains(".Size"));
    let image_sizes: std::collections::HashMap<String, u64> = if want_size {
        ImageStore::new(paths)
            .index()?
            .images
            .into_iter()
            .map(|i| (i.id, i.size))
            .collect()
    } else {
        Default::default()
    };
    let size_cell = |c: &Container| -> String {
        if !want_size {
            return "0B".into();
        }
        let rw = crate::util::tree_size(&c.dir.join("upper"));
        let image = image_sizes.get(&c.config.image_id).copied().unwrap_or(0);
        format!(
            "{} (virtual {})",
            format::human_size(rw),
            format::human_size(rw.saturating_add(image))
        )
    };
    let rows: Vec<serde_json::Value> = list
        .iter()
        .map(|c| {
            let created = parse_time(&c.config.created).unwrap_or(now);
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
                "Labels": super::format::labels_text(&c.config.labels),
                format::LABELS_KEY: c.config.labels,
                "Mounts": mounts_cell(c, a.no_trunc),
                "Networks": crate::container::network::network_names(&c.config),
                "Size": size_cell(c),
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
        render_rows(
            a.format.as_deref(),
            &table,
            HEADERS,
            "*formatter.ContainerContext",
            &rows
        )?
    );
    Ok(0)
}
