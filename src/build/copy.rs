//! COPY and ADD into a step's rootfs: docker's destination rules (a
//! trailing "/", several sources, an existing directory), on top of `cp`'s
//! extraction, which resolves every name inside the root and never
//! follows a symlink.

use super::context::{Context, Source};
use super::BuildError;
use crate::container::cp::entry::{Entry, Kind, Sink};
use crate::container::cp::extract::{Extractor, Owner, Side};
use crate::container::cp::resolve::{self, Lookup};
use crate::container::cp::CpError;
use nix::fcntl::OFlag;
use std::io::Read;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

/// One source to place.
pub(super) struct Item<'a> {
    pub ctx: &'a Context,
    pub src: Source,
    /// ADD of a local archive: its entries go into the destination.
    pub unpack: bool,
}

#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Placement {
    /// `--chown`; None: root, or an archive's own owners.
    pub owner: Option<(u32, u32)>,
    /// `--chmod`.
    pub chmod: Option<u32>,
}

/// Entries as COPY writes them: owner and mode replaced as asked, and the
/// source directory itself ("." when its contents are copied) left out,
/// since COPY copies what is in a directory, not the directory.
struct Adjust<'a> {
    inner: &'a mut Extractor,
    owner: Option<(u32, u32)>,
    chmod: Option<u32>,
}

impl Sink for Adjust<'_> {
    fn put(&mut self, e: &Entry, data: &mut dyn Read) -> Result<(), CpError> {
        if e.name == b"." {
            return Ok(());
        }
        let mut e = e.clone();
        if let Some((u, g)) = self.owner {
            e.uid = u;
            e.gid = g;
        }
        if let (Some(m), false) = (
            self.chmod,
            matches!(e.kind, Kind::Symlink(_) | Kind::Hardlink(_)),
        ) {
            e.mode = m;
        }
        self.inner.put(&e, data)
    }
}

fn cp_err(e: CpError) -> BuildError {
    BuildError::Msg(e.to_string())
}

fn sys(what: String) -> impl FnOnce(nix::errno::Errno) -> BuildError {
    move |e| BuildError::Msg(format!("{what}: {}", e.desc()))
}

/// Create the directory `path` (canonical, inside `root`) and its missing
/// parents, owned by `owner` (root by default), mode 0755.
fn make_dir(root: BorrowedFd<'_>, path: &str, owner: (u32, u32)) -> Result<(), BuildError> {
    let rel = path.trim_start_matches('/');
    if rel.is_empty() {
        return Ok(());
    }
    let base = root
        .try_clone_to_owned()
        .map_err(|e| BuildError::io("duplicating the root fd", e))?;
    let mut x = Extractor::new(
        base,
        "/".into(),
        Side::Container,
        Owner::Fixed(owner.0, owner.1),
    )
    .map_err(cp_err)?;
    let now = chrono::Utc::now().timestamp();
    let e = Entry {
        name: rel.as_bytes().to_vec(),
        kind: Kind::Dir,
        mode: 0o755,
        uid: owner.0,
        gid: owner.1,
        mtime: now,
        size: 0,
        caps: None,
    };
    x.put(&e, &mut std::io::empty()).map_err(cp_err)?;
    x.finish().map_err(cp_err)?;
    Ok(())
}

/// The directory at `path` inside `root`, created if missing.
fn dir_at(
    root: BorrowedFd<'_>,
    path: &str,
    owner: (u32, u32),
) -> Result<(OwnedFd, String), BuildError> {
    let lookup = resolve::lookup(root, path, true).map_err(sys(format!("resolving {path}")))?;
    let canonical = match lookup {
        Lookup::Found(f) if f.is_dir() => {
            let fd = f
                .open(OFlag::O_PATH | OFlag::O_DIRECTORY)
                .map_err(sys(format!("opening {path}")))?;
            return Ok((fd, f.path));
        }
        Lookup::Found(f) => {
            return Err(BuildError::Msg(format!("{}: not a directory", f.path)));
        }
        Lookup::Missing { path } => path,
    };
    make_dir(root, &canonical, owner)?;
    match resolve::lookup(root, &canonical, true).map_err(sys(format!("resolving {path}")))? {
        Lookup::Found(f) if f.is_dir() => {
            let fd = f
                .open(OFlag::O_PATH | OFlag::O_DIRECTORY)
                .map_err(sys(format!("opening {path}")))?;
            Ok((fd, f.path))
        }
        _ => Err(BuildError::Msg(format!(
            "creating {path}: it changed meanwhile"
        ))),
    }
}

