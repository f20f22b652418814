//! `cp`: files between a container and the host, with docker's rules for
//! paths (trailing "/" and "/.", existing directories, symlinks) and its
//! error texts, and with every path inside the container resolved inside
//! its root.
//!
//! The pieces: `view` opens the container's filesystem (running: its
//! mount namespace through /proc/PID/root; stopped: its overlay in a
//! private mount namespace), `resolve` walks a user's path inside that
//! root, `entry` reads a tree or a tar stream as entries and writes tar
//! streams, `extract` writes entries into a directory. This file applies
//! docker's rules (its CLI's `archive.CopyInfo*` / `PrepareArchiveCopy`
//! and its daemon's `containerArchivePath` / `containerExtractToDir`)
//! to decide what is copied, where, and under which name.

pub mod daemon;
pub(crate) mod entry;
pub(crate) mod extract;
pub(crate) mod resolve;
pub(crate) mod view;

use super::store::ContainerStore;
use super::ContainerError;
use crate::paths::Paths;
use crate::util::path::go_clean as clean;
use entry::{Metered, TarSink, TreeReader};
use extract::{Extractor, Owner, Side};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::SFlag;
use resolve::{is_type, lookup, on_pseudo_fs, Found, Lookup};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use thiserror::Error;
use view::ContainerFs;

