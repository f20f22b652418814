//! `stats`: a container's resource usage, read from its cgroup (v1 or v2)
//! and its network namespace, and docker's arithmetic that turns two such
//! samples into one row (CPU % needs the time between them).

use super::config::NetworkMode;
use super::store::Container;
use super::ContainerError;
use crate::runtime::cgroups::Cgroup;
use std::path::Path;

/// /proc/stat counts in USER_HZ, fixed at 100 by the kernel's ABI (docker
/// uses the same constant).
const CLOCK_TICKS: u64 = 100;

/// What the host contributes to every container's sample.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Host {
    /// CPU time of the whole system since boot, in ns: /proc/stat's `cpu`
    /// line, user through softirq, as docker's daemon sums it.
    pub system_ns: u64,
    pub online_cpus: u32,
    /// MemTotal: the limit shown for a container that has none.
    pub mem_total: u64,
}

/// Raw counters of one container at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sample {
    pub host: Host,
    /// A container that is not running has no counters: docker shows zeros.
    pub running: bool,
    /// The cgroup's CPU time since it was created, in ns.
    pub cpu_ns: u64,
    /// v1 memory.usage_in_bytes / v2 memory.current.
    pub mem_usage: u64,
    /// v1 total_inactive_file / v2 inactive_file (page cache the kernel
    /// can drop at once, which docker leaves out of the usage).
    pub mem_inactive_file: u64,
    /// None when unlimited.
    pub mem_limit: Option<u64>,
    pub net_rx: u64,
    pub net_tx: u64,
    pub blk_read: u64,
    pub blk_write: u64,
    pub pids: u64,
}

/// One row of `stats`, as numbers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Usage {
    pub cpu_percent: f64,
    pub mem: u64,
    pub mem_limit: u64,
    pub mem_percent: f64,
    pub net_rx: u64,
    pub net_tx: u64,
    pub blk_read: u64,
    pub blk_write: u64,
    pub pids: u64,
}

/// docker's numbers from a sample and the one before it (None: the first
/// sample, whose CPU % is 0).
pub fn usage(prev: Option<&Sample>, cur: &Sample) -> Usage {
    if !cur.running {
        return Usage::default();
    }
    let mut cpu_percent = 0.0;
    if let Some(p) = prev.filter(|p| p.running) {
        // Deltas as f64, as docker: a restarted cgroup's smaller counter
        // gives a negative delta, shown as 0.
        let cpu_delta = cur.cpu_ns as f64 - p.cpu_ns as f64;
        let system_delta = cur.host.system_ns as f64 - p.host.system_ns as f64;
        if cpu_delta > 0.0 && system_delta > 0.0 {
            cpu_percent = cpu_delta / system_delta * f64::from(cur.host.online_cpus) * 100.0;
        }
    }
    let mem = if cur.mem_inactive_file < cur.mem_usage {
        cur.mem_usage.saturating_sub(cur.mem_inactive_file)
    } else {
        cur.mem_usage
    };
    // Unlimited, or a limit above the host's memory: the host's memory.
    let mem_limit = match cur.mem_limit {
        Some(l) if cur.host.mem_total == 0 || l <= cur.host.mem_total => l,
        _ => cur.host.mem_total,
    };
    let mem_percent = if mem_limit > 0 {
        mem as f64 / mem_limit as f64 * 100.0
    } else {
        0.0
    };
    Usage {
        cpu_percent,
        mem,
        mem_limit,
        mem_percent,
        net_rx: cur.net_rx,
        net_tx: cur.net_tx,
        blk_read: cur.blk_read,
        blk_write: cur.blk_write,
        pids: cur.pids,
    }
}

fn read(p: &Path) -> Option<String> {
    std::fs::read_to_string(p).ok()
}

fn read_proc(path: &str) -> Result<String, ContainerError> {
    std::fs::read_to_string(path).map_err(|e| ContainerError::io(format!("reading {path}"), e))
}

/// The host's CPU time and memory, read once per round of samples.
pub fn host() -> Result<Host, ContainerError> {
    let (system_ns, online_cpus) = parse_proc_stat(&read_proc("/proc/stat")?)
        .ok_or_else(|| ContainerError::Invalid("unexpected contents of /proc/stat".into()))?;
    let mem_total = meminfo_total(&read_proc("/proc/meminfo")?).unwrap_or(0);
    Ok(Host {
        system_ns,
        online_cpus,
        mem_total,
    })
}

