//! `build` (also `image build`, `builder build`) and `builder prune`:
//! docker's flags and output around `crate::build`.

use super::limit_flags::{LimitFlags, RunLimitFlags};
use crate::build::context::Context;
use crate::build::{BuildOptions, Output, StepLimits};
use crate::container::config::NetworkMode;
use crate::error::{Error, Result};
use crate::image::reference::Reference;
use crate::image::store::ImageStore;
use crate::paths::Paths;
use clap::{Args, Subcommand};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Add a custom host-to-IP mapping ("host:ip")
    #[arg(long = "add-host")]
    pub add_host: Vec<String>,
    /// Set build-time variables
    #[arg(long = "build-arg")]
    pub build_arg: Vec<String>,
    /// Images to consider as cache sources
    #[arg(long = "cache-from", value_name = "strings")]
    pub cache_from: Vec<String>,
    /// Set the parent cgroup for the "RUN" instructions during build
    #[arg(long = "cgroup-parent")]
    pub cgroup_parent: Option<String>,
    /// Compress the build context using gzip
    #[arg(long)]
    pub compress: bool,
    /// Limit the CPU CFS (Completely Fair Scheduler) period
    #[arg(long = "cpu-period", value_name = "int")]
    pub cpu_period: Option<i64>,
    /// Limit the CPU CFS (Completely Fair Scheduler) quota
    #[arg(long = "cpu-quota", value_name = "int")]
    pub cpu_quota: Option<i64>,
    /// CPU shares (relative weight)
    #[arg(short = 'c', long = "cpu-shares", value_name = "int")]
    pub cpu_shares: Option<i64>,
    /// CPUs in which to allow execution (0-3, 0,1)
    #[arg(long = "cpuset-cpus")]
    pub cpuset_cpus: Option<String>,
    /// MEMs in which to allow execution (0-3, 0,1)
    #[arg(long = "cpuset-mems")]
    pub cpuset_mems: Option<String>,
    /// Skip image verification (default true)
    #[arg(long = "disable-content-trust", default_value_t = true, num_args = 0..=1, default_missing_value = "true", require_equals = true, action = clap::ArgAction::Set)]
    pub disable_content_trust: bool,
    /// Name of the Dockerfile (Default is "PATH/Dockerfile")
    #[arg(short = 'f', long = "file")]
    pub file: Option<String>,
    /// Always remove intermediate containers
    #[arg(long = "force-rm")]
    pub force_rm: bool,
    /// Write the image ID to the file
    #[arg(long)]
    pub iidfile: Option<String>,
    /// Container isolation technology
    #[arg(long)]
    pub isolation: Option<String>,
    /// Set metadata for an image
    #[arg(long)]
    pub label: Vec<String>,
    /// Memory limit
    #[arg(short = 'm', long, value_name = "bytes")]
    pub memory: Option<String>,
    /// Swap limit equal to memory plus swap: -1 to enable unlimited swap
    #[arg(long = "memory-swap", allow_hyphen_values = true, value_name = "bytes")]
    pub memory_swap: Option<String>,
    /// Set the networking mode for the RUN instructions during build
    #[arg(long, default_value = "default")]
    pub network: String,
    /// Do not use cache when building the image
    #[arg(long = "no-cache")]
    pub no_cache: bool,
    /// Set platform if server is multi-platform capable
    #[arg(long)]
    pub platform: Option<String>,
    /// Set type of progress output ("auto", "plain", "tty", "quiet").
    /// buildx's, which docker 28's legacy `build --help` does not list:
    /// hidden from help (docs/compatibility.md).
    #[arg(long, default_value = "auto", hide = true)]
    pub progress: String,
    /// Always attempt to pull a newer version of the image
    #[arg(long)]
    pub pull: bool,
    /// Suppress the build output and print image ID on success
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Remove intermediate containers after a successful build
    #[arg(long, default_value_t = true, num_args = 0..=1, default_missing_value = "true", require_equals = true, action = clap::ArgAction::Set)]
    pub rm: bool,
    /// Security options
    #[arg(long = "security-opt", value_name = "strings")]
    pub security_opt: Vec<String>,
    /// Size of "/dev/shm"
    #[arg(long = "shm-size", value_name = "bytes")]
    pub shm_size: Option<String>,
    /// Squash newly built layers into a single new layer
    // Experimental: docker hides it before an engine without experimental
    // features (rdock has none), and refuses it (pflag's check_annotations).
    #[arg(long, hide = true)]
    pub squash: bool,
    /// Name and optionally a tag in the "name:tag" format
    #[arg(short = 't', long = "tag")]
    pub tag: Vec<String>,
    #[arg(long, help = "Set the target build stage to build.")]
    pub target: Option<String>,
    /// Ulimit options (default [])
    #[arg(long, value_name = "ulimit")]
    pub ulimit: Vec<String>,
    /// PATH | URL | -
    pub context: String,
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum BuilderCommand {
    /// Build an image from a Dockerfile
    Build(Box<BuildArgs>),
    /// Remove build cache
    Prune(BuilderPruneArgs),
}

