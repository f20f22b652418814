//! The listening side of `rdock system service`: the socket (0660, its
//! group chosen), the accept loop, a forked worker per connection, and the
//! exit after a time with no connection.

use super::http::{Conn, Stream};
use super::ApiError;
use crate::paths::Paths;
use nix::sys::signal::{SigSet, Signal};
use std::collections::HashSet;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The default address, as `podman system service`'s is its runroot's.
pub const DEFAULT_URI: &str = "unix:///run/rdock/docker.sock";

pub struct ServeOptions {
    pub uri: String,
    /// None: never exit for idleness (`--time 0`).
    pub idle: Option<Duration>,
    /// The group that may use a unix socket besides root.
    pub group: Option<String>,
}

enum Listener {
    Unix(std::os::unix::net::UnixListener, PathBuf),
    Tcp(std::net::TcpListener),
}

impl Listener {
    fn raw_fd(&self) -> i32 {
        match self {
            Listener::Unix(l, _) => l.as_fd().as_raw_fd(),
            Listener::Tcp(l) => l.as_fd().as_raw_fd(),
        }
    }
    fn accept(&self) -> std::io::Result<Stream> {
        Ok(match self {
            Listener::Unix(l, _) => Stream::Unix(l.accept()?.0),
            Listener::Tcp(l) => {
                let s = l.accept()?.0;
                let _ = s.set_nodelay(true);
                Stream::Tcp(s)
            }
        })
    }
}

/// Listen on `uri` and serve until idle for the given time (or a signal).
pub fn serve(paths: &Paths, opts: &ServeOptions) -> Result<(), ApiError> {
    let listener = listen(&opts.uri, opts.group.as_deref())?;
    let mut mask = SigSet::empty();
    for s in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP] {
        mask.add(s);
    }
    let old = mask
        .thread_swap_mask(nix::sys::signal::SigmaskHow::SIG_BLOCK)
        .map_err(|e| ApiError::new(500, format!("blocking signals: {e}")))?;
    let sfd = nix::sys::signalfd::SignalFd::with_flags(
        &mask,
        nix::sys::signalfd::SfdFlags::SFD_CLOEXEC | nix::sys::signalfd::SfdFlags::SFD_NONBLOCK,
    )
    .map_err(|e| ApiError::new(500, format!("signalfd: {e}")))?;
    let result = accept_loop(paths, opts, &listener, &sfd, &old);
    if let Listener::Unix(_, path) = &listener {
        let _ = std::fs::remove_file(path);
    }
    result
}

fn accept_loop(
    paths: &Paths,
    opts: &ServeOptions,
    listener: &Listener,
    sfd: &nix::sys::signalfd::SignalFd,
    old_mask: &SigSet,
) -> Result<(), ApiError> {
    let mut workers: HashSet<i32> = HashSet::new();
    let mut idle_since = Instant::now();
    loop {
        reap(&mut workers);
        if !workers.is_empty() {
            idle_since = Instant::now();
        }
        let timeout = match (opts.idle, workers.is_empty()) {
            (Some(idle), true) => {
                let left = idle.saturating_sub(idle_since.elapsed());
                if left.is_zero() {
                    return Ok(());
                }
                left.as_millis().min(250) as i32
            }
            // Workers are reaped (and idleness measured) every 250 ms.
            _ => 250,
        };
        let mut fds = [
            libc::pollfd {
                fd: listener.raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: sfd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: a valid array of two pollfds.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, timeout) };
        if n <= 0 {
            continue;
        }
        if fds.get(1).is_some_and(|p| p.revents != 0) {
            return Ok(());
        }
        if fds.first().is_some_and(|p| p.revents != 0) {
            let Ok(stream) = listener.accept() else {
                continue;
            };
            idle_since = Instant::now();
            if let Some(pid) = fork_worker(paths, stream, listener, old_mask) {
                workers.insert(pid);
            }
        }
    }
}

fn reap(workers: &mut HashSet<i32>) {
    use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
    while let Ok(st) = waitpid(None, Some(WaitPidFlag::WNOHANG)) {
        match st {
            WaitStatus::StillAlive => break,
            s => {
                if let Some(pid) = s.pid() {
                    workers.remove(&pid.as_raw());
                }
            }
        }
    }
}

