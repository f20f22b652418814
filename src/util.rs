//! Small helpers shared across modules: file modes, atomic file writes,
//! file locks, random identifiers.

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
    _file: File,
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
        let file = Self::open_file(path)?;
        match Self::hold_mode(file, libc::LOCK_EX | libc::LOCK_NB) {
            Ok(l) => Ok(Some(l)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(e),
        }
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

    /// Lock a file the caller opened (with the mode it wants).
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
        Ok(FileLock { _file: file })
    }
}

/// Bytes of the regular files under `dir` (not following symlinks), as
/// docker counts a container's writable layer.
pub fn tree_size(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let Ok(m) = e.metadata() else { continue };
            if m.is_dir() {
                stack.push(e.path());
            } else if m.is_file() {
                total = m.len().saturating_add(total);
            }
        }
    }
    total
}

/// The instant `d` from now. A `d` beyond what an Instant holds
/// (centuries) gives a year from now: as good as never for a timeout.
pub fn deadline_in(d: std::time::Duration) -> std::time::Instant {
    let now = std::time::Instant::now();
    now.checked_add(d)
        .or_else(|| now.checked_add(std::time::Duration::from_secs(365 * 24 * 3600)))
        .unwrap_or(now)
}

/// The first `n` characters of `s` (all of it when shorter).
pub fn first_chars(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((end, _)) => s.get(..end).unwrap_or(s),
        None => s,
    }
}

/// The bytes a `read` into `buf` reported filling. A reader claiming more
/// than the buffer breaks Read's contract: an error rather than a panic.
pub fn filled(buf: &[u8], n: usize) -> io::Result<&[u8]> {
    buf.get(..n)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "read past the buffer"))
}

/// rdock's settings file when `$RDOCK_DAEMON_CONFIG` names none.
pub const DAEMON_JSON: &str = "/etc/rdock/daemon.json";

/// rdock's settings file (docker's daemon.json keys): `$RDOCK_DAEMON_CONFIG`
/// or /etc/rdock/daemon.json, read and parsed once per process (a `run`
/// consults it for the bridge, the registry and userns-remap). No file is
/// an empty object; one that cannot be read or parsed is an error naming
/// it, since ignoring it would send traffic or ids where the user did not
/// mean them to go.
pub fn daemon_json() -> std::result::Result<&'static serde_json::Value, String> {
    static JSON: std::sync::OnceLock<std::result::Result<serde_json::Value, String>> =
        std::sync::OnceLock::new();
    JSON.get_or_init(|| {
        let path = std::env::var("RDOCK_DAEMON_CONFIG").unwrap_or_else(|_| DAEMON_JSON.into());
        match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| format!("{path}: {e}")),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(serde_json::json!({})),
            Err(e) => Err(format!("{path}: {e}")),
        }
    })
    .as_ref()
    .map_err(Clone::clone)
}

/// The process's stdout, where a closed pipe ends the process by SIGPIPE
/// (quietly, exit status 141 to a shell), as Go ends the docker CLI:
/// Rust ignores SIGPIPE, and std's `println!` would panic instead.
/// Not for the foreground run's output proxy, which must outlive its
/// reader to reap the container.
pub struct QuietStdout;

impl Write for QuietStdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        io::stdout().lock().write(buf).map_err(stdout_failed)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        io::stdout().lock().write_all(buf).map_err(stdout_failed)
    }
    fn flush(&mut self) -> io::Result<()> {
        io::stdout().lock().flush().map_err(stdout_failed)
    }
}

/// The first error writing stdout (a full disk under `> file`): `main`
/// reports it once the command is done, rather than the output going
/// missing without a word.
pub static STDOUT_ERROR: std::sync::OnceLock<String> = std::sync::OnceLock::new();

fn stdout_failed(e: io::Error) -> io::Error {
    let e = die_on_broken_pipe(e);
    let _ = STDOUT_ERROR.set(errno_text(&e));
    e
}

/// A write to stdout failed: on EPIPE, die of SIGPIPE; other errors are
/// the caller's.
pub fn die_on_broken_pipe(e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::BrokenPipe {
        // SAFETY: restoring the default action and raising a signal; the
        // process ends here.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
            libc::raise(libc::SIGPIPE);
            libc::_exit(141);
        }
    }
    e
}

/// `die_on_broken_pipe` for an error whose cause, somewhere down its
/// chain, is EPIPE: for streams to stdout (`save`, `export`, `cp -`)
/// whose writes go through library code.
pub fn die_if_broken_pipe(e: &(dyn std::error::Error + 'static)) {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<io::Error>() {
            if io.kind() == io::ErrorKind::BrokenPipe {
                die_on_broken_pipe(io::Error::from(io::ErrorKind::BrokenPipe));
            }
        }
        cur = err.source();
    }
}

