//! `rdock top CONTAINER [ps OPTIONS]`: the host's `ps` (default `-ef`),
//! limited to the container's processes, in docker's table.

use super::format::tabwriter_min;
use crate::container::store::ContainerStore;
use crate::container::top::Top;
use crate::error::Result;
use crate::paths::Paths;
use clap::Args;

#[derive(Debug, Args)]
#[command(trailing_var_arg = true)]
pub struct TopArgs {
    pub container: String,
    /// ps options (default "-ef")
    #[arg(allow_hyphen_values = true)]
    pub ps_args: Vec<String>,
}

/// docker's table: the titles, then a row per process, in cells of at
/// least 20 columns (its tabwriter's minimum for `top`).
fn table(t: &Top) -> String {
    let mut s = t.titles.join("\t");
    s.push('\n');
    for p in &t.processes {
        s.push_str(&p.join("\t"));
        s.push('\n');
    }
    tabwriter_min(&s, 20)
}

pub fn run(paths: &Paths, a: TopArgs) -> Result<i32> {
    let c = ContainerStore::new(paths).resolve(&a.container)?;
    let t = crate::container::top::top(&c, &a.ps_args)?;
    print!("{}", table(&t));
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_table() {
        let ps = "UID          PID    PPID  C STIME TTY          TIME CMD\n\
                  root        4242    4000  0 10:01 ?        00:00:00 sleep 30 now\n";
        let t = table(&crate::container::top::parse_ps(ps, &[4242]).unwrap());
        let lines: Vec<&str> = t.lines().collect();
        assert!(
            lines[0].starts_with(&format!("{:20}{:20}PPID", "UID", "PID")),
            "{t}"
        );
        assert!(lines[1].ends_with("sleep 30 now"), "{t}");
    }
}
