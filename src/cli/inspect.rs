//! `inspect`, `image inspect`, `container inspect`: docker's JSON, or a
//! `-f` template applied to each object.

use crate::container::store::ContainerStore;
use crate::error::{Error, Result};
use crate::image::store::ImageStore;
use crate::paths::Paths;
use clap::Args;
use serde_json::Value;

#[derive(Debug, Args)]
pub struct InspectArgs {
    #[arg(short = 'f', long, help = super::help::INSPECT_FORMAT_HELP)]
    pub format: Option<String>,
    /// Display total file sizes if the type is container
    #[arg(short = 's', long)]
    pub size: bool,
    /// Only inspect objects of the given type
    #[arg(long = "type")]
    pub kind: Option<String>,
    #[arg(required = true)]
    pub names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ImageInspectArgs {
    #[arg(short = 'f', long, help = super::help::INSPECT_FORMAT_HELP)]
    pub format: Option<String>,
    #[arg(
        long,
        help = "Inspect a specific platform of the multi-platform image.\nIf the image or the server is not multi-platform capable, the command will error out if the platform does not match.\n'os[/arch[/variant]]': Explicit platform (eg. linux/amd64)"
    )]
    pub platform: Option<String>,
    #[arg(required = true)]
    pub names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ContainerInspectArgs {
    #[arg(short = 'f', long, help = super::help::INSPECT_FORMAT_HELP)]
    pub format: Option<String>,
    /// Display total file sizes
    #[arg(short = 's', long)]
    pub size: bool,
    #[arg(required = true)]
    pub names: Vec<String>,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Any,
    Container,
    Image,
}

fn find(paths: &Paths, name: &str, kind: Kind) -> Result<Value> {
    if kind != Kind::Image {
        let store = ContainerStore::new(paths);
        match store.resolve(name) {
            Ok(c) => return Ok(crate::container::inspect::inspect(paths, &c)),
            Err(e) if kind == Kind::Container => return Err(e.into()),
            Err(_) => {}
        }
    }
    let images = ImageStore::new(paths);
    let idx = images.index()?;
    match idx.lookup(name) {
        Ok(img) => Ok(crate::image::inspect::inspect(&images, img)?),
        Err(e) if kind == Kind::Image => Err(e.into()),
        Err(_) if kind == Kind::Any => crate::container::networks::network_json(paths, name)
            .or_else(|_| {
                crate::volume::VolumeStore::new(paths)
                    .get(name)
                    .map(|v| v.inspect())
                    .map_err(Error::from)
            })
            .map_err(|_| Error::msg(format!("Error: No such object: {name}"))),
        Err(_) => Err(Error::msg(format!("Error: No such object: {name}"))),
    }
}

fn print_all(paths: &Paths, names: &[String], format: Option<&str>, kind: Kind) -> Result<i32> {
    let mut values = Vec::new();
    let mut failed = false;
    for n in names {
        match find(paths, n, kind) {
            Ok(v) => values.push(v),
            Err(e) => {
                super::report_line(&e);
                failed = true;
            }
        }
    }
    super::format::print_values(values, format, failed)
}

pub fn run(paths: &Paths, a: InspectArgs) -> Result<i32> {
    let kind = match a.kind.as_deref() {
        None | Some("") => Kind::Any,
        Some("container") => Kind::Container,
        Some("image") => Kind::Image,
        Some("network") => {
            return super::network::run(
                paths,
                super::network::NetworkCommand::Inspect(super::network::InspectArgs {
                    format: a.format,
                    verbose: false,
                    names: a.names,
                }),
            )
        }
        Some("volume") => {
            return super::volume::run(
                paths,
                super::volume::VolumeCommand::Inspect(super::volume::InspectArgs {
                    format: a.format,
                    names: a.names,
                }),
            )
        }
        // Swarm's objects: there is no swarm without a daemon.
        Some(t @ ("config" | "node" | "plugin" | "secret" | "service" | "task")) => {
            return Err(Error::msg(format!(
                "rdock has no {t} objects (no daemon, no swarm)"
            )))
        }
        Some(t) => {
            return Err(Error::msg(format!(
                "unknown type: {t:?}: must be one of \"config\", \"container\", \"image\", \"network\", \"node\", \"plugin\", \"secret\", \"service\", \"task\", \"volume\""
            )))
        }
    };
    print_all(paths, &a.names, a.format.as_deref(), kind)
}

pub fn run_image(paths: &Paths, a: ImageInspectArgs) -> Result<i32> {
    print_all(paths, &a.names, a.format.as_deref(), Kind::Image)
}

pub fn run_container(paths: &Paths, a: ContainerInspectArgs) -> Result<i32> {
    print_all(paths, &a.names, a.format.as_deref(), Kind::Container)
}
