//! `rdock save [-o FILE] [--platform P] [--format docker-archive|oci-archive] IMAGE...`
//!
//! `--format` is podman's flag (docker has none and always writes
//! docker-archive): `oci-archive` writes the OCI layout alone, with
//! layers as stored.

use crate::error::{Error, Result};
use crate::image::archive::parse_platform;
use crate::image::archive::save::{self, Format, SaveOptions};
use crate::image::store::ImageStore;
use crate::paths::Paths;
use clap::Args;
use std::fs::File;
use std::io::IsTerminal;
use std::os::fd::AsFd;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

#[derive(Debug, Args)]
pub struct SaveArgs {
    /// Write to a file, instead of STDOUT
    #[arg(short = 'o', long)]
    pub output: Option<String>,
    /// Save only the given platform variant. Formatted as "os[/arch[/variant]]" (e.g., "linux/amd64")
    #[arg(long)]
    pub platform: Option<String>,
    /// Archive format: docker-archive (docker's, the default) or oci-archive.
    /// rdock's own: hidden from help, which is docker's (docs/compatibility.md).
    #[arg(long, default_value = "docker-archive", hide = true)]
    pub format: String,
    #[arg(required = true)]
    pub images: Vec<String>,
}

use crate::util::errno_text as go_error;

/// docker's checks before it writes `-o FILE` (moby's atomicwriter).
fn check_output(path: &str) -> std::result::Result<(), String> {
    if path.is_empty() {
        return Err("file name is empty".into());
    }
    let p = Path::new(path);
    if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
        match std::fs::metadata(dir) {
            Err(e) => {
                return Err(format!(
                    "invalid output path: stat {}: {}",
                    dir.display(),
                    go_error(&e)
                ))
            }
            Ok(m) if !m.is_dir() => {
                return Err(format!(
                    "invalid output path: stat {}: not a directory",
                    dir.display()
                ))
            }
            Ok(_) => {}
        }
    }
    let m = match std::fs::symlink_metadata(p) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("failed to stat output path: {}", go_error(&e))),
        Ok(m) => m,
    };
    let t = m.file_type();
    Err(if t.is_file() {
        return Ok(());
    } else if t.is_dir() {
        "cannot write to a directory"
    } else if t.is_symlink() {
        "cannot write to a symbolic link directly"
    } else if t.is_fifo() {
        "cannot write to a named pipe (FIFO)"
    } else if t.is_socket() {
        "cannot write to a socket"
    } else if t.is_char_device() {
        "cannot write to a character device file"
    } else if t.is_block_device() {
        "cannot write to a block device file"
    } else {
        "cannot write to an unknown file type"
    }
    .into())
}

pub fn run(paths: &Paths, a: SaveArgs) -> Result<i32> {
    let platform = a
        .platform
        .as_deref()
        .filter(|p| !p.is_empty())
        .map(parse_platform)
        .transpose()?;
    let format = match a.format.as_str() {
        "docker-archive" => Format::DockerArchive,
        "oci-archive" => Format::OciArchive,
        other => {
            return Err(Error::msg(format!(
                "unsupported format {other:?}: use docker-archive or oci-archive"
            )))
        }
    };
    let opts = SaveOptions { format, platform };
    let store = ImageStore::new(paths);
    let Some(output) = a.output.filter(|o| !o.is_empty()) else {
        if std::io::stdout().is_terminal() {
            return Err(Error::msg(
                "cowardly refusing to save to a terminal. Use the -o flag or redirect",
            ));
        }
        let out = std::io::stdout()
            .as_fd()
            .try_clone_to_owned()
            .map(File::from)
            .map_err(|e| Error::msg(format!("standard output: {e}")))?;
        save::save(&store, &a.images, &opts, &out).inspect_err(|e| {
            // `save | head -c 10`: ended by SIGPIPE, as docker is.
            crate::util::die_if_broken_pipe(e)
        })?;
        save_events(paths, &a.images);
        return Ok(0);
    };
    check_output(&output).map_err(|e| Error::msg(format!("failed to save image: {e}")))?;
    // As docker: written to a temp file beside the target, renamed over it
    // once complete, so a failed save leaves nothing half-written.
    let target = Path::new(&output);
    let dir = target
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let base = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".tmp-{base}{}", crate::util::random_hex(5)));
    let f = File::options()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| Error::msg(format!("failed to save image: {}", go_error(&e))))?;
    let res = save::save(&store, &a.images, &opts, &f)
        .map_err(Error::from)
        .and_then(|_| {
            std::fs::rename(&tmp, target)
                .map_err(|e| Error::msg(format!("failed to save image: {}", go_error(&e))))
        });
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    } else {
        save_events(paths, &a.images);
    }
    res.map(|_| 0)
}

fn save_events(paths: &Paths, images: &[String]) {
    for i in images {
        crate::events::image(paths, "save", i, i);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_checks_word_errors_as_docker() {
        assert_eq!(
            check_output("/nonexistent-dir/out.tar").unwrap_err(),
            "invalid output path: stat /nonexistent-dir: no such file or directory"
        );
        assert_eq!(
            check_output("/tmp").unwrap_err(),
            "cannot write to a directory"
        );
        assert_eq!(
            check_output("/dev/null").unwrap_err(),
            "cannot write to a character device file"
        );
        assert_eq!(
            check_output("/etc/hostname/x").unwrap_err(),
            "invalid output path: stat /etc/hostname: not a directory"
        );
        assert!(check_output("/tmp/rdock-no-such-file.tar").is_ok());
    }
}
