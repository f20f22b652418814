//! Healthchecks: the image's HEALTHCHECK or `--health-*`, probed while the
//! container runs, with docker's defaults, start period and status rules.
//!
//! No daemon keeps a timer, so each start of a container with a check
//! forks a prober: a detached process (reparented to init, so no
//! long-lived parent collects it) that sleeps on a pidfd of the
//! container's init, execs the probe in the container as `exec` does,
//! and records each result in `health.json` next to the state. It ends
//! with the container's process. Containers without a check pay nothing.

use super::config::ContainerConfig;
use super::exec::ExecOptions;
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const SECOND: i64 = 1_000_000_000;
const DEFAULT_INTERVAL: i64 = 30 * SECOND;
const DEFAULT_TIMEOUT: i64 = 30 * SECOND;
const DEFAULT_START_INTERVAL: i64 = 5 * SECOND;
const DEFAULT_RETRIES: i64 = 3;
/// docker keeps the last five results and 4 KiB of each one's output.
const KEPT_RESULTS: usize = 5;
const MAX_OUTPUT: usize = 4096;

pub const STARTING: &str = "starting";
pub const HEALTHY: &str = "healthy";
pub const UNHEALTHY: &str = "unhealthy";

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// docker's HealthConfig, as in image and container configs (durations
/// in nanoseconds; zero: the default).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthConfig {
    #[serde(rename = "Test", default, skip_serializing_if = "Vec::is_empty")]
    pub test: Vec<String>,
    #[serde(rename = "Interval", default, skip_serializing_if = "is_zero")]
    pub interval: i64,
    #[serde(rename = "Timeout", default, skip_serializing_if = "is_zero")]
    pub timeout: i64,
    #[serde(rename = "StartPeriod", default, skip_serializing_if = "is_zero")]
    pub start_period: i64,
    #[serde(rename = "StartInterval", default, skip_serializing_if = "is_zero")]
    pub start_interval: i64,
    #[serde(rename = "Retries", default, skip_serializing_if = "is_zero")]
    pub retries: i64,
}

impl HealthConfig {
    /// docker's merge of `--health-*` over the image's HEALTHCHECK: the
    /// user's fields where set, the image's for the rest.
    pub fn merge(
        user: Option<&HealthConfig>,
        image: Option<&HealthConfig>,
    ) -> Option<HealthConfig> {
        let (u, i) = match (user, image) {
            (None, i) => return i.cloned(),
            (Some(u), None) => return Some(u.clone()),
            (Some(u), Some(i)) => (u, i),
        };
        let or = |a: i64, b: i64| if a == 0 { b } else { a };
        Some(HealthConfig {
            test: if u.test.is_empty() {
                i.test.clone()
            } else {
                u.test.clone()
            },
            interval: or(u.interval, i.interval),
            timeout: or(u.timeout, i.timeout),
            start_period: or(u.start_period, i.start_period),
            start_interval: or(u.start_interval, i.start_interval),
            retries: or(u.retries, i.retries),
        })
    }

    /// A check to run (not absent, not NONE).
    pub fn enabled(&self) -> bool {
        self.test.first().is_some_and(|t| t != "NONE")
    }

    /// The probe's argv: CMD's as given, CMD-SHELL's through /bin/sh.
    pub fn argv(&self) -> Option<Vec<String>> {
        let (kind, args) = self.test.split_first()?;
        if args.is_empty() {
            return None;
        }
        match kind.as_str() {
            "CMD" => Some(args.to_vec()),
            "CMD-SHELL" => Some(vec!["/bin/sh".into(), "-c".into(), args.join(" ")]),
            _ => None,
        }
    }

    fn or_default(v: i64, default: i64) -> Duration {
        Duration::from_nanos(if v > 0 { v } else { default } as u64)
    }

    /// docker's checks of a merged config (the daemon's, at create).
    pub fn validate(&self) -> Result<(), String> {
        for (name, v) in [
            ("Interval", self.interval),
            ("Timeout", self.timeout),
            ("StartPeriod", self.start_period),
            ("StartInterval", self.start_interval),
        ] {
            if v != 0 && v < 1_000_000 {
                return Err(format!("{name} in Healthcheck cannot be less than 1ms"));
            }
        }
        if self.retries < 0 {
            return Err("Retries in Healthcheck cannot be negative".into());
        }
        Ok(())
    }
}

/// One probe's result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HealthResult {
    pub start: String,
    pub end: String,
    pub exit_code: i64,
    pub output: String,
}

/// `.State.Health`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Health {
    pub status: String,
    pub failing_streak: i64,
    pub log: Vec<HealthResult>,
}