/// `s` on one line with nothing a terminal acts on: control characters
/// (newlines, escapes, bells) from hostile input shown as `\x1b`, `\n`...
pub fn one_line(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len().saturating_add(8));
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The time now as Go's encoding/json writes a time.Time (RFC 3339 with
/// the nanoseconds' trailing zeros dropped). Image configs carry it: a Go
/// tool that re-encodes a config (skopeo converting OCI to docker) must
/// get the same bytes back, or the image ID (the config's digest) changes.
pub fn go_time_now() -> String {
    let t = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    go_trim_nanos(&t)
}

/// "…:05.123400000Z" as Go writes it: "…:05.1234Z"; ".000000000" goes.
fn go_trim_nanos(t: &str) -> String {
    match t.split_once('.') {
        Some((secs, frac)) => {
            let (digits, zone) = frac.split_at(
                frac.find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(frac.len()),
            );
            let digits = digits.trim_end_matches('0');
            if digits.is_empty() {
                format!("{secs}{zone}")
            } else {
                format!("{secs}.{digits}{zone}")
            }
        }
        None => t.to_string(),
    }
}

/// An io::Error as Go prints it ("no such file or directory"), for
/// docker's wording.
pub fn errno_text(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => nix::errno::Errno::from_raw(n).desc().to_ascii_lowercase(),
        None => e.to_string(),
    }
}

/// `n` random bytes as lowercase hex.
pub fn random_hex(n: usize) -> String {
    let mut buf = vec![0u8; n];
    // getrandom only fails if the kernel has no entropy source at all.
    if getrandom::getrandom(&mut buf).is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        for (b, tb) in buf.iter_mut().zip(t.to_le_bytes().iter().cycle()) {
            *b = tb ^ (std::process::id() as u8);
        }
    }
    hex::encode(buf)
}

/// openat2(2) with `resolve` flags (RESOLVE_BENEATH, RESOLVE_IN_ROOT, ...):
/// the kernel's own confinement of a path walk to `dir`. nix has no wrapper.
pub fn openat2(
    dir: std::os::fd::BorrowedFd<'_>,
    path: &[u8],
    flags: i32,
    resolve: u64,
) -> Result<std::os::fd::OwnedFd, nix::errno::Errno> {
    use std::os::fd::FromRawFd;
    let c = std::ffi::CString::new(path).map_err(|_| nix::errno::Errno::EINVAL)?;
    // SAFETY: open_how is plain data; all-zero is a valid value.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (flags | libc::O_CLOEXEC) as u64;
    how.resolve = resolve;
    // SAFETY: valid dir fd, NUL-terminated path, correctly sized open_how.
    let r = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir.as_raw_fd(),
            c.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    if r < 0 {
        return Err(nix::errno::Errno::last());
    }
    // SAFETY: the kernel just returned this fd and nothing else owns it.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(r as std::os::fd::RawFd) })
}

/// Go's time.ParseDuration, to nanoseconds.
pub fn parse_go_duration(s: &str) -> Option<i64> {
    let (sign, s) = match s.strip_prefix('-') {
        Some(rest) => (-1.0, rest),
        None => (1.0, s.strip_prefix('+').unwrap_or(s)),
    };
    if s == "0" {
        return Some(0);
    }
    let mut total: f64 = 0.0;
    let mut rest = s;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (num, after) = rest.split_at_checked(num_end)?;
        let n: f64 = num.parse().ok()?;
        rest = after;
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let (unit, after) = rest.split_at_checked(unit_end)?;
        let mult = match unit {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += n * mult;
        rest = after;
    }
    Some((sign * total) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_times_drop_trailing_zeros() {
        assert_eq!(
            go_trim_nanos("2026-12-06T22:37:31.947926590Z"),
            "2026-12-06T22:37:31.94792659Z"
        );
        assert_eq!(
            go_trim_nanos("2026-12-06T22:37:31.000000000Z"),
            "2026-12-06T22:37:31Z"
        );
        assert_eq!(
            go_trim_nanos("2026-12-06T22:37:31.100000000+01:00"),
            "2026-12-06T22:37:31.1+01:00"
        );
        assert_eq!(
            go_trim_nanos("2026-12-06T22:37:31Z"),
            "2026-12-06T22:37:31Z"
        );
        let now = go_time_now();
        assert!(chrono::DateTime::parse_from_rfc3339(&now).is_ok(), "{now}");
        let frac = now.split_once('.').map(|(_, f)| f.trim_end_matches('Z'));
        assert!(frac.is_none_or(|f| !f.ends_with('0')), "{now}");
    }

    #[test]
    fn atomic_write_replaces_content() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f.json");
        atomic_write(&p, b"one").unwrap();
        atomic_write(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(fs::read_dir(d.path()).unwrap().count(), 1);
    }

    #[test]
    fn random_hex_has_length() {
        assert_eq!(random_hex(32).len(), 64);
        assert_ne!(random_hex(8), random_hex(8));
    }
}
