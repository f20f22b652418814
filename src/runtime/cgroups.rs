//! A cgroup per container on cgroup v2 and on v1/hybrid hosts, created
//! under an rdock-owned parent (`<hierarchy>/rdock/<id>`). Only directories
//! rdock created are ever written to or removed; the host's own cgroups
//! and controllers are left as they are.

use super::{Result, RuntimeError};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub(crate) const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// rdock's own parent cgroup: created on demand and kept, as docker keeps
/// its `docker` parent. Making and removing it in every hierarchy with
/// each lone container cost 0.4-0.6 ms of a 7.8 ms start (10 mkdirs and
/// 10 rmdirs under the kernel's cgroup_mutex, the cpuset copied down).
pub const RDOCK_PARENT: &str = "rdock";

/// Controllers rdock enables for its children on cgroup v2 (each only if
/// the parent offers it).
const V2_CONTROLLERS: &[&str] = &[
    "cpu", "cpuset", "io", "memory", "pids", "hugetlb", "rdma", "misc",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupMode {
    /// /sys/fs/cgroup is cgroup2.
    Unified,
    /// v1 controllers, plus a v2 hierarchy at /sys/fs/cgroup/unified.
    Hybrid,
    /// v1 only.
    Legacy,
}

fn is_cgroup2(p: &str) -> bool {
    nix::sys::statfs::statfs(p)
        .map(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC)
        .unwrap_or(false)
}

impl CgroupMode {
    pub fn detect() -> CgroupMode {
        static MODE: OnceLock<CgroupMode> = OnceLock::new();
        *MODE.get_or_init(|| {
            if is_cgroup2(CGROUP_ROOT) {
                CgroupMode::Unified
            } else if is_cgroup2("/sys/fs/cgroup/unified") {
                CgroupMode::Hybrid
            } else {
                CgroupMode::Legacy
            }
        })
    }
    /// "1" or "2", as `docker info` prints CgroupVersion.
    pub fn version(&self) -> &'static str {
        match self {
            CgroupMode::Unified => "2",
            _ => "1",
        }
    }
}

/// A mounted hierarchy rdock places containers in.
#[derive(Debug, Clone)]
struct Hierarchy {
    mountpoint: PathBuf,
    /// v1 controllers (or "name=systemd"); empty for cgroup2.
    controllers: Vec<String>,
    v2: bool,
}

