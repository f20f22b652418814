//! The resource flags `run`/`create` and `update` share, parsed into
//! `Resources` with docker's value syntax and wording.

use crate::runtime::resources::{self as res, Resources};
use crate::Result;
use clap::Args;

#[derive(Args, Debug, Clone, Default)]
pub struct LimitFlags {
    /// Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)
    #[arg(long = "blkio-weight", value_name = "uint16")]
    pub blkio_weight: Option<String>,
    /// Limit CPU CFS (Completely Fair Scheduler) period
    #[arg(long = "cpu-period", value_name = "int")]
    pub cpu_period: Option<String>,
    /// Limit CPU CFS (Completely Fair Scheduler) quota
    #[arg(long = "cpu-quota", value_name = "int")]
    pub cpu_quota: Option<String>,
    /// Limit CPU real-time period in microseconds
    #[arg(long = "cpu-rt-period", value_name = "int")]
    pub cpu_rt_period: Option<String>,
    /// Limit CPU real-time runtime in microseconds
    #[arg(long = "cpu-rt-runtime", value_name = "int")]
    pub cpu_rt_runtime: Option<String>,
    /// CPU shares (relative weight)
    #[arg(short = 'c', long = "cpu-shares", value_name = "int")]
    pub cpu_shares: Option<String>,
    /// Number of CPUs
    #[arg(long, value_name = "decimal")]
    pub cpus: Option<String>,
    /// CPUs in which to allow execution (0-3, 0,1)
    #[arg(long = "cpuset-cpus")]
    pub cpuset_cpus: Option<String>,
    /// MEMs in which to allow execution (0-3, 0,1)
    #[arg(long = "cpuset-mems")]
    pub cpuset_mems: Option<String>,
    /// Memory limit
    #[arg(short = 'm', long, value_name = "bytes")]
    pub memory: Option<String>,
    /// Memory soft limit
    #[arg(long = "memory-reservation", value_name = "bytes")]
    pub memory_reservation: Option<String>,
    /// Swap limit equal to memory plus swap: '-1' to enable unlimited swap
    #[arg(long = "memory-swap", allow_hyphen_values = true, value_name = "bytes")]
    pub memory_swap: Option<String>,
    /// Tune container pids limit (set -1 for unlimited)
    #[arg(long = "pids-limit", allow_hyphen_values = true, value_name = "int")]
    pub pids_limit: Option<String>,
    /// Kernel memory limit
    #[arg(long = "kernel-memory", value_name = "bytes")]
    pub kernel_memory: Option<String>,
}

impl LimitFlags {
    /// The flags given, as Resources (unset fields 0/None).
    pub fn to_resources(&self) -> Result<Resources> {
        let mut r = Resources::default();
        let int = |flag: &str, v: &Option<String>| -> Result<i64> {
            Ok(match v {
                Some(s) => res::parse_int(flag, s)?,
                None => 0,
            })
        };
        if let Some(s) = &self.blkio_weight {
            r.blkio_weight = res::parse_weight("--blkio-weight", s)?;
        }
        r.cpu_period = int("--cpu-period", &self.cpu_period)?;
        r.cpu_quota = int("--cpu-quota", &self.cpu_quota)?;
        r.cpu_rt_period = int("--cpu-rt-period", &self.cpu_rt_period)?;
        r.cpu_rt_runtime = int("--cpu-rt-runtime", &self.cpu_rt_runtime)?;
        r.cpu_shares = int("-c, --cpu-shares", &self.cpu_shares)?;
        if let Some(s) = &self.cpus {
            r.nano_cpus = res::parse_nano_cpus(s)?;
        }
        r.cpuset_cpus = self.cpuset_cpus.clone().unwrap_or_default();
        r.cpuset_mems = self.cpuset_mems.clone().unwrap_or_default();
        if let Some(s) = &self.memory {
            r.memory = res::parse_mem("-m, --memory", s, false)?;
        }
        if let Some(s) = &self.memory_reservation {
            r.memory_reservation = res::parse_mem("--memory-reservation", s, false)?;
        }
        if let Some(s) = &self.memory_swap {
            r.memory_swap = res::parse_mem("--memory-swap", s, true)?;
        }
        if let Some(s) = &self.pids_limit {
            r.pids_limit = Some(res::parse_int("--pids-limit", s)?);
        }
        if let Some(s) = &self.kernel_memory {
            r.kernel_memory = res::parse_mem("--kernel-memory", s, false)?;
        }
        Ok(r)
    }
}