#[derive(Debug, Args)]
pub struct BuilderPruneArgs {
    /// Remove all unused build cache, not just dangling ones
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Provide filter values (e.g. "until=24h")
    #[arg(long, value_name = "filter")]
    pub filter: Vec<String>,
    /// Do not prompt for confirmation
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Amount of disk space to keep for cache
    #[arg(long = "keep-storage", value_name = "bytes")]
    pub keep_storage: Option<String>,
}

pub fn run_builder(paths: &Paths, cmd: BuilderCommand) -> Result<i32> {
    match cmd {
        BuilderCommand::Build(a) => run(paths, *a),
        BuilderCommand::Prune(a) => prune(paths, a),
    }
}

/// Flags docker's legacy builder has that rdock does not apply yet: a
/// clear error, never silently ignored.
/// What the engine refuses of a build's options.
fn refuse_unsupported(a: &BuildArgs) -> Result<()> {
    if !a.cache_from.is_empty() {
        return Err(Error::msg(
            "build --cache-from is not supported by rdock: its cache is local (see docs/build.md)",
        ));
    }
    // docker's daemon refuses them on Linux (the legacy builder's API;
    // BuildKit has RUN --security instead). Accepting them would also
    // need them in every step's cache key.
    if !a.security_opt.is_empty() {
        return Err(Error::msg("security options are not supported on linux"));
    }
    if let Some(iso) = &a.isolation {
        if !iso.is_empty() && iso != "default" {
            return Err(Error::msg(format!("unsupported isolation: {iso:?}")));
        }
    }
    Ok(())
}

