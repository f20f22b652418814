//! `rdock attach`: connect this terminal to a running container through
//! its monitor's attach socket. Detach with ctrl-p ctrl-q (`--detach-keys`,
//! or `detachKeys` in config.json); the exit code is the container's when
//! it ends while attached.

use crate::container::attach::{self as proto, detach_keys};
use crate::container::session::{End, Session};
use crate::container::store::ContainerStore;
use crate::error::{Error, Result};
use crate::paths::Paths;
use clap::Args;

#[derive(Debug, Args)]
pub struct AttachArgs {
    /// Override the key sequence for detaching a container
    #[arg(long)]
    pub detach_keys: Option<String>,
    /// Do not attach STDIN
    #[arg(long)]
    pub no_stdin: bool,
    /// Proxy all received signals to the process
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub sig_proxy: bool,
    pub container: String,
}

pub fn run(paths: &Paths, a: AttachArgs) -> Result<i32> {
    let c = ContainerStore::new(paths).resolve(&a.container)?;
    if !c.state.is_alive() {
        return Err(Error::msg(
            "You cannot attach to a stopped container, start it first",
        ));
    }
    if c.state.is_paused() {
        return Err(Error::msg(
            "You cannot attach to a paused container, unpause it first",
        ));
    }
    super::run::check_tty(!a.no_stdin, c.config.tty)?;
    let keys = detach_keys(a.detach_keys.as_deref()).map_err(|_| super::run::bad_detach_keys())?;
    let sock = proto::connect(paths, &c.config.id)
        .map_err(|e| Error::msg(format!("attaching to {}: {e}", c.config.name)))?;
    crate::events::container(paths, &c.config, "attach", &[]);
    let session = Session {
        tty: c.config.tty,
        stdin: !a.no_stdin && c.config.open_stdin,
        stdout: true,
        stderr: true,
        detach_keys: keys,
        sig_proxy: a.sig_proxy && !c.config.tty,
        nudge: true,
    };
    match crate::container::session::run(sock, &session)? {
        End::Exited(code) => Ok(code),
        // docker's attach reports the detach as its error (exit 1).
        End::Detached => Err(super::run::plain_failure("read escape sequence")),
        End::Closed => Ok(0),
        End::Interrupted => Err(super::run::forced_exit()),
    }
}
