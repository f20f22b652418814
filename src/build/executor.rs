//! Running a Dockerfile: stages, instructions, the cache, the output.
//!
//! Each step turns the current image state (a config on stored layers)
//! into the next. Config-only instructions change the config; RUN runs
//! the command in a real container (the default network, the build's
//! `--network`) and commits its changes as a layer; COPY/ADD and WORKDIR
//! write through a container's rootfs view (`cp`'s machinery) and commit
//! the same way. Intermediate containers are removed whatever happens.
//! Every step's result is a cache record (`cache.rs`), looked up before
//! the step runs.

use super::cache::{self, StepRecord};
use super::context::Context;
use super::copy::{self, Item, Placement};
use super::dockerfile::{self, Args, Instruction};
use super::progress::{Outcome, TtyView};
use super::run_mount::{self, MountType, RunMount, Sharing};
use super::shell_lex;
use super::BuildError;
use crate::container::config::NetworkMode;
use crate::container::lifecycle::{self, CreateOptions, ImageSource};
use crate::container::store::{Container, ContainerStore};
use crate::error::{Error, Result};
use crate::image::config::{host_arch, History, ImageConfig};
use crate::image::reference::Reference;
use crate::image::store::ImageStore;
use crate::paths::Paths;
use crate::runtime::rootfs::MountSpec;
use crate::util::path::clean_abs;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ffi::OsString;
use std::io::Write;
use std::os::fd::AsFd;
use std::os::fd::AsRawFd;
use std::path::PathBuf;

/// Where the build's own output goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// docker's classic plain output on stdout; RUN output streamed.
    Plain,
    /// Nothing but the final image ID (`-q`).
    Quiet,
    /// BuildKit's compact live view on stderr (a terminal).
    Tty,
}

/// What the legacy builder's resource flags give every RUN container
/// (`-m`, `--cpu-*`, `--cgroup-parent`, `--shm-size`, `--ulimit`,
/// `--security-opt`), as `run`'s flags would.
#[derive(Debug, Clone, Default)]
pub struct StepLimits {
    pub resources: crate::runtime::resources::Resources,
    pub shm_size: i64,
    pub cgroup_parent: String,
    pub ulimits: Vec<crate::runtime::rlimits::Ulimit>,
    pub security_opt: Vec<String>,
    pub unmask_system_paths: bool,
}

pub struct BuildOptions<'a> {
    pub dockerfile: String,
    /// The Dockerfile's name in messages ("Dockerfile").
    pub dockerfile_name: String,
    pub context: &'a Context,
    pub tags: Vec<Reference>,
    /// `--build-arg`s with their values.
    pub build_args: BTreeMap<String, String>,
    pub target: Option<String>,
    pub no_cache: bool,
    /// `--pull`: fetch every base image again.
    pub pull: bool,
    pub labels: BTreeMap<String, String>,
    pub network: NetworkMode,
    /// `--add-host` lines ("IP\tNAME") for RUN's /etc/hosts.
    pub extra_hosts: Vec<String>,
    pub output: Output,
    pub limits: StepLimits,
    /// Make an image present (`always`: pull even if it is).
    pub fetch_image: &'a dyn Fn(&str, bool) -> Result<()>,
}

/// The proxy variables docker passes to RUN without an ARG, and keeps out
/// of the cache key and the history.
const PROXY_ARGS: &[&str] = &[
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "FTP_PROXY",
    "ftp_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
];

const DEFAULT_SHELL: [&str; 2] = ["/bin/sh", "-c"];

fn host_platform() -> String {
    format!("linux/{}", host_arch())
}

/// The platform ARGs BuildKit defines before the first FROM.
fn platform_args() -> Vec<(String, String)> {
    let arch = host_arch().to_string();
    let platform = host_platform();
    vec![
        ("BUILDPLATFORM".into(), platform.clone()),
        ("BUILDOS".into(), "linux".into()),
        ("BUILDARCH".into(), arch.clone()),
        ("BUILDVARIANT".into(), String::new()),
        ("TARGETPLATFORM".into(), platform),
        ("TARGETOS".into(), "linux".into()),
        ("TARGETARCH".into(), arch),
        ("TARGETVARIANT".into(), String::new()),
    ]
}

fn now() -> String {
    crate::util::go_time_now()
}

fn msg(s: impl Into<String>) -> Error {
    Error::from(BuildError::Msg(s.into()))
}

/// One stage of the Dockerfile.
struct StageDef<'d> {
    name: Option<String>,
    from: &'d Instruction,
    body: Vec<&'d Instruction>,
}

/// The state a stage's steps carry.
struct Current {
    rec: StepRecord,
    /// ARGs declared in this stage, with their values (None: no value).
    args: BTreeMap<String, Option<String>>,
    shell: Vec<String>,
    /// CMD set in this stage (ENTRYPOINT then keeps it).
    cmd_set: bool,
}

impl Current {
    fn workdir(&self) -> String {
        self.rec
            .config
            .config
            .working_dir
            .clone()
            .filter(|w| !w.is_empty())
            .unwrap_or_else(|| "/".into())
    }
}

struct Builder<'a> {
    paths: &'a Paths,
    opts: &'a BuildOptions<'a>,
    images: ImageStore,
    escape: char,
    meta_args: BTreeMap<String, String>,
    used_args: BTreeSet<String>,
    /// Finished stages' results, by index.
    done: HashMap<usize, StepRecord>,
    step: usize,
    total: usize,
    /// Containers to remove whatever happens.
    containers: Vec<String>,
    /// The live view (`Output::Tty`).
    view: Option<TtyView>,
    /// The running stage's step label ("[name " or "[") and its step
    /// count; BuildKit numbers steps per stage.
    stage_label: (String, usize, usize),
    /// The view shows a step that has not ended yet.
    vertex_open: bool,
}

impl Drop for Builder<'_> {
    fn drop(&mut self) {
        for id in std::mem::take(&mut self.containers) {
            remove_container(self.paths, &id);
        }
    }
}

fn remove_container(paths: &Paths, id: &str) {
    if let Ok(c) = ContainerStore::new(paths).load(id) {
        let _ = crate::container::ops::remove(paths, &c, true);
    }
}

/// Whether SIGINT/SIGTERM/SIGHUP arrived (they are blocked during a
/// build, so intermediate containers are always cleaned up).
fn interrupted() -> bool {
    let mut set = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigpending fills the set we pass.
    let r = unsafe { libc::sigpending(set.as_mut_ptr()) };
    if r != 0 {
        return false;
    }
    // SAFETY: initialised by sigpending above.
    let set = unsafe { set.assume_init() };
    [libc::SIGINT, libc::SIGTERM, libc::SIGHUP]
        .iter()
        // SAFETY: a valid, initialised set.
        .any(|s| unsafe { libc::sigismember(&set, *s) } == 1)
}

fn block_signals() {
    use nix::sys::signal::{SigSet, Signal};
    let mut mask = SigSet::empty();
    for s in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        mask.add(s);
    }
    let _ = mask.thread_block();
}

/// Build; returns the image ID.
pub fn build(paths: &Paths, opts: &BuildOptions<'_>) -> Result<String> {
    let df =
        dockerfile::parse(&opts.dockerfile, &opts.dockerfile_name).map_err(BuildError::from)?;
    block_signals();
    // Held for the whole build: a prune of the build cache waits for no
    // build and skips the cache while one runs.
    let _building = crate::util::FileLock::shared(&paths.build_lock())
        .map_err(|e| msg(format!("locking the build cache: {e}")))?;
    let mut b = Builder {
        paths,
        opts,
        images: ImageStore::new(paths),
        escape: df.escape,
        meta_args: BTreeMap::new(),
        used_args: BTreeSet::new(),
        done: HashMap::new(),
        step: 0,
        total: 0,
        containers: Vec::new(),
        view: (opts.output == Output::Tty).then(TtyView::start),
        stage_label: (String::new(), 0, 0),
        vertex_open: false,
    };
    b.view_step(format!(
        "[internal] load build definition from {}",
        opts.dockerfile_name
    ));
    b.view_detail(format!(
        "transferring dockerfile: {}B",
        opts.dockerfile.len()
    ));
    b.view_end(false);
    let result = run_all(&mut b, &df);
    if let Some(view) = b.view.take() {
        view.finish(match &result {
            Ok(_) => Outcome::Done,
            Err(Error::Build(BuildError::Interrupted)) => Outcome::Canceled,
            Err(_) => Outcome::Failed,
        });
    }
    result
}

