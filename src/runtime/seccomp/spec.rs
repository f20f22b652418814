//! docker's profile as a runtime-spec `LinuxSeccomp`, as moby's
//! setupSeccomp makes it for one container (includes and excludes
//! applied), and a runtime-spec seccomp section read back as a profile to
//! compile: the one way a filter reaches a container, docker's or a
//! bundle's. Converted field by field, not through JSON: this is on the
//! start path.

use super::profile::{Action, Arg, Context, Op, Profile, Syscall};
use super::{Mode, Result, SeccompError};
use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArgBuilder, LinuxSeccompOperator,
    LinuxSyscall, LinuxSyscallBuilder,
};
use std::str::FromStr;

/// The seccomp section for a container with bounding set `caps`, or None
/// (no filter: unconfined, `--privileged` without a custom profile, an
/// empty profile). The profile is checked as it is converted, with the
/// checks and words of its resolution (`Profile::resolve`), so its errors
/// are docker's and come before anything starts.
pub fn spec_for(mode: &Mode, privileged: bool, caps: u64) -> Result<Option<LinuxSeccomp>> {
    let Some(profile) = super::profile_for(mode, privileged)? else {
        return Ok(None);
    };
    to_spec(&profile, &super::context(caps)).map(Some)
}

fn invalid(what: &str, name: &str) -> SeccompError {
    SeccompError::Invalid(format!("invalid {what} {name:?}"))
}

fn built(e: oci_spec::OciSpecError) -> SeccompError {
    SeccompError::Invalid(e.to_string())
}

