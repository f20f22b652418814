//! `rdock logs`: the json-file log of a container, stdout entries to our
//! stdout and stderr entries to our stderr.

use crate::container::logs::{Entry, Stream};
use crate::container::store::ContainerStore;
use crate::error::{Error, Result};
use crate::paths::Paths;
use chrono::Utc;
use clap::Args;
use std::io::Write;

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Show extra details provided to logs
    #[arg(long)]
    pub details: bool,
    /// Follow log output
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)
    #[arg(long)]
    pub since: Option<String>,
    /// Number of lines to show from the end of the logs
    #[arg(short = 'n', long, default_value = "all")]
    pub tail: String,
    /// Show timestamps
    #[arg(short = 't', long)]
    pub timestamps: bool,
    /// Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)
    #[arg(long)]
    pub until: Option<String>,
    pub container: String,
}

fn print(e: &Entry, a: &LogsArgs) {
    let line = e.render(a.timestamps, a.details);
    let _ = match e.stream {
        // `logs -f | head` ends when head does.
        Stream::Stdout => crate::util::QuietStdout.write_all(&line),
        Stream::Stderr => std::io::stderr().lock().write_all(&line),
    };
}

use super::timearg::parse_time;

pub fn run(paths: &Paths, a: LogsArgs) -> Result<i32> {
    let store = ContainerStore::new(paths);
    let c = store.resolve(&a.container)?;
    if c.config.log.driver_name() == "none" {
        return Err(Error::msg(
            "configured logging driver does not support reading",
        ));
    }
    let now = Utc::now();
    let arg = |flag: &str, v: &Option<String>| {
        v.as_deref()
            .map(|s| parse_time(s, now))
            .transpose()
            .map_err(|e| Error::msg(format!("invalid value for {flag:?}: {e}")))
    };
    let since = arg("since", &a.since)?;
    let until = arg("until", &a.until)?;
    let tail: Option<usize> = match a.tail.as_str() {
        "all" | "" => None,
        n => match n.parse::<i64>() {
            Ok(v) if v < 0 => None,
            Ok(v) => Some(v as usize),
            // As the engine: a --tail it cannot read means all lines.
            Err(_) => None,
        },
    };
    let q = crate::container::log_read::LogQuery {
        since,
        until,
        tail,
        follow: a.follow,
    };
    crate::container::log_read::read(&store, &c, &q, |e| print(e, &a))?;
    Ok(0)
}
