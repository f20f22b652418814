//! The command line: parse, dispatch to one file per command, print, exit.
//! Flags and errors follow docker's: a failure prints what the docker 28 CLI
//! prints (less the "Error response from daemon: " prefix rdock has no
//! daemon for) and exits with its status: 125 for `run` (126/127 when the
//! container's program cannot be run) and for flag errors, 1 for the
//! other commands (see `Layout`).

pub mod attach;
pub mod build;
pub mod builder_prune;
pub mod client_checks;
pub mod commit;
pub mod completion;
pub mod context;
pub mod cp;
pub mod create;
pub mod events;
pub mod exec;
pub mod export;
pub mod format;
pub mod help;
pub mod history;
pub mod images;
pub mod import;
pub mod info;
pub mod inspect;
pub mod limit_flags;
pub mod load;
pub mod login;
pub mod logs;
pub mod manifest;
pub mod network;
pub mod oci;
pub mod pflag;
pub mod port;
pub mod prune;
pub mod ps;
pub mod pull;
pub mod push;
pub mod rm;
pub mod rmi;
pub mod run;
pub mod run_flags;
pub mod run_networks;
pub mod run_values;
pub mod save;
pub mod search;
pub mod start;
pub mod stats;
pub mod stop;
pub mod system;
pub mod tag;
pub mod template;
pub mod timearg;
pub mod top;
pub mod unsupported;
pub mod update;
pub mod usage;
pub mod volume;

use crate::error::{Error, Result};
use crate::paths::{Paths, DEFAULT_ROOT, DEFAULT_RUNROOT};
use clap::{Parser, Subcommand};

/// docker's client debug mode (`-D`, or `DEBUG` set in the environment:
/// the docker CLI's `debug.IsEnabled`), which `info` shows as the client's.
static CLIENT_DEBUG: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub fn client_debug() -> bool {
    CLIENT_DEBUG.load(std::sync::atomic::Ordering::Relaxed)
}

#[derive(Debug, Parser)]
#[command(
    name = "rdock",
    about = "A self-sufficient runtime for containers",
    disable_version_flag = true,
    disable_help_subcommand = true
)]
pub struct Cli {
    /// Root directory of the persistent store
    #[arg(long, global = true, env = "RDOCK_ROOT", default_value = DEFAULT_ROOT)]
    pub root: String,
    /// Root directory of run-time state
    #[arg(long, global = true, env = "RDOCK_RUNROOT", default_value = DEFAULT_RUNROOT)]
    pub runroot: String,
    /// Set the logging level ("debug", "info", "warn", "error", "fatal")
    #[arg(short = 'l', long, default_value = "info")]
    pub log_level: String,
    /// Enable debug mode
    #[arg(short = 'D', long)]
    pub debug: bool,
    /// Location of client config files
    #[arg(long)]
    pub config: Option<String>,
    /// Print version information and quit
    #[arg(short = 'v', long)]
    pub version: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// docker's Long of `manifest`.
const MANIFEST_LONG: &str =
    "The **rdock manifest** command has subcommands for managing image manifests and
manifest lists. A manifest list allows you to use one name to refer to the same image
built for multiple architectures.

To see help for a subcommand, use:

