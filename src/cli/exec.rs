//! `rdock exec`: run a command in a running container.

use crate::container::attach::detach_keys;
use crate::container::exec::{self, ExecOptions};
use crate::container::store::ContainerStore;
use crate::error::{Error, Result};
use crate::paths::Paths;
use clap::Args;

#[derive(Debug, Args)]
#[command(trailing_var_arg = true)]
pub struct ExecArgs {
    /// Detached mode: run command in the background
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Override the key sequence for detaching a container
    #[arg(long)]
    pub detach_keys: Option<String>,
    /// Set environment variables
    #[arg(short = 'e', long)]
    pub env: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long)]
    pub env_file: Vec<String>,
    /// Keep STDIN open even if not attached
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// Give extended privileges to the command
    #[arg(long)]
    pub privileged: bool,
    /// Allocate a pseudo-TTY
    #[arg(short = 't', long)]
    pub tty: bool,
    /// Username or UID (format: "<name|uid>[:<group|gid>]")
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    /// Working directory inside the container
    #[arg(short = 'w', long)]
    pub workdir: Option<String>,
    pub container: String,
    #[arg(required = true, allow_hyphen_values = true)]
    pub cmd: Vec<String>,
}

pub fn run(paths: &Paths, a: ExecArgs) -> Result<i32> {
    let c = ContainerStore::new(paths).resolve(&a.container)?;
    if !a.detach {
        super::run::check_tty(a.interactive, a.tty)?;
    }
    exec::refuse_paused(&c, &a.container)?;
    let mut env = Vec::new();
    for f in &a.env_file {
        env.extend(super::run_flags::read_env_file(f)?);
    }
    env.extend(a.env.iter().map(|e| super::run_flags::env_flag(e)));
    if let Some(w) = a.workdir.as_deref().filter(|w| !w.starts_with('/')) {
        return Err(Error::msg(format!(
            "the working directory '{w}' is invalid, it needs to be an absolute path"
        )));
    }
    // docker's exec events: the command in the action, the exec's ID; none
    // for an exec refused before it is made.
    let running = c.state.is_alive();
    // Checked by docker's exec create, after the running check.
    let detach_keys = match (running, detach_keys(a.detach_keys.as_deref())) {
        (true, Err(k)) => {
            return Err(Error::msg(format!("Invalid escape keys ({k}) provided")).with_code(1))
        }
        (_, keys) => keys.unwrap_or_default(),
    };
    let shown = a.cmd.join(" ");
    let exec_id = crate::util::random_hex(32);
    let id_attr = [("execID", exec_id.clone())];
    if running {
        crate::events::container(paths, &c.config, &format!("exec_create: {shown}"), &id_attr);
        crate::events::container(paths, &c.config, &format!("exec_start: {shown}"), &id_attr);
    }
    let detach = a.detach;
    let link_env = match running {
        true => crate::container::network::links(paths, &c)?.env,
        false => Vec::new(),
    };
    let result = exec::exec(
        &c,
        &ExecOptions {
            cmd: a.cmd,
            env,
            user: a.user,
            workdir: a.workdir,
            tty: a.tty,
            interactive: a.interactive,
            detach: a.detach,
            privileged: a.privileged,
            link_env,
            detach_keys,
        },
    );
    // Detached: the process goes on, and docker's exec reports it so.
    if let Ok(None) = result {
        return Err(super::run::plain_failure("read escape sequence"));
    }
    let result = result.map(|code| code.unwrap_or(0));
    let result = match result {
        // The engine looks the user up before it starts anything: its
        // refusal, exit 1.
        Err(e) if running && exec::lookup_failed(&e) => Err(e.with_code(1)),
        Err(e) if running && exec::cannot_start(&e) => {
            // docker's daemon writes why the process could not start into
            // the exec's output stream (lines end "\r\n"), with the status
            // its words give.
            let (code, text) = exec::start_failure(&e.to_string());
            print!("{}\r\n", crate::util::one_line(&text));
            Ok(code)
        }
        r => r,
    };
    if running && !detach {
        let code = match &result {
            Ok(code) => *code,
            Err(e) => e.exit_code(),
        };
        crate::events::container(
            paths,
            &c.config,
            "exec_die",
            &[("execID", exec_id), ("exitCode", code.to_string())],
        );
    }
    result
}
