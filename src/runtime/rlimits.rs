//! --ulimit parsing and applying.
//! STUB: to be implemented (helper "cgroups+security").

use super::Result;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ulimit {
    /// docker's name: "nofile", "nproc", "core", ...
    pub name: String,
    pub soft: i64,
    pub hard: i64,
}

/// Parse docker's `name=soft[:hard]` form.
pub fn parse(_s: &str) -> Result<Ulimit> {
    Err(super::RuntimeError::InvalidArg("not implemented".into()))
}

/// Apply the user's ulimits in the container's init. Nothing else is
/// changed: limits are inherited, never raised unless asked.
pub fn apply(_ulimits: &[Ulimit]) -> Result<()> {
    Ok(())
}
