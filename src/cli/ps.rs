//! `rdock ps` / `container ls`.

use super::format::{self, render_rows};
use crate::container::store::Container;
use crate::error::Result;
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
    let mut cmd = c.config.command_line();
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
    let all = a.all || a.latest || a.last > 0;
    let last = if a.latest {
        Some(1)
    } else {
        (a.last > 0).then_some(a.last as usize)
    };
    let list = crate::container::select::select(
        paths,
        &crate::container::select::Selection {
            filters: &a.filter,
            all,
            last,
        },
    )?;

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