fn run_all(b: &mut Builder<'_>, df: &dockerfile::Dockerfile) -> Result<String> {
    let opts = b.opts;
    let mut stages: Vec<StageDef<'_>> = Vec::new();
    let mut meta: Vec<&Instruction> = Vec::new();
    for ins in &df.instructions {
        if ins.keyword == "FROM" {
            stages.push(StageDef {
                name: None,
                from: ins,
                body: Vec::new(),
            });
        } else if let Some(s) = stages.last_mut() {
            s.body.push(ins);
        } else {
            meta.push(ins);
        }
    }
    if stages.is_empty() {
        // Only ARGs (BuildKit's wording).
        return Err(msg("dockerfile contains no stages to build".to_string()));
    }
    for (k, v) in platform_args() {
        b.meta_args.insert(k, v);
    }
    for ins in &meta {
        b.meta_arg(ins).map_err(|e| b.step_error(ins, e))?;
    }
    // Stage names, from `FROM image AS name`.
    for s in stages.iter_mut() {
        let (_, name) = b.stage_words(s.from).map_err(|e| b.step_error(s.from, e))?;
        s.name = name.map(|n| n.to_ascii_lowercase());
    }
    let target = match &opts.target {
        Some(t) => stages
            .iter()
            .position(|s| s.name.as_deref() == Some(&t.to_ascii_lowercase()))
            .ok_or_else(|| msg(format!("target stage \"{t}\" could not be found")))?,
        None => stages.len().saturating_sub(1),
    };
    let needed = b.needed(&stages, target)?;
    b.total = needed
        .iter()
        .filter_map(|i| stages.get(*i))
        .map(|s| s.body.len().saturating_add(1))
        .fold(0, usize::saturating_add);
    for i in 0..=target {
        if !needed.contains(&i) {
            continue;
        }
        let rec = b.run_stage(&stages, i)?;
        b.done.insert(i, rec);
    }
    let rec = b
        .done
        .remove(&target)
        .ok_or_else(|| msg("the target stage did not run"))?;
    // A ^C during the last step is heard before anything is tagged.
    if interrupted() {
        return Err(BuildError::Interrupted.into());
    }
    b.finish(rec)
}

/// Stage `i`; indices come from the stage list, so a miss is a bug
/// reported rather than a panic.
fn stage_at<'s, 'd>(stages: &'s [StageDef<'d>], i: usize) -> Result<&'s StageDef<'d>> {
    stages
        .get(i)
        .ok_or_else(|| msg(format!("internal error: no build stage {i}")))
}

impl<'a> Builder<'a> {
    fn say(&self, line: &str) {
        if self.opts.output == Output::Plain {
            let mut out = crate::util::QuietStdout;
            let _ = writeln!(out, "{line}");
        }
    }

    /// docker's "Step N/M : INSTRUCTION" line; in the live view, a new
    /// step for the instructions BuildKit shows (the others only change
    /// the config).
    fn announce(&mut self, ins: &Instruction) {
        self.step = self.step.saturating_add(1);
        self.say(&format!(
            "Step {}/{} : {}",
            self.step,
            self.total,
            step_text(ins)
        ));
        if is_vertex(ins) {
            let (prefix, k, n) = &mut self.stage_label;
            *k = k.saturating_add(1);
            let label = format!("{prefix}{k}/{n}] {}", step_text(ins));
            self.view_step(label);
        }
    }

    fn view_step(&mut self, label: String) {
        if let Some(v) = &self.view {
            v.step(label);
            self.vertex_open = true;
        }
    }

    fn view_detail(&self, text: String) {
        if let Some(v) = &self.view {
            v.detail(text);
        }
    }

    /// The shown step ended, from the cache or not.
    fn view_end(&mut self, cached: bool) {
        if let (Some(v), true) = (&self.view, self.vertex_open) {
            if cached {
                v.cached();
            } else {
                v.done();
            }
        }
        self.vertex_open = false;
    }

    fn step_error(&self, ins: &Instruction, e: Error) -> Error {
        if matches!(e, Error::Build(BuildError::Interrupted)) {
            return e;
        }
        let mut shown = ins.original.clone();
        if shown.chars().count() > 80 {
            shown = shown.chars().take(77).collect::<String>() + "...";
        }
        Error::from(BuildError::Step {
            file: self.opts.dockerfile_name.clone(),
            line: ins.line,
            instruction: shown,
            source: Box::new(e),
        })
    }

