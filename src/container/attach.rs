//! The attach channel between a container's monitor and `rdock attach`:
//! a unix socket per container under the runroot, and a small framing:
//! one kind byte, a big-endian u32 length, the payload.
//!
//! monitor → client: `STDOUT`/`STDERR` output, `EXIT` (i32 code) last.
//! client → monitor: `STDIN` data, `RESIZE` (rows u16, cols u16),
//! `STDIN_EOF`, `SIGNAL` (one byte: the signal to pass on).

use crate::paths::Paths;
use std::io::{self, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

pub const STDOUT: u8 = 1;
pub const STDERR: u8 = 2;
pub const STDIN: u8 = 3;
pub const RESIZE: u8 = 4;
pub const STDIN_EOF: u8 = 5;
pub const SIGNAL: u8 = 6;
pub const EXIT: u8 = 255;

pub fn socket_dir(paths: &Paths) -> PathBuf {
    paths.runroot.join("attach")
}

fn socket_name(id: &str) -> String {
    format!("{id}.sock")
}

/// Run `f` with the socket dir as cwd: socket paths are limited to 108
/// bytes, and a runroot can be long; a relative name always fits.
fn in_dir<T>(dir: &Path, f: impl FnOnce() -> io::Result<T>) -> io::Result<T> {
    let back = std::fs::File::open(".")?;
    std::env::set_current_dir(dir)?;
    let r = f();
    // SAFETY: fchdir on a directory fd we hold.
    unsafe {
        libc::fchdir(std::os::fd::AsRawFd::as_raw_fd(&back));
    }
    r
}

pub fn listen(paths: &Paths, id: &str) -> io::Result<UnixListener> {
    let dir = socket_dir(paths);
    crate::util::mkdirs_private(&dir)?;
    let name = socket_name(id);
    let _ = std::fs::remove_file(dir.join(&name));
    let l = in_dir(&dir, || UnixListener::bind(&name))?;
    // Whoever can connect types into the container's stdin: owner only
    // (bind made it 0777 less the umask).
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            dir.join(&name),
            std::fs::Permissions::from_mode(crate::util::PRIVATE_FILE),
        )?;
    }
    l.set_nonblocking(true)?;
    Ok(l)
}

pub fn connect(paths: &Paths, id: &str) -> io::Result<UnixStream> {
    let dir = socket_dir(paths);
    let name = socket_name(id);
    in_dir(&dir, || UnixStream::connect(&name))
}

/// A client waiting for the container's next start (the API's attach and
/// wait, asked before `start`): a socket the start connects to, so the
/// client is attached from the container's first byte. Owner-only, as the
/// attach socket. Returns the listener and the name to remove once done.
pub fn listen_pending(paths: &Paths, id: &str) -> io::Result<(UnixListener, PathBuf)> {
    let dir = socket_dir(paths);
    crate::util::mkdirs_private(&dir)?;
    let mut rand = [0u8; 6];
    getrandom::getrandom(&mut rand).map_err(|e| io::Error::other(e.to_string()))?;
    let name = format!("{id}.pending.{}.sock", hex::encode(rand));
    let l = in_dir(&dir, || UnixListener::bind(&name))?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            dir.join(&name),
            std::fs::Permissions::from_mode(crate::util::PRIVATE_FILE),
        )?;
    }
    Ok((l, dir.join(name)))
}

/// Connections to the clients waiting for this container's start (see
/// `listen_pending`); sockets nobody listens on any more are removed.
pub fn pending_clients(paths: &Paths, id: &str) -> Vec<UnixStream> {
    let dir = socket_dir(paths);
    let prefix = format!("{id}.pending.");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str().filter(|n| n.starts_with(&prefix)) else {
            continue;
        };
        match in_dir(&dir, || UnixStream::connect(name)) {
            Ok(s) if out.len() < 8 => out.push(s),
            Ok(_) => {}
            Err(_) => {
                let _ = std::fs::remove_file(dir.join(name));
            }
        }
    }
    out
}

pub fn remove(paths: &Paths, id: &str) {
    let _ = std::fs::remove_file(socket_dir(paths).join(socket_name(id)));
}

pub fn frame(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(payload.len().saturating_add(5));
    v.push(kind);
    v.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    v.extend_from_slice(payload);
    v
}

/// Read one frame (blocking). None at a clean EOF.
pub fn read_frame(r: &mut impl Read) -> io::Result<Option<(u8, Vec<u8>)>> {
    let mut head = [0u8; 5];
    match r.read_exact(&mut head) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let [kind, len @ ..] = head;
    let len = u32::from_be_bytes(len) as usize;
    if len > 16 << 20 {
        return Err(io::Error::other("attach frame too large"));
    }
    let mut data = vec![0u8; len];
    r.read_exact(&mut data)?;
    Ok(Some((kind, data)))
}

