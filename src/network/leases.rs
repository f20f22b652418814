//! The host's lease table: the address and host ports every running rdock
//! container holds, whichever store (`--root`) it belongs to, and the
//! stopped containers' veths the kernel has not deleted yet (`Draining`).
//!
//! Host-wide, not per store: two stores whose settings name the same
//! bridge (rdock0 by default) share its addresses, and every store shares
//! the host's ports (published with DNAT: nothing binds them, so a bind
//! test does not see another store's). Kept per store, two of them handed
//! out one address (and MAC) twice, and one store's `-p` silently took
//! over another's port. So the table lives in a fixed run-time directory,
//! [`DIR`], under its own lock, always taken after the store's
//! `networks/.lock` (which still orders the store's network definitions
//! and its containers' /etc/hosts): one order, no deadlock.
//!
//! Addresses are unique per bridge, host ports per host. A lease names its
//! store's root and its holder, so any process can tell whether it is
//! still live (the caller's `live` closure: the network module knows
//! nothing of containers).

use super::firewall::PortRule;
use super::netlink::Netlink;
use super::{NetworkError, Result};
use crate::paths::Paths;
use crate::util::FileLock;
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

/// Where the host's table lives: run-time data (the containers it speaks
/// of are gone after a reboot too; /run is tmpfs on most hosts), apart
/// from any `--root`/`--runroot`.
pub const DIR: &str = "/run/rdock-network";

const LEASES: &str = "leases.json";
const DRAINING: &str = "draining.json";
const LOCK: &str = "lock";

/// What a container holds on a network while it runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// The network's name in its store.
    pub network: String,
    /// The Linux bridge: addresses are unique per bridge.
    #[serde(default)]
    pub bridge: String,
    /// Its store's `--root` (canonical): where its container's state is.
    #[serde(default)]
    pub root: PathBuf,
    pub container: String,
    pub ip: Ipv4Addr,
    /// The host end of its veth pair.
    pub veth: String,
    #[serde(default)]
    pub ports: Vec<PortRule>,
    /// The process that took the lease (pid, start time): the lease is
    /// live while it is, even before the container's state says running.
    #[serde(default)]
    pub holder: (i32, u64),
    #[serde(default = "super::bridge::default_table")]
    pub table: String,
    /// The container's name, aliases and /etc/hosts: what its peers on a
    /// user network find it by, and where their names are written for it.
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub hosts: Option<PathBuf>,
}

/// The veth of a stopped container, which the kernel deletes when the
/// container's network namespace goes (asynchronously, shortly after its
/// last process): its address is not given out again until it is gone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Draining {
    pub bridge: String,
    pub ip: Ipv4Addr,
    pub veth: String,
    /// When its container gave it back, ms since the epoch.
    pub since: u64,
}

impl Draining {
    /// Is its veth still there? Asked of sysfs when `sysfs` (it shows this
    /// network namespace's links: the caller saw its bridge there), which
    /// takes no lock, where RTM_GETLINK waits for rtnl while the kernel
    /// tears namespaces down (~1 ms).
    pub fn lingers(&self, nl: &mut Netlink, sysfs: bool) -> bool {
        if sysfs {
            Path::new("/sys/class/net").join(&self.veth).exists()
        } else {
            !matches!(nl.link_index(&self.veth), Ok(None))
        }
    }

    /// Delete its veth (synchronously: the kernel waits for an RCU
    /// barrier).
    pub fn delete(&self, nl: &mut Netlink) {
        let _ = nl.delete_link(&self.veth);
    }

    /// Its address, as a lease for `allocate` to skip.
    pub fn as_lease(&self) -> Lease {
        Lease {
            network: String::new(),
            bridge: self.bridge.clone(),
            root: PathBuf::new(),
            container: String::new(),
            ip: self.ip,
            veth: self.veth.clone(),
            ports: Vec::new(),
            holder: (0, 0),
            table: super::bridge::default_table(),
            name: String::new(),
            aliases: Vec::new(),
            hosts: None,
        }
    }
}

/// The table, locked: held from the first read to the last write of a
/// change. Its methods are the only way to the files.
pub(crate) struct Table {
    // Declared first, dropped first: the inner lock goes first.
    _host: FileLock,
    _store: FileLock,
    dir: PathBuf,
    root: PathBuf,
}

fn io_err(what: &str) -> impl FnOnce(std::io::Error) -> NetworkError + '_ {
    move |source| NetworkError::Leases {
        what: what.to_string(),
        source,
    }
}

/// This store's root as leases record it: canonical, so that every
/// process (whatever its cwd or spelling of `--root`) names it alike.
pub(crate) fn store_root(paths: &Paths) -> PathBuf {
    std::fs::canonicalize(&paths.root)
        .or_else(|_| std::path::absolute(&paths.root))
        .unwrap_or_else(|_| paths.root.clone())
}

/// The store's network lock, then the host's table.
pub(crate) fn lock(paths: &Paths) -> Result<Table> {
    lock_in(paths, Path::new(DIR))
}

fn lock_in(paths: &Paths, dir: &Path) -> Result<Table> {
    let store = FileLock::exclusive(&paths.root.join("networks").join(".lock"))
        .map_err(io_err("locking the store's networks"))?;
    let host = host_lock(dir).map_err(io_err("locking the host's network leases"))?;
    let table = Table {
        _host: host,
        _store: store,
        dir: dir.to_path_buf(),
        root: store_root(paths),
    };
    table.fold_old(paths);
    Ok(table)
}

