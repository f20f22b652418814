//! Files rdock keeps: explicit modes whatever the umask, atomic writes,
//! flocks.

use super::random_hex;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Modes of what rdock keeps for itself: the store, run-time state, locks,
/// configs, logs, sockets. Nobody but their owner may read or traverse them
/// (a container's upper dir holds whatever setuid files it made: docker's
/// CVE-2021-41091).
pub const PRIVATE_DIR: u32 = 0o700;
pub const PRIVATE_FILE: u32 = 0o600;

/// The umask rdock runs with, whatever its caller's: modes given here and
/// in tar headers are the modes files get (and a container's processes
/// start with docker's 022). The caller's is kept for the files a user
/// asks for by name (`--cidfile`, `--iidfile`).
const UMASK: libc::mode_t = 0o022;
static CALLER_UMASK: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(UMASK);

/// Set the process's umask to rdock's; called first thing in `main`.
pub fn fix_umask() {
    // SAFETY: umask cannot fail.
    let old = unsafe { libc::umask(UMASK) };
    CALLER_UMASK.store(old, std::sync::atomic::Ordering::Relaxed);
}

/// Create a file the user named (`exclusive`: only if none is there;
/// otherwise truncate one), with `mode` less the umask rdock was started
/// with, as the docker client would.
pub fn create_user_file(path: &Path, mode: u32, exclusive: bool) -> io::Result<File> {
    let f = OpenOptions::new()
        .write(true)
        .create(true)
        .create_new(exclusive)
        .truncate(!exclusive)
        .mode(mode)
        .open(path)?;
    let m = mode & !CALLER_UMASK.load(std::sync::atomic::Ordering::Relaxed);
    if m != mode {
        f.set_permissions(fs::Permissions::from_mode(m))?;
    }
    Ok(f)
}

/// `create_dir_all` where every dir it makes gets `mode`.
pub fn mkdirs(dir: &Path, mode: u32) -> io::Result<()> {
    fs::DirBuilder::new().recursive(true).mode(mode).create(dir)
}

/// `mkdirs` with PRIVATE_DIR: the dirs of the store and the runroot.
pub fn mkdirs_private(dir: &Path) -> io::Result<()> {
    mkdirs(dir, PRIVATE_DIR)
}

/// Make `dir` (a store root or runroot) exist, owned by this user and
/// closed to everyone else. An existing one with a looser mode is
/// tightened (stores made by older rdock versions were 0755); one owned by
/// another user is refused: its owner could swap what is in it.
pub fn secure_root_dir(dir: &Path) -> io::Result<()> {
    let meta = match fs::metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if let Some(parent) = dir.parent() {
                fs::create_dir_all(parent)?;
            }
            match fs::DirBuilder::new().mode(PRIVATE_DIR).create(dir) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
            fs::metadata(dir)?
        }
        Err(e) => return Err(e),
    };
    if !meta.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a directory",
        ));
    }
    // SAFETY: geteuid cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "owned by uid {}, not {me}: refusing to keep containers there",
                meta.uid()
            ),
        ));
    }
    if meta.mode() & 0o7777 != PRIVATE_DIR {
        fs::set_permissions(dir, fs::Permissions::from_mode(PRIVATE_DIR))?;
    }
    Ok(())
}

/// Write a new file with `mode` (replacing any file there).
pub fn write_mode(path: &Path, data: &[u8], mode: u32) -> io::Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)?;
    f.write_all(data)
}

/// A temp file beside `path`, created with PRIVATE_FILE: a secret is never
/// readable by others, not even before the rename.
fn temp_beside(path: &Path) -> io::Result<(std::path::PathBuf, File)> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{}.tmp{}", name, random_hex(4)));
    let f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(PRIVATE_FILE)
        .open(&tmp)?;
    Ok((tmp, f))
}

/// Write `data` to `path` atomically: temp file in the same directory, fsync,
/// rename. A crash leaves either the old or the new content. The file is
/// PRIVATE_FILE.
pub fn atomic_write(path: &Path, data: &[u8]) -> io::Result<()> {
    let (tmp, mut f) = temp_beside(path)?;
    let res = (|| {
        f.write_all(data)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if res.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    res
}

/// Put `data` at `path` unless a file is there already: written aside,
/// then linked into place, so a crash never leaves a partial file and of
/// two writers exactly one wins. Ok(false): another's file was there.
pub fn write_once(path: &Path, data: &[u8]) -> io::Result<bool> {
    let (tmp, mut f) = temp_beside(path)?;
    let res = f.write_all(data).and_then(|_| fs::hard_link(&tmp, path));
    let _ = fs::remove_file(&tmp);
    match res {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

/// Like `atomic_write` but without fsync: for state that a crash may lose
/// without harm (it is recomputed from /proc), kept off the hot path.
pub fn replace_file(path: &Path, data: &[u8]) -> io::Result<()> {
    let (tmp, mut f) = temp_beside(path)?;
    let res = f.write_all(data).and_then(|_| fs::rename(&tmp, path));
    if res.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    res
}

/// An exclusive flock held until dropped.
pub struct FileLock {
    file: File,
}

impl FileLock {
    pub fn exclusive(path: &Path) -> io::Result<FileLock> {
        Self::hold_mode(Self::open_file(path)?, libc::LOCK_EX)
    }

    /// A shared lock: many holders, none while an exclusive one is held.
    pub fn shared(path: &Path) -> io::Result<FileLock> {
        Self::hold_mode(Self::open_file(path)?, libc::LOCK_SH)
    }

    /// The exclusive lock if nobody holds the file; None otherwise.
    pub fn try_exclusive(path: &Path) -> io::Result<Option<FileLock>> {
        Self::try_exclusive_on(Self::open_file(path)?)
    }

    /// `try_exclusive` of a file the caller opened.
    pub fn try_exclusive_on(file: File) -> io::Result<Option<FileLock>> {
        match Self::hold_mode(file, libc::LOCK_EX | libc::LOCK_NB) {
            Ok(l) => Ok(Some(l)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The locked file.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// Lock files are PRIVATE_FILE: anyone who can open one can hold its
    /// flock forever (a read-only fd suffices) and stall every rdock.
    fn open_file(path: &Path) -> io::Result<File> {
        if let Some(dir) = path.parent() {
            mkdirs_private(dir)?;
        }
        OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .mode(PRIVATE_FILE)
            .open(path)
    }

    /// Lock a directory that must already exist (no lock file: on a
    /// journal-less ext4 each new inode of a `run` costs a scan past every
    /// recently deleted one). Fails with NotFound when the dir is gone.
    pub fn on_dir(path: &Path) -> io::Result<FileLock> {
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY)
            .open(path)?;
        Self::hold(file)
    }

    /// Lock a file the caller opened.
    pub fn exclusive_on(file: File) -> io::Result<FileLock> {
        Self::hold(file)
    }

    fn hold(file: File) -> io::Result<FileLock> {
        Self::hold_mode(file, libc::LOCK_EX)
    }

    fn hold_mode(file: File, mode: libc::c_int) -> io::Result<FileLock> {
        loop {
            // SAFETY: flock on a valid open fd.
            let r = unsafe { libc::flock(file.as_raw_fd(), mode) };
            if r == 0 {
                break;
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
        Ok(FileLock { file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn write_once_keeps_the_first_and_leaves_nothing_aside() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("id");
        assert!(write_once(&p, b"one").unwrap());
        assert!(!write_once(&p, b"two").unwrap());
        assert_eq!(fs::read(&p).unwrap(), b"one");
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            PRIVATE_FILE
        );
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
