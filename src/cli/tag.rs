//! `rdock tag SOURCE TARGET`.

use crate::error::{Error, Result};
use crate::image::reference::Reference;
use crate::image::store::ImageStore;
use crate::paths::Paths;
use clap::Args;

#[derive(Debug, Args)]
pub struct TagArgs {
    pub source: String,
    pub target: String,
}

pub fn run(paths: &Paths, a: TagArgs) -> Result<i32> {
    // docker's client checks the target first, in these words.
    let target = Reference::parse(&a.target).map_err(|e| {
        Error::msg(format!(
            "Error parsing reference: {:?} is not a valid repository/tag: {e}",
            a.target
        ))
    })?;
    if target.digest.is_some() {
        return Err(Error::msg(
            "refusing to create a tag with a digest reference",
        ));
    }
    crate::image::manage::tag(&ImageStore::new(paths), &a.source, &target)?;
    Ok(0)
}
