//! The build context: the directory (or the tar on stdin, unpacked) that
//! COPY and ADD take their sources from, seen through `.dockerignore`.
//!
//! A context directory is read in place, never copied: docker's CLI sends
//! it whole to its daemon, but a daemonless build reads only what COPY
//! names. Every source is resolved from the context's root fd one name at
//! a time (`cp::resolve::lookup_confined`), so neither `..` nor a symlink
//! can lead out of it: such a source is an error, where docker would
//! resolve the link inside the context.

use super::ignore::{glob_match, has_glob_meta, Matcher};
use super::BuildError;
use crate::container::cp::entry::{Entry, Kind, Sink, TreeReader};
use crate::container::cp::resolve::{self, Lookup};
use crate::container::cp::CpError;
use crate::util::path::clean_rel;
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::SFlag;
use sha2::{Digest, Sha256};
use std::ffi::OsString;
use std::io::Read;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

pub struct Context {
    root: OwnedFd,
    /// A build context: links may not lead out of it. An image's rootfs
    /// (`COPY --from`): absolute links resolve inside it, as they would
    /// in a container.
    confined: bool,
    /// As the user named it, for messages.
    pub dir: PathBuf,
    ignore: Matcher,
    /// A context unpacked from a stream lives in the store's tmp/ and is
    /// removed with the context.
    temp: Option<PathBuf>,
}

impl Drop for Context {
    fn drop(&mut self) {
        if let Some(t) = &self.temp {
            let _ = crate::image::layer::remove_tree(t);
        }
    }
}

/// One object a COPY/ADD source names.
pub struct Source {
    /// Its path in the context ("a/b"; "" for the root), links resolved.
    pub rel: String,
    pub parent: OwnedFd,
    pub name: OsString,
    pub is_dir: bool,
    pub is_file: bool,
}

impl Source {
    pub fn open_file(&self) -> Result<OwnedFd, Errno> {
        resolve::open_at(
            self.parent.as_fd(),
            &self.name,
            OFlag::O_RDONLY | OFlag::O_NONBLOCK,
        )
    }

    /// The name a copy of it gets in a destination directory.
    pub fn base_name(&self) -> String {
        self.rel.rsplit('/').next().unwrap_or_default().to_string()
    }
}

/// The most of a Dockerfile or .dockerignore read from a context.
const MAX_CONTROL_FILE: u64 = 16 << 20;

fn open_dir(p: &Path) -> Result<OwnedFd, BuildError> {
    let fd = nix::fcntl::open(
        p,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| {
        BuildError::Msg(format!(
            "unable to prepare context: path {:?} not found: {e}",
            p.display().to_string()
        ))
    })?;
    // SAFETY: open just returned this fd and nothing else owns it.
    Ok(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) })
}

impl Context {
    /// A directory, with the ignore file's text if there is one.
    pub fn from_dir(dir: &Path, ignore: Option<&str>) -> Result<Context, BuildError> {
        let root = open_dir(dir)?;
        let ignore = Matcher::parse(ignore.unwrap_or(""))
            .map_err(|e| BuildError::Msg(format!("failed to parse .dockerignore: {e}")))?;
        Ok(Context {
            root,
            confined: true,
            dir: dir.to_path_buf(),
            ignore,
            temp: None,
        })
    }

    /// An image's rootfs, already open (`COPY --from`).
    pub fn from_root(root: OwnedFd, label: &str) -> Context {
        Context {
            root,
            confined: false,
            dir: PathBuf::from(label),
            ignore: Matcher::default(),
            temp: None,
        }
    }

    /// Apply the context's own `.dockerignore`, read inside it: in a
    /// context from a tar or a git repository it may be a link anywhere,
    /// or no regular file at all.
    pub fn use_own_ignore_file(&mut self) -> Result<(), BuildError> {
        let text = self
            .read_file(".dockerignore")
            .map(|d| String::from_utf8_lossy(&d).into_owned())
            .unwrap_or_default();
        self.ignore = Matcher::parse(&text)
            .map_err(|e| BuildError::Msg(format!("failed to parse .dockerignore: {e}")))?;
        Ok(())
    }

