//! Starting the container's process: clone(2) into new namespaces, the
//! container init (runs in the child, in this same process image: no
//! re-exec), and the pipes that synchronise it with the parent.
//!
//! Protocol: the parent clones (on v2 straight into the container's
//! cgroup; on v1 the child moves itself in first), runs its hook, then
//! releases the child through `sync`. The child
//! sets everything up and execs; any failure before exec is written to the
//! CLOEXEC `errpipe`, so the parent reads either an error or EOF (= exec
//! succeeded). With a TTY the child opens the PTY inside the container's own
//! devpts and passes the master back over a socketpair.

use super::cgroups::Cgroup;
pub use super::init_spec::{InitMode, InitSpec, NsMode, ProcessExtras};
use super::init_steps::{
    become_init, dup2, enter_namespaces, find_executable, set_names, setup_tty,
};
use super::rlimits;
use super::{caps, seccomp, user, Result, RuntimeError};
use nix::sys::signal::{self, SigHandler, SigSet, Signal};
use nix::sys::socket::{self, ControlMessageOwned, MsgFlags};
use std::ffi::CString;
use std::io::{IoSliceMut, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

pub struct Spawned {
    pub pid: i32,
    pub pty_master: Option<OwnedFd>,
}

/// Not in libc as a u64 yet (its c_int constant overflows).
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// Fork-like clone: the child continues on a copy of our stack. Tries clone3
/// (needed for CLONE_INTO_CGROUP), falls back to clone where clone3 is
/// filtered (older seccomp profiles return ENOSYS).
fn clone_child(flags: u64, cgroup_fd: Option<RawFd>) -> Result<i32> {
    let mut args = CloneArgs {
        flags,
        exit_signal: libc::SIGCHLD as u64,
        ..Default::default()
    };
    if let Some(fd) = cgroup_fd {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = fd as u64;
    }
    // SAFETY: clone3 without a stack behaves as fork; we are single-threaded,
    // and the child only runs `child_main`, which never returns.
    let r = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &mut args as *mut CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    if r >= 0 {
        return Ok(r as i32);
    }
    let err = nix::errno::Errno::last();
    if cgroup_fd.is_some() || !matches!(err, nix::errno::Errno::ENOSYS | nix::errno::Errno::E2BIG) {
        return Err(RuntimeError::sys("clone3", err));
    }
    // SAFETY: as above, the legacy clone with a NULL stack is fork-like.
    let r = unsafe {
        libc::syscall(
            libc::SYS_clone,
            (flags as libc::c_ulong) | libc::SIGCHLD as libc::c_ulong,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    if r < 0 {
        return Err(RuntimeError::sys("clone", nix::errno::Errno::last()));
    }
    Ok(r as i32)
}

fn pipe_cloexec() -> Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| RuntimeError::sys("pipe", e))
}

/// Start the container init. The caller has blocked the signals it wants to
/// handle; the child restores an empty mask before exec.
pub fn spawn(spec: &InitSpec, cgroup: &Cgroup) -> Result<Spawned> {
    spawn_with(spec, cgroup, None)
}

/// `spawn`, running `before_release(pid)` in the parent once the child
/// exists and before it may exec (e.g. to plumb its network namespace
/// while it builds its rootfs).
pub fn spawn_with(
    spec: &InitSpec,
    cgroup: &Cgroup,
    before_release: Option<&mut dyn FnMut(i32) -> Result<()>>,
) -> Result<Spawned> {
    spawn_inner(spec, cgroup, before_release, None)
}

/// `spawn` for a process joining a running container (`exec`): while it
/// cannot start (a container frozen behind our back keeps it waiting),
/// SIGINT, SIGTERM, SIGHUP or SIGQUIT read from `signals` (which the
/// caller blocks) kill it and end the wait with `Interrupted`. Other
/// signals read meanwhile are dropped: there is no process to pass them to.
pub fn spawn_interruptible(
    spec: &InitSpec,
    cgroup: &Cgroup,
    signals: &nix::sys::signalfd::SignalFd,
) -> Result<Spawned> {
    spawn_inner(spec, cgroup, None, Some(signals))
}

/// Until `fd` is readable, or one of the signals that end a wait arrives.
fn wait_readable(fd: RawFd, interrupt: Option<&nix::sys::signalfd::SignalFd>) -> Result<()> {
    let Some(signals) = interrupt else {
        return Ok(());
    };
    loop {
        let mut fds = [
            libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: signals.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: a valid array of pollfd of the given length.
        if unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) } < 0 {
            let e = nix::errno::Errno::last();
            if e == nix::errno::Errno::EINTR {
                continue;
            }
            return Err(RuntimeError::sys("waiting for the process to start", e));
        }
        if fds[0].revents != 0 {
            return Ok(());
        }
        if fds[1].revents != 0 {
            if let Ok(Some(info)) = signals.read_signal() {
                let sig = Signal::try_from(info.ssi_signo as i32);
                if let Ok(
                    s @ (Signal::SIGINT | Signal::SIGTERM | Signal::SIGHUP | Signal::SIGQUIT),
                ) = sig
                {
                    return Err(RuntimeError::Interrupted(s));
                }
            }
        }
    }
}

