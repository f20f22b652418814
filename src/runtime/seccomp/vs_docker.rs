//! rdock's default profile against docker's own `default.json`: both are
//! read by rdock's profile parser, compiled by its compiler and run in
//! `tests.rs`'s BPF interpreter for every syscall number, a set of
//! argument values (clone flags, socket families, personalities), several
//! capability sets and two kernels, so names, capabilities, architectures,
//! argument rules, minKernel and errno values are all compared.
//!
//! The file checked in CI is moby 20.10's, as Debian 12 ships it
//! (golang-github-docker-docker-dev; `scripts/test.sh` unpacks it into
//! target/ when the package is not installed). Where docker changed its
//! profile after 20.10, rdock follows docker 28: those syscalls are listed
//! in `DOCKER_SINCE_20_10`, and each must still differ (a stale entry
//! fails too). A newer docker's file can be compared with no such list:
//! `RDOCK_DOCKER_SECCOMP_JSON=/path/to/default.json cargo test --lib
//! vs_docker`.

use super::bpf::{Program, AUDIT_ARCH_NATIVE};
use super::profile::{syscall_nr, Context, Profile};
use super::syscalls::tests::native_header;
use super::syscalls::TABLE;
use super::tests::run;
use super::{compile, default_profile};
use std::collections::{BTreeMap, BTreeSet};

const DEBIAN_JSON: &str =
    "/usr/share/gocode/src/github.com/docker/docker/profiles/seccomp/default.json";
/// Where `scripts/test.sh` puts that file, under the repository.
const UNPACKED_JSON: &str = "target/test-data/docker-20.10-seccomp.json";

/// A syscall allowed to differ: for any arguments, or only for these
/// values of the first.
type Exception = (&'static str, Option<&'static [u64]>);

/// Syscalls whose rules docker changed between 20.10 and 28, for x86_64
/// and aarch64 (32-bit-only names have no number here).
const DOCKER_SINCE_20_10: &[Exception] = &[
    // 22.06: allowed from kernel 4.8 without CAP_SYS_PTRACE, as ptrace.
    ("process_vm_readv", None),
    ("process_vm_writev", None),
    // 24.0: memory protection keys; bpf with CAP_BPF and perf_event_open
    // with CAP_PERFMON (before: CAP_SYS_ADMIN only); socket refuses
    // AF_VSOCK.
    ("pkey_alloc", None),
    ("pkey_free", None),
    ("pkey_mprotect", None),
    ("bpf", None),
    ("perf_event_open", None),
    ("socket", Some(&[libc::AF_VSOCK as u64])),
    // 25.0: io_uring refused; name_to_handle_at without CAP_SYS_ADMIN.
    ("io_uring_setup", None),
    ("io_uring_enter", None),
    ("io_uring_register", None),
    ("name_to_handle_at", None),
    // 26.0: syscalls of kernels 5.17 - 6.7.
    ("set_mempolicy_home_node", None),
    ("cachestat", None),
    ("fchmodat2", None),
    ("map_shadow_stack", None),
    ("futex_wake", None),
    ("futex_wait", None),
    ("futex_requeue", None),
    // 28.2: syscalls of kernels 6.8 - 6.13 (lsm_* with CAP_SYS_ADMIN).
    ("statmount", None),
    ("listmount", None),
    ("lsm_get_self_attr", None),
    ("lsm_set_self_attr", None),
    ("lsm_list_modules", None),
    ("mseal", None),
    ("uretprobe", None),
    ("setxattrat", None),
    ("getxattrat", None),
    ("listxattrat", None),
    ("removexattrat", None),
];

/// Where rdock departs from docker 28 on purpose (docs/security.md):
/// socket refuses AF_ALG too, as docker does from 29.5.
const RDOCK_OWN: &[Exception] = &[("socket", Some(&[libc::AF_ALG as u64]))];

fn caps(names: &[&str]) -> u64 {
    names
        .iter()
        .fold(crate::runtime::caps::DEFAULT_MASK, |m, n| {
            let bit = crate::runtime::caps::by_name(n).unwrap_or_else(|| panic!("no cap {n}"));
            m | 1 << bit
        })
}

/// Capability sets: docker's default, with the capabilities that bring
/// syscalls in, and all of them.
fn cap_sets() -> Vec<(&'static str, u64)> {
    vec![
        ("none", 0),
        ("default", caps(&[])),
        ("+SYS_ADMIN", caps(&["SYS_ADMIN"])),
        ("+SYS_PTRACE", caps(&["SYS_PTRACE"])),
        // Every other capability docker's profile names, without
        // SYS_ADMIN (which would cover bpf, perf_event_open and syslog).
        (
            "+others",
            caps(&[
                "BPF",
                "PERFMON",
                "SYSLOG",
                "SYS_NICE",
                "SYS_TIME",
                "SYS_MODULE",
                "SYS_RAWIO",
                "SYS_BOOT",
                "SYS_PACCT",
                "SYS_TTY_CONFIG",
                "DAC_READ_SEARCH",
            ]),
        ),
        ("all", (1 << 41) - 1),
    ]
}

/// First argument values the profiles' rules look at.
fn argsets() -> Vec<[u64; 6]> {
    let clone = [
        libc::SIGCHLD as u64,
        (libc::CLONE_VM | libc::CLONE_THREAD | libc::CLONE_SIGHAND) as u64,
        (libc::CLONE_NEWNS | libc::SIGCHLD) as u64,
        libc::CLONE_NEWUSER as u64,
        libc::CLONE_NEWNET as u64,
    ];
    let families = [1, 2, 10, 16, 37, 38, 39, 40, 41, 45, 1 << 32 | 40];
    let personalities = [0, 8, 0x20000, 0x20008, 0xffff_ffff, 1, 0x0040_0000];
    clone
        .into_iter()
        .chain(families)
        .chain(personalities)
        .chain([u64::MAX])
        .map(|a| [a, 0, 0, 0, 0, 0])
        .collect()
}