/// Place `items` at `dest` (absolute, inside `root`). `dest_is_dir`: the
/// destination was written with a trailing "/", or there are several
/// sources.
pub(super) fn place(
    root: BorrowedFd<'_>,
    dest: &str,
    dest_is_dir: bool,
    items: &[Item<'_>],
    p: Placement,
) -> Result<(), BuildError> {
    let owner = p.owner.unwrap_or((0, 0));
    let lookup = resolve::lookup(root, dest, true).map_err(sys(format!("resolving {dest}")))?;
    let into_dir = match &lookup {
        Lookup::Found(f) => f.is_dir(),
        Lookup::Missing { .. } => dest_is_dir || items.iter().any(|i| i.src.is_dir || i.unpack),
    };
    if into_dir {
        let (dir, shown) = dir_at(root, dest, owner)?;
        for item in items {
            put(dir.as_fd(), &shown, item, None, p)?;
        }
        return Ok(());
    }
    let [item] = items else {
        return Err(BuildError::Msg(format!("{dest}: not a directory")));
    };
    if dest_is_dir {
        return Err(BuildError::Msg(format!("{dest}: not a directory")));
    }
    if item.src.is_dir {
        return Err(BuildError::Msg(format!(
            "cannot copy a directory to the non-directory {dest}"
        )));
    }
    // One file to a file name: into the parent, under the new name.
    let target = match lookup {
        Lookup::Found(f) => f.path,
        Lookup::Missing { path } => path,
    };
    let (parent, name) = match target.rsplit_once('/') {
        Some((parent, name)) if !name.is_empty() => (parent.to_string(), name.to_string()),
        _ => return Err(BuildError::Msg(format!("{dest}: not a file name"))),
    };
    let parent = if parent.is_empty() {
        "/".to_string()
    } else {
        parent
    };
    let (dir, shown) = dir_at(root, &parent, owner)?;
    put(dir.as_fd(), &shown, item, Some(&name), p)
}

/// One item into the directory `dir`: a directory's contents, a file
/// under `name` (default: its own), or an archive's entries.
fn put(
    dir: BorrowedFd<'_>,
    shown: &str,
    item: &Item<'_>,
    name: Option<&str>,
    p: Placement,
) -> Result<(), BuildError> {
    let base = dir
        .try_clone_to_owned()
        .map_err(|e| BuildError::io("duplicating a directory fd", e))?;
    let mut x =
        Extractor::new(base, shown.to_string(), Side::Container, Owner::Keep).map_err(cp_err)?;
    if item.unpack {
        let fd = item
            .src
            .open_file()
            .map_err(sys(format!("opening {}", item.src.rel)))?;
        let mut input =
            crate::container::cp::decompress(std::io::BufReader::new(std::fs::File::from(fd)))
                .map_err(cp_err)?;
        let mut adjust = Adjust {
            inner: &mut x,
            owner: p.owner,
            chmod: p.chmod,
        };
        crate::container::cp::entry::read_tar(&mut input, &mut adjust)
            .map_err(|e| BuildError::Msg(format!("unpacking {}: {e}", item.src.rel)))?;
    } else {
        let top = match (item.src.is_dir, name) {
            (true, _) => ".".to_string(),
            (false, Some(n)) => n.to_string(),
            (false, None) => item.src.base_name(),
        };
        let mut adjust = Adjust {
            inner: &mut x,
            owner: Some(p.owner.unwrap_or((0, 0))),
            chmod: p.chmod,
        };
        item.ctx.read(&item.src, top.as_bytes(), &mut adjust)?;
    }
    x.finish().map_err(cp_err)?;
    Ok(())
}

/// Whether a file starts as an archive ADD unpacks.
pub(super) fn is_archive(src: &Source) -> bool {
    let Ok(fd) = src.open_file() else {
        return false;
    };
    let mut head = Vec::with_capacity(512);
    if std::fs::File::from(fd)
        .take(512)
        .read_to_end(&mut head)
        .is_err()
    {
        return false;
    }
    looks_like_archive(&head)
}

/// A tar, plain or compressed (gzip, xz, zstd, bzip2), by its first
/// bytes (at least 512 of them for a plain tar).
pub fn looks_like_archive(head: &[u8]) -> bool {
    head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00])
        || head.starts_with(b"BZh")
        || crate::image::archive::catalog::looks_like_layer(head, head.len() as u64)
}

/// Read a file inside `root` (following links inside it), e.g. the
/// image's /etc/passwd.
pub(super) fn read_in_root(root: BorrowedFd<'_>, path: &str) -> Option<String> {
    let Ok(Lookup::Found(f)) = resolve::lookup(root, path, true) else {
        return None;
    };
    let fd = f.open(OFlag::O_RDONLY | OFlag::O_NONBLOCK).ok()?;
    let mut s = String::new();
    std::fs::File::from(fd)
        .take(4 << 20)
        .read_to_string(&mut s)
        .ok()?;
    Some(s)
}

/// `--chown=user[:group]` through the image's /etc/passwd and /etc/group.
/// As docker: a user without a group gets the same numeric ID as its group.
pub(super) fn resolve_chown(root: BorrowedFd<'_>, spec: &str) -> Result<(u32, u32), BuildError> {
    let (user, group) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let lookup = |file: &str, name: &str, what: &str| -> Result<u32, BuildError> {
        if let Ok(n) = name.parse::<u32>() {
            return Ok(n);
        }
        let text = read_in_root(root, file).unwrap_or_default();
        text.lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f.first() == Some(&name)).then(|| f.get(2)?.parse::<u32>().ok())?
            })
            .next()
            .ok_or_else(|| {
                BuildError::Msg(format!(
                    "unable to convert uid/gid chown string to host mapping: can't find {what} with name {name:?}"
                ))
            })
    };
    let uid = lookup("/etc/passwd", user, "uid for user")?;
    let gid = match group {
        Some(g) => lookup("/etc/group", g, "gid for group")?,
        None => uid,
    };
    Ok((uid, gid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archives_are_told_by_their_first_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(1);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, "x", &b"x"[..]).unwrap();
        std::fs::write(d.join("a.tar"), b.into_inner().unwrap()).unwrap();
        std::fs::write(d.join("a.gz"), [0x1f, 0x8b, 8, 0]).unwrap();
        std::fs::write(d.join("plain.txt"), vec![b'a'; 600]).unwrap();
        let ctx = Context::from_dir(d, None).unwrap();
        let src = |n: &str| ctx.sources(n).unwrap().remove(0);
        assert!(is_archive(&src("a.tar")));
        assert!(is_archive(&src("a.gz")));
        assert!(!is_archive(&src("plain.txt")));
    }
}
