//! `rdock attach`: connect this terminal to a running container through
//! its monitor's attach socket. Detach with ctrl-p ctrl-q (`--detach-keys`,
//! or `detachKeys` in config.json); the exit code is the container's when
//! it ends while attached.

use crate::container::attach::{self as proto, detach_keys};
use crate::container::session::{End, Session};
use crate::container::store::{Container, ContainerStore};
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
    let sock = match proto::connect(paths, &c.config.id) {
        Ok(s) => s,
        // No monitor: the CLI that ran it keeps it in the foreground.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return foreground(paths, &c, a.sig_proxy && !c.config.tty)
        }
        Err(e) => return Err(Error::msg(format!("attaching to {}: {e}", c.config.name))),
    };
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

/// Attach to a container a `run` in the foreground keeps (no monitor, so
/// no attach socket): its output, as that run writes it to the log, until
/// it exits; then its status. Its stdin stays the running CLI's. Signals
/// go to the container as docker's `--sig-proxy` sends them.
fn foreground(paths: &Paths, c: &Container, sig_proxy: bool) -> Result<i32> {
    use crate::container::logs::{log_path, Stream};
    use std::io::Write;
    let path = log_path(&c.dir, &c.config.id);
    let offset = match std::fs::metadata(&path) {
        Ok(m) => m.len(),
        Err(_) => {
            return Err(Error::msg(format!(
                "attaching to {}: its output is not logged (a foreground run with --rm or --log-driver none) and goes to the terminal that runs it",
                c.config.name
            )))
        }
    };
    let store = ContainerStore::new(paths);
    crate::events::container(paths, &c.config, "attach", &[]);
    let signals = match sig_proxy {
        true => Some(crate::container::session::proxied_signals()?),
        false => None,
    };
    let pid = nix::unistd::Pid::from_raw(c.state.pid);
    let forward = || {
        if let Some(sfd) = &signals {
            while let Ok(Some(info)) = sfd.read_signal() {
                if let Ok(sig) = nix::sys::signal::Signal::try_from(info.ssi_signo as i32) {
                    let _ = nix::sys::signal::kill(pid, sig);
                }
            }
        }
        false
    };
    crate::container::log_read::follow(&store, &c.config.id, &path, offset, forward, |e| {
        let _ = match e.stream {
            Stream::Stdout => crate::util::QuietStdout.write_all(e.log.as_bytes()),
            Stream::Stderr => std::io::stderr().lock().write_all(e.log.as_bytes()),
        };
    })?;
    let _ = crate::util::QuietStdout.flush();
    // Its status once the run has recorded it: the process can be gone
    // (reaped) a moment before its owner writes the exit down.
    let start = std::time::Instant::now();
    loop {
        let now = store.resolve(&c.config.id)?.state.effective();
        if now.status != crate::container::state::Status::Running
            || start.elapsed() > std::time::Duration::from_secs(5)
        {
            return Ok(now.exit_code);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
