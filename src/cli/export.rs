//! `export [-o FILE] CONTAINER`: the container's filesystem as a tar.

use crate::container::store::ContainerStore;
use crate::error::{Error, Result};
use crate::paths::Paths;
use clap::Args;
use std::io::{IsTerminal, Write};
use std::os::unix::fs::OpenOptionsExt;

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Write to a file, instead of STDOUT
    #[arg(short = 'o', long)]
    pub output: Option<String>,
    pub container: String,
}

pub fn run(paths: &Paths, a: ExportArgs) -> Result<i32> {
    let c = ContainerStore::new(paths).resolve(&a.container)?;
    match &a.output {
        Some(path) => {
            // Written beside the target and renamed: no half archive under
            // the name asked for. 0600, as docker's: a container's files
            // may hold secrets. Absolute: the export changes directory.
            let path = std::path::absolute(path)
                .map_err(|e| Error::msg(format!("failed to export container: {e}")))?;
            let path = path.display().to_string();
            let tmp = format!("{path}.rdock-{}", std::process::id());
            let f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(crate::util::PRIVATE_FILE)
                .open(&tmp)
                .map_err(|e| Error::msg(format!("failed to export container: {e}")))?;
            let done = crate::container::export::export(paths, &c, std::io::BufWriter::new(f))
                .and_then(|mut w| {
                    w.flush()
                        .map_err(|e| Error::msg(format!("writing {path}: {e}")))
                })
                .and_then(|_| {
                    std::fs::rename(&tmp, &path)
                        .map_err(|e| Error::msg(format!("writing {path}: {e}")))
                });
            if done.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            done?;
        }
        None => {
            if std::io::stdout().is_terminal() {
                return Err(Error::msg(
                    "cowardly refusing to save to a terminal. Use the -o flag or redirect",
                ));
            }
            let out = std::io::BufWriter::with_capacity(1 << 20, crate::util::QuietStdout);
            crate::container::export::export(paths, &c, out)?
                .flush()
                .map_err(|e| Error::msg(format!("writing the archive: {e}")))?;
        }
    }
    Ok(0)
}
