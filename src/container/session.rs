//! A terminal attached to a container through its monitor's socket: what
//! `attach` runs, and `run`/`start` of a container whose life must not
//! depend on the CLI (`-it`, which can be detached from; `--sig-proxy=false`).
//! The docker CLI's side of a hijacked attach: raw terminal, the detach
//! keys (with a TTY and stdin only), window sizes, signals proxied.

use super::attach as proto;
use crate::error::{Error, Result};
use nix::sys::signal::{SigSet, Signal};
use std::io::{IsTerminal, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;

/// docker's default detach keys: ctrl-p, ctrl-q.
pub const DEFAULT_DETACH_KEYS: &[u8] = &[16, 17];

/// What to attach, and how.
#[derive(Debug, Clone)]
pub struct Session {
    /// The container has a TTY (output comes as one stream).
    pub tty: bool,
    /// Our stdin goes to the container.
    pub stdin: bool,
    /// Print the container's stdout / stderr.
    pub stdout: bool,
    pub stderr: bool,
    /// Detach keys (only read with a TTY and stdin, as docker's).
    pub detach_keys: Vec<u8>,
    /// Pass SIGINT, SIGTERM... on to the container's process.
    pub sig_proxy: bool,
    /// `attach`'s nudge: a resize to one more row and column, then the
    /// real size, so the program redraws (its prompt) for a new client.
    pub nudge: bool,
}

/// How a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The container exited with this status.
    Exited(i32),
    /// The user typed the detach keys.
    Detached,
    /// The monitor went away without an exit status.
    Closed,
    /// Not proxying, the CLI got its third SIGINT/SIGTERM (docker 28's
    /// CLI gives up then, the container runs on).
    Interrupted,
}

fn winsize() -> Option<(u16, u16)> {
    // SAFETY: winsize is plain data; TIOCGWINSZ fills the struct we pass.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    for fd in [libc::STDOUT_FILENO, libc::STDIN_FILENO] {
        // SAFETY: TIOCGWINSZ with a valid winsize pointer.
        if unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) } == 0 {
            return Some((ws.ws_row, ws.ws_col));
        }
    }
    None
}

fn send_size(sock: &mut UnixStream, (rows, cols): (u16, u16)) {
    let r = rows.to_be_bytes();
    let c = cols.to_be_bytes();
    let _ = proto::write_frame(sock, proto::RESIZE, &[r[0], r[1], c[0], c[1]]);
}

/// docker's escape proxy (moby's `term.NewEscapeProxy`): the keys are
/// matched byte by byte across reads; a partial match is held back, and
/// sent on when the next byte does not continue it.
#[derive(Default)]
pub struct EscapeProxy {
    pos: usize,
}

impl EscapeProxy {
    /// Filter one read into `out`; true when the whole sequence was typed
    /// (what came before it in the read is in `out`).
    pub fn feed(&mut self, keys: &[u8], data: &[u8], out: &mut Vec<u8>) -> bool {
        for &b in data {
            if keys.get(self.pos) != Some(&b) && self.pos > 0 {
                out.extend_from_slice(keys.get(..self.pos).unwrap_or_default());
                self.pos = 0;
            }
            if keys.get(self.pos) == Some(&b) {
                self.pos = self.pos.saturating_add(1);
                if self.pos == keys.len() {
                    return true;
                }
            } else {
                out.push(b);
            }
        }
        false
    }
}

/// The signals docker's CLI proxies to a container (`--sig-proxy`), taken
/// from their default actions and read without blocking: for an attach
/// that has no monitor to send them through (the container's pid is
/// signalled directly).
pub fn proxied_signals() -> Result<nix::sys::signalfd::SignalFd> {
    let mut mask = SigSet::empty();
    for sig in super::lifecycle::PROXIED {
        mask.add(*sig);
    }
    mask.thread_block()
        .map_err(|e| Error::msg(format!("sigprocmask: {e}")))?;
    nix::sys::signalfd::SignalFd::with_flags(
        &mask,
        nix::sys::signalfd::SfdFlags::SFD_NONBLOCK | nix::sys::signalfd::SfdFlags::SFD_CLOEXEC,
    )
    .map_err(|e| Error::msg(format!("signalfd: {e}")))
}

fn signals(s: &Session) -> Result<Option<nix::sys::signalfd::SignalFd>> {
    let mut mask = SigSet::empty();
    if s.tty {
        mask.add(Signal::SIGWINCH);
    }
    if s.sig_proxy {
        for sig in super::lifecycle::PROXIED {
            mask.add(*sig);
        }
    } else {
        // Counted: docker 28's CLI exits at the third.
        mask.add(Signal::SIGINT);
        mask.add(Signal::SIGTERM);
    }
    if mask == SigSet::empty() {
        return Ok(None);
    }
    mask.thread_block()
        .map_err(|e| Error::msg(format!("sigprocmask: {e}")))?;
    nix::sys::signalfd::SignalFd::with_flags(&mask, nix::sys::signalfd::SfdFlags::SFD_CLOEXEC)
        .map(Some)
        .map_err(|e| Error::msg(format!("signalfd: {e}")))
}

