//! `rdock stop`, `kill`, `restart`, `wait`, `rename`: container operations
//! that share the same shape (resolve, act, print the name as given).

use crate::container::ops;
use crate::container::store::ContainerStore;
use crate::error::{Error, Result};
use crate::paths::Paths;
use clap::Args;

#[derive(Debug, Args)]
pub struct StopArgs {
    /// Signal to send to the container
    #[arg(short = 's', long)]
    pub signal: Option<String>,
    /// Seconds to wait before killing the container
    #[arg(
        short = 't',
        long = "timeout",
        visible_alias = "time",
        allow_negative_numbers = true
    )]
    pub timeout: Option<i64>,
    #[arg(required = true)]
    pub containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct KillArgs {
    /// Signal to send to the container
    #[arg(short = 's', long, default_value = "KILL", hide_default_value = true)]
    pub signal: String,
    #[arg(required = true)]
    pub containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct WaitArgs {
    #[arg(required = true)]
    pub containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RenameArgs {
    pub container: String,
    pub new_name: String,
}

pub fn stop(paths: &Paths, a: StopArgs) -> Result<i32> {
    let store = ContainerStore::new(paths);
    super::for_each(&a.containers, |name| {
        let c = store.resolve(name)?;
        ops::stop(paths, &c, a.timeout, a.signal.as_deref())?;
        println!("{name}");
        Ok(())
    })
}

pub fn kill(paths: &Paths, a: KillArgs) -> Result<i32> {
    let store = ContainerStore::new(paths);
    // docker's daemon checks the signal before the container, and
    // prefixes any other failure with the container as named.
    let bad_signal = crate::runtime::signals::parse(&a.signal).err();
    super::for_each(&a.containers, |name| {
        let done = match &bad_signal {
            Some(e) => Err(Error::msg(e.to_string())),
            None => store
                .resolve(name)
                .map_err(Error::from)
                .and_then(|c| ops::kill(paths, &c, &a.signal)),
        };
        done.map_err(|e| Error::msg(format!("cannot kill container: {name}: {e}")))?;
        println!("{name}");
        Ok(())
    })
}

/// docker restart: stop (with -t/-s), then start in the background.
pub fn restart(paths: &Paths, a: StopArgs) -> Result<i32> {
    let store = ContainerStore::new(paths);
    super::for_each(&a.containers, |name| {
        let c = store.resolve(name)?;
        ops::stop(paths, &c, a.timeout, a.signal.as_deref())?;
        let c = store.resolve(name)?;
        crate::container::monitor::start_detached(paths, &c)?;
        crate::events::container(paths, &c.config, "restart", &[]);
        println!("{name}");
        Ok(())
    })
}

pub fn wait(paths: &Paths, a: WaitArgs) -> Result<i32> {
    let store = ContainerStore::new(paths);
    super::for_each(&a.containers, |name| {
        let c = store.resolve(name)?;
        println!("{}", ops::wait(paths, &c)?);
        Ok(())
    })
}

pub fn rename(paths: &Paths, a: RenameArgs) -> Result<i32> {
    if a.container.is_empty() || a.new_name.is_empty() {
        return Err(Error::msg("Error: Neither old nor new names may be empty"));
    }
    let res = ContainerStore::new(paths)
        .resolve(&a.container)
        .map_err(Error::from)
        .and_then(|c| ops::rename(paths, &c, &a.new_name));
    if let Err(e) = res {
        // The daemon's error, then the docker CLI's own line.
        super::report_line(&e);
        eprintln!("Error: failed to rename container named {}", a.container);
        return Ok(1);
    }
    Ok(0)
}

#[derive(Debug, Args)]
pub struct PauseArgs {
    #[arg(required = true)]
    pub containers: Vec<String>,
}

/// docker pause / unpause.
pub fn pause(paths: &Paths, a: PauseArgs, paused: bool) -> Result<i32> {
    let store = ContainerStore::new(paths);
    super::for_each(&a.containers, |name| {
        let c = store.resolve(name)?;
        ops::set_paused(paths, &c, paused)?;
        println!("{name}");
        Ok(())
    })
}