/// Go's error strings for errno values: lower case, as docker prints them.
fn errno_text(e: Errno) -> String {
    let d = e.desc();
    let mut c = d.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

#[derive(Debug, Error)]
pub enum CpError {
    #[error("source can not be empty")]
    EmptySource,
    #[error("destination can not be empty")]
    EmptyDestination,
    #[error("must specify at least one container source")]
    NoContainer,
    #[error("copying between containers is not supported")]
    BetweenContainers,
    #[error("Could not find the file {path} in container {container}")]
    NotFound { path: String, container: String },
    #[error("no such directory")]
    DirNotExists,
    #[error("cannot copy directory")]
    CannotCopyDir,
    #[error("not a directory")]
    NotDirectory,
    #[error("extraction point is not a directory")]
    ExtractionNotDirectory,
    #[error("destination \"{0}\" must be a directory")]
    DestinationNotDirectory(String),
    #[error("destination \"{0}\" must be a directory or a regular file: got a device")]
    DestinationDevice(String),
    #[error("invalid output path: directory \"{0}\" does not exist")]
    OutputDirMissing(String),
    #[error("invalid output path: \"{0}\" must be a directory or a regular file: got a device")]
    OutputDevice(String),
    #[error("mounted volume is marked read-only")]
    VolumeReadOnly,
    #[error("container rootfs is marked read-only")]
    RootfsReadOnly,
    #[error("too many symlinks in {0}")]
    TooManySymlinks(String),
    #[error("cannot overwrite directory \"{path}\" with non-directory \"{dest}\"")]
    OverwriteDir { path: String, dest: String },
    #[error("cannot overwrite non-directory \"{path}\" with directory \"{dest}\"")]
    OverwriteNonDir { path: String, dest: String },
    #[error("\"{name}\" is outside of \"{dest}\"")]
    Breakout { name: String, dest: String },
    #[error("invalid symlink \"{path}\" -> \"{target}\"")]
    BadSymlink { path: String, target: String },
    #[error("invalid hardlink \"{path}\" -> \"{target}\"")]
    BadHardlink { path: String, target: String },
    #[error("refusing to copy through the symbolic link {0}")]
    ThroughSymlink(String),
    #[error("cannot copy into {0}: a kernel pseudo filesystem")]
    PseudoFs(String),
    #[error("cowardly refusing to write a tar stream to a terminal; redirect standard output")]
    Terminal,
    #[error("invalid tar stream: {0}")]
    Tar(#[source] std::io::Error),
    #[error("{what}: {}", errno_text(*errno))]
    Sys { what: String, errno: Errno },
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Container(#[from] ContainerError),
}

impl CpError {
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        match source.raw_os_error() {
            // Go's wording for system errors ("no such file or directory").
            Some(n) => CpError::Sys {
                what: what.into(),
                errno: Errno::from_raw(n),
            },
            None => CpError::Io {
                what: what.into(),
                source,
            },
        }
    }
}

// ---- docker's path rules (Go's path/filepath on '/' paths) -------------

/// filepath.Base.
fn base(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let t = p.trim_end_matches('/');
    if t.is_empty() {
        return "/".into();
    }
    t.rsplit('/').next().unwrap_or(t).to_string()
}

/// filepath.Dir.
fn dir(p: &str) -> String {
    match p.rfind('/').and_then(|i| p.get(..=i)) {
        Some(d) => clean(d),
        None => ".".into(),
    }
}

fn has_trailing_sep(p: &str) -> bool {
    p.ends_with('/')
}

fn specifies_current_dir(p: &str) -> bool {
    base(p) == "."
}

/// The path asks for a directory: it ends in "/" or "/.".
fn asserts_directory(p: &str) -> bool {
    has_trailing_sep(p) || specifies_current_dir(p)
}

/// archive.PreserveTrailingDotOrSeparator.
fn preserve_trailing(cleaned: &str, original: &str) -> String {
    let mut c = cleaned.to_string();
    if !specifies_current_dir(&c) && specifies_current_dir(original) {
        if !has_trailing_sep(&c) {
            c.push('/');
        }
        c.push('.');
    }
    if !has_trailing_sep(&c) && has_trailing_sep(original) {
        c.push('/');
    }
    c
}

/// archive.SplitPathDirEntry.
fn split_dir_entry(p: &str) -> (String, String) {
    let mut cleaned = clean(p);
    if specifies_current_dir(p) {
        cleaned.push_str("/.");
    }
    (dir(&cleaned), base(&cleaned))
}

/// archive.GetRebaseName: `resolved` with `path`'s trailing "/" or "/.",
/// and the name entries must carry when the last element changed.
fn rebase_name(path: &str, resolved: &str) -> (String, Option<String>) {
    let mut r = resolved.to_string();
    if specifies_current_dir(path) && !specifies_current_dir(&r) {
        r.push_str("/.");
    }
    if has_trailing_sep(path) && !has_trailing_sep(&r) {
        r.push('/');
    }
    let rebase = (base(path) != base(&r)).then(|| base(path));
    (r, rebase)
}

/// A path inside the container as docker's daemon takes it: relative to
/// "/", cleaned, trailing "/" or "/." kept.
fn container_abs(p: &str) -> String {
    preserve_trailing(&clean(&format!("/{p}")), p)
}

/// docker's `splitCpArg`: `CONTAINER:PATH` or a local path. A local path
/// with a colon must be explicit (`./a:b` or `/a:b`).
pub fn split_arg(arg: &str) -> (Option<&str>, &str) {
    if arg.starts_with('/') {
        return (None, arg);
    }
    match arg.split_once(':') {
        Some((c, p)) if !c.starts_with('.') => (Some(c), p),
        _ => (None, arg),
    }
}

/// The source as docker's `archive.CopyInfo` describes it.
#[derive(Debug, Clone)]
struct SrcInfo {
    path: String,
    is_dir: bool,
    /// -L through a symlink: entries keep the name of the link.
    rebase: Option<String>,
}

#[derive(Debug, Clone)]
struct DstInfo {
    path: String,
    exists: bool,
    is_dir: bool,
}

/// archive.PrepareArchiveCopy: the directory to extract into, and the name
/// the copied object takes there (its entries' first path element).
fn prepare(src: &SrcInfo, dst: &DstInfo) -> Result<(String, String), CpError> {
    let (dst_dir, dst_base) = split_dir_entry(&dst.path);
    let src_base = src
        .rebase
        .clone()
        .unwrap_or_else(|| split_dir_entry(&src.path).1);
    if dst.exists && dst.is_dir {
        // Into the directory; "." (from `dir/.`) means its contents.
        return Ok((dst.path.clone(), src_base));
    }
    if dst.exists && src.is_dir {
        return Err(CpError::CannotCopyDir);
    }
    if dst.exists || src.is_dir {
        return Ok((dst_dir, dst_base));
    }
    if asserts_directory(&dst.path) {
        return Err(CpError::DirNotExists);
    }
    Ok((dst_dir, dst_base))
}

// ---- the host side ----------------------------------------------------

fn lstat(p: &str) -> std::io::Result<std::fs::Metadata> {
    std::fs::symlink_metadata(p)
}

/// filepath.Abs with the trailing "/" or "/." kept (docker's resolveLocalPath).
fn local_abs(p: &str) -> Result<String, CpError> {
    let abs = if p.starts_with('/') {
        clean(p)
    } else {
        let cwd = std::env::current_dir().map_err(|e| CpError::io("getwd", e))?;
        clean(&format!("{}/{p}", cwd.to_string_lossy()))
    };
    Ok(preserve_trailing(&abs, p))
}

/// docker's ValidateOutputPath for a copy out of a container.
fn validate_output(p: &str) -> Result<(), CpError> {
    let d = dir(&clean(p));
    if d != "." && !d.is_empty() {
        if let Err(e) = std::fs::metadata(&d) {
            if e.kind() == std::io::ErrorKind::NotFound {
                return Err(CpError::OutputDirMissing(d));
            }
        }
    }
    match std::fs::metadata(p) {
        Ok(m) => {
            use std::os::unix::fs::FileTypeExt;
            let t = m.file_type();
            if t.is_block_device() || t.is_char_device() {
                return Err(CpError::OutputDevice(p.to_string()));
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(CpError::io(format!("stat {p}"), e)),
    }
}

/// archive.CopyInfoDestinationPath: a local destination, through symlinks
/// (a dangling one names the file to create); its parent must exist.
fn host_destination(p: &str) -> Result<DstInfo, CpError> {
    let original = p;
    let mut path = p.to_string();
    let mut st = lstat(&path);
    let mut n = 0u32;
    while let Ok(m) = &st {
        if !m.file_type().is_symlink() {
            break;
        }
        if n > 10 {
            return Err(CpError::TooManySymlinks(original.to_string()));
        }
        n = n.saturating_add(1);
        let target =
            std::fs::read_link(&path).map_err(|e| CpError::io(format!("readlink {path}"), e))?;
        let t = target.to_string_lossy();
        path = if t.starts_with('/') {
            t.into_owned()
        } else {
            clean(&format!("{}/{t}", split_dir_entry(&path).0))
        };
        st = lstat(&path);
    }
    match st {
        Ok(m) => Ok(DstInfo {
            path,
            exists: true,
            is_dir: m.is_dir(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let parent = split_dir_entry(&path).0;
            let m =
                std::fs::metadata(&parent).map_err(|e| CpError::io(format!("stat {parent}"), e))?;
            if !m.is_dir() {
                return Err(CpError::NotDirectory);
            }
            Ok(DstInfo {
                path,
                exists: false,
                is_dir: false,
            })
        }
        Err(e) => Err(CpError::io(format!("lstat {path}"), e)),
    }
}

/// filepath.EvalSymlinks.
fn eval_symlinks(p: &str) -> Result<String, CpError> {
    std::fs::canonicalize(p)
        .map(|r| r.to_string_lossy().into_owned())
        .map_err(|e| CpError::io(format!("lstat {p}"), e))
}

/// A directory fd and a name in it: where a tree starts.
struct Origin {
    dir: OwnedFd,
    name: std::ffi::OsString,
}

fn open_dir_path(p: &str) -> Result<OwnedFd, CpError> {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags_path()
        .open(p)
        .map(OwnedFd::from)
        .map_err(|e| CpError::io(format!("open {p}"), e))
}

/// O_PATH|O_DIRECTORY opening for `std::fs::OpenOptions`.
trait PathOpen {
    fn custom_flags_path(&mut self) -> &mut Self;
}

impl PathOpen for std::fs::OpenOptions {
    fn custom_flags_path(&mut self) -> &mut Self {
        use std::os::unix::fs::OpenOptionsExt;
        self.custom_flags(libc::O_PATH | libc::O_DIRECTORY)
    }
}

/// archive.CopyInfoSourcePath: a local source; without -L a final symlink
/// is copied as itself (those above it are followed).
fn host_source(p: &str, follow: bool) -> Result<(SrcInfo, Origin), CpError> {
    let (resolved, rebase) = if follow {
        let r = eval_symlinks(p)?;
        rebase_name(p, &r)
    } else {
        // Just past the last '/' (one byte).
        let cut = p.rfind('/').map_or(0, |i| i.saturating_add(1));
        let (d, b) = p.split_at_checked(cut).unwrap_or(("", p));
        let d = if d.is_empty() { "." } else { d };
        let rd = eval_symlinks(d)?;
        let resolved = if rd.ends_with('/') {
            format!("{rd}{b}")
        } else {
            format!("{rd}/{b}")
        };
        let rebase = (has_trailing_sep(p) && base(p) != base(&resolved)).then(|| base(p));
        (resolved, rebase)
    };
    let m = lstat(&resolved).map_err(|e| CpError::io(format!("lstat {resolved}"), e))?;
    // The object itself: a path asking for a directory is followed to it.
    let object = if asserts_directory(&resolved) {
        eval_symlinks(&resolved)?
    } else {
        resolved.clone()
    };
    let origin = if object == "/" {
        Origin {
            dir: open_dir_path("/")?,
            name: ".".into(),
        }
    } else {
        let (d, b) = split_dir_entry(&object);
        Origin {
            dir: open_dir_path(&d)?,
            name: b.into(),
        }
    };
    Ok((
        SrcInfo {
            path: p.to_string(),
            is_dir: m.is_dir(),
            rebase,
        },
        origin,
    ))
}

// ---- the container side -------------------------------------------------

fn lstat_err(abs: &str) -> impl FnOnce(Errno) -> CpError + '_ {
    move |errno| CpError::Sys {
        what: format!("lstat {abs}"),
        errno,
    }
}

/// The daemon's `containerArchivePath`: what a container path names, with
/// -L applied as docker's CLI applies it.
fn container_source(
    fs: &ContainerFs,
    src: &str,
    follow_link: bool,
    name: &str,
) -> Result<(SrcInfo, Found, String), CpError> {
    let root = fs.root();
    let mut req = src.to_string();
    let mut rebase = None;
    if follow_link {
        let abs = container_abs(&req);
        if let Ok(Lookup::Found(f)) = lookup(root, &abs, asserts_directory(&abs)) {
            if is_type(&f.st, SFlag::S_IFLNK) {
                let target = match lookup(root, &abs, true) {
                    Ok(Lookup::Found(g)) => g.path,
                    Ok(Lookup::Missing { path }) => path,
                    Err(_) => abs.clone(),
                };
                let (r, rb) = rebase_name(&req, &target);
                req = r;
                rebase = rb;
            }
        }
    }
    let abs = container_abs(&req);
    let must_dir = asserts_directory(&abs);
    let not_found = || CpError::NotFound {
        path: req.clone(),
        container: name.to_string(),
    };
    let f = match lookup(root, &abs, must_dir) {
        Ok(Lookup::Found(f)) => f,
        Ok(Lookup::Missing { .. }) | Err(Errno::ENOENT) => return Err(not_found()),
        Err(e) => return Err(lstat_err(&abs)(e)),
    };
    if must_dir && !f.is_dir() {
        return Err(lstat_err(&abs)(Errno::ENOTDIR));
    }
    // Inside /proc, /sys...: not there, as in docker's view of a container.
    if fs.running && on_pseudo_fs(f.parent.as_fd()) && f.name != "." {
        return Err(not_found());
    }
    // The daemon names the entries after the last element it was asked for.
    let top = if f.is_dir() && abs == "/" {
        ".".to_string()
    } else {
        base(&abs)
    };
    Ok((
        SrcInfo {
            path: req.clone(),
            is_dir: f.is_dir(),
            rebase,
        },
        f,
        top,
    ))
}

/// What docker's CLI learns by stat-ing a destination in the container: a
/// symlink there is followed (inside the root) to what it names.
fn container_destination(fs: &ContainerFs, dst: &str, name: &str) -> Result<DstInfo, CpError> {
    let root = fs.root();
    let abs = container_abs(dst);
    let missing = DstInfo {
        path: dst.to_string(),
        exists: false,
        is_dir: false,
    };
    let found = match lookup(root, &abs, asserts_directory(&abs)) {
        // "file/" is an error to lstat(2), so to docker a missing path.
        Ok(Lookup::Found(f)) if f.is_dir() || !asserts_directory(&abs) => f,
        _ => return Ok(missing),
    };
    let (path, f) = if is_type(&found.st, SFlag::S_IFLNK) {
        match lookup(root, &abs, true) {
            Ok(Lookup::Found(g)) => (g.path.clone(), g),
            Ok(Lookup::Missing { path }) => {
                return Ok(DstInfo {
                    path,
                    exists: false,
                    is_dir: false,
                })
            }
            Err(_) => return Ok(missing),
        }
    } else {
        (dst.to_string(), found)
    };
    if is_type(&f.st, SFlag::S_IFCHR) || is_type(&f.st, SFlag::S_IFBLK) {
        return Err(CpError::DestinationDevice(format!("{name}:{dst}")));
    }
    Ok(DstInfo {
        path,
        exists: true,
        is_dir: f.is_dir(),
    })
}

/// The daemon's `containerExtractToDir` up to the extraction: the
/// directory, all symlinks followed inside the root, writable as docker
/// checks it.
fn extraction_dir(fs: &ContainerFs, dir: &str, name: &str) -> Result<Found, CpError> {
    let abs = container_abs(dir);
    let f = match lookup(fs.root(), &abs, true) {
        Ok(Lookup::Found(f)) => f,
        Ok(Lookup::Missing { .. }) | Err(Errno::ENOENT) => {
            return Err(CpError::NotFound {
                path: dir.to_string(),
                container: name.to_string(),
            })
        }
        Err(e) => return Err(lstat_err(&abs)(e)),
    };
    if !f.is_dir() {
        return Err(CpError::ExtractionNotDirectory);
    }
    fs.check_writable(&f.path)?;
    Ok(f)
}

// ---- the operations -----------------------------------------------------

#[derive(Debug, Clone, Copy, Default)]
pub struct CopyOptions {
    /// -a: keep the source's uid/gid.
    pub archive: bool,
    /// -L: follow a symlink named as the source.
    pub follow_link: bool,
}

/// Where a copy out of a container goes.
pub enum Output<'a> {
    /// A local path.
    Path(&'a str),
    /// A tar stream (`-`).
    Stream(&'a mut dyn Write),
}

/// Where a copy into a container comes from.
pub enum Input<'a> {
    Path(&'a str),
    /// A tar stream (`-`), plain, gzip or zstd.
    Stream(&'a mut dyn Read),
}

/// What a copy did.
#[derive(Debug, Clone, Default)]
pub struct Copied {
    /// The size of the tar stream that carried it, as docker counts.
    pub bytes: u64,
    /// The destination as docker's success line names it.
    pub dest: String,
    /// Things skipped, one line each.
    pub warnings: Vec<String>,
}

/// A local side with its path made absolute, or a stream.
enum Resolved<S> {
    Path(String),
    Stream(S),
}

fn resolve_container(paths: &Paths, name: &str) -> Result<ContainerFs, CpError> {
    let c = ContainerStore::new(paths).resolve(name)?;
    ContainerFs::open(paths, &c)
}

/// `cp CONTAINER:SRC DEST|-`. `progress` hears the bytes copied so far.
pub fn copy_out(
    paths: &Paths,
    container: &str,
    src: &str,
    out: Output<'_>,
    opts: CopyOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<Copied, CpError> {
    // The local side is checked before the container is touched, as
    // docker's CLI does before asking its daemon.
    let out = match out {
        Output::Path(p) => {
            let abs = local_abs(p)?;
            validate_output(&abs)?;
            Resolved::Path(abs)
        }
        Output::Stream(w) => Resolved::Stream(w),
    };
    let fs = resolve_container(paths, container)?;
    let (src_info, found, top) = container_source(&fs, src, opts.follow_link, container)?;
    match out {
        Resolved::Stream(w) => {
            let mut counted = CountingWriter { inner: w, n: 0 };
            let mut tar = TarSink::new(&mut counted);
            TreeReader::new(&mut tar, true).read(
                found.parent.as_fd(),
                &found.name,
                top.as_bytes(),
            )?;
            tar.finish()?;
            let bytes = counted.n;
            Ok(Copied {
                bytes,
                dest: "-".into(),
                warnings: vec![],
            })
        }
        Resolved::Path(dst) => {
            let dst_info = host_destination(&dst)?;
            let (dst_dir, top) = prepare(&src_info, &dst_info)?;
            let base = open_dir_path(&dst_dir)?;
            let owner = if opts.archive {
                Owner::Keep
            } else {
                Owner::Caller
            };
            let mut x = Extractor::new(base, clean(&dst_dir), Side::Host, owner)?;
            let mut m = Metered {
                inner: &mut x,
                total: 0,
                report: progress,
            };
            TreeReader::new(&mut m, true).read(
                found.parent.as_fd(),
                &found.name,
                top.as_bytes(),
            )?;
            m.finish();
            let bytes = m.total;
            let warnings = x.finish()?;
            Ok(Copied {
                bytes,
                dest: dst,
                warnings,
            })
        }
    }
}

/// `cp SRC|- CONTAINER:DEST`.
pub fn copy_in(
    paths: &Paths,
    input: Input<'_>,
    container: &str,
    dst: &str,
    opts: CopyOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<Copied, CpError> {
    let input = match input {
        Input::Path(p) => Resolved::Path(local_abs(p)?),
        Input::Stream(r) => Resolved::Stream(r),
    };
    let fs = resolve_container(paths, container)?;
    let dst_info = container_destination(&fs, dst, container)?;
    let dest = format!("{container}:{}", dst_info.path);
    // Without -a, what lands in the container belongs to its root, as
    // docker documents it.
    let owner = if opts.archive {
        Owner::Keep
    } else {
        Owner::Fixed(0, 0)
    };
    match input {
        Resolved::Stream(r) => {
            if !(dst_info.exists && dst_info.is_dir) {
                return Err(CpError::DestinationNotDirectory(format!(
                    "{container}:{dst}"
                )));
            }
            let (bytes, warnings) =
                extract_stream(&fs, &dst_info.path, container, r, owner, progress)?;
            Ok(Copied {
                bytes,
                dest,
                warnings,
            })
        }
        Resolved::Path(src) => {
            let (src_info, origin) = host_source(&src, opts.follow_link)?;
            let (dst_dir, top) = prepare(&src_info, &dst_info)?;
            let f = extraction_dir(&fs, &dst_dir, container)?;
            let base = f
                .open(OFlag::O_PATH | OFlag::O_DIRECTORY)
                .map_err(entry::sys(format!("open {}", f.path)))?;
            let mut x = Extractor::new(base, f.path.clone(), Side::Container, owner)?;
            let mut m = Metered {
                inner: &mut x,
                total: 0,
                report: progress,
            };
            TreeReader::new(&mut m, true).read(origin.dir.as_fd(), &origin.name, top.as_bytes())?;
            m.finish();
            let bytes = m.total;
            let warnings = x.finish()?;
            Ok(Copied {
                bytes,
                dest,
                warnings,
            })
        }
    }
}

/// The daemon's `containerExtractToDir`: a tar stream (plain or
/// compressed) extracted into the directory `dir` names in the container.
/// Returns the bytes read and the things skipped.
fn extract_stream(
    fs: &ContainerFs,
    dir: &str,
    container: &str,
    r: &mut dyn Read,
    owner: Owner,
    progress: &mut dyn FnMut(u64),
) -> Result<(u64, Vec<String>), CpError> {
    let f = extraction_dir(fs, dir, container)?;
    let base = f
        .open(OFlag::O_PATH | OFlag::O_DIRECTORY)
        .map_err(entry::sys(format!("open {}", f.path)))?;
    let mut counting = CountingReader {
        inner: r,
        n: 0,
        report: progress,
    };
    let mut x = Extractor::new(base, f.path.clone(), Side::Container, owner)?;
    {
        let mut input = decompress(BufReader::with_capacity(64 * 1024, &mut counting))?;
        entry::read_tar(&mut input, &mut x)?;
    }
    let warnings = x.finish()?;
    Ok((counting.n, warnings))
}

struct CountingWriter<'a> {
    inner: &'a mut dyn Write,
    n: u64,
}

impl Write for CountingWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.n = self.n.saturating_add(n as u64);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

struct CountingReader<'a, 'b> {
    inner: &'a mut dyn Read,
    n: u64,
    report: &'b mut dyn FnMut(u64),
}

impl Read for CountingReader<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.n = self.n.saturating_add(n as u64);
        (self.report)(self.n);
        Ok(n)
    }
}

/// A tar stream from stdin, decompressed as docker's daemon does for the
/// formats rdock can read.
pub(crate) fn decompress<'a, R: BufRead + 'a>(mut r: R) -> Result<Box<dyn Read + 'a>, CpError> {
    let head = r
        .fill_buf()
        .map_err(|e| CpError::io("reading the tar stream", e))?
        .to_vec();
    if head.starts_with(&[0x1f, 0x8b]) {
        return Ok(Box::new(flate2::bufread::MultiGzDecoder::new(r)));
    }
    if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        let d = zstd::stream::read::Decoder::with_buffer(r)
            .map_err(|e| CpError::io("reading the tar stream", e))?;
        return Ok(Box::new(d));
    }
    if head.starts_with(b"BZh") {
        return Ok(Box::new(bzip2::bufread::MultiBzDecoder::new(r)));
    }
    if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        return Ok(Box::new(liblzma::bufread::XzDecoder::new_multi_decoder(r)));
    }
    Ok(Box::new(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_path_functions() {
        assert_eq!(clean("/a/b/../c/./"), "/a/c");
        assert_eq!(clean("a/../../b"), "../b");
        assert_eq!(clean("/../x"), "/x");
        assert_eq!(clean(""), ".");
        assert_eq!(base("/a/b/"), "b");
        assert_eq!(base("/"), "/");
        assert_eq!(base("a/."), ".");
        assert_eq!(dir("/a/b"), "/a");
        assert_eq!(dir("/a"), "/");
        assert_eq!(dir("a"), ".");
        assert_eq!(split_dir_entry("/a/b/."), ("/a/b".into(), ".".into()));
        assert_eq!(split_dir_entry("/a/b/"), ("/a".into(), "b".into()));
        assert_eq!(split_dir_entry("/."), ("/".into(), ".".into()));
        assert_eq!(container_abs("tmp/x/"), "/tmp/x/");
        assert_eq!(container_abs("/tmp/x/."), "/tmp/x/.");
        assert_eq!(container_abs("../../etc"), "/etc");
        assert_eq!(container_abs(""), "/.");
        assert_eq!(
            rebase_name("/l", "/t/real"),
            ("/t/real".into(), Some("l".into()))
        );
        assert_eq!(
            rebase_name("/l/", "/t/real"),
            ("/t/real/".into(), Some("l".into()))
        );
        assert_eq!(rebase_name("/l/.", "/t/real"), ("/t/real/.".into(), None));
    }

    #[test]
    fn docker_splits_cp_arguments() {
        assert_eq!(split_arg("c:/etc"), (Some("c"), "/etc"));
        assert_eq!(split_arg("c:"), (Some("c"), ""));
        assert_eq!(split_arg("/abs:file"), (None, "/abs:file"));
        assert_eq!(split_arg("./rel:file"), (None, "./rel:file"));
        assert_eq!(split_arg("plain"), (None, "plain"));
        assert_eq!(split_arg("-"), (None, "-"));
    }

    fn src(path: &str, is_dir: bool) -> SrcInfo {
        SrcInfo {
            path: path.into(),
            is_dir,
            rebase: None,
        }
    }
    fn dst(path: &str, exists: bool, is_dir: bool) -> DstInfo {
        DstInfo {
            path: path.into(),
            exists,
            is_dir,
        }
    }

    #[test]
    fn docker_copy_rules() {
        let p = |s: SrcInfo, d: DstInfo| prepare(&s, &d).map_err(|e| e.to_string());
        // File to a missing path: created under that name.
        assert_eq!(
            p(src("/a/f", false), dst("/d/new", false, false)),
            Ok(("/d".into(), "new".into()))
        );
        // ... ending in "/": the directory must exist.
        assert_eq!(
            p(src("/a/f", false), dst("/d/new/", false, false)),
            Err("no such directory".into())
        );
        // File over a file: overwritten, under the destination's name.
        assert_eq!(
            p(src("/a/f", false), dst("/d/g", true, false)),
            Ok(("/d".into(), "g".into()))
        );
        // File into a directory: its own name.
        assert_eq!(
            p(src("/a/f", false), dst("/d", true, true)),
            Ok(("/d".into(), "f".into()))
        );
        // Directory to a missing path: created as that directory.
        assert_eq!(
            p(src("/a/s", true), dst("/d/new", false, false)),
            Ok(("/d".into(), "new".into()))
        );
        assert_eq!(
            p(src("/a/s/.", true), dst("/d/new", false, false)),
            Ok(("/d".into(), "new".into()))
        );
        // Directory over a file: error.
        assert_eq!(
            p(src("/a/s", true), dst("/d/g", true, false)),
            Err("cannot copy directory".into())
        );
        // Directory into a directory: as a subdirectory, or its contents with "/.".
        assert_eq!(
            p(src("/a/s", true), dst("/d", true, true)),
            Ok(("/d".into(), "s".into()))
        );
        assert_eq!(
            p(src("/a/s/", true), dst("/d", true, true)),
            Ok(("/d".into(), "s".into()))
        );
        assert_eq!(
            p(src("/a/s/.", true), dst("/d", true, true)),
            Ok(("/d".into(), ".".into()))
        );
        // -L: the link's name.
        let mut s = src("/t/real", false);
        s.rebase = Some("link".into());
        assert_eq!(
            p(s, dst("/d", true, true)),
            Ok(("/d".into(), "link".into()))
        );
    }
}
