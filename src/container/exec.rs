//! `exec`: a new process in a running container: its namespaces (entered
//! through /proc/<pid>/ns), its cgroup, its capabilities, ulimits and user
//! rules, then execve with the container's PATH.

use super::lifecycle::{
    attach, confinement, forwarding_signals, lowering_error, process_env, replace_or_append_env,
    DockerProcess, ProcessInput,
};
use super::store::Container;
use crate::error::{Error, Result};
use crate::runtime::caps;
use crate::runtime::cgroups::Cgroup;
use crate::runtime::oci::lower;
use crate::runtime::process::{self, InitMode, InitSpec};
use std::os::fd::{AsRawFd, OwnedFd};

#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    pub user: Option<String>,
    pub workdir: Option<String>,
    pub tty: bool,
    pub interactive: bool,
    pub detach: bool,
    pub privileged: bool,
    /// The `--link` variables of the container (docker computes them for
    /// every exec, from the links it has then).
    pub link_env: Vec<String>,
    /// Typed on a TTY with stdin attached, these detach (the process
    /// goes on).
    pub detach_keys: Vec<u8>,
}

fn open_ns(pid: i32, name: &str) -> Result<OwnedFd> {
    let p = format!("/proc/{pid}/ns/{name}");
    std::fs::File::open(&p)
        .map(OwnedFd::from)
        .map_err(|e| Error::msg(format!("opening {p}: {e}")))
}

/// What a process started in a running container needs: its spec and
/// the namespace fds the spec names (held open until it has joined them).
pub(crate) struct Prepared {
    pub spec: InitSpec,
    pub cgroup: Cgroup,
    _held: Vec<OwnedFd>,
    _pid_ns: OwnedFd,
    _userns: Option<OwnedFd>,
}

/// The spec for `opts.cmd` in the container `cfg` whose init is `pid`:
/// its namespaces, cgroup, capabilities, seccomp, user and environment.
pub(crate) fn prepare(
    cfg: &super::config::ContainerConfig,
    pid: i32,
    opts: &ExecOptions,
) -> Result<Prepared> {
    // Order matters: the mount namespace last, once /proc of the host is
    // no longer needed.
    let mut held = Vec::new();
    let mut namespaces = Vec::new();
    for (name, kind) in process::JOIN_ORDER {
        let fd = open_ns(pid, name)?;
        namespaces.push((fd.as_raw_fd(), kind));
        held.push(fd);
    }
    let pid_ns = open_ns(pid, "pid")?;
    // A remapped container's user namespace: entered last, as by its init.
    let userns = match cfg.userns_remap {
        Some(_) => Some(open_ns(pid, "user")?),
        None => None,
    };
    let mut env = process_env(cfg, opts.tty, &opts.link_env);
    replace_or_append_env(&mut env, &opts.env);
    // The container's own filter, from the container's capabilities, even
    // for `exec --privileged` (runc applies the container's seccomp to
    // every process it starts in it, as docker does).
    let container_caps = caps::resolve(&cfg.cap_add, &cfg.cap_drop, cfg.privileged)?;
    let (section, no_new_privs) = confinement(cfg, container_caps)?;
    // The process as a runtime-spec process, lowered as a container's
    // own and as rdock-runtime's `exec --process`.
    let docker = DockerProcess {
        args: opts.cmd.clone(),
        cwd: opts
            .workdir
            .clone()
            .unwrap_or_else(|| cfg.working_dir.clone()),
        tty: opts.tty,
        oom_score_adj: 0,
        user: opts.user.clone().unwrap_or_else(|| cfg.user.clone()),
        group_add: cfg.group_add.clone(),
        init: false,
    };
    let input = ProcessInput {
        env,
        caps: caps::resolve(
            &cfg.cap_add,
            &cfg.cap_drop,
            cfg.privileged || opts.privileged,
        )?,
        ulimits: crate::runtime::rlimits::with_defaults(&cfg.ulimits)?,
        no_new_privs,
        seccomp: None,
    };
    let (process, annotations) = super::lifecycle::process(&docker, input)?;
    let mut spec = lower::process_init(&process, Some(&annotations.into_iter().collect()))
        .map_err(lowering_error)?;
    spec.mode = InitMode::Join {
        namespaces,
        pid_ns: pid_ns.as_raw_fd(),
    };
    spec.stdin_open = opts.interactive;
    spec.userns = userns.as_ref().map(|f| f.as_raw_fd());
    spec.seccomp = match &section {
        Some(s) => lower::seccomp_program(s, container_caps).map_err(lowering_error)?,
        None => None,
    };
    Ok(Prepared {
        spec,
        cgroup: Cgroup::open(cfg.cgroup_parent(), &cfg.id),
        _held: held,
        _pid_ns: pid_ns,
        _userns: userns,
    })
}

