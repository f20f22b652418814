//! Resource limits for real: the kernel enforces what `run` and `update`
//! asked for, `inspect` shows it, docker's errors for what cannot be, and
//! every cgroup goes with its container. Works on cgroup v2 and v1/hybrid.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn id_of(r: &Rdock, name: &str) -> String {
    r.run(&["inspect", "-f", "{{.Id}}", name])
        .ok()
        .trim()
        .to_string()
}

/// The container's cgroup file `v2` (pure v2 hosts) or `v1` (under the
/// controller's hierarchy).
fn cg_file(id: &str, v1_ctrl: &str, v1: &str, v2: &str) -> PathBuf {
    let unified = Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    if unified {
        Path::new("/sys/fs/cgroup/rdock").join(id).join(v2)
    } else {
        Path::new("/sys/fs/cgroup")
            .join(v1_ctrl)
            .join("rdock")
            .join(id)
            .join(v1)
    }
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .trim()
        .to_string()
}

/// CPU time the container used, in microseconds.
fn cpu_usage_us(id: &str) -> u64 {
    let v2 = cg_file(id, "cpuacct", "cpuacct.usage", "cpu.stat");
    let s = read(&v2);
    if let Some(l) = s.lines().find(|l| l.starts_with("usage_usec")) {
        return l.split_whitespace().nth(1).unwrap().parse().unwrap();
    }
    s.parse::<u64>().unwrap() / 1000
}

#[test]
fn over_the_memory_limit_is_oom_killed() {
    let r = Rdock::with_busybox();
    // tail buffers its whole input when it never sees a newline.
    let out = r.run(&[
        "run",
        "--name",
        "hog",
        "--network",
        "none",
        "-m",
        "32m",
        "busybox",
        "sh",
        "-c",
        "tail /dev/zero",
    ]);
    assert_eq!(out.code, 137, "{}", out.stderr);
    let st = r
        .run(&["inspect", "-f", "{{.State.OOMKilled}} {{.State.ExitCode}} {{.HostConfig.Memory}} {{.HostConfig.MemorySwap}}", "hog"])
        .ok()
        .trim()
        .to_string();
    assert_eq!(st, format!("true 137 {} {}", 32 << 20, 64 << 20));
    // Without a limit nothing is OOM-killed.
    r.run(&[
        "run",
        "--name",
        "fine",
        "--network",
        "none",
        "busybox",
        "true",
    ])
    .ok();
    assert_eq!(
        r.run(&["inspect", "-f", "{{.State.OOMKilled}}", "fine"])
            .ok()
            .trim(),
        "false"
    );
    let id = id_of(&r, "hog");
    r.run(&["rm", "hog", "fine"]).ok();
    assert!(cgroups_of(&id).is_empty(), "{:?}", cgroups_of(&id));
}

#[test]
fn a_fork_bomb_is_contained_by_pids_limit() {
    let r = Rdock::with_busybox();
    r.run(&[
        "run",
        "-d",
        "--name",
        "bomb",
        "--network",
        "none",
        "--pids-limit",
        "50",
        "busybox",
        "sh",
        "-c",
        "b() { b | b & }; b; sleep 600",
    ])
    .ok();
    let id = id_of(&r, "bomb");
    let current = cg_file(&id, "pids", "pids.current", "pids.current");
    let events = cg_file(&id, "pids", "pids.events", "pids.events");
    std::thread::sleep(Duration::from_millis(1500));
    let n: u64 = read(&current).parse().unwrap();
    assert!(n <= 50, "pids.current {n} over the limit");
    // Forks the limit refused: the bomb went off and hit it. (Counting
    // live pids is no proof: busy shells whose forks fail exit, and the
    // tree can have collapsed by the time it is counted.)
    let refused: u64 = read(&events)
        .strip_prefix("max ")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!(refused > 0, "the bomb never hit the limit ({n} pids)");
    // The host still starts processes at once.
    let t = Instant::now();
    assert!(std::process::Command::new("true")
        .status()
        .unwrap()
        .success());
    assert!(t.elapsed() < Duration::from_secs(2));
    assert_eq!(
        r.run(&["inspect", "-f", "{{.HostConfig.PidsLimit}}", "bomb"])
            .ok()
            .trim(),
        "50"
    );
    r.run(&["rm", "-f", "bomb"]).ok();
    assert!(cgroups_of(&id).is_empty(), "{:?}", cgroups_of(&id));
}

