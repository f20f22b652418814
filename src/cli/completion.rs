//! `rdock completion SHELL` (docker 28's command) and `rdock help
//! [COMMAND...]`: both read the command tree clap already has.

use crate::error::{Error, Result};
use clap::{CommandFactory, Subcommand};

#[derive(Debug, Subcommand)]
pub enum CompletionCommand {
    /// Generate the autocompletion script for bash
    Bash,
    /// Generate the autocompletion script for fish
    Fish,
    /// Generate the autocompletion script for powershell
    Powershell,
    /// Generate the autocompletion script for zsh
    Zsh,
}

pub fn completion(cmd: CompletionCommand) -> Result<i32> {
    use clap_complete::Shell;
    let shell = match cmd {
        CompletionCommand::Bash => Shell::Bash,
        CompletionCommand::Fish => Shell::Fish,
        CompletionCommand::Powershell => Shell::PowerShell,
        CompletionCommand::Zsh => Shell::Zsh,
    };
    let mut tree = super::Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut tree, "rdock", &mut script);
    print!("{}", String::from_utf8_lossy(&script));
    Ok(0)
}

/// `help` alone is `--help`; `help run` is `run --help`, and a topic that
/// names no command is docker's "unknown help topic".
pub fn help(topic: &[String]) -> Result<i32> {
    let mut cmd = super::Cli::command();
    cmd.build();
    for word in topic {
        let Some(sub) = cmd.find_subcommand(word).cloned() else {
            return Err(Error::WithCode(
                Box::new(Error::msg(format!(
                    "unknown help topic: {}",
                    topic.join(" ")
                ))),
                1,
            ));
        };
        cmd = sub;
        cmd.build();
    }
    print!("{}", cmd.render_help());
    Ok(0)
}
