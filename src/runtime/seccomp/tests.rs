//! The compiler checked by running its BPF in a small interpreter against
//! a direct evaluation of the resolved rules, for every syscall number.

use super::bpf::{Program, ALU_AND_K, AUDIT_ARCH_NATIVE, JA, JEQ_K, JGE_K, JGT_K, LD_W_ABS, RET_K};
use super::profile::*;
use super::{bpf, compile, default_profile, filter_for, Mode};

const ALL_CAPS: u64 = (1 << 41) - 1;
const DOCKER_CAPS: u64 = 0xa80425fb;

fn ctx(caps: u64) -> Context {
    Context {
        caps,
        kernel: (6, 1),
    }
}

/// Runs `prog` on a seccomp_data; returns (return value, instructions run).
pub(super) fn run(prog: &Program, arch: u32, nr: u32, args: [u64; 6]) -> (u32, usize) {
    let mut data = [0u8; 64];
    data[0..4].copy_from_slice(&nr.to_le_bytes());
    data[4..8].copy_from_slice(&arch.to_le_bytes());
    for (i, a) in args.iter().enumerate() {
        data[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_le_bytes());
    }
    let (mut pc, mut acc, mut steps) = (0usize, 0u32, 0usize);
    loop {
        let i = prog.0[pc];
        steps += 1;
        pc += 1;
        match i.code {
            LD_W_ABS => {
                let k = i.k as usize;
                acc = u32::from_le_bytes(data[k..k + 4].try_into().unwrap());
            }
            ALU_AND_K => acc &= i.k,
            JA => pc += i.k as usize,
            JEQ_K | JGT_K | JGE_K => {
                let t = match i.code {
                    JEQ_K => acc == i.k,
                    JGT_K => acc > i.k,
                    _ => acc >= i.k,
                };
                pc += if t { i.jt } else { i.jf } as usize;
            }
            RET_K => return (i.k, steps),
            c => panic!("unexpected opcode {c:#x}"),
        }
    }
}

fn holds(c: &ArgCmp, args: &[u64; 6]) -> bool {
    let a = args[c.index as usize];
    match c.op {
        Op::Eq => a == c.value,
        Op::Ne => a != c.value,
        Op::Lt => a < c.value,
        Op::Le => a <= c.value,
        Op::Gt => a > c.value,
        Op::Ge => a >= c.value,
        Op::MaskedEq => a & c.value == c.value_two,
    }
}

/// What the filter should answer, straight from the resolved rules.
fn reference(r: &Resolved, nr: u32, args: &[u64; 6]) -> u32 {
    if r.last_nr.is_some_and(|l| nr > l) && !matches!(r.default, Action::Allow | Action::Log) {
        return Action::Errno(libc::ENOSYS as u16).ret();
    }
    let Some(rules) = r.rules.get(&nr) else {
        return r.default.ret();
    };
    if let Some(x) = rules
        .iter()
        .filter(|x| !x.args.is_empty())
        .find(|x| x.args.iter().all(|c| holds(c, args)))
    {
        return x.action.ret();
    }
    rules
        .iter()
        .find(|x| x.args.is_empty())
        .map_or(r.default.ret(), |x| x.action.ret())
}

fn nr(name: &str) -> u32 {
    syscall_nr(name).unwrap_or_else(|| panic!("no syscall {name}"))
}

fn check(profile: &Profile, caps: u64, argsets: &[[u64; 6]]) {
    let r = profile.resolve(&ctx(caps)).unwrap();
    let prog = bpf::compile(&r).unwrap();
    for n in (0..=max_known_nr() + 3).chain([0x3fff_ffff, u32::MAX >> 2]) {
        for args in argsets {
            let (got, _) = run(&prog, AUDIT_ARCH_NATIVE, n, *args);
            assert_eq!(got, reference(&r, n, args), "syscall {n} args {args:x?}");
        }
    }
}

const EPERM: u32 = 0x0005_0000 | libc::EPERM as u32;
const ENOSYS: u32 = 0x0005_0000 | libc::ENOSYS as u32;
const ALLOW: u32 = 0x7fff_0000;

