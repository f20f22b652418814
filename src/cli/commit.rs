//! `commit`, `diff`: a container's changes, as a new image or as docker's
//! A/C/D list.

use crate::container::commit::CommitOptions;
use crate::container::store::ContainerStore;
use crate::error::Result;
use crate::image::reference::Reference;
use crate::paths::Paths;
use clap::Args;

#[derive(Debug, Args)]
pub struct CommitArgs {
    /// Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")
    #[arg(short = 'a', long)]
    pub author: Option<String>,
    /// Apply Dockerfile instruction to the created image
    #[arg(short = 'c', long = "change")]
    pub change: Vec<String>,
    /// Commit message
    #[arg(short = 'm', long)]
    pub message: Option<String>,
    /// Pause container during commit
    #[arg(short = 'p', long, default_value_t = true, num_args = 0..=1, default_missing_value = "true", require_equals = true, action = clap::ArgAction::Set)]
    pub pause: bool,
    pub container: String,
    /// REPOSITORY[:TAG]
    pub repository: Option<String>,
}

pub fn run(paths: &Paths, a: CommitArgs) -> Result<i32> {
    // What killed commands left (docs/architecture.md, crash safety).
    crate::container::debris::sweep(paths);
    let name = match &a.repository {
        Some(r) => Some(Reference::parse(r)?),
        None => None,
    };
    let c = ContainerStore::new(paths).resolve(&a.container)?;
    let id = crate::container::commit::commit(
        paths,
        &c,
        &CommitOptions {
            message: a.message,
            author: a.author,
            changes: a.change,
            pause: a.pause,
            name,
        },
    )?;
    crate::events::container(paths, &c.config, "commit", &[("imageID", id.clone())]);
    println!("{id}");
    Ok(0)
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    pub container: String,
}

pub fn diff(paths: &Paths, a: DiffArgs) -> Result<i32> {
    let c = ContainerStore::new(paths).resolve(&a.container)?;
    let mut out = String::new();
    for (kind, path) in crate::container::changes::changes(paths, &c)? {
        out.push_str(&format!("{} {}\n", kind.letter(), path.display()));
    }
    print!("{out}");
    Ok(0)
}