/// Sample one container. Counters that cannot be read (the container
/// exiting meanwhile) read as 0, as docker shows a container it lost.
pub fn sample(c: &Container, host: Host) -> Sample {
    let mut s = Sample {
        host,
        ..Default::default()
    };
    if !c.state.is_alive() {
        return s;
    }
    s.running = true;
    let cg = Cgroup::open(c.config.cgroup_parent(), &c.config.id);
    let file = |names: &[&str]| names.iter().find_map(|n| cg.file(n).and_then(|p| read(&p)));
    let num = |t: String| t.trim().parse::<u64>().ok();
    // v1 files first: on a hybrid host the (controller-less) v2 cgroup has
    // a cpu.stat too.
    if let Some(t) = file(&["cpuacct.usage"]) {
        s.cpu_ns = num(t).unwrap_or(0);
    } else if let Some(t) = file(&["cpu.stat"]) {
        s.cpu_ns = stat_value(&t, "usage_usec")
            .unwrap_or(0)
            .saturating_mul(1000);
    }
    if let Some(t) = file(&["memory.usage_in_bytes"]) {
        s.mem_usage = num(t).unwrap_or(0);
        let stat = file(&["memory.stat"]).unwrap_or_default();
        s.mem_inactive_file = stat_value(&stat, "total_inactive_file").unwrap_or(0);
        s.mem_limit = file(&["memory.limit_in_bytes"]).and_then(num);
    } else if let Some(t) = file(&["memory.current"]) {
        s.mem_usage = num(t).unwrap_or(0);
        let stat = file(&["memory.stat"]).unwrap_or_default();
        s.mem_inactive_file = stat_value(&stat, "inactive_file").unwrap_or(0);
        // "max" does not parse: unlimited.
        s.mem_limit = file(&["memory.max"]).and_then(num);
    }
    s.pids = file(&["pids.current"]).and_then(num).unwrap_or(0);
    if let Some(t) = file(&[
        "blkio.throttle.io_service_bytes_recursive",
        "blkio.io_service_bytes_recursive",
    ]) {
        (s.blk_read, s.blk_write) = blkio_v1(&t);
    } else if let Some(t) = file(&["io.stat"]) {
        (s.blk_read, s.blk_write) = io_stat_v2(&t);
    }
    // A host-network container has no interfaces of its own: docker shows
    // no traffic for it rather than the host's.
    if c.config.network != NetworkMode::Host {
        if let Some(t) = read(Path::new(&format!("/proc/{}/net/dev", c.state.pid))) {
            (s.net_rx, s.net_tx) = net_dev(&t);
        }
    }
    s
}

/// (system CPU time in ns, online CPUs) from /proc/stat.
pub fn parse_proc_stat(text: &str) -> Option<(u64, u32)> {
    let mut total = None;
    let mut cpus = 0u32;
    for line in text.lines() {
        let mut f = line.split_whitespace();
        match f.next() {
            Some("cpu") => {
                // user nice system idle iowait irq softirq: docker's seven.
                let v: Vec<u64> = f.take(7).filter_map(|x| x.parse().ok()).collect();
                if v.len() == 7 {
                    let ticks = v.iter().fold(0u64, |a, b| a.saturating_add(*b));
                    total = Some(ticks.saturating_mul(1_000_000_000 / CLOCK_TICKS));
                }
            }
            Some(c)
                if c.strip_prefix("cpu")
                    .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit())) =>
            {
                cpus = cpus.saturating_add(1)
            }
            _ => {}
        }
    }
    Some((total?, cpus))
}

/// MemTotal in bytes.
pub fn meminfo_total(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kb.checked_mul(1024)
}

/// The value of `key` in a flat-keyed file (memory.stat, cpu.stat).
pub fn stat_value(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        (k == key).then(|| v.trim().parse().ok()).flatten()
    })
}

/// Bytes received and sent on every interface but lo (/proc/PID/net/dev).
pub fn net_dev(text: &str) -> (u64, u64) {
    // Kernel counters, summed for display: saturating is their meaning.
    let (mut rx, mut tx) = (0u64, 0u64);
    for line in text.lines().skip(2) {
        let Some((name, rest)) = line.split_once(':') else {
            continue;
        };
        if name.trim() == "lo" {
            continue;
        }
        let f: Vec<u64> = rest
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        // Receive: bytes packets errs drop fifo frame compressed multicast; then transmit.
        if let (Some(r), Some(t)) = (f.first(), f.get(8)) {
            rx = rx.saturating_add(*r);
            tx = tx.saturating_add(*t);
        }
    }
    (rx, tx)
}

/// Bytes read and written from blkio's io_service_bytes (v1): lines
/// `MAJ:MIN Op N`; docker adds up ops starting with r and w (Read, Write).
pub fn blkio_v1(text: &str) -> (u64, u64) {
    let (mut r, mut w) = (0u64, 0u64);
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [_, op, n] = f[..] else { continue };
        let n: u64 = n.parse().unwrap_or(0);
        match op.as_bytes().first() {
            Some(b'r' | b'R') => r = r.saturating_add(n),
            Some(b'w' | b'W') => w = w.saturating_add(n),
            _ => {}
        }
    }
    (r, w)
}