    /// Take ownership of a temp dir: removed with the context.
    pub fn own_temp(&mut self, dir: PathBuf) {
        self.temp = Some(dir);
    }

    fn lookup(&self, rel: &str) -> Result<Lookup, Errno> {
        if self.confined {
            resolve::lookup_confined(self.root.as_fd(), rel, true)
        } else {
            resolve::lookup(self.root.as_fd(), rel, true)
        }
    }

    /// A tar stream (plain or compressed) unpacked into `temp`, which the
    /// context then owns. Its `.dockerignore` applies as for a directory.
    pub fn from_tar(input: &mut dyn Read, temp: PathBuf) -> Result<Context, BuildError> {
        let cleanup = |e: BuildError| {
            let _ = crate::image::layer::remove_tree(&temp);
            e
        };
        crate::util::mkdirs_private(&temp)
            .map_err(|e| BuildError::io("creating the context directory", e))?;
        let base = open_dir(&temp).map_err(cleanup)?;
        let unpack = || -> Result<(), CpError> {
            let mut x = crate::container::cp::extract::Extractor::new(
                base,
                "build context".into(),
                crate::container::cp::extract::Side::Host,
                crate::container::cp::extract::Owner::Keep,
            )?;
            let mut r = crate::container::cp::decompress(std::io::BufReader::new(input))?;
            crate::container::cp::entry::read_tar(&mut r, &mut x)?;
            x.finish()?;
            Ok(())
        };
        unpack()
            .map_err(|e| BuildError::Msg(format!("unpacking the build context: {e}")))
            .map_err(cleanup)?;
        let mut ctx = Context::from_dir(&temp, None).map_err(cleanup)?;
        ctx.dir = PathBuf::from("-");
        ctx.temp = Some(temp);
        ctx.use_own_ignore_file()?;
        Ok(ctx)
    }

    /// No context at all (a Dockerfile on stdin): an empty directory.
    pub fn empty(temp: PathBuf) -> Result<Context, BuildError> {
        crate::util::mkdirs_private(&temp)
            .map_err(|e| BuildError::io("creating the context directory", e))?;
        let mut ctx = Context::from_dir(&temp, None)?;
        ctx.temp = Some(temp);
        Ok(ctx)
    }

    /// A file of the context (the Dockerfile of a tar context), whether
    /// or not .dockerignore excludes it.
    pub fn read_file(&self, rel: &str) -> Option<Vec<u8>> {
        let rel = clean_rel(rel)?;
        let found = match self.lookup(&rel).ok()? {
            Lookup::Found(f) => f,
            Lookup::Missing { .. } => return None,
        };
        // Regular files only (a FIFO would hang, a device never end), and
        // no more than any real Dockerfile or ignore file needs.
        let fd = found.open(OFlag::O_RDONLY | OFlag::O_NONBLOCK).ok()?;
        let file = std::fs::File::from(fd);
        if !file.metadata().ok()?.is_file() {
            return None;
        }
        let mut data = Vec::new();
        file.take(MAX_CONTROL_FILE).read_to_end(&mut data).ok()?;
        Some(data)
    }

    pub fn excluded(&self, rel: &str) -> bool {
        !rel.is_empty() && self.ignore.excluded(rel)
    }

