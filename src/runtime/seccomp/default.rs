//! docker's default seccomp profile, as rdock's own data: everything is
//! refused with EPERM except an allowlist; some syscalls are allowed only
//! with some argument values, others only with a capability.
//!
//! Same semantics as docker 28's default (moby's `profiles/seccomp`), for
//! the architectures rdock builds for (x86_64, aarch64): the 32-bit-only
//! entries of docker's list (`chown32`, `*_time64`, `socketcall`...) have
//! no number here and are left out, since foreign-architecture syscalls
//! are refused as a whole (see `bpf.rs`). One deliberate difference:
//! socket(2) also refuses AF_ALG, as docker does from 29.5
//! (docs/security.md). `vs_docker.rs` checks this against docker's own
//! file.

use super::profile::{Arg, Filter, Profile, Syscall};

/// Allowed for everyone, by theme.
const ALLOWED: &[&[&str]] = &[
    // files and directories
    &[
        "access",
        "faccessat",
        "faccessat2",
        "chdir",
        "fchdir",
        "getcwd",
        "chmod",
        "fchmod",
        "fchmodat",
        "fchmodat2",
        "chown",
        "fchown",
        "fchownat",
        "lchown",
        "umask",
        "creat",
        "open",
        "openat",
        "openat2",
        "name_to_handle_at",
        "link",
        "linkat",
        "symlink",
        "symlinkat",
        "unlink",
        "unlinkat",
        "rename",
        "renameat",
        "renameat2",
        "mkdir",
        "mkdirat",
        "mknod",
        "mknodat",
        "rmdir",
        "readlink",
        "readlinkat",
        "stat",
        "lstat",
        "fstat",
        "newfstatat",
        "statx",
        "statfs",
        "fstatfs",
        "getdents",
        "getdents64",
        "truncate",
        "ftruncate",
        "fallocate",
        "fadvise64",
        "readahead",
        "utime",
        "utimes",
        "utimensat",
        "futimesat",
        "flock",
        "sync",
        "syncfs",
        "fsync",
        "fdatasync",
        "sync_file_range",
        "cachestat",
        "inotify_init",
        "inotify_init1",
        "inotify_add_watch",
        "inotify_rm_watch",
        "fanotify_mark",
        "listmount",
        "statmount",
    ],
    // extended attributes
    &[
        "getxattr",
        "lgetxattr",
        "fgetxattr",
        "getxattrat",
        "setxattr",
        "lsetxattr",
        "fsetxattr",
        "setxattrat",
        "listxattr",
        "llistxattr",
        "flistxattr",
        "listxattrat",
        "removexattr",
        "lremovexattr",
        "fremovexattr",
        "removexattrat",
    ],
    // descriptors and I/O
    &[
        "read",
        "readv",
        "pread64",
        "preadv",
        "preadv2",
        "write",
        "writev",
        "pwrite64",
        "pwritev",
        "pwritev2",
        "lseek",
        "close",
        "close_range",
        "dup",
        "dup2",
        "dup3",
        "fcntl",
        "ioctl",
        "pipe",
        "pipe2",
        "splice",
        "tee",
        "vmsplice",
        "sendfile",
        "copy_file_range",
        "select",
        "pselect6",
        "poll",
        "ppoll",
        "epoll_create",
        "epoll_create1",
        "epoll_ctl",
        "epoll_ctl_old",
        "epoll_wait",
        "epoll_wait_old",
        "epoll_pwait",
        "epoll_pwait2",
        "eventfd",
        "eventfd2",
        "signalfd",
        "signalfd4",
        "timerfd_create",
        "timerfd_gettime",
        "timerfd_settime",
        "memfd_create",
        "memfd_secret",
        "io_setup",
        "io_destroy",
        "io_submit",
        "io_cancel",
        "io_getevents",
        "io_pgetevents",
        "ioprio_get",
        "ioprio_set",
    ],
    // memory
    &[
        "brk",
        "mmap",
        "munmap",
        "mremap",
        "mprotect",
        "madvise",
        "mincore",
        "msync",
        "mlock",
        "mlock2",
        "mlockall",
        "munlock",
        "munlockall",
        "remap_file_pages",
        "membarrier",
        "pkey_alloc",
        "pkey_free",
        "pkey_mprotect",
        "map_shadow_stack",
        "mseal",
    ],
    // processes, threads, signals
    &[
        "execve",
        "execveat",
        "exit",
        "exit_group",
        "fork",
        "vfork",
        "wait4",
        "waitid",
        "kill",
        "tkill",
        "tgkill",
        "pidfd_open",
        "pidfd_send_signal",
        "process_mrelease",
        "rt_sigaction",
        "rt_sigprocmask",
        "rt_sigpending",
        "rt_sigqueueinfo",
        "rt_sigreturn",
        "rt_sigsuspend",
        "rt_sigtimedwait",
        "rt_tgsigqueueinfo",
        "sigaltstack",
        "restart_syscall",
        "futex",
        "futex_waitv",
        "futex_wait",
        "futex_wake",
        "futex_requeue",
        "set_robust_list",
        "get_robust_list",
        "set_tid_address",
        "get_thread_area",
        "set_thread_area",
        "rseq",
        "uretprobe",
        "getpid",
        "getppid",
        "gettid",
        "getpgid",
        "getpgrp",
        "setpgid",
        "getsid",
        "setsid",
        "getcpu",
        "prctl",
        "seccomp",
        "capget",
        "capset",
        "landlock_create_ruleset",
        "landlock_add_rule",
        "landlock_restrict_self",
        "getrandom",
    ],
    // credentials
    &[
        "getuid",
        "geteuid",
        "getgid",
        "getegid",
        "getresuid",
        "getresgid",
        "getgroups",
        "setuid",
        "setgid",
        "setreuid",
        "setregid",
        "setresuid",
        "setresgid",
        "setfsuid",
        "setfsgid",
        "setgroups",
    ],
    // limits, scheduling, accounting
    &[
        "getrlimit",
        "setrlimit",
        "prlimit64",
        "getrusage",
        "getpriority",
        "setpriority",
        "sched_yield",
        "sched_getaffinity",
        "sched_setaffinity",
        "sched_getattr",
        "sched_setattr",
        "sched_getparam",
        "sched_setparam",
        "sched_getscheduler",
        "sched_setscheduler",
        "sched_get_priority_max",
        "sched_get_priority_min",
        "sched_rr_get_interval",
        "sysinfo",
        "times",
        "uname",
    ],
    // time (reading it; setting it needs CAP_SYS_TIME below)
    &[
        "time",
        "gettimeofday",
        "clock_gettime",
        "clock_getres",
        "clock_nanosleep",
        "clock_adjtime",
        "adjtimex",
        "nanosleep",
        "alarm",
        "pause",
        "getitimer",
        "setitimer",
        "timer_create",
        "timer_delete",
        "timer_gettime",
        "timer_settime",
        "timer_getoverrun",
    ],
    // System V and POSIX IPC
    &[
        "msgget",
        "msgsnd",
        "msgrcv",
        "msgctl",
        "semget",
        "semop",
        "semtimedop",
        "semctl",
        "shmget",
        "shmat",
        "shmdt",
        "shmctl",
        "mq_open",
        "mq_unlink",
        "mq_timedsend",
        "mq_timedreceive",
        "mq_notify",
        "mq_getsetattr",
    ],
    // sockets (socket(2) itself: by family, below)
    &[
        "socketpair",
        "bind",
        "listen",
        "accept",
        "accept4",
        "connect",
        "shutdown",
        "getsockname",
        "getpeername",
        "getsockopt",
        "setsockopt",
        "sendto",
        "sendmsg",
        "sendmmsg",
        "recvfrom",
        "recvmsg",
        "recvmmsg",
    ],
];