/// The hierarchies of this host, from /proc/self/mountinfo.
fn hierarchies() -> &'static [Hierarchy] {
    static H: OnceLock<Vec<Hierarchy>> = OnceLock::new();
    H.get_or_init(|| {
        if CgroupMode::detect() == CgroupMode::Unified {
            return vec![Hierarchy {
                mountpoint: PathBuf::from(CGROUP_ROOT),
                controllers: vec![],
                v2: true,
            }];
        }
        let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let mut out: Vec<Hierarchy> = Vec::new();
        for line in info.lines() {
            let Some((pre, post)) = line.split_once(" - ") else {
                continue;
            };
            let pre: Vec<&str> = pre.split(' ').collect();
            let post: Vec<&str> = post.split(' ').collect();
            let (Some(mp), Some(fstype)) = (pre.get(4), post.first()) else {
                continue;
            };
            // Only hierarchies mounted from their root: a bind of a subtree
            // is not a place to create our parent.
            if pre.get(3) != Some(&"/") || !mp.starts_with(CGROUP_ROOT) {
                continue;
            }
            let v2 = *fstype == "cgroup2";
            if *fstype != "cgroup" && !v2 {
                continue;
            }
            let controllers = post
                .get(2)
                .map(|o| {
                    o.split(',')
                        .filter(|x| {
                            !matches!(*x, "rw" | "ro" | "xattr" | "noprefix")
                                && !x.starts_with("release_agent")
                                && !x.starts_with("clone_children")
                        })
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            let mountpoint = PathBuf::from(mp.replace("\\040", " "));
            if out.iter().any(|h| h.mountpoint == mountpoint) {
                continue;
            }
            out.push(Hierarchy {
                mountpoint,
                controllers: if v2 { vec![] } else { controllers },
                v2,
            });
        }
        out
    })
}

/// Controllers whose failure makes container creation fail: without them
/// limits and process tracking would silently not work.
fn essential(h: &Hierarchy) -> bool {
    h.v2 && CgroupMode::detect() == CgroupMode::Unified
        || h.controllers
            .iter()
            .any(|c| matches!(c.as_str(), "memory" | "pids" | "cpu"))
}

fn cg_err(what: &str, p: &Path, e: std::io::Error) -> RuntimeError {
    RuntimeError::Cgroup(format!("{what} {}: {e}", p.display()))
}

/// mkdir that reports whether it created the directory.
fn mkdir(p: &Path) -> std::io::Result<bool> {
    match std::fs::create_dir(p) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

/// cpuset v1 refuses tasks in a cgroup whose cpus/mems are empty: copy the
/// parent's values into a new directory.
fn init_cpuset(dir: &Path) -> std::io::Result<()> {
    let Some(parent) = dir.parent() else {
        return Ok(());
    };
    for f in ["cpuset.cpus", "cpuset.mems"] {
        let cur = std::fs::read_to_string(dir.join(f)).unwrap_or_default();
        if cur.trim().is_empty() {
            let v = std::fs::read_to_string(parent.join(f))?;
            std::fs::write(dir.join(f), v.trim())?;
        }
    }
    Ok(())
}

/// On v2, delegate the controllers the root offers to rdock's children.
fn enable_v2_controllers(parent: &Path) {
    let have = std::fs::read_to_string(parent.join("cgroup.controllers")).unwrap_or_default();
    let on = std::fs::read_to_string(parent.join("cgroup.subtree_control")).unwrap_or_default();
    for c in V2_CONTROLLERS {
        let has = |s: &str| s.split_whitespace().any(|x| x == *c);
        if has(&have) && !has(&on) {
            // One at a time: a controller that cannot be enabled (e.g. cpu
            // with realtime tasks around) must not block the others.
            let _ = std::fs::write(parent.join("cgroup.subtree_control"), format!("+{c}"));
        }
    }
}

/// Where a container's freeze is set: its cgroup v2 dir or v1 freezer dir.
enum Freezer {
    V2(PathBuf),
    V1(PathBuf),
}

/// The cgroup(s) of one container: one directory per v1 hierarchy, or one v2 dir.
#[derive(Debug)]
pub struct Cgroup {
    pub mode: CgroupMode,
    pub dirs: Vec<PathBuf>,
}

/// See `Cgroup::entry`.
pub struct Entry {
    /// For clone3's CLONE_INTO_CGROUP.
    pub into: Option<std::os::fd::OwnedFd>,
    /// v1 hierarchies' `tasks` files, open for writing (CLOEXEC).
    pub tasks: Vec<(PathBuf, std::fs::File)>,
}

impl Cgroup {
    /// The freezer rdock uses for this container: cgroup v2's
    /// cgroup.freeze where the container has a v2 cgroup (also in the
    /// unified hierarchy of a hybrid host), else the v1 freezer.
    fn freezer(&self) -> Option<Freezer> {
        let v2 = self.dirs.iter().find(|d| d.join("cgroup.freeze").exists());
        let v1 = self.dirs.iter().find(|d| d.join("freezer.state").exists());
        match (v2, v1) {
            (Some(d), _) => Some(Freezer::V2(d.clone())),
            (None, Some(d)) => Some(Freezer::V1(d.clone())),
            _ => None,
        }
    }

    /// Freeze (`pause`) or thaw every process of the container. Waits
    /// until the kernel reports the new state.
    pub fn set_frozen(&self, frozen: bool) -> Result<()> {
        // (file to write, value, file to watch, line that says it is done)
        let (file, value, watch, expect) = match self.freezer() {
            Some(Freezer::V2(d)) => {
                let v = if frozen { "1" } else { "0" };
                (
                    d.join("cgroup.freeze"),
                    v,
                    d.join("cgroup.events"),
                    format!("frozen {v}"),
                )
            }
            Some(Freezer::V1(d)) => {
                let v = if frozen { "FROZEN" } else { "THAWED" };
                (
                    d.join("freezer.state"),
                    v,
                    d.join("freezer.state"),
                    v.to_string(),
                )
            }
            None => return Err(RuntimeError::Cgroup("no freezer for this container".into())),
        };
        for _ in 0..500 {
            std::fs::write(&file, value).map_err(|e| cg_err("writing", &file, e))?;
            let now = std::fs::read_to_string(&watch).unwrap_or_default();
            if now.lines().any(|l| l.trim() == expect) {
                return Ok(());
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        Err(RuntimeError::Cgroup(format!(
            "{} did not reach {value}",
            file.display()
        )))
    }

    /// Whether the freezer says frozen (or freezing).
    pub fn is_frozen(&self) -> bool {
        match self.freezer() {
            Some(Freezer::V2(d)) => {
                std::fs::read_to_string(d.join("cgroup.freeze")).is_ok_and(|s| s.trim() != "0")
            }
            Some(Freezer::V1(d)) => {
                std::fs::read_to_string(d.join("freezer.state")).is_ok_and(|s| s.trim() != "THAWED")
            }
            None => false,
        }
    }

    /// Thaw the container if its freezer says frozen (or freezing);
    /// whether it did. Nothing to do, and no error, for a cgroup that is
    /// gone or has no freezer.
    pub fn thaw(&self) -> Result<bool> {
        let frozen = self.is_frozen();
        if frozen {
            self.set_frozen(false)?;
        }
        Ok(frozen)
    }

    /// Create (or reuse) `<hierarchy>/<parent>/<name>` in every hierarchy
    /// rdock uses; `parent` is e.g. "rdock". A hierarchy that is not
    /// essential (net_cls, perf_event, name=systemd, ...) and refuses is
    /// skipped.
    pub fn create(parent: &str, name: &str) -> Result<Cgroup> {
        let mode = CgroupMode::detect();
        let mut dirs = Vec::new();
        for h in hierarchies() {
            let p = h.mountpoint.join(parent);
            let leaf = p.join(name);
            let attempt = || -> std::io::Result<()> {
                let cpuset = h.controllers.iter().any(|c| c == "cpuset");
                // A --cgroup-parent may be nested ("a/b"): each level made
                // as needed, cpuset ones given their parent's cpus first.
                let mut level = h.mountpoint.clone();
                for comp in Path::new(parent).components() {
                    level.push(comp);
                    mkdir(&level)?;
                    if cpuset {
                        init_cpuset(&level)?;
                    }
                }
                if h.v2 && mode == CgroupMode::Unified {
                    enable_v2_controllers(&p);
                }
                mkdir(&leaf)?;
                if cpuset {
                    init_cpuset(&leaf)?;
                }
                Ok(())
            };
            // The parent may go meanwhile (by hand, or the test suite's
            // cleanup of an empty one): make it again.
            let mut r = attempt();
            for _ in 0..3 {
                match &r {
                    Err(e) if e.kind() == ErrorKind::NotFound => r = attempt(),
                    _ => break,
                }
            }
            if let Err(e) = &r {
                debug!("cgroup {}: {e}", leaf.display());
            }
            match r {
                Ok(()) => dirs.push(leaf),
                Err(e) if essential(h) => {
                    let cg = Cgroup { mode, dirs };
                    let _ = cg.remove();
                    return Err(cg_err("creating", &leaf, e));
                }
                Err(_) => {}
            }
        }
        debug!("cgroup {parent}/{name} in {} hierarchies", dirs.len());
        Ok(Cgroup { mode, dirs })
    }

    /// The container's directories in the v1 hierarchies (none on a
    /// unified host; a hybrid host's cgroup2 one left out, as runc does).
    pub fn v1_dirs(&self) -> Vec<PathBuf> {
        match self.mode {
            CgroupMode::Unified => Vec::new(),
            _ => self
                .dirs
                .iter()
                .filter(|d| !is_cgroup2(&d.to_string_lossy()))
                .cloned()
                .collect(),
        }
    }

    /// The same paths without creating anything (for removal).
    pub fn open(parent: &str, name: &str) -> Cgroup {
        Cgroup {
            mode: CgroupMode::detect(),
            dirs: hierarchies()
                .iter()
                .map(|h| h.mountpoint.join(parent).join(name))
                .filter(|p| p.is_dir())
                .collect(),
        }
    }

    /// How a new process enters the container's cgroups as it is born:
    /// clone3 into its v2 cgroup (`into`, also the unified hierarchy of a
    /// hybrid host), and on v1 the `tasks` file of each hierarchy, which
    /// the child writes "0" to itself before it does anything else.
    ///
    /// Why not the parent writing the child's pid to cgroup.procs: that
    /// takes the kernel's global threadgroup lock for writing, whose first
    /// taker waits for an RCU grace period (5-20 ms measured here, most of
    /// a start). A thread moving itself through `tasks` takes no such lock
    /// (kernel/cgroup: "if the thread is `current` ... we can skip the
    /// global lock"); the child is single-threaded, so its thread is all
    /// of it.
    pub fn entry(&self) -> Result<Entry> {
        let mut entry = Entry {
            into: None,
            tasks: Vec::new(),
        };
        for d in &self.dirs {
            let tasks = d.join("tasks");
            match std::fs::OpenOptions::new().write(true).open(&tasks) {
                Ok(f) => entry.tasks.push((tasks, f)),
                // No `tasks`: the cgroup2 one.
                Err(e) if e.kind() == ErrorKind::NotFound && entry.into.is_none() => {
                    let fd = nix::fcntl::open(
                        d,
                        nix::fcntl::OFlag::O_DIRECTORY
                            | nix::fcntl::OFlag::O_RDONLY
                            | nix::fcntl::OFlag::O_CLOEXEC,
                        nix::sys::stat::Mode::empty(),
                    )
                    .map_err(|e| cg_err("opening", d, e.into()))?;
                    // SAFETY: `open` just returned this fd and nothing else owns it.
                    entry.into = Some(unsafe {
                        <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd)
                    });
                }
                Err(e) => return Err(cg_err("opening", &tasks, e)),
            }
        }
        Ok(entry)
    }

    /// The first of the container's directories holding `file` (on v1 each
    /// controller's files live in their own hierarchy): for `stats`.
    pub fn file(&self, file: &str) -> Option<PathBuf> {
        self.dirs.iter().map(|d| d.join(file)).find(|p| p.exists())
    }

    /// Remove the directories, and the parent when no other container is
    /// in it; fine if already gone. Kills nothing: the
    /// caller makes sure the cgroup is empty. Dying tasks keep a cgroup busy
    /// for a moment, so EBUSY is retried for up to a second.
    pub fn remove(&self) -> Result<()> {
        let mut first_err = None;
        for d in &self.dirs {
            let mut tries = 0u32;
            loop {
                match std::fs::remove_dir(d) {
                    Ok(()) => break,
                    Err(e) if e.kind() == ErrorKind::NotFound => break,
                    Err(e) if e.raw_os_error() == Some(libc::EBUSY) && tries < 100 => {
                        tries = tries.saturating_add(1);
                        std::thread::sleep(std::time::Duration::from_millis(10));
                    }
                    Err(e) => {
                        first_err.get_or_insert(cg_err("removing", d, e));
                        break;
                    }
                }
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Every process in the container's cgroup(s).
    pub fn pids(&self) -> Vec<i32> {
        let mut out: Vec<i32> = Vec::new();
        for d in &self.dirs {
            if let Ok(s) = std::fs::read_to_string(d.join("cgroup.procs")) {
                for p in s.split_whitespace().filter_map(|x| x.parse().ok()) {
                    if !out.contains(&p) {
                        out.push(p);
                    }
                }
            }
        }
        out
    }

    /// Signal every process of the container (cgroup.kill on v2 for SIGKILL:
    /// it also catches processes forking while we signal).
    pub fn kill_all(&self, sig: nix::sys::signal::Signal) {
        if sig == nix::sys::signal::Signal::SIGKILL {
            for d in &self.dirs {
                let k = d.join("cgroup.kill");
                if k.exists() && std::fs::write(&k, "1").is_ok() {
                    return;
                }
            }
        }
        for p in self.pids() {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(p), sig);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Removes the test's parent in every hierarchy, even on failure.
    struct Parent(String);
    impl Drop for Parent {
        fn drop(&mut self) {
            for h in hierarchies() {
                let _ = std::fs::remove_dir(h.mountpoint.join(&self.0));
            }
        }
    }

    #[test]
    fn a_shared_parent_stays_while_in_use() {
        let parent = Parent(format!("rdock-test-shared-{}", std::process::id()));
        let a = Cgroup::create(&parent.0, "a").unwrap();
        let b = Cgroup::create(&parent.0, "b").unwrap();
        a.remove().unwrap();
        assert!(
            b.dirs.iter().all(|d| d.is_dir()),
            "removing a took b's parent"
        );
        b.remove().unwrap();
        // Kept, as rdock's own parent is (`Parent` removes the test's).
        for d in b.dirs.iter().filter_map(|d| d.parent()) {
            assert!(d.is_dir(), "{} removed", d.display());
        }
    }

    #[test]
    fn detects_this_host() {
        let m = CgroupMode::detect();
        assert_eq!(m == CgroupMode::Unified, is_cgroup2(CGROUP_ROOT));
        assert!(!hierarchies().is_empty());
        if m != CgroupMode::Unified {
            assert!(hierarchies()
                .iter()
                .any(|h| h.controllers.iter().any(|c| c == "memory")));
        }
    }

    #[test]
    fn lifecycle_of_a_cgroup() {
        let parent = Parent(format!("rdock-test-{}", std::process::id()));
        let cg = Cgroup::create(&parent.0, "c1").unwrap();
        assert!(!cg.dirs.is_empty());
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        // (The runtime's own way in, `entry`, is the containers' tests'.)
        for d in &cg.dirs {
            std::fs::write(d.join("cgroup.procs"), pid.to_string()).unwrap();
        }
        assert_eq!(cg.pids(), vec![pid]);
        let own = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
        assert!(own.contains(&format!("/{}/c1", parent.0)), "{own}");
        assert_eq!(Cgroup::open(&parent.0, "c1").dirs, cg.dirs);
        // thaw says whether there was anything to thaw.
        assert!(!cg.thaw().unwrap());
        cg.set_frozen(true).unwrap();
        assert!(cg.thaw().unwrap());
        assert!(!cg.thaw().unwrap());
        cg.kill_all(nix::sys::signal::Signal::SIGKILL);
        child.wait().unwrap();
        cg.remove().unwrap();
        for d in &cg.dirs {
            assert!(!d.exists(), "{} left behind", d.display());
        }
        assert!(Cgroup::open(&parent.0, "c1").dirs.is_empty());
        assert!(!Cgroup::open(&parent.0, "c1").thaw().unwrap());
        cg.remove().unwrap();
    }
}