    rdock manifest CMD --help

For full details on using rdock manifest lists, see the registry v2 specification.
";

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum Command {
    /// Create and run a new container from an image
    Run(run::RunArgs),
    /// Create a new container
    Create(create::CreateArgs),
    /// Start one or more stopped containers
    Start(start::StartArgs),
    /// List containers
    #[command(alias = "list")]
    Ps(ps::PsArgs),
    /// Remove one or more containers
    Rm(rm::RmArgs),
    /// List images
    Images(images::ImagesArgs),
    /// Import the contents from a tarball to create a filesystem image
    Import(import::ImportArgs),
    /// Download an image from a registry
    Pull(pull::PullArgs),
    /// Save one or more images to a tar archive (streamed to STDOUT by default)
    Save(save::SaveArgs),
    /// Load an image from a tar archive or STDIN
    Load(load::LoadArgs),
    /// Upload an image to a registry
    Push(push::PushArgs),
    /// Execute a command in a running container
    Exec(exec::ExecArgs),
    /// Fetch the logs of a container
    Logs(logs::LogsArgs),
    /// Stop one or more running containers
    Stop(stop::StopArgs),
    /// Kill one or more running containers
    Kill(stop::KillArgs),
    /// Restart one or more containers
    Restart(stop::StopArgs),
    /// Block until one or more containers stop, then print their exit codes
    Wait(stop::WaitArgs),
    /// Rename a container
    Rename(stop::RenameArgs),
    /// Display the running processes of a container
    Top(top::TopArgs),
    /// Update configuration of one or more containers
    Update(update::UpdateArgs),
    /// Display a live stream of container(s) resource usage statistics
    Stats(stats::StatsArgs),
    /// Get real time events from the server
    Events(events::EventsArgs),
    /// List port mappings or a specific mapping for the container
    Port(port::PortArgs),
    /// Attach local standard input, output, and error streams to a running container
    Attach(attach::AttachArgs),
    /// Pause all processes within one or more containers
    Pause(stop::PauseArgs),
    /// Unpause all processes within one or more containers
    Unpause(stop::PauseArgs),
    /// Search Docker Hub for images
    Search(search::SearchArgs),
    /// Authenticate to a registry
    #[command(
        long_about = "Authenticate to a registry.\nDefaults to Docker Hub if no server is specified."
    )]
    Login(login::LoginArgs),
    /// Log out from a registry
    #[command(
        long_about = "Log out from a registry.\nIf no server is specified, the default is defined by the daemon."
    )]
    Logout(login::LogoutArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(tag::TagArgs),
    /// Remove one or more images
    Rmi(rmi::RmiArgs),
    /// Return low-level information on Docker objects
    Inspect(inspect::InspectArgs),
    /// Copy files/folders between a container and the local filesystem
    #[command(long_about = cp::LONG)]
    Cp(cp::CpArgs),
    /// Show the Docker version information
    Version(info::VersionArgs),
    /// Display system-wide information
    Info(info::InfoArgs),
    /// Generate the autocompletion script for the specified shell
    Completion {
        /// bash, fish, powershell or zsh
        shell: Option<String>,
    },
    /// Help about the command
    Help {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        topic: Vec<String>,
    },
    /// Manage images
    Image {
        #[command(subcommand)]
        cmd: ImageCommand,
    },
    /// Manage containers
    Container {
        #[command(subcommand)]
        cmd: ContainerCommand,
    },
    /// Build an image from a Dockerfile
    Build(build::BuildArgs),
    /// Manage builds
    Builder {
        #[command(subcommand)]
        cmd: build::BuilderCommand,
    },
    /// Create a new image from a container's changes
    Commit(commit::CommitArgs),
    /// Inspect changes to files or directories on a container's filesystem
    Diff(commit::DiffArgs),
    /// Show the history of an image
    History(history::HistoryArgs),
    /// Export a container's filesystem as a tar archive
    Export(export::ExportArgs),
    /// Manage Docker
    System {
        #[command(subcommand)]
        cmd: system::SystemCommand,
    },
    /// Manage Docker image manifests and manifest lists
    #[command(long_about = MANIFEST_LONG)]
    Manifest {
        #[command(subcommand)]
        cmd: manifest::ManifestCommand,
    },
    /// Manage networks
    Network {
        #[command(subcommand)]
        cmd: network::NetworkCommand,
    },
    /// Manage volumes
    Volume {
        #[command(subcommand)]
        cmd: volume::VolumeCommand,
    },
    /// Manage contexts
    Context {
        #[command(subcommand)]
        cmd: context::ContextCommand,
    },
    /// Manage Swarm (not in rdock)
    #[command(hide = true)]
    Swarm(unsupported::AnyArgs),
    /// Manage Swarm nodes (not in rdock)
    #[command(hide = true)]
    Node(unsupported::AnyArgs),
    /// Manage Swarm services (not in rdock)
    #[command(hide = true)]
    Service(unsupported::AnyArgs),
    /// Manage Swarm stacks (not in rdock)
    #[command(hide = true)]
    Stack(unsupported::AnyArgs),
    /// Manage Swarm secrets (not in rdock)
    #[command(hide = true)]
    Secret(unsupported::AnyArgs),
    /// Manage Swarm configs (not in rdock)
    #[command(hide = true)]
    Config(unsupported::AnyArgs),
    /// Manage plugins (none in rdock)
    #[command(hide = true)]
    Plugin(unsupported::AnyArgs),
    /// Manage trust on Docker images (not in rdock)
    #[command(hide = true)]
    Trust(unsupported::AnyArgs),
    /// Manage checkpoints (not in rdock)
    #[command(hide = true)]
    Checkpoint(unsupported::AnyArgs),
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum ImageCommand {
    /// List images
    #[command(alias = "list")]
    Ls(images::ImagesArgs),
    /// Remove one or more images
    #[command(alias = "remove")]
    Rm(rmi::RmiArgs),
    /// Display detailed information on one or more images
    Inspect(inspect::ImageInspectArgs),
    /// Remove unused images
    Prune(prune::ImagePruneArgs),
    /// Import the contents from a tarball to create a filesystem image
    Import(import::ImportArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(tag::TagArgs),
    /// Download an image from a registry
    Pull(pull::PullArgs),
    /// Upload an image to a registry
    Push(push::PushArgs),
    /// Show the history of an image
    History(history::HistoryArgs),
    /// Build an image from a Dockerfile
    Build(Box<build::BuildArgs>),
    /// Save one or more images to a tar archive (streamed to STDOUT by default)
    Save(save::SaveArgs),
    /// Load an image from a tar archive or STDIN
    Load(load::LoadArgs),
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum ContainerCommand {
    /// List containers
    #[command(alias = "list", alias = "ps")]
    Ls(ps::PsArgs),
    /// Remove one or more containers
    #[command(alias = "remove")]
    Rm(rm::RmArgs),
    /// Display detailed information on one or more containers
    Inspect(inspect::ContainerInspectArgs),
    /// Remove all stopped containers
    Prune(prune::ContainerPruneArgs),
    /// Create a new container
    Create(create::CreateArgs),
    /// Start one or more stopped containers
    Start(start::StartArgs),
    /// Create and run a new container from an image
    Run(run::RunArgs),
    /// Fetch the logs of a container
    Logs(logs::LogsArgs),
    /// Stop one or more running containers
    Stop(stop::StopArgs),
    /// Kill one or more running containers
    Kill(stop::KillArgs),
    /// Restart one or more containers
    Restart(stop::StopArgs),
    /// Block until one or more containers stop, then print their exit codes
    Wait(stop::WaitArgs),
    /// Rename a container
    Rename(stop::RenameArgs),
    /// Execute a command in a running container
    Exec(exec::ExecArgs),
    /// Pause all processes within one or more containers
    Pause(stop::PauseArgs),
    /// Unpause all processes within one or more containers
    Unpause(stop::PauseArgs),
    /// Display the running processes of a container
    Top(top::TopArgs),
    /// Update configuration of one or more containers
    Update(update::UpdateArgs),
    /// Display a live stream of container(s) resource usage statistics
    Stats(stats::StatsArgs),
    /// List port mappings or a specific mapping for the container
    Port(port::PortArgs),
    /// Attach local standard input, output, and error streams to a running container
    Attach(attach::AttachArgs),
    /// Create a new image from a container's changes
    Commit(commit::CommitArgs),
    /// Inspect changes to files or directories on a container's filesystem
    Diff(commit::DiffArgs),
    /// Export a container's filesystem as a tar archive
    Export(export::ExportArgs),
    /// Copy files/folders between a container and the local filesystem
    #[command(long_about = cp::LONG)]
    Cp(cp::CpArgs),
}

/// Turn clap's multi-line errors into docker's one-line wording.
fn usage_error(e: clap::Error, args: &[String]) -> i32 {
    use clap::error::{ContextKind, ErrorKind};
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            return 0;
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            return 0;
        }
        _ => {}
    }
    // The words naming the (sub)command, and how many positionals it needs.
    let (words, required, cmd) = command_walk(args);
    let path = words.join(" ");
    let arg = e
        .get(ContextKind::InvalidArg)
        .or_else(|| e.get(ContextKind::InvalidSubcommand))
        .map(|v| v.to_string())
        .unwrap_or_default();
    let here = if path.is_empty() {
        "rdock".to_string()
    } else {
        format!("rdock {path}")
    };
    // docker exits 1 for a wrong command or a missing argument, 125 for a
    // bad flag or value.
    let (msg, code) = match e.kind() {
        ErrorKind::UnknownArgument => (
            format!("unknown flag: {}", arg.split('=').next().unwrap_or(&arg)),
            125,
        ),
        ErrorKind::InvalidSubcommand => (format!("unknown command: {here} {arg}"), 1),
        // A typed (integer) flag's bad value, in the docker CLI's words.
        ErrorKind::ValueValidation => {
            let value = e
                .get(ContextKind::InvalidValue)
                .map(|v| v.to_string())
                .unwrap_or_default();
            let long = arg
                .split_whitespace()
                .next()
                .unwrap_or(&arg)
                .trim_start_matches('-')
                .to_string();
            let short = cmd
                .get_arguments()
                .find(|a| a.get_long() == Some(long.as_str()))
                .and_then(|a| a.get_short());
            let shown = match short {
                Some(c) => format!("-{c}, --{long}"),
                None => format!("--{long}"),
            };
            let source = std::error::Error::source(&e)
                .map(|s| s.to_string())
                .unwrap_or_default();
            let why = if source.contains("too large") || source.contains("too small") {
                "value out of range"
            } else {
                "invalid syntax"
            };
            (
                format!(
                    "invalid argument \"{value}\" for \"{shown}\" flag: strconv.ParseInt: parsing \"{value}\": {why}"
                ),
                125,
            )
        }
        ErrorKind::MissingRequiredArgument | ErrorKind::MissingSubcommand => {
            let n = required.max(1);
            let plural = if n == 1 { "" } else { "s" };
            (
                format!("'{here}' requires at least {n} argument{plural}"),
                1,
            )
        }
        _ => {
            let text = e.render().to_string();
            let first = text
                .lines()
                .next()
                .unwrap_or("invalid arguments")
                .trim()
                .to_string();
            (
                first.strip_prefix("error: ").unwrap_or(&first).to_string(),
                125,
            )
        }
    };
    if code == 125 {
        eprintln!("{}", pflag::flag_error(&words, &msg).text);
    } else {
        eprintln!("rdock: {msg}. See '{here} --help'.");
    }
    code
}

/// The words of argv that name (sub)commands rdock knows (`image rm`) and
/// the number of required positionals of the last one. Only used on the
/// error path, so building the whole command tree is fine.
fn command_walk(args: &[String]) -> (Vec<String>, usize, clap::Command) {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    cmd.build();
    let mut path = Vec::new();
    let mut words = args.iter().skip(1);
    while let Some(a) = words.next() {
        if matches!(
            a.as_str(),
            "--root" | "--runroot" | "-l" | "--log-level" | "--config"
        ) {
            words.next();
            continue;
        }
        if a.starts_with('-') {
            continue;
        }
        let Some(sub) = cmd.find_subcommand(a).cloned() else {
            break;
        };
        let mut sub = sub;
        sub.build();
        path.push(sub.get_name().to_string());
        cmd = sub;
    }
    let required = cmd
        .get_positionals()
        .filter(|a| a.is_required_set())
        .count();
    (path, required, cmd)
}

pub fn main() -> i32 {
    crate::util::fix_umask();
    let args: Vec<String> = std::env::args().collect();
    let cli = match parse(&args) {
        Ok(c) => c,
        Err(code) => return code,
    };
    // The docker CLI's check and message; `-D` wins over the level.
    use crate::util::log::{self, Level};
    let level = match Level::parse(&cli.log_level) {
        Some(level) => level,
        None if cli.log_level.is_empty() => Level::Info,
        None => {
            eprintln!("Unable to parse logging level: {}", cli.log_level);
            return 1;
        }
    };
    log::set_level(if cli.debug { Level::Debug } else { level });
    let env_debug = std::env::var_os("DEBUG").is_some_and(|v| !v.is_empty());
    CLIENT_DEBUG.store(cli.debug || env_debug, std::sync::atomic::Ordering::Relaxed);
    if cli.version {
        println!("rdock version {}", env!("CARGO_PKG_VERSION"));
        return 0;
    }
    let paths = Paths::new(&cli.root, &cli.runroot);
    debug!(
        "rdock {}: root {}, runroot {}",
        env!("CARGO_PKG_VERSION"),
        paths.root.display(),
        paths.runroot.display()
    );
    if let Some(dir) = &cli.config {
        // docker's --config names the directory of config.json; the
        // credential code reads it from DOCKER_CONFIG, as docker does.
        // Single-threaded here, so setting the environment is sound.
        std::env::set_var("DOCKER_CONFIG", dir);
    }
    let Some(command) = cli.command else {
        help::print(&[], true);
        return 0;
    };
    let layout = Layout::of(&command);
    if uses_store(&command) {
        for dir in [&paths.root, &paths.runroot] {
            if let Err(e) = crate::util::secure_root_dir(dir) {
                return report(Error::msg(format!("{}: {e}", dir.display())), layout);
            }
        }
    }
    let code = match dispatch(&paths, command) {
        Ok(code) => code,
        // A flag's value refused after parsing, as pflag refuses it.
        Err(e) if pflag::is_flag_value_error(&e.to_string()) => {
            let (words, _, _) = command_walk(&args);
            let u = pflag::flag_error(&words, &e.to_string());
            eprintln!("{}", u.text);
            u.code
        }
        Err(e) => report(e, layout),
    };
    match crate::util::STDOUT_ERROR.get() {
        Some(e) if code == 0 => report(
            Error::msg(format!("writing to standard output: {e}")),
            layout,
        ),
        _ => code,
    }
}

/// docker's grammar first (`pflag`), then clap on the rewritten argv.
fn parse(args: &[String]) -> std::result::Result<Cli, i32> {
    use clap::{CommandFactory, FromArgMatches};
    let mut root = Cli::command();
    pflag::warn_deprecated(args);
    let args = match pflag::normalize(&root, args) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{}", e.text);
            return Err(e.code);
        }
    };
    // Help is docker's layout, not clap's: `--help` on stdout, a group
    // given no subcommand on stderr (exit 0 both, as cobra's).
    let (words, help) = help_request(&args);
    if help {
        help::print(&words, false);
        return Err(0);
    }
    if !words.is_empty() && is_group(&root, &words) {
        if words == ["manifest"] {
            // docker's `manifest` prints its usage after an empty line.
            eprintln!();
        }
        help::print(&words, true);
        return Err(0);
    }
    root.try_get_matches_from_mut(&args)
        .and_then(|m| Cli::from_arg_matches(&m))
        .map_err(|e| usage_error(e, &args))
}