    fn word(&self, s: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String> {
        Ok(shell_lex::process_word(s, lookup, self.escape).map_err(BuildError::from)?)
    }

    fn words(&self, s: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<Vec<String>> {
        Ok(shell_lex::process_words(s, lookup, self.escape).map_err(BuildError::from)?)
    }

    fn shell_text(ins: &Instruction) -> &str {
        match &ins.args {
            Args::Shell(s) => s,
            Args::Exec(_) => "",
        }
    }

    /// An ARG's value: `--build-arg`'s (then it counts as used), else its
    /// default expanded with `lookup`.
    fn arg_value(
        &mut self,
        name: &str,
        default: Option<String>,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<String>> {
        if let Some(v) = self.opts.build_args.get(name) {
            self.used_args.insert(name.to_string());
            return Ok(Some(v.clone()));
        }
        default.map(|d| self.word(&d, lookup)).transpose()
    }

    /// An ARG before the first FROM.
    fn meta_arg(&mut self, ins: &Instruction) -> Result<()> {
        if ins.keyword != "ARG" {
            return Err(msg("no build stage in current context"));
        }
        let pairs = shell_lex::parse_name_values(Self::shell_text(ins), "ARG", self.escape)
            .map_err(BuildError::from)?;
        for (name, default) in pairs {
            let meta = self.meta_args.clone();
            let value = self.arg_value(&name, default, &|k| meta.get(k).cloned())?;
            self.meta_args.insert(name, value.unwrap_or_default());
        }
        Ok(())
    }

    /// FROM's image and stage name (`FROM image AS name`), ARGs before the
    /// first FROM expanded.
    fn stage_words(&self, ins: &Instruction) -> Result<(String, Option<String>)> {
        let meta = self.meta_args.clone();
        let words = self.words(Self::shell_text(ins), &|k| meta.get(k).cloned())?;
        match words.as_slice() {
            [image] => Ok((image.clone(), None)),
            [image, kw, name] if kw.eq_ignore_ascii_case("as") => {
                let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
                if !valid {
                    return Err(msg(format!(
                        "invalid name for build stage: {name:?}, name can't start with a number or contain symbols"
                    )));
                }
                Ok((image.clone(), Some(name.clone())))
            }
            _ => Err(msg("FROM requires either one or three arguments")),
        }
    }

    /// The stage a FROM or `--from` names, if it is an earlier stage.
    fn stage_ref(stages: &[StageDef<'_>], before: usize, name: &str) -> Option<usize> {
        let lower = name.to_ascii_lowercase();
        if let Some(i) = stages
            .iter()
            .take(before)
            .position(|s| s.name.as_deref() == Some(&lower))
        {
            return Some(i);
        }
        name.parse::<usize>().ok().filter(|i| *i < before)
    }

    fn flag<'i>(ins: &'i Instruction, name: &str) -> Option<&'i str> {
        ins.flags.iter().rev().find_map(|f| {
            let f = f.strip_prefix("--")?;
            match f.split_once('=') {
                Some((k, v)) if k == name => Some(v),
                None if f == name => Some(""),
                _ => None,
            }
        })
    }

    /// The stages the target needs (its FROM and COPY --from chains).
    fn needed(&self, stages: &[StageDef<'_>], target: usize) -> Result<BTreeSet<usize>> {
        let mut need = BTreeSet::new();
        let mut todo = vec![target];
        while let Some(i) = todo.pop() {
            if !need.insert(i) {
                continue;
            }
            let stage = stage_at(stages, i)?;
            let (base, _) = self.stage_words(stage.from)?;
            if let Some(j) = Self::stage_ref(stages, i, &base) {
                todo.push(j);
            }
            for ins in &stage.body {
                if matches!(ins.keyword.as_str(), "COPY" | "ADD") {
                    if let Some(from) = Self::flag(ins, "from") {
                        let meta = self.meta_args.clone();
                        let from = self.word(from, &|k| meta.get(k).cloned())?;
                        if let Some(j) = Self::stage_ref(stages, i, &from) {
                            todo.push(j);
                        }
                    }
                }
                if ins.keyword == "RUN" {
                    // `RUN --mount=from=stage` needs that stage too (a bad
                    // mount is reported when its step runs).
                    let meta = self.meta_args.clone();
                    for f in &ins.flags {
                        let Some(v) = f.strip_prefix("--mount=") else {
                            continue;
                        };
                        let from = self
                            .word(v, &|k| meta.get(k).cloned())
                            .ok()
                            .and_then(|v| run_mount::parse(&v).ok())
                            .and_then(|m| m.from);
                        if let Some(j) = from.and_then(|f| Self::stage_ref(stages, i, &f)) {
                            todo.push(j);
                        }
                    }
                }
            }
        }
        Ok(need)
    }

    fn check_platform(&self, p: &str) -> Result<()> {
        let host = host_platform();
        let p = p.trim();
        if p.is_empty() || p == host || p == "linux" || p == host.trim_start_matches("linux/") {
            return Ok(());
        }
        Err(msg(format!(
            "platform {p:?} is not supported: rdock builds for the host platform ({host}) only"
        )))
    }

    fn run_stage(&mut self, stages: &[StageDef<'_>], i: usize) -> Result<StepRecord> {
        let stage = stage_at(stages, i)?;
        let prefix = if stages.len() > 1 {
            match &stage.name {
                Some(n) => format!("[{n} "),
                None => format!("[stage-{i} "),
            }
        } else {
            "[".to_string()
        };
        let count = stage
            .body
            .iter()
            .filter(|ins| is_vertex(ins))
            .count()
            .saturating_add(1);
        self.stage_label = (prefix, 0, count);
        let mut cur = self
            .from(stages, i)
            .map_err(|e| self.step_error(stage.from, e))?;
        for ins in &stage.body {
            if interrupted() {
                return Err(BuildError::Interrupted.into());
            }
            self.announce(ins);
            self.instruction(&mut cur, ins, stages, i)
                .map_err(|e| self.step_error(ins, e))?;
            self.view_end(false);
        }
        Ok(cur.rec)
    }

    /// What FROM or `COPY --from` names: an earlier stage's result,
    /// scratch, or an image (pulled if missing, or always with `pull`).
    fn base(
        &mut self,
        stages: &[StageDef<'_>],
        before: usize,
        name: &str,
        pull: bool,
    ) -> Result<StepRecord> {
        if let Some(j) = Self::stage_ref(stages, before, name) {
            return self
                .done
                .get(&j)
                .cloned()
                .ok_or_else(|| msg(format!("stage {name} has not been built")));
        }
        if name == "scratch" {
            let config = ImageConfig {
                architecture: host_arch().into(),
                os: "linux".into(),
                ..Default::default()
            };
            return StepRecord::new(config, Vec::new())
                .map_err(|e| msg(format!("encoding a config: {e}")));
        }
        (self.opts.fetch_image)(name, pull)?;
        let idx = self.images.index()?;
        let img = idx.lookup(name)?;
        Ok(StepRecord {
            id: img.id.clone(),
            config: self.images.config(img)?,
            layers: img.layers.clone(),
        })
    }

    fn from(&mut self, stages: &[StageDef<'_>], i: usize) -> Result<Current> {
        let ins = stage_at(stages, i)?.from;
        self.announce(ins);
        if let Some(p) = Self::flag(ins, "platform") {
            let meta = self.meta_args.clone();
            let p = self.word(p, &|k| meta.get(k).cloned())?;
            self.check_platform(&p)?;
        }
        let (base, _) = self.stage_words(ins)?;
        let rec = self.base(stages, i, &base, self.opts.pull)?;
        self.say(&format!(" ---> {}", short(&rec.id)));
        self.view_end(false);
        let mut rec = rec;
        // BuildKit gives every stage a PATH (the base may have none, as
        // scratch).
        let env = rec.config.config.env.get_or_insert_with(Vec::new);
        if !env.iter().any(|e| e.starts_with("PATH=")) {
            env.insert(0, format!("PATH={}", crate::runtime::process::DEFAULT_PATH));
            rec = StepRecord::new(rec.config, rec.layers)
                .map_err(|e| msg(format!("encoding a config: {e}")))?;
        }
        let mut cur = Current {
            rec,
            args: BTreeMap::new(),
            shell: DEFAULT_SHELL.iter().map(|s| s.to_string()).collect(),
            cmd_set: false,
        };
        if let Some(shell) = cur.rec.config.config.extra.get("Shell") {
            if let Ok(v) = serde_json::from_value::<Vec<String>>(shell.clone()) {
                if !v.is_empty() {
                    cur.shell = v;
                }
            }
        }
        self.onbuild_triggers(&mut cur, stages, i)?;
        Ok(cur)
    }

    /// Run the base image's ONBUILD triggers; the new image does not
    /// inherit them.
    fn onbuild_triggers(
        &mut self,
        cur: &mut Current,
        stages: &[StageDef<'_>],
        i: usize,
    ) -> Result<()> {
        let triggers: Vec<String> = cur
            .rec
            .config
            .config
            .extra
            .get("OnBuild")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default();
        if triggers.is_empty() {
            return Ok(());
        }
        self.say(&format!(
            " # Executing {} build trigger{}",
            triggers.len(),
            if triggers.len() == 1 { "" } else { "s" }
        ));
        let text = format!("FROM scratch\n{}\n", triggers.join("\n"));
        let parsed = dockerfile::parse(&text, "ONBUILD").map_err(BuildError::from)?;
        for ins in parsed.instructions.iter().skip(1) {
            if is_vertex(ins) {
                let (prefix, k, n) = &self.stage_label;
                let label = format!("{prefix}{k}/{n}] ONBUILD {}", step_text(ins));
                self.view_step(label);
            }
            self.instruction(cur, ins, stages, i)?;
            self.view_end(false);
        }
        // The triggers ran here; the child image starts without them
        // (the step that removes them is part of the trigger chain).
        if cur.rec.config.config.extra.remove("OnBuild").is_some() {
            let layers = cur.rec.layers.clone();
            cur.rec = StepRecord::new(cur.rec.config.clone(), layers)
                .map_err(|e| msg(format!("encoding a config: {e}")))?;
        }
        Ok(())
    }

    /// Variable lookup for expansion: ENV over ARG, as of now (a
    /// snapshot, so the step may change `cur` meanwhile).
    fn lookup_fn(cur: &Current) -> impl Fn(&str) -> Option<String> {
        let mut vars: HashMap<String, String> = cur
            .args
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.clone()?)))
            .collect();
        for e in cur.rec.config.config.env.iter().flatten() {
            if let Some((k, v)) = e.split_once('=') {
                vars.insert(k.to_string(), v.to_string());
            }
        }
        move |k| vars.get(k).cloned()
    }

    fn instruction(
        &mut self,
        cur: &mut Current,
        ins: &Instruction,
        stages: &[StageDef<'_>],
        stage: usize,
    ) -> Result<()> {
        match ins.keyword.as_str() {
            "RUN" => self.run(cur, ins, stages, stage),
            "COPY" | "ADD" => self.copy(cur, ins, stages, stage),
            "WORKDIR" => self.workdir(cur, ins),
            "ARG" => self.arg(cur, ins),
            "FROM" => Err(msg("FROM inside a stage")),
            _ => self.config_step(cur, ins),
        }
    }

    fn arg(&mut self, cur: &mut Current, ins: &Instruction) -> Result<()> {
        let pairs = shell_lex::parse_name_values(Self::shell_text(ins), "ARG", self.escape)
            .map_err(BuildError::from)?;
        for (name, default) in pairs {
            let lookup = Self::lookup_fn(cur);
            let value = match self.arg_value(&name, default, &lookup)? {
                Some(v) => Some(v),
                // `ARG NAME` in a stage takes the global ARG's value.
                None => self.meta_args.get(&name).cloned(),
            };
            cur.args.insert(name, value);
        }
        // An ARG changes what later RUNs see, not the image: no new ID.
        self.say(&format!(" ---> {}", short(&cur.rec.id)));
        Ok(())
    }

    /// Run a step through the cache: `make` only on a miss.
    fn cached(
        &mut self,
        cur: &mut Current,
        key: &str,
        make: impl FnOnce(&mut Self, &Current) -> Result<StepRecord>,
    ) -> Result<()> {
        if !self.opts.no_cache {
            if let Some(rec) = cache::lookup(self.paths, key) {
                self.view_end(true);
                self.say(" ---> Using cache");
                self.say(&format!(" ---> {}", short(&rec.id)));
                cur.rec = rec;
                return Ok(());
            }
        }
        let rec = make(self, cur)?;
        self.say(&format!(" ---> {}", short(&rec.id)));
        cur.rec = rec;
        Ok(())
    }

    /// A config-only step's record.
    fn config_record(cur: &Current, config: ImageConfig, created_by: String) -> Result<StepRecord> {
        let mut config = config;
        let t = now();
        config.created = Some(t.clone());
        config.history.push(History {
            created: Some(t),
            created_by: Some(created_by),
            empty_layer: true,
            ..Default::default()
        });
        StepRecord::new(config, cur.rec.layers.clone())
            .map_err(|e| msg(format!("encoding a config: {e}")))
    }

    fn store_record(&self, key: &str, rec: &StepRecord) -> Result<()> {
        cache::store(self.paths, key, rec)
            .map_err(|e| Error::from(BuildError::io("writing the build cache", e)))
    }

    fn config_step(&mut self, cur: &mut Current, ins: &Instruction) -> Result<()> {
        let mut config = cur.rec.config.clone();
        let created_by = self.apply_config(cur, &mut config, ins)?;
        let key = cache::key(&[&cur.rec.id, "config", &created_by]);
        self.cached(cur, &key, |b, cur| {
            let rec = Self::config_record(cur, config, created_by)?;
            b.store_record(&key, &rec)?;
            Ok(rec)
        })
    }

    /// Apply a config-only instruction to `config`; returns its history
    /// text (which is also what the cache keys it by).
    fn apply_config(
        &mut self,
        cur: &mut Current,
        config: &mut ImageConfig,
        ins: &Instruction,
    ) -> Result<String> {
        let esc = self.escape;
        let lookup = Self::lookup_fn(cur);
        let text = Self::shell_text(ins).to_string();
        let c = &mut config.config;
        let kw = ins.keyword.as_str();
        match kw {
            "ENV" => {
                let pairs =
                    shell_lex::parse_name_values(&text, "ENV", esc).map_err(BuildError::from)?;
                let mut shown = Vec::new();
                let mut set = Vec::new();
                // Every value sees the environment from before this ENV.
                for (k, v) in pairs {
                    let v = self.word(&v.unwrap_or_default(), &lookup)?;
                    let k = self.word(&k, &lookup)?;
                    shown.push(format!("{k}={v}"));
                    set.push(format!("{k}={v}"));
                }
                let env = c.env.get_or_insert_with(Vec::new);
                lifecycle::merge_env(env, &set);
                Ok(format!("ENV {}", shown.join(" ")))
            }
            "LABEL" => {
                let pairs =
                    shell_lex::parse_name_values(&text, "LABEL", esc).map_err(BuildError::from)?;
                let labels = c.labels.get_or_insert_with(BTreeMap::new);
                let mut shown = Vec::new();
                for (k, v) in pairs {
                    let k = self.word(&k, &lookup)?;
                    let v = self.word(&v.unwrap_or_default(), &lookup)?;
                    if k.is_empty() {
                        return Err(msg("LABEL names can not be blank"));
                    }
                    shown.push(format!("{k}={v}"));
                    labels.insert(k, v);
                }
                Ok(format!("LABEL {}", shown.join(" ")))
            }
            "MAINTAINER" => {
                let who = text.trim().to_string();
                config.author = Some(who.clone());
                Ok(format!("MAINTAINER {who}"))
            }
            "EXPOSE" => {
                let ports = c.exposed_ports.get_or_insert_with(BTreeMap::new);
                let mut shown = Vec::new();
                for p in self.words(&text, &lookup)? {
                    for key in expose_keys(&p)? {
                        shown.push(key.clone());
                        ports.insert(key, serde_json::json!({}));
                    }
                }
                Ok(format!("EXPOSE {}", shown.join(" ")))
            }
            "VOLUME" => {
                let list = match &ins.args {
                    Args::Exec(v) => v
                        .iter()
                        .map(|s| self.word(s, &lookup))
                        .collect::<Result<Vec<_>>>()?,
                    Args::Shell(s) => self.words(s, &lookup)?,
                };
                let vols = c.volumes.get_or_insert_with(BTreeMap::new);
                for v in &list {
                    if v.trim().is_empty() {
                        return Err(msg("VOLUME specified can not be an empty string"));
                    }
                    vols.insert(v.clone(), serde_json::json!({}));
                }
                Ok(format!("VOLUME [{}]", list.join(" ")))
            }
            "USER" => {
                let u = self.word(text.trim(), &lookup)?;
                if u.is_empty() {
                    return Err(msg("USER requires exactly one argument"));
                }
                c.user = Some(u.clone());
                Ok(format!("USER {u}"))
            }
            "STOPSIGNAL" => {
                let s = self.word(text.trim(), &lookup)?;
                crate::runtime::signals::parse(&s)?;
                c.stop_signal = Some(s.clone());
                Ok(format!("STOPSIGNAL {s}"))
            }
            "CMD" | "ENTRYPOINT" => {
                let argv = match &ins.args {
                    Args::Exec(v) => v.clone(),
                    Args::Shell(s) => {
                        let mut v = cur.shell.clone();
                        v.push(s.clone());
                        v
                    }
                };
                let shown = format!("{kw} {}", serde_json::to_string(&argv).unwrap_or_default());
                if kw == "CMD" {
                    c.cmd = Some(argv);
                    cur.cmd_set = true;
                } else {
                    c.entrypoint = Some(argv);
                    // docker: a new ENTRYPOINT drops an inherited CMD.
                    if !cur.cmd_set {
                        c.cmd = None;
                    }
                }
                Ok(shown)
            }
            "SHELL" => {
                let Args::Exec(v) = &ins.args else {
                    return Err(msg("SHELL requires the arguments to be in JSON form"));
                };
                if v.is_empty() {
                    return Err(msg("SHELL requires at least one argument"));
                }
                cur.shell = v.clone();
                c.extra.insert("Shell".into(), serde_json::json!(v));
                Ok(format!(
                    "SHELL {}",
                    serde_json::to_string(v).unwrap_or_default()
                ))
            }
            "ONBUILD" => {
                let trigger = ins
                    .onbuild
                    .as_ref()
                    .map(|t| t.original.clone())
                    .ok_or_else(|| msg("ONBUILD requires at least one argument"))?;
                let mut list: Vec<String> = c
                    .extra
                    .get("OnBuild")
                    .and_then(|v| serde_json::from_value(v.clone()).ok())
                    .unwrap_or_default();
                list.push(trigger.clone());
                c.extra.insert("OnBuild".into(), serde_json::json!(list));
                Ok(format!("ONBUILD {trigger}"))
            }
            "HEALTHCHECK" => {
                let hc = healthcheck(ins, &text)?;
                let shown = format!("HEALTHCHECK {}", hc);
                c.extra.insert("Healthcheck".into(), hc);
                Ok(shown)
            }
            other => Err(msg(format!("unknown instruction: {other}"))),
        }
    }

    fn workdir(&mut self, cur: &mut Current, ins: &Instruction) -> Result<()> {
        let lookup = Self::lookup_fn(cur);
        let w = self.word(Self::shell_text(ins).trim(), &lookup)?;
        if w.is_empty() {
            return Err(msg("WORKDIR requires exactly one argument"));
        }
        let path = clean_abs(&if w.starts_with('/') {
            w.clone()
        } else {
            format!("{}/{w}", cur.workdir())
        });
        let created_by = format!("WORKDIR {path}");
        let key = cache::key(&[&cur.rec.id, "workdir", &path]);
        self.cached(cur, &key, |b, cur| {
            let mut config = cur.rec.config.clone();
            config.config.working_dir = Some(path.clone());
            // The directory is made now, as BuildKit does; a layer only
            // if it was missing.
            let c = b.container(cur, &config, NetworkMode::None, Vec::new(), Vec::new())?;
            {
                let view = crate::container::cp::view::ContainerFs::open(b.paths, &c)?;
                if let crate::container::cp::resolve::Lookup::Missing { .. } =
                    crate::container::cp::resolve::lookup(view.root(), &path, true)
                        .map_err(|e| msg(format!("resolving {path}: {e}")))?
                {
                    copy::place(view.root(), &path, true, &[], Placement::default())?;
                }
            }
            b.commit(&c, config, created_by, &key)
        })
    }

    /// A container for a step, not started: `config` on the step's layers.
    fn container(
        &mut self,
        cur: &Current,
        config: &ImageConfig,
        network: NetworkMode,
        cmd: Vec<String>,
        mounts: Vec<MountSpec>,
    ) -> Result<Container> {
        let mut config = config.clone();
        // BuildKit's RUN keeps what it writes below a VOLUME.
        config.config.volumes = None;
        let source = ImageSource {
            id: cur.rec.id.clone(),
            layers: cur.rec.layers.clone(),
            config,
        };
        let mut env: Vec<String> = Vec::new();
        let has_env = |k: &str| {
            source
                .config
                .config
                .env
                .iter()
                .flatten()
                .any(|e| e.split('=').next() == Some(k))
        };
        for (k, v) in &cur.args {
            if let (Some(v), false) = (v, has_env(k)) {
                env.push(format!("{k}={v}"));
            }
        }
        for p in PROXY_ARGS {
            if let (Some(v), false) = (self.opts.build_args.get(*p), cur.args.contains_key(*p)) {
                self.used_args.insert(p.to_string());
                env.push(format!("{p}={v}"));
            }
        }
        let net = crate::container::config::NetworkOptions {
            extra_hosts: self.opts.extra_hosts.clone(),
            ..Default::default()
        };
        let opts = CreateOptions {
            image: short(&cur.rec.id),
            cmd: if cmd.is_empty() {
                vec!["/bin/sh".into()]
            } else {
                cmd
            },
            entrypoint: Some(Vec::new()),
            env,
            network,
            net,
            log_driver: Some("none".into()),
            // Layers are written as the store keeps them, never remapped.
            userns_mode: "host".into(),
            resources: self.opts.limits.resources.clone(),
            shm_size: self.opts.limits.shm_size,
            cgroup_parent: self.opts.limits.cgroup_parent.clone(),
            ulimits: self.opts.limits.ulimits.clone(),
            security_opt: self.opts.limits.security_opt.clone(),
            unmask_system_paths: self.opts.limits.unmask_system_paths,
            mounts,
            // A step is not probed (BuildKit runs no healthchecks).
            healthcheck: Some(crate::container::health::HealthConfig {
                test: vec!["NONE".into()],
                ..Default::default()
            }),
            // A killed build's step container is debris for the next sweep.
            owner: Some(crate::container::debris::this_process()),
            ..Default::default()
        };
        let c = lifecycle::create_from(self.paths, &opts, &source)?;
        self.containers.push(c.config.id.clone());
        Ok(c)
    }

    /// The step's changes in `c` as its layer (none if it changed
    /// nothing), `config` as its config; recorded under `key`; the
    /// container removed.
    fn commit(
        &mut self,
        c: &Container,
        config: ImageConfig,
        created_by: String,
        key: &str,
    ) -> Result<StepRecord> {
        let paths = self.paths;
        let t = now();
        let mut config = config;
        config.created = Some(t.clone());
        let history = |empty: bool| History {
            created: Some(t.clone()),
            created_by: Some(created_by.clone()),
            empty_layer: empty,
            ..Default::default()
        };
        let changes = crate::container::changes::Changes::of(paths, c)?;
        let rec = if changes.is_empty() {
            config.history.push(history(true));
            let rec = StepRecord::new(config, c.config.layers.clone())
                .map_err(|e| msg(format!("encoding a config: {e}")))?;
            self.store_record(key, &rec)?;
            rec
        } else {
            let staged = std::thread::scope(|s| -> Result<_> {
                let (reader, writer) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
                    .map_err(|e| msg(format!("creating a pipe: {e}")))?;
                let (reader, writer) = (std::fs::File::from(reader), std::fs::File::from(writer));
                let changes = &changes;
                let producer = s.spawn(move || {
                    crate::container::changes::write_changes(c, changes, writer).map(drop)
                });
                let staged = self
                    .images
                    .stage_layer(reader, c.config.layers.last().map(String::as_str));
                let produced = producer
                    .join()
                    .map_err(|_| msg("the layer writer panicked"))?;
                produced?;
                Ok(staged?)
            })?;
            let mut layers = c.config.layers.clone();
            config.history.push(history(false));
            let (_, rec) = self.images.add_layer_with(staged, |info| {
                config.rootfs.diff_ids.push(info.diff_id.clone());
                layers.push(info.chain_id.clone());
                let rec = StepRecord::new(config, layers).map_err(|e| {
                    crate::image::ImageError::Invalid(format!("encoding a config: {e}"))
                })?;
                cache::store(paths, key, &rec)
                    .map_err(|e| crate::image::ImageError::io("writing the build cache", e))?;
                Ok(rec)
            })?;
            rec
        };
        self.drop_container(&c.config.id);
        Ok(rec)
    }

    fn drop_container(&mut self, id: &str) {
        remove_container(self.paths, id);
        self.containers.retain(|c| c != id);
    }

    fn run(
        &mut self,
        cur: &mut Current,
        ins: &Instruction,
        stages: &[StageDef<'_>],
        stage: usize,
    ) -> Result<()> {
        let lookup = Self::lookup_fn(cur);
        let mut mounts: Vec<(RunMount, Option<StepRecord>)> = Vec::new();
        let mut network = self.opts.network.clone();
        let mut network_flag = String::new();
        for f in &ins.flags {
            let body = f.trim_start_matches("--");
            let (name, value) = body.split_once('=').unwrap_or((body, ""));
            match name {
                "mount" => {
                    let mut m = run_mount::parse(&self.word(value, &lookup)?)?;
                    // As BuildKit: a relative target is under WORKDIR, and
                    // the root itself cannot be mounted over.
                    let workdir = cur
                        .rec
                        .config
                        .config
                        .working_dir
                        .clone()
                        .unwrap_or_default();
                    m.target = if m.target.starts_with('/') {
                        clean_abs(&m.target)
                    } else {
                        clean_abs(&format!("/{workdir}/{}", m.target))
                    };
                    if m.target == "/" {
                        return Err(msg("invalid mount target \"/\""));
                    }
                    let from = match &m.from {
                        Some(name) => Some(self.base(stages, stage, name, false)?),
                        None => None,
                    };
                    mounts.push((m, from));
                }
                "network" => {
                    network = match value {
                        "default" => self.opts.network.clone(),
                        "none" => NetworkMode::None,
                        // BuildKit's entitlement, which rdock's build has
                        // no `--allow` to grant.
                        "host" => return Err(msg("network.host is not allowed")),
                        other => return Err(msg(format!("unsupported network mode {other:?}"))),
                    };
                    network_flag = value.to_string();
                }
                "security" => match value {
                    "sandbox" => {}
                    "insecure" => return Err(msg("security.insecure is not allowed")),
                    other => return Err(msg(format!("unsupported security mode {other:?}"))),
                },
                _ => return Err(msg(format!("unknown flag: {name}"))),
            }
        }
        let argv = match &ins.args {
            Args::Exec(v) => v.clone(),
            Args::Shell(text) => {
                let mut v = cur.shell.clone();
                v.push(heredoc_script(text, &ins.heredocs));
                v
            }
        };
        // What the cache sees: the command and the build args it gets
        // (not the proxy ones, as docker).
        let mut arg_env: Vec<String> = cur
            .args
            .iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
            .collect();
        arg_env.sort();
        let cmd_json = serde_json::to_string(&argv).unwrap_or_default();
        let mounts_key = self.mounts_key(&mounts)?;
        let key = cache::key(&[
            &cur.rec.id,
            "run",
            &cmd_json,
            &arg_env.join("\0"),
            &mounts_key,
            &network_flag,
        ]);
        let created_by = format!("RUN {} # buildkit", argv.join(" "));
        self.cached(cur, &key, |b, cur| {
            let config = cur.rec.config.clone();
            let prepared = b.prepare_mounts(&mounts)?;
            let c = b.container(cur, &config, network, argv.clone(), prepared.specs.clone())?;
            b.say(&format!(" ---> Running in {}", c.short_id()));
            let devnull = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/null")
                .map_err(|e| msg(format!("opening /dev/null: {e}")))?;
            // The live view reads RUN's output through a pipe, to show its
            // tail under the step.
            let piped = match &b.view {
                Some(v) => Some(
                    v.output_pipe()
                        .map_err(|e| msg(format!("making a pipe: {e}")))?,
                ),
                None => None,
            };
            let (out, err) = match (&piped, b.opts.output) {
                (Some((w, _)), _) => (w.as_raw_fd(), w.as_raw_fd()),
                (None, Output::Plain) => (1, 2),
                (None, _) => (devnull.as_raw_fd(), devnull.as_raw_fd()),
            };
            let exit = lifecycle::run_step(b.paths, &c, [devnull.as_raw_fd(), out, err]);
            if let Some((w, reader)) = piped {
                drop(w);
                let _ = reader.join();
            }
            let code = match exit? {
                lifecycle::StepExit::Exited(code) => code,
                lifecycle::StepExit::Interrupted => {
                    b.drop_container(&c.config.id);
                    return Err(BuildError::Interrupted.into());
                }
            };
            if code != 0 {
                b.drop_container(&c.config.id);
                return Err(msg(format!(
                    "process \"{}\" did not complete successfully: exit code: {code}",
                    argv.join(" ")
                )));
            }
            let id = c.short_id().to_string();
            let rec = b.commit(&c, config, created_by, &key)?;
            drop(prepared);
            b.say(&format!("Removing intermediate container {id}"));
            Ok(rec)
        })
    }

    /// What a RUN's mounts add to its cache key: each mount's shape, and
    /// a bind's source content (a cache mount's content is not part of
    /// it, as BuildKit).
    fn mounts_key(&self, mounts: &[(RunMount, Option<StepRecord>)]) -> Result<String> {
        let mut h = Sha256::new();
        for (m, from) in mounts {
            h.update(format!("{m:?}").as_bytes());
            h.update(b"\0");
            if m.kind != MountType::Bind {
                continue;
            }
            let source = m.source.as_deref().unwrap_or(".");
            match from {
                Some(rec) => h.update(rec.id.as_bytes()),
                None => {
                    for src in self.opts.context.sources(source)? {
                        h.update(src.rel.as_bytes());
                        self.opts.context.hash(&src, &mut h)?;
                    }
                }
            }
        }
        Ok(hex::encode(h.finalize()))
    }

    /// The RUN's mounts as container mounts. A bind's source is copied
    /// out of the context or the stage first: its links stay confined,
    /// .dockerignore applies, and a `rw` bind's writes go nowhere.
    fn prepare_mounts(
        &mut self,
        mounts: &[(RunMount, Option<StepRecord>)],
    ) -> Result<PreparedMounts> {
        let mut out = PreparedMounts::default();
        for (m, from) in mounts {
            let target = PathBuf::from(&m.target);
            match m.kind {
                MountType::Tmpfs => {
                    let mut options = Vec::new();
                    if let Some(size) = &m.size {
                        options.push(format!("size={size}"));
                    }
                    out.specs
                        .push(MountSpec::tmpfs(target, m.readonly, options));
                }
                MountType::Cache => {
                    let dir = self.cache_mount_dir(m, &mut out)?;
                    out.specs
                        .push(MountSpec::bind(dir, target, m.readonly, Vec::new()));
                }
                MountType::Bind => {
                    let temp = self.images.temp_dir()?;
                    out.temps.push(temp.clone());
                    let source = m.source.as_deref().unwrap_or(".");
                    let file = self.fill_bind(&temp, source, from.as_ref())?;
                    let src = match file {
                        Some(name) => temp.join(name),
                        None => temp,
                    };
                    out.specs
                        .push(MountSpec::bind(src, target, m.readonly, Vec::new()));
                }
                MountType::Secret | MountType::Ssh if !m.required => {}
                MountType::Secret => {
                    return Err(msg(format!(
                        "secret {}: not found (rdock build takes no --secret)",
                        m.id.as_deref().unwrap_or("")
                    )))
                }
                MountType::Ssh => {
                    return Err(msg("no SSH agent forwarded (rdock build takes no --ssh)"))
                }
            }
        }
        Ok(out)
    }

    /// A created (never started) container of a stage's or image's
    /// result, whose rootfs view is the source of `COPY --from` and
    /// `RUN --mount from=`.
    fn source_container(&mut self, rec: &StepRecord) -> Result<Container> {
        let holder = Current {
            rec: rec.clone(),
            args: BTreeMap::new(),
            shell: Vec::new(),
            cmd_set: false,
        };
        self.container(
            &holder,
            &rec.config,
            NetworkMode::None,
            Vec::new(),
            Vec::new(),
        )
    }

    /// Copy a bind mount's `source` into `temp`; a file's name if the
    /// source is one file.
    fn fill_bind(
        &mut self,
        temp: &std::path::Path,
        source: &str,
        from: Option<&StepRecord>,
    ) -> Result<Option<OsString>> {
        let root = std::fs::File::open(temp)
            .map_err(|e| msg(format!("opening {}: {e}", temp.display())))?;
        let holder = match from {
            Some(rec) => Some(self.source_container(rec)?),
            None => None,
        };
        let result = (|| -> Result<Option<OsString>> {
            let view = match &holder {
                Some(c) => Some(crate::container::cp::view::ContainerFs::open(
                    self.paths, c,
                )?),
                None => None,
            };
            let from_ctx = match &view {
                Some(v) => Some(view_context(v, "--mount from")?),
                None => None,
            };
            let ctx = from_ctx.as_ref().unwrap_or(self.opts.context);
            let mut srcs = ctx.sources(source)?;
            if srcs.len() != 1 {
                return Err(msg(format!("mount source {source:?} is not one path")));
            }
            let src = srcs.remove(0);
            let file = src.is_file.then(|| src.name.clone());
            let items = [Item {
                ctx,
                src,
                unpack: false,
            }];
            copy::place(root.as_fd(), "/", true, &items, Placement::default())?;
            Ok(file)
        })();
        if let Some(c) = holder {
            self.drop_container(&c.config.id);
        }
        result
    }

    /// A cache mount's directory, made on first use with its mode and
    /// owner; `locked` waits for other users, `private` takes a fresh
    /// directory while another holds it.
    fn cache_mount_dir(&self, m: &RunMount, out: &mut PreparedMounts) -> Result<PathBuf> {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        let id = m.id.as_deref().unwrap_or(&m.target);
        let base = self.paths.build_cache_mounts();
        let dir = base.join(cache::key(&[id]));
        crate::util::mkdirs_private(&base)
            .map_err(|e| msg(format!("creating {}: {e}", base.display())))?;
        let make = |dir: &std::path::Path| -> Result<()> {
            match std::fs::DirBuilder::new().mode(0o755).create(dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(()),
                Err(e) => return Err(msg(format!("creating {}: {e}", dir.display()))),
            }
            let mode = m.mode.unwrap_or(0o755);
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode))
                .map_err(|e| msg(format!("chmod {}: {e}", dir.display())))?;
            std::os::unix::fs::chown(dir, Some(m.uid.unwrap_or(0)), Some(m.gid.unwrap_or(0)))
                .map_err(|e| msg(format!("chown {}: {e}", dir.display())))?;
            Ok(())
        };
        if m.sharing == Sharing::Shared {
            make(&dir)?;
            return Ok(dir);
        }
        let lock_path = dir.with_extension("lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| msg(format!("opening {}: {e}", lock_path.display())))?;
        let wait = m.sharing == Sharing::Locked;
        let flags = if wait {
            nix::fcntl::FlockArg::LockExclusive
        } else {
            nix::fcntl::FlockArg::LockExclusiveNonblock
        };
        #[allow(deprecated)] // nix's Flock wrapper owns the fd; we keep the File.
        let locked = nix::fcntl::flock(lock.as_raw_fd(), flags).is_ok();
        if locked {
            out.locks.push(lock);
            make(&dir)?;
            return Ok(dir);
        }
        // private and busy: a throwaway directory for this step.
        let temp = self.images.temp_dir()?;
        out.temps.push(temp.clone());
        let fresh = temp.join("cache");
        make(&fresh)?;
        Ok(fresh)
    }

    fn copy(
        &mut self,
        cur: &mut Current,
        ins: &Instruction,
        stages: &[StageDef<'_>],
        stage: usize,
    ) -> Result<()> {
        let add = ins.keyword == "ADD";
        let mut from = None;
        let mut chown = None;
        let mut chmod = None;
        let mut checksum = None;
        for f in &ins.flags {
            let body = f.trim_start_matches("--");
            let (name, value) = body.split_once('=').unwrap_or((body, ""));
            match name {
                "from" if !add => from = Some(value.to_string()),
                "chown" => chown = Some(value.to_string()),
                "chmod" => chmod = Some(value.to_string()),
                "checksum" if add => checksum = Some(value.to_string()),
                // Layer placement is not a choice rdock offers; the result
                // is the same files.
                "link" => {}
                "keep-git-dir" if add => {}
                _ => return Err(msg(format!("unknown flag: {name}"))),
            }
        }
        let lookup = Self::lookup_fn(cur);
        let mut words = match &ins.args {
            Args::Exec(v) => v
                .iter()
                .map(|s| self.word(s, &lookup))
                .collect::<Result<Vec<_>>>()?,
            Args::Shell(s) => self.words(s, &lookup)?,
        };
        if words.len() < 2 {
            return Err(msg(format!(
                "{} requires at least two arguments, but only one was provided. Destination could not be determined",
                ins.keyword
            )));
        }
        let dest_word = words.pop().unwrap_or_default();
        let chown = chown.map(|c| self.word(&c, &lookup)).transpose()?;
        let chmod = match chmod {
            Some(m) => Some(
                u32::from_str_radix(&self.word(&m, &lookup)?, 8)
                    .ok()
                    .filter(|m| *m <= 0o7777)
                    .ok_or_else(|| msg(format!("invalid chmod parameter: {m}")))?,
            ),
            None => None,
        };
        let mut dest = if dest_word.starts_with('/') {
            dest_word.clone()
        } else {
            format!("{}/{dest_word}", cur.workdir())
        };
        let dest_is_dir_syntax =
            dest_word.ends_with('/') || dest_word.ends_with("/.") || dest_word == ".";
        dest = clean_abs(&dest);

        // Where the sources come from.
        let from = match from {
            Some(f) => {
                let meta = self.meta_args.clone();
                Some(self.word(&f, &|k| meta.get(k).cloned())?)
            }
            None => None,
        };
        let from_rec = match &from {
            Some(f)
                if Self::stage_ref(stages, stage, f).is_none()
                    && Self::stage_ref(stages, stages.len(), f).is_some() =>
            {
                return Err(msg(format!("stage {f} is not defined before this one")));
            }
            Some(f) => Some(self.base(stages, stage, f, false)?),
            None => None,
        };

        // Heredocs and URLs become files in a temp dir of their own.
        let mut extra_dir: Option<Context> = None;
        let mut extra_names: Vec<String> = Vec::new();
        let mut any_url = false;
        let mut plain: Vec<String> = Vec::new();
        for w in &words {
            if let Some(doc) = w
                .strip_prefix("<<")
                .map(|n| {
                    n.trim_start_matches('-')
                        .trim_matches(|c| c == '"' || c == '\'')
                })
                .and_then(|n| ins.heredocs.iter().find(|h| h.name == n))
            {
                let content = if doc.expand {
                    shell_lex::process_heredoc(&doc.content, &lookup, self.escape)
                        .map_err(BuildError::from)?
                } else {
                    doc.content.clone()
                };
                let ctx = self.extra_context(&mut extra_dir)?;
                write_extra(ctx, &doc.name, content.as_bytes(), 0o644)?;
                extra_names.push(doc.name.clone());
            } else if add && (w.starts_with("http://") || w.starts_with("https://")) {
                let ctx = self.extra_context(&mut extra_dir)?;
                extra_names.push(download(ctx, w, checksum.as_deref())?);
                any_url = true;
            } else if add && (w.starts_with("git@") || w.ends_with(".git")) {
                return Err(msg(format!(
                    "ADD of a git repository ({w}) is not supported by rdock"
                )));
            } else {
                plain.push(w.clone());
            }
        }
        if checksum.is_some() && (!any_url || !plain.is_empty()) {
            return Err(msg("checksum can't be specified for non-HTTP(S) sources"));
        }

        // The key: everything the result depends on.
        let mut h = Sha256::new();
        for part in [
            cur.rec.id.as_str(),
            ins.keyword.as_str(),
            &dest,
            &format!("{dest_is_dir_syntax}"),
            chown.as_deref().unwrap_or(""),
            &format!("{chmod:?}"),
            from_rec.as_ref().map(|r| r.id.as_str()).unwrap_or(""),
        ] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
        let mut count = 0usize;
        if from_rec.is_none() {
            for w in &plain {
                let srcs = self.opts.context.sources(w)?;
                for s in &srcs {
                    h.update(s.rel.as_bytes());
                    h.update(b"\0");
                    self.opts.context.hash(s, &mut h)?;
                    if add && s.is_file {
                        h.update([copy::is_archive(s) as u8]);
                    }
                }
                count = count.saturating_add(srcs.len());
            }
        } else {
            for w in &plain {
                h.update(w.as_bytes());
                h.update(b"\0");
            }
            count = count.saturating_add(plain.len());
        }
        if let Some(ctx) = &extra_dir {
            for name in &extra_names {
                for s in ctx.sources(name)? {
                    h.update(name.as_bytes());
                    ctx.hash(&s, &mut h)?;
                }
            }
        }
        count = count.saturating_add(extra_names.len());
        let key = hex::encode(h.finalize());
        let shown_args = match &ins.args {
            Args::Exec(v) => v.join(" "),
            Args::Shell(s) => s.clone(),
        };
        let flags = ins.flags.join(" ");
        let created_by = format!(
            "{} {}{}{} # buildkit",
            ins.keyword,
            flags,
            if flags.is_empty() { "" } else { " " },
            shown_args
        );
        let dest_is_dir = dest_is_dir_syntax || count > 1;
        self.cached(cur, &key, |b, cur| {
            let config = cur.rec.config.clone();
            // The source image's view first: views are left in the reverse
            // order of opening.
            let src_container = match &from_rec {
                Some(r) => Some(b.source_container(r)?),
                None => None,
            };
            let src_view = match &src_container {
                Some(c) => Some(crate::container::cp::view::ContainerFs::open(b.paths, c)?),
                None => None,
            };
            let from_ctx = match &src_view {
                Some(v) => Some(view_context(v, "--from")?),
                None => None,
            };
            let c = b.container(cur, &config, NetworkMode::None, Vec::new(), Vec::new())?;
            {
                let view = crate::container::cp::view::ContainerFs::open(b.paths, &c)?;
                let owner = match &chown {
                    Some(spec) => Some(copy::resolve_chown(view.root(), spec)?),
                    None => None,
                };
                let mut items: Vec<Item<'_>> = Vec::new();
                let src_ctx = from_ctx.as_ref().unwrap_or(b.opts.context);
                for w in &plain {
                    for s in src_ctx.sources(w)? {
                        let unpack = add && from_ctx.is_none() && s.is_file && copy::is_archive(&s);
                        items.push(Item {
                            ctx: src_ctx,
                            src: s,
                            unpack,
                        });
                    }
                }
                if let Some(ctx) = &extra_dir {
                    for name in &extra_names {
                        for s in ctx.sources(name)? {
                            items.push(Item {
                                ctx,
                                src: s,
                                unpack: false,
                            });
                        }
                    }
                }
                copy::place(
                    view.root(),
                    &dest,
                    dest_is_dir,
                    &items,
                    Placement { owner, chmod },
                )?;
            }
            drop(from_ctx);
            drop(src_view);
            if let Some(sc) = src_container {
                b.drop_container(&sc.config.id);
            }
            b.commit(&c, config, created_by, &key)
        })
    }

    fn extra_context<'c>(&self, slot: &'c mut Option<Context>) -> Result<&'c Context> {
        if slot.is_none() {
            let dir = self.images.temp_dir()?;
            let mut ctx = Context::from_dir(&dir, None)?;
            ctx.own_temp(dir);
            *slot = Some(ctx);
        }
        slot.as_ref().ok_or_else(|| msg("no temp context"))
    }

    fn warn_unused_args(&self) {
        let unused: Vec<&String> = self
            .opts
            .build_args
            .keys()
            .filter(|k| !self.used_args.contains(*k) && !PROXY_ARGS.contains(&k.as_str()))
            .collect();
        if !unused.is_empty() && self.opts.output != Output::Quiet {
            let list: Vec<&str> = unused.iter().map(|s| s.as_str()).collect();
            eprintln!(
                "[Warning] One or more build-args [{}] were not consumed",
                list.join(" ")
            );
        }
    }

    /// The target's result as an image, with `--label`s, tagged.
    fn finish(&mut self, rec: StepRecord) -> Result<String> {
        let mut config = rec.config;
        if !self.opts.labels.is_empty() {
            let labels = config.config.labels.get_or_insert_with(BTreeMap::new);
            labels.extend(self.opts.labels.clone());
        }
        let mut base = Vec::new();
        for chain in &rec.layers {
            base.push(
                self.images
                    .layer_info(chain)
                    .ok_or_else(|| msg(format!("layer {chain} is missing")))?,
            );
        }
        let first = self.opts.tags.first();
        let id = self.images.add_image_on(config, base, Vec::new(), first)?;
        for t in self.opts.tags.iter().skip(1) {
            crate::image::manage::tag(&self.images, &id, t)?;
        }
        if self.opts.output == Output::Plain {
            self.warn_unused_args();
        }
        self.say(&format!("Successfully built {}", short(&id)));
        for t in &self.opts.tags {
            self.say(&format!("Successfully tagged {}", t.familiar()));
        }
        if let Some(view) = self.view.take() {
            view.step("exporting to image".into());
            view.detail(format!("writing image {id}"));
            for t in &self.opts.tags {
                view.detail(format!("naming to {t}"));
            }
            view.finish(Outcome::Done);
            self.warn_unused_args();
        }
        Ok(id)
    }
}

fn write_extra(ctx: &Context, name: &str, data: &[u8], mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return Err(msg(format!("invalid file name {name:?}")));
    }
    let p = ctx.dir.join(name);
    std::fs::write(&p, data).map_err(|e| msg(format!("writing {name}: {e}")))?;
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode))
        .map_err(|e| msg(format!("chmod {name}: {e}")))
}

/// ADD of a URL: the file, named after the URL's last path segment, mode
/// 0600 as docker; its time from Last-Modified.
fn download(ctx: &Context, url: &str, checksum: Option<&str>) -> Result<String> {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let name = path
        .split_once("://")
        .map(|(_, rest)| rest)
        .and_then(|rest| rest.split_once('/'))
        .map(|(_, p)| p.rsplit('/').next().unwrap_or_default().to_string())
        .unwrap_or_default();
    if name.is_empty() {
        return Err(msg(format!("cannot determine filename from url: {url}")));
    }
    let resp = ureq::get(url)
        .call()
        .map_err(|e| msg(format!("failed to GET {url}: {e}")))?;
    let modified = resp
        .headers()
        .get("last-modified")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| chrono::DateTime::parse_from_rfc2822(v).ok());
    let mut data = Vec::new();
    std::io::Read::read_to_end(&mut resp.into_body().into_reader(), &mut data)
        .map_err(|e| msg(format!("reading {url}: {e}")))?;
    if let Some(want) = checksum {
        let got = format!("sha256:{}", hex::encode(Sha256::digest(&data)));
        if got != want {
            return Err(msg(format!(
                "digest mismatch for {url}: expected {want}, got {got}"
            )));
        }
    }
    write_extra(ctx, &name, &data, 0o600)?;
    if let Some(t) = modified {
        let f = std::fs::File::options()
            .write(true)
            .open(ctx.dir.join(&name))
            .map_err(|e| msg(format!("opening {name}: {e}")))?;
        let _ = f.set_modified(std::time::SystemTime::from(t));
    }
    Ok(name)
}

