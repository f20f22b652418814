//! `inspect`, `image inspect`, `container inspect`: docker's JSON, or a
//! `-f` template applied to each object.

use super::format::render_template;
use crate::container::store::ContainerStore;
use crate::error::{Error, Result};
use crate::image::store::ImageStore;
use crate::paths::Paths;
use clap::Args;
use serde_json::Value;

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Format output using a custom template
    #[arg(short = 'f', long)]
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
    /// Format output using a custom template
    #[arg(short = 'f', long)]
    pub format: Option<String>,
    /// Inspect a specific platform of the multi-platform image
    #[arg(long)]
    pub platform: Option<String>,
    #[arg(required = true)]
    pub names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ContainerInspectArgs {
    /// Format output using a custom template
    #[arg(short = 'f', long)]
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
        Err(_) if kind == Kind::Any => super::network::network_json(paths, name)
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
    print_values(values, format, failed)
}

/// Print inspect documents: docker's JSON array, or `-f` applied to each;
/// exit 1 when one of the objects was not found.
pub(crate) fn print_values(values: Vec<Value>, format: Option<&str>, failed: bool) -> Result<i32> {
    match format.filter(|f| !f.is_empty()) {
        Some(f) if f != "json" => {
            // As docker: each document that renders is printed; the
            // errors come after, and a blank line stands for no output.
            let mut errors = Vec::new();
            let mut printed = false;
            for v in &values {
                match render_template(f, v) {
                    Ok(text) => {
                        println!("{text}");
                        printed = true;
                    }
                    Err(e) => errors.push(e),
                }
            }
            if !printed {
                println!();
            }
            for e in &errors {
                eprintln!("{e}");
            }
            if !errors.is_empty() {
                return Ok(1);
            }
        }
        _ => {
            // docker indents its inspect JSON by 4 spaces.
            let mut buf = Vec::new();
            let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
            let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
            serde::Serialize::serialize(&Value::Array(values), &mut ser)
                .map_err(|e| Error::msg(format!("encoding JSON: {e}")))?;
            println!("{}", String::from_utf8_lossy(&buf));
        }
    }
    Ok(if failed { 1 } else { 0 })
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