fn verdict(prog: &Program, name: &str, args: [u64; 6]) -> u32 {
    run(prog, AUDIT_ARCH_NATIVE, nr(name), args).0
}

#[test]
fn default_profile_as_docker() {
    let p = default_profile();
    let prog = compile(&p, &ctx(DOCKER_CAPS)).unwrap();
    let a = [0u64; 6];
    for ok in [
        "read",
        "write",
        "execve",
        "setresuid",
        "capset",
        "prctl",
        "chdir",
        "wait4",
        "io_pgetevents",
        "fchmodat2",
    ] {
        assert_eq!(verdict(&prog, ok, a), ALLOW, "{ok}");
    }
    // ptrace: allowed (kernel >= 4.8), the kernel checks whom.
    assert_eq!(verdict(&prog, "ptrace", a), ALLOW);
    for no in [
        "mount",
        "umount2",
        "unshare",
        "setns",
        "keyctl",
        "add_key",
        "init_module",
        "finit_module",
        "delete_module",
        "reboot",
        "kexec_load",
        "bpf",
        "perf_event_open",
        "open_by_handle_at",
        "settimeofday",
        "acct",
        "swapon",
        "pivot_root",
        "userfaultfd",
        "io_uring_setup",
    ] {
        assert_eq!(verdict(&prog, no, a), EPERM, "{no}");
    }
    // clone: without namespace flags only; clone3 says ENOSYS.
    let sigchld = libc::SIGCHLD as u64;
    assert_eq!(verdict(&prog, "clone", [sigchld, 0, 0, 0, 0, 0]), ALLOW);
    let newns = libc::CLONE_NEWNS as u64 | sigchld;
    assert_eq!(verdict(&prog, "clone", [newns, 0, 0, 0, 0, 0]), EPERM);
    let newuser = libc::CLONE_NEWUSER as u64;
    assert_eq!(verdict(&prog, "clone", [newuser, 0, 0, 0, 0, 0]), EPERM);
    assert_eq!(verdict(&prog, "clone3", a), ENOSYS);
    // socket: not AF_ALG (38) nor AF_VSOCK (40).
    for (fam, want) in [
        (1, ALLOW),
        (2, ALLOW),
        (10, ALLOW),
        (16, ALLOW),
        (37, ALLOW),
        (38, EPERM),
        (39, ALLOW),
        (40, EPERM),
        (41, ALLOW),
        (1 << 32, ALLOW),
    ] {
        assert_eq!(
            verdict(&prog, "socket", [fam, 1, 0, 0, 0, 0]),
            want,
            "family {fam}"
        );
    }
    for (pers, want) in [
        (0, ALLOW),
        (8, ALLOW),
        (0x20000, ALLOW),
        (0x20008, ALLOW),
        (0xffff_ffff, ALLOW),
        (1, EPERM),
        (0x0040_0000, EPERM),
    ] {
        assert_eq!(
            verdict(&prog, "personality", [pers, 0, 0, 0, 0, 0]),
            want,
            "{pers:#x}"
        );
    }
    // Another ABI is killed; so are x32 numbers on x86_64. Syscalls above
    // the last one docker's profile names get ENOSYS, as with runc, known
    // to rdock's table or not.
    assert_eq!(run(&prog, 0x4000_0003, 1, a).0, 0x8000_0000);
    #[cfg(target_arch = "x86_64")]
    assert_eq!(run(&prog, AUDIT_ARCH_NATIVE, 0x4000_0000, a).0, 0x8000_0000);
    let last = nr("removexattrat");
    assert_eq!(run(&prog, AUDIT_ARCH_NATIVE, last, a).0, ALLOW);
    for new in ["open_tree_attr", "file_getattr", "file_setattr"] {
        assert!(nr(new) > last);
        assert_eq!(verdict(&prog, new, a), ENOSYS, "{new}");
    }
    assert_eq!(run(&prog, AUDIT_ARCH_NATIVE, 5000, a).0, ENOSYS);
}

