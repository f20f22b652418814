//! Resource limits (`-m`, `--cpus`, `--pids-limit`, ...): docker's flag
//! values, docker's checks against what the host offers, and writing them
//! into a container's cgroup on cgroup v2 and on v1/hybrid hosts.

use super::cgroups::Cgroup;
use super::{Result, RuntimeError};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A `--device-read-bps`-style entry: a device and a rate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThrottleDevice {
    pub path: String,
    pub rate: u64,
    /// (major, minor) when given by number (an OCI config); else looked
    /// up from `path`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numbers: Option<(u64, u64)>,
}

/// A `--blkio-weight-device` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeightDevice {
    pub path: String,
    pub weight: u16,
    /// As `ThrottleDevice::numbers`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numbers: Option<(u64, u64)>,
}

/// The limits of one container, in docker's HostConfig terms (0 = unset).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Resources {
    pub memory: i64,
    /// Memory plus swap; -1 unlimited.
    pub memory_swap: i64,
    pub memory_reservation: i64,
    pub memory_swappiness: Option<i64>,
    pub oom_kill_disable: bool,
    pub kernel_memory: i64,
    pub nano_cpus: i64,
    pub cpu_shares: i64,
    pub cpu_period: i64,
    pub cpu_quota: i64,
    pub cpu_rt_period: i64,
    pub cpu_rt_runtime: i64,
    pub cpuset_cpus: String,
    pub cpuset_mems: String,
    /// None: unset; 0 or -1: unlimited.
    pub pids_limit: Option<i64>,
    pub blkio_weight: u16,
    pub blkio_weight_device: Vec<WeightDevice>,
    pub device_read_bps: Vec<ThrottleDevice>,
    pub device_write_bps: Vec<ThrottleDevice>,
    pub device_read_iops: Vec<ThrottleDevice>,
    pub device_write_iops: Vec<ThrottleDevice>,
}

fn invalid(msg: impl Into<String>) -> RuntimeError {
    RuntimeError::InvalidArg(msg.into())
}

fn flag_error(flag: &str, value: &str, why: &str) -> RuntimeError {
    invalid(format!(
        "invalid argument \"{value}\" for \"{flag}\" flag: {why}"
    ))
}

/// go-units' RAMInBytes: `512`, `64k`, `1.5g`, `10MB`, `2GiB` (binary units).
pub fn ram_in_bytes(s: &str) -> Option<i64> {
    let t = s.trim();
    let lower = t.to_ascii_lowercase();
    let num_end = lower
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(lower.len());
    let (num, rest) = lower.split_at(num_end);
    let rest = rest.trim_start_matches(' ');
    let unit = rest
        .strip_suffix('b')
        .map(|r| r.strip_suffix('i').unwrap_or(r))
        .unwrap_or(rest);
    let mult: f64 = match unit {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024f64.powi(2),
        "g" => 1024f64.powi(3),
        "t" => 1024f64.powi(4),
        "p" => 1024f64.powi(5),
        _ => return None,
    };
    // "1ib" or "ib" alone are not sizes.
    if rest.starts_with('i') || num.is_empty() {
        return None;
    }
    let v: f64 = num.parse().ok()?;
    Some((v * mult) as i64)
}

/// A memory flag: docker's MemBytes, plus "-1" where docker allows it
/// (`--memory-swap`).
pub fn parse_mem(flag: &str, s: &str, allow_unlimited: bool) -> Result<i64> {
    if allow_unlimited && s.trim() == "-1" {
        return Ok(-1);
    }
    ram_in_bytes(s).ok_or_else(|| flag_error(flag, s, &format!("invalid size: '{s}'")))
}

