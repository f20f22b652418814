//! The monitor of a detached container: a forked, setsid'd copy of the CLI
//! that is the container's parent. It reaps it, records its exit, and
//! writes its output to the json-file log. Single-threaded: one poll loop
//! over the output pipes (or the PTY) and a signalfd for SIGCHLD.

use super::lifecycle::{finish, launch, try_reap};
use super::logs::{log_path, LogWriter, Stream};
use super::store::Container;
use crate::error::{Error, Result};
use crate::paths::Paths;
use crate::runtime::RuntimeError;
use nix::sys::signal::{SigSet, Signal};
use nix::unistd::Pid;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};

/// Start `c` under a monitor. Returns once the container's process has
/// started (exec failures come back as 126/127, as in the foreground).
pub fn start_detached(paths: &Paths, c: &Container) -> Result<()> {
    spawn_monitor(
        paths,
        c,
        super::attach::pending_clients(paths, &c.config.id),
    )
}

/// Start `c` under a monitor with this terminal attached from the start
/// (nothing it prints is missed): `run -it`, `start -ai`... The container
/// outlives the CLI: the user can detach, and `attach` again.
pub fn start_attached(
    paths: &Paths,
    c: &Container,
    session: &super::session::Session,
) -> Result<super::session::End> {
    let (mine, theirs) = std::os::unix::net::UnixStream::pair()
        .map_err(|e| RuntimeError::io("creating the attach socket", e))?;
    let mut first = super::attach::pending_clients(paths, &c.config.id);
    first.insert(0, theirs);
    spawn_monitor(paths, c, first)?;
    super::session::run(mine, session)
}

/// `first`: clients attached from the start (the CLI's session, and the
/// API's attach and wait requests made before the start).
fn spawn_monitor(
    paths: &Paths,
    c: &Container,
    first: Vec<std::os::unix::net::UnixStream>,
) -> Result<()> {
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| RuntimeError::sys("pipe", e))?;
    // SAFETY: the CLI is single-threaded here (registry threads, if any,
    // were joined before).
    match unsafe { nix::unistd::fork() }.map_err(|e| RuntimeError::sys("fork", e))? {
        nix::unistd::ForkResult::Child => {
            drop(r);
            // Nothing else of our parent's stays open in a process that
            // lives as long as the container: an API worker's connection
            // would never close for its client.
            let keep: Vec<RawFd> = std::iter::once(w.as_raw_fd())
                .chain(first.iter().map(|s| s.as_raw_fd()))
                .collect();
            close_others(&keep);
            let code = monitor(paths, c, w, first);
            // SAFETY: leave without running the parent's exit handlers.
            unsafe { libc::_exit(code) }
        }
        nix::unistd::ForkResult::Parent { child } => {
            drop(w);
            // Only the monitor holds its end: the session sees EOF if it dies.
            drop(first);
            let mut msg = Vec::new();
            let _ = std::fs::File::from(r).read_to_end(&mut msg);
            if msg.first() == Some(&b'1') {
                return Ok(());
            }
            let _ = nix::sys::wait::waitpid(child, None);
            let text = String::from_utf8_lossy(msg.get(1..).unwrap_or_default()).into_owned();
            let code: i32 = msg
                .first()
                .map(|&b| i32::from(b).saturating_sub(100))
                .unwrap_or(125);
            Err(match code {
                126 | 127 => Error::Runtime(RuntimeError::Other(text)).with_code(code),
                _ => Error::msg(if text.is_empty() {
                    "container monitor failed".into()
                } else {
                    text
                }),
            })
        }
    }
}

/// How a failure's exit code travels in the first byte of the start
/// report: plus 100, clamped to a byte (b'1', 49, means started).
fn code_byte(code: i32) -> u8 {
    code.saturating_add(100).clamp(0, 255) as u8
}

fn pipe() -> Option<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).ok()
}

struct Source {
    fd: OwnedFd,
    stream: Stream,
    open: bool,
}

