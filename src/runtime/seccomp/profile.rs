//! docker's seccomp profile format (the JSON of `--security-opt
//! seccomp=PATH`, moby's `profiles/seccomp` types) and its resolution for
//! one container: includes/excludes by capability, architecture and
//! kernel, names to this architecture's numbers.

use super::syscalls::TABLE;
use super::{Result, SeccompError};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    #[serde(default)]
    pub default_action: String,
    #[serde(default)]
    pub default_errno_ret: Option<u32>,
    #[serde(default)]
    pub architectures: Option<Vec<String>>,
    #[serde(default)]
    pub arch_map: Option<Vec<ArchMap>>,
    #[serde(default)]
    pub syscalls: Option<Vec<Syscall>>,
    #[serde(default)]
    pub listener_path: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArchMap {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub sub_architectures: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Syscall {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub names: Option<Vec<String>>,
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub errno_ret: Option<u32>,
    #[serde(default)]
    pub args: Option<Vec<Arg>>,
    #[serde(default)]
    pub includes: Option<Filter>,
    #[serde(default)]
    pub excludes: Option<Filter>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Arg {
    pub index: u32,
    #[serde(default)]
    pub value: u64,
    #[serde(default)]
    pub value_two: u64,
    pub op: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    #[serde(default)]
    pub caps: Option<Vec<String>>,
    #[serde(default)]
    pub arches: Option<Vec<String>>,
    /// "<kernel>.<major>", e.g. "4.8".
    #[serde(default)]
    pub min_kernel: Option<String>,
}

/// What a matching rule (or the default) does: the SECCOMP_RET_* values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    KillProcess,
    KillThread,
    Trap,
    Errno(u16),
    Trace(u16),
    Log,
    Allow,
}

impl Action {
    /// libseccomp's names, with runc's defaults: EPERM when an ERRNO or
    /// TRACE action gives no errnoRet.
    pub fn parse(name: &str, errno: Option<u32>) -> Result<Action> {
        let ret = errno.unwrap_or(libc::EPERM as u32).min(0xffff) as u16;
        Ok(match name {
            "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" => Action::KillThread,
            "SCMP_ACT_KILL_PROCESS" => Action::KillProcess,
            "SCMP_ACT_TRAP" => Action::Trap,
            "SCMP_ACT_ERRNO" => Action::Errno(ret),
            "SCMP_ACT_TRACE" => Action::Trace(ret),
            "SCMP_ACT_LOG" => Action::Log,
            "SCMP_ACT_ALLOW" => Action::Allow,
            "SCMP_ACT_NOTIFY" => {
                return Err(SeccompError::Invalid(
                    "SCMP_ACT_NOTIFY is not supported by rdock".into(),
                ))
            }
            other => return Err(SeccompError::Invalid(format!("invalid action {other:?}"))),
        })
    }

    /// The filter's return value.
    pub fn ret(self) -> u32 {
        match self {
            Action::KillProcess => 0x8000_0000,
            Action::KillThread => 0,
            Action::Trap => 0x0003_0000,
            Action::Errno(e) => 0x0005_0000 | e as u32,
            Action::Trace(e) => 0x7ff0_0000 | e as u32,
            Action::Log => 0x7ffc_0000,
            Action::Allow => 0x7fff_0000,
        }
    }
}

/// libseccomp's comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Ne,
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
    /// (arg & value) == value_two
    MaskedEq,
}

impl Op {
    pub fn parse(s: &str) -> Result<Op> {
        Ok(match s {
            "SCMP_CMP_NE" => Op::Ne,
            "SCMP_CMP_LT" => Op::Lt,
            "SCMP_CMP_LE" => Op::Le,
            "SCMP_CMP_EQ" => Op::Eq,
            "SCMP_CMP_GE" => Op::Ge,
            "SCMP_CMP_GT" => Op::Gt,
            "SCMP_CMP_MASKED_EQ" => Op::MaskedEq,
            other => return Err(SeccompError::Invalid(format!("invalid operator {other:?}"))),
        })
    }
}

/// One comparison of a 64-bit syscall argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArgCmp {
    pub index: u8,
    pub op: Op,
    pub value: u64,
    pub value_two: u64,
}

/// A rule for one syscall: all comparisons hold -> `action`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub args: Vec<ArgCmp>,
    pub action: Action,
}

/// A profile resolved for one container on this host.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub default: Action,
    /// Syscall number -> its rules, in profile order.
    pub rules: BTreeMap<u32, Vec<Rule>>,
    /// The highest number the profile names for this container, whatever
    /// the action: runc answers ENOSYS above it (see `bpf.rs`).
    pub last_nr: Option<u32>,
}

/// What includes/excludes are checked against.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    /// The container's capability bounding set (moby checks Bounding).
    pub caps: u64,
    /// (kernel, major) of the running kernel.
    pub kernel: (u32, u32),
}

/// moby's name for the host architecture in includes/excludes.
pub const NATIVE_ARCH: &str = if cfg!(target_arch = "aarch64") {
    "arm64"
} else {
    "amd64"
};

pub fn syscall_nr(name: &str) -> Option<u32> {
    TABLE
        .binary_search_by(|(n, _)| (*n).cmp(name))
        .ok()
        .and_then(|i| TABLE.get(i))
        .map(|&(_, nr)| nr)
}

/// The highest syscall number this build knows.
#[cfg(test)]
pub fn max_known_nr() -> u32 {
    TABLE.iter().map(|(_, n)| *n).max().unwrap_or(0)
}

