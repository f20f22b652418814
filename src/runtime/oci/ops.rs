//! The runtime's operations on a container, as runc's commands define
//! them: create (the init set up and waiting on its exec fifo), start,
//! kill, delete, pause, resume, processes, update, exec.

use super::hooks::{run_hook, run_warning};
use super::lower::{self, Plan};
use super::state::{self, Entry, Saved, Status, FIFO};
use super::{OciError, Result};
use crate::runtime::cgroups::Cgroup;
use crate::runtime::process::{self, InitMode};
use nix::sys::signal::Signal;
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Debug, Default, Clone)]
pub struct CreateOptions {
    pub bundle: PathBuf,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    pub no_pivot: bool,
    pub preserve_fds: u32,
    /// A terminal without a console socket: the caller (a foreground
    /// `run`) gets the master.
    pub keep_terminal: bool,
}

/// What `create` and `exec` made.
pub struct Started {
    pub pid: i32,
    /// The pty master when the caller keeps the terminal.
    pub terminal: Option<OwnedFd>,
}

/// What `create` made: the init, set up and waiting for `start`.
pub fn create(root: &Path, id: &str, opts: &CreateOptions) -> Result<Started> {
    state::check_id(id)?;
    state::root_dir(root)?;
    let spec = lower::load(&opts.bundle)?;
    let mut plan = lower::lower(&spec, &opts.bundle, id)?;
    if plan.init.tty && opts.console_socket.is_none() && !opts.keep_terminal {
        return Err(OciError::Config(
            "cannot allocate tty if runc will detach without setting console socket".into(),
        ));
    }
    if !plan.init.tty && opts.console_socket.is_some() {
        return Err(OciError::Config(
            "cannot use console socket if runc will not detach or allocate tty".into(),
        ));
    }
    let dir = root.join(id);
    match std::fs::DirBuilder::new()
        .mode(crate::util::PRIVATE_DIR)
        .create(&dir)
    {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(OciError::Exists(id.to_string()))
        }
        Err(e) => return Err(OciError::io(format!("creating {}", dir.display()), e)),
    }
    let root_path = match &plan.init.mode {
        InitMode::Oci { rootfs, .. } => rootfs.root.clone(),
        _ => PathBuf::new(),
    };
    // Recorded before anything is made, with no pid: a create killed at
    // any point leaves a "stopped" container that `delete` removes with
    // its cgroup and whatever process is in it.
    let mut entry = Entry {
        dir: dir.clone(),
        saved: Saved {
            id: id.to_string(),
            pid: 0,
            pid_start: 0,
            bundle: opts.bundle.clone(),
            rootfs: root_path,
            created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
            annotations: spec
                .annotations()
                .clone()
                .unwrap_or_default()
                .into_iter()
                .collect(),
            cgroup_parent: plan.cgroup_parent.clone(),
            cgroup_name: plan.cgroup_name.clone(),
            hooks: spec.hooks().clone(),
        },
    };
    let made = (|| -> Result<Started> {
        entry.save()?;
        // The config as created: later edits of the bundle's must not
        // change the container (exec reads this copy).
        let json = serde_json::to_vec(&spec).map_err(|e| OciError::Config(e.to_string()))?;
        crate::util::write_mode(&dir.join("config.json"), &json, crate::util::PRIVATE_FILE)
            .map_err(|e| OciError::io("saving the config", e))?;
        let cg = Cgroup::create(&plan.cgroup_parent, &plan.cgroup_name)?;
        let started = launch(&dir, &mut plan, &cg, &spec, opts).inspect_err(|_| {
            let _ = cg.remove();
        })?;
        let pid = started.pid;
        entry.saved.pid = pid;
        entry.saved.pid_start = crate::util::proc_start_time(pid).unwrap_or(0);
        let saved = entry.save().and_then(|_| match &opts.pid_file {
            Some(p) => write_pid_file(p, pid),
            None => Ok(()),
        });
        if let Err(e) = saved {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), Signal::SIGKILL);
            let _ = cg.remove();
            return Err(e);
        }
        Ok(started)
    })();
    let started = match made {
        Ok(s) => s,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(e);
        }
    };
    Ok(started)
}