/// runc's ENOSYS stub: above the highest number the profile names for
/// the container, whatever that rule's action; not when the default
/// allows; none when nothing is named.
#[test]
fn enosys_above_the_last_named_syscall() {
    let a = [0u64; 6];
    let json = r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
        {"names":["getpid","no_such_syscall"],"action":"SCMP_ACT_ALLOW"},
        {"names":["gettid"],"action":"SCMP_ACT_ERRNO"},
        {"names":["setns"],"action":"SCMP_ACT_ALLOW","includes":{"caps":["CAP_SYS_ADMIN"]}}]}"#;
    let p = Profile::from_json(json).unwrap();
    let prog = compile(&p, &ctx(0)).unwrap();
    let last = nr("getpid").max(nr("gettid"));
    assert_eq!(p.resolve(&ctx(0)).unwrap().last_nr, Some(last));
    assert_eq!(verdict(&prog, "getpid", a), ALLOW);
    assert_eq!(run(&prog, AUDIT_ARCH_NATIVE, last, a).0, EPERM);
    assert_eq!(run(&prog, AUDIT_ARCH_NATIVE, last + 1, a).0, ENOSYS);
    // setns (numbered higher) is only named with CAP_SYS_ADMIN.
    let setns = nr("setns");
    assert!(setns > last);
    assert_eq!(verdict(&prog, "setns", a), ENOSYS);
    let admin = compile(&p, &ctx(1 << 21)).unwrap();
    assert_eq!(verdict(&admin, "setns", a), ALLOW);
    assert_eq!(run(&admin, AUDIT_ARCH_NATIVE, last + 1, a).0, EPERM);
    assert_eq!(run(&admin, AUDIT_ARCH_NATIVE, setns + 1, a).0, ENOSYS);
    let allow = Profile::from_json(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getpid"],"action":"SCMP_ACT_ERRNO"}]}"#,
    )
    .unwrap();
    let prog = compile(&allow, &ctx(0)).unwrap();
    assert_eq!(run(&prog, AUDIT_ARCH_NATIVE, 5000, a).0, ALLOW);
    let none = Profile::from_json(r#"{"defaultAction":"SCMP_ACT_ERRNO"}"#).unwrap();
    let prog = compile(&none, &ctx(0)).unwrap();
    assert_eq!(run(&prog, AUDIT_ARCH_NATIVE, 5000, a).0, EPERM);
}

#[test]
fn capabilities_add_their_syscalls() {
    let p = default_profile();
    let cap = |n: &str| 1u64 << crate::runtime::caps::by_name(n).unwrap();
    let a = [0u64; 6];
    let admin = compile(&p, &ctx(DOCKER_CAPS | cap("SYS_ADMIN"))).unwrap();
    for ok in [
        "mount",
        "umount2",
        "unshare",
        "setns",
        "sethostname",
        "clone3",
        "bpf",
    ] {
        assert_eq!(verdict(&admin, ok, a), ALLOW, "{ok}");
    }
    let newns = libc::CLONE_NEWNS as u64;
    assert_eq!(verdict(&admin, "clone", [newns, 0, 0, 0, 0, 0]), ALLOW);
    for (c, calls) in [
        (
            "SYS_MODULE",
            &["init_module", "finit_module", "delete_module"][..],
        ),
        ("SYS_BOOT", &["reboot"]),
        ("SYS_PACCT", &["acct"]),
        ("SYS_PTRACE", &["kcmp", "pidfd_getfd", "process_madvise"]),
        ("SYS_TIME", &["settimeofday", "clock_settime"]),
        ("SYS_TTY_CONFIG", &["vhangup"]),
        ("SYS_NICE", &["mbind", "set_mempolicy"]),
        ("SYSLOG", &["syslog"]),
        ("BPF", &["bpf"]),
        ("PERFMON", &["perf_event_open"]),
        ("DAC_READ_SEARCH", &["open_by_handle_at"]),
    ] {
        let without = compile(&p, &ctx(DOCKER_CAPS)).unwrap();
        let with = compile(&p, &ctx(DOCKER_CAPS | cap(c))).unwrap();
        for s in calls {
            assert_eq!(verdict(&without, s, a), EPERM, "{s} without {c}");
            assert_eq!(verdict(&with, s, a), ALLOW, "{s} with {c}");
        }
    }
    #[cfg(target_arch = "x86_64")]
    {
        let raw = compile(&p, &ctx(DOCKER_CAPS | cap("SYS_RAWIO"))).unwrap();
        assert_eq!(verdict(&raw, "iopl", a), ALLOW);
        assert_eq!(verdict(&raw, "arch_prctl", a), ALLOW);
    }
}

