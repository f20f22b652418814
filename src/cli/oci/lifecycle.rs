//! create, start, run, state, kill, delete, list, pause/resume.

use super::Log;
use crate::runtime::oci::lower;
use crate::runtime::oci::ops::{self, CreateOptions};
use crate::runtime::oci::state::{self, Entry};
use crate::runtime::oci::OciError;
use clap::Args;
use nix::sys::signal::Signal;
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct IdArg {
    pub id: String,
}

#[derive(Args, Debug)]
pub struct CreateArgs {
    /// path to the root of the bundle directory, defaults to the current directory
    #[arg(long, short = 'b')]
    pub bundle: Option<String>,
    /// specify the file to write the process id to
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    /// path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal
    #[arg(long = "console-socket")]
    pub console_socket: Option<PathBuf>,
    /// do not use pivot root to jail process inside rootfs
    #[arg(long = "no-pivot")]
    pub no_pivot: bool,
    /// do not create a new session keyring for the container
    #[arg(long = "no-new-keyring")]
    pub no_new_keyring: bool,
    /// pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)
    #[arg(long = "preserve-fds", default_value_t = 0)]
    pub preserve_fds: u32,
    pub id: String,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub create: CreateArgs,
    /// detach from the container's process
    #[arg(long, short = 'd')]
    pub detach: bool,
    /// do not delete the container after it exits
    #[arg(long)]
    pub keep: bool,
}

#[derive(Args, Debug)]
pub struct KillArgs {
    /// send the specified signal to all processes inside the container
    #[arg(long, short = 'a')]
    pub all: bool,
    pub id: String,
    pub signal: Option<String>,
}

#[derive(Args, Debug)]
pub struct DeleteArgs {
    /// Forcibly deletes the container if it is still running (uses SIGKILL)
    #[arg(long, short = 'f')]
    pub force: bool,
    pub id: String,
}