/// Allowed with a capability in the bounding set: what that capability
/// makes useful. Several lists name a syscall twice; any one suffices.
const WITH_CAP: &[(&str, &[&str])] = &[
    ("CAP_DAC_READ_SEARCH", &["open_by_handle_at"]),
    (
        "CAP_SYS_ADMIN",
        &[
            "mount",
            "umount",
            "umount2",
            "mount_setattr",
            "move_mount",
            "open_tree",
            "fsopen",
            "fsconfig",
            "fsmount",
            "fspick",
            "unshare",
            "setns",
            "clone",
            "clone3",
            "sethostname",
            "setdomainname",
            "bpf",
            "perf_event_open",
            "fanotify_init",
            "lookup_dcookie",
            "quotactl",
            "quotactl_fd",
            "syslog",
            "lsm_get_self_attr",
            "lsm_set_self_attr",
            "lsm_list_modules",
        ],
    ),
    ("CAP_SYS_BOOT", &["reboot"]),
    ("CAP_SYS_CHROOT", &["chroot"]),
    (
        "CAP_SYS_MODULE",
        &["init_module", "finit_module", "delete_module"],
    ),
    ("CAP_SYS_PACCT", &["acct"]),
    (
        "CAP_SYS_PTRACE",
        &[
            "ptrace",
            "process_vm_readv",
            "process_vm_writev",
            "process_madvise",
            "kcmp",
            "pidfd_getfd",
        ],
    ),
    ("CAP_SYS_RAWIO", &["ioperm", "iopl"]),
    ("CAP_SYS_TIME", &["settimeofday", "clock_settime"]),
    ("CAP_SYS_TTY_CONFIG", &["vhangup"]),
    (
        "CAP_SYS_NICE",
        &[
            "mbind",
            "get_mempolicy",
            "set_mempolicy",
            "set_mempolicy_home_node",
        ],
    ),
    ("CAP_SYSLOG", &["syslog"]),
    ("CAP_BPF", &["bpf"]),
    ("CAP_PERFMON", &["perf_event_open"]),
];

