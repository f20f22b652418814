//! `rdock stats [OPTIONS] [CONTAINER...]`: docker's table of CPU, memory,
//! network, block I/O and PIDs per container, once (`--no-stream`) or
//! redrawn every second until interrupted.

use super::format::{bytes_size, human_size, render_rows};
use crate::container::stats::{self, Host, Sample, Usage};
use crate::container::store::{Container, ContainerStore};
use crate::error::Result;
use crate::paths::Paths;
use clap::Args;
use serde_json::json;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Show all containers (default shows just running)
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Disable streaming stats and only pull the first result
    #[arg(long = "no-stream")]
    pub no_stream: bool,
    /// Do not truncate output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    #[arg(long, help = super::help::FORMAT_HELP)]
    pub format: Option<String>,
    pub containers: Vec<String>,
}

const DEFAULT_TABLE: &str = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";
const HEADERS: &[(&str, &str)] = &[
    ("Container", "CONTAINER"),
    ("Name", "NAME"),
    ("ID", "CONTAINER ID"),
    ("CPUPerc", "CPU %"),
    ("MemUsage", "MEM USAGE / LIMIT"),
    ("MemPerc", "MEM %"),
    ("NetIO", "NET I/O"),
    ("BlockIO", "BLOCK I/O"),
    ("PIDs", "PIDS"),
];

/// docker's daemon samples every second; CPU % is over that window.
const INTERVAL: Duration = Duration::from_secs(1);

/// One container on the screen.
struct Tracked {
    /// `.Container`: the name or ID as the user gave it, else the short ID.
    label: String,
    id: String,
    name: String,
    /// The last sample, for the next CPU %.
    last: Option<Sample>,
    /// Removed since it was named: docker shows `--` for it.
    lost: bool,
}

impl Tracked {
    fn new(label: String, c: &Container) -> Tracked {
        Tracked {
            label,
            id: c.config.id.clone(),
            name: c.config.name.clone(),
            last: None,
            lost: false,
        }
    }
}

/// Does the output show CPU %? Only then is a second sample worth waiting
/// for. Errs on the side of yes (a template printing `.` whole).
fn shows_cpu(format: Option<&str>) -> bool {
    let Some(f) = format.map(str::trim) else {
        return true;
    };
    if matches!(f, "" | "table" | "json") || f.contains("CPUPerc") {
        return true;
    }
    let b = f.as_bytes();
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    b.iter().enumerate().any(|(i, &c)| {
        c == b'.'
            && !b.get(i.saturating_add(1)).copied().is_some_and(ident)
            && !i
                .checked_sub(1)
                .and_then(|j| b.get(j))
                .copied()
                .is_some_and(ident)
    })
}

fn pct(v: f64) -> String {
    format!("{v:.2}%")
}

/// A row as docker's formatter renders it.
fn row(t: &Tracked, u: Option<&Usage>, no_trunc: bool) -> serde_json::Value {
    let id = if no_trunc {
        t.id.clone()
    } else {
        crate::util::first_chars(&t.id, 12).to_string()
    };
    let name = if t.name.is_empty() {
        "--".to_string()
    } else {
        t.name.clone()
    };
    match u {
        Some(u) => json!({
            "BlockIO": format!("{} / {}", human_size(u.blk_read), human_size(u.blk_write)),
            "CPUPerc": pct(u.cpu_percent),
            "Container": t.label,
            "ID": id,
            "MemPerc": pct(u.mem_percent),
            "MemUsage": format!("{} / {}", bytes_size(u.mem), bytes_size(u.mem_limit)),
            "Name": name,
            "NetIO": format!("{} / {}", human_size(u.net_rx), human_size(u.net_tx)),
            "PIDs": u.pids.to_string(),
        }),
        None => json!({
            "BlockIO": "--",
            "CPUPerc": "--",
            "Container": t.label,
            "ID": id,
            "MemPerc": "--",
            "MemUsage": "-- / --",
            "Name": name,
            "NetIO": "--",
            "PIDs": "--",
        }),
    }
}

/// Sample every tracked container; returns their rows' numbers (None for a
/// lost one) and keeps each sample for the next round.
fn take(store: &ContainerStore, list: &mut [Tracked], host: Host) -> Vec<Option<Usage>> {
    list.iter_mut()
        .map(|t| {
            let c = match store.load(&t.id) {
                Ok(c) => c,
                Err(_) => {
                    t.lost = true;
                    return None;
                }
            };
            t.name = c.config.name.clone();
            let s = stats::sample(&c, host);
            let u = stats::usage(t.last.as_ref(), &s);
            t.last = Some(s);
            Some(u)
        })
        .collect()
}

/// Without names: follow the store, keeping the screen's order and adding
/// containers that started (or, with -a, were created) at the end.
fn refresh(store: &ContainerStore, list: &mut Vec<Tracked>, all: bool) {
    let now: Vec<Container> = store
        .list()
        .into_iter()
        .filter(|c| all || c.state.is_alive())
        .collect();
    list.retain(|t| now.iter().any(|c| c.config.id == t.id));
    // store.list() is newest first, as docker's initial list.
    for c in &now {
        if !list.iter().any(|t| t.id == c.config.id) {
            list.push(Tracked::new(
                crate::util::first_chars(&c.config.id, 12).to_string(),
                c,
            ));
        }
    }
}