/// What the context argument and `-f` gave: the context and the
/// Dockerfile's text and name.
fn load_context(paths: &Paths, a: &BuildArgs) -> Result<(Context, String, String)> {
    let images = ImageStore::new(paths);
    // What killed commands (an earlier build's step containers among them)
    // left (docs/architecture.md, crash safety).
    crate::container::debris::sweep(paths);
    if a.context == "-" {
        if a.file.as_deref() == Some("-") {
            return Err(Error::msg(
                "invalid argument: can't use stdin for both build context and dockerfile",
            ));
        }
        return crate::build::remote::from_stream(
            &images,
            &mut std::io::stdin().lock(),
            a.file.as_deref(),
        );
    }
    if crate::build::git::is_git_url(&a.context) {
        let temp = images.temp_dir()?;
        let src = crate::build::git::GitSource::parse(&a.context);
        let dir = match crate::build::git::checkout(&src, &temp) {
            Ok(d) => d,
            Err(e) => {
                let _ = crate::image::layer::remove_tree(&temp);
                return Err(e.into());
            }
        };
        let mut ctx = match Context::from_dir(&dir, None) {
            Ok(c) => c,
            Err(e) => {
                let _ = crate::image::layer::remove_tree(&temp);
                return Err(e.into());
            }
        };
        ctx.own_temp(temp);
        ctx.use_own_ignore_file()?;
        return crate::build::remote::dockerfile_in(ctx, a.file.as_deref());
    }
    if a.context.starts_with("http://") || a.context.starts_with("https://") {
        let resp = ureq::get(&a.context).call().map_err(|e| {
            Error::msg(format!("unable to prepare context: GET {}: {e}", a.context))
        })?;
        return crate::build::remote::from_stream(
            &images,
            &mut resp.into_body().into_reader(),
            a.file.as_deref(),
        );
    }
    let dir = PathBuf::from(&a.context);
    if !dir.is_dir() {
        return Err(Error::msg(format!(
            "unable to prepare context: path {:?} not found",
            a.context
        )));
    }
    let (text, file): (Vec<u8>, Option<PathBuf>) = match a.file.as_deref() {
        Some("-") => (
            crate::build::remote::read_all(&mut std::io::stdin().lock())?,
            None,
        ),
        Some(f) => {
            let p = PathBuf::from(f);
            let data = std::fs::read(&p).map_err(|_| {
                Error::msg(format!(
                    "unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat {}: no such file or directory",
                    absolute(&p).display()
                ))
            })?;
            (data, Some(p))
        }
        None => {
            let mut found = None;
            for n in ["Dockerfile", "dockerfile"] {
                if let Ok(d) = std::fs::read(dir.join(n)) {
                    found = Some((d, dir.join(n)));
                    break;
                }
            }
            let (d, p) = found.ok_or_else(|| {
                Error::msg(format!(
                    "unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat {}: no such file or directory",
                    absolute(&dir.join("Dockerfile")).display()
                ))
            })?;
            (d, Some(p))
        }
    };
    // BuildKit's per-Dockerfile ignore file first, then the context's.
    let ignore = file
        .as_ref()
        .and_then(|p| {
            let mut s = p.as_os_str().to_owned();
            s.push(".dockerignore");
            std::fs::read_to_string(PathBuf::from(s)).ok()
        })
        .or_else(|| std::fs::read_to_string(dir.join(".dockerignore")).ok());
    let ctx = Context::from_dir(&dir, ignore.as_deref())?;
    let name = file
        .as_ref()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "Dockerfile".into());
    Ok((ctx, crate::build::remote::text_of(text)?, name))
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// The resource flags, parsed as `run` parses its own.
fn step_limits(a: &BuildArgs) -> Result<StepLimits> {
    let flags = RunLimitFlags {
        limits: LimitFlags {
            cpu_period: a.cpu_period.map(|v| v.to_string()),
            cpu_quota: a.cpu_quota.map(|v| v.to_string()),
            cpu_shares: a.cpu_shares.map(|v| v.to_string()),
            cpuset_cpus: a.cpuset_cpus.clone(),
            cpuset_mems: a.cpuset_mems.clone(),
            memory: a.memory.clone(),
            memory_swap: a.memory_swap.clone(),
            ..Default::default()
        },
        shm_size: a.shm_size.clone(),
        cgroup_parent: a.cgroup_parent.clone(),
        ..Default::default()
    };
    let (security_opt, unmask_system_paths) =
        super::run_flags::parse_security_opts(&a.security_opt)?;
    Ok(StepLimits {
        resources: flags.to_resources()?,
        shm_size: flags.shm_size()?,
        cgroup_parent: super::limit_flags::clean_cgroup_parent(
            a.cgroup_parent.as_deref().unwrap_or_default(),
        ),
        ulimits: a
            .ulimit
            .iter()
            .map(|u| crate::runtime::rlimits::parse(u))
            .collect::<std::result::Result<Vec<_>, _>>()?,
        security_opt,
        unmask_system_paths,
    })
}

fn network_mode(paths: &Paths, n: &str) -> Result<NetworkMode> {
    Ok(match n {
        "" | "default" | "bridge" => NetworkMode::Bridge("bridge".into()),
        "host" => NetworkMode::Host,
        "none" => NetworkMode::None,
        c if c.starts_with("container:") => {
            return Err(Error::msg(
                "network mode \"container\" is not supported for builds",
            ))
        }
        other => NetworkMode::Bridge(crate::network::store::find(paths, other)?.name),
    })
}

