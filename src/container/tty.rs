//! The caller's terminal and a container's PTY in the foreground: raw
//! mode, window sizes, and the pump between them (`run -t` without a
//! monitor, `exec -t`).

use crate::error::Result;
use crate::runtime::RuntimeError;
use nix::sys::signal::Signal;
use nix::unistd::Pid;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use super::lifecycle::try_reap;

/// Restores the caller's terminal settings when dropped.
pub struct RawMode {
    saved: Option<nix::sys::termios::Termios>,
}

impl RawMode {
    pub fn enter() -> RawMode {
        let stdin = std::io::stdin();
        let saved = nix::sys::termios::tcgetattr(stdin.as_fd()).ok();
        if let Some(t) = &saved {
            let mut raw = t.clone();
            nix::sys::termios::cfmakeraw(&mut raw);
            let _ = nix::sys::termios::tcsetattr(
                stdin.as_fd(),
                nix::sys::termios::SetArg::TCSANOW,
                &raw,
            );
        }
        RawMode { saved }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(t) = &self.saved {
            let _ = nix::sys::termios::tcsetattr(
                std::io::stdin().as_fd(),
                nix::sys::termios::SetArg::TCSANOW,
                t,
            );
        }
    }
}

pub fn copy_winsize(master: BorrowedFd) {
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ/TIOCSWINSZ with a properly sized winsize.
    unsafe {
        if libc::ioctl(libc::STDIN_FILENO, libc::TIOCGWINSZ, &mut ws) == 0
            || libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) == 0
        {
            libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &ws);
        }
    }
}

/// The signals a foreground terminal pump reads (window size changes,
/// the child's exit, and those docker's CLI passes on), blocked from now
/// on: call before starting the process.
pub fn foreground_signals() -> Result<nix::sys::signalfd::SignalFd> {
    let mut mask = nix::sys::signal::SigSet::empty();
    for sig in super::lifecycle::PROXIED
        .iter()
        .chain(&[Signal::SIGWINCH, Signal::SIGCHLD])
    {
        mask.add(*sig);
    }
    mask.thread_block()
        .map_err(|e| RuntimeError::sys("sigprocmask", e))?;
    nix::sys::signalfd::SignalFd::with_flags(&mask, nix::sys::signalfd::SfdFlags::SFD_CLOEXEC)
        .map_err(|e| RuntimeError::sys("signalfd", e).into())
}

/// A process of ours on a terminal of its own (rdock-runtime's `run` and
/// `exec` with a terminal and no console socket): the caller's terminal
/// and `master` pumped until `pid` exits; its status.
pub fn pump_foreground(
    sfd: &nix::sys::signalfd::SignalFd,
    pid: i32,
    master: OwnedFd,
) -> Result<i32> {
    let io = TtyIo {
        stdin: true,
        stdout: true,
        detach_keys: &[],
    };
    pump_tty(sfd, Pid::from_raw(pid), master, io, None).map(|c| c.unwrap_or(0))
}

/// What a PTY pump connects: our stdin to it, its output to our stdout;
/// the keys that detach (none: no detaching).
#[derive(Debug, Clone, Copy)]
pub(super) struct TtyIo<'a> {
    pub stdin: bool,
    pub stdout: bool,
    pub detach_keys: &'a [u8],
}