impl Health {
    /// docker's rules: success makes healthy and clears the streak; a
    /// failure counts, unless the container is still starting within its
    /// start period, and `retries` of them in a row make unhealthy.
    fn record(&mut self, r: HealthResult, in_start_period: bool, retries: i64) {
        if r.exit_code == 0 {
            self.failing_streak = 0;
            self.status = HEALTHY.into();
        } else if !(in_start_period && self.status == STARTING) {
            self.failing_streak = self.failing_streak.saturating_add(1);
            if self.failing_streak >= retries {
                self.status = UNHEALTHY.into();
            }
        }
        self.log.push(r);
        if self.log.len() > KEPT_RESULTS {
            let extra = self.log.len().saturating_sub(KEPT_RESULTS);
            self.log.drain(..extra);
        }
    }
}

pub fn health_path(dir: &Path) -> PathBuf {
    dir.join("health.json")
}

/// The recorded health of the container in `dir`, if it has a check.
pub fn read(dir: &Path) -> Option<Health> {
    serde_json::from_slice(&std::fs::read(health_path(dir)).ok()?).ok()
}

fn write(dir: &Path, h: &Health) -> std::io::Result<()> {
    let data = serde_json::to_vec(h).map_err(std::io::Error::other)?;
    crate::util::replace_file(&health_path(dir), &data)
}

/// A start: "starting" again, the streak cleared, the log kept (docker).
fn reset(dir: &Path) -> std::io::Result<()> {
    let mut h = read(dir).unwrap_or_default();
    h.status = STARTING.into();
    h.failing_streak = 0;
    write(dir, &h)
}

/// Go's Duration.String, for the timeout message ("30s", "1.5s", "200ms").
pub fn go_duration(ns: i64) -> String {
    let d = Duration::from_nanos(ns.max(0) as u64);
    let s = d.as_secs();
    if s == 0 {
        let ms = d.as_secs_f64() * 1e3;
        return if ms >= 1.0 {
            format!("{}ms", trim_float(ms))
        } else {
            format!("{}µs", trim_float(d.as_secs_f64() * 1e6))
        };
    }
    let (h, m) = (s / 3600, (s % 3600) / 60);
    let secs = (s % 60) as f64 + f64::from(d.subsec_nanos()) / 1e9;
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if h > 0 || m > 0 {
        out.push_str(&format!("{m}m"));
    }
    out.push_str(&format!("{}s", trim_float(secs)));
    out
}

fn trim_float(v: f64) -> String {
    let s = format!("{v:.9}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

fn pidfd_open(pid: i32) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return None;
    }
    // SAFETY: the kernel just gave us this fd.
    Some(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Wait until `fd` is readable or `timeout` passes; true if readable.
fn wait_readable(fd: i32, timeout: Duration) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
    loop {
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut p, 1, ms) };
        if n >= 0 {
            return n > 0;
        }
        if nix::errno::Errno::last() != nix::errno::Errno::EINTR {
            return false;
        }
    }
}

/// Start probing `cfg`'s container, whose init is `pid` and state dir
/// `dir`, if it has a check. Returns at once.
pub fn start_prober(paths: &crate::paths::Paths, cfg: &ContainerConfig, dir: &Path, pid: i32) {
    let Some(hc) = cfg.healthcheck.as_ref().filter(|h| h.enabled()) else {
        return;
    };
    if reset(dir).is_err() {
        return;
    }
    // SAFETY: the callers (a container's start) are single-threaded; the
    // child only forks again and exits.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Parent { child }) => {
            let _ = nix::sys::wait::waitpid(child, None);
        }
        Ok(nix::unistd::ForkResult::Child) => {
            // Twice, so the prober is init's child and never a zombie of
            // a long-lived monitor.
            // SAFETY: as above; the grandchild runs the prober and exits.
            if let Ok(nix::unistd::ForkResult::Child) = unsafe { nix::unistd::fork() } {
                prober(paths, cfg, hc, dir, pid);
            }
            // SAFETY: leave without the parent's exit handlers.
            unsafe { libc::_exit(0) }
        }
        Err(_) => {}
    }
}