/// Bytes read and written from io.stat (v2): `MAJ:MIN rbytes=N wbytes=N ...`.
pub fn io_stat_v2(text: &str) -> (u64, u64) {
    let (mut r, mut w) = (0u64, 0u64);
    for kv in text.split_whitespace() {
        match kv.split_once('=') {
            Some(("rbytes", n)) => r = r.saturating_add(n.parse().unwrap_or(0)),
            Some(("wbytes", n)) => w = w.saturating_add(n.parse().unwrap_or(0)),
            _ => {}
        }
    }
    (r, w)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn running(cpu_ns: u64, system_ns: u64) -> Sample {
        Sample {
            host: Host {
                system_ns,
                online_cpus: 2,
                mem_total: 8 << 30,
            },
            running: true,
            cpu_ns,
            ..Default::default()
        }
    }

    #[test]
    fn cpu_percent_as_docker() {
        // Half of one CPU's time, on two CPUs: 50%.
        let a = running(1_000_000_000, 10_000_000_000);
        let b = running(1_500_000_000, 12_000_000_000);
        assert!((usage(Some(&a), &b).cpu_percent - 50.0).abs() < 1e-9);
        // No previous sample, or counters going back: 0.
        assert_eq!(usage(None, &b).cpu_percent, 0.0);
        assert_eq!(usage(Some(&b), &a).cpu_percent, 0.0);
        let idle = running(1_500_000_000, 14_000_000_000);
        assert_eq!(usage(Some(&b), &idle).cpu_percent, 0.0);
    }

    #[test]
    fn memory_without_inactive_cache_and_host_limit() {
        let mut s = running(0, 0);
        s.mem_usage = 100 << 20;
        s.mem_inactive_file = 30 << 20;
        // Unlimited (v2 "max") or v1's huge number: the host's memory.
        for limit in [None, Some(9_223_372_036_854_771_712)] {
            s.mem_limit = limit;
            let u = usage(None, &s);
            assert_eq!(u.mem, 70 << 20);
            assert_eq!(u.mem_limit, 8 << 30);
            assert!((u.mem_percent - 70.0 / 8192.0 * 100.0).abs() < 1e-9);
        }
        s.mem_limit = Some(140 << 20);
        let u = usage(None, &s);
        assert_eq!(u.mem_limit, 140 << 20);
        assert!((u.mem_percent - 50.0).abs() < 1e-9);
        // More inactive cache than usage (racy reads): the usage as is.
        s.mem_inactive_file = 200 << 20;
        assert_eq!(usage(None, &s).mem, 100 << 20);
    }

    #[test]
    fn stopped_is_all_zeros() {
        let mut s = running(5, 5);
        s.running = false;
        s.pids = 3;
        assert_eq!(usage(Some(&running(1, 1)), &s), Usage::default());
    }

    #[test]
    fn parses_proc_files() {
        let stat = "cpu  700102 0 204367 1253158 10722 0 1589 189 0 0\n\
                    cpu0 332071 0 94392 654336 3448 0 257 89 0 0\n\
                    cpu1 368030 0 109974 598821 7274 0 1331 99 0 0\n\
                    intr 1 2 3\nctxt 5\n";
        let ticks: u64 = 700102 + 204367 + 1253158 + 10722 + 1589;
        assert_eq!(parse_proc_stat(stat), Some((ticks * 10_000_000, 2)));
        assert_eq!(parse_proc_stat("intr 1\n"), None);
        assert_eq!(
            meminfo_total("MemTotal:        8048600 kB\nMemFree: 1 kB\n"),
            Some(8048600 * 1024)
        );
        let net = "Inter-|   Receive                                                |  Transmit\n \
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    \
 lo:    1000      10    0    0    0     0          0         0     1000      10    0    0    0     0       0          0\n  \
 eth0:    1226      13    0    0    0     0          0         0      648       8    0    0    0     0       0          0\n  \
 eth1:      10       1    0    0    0     0          0         0        2       1    0    0    0     0       0          0\n";
        assert_eq!(net_dev(net), (1236, 650));
    }

    #[test]
    fn parses_cgroup_files() {
        let stat = "cache 0\ntotal_inactive_file 4096\ninactive_file 8192\n";
        assert_eq!(stat_value(stat, "total_inactive_file"), Some(4096));
        assert_eq!(stat_value(stat, "inactive_file"), Some(8192));
        assert_eq!(stat_value(stat, "nope"), None);
        let v1 = "8:0 Read 4096\n8:0 Write 1000\n8:0 Sync 5096\n8:0 Async 0\n8:0 Discard 0\n\
                  8:0 Total 5096\n8:16 Read 4\n8:16 Write 0\nTotal 5100\n";
        assert_eq!(blkio_v1(v1), (4100, 1000));
        let v2 = "8:0 rbytes=4096 wbytes=1000 rios=1 wios=1 dbytes=0 dios=0\n\
                  8:16 rbytes=4 wbytes=6 rios=1 wios=1 dbytes=0 dios=0\n";
        assert_eq!(io_stat_v2(v2), (4100, 1006));
    }
}
