//! `exec`: a process in a running container, from `--process FILE` (an
//! OCI process JSON) or from the command line's arguments and flags.

use crate::runtime::oci::ops::{self, ExecOptions};
use crate::runtime::oci::OciError;
use clap::Args;
use oci_spec::runtime::Process;
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct ExecArgs {
    /// UNIX socket to receive the pty master from
    #[arg(long = "console-socket")]
    pub console_socket: Option<PathBuf>,
    /// current working directory in the container
    #[arg(long)]
    pub cwd: Option<String>,
    /// set environment variables
    #[arg(long, short = 'e')]
    pub env: Vec<String>,
    /// allocate a pseudo-TTY
    #[arg(long, short = 't')]
    pub tty: bool,
    /// UID (format: <uid>[:<gid>])
    #[arg(long, short = 'u')]
    pub user: Option<String>,
    /// additional gids
    #[arg(long = "additional-gids", short = 'g')]
    pub additional_gids: Vec<u32>,
    /// path to the process.json
    #[arg(long, short = 'p')]
    pub process: Option<PathBuf>,
    /// detach from the container's process
    #[arg(long, short = 'd')]
    pub detach: bool,
    /// specify the file to write the process id to
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    /// set the asm process label for the process commonly used with selinux
    #[arg(long = "process-label")]
    pub process_label: Option<String>,
    /// set the apparmor profile for the process
    #[arg(long)]
    pub apparmor: Option<String>,
    /// set the no new privileges value for the process
    #[arg(long = "no-new-privs")]
    pub no_new_privs: bool,
    /// add a capability to the bounding set for the process
    #[arg(long, short = 'c')]
    pub cap: Vec<String>,
    /// pass N additional file descriptors to the container
    #[arg(long = "preserve-fds", default_value_t = 0)]
    pub preserve_fds: u32,
    /// run the process in an (existing) sub-cgroup (not supported)
    #[arg(long)]
    pub cgroup: Vec<String>,
    /// ignore paused state of the container
    #[arg(long = "ignore-paused")]
    pub ignore_paused: bool,
    pub id: String,
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

/// As runc: the container's own process (its env, user, capabilities,
/// rlimits...) with the command line's changes.
fn process_from_args(root: &Path, a: &ExecArgs) -> Result<Process, OciError> {
    let bad = |m: String| OciError::Config(m);
    if a.command.is_empty() {
        return Err(bad("exec: no command given (args or --process)".into()));
    }
    let mut p = ops::container_process(root, &a.id)?;
    p.set_args(Some(a.command.clone()));
    p.set_terminal(Some(a.tty));
    if let Some(cwd) = &a.cwd {
        p.set_cwd(cwd.into());
    }
    let mut env = p.env().clone().unwrap_or_default();
    env.extend(a.env.iter().cloned());
    p.set_env(Some(env));
    if a.no_new_privs {
        p.set_no_new_privileges(Some(true));
    }
    if let Some(u) = &a.user {
        let (us, gs) = u.split_once(':').unwrap_or((u, "0"));
        let uid = us.parse().map_err(|_| bad(format!("invalid uid {us:?}")))?;
        let gid = gs.parse().map_err(|_| bad(format!("invalid gid {gs:?}")))?;
        let user = p.user_mut();
        user.set_uid(uid);
        user.set_gid(gid);
    }
    if !a.additional_gids.is_empty() {
        p.user_mut()
            .set_additional_gids(Some(a.additional_gids.clone()));
    }
    if !a.cap.is_empty() {
        let mut caps = p.capabilities().clone().unwrap_or_default();
        let added: Vec<oci_spec::runtime::Capability> = a
            .cap
            .iter()
            .map(|c| {
                let up = c.to_ascii_uppercase();
                let name = if up.starts_with("CAP_") {
                    up
                } else {
                    format!("CAP_{up}")
                };
                serde_json::from_value(serde_json::Value::from(name.as_str()))
                    .map_err(|_| bad(format!("unknown capability {name:?}")))
            })
            .collect::<Result<_, _>>()?;
        for set in [
            caps.bounding().clone(),
            caps.effective().clone(),
            caps.permitted().clone(),
        ]
        .iter()
        .enumerate()
        {
            let mut s = set.1.clone().unwrap_or_default();
            s.extend(added.iter().copied());
            match set.0 {
                0 => caps.set_bounding(Some(s)),
                1 => caps.set_effective(Some(s)),
                _ => caps.set_permitted(Some(s)),
            };
        }
        p.set_capabilities(Some(caps));
    }
    Ok(p)
}

fn read_process(path: &Path) -> Result<Process, OciError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| OciError::io(format!("reading {}", path.display()), e))?;
    serde_json::from_str(&text).map_err(|e| OciError::Config(format!("{}: {e}", path.display())))
}

pub fn exec(root: &Path, a: &ExecArgs) -> Result<i32, OciError> {
    if !a.cgroup.is_empty() {
        return Err(OciError::Unsupported(
            "exec --cgroup: sub-cgroups are not supported by rdock-runtime".into(),
        ));
    }
    let mut process = match &a.process {
        Some(p) => read_process(p)?,
        None => process_from_args(root, a)?,
    };
    if a.tty {
        process.set_terminal(Some(true));
    }
    let opts = ExecOptions {
        process,
        detach: a.detach,
        pid_file: a.pid_file.clone(),
        console_socket: a.console_socket.clone(),
        preserve_fds: a.preserve_fds,
    };
    if a.detach {
        ops::exec(root, &a.id, &opts)?;
        return Ok(0);
    }
    // Signals read from before the start: none may end us first.
    let sfd =
        crate::container::tty::foreground_signals().map_err(|e| OciError::State(e.to_string()))?;
    let started = ops::exec(root, &a.id, &opts)?;
    match started.terminal {
        Some(master) => crate::container::tty::pump_foreground(&sfd, started.pid, master)
            .map_err(|e| OciError::State(e.to_string())),
        None => super::lifecycle::wait_forwarding_fd(started.pid, &sfd),
    }
}
