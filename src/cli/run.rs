//! `rdock run`: create + start, in the foreground or detached.

use super::run_flags::{create_container, ContainerFlags};
use crate::container::attach::detach_keys;
use crate::container::lifecycle::{self, Streams};
use crate::container::session::{End, Session};
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

/// Go's `strconv.ParseBool`, as the docker CLI reads boolean flags.
pub(crate) fn parse_bool(flag: &str, v: &str) -> Result<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(Error::msg(format!(
            "invalid argument \"{v}\" for \"--{flag}\" flag: strconv.ParseBool: parsing \"{v}\": invalid syntax"
        ))),
    }
}

/// A failure the docker CLI prints as bare text (no "docker:" prefix, no
/// help line) and exits 1 for: printed here, as docker's words.
pub(crate) fn plain_failure(msg: &str) -> Error {
    eprintln!("{msg}");
    Error::Exit(1)
}

/// docker 28's CLI after three SIGINT/SIGTERMs it does not pass on.
pub(crate) fn forced_exit() -> Error {
    plain_failure("\ngot 3 SIGTERM/SIGINTs, forcefully exiting")
}

/// The docker CLI's refusal to attach a terminal that is not one
/// (`In().CheckTty`): with -t, stdin attached, and stdin redirected.
pub(crate) fn check_tty(attach_stdin: bool, tty: bool) -> Result<()> {
    use std::io::IsTerminal;
    if tty && attach_stdin && !std::io::stdin().is_terminal() {
        return Err(plain_failure("the input device is not a TTY"));
    }
    Ok(())
}

/// docker's answer when the detach keys are not valid: the daemon refuses
/// the attach with a 400, which the docker 28 client reports as this.
pub(crate) fn bad_detach_keys() -> Error {
    plain_failure("unable to upgrade to tcp, received 400")
}

pub fn run(paths: &Paths, a: RunArgs) -> Result<i32> {
    if a.detach && !a.attach.is_empty() {
        return Err(Error::msg(
            "conflicting options: cannot specify both --attach and --detach",
        ));
    }
    super::run_flags::check_attach(&a.attach)?;
    let sig_proxy = parse_bool("sig-proxy", &a.sig_proxy)?;
    // docker: -i attaches stdin; no -a attaches stdout and stderr.
    let asked = |name: &str| a.attach.iter().any(|s| s.eq_ignore_ascii_case(name));
    let attach_stdin = a.flags.interactive || asked("stdin");
    let (stdout, stderr) = if a.attach.is_empty() {
        (true, true)
    } else {
        (asked("stdout"), asked("stderr"))
    };
    if !a.detach {
        check_tty(attach_stdin, a.flags.tty)?;
    }
    let c = create_container(paths, &a.flags, &a.image, &a.cmd)?;
    if !a.detach {
        // docker's client attaches before it starts: an `attach` event.
        crate::events::container(paths, &c.config, "attach", &[]);
    }
    if a.detach {
        // docker's CLI prints the ID once created, before the start.
        println!("{}", c.config.id);
        crate::container::monitor::start_detached(paths, &c).map_err(start_status)?;
        return Ok(0);
    }
    // The keys are checked by the attach, after the create (the container
    // stays, created, as docker's does).
    let keys = detach_keys(a.detach_keys.as_deref()).map_err(|_| bad_detach_keys())?;
    let stdin = attach_stdin && c.config.open_stdin;
    // Detachable (a TTY and stdin), or living on without us (no signal
    // proxy: ^C ends the CLI, not the container): under a monitor, with
    // this terminal attached. Otherwise the CLI is the container's parent.
    if (c.config.tty && stdin) || !sig_proxy {
        let session = Session {
            tty: c.config.tty,
            stdin,
            stdout,
            stderr,
            detach_keys: keys,
            sig_proxy,
            nudge: false,
        };
        return match crate::container::monitor::start_attached(paths, &c, &session)
            .map_err(start_status)?
        {
            End::Exited(code) => Ok(code),
            End::Detached => Ok(0),
            End::Closed => Err(Error::msg("lost the container's monitor")),
            End::Interrupted => Err(forced_exit()),
        };
    }
    let code =
        lifecycle::start_foreground(paths, &c, Streams { stdout, stderr }).map_err(start_status)?;
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
