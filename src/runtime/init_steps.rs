//! Steps of the container init (the clone child) between clone and
//! execve that need none of the parent's protocol: entering namespaces,
//! names, the `--init` reaper, the PATH lookup, the terminal.

use super::init_spec::{InitSpec, NsMode};
use super::{Result, RuntimeError};
use nix::sys::signal::{self, SigSet, Signal};
use nix::sys::socket::{self, ControlMessage, MsgFlags};
use std::io::IoSlice;
use std::os::fd::RawFd;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

/// docker's namespace joins for a new container (`--ipc container:`,
/// `--network container:`, the OCI config's paths), and lo up in a new
/// network namespace.
pub(super) fn enter_namespaces(spec: &InitSpec) -> Result<()> {
    let ipc = match spec.ipc_ns {
        NsMode::Join(fd) => Some((fd, libc::CLONE_NEWIPC)),
        _ => None,
    };
    let net = spec.join_netns.map(|fd| (fd, libc::CLONE_NEWNET));
    for (fd, kind) in ipc
        .into_iter()
        .chain(net)
        .chain(spec.extra.join.iter().copied())
    {
        // SAFETY: setns on an fd the parent holds open for us.
        if unsafe { libc::setns(fd, kind) } != 0 {
            return Err(RuntimeError::sys(
                format!("joining the {} namespace", ns_name(kind)),
                nix::errno::Errno::last(),
            ));
        }
    }
    if spec.new_netns {
        // docker's containers have lo up, --network none included.
        crate::network::netlink::set_lo_up_in_current_netns()
            .map_err(|e| RuntimeError::Other(e.to_string()))?;
    }
    Ok(())
}

fn ns_name(kind: libc::c_int) -> &'static str {
    match kind {
        libc::CLONE_NEWIPC => "IPC",
        libc::CLONE_NEWNET => "network",
        libc::CLONE_NEWUTS => "UTS",
        libc::CLONE_NEWCGROUP => "cgroup",
        libc::CLONE_NEWNS => "mount",
        libc::CLONE_NEWTIME => "time",
        _ => "other",
    }
}

/// The hostname and domain name in our UTS namespace; None leaves one as
/// it is, as does an empty domain name (docker's "(none)").
pub(super) fn set_names(hostname: Option<&str>, domainname: Option<&str>) -> Result<()> {
    if let Some(h) = hostname {
        nix::unistd::sethostname(h).map_err(|e| RuntimeError::sys("sethostname", e))?;
    }
    if let Some(d) = domainname.filter(|d| !d.is_empty()) {
        // SAFETY: a pointer and length of a live string.
        if unsafe { libc::setdomainname(d.as_ptr().cast(), d.len()) } != 0 {
            return Err(RuntimeError::sys(
                "setdomainname",
                nix::errno::Errno::last(),
            ));
        }
    }
    Ok(())
}

/// `--init`: fork; the child returns to exec the program, we stay as the
/// container's PID 1: every signal we receive goes to the program, every
/// orphan that ends up with us is reaped, and we exit with the program's
/// status (128+N if a signal ended it).
pub(super) fn become_init(tty: bool) -> Result<()> {
    let all = SigSet::all();
    signal::sigprocmask(signal::SigmaskHow::SIG_BLOCK, Some(&all), None)
        .map_err(|e| RuntimeError::sys("sigprocmask", e))?;
    // SAFETY: single-threaded; the child goes straight on to exec.
    match unsafe { nix::unistd::fork() }.map_err(|e| RuntimeError::sys("fork", e))? {
        nix::unistd::ForkResult::Child => {
            // Our own process group, in the terminal's foreground, so ^C
            // and job control reach the program as without an init.
            let _ =
                nix::unistd::setpgid(nix::unistd::Pid::from_raw(0), nix::unistd::Pid::from_raw(0));
            if tty {
                let _ = nix::unistd::tcsetpgrp(std::io::stdin(), nix::unistd::getpid());
            }
            Ok(())
        }
        nix::unistd::ForkResult::Parent { child } => {
            // `ps` in the container names it as docker's names its tini
            // ("docker-init"): rdock's init.
            // SAFETY: PR_SET_NAME reads our NUL-terminated constant.
            unsafe { libc::prctl(libc::PR_SET_NAME, c"rdock-init".as_ptr()) };
            // Exec failures are the child's to report; EOF must come when
            // it execs, so our copy of the error pipe goes, and with it
            // every other inherited descriptor (close-on-exec ones too: we
            // never exec, and a caller may wait for their EOF).
            // SAFETY: close_range on our own descriptor table.
            if unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) } != 0 {
                for fd in 3..1024 {
                    let _ = nix::unistd::close(fd);
                }
            }
            loop {
                let sig = match all.wait() {
                    Ok(s) => s,
                    Err(_) => continue,
                };
                if sig != Signal::SIGCHLD {
                    let _ = signal::kill(child, sig);
                    continue;
                }
                loop {
                    match nix::sys::wait::waitpid(
                        nix::unistd::Pid::from_raw(-1),
                        Some(nix::sys::wait::WaitPidFlag::WNOHANG),
                    ) {
                        Ok(nix::sys::wait::WaitStatus::Exited(p, code)) if p == child => {
                            // SAFETY: leaving PID 1 ends the container.
                            unsafe { libc::_exit(code) }
                        }
                        Ok(nix::sys::wait::WaitStatus::Signaled(p, s, _)) if p == child => {
                            // SAFETY: as above.
                            unsafe { libc::_exit((s as i32).saturating_add(128)) }
                        }
                        Ok(nix::sys::wait::WaitStatus::StillAlive) | Err(_) => break,
                        Ok(_) => {}
                    }
                }
            }
        }
    }
}