fn prober(
    paths: &crate::paths::Paths,
    cfg: &ContainerConfig,
    hc: &HealthConfig,
    dir: &Path,
    pid: i32,
) {
    // Nothing of the parent's: its pipes would keep a reader waiting for
    // EOF; its terminal and signals are not ours.
    // SAFETY: closing fds we own as the only thread of this process.
    unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) };
    crate::util::stdio_to_null();
    let _ = nix::unistd::setsid();
    let _ = nix::unistd::chdir("/");
    let _ = nix::sys::signal::SigSet::all().thread_unblock();
    let Some(init) = pidfd_open(pid) else {
        return;
    };
    let Some(argv) = hc.argv() else {
        return;
    };
    let started = Instant::now();
    let interval = HealthConfig::or_default(hc.interval, DEFAULT_INTERVAL);
    let start_interval = HealthConfig::or_default(hc.start_interval, DEFAULT_START_INTERVAL);
    let start_period = Duration::from_nanos(hc.start_period.max(0) as u64);
    let timeout_ns = if hc.timeout > 0 {
        hc.timeout
    } else {
        DEFAULT_TIMEOUT
    };
    let retries = if hc.retries > 0 {
        hc.retries
    } else {
        DEFAULT_RETRIES
    };
    let state_file = dir.join("state.json");
    loop {
        let in_start = started.elapsed() < start_period;
        let starting = read(dir).is_some_and(|h| h.status == STARTING);
        let wait = if in_start && starting {
            start_interval
        } else {
            interval
        };
        if wait_readable(init.as_raw_fd(), wait) {
            return; // the container's init is gone
        }
        // Removed, restarted (another prober has it) or paused.
        let state: Option<super::state::State> = std::fs::read(&state_file)
            .ok()
            .and_then(|d| serde_json::from_slice(&d).ok());
        let Some(mut state) = state else {
            return;
        };
        if state.pid != pid {
            return;
        }
        // A commit's freeze counts as a pause; one left by a killed
        // commit is undone here, as by any command that loads it.
        super::freeze::check(paths, cfg, dir, &mut state);
        if state.is_paused() {
            continue;
        }
        let result = probe(paths, cfg, pid, &argv, timeout_ns);
        // A probe that outlived the container (stopped or restarted
        // meanwhile) says nothing about it: dropped, as docker drops it.
        if wait_readable(init.as_raw_fd(), Duration::ZERO) {
            return;
        }
        let current: Option<super::state::State> = std::fs::read(&state_file)
            .ok()
            .and_then(|d| serde_json::from_slice(&d).ok());
        if current.is_none_or(|s| s.pid != pid) {
            return;
        }
        let in_start = started.elapsed() < start_period;
        let Some(mut h) = read(dir) else {
            return;
        };
        let before = h.status.clone();
        h.record(result, in_start, retries);
        if write(dir, &h).is_err() {
            return;
        }
        if h.status != before {
            crate::events::container(paths, cfg, &format!("health_status: {}", h.status), &[]);
        }
    }
}

