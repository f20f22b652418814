//! `export`: a container's whole filesystem (its image's layers and its
//! changes, merged) as one tar.
//!
//! The merged view comes from a read-only overlay of the container's upper
//! dir over its image's layers, mounted in a mount namespace of this
//! process's own: it goes away with the process, so a killed `export`
//! cannot leave a mount behind, and a running container's own mount is
//! never touched.

use super::changes::{append_entry, Links};
use super::store::Container;
use crate::error::{Error, Result};
use crate::paths::Paths;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use std::io::Write;
use std::path::Path;

fn sys(what: &'static str) -> impl Fn(nix::Error) -> Error {
    move |e| Error::msg(format!("{what}: {e}"))
}

/// Write the tar of container `c`'s filesystem to `out`.
pub fn export<W: Write>(paths: &Paths, c: &Container, out: W) -> Result<W> {
    let upper = c.dir.join("upper");
    if c.config.layers.is_empty() {
        return write_tree(&upper, out);
    }
    // A staging dir of this process: swept by the store if it dies.
    let target = crate::image::store::ImageStore::new(paths).temp_dir()?;
    let res = (|| {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS)
            .map_err(sys("creating a mount namespace"))?;
        mount(
            None::<&str>,
            "/",
            None::<&str>,
            MsFlags::MS_REC | MsFlags::MS_PRIVATE,
            None::<&str>,
        )
        .map_err(sys("making mounts private"))?;
        // The upper dir is the top lower: a read-only overlay needs no
        // upper and never writes to the container's dirs. Lowers are the
        // short links, relative to the layer store (as the run path does).
        let lowers: Vec<String> = c
            .config
            .layers
            .iter()
            .rev()
            .map(|l| crate::image::store::short_link(l.trim_start_matches("sha256:")))
            .collect();
        nix::unistd::chdir(&paths.layers()).map_err(sys("chdir to the layer store"))?;
        let data = format!("lowerdir={}:{}", upper.display(), lowers.join(":"));
        mount(
            Some("overlay"),
            &target,
            Some("overlay"),
            MsFlags::MS_RDONLY,
            Some(data.as_str()),
        )
        .map_err(sys("mounting the container's filesystem"))?;
        let written = write_tree(&target, out);
        let _ = umount2(&target, MntFlags::MNT_DETACH);
        written
    })();
    let _ = std::fs::remove_dir(&target);
    res
}

/// Every entry under `root`, depth first in name order, named relative to
/// it (`bin/sh`, as docker's export names them).
fn write_tree<W: Write>(root: &Path, out: W) -> Result<W> {
    let err = |e: std::io::Error| Error::msg(format!("writing the archive: {e}"));
    let mut b = tar::Builder::new(out);
    let mut links = Links::new();
    let mut stack = vec![std::path::PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let mut names: Vec<_> = std::fs::read_dir(root.join(&rel))
            .map_err(err)?
            .flatten()
            .map(|e| e.file_name())
            .collect();
        names.sort();
        // Depth first in order: push children in reverse after handling
        // each directory's own entry.
        let mut dirs = Vec::new();
        for name in names {
            let r = rel.join(&name);
            let src = root.join(&r);
            let meta = std::fs::symlink_metadata(&src).map_err(err)?;
            append_entry(&mut b, &src, &r, &meta, &mut links).map_err(err)?;
            if meta.is_dir() {
                dirs.push(r);
            }
        }
        stack.extend(dirs.into_iter().rev());
    }
    b.into_inner().map_err(err)
}
