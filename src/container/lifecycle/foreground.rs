//! A container in the foreground: the CLI is its parent, forwards
//! signals, pumps its output (or its terminal) and records its exit.
//! Also `build`'s step containers, and the waiting shared with the
//! monitor and `exec`.

use super::launch::{finish_now, launch};
use crate::container::logs;
use crate::container::store::Container;
use crate::container::tty::{pump_tty, TtyIo};
use crate::error::{Error, IoContext, Result};
use crate::paths::Paths;
use crate::runtime::process::Spawned;
use crate::runtime::RuntimeError;
use nix::sys::signal::{SigSet, Signal};
use nix::unistd::Pid;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};

/// Signals the foreground CLI (and an attached session) passes on to the
/// container (docker's sig-proxy).
pub(in crate::container) const PROXIED: &[Signal] = &[
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
];

/// Which of a foreground container's outputs reach the terminal (`-a`):
/// the others go only to its log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Streams {
    pub stdout: bool,
    pub stderr: bool,
}

impl Streams {
    pub const ALL: Streams = Streams {
        stdout: true,
        stderr: true,
    };
}

/// Run the container attached to this terminal until it exits; returns its
/// exit code. The CLI process plays the monitor's part meanwhile.
pub fn start_foreground(paths: &Paths, c: &Container, streams: Streams) -> Result<i32> {
    let sfd = forwarding_signals()?;
    // Its output goes to the log too, as docker's does, so `logs` works
    // after a foreground run; not for --rm, whose log goes with it.
    let mut log = if c.config.auto_remove || c.config.log.driver_name() == "none" {
        None
    } else {
        let path = logs::log_path(&c.dir, &c.config.id);
        Some(
            logs::LogWriter::open(&path, &c.config.log)
                .ctx(|| "opening the container log".into())?,
        )
    };
    let pipe = || {
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| RuntimeError::sys("pipe", e))
    };
    let pipes = match (&log, c.config.tty) {
        (Some(_), false) => Some((pipe()?, pipe()?)),
        _ => None,
    };
    // Unlogged and not attached (`--rm -a stderr`): that output goes nowhere.
    let null = match (&pipes, c.config.tty, streams) {
        (None, false, s) if s != Streams::ALL => Some(
            std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/null")
                .ctx(|| "opening /dev/null".into())?,
        ),
        _ => None,
    };
    let stdio = match (&pipes, &null) {
        (Some((o, e)), _) => Some([libc::STDIN_FILENO, o.1.as_raw_fd(), e.1.as_raw_fd()]),
        (None, Some(n)) => {
            let pick = |on: bool, fd: i32| if on { fd } else { n.as_raw_fd() };
            Some([
                libc::STDIN_FILENO,
                pick(streams.stdout, libc::STDOUT_FILENO),
                pick(streams.stderr, libc::STDERR_FILENO),
            ])
        }
        (None, None) => None,
    };
    let (spawned, cgroup) = launch(paths, c, stdio)?;
    drop(null);
    let pid = Pid::from_raw(spawned.pid);
    let code = match (pipes, spawned.pty_master) {
        (Some(((out, out_w), (err, err_w))), _) => {
            drop((out_w, err_w));
            let log = log.as_mut().ok_or_else(|| Error::msg("no log"))?;
            pump_logged(&sfd, pid, [out, err], log, streams)?
        }
        (None, Some(master)) => {
            let tty = TtyIo {
                stdin: c.config.open_stdin,
                stdout: streams.stdout,
                // Detachable containers run under a monitor instead.
                detach_keys: &[],
            };
            pump_tty(&sfd, pid, master, tty, log.as_mut())?.unwrap_or(0)
        }
        (None, None) => wait_forwarding(&sfd, pid)?,
    };
    if let Some(l) = log.as_mut() {
        let _ = l.flush();
    }
    // The container's status is what the caller waits for: a failure to
    // record it (a full disk) is worth a warning, not the exit code.
    if let Err(e) = finish_now(paths, c, &cgroup, code) {
        eprintln!(
            "WARNING: container {} exited with {code}, but its state could not be recorded: {e}",
            c.config.name
        );
    }
    Ok(code)
}

/// How a `build` step's container ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepExit {
    Exited(i32),
    /// SIGINT, SIGTERM or SIGHUP arrived: the step was killed, as
    /// BuildKit cancels a RUN on ^C (a pid-1 shell would ignore a
    /// forwarded SIGINT and the build would go on).
    Interrupted,
}

/// Run the container with the given stdin/stdout/stderr fds until it
/// exits, unlogged (a `build` step's container).
pub fn run_step(paths: &Paths, c: &Container, stdio: [i32; 3]) -> Result<StepExit> {
    let mut mask = SigSet::empty();
    for s in [
        Signal::SIGCHLD,
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
    ] {
        mask.add(s);
    }
    mask.thread_block()
        .map_err(|e| RuntimeError::sys("sigprocmask", e))?;
    let sfd =
        nix::sys::signalfd::SignalFd::with_flags(&mask, nix::sys::signalfd::SfdFlags::SFD_CLOEXEC)
            .map_err(|e| RuntimeError::sys("signalfd", e))?;
    let (spawned, cgroup) = launch(paths, c, Some(stdio))?;
    let pid = Pid::from_raw(spawned.pid);
    let mut interrupted = false;
    let code = loop {
        if let Some(code) = try_reap(pid) {
            break code;
        }
        match sfd.read_signal() {
            Ok(Some(info)) if info.ssi_signo as i32 != libc::SIGCHLD => {
                interrupted = true;
                let _ = nix::sys::signal::kill(pid, Signal::SIGKILL);
            }
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(RuntimeError::sys("reading signals", e).into()),
        }
    };
    finish_now(paths, c, &cgroup, code)?;
    Ok(if interrupted {
        StepExit::Interrupted
    } else {
        StepExit::Exited(code)
    })
}

