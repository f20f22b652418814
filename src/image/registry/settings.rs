//! Registry settings a docker user would put in the daemon's
//! `/etc/docker/daemon.json`; rdock has no daemon, so they live in
//! `/etc/rdock/daemon.json` (or the file named by `RDOCK_DAEMON_CONFIG`),
//! with docker's key names:
//!
//! ```json
//! { "insecure-registries": ["myregistry:5000"],
//!   "registry-mirrors": ["https://mirror.example.com"] }
//! ```
//!
//! Loopback registries (localhost, 127.0.0.0/8, ::1) are insecure without
//! being listed, as with docker. Mirrors serve Docker Hub images only.
//! `max-download-attempts` (docker's key, default 5) bounds the attempts
//! at each layer download.
//!
//! Timeouts are not docker settings (dockerd has none but its 30 s
//! connect): see `Timeouts`.

use serde::Deserialize;
use std::time::Duration;

pub const DEFAULT_PATH: &str = crate::util::DAEMON_JSON;

#[derive(Debug, Default, Clone, Deserialize)]
pub struct Settings {
    #[serde(default, rename = "insecure-registries")]
    pub insecure: Vec<String>,
    #[serde(default, rename = "registry-mirrors")]
    pub mirrors: Vec<String>,
    #[serde(default, rename = "max-concurrent-downloads")]
    pub max_concurrent_downloads: Option<usize>,
    #[serde(default, rename = "max-download-attempts")]
    pub max_download_attempts: Option<u32>,
    /// From the environment, not the file.
    #[serde(skip)]
    pub timeouts: Timeouts,
}

/// How long registry traffic may wait. A stalled registry must fail, not
/// hang a pull forever, yet a big layer on a slow link must finish: so no
/// limit on a whole request, only on each wait.
///
/// - `connect`: a TCP connection (and TLS handshake) must be made within
///   30 s, docker's dial timeout.
/// - `idle`: every read and write must move a byte within 30 s (docker has
///   no such limit: a stalled registry hangs it). The answer to a finished
///   upload may take ten times that, as a registry can spend a while
///   moving a big blob into place before it answers.
/// - `backoff_tick`: one second of docker's retry countdown.
///
/// `RDOCK_REGISTRY_TIMEOUT` (seconds, fractions allowed) sets `connect`
/// and `idle` both; `RDOCK_REGISTRY_BACKOFF_MS` the countdown's second, so
/// that tests need not wait docker's 5, 10, 15 and 20 s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Duration,
    pub idle: Duration,
    pub backoff_tick: Duration,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            connect: Duration::from_secs(30),
            idle: Duration::from_secs(30),
            backoff_tick: Duration::from_secs(1),
        }
    }
}

pub const TIMEOUT_ENV: &str = "RDOCK_REGISTRY_TIMEOUT";
pub const BACKOFF_ENV: &str = "RDOCK_REGISTRY_BACKOFF_MS";

impl Timeouts {
    /// The defaults with the environment's overrides.
    pub fn from_env() -> Result<Timeouts, super::RegistryError> {
        Timeouts::from_values(
            std::env::var(TIMEOUT_ENV).ok().as_deref(),
            std::env::var(BACKOFF_ENV).ok().as_deref(),
        )
    }

    fn from_values(
        timeout: Option<&str>,
        backoff_ms: Option<&str>,
    ) -> Result<Timeouts, super::RegistryError> {
        let mut t = Timeouts::default();
        if let Some(v) = timeout {
            let d = v
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && *s > 0.0 && *s < 1e9)
                .map(Duration::from_secs_f64)
                .ok_or_else(|| {
                    super::RegistryError::Config(format!(
                        "{TIMEOUT_ENV}={v:?}: not a number of seconds above 0"
                    ))
                })?;
            t.connect = d;
            t.idle = d;
        }
        if let Some(v) = backoff_ms {
            let ms = v.trim().parse::<u64>().map_err(|_| {
                super::RegistryError::Config(format!(
                    "{BACKOFF_ENV}={v:?}: not a number of milliseconds"
                ))
            })?;
            t.backoff_tick = Duration::from_millis(ms);
        }
        Ok(t)
    }

    /// How long the answer to a completed upload may take.
    pub fn upload_commit(&self) -> Duration {
        self.idle.saturating_mul(10)
    }
}

/// A duration as a message shows it: "30 s", "1.5 s", "250 ms".
pub fn human(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        return format!("{} ms", d.as_millis());
    }
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", s)
    }
}

impl Settings {
    /// The settings file, or defaults when there is none. A file that does
    /// not parse is an error: silently ignoring it would send traffic where
    /// the user did not mean it to go.
    pub fn load() -> Result<Settings, super::RegistryError> {
        let json = crate::util::daemon_json().map_err(super::RegistryError::Config)?;
        let mut s =
            Settings::deserialize(json).map_err(|e| super::RegistryError::Config(e.to_string()))?;
        s.timeouts = Timeouts::from_env()?;
        Ok(s)
    }

    /// Attempts at each layer download (docker's default: 5).
    pub fn download_attempts(&self) -> u32 {
        self.max_download_attempts.unwrap_or(5).max(1)
    }

    /// Layers downloaded at once (docker's default: 3).
    pub fn concurrency(&self) -> usize {
        self.max_concurrent_downloads.unwrap_or(3).clamp(1, 16)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_from_the_environment() {
        assert_eq!(
            Timeouts::from_values(None, None).unwrap(),
            Timeouts::default()
        );
        let t = Timeouts::from_values(Some("1.5"), Some("10")).unwrap();
        assert_eq!(t.connect, Duration::from_millis(1500));
        assert_eq!(t.idle, Duration::from_millis(1500));
        assert_eq!(t.backoff_tick, Duration::from_millis(10));
        assert_eq!(t.upload_commit(), Duration::from_secs(15));
        for bad in ["0", "-1", "x", "", "inf", "NaN"] {
            let e = Timeouts::from_values(Some(bad), None).unwrap_err();
            assert!(e.to_string().contains(TIMEOUT_ENV), "{e}");
        }
        assert!(Timeouts::from_values(None, Some("1s")).is_err());
        assert_eq!(human(Duration::from_secs(30)), "30 s");
        assert_eq!(human(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(human(Duration::from_millis(250)), "250 ms");
    }

    #[test]
    fn download_attempts_as_docker_counts_them() {
        let mut s = Settings::default();
        assert_eq!(s.download_attempts(), 5);
        s.max_download_attempts = Some(0);
        assert_eq!(s.download_attempts(), 1);
        s.max_download_attempts = Some(2);
        assert_eq!(s.download_attempts(), 2);
    }
}