#[derive(Args, Debug)]
pub struct ListArgs {
    /// select one of: table or json
    #[arg(long, short = 'f', default_value = "table")]
    pub format: String,
    /// display only container IDs
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

fn create_options(a: &CreateArgs) -> Result<CreateOptions, OciError> {
    Ok(CreateOptions {
        bundle: lower::bundle_path(a.bundle.as_deref())?,
        pid_file: a.pid_file.clone(),
        console_socket: a.console_socket.clone(),
        no_pivot: a.no_pivot,
        preserve_fds: a.preserve_fds,
        keep_terminal: false,
    })
}

pub fn create(root: &Path, a: &CreateArgs) -> Result<i32, OciError> {
    ops::create(root, &a.id, &create_options(a)?)?;
    Ok(0)
}

pub fn start(root: &Path, a: &IdArg, log: &mut Log) -> Result<i32, OciError> {
    for w in ops::start(root, &a.id)? {
        log.write("warning", &w);
    }
    Ok(0)
}

/// `run`: create and start; in the foreground, signals go to the init
/// and its exit status is ours (the container is deleted after, unless
/// `--keep`).
pub fn run(root: &Path, a: &RunArgs, log: &mut Log) -> Result<i32, OciError> {
    let opts = create_options(&a.create)?;
    if a.detach {
        ops::create(root, &a.create.id, &opts)?;
        start(
            root,
            &IdArg {
                id: a.create.id.clone(),
            },
            log,
        )?;
        return Ok(0);
    }
    // Signals read from before the start: none may end us first.
    let sfd =
        crate::container::tty::foreground_signals().map_err(|e| OciError::State(e.to_string()))?;
    let opts = CreateOptions {
        keep_terminal: true,
        ..opts
    };
    let created = ops::create(root, &a.create.id, &opts)?;
    let started = start(
        root,
        &IdArg {
            id: a.create.id.clone(),
        },
        log,
    );
    let code = match (started, created.terminal) {
        (Ok(_), Some(master)) => crate::container::tty::pump_foreground(&sfd, created.pid, master)
            .map_err(|e| OciError::State(e.to_string())),
        (Ok(_), None) => wait_forwarding_fd(created.pid, &sfd),
        (Err(e), _) => Err(e),
    };
    if !a.keep {
        for w in ops::delete(root, &a.create.id, true)? {
            log.write("warning", &w);
        }
    }
    code
}

/// Wait for our child `pid`, passing on the signals `sfd` reads (but for
/// SIGCHLD and SIGWINCH); its exit status as a shell reports it.
pub fn wait_forwarding_fd(pid: i32, sfd: &nix::sys::signalfd::SignalFd) -> Result<i32, OciError> {
    let child = nix::unistd::Pid::from_raw(pid);
    loop {
        match nix::sys::wait::waitpid(child, Some(nix::sys::wait::WaitPidFlag::WNOHANG)) {
            Ok(nix::sys::wait::WaitStatus::Exited(_, c)) => return Ok(c),
            Ok(nix::sys::wait::WaitStatus::Signaled(_, s, _)) => {
                return Ok((s as i32).saturating_add(128))
            }
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(OciError::io("waiting for the container", e.into())),
        }
        let Ok(Some(info)) = sfd.read_signal() else {
            continue;
        };
        let sig = info.ssi_signo as i32;
        if sig != libc::SIGCHLD && sig != libc::SIGWINCH {
            if let Ok(s) = Signal::try_from(sig) {
                let _ = nix::sys::signal::kill(child, s);
            }
        }
    }
}

pub fn state(root: &Path, a: &IdArg) -> Result<i32, OciError> {
    let e = Entry::load(root, &a.id)?;
    let text =
        serde_json::to_string_pretty(&e.report()).map_err(|e| OciError::Config(e.to_string()))?;
    println!("{text}");
    Ok(0)
}

/// A signal by name (`KILL`, `SIGKILL`) or number.
pub fn parse_signal(s: &str) -> Result<Signal, OciError> {
    let bad = || OciError::Config(format!("unknown signal {s:?}"));
    if let Ok(n) = s.parse::<i32>() {
        return Signal::try_from(n).map_err(|_| bad());
    }
    let up = s.to_ascii_uppercase();
    let name = if up.starts_with("SIG") {
        up
    } else {
        format!("SIG{up}")
    };
    name.parse::<Signal>().map_err(|_| bad())
}

pub fn kill(root: &Path, a: &KillArgs) -> Result<i32, OciError> {
    let sig = parse_signal(a.signal.as_deref().unwrap_or("SIGTERM"))?;
    ops::kill(root, &a.id, sig, a.all)?;
    Ok(0)
}

pub fn delete(root: &Path, a: &DeleteArgs, log: &mut Log) -> Result<i32, OciError> {
    for w in ops::delete(root, &a.id, a.force)? {
        log.write("warning", &w);
    }
    Ok(0)
}

pub fn pause(root: &Path, a: &IdArg, paused: bool) -> Result<i32, OciError> {
    ops::set_paused(root, &a.id, paused)?;
    Ok(0)
}

pub fn list(root: &Path, a: &ListArgs) -> Result<i32, OciError> {
    let all = state::list(root)?;
    if a.quiet {
        for e in &all {
            println!("{}", e.saved.id);
        }
        return Ok(0);
    }
    match a.format.as_str() {
        "json" => {
            let reports: Vec<_> = all.iter().map(Entry::report).collect();
            let text =
                serde_json::to_string(&reports).map_err(|e| OciError::Config(e.to_string()))?;
            println!("{text}");
        }
        "table" => {
            let mut text = String::from("ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER\n");
            for e in &all {
                let r = e.report();
                text.push_str(&format!(
                    "{}\t{}\t{}\t{}\t{}\troot\n",
                    r.id,
                    r.pid,
                    r.status,
                    r.bundle.display(),
                    r.created
                ));
            }
            print!("{}", crate::cli::format::tabwriter(&text));
        }
        other => return Err(OciError::Config(format!("invalid format option {other:?}"))),
    }
    Ok(0)
}
