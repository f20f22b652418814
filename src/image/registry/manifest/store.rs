//! Local manifest lists where the docker client keeps them:
//! `$DOCKER_CONFIG/manifests/<list>/<image>` (default `~/.docker`), one
//! file per image in docker's own JSON, names with ':' as '-' and '/' as
//! '_'. Shared with docker, as `config.json` is: a list made by
//! `docker manifest create` can be pushed by rdock and the other way round.

use super::ImageManifest;
use crate::image::reference::Reference;
use crate::image::registry::{credentials, RegistryError};
use std::path::PathBuf;

fn root() -> PathBuf {
    let cfg = credentials::config_path();
    cfg.parent()
        .map(|d| d.join("manifests"))
        .unwrap_or_else(|| PathBuf::from("manifests"))
}

fn file_safe(s: &str) -> String {
    s.replace(':', "-").replace('/', "_")
}

fn list_dir(list: &Reference) -> PathBuf {
    root().join(file_safe(&list.to_string()))
}

fn io_err(p: &std::path::Path, e: std::io::Error) -> RegistryError {
    RegistryError::Config(format!("{}: {e}", p.display()))
}

fn read(path: &std::path::Path, missing: &Reference) -> Result<ImageManifest, RegistryError> {
    let data = match std::fs::read(path) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(RegistryError::LocalNotFound(missing.to_string()))
        }
        Err(e) => return Err(io_err(path, e)),
    };
    ImageManifest::unmarshal(&data)
        .map_err(|e| RegistryError::Config(format!("{}: {e}", path.display())))
}

/// One image of a local list.
pub fn get(list: &Reference, image: &Reference) -> Result<ImageManifest, RegistryError> {
    read(&list_dir(list).join(file_safe(&image.to_string())), image)
}

/// Every image of a local list, in file name order (as docker reads them).
pub fn get_list(list: &Reference) -> Result<Vec<ImageManifest>, RegistryError> {
    let dir = list_dir(list);
    let rd = match std::fs::read_dir(&dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(RegistryError::LocalNotFound(list.to_string()))
        }
        Err(e) => return Err(io_err(&dir, e)),
    };
    let mut names = Vec::new();
    for e in rd {
        names.push(e.map_err(|e| io_err(&dir, e))?.file_name());
    }
    names.sort();
    names
        .into_iter()
        .map(|n| read(&dir.join(n), list))
        .collect()
}

/// Add (or replace) an image of a local list. Written beside and renamed,
/// so a crash never leaves half a file that every later command trips on.
pub fn save(list: &Reference, image: &Reference, m: &ImageManifest) -> Result<(), RegistryError> {
    let dir = list_dir(list);
    std::fs::create_dir_all(&dir).map_err(|e| io_err(&dir, e))?;
    let name = file_safe(&image.to_string());
    let path = dir.join(&name);
    // A dot name: docker would read a leftover as an image of the list.
    let tmp = root().join(format!(".{name}.{}", std::process::id()));
    std::fs::write(&tmp, m.marshal()?).map_err(|e| io_err(&tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io_err(&path, e)
    })
}

/// Forget a local list.
pub fn remove(list: &Reference) -> Result<(), RegistryError> {
    let dir = list_dir(list);
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err(&dir, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_dockers() {
        let r = Reference::parse("localhost:5000/a/b:v1").unwrap();
        assert_eq!(file_safe(&r.to_string()), "localhost-5000_a_b-v1");
        let r = Reference::parse("busybox").unwrap();
        assert_eq!(
            file_safe(&r.to_string()),
            "docker.io_library_busybox-latest"
        );
    }
}