/// The rules that apply to this container, as the runtime-spec says them.
fn to_spec(p: &Profile, ctx: &Context) -> Result<LinuxSeccomp> {
    // Checked as `Profile::resolve` checks them (same order, same words).
    let action = |a: &str, errno: Option<u32>| {
        Action::parse(a, errno)?;
        LinuxSeccompAction::from_str(a).map_err(|_| invalid("action", a))
    };
    p.check_arches()?;
    let default = action(&p.default_action, p.default_errno_ret)?;
    let mut syscalls: Vec<LinuxSyscall> = Vec::new();
    for call in p.syscalls.iter().flatten() {
        let names = call.names()?;
        if names.is_empty() || !call.applies(ctx)? {
            continue;
        }
        let call_action = action(&call.action, call.errno_ret)?;
        let mut args = Vec::new();
        for a in call.args.iter().flatten() {
            let index = a.checked_index()?;
            Op::parse(&a.op)?;
            let op =
                LinuxSeccompOperator::from_str(&a.op).map_err(|_| invalid("operator", &a.op))?;
            args.push(
                LinuxSeccompArgBuilder::default()
                    .index(usize::from(index))
                    .value(a.value)
                    .value_two(a.value_two)
                    .op(op)
                    .build()
                    .map_err(built)?,
            );
        }
        let mut s = LinuxSyscallBuilder::default()
            .names(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            .action(call_action)
            .build()
            .map_err(built)?;
        s.set_errno_ret(call.errno_ret);
        if !args.is_empty() {
            s.set_args(Some(args));
        }
        syscalls.push(s);
    }
    let mut out = LinuxSeccomp::default();
    out.set_default_action(default);
    out.set_default_errno_ret(p.default_errno_ret);
    out.set_syscalls(Some(syscalls));
    Ok(out)
}

/// Does the section ask for a seccomp agent (SCMP_ACT_NOTIFY)?
pub fn wants_notify(s: &LinuxSeccomp) -> bool {
    s.default_action() == LinuxSeccompAction::ScmpActNotify
        || s.syscalls()
            .iter()
            .flatten()
            .any(|c| c.action() == LinuxSeccompAction::ScmpActNotify)
}

/// A runtime-spec seccomp section as a profile (no includes or excludes:
/// the section already is for this container).
pub fn from_spec(s: &LinuxSeccomp) -> Profile {
    let syscalls = s
        .syscalls()
        .iter()
        .flatten()
        .map(|c| Syscall {
            names: Some(c.names().clone()),
            action: c.action().to_string(),
            errno_ret: c.errno_ret(),
            args: c.args().as_ref().map(|args| {
                args.iter()
                    .map(|a| Arg {
                        index: u32::try_from(a.index()).unwrap_or(u32::MAX),
                        value: a.value(),
                        value_two: a.value_two().unwrap_or(0),
                        op: a.op().to_string(),
                    })
                    .collect()
            }),
            ..Default::default()
        })
        .collect();
    Profile {
        default_action: s.default_action().to_string(),
        default_errno_ret: s.default_errno_ret(),
        architectures: s
            .architectures()
            .as_ref()
            .map(|a| a.iter().map(Arch::to_string).collect()),
        arch_map: None,
        syscalls: Some(syscalls),
        listener_path: s
            .listener_path()
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::caps;

    /// Through the runtime-spec section, the filter is the one compiled
    /// from the profile directly: docker's default profile for several
    /// capability sets, and a custom profile with arguments and errnos.
    #[test]
    fn the_section_compiles_to_the_profiles_filter() {
        let custom = r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":38,
            "syscalls":[{"names":["read","write","exit_group"],"action":"SCMP_ACT_ALLOW"},
            {"name":"personality","action":"SCMP_ACT_ALLOW",
             "args":[{"index":0,"value":8,"op":"SCMP_CMP_EQ"}]},
            {"names":["chmod"],"action":"SCMP_ACT_ERRNO","errnoRet":1,
             "includes":{"caps":["CAP_SYS_ADMIN"]}},
            {"names":["socket"],"action":"SCMP_ACT_ALLOW",
             "args":[{"index":0,"value":255,"valueTwo":16,"op":"SCMP_CMP_MASKED_EQ"}]}]}"#;
        let all = (1u64 << (caps::last_cap() + 1)) - 1;
        for mode in [Mode::Default, Mode::Custom(custom.into())] {
            for bounding in [caps::DEFAULT_MASK, all, 0] {
                let direct = super::super::filter_for(&mode, false, bounding).unwrap();
                let section = spec_for(&mode, false, bounding).unwrap().unwrap();
                // The section has no includes left: any bounding set.
                let ctx = Context {
                    caps: 0,
                    kernel: super::super::profile::kernel_version(),
                };
                let via = super::super::compile(&from_spec(&section), &ctx).unwrap();
                assert_eq!(direct, Some(via), "{mode:?} {bounding:x}");
            }
        }
        assert!(spec_for(&Mode::Default, true, all).unwrap().is_none());
        assert!(spec_for(&Mode::Unconfined, false, 0).unwrap().is_none());
    }

    /// Each way a profile can be wrong fails the conversion with the words
    /// its resolution has.
    #[test]
    fn the_profiles_errors_are_its_resolutions() {
        let call = |c: &str| format!(r#"{{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{c}]}}"#);
        for bad in [
            call(r#"{"name":"read","names":["write"],"action":"SCMP_ACT_ALLOW"}"#),
            call(r#"{"name":"read","action":"SCMP_ACT_NOPE"}"#),
            call(r#"{"name":"read","action":"SCMP_ACT_NOTIFY"}"#),
            call(r#"{"name":"read","action":"SCMP_ACT_ALLOW","args":[{"index":6,"op":"SCMP_CMP_EQ"}]}"#),
            call(r#"{"name":"read","action":"SCMP_ACT_ALLOW","args":[{"index":0,"op":"SCMP_CMP_NOPE"}]}"#),
            call(r#"{"name":"read","action":"SCMP_ACT_ALLOW","includes":{"minKernel":"x"}}"#),
            r#"{"defaultAction":"SCMP_ACT_NOPE"}"#.to_string(),
            r#"{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64"],"archMap":[{"architecture":"SCMP_ARCH_X86_64"}]}"#.to_string(),
        ] {
            let mode = Mode::Custom(bad.clone());
            let want = Profile::from_json(&bad)
                .unwrap()
                .resolve(&super::super::context(0))
                .unwrap_err()
                .to_string();
            let got = spec_for(&mode, false, 0).unwrap_err().to_string();
            assert_eq!(got, want, "{bad}");
        }
    }
}