/// Run the session until the container exits, the user detaches, or the
/// monitor goes away.
pub fn run(mut sock: UnixStream, s: &Session) -> Result<End> {
    let raw = (s.tty && s.stdin && std::io::stdin().is_terminal()).then(super::tty::RawMode::enter);
    let sfd = signals(s)?;
    if s.tty {
        if let Some((rows, cols)) = winsize() {
            if s.nudge {
                send_size(&mut sock, (rows.saturating_add(1), cols.saturating_add(1)));
            }
            send_size(&mut sock, (rows, cols));
        }
    }
    let keys: &[u8] = if s.tty && s.stdin {
        &s.detach_keys
    } else {
        &[]
    };
    let mut escape = EscapeProxy::default();
    let mut stdin_open = s.stdin;
    let mut terminations = 0u8;
    let mut buf = vec![0u8; 32 * 1024];
    let mut dec = proto::Decoder::default();
    let mut out = std::io::stdout();
    let mut err = std::io::stderr();
    loop {
        let stdin = std::io::stdin();
        let mut fds = vec![nix::poll::PollFd::new(
            sock.as_fd(),
            nix::poll::PollFlags::POLLIN,
        )];
        if let Some(f) = &sfd {
            fds.push(nix::poll::PollFd::new(
                f.as_fd(),
                nix::poll::PollFlags::POLLIN,
            ));
        }
        if stdin_open {
            fds.push(nix::poll::PollFd::new(
                stdin.as_fd(),
                nix::poll::PollFlags::POLLIN,
            ));
        }
        match nix::poll::poll(&mut fds, nix::poll::PollTimeout::NONE) {
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(Error::msg(format!("poll: {e}"))),
        }
        let ready: Vec<bool> = fds
            .iter()
            .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
            .collect();
        drop(fds);
        let is_ready = |i: usize| ready.get(i) == Some(&true);
        let sig_at = 1;
        let stdin_at = if sfd.is_some() { 2 } else { 1 };
        if let (Some(f), true) = (&sfd, is_ready(sig_at)) {
            if let Ok(Some(info)) = f.read_signal() {
                let sig = info.ssi_signo as i32;
                if sig == libc::SIGWINCH {
                    if let Some(ws) = winsize() {
                        send_size(&mut sock, ws);
                    }
                } else if !s.sig_proxy {
                    terminations = terminations.saturating_add(1);
                    if terminations == 3 {
                        drop(raw);
                        return Ok(End::Interrupted);
                    }
                } else if let Ok(b) = u8::try_from(sig) {
                    let _ = proto::write_frame(&mut sock, proto::SIGNAL, &[b]);
                }
            }
        }
        if stdin_open && is_ready(stdin_at) {
            let n = std::io::stdin().lock().read(&mut buf).unwrap_or(0);
            if n == 0 {
                stdin_open = false;
                let _ = proto::write_frame(&mut sock, proto::STDIN_EOF, &[]);
            } else {
                let mut send = Vec::with_capacity(n.saturating_add(keys.len()));
                let data = crate::util::filled(&buf, n).unwrap_or_default();
                if escape.feed(keys, data, &mut send) {
                    drop(raw);
                    return Ok(End::Detached);
                }
                if !send.is_empty() {
                    let _ = proto::write_frame(&mut sock, proto::STDIN, &send);
                }
            }
        }
        if is_ready(0) {
            let n = sock.read(&mut buf).unwrap_or(0);
            if n == 0 {
                return Ok(End::Closed);
            }
            dec.push(crate::util::filled(&buf, n).unwrap_or_default());
            while let Some((kind, data)) = dec.next_frame() {
                match kind {
                    proto::STDOUT if s.stdout => {
                        let _ = out.write_all(&data);
                        let _ = out.flush();
                    }
                    proto::STDERR if s.stderr => {
                        let _ = err.write_all(&data);
                    }
                    proto::EXIT => {
                        if let Ok(code) = <[u8; 4]>::try_from(data.as_slice()) {
                            return Ok(End::Exited(i32::from_be_bytes(code)));
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_proxy_as_docker() {
        let keys = DEFAULT_DETACH_KEYS;
        let mut p = EscapeProxy::default();
        let mut out = Vec::new();
        // Typed one by one: detach, nothing sent.
        assert!(!p.feed(keys, &[16], &mut out));
        assert!(p.feed(keys, &[17], &mut out));
        assert!(out.is_empty());
        // A partial match is sent on with the byte that broke it.
        let mut p = EscapeProxy::default();
        assert!(!p.feed(keys, &[16], &mut out));
        assert!(!p.feed(keys, b"x", &mut out));
        assert_eq!(out, vec![16, b'x']);
        // Both keys in one read; what came before is sent.
        let mut p = EscapeProxy::default();
        out.clear();
        assert!(p.feed(keys, &[b'a', 16, 17], &mut out));
        assert_eq!(out, vec![b'a']);
        // A broken match, then the sequence again (moby's test case).
        let mut p = EscapeProxy::default();
        out.clear();
        assert!(!p.feed(keys, &[16], &mut out));
        assert!(!p.feed(keys, b"a", &mut out));
        assert!(p.feed(keys, &[16, 17], &mut out));
        assert_eq!(out, vec![16, b'a']);
        // A key that breaks a match can start one: a,b with "a a b".
        let mut p = EscapeProxy::default();
        out.clear();
        assert!(p.feed(b"ab", b"aab", &mut out));
        assert_eq!(out, b"a".to_vec());
        // No keys: everything passes.
        out.clear();
        assert!(!p.feed(&[], &[16], &mut out));
        assert_eq!(out, vec![16]);
    }
}