/// A worker for one connection: a fork of this single-threaded process,
/// so the library runs as it does in the CLI.
fn fork_worker(
    paths: &Paths,
    stream: Stream,
    listener: &Listener,
    old_mask: &SigSet,
) -> Option<i32> {
    // SAFETY: the service is single-threaded; the child only runs our code.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Parent { child }) => Some(child.as_raw()),
        Ok(nix::unistd::ForkResult::Child) => {
            // SAFETY: closing the listener's fd in this child only; the
            // Listener value is never used here again.
            unsafe { libc::close(listener.raw_fd()) };
            let _ = old_mask.thread_set_mask();
            // SAFETY: our own process; a client that goes away is a write
            // error, not a death (the container's init resets this).
            unsafe {
                let _ =
                    nix::sys::signal::signal(Signal::SIGPIPE, nix::sys::signal::SigHandler::SigIgn);
            }
            super::serve_connection(paths, Conn::new(stream));
            // SAFETY: leave without the parent's exit handlers.
            unsafe { libc::_exit(0) }
        }
        Err(_) => None,
    }
}

fn listen(uri: &str, group: Option<&str>) -> Result<Listener, ApiError> {
    if let Some(path) = uri.strip_prefix("unix://") {
        return listen_unix(Path::new(path), group).map(|l| Listener::Unix(l, path.into()));
    }
    if let Some(addr) = uri.strip_prefix("tcp://") {
        let l = std::net::TcpListener::bind(addr)
            .map_err(|e| ApiError::new(500, format!("listening on {uri}: {e}")))?;
        return Ok(Listener::Tcp(l));
    }
    Err(ApiError::bad_request(format!(
        "invalid address {uri}: use unix:///PATH, or tcp://HOST:PORT"
    )))
}

fn listen_unix(
    path: &Path,
    group: Option<&str>,
) -> Result<std::os::unix::net::UnixListener, ApiError> {
    use nix::sys::socket::{
        bind, listen, socket, AddressFamily, Backlog, SockFlag, SockType, UnixAddr,
    };
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        ApiError::new(500, format!("{what} {}: {e}", path.display()))
    };
    let gid = match group {
        None => None,
        Some(g) => Some(
            nix::unistd::Group::from_name(g)
                .ok()
                .flatten()
                .ok_or_else(|| ApiError::bad_request(format!("group {g} not found")))?
                .gid,
        ),
    };
    let dir = path.parent().unwrap_or(Path::new("/"));
    if !dir.exists() {
        crate::util::mkdirs(dir, 0o755).map_err(|e| fail("creating the directory of", &e))?;
    }
    if gid.is_some() {
        let mode = std::fs::metadata(dir)
            .map(|m| m.permissions().mode())
            .unwrap_or(0);
        if mode & 0o011 == 0 {
            return Err(ApiError::bad_request(format!(
                "the socket's directory {} is private (mode {:o}): the group could not reach the socket; listen elsewhere (unix:///var/run/docker.sock)",
                dir.display(),
                mode & 0o7777
            )));
        }
    }
    clear_stale(path)?;
    let fd = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(|e| fail("creating the socket", &e))?;
    let addr = UnixAddr::new(path).map_err(|e| fail("the socket path", &e))?;
    bind(fd.as_raw_fd(), &addr).map_err(|e| fail("binding", &e))?;
    // The mode and group before listen(): nobody can connect until then.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
        .map_err(|e| fail("setting the mode of", &e))?;
    nix::unistd::chown(
        path,
        Some(nix::unistd::Uid::from_raw(0)).filter(|_| nix::unistd::geteuid().is_root()),
        gid,
    )
    .map_err(|e| fail("setting the owner of", &e))?;
    listen(&fd, Backlog::new(128).unwrap_or(Backlog::MAXCONN))
        .map_err(|e| fail("listening on", &e))?;
    Ok(std::os::unix::net::UnixListener::from(fd))
}

/// A socket left by a service that is gone is replaced; a live one, or a
/// file that is not a socket, is an error.
fn clear_stale(path: &Path) -> Result<(), ApiError> {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(());
    };
    if !meta.file_type().is_socket() {
        return Err(ApiError::bad_request(format!(
            "{} exists and is not a socket",
            path.display()
        )));
    }
    if std::os::unix::net::UnixStream::connect(path).is_ok() {
        return Err(ApiError::new(
            409,
            format!("another service is listening on {}", path.display()),
        ));
    }
    std::fs::remove_file(path).map_err(|e| {
        ApiError::new(
            500,
            format!("removing the stale socket {}: {e}", path.display()),
        )
    })
}