/// `--cpus 1.5` as nano CPUs (docker's NanoCPUs, parsed as a rational).
pub fn parse_nano_cpus(s: &str) -> Result<i64> {
    let bad = || {
        flag_error(
            "--cpus",
            s,
            &format!("failed to parse {s} as a rational number"),
        )
    };
    let t = s.trim();
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
    {
        return Err(bad());
    }
    let int: i64 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| bad())?
    };
    if frac
        .get(9..)
        .is_some_and(|rest| rest.chars().any(|c| c != '0'))
    {
        return Err(invalid(format!(
            "invalid argument \"{s}\" for \"--cpus\" flag: value is too precise"
        )));
    }
    // The fraction's first nine digits, as nanoseconds.
    let nanos: String = frac.chars().chain(std::iter::repeat('0')).take(9).collect();
    let nanos: i64 = nanos.parse().map_err(|_| bad())?;
    int.checked_mul(1_000_000_000)
        .and_then(|v| v.checked_add(nanos))
        .ok_or_else(bad)
}

/// An integer flag, with Go's strconv wording on failure.
pub fn parse_int(flag: &str, s: &str) -> Result<i64> {
    s.trim().parse::<i64>().map_err(|e| {
        let why = match e.kind() {
            std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
                "value out of range"
            }
            _ => "invalid syntax",
        };
        flag_error(
            flag,
            s,
            &format!("strconv.ParseInt: parsing \"{s}\": {why}"),
        )
    })
}

pub fn parse_weight(flag: &str, s: &str) -> Result<u16> {
    s.trim().parse::<u16>().map_err(|e| {
        let why = match e.kind() {
            std::num::IntErrorKind::PosOverflow => "value out of range",
            _ => "invalid syntax",
        };
        flag_error(
            flag,
            s,
            &format!("strconv.ParseUint: parsing \"{s}\": {why}"),
        )
    })
}

/// `--device-read-bps /dev/sda:1mb` (`bps`: a size) or `--device-read-iops
/// /dev/sda:1000`.
pub fn parse_throttle(flag: &str, s: &str, bps: bool) -> Result<ThrottleDevice> {
    let bad = |why: String| flag_error(flag, s, &why);
    let Some((path, rate)) = s.rsplit_once(':') else {
        return Err(bad(format!("bad format: {s}")));
    };
    if !path.starts_with("/dev/") {
        return Err(bad(format!("bad format for device path: {s}")));
    }
    let rate = if bps {
        ram_in_bytes(rate)
            .filter(|v| *v >= 0)
            .ok_or_else(|| {
                bad(format!(
                    "invalid rate for device: {s}. The correct format is <device-path>:<number>[<unit>]. Number must be a positive integer. Unit is optional and can be kb, mb, or gb"
                ))
            })? as u64
    } else {
        rate.parse::<u64>().map_err(|_| {
            bad(format!(
                "invalid rate for device: {s}. The correct format is <device-path>:<number>. Number must be a positive integer"
            ))
        })?
    };
    Ok(ThrottleDevice {
        path: path.to_string(),
        rate,
        numbers: None,
    })
}

pub fn parse_weight_device(s: &str) -> Result<WeightDevice> {
    let bad = |why: String| flag_error("--blkio-weight-device", s, &why);
    let Some((path, w)) = s.rsplit_once(':') else {
        return Err(bad(format!("bad format: {s}")));
    };
    if !path.starts_with("/dev/") {
        return Err(bad(format!("bad format for device path: {s}")));
    }
    let weight = w
        .parse::<u16>()
        .ok()
        .filter(|w| *w == 0 || (10..=1000).contains(w))
        .ok_or_else(|| bad(format!("invalid weight for device: {s}")))?;
    Ok(WeightDevice {
        path: path.to_string(),
        weight,
        numbers: None,
    })
}

/// What the host's cgroups offer, for docker's checks and warnings.
#[derive(Debug, Clone)]
pub struct HostSupport {
    pub v2: bool,
    pub swap: bool,
    pub swappiness: bool,
    pub oom_kill_disable: bool,
    pub blkio_weight: bool,
    pub cpu_rt: bool,
    pub cpus: usize,
    pub cpuset_cpus: String,
    pub cpuset_mems: String,
}