#[test]
fn filter_matches_the_rules_for_every_syscall() {
    let argsets = [
        [0u64; 6],
        [libc::SIGCHLD as u64, 0, 0, 0, 0, 0],
        [libc::CLONE_NEWNET as u64, 7, 0, 0, 0, 0],
        [38, 0, 0, 0, 0, 0],
        [40, 0, 0, 0, 0, 0],
        [0xffff_ffff, 0, 0, 0, 0, 0],
        [u64::MAX, u64::MAX, 1, 2, 3, 4],
    ];
    let p = default_profile();
    for caps in [0, DOCKER_CAPS, ALL_CAPS] {
        check(&p, caps, &argsets);
    }
}

#[test]
fn every_operator_on_64_bit_values() {
    let vals = [
        0u64,
        1,
        0x7fff_ffff,
        0xffff_ffff,
        0x1_0000_0000,
        0x1_0000_0001,
        0xffff_ffff_0000_0000,
        u64::MAX,
    ];
    for op in [
        "SCMP_CMP_EQ",
        "SCMP_CMP_NE",
        "SCMP_CMP_LT",
        "SCMP_CMP_LE",
        "SCMP_CMP_GT",
        "SCMP_CMP_GE",
        "SCMP_CMP_MASKED_EQ",
    ] {
        for v in vals {
            let json = format!(
                r#"{{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{{"names":["mkdir","getpid"],"action":"SCMP_ACT_ERRNO","errnoRet":13,
                    "args":[{{"index":2,"value":{v},"valueTwo":{},"op":"{op}"}}]}}]}}"#,
                v & 0xffff_0000_ffff_0000
            );
            let p = Profile::from_json(&json).unwrap();
            let argsets: Vec<[u64; 6]> = vals.iter().map(|a| [0, 0, *a, 0, 0, 0]).collect();
            check(&p, 0, &argsets);
        }
    }
}

#[test]
fn long_subtrees_jump_with_ja() {
    // A conditional rule on every syscall: subtrees far longer than 255.
    let names: Vec<String> = (0..300)
        .filter_map(|n| {
            super::syscalls::TABLE
                .iter()
                .find(|(_, x)| *x == n)
                .map(|(s, _)| format!("\"{s}\""))
        })
        .collect();
    let json = format!(
        r#"{{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
            {{"names":[{}],"action":"SCMP_ACT_ALLOW","args":[{{"index":0,"value":5,"op":"SCMP_CMP_GT"}},{{"index":1,"value":3,"op":"SCMP_CMP_NE"}}]}}]}}"#,
        names.join(",")
    );
    let p = Profile::from_json(&json).unwrap();
    let r = p.resolve(&ctx(0)).unwrap();
    let prog = bpf::compile(&r).unwrap();
    assert!(
        prog.0.iter().any(|i| i.code == JA),
        "expected ja trampolines"
    );
    check(
        &p,
        0,
        &[[6, 0, 0, 0, 0, 0], [6, 3, 0, 0, 0, 0], [5, 0, 0, 0, 0, 0]],
    );
}