/// Close every descriptor above stderr but those in `keep`.
fn close_others(keep: &[RawFd]) {
    let mut keep = keep.to_vec();
    keep.sort_unstable();
    let mut from: RawFd = 3;
    for &k in keep.iter().filter(|&&k| k >= 3) {
        if k > from {
            // SAFETY: closing descriptors of our own (forked) process.
            unsafe {
                libc::syscall(
                    libc::SYS_close_range,
                    from as u32,
                    k.saturating_sub(1) as u32,
                    0u32,
                )
            };
        }
        from = k.saturating_add(1);
    }
    // SAFETY: as above.
    unsafe { libc::syscall(libc::SYS_close_range, from as u32, u32::MAX, 0u32) };
}

fn monitor(
    paths: &Paths,
    c: &Container,
    report: OwnedFd,
    first: Vec<std::os::unix::net::UnixStream>,
) -> i32 {
    let mut report = std::fs::File::from(report);
    let fail = |report: &mut std::fs::File, code: i32, msg: &str| {
        let mut m = vec![code_byte(code)];
        m.extend_from_slice(msg.as_bytes());
        let _ = report.write_all(&m);
        1
    };
    let _ = nix::unistd::setsid();
    // SAFETY: setting dispositions in our own single-threaded process; the
    // monitor must outlive the terminal that started it.
    unsafe {
        let _ = nix::sys::signal::signal(Signal::SIGHUP, nix::sys::signal::SigHandler::SigIgn);
        let _ = nix::sys::signal::signal(Signal::SIGPIPE, nix::sys::signal::SigHandler::SigIgn);
    }
    let null = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null");
    let log = LogWriter::open(&log_path(&c.dir, &c.config.id), &c.config.log);
    let (null, mut log) = match (null, log) {
        (Ok(n), Ok(l)) => (n, l),
        _ => return fail(&mut report, 125, "cannot open the container log"),
    };
    let mut mask = SigSet::empty();
    mask.add(Signal::SIGCHLD);
    let _ = mask.thread_block();
    let sfd = match nix::sys::signalfd::SignalFd::with_flags(
        &mask,
        nix::sys::signalfd::SfdFlags::SFD_CLOEXEC | nix::sys::signalfd::SfdFlags::SFD_NONBLOCK,
    ) {
        Ok(s) => s,
        Err(_) => return fail(&mut report, 125, "signalfd failed"),
    };
    let mut report = Some(report);
    let mut c = c.clone();
    // Clients of `rdock attach` connect here (none needed to run).
    let listener = super::attach::listen(paths, &c.config.id).ok();
    let store = super::store::ContainerStore::new(paths);
    let mut first = first;
    loop {
        let Some((code, cgroup, clients)) = run_once(
            paths,
            &c,
            &null,
            &sfd,
            &mut log,
            &mut report,
            listener.as_ref(),
            &mut first,
        ) else {
            super::attach::remove(paths, &c.config.id);
            if report.is_none() {
                // A restart that could not start: no longer "restarting".
                if let Some(mut st) = store.raw_state(&c.config.id) {
                    st.restarting = false;
                    st.error = "restart failed: the container could not be started".into();
                    let _ = store.save_state(&c.config.id, &st);
                }
            }
            return 1;
        };
        let _ = log.flush();
        // The restart policy, read afresh: `update`, `stop` or `rm` may
        // have changed things while the container ran.
        let Ok(latest) = store.load(&c.config.id) else {
            let _ = cgroup.remove();
            super::attach::remove(paths, &c.config.id);
            tell_exit(clients, code);
            return 0; // removed meanwhile
        };
        let policy = latest.config.restart.clone();
        let auto_remove = latest.config.auto_remove;
        // Decide under the state lock, so a concurrent `stop` is either
        // seen here or sees "restarting" and waits for us.
        let oom = crate::runtime::resources::oom_killed(&cgroup);
        let decision = store
            .update_state(&c.config.id, |st| {
                let again = !auto_remove
                    && policy.should_restart(code, st.restart_count, st.stop_requested);
                if again {
                    st.oom_killed = oom;
                    st.status = super::state::Status::Exited;
                    st.pid = 0;
                    st.exit_code = code;
                    st.paused = false;
                    st.restarting = true;
                    st.finished_at = Some(
                        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
                    );
                }
                again.then_some(st.restart_count)
            })
            .ok()
            .flatten()
            .flatten();
        let Some(restarts) = decision else {
            let files = finish(paths, &latest, &cgroup, code).ok().flatten();
            super::attach::remove(paths, &c.config.id);
            // After `finish`: a `run --rm` returns once its container is
            // gone from the store; its files are deleted after.
            tell_exit(clients, code);
            if let Some(files) = files {
                let _ = files.purge();
            }
            return 0;
        };
        tell_exit(clients, code);
        let _ = cgroup.remove();
        super::lifecycle::die_events(paths, &c, code, oom);
        // docker's back-off: 100 ms, doubling, at most a minute.
        let delay = std::time::Duration::from_millis(
            100u64
                .saturating_mul(2u64.saturating_pow(restarts.min(10)))
                .min(60_000),
        );
        std::thread::sleep(delay);
        // A stop or rm during the wait wins.
        let go = store
            .update_state(&c.config.id, |st| {
                if st.stop_requested {
                    st.restarting = false;
                    false
                } else {
                    // Still "restarting" until launch records it running.
                    st.restart_count = restarts.saturating_add(1);
                    true
                }
            })
            .ok()
            .flatten()
            .unwrap_or(false);
        match store.load(&c.config.id) {
            Ok(cur) if go => c = cur,
            _ => {
                super::attach::remove(paths, &c.config.id);
                return 0;
            }
        }
    }
}