/// Give up on a child that has not started: killed, not waited for (a
/// task in a v1 frozen cgroup dies only once thawed; init reaps it after
/// we are gone).
fn abandon(pid: i32, e: RuntimeError) -> RuntimeError {
    let pid = nix::unistd::Pid::from_raw(pid);
    let _ = signal::kill(pid, Signal::SIGKILL);
    let _ = nix::sys::wait::waitpid(pid, Some(nix::sys::wait::WaitPidFlag::WNOHANG));
    e
}

fn spawn_inner(
    spec: &InitSpec,
    cgroup: &Cgroup,
    before_release: Option<&mut dyn FnMut(i32) -> Result<()>>,
    interrupt: Option<&nix::sys::signalfd::SignalFd>,
) -> Result<Spawned> {
    let (sync_r, sync_w) = pipe_cloexec()?;
    let (err_r, err_w) = pipe_cloexec()?;
    let pty_sock = if spec.tty {
        Some(
            socket::socketpair(
                socket::AddressFamily::Unix,
                socket::SockType::Stream,
                None,
                socket::SockFlag::SOCK_CLOEXEC,
            )
            .map_err(|e| RuntimeError::sys("socketpair", e))?,
        )
    } else {
        None
    };

    let joining = matches!(spec.mode, InitMode::Join { .. });
    let mut flags = if joining {
        0
    } else {
        let mut f = if spec.extra.host_mount_ns {
            0
        } else {
            libc::CLONE_NEWNS
        };
        if spec.pid_ns == NsMode::Private {
            f |= libc::CLONE_NEWPID;
        }
        if spec.own_uts {
            f |= libc::CLONE_NEWUTS;
        }
        if spec.ipc_ns == NsMode::Private {
            f |= libc::CLONE_NEWIPC;
        }
        f as u64
    };
    if let (NsMode::Join(fd), false) = (spec.pid_ns, joining) {
        // As for exec: the pid namespace our next child is born in.
        // SAFETY: setns on an fd the caller holds open.
        if unsafe { libc::setns(fd, libc::CLONE_NEWPID) } != 0 {
            return Err(RuntimeError::sys(
                "joining the pid namespace of the container",
                nix::errno::Errno::last(),
            ));
        }
    }
    if spec.new_netns && !joining {
        flags |= libc::CLONE_NEWNET as u64;
    }
    if let InitMode::Join { pid_ns, .. } = &spec.mode {
        // SAFETY: setns on an fd the caller holds open; it only changes
        // the pid namespace of the children we create from here on.
        if unsafe { libc::setns(*pid_ns, libc::CLONE_NEWPID) } != 0 {
            return Err(RuntimeError::sys(
                "joining the pid namespace",
                nix::errno::Errno::last(),
            ));
        }
    }
    let entry = cgroup.entry()?;
    let unified = cgroup.mode == super::cgroups::CgroupMode::Unified;
    if unified && !joining && spec.private_cgroupns {
        // Already in its cgroup at birth, so the cgroup namespace can be
        // created by clone itself.
        flags |= libc::CLONE_NEWCGROUP as u64;
    }
    let pid = clone_child(flags, entry.into.as_ref().map(|f| f.as_raw_fd()))?;
    if pid == 0 {
        drop(sync_w);
        drop(err_r);
        let sock = pty_sock.map(|(p, c)| {
            drop(p);
            c
        });
        let unshare_later = !unified && !joining && spec.private_cgroupns;
        child_main(spec, sync_r, err_w, sock, unshare_later, &entry.tasks);
    }
    drop(entry);
    drop(sync_r);
    drop(err_w);
    let sock = pty_sock.map(|(p, c)| {
        drop(c);
        p
    });

    let mut err_r = std::fs::File::from(err_r);
    // A failure on our side: stop the child, but report its own error if
    // it had already failed (its message is complete or absent: one small
    // write to a pipe is atomic).
    let fail = |err_r: &mut std::fs::File, e: RuntimeError| -> RuntimeError {
        let _ = signal::kill(nix::unistd::Pid::from_raw(pid), Signal::SIGKILL);
        let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None);
        let mut msg = Vec::new();
        let _ = err_r.read_to_end(&mut msg);
        if msg.is_empty() {
            e
        } else {
            decode_error(&msg)
        }
    };
    // The child places itself in its cgroup and builds its rootfs while
    // the hook (plumbing the network, publishing ports: 1.5-5 ms) runs.
    if let Some(hook) = before_release {
        if let Err(e) = hook(pid) {
            return Err(fail(&mut err_r, e));
        }
    }
    let mut sync_w = std::fs::File::from(sync_w);
    if let Err(e) = sync_w.write_all(&[1]) {
        return Err(fail(
            &mut err_r,
            RuntimeError::io("releasing container init", e),
        ));
    }
    drop(sync_w);

    let pty_master = match sock {
        Some(s) => {
            wait_readable(s.as_raw_fd(), interrupt).map_err(|e| abandon(pid, e))?;
            match recv_fd(&s) {
                Ok(m) => m,
                Err(e) => return Err(fail(&mut err_r, e)),
            }
        }
        None => None,
    };
    wait_readable(err_r.as_raw_fd(), interrupt).map_err(|e| abandon(pid, e))?;
    let mut msg = Vec::new();
    if spec.extra.start_gate.is_some() {
        // One small write, atomic: E_READY alone, or a whole error.
        let mut buf = [0u8; 4096];
        let n = err_r.read(&mut buf).unwrap_or(0);
        if buf.get(..n) == Some(&[E_READY][..]) {
            return Ok(Spawned { pid, pty_master });
        }
        msg.extend_from_slice(buf.get(..n).unwrap_or_default());
        if msg.is_empty() {
            let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None);
            return Err(RuntimeError::Other(
                "container init exited before it was set up".into(),
            ));
        }
    } else {
        let _ = err_r.read_to_end(&mut msg);
    }
    if !msg.is_empty() {
        let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None);
        return Err(decode_error(&msg));
    }
    Ok(Spawned { pid, pty_master })
}