/// Start `opts.cmd` in the container with `stdio`; its pid. The caller
/// reaps it.
pub(crate) fn spawn_with_stdio(
    cfg: &super::config::ContainerConfig,
    pid: i32,
    opts: &ExecOptions,
    stdio: [i32; 3],
) -> Result<i32> {
    let p = prepare(cfg, pid, opts)?;
    let spec = InitSpec {
        stdio: Some(stdio),
        tty: false,
        ..p.spec
    };
    let spawned = process::spawn(&spec, &p.cgroup)?;
    Ok(spawned.pid)
}

/// Start `opts.cmd` in the running `c` for a caller that serves its
/// streams itself (the API): with a TTY the process gets a terminal whose
/// master comes back; else `stdio`. The caller reaps it.
pub fn start(c: &Container, opts: &ExecOptions, stdio: [i32; 3]) -> Result<process::Spawned> {
    if !c.state.is_alive() {
        return Err(Error::msg(format!(
            "container {} is not running",
            c.config.id
        )));
    }
    let p = prepare(&c.config, c.state.pid, opts)?;
    let spec = match opts.tty {
        true => p.spec,
        false => InitSpec {
            stdio: Some(stdio),
            tty: false,
            ..p.spec
        },
    };
    let spawned = process::spawn(&spec, &p.cgroup)?;
    Ok(spawned)
}

/// docker's refusal of an exec into a frozen container (paused, or
/// frozen by a commit under way), naming it as the user did (`target`):
/// its process could not start until the container is thawed.
pub fn refuse_paused(c: &Container, target: &str) -> Result<(), super::ContainerError> {
    if c.state.is_alive() && c.state.is_paused() {
        return Err(super::ContainerError::ExecPaused(target.to_string()));
    }
    Ok(())
}

/// Run `opts.cmd` in `c`. Returns its exit code (0 at once with `detach`),
/// None when the user detached from it.
pub fn exec(c: &Container, opts: &ExecOptions) -> Result<Option<i32>> {
    if !c.state.is_alive() {
        return Err(Error::msg(format!(
            "container {} is not running",
            c.config.id
        )));
    }
    if opts.cmd.is_empty() {
        return Err(Error::msg("exec requires at least 1 argument"));
    }
    let p = prepare(&c.config, c.state.pid, opts)?;
    // Signals are read from here on, so that a process a freeze keeps from
    // starting cannot keep us past a SIGTERM or ^C either.
    let sfd = forwarding_signals()?;
    if opts.detach {
        let null = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/null")
            .map_err(|e| Error::msg(format!("/dev/null: {e}")))?;
        let fd = null.as_raw_fd();
        let spec = InitSpec {
            stdio: Some([fd, fd, fd]),
            tty: false,
            ..p.spec
        };
        process::spawn_interruptible(&spec, &p.cgroup, &sfd)?;
        return Ok(Some(0));
    }
    let spawned = process::spawn_interruptible(&p.spec, &p.cgroup, &sfd)?;
    // The namespace fds, no longer needed once it has joined them.
    drop(p);
    attach(&sfd, spawned, opts.interactive, &opts.detach_keys)
}

/// Whether `e` says the exec's user or group is not in the container.
pub fn lookup_failed(e: &Error) -> bool {
    use crate::runtime::RuntimeError;
    match e {
        Error::Runtime(RuntimeError::UserNotFound(_) | RuntimeError::GroupNotFound(_)) => true,
        Error::WithCode(inner, _) => lookup_failed(inner),
        _ => false,
    }
}

/// The status docker's engine gives an exec whose process could not
/// start, from the words of the failure (moby's `setExitCodeFromError`),
/// and the text it reports.
pub fn start_failure(msg: &str) -> (i32, String) {
    let lower = msg.to_lowercase();
    if lower.contains("permission denied") {
        (126, msg.to_string())
    } else if lower.contains("is a directory") {
        (126, format!("{msg}: permission denied"))
    } else if lower.contains("not a directory") {
        (127, format!("{msg}: Are you trying to mount a directory onto a file (or vice-versa)? Check if the specified host path exists and is the expected type"))
    } else if lower.contains("executable file not found")
        || lower.contains("no such file or directory")
    {
        (127, msg.to_string())
    } else {
        (128, msg.to_string())
    }
}

/// Whether `e` says the exec's process could not be started in the
/// container (no such program or user, a bad working directory), as
/// opposed to rdock failing or being interrupted.
pub fn cannot_start(e: &Error) -> bool {
    match e {
        Error::Runtime(r) => !matches!(r, crate::runtime::RuntimeError::Interrupted(_)),
        Error::WithCode(inner, _) => cannot_start(inner),
        _ => false,
    }
}