impl HostSupport {
    pub fn detect() -> HostSupport {
        let v2 = super::cgroups::CgroupMode::detect() == super::cgroups::CgroupMode::Unified;
        let v1 =
            |ctrl: &str, file: &str| Path::new("/sys/fs/cgroup").join(ctrl).join(file).exists();
        let root_v2 = |file: &str| Path::new("/sys/fs/cgroup").join(file);
        let read = |p: PathBuf| {
            std::fs::read_to_string(p)
                .map(|s| s.trim().to_string())
                .unwrap_or_default()
        };
        let cpus = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        let (cpuset_cpus, cpuset_mems) = if v2 {
            (
                read(root_v2("cpuset.cpus.effective")),
                read(root_v2("cpuset.mems.effective")),
            )
        } else {
            (
                read(PathBuf::from("/sys/fs/cgroup/cpuset/cpuset.cpus")),
                read(PathBuf::from("/sys/fs/cgroup/cpuset/cpuset.mems")),
            )
        };
        let swap_v2 = std::fs::read_dir("/sys/fs/cgroup")
            .ok()
            .and_then(|rd| {
                rd.flatten()
                    .find(|e| e.path().join("memory.swap.max").exists())
            })
            .is_some();
        HostSupport {
            v2,
            swap: if v2 {
                swap_v2
            } else {
                v1("memory", "memory.memsw.limit_in_bytes")
            },
            swappiness: !v2 && v1("memory", "memory.swappiness"),
            oom_kill_disable: !v2 && v1("memory", "memory.oom_control"),
            blkio_weight: if v2 {
                true
            } else {
                v1("blkio", "blkio.weight") || v1("blkio", "blkio.bfq.weight")
            },
            cpu_rt: !v2 && v1("cpu", "cpu.rt_runtime_us"),
            cpus,
            cpuset_cpus,
            cpuset_mems,
        }
    }
}

/// Parse a cpuset list ("0-2,4") into its members.
pub fn parse_cpuset(s: &str) -> Option<Vec<u32>> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (u32, u32) = (a.parse().ok()?, b.parse().ok()?);
                if b.checked_sub(a).is_none_or(|n| n > 4096) {
                    return None;
                }
                out.extend(a..=b);
            }
            None => out.push(part.parse().ok()?),
        }
    }
    Some(out)
}

impl Resources {
    /// docker's defaults filled in (a memory limit without --memory-swap
    /// allows as much swap again).
    pub fn with_defaults(mut self) -> Self {
        if self.memory > 0 && self.memory_swap == 0 {
            self.memory_swap = self.memory.saturating_mul(2);
        }
        self
    }

