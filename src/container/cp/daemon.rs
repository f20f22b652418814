//! The daemon's half of `docker cp`, for the Engine API: docker's CLI
//! applies the path rules and makes or unpacks the tars; its daemon only
//! stats a path (`HEAD /containers/ID/archive`), tars one
//! (`GET .../archive`) and extracts a tar into a directory
//! (`PUT .../archive`). These are those three, on the same view of the
//! container and the same walks as rdock's own `cp`.

use super::entry::{self, TarSink, TreeReader};
use super::extract::Owner;
use super::resolve::{is_type, lookup, Found, Lookup};
use super::view::ContainerFs;
use super::{asserts_directory, base, container_abs, container_source, CpError};
use crate::container::store::Container;
use crate::paths::Paths;
use nix::sys::stat::{FileStat, SFlag};
use std::io::{Read, Write};
use std::os::fd::AsFd;

/// docker's `container.PathStat`, the `X-Docker-Container-Path-Stat`
/// header's JSON.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PathStat {
    pub name: String,
    pub size: i64,
    /// Go's `os.FileMode` bits.
    pub mode: u32,
    /// RFC 3339 with nanoseconds, as Go marshals a time.
    pub mtime: String,
    #[serde(rename = "linkTarget")]
    pub link_target: String,
}

/// Go's `os.FileMode` for a `st_mode`.
pub fn go_file_mode(st_mode: u32) -> u32 {
    let mut m = st_mode & 0o777;
    let fmt = st_mode & SFlag::S_IFMT.bits();
    let is = |t: SFlag| fmt == t.bits();
    if is(SFlag::S_IFDIR) {
        m |= 1 << 31;
    } else if is(SFlag::S_IFLNK) {
        m |= 1 << 27;
    } else if is(SFlag::S_IFBLK) {
        m |= 1 << 26;
    } else if is(SFlag::S_IFCHR) {
        m |= (1 << 26) | (1 << 21);
    } else if is(SFlag::S_IFIFO) {
        m |= 1 << 25;
    } else if is(SFlag::S_IFSOCK) {
        m |= 1 << 24;
    }
    if st_mode & 0o4000 != 0 {
        m |= 1 << 23;
    }
    if st_mode & 0o2000 != 0 {
        m |= 1 << 22;
    }
    if st_mode & 0o1000 != 0 {
        m |= 1 << 20;
    }
    m
}

/// Go's RFC3339Nano of a stat time, in the local zone as the daemon's.
fn go_time(secs: i64, nanos: i64) -> String {
    let t = chrono::DateTime::from_timestamp(secs, u32::try_from(nanos).unwrap_or(0))
        .unwrap_or_default()
        .with_timezone(&chrono::Local);
    let frac = format!("{:09}", nanos.clamp(0, 999_999_999));
    let frac = frac.trim_end_matches('0');
    let dot = if frac.is_empty() { "" } else { "." };
    let zone = t.format("%:z").to_string();
    let zone = if zone == "+00:00" { "Z".into() } else { zone };
    format!("{}{dot}{frac}{zone}", t.format("%Y-%m-%dT%H:%M:%S"))
}

fn path_stat(name: String, st: &FileStat, link_target: String) -> PathStat {
    PathStat {
        name,
        size: st.st_size,
        mode: go_file_mode(st.st_mode),
        mtime: go_time(st.st_mtime, st.st_mtime_nsec),
        link_target,
    }
}

fn not_found(path: &str, name: &str) -> CpError {
    CpError::NotFound {
        path: path.to_string(),
        container: name.to_string(),
    }
}

/// lstat of `path` inside the container (a trailing "/" follows), and
/// where a symlink leads, followed inside the root as far as it exists.
fn stat_in(fs: &ContainerFs, path: &str, name: &str) -> Result<(Found, PathStat), CpError> {
    let abs = container_abs(path);
    let f = match lookup(fs.root(), &abs, asserts_directory(&abs)) {
        Ok(Lookup::Found(f)) => f,
        Ok(Lookup::Missing { .. }) | Err(nix::errno::Errno::ENOENT) => {
            return Err(not_found(path, name))
        }
        Err(e) => return Err(entry::sys(format!("lstat {abs}"))(e)),
    };
    let target = if is_type(&f.st, SFlag::S_IFLNK) {
        match lookup(fs.root(), &abs, true) {
            Ok(Lookup::Found(g)) => g.path,
            Ok(Lookup::Missing { path }) => path,
            Err(_) => abs.clone(),
        }
    } else {
        String::new()
    };
    let st = path_stat(base(path), &f.st, target);
    Ok((f, st))
}

