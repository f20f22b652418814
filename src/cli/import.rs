//! `rdock import FILE|- [REPOSITORY[:TAG]]`.

use crate::error::{Error, Result};
use crate::image::reference::Reference;
use crate::image::store::ImageStore;
use crate::paths::Paths;
use clap::Args;

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Apply Dockerfile instruction to the created image
    #[arg(short = 'c', long)]
    pub change: Vec<String>,
    /// Set commit message for imported image
    #[arg(short = 'm', long)]
    pub message: Option<String>,
    /// Set platform if server is multi-platform capable
    #[arg(long)]
    pub platform: Option<String>,
    /// A tar archive (plain or gzip), or - for standard input
    pub file: String,
    pub reference: Option<String>,
}

pub fn run(paths: &Paths, a: ImportArgs) -> Result<i32> {
    // What killed commands left (docs/architecture.md, crash safety).
    crate::container::debris::sweep(paths);
    let name = a.reference.as_deref().map(Reference::parse).transpose()?;
    if let Some(r) = &name {
        if r.digest.is_some() {
            return Err(Error::msg(
                "refusing to create a tag with a digest reference",
            ));
        }
    }
    if a.file.starts_with("http://") || a.file.starts_with("https://") {
        return Err(Error::msg(
            "importing from a URL is not supported by rdock yet",
        ));
    }
    let store = ImageStore::new(paths);
    let id = if a.file == "-" {
        crate::image::import::import(
            &store,
            std::io::stdin().lock(),
            &a.change,
            a.message.as_deref(),
            name.as_ref(),
        )?
    } else {
        let f = std::fs::File::open(&a.file).map_err(|e| {
            Error::msg(format!("open {}: {}", a.file, crate::util::go_io_error(&e)))
        })?;
        crate::image::import::import(&store, f, &a.change, a.message.as_deref(), name.as_ref())?
    };
    crate::events::image(paths, "import", &id, &id);
    println!("{id}");
    Ok(0)
}