    /// The objects a COPY/ADD source names: one path, or every match of a
    /// pattern (sorted). Errors as docker's when nothing is there.
    pub fn sources(&self, src: &str) -> Result<Vec<Source>, BuildError> {
        let rel = clean_rel(src.trim_start_matches('/')).ok_or_else(|| {
            BuildError::Msg(format!("forbidden path outside the build context: {src}"))
        })?;
        if !has_glob_meta(&rel) {
            return Ok(vec![self.source(&rel, src)?]);
        }
        let mut found: Vec<String> = vec![String::new()];
        for pat in rel.split('/') {
            let mut next = Vec::new();
            for prefix in &found {
                if !has_glob_meta(pat) {
                    next.push(join(prefix, pat));
                    continue;
                }
                let Ok(Lookup::Found(dir)) = self.lookup(prefix) else {
                    continue;
                };
                if !dir.is_dir() {
                    continue;
                }
                let fd = dir
                    .open(OFlag::O_RDONLY | OFlag::O_DIRECTORY)
                    .map_err(|e| {
                        BuildError::Msg(format!("reading {prefix:?} in the build context: {e}"))
                    })?;
                for name in list(fd.as_fd())? {
                    let matched = glob_match(pat, &name)
                        .map_err(|e| BuildError::Msg(format!("invalid pattern {src:?}: {e}")))?;
                    if matched {
                        next.push(join(prefix, &name));
                    }
                }
            }
            found = next;
        }
        found.sort();
        let mut out = Vec::new();
        for rel in found {
            if self.excluded(&rel) {
                continue;
            }
            match self.source(&rel, src) {
                Ok(s) => out.push(s),
                Err(BuildError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        if out.is_empty() {
            return Err(BuildError::NotFound(src.to_string()));
        }
        Ok(out)
    }

    fn source(&self, rel: &str, shown: &str) -> Result<Source, BuildError> {
        let outside = || {
            BuildError::Msg(format!(
                "forbidden path outside the build context: {shown} (a symlink leads out of the context)"
            ))
        };
        let found = match self.lookup(rel) {
            Ok(Lookup::Found(f)) => f,
            Ok(Lookup::Missing { .. }) | Err(Errno::ENOTDIR) => {
                return Err(BuildError::NotFound(shown.to_string()))
            }
            Err(Errno::EXDEV) => return Err(outside()),
            Err(e) => {
                return Err(BuildError::Msg(format!(
                    "looking up {shown:?} in the build context: {e}"
                )))
            }
        };
        let canonical = found.path.trim_start_matches('/').to_string();
        if self.excluded(&canonical) || (rel != canonical && self.excluded(rel)) {
            return Err(BuildError::NotFound(shown.to_string()));
        }
        let is_dir = found.is_dir();
        let is_file = resolve::is_type(&found.st, SFlag::S_IFREG);
        Ok(Source {
            rel: canonical,
            parent: found.parent,
            name: found.name,
            is_dir,
            is_file,
        })
    }

    /// Feed `s` and (for a directory) what is below it, minus what
    /// .dockerignore excludes, to `sink`, names starting at `top`.
    pub fn read(&self, s: &Source, top: &[u8], sink: &mut dyn Sink) -> Result<(), BuildError> {
        let base = s.rel.clone();
        let filter = move |below: &[u8], is_dir: bool| -> bool {
            let below = String::from_utf8_lossy(below);
            let rel = join(&base, &below);
            !self.ignore.excluded(&rel) || (is_dir && self.ignore.must_descend(&rel))
        };
        let mut r = TreeReader::new(sink, false);
        if !self.ignore.is_empty() {
            r.filter = Some(&filter);
        }
        r.read(s.parent.as_fd(), &s.name, top).map_err(|e| {
            BuildError::Msg(format!(
                "reading {} in the build context: {e}",
                shown(&s.rel)
            ))
        })
    }

    /// Add `s` to a cache key: names, types, modes, link targets and
    /// contents (not times nor owners, which COPY does not keep).
    pub fn hash(&self, s: &Source, h: &mut Sha256) -> Result<(), BuildError> {
        let mut sink = Hasher { h };
        self.read(s, b".", &mut sink)
    }
}

fn shown(rel: &str) -> &str {
    if rel.is_empty() {
        "."
    } else {
        rel
    }
}

fn join(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_string(),
        (_, true) => a.to_string(),
        _ => format!("{a}/{b}"),
    }
}

fn list(dir: BorrowedFd<'_>) -> Result<Vec<String>, BuildError> {
    let d = nix::dir::Dir::openat(
        Some(std::os::fd::AsRawFd::as_raw_fd(&dir)),
        ".",
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| BuildError::Msg(format!("reading the build context: {e}")))?;
    let mut names = Vec::new();
    for ent in d.into_iter().flatten() {
        let n = ent.file_name().to_bytes();
        if n != b"." && n != b".." {
            names.push(String::from_utf8_lossy(n).into_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// A sink that hashes what a copy would write.
pub struct Hasher<'a> {
    pub h: &'a mut Sha256,
}

impl Sink for Hasher<'_> {
    fn put(&mut self, e: &Entry, data: &mut dyn Read) -> Result<(), CpError> {
        let h = &mut *self.h;
        h.update((e.name.len() as u64).to_le_bytes());
        h.update(&e.name);
        let (tag, extra): (u8, &[u8]) = match &e.kind {
            Kind::File => (b'f', b""),
            Kind::Dir => (b'd', b""),
            Kind::Symlink(t) => (b'l', t),
            Kind::Hardlink(t) => (b'h', t),
            Kind::Fifo => (b'p', b""),
            Kind::Char(_) => (b'c', b""),
            Kind::Block(_) => (b'b', b""),
        };
        h.update([tag]);
        h.update((extra.len() as u64).to_le_bytes());
        h.update(extra);
        h.update(e.mode.to_le_bytes());
        h.update(e.size.to_le_bytes());
        let mut buf = [0u8; 64 * 1024];
        let read_err = |err| CpError::io(format!("read {}", String::from_utf8_lossy(&e.name)), err);
        loop {
            let n = data.read(&mut buf).map_err(read_err)?;
            if n == 0 {
                break;
            }
            h.update(crate::util::filled(&buf, n).map_err(read_err)?);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_clean_as_go() {
        assert_eq!(clean_rel("a/./b/../c/").as_deref(), Some("a/c"));
        assert_eq!(clean_rel("").as_deref(), Some(""));
        assert_eq!(clean_rel("../x"), None);
        assert_eq!(clean_rel("a/../../x"), None);
    }

    #[test]
    fn sources_stay_in_the_context() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("sub")).unwrap();
        std::fs::write(d.join("a.txt"), "a").unwrap();
        std::fs::write(d.join("b.txt"), "b").unwrap();
        std::fs::write(d.join("sub/c.txt"), "c").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", d.join("abs")).unwrap();
        std::os::unix::fs::symlink("../../etc/passwd", d.join("sub/up")).unwrap();
        std::os::unix::fs::symlink("sub/c.txt", d.join("inside")).unwrap();
        let ctx = Context::from_dir(d, Some("b.txt\n")).unwrap();
        let names = |s: &str| -> Vec<String> {
            ctx.sources(s)
                .unwrap()
                .iter()
                .map(|s| s.rel.clone())
                .collect()
        };
        assert_eq!(names("*.txt"), ["a.txt"]);
        assert_eq!(names("/sub/*.txt"), ["sub/c.txt"]);
        assert_eq!(names("inside"), ["sub/c.txt"]);
        assert_eq!(names("."), [""]);
        assert!(matches!(ctx.sources("b.txt"), Err(BuildError::NotFound(_))));
        assert!(matches!(ctx.sources("nope*"), Err(BuildError::NotFound(_))));
        for bad in ["abs", "sub/up", "../x"] {
            let e = ctx.sources(bad).err().unwrap().to_string();
            assert!(e.contains("outside the build context"), "{bad}: {e}");
        }
    }

    #[test]
    fn hashes_see_content_and_mode_but_not_ignored_files() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("src")).unwrap();
        std::fs::write(d.join("src/x"), "1").unwrap();
        std::fs::write(d.join("src/skip.log"), "1").unwrap();
        let hash = |ignore: &str| {
            let ctx = Context::from_dir(d, Some(ignore)).unwrap();
            let mut h = Sha256::new();
            for s in ctx.sources("src").unwrap() {
                ctx.hash(&s, &mut h).unwrap();
            }
            hex::encode(h.finalize())
        };
        let first = hash("*/*.log");
        std::fs::write(d.join("src/skip.log"), "2").unwrap();
        assert_eq!(hash("*/*.log"), first);
        assert_ne!(hash(""), first);
        std::fs::set_permissions(d.join("src/x"), std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_ne!(hash("*/*.log"), first);
        std::fs::set_permissions(d.join("src/x"), std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::write(d.join("src/x"), "2").unwrap();
        assert_ne!(hash("*/*.log"), first);
    }
}