    /// docker's checks (`verifyPlatformContainerResources`): an error for
    /// what cannot be, warnings (printed, the value discarded) for what
    /// this host cannot do.
    pub fn verify(&mut self, host: &HostSupport, update: bool) -> Result<Vec<String>> {
        let mut warnings = Vec::new();
        if self.memory != 0 && self.memory < 6 * 1024 * 1024 {
            return Err(invalid("Minimum memory limit allowed is 6MB"));
        }
        if self.memory > 0 && self.memory_swap > 0 && self.memory_swap < self.memory {
            return Err(invalid(
                "Minimum memoryswap limit should be larger than memory limit, see usage",
            ));
        }
        if self.memory == 0 && self.memory_swap > 0 && !update {
            return Err(invalid(
                "You should always set the Memory limit when using Memoryswap limit, see usage",
            ));
        }
        if self.memory_swap != 0 && !host.swap {
            warnings.push("Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap.".to_string());
            self.memory_swap = -1;
        }
        if let Some(s) = self.memory_swappiness {
            if s != -1 && !(0..=100).contains(&s) {
                return Err(invalid(format!(
                    "Invalid value: {s}, valid memory swappiness range is 0-100"
                )));
            }
            if !host.swappiness {
                warnings.push("Your kernel does not support memory swappiness capabilities or the cgroup is not mounted. Memory swappiness discarded.".to_string());
                self.memory_swappiness = None;
            }
        }
        if self.memory_reservation > 0 && self.memory > 0 && self.memory < self.memory_reservation {
            return Err(invalid(
                "Minimum memory limit can not be less than memory reservation limit, see usage",
            ));
        }
        if self.memory_reservation != 0 && self.memory_reservation < 6 * 1024 * 1024 {
            return Err(invalid("Minimum memory reservation allowed is 6MB"));
        }
        if self.kernel_memory != 0 {
            // docker 28 ignores it (API >= 1.42) with this warning.
            warnings.push("Specifying a kernel memory limit is deprecated and will be removed in a future release.".to_string());
            self.kernel_memory = 0;
        }
        if self.oom_kill_disable {
            if !host.oom_kill_disable {
                warnings.push(
                    "Your kernel does not support OomKillDisable. OomKillDisable discarded."
                        .to_string(),
                );
                self.oom_kill_disable = false;
            } else if self.memory == 0 {
                warnings.push("OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources.".to_string());
            }
        }
        if self.pids_limit.is_some_and(|p| p < 0) {
            self.pids_limit = Some(0);
        }
        if self.nano_cpus > 0 && self.cpu_period > 0 {
            return Err(invalid(
                "Conflicting options: Nano CPUs and CPU Period cannot both be set",
            ));
        }
        if self.nano_cpus > 0 && self.cpu_quota > 0 {
            return Err(invalid(
                "Conflicting options: Nano CPUs and CPU Quota cannot both be set",
            ));
        }
        let max_nanos = (host.cpus as i64).saturating_mul(1_000_000_000);
        if self.nano_cpus < 0 || self.nano_cpus > max_nanos {
            return Err(invalid(format!(
                "Range of CPUs is from 0.01 to {}.00, as there are only {} CPUs available",
                host.cpus, host.cpus
            )));
        }
        if self.nano_cpus > 0 && self.nano_cpus < 10_000_000 {
            return Err(invalid(format!(
                "Range of CPUs is from 0.01 to {}.00, as there are only {} CPUs available",
                host.cpus, host.cpus
            )));
        }
        if self.cpu_period != 0 && !(1000..=1_000_000).contains(&self.cpu_period) {
            return Err(invalid(
                "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)",
            ));
        }
        if self.cpu_quota > 0 && self.cpu_quota < 1000 {
            return Err(invalid(
                "CPU cfs quota can not be less than 1ms (i.e. 1000)",
            ));
        }
        if (self.cpu_rt_period != 0 || self.cpu_rt_runtime != 0) && !host.cpu_rt {
            return Err(invalid(
                "Your kernel does not support CPU real-time scheduler",
            ));
        }
        if self.cpu_rt_period != 0
            && self.cpu_rt_runtime != 0
            && self.cpu_rt_runtime > self.cpu_rt_period
        {
            return Err(invalid(
                "cpu-rt-runtime cannot be higher than cpu-rt-period",
            ));
        }
        for (list, avail, what) in [
            (&self.cpuset_cpus, &host.cpuset_cpus, "cpus"),
            (&self.cpuset_mems, &host.cpuset_mems, "mems"),
        ] {
            if list.is_empty() {
                continue;
            }
            let want = parse_cpuset(list)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| invalid(format!("Invalid value {list} for cpuset {what}")))?;
            let have = parse_cpuset(avail).unwrap_or_default();
            if !want.iter().all(|c| have.contains(c)) {
                let label = if what == "cpus" {
                    "CPUs"
                } else {
                    "Memory nodes"
                };
                return Err(invalid(format!(
                    "Requested {label} are not available - requested {list}, available: {avail}"
                )));
            }
        }
        if self.blkio_weight != 0 && !(10..=1000).contains(&self.blkio_weight) {
            return Err(invalid("Range of blkio weight is from 10 to 1000"));
        }
        if (self.blkio_weight != 0 || !self.blkio_weight_device.is_empty()) && !host.blkio_weight {
            warnings.push(
                "Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded."
                    .to_string(),
            );
            self.blkio_weight = 0;
            self.blkio_weight_device.clear();
        }
        Ok(warnings)
    }

    /// The CFS quota and period to write: --cpus wins (period 100 ms).
    fn cfs(&self) -> Option<(i64, i64)> {
        if self.nano_cpus > 0 {
            let period = 100_000;
            return Some((
                self.nano_cpus.saturating_mul(period) / 1_000_000_000,
                period,
            ));
        }
        if self.cpu_quota != 0 || self.cpu_period != 0 {
            let period = if self.cpu_period > 0 {
                self.cpu_period
            } else {
                100_000
            };
            return Some((self.cpu_quota, period));
        }
        None
    }

    /// Write the limits into `cg`. `update` writes only the fields set in
    /// `self` (docker's update leaves the others as they are).
    pub fn apply(&self, cg: &Cgroup) -> Result<()> {
        if *self == Resources::default() {
            // Nothing to write: spare a `run` without limits ~60 probes of
            // cgroup files.
            return Ok(());
        }
        for dir in &cg.dirs {
            if dir.join("cgroup.controllers").exists()
                && cg.mode == super::cgroups::CgroupMode::Unified
            {
                self.apply_v2(dir)?;
            } else {
                self.apply_v1(dir)?;
            }
        }
        Ok(())
    }

    fn apply_v2(&self, dir: &Path) -> Result<()> {
        let w = |file: &str, v: String| write(dir, file, &v);
        if self.memory != 0 {
            w("memory.max", limit(self.memory))?;
        }
        if self.memory_reservation != 0 {
            w("memory.low", limit(self.memory_reservation))?;
        }
        if self.memory_swap != 0 && dir.join("memory.swap.max").exists() {
            // v2 limits swap alone; docker's value is memory plus swap.
            let swap = if self.memory_swap < 0 {
                "max".to_string()
            } else {
                self.memory_swap
                    .saturating_sub(self.memory)
                    .max(0)
                    .to_string()
            };
            w("memory.swap.max", swap)?;
        }
        if let Some((quota, period)) = self.cfs() {
            let q = if quota > 0 {
                quota.to_string()
            } else {
                "max".to_string()
            };
            w("cpu.max", format!("{q} {period}"))?;
        }
        if self.cpu_shares != 0 {
            // runc's mapping of shares [2, 262144] onto weight [1, 10000].
            let shares = self.cpu_shares.clamp(2, 262_144);
            w(
                "cpu.weight",
                // shares is clamped: no step saturates.
                (shares.saturating_sub(2).saturating_mul(9999) / 262_142)
                    .saturating_add(1)
                    .to_string(),
            )?;
        }
        if !self.cpuset_cpus.is_empty() {
            w("cpuset.cpus", self.cpuset_cpus.clone())?;
        }
        if !self.cpuset_mems.is_empty() {
            w("cpuset.mems", self.cpuset_mems.clone())?;
        }
        if let Some(p) = self.pids_limit {
            w("pids.max", if p > 0 { p.to_string() } else { "max".into() })?;
        }
        if self.blkio_weight != 0 && dir.join("io.weight").exists() {
            let weight = (i64::from(self.blkio_weight)
                .saturating_sub(10)
                .saturating_mul(9999)
                / 990)
                .saturating_add(1);
            w("io.weight", format!("default {weight}"))?;
        }
        for (list, key) in [
            (&self.device_read_bps, "rbps"),
            (&self.device_write_bps, "wbps"),
            (&self.device_read_iops, "riops"),
            (&self.device_write_iops, "wiops"),
        ] {
            for d in list {
                let (maj, min) = d.numbers.map_or_else(|| device_numbers(&d.path), Ok)?;
                w("io.max", format!("{maj}:{min} {key}={}", d.rate))?;
            }
        }
        Ok(())
    }

    fn apply_v1(&self, dir: &Path) -> Result<()> {
        let has = |f: &str| dir.join(f).exists();
        let w = |file: &str, v: String| write(dir, file, &v);
        if has("memory.limit_in_bytes") {
            if self.memory_reservation != 0 {
                w(
                    "memory.soft_limit_in_bytes",
                    self.memory_reservation.to_string(),
                )?;
            }
            let swap = has("memory.memsw.limit_in_bytes") && self.memory_swap != 0;
            if self.memory != 0 || swap {
                // memsw must stay >= the memory limit at every step: try
                // one order, then the other.
                let mem = || -> Result<()> {
                    if self.memory != 0 {
                        w("memory.limit_in_bytes", self.memory.to_string())?;
                    }
                    Ok(())
                };
                let memsw = || -> Result<()> {
                    if swap {
                        w("memory.memsw.limit_in_bytes", self.memory_swap.to_string())?;
                    }
                    Ok(())
                };
                if mem().and_then(|_| memsw()).is_err() {
                    memsw()?;
                    mem()?;
                }
            }
            if let Some(s) = self.memory_swappiness.filter(|s| *s >= 0) {
                w("memory.swappiness", s.to_string())?;
            }
            if self.oom_kill_disable {
                w("memory.oom_control", "1".into())?;
            }
        }
        if has("cpu.shares") {
            if self.cpu_shares != 0 {
                w("cpu.shares", self.cpu_shares.to_string())?;
            }
            if let Some((quota, period)) = self.cfs() {
                w("cpu.cfs_period_us", period.to_string())?;
                w(
                    "cpu.cfs_quota_us",
                    if quota > 0 {
                        quota.to_string()
                    } else {
                        "-1".into()
                    },
                )?;
            }
            if self.cpu_rt_period != 0 {
                w("cpu.rt_period_us", self.cpu_rt_period.to_string())?;
            }
            if self.cpu_rt_runtime != 0 {
                w("cpu.rt_runtime_us", self.cpu_rt_runtime.to_string())?;
            }
        }
        if has("cpuset.cpus") {
            if !self.cpuset_cpus.is_empty() {
                w("cpuset.cpus", self.cpuset_cpus.clone())?;
            }
            if !self.cpuset_mems.is_empty() {
                w("cpuset.mems", self.cpuset_mems.clone())?;
            }
        }
        if has("pids.max") {
            if let Some(p) = self.pids_limit {
                w("pids.max", if p > 0 { p.to_string() } else { "max".into() })?;
            }
        }
        if has("blkio.throttle.read_bps_device") {
            let weight_file = if has("blkio.weight") {
                "blkio.weight"
            } else {
                "blkio.bfq.weight"
            };
            if self.blkio_weight != 0 && has(weight_file) {
                w(weight_file, self.blkio_weight.to_string())?;
            }
            for d in &self.blkio_weight_device {
                let (maj, min) = d.numbers.map_or_else(|| device_numbers(&d.path), Ok)?;
                w(
                    &format!("{weight_file}_device"),
                    format!("{maj}:{min} {}", d.weight),
                )?;
            }
            for (list, file) in [
                (&self.device_read_bps, "blkio.throttle.read_bps_device"),
                (&self.device_write_bps, "blkio.throttle.write_bps_device"),
                (&self.device_read_iops, "blkio.throttle.read_iops_device"),
                (&self.device_write_iops, "blkio.throttle.write_iops_device"),
            ] {
                for d in list {
                    let (maj, min) = d.numbers.map_or_else(|| device_numbers(&d.path), Ok)?;
                    w(file, format!("{maj}:{min} {}", d.rate))?;
                }
            }
        }
        Ok(())
    }
}