fn name_of(nr: u32) -> String {
    TABLE
        .iter()
        .find(|(_, n)| *n == nr)
        .map_or_else(|| format!("#{nr}"), |(s, _)| s.to_string())
}

/// Where the two filters answer differently: (syscall name or `#nr`,
/// first argument) -> one example.
fn differences(docker: &Profile) -> BTreeMap<(String, u64), String> {
    let ours = default_profile();
    let top = TABLE.iter().map(|(_, n)| *n).max().unwrap_or(0) + 8;
    let args = argsets();
    let mut out = BTreeMap::new();
    for kernel in [(4, 4), (6, 18)] {
        for (set, caps) in cap_sets() {
            let ctx = Context { caps, kernel };
            let a: Program = compile(&ours, &ctx).unwrap();
            let b: Program = compile(docker, &ctx).unwrap();
            for nr in 0..=top {
                for arg in &args {
                    let (x, y) = (
                        run(&a, AUDIT_ARCH_NATIVE, nr, *arg).0,
                        run(&b, AUDIT_ARCH_NATIVE, nr, *arg).0,
                    );
                    if x != y {
                        out.entry((name_of(nr), arg[0])).or_insert_with(|| {
                            format!(
                                "rdock {x:#x}, docker {y:#x} (caps {set}, kernel {}.{})",
                                kernel.0, kernel.1
                            )
                        });
                    }
                }
            }
        }
    }
    out
}

fn excused(list: &[Exception], name: &str, arg0: u64) -> bool {
    list.iter()
        .any(|(n, args)| *n == name && args.is_none_or(|a| a.contains(&arg0)))
}

/// The differences no list excuses, one line per syscall.
fn unexpected(diff: &BTreeMap<(String, u64), String>, lists: &[&[Exception]]) -> Vec<String> {
    let mut by_name: BTreeMap<&str, (Vec<u64>, &str)> = BTreeMap::new();
    for ((name, arg0), why) in diff {
        if !lists.iter().any(|l| excused(l, name, *arg0)) {
            by_name
                .entry(name)
                .or_insert((Vec::new(), why))
                .0
                .push(*arg0);
        }
    }
    let all = argsets()
        .iter()
        .map(|a| a[0])
        .collect::<BTreeSet<_>>()
        .len();
    by_name
        .into_iter()
        .map(|(name, (args, why))| match args.len() {
            n if n == all => format!("{name}: {why}"),
            _ => format!("{name}: {why}; first arguments {args:x?}"),
        })
        .collect()
}

/// Syscalls docker names that this architecture's kernel has but rdock's
/// table lacks: both profiles would skip them, so the comparison below
/// could not see them.
fn unnumbered(docker: &Profile) -> Vec<String> {
    let header = native_header();
    let mut out: Vec<String> = docker
        .syscalls
        .iter()
        .flatten()
        .flat_map(|c| c.names.iter().flatten().chain([&c.name]))
        .filter(|n| header.contains_key(n.as_str()) && syscall_nr(n).is_none())
        .cloned()
        .collect();
    out.sort();
    out.dedup();
    out
}

fn debian_json() -> String {
    let unpacked = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(UNPACKED_JSON);
    for path in [std::path::Path::new(DEBIAN_JSON), &unpacked] {
        if let Ok(text) = std::fs::read_to_string(path) {
            return text;
        }
    }
    panic!(
        "docker's default.json is in neither {DEBIAN_JSON} nor {}: run scripts/test.sh \
         (it unpacks Debian's golang-github-docker-docker-dev there), or install that package",
        unpacked.display()
    );
}

#[test]
fn default_profile_matches_docker_20_10_but_for_later_changes() {
    let docker = Profile::from_json(&debian_json()).unwrap();
    let missing = unnumbered(&docker);
    assert!(
        missing.is_empty(),
        "not in rdock's syscall table: {missing:?}"
    );
    let diff = differences(&docker);
    let bad = unexpected(&diff, &[DOCKER_SINCE_20_10, RDOCK_OWN]);
    assert!(
        bad.is_empty(),
        "rdock's default profile differs from docker's on:\n{}",
        bad.join("\n")
    );
    // The list stays true: each entry this architecture has still differs.
    let known: BTreeSet<&str> = TABLE.iter().map(|(n, _)| *n).collect();
    let stale: Vec<&str> = DOCKER_SINCE_20_10
        .iter()
        .filter(|(n, _)| known.contains(n))
        .filter(|(n, _)| {
            !diff
                .keys()
                .any(|(name, arg0)| name == n && excused(DOCKER_SINCE_20_10, n, *arg0))
        })
        .map(|(n, _)| *n)
        .collect();
    assert!(stale.is_empty(), "no longer different: {stale:?}");
}

/// A newer docker's file, when given: only `RDOCK_OWN` may differ.
#[test]
fn default_profile_matches_a_given_docker_profile() {
    let Ok(path) = std::env::var("RDOCK_DOCKER_SECCOMP_JSON") else {
        return;
    };
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let docker = Profile::from_json(&text).unwrap();
    let missing = unnumbered(&docker);
    assert!(
        missing.is_empty(),
        "not in rdock's syscall table: {missing:?}"
    );
    let diff = differences(&docker);
    let bad = unexpected(&diff, &[RDOCK_OWN]);
    assert!(
        bad.is_empty(),
        "rdock's default profile differs from {path} on:\n{}",
        bad.join("\n")
    );
}