fn recv_fd(sock: &OwnedFd) -> Result<Option<OwnedFd>> {
    let mut buf = [0u8; 1];
    let mut iov = [IoSliceMut::new(&mut buf)];
    let mut cmsg = nix::cmsg_space!([RawFd; 1]);
    let msg = socket::recvmsg::<()>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(|e| RuntimeError::sys("receiving the pty", e))?;
    for c in msg
        .cmsgs()
        .map_err(|e| RuntimeError::sys("receiving the pty", e))?
    {
        if let ControlMessageOwned::ScmRights(fds) = c {
            if let Some(&fd) = fds.first() {
                // SAFETY: the kernel just installed this fd for us.
                return Ok(Some(unsafe { OwnedFd::from_raw_fd(fd) }));
            }
        }
    }
    Ok(None)
}

// Error encoding over errpipe: one kind byte, then the message.
const E_GENERIC: u8 = 0;
const E_NOTFOUND: u8 = 1;
const E_DENIED: u8 = 2;
const E_EXEC: u8 = 3;
const E_USER: u8 = 4;
const E_GROUP: u8 = 5;
const E_MISSING: u8 = 6;
const E_CWD: u8 = 7;
/// Not an error: a gated init is set up and waits for `start`.
const E_READY: u8 = 8;

fn encode_error(e: &RuntimeError) -> Vec<u8> {
    let (kind, text) = match e {
        RuntimeError::ExecNotFound(p) => (E_NOTFOUND, p.clone()),
        RuntimeError::ExecDenied(p) => (E_DENIED, p.clone()),
        RuntimeError::ExecFailed(p, why) => (E_EXEC, format!("{p}\0{why}")),
        RuntimeError::ExecMissing(p) => (E_MISSING, p.clone()),
        RuntimeError::UserNotFound(u) => (E_USER, u.clone()),
        RuntimeError::GroupNotFound(g) => (E_GROUP, g.clone()),
        RuntimeError::Cwd(d, why) => (E_CWD, format!("{d}\0{why}")),
        other => (E_GENERIC, other.to_string()),
    };
    let mut v = vec![kind];
    v.extend_from_slice(text.as_bytes());
    v
}

