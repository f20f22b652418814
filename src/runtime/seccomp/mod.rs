//! seccomp: docker's default profile (`default.rs`), docker's profile JSON
//! (`profile.rs`), as the runtime-spec's seccomp section and back
//! (`spec.rs`), compiled to BPF by rdock itself (`bpf.rs`, which says
//! why). The parent compiles the filter before clone; the container init
//! only calls prctl/seccomp to install it (`process.rs`).

pub mod bpf;
mod default;
pub mod profile;
pub mod spec;
mod syscalls;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod vs_docker;

pub use bpf::Program;
pub use profile::{Action, Context, Profile};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum SeccompError {
    #[error("{0}")]
    Decode(String),
    #[error("seccomp profile: {0}")]
    Invalid(String),
    #[error("seccomp filter too long: {0} instructions")]
    TooLong(usize),
}

pub type Result<T, E = SeccompError> = std::result::Result<T, E>;

/// Which profile a container runs with (`--security-opt seccomp=...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// docker's default profile (also `seccomp=builtin`).
    Default,
    Unconfined,
    /// A profile's JSON text, as the CLI read it from the file.
    Custom(String),
}

/// docker's profile, as data.
pub fn default_profile() -> Profile {
    default::profile()
}

/// The profile a container runs with, or None (no filter: unconfined,
/// `--privileged` without a custom profile, or an empty profile). moby: a
/// privileged container gets no default profile but does get a custom
/// one.
pub fn profile_for(mode: &Mode, privileged: bool) -> Result<Option<Profile>> {
    let profile = match mode {
        Mode::Unconfined => return Ok(None),
        Mode::Default if privileged => return Ok(None),
        Mode::Default => default::profile(),
        Mode::Custom(json) => Profile::from_json(json)?,
    };
    Ok((!profile.is_empty()).then_some(profile))
}

/// The running kernel and a bounding set, as includes/excludes see them.
pub fn context(caps: u64) -> Context {
    Context {
        caps,
        kernel: profile::kernel_version(),
    }
}

/// The filter for a container with bounding set `caps` (see
/// `profile_for`).
pub fn filter_for(mode: &Mode, privileged: bool, caps: u64) -> Result<Option<Program>> {
    match profile_for(mode, privileged)? {
        Some(p) => compile(&p, &context(caps)).map(Some),
        None => Ok(None),
    }
}

pub fn compile(profile: &Profile, ctx: &Context) -> Result<Program> {
    let resolved = profile.resolve(ctx)?;
    bpf::compile(&resolved)
}

const SECCOMP_SET_MODE_FILTER: libc::c_ulong = 1;

/// In the container init: install `prog` on the calling thread. Needs
/// no_new_privs or CAP_SYS_ADMIN (see `process::init`).
pub fn install(prog: &Program) -> std::result::Result<(), nix::Error> {
    let fprog = libc::sock_fprog {
        len: prog.0.len() as libc::c_ushort,
        filter: prog.0.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: `fprog` points at `prog`'s instructions (same layout as
    // sock_filter), alive for the call; the kernel copies them.
    let r = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_SET_MODE_FILTER,
            0 as libc::c_ulong,
            &fprog as *const libc::sock_fprog,
        )
    };
    if r != 0 {
        return Err(nix::errno::Errno::last());
    }
    Ok(())
}

/// prctl(PR_SET_NO_NEW_PRIVS): execve can no longer grant privileges
/// (setuid bits, file capabilities).
pub fn set_no_new_privs() -> std::result::Result<(), nix::Error> {
    // SAFETY: prctl with integer arguments only.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(nix::errno::Errno::last());
    }
    Ok(())
}
