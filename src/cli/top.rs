//! `rdock top CONTAINER [ps OPTIONS]`: the host's `ps` (default `-ef`),
//! limited to the container's processes, in docker's table.

use super::format::tabwriter;
use crate::container::store::ContainerStore;
use crate::error::{Error, Result};
use crate::paths::Paths;
use crate::runtime::cgroups::Cgroup;
use clap::Args;

#[derive(Debug, Args)]
#[command(trailing_var_arg = true)]
pub struct TopArgs {
    pub container: String,
    /// ps options (default "-ef")
    #[arg(allow_hyphen_values = true)]
    pub ps_args: Vec<String>,
}

/// Keep the header and the rows whose PID column is one of `pids`, split
/// into cells as docker splits them (the last column takes the rest).
pub fn filter_ps(out: &str, pids: &[i32]) -> Result<String> {
    let mut lines = out.lines();
    let header = lines.next().unwrap_or("");
    let cols: Vec<&str> = header.split_whitespace().collect();
    let pid_col = cols
        .iter()
        .position(|c| *c == "PID")
        .ok_or_else(|| Error::msg("Couldn't find PID field in ps output"))?;
    let mut table = cols.join("\t");
    table.push('\n');
    for line in lines {
        let mut cells: Vec<&str> = Vec::with_capacity(cols.len());
        let mut rest = line.trim_start();
        while cells.len().saturating_add(1) < cols.len() {
            let (cell, after) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            cells.push(cell);
            rest = after.trim_start();
        }
        cells.push(rest);
        let pid: i32 = cells
            .get(pid_col)
            .and_then(|p| p.parse().ok())
            .unwrap_or(-1);
        if pids.contains(&pid) {
            table.push_str(&cells.join("\t"));
            table.push('\n');
        }
    }
    Ok(tabwriter(&table))
}

/// The host's `ps` with these arguments (`-ef` without any), whose rows
/// the caller keeps for a container's pids (`top`, rdock-runtime's `ps`).
pub(crate) fn host_ps(ps_args: &[String]) -> std::io::Result<std::process::Output> {
    let default = ["-ef".to_string()];
    let args = if ps_args.is_empty() {
        &default[..]
    } else {
        ps_args
    };
    std::process::Command::new("ps").args(args).output()
}

pub fn run(paths: &Paths, a: TopArgs) -> Result<i32> {
    let c = ContainerStore::new(paths).resolve(&a.container)?;
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
    let out = host_ps(&a.ps_args).map_err(|e| Error::msg(format!("running ps: {e}")))?;
    if !out.status.success() {
        return Err(Error::msg(format!(
            "ps: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    print!(
        "{}",
        filter_ps(&String::from_utf8_lossy(&out.stdout), &pids)?
    );
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_of_the_container_only() {
        let ps = "UID          PID    PPID  C STIME TTY          TIME CMD\n\
                  root           1       0  0 10:00 ?        00:00:01 /sbin/init\n\
                  root        4242    4000  0 10:01 ?        00:00:00 sleep 30 now\n";
        let t = filter_ps(ps, &[4242]).unwrap();
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("UID       PID       PPID"), "{t}");
        assert!(lines[1].ends_with("sleep 30 now"), "{t}");
        assert!(filter_ps("NOPE\n1\n", &[1]).is_err());
    }
}