fn decode_error(msg: &[u8]) -> RuntimeError {
    let (kind, text) = msg.split_first().unwrap_or((&E_GENERIC, &[]));
    let text = String::from_utf8_lossy(text).into_owned();
    match *kind {
        E_NOTFOUND => RuntimeError::ExecNotFound(text),
        E_DENIED => RuntimeError::ExecDenied(text),
        E_EXEC => {
            let (p, why) = text.split_once('\0').unwrap_or((&text, ""));
            RuntimeError::ExecFailed(p.to_string(), why.to_string())
        }
        E_MISSING => RuntimeError::ExecMissing(text),
        E_USER => RuntimeError::UserNotFound(text),
        E_GROUP => RuntimeError::GroupNotFound(text),
        E_CWD => {
            let (d, why) = text.split_once('\0').unwrap_or((&text, ""));
            RuntimeError::Cwd(d.to_string(), why.to_string())
        }
        _ => RuntimeError::Other(text),
    }
}

/// An errno as Go prints it: strerror's text, first letter lower-cased
/// ("no such file or directory").
fn go_errno(e: nix::errno::Errno) -> String {
    let d = e.desc();
    let mut c = d.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Set in the init once `create` has returned (the parent no longer
/// reads the error pipe).
static PAST_CREATE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The container init. Never returns: execs or exits.
fn child_main(
    spec: &InitSpec,
    sync_r: OwnedFd,
    err_w: OwnedFd,
    sock: Option<OwnedFd>,
    unshare_cgroup: bool,
    tasks: &[(std::path::PathBuf, std::fs::File)],
) -> ! {
    let res = join_cgroup(tasks).and_then(|()| init(spec, sync_r, sock, unshare_cgroup, &err_w));
    let e = match res {
        Ok(never) => match never {},
        Err(e) => e,
    };
    let mut f = std::fs::File::from(err_w);
    let _ = f.write_all(&encode_error(&e));
    if PAST_CREATE.load(std::sync::atomic::Ordering::Relaxed) {
        // Past `create`, nobody reads the error pipe: the container's
        // stderr is where it can be seen. (Before, the parent reports it.)
        let _ = writeln!(std::io::stderr(), "rdock-runtime: container init: {e}");
    }
    // SAFETY: _exit skips atexit handlers and stdio flushing that belong to the parent.
    unsafe { libc::_exit(1) }
}

enum Never {}

/// The child's first step: into its v1 cgroups by itself (see
/// `Cgroup::entry`), before anything it does is counted elsewhere.
fn join_cgroup(tasks: &[(std::path::PathBuf, std::fs::File)]) -> Result<()> {
    for (path, f) in tasks {
        let mut w: &std::fs::File = f;
        w.write_all(b"0")
            .map_err(|e| RuntimeError::Cgroup(format!("writing {}: {e}", path.display())))?;
    }
    Ok(())
}

fn init(
    spec: &InitSpec,
    sync_r: OwnedFd,
    sock: Option<OwnedFd>,
    unshare_cgroup: bool,
    err_w: &OwnedFd,
) -> Result<Never> {
    // Until execve, this process is the rdock binary inside the
    // container's namespaces: non-dumpable, the container's processes
    // cannot ptrace it nor open its /proc/PID/exe (the host binary), as
    // runc's init does since CVE-2016-9962/CVE-2019-5736. execve makes
    // the program dumpable again as usual.
    // SAFETY: prctl with integer arguments only.
    if unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) } != 0 {
        return Err(RuntimeError::sys(
            "prctl(PR_SET_DUMPABLE)",
            nix::errno::Errno::last(),
        ));
    }
    // docker's processes start with umask 022, whatever rdock's caller had.
    // SAFETY: umask cannot fail.
    unsafe { libc::umask(spec.extra.umask.unwrap_or(0o022) as libc::mode_t) };
    nix::unistd::setsid().map_err(|e| RuntimeError::sys("setsid", e))?;
    let mut host_proc: Option<OwnedFd> = None;
    match &spec.mode {
        InitMode::Oci {
            rootfs,
            hostname,
            domainname,
        } => {
            enter_namespaces(spec)?;
            if spec.extra.host_mount_ns {
                // The exec fifo is reached through the host's /proc,
                // which the chroot hides.
                host_proc = Some(open_host_proc()?);
                super::oci::rootfs::chroot_only(rootfs)?;
            } else {
                super::oci::rootfs::setup(rootfs)?;
            }
            set_names(hostname.as_deref(), domainname.as_deref())?;
        }
        InitMode::Join { namespaces, .. } => {
            for (fd, kind) in namespaces {
                // SAFETY: setns on fds the parent opened for us.
                if unsafe { libc::setns(*fd, *kind) } != 0 {
                    return Err(RuntimeError::sys(
                        "joining the container's namespaces",
                        nix::errno::Errno::last(),
                    ));
                }
            }
            // Entering a mount namespace leaves us at its root.
            nix::unistd::chdir("/").map_err(|e| RuntimeError::sys("chdir /", e))?;
        }
    }

    // Wait until the parent has plumbed what it must (the network) before
    // anything the container runs can see it half-made.
    let mut b = [0u8; 1];
    let mut sync_r = std::fs::File::from(sync_r);
    if sync_r
        .read(&mut b)
        .map_err(|e| RuntimeError::io("waiting for parent", e))?
        != 1
    {
        return Err(RuntimeError::Other("parent went away".into()));
    }
    drop(sync_r);
    if unshare_cgroup {
        // In our cgroups now (`join_cgroup`): make them our root.
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWCGROUP)
            .map_err(|e| RuntimeError::sys("unshare cgroup namespace", e))?;
    }

    if let Some(fds) = spec.stdio {
        for (i, fd) in fds.iter().enumerate() {
            dup2(*fd, i as RawFd)?;
        }
    }
    if spec.tty {
        setup_tty(sock.as_ref())?;
    } else if !spec.stdin_open {
        let null = nix::fcntl::open(
            "/dev/null",
            nix::fcntl::OFlag::O_RDONLY,
            nix::sys::stat::Mode::empty(),
        )
        .map_err(|e| RuntimeError::sys("open /dev/null", e))?;
        dup2(null, 0)?;
        let _ = nix::unistd::close(null);
    }
    drop(sock);

    if spec.oom_score_adj != 0 {
        // While we still have CAP_SYS_RESOURCE (a negative value needs it).
        std::fs::write("/proc/self/oom_score_adj", spec.oom_score_adj.to_string())
            .map_err(|e| RuntimeError::io("setting oom_score_adj", e))?;
    }
    if spec.extra.exact_rlimits {
        rlimits::set_all(&spec.ulimits)?;
    } else {
        rlimits::apply(&spec.ulimits)?;
    }
    if let Some(offsets) = &spec.extra.time_offsets {
        // Our children's time namespace, which execve enters; its clocks'
        // offsets can only be set before any process is in it.
        nix::sched::unshare(nix::sched::CloneFlags::from_bits_retain(
            libc::CLONE_NEWTIME,
        ))
        .map_err(|e| RuntimeError::sys("unshare time namespace", e))?;
        if !offsets.is_empty() {
            std::fs::write("/proc/self/timens_offsets", offsets)
                .map_err(|e| RuntimeError::io("writing timens_offsets", e))?;
        }
    }
    if let Some(fd) = spec.userns {
        // Last of the privileged steps: from here on root is the mapped
        // root, with capabilities over nothing of the host's.
        // SAFETY: setns on an fd the parent holds open for us.
        if unsafe { libc::setns(fd, libc::CLONE_NEWUSER) } != 0 {
            return Err(RuntimeError::sys(
                "entering the user namespace",
                nix::errno::Errno::last(),
            ));
        }
    }
    caps::drop_bounding(spec.caps)?;
    let mut u = match &spec.extra.ids {
        // As runc: the ids as given; HOME from passwd where it names the uid.
        Some((uid, gid, gids)) => user::ExecUser {
            uid: *uid,
            gid: *gid,
            additional_gids: gids.clone(),
            home: user::resolve(&uid.to_string(), Path::new("/"))
                .map(|e| e.home)
                .unwrap_or_else(|_| "/".into()),
        },
        None => user::resolve(&spec.user, Path::new("/"))?,
    };
    for g in user::group_ids(&spec.group_add, Path::new("/"))? {
        if !u.additional_gids.contains(&g) {
            u.additional_gids.push(g);
        }
    }

    // docker creates a missing working directory at start (owned by root,
    // 0755), never for an exec.
    let cwd = if spec.cwd.is_empty() {
        "/"
    } else {
        spec.cwd.as_str()
    };
    if !matches!(spec.mode, InitMode::Join { .. }) {
        match std::fs::metadata(cwd) {
            // The engine's words: it makes the directory before the start.
            Ok(m) if !m.is_dir() => {
                return Err(RuntimeError::Other(format!(
                    "Cannot mkdir: {cwd} is not a directory"
                )))
            }
            Ok(_) => {}
            Err(_) => {
                let _ = std::fs::create_dir_all(cwd);
            }
        }
    }
    // As runc: chdir while still root, so a directory only root can
    // enter works; on EACCES try again as the user (a dir only the user
    // can enter, e.g. on root-squashing NFS).
    let chdir_failed = |e: nix::errno::Errno| RuntimeError::Cwd(cwd.to_string(), go_errno(e));
    let chdir_later = match nix::unistd::chdir(cwd) {
        Ok(()) => false,
        Err(nix::errno::Errno::EACCES | nix::errno::Errno::EPERM) => true,
        Err(e) => return Err(chdir_failed(e)),
    };

    // Without no_new_privs, seccomp(2) needs CAP_SYS_ADMIN: install the
    // filter now, while we still have it (the user switch and capset
    // below drop it), as runc does. What follows must then pass the
    // filter: setgroups, setresgid/uid, capget/capset, chdir, stat,
    // rt_sigaction/sigprocmask, execve (and fork, wait4, kill for
    // --init), all in docker's allowlist; a custom profile that refuses
    // them fails here as it fails with runc. With no_new_privs the filter
    // goes on last (below), so only exec and --init run under it.
    if !spec.no_new_privs {
        if let Some(prog) = &spec.seccomp {
            seccomp::install(prog)
                .map_err(|e| RuntimeError::sys("installing the seccomp filter", e))?;
        }
    }

    let gids: Vec<nix::unistd::Gid> = u
        .additional_gids
        .iter()
        .map(|g| nix::unistd::Gid::from_raw(*g))
        .collect();
    nix::unistd::setgroups(&gids).map_err(|e| RuntimeError::sys("setgroups", e))?;
    nix::unistd::setresgid(u.gid.into(), u.gid.into(), u.gid.into())
        .map_err(|e| RuntimeError::sys("setgid", e))?;
    if spec.extra.cap_sets.is_some() {
        // The sets are given for whatever uid: keep ours across setuid.
        caps::keep_across_setuid(true)?;
    }
    nix::unistd::setresuid(u.uid.into(), u.uid.into(), u.uid.into())
        .map_err(|e| RuntimeError::sys("setuid", e))?;
    match &spec.extra.cap_sets {
        Some(sets) => {
            caps::keep_across_setuid(false)?;
            caps::apply_sets(sets)?;
        }
        None => caps::apply(spec.caps, u.uid)?,
    }

    if chdir_later {
        nix::unistd::chdir(cwd).map_err(chdir_failed)?;
    }

    let mut env = spec.env.clone();
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!("HOME={}", u.home));
    }
    let path_var = env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or(DEFAULT_PATH)
        .to_string();
    let prog = spec.argv.first().cloned().unwrap_or_default();
    let exe = find_executable(&prog, &path_var)?;
    // Only stdio passes into the program, as runc does: fds the invoking
    // shell left open without close-on-exec would otherwise reach every
    // container. Marked rather than closed, so ours (the error pipe) keep
    // working until the exec succeeds.
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only sets flags.
    // Before the seccomp filter, which need not allow it.
    unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3u32.saturating_add(spec.extra.preserve_fds),
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if let Some(gate) = spec.extra.start_gate {
        wait_for_start(gate, err_w, host_proc.as_ref())?;
    }
    drop(host_proc);
    // As runc: the pid as the container sees it, status "created".
    super::oci::hooks::run_init_hooks(
        &spec.extra.start_container,
        spec.extra.hook_state.as_ref(),
        nix::unistd::getpid().as_raw(),
        "created",
    )?;
    if let Some(p) = spec.extra.personality {
        // SAFETY: personality(2) takes a plain integer.
        if unsafe { libc::personality(p) } == -1 {
            return Err(RuntimeError::sys("personality", nix::errno::Errno::last()));
        }
    }
    if spec.no_new_privs {
        seccomp::set_no_new_privs().map_err(|e| RuntimeError::sys("no_new_privs", e))?;
        if let Some(prog) = &spec.seccomp {
            seccomp::install(prog)
                .map_err(|e| RuntimeError::sys("installing the seccomp filter", e))?;
        }
    }
    if spec.init {
        become_init(spec.tty)?;
    }

    // Signal state is inherited across exec: give the program a clean one
    // (Rust ignores SIGPIPE; the parent blocked the signals it forwards).
    // SAFETY: resetting dispositions to default in a single-threaded child.
    unsafe {
        for s in [
            Signal::SIGPIPE,
            Signal::SIGINT,
            Signal::SIGTERM,
            Signal::SIGHUP,
            Signal::SIGQUIT,
        ] {
            let _ = signal::signal(s, SigHandler::SigDfl);
        }
    }
    let _ = signal::sigprocmask(
        signal::SigmaskHow::SIG_SETMASK,
        Some(&SigSet::empty()),
        None,
    );

    let c_exe = cstr(exe.as_os_str().as_bytes())?;
    let c_argv: Vec<CString> = spec
        .argv
        .iter()
        .map(|a| cstr(a.as_bytes()))
        .collect::<Result<_>>()?;
    let c_env: Vec<CString> = env
        .iter()
        .map(|a| cstr(a.as_bytes()))
        .collect::<Result<_>>()?;
    let err = match nix::unistd::execve(&c_exe, &c_argv, &c_env) {
        Err(e) => e,
        Ok(never) => match never {},
    };
    Err(match err {
        nix::errno::Errno::ENOENT => RuntimeError::ExecNotFound(prog),
        nix::errno::Errno::EACCES => RuntimeError::ExecDenied(prog),
        other => RuntimeError::ExecFailed(prog, other.desc().to_lowercase()),
    })
}

