//! `rdock completion SHELL` (docker 28's command): the script of a shell,
//! from the command tree clap already has.

use crate::error::Result;
use clap::CommandFactory;

/// docker's `completion` group: a shell's script, or (no shell, or one
/// it does not know) the group's usage, exit 0 as cobra prints it.
pub fn completion(shell: Option<&str>) -> Result<i32> {
    use clap_complete::Shell;
    let shell = match shell {
        Some("bash") => Shell::Bash,
        Some("fish") => Shell::Fish,
        Some("powershell") => Shell::PowerShell,
        Some("zsh") => Shell::Zsh,
        _ => {
            print!("{USAGE}");
            return Ok(0);
        }
    };
    let mut tree = super::Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut tree, "rdock", &mut script);
    print!("{}", String::from_utf8_lossy(&script));
    Ok(0)
}

pub(crate) const USAGE: &str = "Usage:  rdock completion COMMAND

Generate the autocompletion script for rdock for the specified shell.
See each sub-command's help for details on how to use the generated script.

Commands:
  bash        Generate the autocompletion script for bash
  fish        Generate the autocompletion script for fish
  powershell  Generate the autocompletion script for powershell
  zsh         Generate the autocompletion script for zsh

Run 'rdock completion COMMAND --help' for more information on a command.
";