/// A foreground container's output: to our stdout/stderr and to its log,
/// while signals are forwarded; until it has exited and its pipes are
/// drained.
fn pump_logged(
    sfd: &nix::sys::signalfd::SignalFd,
    pid: Pid,
    pipes: [OwnedFd; 2],
    log: &mut logs::LogWriter,
    streams: Streams,
) -> Result<i32> {
    use logs::Stream;
    let mut open = [true, true];
    let mut code: Option<i32> = None;
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        if code.is_none() {
            code = try_reap(pid);
        }
        if code.is_some() && !open[0] && !open[1] {
            break;
        }
        let mut fds = [
            libc::pollfd {
                fd: sfd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: if open[0] { pipes[0].as_raw_fd() } else { -1 },
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: if open[1] { pipes[1].as_raw_fd() } else { -1 },
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // After the exit, what is left is read; a process that escaped
        // the pid namespace holding a pipe cannot keep us for ever.
        let timeout = if code.is_some() { 1000 } else { -1 };
        // SAFETY: a valid array of pollfd of the given length.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 3, timeout) };
        if n == 0 && code.is_some() {
            break;
        }
        if n < 0 {
            continue;
        }
        if fds[0].revents != 0 {
            if let Ok(Some(info)) = sfd.read_signal() {
                let sig = info.ssi_signo as i32;
                if sig != libc::SIGCHLD && sig != libc::SIGWINCH {
                    if let Ok(s) = Signal::try_from(sig) {
                        let _ = nix::sys::signal::kill(pid, s);
                    }
                }
            }
        }
        let pipes = fds.iter().skip(1).zip(open.iter_mut());
        for ((pfd, open), stream) in pipes.zip([Stream::Stdout, Stream::Stderr]) {
            if pfd.revents == 0 {
                continue;
            }
            // SAFETY: reading into our buffer from a pipe we own.
            let r = unsafe { libc::read(pfd.fd, buf.as_mut_ptr().cast(), buf.len()) };
            if r <= 0 {
                if r == 0 || nix::errno::Errno::last() != nix::errno::Errno::EINTR {
                    *open = false;
                }
                continue;
            }
            let Some(data) = buf.get(..r as usize) else {
                continue;
            };
            let _ = match stream {
                Stream::Stdout if streams.stdout => std::io::stdout().lock().write_all(data),
                Stream::Stderr if streams.stderr => std::io::stderr().lock().write_all(data),
                _ => Ok(()),
            };
            let _ = log.write(stream, data);
        }
    }
    Ok(code.unwrap_or(255))
}

/// Block the signals a foreground CLI forwards (and SIGCHLD, SIGWINCH) and
/// read them from a signalfd. Call before spawning: children inherit the
/// mask, and the container's init clears it before exec.
pub(in crate::container) fn forwarding_signals() -> Result<nix::sys::signalfd::SignalFd> {
    let mut mask = SigSet::empty();
    for s in PROXIED {
        mask.add(*s);
    }
    mask.add(Signal::SIGCHLD);
    mask.add(Signal::SIGWINCH);
    mask.thread_block()
        .map_err(|e| RuntimeError::sys("sigprocmask", e))?;
    Ok(
        nix::sys::signalfd::SignalFd::with_flags(&mask, nix::sys::signalfd::SfdFlags::SFD_CLOEXEC)
            .map_err(|e| RuntimeError::sys("signalfd", e))?,
    )
}

/// Stay with a spawned process until it exits: forward signals, and with a
/// TTY proxy the terminal. Returns its exit code, or None when the user
/// typed `detach_keys` (TTY and stdin only): it goes on without us.
pub(in crate::container) fn attach(
    sfd: &nix::sys::signalfd::SignalFd,
    spawned: Spawned,
    stdin_open: bool,
    detach_keys: &[u8],
) -> Result<Option<i32>> {
    let pid = Pid::from_raw(spawned.pid);
    match spawned.pty_master {
        Some(master) => {
            let tty = TtyIo {
                stdin: stdin_open,
                stdout: true,
                detach_keys: if stdin_open { detach_keys } else { &[] },
            };
            pump_tty(sfd, pid, master, tty, None)
        }
        None => wait_forwarding(sfd, pid).map(Some),
    }
}

pub(in crate::container) fn try_reap(pid: Pid) -> Option<i32> {
    // libc directly: the monitor calls this every loop, and nix's status
    // decoding is more code to keep resident.
    let mut status = 0;
    // SAFETY: waitpid on our own child with a valid status pointer.
    let r = unsafe { libc::waitpid(pid.as_raw(), &mut status, libc::WNOHANG) };
    if r == 0 {
        None
    } else if r < 0 {
        (nix::errno::Errno::last() == nix::errno::Errno::ECHILD).then_some(255)
    } else if libc::WIFEXITED(status) {
        Some(libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        Some(libc::WTERMSIG(status).saturating_add(128))
    } else {
        None
    }
}

fn wait_forwarding(sfd: &nix::sys::signalfd::SignalFd, pid: Pid) -> Result<i32> {
    loop {
        if let Some(code) = try_reap(pid) {
            return Ok(code);
        }
        match sfd.read_signal() {
            Ok(Some(info)) => {
                let sig = info.ssi_signo as i32;
                if sig != libc::SIGCHLD && sig != libc::SIGWINCH {
                    if let Ok(s) = Signal::try_from(sig) {
                        let _ = nix::sys::signal::kill(pid, s);
                    }
                }
            }
            Ok(None) => {}
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(RuntimeError::sys("reading signals", e).into()),
        }
    }
}