/// `HEAD /containers/ID/archive?path=`: `name` is the container as the
/// client named it (docker's messages use it).
pub fn stat_path(
    paths: &Paths,
    c: &Container,
    name: &str,
    path: &str,
) -> Result<PathStat, CpError> {
    let fs = ContainerFs::open(paths, c)?;
    let st = stat_in(&fs, path, name).map(|(_, st)| st)?;
    trailing_slash(path, name, st)
}

/// A path ending in "/" names a directory: a file there is missing, as
/// the kernel says (ENOTDIR) and docker's daemon answers.
fn trailing_slash(path: &str, name: &str, st: PathStat) -> Result<PathStat, CpError> {
    const GO_DIR: u32 = 1 << 31;
    if path.ends_with('/') && st.mode & GO_DIR == 0 {
        return Err(not_found(path, name));
    }
    Ok(st)
}

/// A path of a container ready to be tarred: its stat is known before a
/// byte of the tar is written (the answer's header carries it).
pub struct PathArchive {
    fs: ContainerFs,
    found: Found,
    top: String,
    pub stat: PathStat,
}

impl PathArchive {
    /// `GET /containers/ID/archive?path=`, up to the tar.
    pub fn open(
        paths: &Paths,
        c: &Container,
        name: &str,
        path: &str,
    ) -> Result<PathArchive, CpError> {
        let fs = ContainerFs::open(paths, c)?;
        let (_, stat) = stat_in(&fs, &container_abs(path), name).map_err(|e| match e {
            CpError::NotFound { .. } => not_found(path, name),
            e => e,
        })?;
        let stat = trailing_slash(path, name, stat)?;
        let (_, found, top) = container_source(&fs, path, false, name)?;
        Ok(PathArchive {
            fs,
            found,
            top,
            stat,
        })
    }

    /// The tar of the path, its entries named after its last element.
    pub fn write(self, w: &mut dyn Write) -> Result<(), CpError> {
        let mut tar = TarSink::new(w);
        TreeReader::new(&mut tar, true).read(
            self.found.parent.as_fd(),
            &self.found.name,
            self.top.as_bytes(),
        )?;
        tar.finish()?;
        drop(self.fs);
        Ok(())
    }
}

/// `PUT /containers/ID/archive?path=`: a tar stream (plain or compressed)
/// extracted into the directory `path` names. Without `copy_uid_gid`
/// what lands belongs to the container's root, as rdock's `cp`. Returns
/// the things skipped, one line each.
pub fn extract_to_dir(
    paths: &Paths,
    c: &Container,
    name: &str,
    path: &str,
    input: &mut dyn Read,
    copy_uid_gid: bool,
) -> Result<Vec<String>, CpError> {
    let fs = ContainerFs::open(paths, c)?;
    let owner = if copy_uid_gid {
        Owner::Keep
    } else {
        Owner::Fixed(0, 0)
    };
    let (_, warnings) = super::extract_stream(&fs, path, name, input, owner, &mut |_| {})?;
    Ok(warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_modes_and_times() {
        assert_eq!(go_file_mode(0o40755), (1 << 31) | 0o755);
        assert_eq!(go_file_mode(0o100644), 0o644);
        assert_eq!(go_file_mode(0o120777), (1 << 27) | 0o777);
        assert_eq!(go_file_mode(0o104755), (1 << 23) | 0o755);
        assert_eq!(go_file_mode(0o20666), (1 << 26) | (1 << 21) | 0o666);
        let t = go_time(0, 500_000_000);
        assert!(t.contains(":00.5"), "{t}");
        assert!(!go_time(0, 0).contains('.'));
    }
}