/// Run the probe once, as `exec` would, within `timeout_ns`.
fn probe(
    paths: &crate::paths::Paths,
    cfg: &ContainerConfig,
    pid: i32,
    argv: &[String],
    timeout_ns: i64,
) -> HealthResult {
    let start = now();
    let result = |exit_code: i64, output: String| HealthResult {
        start: start.clone(),
        end: now(),
        exit_code,
        output,
    };
    // docker's probe is an exec: the `--link` variables of the links as
    // they are now, and a link whose container stopped fails the probe.
    let link_env = match super::store::ContainerStore::new(paths).load(&cfg.id) {
        Ok(c) => match super::network::links(paths, &c) {
            Ok(l) => l.env,
            Err(e) => return result(-1, e.to_string()),
        },
        Err(_) => Vec::new(),
    };
    let Ok((r, w)) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC) else {
        return result(-1, "cannot create a pipe for the health check".into());
    };
    let Ok(null) = std::fs::File::open("/dev/null") else {
        return result(-1, "cannot open /dev/null".into());
    };
    let opts = ExecOptions {
        cmd: argv.to_vec(),
        link_env,
        ..Default::default()
    };
    let spawned = super::exec::spawn_with_stdio(
        cfg,
        pid,
        &opts,
        [null.as_raw_fd(), w.as_raw_fd(), w.as_raw_fd()],
    );
    drop(w);
    let probe_pid = match spawned {
        Ok(p) => p,
        Err(e) => return result(e.exit_code() as i64, e.to_string()),
    };
    let deadline = crate::util::deadline_in(Duration::from_nanos(timeout_ns as u64));
    let mut out = Vec::new();
    let mut file = std::fs::File::from(r);
    let mut buf = [0u8; 4096];
    let mut timed_out = false;
    // Output until EOF; a probe whose children keep the pipe open is
    // judged by its own exit, checked below.
    let probe_fd = pidfd_open(probe_pid);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            timed_out = true;
            break;
        }
        if !wait_readable(file.as_raw_fd(), left.min(Duration::from_millis(100))) {
            if probe_fd
                .as_ref()
                .is_some_and(|f| wait_readable(f.as_raw_fd(), Duration::ZERO))
            {
                break;
            }
            continue;
        }
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                let room = MAX_OUTPUT.saturating_sub(out.len());
                out.extend(buf.iter().take(n.min(room)));
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    let probe = nix::unistd::Pid::from_raw(probe_pid);
    let left = deadline.saturating_duration_since(Instant::now());
    // Past its time (output still coming, or no exit yet): killed, and
    // recorded as docker records it.
    let late = timed_out
        || probe_fd
            .as_ref()
            .is_some_and(|f| !wait_readable(f.as_raw_fd(), left));
    if late {
        let _ = nix::sys::signal::kill(probe, nix::sys::signal::Signal::SIGKILL);
        let _ = nix::sys::wait::waitpid(probe, None);
        return result(
            -1,
            format!(
                "Health check exceeded timeout ({})",
                go_duration(timeout_ns)
            ),
        );
    }
    let code = match nix::sys::wait::waitpid(probe, None) {
        Ok(nix::sys::wait::WaitStatus::Exited(_, c)) => c as i64,
        Ok(nix::sys::wait::WaitStatus::Signaled(_, s, _)) => (s as i64).saturating_add(128),
        _ => -1,
    };
    result(code, String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hc(test: &[&str]) -> HealthConfig {
        HealthConfig {
            test: test.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn user_settings_override_the_images_field_by_field() {
        let image = HealthConfig {
            interval: 5 * SECOND,
            retries: 4,
            ..hc(&["CMD-SHELL", "curl -f localhost"])
        };
        let user = HealthConfig {
            timeout: SECOND,
            ..Default::default()
        };
        let m = HealthConfig::merge(Some(&user), Some(&image)).unwrap();
        assert_eq!(m.test, image.test);
        assert_eq!((m.interval, m.timeout, m.retries), (5 * SECOND, SECOND, 4));
        let none = HealthConfig::merge(Some(&hc(&["NONE"])), Some(&image)).unwrap();
        assert!(!none.enabled());
        assert_eq!(HealthConfig::merge(None, None), None);
    }

    #[test]
    fn probes_run_as_exec_or_through_the_shell() {
        assert_eq!(hc(&["CMD", "true", "x"]).argv().unwrap(), ["true", "x"]);
        assert_eq!(
            hc(&["CMD-SHELL", "exit 1"]).argv().unwrap(),
            ["/bin/sh", "-c", "exit 1"]
        );
        assert_eq!(hc(&["NONE"]).argv(), None);
    }

    #[test]
    fn status_follows_dockers_rules() {
        let r = |code| HealthResult {
            exit_code: code,
            ..Default::default()
        };
        let mut h = Health {
            status: STARTING.into(),
            ..Default::default()
        };
        // Failures within the start period do not count while starting.
        h.record(r(1), true, 2);
        assert_eq!((h.status.as_str(), h.failing_streak), (STARTING, 0));
        h.record(r(1), false, 2);
        assert_eq!((h.status.as_str(), h.failing_streak), (STARTING, 1));
        h.record(r(0), false, 2);
        assert_eq!((h.status.as_str(), h.failing_streak), (HEALTHY, 0));
        // Once healthy, a start-period failure counts.
        h.record(r(1), true, 2);
        h.record(r(1), false, 2);
        assert_eq!((h.status.as_str(), h.failing_streak), (UNHEALTHY, 2));
        for _ in 0..10 {
            h.record(r(1), false, 2);
        }
        assert_eq!(h.log.len(), KEPT_RESULTS);
    }

    #[test]
    fn a_start_resets_the_status_and_keeps_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let h = Health {
            status: UNHEALTHY.into(),
            failing_streak: 4,
            log: vec![HealthResult {
                exit_code: 1,
                ..Default::default()
            }],
        };
        write(dir.path(), &h).unwrap();
        reset(dir.path()).unwrap();
        let after = read(dir.path()).unwrap();
        assert_eq!((after.status.as_str(), after.failing_streak), (STARTING, 0));
        assert_eq!(after.log, h.log);
    }

    #[test]
    fn durations_read_as_go_writes_them() {
        assert_eq!(go_duration(30 * SECOND), "30s");
        assert_eq!(go_duration(200_000_000), "200ms");
        assert_eq!(go_duration(1_500_000_000), "1.5s");
        assert_eq!(go_duration(90 * SECOND), "1m30s");
        assert_eq!(go_duration(3600 * SECOND), "1h0m0s");
    }

    #[test]
    fn tiny_intervals_are_refused() {
        let bad = HealthConfig {
            interval: 1000,
            ..hc(&["CMD", "true"])
        };
        assert!(bad
            .validate()
            .unwrap_err()
            .contains("Interval in Healthcheck cannot be less than 1ms"));
        assert!(hc(&["CMD", "true"]).validate().is_ok());
    }
}