#[test]
fn docker_json_profiles() {
    let json = r#"{
        "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
        "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]}],
        "syscalls": [
            {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
            {"name": "mkdir", "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
            {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
            {"names": ["getpid"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_KILL"]}},
            {"names": ["gettid"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "99.1"}},
            {"names": ["getppid"], "action": "SCMP_ACT_ALLOW", "excludes": {"arches": ["amd64", "arm64"]}},
            {"names": ["no_such_syscall", "getuid"], "action": "SCMP_ACT_LOG"},
            {"names": ["kill"], "action": "SCMP_ACT_KILL_PROCESS"},
            {"names": ["getgid"], "action": "SCMP_ACT_TRAP"}
        ]
    }"#;
    let p = Profile::from_json(json).unwrap();
    let prog = compile(&p, &ctx(1 << 5)).unwrap();
    let a = [0u64; 6];
    assert_eq!(verdict(&prog, "read", a), ALLOW);
    assert_eq!(verdict(&prog, "mkdir", a), 0x0005_000d);
    assert_eq!(verdict(&prog, "getpid", a), EPERM);
    // Not named for this container and above getgid, the last one named:
    // runc's ENOSYS.
    #[cfg(target_arch = "x86_64")]
    for s in ["mount", "gettid", "getppid"] {
        assert_eq!(verdict(&prog, s, a), ENOSYS, "{s}");
    }
    assert_eq!(verdict(&prog, "getuid", a), 0x7ffc_0000);
    assert_eq!(verdict(&prog, "kill", a), 0x8000_0000);
    assert_eq!(verdict(&prog, "getgid", a), 0x0003_0000);
    let admin = compile(&p, &ctx(1 << 21)).unwrap();
    assert_eq!(verdict(&admin, "mount", a), ALLOW);
    assert_eq!(verdict(&admin, "getpid", a), ALLOW);

    let bad = |j: &str| compile(&Profile::from_json(j)?, &ctx(0)).map(|_| ());
    assert!(bad("{")
        .unwrap_err()
        .to_string()
        .starts_with("Decoding seccomp profile failed"));
    assert!(bad(r#"{"defaultAction":"SCMP_ACT_NOPE"}"#).is_err());
    assert!(bad(r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"name":"read","names":["write"],"action":"SCMP_ACT_ERRNO"}]}"#).is_err());
    assert!(bad(r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO","args":[{"index":6,"value":1,"op":"SCMP_CMP_EQ"}]}]}"#).is_err());
    assert!(bad(r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":1,"op":"SCMP_CMP_XX"}]}]}"#).is_err());
    assert!(bad(r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64"],"archMap":[{"architecture":"SCMP_ARCH_X86_64"}]}"#).is_err());
    assert!(Profile::from_json("{}").unwrap().is_empty());
    assert!(filter_for(&Mode::Custom("{}".into()), false, 0)
        .unwrap()
        .is_none());
    assert!(filter_for(&Mode::Default, true, ALL_CAPS)
        .unwrap()
        .is_none());
    assert!(filter_for(&Mode::Unconfined, false, 0).unwrap().is_none());
    assert!(filter_for(&Mode::Default, false, DOCKER_CAPS)
        .unwrap()
        .is_some());
}

/// Figures, not assertions: `cargo test seccomp_figures -- --nocapture`.
#[test]
fn seccomp_figures() {
    let p = default_profile();
    let t = std::time::Instant::now();
    let n = 200;
    let mut len = 0;
    for _ in 0..n {
        len = filter_for(&Mode::Default, false, DOCKER_CAPS)
            .unwrap()
            .unwrap()
            .0
            .len();
    }
    let per = t.elapsed() / n;
    let prog = compile(&p, &ctx(DOCKER_CAPS)).unwrap();
    let r = p.resolve(&ctx(DOCKER_CAPS)).unwrap();
    let allowed: Vec<u32> = (0..=max_known_nr())
        .filter(|n| run(&prog, AUDIT_ARCH_NATIVE, *n, [0; 6]).0 == ALLOW)
        .collect();
    let steps: Vec<usize> = (0..=max_known_nr())
        .map(|n| run(&prog, AUDIT_ARCH_NATIVE, n, [0; 6]).1)
        .collect();
    let max = steps.iter().max().copied().unwrap_or(0);
    let avg = steps.iter().sum::<usize>() as f64 / steps.len() as f64;
    let hot = [
        "read",
        "write",
        "futex",
        "epoll_pwait",
        "mmap",
        "openat",
        "close",
    ];
    let hot_steps: Vec<usize> = hot
        .iter()
        .map(|s| run(&prog, AUDIT_ARCH_NATIVE, nr(s), [0; 6]).1)
        .collect();
    println!(
        "default profile: {} rules by number, {} allowed syscalls, {len} instructions, \
         compiled (parse+resolve+emit) in {per:?}; instructions run per syscall: \
         avg {avg:.1}, max {max}; hot syscalls {hot:?}: {hot_steps:?}; \
         a linear chain would run up to {} compares",
        r.rules.len(),
        allowed.len(),
        r.rules.len()
    );
    assert!(len > 0);
}