// The flags only `run`/`create` have.
#[derive(Args, Debug, Clone, Default)]
pub struct RunLimitFlags {
    #[command(flatten)]
    pub limits: LimitFlags,
    /// Block IO weight (relative device weight) (default [])
    #[arg(long = "blkio-weight-device")]
    pub blkio_weight_device: Vec<String>,
    /// Limit read rate (bytes per second) from a device (default [])
    #[arg(long = "device-read-bps")]
    pub device_read_bps: Vec<String>,
    /// Limit read rate (IO per second) from a device (default [])
    #[arg(long = "device-read-iops")]
    pub device_read_iops: Vec<String>,
    /// Limit write rate (bytes per second) to a device (default [])
    #[arg(long = "device-write-bps")]
    pub device_write_bps: Vec<String>,
    /// Limit write rate (IO per second) to a device (default [])
    #[arg(long = "device-write-iops")]
    pub device_write_iops: Vec<String>,
    /// Tune container memory swappiness (0 to 100) (default -1)
    #[arg(
        long = "memory-swappiness",
        allow_hyphen_values = true,
        value_name = "int"
    )]
    pub memory_swappiness: Option<String>,
    /// Disable OOM Killer
    #[arg(long = "oom-kill-disable")]
    pub oom_kill_disable: bool,
    /// Size of /dev/shm
    #[arg(long = "shm-size", value_name = "bytes")]
    pub shm_size: Option<String>,
    /// Optional parent cgroup for the container
    #[arg(long = "cgroup-parent")]
    pub cgroup_parent: Option<String>,
    #[arg(
        long,
        help = "Cgroup namespace to use (host|private)\n'host':    Run the container in the Docker host's cgroup namespace\n'private': Run the container in its own private cgroup namespace\n'':        Use the cgroup namespace as configured by the\n           default-cgroupns-mode option on the daemon (default)"
    )]
    pub cgroupns: Option<String>,
}

impl RunLimitFlags {
    pub fn to_resources(&self) -> Result<Resources> {
        let mut r = self.limits.to_resources()?;
        for s in &self.blkio_weight_device {
            r.blkio_weight_device.push(res::parse_weight_device(s)?);
        }
        for (list, out, flag, bps) in [
            (
                &self.device_read_bps,
                &mut r.device_read_bps,
                "--device-read-bps",
                true,
            ),
            (
                &self.device_write_bps,
                &mut r.device_write_bps,
                "--device-write-bps",
                true,
            ),
            (
                &self.device_read_iops,
                &mut r.device_read_iops,
                "--device-read-iops",
                false,
            ),
            (
                &self.device_write_iops,
                &mut r.device_write_iops,
                "--device-write-iops",
                false,
            ),
        ] {
            for s in list {
                out.push(res::parse_throttle(flag, s, bps)?);
            }
        }
        if let Some(s) = &self.memory_swappiness {
            r.memory_swappiness = Some(res::parse_int("--memory-swappiness", s)?);
        }
        r.oom_kill_disable = self.oom_kill_disable;
        Ok(r)
    }

    pub fn shm_size(&self) -> Result<i64> {
        match &self.shm_size {
            None => Ok(0),
            Some(s) => {
                let v = res::parse_mem("--shm-size", s, false)?;
                Ok(v)
            }
        }
    }

    pub fn cgroupns(&self) -> Result<String> {
        match self.cgroupns.as_deref() {
            None | Some("") => Ok(String::new()),
            Some(m @ ("host" | "private")) => Ok(m.to_string()),
            Some(_) => Err(crate::Error::msg("--cgroupns: invalid CGROUP mode")),
        }
    }
}

/// A `--cgroup-parent` made relative to each hierarchy's root the way Go's
/// filepath.Join("/", p) cleans it: ".." never climbs out of the cgroup
/// file system.
pub fn clean_cgroup_parent(p: &str) -> String {
    crate::util::path::clean_under(p)
}

#[cfg(test)]
mod tests {
    #[test]
    fn cgroup_parent_stays_inside() {
        use super::clean_cgroup_parent as c;
        assert_eq!(c("../../etc"), "etc");
        assert_eq!(c("/a/b/../c/"), "a/c");
        assert_eq!(c("a/./b"), "a/b");
        assert_eq!(c(".."), "");
    }
}
