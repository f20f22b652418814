//! Starting a container's init: spawn it with its networks plumbed,
//! record it as running (or why it could not start), and record its exit.

use super::spec::{container_cgroup, init_spec, release_shm};
use crate::container::config::NetworkMode;
use crate::container::state::{proc_start_time, State, Status};
use crate::container::store::{Container, ContainerStore};
use crate::container::{health, network};
use crate::error::{Error, IoContext, Result};
use crate::paths::Paths;
use crate::runtime::cgroups::Cgroup;
use crate::runtime::process::{self, InitSpec, Spawned};
use crate::util;

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

/// With another container's network, the names are that container's,
/// taken at start and recorded (docker's `initializeNetworking`): the
/// container as it starts, when they changed.
fn share_names(store: &ContainerStore, c: &Container) -> Result<Option<Container>> {
    let NetworkMode::Container(other) = &c.config.network else {
        return Ok(None);
    };
    let Ok(t) = store.resolve(other) else {
        return Ok(None); // launch says why it cannot join
    };
    let (h, d) = (&t.config.hostname, &t.config.domainname);
    if c.config.hostname == *h && c.config.domainname == *d {
        return Ok(None);
    }
    store.update_config(&c.config.id, |cfg| {
        cfg.hostname = h.clone();
        cfg.domainname = d.clone();
    })?;
    let mut updated = c.clone();
    updated.config.hostname = h.clone();
    updated.config.domainname = d.clone();
    Ok(Some(updated))
}

/// Spawn the container and record it as running; or record why it could
/// not start, as docker does: its state keeps the error and docker's exit
/// code, and a `--rm` container goes (so a retry can take its name).
pub(in crate::container) fn launch(
    paths: &Paths,
    c: &Container,
    stdio: Option<[i32; 3]>,
) -> Result<(Spawned, Cgroup)> {
    if c.state.status == Status::Running {
        return Err(Error::msg(format!(
            "container {} is already running",
            c.config.name
        )));
    }
    try_launch(paths, c, stdio).inspect_err(|e| record_start_failure(paths, c, e))
}

fn record_start_failure(paths: &Paths, c: &Container, e: &Error) {
    debug!("start of {} failed: {e}", c.config.id);
    let store = ContainerStore::new(paths);
    if c.config.auto_remove {
        let _ = store.remove(c);
        let _ = crate::volume::release_anonymous(paths, &c.config.mounts);
        return;
    }
    // 126/127 when the program cannot be run, else 128 (docker's "exit
    // status unknown").
    let code = match e.exit_code() {
        code @ (126 | 127) => code,
        _ => 128,
    };
    let state = State {
        status: if c.state.status == Status::Created {
            Status::Created
        } else {
            Status::Exited
        },
        exit_code: code,
        error: e.to_string(),
        ..c.state.clone()
    };
    let _ = store.save_state(&c.config.id, &state);
}

fn try_launch(paths: &Paths, c: &Container, stdio: Option<[i32; 3]>) -> Result<(Spawned, Cgroup)> {
    // `cp` holds this while it has this container's rootfs open or its
    // overlay mounted: never two overlays on one upper dir.
    let _rootfs = util::FileLock::on_dir(&c.dir.join("upper"))
        .ctx(|| "locking the container's rootfs".into())?;
    util::mkdirs_private(&paths.rootfs_mountpoint())
        .ctx(|| "creating the rootfs mountpoint".into())?;
    crate::volume::prepare_start(paths, &c.config.mounts)?;
    let store = ContainerStore::new(paths);
    let shared;
    let c = match share_names(&store, c)? {
        Some(updated) => {
            shared = updated;
            &shared
        }
        None => c,
    };
    let links = network::links(paths, c)?;
    let mut lowered = init_spec(paths, &store, c, stdio, &links.env)?;
    for m in &c.config.mounts {
        debug!(
            "mount {:?} {} -> {} ro={} {:?}",
            m.kind,
            m.source.display(),
            m.destination.display(),
            m.readonly,
            m.options
        );
    }
    let cgroup = container_cgroup(c, &mut lowered)?;
    let spawned = spawn_networked(paths, c, &lowered.init, &cgroup, &links)?;
    record_running(paths, &store, c, &spawned)?;
    Ok((spawned, cgroup))
}