pub fn run(paths: &Paths, a: BuildArgs) -> Result<i32> {
    let terminal = std::io::stderr().is_terminal();
    let output = match a.progress.as_str() {
        _ if a.quiet => Output::Quiet,
        "auto" if terminal => Output::Tty,
        "auto" | "plain" => Output::Plain,
        // As buildx: a view asked for and no terminal to draw it on fails.
        "tty" if !terminal => {
            return Err(Error::msg(
                "failed to get console: provided file is not a console (--progress tty needs a terminal on stderr)",
            ))
        }
        "tty" => Output::Tty,
        "quiet" => Output::Quiet,
        other => {
            return Err(Error::msg(format!(
                "invalid progress mode {other:?}: use auto, plain, tty or quiet"
            )))
        }
    };
    if let Some(p) = &a.platform {
        let host = format!("linux/{}", crate::image::config::host_arch());
        if !p.is_empty() && p != &host {
            return Err(Error::msg(format!(
                "platform {p:?} is not supported: rdock builds for the host platform ({host}) only"
            )));
        }
    }
    let mut tags = Vec::new();
    for t in &a.tag {
        tags.push(Reference::parse(t).map_err(|_| {
            Error::msg(format!(
                "invalid argument \"{t}\" for \"-t, --tag\" flag: invalid reference format"
            ))
        })?);
    }
    let mut build_args = BTreeMap::new();
    for kv in &a.build_arg {
        match kv.split_once('=') {
            Some((k, v)) => {
                build_args.insert(k.to_string(), v.to_string());
            }
            // docker: a name alone takes the value from the environment,
            // and is left out when the environment has none.
            None => {
                if let Ok(v) = std::env::var(kv) {
                    build_args.insert(kv.clone(), v);
                }
            }
        }
    }
    let mut labels = BTreeMap::new();
    for l in &a.label {
        let (k, v) = l.split_once('=').unwrap_or((l, ""));
        labels.insert(k.to_string(), v.to_string());
    }
    let mut extra_hosts = Vec::new();
    for h in &a.add_host {
        extra_hosts.push(super::run_flags::parse_add_host(h)?);
    }
    let network = network_mode(paths, &a.network)?;
    let (context, dockerfile, dockerfile_name) = load_context(paths, &a)?;
    // The engine's refusals, after the CLI has read the context.
    refuse_unsupported(&a)?;
    let limits = step_limits(&a)?;
    // Pull progress would tear the live view: only plain output shows it.
    let quiet = output != Output::Plain;
    let fetch = |name: &str, always: bool| -> Result<()> {
        super::pull::ensure_image(
            paths,
            name,
            if always { "always" } else { "missing" },
            None,
            quiet,
        )
    };
    let opts = BuildOptions {
        dockerfile,
        dockerfile_name,
        context: &context,
        tags,
        build_args,
        target: a.target.clone(),
        no_cache: a.no_cache,
        pull: a.pull,
        labels,
        network,
        extra_hosts,
        output,
        limits,
        fetch_image: &fetch,
    };
    let id = crate::build::build(paths, &opts)?;
    if let Some(f) = &a.iidfile {
        use std::io::Write;
        crate::util::create_user_file(std::path::Path::new(f), 0o644, false)
            .and_then(|mut file| file.write_all(id.as_bytes()))
            .map_err(|e| Error::msg(format!("writing {f}: {e}")))?;
    }
    if output == Output::Quiet {
        println!("{id}");
    }
    Ok(0)
}

/// docker's "Deleted build cache objects:" section, and the space freed
/// (a running build's cache is left alone, with a line saying so).
pub(crate) fn pruned_text(p: &crate::build::prune::Pruned) -> (String, u64) {
    if p.busy {
        eprintln!("rdock: a build is running: the build cache was left alone");
    }
    let mut out = String::new();
    if !p.keys.is_empty() {
        out.push_str("Deleted build cache objects:\n");
        for k in &p.keys {
            // BuildKit's cache IDs are 25 characters.
            out.extend(k.chars().take(25));
            out.push('\n');
        }
        out.push('\n');
    }
    (out, p.size)
}

fn prune(paths: &Paths, a: BuilderPruneArgs) -> Result<i32> {
    let filter = super::builder_prune::parse(&a.filter, a.keep_storage.as_deref())?;
    // docker 28's builder asks on one line (its other prunes on two).
    let warning = if a.all {
        "WARNING! This will remove all build cache. Are you sure you want to continue?"
    } else {
        "WARNING! This will remove all dangling build cache. Are you sure you want to continue?"
    };
    if !super::prune::confirm_line(warning, a.force) {
        return Ok(0);
    }
    let pruned = crate::build::prune::prune(paths, &filter)?;
    let (text, size) = pruned_text(&pruned);
    print!("{text}");
    // The docker CLI's own `builder prune` (buildx's, where installed,
    // says "Total:"): rdock's build output is the legacy builder's too.
    println!("Total reclaimed space: {}", super::format::human_size(size));
    Ok(0)
}