fn limit(v: i64) -> String {
    if v < 0 {
        "max".into()
    } else {
        v.to_string()
    }
}

fn write(dir: &Path, file: &str, value: &str) -> Result<()> {
    let p = dir.join(file);
    std::fs::write(&p, value)
        .map_err(|e| RuntimeError::Cgroup(format!("setting {file} to {value}: {e}")))
}

/// Major and minor numbers of a block device node.
pub(crate) fn device_numbers(path: &str) -> Result<(u64, u64)> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let m = std::fs::metadata(path).map_err(|e| {
        invalid(format!(
            "error gathering device information while adding custom device \"{path}\": {e}"
        ))
    })?;
    if !m.file_type().is_block_device() {
        return Err(invalid(format!("{path} is not a block device")));
    }
    let rdev = m.rdev();
    Ok((libc::major(rdev) as u64, libc::minor(rdev) as u64))
}

/// Whether the kernel OOM-killed a process of the container (read before
/// its cgroup is removed).
pub fn oom_killed(cg: &Cgroup) -> bool {
    cg.dirs.iter().any(|d| {
        ["memory.events", "memory.oom_control"].iter().any(|f| {
            std::fs::read_to_string(d.join(f))
                .map(|s| {
                    s.lines().any(|l| {
                        l.strip_prefix("oom_kill ")
                            .and_then(|n| n.trim().parse::<u64>().ok())
                            .is_some_and(|n| n > 0)
                    })
                })
                .unwrap_or(false)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_as_docker_reads_them() {
        assert_eq!(ram_in_bytes("512"), Some(512));
        assert_eq!(ram_in_bytes("64k"), Some(64 << 10));
        assert_eq!(ram_in_bytes("32m"), Some(32 << 20));
        assert_eq!(ram_in_bytes("32MB"), Some(32 << 20));
        assert_eq!(ram_in_bytes("1.5g"), Some(3 << 29));
        assert_eq!(ram_in_bytes("2GiB"), Some(2 << 30));
        assert_eq!(ram_in_bytes("10 m"), Some(10 << 20));
        assert_eq!(ram_in_bytes("abc"), None);
        assert_eq!(ram_in_bytes("10x"), None);
        assert_eq!(ram_in_bytes(""), None);
        assert_eq!(parse_mem("--memory-swap", "-1", true).unwrap(), -1);
        let e = parse_mem("-m, --memory", "lots", false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid argument \"lots\" for \"-m, --memory\" flag: invalid size: 'lots'"
        );
    }

    #[test]
    fn cpus_as_nano() {
        assert_eq!(parse_nano_cpus("1.5").unwrap(), 1_500_000_000);
        assert_eq!(parse_nano_cpus("0.5").unwrap(), 500_000_000);
        assert_eq!(parse_nano_cpus(".25").unwrap(), 250_000_000);
        assert_eq!(parse_nano_cpus("2").unwrap(), 2_000_000_000);
        assert!(parse_nano_cpus("x")
            .unwrap_err()
            .to_string()
            .contains("failed to parse x as a rational number"));
    }

    fn host() -> HostSupport {
        HostSupport {
            v2: false,
            swap: true,
            swappiness: true,
            oom_kill_disable: true,
            blkio_weight: false,
            cpu_rt: true,
            cpus: 2,
            cpuset_cpus: "0-1".into(),
            cpuset_mems: "0".into(),
        }
    }

    #[test]
    fn docker_checks() {
        let check = |r: Resources| r.with_defaults().verify(&host(), false);
        let err = |r: Resources| check(r).unwrap_err().to_string();
        assert_eq!(
            err(Resources {
                memory: 1 << 20,
                ..Default::default()
            }),
            "Minimum memory limit allowed is 6MB"
        );
        assert_eq!(
            err(Resources {
                nano_cpus: 3_000_000_000,
                ..Default::default()
            }),
            "Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available"
        );
        assert_eq!(
            err(Resources {
                nano_cpus: 1,
                cpu_period: 1000,
                ..Default::default()
            }),
            "Conflicting options: Nano CPUs and CPU Period cannot both be set"
        );
        assert_eq!(
            err(Resources {
                cpuset_cpus: "0-3".into(),
                ..Default::default()
            }),
            "Requested CPUs are not available - requested 0-3, available: 0-1"
        );
        assert_eq!(
            err(Resources {
                memory: 64 << 20,
                memory_swap: 32 << 20,
                ..Default::default()
            }),
            "Minimum memoryswap limit should be larger than memory limit, see usage"
        );
        let mut r = Resources {
            memory: 64 << 20,
            ..Default::default()
        }
        .with_defaults();
        assert_eq!(r.memory_swap, 128 << 20);
        assert!(r.verify(&host(), false).unwrap().is_empty());
        let mut r = Resources {
            blkio_weight: 300,
            ..Default::default()
        };
        let warnings = r.verify(&host(), false).unwrap();
        assert!(warnings[0].contains("Block I/O weight"), "{warnings:?}");
        assert_eq!(r.blkio_weight, 0);
    }

    #[test]
    fn cpusets() {
        assert_eq!(parse_cpuset("0-2,4"), Some(vec![0, 1, 2, 4]));
        assert_eq!(parse_cpuset("x"), None);
    }
}