/// Spawn the container's init with its networks plumbed; on failure the
/// cgroup (and any network) is undone.
fn spawn_networked(
    paths: &Paths,
    c: &Container,
    spec: &InitSpec,
    cgroup: &Cgroup,
    links: &network::Links,
) -> Result<Spawned> {
    let endpoints = match network::prepare(paths, c, links) {
        Ok(ep) => ep,
        Err(e) => {
            let _ = cgroup.remove();
            return Err(e);
        }
    };
    let id = c.config.id.clone();
    let mut plumb = |pid: i32| -> crate::runtime::Result<()> {
        if endpoints.is_empty() {
            return Ok(());
        }
        network::plumb(&id, &endpoints, pid)
            .map_err(|e| crate::runtime::RuntimeError::Other(e.to_string()))
    };
    // Only bridge endpoints have anything to do there.
    let hook: Option<&mut dyn FnMut(i32) -> crate::runtime::Result<()>> = if endpoints.is_empty() {
        None
    } else {
        Some(&mut plumb)
    };
    let spawned = process::spawn_with(spec, cgroup, hook).map_err(|e| {
        let _ = cgroup.remove();
        network::teardown(paths, c);
        Error::from(e)
    })?;
    let eps: Vec<_> = endpoints.into_iter().map(|(e, _)| e).collect();
    network::events(paths, c, "connect", Some(&eps));
    Ok(spawned)
}

/// Record the container as running (its init's pid and start time, and
/// this process as its owner), start its healthcheck prober, and tell.
fn record_running(
    paths: &Paths,
    store: &ContainerStore,
    c: &Container,
    spawned: &Spawned,
) -> Result<()> {
    let state = State {
        status: Status::Running,
        pid: spawned.pid,
        pid_start: proc_start_time(spawned.pid).unwrap_or(0),
        exit_code: 0,
        oom_killed: false,
        started_at: Some(now()),
        finished_at: None,
        error: String::new(),
        paused: false,
        freezing: false,
        restarting: false,
        stop_requested: false,
        restart_count: c.state.restart_count,
        owner_pid: std::process::id() as i32,
        owner_start: proc_start_time(std::process::id() as i32).unwrap_or(0),
    };
    store.save_state(&c.config.id, &state)?;
    health::start_prober(paths, &c.config, &c.dir, spawned.pid);
    crate::events::container(paths, &c.config, "start", &[]);
    Ok(())
}

/// After the container's init is gone: record the exit, drop the cgroup,
/// remove the container if it was `--rm`. Its files, out of the store,
/// are returned to be deleted: a monitor tells its clients first (`docker
/// run --rm` waits for the removal; the files are not part of it).
pub(in crate::container) fn finish(
    paths: &Paths,
    c: &Container,
    cgroup: &Cgroup,
    code: i32,
) -> Result<Option<crate::container::store::Detached>> {
    let store = ContainerStore::new(paths);
    // Read before the cgroup (and its counters) goes.
    let oom = crate::runtime::resources::oom_killed(cgroup);
    let _ = cgroup.remove();
    release_shm(&c.dir);
    network::events(paths, c, "disconnect", None);
    network::teardown(paths, c);
    die_events(paths, c, code, oom);
    if c.config.auto_remove {
        let files = store.detach(c)?;
        crate::events::container(paths, &c.config, "destroy", &[]);
        // docker's --rm takes the anonymous volumes with it.
        crate::volume::release_anonymous(paths, &c.config.mounts)?;
        return Ok(files);
    }
    store.update_state(&c.config.id, |state| {
        state.oom_killed = oom;
        state.status = Status::Exited;
        state.paused = false;
        state.restarting = false;
        state.pid = 0;
        state.exit_code = code;
        state.finished_at = Some(now());
    })?;
    Ok(None)
}

/// `finish`, the files deleted at once (nobody to tell first).
pub(in crate::container) fn finish_now(
    paths: &Paths,
    c: &Container,
    cgroup: &Cgroup,
    code: i32,
) -> Result<()> {
    match finish(paths, c, cgroup, code)? {
        Some(files) => Ok(files.purge()?),
        None => Ok(()),
    }
}

/// docker's events for an exit: "oom" first if the kernel killed for
/// memory, then "die" with the exit code and how long it ran.
pub(in crate::container) fn die_events(paths: &Paths, c: &Container, code: i32, oom: bool) {
    if oom {
        crate::events::container(paths, &c.config, "oom", &[]);
    }
    let ran = c
        .state
        .started_at
        .as_deref()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| chrono::Utc::now().signed_duration_since(t).num_seconds())
        .unwrap_or(0);
    crate::events::container(
        paths,
        &c.config,
        "die",
        &[
            ("exitCode", code.to_string()),
            ("execDuration", ran.to_string()),
        ],
    );
}