/// Do `words` name a command group (`image`, `network`), given without a
/// subcommand? Only the commands on the way are built: building the whole
/// tree costs every command about a millisecond.
fn is_group(root: &clap::Command, words: &[String]) -> bool {
    let Some((first, rest)) = words.split_first() else {
        return false;
    };
    let Some(mut cmd) = root.find_subcommand(first).cloned() else {
        return false;
    };
    // A group's subcommands come with its build (clap's `defer`): only the
    // commands named are built.
    cmd.build();
    for w in rest {
        match cmd.find_subcommand(w) {
            Some(sub) => {
                cmd = sub.clone();
                cmd.build();
            }
            None => return false,
        }
    }
    cmd.has_subcommands()
}

/// The command's words in argv as `pflag::normalize` rewrites it (every
/// flag one `-`-token, the arguments after `--`), and whether it asks for
/// help.
fn help_request(args: &[String]) -> (Vec<String>, bool) {
    let head = args.iter().skip(1).take_while(|a| *a != "--");
    let words = head
        .clone()
        .filter(|a| !a.starts_with('-'))
        .cloned()
        .collect();
    let help = head.clone().any(|a| a == "--help");
    (words, help)
}

/// How a command's failure reads and exits, as the docker 28 CLI's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `docker: MSG` + empty line + `Run 'docker run --help' for more
    /// information`, exit 125 (126/127: the program cannot be run).
    Run,
    /// As `Run` for what the CLI refuses itself (`Error::Client`, exit
    /// 125), else as `Other`: the daemon's refusals.
    Create,
    /// The message alone, exit 1.
    Other,
}