/// Shuttle bytes between the caller's terminal and the container's PTY,
/// forwarding window size changes, until the container exits.
/// None when the user detached: the process goes on, its terminal held
/// by a small process of its own (see `keep_terminal`).
pub(super) fn pump_tty(
    sfd: &nix::sys::signalfd::SignalFd,
    pid: Pid,
    master: OwnedFd,
    io: TtyIo,
    mut log: Option<&mut super::logs::LogWriter>,
) -> Result<Option<i32>> {
    let stdin_open = io.stdin;
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let _raw = if stdin_open && nix::unistd::isatty(libc::STDIN_FILENO).unwrap_or(false) {
        Some(RawMode::enter())
    } else {
        None
    };
    copy_winsize(master.as_fd());
    let mut master_file = std::fs::File::from(master);
    let mut stdout = std::io::stdout().lock();
    let mut buf = vec![0u8; 32 * 1024];
    let mut stdin_live = stdin_open;
    let mut escape = super::session::EscapeProxy::default();
    let mut master_live = true;
    let mut code: Option<i32> = None;
    loop {
        if code.is_none() {
            code = try_reap(pid);
        }
        if code.is_some() && !master_live {
            break;
        }
        let stdin = std::io::stdin();
        let mut fds = vec![PollFd::new(sfd.as_fd(), PollFlags::POLLIN)];
        let master_fd = master_file.as_fd();
        if master_live {
            fds.push(PollFd::new(master_fd, PollFlags::POLLIN));
        }
        let stdin_fd = stdin.as_fd();
        if stdin_live && code.is_none() {
            fds.push(PollFd::new(stdin_fd, PollFlags::POLLIN));
        }
        // Once the container has exited, drain what is left and stop.
        let timeout = if code.is_some() {
            PollTimeout::ZERO
        } else {
            PollTimeout::NONE
        };
        match poll(&mut fds, timeout) {
            Ok(0) if code.is_some() => break,
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(RuntimeError::sys("poll", e).into()),
        }
        let ready = |i: usize| {
            fds.get(i)
                .and_then(|f| f.revents())
                .map(|r| !r.is_empty())
                .unwrap_or(false)
        };
        let sig_ready = ready(0);
        let master_ready = master_live && ready(1);
        let stdin_ready = stdin_live && code.is_none() && ready(if master_live { 2 } else { 1 });
        drop(fds);
        if sig_ready {
            if let Ok(Some(info)) = sfd.read_signal() {
                let sig = info.ssi_signo as i32;
                if sig == libc::SIGWINCH {
                    copy_winsize(master_file.as_fd());
                } else if sig != libc::SIGCHLD {
                    if let Ok(s) = Signal::try_from(sig) {
                        let _ = nix::sys::signal::kill(pid, s);
                    }
                }
            }
        }
        if master_ready {
            match master_file.read(&mut buf) {
                Ok(0) | Err(_) => master_live = false,
                Ok(n) => {
                    let data = buf.get(..n).unwrap_or_default();
                    if io.stdout {
                        let _ = stdout.write_all(data);
                        let _ = stdout.flush();
                    }
                    if let Some(l) = log.as_mut() {
                        let _ = l.write(super::logs::Stream::Stdout, data);
                    }
                }
            }
        }
        if stdin_ready {
            match std::io::stdin().lock().read(&mut buf) {
                Ok(0) | Err(_) => {
                    stdin_live = false;
                    // EOF on a non-terminal stdin: pass it on as ^D.
                    let _ = master_file.write_all(&[4]);
                }
                Ok(n) => {
                    let mut send = Vec::with_capacity(n);
                    let data = buf.get(..n).unwrap_or_default();
                    if escape.feed(io.detach_keys, data, &mut send) {
                        let _ = master_file.write_all(&send);
                        drop(_raw);
                        keep_terminal(master_file.into());
                        return Ok(None);
                    }
                    let _ = master_file.write_all(&send);
                }
            }
        }
    }
    Ok(Some(code.unwrap_or(255)))
}

/// After a detach from `exec -it`: the process must go on as docker's
/// does, so its terminal's master is held (and its output read and
/// dropped) by a forked, setsid'd process until the last of the
/// terminal's users is gone.
fn keep_terminal(master: OwnedFd) {
    // `exec` set our children's pid namespace to the container's: the
    // keeper is ours, not a process the container's `ps` shows.
    if let Ok(own) = std::fs::File::open("/proc/self/ns/pid") {
        // SAFETY: setns on an fd we hold, to our own (active) namespace.
        unsafe { libc::setns(own.as_raw_fd(), libc::CLONE_NEWPID) };
    }
    // SAFETY: the CLI is single-threaded here; the child only makes
    // syscalls and exits.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Child) => {
            let _ = nix::unistd::setsid();
            crate::util::stdio_to_null();
            let mut buf = [0u8; 4096];
            // EIO once no process has the terminal open any more.
            // SAFETY: reading into our buffer from the master we own.
            while unsafe { libc::read(master.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) } > 0
            {
            }
            // SAFETY: leave without running the parent's exit handlers.
            unsafe { libc::_exit(0) }
        }
        _ => drop(master),
    }
}
