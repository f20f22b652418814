//! Resolving `-u user[:group]` through the container's /etc/passwd and
//! /etc/group, with docker's (runc's) rules and error texts.

use super::{Result, RuntimeError};
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecUser {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups from /etc/group membership.
    pub additional_gids: Vec<u32>,
    /// From passwd; "/" when unknown.
    pub home: String,
}

struct PasswdEntry {
    name: String,
    uid: u32,
    gid: u32,
    home: String,
}

struct GroupEntry {
    name: String,
    gid: u32,
    members: Vec<String>,
}

fn read_lines(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p)
        .map(|s| {
            s.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn passwd(root: &Path) -> Vec<PasswdEntry> {
    read_lines(&root.join("etc/passwd"))
        .iter()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some(PasswdEntry {
                name: f.first()?.to_string(),
                uid: f.get(2)?.parse().ok()?,
                gid: f.get(3)?.parse().ok()?,
                home: f.get(5).map(|s| s.to_string()).unwrap_or_default(),
            })
        })
        .collect()
}

fn groups(root: &Path) -> Vec<GroupEntry> {
    read_lines(&root.join("etc/group"))
        .iter()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some(GroupEntry {
                name: f.first()?.to_string(),
                gid: f.get(2)?.parse().ok()?,
                members: f
                    .get(3)
                    .map(|m| {
                        m.split(',')
                            .filter(|s| !s.is_empty())
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default(),
            })
        })
        .collect()
}

/// `spec` is docker's `-u` value ("", "name", "uid", "name:group", "uid:gid").
/// `root` is the container's root directory (after pivot_root: "/").
pub fn resolve(spec: &str, root: &Path) -> Result<ExecUser> {
    let (user, group) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let users = passwd(root);
    let numeric_uid = user.parse::<u32>().ok();
    let entry = if user.is_empty() {
        users.iter().find(|e| e.uid == 0)
    } else if let Some(uid) = numeric_uid {
        users.iter().find(|e| e.uid == uid)
    } else {
        users.iter().find(|e| e.name == user)
    };
    let (uid, mut gid, home, name) = match (entry, numeric_uid) {
        (Some(e), _) => (e.uid, e.gid, e.home.clone(), Some(e.name.clone())),
        (None, Some(uid)) => (uid, 0, "/".to_string(), None),
        (None, None) if user.is_empty() => (0, 0, "/root".to_string(), None),
        (None, None) => {
            return Err(RuntimeError::UserNotFound(format!(
                "{user}: no matching entries in passwd file"
            )))
        }
    };
    let groups = groups(root);
    if let Some(g) = group.filter(|g| !g.is_empty()) {
        gid = match g.parse::<u32>() {
            Ok(n) => n,
            Err(_) => match groups.iter().find(|e| e.name == g) {
                Some(e) => e.gid,
                None => {
                    return Err(RuntimeError::GroupNotFound(format!(
                        "{g}: no matching entries in group file"
                    )))
                }
            },
        };
    }
    let mut additional_gids = Vec::new();
    // As runc: /etc/group memberships only in the implicit form (no group
    // named): `-u root:root` has no supplementary groups.
    let implicit = group.is_none_or(|g| g.is_empty());
    if let Some(n) = name.as_ref().filter(|_| implicit) {
        for g in &groups {
            if g.members.iter().any(|m| m == n) && !additional_gids.contains(&g.gid) {
                additional_gids.push(g.gid);
            }
        }
    }
    // As docker (since the supplementary-groups fix of 2023): the primary
    // group is always among the process's groups too.
    if !additional_gids.contains(&gid) {
        additional_gids.push(gid);
    }
    Ok(ExecUser {
        uid,
        gid,
        additional_gids,
        home: if home.is_empty() { "/".into() } else { home },
    })
}

/// `--group-add` entries (names looked up in the container's /etc/group,
/// or numbers) as gids.
pub fn group_ids(names: &[String], root: &Path) -> Result<Vec<u32>> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let groups = groups(root);
    names
        .iter()
        .map(|g| match g.parse::<u32>() {
            Ok(n) => Ok(n),
            Err(_) => groups
                .iter()
                .find(|e| &e.name == g)
                .map(|e| e.gid)
                // The engine resolves them itself (docker 28), in its words.
                .ok_or_else(|| {
                    RuntimeError::Other(format!(
                        "unable to find group {g}: no matching entries in group file"
                    ))
                }),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir(t.path().join("etc")).unwrap();
        std::fs::write(
            t.path().join("etc/passwd"),
            "# comment\nroot:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n\nbroken line\nbob:x:1001:100:Bob:/home/bob:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(
            t.path().join("etc/group"),
            "root:x:0:\nstaff:x:50:alice,bob\nusers:x:100:\nwheel:x:10:alice\n",
        )
        .unwrap();
        t
    }

    #[test]
    fn names_and_numbers() {
        let t = root();
        let r = |s: &str| resolve(s, t.path()).unwrap();
        assert_eq!(r("").uid, 0);
        assert_eq!(r("").home, "/root");
        let a = r("alice");
        assert_eq!((a.uid, a.gid, a.home.as_str()), (1000, 1000, "/home/alice"));
        assert_eq!(a.additional_gids, vec![50, 10, 1000]);
        assert_eq!(r("1000").gid, 1000);
        let n = r("4242");
        assert_eq!((n.uid, n.gid, n.home.as_str()), (4242, 0, "/"));
        assert_eq!(r("alice:staff").gid, 50);
        assert_eq!(r("bob:7").gid, 7);
        assert_eq!(r("4242:users").gid, 100);
    }

    #[test]
    fn docker_errors() {
        let t = root();
        let e = resolve("nobody", t.path()).unwrap_err().to_string();
        assert_eq!(
            e,
            "unable to find user nobody: no matching entries in passwd file"
        );
        let e = resolve("alice:nogroup", t.path()).unwrap_err().to_string();
        assert_eq!(
            e,
            "unable to find group nogroup: no matching entries in group file"
        );
        // No passwd at all: names fail, numbers work.
        let empty = tempfile::tempdir().unwrap();
        assert!(resolve("alice", empty.path()).is_err());
        assert_eq!(resolve("5", empty.path()).unwrap().uid, 5);
        assert_eq!(resolve("", empty.path()).unwrap().uid, 0);
    }
}
