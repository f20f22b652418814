//! `rdock update`: change a container's limits (and restart policy), live.

use super::limit_flags::LimitFlags;
use crate::container::config::RestartPolicy;
use crate::container::ops;
use crate::container::store::ContainerStore;
use crate::error::{Error, Result};
use crate::paths::Paths;
use clap::Args;

#[derive(Debug, Args)]
pub struct UpdateArgs {
    #[command(flatten)]
    pub limits: LimitFlags,
    /// Restart policy to apply when a container exits
    #[arg(long)]
    pub restart: Option<String>,
    #[arg(required = true)]
    pub containers: Vec<String>,
}

pub fn update(paths: &Paths, a: UpdateArgs) -> Result<i32> {
    let req = a.limits.to_resources()?;
    let restart = a
        .restart
        .as_deref()
        .map(RestartPolicy::parse)
        .transpose()
        .map_err(Error::msg)?;
    if req == Default::default() && restart.is_none() {
        // docker's client refuses it with exit status 1.
        eprintln!("you must provide one or more flags when using this command");
        return Ok(1);
    }
    let store = ContainerStore::new(paths);
    super::for_each(&a.containers, |name| {
        let c = store.resolve(name)?;
        ops::update(paths, &c, &req, restart.clone())?;
        println!("{name}");
        Ok(())
    })
}
