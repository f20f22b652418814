//! `rdock push NAME[:TAG]`, with docker's output.

use crate::error::{Error, Result};
use crate::image::reference::Reference;
use crate::image::registry::push::{self, Event};
use crate::image::store::ImageStore;
use crate::paths::Paths;
use clap::Args;

#[derive(Debug, Args)]
pub struct PushArgs {
    /// Push all tags of an image to the repository
    #[arg(short = 'a', long)]
    pub all_tags: bool,
    /// Skip image signing
    #[arg(long, default_value_t = true)]
    pub disable_content_trust: bool,
    #[arg(
        long,
        help = "Push a platform-specific manifest as a single-platform image to the registry.\nImage index won't be pushed, meaning that other manifests, including attestations won't be preserved.\n'os[/arch[/variant]]': Explicit platform (eg. linux/amd64)"
    )]
    pub platform: Option<String>,
    /// Suppress verbose output
    #[arg(short = 'q', long)]
    pub quiet: bool,
    pub name: String,
}

pub fn run(paths: &Paths, a: PushArgs) -> Result<i32> {
    let r = Reference::parse(&a.name)?;
    if r.digest.is_some() {
        return Err(Error::msg("cannot push a digest reference"));
    }
    let store = ImageStore::new(paths);
    let refs: Vec<Reference> = if a.all_tags {
        push::repository_tags(&store, &r)?
    } else {
        vec![r.clone()]
    };
    if refs.is_empty() {
        return Err(Error::msg(format!(
            "An image does not exist locally with the tag: {}",
            r.familiar_name()
        )));
    }
    let quiet = a.quiet;
    // docker's display skips progress messages ("Pushing") off a terminal.
    let tty = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let report = |ev: Event| {
        if quiet {
            return;
        }
        match ev {
            Event::Start { repo } => println!("The push refers to repository [{repo}]"),
            Event::Layer { status, .. } if status == "Pushing" && !tty => {}
            Event::Layer { id, status } => println!("{id}: {status}"),
        }
    };
    for tr in &refs {
        let p = push::push(&store, tr, &report)?;
        crate::events::image(paths, "push", &tr.familiar(), &tr.familiar_name());
        if quiet {
            println!("{tr}");
        } else {
            println!("{}: digest: {} size: {}", p.tag, p.digest, p.size);
        }
    }
    Ok(0)
}