#[test]
fn cpus_holds_a_busy_loop_near_its_share_and_update_changes_it() {
    let r = Rdock::with_busybox();
    r.run(&[
        "run",
        "-d",
        "--name",
        "spin",
        "--network",
        "none",
        "--cpus",
        "0.5",
        "busybox",
        "sh",
        "-c",
        "while :; do :; done",
    ])
    .ok();
    let id = id_of(&r, "spin");
    let share = |secs: f64| {
        let (u0, t0) = (cpu_usage_us(&id), Instant::now());
        std::thread::sleep(Duration::from_secs_f64(secs));
        (cpu_usage_us(&id) - u0) as f64 / t0.elapsed().as_micros() as f64
    };
    std::thread::sleep(Duration::from_millis(300));
    let half = share(3.0);
    // The cap is the point; the floor only shows the loop ran (other tests
    // may keep the machine's CPUs busy).
    assert!(
        (0.2..=0.6).contains(&half),
        "--cpus 0.5 used {half:.2} CPUs"
    );
    // Live: a quarter now.
    r.run(&["update", "--cpus", "0.25", "spin"]).ok();
    let quarter = share(3.0);
    assert!(
        (0.08..=0.32).contains(&quarter),
        "after update: {quarter:.2} CPUs"
    );
    assert_eq!(
        r.run(&["inspect", "-f", "{{.HostConfig.NanoCpus}}", "spin"])
            .ok()
            .trim(),
        "250000000"
    );
    r.run(&["rm", "-f", "spin"]).ok();
    assert!(cgroups_of(&id).is_empty(), "{:?}", cgroups_of(&id));
}

#[test]
fn update_memory_takes_effect_on_a_running_container() {
    let r = Rdock::with_busybox();
    r.run(&[
        "run",
        "-d",
        "--name",
        "up",
        "--network",
        "none",
        "busybox",
        "sleep",
        "600",
    ])
    .ok();
    let id = id_of(&r, "up");
    let limit = cg_file(&id, "memory", "memory.limit_in_bytes", "memory.max");
    assert_ne!(read(&limit), (64u64 << 20).to_string());
    // docker refuses -m alone on a container without limits; rdock gives it
    // docker run's default swap instead (docs/resources.md).
    assert_eq!(r.run(&["update", "-m", "64m", "up"]).ok().trim(), "up");
    assert_eq!(read(&limit), (64u64 << 20).to_string());
    // Now above the swap limit: docker's error, nothing changed.
    let e = r.run(&["update", "-m", "256m", "up"]);
    assert_eq!(e.code, 1);
    assert!(
        e.stderr.contains("update the memoryswap at the same time"),
        "{}",
        e.stderr
    );
    assert_eq!(read(&limit), (64u64 << 20).to_string());
    r.run(&["update", "-m", "256m", "--memory-swap", "-1", "up"])
        .ok();
    assert_eq!(read(&limit), (256u64 << 20).to_string());
    // A tighter limit is enforced at once.
    r.run(&["update", "-m", "16m", "--memory-swap", "16m", "up"])
        .ok();
    let out = r.run(&["exec", "up", "sh", "-c", "tail /dev/zero"]);
    assert_eq!(out.code, 137, "{}", out.stderr);
    r.run(&[
        "update",
        "--restart",
        "on-failure:3",
        "--pids-limit",
        "20",
        "up",
    ])
    .ok();
    let hc = r
        .run(&["inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.PidsLimit}} {{.HostConfig.RestartPolicy.Name}}", "up"])
        .ok()
        .trim()
        .to_string();
    assert_eq!(hc, format!("{} {} 20 on-failure", 16 << 20, 16 << 20));
    let e = r.run(&["update", "up"]);
    assert_ne!(e.code, 0);
    assert!(
        e.stderr.contains("you must provide one or more flags"),
        "{}",
        e.stderr
    );
    r.run(&["rm", "-f", "up"]).ok();
    assert!(cgroups_of(&id).is_empty());
}