pub(super) fn find_executable(prog: &str, path_var: &str) -> Result<PathBuf> {
    if prog.is_empty() {
        return Err(RuntimeError::ExecNotFound(prog.to_string()));
    }
    if prog.contains('/') {
        return match std::fs::metadata(prog) {
            Ok(m) if m.is_dir() => Err(RuntimeError::ExecDenied(prog.to_string())),
            Ok(_) => Ok(PathBuf::from(prog)),
            Err(_) => Err(RuntimeError::ExecMissing(prog.to_string())),
        };
    }
    let mut denied = false;
    for dir in path_var.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let cand = Path::new(dir).join(prog);
        if let Ok(m) = std::fs::metadata(&cand) {
            if m.is_file() {
                if nix::unistd::access(&cand, nix::unistd::AccessFlags::X_OK).is_ok() {
                    return Ok(cand);
                }
                denied = true;
            }
        }
    }
    if denied {
        Err(RuntimeError::ExecDenied(prog.to_string()))
    } else {
        Err(RuntimeError::ExecNotFound(prog.to_string()))
    }
}

/// Open a PTY in the container's devpts, make its slave our controlling
/// terminal and stdio, send the master to the parent.
pub(super) fn setup_tty(sock: Option<&OwnedFd>) -> Result<()> {
    let master = nix::pty::posix_openpt(nix::fcntl::OFlag::O_RDWR | nix::fcntl::OFlag::O_NOCTTY)
        .map_err(|e| RuntimeError::sys("open /dev/ptmx", e))?;
    nix::pty::grantpt(&master).map_err(|e| RuntimeError::sys("grantpt", e))?;
    nix::pty::unlockpt(&master).map_err(|e| RuntimeError::sys("unlockpt", e))?;
    let name = nix::pty::ptsname_r(&master).map_err(|e| RuntimeError::sys("ptsname", e))?;
    let slave = nix::fcntl::open(
        name.as_str(),
        nix::fcntl::OFlag::O_RDWR | nix::fcntl::OFlag::O_NOCTTY,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| RuntimeError::sys("open pty slave", e))?;
    // /dev/console is the container's terminal, as docker sets it up.
    let console = Path::new("/dev/console");
    if std::fs::File::create(console).is_ok() {
        let _ = nix::mount::mount(
            Some(name.as_str()),
            console,
            None::<&str>,
            nix::mount::MsFlags::MS_BIND,
            None::<&str>,
        );
    }
    if let Some(sock) = sock {
        let fds = [master.as_raw_fd()];
        let iov = [IoSlice::new(b"t")];
        socket::sendmsg::<()>(
            sock.as_raw_fd(),
            &iov,
            &[ControlMessage::ScmRights(&fds)],
            MsgFlags::empty(),
            None,
        )
        .map_err(|e| RuntimeError::sys("sending the pty", e))?;
    }
    drop(master);
    // The terminal is stdin too, with or without -i (docker's `run -t
    // busybox tty` says /dev/pts/0); without -i nothing is typed into it.
    dup2(slave, 0)?;
    dup2(slave, 1)?;
    dup2(slave, 2)?;
    // SAFETY: TIOCSCTTY on our own new session's terminal.
    if unsafe { libc::ioctl(slave, libc::TIOCSCTTY, 0) } < 0 {
        return Err(RuntimeError::sys("TIOCSCTTY", nix::errno::Errno::last()));
    }
    if slave > 2 {
        let _ = nix::unistd::close(slave);
    }
    Ok(())
}

pub(super) fn dup2(from: RawFd, to: RawFd) -> Result<()> {
    if from != to {
        nix::unistd::dup2(from, to).map_err(|e| RuntimeError::sys("dup2", e))?;
    }
    Ok(())
}
