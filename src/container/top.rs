//! `top`: the host's `ps` (default `-ef`), limited to a container's
//! processes, as docker's Titles and Processes (the CLI prints them as a
//! table, the API answers them as JSON).

use super::store::Container;
use crate::error::{Error, Result};
use crate::runtime::cgroups::Cgroup;

/// docker's `container.TopResponse`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Top {
    pub titles: Vec<String>,
    pub processes: Vec<Vec<String>>,
}

/// Keep the rows whose PID column is one of `pids`, split into cells as
/// docker splits them (the last column takes the rest).
pub fn parse_ps(out: &str, pids: &[i32]) -> Result<Top> {
    let mut lines = out.lines();
    let header = lines.next().unwrap_or("");
    let titles: Vec<String> = header.split_whitespace().map(str::to_string).collect();
    let pid_col = titles
        .iter()
        .position(|c| c == "PID")
        .ok_or_else(|| Error::msg("Couldn't find PID field in ps output"))?;
    let mut processes = Vec::new();
    for line in lines {
        let mut cells: Vec<String> = Vec::with_capacity(titles.len());
        let mut rest = line.trim_start();
        while cells.len().saturating_add(1) < titles.len() {
            let (cell, after) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            cells.push(cell.to_string());
            rest = after.trim_start();
        }
        cells.push(rest.to_string());
        let pid: i32 = cells
            .get(pid_col)
            .and_then(|p| p.parse().ok())
            .unwrap_or(-1);
        if pids.contains(&pid) {
            processes.push(cells);
        }
    }
    Ok(Top { titles, processes })
}

/// The host's `ps` with these arguments (`-ef` without any), whose rows
/// the caller keeps for a container's pids (`top`, rdock-runtime's `ps`).
pub fn host_ps(ps_args: &[String]) -> std::io::Result<std::process::Output> {
    let default = ["-ef".to_string()];
    let args = if ps_args.is_empty() {
        &default[..]
    } else {
        ps_args
    };
    std::process::Command::new("ps").args(args).output()
}

/// The processes of running container `c`, as `ps ps_args` shows them.
pub fn top(c: &Container, ps_args: &[String]) -> Result<Top> {
    if !c.state.is_alive() {
        return Err(Error::msg(format!(
            "container {} is not running",
            c.config.id
        )));
    }
    let mut pids = Cgroup::open(c.config.cgroup_parent(), &c.config.id).pids();
    if pids.is_empty() {
        pids.push(c.state.pid);
    }
    let out = host_ps(ps_args).map_err(|e| Error::msg(format!("running ps: {e}")))?;
    if !out.status.success() {
        return Err(Error::msg(format!(
            "ps: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    parse_ps(&String::from_utf8_lossy(&out.stdout), &pids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_of_the_container_only() {
        let ps = "UID          PID    PPID  C STIME TTY          TIME CMD\n\
                  root           1       0  0 10:00 ?        00:00:01 /sbin/init\n\
                  root        4242    4000  0 10:01 ?        00:00:00 sleep 30 now\n";
        let t = parse_ps(ps, &[4242]).unwrap();
        assert_eq!(t.titles.len(), 8);
        assert_eq!(t.titles[1], "PID");
        assert_eq!(t.processes.len(), 1);
        assert_eq!(t.processes[0][7], "sleep 30 now");
        assert!(parse_ps("NOPE\n1\n", &[1]).is_err());
    }
}
