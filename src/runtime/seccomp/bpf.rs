//! A resolved profile compiled to classic BPF for seccomp(2).
//!
//! Why rdock writes its own BPF instead of using `seccompiler` (or
//! libseccomp): seccompiler emits one compare per syscall rule, a linear
//! chain that every syscall walks (about 300 compares for docker's
//! allowlist before reaching a rarely listed syscall, and the default
//! action after the whole chain), and its JSON is not docker's. Here the
//! syscall number space is cut into ranges with one outcome each
//! (adjacent allowed numbers merge: docker's ~300 allowed syscalls make
//! ~80 ranges on x86_64) and found by a balanced binary search: every
//! syscall costs 3-4 instructions of architecture checks, ~7 compares and
//! a return, whatever its number. Argument rules (clone, socket,
//! personality) are only evaluated for their own syscall. Compiling the
//! default profile takes ~60 us in a release build (profile 10 us,
//! resolution 45 us, BPF 4 us; `tests.rs` prints a debug-build figure);
//! installing it and tearing it down with the process ~80 us of kernel
//! time (its JIT); running it ~30 ns per syscall.
//!
//! Layout: every subtree is self-contained (its jumps stay inside it and
//! it ends in returns), so subtrees are emitted recursively and simply
//! concatenated; a left subtree longer than a conditional jump's 255
//! reach is skipped with an unconditional `ja` (32-bit offset).

use super::profile::{Action, ArgCmp, Op, Resolved, Rule};
use super::{Result, SeccompError};

/// One BPF instruction, laid out as the kernel's `struct sock_filter`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

/// A compiled filter, ready for seccomp(SECCOMP_SET_MODE_FILTER).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program(pub Vec<Insn>);

pub const LD_W_ABS: u16 = 0x20;
pub const ALU_AND_K: u16 = 0x54;
pub const JA: u16 = 0x05;
pub const JEQ_K: u16 = 0x15;
pub const JGT_K: u16 = 0x25;
pub const JGE_K: u16 = 0x35;
pub const RET_K: u16 = 0x06;

/// Offsets in `struct seccomp_data`.
const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
/// (low, high) word offsets of the six u64 arguments, args[i] at
/// 16 + 8 i (little-endian: the low word first).
const OFF_ARGS: [(u32, u32); 6] = [(16, 20), (24, 28), (32, 36), (40, 44), (48, 52), (56, 60)];

#[cfg(target_arch = "x86_64")]
pub const AUDIT_ARCH_NATIVE: u32 = 0xC000_003E;
#[cfg(target_arch = "aarch64")]
pub const AUDIT_ARCH_NATIVE: u32 = 0xC000_00B7;
/// x32 syscalls arrive with AUDIT_ARCH_X86_64 and this bit in the number.
#[cfg(target_arch = "x86_64")]
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// BPF_MAXINSNS.
const MAX_INSNS: usize = 4096;

