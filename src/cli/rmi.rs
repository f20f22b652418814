//! `rdock rmi` / `image rm`.

use crate::container::store::ContainerStore;
use crate::error::{Error, Result};
use crate::image::store::ImageStore;
use crate::paths::Paths;
use clap::Args;

#[derive(Debug, Args)]
pub struct RmiArgs {
    /// Force removal of the image
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Do not delete untagged parents
    #[arg(long = "no-prune")]
    pub no_prune: bool,
    #[arg(
        long,
        value_name = "strings",
        help = "Remove only the given platform variant. Formatted as \"os[/arch[/variant]]\" (e.g., \"linux/amd64\")"
    )]
    pub platform: Vec<String>,
    #[arg(required = true)]
    pub images: Vec<String>,
}

pub fn run(paths: &Paths, a: RmiArgs) -> Result<i32> {
    // What killed commands left (docs/architecture.md, crash safety).
    crate::container::debris::sweep(paths);
    if !a.platform.is_empty() {
        return Err(Error::msg("--platform is not supported by rdock yet"));
    }
    let store = ImageStore::new(paths);
    let containers = ContainerStore::new(paths);
    super::for_each_forced(&a.images, a.force, |name| {
        let in_use = containers.images_in_use();
        let layers = containers.layers_in_use();
        let r = crate::image::manage::remove(&store, name, a.force, &in_use, &layers)?;
        for l in r.lines {
            println!("{l}");
        }
        Ok(())
    })
}
