//! docker commands that need an engine feature rdock has no place for:
//! swarm mode (swarm, node, service, stack, secret, config), plugins,
//! content trust and checkpoints. Each takes whatever follows and fails
//! with one clear line, as docker fails on an engine without the feature
//! (exit 1), so a script learns why rather than meeting "unknown command".

use crate::error::{Error, Result};
use clap::Args;

#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
pub struct AnyArgs {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

/// The line and exit code for `rdock COMMAND ARGS`.
pub fn run(command: &str, a: &AnyArgs) -> Result<i32> {
    let sub = a.args.first().map(String::as_str).unwrap_or("");
    let msg = match command {
        // docker's words on an engine outside any swarm (rdock is one).
        "swarm" if sub == "leave" => "This node is not part of a swarm".to_string(),
        "swarm" | "node" | "service" | "stack" | "secret" | "config" => {
            "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this node to swarm and try again.".to_string()
        }
        // No plugins are installed, so the list is empty: a header only
        // for the default table, nothing for -q or a --format.
        "plugin" if matches!(sub, "ls" | "list") => {
            let custom = a
                .args
                .iter()
                .any(|x| x == "-q" || x == "--quiet" || x.starts_with("--format"));
            if !custom {
                println!("ID        NAME      DESCRIPTION   ENABLED");
            }
            return Ok(0);
        }
        "plugin" => "rdock has no plugin support".to_string(),
        "trust" => "rdock does not support content trust (image signing)".to_string(),
        "checkpoint" => format!(
            "rdock checkpoint{} is not supported: rdock cannot checkpoint or restore containers",
            if sub.is_empty() {
                String::new()
            } else {
                format!(" {sub}")
            }
        ),
        other => format!("unknown command: rdock {other}"),
    };
    Err(Error::msg(msg).with_code(1))
}
