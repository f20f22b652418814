//! `manifest inspect|create|annotate|push|rm`, as the docker client's:
//! manifests read straight from the registry, local lists kept where
//! docker keeps them (`src/image/registry/manifest/`).

use super::for_each;
use crate::error::{Error, Result};
use crate::image::reference::Reference;
use crate::image::registry::manifest::{self, store, Annotation, Client, ImageManifest, Remote};
use clap::{Args, Subcommand};
use std::io::Write;

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum ManifestCommand {
    /// Add additional information to a local image manifest
    Annotate(AnnotateArgs),
    /// Create a local manifest list for annotating and pushing to a registry
    Create(CreateArgs),
    /// Display an image manifest, or manifest list
    Inspect(InspectArgs),
    /// Push a manifest list to a repository
    Push(PushArgs),
    /// Delete one or more manifest lists from local storage
    Rm(RmArgs),
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Allow communication with an insecure registry
    #[arg(long)]
    pub insecure: bool,
    /// Output additional info including layers and platform
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// [MANIFEST_LIST] MANIFEST
    // More than two is checked in `inspect`, to fail in docker's words.
    #[arg(required = true, value_name = "MANIFEST")]
    pub refs: Vec<String>,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Amend an existing manifest list
    #[arg(short = 'a', long)]
    pub amend: bool,
    /// Allow communication with an insecure registry
    #[arg(long)]
    pub insecure: bool,
    pub list: String,
    #[arg(required = true)]
    pub manifests: Vec<String>,
}

#[derive(Debug, Args)]
pub struct AnnotateArgs {
    /// Set architecture
    #[arg(long)]
    pub arch: Option<String>,
    /// Set operating system
    #[arg(long)]
    pub os: Option<String>,
    /// Set operating system feature
    #[arg(long = "os-features", value_delimiter = ',', value_name = "strings")]
    pub os_features: Vec<String>,
    /// Set operating system version
    #[arg(long = "os-version")]
    pub os_version: Option<String>,
    /// Set architecture variant
    #[arg(long)]
    pub variant: Option<String>,
    pub list: String,
    pub manifest: String,
}

#[derive(Debug, Args)]
pub struct PushArgs {
    /// Allow push to an insecure registry
    #[arg(long)]
    pub insecure: bool,
    /// Remove the local manifest list after push
    #[arg(short = 'p', long)]
    pub purge: bool,
    pub list: String,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    #[arg(required = true)]
    pub lists: Vec<String>,
}

pub fn run(cmd: ManifestCommand) -> Result<i32> {
    match cmd {
        ManifestCommand::Inspect(a) => inspect(a),
        ManifestCommand::Create(a) => create(a),
        ManifestCommand::Annotate(a) => annotate(a),
        ManifestCommand::Push(a) => push(a),
        ManifestCommand::Rm(a) => rm(a),
    }
}

fn out(bytes: &[u8]) {
    // A closed pipe is the reader's choice, not an error of rdock.
    let _ = crate::util::QuietStdout.write_all(bytes);
}

fn print_manifest(m: &ImageManifest, verbose: bool) -> Result<i32> {
    out(&if verbose {
        manifest::verbose_text(std::slice::from_ref(m), false)?
    } else {
        manifest::payload_text(m)?
    });
    Ok(0)
}

fn print_list(target: &Reference, ms: &[ImageManifest], verbose: bool) -> Result<i32> {
    out(&if verbose {
        manifest::verbose_text(ms, true)?
    } else {
        let mut text = manifest::list_json(target, ms)?.1;
        text.push(b'\n');
        text
    });
    Ok(0)
}

fn inspect(a: InspectArgs) -> Result<i32> {
    let (list, image) = match a.refs.as_slice() {
        [m] => (None, m),
        [l, m] => (Some(l), m),
        _ => {
            return Err(Error::msg(
                "'rdock manifest inspect' requires at least 1 and at most 2 arguments. See 'rdock manifest inspect --help'.",
            )
            .with_code(1))
        }
    };
    let named = Reference::parse(image)?;
    if let Some(l) = list {
        // An image of a local list: never the registry.
        let m = store::get(&Reference::parse(l)?, &named)?;
        return print_manifest(&m, a.verbose);
    }
    // A local list of that name first, as docker.
    if let Ok(ms) = store::get_list(&named) {
        return print_list(&named, &ms, a.verbose);
    }
    match Client::new(&named.domain, a.insecure)?.get(&named)? {
        Remote::Manifest(m) => print_manifest(&m, a.verbose),
        Remote::List(ms) => print_list(&named, &ms, a.verbose),
    }
}

fn create(a: CreateArgs) -> Result<i32> {
    let target = Reference::parse(&a.list).map_err(|e| {
        Error::msg(format!(
            "error parsing name for manifest list {}: {e}",
            a.list
        ))
    })?;
    let images = a
        .manifests
        .iter()
        .map(|m| Reference::parse(m))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    manifest::create(&target, &images, a.amend, a.insecure)?;
    println!("Created manifest list {target}");
    Ok(0)
}

fn annotate(a: AnnotateArgs) -> Result<i32> {
    let target = Reference::parse(&a.list).map_err(|e| {
        Error::msg(format!(
            "annotate: error parsing name for manifest list {}: {e}",
            a.list
        ))
    })?;
    let image = Reference::parse(&a.manifest).map_err(|e| {
        Error::msg(format!(
            "annotate: error parsing name for manifest {}: {e}",
            a.manifest
        ))
    })?;
    let ann = Annotation {
        os: a.os.unwrap_or_default(),
        arch: a.arch.unwrap_or_default(),
        os_version: a.os_version.unwrap_or_default(),
        os_features: a.os_features,
        variant: a.variant.unwrap_or_default(),
    };
    manifest::annotate(&target, &image, &ann, (&a.list, &a.manifest))?;
    Ok(0)
}

fn push(a: PushArgs) -> Result<i32> {
    let target = Reference::parse(&a.list)?;
    let digest = manifest::push(&target, a.insecure, a.purge, &|line| println!("{line}"))?;
    println!("{digest}");
    Ok(0)
}

fn rm(a: RmArgs) -> Result<i32> {
    // docker tries every list and fails (exit 1) if any failed.
    for_each(&a.lists, |l| {
        let r = Reference::parse(l)?;
        store::get_list(&r)?;
        store::remove(&r)?;
        Ok(())
    })
}
