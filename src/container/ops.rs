//! Operations on existing containers: stop, kill, wait, restart, rename.
//! No daemon: each acts on the container's process through its pid (checked
//! against its start time, so a reused pid is never signalled) and on the
//! store; the monitor (or the foreground CLI) records the exit.

use super::state::Status;
use super::store::{Container, ContainerStore};
use super::ContainerError;
use crate::error::{Error, Result};
use crate::paths::Paths;
use crate::runtime::cgroups::Cgroup;
use crate::runtime::resources::{HostSupport, Resources};
use crate::runtime::signals;
use nix::sys::signal::Signal;
use nix::unistd::Pid;
use std::time::{Duration, Instant};

/// Send `sig` to the container's init. Errors as docker when it is not
/// running.
pub fn kill(paths: &Paths, c: &Container, sig: &str) -> Result<()> {
    // No signal (`kill -s ''`) is docker's default.
    let sig = signals::parse(if sig.is_empty() { "KILL" } else { sig })?;
    let sig = signals::deliverable(sig).map_err(Error::msg)?;
    thaw_if_paused(paths, c);
    if c.state.is_alive() && matches!(sig, libc::SIGKILL | libc::SIGTERM) {
        mark_stop_requested(paths, c);
    }
    if !c.state.is_alive() {
        return Err(Error::msg(format!(
            "container {} is not running",
            c.config.id
        )));
    }
    send(c.state.pid, sig)
        .map_err(|e| Error::msg(format!("cannot kill container {}: {e}", c.config.name)))?;
    crate::events::container(paths, &c.config, "kill", &[("signal", sig.to_string())]);
    if sig == libc::SIGKILL {
        wait_gone(paths, c, Duration::from_secs(10));
    }
    Ok(())
}

/// kill(2) with any signal number (nix's `Signal` has no real-time ones).
fn send(pid: i32, sig: i32) -> nix::Result<()> {
    // SAFETY: kill(2) takes plain integers and touches no memory.
    let r = unsafe { libc::kill(pid, sig) };
    nix::errno::Errno::result(r).map(drop)
}

