//! `rdock rm`: remove containers (`-f` kills running ones first).

use crate::container::store::ContainerStore;
use crate::container::{ops, ContainerError};
use crate::error::{Error, Result};
use crate::paths::Paths;
use clap::Args;

#[derive(Debug, Args)]
pub struct RmArgs {
    /// Force the removal of a running container (uses SIGKILL)
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Remove the specified link
    #[arg(short = 'l', long)]
    pub link: bool,
    /// Remove anonymous volumes associated with the container
    #[arg(short = 'v', long)]
    pub volumes: bool,
    #[arg(required = true)]
    pub containers: Vec<String>,
}

pub fn run(paths: &Paths, a: RmArgs) -> Result<i32> {
    // What killed commands left (docs/architecture.md, crash safety).
    crate::container::debris::sweep(paths);
    if a.link {
        return super::for_each(&a.containers, |name| {
            crate::container::network::remove_link(paths, name)?;
            println!("{name}");
            Ok(())
        });
    }
    let store = ContainerStore::new(paths);
    super::for_each_forced(&a.containers, a.force, |name| {
        let c = store.resolve(name)?;
        // The engine names the container as it was asked for.
        ops::remove(paths, &c, a.force).map_err(|e| match e {
            Error::Container(ContainerError::Running(_)) => {
                ContainerError::Running(name.to_string()).into()
            }
            e => e,
        })?;
        if a.volumes {
            crate::volume::release_anonymous(paths, &c.config.mounts)?;
        }
        println!("{name}");
        Ok(())
    })
}
