//! System call numbers by name: what a profile's names become in the
//! filter. One table per architecture rdock builds for, taken from the
//! kernel's own tables (not the libc crate's `SYS_*` constants, which lag
//! behind and miss some). Both are compiled on every host so that
//! `tests.rs` checks both against the installed kernel headers. A name
//! missing from the host's table does not exist there and is skipped, as
//! libseccomp skips it.

// The other architecture's table is only read by the tests.
#[cfg_attr(not(target_arch = "aarch64"), allow(dead_code))]
mod aarch64;
#[cfg(test)]
pub(super) mod tests;
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
mod x86_64;

#[cfg(target_arch = "aarch64")]
pub use aarch64::TABLE;
#[cfg(target_arch = "x86_64")]
pub use x86_64::TABLE;
