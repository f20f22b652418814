//! Small helpers shared across modules: files (modes, atomic writes,
//! locks: `files.rs`), stdout and error text (`stdout.rs`), times, random
//! identifiers, openat2.

mod files;
pub mod human;
pub mod json_order;
pub mod log;
pub mod path;
mod stdout;
pub mod timearg;

pub use files::*;
pub use stdout::*;

use std::fs;
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;

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
    // The kernel answers EAGAIN to a walk through ".." while a rename or
    // a mount happened anywhere on the system (another container starting
    // is enough): the walk is safe to try again.
    let mut tries = 0u32;
    let r = loop {
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
        if r >= 0 {
            break r;
        }
        let e = nix::errno::Errno::last();
        tries = tries.saturating_add(1);
        if e != nix::errno::Errno::EAGAIN || tries >= 100 {
            return Err(e);
        }
    };
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

/// stdin, stdout and stderr onto /dev/null: for a process that leaves
/// its caller's terminal and pipes (a detached helper, a prober).
pub fn stdio_to_null() {
    use std::os::fd::AsRawFd;
    if let Ok(null) = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        for fd in 0..3 {
            let _ = nix::unistd::dup2(null.as_raw_fd(), fd);
        }
    }
}

/// Start time (clock ticks since boot) of a live process, or None.
pub fn proc_start_time(pid: i32) -> Option<u64> {
    let stat = proc_stat(pid)?;
    let mut fields = stat.split_whitespace();
    if matches!(fields.next()?, "Z" | "X") {
        return None;
    }
    // The fields start at 3 (state); starttime is field 22.
    fields.nth(18)?.parse().ok()
}

/// Whether `pid` has ended its program: gone, a zombie, or in the
/// kernel's exit path (PF_EXITING in stat's flags), which can take a
/// millisecond while its namespaces are torn down.
pub fn proc_exiting(pid: i32) -> bool {
    const PF_EXITING: u64 = 0x4;
    let Some(stat) = proc_stat(pid) else {
        return true;
    };
    let mut fields = stat.split_whitespace();
    let state = fields.next().unwrap_or("X");
    // The fields start at 3 (state); flags is field 9.
    let flags: u64 = fields.nth(5).and_then(|f| f.parse().ok()).unwrap_or(0);
    matches!(state, "Z" | "X") || flags & PF_EXITING != 0
}

/// /proc/PID/stat from field 3 (state) on: the command name before it may
/// hold spaces and ')', so it is cut at the last ')'.
fn proc_stat(pid: i32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')').map(|(_, rest)| rest.to_string())
}

/// A thread that takes no signals. rdock waits for its containers with a
/// signalfd on SIGCHLD blocked in the waiting thread; a thread with
/// SIGCHLD unblocked would take the signal instead and the wait would
/// never end. The mask is inherited, so block all around the spawn.
pub fn spawn_quiet<F: FnOnce() + Send + 'static>(f: F) -> std::thread::JoinHandle<()> {
    use nix::sys::signal::{SigSet, SigmaskHow};
    let mut old = SigSet::empty();
    let _ = nix::sys::signal::pthread_sigmask(
        SigmaskHow::SIG_BLOCK,
        Some(&SigSet::all()),
        Some(&mut old),
    );
    let handle = std::thread::spawn(f);
    let _ = nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&old), None);
    handle
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_reads_exiting_once_it_has_ended() {
        let me = std::process::id() as i32;
        assert!(!proc_exiting(me));
        assert!(proc_start_time(me).is_some());
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id() as i32;
        // Not reaped: a zombie, whose start time no longer counts.
        let start = std::time::Instant::now();
        while !proc_exiting(pid) && start.elapsed().as_secs() < 10 {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(proc_exiting(pid));
        assert_eq!(proc_start_time(pid), None);
        child.wait().unwrap();
        // Gone: exiting too.
        assert!(proc_exiting(pid));
    }

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