impl Layout {
    fn of(c: &Command) -> Layout {
        match c {
            Command::Run(_)
            | Command::Container {
                cmd: ContainerCommand::Run(_),
            } => Layout::Run,
            Command::Create(_)
            | Command::Container {
                cmd: ContainerCommand::Create(_),
            } => Layout::Create,
            _ => Layout::Other,
        }
    }
}

/// Whether the command works on the store: the registry's and the client
/// config's commands (and the refusals) neither need it nor make it.
fn uses_store(c: &Command) -> bool {
    !matches!(
        c,
        Command::Login(_)
            | Command::Completion { .. }
            | Command::Help { .. }
            | Command::Logout(_)
            | Command::Search(_)
            | Command::Manifest { .. }
            | Command::Swarm(_)
            | Command::Node(_)
            | Command::Service(_)
            | Command::Stack(_)
            | Command::Secret(_)
            | Command::Config(_)
            | Command::Plugin(_)
            | Command::Trust(_)
            | Command::Checkpoint(_)
    )
}

/// Print an error in the command's layout and return its exit status.
pub fn report(e: Error, layout: Layout) -> i32 {
    if let Error::Exit(code) = e {
        return code;
    }
    let msg = e.printable();
    let help = match (layout, &e) {
        (Layout::Run, _) => Some("run"),
        (Layout::Create, Error::Client(_)) => Some("create"),
        _ => None,
    };
    match help {
        Some(cmd) => {
            eprintln!("rdock: {msg}\n\nRun 'rdock {cmd} --help' for more information");
            e.status(125)
        }
        None => {
            eprintln!("{msg}");
            e.status(1)
        }
    }
}

