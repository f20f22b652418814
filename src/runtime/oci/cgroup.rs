//! A config's cgroup: its path, resources (lowered to rdock's
//! `Resources`, which `docker run`'s limits are too), device rules and the
//! controller files rdock has no flags for.

use super::lower::json_name;
use super::OciError;
use crate::runtime::devices::Rule;
use crate::runtime::resources::{Resources, ThrottleDevice, WeightDevice};
use oci_spec::runtime::LinuxResources;
use std::path::Path;

type Result<T> = std::result::Result<T, OciError>;

fn invalid(msg: impl Into<String>) -> OciError {
    OciError::Config(msg.into())
}

/// `cgroupsPath` as (parent, leaf); absent: `/<id>` under each root.
pub fn cgroup_path(p: Option<&Path>, id: &str) -> Result<(String, String)> {
    let Some(p) = p.filter(|p| !p.as_os_str().is_empty()) else {
        return Ok((String::new(), id.to_string()));
    };
    let s = p.to_string_lossy();
    if s.contains(':') {
        return Err(OciError::Unsupported(format!(
            "cgroupsPath {s:?}: the systemd cgroup driver is not supported"
        )));
    }
    // As runc: relative or not, under each hierarchy's root.
    let clean = crate::util::path::clean_abs(&format!("/{s}"));
    let mut parts: Vec<&str> = clean.split('/').filter(|c| !c.is_empty()).collect();
    let Some(leaf) = parts.pop() else {
        return Err(invalid(format!("cgroupsPath {s:?}: names no cgroup")));
    };
    Ok((parts.join("/"), leaf.to_string()))
}

/// The process part of a config (also `exec --process`): InitSpec with
/// a placeholder mode the caller replaces.
/// The config's device cgroup rules, then (as runc adds them) the
/// default nodes' and the config's devices' allow rules, unless
/// `as_given` (docker's rules, complete as they are). None at all: no
/// device cgroup restriction.
pub fn device_rules(
    r: &LinuxResources,
    linux: &oci_spec::runtime::Linux,
    as_given: bool,
) -> Vec<Rule> {
    let mut rules: Vec<Rule> = r
        .devices()
        .iter()
        .flatten()
        .map(|d| {
            let kind = d
                .typ()
                .map(|t| json_name(&t).chars().next().unwrap_or('a'))
                .unwrap_or('a');
            Rule {
                allow: d.allow(),
                kind,
                major: d.major().and_then(|v| u32::try_from(v).ok()),
                minor: d.minor().and_then(|v| u32::try_from(v).ok()),
                access: d.access().clone().unwrap_or_else(|| "rwm".into()),
            }
        })
        .collect();
    if rules.is_empty() || as_given {
        return rules;
    }
    rules.extend(crate::runtime::devices::default_rules());
    for d in linux.devices().iter().flatten() {
        let kind = match json_name(&d.typ()).as_str() {
            "b" => 'b',
            "c" | "u" => 'c',
            _ => continue,
        };
        rules.push(Rule {
            allow: true,
            kind,
            major: u32::try_from(d.major()).ok(),
            minor: u32::try_from(d.minor()).ok(),
            access: "rwm".into(),
        });
    }
    rules
}

/// net_cls and net_prio settings as their v1 files.
pub fn v1_files(r: &LinuxResources) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    if let Some(n) = r.network() {
        if let Some(id) = n.class_id() {
            out.push(("net_cls.classid".into(), id.to_string()));
        }
        for p in n.priorities().iter().flatten() {
            out.push((
                "net_prio.ifpriomap".into(),
                format!("{} {}", p.name(), p.priority()),
            ));
        }
    }
    // What else the config may set, by both versions' file names where
    // they differ: the one the host has is written (v1 hierarchy or v2
    // controller), as runc skips a controller the host does not give it.
    // (Kernel memory limits are ignored, as runc ignores them: the kernel
    // no longer has them.)
    if let Some(c) = r.cpu() {
        if let Some(b) = c.burst() {
            out.push(("cpu.cfs_burst_us".into(), b.to_string()));
            out.push(("cpu.max.burst".into(), b.to_string()));
        }
        if let Some(i) = c.idle() {
            out.push(("cpu.idle".into(), i.to_string()));
        }
    }
    if let Some(t) = r.memory().as_ref().and_then(|m| m.kernel_tcp()) {
        out.push(("memory.kmem.tcp.limit_in_bytes".into(), t.to_string()));
    }
    if let Some(w) = r.block_io().as_ref().and_then(|b| b.leaf_weight()) {
        out.push(("blkio.leaf_weight".into(), w.to_string()));
    }
    for h in r.hugepage_limits().iter().flatten() {
        let size = h.page_size();
        // A file name part: "2MB", "1GB" (nothing that walks elsewhere).
        let digits = size.trim_end_matches(['B', 'K', 'M', 'G', 'T', 'P']);
        if digits.is_empty()
            || !digits.bytes().all(|b| b.is_ascii_digit())
            || !size.ends_with('B')
            || size.len() > digits.len().saturating_add(2)
        {
            return Err(invalid(format!("hugepageLimits: bad pageSize {size:?}")));
        }
        let limit = h.limit().to_string();
        out.push((format!("hugetlb.{size}.limit_in_bytes"), limit.clone()));
        out.push((format!("hugetlb.{size}.max"), limit));
    }
    for (dev, l) in r.rdma().iter().flatten() {
        let mut line = dev.clone();
        if let Some(h) = l.hca_handles() {
            line.push_str(&format!(" hca_handle={h}"));
        }
        if let Some(o) = l.hca_objects() {
            line.push_str(&format!(" hca_object={o}"));
        }
        out.push(("rdma.max".into(), line));
    }
    Ok(out)
}

