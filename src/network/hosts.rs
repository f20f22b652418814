//! Names on user networks without a daemon (docker answers them from an
//! embedded DNS server): each member's /etc/hosts has a block with one
//! line per peer, rewritten from the lease table whenever a member of one
//! of its networks comes or goes. Names resolve within a store: the
//! leases of other stores, on the same bridge or not, are left out.

use super::bridge::is_user_defined;
use super::leases::{self, Lease};
use super::{NetworkError, Result};
use crate::paths::Paths;
use std::collections::BTreeSet;
use std::path::Path;

/// The leases of the store at `root`: names resolve within a store.
pub(crate) fn of_store(leases: &[Lease], root: &Path) -> Vec<Lease> {
    leases.iter().filter(|l| l.root == root).cloned().collect()
}

/// After `dropped` left the table (`leases` now): their peers'
/// /etc/hosts, store by store (a dead lease of another store may be
/// reclaimed here).
pub(crate) fn refresh_dropped(leases: &[Lease], dropped: &[Lease]) {
    let roots: BTreeSet<&Path> = dropped.iter().map(|l| l.root.as_path()).collect();
    for root in roots {
        let changed = dropped
            .iter()
            .filter(|l| l.root == root)
            .map(|l| l.network.clone())
            .collect();
        refresh_locked(&of_store(leases, root), &changed);
    }
}

/// A running container was renamed: its leases and its peers' /etc/hosts
/// follow.
pub fn rename_member(paths: &Paths, id: &str, name: &str) -> Result<()> {
    let table = leases::lock(paths)?;
    let mut leases = table.leases();
    let mut changed = BTreeSet::new();
    for l in leases.iter_mut().filter(|l| l.container == id) {
        l.name = name.to_string();
        changed.insert(l.network.clone());
    }
    if changed.is_empty() {
        return Ok(());
    }
    table.write_leases(&leases)?;
    refresh_locked(&of_store(&leases, table.root()), &changed);
    Ok(())
}

/// Rewrite the /etc/hosts of every member of the user networks in
/// `networks`; `own` first replaces one container's file (its own lines,
/// at start), under the same lock so no rewrite interleaves with it.
pub fn refresh(paths: &Paths, networks: &[String], own: Option<(&Path, &str)>) -> Result<()> {
    let table = leases::lock(paths)?;
    if let Some((path, text)) = own {
        write_in_place(path, text)
            .map_err(|e| NetworkError::Invalid(format!("writing /etc/hosts: {e}")))?;
    }
    if networks.iter().any(|n| is_user_defined(n)) {
        let leases = of_store(&table.leases(), table.root());
        refresh_locked(&leases, &networks.iter().cloned().collect());
    }
    Ok(())
}

/// Bind-mounted files are replaced by content, never by rename (the mount
/// holds the inode).
pub(crate) fn write_in_place(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)?
        .write_all(text.as_bytes())
}

const PEERS_BEGIN: &str = "# rdock: containers on the same networks\n";
const PEERS_END: &str = "# rdock: end\n";

/// `text` with its block of peers replaced by `lines` (none: no block);
/// everything else, the container's own edits too, is kept.
fn with_peers(text: &str, lines: &BTreeSet<String>) -> String {
    let mut out = match (text.split_once(PEERS_BEGIN), text.split_once(PEERS_END)) {
        // The first begin marker before the first end marker.
        (Some((head, _)), Some((to_end, tail))) if head.len() < to_end.len() => {
            format!("{head}{tail}")
        }
        _ => text.to_string(),
    };
    if !lines.is_empty() {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(PEERS_BEGIN);
        for l in lines {
            out.push_str(l);
        }
        out.push_str(PEERS_END);
    }
    out
}

/// Names on user networks without a daemon: each member's /etc/hosts has
/// a block with one line per peer (name, aliases, short ID), rewritten
/// under the lock whenever a member of one of its networks comes or goes.
pub(crate) fn refresh_locked(leases: &[Lease], networks: &BTreeSet<String>) {
    let user: BTreeSet<&str> = networks
        .iter()
        .map(String::as_str)
        .filter(|n| is_user_defined(n))
        .collect();
    if user.is_empty() {
        return;
    }
    // Containers that left these networks lose their block too: they are
    // no longer in `leases`, but their other networks' members are.
    let mut done = BTreeSet::new();
    for l in leases {
        if !user.contains(l.network.as_str()) || !done.insert(l.container.as_str()) {
            continue;
        }
        let Some(hosts) = &l.hosts else { continue };
        // A container being removed may have lost its directory: nothing
        // to update then.
        let Ok(old) = std::fs::read_to_string(hosts) else {
            continue;
        };
        let nets: BTreeSet<&str> = leases
            .iter()
            .filter(|m| m.container == l.container && is_user_defined(&m.network))
            .map(|m| m.network.as_str())
            .collect();
        let mut lines = BTreeSet::new();
        for m in leases
            .iter()
            .filter(|m| m.container != l.container && nets.contains(m.network.as_str()))
        {
            let mut names = vec![m.name.clone()];
            names.extend(m.aliases.iter().cloned());
            names.push(m.container.chars().take(12).collect());
            lines.insert(format!("{}\t{}\n", m.ip, names.join(" ")));
        }
        let text = with_peers(&old, &lines);
        if text != old {
            let _ = write_in_place(hosts, &text);
        }
    }
}

/// A running container left its last user network: its block goes.
pub(crate) fn forget_peers(left: &[Lease]) {
    for hosts in left.iter().filter_map(|l| l.hosts.as_deref()) {
        if let Ok(old) = std::fs::read_to_string(hosts) {
            let text = with_peers(&old, &BTreeSet::new());
            if text != old {
                let _ = write_in_place(hosts, &text);
            }
        }
    }
}