/// The namespace flags of clone(2): refused without CAP_SYS_ADMIN.
const CLONE_NS_FLAGS: u64 = (libc::CLONE_NEWNS
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUSER
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNET
    | libc::CLONE_NEWCGROUP) as u64;

/// personality(2) values docker allows: PER_LINUX, PER_LINUX32,
/// UNAME26, PER_LINUX32|UNAME26, and 0xffffffff (the query).
const PERSONALITIES: &[u64] = &[0x0, 0x8, 0x20000, 0x20008, 0xffff_ffff];

fn allow(names: &[&str]) -> Syscall {
    Syscall {
        names: Some(names.iter().map(|s| s.to_string()).collect()),
        action: "SCMP_ACT_ALLOW".into(),
        ..Default::default()
    }
}

fn arg(index: u32, op: &str, value: u64, value_two: u64) -> Arg {
    Arg {
        index,
        value,
        value_two,
        op: op.into(),
    }
}

fn caps(c: &[&str]) -> Option<Filter> {
    Some(Filter {
        caps: Some(c.iter().map(|s| s.to_string()).collect()),
        ..Default::default()
    })
}

pub fn profile() -> Profile {
    let mut calls: Vec<Syscall> = ALLOWED.iter().map(|g| allow(g)).collect();
    // Tracing: with no capability, ptrace only reaches the container's own
    // processes (the kernel's ptrace checks); docker allows it from 4.8,
    // where seccomp can no longer be bypassed through ptrace.
    calls.push(Syscall {
        includes: Some(Filter {
            min_kernel: Some("4.8".into()),
            ..Default::default()
        }),
        ..allow(&["ptrace", "process_vm_readv", "process_vm_writev"])
    });
    // socket(2): every family but AF_ALG (38, kernel crypto; docker 28
    // allows it, 29.5 no longer) and AF_VSOCK (40, the hypervisor's
    // sockets).
    const AF_NFC: u64 = libc::AF_ALG as u64 + 1; // 39, the one family between
    for a in [
        arg(0, "SCMP_CMP_LT", libc::AF_ALG as u64, 0),
        arg(0, "SCMP_CMP_EQ", AF_NFC, 0),
        arg(0, "SCMP_CMP_GT", libc::AF_VSOCK as u64, 0),
    ] {
        calls.push(Syscall {
            args: Some(vec![a]),
            ..allow(&["socket"])
        });
    }
    for p in PERSONALITIES {
        calls.push(Syscall {
            args: Some(vec![arg(0, "SCMP_CMP_EQ", *p, 0)]),
            ..allow(&["personality"])
        });
    }
    calls.push(Syscall {
        includes: Some(Filter {
            arches: Some(vec!["amd64".into()]),
            ..Default::default()
        }),
        ..allow(&["arch_prctl", "modify_ldt"])
    });
    calls.push(Syscall {
        includes: Some(Filter {
            arches: Some(vec!["arm64".into()]),
            ..Default::default()
        }),
        ..allow(&[
            "arm_fadvise64_64",
            "arm_sync_file_range",
            "sync_file_range2",
            "breakpoint",
            "cacheflush",
            "set_tls",
        ])
    });
    for (cap, names) in WITH_CAP {
        calls.push(Syscall {
            includes: caps(&[cap]),
            ..allow(names)
        });
    }
    // Without CAP_SYS_ADMIN: clone without namespace flags (fork and
    // threads) ...
    calls.push(Syscall {
        args: Some(vec![arg(0, "SCMP_CMP_MASKED_EQ", CLONE_NS_FLAGS, 0)]),
        excludes: caps(&["CAP_SYS_ADMIN"]),
        ..allow(&["clone"])
    });
    // ... and clone3, whose flags live in memory seccomp cannot read,
    // says ENOSYS so that libcs fall back to clone.
    calls.push(Syscall {
        names: Some(vec!["clone3".into()]),
        action: "SCMP_ACT_ERRNO".into(),
        errno_ret: Some(libc::ENOSYS as u32),
        excludes: caps(&["CAP_SYS_ADMIN"]),
        ..Default::default()
    });
    Profile {
        default_action: "SCMP_ACT_ERRNO".into(),
        default_errno_ret: Some(libc::EPERM as u32),
        syscalls: Some(calls),
        ..Default::default()
    }
}