/// The config's resources in rdock's terms (docker's HostConfig fields).
pub fn resources(r: &LinuxResources) -> Result<Resources> {
    let mut out = Resources::default();
    if let Some(m) = r.memory() {
        out.memory = m.limit().unwrap_or(0);
        out.memory_swap = m.swap().unwrap_or(0);
        out.memory_reservation = m.reservation().unwrap_or(0);
        out.memory_swappiness = m.swappiness().and_then(|s| i64::try_from(s).ok());
        out.oom_kill_disable = m.disable_oom_killer().unwrap_or(false);
    }
    if let Some(c) = r.cpu() {
        out.cpu_shares = c.shares().and_then(|v| i64::try_from(v).ok()).unwrap_or(0);
        out.cpu_quota = c.quota().unwrap_or(0);
        out.cpu_period = c.period().and_then(|v| i64::try_from(v).ok()).unwrap_or(0);
        out.cpu_rt_runtime = c.realtime_runtime().unwrap_or(0);
        out.cpu_rt_period = c
            .realtime_period()
            .and_then(|v| i64::try_from(v).ok())
            .unwrap_or(0);
        out.cpuset_cpus = c.cpus().clone().unwrap_or_default();
        out.cpuset_mems = c.mems().clone().unwrap_or_default();
    }
    if let Some(p) = r.pids() {
        out.pids_limit = Some(p.limit());
    }
    if let Some(b) = r.block_io() {
        out.blkio_weight = b.weight().unwrap_or(0);
        let num = |major: i64, minor: i64| {
            let n = |v: i64| {
                u64::try_from(v).map_err(|_| invalid(format!("blockIO device number {v}")))
            };
            Ok::<_, OciError>((n(major)?, n(minor)?))
        };
        for d in b.weight_device().iter().flatten() {
            out.blkio_weight_device.push(WeightDevice {
                path: format!("{}:{}", d.major(), d.minor()),
                weight: d.weight().unwrap_or(0),
                numbers: Some(num(d.major(), d.minor())?),
            });
        }
        for (list, to) in [
            (b.throttle_read_bps_device(), &mut out.device_read_bps),
            (b.throttle_write_bps_device(), &mut out.device_write_bps),
            (b.throttle_read_iops_device(), &mut out.device_read_iops),
            (b.throttle_write_iops_device(), &mut out.device_write_iops),
        ] {
            for d in list.iter().flatten() {
                to.push(ThrottleDevice {
                    path: format!("{}:{}", d.major(), d.minor()),
                    rate: d.rate(),
                    numbers: Some(num(d.major(), d.minor())?),
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroup_paths() {
        assert_eq!(
            cgroup_path(Some(Path::new("/default/abc")), "x").unwrap(),
            ("default".into(), "abc".into())
        );
        assert_eq!(cgroup_path(None, "x").unwrap(), (String::new(), "x".into()));
        assert_eq!(
            cgroup_path(Some(Path::new("a/b/../c")), "x").unwrap(),
            ("a".into(), "c".into())
        );
        assert!(cgroup_path(Some(Path::new("system.slice:docker:x")), "x").is_err());
    }

    #[test]
    fn hugetlb_and_rdma_by_both_versions_names() {
        let r: LinuxResources = serde_json::from_value(serde_json::json!({
            "hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}],
            "rdma": {"mlx5_1": {"hcaHandles": 3, "hcaObjects": 10000}},
        }))
        .unwrap();
        let bad: LinuxResources = serde_json::from_value(serde_json::json!({
            "hugepageLimits": [{"pageSize": "a/../../x", "limit": 1}]}))
        .unwrap();
        assert!(v1_files(&bad).is_err());
        assert_eq!(
            v1_files(&r).unwrap(),
            [
                ("hugetlb.2MB.limit_in_bytes".into(), "4194304".into()),
                ("hugetlb.2MB.max".into(), "4194304".into()),
                (
                    "rdma.max".into(),
                    "mlx5_1 hca_handle=3 hca_object=10000".into()
                ),
            ]
        );
    }
}
