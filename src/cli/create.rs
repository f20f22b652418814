//! `rdock create`: make a container without starting it; prints its ID.

use super::run_flags::{create_container, ContainerFlags};
use crate::error::Result;
use crate::paths::Paths;
use clap::Args;

/// docker's words for `create --pull` (its flag is `run`'s).
pub fn pull_help(a: clap::Arg) -> clap::Arg {
    a.help("Pull image before creating (\"always\", \"|missing\", \"never\")")
}

#[derive(Debug, Args)]
#[command(disable_help_flag = true, mut_arg("pull", pull_help))]
pub struct CreateArgs {
    /// Attach to STDIN, STDOUT or STDERR
    #[arg(short = 'a', long)]
    pub attach: Vec<String>,
    #[command(flatten)]
    pub flags: ContainerFlags,
    /// Print usage
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
    pub image: String,
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub cmd: Vec<String>,
}

pub fn run(paths: &Paths, a: CreateArgs) -> Result<i32> {
    // Checked as docker checks them; `start -a` attaches every stream.
    super::run_flags::check_attach(&a.attach).map_err(crate::error::Error::client)?;
    let c = create_container(paths, &a.flags, &a.image, &a.cmd)?;
    println!("{}", c.config.id);
    Ok(0)
}