/// Incremental frame decoding for the monitor's non-blocking reads.
#[derive(Default)]
pub struct Decoder {
    buf: Vec<u8>,
}

impl Decoder {
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    pub fn next_frame(&mut self) -> Option<(u8, Vec<u8>)> {
        let [kind, a, b, c, d, rest @ ..] = self.buf.as_slice() else {
            return None;
        };
        let len = u32::from_be_bytes([*a, *b, *c, *d]) as usize;
        let data = rest.get(..len)?.to_vec();
        let kind = *kind;
        // The 5-byte head and the data, both there.
        self.buf.drain(..len.saturating_add(5));
        Some((kind, data))
    }
}

pub fn write_frame(w: &mut impl Write, kind: u8, payload: &[u8]) -> io::Result<()> {
    w.write_all(&frame(kind, payload))
}

/// docker's `--detach-keys` (moby's `term.ToBytes`): comma-separated
/// keys, each one character or `ctrl-@`, `ctrl-a`..`ctrl-z`, `ctrl-[`,
/// `ctrl-\\`, `ctrl-]`, `ctrl-^`, `ctrl-_` (lower case, exactly), or `DEL`.
pub fn parse_detach_keys(s: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for k in s.split(',') {
        let b = match k.as_bytes() {
            [b] => *b,
            b"DEL" => 127,
            [b'c', b't', b'r', b'l', b'-', c] => match c {
                b'@' => 0,
                // ctrl-a is 1, ... ctrl-z 26.
                b'a'..=b'z' => c & 0x1f,
                b'[' => 27,
                b'\\' => 28,
                b']' => 29,
                b'^' => 30,
                b'_' => 31,
                _ => return Err(format!("unknown character: '{k}'")),
            },
            _ => return Err(format!("unknown character: '{k}'")),
        };
        out.push(b);
    }
    Ok(out)
}

/// The detach keys in effect: `--detach-keys` if given (and not empty),
/// else `detachKeys` in the client's config.json, else ctrl-p,ctrl-q.
/// Err carries the text that was given, when it is not a valid sequence.
pub fn detach_keys(flag: Option<&str>) -> Result<Vec<u8>, String> {
    let chosen = match flag.filter(|f| !f.is_empty()) {
        Some(f) => Some(f.to_string()),
        None => configured_detach_keys(),
    };
    match chosen {
        Some(k) => parse_detach_keys(&k).map_err(|_| k),
        None => Ok(super::session::DEFAULT_DETACH_KEYS.to_vec()),
    }
}

/// `detachKeys` from docker's client config (`$DOCKER_CONFIG/config.json`),
/// shared with docker as the credentials are.
fn configured_detach_keys() -> Option<String> {
    let p = crate::image::registry::credentials::config_path();
    let text = std::fs::read(p).ok()?;
    let v: serde_json::Value = serde_json::from_slice(&text).ok()?;
    v.get("detachKeys")?
        .as_str()
        .filter(|k| !k.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_and_keys() {
        let mut d = Decoder::default();
        let f = frame(STDOUT, b"hello");
        d.push(&f[..3]);
        assert!(d.next_frame().is_none());
        d.push(&f[3..]);
        d.push(&frame(EXIT, &7i32.to_be_bytes()));
        assert_eq!(d.next_frame(), Some((STDOUT, b"hello".to_vec())));
        assert_eq!(d.next_frame(), Some((EXIT, 7i32.to_be_bytes().to_vec())));
        assert_eq!(
            read_frame(&mut &frame(STDERR, b"x")[..]).unwrap(),
            Some((STDERR, b"x".to_vec()))
        );
        assert_eq!(read_frame(&mut &b""[..]).unwrap(), None);
        assert_eq!(parse_detach_keys("ctrl-p,ctrl-q").unwrap(), vec![16, 17]);
        assert_eq!(parse_detach_keys("ctrl-a,x").unwrap(), vec![1, b'x']);
        assert_eq!(parse_detach_keys("ctrl-@,ctrl-[").unwrap(), vec![0, 27]);
        assert_eq!(
            parse_detach_keys("ctrl-\\,DEL,,").unwrap_err(),
            "unknown character: ''"
        );
        assert_eq!(parse_detach_keys("a,b").unwrap(), vec![b'a', b'b']);
        assert_eq!(parse_detach_keys(",").unwrap_err(), "unknown character: ''");
        for bad in [
            "ctrl-", "abc", "ctrl-A", "Ctrl-a", " ctrl-a", "ctrl-1", "del",
        ] {
            assert!(parse_detach_keys(bad).is_err(), "{bad}");
        }
    }
}