/// Until the container's process is gone and its exit is on record (by its
/// monitor; if the monitor itself was killed, recorded here).
fn wait_gone(paths: &Paths, c: &Container, limit: Duration) -> bool {
    let store = ContainerStore::new(paths);
    let start = Instant::now();
    let mut dead_since: Option<Instant> = None;
    while start.elapsed() < limit {
        let Some(raw) = store.raw_state(&c.config.id) else {
            return true; // removed (--rm)
        };
        if raw.status != Status::Running {
            return true;
        }
        if !raw.is_alive() && !raw.owner_is_alive() {
            let since = *dead_since.get_or_insert_with(Instant::now);
            // Its owner is gone too, so nobody else will record the exit.
            // (A state without a recorded owner gets a second's grace.)
            if raw.owner_pid > 0 || since.elapsed() > Duration::from_secs(1) {
                let mut orphan = c.clone();
                orphan.state = raw;
                record_orphan_exit(paths, &orphan);
                return true;
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

/// The exit of a container whose monitor died: status exited (137 and
/// why, as an exit by SIGKILL is the usual story), cgroup removed.
pub fn record_orphan_exit(paths: &Paths, c: &Container) {
    let store = ContainerStore::new(paths);
    let _ = Cgroup::open(c.config.cgroup_parent(), &c.config.id).remove();
    if c.config.auto_remove {
        let _ = store.remove(c);
        let _ = crate::volume::release_anonymous(paths, &c.config.mounts);
        return;
    }
    let pid = c.state.pid;
    let _ = store.update_state(&c.config.id, |st| {
        // Only if nothing newer (a restart) was recorded meanwhile.
        if st.status == Status::Running && st.pid == pid {
            st.status = Status::Exited;
            st.pid = 0;
            st.paused = false;
            st.assume_killed();
            st.finished_at =
                Some(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true));
        }
    });
}

/// docker stop: the stop signal (`--stop-signal`, the image's STOPSIGNAL,
/// else SIGTERM), then SIGKILL after `timeout` seconds (default 10; -1
/// waits for ever).
pub fn stop(
    paths: &Paths,
    c: &Container,
    timeout: Option<i64>,
    signal: Option<&str>,
) -> Result<()> {
    let store = ContainerStore::new(paths);
    // Mark the stop; if its monitor is waiting to run it again, wait for
    // its decision (it sees the mark, or had already relaunched: then the
    // new process is stopped below, with the mark set again on it).
    let start = Instant::now();
    while mark_stop_requested(paths, c) && start.elapsed() < Duration::from_secs(70) {
        while store.raw_state(&c.config.id).is_some_and(|s| s.restarting)
            && start.elapsed() < Duration::from_secs(70)
        {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let fresh = store.load(&c.config.id).ok();
    let c = fresh.as_ref().unwrap_or(c);
    if !c.state.is_alive() {
        // Stopping a stopped container succeeds, as with docker; a state
        // left "running" by a dead monitor is put right on the way.
        if c.state.status == Status::Running {
            if c.state.owner_is_alive() {
                wait_gone(paths, c, Duration::from_secs(10));
            } else {
                record_orphan_exit(paths, c);
            }
        }
        return Ok(());
    }
    let sig = signal
        .map(str::to_string)
        .or_else(|| c.config.stop_signal.clone())
        .unwrap_or_else(|| "SIGTERM".into());
    let sig = signals::parse(&sig)?;
    thaw_if_paused(paths, c);
    if let Ok(sig) = signals::deliverable(sig) {
        let _ = send(c.state.pid, sig);
    }
    crate::events::container(paths, &c.config, "kill", &[("signal", sig.to_string())]);
    let t = timeout.or(c.config.stop_timeout).unwrap_or(10);
    let limit = if t < 0 {
        Duration::from_secs(u64::MAX / 4)
    } else {
        Duration::from_secs(t as u64)
    };
    if wait_gone(paths, c, limit) {
        crate::events::container(paths, &c.config, "stop", &[]);
        return Ok(());
    }
    let _ = nix::sys::signal::kill(Pid::from_raw(c.state.pid), Signal::SIGKILL);
    crate::events::container(paths, &c.config, "kill", &[("signal", "9".into())]);
    Cgroup::open(c.config.cgroup_parent(), &c.config.id).kill_all(Signal::SIGKILL);
    if wait_gone(paths, c, Duration::from_secs(10)) {
        crate::events::container(paths, &c.config, "stop", &[]);
        Ok(())
    } else {
        Err(Error::msg(format!(
            "cannot stop container: {}: tried to kill container, but did not receive an exit event",
            c.config.name
        )))
    }
}

/// docker wait: block until the container stops; its exit code.
pub fn wait(paths: &Paths, c: &Container) -> Result<i32> {
    let store = ContainerStore::new(paths);
    let mut last = c.state.exit_code;
    loop {
        let Some(raw) = store.raw_state(&c.config.id) else {
            return Ok(last);
        };
        last = raw.exit_code;
        match raw.status {
            Status::Created => {}
            Status::Running if raw.is_alive() => {}
            Status::Running => {
                wait_gone(paths, c, Duration::from_secs(5));
            }
            _ => return Ok(raw.exit_code),
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// docker rename.
pub fn rename(paths: &Paths, c: &Container, new: &str) -> Result<()> {
    let new = new.trim_start_matches('/');
    if new == c.config.name {
        return Err(Error::msg(
            "Renaming a container with the same name as its current name",
        ));
    }
    ContainerStore::new(paths)
        .rename(c, new)
        .map_err(|e| match e {
            // The daemon's words, which name the new name with its slash.
            ContainerError::InvalidName(_) => Error::msg(format!(
                "Error when allocating new name: Invalid container name (/{new}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
            )),
            e @ ContainerError::NameInUse { .. } => {
                Error::msg(format!("Error when allocating new name: {e}"))
            }
            other => other.into(),
        })?;
    // Its peers on user networks know it by the new name from now on.
    crate::network::hosts::rename_member(paths, &c.config.id, new)?;
    let mut renamed = c.config.clone();
    renamed.name = new.to_string();
    crate::events::container(
        paths,
        &renamed,
        "rename",
        &[("oldName", format!("/{}", c.config.name))],
    );
    Ok(())
}

/// docker pause / unpause: freeze or thaw the container's cgroup. Under
/// the state lock, so the freeze and its record go together: if the
/// record cannot be written (a full disk), the freezer is put back.
pub fn set_paused(paths: &Paths, c: &Container, paused: bool) -> Result<()> {
    let cgroup = Cgroup::open(c.config.cgroup_parent(), &c.config.id);
    let mut changed = false;
    let done = ContainerStore::new(paths).try_update_state(&c.config.id, |st| {
        if !st.is_alive() {
            return Err(Error::msg(format!(
                "container {} is not running",
                c.config.id
            )));
        }
        // A commit's freeze (docker shows it paused) can be lifted, not
        // taken over: the commit thaws at its end.
        let frozen = st.paused || super::freeze::held(&c.dir);
        if frozen == paused {
            return Err(Error::msg(if paused {
                format!("Container {} is already paused", c.config.id)
            } else {
                format!("Container {} is not paused", c.config.id)
            }));
        }
        cgroup.set_frozen(paused)?;
        changed = true;
        st.paused = paused;
        Ok(())
    });
    match done {
        Ok(Some(())) => {}
        Ok(None) => return Err(ContainerError::NotFound(c.config.id.clone()).into()),
        Err(e) => {
            if changed {
                let _ = cgroup.set_frozen(!paused);
            }
            return Err(e);
        }
    }
    crate::events::container(
        paths,
        &c.config,
        if paused { "pause" } else { "unpause" },
        &[],
    );
    Ok(())
}

/// A frozen container cannot act on a signal: thaw it first (a commit's
/// freeze too: the commit goes on with a container that is going away;
/// and a freeze no state records, which a `pause` killed between freezing
/// and recording leaves).
fn thaw_if_paused(paths: &Paths, c: &Container) {
    if !c.state.is_alive() {
        return;
    }
    if c.state.is_paused() {
        let _ = set_paused(paths, c, false);
    } else {
        let _ = Cgroup::open(c.config.cgroup_parent(), &c.config.id).thaw();
    }
}

/// Record that the user stopped the container, so its restart policy does
/// not run it again. Returns whether it is waiting to restart.
fn mark_stop_requested(paths: &Paths, c: &Container) -> bool {
    ContainerStore::new(paths)
        .update_state(&c.config.id, |st| {
            st.stop_requested = true;
            st.restarting
        })
        .ok()
        .flatten()
        .unwrap_or(false)
}

/// docker update: merge the limits given into the container's, check
/// them, write them into its cgroup if it runs, and keep them.
pub fn update(
    paths: &Paths,
    c: &Container,
    req: &Resources,
    restart: Option<super::config::RestartPolicy>,
) -> Result<()> {
    let store = ContainerStore::new(paths);
    let cannot = |e: &dyn std::fmt::Display| {
        Error::msg(format!("Cannot update container {}: {e}", c.config.id))
    };
    store.try_update_config(&c.config.id, |now, cfg| {
        if let Some(policy) = &restart {
            if cfg.auto_remove && !policy.is_none() {
                return Err(cannot(
                    &"Restart policy cannot be updated because AutoRemove is enabled for the container",
                ));
            }
        }
        let mut r = cfg.resources.clone();
        merge_update(&mut r, req).map_err(|e| cannot(&e))?;
        for w in r
            .verify(&HostSupport::detect(), true)
            .map_err(|e| cannot(&e))?
        {
            eprintln!("WARNING: {w}");
        }
        if now.state.is_alive() {
            r.apply(&Cgroup::open(cfg.cgroup_parent(), &cfg.id))
                .map_err(|e| cannot(&e))?;
        }
        cfg.resources = r;
        if let Some(policy) = restart {
            cfg.restart = policy;
        }
        Ok(())
    })
}

/// docker's update rules (container.UpdateContainer): fields given replace
/// the container's; a memory limit above the swap limit already set needs
/// a new swap limit too.
fn merge_update(cur: &mut Resources, req: &Resources) -> std::result::Result<(), String> {
    if req.blkio_weight != 0 {
        cur.blkio_weight = req.blkio_weight;
    }
    if req.cpu_shares != 0 {
        cur.cpu_shares = req.cpu_shares;
    }
    if req.nano_cpus != 0 {
        if cur.cpu_quota != 0 && req.cpu_quota == 0 {
            return Err(
                "Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set"
                    .into(),
            );
        }
        cur.nano_cpus = req.nano_cpus;
    }
    if req.cpu_period != 0 || req.cpu_quota != 0 {
        if cur.nano_cpus != 0 && req.nano_cpus == 0 {
            return Err("Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set".into());
        }
        if req.cpu_period != 0 {
            cur.cpu_period = req.cpu_period;
        }
        if req.cpu_quota != 0 {
            cur.cpu_quota = req.cpu_quota;
        }
    }
    if !req.cpuset_cpus.is_empty() {
        cur.cpuset_cpus = req.cpuset_cpus.clone();
    }
    if !req.cpuset_mems.is_empty() {
        cur.cpuset_mems = req.cpuset_mems.clone();
    }
    if req.memory != 0 {
        // docker refuses this even when no swap limit was ever set (a known
        // wart: `update -m` alone fails on a container created without -m).
        // rdock gives such a container docker run's default, twice the
        // memory (docs/resources.md).
        if req.memory_swap == 0 {
            if cur.memory_swap > 0 && req.memory > cur.memory_swap {
                return Err("Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time".into());
            }
            if cur.memory_swap == 0 {
                cur.memory_swap = req
                    .memory
                    .checked_mul(2)
                    .ok_or("Memory limit is too large")?;
            }
        }
        cur.memory = req.memory;
    }
    if req.memory_swap != 0 {
        cur.memory_swap = req.memory_swap;
    }
    if req.memory_reservation != 0 {
        cur.memory_reservation = req.memory_reservation;
    }
    if req.pids_limit.is_some() {
        cur.pids_limit = req.pids_limit;
    }
    if req.cpu_rt_period != 0 {
        cur.cpu_rt_period = req.cpu_rt_period;
    }
    if req.cpu_rt_runtime != 0 {
        cur.cpu_rt_runtime = req.cpu_rt_runtime;
    }
    if req.kernel_memory != 0 {
        cur.kernel_memory = req.kernel_memory;
    }
    Ok(())
}

/// A container whose program has ended while its monitor still records
/// the exit (a millisecond or two): as recorded, once it is. A script's
/// `run -d IMG true; rm NAME` meets that moment far more often with rdock
/// than with docker's slower commands; docker never calls it running.
fn settled(paths: &Paths, c: &Container) -> Container {
    let running =
        |c: &Container| c.state.status == super::state::Status::Running && c.state.owner_is_alive();
    if !running(c) || c.state.pid <= 0 || !crate::util::proc_exiting(c.state.pid) {
        return c.clone();
    }
    let store = ContainerStore::new(paths);
    let start = std::time::Instant::now();
    while start.elapsed() < Duration::from_secs(2) {
        match store.load(&c.config.id) {
            Ok(now) if running(&now) => std::thread::sleep(Duration::from_millis(2)),
            Ok(now) => return now,
            Err(_) => break,
        }
    }
    c.clone()
}

/// Remove a container; with `force` a running one is killed first.
pub fn remove(paths: &Paths, c: &Container, force: bool) -> Result<()> {
    let settled = settled(paths, c);
    let c = &settled;
    let store = ContainerStore::new(paths);
    let cgroup = Cgroup::open(c.config.cgroup_parent(), &c.config.id);
    // Processes in its cgroup while its state says otherwise: a start in
    // progress (its state is written once the init runs), or an init
    // whose monitor died. Running either way.
    if c.state.is_alive() || !cgroup.pids().is_empty() {
        if !force {
            return Err(
                ContainerError::Running(c.config.name.trim_start_matches('/').to_string()).into(),
            );
        }
        // Frozen tasks do not die until thawed: whoever froze them, and
        // whether or not a state says so.
        let _ = cgroup.thaw();
        if c.state.is_alive() {
            crate::events::container(paths, &c.config, "kill", &[("signal", "9".into())]);
        }
        kill_and_wait(c, &cgroup)?;
    }
    cgroup.remove()?;
    // Its monitor releases the network when it sees the exit; a container
    // whose monitor died still holds its lease until here.
    super::network::teardown(paths, c);
    store.remove(c)?;
    // Its monitor's, if the monitor died before removing it.
    super::attach::remove(paths, &c.config.id);
    crate::events::container(paths, &c.config, "destroy", &[]);
    Ok(())
}

/// SIGKILL the container's init (the pid namespace takes the rest with it)
/// and wait until it is gone.
pub fn kill_and_wait(c: &Container, cgroup: &Cgroup) -> Result<()> {
    // Not yet recorded (pid 0 would be our own process group).
    if c.state.pid > 0 {
        let _ = nix::sys::signal::kill(Pid::from_raw(c.state.pid), Signal::SIGKILL);
    }
    cgroup.kill_all(Signal::SIGKILL);
    for _ in 0..1000 {
        if !c.state.is_alive() && cgroup.pids().is_empty() {
            // Give the monitor a moment to record the exit.
            std::thread::sleep(Duration::from_millis(5));
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Err(Error::msg(format!(
        "could not kill container {}",
        c.short_id()
    )))
}
