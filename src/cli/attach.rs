//! `rdock attach`: connect this terminal to a running container through
//! its monitor's attach socket. Detach with ctrl-p ctrl-q (`--detach-keys`);
//! the exit code is the container's when it ends while attached.

use crate::container::attach::{self as proto, parse_detach_keys};
use crate::container::store::ContainerStore;
use crate::error::{Error, Result};
use crate::paths::Paths;
use clap::Args;
use std::io::{IsTerminal, Read, Write};
use std::os::fd::AsFd;

#[derive(Debug, Args)]
pub struct AttachArgs {
    /// Override the key sequence for detaching a container
    #[arg(long)]
    pub detach_keys: Option<String>,
    /// Do not attach STDIN
    #[arg(long)]
    pub no_stdin: bool,
    /// Proxy all received signals to the process
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub sig_proxy: bool,
    pub container: String,
}

fn winsize() -> Option<[u8; 4]> {
    // SAFETY: winsize is plain data; TIOCGWINSZ fills the struct we pass.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    if unsafe { libc::ioctl(libc::STDIN_FILENO, libc::TIOCGWINSZ, &mut ws) } != 0 {
        return None;
    }
    let r = ws.ws_row.to_be_bytes();
    let c = ws.ws_col.to_be_bytes();
    Some([r[0], r[1], c[0], c[1]])
}

pub fn run(paths: &Paths, a: AttachArgs) -> Result<i32> {
    let c = ContainerStore::new(paths).resolve(&a.container)?;
    if !c.state.is_alive() {
        return Err(Error::msg(
            "You cannot attach to a stopped container, start it first",
        ));
    }
    if c.state.is_paused() {
        return Err(Error::msg(
            "You cannot attach to a paused container, unpause it first",
        ));
    }
    let keys = parse_detach_keys(a.detach_keys.as_deref().unwrap_or("ctrl-p,ctrl-q"))
        .map_err(Error::msg)?;
    let mut sock = proto::connect(paths, &c.config.id)
        .map_err(|e| Error::msg(format!("attaching to {}: {e}", c.config.name)))?;
    let tty = c.config.tty;
    let use_stdin = !a.no_stdin && c.config.open_stdin;
    let _raw = if tty && use_stdin && std::io::stdin().is_terminal() {
        Some(crate::container::lifecycle::RawMode::enter())
    } else {
        None
    };
    if tty {
        if let Some(ws) = winsize() {
            let _ = proto::write_frame(&mut sock, proto::RESIZE, &ws);
        }
    }
    // Signals: SIGWINCH for the TTY size; with --sig-proxy (no TTY) the
    // usual ones go to the container's process.
    let mut mask = nix::sys::signal::SigSet::empty();
    mask.add(nix::sys::signal::Signal::SIGWINCH);
    if a.sig_proxy && !tty {
        for s in [
            nix::sys::signal::Signal::SIGINT,
            nix::sys::signal::Signal::SIGTERM,
            nix::sys::signal::Signal::SIGHUP,
            nix::sys::signal::Signal::SIGQUIT,
            nix::sys::signal::Signal::SIGUSR1,
            nix::sys::signal::Signal::SIGUSR2,
        ] {
            mask.add(s);
        }
    }
    let _ = mask.thread_block();
    let sfd =
        nix::sys::signalfd::SignalFd::with_flags(&mask, nix::sys::signalfd::SfdFlags::SFD_CLOEXEC)
            .map_err(|e| Error::msg(format!("signalfd: {e}")))?;

    let mut stdin_open = use_stdin;
    let mut matched = 0usize;
    let mut buf = vec![0u8; 32 * 1024];
    let mut dec = proto::Decoder::default();
    let mut out = std::io::stdout();
    let mut err = std::io::stderr();
    loop {
        let stdin = std::io::stdin();
        let mut fds = vec![
            nix::poll::PollFd::new(sock.as_fd(), nix::poll::PollFlags::POLLIN),
            nix::poll::PollFd::new(sfd.as_fd(), nix::poll::PollFlags::POLLIN),
        ];
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
        if is_ready(1) {
            if let Ok(Some(info)) = sfd.read_signal() {
                let sig = info.ssi_signo as i32;
                if sig == libc::SIGWINCH {
                    if let Some(ws) = winsize() {
                        let _ = proto::write_frame(&mut sock, proto::RESIZE, &ws);
                    }
                } else if let Ok(s) = nix::sys::signal::Signal::try_from(sig) {
                    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(c.state.pid), s);
                }
            }
        }
        if is_ready(2) {
            let n = std::io::stdin().lock().read(&mut buf).unwrap_or(0);
            if n == 0 {
                stdin_open = false;
                let _ = proto::write_frame(&mut sock, proto::STDIN_EOF, &[]);
            } else {
                // The detach sequence is swallowed, and ends the attach.
                let mut send = Vec::with_capacity(n);
                for &b in crate::util::filled(&buf, n).unwrap_or_default() {
                    if keys.get(matched) == Some(&b) {
                        // matched stays at most keys.len().
                        matched = matched.saturating_add(1);
                        if matched == keys.len() {
                            drop(_raw);
                            return Ok(0);
                        }
                        continue;
                    }
                    send.extend_from_slice(keys.get(..matched).unwrap_or_default());
                    matched = 0;
                    send.push(b);
                }
                if !send.is_empty() {
                    let _ = proto::write_frame(&mut sock, proto::STDIN, &send);
                }
            }
        }
        if is_ready(0) {
            let n = sock.read(&mut buf).unwrap_or(0);
            if n == 0 {
                return Ok(0);
            }
            dec.push(crate::util::filled(&buf, n).unwrap_or_default());
            while let Some((kind, data)) = dec.next_frame() {
                match kind {
                    proto::STDOUT => {
                        let _ = out.write_all(&data);
                        let _ = out.flush();
                    }
                    proto::STDERR => {
                        let _ = err.write_all(&data);
                    }
                    proto::EXIT => {
                        if let Ok(code) = <[u8; 4]>::try_from(data.as_slice()) {
                            return Ok(i32::from_be_bytes(code));
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}