/// The script a shell-form RUN hands its shell. A heredoc that is the
/// whole command is the script itself; heredocs inside a command line are
/// given back to the shell with their bodies, as BuildKit does.
fn heredoc_script(text: &str, docs: &[dockerfile::Heredoc]) -> String {
    if docs.is_empty() {
        return text.to_string();
    }
    let only = text.trim();
    if let [d] = docs {
        let forms = [
            format!("<<{}", d.name),
            format!("<<-{}", d.name),
            format!("<<\"{}\"", d.name),
            format!("<<'{}'", d.name),
            format!("<<-\"{}\"", d.name),
            format!("<<-'{}'", d.name),
        ];
        if forms.iter().any(|f| f == only) {
            return d.content.clone();
        }
    }
    let mut s = text.to_string();
    for d in docs {
        s.push('\n');
        s.push_str(&d.content);
        s.push_str(&d.name);
    }
    s
}

/// "Step N/M : " text: the instruction as written, keyword upper-cased.
fn step_text(ins: &Instruction) -> String {
    let o = ins.original.trim();
    match o.split_once(char::is_whitespace) {
        Some((_, rest)) => format!("{} {}", ins.keyword, rest.trim_start()),
        None => ins.keyword.clone(),
    }
}

/// A source container's rootfs as a context to copy from.
fn view_context(view: &crate::container::cp::view::ContainerFs, label: &str) -> Result<Context> {
    let root = view
        .root()
        .try_clone_to_owned()
        .map_err(|e| msg(format!("duplicating a fd: {e}")))?;
    Ok(Context::from_root(root, label))
}

