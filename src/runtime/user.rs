//! Resolving `-u user[:group]` through the container's /etc/passwd and /etc/group.
//! STUB: to be implemented (helper "cgroups+security").

use super::Result;
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

/// `spec` is docker's `-u` value ("", "name", "uid", "name:group", "uid:gid").
/// `root` is the container's root directory (after pivot_root: "/").
pub fn resolve(_spec: &str, _root: &Path) -> Result<ExecUser> {
    Ok(ExecUser {
        uid: 0,
        gid: 0,
        additional_gids: vec![],
        home: "/root".into(),
    })
}