/// The host's /proc, as a directory fd (close-on-exec).
fn open_host_proc() -> Result<OwnedFd> {
    let fd = nix::fcntl::open(
        "/proc",
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| RuntimeError::sys("opening /proc", e))?;
    // SAFETY: `open` just returned this fd.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `create`'s rendezvous, as runc's exec fifo: tell the parent we are set
/// up (it returns, the container is "created"), then block opening the
/// fifo for writing until `start` opens it for reading.
fn wait_for_start(gate: RawFd, err_w: &OwnedFd, host_proc: Option<&OwnedFd>) -> Result<()> {
    nix::unistd::write(err_w, &[E_READY])
        .map_err(|e| RuntimeError::sys("reporting the container created", e))?;
    PAST_CREATE.store(true, std::sync::atomic::Ordering::Relaxed);
    let flags = nix::fcntl::OFlag::O_WRONLY | nix::fcntl::OFlag::O_CLOEXEC;
    let fifo = match host_proc {
        Some(dir) => nix::fcntl::openat(
            Some(dir.as_raw_fd()),
            format!("self/fd/{gate}").as_str(),
            flags,
            nix::sys::stat::Mode::empty(),
        ),
        None => nix::fcntl::open(
            format!("/proc/self/fd/{gate}").as_str(),
            flags,
            nix::sys::stat::Mode::empty(),
        ),
    }
    .map_err(|e| RuntimeError::sys("opening the exec fifo", e))?;
    // SAFETY: `open` just returned this fd.
    let fifo = unsafe { OwnedFd::from_raw_fd(fifo) };
    nix::unistd::write(&fifo, b"0").map_err(|e| RuntimeError::sys("writing the exec fifo", e))?;
    Ok(())
}

/// The namespaces a process joins to enter a running container, in the
/// order it must: the mount namespace last, once the host's /proc is no
/// longer needed (the pid namespace is entered apart, before clone).
pub const JOIN_ORDER: [(&str, libc::c_int); 5] = [
    ("ipc", libc::CLONE_NEWIPC),
    ("uts", libc::CLONE_NEWUTS),
    ("net", libc::CLONE_NEWNET),
    ("cgroup", libc::CLONE_NEWCGROUP),
    ("mnt", libc::CLONE_NEWNS),
];

pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
pub const DEFAULT_PATH_ENV: &str =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

fn cstr(b: &[u8]) -> Result<CString> {
    CString::new(b).map_err(|_| RuntimeError::InvalidArg("argument contains a NUL byte".into()))
}

/// PATH lookup with the *container's* PATH (execvp would use ours).
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_encoding_round_trips() {
        for e in [
            RuntimeError::ExecNotFound("foo".into()),
            RuntimeError::ExecDenied("/etc".into()),
            RuntimeError::ExecFailed("/x".into(), "exec format error".into()),
            RuntimeError::UserNotFound("bob".into()),
            RuntimeError::Other("mount failed".into()),
        ] {
            let d = decode_error(&encode_error(&e));
            assert_eq!(d.to_string(), e.to_string());
            assert_eq!(d.exit_code(), e.exit_code());
        }
    }

    #[test]
    fn path_lookup_uses_given_path() {
        let d = tempfile::tempdir().unwrap();
        let exe = d.path().join("prog");
        std::fs::write(&exe, "#!/bin/sh\n").unwrap();
        let noexec = d.path().join("data");
        std::fs::write(&noexec, "x").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&noexec, std::fs::Permissions::from_mode(0o644)).unwrap();
        let p = d.path().to_str().unwrap();
        assert_eq!(find_executable("prog", p).unwrap(), exe);
        assert!(matches!(
            find_executable("nope", p),
            Err(RuntimeError::ExecNotFound(_))
        ));
        // root passes access(X_OK) only if some x bit is set
        assert!(matches!(
            find_executable("data", p),
            Err(RuntimeError::ExecDenied(_))
        ));
    }
}