fn stmt(code: u16, k: u32) -> Insn {
    Insn {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump(code: u16, k: u32, jt: u8, jf: u8) -> Insn {
    Insn { code, jt, jf, k }
}

fn ret(a: Action) -> Insn {
    stmt(RET_K, a.ret())
}

/// What a range of syscall numbers leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Leaf {
    Ret(Action),
    /// Argument rules in order, then `fallback`.
    Rules(Vec<Rule>, Action),
}

/// Conditional jump targets before they become offsets.
#[derive(Clone, Copy)]
enum T {
    Next,
    /// Skip n instructions.
    Skip(u8),
    /// This rule does not match: go to the next rule.
    Fail,
}

struct Pending {
    code: u16,
    k: u32,
    jt: T,
    jf: T,
}

fn p(code: u16, k: u32, jt: T, jf: T) -> Pending {
    Pending { code, k, jt, jf }
}

/// One comparison; falls through when it holds, `Fail` otherwise.
/// Arguments are 64-bit: high word compared first, as libseccomp does.
fn compare(c: &ArgCmp, out: &mut Vec<Pending>) -> Result<()> {
    let &(lo_off, hi_off) = OFF_ARGS
        .get(usize::from(c.index))
        .ok_or_else(|| SeccompError::Invalid(format!("invalid argument index {}", c.index)))?;
    let (hi, lo) = ((c.value >> 32) as u32, c.value as u32);
    use T::{Fail, Next, Skip};
    match c.op {
        Op::Eq => out.extend([
            p(LD_W_ABS, hi_off, Next, Next),
            p(JEQ_K, hi, Next, Fail),
            p(LD_W_ABS, lo_off, Next, Next),
            p(JEQ_K, lo, Next, Fail),
        ]),
        Op::Ne => out.extend([
            p(LD_W_ABS, hi_off, Next, Next),
            p(JEQ_K, hi, Next, Skip(2)),
            p(LD_W_ABS, lo_off, Next, Next),
            p(JEQ_K, lo, Fail, Next),
        ]),
        Op::MaskedEq => {
            let (mhi, mlo) = ((c.value >> 32) as u32, c.value as u32);
            let (dhi, dlo) = ((c.value_two >> 32) as u32, c.value_two as u32);
            out.extend([
                p(LD_W_ABS, hi_off, Next, Next),
                p(ALU_AND_K, mhi, Next, Next),
                p(JEQ_K, dhi, Next, Fail),
                p(LD_W_ABS, lo_off, Next, Next),
                p(ALU_AND_K, mlo, Next, Next),
                p(JEQ_K, dlo, Next, Fail),
            ])
        }
        Op::Gt | Op::Ge => {
            let low = if c.op == Op::Gt { JGT_K } else { JGE_K };
            out.extend([
                p(LD_W_ABS, hi_off, Next, Next),
                p(JGT_K, hi, Skip(3), Next),
                p(JEQ_K, hi, Next, Fail),
                p(LD_W_ABS, lo_off, Next, Next),
                p(low, lo, Next, Fail),
            ])
        }
        Op::Lt | Op::Le => {
            // Lt is !Ge, Le is !Gt.
            let low = if c.op == Op::Lt { JGE_K } else { JGT_K };
            out.extend([
                p(LD_W_ABS, hi_off, Next, Next),
                p(JGT_K, hi, Fail, Next),
                p(JEQ_K, hi, Next, Skip(2)),
                p(LD_W_ABS, lo_off, Next, Next),
                p(low, lo, Fail, Next),
            ])
        }
    }
    Ok(())
}

fn leaf_code(leaf: &Leaf) -> Result<Vec<Insn>> {
    let (rules, fallback) = match leaf {
        Leaf::Ret(a) => return Ok(vec![ret(*a)]),
        Leaf::Rules(r, f) => (r, *f),
    };
    let mut out = Vec::new();
    for r in rules {
        let mut block = Vec::new();
        for c in &r.args {
            compare(c, &mut block)?;
        }
        // The rule's block ends with its return; Fail lands just after,
        // as many instructions on as are left in the block from here.
        for (pi, to_fail) in block.iter().zip((1..=block.len()).rev()) {
            let off = |t: T| -> Result<u8> {
                let v = match t {
                    T::Next => 0,
                    T::Skip(s) => s as usize,
                    T::Fail => to_fail,
                };
                u8::try_from(v).map_err(|_| SeccompError::Invalid("rule too long".into()))
            };
            out.push(jump(pi.code, pi.k, off(pi.jt)?, off(pi.jf)?));
        }
        out.push(ret(r.action));
    }
    out.push(ret(fallback));
    Ok(out)
}

/// Binary search over `ranges` (start numbers ascending; each range runs
/// to the next start). The accumulator holds the syscall number.
fn tree(ranges: &[(u32, Leaf)]) -> Result<Vec<Insn>> {
    if let [(_, leaf)] = ranges {
        return leaf_code(leaf);
    }
    let Some((left, right @ [(key, _), ..])) = ranges.split_at_checked(ranges.len() / 2) else {
        return Err(SeccompError::Invalid("no syscall ranges".into()));
    };
    let key = *key;
    let left = tree(left)?;
    let right = tree(right)?;
    let mut out = Vec::with_capacity(left.len().saturating_add(right.len()).saturating_add(2));
    match u8::try_from(left.len()) {
        Ok(l) => out.push(jump(JGE_K, key, l, 0)),
        Err(_) => {
            out.push(jump(JGE_K, key, 0, 1));
            let l = u32::try_from(left.len()).map_err(|_| SeccompError::TooLong(left.len()))?;
            out.push(stmt(JA, l));
        }
    }
    out.extend(left);
    out.extend(right);
    Ok(out)
}

/// runc's ENOSYS stub: a syscall numbered above every syscall the profile
/// names is taken for one newer than the profile, and gets ENOSYS rather
/// than the default's EPERM so that programs fall back to older calls.
/// Not when the default already allows.
fn enosys_from(r: &Resolved) -> Option<u32> {
    if matches!(r.default, Action::Allow | Action::Log) {
        return None;
    }
    r.last_nr.and_then(|n| n.checked_add(1))
}

/// The ranges of the number space and their outcomes.
fn ranges(r: &Resolved) -> Vec<(u32, Leaf)> {
    let mut out: Vec<(u32, Leaf)> = Vec::new();
    let push = |out: &mut Vec<(u32, Leaf)>, start: u32, leaf: Leaf| {
        if out
            .last()
            .is_some_and(|(_, l)| *l == leaf && matches!(l, Leaf::Ret(_)))
        {
            return;
        }
        out.push((start, leaf));
    };
    let mut next = 0u32;
    for (&nr, rules) in &r.rules {
        if nr > next {
            push(&mut out, next, Leaf::Ret(r.default));
        }
        let fallback = rules
            .iter()
            .find(|x| x.args.is_empty())
            .map_or(r.default, |x| x.action);
        let conditional: Vec<Rule> = rules
            .iter()
            .filter(|x| !x.args.is_empty())
            .cloned()
            .collect();
        let leaf = if conditional.is_empty() {
            Leaf::Ret(fallback)
        } else {
            Leaf::Rules(conditional, fallback)
        };
        push(&mut out, nr, leaf);
        next = nr.saturating_add(1);
    }
    let enosys = enosys_from(r);
    if out.is_empty() || enosys.is_none_or(|e| next < e) {
        push(&mut out, next, Leaf::Ret(r.default));
    }
    if let Some(e) = enosys {
        push(&mut out, e, Leaf::Ret(Action::Errno(libc::ENOSYS as u16)));
    }
    out
}

/// Compile: architecture check, then the search tree.
pub fn compile(r: &Resolved) -> Result<Program> {
    // A syscall of another ABI (i386 or x32 on x86_64, arm on aarch64)
    // would be looked up with the wrong numbers: its process is killed,
    // as libseccomp does for an architecture the filter lacks.
    let foreign = Action::KillProcess;
    let mut prog = vec![
        stmt(LD_W_ABS, OFF_ARCH),
        jump(JEQ_K, AUDIT_ARCH_NATIVE, 1, 0),
        ret(foreign),
        stmt(LD_W_ABS, OFF_NR),
    ];
    #[cfg(target_arch = "x86_64")]
    prog.extend([jump(JGE_K, X32_SYSCALL_BIT, 0, 1), ret(foreign)]);
    prog.extend(tree(&ranges(r))?);
    if prog.len() > MAX_INSNS {
        return Err(SeccompError::TooLong(prog.len()));
    }
    Ok(Program(prog))
}
