//! `rdock start`: start created or exited containers; `-a` runs one in the
//! foreground and exits with its status.

use crate::container::attach::detach_keys;
use crate::container::lifecycle::{self, Streams};
use crate::container::session::{End, Session};
use crate::container::store::ContainerStore;
use crate::error::{Error, Result};
use crate::paths::Paths;
use clap::Args;

#[derive(Debug, Args)]
pub struct StartArgs {
    /// Attach STDOUT/STDERR and forward signals
    #[arg(short = 'a', long)]
    pub attach: bool,
    /// Attach container's STDIN
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys")]
    pub detach_keys: Option<String>,
    // Shown by docker only before an experimental engine.
    /// Restore from this checkpoint
    #[arg(long, hide = true)]
    pub checkpoint: Option<String>,
    /// Use a custom checkpoint storage directory
    #[arg(long = "checkpoint-dir", hide = true)]
    pub checkpoint_dir: Option<String>,
    #[arg(required = true)]
    pub containers: Vec<String>,
}

pub fn run(paths: &Paths, a: StartArgs) -> Result<i32> {
    if a.checkpoint.is_some() || a.checkpoint_dir.is_some() {
        return Err(Error::msg("checkpoints are not supported by rdock"));
    }
    let store = ContainerStore::new(paths);
    if a.attach || a.interactive {
        let [name] = a.containers.as_slice() else {
            return Err(Error::msg(
                "you cannot start and attach multiple containers at once",
            ));
        };
        // The container's status once it ran; docker's CLI exits 1 when
        // it could not start (126/127 are `run`'s).
        return start_attached(paths, &store, name, &a).map_err(|e| match e.status(1) {
            126 | 127 => Error::msg(e.to_string()),
            _ => e,
        });
    }
    let mut failed = Vec::new();
    for name in &a.containers {
        let res = store.resolve(name).map_err(Error::from).and_then(|c| {
            if !c.state.is_alive() {
                crate::container::monitor::start_detached(paths, &c)?;
            }
            Ok(())
        });
        match res {
            Ok(()) => println!("{name}"),
            Err(e) => {
                super::report_line(&e);
                failed.push(name.as_str());
            }
        }
    }
    if failed.is_empty() {
        return Ok(0);
    }
    Err(Error::msg(format!(
        "Error: failed to start containers: {}",
        failed.join(", ")
    )))
}

/// `start -a` / `-ai`: start one container with this terminal attached,
/// or attach to it if it already runs (docker's start is then a no-op).
fn start_attached(paths: &Paths, store: &ContainerStore, name: &str, a: &StartArgs) -> Result<i32> {
    let mut c = store.resolve(name)?;
    // Stdin only with -i, and only if the container keeps one open.
    let stdin = a.interactive && c.config.open_stdin;
    let keys = detach_keys(a.detach_keys.as_deref()).map_err(|_| super::run::bad_detach_keys())?;
    crate::events::container(paths, &c.config, "attach", &[]);
    let session = Session {
        tty: c.config.tty,
        stdin,
        stdout: true,
        stderr: true,
        detach_keys: keys,
        // docker's start proxies signals only without a TTY.
        sig_proxy: !c.config.tty,
        nudge: false,
    };
    let end = if c.state.is_alive() {
        let sock = crate::container::attach::connect(paths, &c.config.id)
            .map_err(|e| Error::msg(format!("attaching to {}: {e}", c.config.name)))?;
        crate::container::session::run(sock, &session)?
    } else if c.config.tty || (c.config.open_stdin && !stdin) {
        // Under a monitor: detachable, and an open stdin nobody feeds
        // stays open (as docker's does) instead of reading as empty.
        crate::container::monitor::start_attached(paths, &c, &session)?
    } else {
        c.config.open_stdin = stdin;
        End::Exited(lifecycle::start_foreground(paths, &c, Streams::ALL)?)
    };
    match end {
        End::Exited(code) => Ok(code),
        End::Detached => Ok(0),
        End::Closed => Err(Error::msg("lost the container's monitor")),
        End::Interrupted => Err(super::run::forced_exit()),
    }
}