#[test]
fn limits_land_in_the_cgroup_and_inspect() {
    let r = Rdock::with_busybox();
    r.run(&[
        "run",
        "-d",
        "--name",
        "all",
        "--network",
        "none",
        "-m",
        "100m",
        "--memory-reservation",
        "50m",
        "-c",
        "512",
        "--cpu-period",
        "50000",
        "--cpu-quota",
        "25000",
        "--cpuset-cpus",
        "0",
        "--shm-size",
        "128m",
        "busybox",
        "sleep",
        "600",
    ])
    .ok();
    let id = id_of(&r, "all");
    assert_eq!(
        read(&cg_file(
            &id,
            "memory",
            "memory.limit_in_bytes",
            "memory.max"
        )),
        (100u64 << 20).to_string()
    );
    let cpuset = cg_file(&id, "cpuset", "cpuset.cpus", "cpuset.cpus");
    assert_eq!(read(&cpuset), "0");
    if Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        assert_eq!(read(&cg_file(&id, "", "", "cpu.max")), "25000 50000");
    } else {
        assert_eq!(read(&cg_file(&id, "cpu", "cpu.cfs_quota_us", "")), "25000");
        assert_eq!(read(&cg_file(&id, "cpu", "cpu.shares", "")), "512");
    }
    let shm = r
        .run(&["exec", "all", "df", "-k", "/dev/shm"])
        .ok()
        .to_string();
    assert!(shm.contains("131072"), "{shm}");
    let hc = r
        .run(&["inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.MemoryReservation}} {{.HostConfig.CpuShares}} {{.HostConfig.CpuPeriod}} {{.HostConfig.CpuQuota}} {{.HostConfig.CpusetCpus}} {{.HostConfig.ShmSize}}", "all"])
        .ok()
        .trim()
        .to_string();
    assert_eq!(
        hc,
        format!("{} {} 512 50000 25000 0 {}", 100 << 20, 50 << 20, 128 << 20)
    );
    r.run(&["rm", "-f", "all"]).ok();
    assert!(cgroups_of(&id).is_empty());
}

#[test]
fn a_cgroup_parent_of_the_users_is_used_and_left() {
    let r = Rdock::with_busybox();
    let parent = format!("rdtest-parent-{}", std::process::id());
    struct Cleanup(String);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            if let Ok(rd) = std::fs::read_dir("/sys/fs/cgroup") {
                for h in rd.flatten() {
                    let _ = std::fs::remove_dir(h.path().join(&self.0));
                }
            }
        }
    }
    let _c = Cleanup(parent.clone());
    r.run(&[
        "run",
        "-d",
        "--name",
        "cp",
        "--network",
        "none",
        "--cgroup-parent",
        &parent,
        "busybox",
        "sleep",
        "600",
    ])
    .ok();
    let id = id_of(&r, "cp");
    let pid = wait_for_pid(&r, "cp");
    let own = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    assert!(own.contains(&format!("/{parent}/{id}")), "{own}");
    assert_eq!(
        r.run(&["inspect", "-f", "{{.HostConfig.CgroupParent}}", "cp"])
            .ok()
            .trim(),
        parent
    );
    r.run(&["rm", "-f", "cp"]).ok();
    let left: Vec<_> = std::fs::read_dir("/sys/fs/cgroup")
        .unwrap()
        .flatten()
        .map(|h| h.path().join(&parent).join(&id))
        .filter(|p| p.exists())
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn docker_errors_for_values_that_cannot_be() {
    let r = Rdock::with_busybox();
    let cases: &[(&[&str], &str)] = &[
        (&["-m", "1m"], "Minimum memory limit allowed is 6MB"),
        (
            &["-m", "lots"],
            "invalid argument \"lots\" for \"-m, --memory\" flag: invalid size: 'lots'",
        ),
        (&["--cpus", "x"], "failed to parse x as a rational number"),
        (&["--cpus", "64"], "Range of CPUs is from 0.01 to"),
        (
            &["--cpus", "1", "--cpu-quota", "50000"],
            "Conflicting options: Nano CPUs and CPU Quota cannot both be set",
        ),
        (
            &["--cpu-period", "10"],
            "CPU cfs period can not be less than 1ms",
        ),
        (
            &["--cpuset-cpus", "0-999"],
            "Requested CPUs are not available - requested 0-999",
        ),
        (
            &["-m", "64m", "--memory-swap", "32m"],
            "Minimum memoryswap limit should be larger than memory limit",
        ),
        (
            &["--memory-swap", "64m"],
            "You should always set the Memory limit when using Memoryswap limit",
        ),
        (
            &["--pids-limit", "x"],
            "strconv.ParseInt: parsing \"x\": invalid syntax",
        ),
        (&["--cgroupns", "bogus"], "--cgroupns: invalid CGROUP mode"),
        (&["--device-read-bps", "foo"], "bad format: foo"),
    ];
    for (flags, want) in cases {
        let mut args = vec!["create", "--network", "none"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&["busybox", "true"]);
        let out = r.run(&args);
        // As docker: the client's refusals of a flag's value exit 125,
        // the daemon's (limits it checks) 1.
        let client = [
            "invalid argument",
            "rational",
            "strconv",
            "CGROUP mode",
            "bad format",
        ]
        .iter()
        .any(|c| want.contains(c));
        let err = if client {
            out.fails_125()
        } else {
            out.fails_1()
        };
        assert!(err.contains(want), "{flags:?}: {err}");
    }
    assert_eq!(
        r.run(&["ps", "-aq"]).ok().trim(),
        "",
        "a refused create left a container"
    );
}