/// Resources, the fifo, the spawn and the console: the init is set up
/// and waiting when this returns.
fn launch(
    dir: &Path,
    plan: &mut Plan,
    cg: &Cgroup,
    spec: &oci_spec::runtime::Spec,
    opts: &CreateOptions,
) -> Result<Started> {
    plan.resources.apply(cg)?;
    crate::runtime::devices::apply(cg, &plan.device_rules, plan.device_rules.is_empty())?;
    if !plan.unified.is_empty() && cg.mode != crate::runtime::cgroups::CgroupMode::Unified {
        return Err(OciError::Unsupported(
            "unified: cgroup v2 files need a cgroup v2 host (this one has v1 controllers)".into(),
        ));
    }
    for (k, v) in &plan.unified {
        let d = cg.dirs.first().cloned().unwrap_or_default();
        if k.contains('/') || k.starts_with('.') {
            return Err(OciError::Config(format!("unified: bad cgroup file {k:?}")));
        }
        std::fs::write(d.join(k), v).map_err(|e| OciError::io(format!("writing {k}"), e))?;
    }
    for (file, v) in &plan.v1_files {
        if let Some(d) = cg.dirs.iter().find(|d| d.join(file).exists()) {
            std::fs::write(d.join(file), v)
                .map_err(|e| OciError::io(format!("writing {file}"), e))?;
        }
    }
    let fifo = dir.join(FIFO);
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600))
        .map_err(|e| OciError::io("creating the exec fifo", e.into()))?;
    // The init opens it as the container's root (another uid in a user
    // namespace); the state dir stays 0700, so only through its fd.
    let (uid, gid) = plan.root_ids;
    nix::unistd::chown(&fifo, Some(uid.into()), Some(gid.into()))
        .map_err(|e| OciError::io("chown of the exec fifo", e.into()))?;
    let gate = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH)
        .open(&fifo)
        .map_err(|e| OciError::io("opening the exec fifo", e))?;
    plan.init.extra.start_gate = Some(gate.as_raw_fd());
    plan.init.extra.preserve_fds = opts.preserve_fds;
    if let InitMode::Oci { rootfs, .. } = &mut plan.init.mode {
        rootfs.cgroup_dirs = cg.v1_dirs();
        rootfs.no_pivot = opts.no_pivot;
    }
    let hooks = spec.hooks().clone().unwrap_or_default();
    let bundle = opts.bundle.clone();
    let id = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let annotations = spec.annotations().clone().unwrap_or_default();
    let mut before = |pid: i32| -> crate::runtime::Result<()> {
        let state = |status: &str| {
            serde_json::json!({
                "ociVersion": state::OCI_VERSION, "id": id, "status": status,
                "pid": pid, "bundle": bundle, "annotations": annotations,
            })
        };
        // prestart (deprecated) as the runtime-tools suite reads the spec:
        // the container "created"; createRuntime while "creating".
        let run = |list: &Option<Vec<oci_spec::runtime::Hook>>, status: &str| {
            for h in list.iter().flatten() {
                run_hook(h, &state(status))
                    .map_err(|e| crate::runtime::RuntimeError::Other(e.to_string()))?;
            }
            Ok(())
        };
        run(hooks.prestart(), "created")?;
        run(hooks.create_runtime(), "creating")
    };
    // createContainer runs in the init, in the container's namespaces
    // before pivot_root; startContainer in it once started, before exec.
    let base = serde_json::json!({
        "ociVersion": state::OCI_VERSION,
        "id": dir.file_name().map(|n| n.to_string_lossy().into_owned()),
        "bundle": opts.bundle,
        "annotations": spec.annotations().clone().unwrap_or_default(),
    });
    if let InitMode::Oci { rootfs, .. } = &mut plan.init.mode {
        rootfs.create_container = hooks.create_container().clone().unwrap_or_default();
        rootfs.hook_state = Some(base.clone());
    }
    plan.init.extra.start_container = hooks.start_container().clone().unwrap_or_default();
    plan.init.extra.hook_state = Some(base);
    let spawned = process::spawn_with(&plan.init, cg, Some(&mut before))?;
    drop(gate);
    let terminal = match (spawned.pty_master, &opts.console_socket) {
        (Some(master), Some(sock)) => {
            if let Err(e) = send_console(sock, master) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(spawned.pid),
                    Signal::SIGKILL,
                );
                return Err(e);
            }
            None
        }
        (master, _) => master,
    };
    Ok(Started {
        pid: spawned.pid,
        terminal,
    })
}

