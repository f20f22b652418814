//! `rdock run`: create + start, in the foreground or detached.

use super::run_flags::{create_container, ContainerFlags};
use crate::container::lifecycle;
use crate::error::{Error, Result};
use crate::paths::Paths;
use clap::Args;

#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
pub struct RunArgs {
    /// Run container in background and print container ID
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Attach to STDIN, STDOUT or STDERR
    #[arg(short = 'a', long)]
    pub attach: Vec<String>,
    /// Proxy received signals to the process
    #[arg(long = "sig-proxy", default_value = "true", num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub sig_proxy: String,
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys")]
    pub detach_keys: Option<String>,
    #[command(flatten)]
    pub flags: ContainerFlags,
    /// Print usage
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
    pub image: String,
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub cmd: Vec<String>,
}

pub fn run(paths: &Paths, a: RunArgs) -> Result<i32> {
    if a.detach && !a.attach.is_empty() {
        return Err(Error::msg(
            "conflicting options: cannot specify both --attach and --detach",
        ));
    }
    super::run_flags::check_attach(&a.attach)?;
    let c = create_container(paths, &a.flags, &a.image, &a.cmd)?;
    if a.detach {
        // docker's CLI prints the ID once created, before the start.
        println!("{}", c.config.id);
        crate::container::monitor::start_detached(paths, &c).map_err(start_status)?;
        return Ok(0);
    }
    let code = lifecycle::start_foreground(paths, &c).map_err(start_status)?;
    Ok(code)
}

/// docker's CLI reads the status of a failed start from its text: a file
/// that is not there is 127, one that cannot be run 126 (whatever the
/// file: `--device /dev/nope` too).
fn start_status(e: Error) -> Error {
    if e.status(125) != 125 {
        return e;
    }
    let text = e.to_string();
    if text.contains("executable file not found") || text.contains("no such file or directory") {
        e.with_code(127)
    } else if text.contains("permission denied") || text.contains("is a directory") {
        e.with_code(126)
    } else {
        e
    }
}