/// Print one object's failure in a multi-object command, as docker does.
pub fn report_line(e: &Error) {
    eprintln!("{}", e.printable());
}

fn dispatch(paths: &Paths, command: Command) -> Result<i32> {
    match command {
        Command::Run(a)
        | Command::Container {
            cmd: ContainerCommand::Run(a),
        } => run::run(paths, a),
        Command::Create(a)
        | Command::Container {
            cmd: ContainerCommand::Create(a),
        } => create::run(paths, a),
        Command::Start(a)
        | Command::Container {
            cmd: ContainerCommand::Start(a),
        } => start::run(paths, a),
        Command::Events(a) => events::run(paths, a),
        Command::Ps(a)
        | Command::Container {
            cmd: ContainerCommand::Ls(a),
        } => ps::run(paths, a),
        Command::Rm(a)
        | Command::Container {
            cmd: ContainerCommand::Rm(a),
        } => rm::run(paths, a),
        Command::Container {
            cmd: ContainerCommand::Inspect(a),
        } => inspect::run_container(paths, a),
        Command::Container {
            cmd: ContainerCommand::Prune(a),
        } => prune::run_containers(paths, a),
        Command::Images(a)
        | Command::Image {
            cmd: ImageCommand::Ls(a),
        } => images::run(paths, a),
        Command::Import(a)
        | Command::Image {
            cmd: ImageCommand::Import(a),
        } => import::run(paths, a),
        Command::Push(a)
        | Command::Image {
            cmd: ImageCommand::Push(a),
        } => push::run(paths, a),
        Command::Search(a) => search::run(a),
        Command::Network { cmd } => network::run(paths, cmd),
        Command::Manifest { cmd } => manifest::run(cmd),
        Command::Volume { cmd } => volume::run(paths, cmd),
        Command::Context { cmd } => context::run(paths, cmd),
        Command::Swarm(a) => unsupported::run("swarm", &a),
        Command::Node(a) => unsupported::run("node", &a),
        Command::Service(a) => unsupported::run("service", &a),
        Command::Stack(a) => unsupported::run("stack", &a),
        Command::Secret(a) => unsupported::run("secret", &a),
        Command::Config(a) => unsupported::run("config", &a),
        Command::Plugin(a) => unsupported::run("plugin", &a),
        Command::Trust(a) => unsupported::run("trust", &a),
        Command::Checkpoint(a) => unsupported::run("checkpoint", &a),
        Command::Commit(a)
        | Command::Container {
            cmd: ContainerCommand::Commit(a),
        } => commit::run(paths, a),
        Command::Diff(a)
        | Command::Container {
            cmd: ContainerCommand::Diff(a),
        } => commit::diff(paths, a),
        Command::System { cmd } => system::run(paths, cmd),
        Command::Build(a) => build::run(paths, a),
        Command::Image {
            cmd: ImageCommand::Build(a),
        } => build::run(paths, *a),
        Command::Builder { cmd } => build::run_builder(paths, cmd),
        Command::Export(a)
        | Command::Container {
            cmd: ContainerCommand::Export(a),
        } => export::run(paths, a),
        Command::History(a)
        | Command::Image {
            cmd: ImageCommand::History(a),
        } => history::run(paths, a),
        Command::Attach(a)
        | Command::Container {
            cmd: ContainerCommand::Attach(a),
        } => attach::run(paths, a),
        Command::Top(a)
        | Command::Container {
            cmd: ContainerCommand::Top(a),
        } => top::run(paths, a),
        Command::Update(a)
        | Command::Container {
            cmd: ContainerCommand::Update(a),
        } => update::update(paths, a),
        Command::Stats(a)
        | Command::Container {
            cmd: ContainerCommand::Stats(a),
        } => stats::run(paths, a),
        Command::Port(a)
        | Command::Container {
            cmd: ContainerCommand::Port(a),
        } => port::run(paths, a),
        Command::Pause(a)
        | Command::Container {
            cmd: ContainerCommand::Pause(a),
        } => stop::pause(paths, a, true),
        Command::Unpause(a)
        | Command::Container {
            cmd: ContainerCommand::Unpause(a),
        } => stop::pause(paths, a, false),
        Command::Exec(a)
        | Command::Container {
            cmd: ContainerCommand::Exec(a),
        } => exec::run(paths, a),
        Command::Logs(a)
        | Command::Container {
            cmd: ContainerCommand::Logs(a),
        } => logs::run(paths, a),
        Command::Stop(a)
        | Command::Container {
            cmd: ContainerCommand::Stop(a),
        } => stop::stop(paths, a),
        Command::Kill(a)
        | Command::Container {
            cmd: ContainerCommand::Kill(a),
        } => stop::kill(paths, a),
        Command::Restart(a)
        | Command::Container {
            cmd: ContainerCommand::Restart(a),
        } => stop::restart(paths, a),
        Command::Wait(a)
        | Command::Container {
            cmd: ContainerCommand::Wait(a),
        } => stop::wait(paths, a),
        Command::Rename(a)
        | Command::Container {
            cmd: ContainerCommand::Rename(a),
        } => stop::rename(paths, a),
        Command::Login(a) => login::login(a),
        Command::Logout(a) => login::logout(a),
        Command::Pull(a)
        | Command::Image {
            cmd: ImageCommand::Pull(a),
        } => pull::run(paths, a),
        Command::Save(a)
        | Command::Image {
            cmd: ImageCommand::Save(a),
        } => save::run(paths, a),
        Command::Load(a)
        | Command::Image {
            cmd: ImageCommand::Load(a),
        } => load::run(paths, a),
        Command::Tag(a)
        | Command::Image {
            cmd: ImageCommand::Tag(a),
        } => tag::run(paths, a),
        Command::Rmi(a)
        | Command::Image {
            cmd: ImageCommand::Rm(a),
        } => rmi::run(paths, a),
        Command::Image {
            cmd: ImageCommand::Inspect(a),
        } => inspect::run_image(paths, a),
        Command::Image {
            cmd: ImageCommand::Prune(a),
        } => prune::run_images(paths, a),
        Command::Inspect(a) => inspect::run(paths, a),
        Command::Cp(a)
        | Command::Container {
            cmd: ContainerCommand::Cp(a),
        } => cp::run(paths, a),
        Command::Version(a) => info::version(paths, a),
        Command::Completion { shell } => completion::completion(shell.as_deref()),
        Command::Help { topic } => help::command(&topic),
        Command::Info(a) => info::info(paths, a),
    }
}

/// Run `f` on each name, as docker's multi-object commands (stop, kill,
/// pause, ...): each failure printed as it happens, the rest still done,
/// exit 1 if any failed.
pub fn for_each<T>(items: &[T], f: impl FnMut(&T) -> Result<()>) -> Result<i32> {
    for_each_forced(items, false, f)
}

/// `for_each` for `rm` and `rmi`: with `force`, a missing object is
/// printed at once and is no failure; other failures are printed at the
/// end (docker's CLI gathers them into its final error).
pub fn for_each_forced<T>(
    items: &[T],
    force: bool,
    mut f: impl FnMut(&T) -> Result<()>,
) -> Result<i32> {
    let mut failures = Vec::new();
    for it in items {
        match f(it) {
            Ok(()) => {}
            Err(e) if force && e.is_not_found() => report_line(&e),
            Err(e) if force => failures.push(e),
            Err(e) => {
                report_line(&e);
                failures.push(e);
            }
        }
    }
    if force {
        failures.iter().for_each(report_line);
    }
    Ok(if failures.is_empty() { 0 } else { 1 })
}