fn render(a: &StatsArgs, list: &[Tracked], usage: &[Option<Usage>]) -> Result<String> {
    let rows: Vec<serde_json::Value> = list
        .iter()
        .zip(usage)
        .map(|(t, u)| row(t, if t.lost { None } else { u.as_ref() }, a.no_trunc))
        .collect();
    Ok(render_rows(
        a.format.as_deref(),
        DEFAULT_TABLE,
        HEADERS,
        "*container.statsContext",
        &rows,
    )?)
}

/// Write one frame; false when stdout is gone (e.g. `| head`).
fn emit(text: &str) -> bool {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).is_ok() && out.flush().is_ok()
}

pub fn run(paths: &Paths, a: StatsArgs) -> Result<i32> {
    let store = ContainerStore::new(paths);
    let named = !a.containers.is_empty();
    let mut list: Vec<Tracked> = Vec::new();
    if named {
        // Every name must resolve before anything is shown, as docker.
        for n in &a.containers {
            let c = store.resolve(n)?;
            if !list.iter().any(|t| t.label == *n) {
                list.push(Tracked::new(n.clone(), &c));
            }
        }
    } else {
        refresh(&store, &mut list, a.all);
    }
    let mut usage = take(&store, &mut list, stats::host()?);
    let mut last = Instant::now();
    if a.no_stream {
        let running = list
            .iter()
            .any(|t| t.last.as_ref().is_some_and(|s| s.running));
        if running && shows_cpu(a.format.as_deref()) {
            std::thread::sleep(INTERVAL);
            usage = take(&store, &mut list, stats::host()?);
        }
        emit(&render(&a, &list, &usage)?);
        return Ok(0);
    }
    // On a terminal, redraw in place as docker does (home, each line
    // erased to its end, the rest of the screen cleared); elsewhere,
    // successive tables (docker writes the escapes into pipes too).
    let tty = std::io::stdout().is_terminal();
    loop {
        std::thread::sleep(INTERVAL.saturating_sub(last.elapsed()));
        last = Instant::now();
        if !named {
            refresh(&store, &mut list, a.all);
        }
        usage = take(&store, &mut list, stats::host()?);
        let text = render(&a, &list, &usage)?;
        let frame = if tty {
            let mut f = String::from("\x1b[H");
            for line in text.lines() {
                f.push_str(line);
                f.push_str("\x1b[K\n");
            }
            f.push_str("\x1b[J");
            f
        } else {
            text
        };
        if !emit(&frame) {
            return Ok(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_is_sampled_only_when_shown() {
        for f in [
            None,
            Some("table"),
            Some("json"),
            Some("{{.CPUPerc}}"),
            Some("{{json .}}"),
            Some("{{.}}"),
            Some("table {{.Name}}\\t{{ .CPUPerc }}"),
        ] {
            assert!(shows_cpu(f), "{f:?}");
        }
        for f in ["{{.Name}} {{.MemUsage}}", "table {{.ID}}\\t{{.PIDs}}"] {
            assert!(!shows_cpu(Some(f)), "{f}");
        }
    }

    #[test]
    fn rows_as_docker_formats_them() {
        let t = Tracked {
            label: "web".into(),
            id: "0123456789abcdef".into(),
            name: "web".into(),
            last: None,
            lost: false,
        };
        let u = Usage {
            cpu_percent: 101.256,
            mem: 1_293_942,
            mem_limit: 8_053_063_680,
            mem_percent: 0.016,
            net_rx: 1200,
            net_tx: 648,
            blk_read: 0,
            blk_write: 4_260_000,
            pids: 3,
        };
        let r = row(&t, Some(&u), false);
        assert_eq!(r["ID"], "0123456789ab");
        assert_eq!(r["CPUPerc"], "101.26%");
        assert_eq!(r["MemUsage"], "1.234MiB / 7.5GiB");
        assert_eq!(r["MemPerc"], "0.02%");
        assert_eq!(r["NetIO"], "1.2kB / 648B");
        assert_eq!(r["BlockIO"], "0B / 4.26MB");
        assert_eq!(r["PIDs"], "3");
        assert_eq!(row(&t, Some(&u), true)["ID"], "0123456789abcdef");
        let lost = row(&t, None, false);
        assert_eq!(lost["MemUsage"], "-- / --");
        assert_eq!(lost["CPUPerc"], "--");
        assert_eq!(lost["PIDs"], "--");
        let zero = row(&t, Some(&Usage::default()), false);
        assert_eq!(zero["MemUsage"], "0B / 0B");
        assert_eq!(zero["CPUPerc"], "0.00%");
        assert_eq!(zero["NetIO"], "0B / 0B");
    }

    #[test]
    fn table_header() {
        let out =
            render_rows(None, DEFAULT_TABLE, HEADERS, "*container.statsContext", &[]).unwrap();
        assert_eq!(
            out,
            "CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT   MEM %     NET I/O   BLOCK I/O   PIDS\n"
        );
    }
}