/// A RUN's mounts, ready for its container: the temp dirs they use are
/// removed and the cache locks released when dropped.
#[derive(Default)]
struct PreparedMounts {
    specs: Vec<MountSpec>,
    temps: Vec<PathBuf>,
    locks: Vec<std::fs::File>,
}

impl Drop for PreparedMounts {
    fn drop(&mut self) {
        for t in &self.temps {
            let _ = crate::image::layer::remove_tree(t);
        }
    }
}

/// Whether BuildKit's view shows the instruction as a step of its own.
fn is_vertex(ins: &Instruction) -> bool {
    matches!(
        ins.keyword.as_str(),
        "FROM" | "RUN" | "COPY" | "ADD" | "WORKDIR"
    )
}

fn short(id: &str) -> String {
    id.trim_start_matches("sha256:").chars().take(12).collect()
}

/// EXPOSE's keys: "80" -> "80/tcp"; a range -> each port.
fn expose_keys(p: &str) -> Result<Vec<String>> {
    let (ports, proto) = p.split_once('/').unwrap_or((p, "tcp"));
    let proto = proto.to_ascii_lowercase();
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(msg(format!("invalid proto: {proto}")));
    }
    let bad = || msg(format!("invalid containerPort: {ports}"));
    let (lo, hi) = match ports.split_once('-') {
        Some((a, b)) => (
            a.parse::<u16>().map_err(|_| bad())?,
            b.parse::<u16>().map_err(|_| bad())?,
        ),
        None => {
            let n = ports.parse::<u16>().map_err(|_| bad())?;
            (n, n)
        }
    };
    if hi < lo {
        return Err(bad());
    }
    Ok((lo..=hi).map(|n| format!("{n}/{proto}")).collect())
}