/// runc's pid file: written aside (0600) and renamed into place.
pub fn write_pid_file(path: &Path, pid: i32) -> Result<()> {
    let abs = std::path::absolute(path).map_err(|e| OciError::io("pid file", e))?;
    crate::util::replace_file(&abs, pid.to_string().as_bytes())
        .map_err(|e| OciError::io(format!("writing the pid file {}", abs.display()), e))
}

/// The console-socket protocol (runc's): the pty master sent over the
/// unix socket with SCM_RIGHTS, the terminal's name as the payload.
fn send_console(sock: &Path, master: OwnedFd) -> Result<()> {
    use nix::sys::socket::{self, ControlMessage, MsgFlags, UnixAddr};
    let err = |e: nix::Error| OciError::io(format!("console socket {}", sock.display()), e.into());
    let fd = socket::socket(
        socket::AddressFamily::Unix,
        socket::SockType::Stream,
        socket::SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(err)?;
    let addr = UnixAddr::new(sock).map_err(err)?;
    socket::connect(fd.as_raw_fd(), &addr).map_err(err)?;
    let name = pty_name(&master);
    let iov = [std::io::IoSlice::new(name.as_bytes())];
    let fds = [master.as_raw_fd()];
    socket::sendmsg::<()>(
        fd.as_raw_fd(),
        &iov,
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )
    .map_err(err)?;
    Ok(())
}

/// The terminal's name (/dev/pts/N as the container sees it).
fn pty_name(master: &OwnedFd) -> String {
    let mut buf = [0 as libc::c_char; 64];
    // SAFETY: a live fd and a buffer of the given length.
    let r = unsafe { libc::ptsname_r(master.as_raw_fd(), buf.as_mut_ptr(), buf.len()) };
    if r != 0 {
        return "/dev/ptmx".into();
    }
    // SAFETY: ptsname_r NUL-terminated the buffer.
    unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

/// `start`: release a created container's init (through its fifo), then
/// the poststart hooks (a failure is only reported).
pub fn start(root: &Path, id: &str) -> Result<Vec<String>> {
    let entry = Entry::load(root, id)?;
    match entry.status() {
        Status::Created => {}
        Status::Stopped => {
            return Err(OciError::State(
                "cannot start a container that has stopped".into(),
            ))
        }
        _ => {
            return Err(OciError::State(
                "cannot start an already running container".into(),
            ))
        }
    }
    let fifo = entry.dir.join(FIFO);
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(&fifo)
        .map_err(|e| OciError::io("opening the exec fifo", e))?;
    // The init opens its end and writes one byte; it may die instead.
    let mut b = [0u8; 1];
    loop {
        match f.read(&mut b) {
            Ok(1) => break,
            Ok(_) if !entry.alive() => {
                return Err(OciError::State("container init exited before start".into()))
            }
            Err(e) if e.kind() != std::io::ErrorKind::WouldBlock => {
                return Err(OciError::io("reading the exec fifo", e))
            }
            _ if !entry.alive() => {
                return Err(OciError::State("container init exited before start".into()))
            }
            _ => {
                let mut pfd = [nix::poll::PollFd::new(
                    std::os::fd::AsFd::as_fd(&f),
                    nix::poll::PollFlags::POLLIN,
                )];
                let _ = nix::poll::poll(&mut pfd, nix::poll::PollTimeout::from(10u16));
            }
        }
    }
    let _ = std::fs::remove_file(&fifo);
    let hooks = entry
        .saved
        .hooks
        .iter()
        .flat_map(|h| h.poststart().iter().flatten());
    let warnings = run_warning(hooks, &entry.hook_state(Status::Running));
    Ok(warnings)
}

/// `kill`: a signal to the init, or with `all` to every process of the
/// container.
pub fn kill(root: &Path, id: &str, sig: Signal, all: bool) -> Result<()> {
    let entry = Entry::load(root, id)?;
    if all {
        let cg = entry.cgroup();
        if sig == Signal::SIGKILL {
            cg.kill_all(sig);
            let _ = cg.thaw();
        } else {
            cg.kill_all(sig);
        }
        return Ok(());
    }
    if entry.status() == Status::Stopped {
        return Err(OciError::State("container not running".into()));
    }
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(entry.saved.pid), sig)
        .map_err(|e| OciError::io("kill", e.into()))
}

/// `delete`: a stopped (or created) container's cgroup and state go;
/// `force` kills a running one first. Poststop hook failures are returned
/// as warnings.
pub fn delete(root: &Path, id: &str, force: bool) -> Result<Vec<String>> {
    let entry = match Entry::load(root, id) {
        Ok(e) => e,
        Err(OciError::NotFound) => {
            // A dir without its state: a create killed before its first
            // record, with nothing made yet.
            let dir = root.join(id);
            if dir.is_dir() {
                std::fs::remove_dir_all(&dir)
                    .map_err(|e| OciError::io(format!("removing {}", dir.display()), e))?;
                return Ok(Vec::new());
            }
            return if force {
                Ok(Vec::new())
            } else {
                Err(OciError::NotFound)
            };
        }
        Err(e) => return Err(e),
    };
    let status = entry.status();
    if matches!(status, Status::Running | Status::Paused) && !force {
        return Err(OciError::State(format!(
            "cannot delete container {id} that is not stopped: {}",
            status.as_str()
        )));
    }
    let cg = entry.cgroup();
    if status != Status::Stopped {
        cg.kill_all(Signal::SIGKILL);
        let _ = cg.thaw();
        let _ =
            nix::sys::signal::kill(nix::unistd::Pid::from_raw(entry.saved.pid), Signal::SIGKILL);
        let deadline = crate::util::deadline_in(Duration::from_secs(10));
        while entry.alive() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    let deadline = crate::util::deadline_in(Duration::from_secs(5));
    while !cg.pids().is_empty() && Instant::now() < deadline {
        cg.kill_all(Signal::SIGKILL);
        std::thread::sleep(Duration::from_millis(5));
    }
    cg.remove()?;
    let hooks = entry
        .saved
        .hooks
        .iter()
        .flat_map(|h| h.poststop().iter().flatten());
    let warnings = run_warning(hooks, &entry.hook_state(Status::Stopped));
    std::fs::remove_dir_all(&entry.dir)
        .map_err(|e| OciError::io(format!("removing {}", entry.dir.display()), e))?;
    Ok(warnings)
}

/// `pause` / `resume`.
pub fn set_paused(root: &Path, id: &str, paused: bool) -> Result<()> {
    let entry = Entry::load(root, id)?;
    match (entry.status(), paused) {
        (Status::Running, true) | (Status::Paused, false) => {}
        (Status::Paused, true) => return Ok(()),
        (s, true) => {
            return Err(OciError::State(format!(
                "container not running: {}",
                s.as_str()
            )))
        }
        (s, false) => {
            return Err(OciError::State(format!(
                "container not paused: {}",
                s.as_str()
            )))
        }
    }
    entry.cgroup().set_frozen(paused)?;
    Ok(())
}

/// The container's processes (host pids).
pub fn pids(root: &Path, id: &str) -> Result<Vec<i32>> {
    let entry = Entry::load(root, id)?;
    let mut p = entry.cgroup().pids();
    p.sort_unstable();
    Ok(p)
}

/// `update --resources`: new limits on a live container.
pub fn update(root: &Path, id: &str, res: &oci_spec::runtime::LinuxResources) -> Result<()> {
    let entry = Entry::load(root, id)?;
    if entry.status() == Status::Stopped {
        return Err(OciError::State("container not running".into()));
    }
    super::cgroup::resources(res)?.apply(&entry.cgroup())?;
    Ok(())
}

#[derive(Debug, Default, Clone)]
pub struct ExecOptions {
    pub process: oci_spec::runtime::Process,
    pub detach: bool,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    pub preserve_fds: u32,
}

/// `exec`: a process in the container's namespaces and cgroup, started;
/// the caller waits for it (unless detached) and keeps its terminal when
/// there is no console socket.
pub fn exec(root: &Path, id: &str, opts: &ExecOptions) -> Result<Started> {
    let entry = Entry::load(root, id)?;
    match entry.status() {
        Status::Running | Status::Created => {}
        s => {
            return Err(OciError::State(format!(
                "cannot exec in a {} container",
                s.as_str()
            )))
        }
    }
    let mut init = lower::process_spec(&opts.process)?;
    if init.tty && opts.console_socket.is_none() && opts.detach {
        return Err(OciError::Config(
            "cannot allocate tty if runc will detach without setting console socket".into(),
        ));
    }
    let pid = entry.saved.pid;
    let mut held = Vec::new();
    let mut namespaces = Vec::new();
    let own = |name: &str| {
        std::fs::read_link(format!("/proc/self/ns/{name}")).ok()
            != std::fs::read_link(format!("/proc/{pid}/ns/{name}")).ok()
    };
    for (name, kind) in process::JOIN_ORDER {
        if !own(name) {
            continue;
        }
        let p = format!("/proc/{pid}/ns/{name}");
        let f = std::fs::File::open(&p).map_err(|e| OciError::io(&p, e))?;
        namespaces.push((f.as_raw_fd(), kind));
        held.push(OwnedFd::from(f));
    }
    let pid_path = format!("/proc/{pid}/ns/pid");
    let pid_ns = std::fs::File::open(&pid_path).map_err(|e| OciError::io(&pid_path, e))?;
    init.mode = InitMode::Join {
        namespaces,
        pid_ns: pid_ns.as_raw_fd(),
    };
    init.extra.preserve_fds = opts.preserve_fds;
    // The container's seccomp filter applies to every process in it: read
    // it again from the bundle's config.
    if let Ok(spec) = lower::load(&entry.dir) {
        if let Some(s) = spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()) {
            init.seccomp = lower::seccomp_program(s, init.caps)?;
        }
    }
    let spawned = process::spawn(&init, &entry.cgroup())?;
    drop(held);
    drop(pid_ns);
    let terminal = match (spawned.pty_master, &opts.console_socket) {
        (Some(master), Some(sock)) => {
            send_console(sock, master)?;
            None
        }
        (master, _) => master,
    };
    if let Some(p) = &opts.pid_file {
        write_pid_file(p, spawned.pid)?;
    }
    Ok(Started {
        pid: spawned.pid,
        terminal,
    })
}

/// The container's own process, from its bundle's config (runc's base
/// for `exec` without `--process`).
pub fn container_process(root: &Path, id: &str) -> Result<oci_spec::runtime::Process> {
    let entry = Entry::load(root, id)?;
    let spec = lower::load(&entry.dir)?;
    spec.process()
        .clone()
        .ok_or_else(|| OciError::Config("the container's config has no process".into()))
}

/// Wait for our child; its exit status as a shell reports it.
pub fn wait_status(pid: i32) -> Result<i32> {
    loop {
        match nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None) {
            Ok(nix::sys::wait::WaitStatus::Exited(_, c)) => return Ok(c),
            Ok(nix::sys::wait::WaitStatus::Signaled(_, s, _)) => {
                return Ok((s as i32).saturating_add(128))
            }
            Ok(_) => continue,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(OciError::io("waiting for the process", e.into())),
        }
    }
}