/// `dir` (0700) and its lock file (0600), whatever the umask: only root
/// reads or changes the table.
fn host_lock(dir: &Path) -> std::io::Result<FileLock> {
    FileLock::exclusive(&dir.join(LOCK))
}

/// Replace `dir/name` by `data` (0600, no fsync: run-time data; a crash
/// takes the containers it speaks of too, and leases left over are judged
/// dead and reclaimed).
fn write_private(dir: &Path, name: &str, data: &[u8]) -> std::io::Result<()> {
    crate::util::replace_file(&dir.join(name), data)
}

fn read_json<T: serde::de::DeserializeOwned + Default>(path: &Path) -> T {
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

impl Table {
    /// This store's root, as its leases name it.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Is `l` a lease of this store?
    pub fn is_mine(&self, l: &Lease) -> bool {
        l.root == self.root
    }

    pub fn leases(&self) -> Vec<Lease> {
        read_json(&self.dir.join(LEASES))
    }

    pub fn write_leases(&self, leases: &[Lease]) -> Result<()> {
        let data = serde_json::to_vec(leases).map_err(|e| NetworkError::Invalid(e.to_string()))?;
        write_private(&self.dir, LEASES, &data).map_err(io_err("writing the network leases"))
    }

    pub fn draining(&self) -> Vec<Draining> {
        read_json(&self.dir.join(DRAINING))
    }

    pub fn write_draining(&self, d: &[Draining]) -> Result<()> {
        let data = serde_json::to_vec(d).map_err(|e| NetworkError::Invalid(e.to_string()))?;
        write_private(&self.dir, DRAINING, &data).map_err(io_err("writing the draining veths"))
    }

    /// Leases an older rdock kept in the store (`<root>/networks/
    /// leases.json`) join the host's table, and the file goes: their
    /// containers may still run (with monitors of the old binary, which
    /// no longer find that file and give nothing back: their leases are
    /// reclaimed as dead ones, rules included). Again whenever the file
    /// reappears; a lease already in the table is not added twice. The
    /// old `draining.json` goes too: its veths are gone within seconds.
    fn fold_old(&self, paths: &Paths) {
        let old = paths.root.join("networks").join(LEASES);
        let Ok(bytes) = std::fs::read(&old) else {
            return;
        };
        let Ok(nets) = super::store::bridge_networks(paths) else {
            return;
        };
        let folded: Vec<Lease> = serde_json::from_slice(&bytes).unwrap_or_default();
        let mut all = self.leases();
        for mut l in folded {
            // A lease of a network since removed held nothing any more.
            let Some(net) = nets.iter().find(|n| n.name == l.network) else {
                continue;
            };
            if all
                .iter()
                .any(|a| a.container == l.container && a.network == l.network)
            {
                continue;
            }
            l.bridge = net.bridge.clone();
            l.root = self.root.clone();
            all.push(l);
        }
        if self.write_leases(&all).is_ok() {
            let _ = std::fs::remove_file(&old);
            let _ = std::fs::remove_file(paths.root.join("networks").join(DRAINING));
        }
    }
}

/// The table as it is now, without the lock (each file is replaced
/// whole): for `network inspect`, which changes nothing.
pub(crate) fn snapshot() -> Vec<Lease> {
    read_json(&Path::new(DIR).join(LEASES))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn the_table_is_private_and_old_store_leases_are_folded_in() {
        let d = tempfile::tempdir().unwrap();
        let paths = Paths::new(d.path().join("root"), d.path().join("run"));
        let host = d.path().join("host");
        // An older rdock's file: one lease on the default network, one on
        // a network that no longer exists.
        std::fs::create_dir_all(paths.root.join("networks")).unwrap();
        let old = r#"[{"network":"bridge","container":"c1","ip":"10.88.0.2","veth":"veth1"},
                      {"network":"gone","container":"c2","ip":"10.89.0.2","veth":"veth2"}]"#;
        std::fs::write(paths.root.join("networks/leases.json"), old).unwrap();
        std::fs::write(paths.root.join("networks/draining.json"), "[]").unwrap();
        let t = lock_in(&paths, &host).unwrap();
        let all = t.leases();
        assert_eq!(all.len(), 1, "{all:?}");
        assert_eq!(all[0].container, "c1");
        assert!(!all[0].bridge.is_empty());
        assert_eq!(all[0].root, std::fs::canonicalize(&paths.root).unwrap());
        assert!(t.is_mine(&all[0]));
        assert!(!paths.root.join("networks/leases.json").exists());
        assert!(!paths.root.join("networks/draining.json").exists());
        let mode = |p: &Path| std::fs::metadata(p).unwrap().mode() & 0o777;
        assert_eq!(mode(&host), 0o700);
        assert_eq!(mode(&host.join(LOCK)), 0o600);
        assert_eq!(mode(&host.join(LEASES)), 0o600);
        drop(t);
        // Folded once: the same lease again is not doubled.
        std::fs::write(paths.root.join("networks/leases.json"), old).unwrap();
        let t = lock_in(&paths, &host).unwrap();
        assert_eq!(t.leases().len(), 1);
    }
}
