//! What the container init is given (fixed before clone): the process,
//! its namespaces, its rootfs (docker's or an OCI bundle's) and what only
//! an OCI config asks. Types only: `process` spawns from them.

use super::rlimits::Ulimit;
use super::{caps, seccomp};
use std::os::fd::RawFd;

/// Everything the container init needs, fixed before clone.
#[derive(Debug, Clone)]
pub struct InitSpec {
    /// A new container, or a process joining a running one (`exec`).
    pub mode: InitMode,
    /// argv; argv[0] is looked up in the container's PATH if it has no '/'.
    pub argv: Vec<String>,
    pub env: Vec<String>,
    pub cwd: String,
    pub user: String,
    pub caps: u64,
    /// `--init`: stay as PID 1 (forwarding signals, reaping) and run the
    /// program as our child.
    pub init: bool,
    pub ulimits: Vec<Ulimit>,
    pub tty: bool,
    /// Without `-i` the container's stdin is /dev/null.
    pub stdin_open: bool,
    pub new_netns: bool,
    /// `--cgroupns private`: a cgroup namespace of its own.
    pub private_cgroupns: bool,
    /// `--network container:X`: that container's network namespace, held
    /// open by the caller until `spawn` returns.
    pub join_netns: Option<RawFd>,
    /// `--pid`, `--ipc`, `--uts`: a namespace of its own, the host's, or
    /// (pid, ipc) another container's, held open by the caller.
    pub pid_ns: NsMode,
    pub ipc_ns: NsMode,
    /// false with `--uts host`: the host's UTS namespace, hostname untouched.
    pub own_uts: bool,
    /// `--group-add`.
    pub group_add: Vec<String>,
    /// `--oom-score-adj` (0: left as inherited).
    pub oom_score_adj: i32,
    /// userns-remap: the user namespace the process enters once every
    /// host-privileged step is done (an fd the caller holds open).
    pub userns: Option<RawFd>,
    /// Where stdout/stderr go when not inherited (detached containers).
    pub stdio: Option<[RawFd; 3]>,
    /// The seccomp filter, compiled by the parent before clone.
    pub seccomp: Option<seccomp::Program>,
    /// `--security-opt no-new-privileges`.
    pub no_new_privs: bool,
    /// What only an OCI config asks for (rdock-runtime).
    pub extra: ProcessExtras,
}

/// What an OCI config can ask of the process beyond docker's options.
#[derive(Debug, Clone, Default)]
pub struct ProcessExtras {
    /// The five capability sets as given; `caps` is then the bounding set.
    pub cap_sets: Option<caps::Sets>,
    /// uid, gid and additional gids as given: no passwd or group lookup.
    pub ids: Option<(u32, u32, Vec<u32>)>,
    /// The process's umask (docker's 022 when unset).
    pub umask: Option<u32>,
    /// `create`'s exec fifo (an O_PATH fd): once set up, the init tells
    /// the parent it is ready and waits until `start` opens the fifo.
    pub start_gate: Option<RawFd>,
    /// `--preserve-fds N`: fds 3..3+N stay open in the program.
    pub preserve_fds: u32,
    /// The rlimits exactly as given, without docker's nofile default.
    pub exact_rlimits: bool,
    /// personality(2) domain (LINUX32).
    pub personality: Option<libc::c_ulong>,
    /// Namespaces joined by path (fd, CLONE_NEW* type) that `NsMode` does
    /// not cover (uts, cgroup), held open by the caller.
    pub join: Vec<(RawFd, libc::c_int)>,
    /// No new mount namespace (an OCI config without one): the host's
    /// mounts, no rootfs setup, as runc does.
    pub host_mount_ns: bool,
    /// startContainer hooks: run once started, just before exec (paths
    /// in the container), with `hook_state`.
    pub start_container: Vec<oci_spec::runtime::Hook>,
    pub hook_state: Option<serde_json::Value>,
    /// A new time namespace (entered at exec) with these
    /// /proc/self/timens_offsets lines.
    pub time_offsets: Option<String>,
}

/// Where a namespace of a new container comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum NsMode {
    #[default]
    Private,
    Host,
    /// Another container's (an fd of its /proc/PID/ns/*).
    Join(RawFd),
}

#[derive(Debug, Clone)]
pub enum InitMode {
    /// New namespaces (or joined by path), the rootfs built as the config
    /// says (a bundle's directory or rdock's overlay of image layers, the
    /// mounts in the order listed) and pivoted into, the names set: every
    /// new container, docker's and OCI bundles' alike.
    Oci {
        rootfs: Box<super::oci::rootfs::OciRootfs>,
        /// None: the namespace's hostname left as it is.
        hostname: Option<String>,
        domainname: Option<String>,
    },
    /// Join the namespaces of a running container's init (`exec`): open
    /// `/proc/<pid>/ns/*` fds, held by the caller until `spawn` returns.
    Join {
        /// (fd, CLONE_NEW* type) for ipc, uts, net, cgroup, mnt.
        namespaces: Vec<(RawFd, libc::c_int)>,
        /// The pid namespace, entered by the parent before clone (setns of
        /// a pid namespace only applies to children).
        pid_ns: RawFd,
    },
}