/// HEALTHCHECK as the image config's Healthcheck object.
fn healthcheck(ins: &Instruction, text: &str) -> Result<serde_json::Value> {
    let t = text.trim();
    let (kind, rest) = t.split_once(char::is_whitespace).unwrap_or((t, ""));
    let mut obj = serde_json::Map::new();
    match kind.to_ascii_uppercase().as_str() {
        "NONE" => {
            if !rest.trim().is_empty() || !ins.flags.is_empty() {
                return Err(msg("HEALTHCHECK NONE takes no arguments"));
            }
            obj.insert("Test".into(), serde_json::json!(["NONE"]));
            return Ok(serde_json::Value::Object(obj));
        }
        "CMD" => {
            let rest = rest.trim();
            if rest.is_empty() {
                return Err(msg("Missing command after HEALTHCHECK CMD"));
            }
            let test = match dockerfile::parse_json_array(rest) {
                Some(v) => {
                    let mut t = vec!["CMD".to_string()];
                    t.extend(v);
                    t
                }
                None => vec!["CMD-SHELL".to_string(), rest.to_string()],
            };
            obj.insert("Test".into(), serde_json::json!(test));
        }
        other => {
            return Err(msg(format!(
                "Unknown type {other:?} in HEALTHCHECK (try CMD)"
            )))
        }
    }
    for f in &ins.flags {
        let body = f.trim_start_matches("--");
        let (name, value) = body.split_once('=').unwrap_or((body, ""));
        let key = match name {
            "interval" => "Interval",
            "timeout" => "Timeout",
            "start-period" => "StartPeriod",
            "start-interval" => "StartInterval",
            "retries" => {
                let n: i64 = value
                    .parse()
                    .map_err(|_| msg(format!("invalid value {value:?} for --retries")))?;
                if n < 0 {
                    return Err(msg("--retries cannot be negative"));
                }
                if n > 0 {
                    obj.insert("Retries".into(), serde_json::json!(n));
                }
                continue;
            }
            _ => return Err(msg(format!("unknown flag: {name}"))),
        };
        let ns = crate::util::parse_go_duration(value)
            .ok_or_else(|| msg(format!("time: invalid duration {value:?}")))?;
        if ns != 0 && ns < 1_000_000 {
            return Err(msg(format!("{name} cannot be less than 1ms")));
        }
        if ns != 0 {
            obj.insert(key.into(), serde_json::json!(ns));
        }
    }
    Ok(serde_json::Value::Object(obj))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_as_go() {
        assert_eq!(crate::util::parse_go_duration("30s"), Some(30_000_000_000));
        assert_eq!(
            crate::util::parse_go_duration("1m30s"),
            Some(90_000_000_000)
        );
        assert_eq!(crate::util::parse_go_duration("500ms"), Some(500_000_000));
        assert_eq!(crate::util::parse_go_duration("0"), Some(0));
        assert_eq!(crate::util::parse_go_duration("5"), None);
        assert_eq!(crate::util::parse_go_duration("5x"), None);
        assert_eq!(
            crate::util::parse_go_duration("-1.5s"),
            Some(-1_500_000_000)
        );
    }

    #[test]
    fn expose_forms() {
        assert_eq!(expose_keys("80").unwrap(), ["80/tcp"]);
        assert_eq!(expose_keys("53/UDP").unwrap(), ["53/udp"]);
        assert_eq!(
            expose_keys("8000-8002").unwrap(),
            ["8000/tcp", "8001/tcp", "8002/tcp"]
        );
        assert!(expose_keys("http").is_err());
        assert!(expose_keys("80/xyz").is_err());
    }

    #[test]
    fn paths_clean() {
        assert_eq!(clean_abs("/a/./b/../c/"), "/a/c");
        assert_eq!(clean_abs("/../x"), "/x");
        assert_eq!(clean_abs("/"), "/");
    }

    #[test]
    fn heredoc_scripts() {
        let d = dockerfile::Heredoc {
            name: "EOF".into(),
            content: "echo a\necho b\n".into(),
            expand: true,
            chomp: false,
        };
        assert_eq!(
            heredoc_script("<<EOF", std::slice::from_ref(&d)),
            "echo a\necho b\n"
        );
        assert_eq!(
            heredoc_script("cat <<EOF > /x", std::slice::from_ref(&d)),
            "cat <<EOF > /x\necho a\necho b\nEOF"
        );
    }
}