/// The container's exit status, last, to the clients still attached.
fn tell_exit(clients: Vec<Client>, code: i32) {
    let f = super::attach::frame(super::attach::EXIT, &code.to_be_bytes());
    for mut cl in clients {
        let _ = cl.stream.set_nonblocking(false);
        let _ = cl.stream.write_all(&f);
    }
}

/// One run of the container: launch, log its output, reap it. The first
/// run reports to the CLI that started us; later ones (restarts) have no
/// one to report to. None when it could not start. Returns the attached
/// clients, to be told the exit once it is recorded.
#[allow(clippy::too_many_arguments)]
fn run_once(
    paths: &Paths,
    c: &Container,
    null: &std::fs::File,
    sfd: &nix::sys::signalfd::SignalFd,
    log: &mut LogWriter,
    report: &mut Option<std::fs::File>,
    listener: Option<&std::os::unix::net::UnixListener>,
    first: &mut Vec<std::os::unix::net::UnixStream>,
) -> Option<(i32, crate::runtime::cgroups::Cgroup, Vec<Client>)> {
    let fail = |report: &mut Option<std::fs::File>, code: i32, msg: &str| {
        if let Some(r) = report.as_mut() {
            let mut m = vec![code_byte(code)];
            m.extend_from_slice(msg.as_bytes());
            let _ = r.write_all(&m);
        }
        None
    };
    let (out, err) = if c.config.tty {
        (None, None)
    } else {
        match (pipe(), pipe()) {
            (Some(o), Some(e)) => (Some(o), Some(e)),
            _ => return fail(report, 125, "cannot create output pipes"),
        }
    };
    // With -i (and no TTY) the container reads a pipe that attach feeds.
    let stdin = if c.config.open_stdin && !c.config.tty {
        pipe()
    } else {
        None
    };
    let stdio: [RawFd; 3] = [
        stdin
            .as_ref()
            .map(|p| p.0.as_raw_fd())
            .unwrap_or(null.as_raw_fd()),
        out.as_ref()
            .map(|p| p.1.as_raw_fd())
            .unwrap_or(null.as_raw_fd()),
        err.as_ref()
            .map(|p| p.1.as_raw_fd())
            .unwrap_or(null.as_raw_fd()),
    ];
    let (spawned, cgroup) = match launch(paths, c, Some(stdio)) {
        Ok(x) => x,
        Err(e) => return fail(report, e.exit_code(), &e.to_string()),
    };
    if c.config.tty {
        // The size of the terminal that started us, before the program
        // looks (an attached client's own resize follows).
        if let Some(m) = spawned.pty_master.as_ref() {
            super::tty::copy_winsize(m.as_fd());
        }
    }
    let mut shed = false;
    if let Some(mut r) = report.take() {
        let _ = r.write_all(b"1");
        drop(r);
        // Keep the monitor off the caller's terminal and cwd.
        for fd in 0..3 {
            let _ = nix::unistd::dup2(null.as_raw_fd(), fd);
        }
        let _ = nix::unistd::chdir("/");
        shed = true;
    }

    let mut sources: Vec<Source> = Vec::with_capacity(3);
    if let Some(m) = spawned.pty_master {
        sources.push(Source {
            fd: m,
            stream: Stream::Stdout,
            open: true,
        });
    }
    for (p, stream) in [(out, Stream::Stdout), (err, Stream::Stderr)] {
        if let Some((r, w)) = p {
            drop(w);
            sources.push(Source {
                fd: r,
                stream,
                open: true,
            });
        }
    }
    let mut stdin_w: Option<OwnedFd> = stdin.map(|(r, w)| {
        drop(r);
        w
    });
    let pty = sources
        .iter()
        .find(|_| c.config.tty)
        .map(|s| s.fd.as_raw_fd());
    let mut clients: Vec<Client> = Vec::with_capacity(10);
    // The CLI that started us, attached from the start. It is waited for
    // (blocking writes) rather than dropped: its terminal is the
    // container's, as a foreground container's would be.
    for s in first.drain(..) {
        clients.push(Client {
            stream: s,
            dec: super::attach::Decoder::default(),
        });
    }
    let pid = Pid::from_raw(spawned.pid);
    let mut code: Option<i32> = None;
    // Not zeroed: only the pages reads actually fill become resident.
    let mut buf: Vec<u8> = Vec::with_capacity(32 * 1024);
    // Shed once the container has run a second: a short-lived one (an
    // API client's `run --rm`) is reaped and told sooner, and only a
    // container that stays pays for the smaps walk.
    let mut shed_pending = shed;
    let started = std::time::Instant::now();
    loop {
        if code.is_none() {
            code = try_reap(pid);
        }
        if code.is_some() && sources.iter().all(|s| !s.open) {
            break;
        }
        // A fixed array: no allocation in the loop (it would pull the
        // allocator's pages back into a monitor kept small).
        let idle = libc::pollfd {
            fd: -1,
            events: 0,
            revents: 0,
        };
        let mut all = [idle; 16];
        // The signalfd first, then the open outputs, the attach listener
        // and its clients (at most 1 + 3 + 1 + 10 of the 16).
        let fds = std::iter::once(sfd.as_raw_fd())
            .chain(sources.iter().filter(|s| s.open).map(|s| s.fd.as_raw_fd()))
            .chain(listener.map(|l| l.as_raw_fd()))
            .chain(clients.iter().map(|cl| cl.stream.as_raw_fd()));
        let npfds = all
            .iter_mut()
            .zip(fds)
            .map(|(slot, fd)| {
                *slot = libc::pollfd {
                    fd,
                    events: libc::POLLIN,
                    revents: 0,
                }
            })
            .count();
        let pfds = all.get_mut(..npfds).unwrap_or_default();
        // After the exit, what is left in the pipes is read, then we stop
        // (a process that escaped the pid namespace cannot hold us forever).
        let shed_in = 1000i32.saturating_sub(started.elapsed().as_millis().min(1000) as i32);
        let timeout = match (code.is_some(), shed_pending) {
            (true, _) => 1000,
            (false, true) => shed_in,
            (false, false) => -1,
        };
        // SAFETY: a valid array of pollfd of the given length.
        let n = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, timeout) };
        if n == 0 && code.is_some() {
            break;
        }
        if shed_pending && started.elapsed().as_millis() >= 1000 {
            // Everything the loop needs is allocated by now.
            shed_inherited_memory();
            shed_pending = false;
        }
        if n == 0 {
            continue;
        }
        if n < 0 {
            continue;
        }
        if pfds.first().is_some_and(|p| p.revents != 0) {
            while let Ok(Some(_)) = sfd.read_signal() {}
        }
        // Attach clients first; each fd is told apart by what it is.
        for p in pfds.iter().skip(1).filter(|p| p.revents != 0) {
            if listener.is_some_and(|l| l.as_raw_fd() == p.fd) {
                if let Some(Ok((s, _))) = listener.map(|l| l.accept()) {
                    if s.set_nonblocking(true).is_ok() && clients.len() < 10 {
                        clients.push(Client {
                            stream: s,
                            dec: super::attach::Decoder::default(),
                        });
                    }
                }
                continue;
            }
            let Some(ci) = clients.iter().position(|cl| cl.stream.as_raw_fd() == p.fd) else {
                continue;
            };
            // SAFETY: reading into the buffer's spare capacity.
            let n = unsafe { libc::read(p.fd, buf.as_mut_ptr().cast(), buf.capacity()) };
            let n = n.max(0) as usize;
            // SAFETY: read filled `n` bytes (n <= capacity).
            unsafe { buf.set_len(n) };
            if n == 0 {
                clients.remove(ci);
                continue;
            }
            let Some(cl) = clients.get_mut(ci) else {
                continue;
            };
            cl.dec.push(&buf);
            while let Some((kind, data)) = cl.dec.next_frame() {
                match kind {
                    super::attach::STDIN => {
                        let fd = pty.or(stdin_w.as_ref().map(|w| w.as_raw_fd()));
                        if let Some(fd) = fd {
                            // SAFETY: writing our buffer to an fd we hold.
                            unsafe { libc::write(fd, data.as_ptr().cast(), data.len()) };
                        }
                    }
                    super::attach::STDIN_EOF => {
                        stdin_w = None;
                    }
                    super::attach::SIGNAL => {
                        if let Some(Ok(sig)) = data.first().map(|&b| Signal::try_from(i32::from(b)))
                        {
                            let _ = nix::sys::signal::kill(pid, sig);
                        }
                    }
                    super::attach::RESIZE => {
                        if let (Some(fd), Ok([r0, r1, c0, c1])) = (pty, <[u8; 4]>::try_from(data)) {
                            let ws = libc::winsize {
                                ws_row: u16::from_be_bytes([r0, r1]),
                                ws_col: u16::from_be_bytes([c0, c1]),
                                ws_xpixel: 0,
                                ws_ypixel: 0,
                            };
                            // SAFETY: TIOCSWINSZ with a valid winsize.
                            unsafe { libc::ioctl(fd, libc::TIOCSWINSZ, &ws) };
                        }
                    }
                    _ => {}
                }
            }
        }
        for p in pfds.iter().skip(1).filter(|p| p.revents != 0) {
            let Some(s) = sources.iter_mut().find(|s| s.fd.as_raw_fd() == p.fd) else {
                continue;
            };
            // SAFETY: reading into our buffer from an fd we own.
            let r = unsafe { libc::read(p.fd, buf.as_mut_ptr().cast(), buf.capacity()) };
            if r <= 0 {
                // EOF, or EIO from a PTY whose other side is gone.
                if r == 0 || nix::errno::Errno::last() != nix::errno::Errno::EINTR {
                    s.open = false;
                }
                continue;
            }
            // SAFETY: read filled `r` bytes of the spare capacity.
            unsafe { buf.set_len(r as usize) };
            let data = &buf[..];
            let _ = log.write(s.stream, data);
            if !clients.is_empty() {
                let kind = match s.stream {
                    Stream::Stdout => super::attach::STDOUT,
                    Stream::Stderr => super::attach::STDERR,
                };
                let f = super::attach::frame(kind, data);
                // A client that cannot keep up is dropped, never waited for.
                clients.retain_mut(|cl| cl.stream.write_all(&f).is_ok());
            }
        }
    }
    Some((code.unwrap_or(255), cgroup, clients))
}

