//! Stores of test processes that died without running their `Drop` (a
//! killed test, a CI timeout): each store records its process ("pid
//! start" in `owner`), and the first store a later test process makes
//! removes what dead ones left: containers (their processes, cgroups and
//! leases), mounts, bridges, the firewall table, the directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const OWNER: &str = "owner";
/// A store of an older harness (no `owner` file) is stale once untouched
/// this long: no test runs for that long (CI stops at 90 minutes).
const UNMARKED_AGE: std::time::Duration = std::time::Duration::from_secs(3600);

/// Record this process as the store's owner.
pub fn mark(dir: &Path) {
    let me = std::process::id() as i32;
    let start = rdock::util::proc_start_time(me).unwrap_or(0);
    std::fs::write(dir.join(OWNER), format!("{me} {start}")).expect("owner file");
}

fn is_stale(dir: &Path) -> bool {
    match std::fs::read_to_string(dir.join(OWNER)) {
        Ok(s) => {
            let mut f = s.split_whitespace().map(|x| x.parse::<u64>().ok());
            match (f.next().flatten(), f.next().flatten()) {
                (Some(pid), Some(start)) => rdock::util::proc_start_time(pid as i32) != Some(start),
                _ => true,
            }
        }
        Err(_) => std::fs::metadata(dir)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > UNMARKED_AGE),
    }
}

/// Once per test process: sweep the stores of dead ones.
pub fn sweep_once() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        sweep(&std::env::temp_dir());
    });
}

/// Remove every stale `rdock-test-*` store under `tmp`; the ones removed.
pub fn sweep(tmp: &Path) -> Vec<PathBuf> {
    let mut swept = Vec::new();
    for e in std::fs::read_dir(tmp).into_iter().flatten().flatten() {
        let dir = e.path();
        let is_store = e.file_name().to_string_lossy().starts_with("rdock-test-")
            && dir.join("daemon.json").exists();
        if !is_store || !is_stale(&dir) {
            continue;
        }
        let settings: serde_json::Value = std::fs::read(dir.join("daemon.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        let s = |k: &str| {
            settings
                .get(k)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string()
        };
        clean(&dir, &s("bridge"), &s("firewall-table"));
        let _ = std::fs::remove_dir_all(&dir);
        swept.push(dir);
    }
    swept
}

fn rdock(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(super::bin())
        .env("RDOCK_DAEMON_CONFIG", dir.join("daemon.json"))
        .arg("--root")
        .arg(dir.join("root"))
        .arg("--runroot")
        .arg(dir.join("run"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("spawn rdock")
}

/// The bridges of the store's user networks.
pub fn user_bridges(root: &Path) -> Vec<String> {
    std::fs::read_dir(root.join("networks/defs"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| std::fs::read(e.path()).ok())
        .filter_map(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .filter_map(|v| v.get("bridge").and_then(|b| b.as_str()).map(str::to_string))
        .collect()
}

/// Everything a test's store made in the kernel: its containers (killed
/// and removed, with their cgroups and leases), mounts under it, its
/// bridges and firewall table. The directory itself is the caller's.
pub fn clean(dir: &Path, bridge: &str, table: &str) {
    if dir.join("root").exists() {
        let ids = rdock(dir, &["ps", "-aq", "--no-trunc"]);
        for id in String::from_utf8_lossy(&ids.stdout).split_whitespace() {
            let _ = rdock(dir, &["rm", "-f", id]);
        }
    }
    // Mounts under the store would be a leak; unmount so the dir can go.
    if let Ok(m) = std::fs::read_to_string("/proc/self/mounts") {
        let root = dir.display().to_string();
        for mp in m.lines().filter_map(|l| l.split_whitespace().nth(1)) {
            if mp.starts_with(&root) {
                let _ = Command::new("umount").arg("-l").arg(mp).status();
            }
        }
    }
    let bridges = std::iter::once(bridge.to_string()).chain(user_bridges(&dir.join("root")));
    for b in bridges.filter(|b| !b.is_empty()) {
        let _ = Command::new("ip")
            .args(["link", "del", &b])
            .stderr(Stdio::null())
            .status();
    }
    if !table.is_empty() {
        let _ = rdock::network::firewall::Firewall::new(table).delete_table();
        let _ = std::fs::remove_file(format!("/run/rdock-firewall-{table}.lock"));
    }
}
