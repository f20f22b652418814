//! `rdock-runtime`: rdock as an OCI runtime, with runc's command line, so
//! containerd (its runc shim's `BinaryName`), podman (`--runtime`) and
//! CRI-O can run containers through it. Parsing, the global options and
//! the log (runc's text or JSON lines, which containerd's go-runc reads
//! back for its error message); the work is `runtime::oci`'s.

mod exec;
mod lifecycle;
mod misc;

use crate::runtime::oci::state::DEFAULT_ROOT;
use crate::runtime::oci::OciError;
use clap::{Parser, Subcommand};
use std::io::Write;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "rdock-runtime",
    version,
    about = "rdock's OCI runtime: runc's command line, rdock's container init"
)]
pub struct Cli {
    /// root directory for storage of container state
    #[arg(long, default_value = DEFAULT_ROOT)]
    pub root: PathBuf,
    /// set the log file to write rdock-runtime's logs to (default is stderr)
    #[arg(long)]
    pub log: Option<PathBuf>,
    /// set the log format ('text' (default), or 'json')
    #[arg(long = "log-format", default_value = "text")]
    pub log_format: String,
    /// enable debug logging
    #[arg(long)]
    pub debug: bool,
    /// use systemd's cgroup driver (not supported)
    #[arg(long = "systemd-cgroup")]
    pub systemd_cgroup: bool,
    /// ignore cgroup permission errors ('true', 'false', or 'auto')
    #[arg(long)]
    pub rootless: Option<String>,
    /// path to the criu binary (checkpoint/restore are not supported)
    #[arg(long, hide = true)]
    pub criu: Option<String>,
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// create a container
    Create(Box<lifecycle::CreateArgs>),
    /// executes the user defined process in a created container
    Start(lifecycle::IdArg),
    /// create and run a container
    Run(Box<lifecycle::RunArgs>),
    /// output the state of a container
    State(lifecycle::IdArg),
    /// kill sends the specified signal (default: SIGTERM) to the container's init process
    Kill(lifecycle::KillArgs),
    /// delete any resources held by the container often used with detached container
    Delete(lifecycle::DeleteArgs),
    /// lists containers started by rdock-runtime with the given root
    List(lifecycle::ListArgs),
    /// execute new process inside the container
    Exec(Box<exec::ExecArgs>),
    /// ps displays the processes running inside a container
    Ps(misc::PsArgs),
    /// pause suspends all processes inside the container
    Pause(lifecycle::IdArg),
    /// resumes all processes that have been previously paused
    Resume(lifecycle::IdArg),
    /// update container resource constraints
    Update(misc::UpdateArgs),
    /// display container events such as OOM notifications, cpu, memory, and IO usage statistics
    Events(misc::EventsArgs),
    /// show the enabled features
    Features,
    /// create a new specification file
    Spec(misc::SpecArgs),
    /// checkpoint a running container (not supported)
    Checkpoint(misc::AnyArgs),
    /// restore a container from a previous checkpoint (not supported)
    Restore(misc::AnyArgs),
}

/// Where errors go: stderr, and the `--log` file in its format.
pub struct Log {
    file: Option<std::fs::File>,
    json: bool,
}

impl Log {
    fn open(cli: &Cli) -> Log {
        let file = cli.log.as_ref().and_then(|p| {
            std::os::unix::fs::OpenOptionsExt::mode(
                std::fs::OpenOptions::new().create(true).append(true),
                crate::util::PRIVATE_FILE,
            )
            .open(p)
            .ok()
        });
        Log {
            file,
            json: cli.log_format == "json",
        }
    }

    pub fn write(&mut self, level: &str, msg: &str) {
        let time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
        let line = if self.json {
            serde_json::json!({"level": level, "msg": msg, "time": time}).to_string()
        } else {
            format!("time=\"{time}\" level={level} msg={msg:?}")
        };
        if let Some(f) = self.file.as_mut() {
            let _ = writeln!(f, "{line}");
        }
    }
}

/// Entry point of the `rdock-runtime` binary.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
                _ => 1,
            };
        }
    };
    let mut log = Log::open(&cli);
    match dispatch(&cli, &mut log) {
        Ok(code) => code,
        Err(e) => {
            let msg = e.to_string();
            log.write("error", &msg);
            let _ = writeln!(std::io::stderr(), "{msg}");
            1
        }
    }
}

fn dispatch(cli: &Cli, log: &mut Log) -> Result<i32, OciError> {
    if cli.systemd_cgroup {
        return Err(OciError::Unsupported(
            "--systemd-cgroup: the systemd cgroup driver is not supported by rdock-runtime; use cgroupfs"
                .into(),
        ));
    }
    let root = &cli.root;
    match &cli.cmd {
        Cmd::Create(a) => lifecycle::create(root, a),
        Cmd::Start(a) => lifecycle::start(root, a, log),
        Cmd::Run(a) => lifecycle::run(root, a, log),
        Cmd::State(a) => lifecycle::state(root, a),
        Cmd::Kill(a) => lifecycle::kill(root, a),
        Cmd::Delete(a) => lifecycle::delete(root, a, log),
        Cmd::List(a) => lifecycle::list(root, a),
        Cmd::Pause(a) => lifecycle::pause(root, a, true),
        Cmd::Resume(a) => lifecycle::pause(root, a, false),
        Cmd::Exec(a) => exec::exec(root, a),
        Cmd::Ps(a) => misc::ps(root, a),
        Cmd::Update(a) => misc::update(root, a),
        Cmd::Events(a) => misc::events(root, a),
        Cmd::Features => misc::features(),
        Cmd::Spec(a) => misc::spec(a),
        Cmd::Checkpoint(_) | Cmd::Restore(_) => Err(OciError::Unsupported(
            "checkpoint/restore is not supported by rdock-runtime (no CRIU)".into(),
        )),
    }
}
