//! Linux capabilities: docker's default set, --cap-add/--cap-drop, applying.
//! STUB: to be implemented (helper "cgroups+security").

use super::Result;

/// docker's default set as a bitmask (CapEff 00000000a80425fb).
pub const DEFAULT_MASK: u64 = 0xa80425fb;

/// Resolve the final set from docker's flags: names are case-insensitive,
/// with or without "CAP_", and "ALL". `privileged` means every capability.
pub fn resolve(_add: &[String], _drop: &[String], _privileged: bool) -> Result<u64> {
    Ok(DEFAULT_MASK)
}

/// In the container's init, before switching user: drop from the bounding
/// set everything not in `mask`.
pub fn drop_bounding(_mask: u64) -> Result<()> {
    Ok(())
}

/// After switching user: set effective and permitted to `mask` (inheritable
/// and ambient empty) when running as uid 0; for another uid the kernel has
/// already cleared them and this leaves them empty.
pub fn apply(_mask: u64, _uid: u32) -> Result<()> {
    Ok(())
}
