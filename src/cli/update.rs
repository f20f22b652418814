//! `rdock update`: change a container's limits (and restart policy), live.

use super::limit_flags::LimitFlags;
use crate::container::config::RestartPolicy;
use crate::container::ops;
use crate::container::store::ContainerStore;
use crate::error::{Error, Result};
use crate::paths::Paths;
use clap::Args;

/// docker's words for three of `run`'s limits, as `update` has them
/// (its `--kernel-memory` is hidden).
const WORDS: [(&str, &str); 3] = [
    (
        "cpu-rt-period",
        "Limit the CPU real-time period in microseconds",
    ),
    (
        "cpu-rt-runtime",
        "Limit the CPU real-time runtime in microseconds",
    ),
    (
        "memory-swap",
        "Swap limit equal to memory plus swap: -1 to enable unlimited swap",
    ),
];

fn words(a: clap::Arg) -> clap::Arg {
    let long = a.get_long().unwrap_or_default();
    match WORDS.iter().find(|(l, _)| *l == long) {
        Some((_, w)) => a.help(*w),
        None if long == "kernel-memory" => a.hide(true),
        None => a,
    }
}

#[derive(Debug, Args)]
#[command(mut_args(words))]
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