struct Client {
    stream: std::os::unix::net::UnixStream,
    dec: super::attach::Decoder,
}

/// The monitor is a fork of the CLI and starts out with every page the CLI
/// touched (flag parsing, JSON, the image store...): ~3 MB of RSS. It needs
/// a small fraction. Mappings that are file-backed, read-only and hold no
/// private dirty page (code and read-only data, not the relocated RELRO)
/// are dropped from our page tables and fault back in, identical, on use;
/// freed heap goes back to the kernel.
fn shed_inherited_memory() {
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
        return;
    };
    // A fixed array: freeing a Vec after the pages are dropped would
    // fault the allocator's code straight back in. (start, length); unused
    // slots have length 0.
    let mut ranges = [(0usize, 0usize); 64];
    let mut free = ranges.iter_mut();
    let mut push = |r: (usize, usize)| {
        if let Some(slot) = free.next() {
            *slot = r;
        }
    };
    let mut current: Option<(usize, usize)> = None;
    let mut dirty = false;
    for line in smaps.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        if first.contains('-') && !first.ends_with(':') {
            if let (Some(r), false) = (current.take(), dirty) {
                push(r);
            }
            dirty = false;
            let mut f = line.split_whitespace();
            let (Some(range), Some(perms)) = (f.next(), f.next()) else {
                continue;
            };
            let path = f.nth(3).unwrap_or("");
            if path.starts_with('/') && (perms == "r-xp" || perms == "r--p") {
                if let Some((a, b)) = range.split_once('-') {
                    if let (Ok(s), Ok(e)) =
                        (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16))
                    {
                        current = e.checked_sub(s).map(|len| (s, len));
                    }
                }
            }
        } else if let Some(v) = line
            .strip_prefix("Private_Dirty:")
            .or_else(|| line.strip_prefix("Anonymous:"))
        {
            if v.trim() != "0 kB" {
                dirty = true;
            }
        }
    }
    if let (Some(r), false) = (current.take(), dirty) {
        push(r);
    }
    let stack = smaps
        .lines()
        .find(|l| l.ends_with("[stack]"))
        .and_then(|l| {
            let (a, _) = l.split_whitespace().next()?.split_once('-')?;
            usize::from_str_radix(a, 16).ok()
        });
    drop(smaps);
    // The CLI's deep stack (flag parsing, JSON): the pages below our frame
    // hold nothing live (anything under the stack pointer is dead), so
    // they can go; a deeper call later gets fresh zero pages.
    let here = &ranges as *const _ as usize;
    if let Some(low) = stack {
        let end = (here.saturating_sub(8 * 1024)) & !4095;
        if let Some(len) = end.checked_sub(low).filter(|&len| len > 0) {
            // SAFETY: stack pages below the live frames (no signal handlers
            // run on this stack; dispositions are ignore or default).
            unsafe { libc::madvise(low as *mut libc::c_void, len, libc::MADV_DONTNEED) };
        }
    }
    // SAFETY: plain libc call; returns freed heap (the smaps text above
    // included) to the kernel. Before the code pages go, so the allocator
    // is not faulted back in for it.
    unsafe {
        libc::malloc_trim(0);
    }
    // All at the end, in a tight loop: parsing touches code that would
    // otherwise fault straight back in.
    for &(start, len) in ranges.iter().filter(|r| r.1 > 0) {
        // SAFETY: a clean, read-only, file-backed mapping of our own: its
        // pages are re-read from the file when next touched.
        // (The kernel's fault-around brings each page back with the 64 KiB
        // around it, MADV_RANDOM or not: measured on 6.18.)
        unsafe {
            libc::madvise(start as *mut libc::c_void, len, libc::MADV_DONTNEED);
        }
    }
}