fn parse_kernel(s: &str) -> Result<(u32, u32)> {
    let bad = || {
        SeccompError::Invalid(format!(
            "invalid kernel version: {s:?}, expected \"<kernel>.<major>\""
        ))
    };
    let (a, b) = s.split_once('.').ok_or_else(bad)?;
    let v = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
    if v == (0, 0) {
        return Err(bad());
    }
    Ok(v)
}

impl Profile {
    /// `architectures` or `archMap`, not both.
    pub fn check_arches(&self) -> Result<()> {
        if self.architectures.as_ref().is_some_and(|a| !a.is_empty())
            && self.arch_map.as_ref().is_some_and(|a| !a.is_empty())
        {
            return Err(SeccompError::Invalid("both 'architectures' and 'archMap' are specified in the seccomp profile, use either 'architectures' or 'archMap'".into()));
        }
        Ok(())
    }
}

impl Arg {
    /// The argument's index, one of a syscall's six.
    pub fn checked_index(&self) -> Result<u8> {
        u8::try_from(self.index)
            .ok()
            .filter(|i| *i <= 5)
            .ok_or_else(|| SeccompError::Invalid(format!("invalid argument index {}", self.index)))
    }
}

impl Syscall {
    /// The names it is for (`name` or `names`, not both).
    pub fn names(&self) -> Result<Vec<&str>> {
        Ok(match (&self.names, self.name.as_str()) {
            (Some(n), "") => n.iter().map(String::as_str).collect(),
            (None, "") => Vec::new(),
            (None, one) => vec![one],
            (Some(n), _) if n.is_empty() => vec![self.name.as_str()],
            (Some(_), _) => return Err(SeccompError::Invalid("both 'name' and 'names' are specified in the seccomp profile, use either 'name' or 'names'".into())),
        })
    }

    /// Does the rule apply to this container (its includes and excludes
    /// by architecture, capability and kernel)?
    pub fn applies(&self, ctx: &Context) -> Result<bool> {
        if let Some(ex) = &self.excludes {
            if ex.arches.iter().flatten().any(|a| a == NATIVE_ARCH)
                || ex.caps.iter().flatten().any(|c| has_cap(ctx, c))
            {
                return Ok(false);
            }
            if let Some(k) = &ex.min_kernel {
                if ctx.kernel >= parse_kernel(k)? {
                    return Ok(false);
                }
            }
        }
        if let Some(inc) = &self.includes {
            if let Some(a) = inc.arches.as_ref().filter(|a| !a.is_empty()) {
                if !a.iter().any(|a| a == NATIVE_ARCH) {
                    return Ok(false);
                }
            }
            if !inc.caps.iter().flatten().all(|c| has_cap(ctx, c)) {
                return Ok(false);
            }
            if let Some(k) = &inc.min_kernel {
                if ctx.kernel < parse_kernel(k)? {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }
}

fn has_cap(ctx: &Context, name: &str) -> bool {
    crate::runtime::caps::by_name(name)
        .filter(|_| name.to_ascii_uppercase().starts_with("CAP_"))
        .is_some_and(|n| n < 64 && ctx.caps & (1 << n) != 0)
}

impl Profile {
    pub fn from_json(text: &str) -> Result<Profile> {
        serde_json::from_str(text)
            .map_err(|e| SeccompError::Decode(format!("Decoding seccomp profile failed: {e}")))
    }

    /// Is there anything to install? (moby: no default action and no
    /// syscalls means no filter.)
    pub fn is_empty(&self) -> bool {
        self.default_action.is_empty() && self.syscalls.as_ref().is_none_or(|s| s.is_empty())
    }

    /// moby's setupSeccomp, then libseccomp's view: the rules that apply
    /// to this container, by syscall number. Names this architecture does
    /// not have are skipped. Rules whose action is the default are dropped
    /// (as runc does: they change nothing), but still count for `last_nr`.
    pub fn resolve(&self, ctx: &Context) -> Result<Resolved> {
        self.check_arches()?;
        let default = Action::parse(&self.default_action, self.default_errno_ret)?;
        let mut rules: BTreeMap<u32, Vec<Rule>> = BTreeMap::new();
        let mut last_nr: Option<u32> = None;
        for call in self.syscalls.iter().flatten() {
            let names = call.names()?;
            if names.is_empty() || !call.applies(ctx)? {
                continue;
            }
            let action = Action::parse(&call.action, call.errno_ret)?;
            let mut args = Vec::new();
            for a in call.args.iter().flatten() {
                args.push(ArgCmp {
                    index: a.checked_index()?,
                    op: Op::parse(&a.op)?,
                    value: a.value,
                    value_two: a.value_two,
                });
            }
            for nr in names.into_iter().filter_map(syscall_nr) {
                last_nr = last_nr.max(Some(nr));
                if action != default {
                    rules.entry(nr).or_default().push(Rule {
                        args: args.clone(),
                        action,
                    });
                }
            }
        }
        // runc takes a highest number of 0 for none.
        let last_nr = last_nr.filter(|n| *n != 0);
        Ok(Resolved {
            default,
            rules,
            last_nr,
        })
    }
}

/// The running kernel's (kernel, major), from uname.
pub fn kernel_version() -> (u32, u32) {
    // SAFETY: uname fills a struct we own.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::uname(&mut u) } != 0 {
        return (0, 0);
    }
    let rel: String = u
        .release
        .iter()
        .take_while(|c| **c != 0)
        .map(|c| *c as u8 as char)
        .collect();
    let mut it = rel
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse().unwrap_or(0));
    (it.next().unwrap_or(0), it.next().unwrap_or(0))
}
