//! Linux capabilities: docker's default set, --cap-add/--cap-drop, and
//! applying the result in the container's init.

use super::{Result, RuntimeError};

/// docker's default set as a bitmask (CapEff 00000000a80425fb): CHOWN,
/// DAC_OVERRIDE, FOWNER, FSETID, KILL, SETGID, SETUID, SETPCAP,
/// NET_BIND_SERVICE, NET_RAW, SYS_CHROOT, MKNOD, AUDIT_WRITE, SETFCAP.
pub const DEFAULT_MASK: u64 = 0xa80425fb;

/// Capability names by number (linux/capability.h).
pub const NAMES: &[&str] = &[
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];

/// The highest capability the running kernel knows.
pub fn last_cap() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or((NAMES.len() as u32).saturating_sub(1))
}

fn kernel_mask() -> u64 {
    // Bits 0 to `last`.
    let last = last_cap().min(63);
    u64::MAX
        .checked_shr(63u32.saturating_sub(last))
        .unwrap_or(0)
}

/// A capability's number from docker's spelling: any case, "CAP_" optional.
pub fn by_name(name: &str) -> Option<u32> {
    let up = name.to_ascii_uppercase();
    let bare = up.strip_prefix("CAP_").unwrap_or(&up);
    NAMES.iter().position(|n| *n == bare).map(|i| i as u32)
}

fn is_all(s: &str) -> bool {
    s.eq_ignore_ascii_case("ALL")
}

/// Resolve the final set from docker's flags (moby's TweakCapabilities):
/// `--cap-drop ALL` starts from nothing, `--cap-add ALL` gives everything,
/// adds win over drops of the same name. `privileged` means every
/// capability the kernel has.
pub fn resolve(add: &[String], drop: &[String], privileged: bool) -> Result<u64> {
    let bits = |list: &[String], what: &str| -> Result<u64> {
        let mut m = 0u64;
        for c in list.iter().filter(|c| !is_all(c)) {
            match by_name(c) {
                Some(n) => m |= 1 << n,
                None => {
                    let up = c.to_ascii_uppercase();
                    let full = if up.starts_with("CAP_") {
                        up
                    } else {
                        format!("CAP_{up}")
                    };
                    return Err(RuntimeError::InvalidArg(format!(
                        "invalid {what}: unknown capability: \"{full}\""
                    )));
                }
            }
        }
        Ok(m)
    };
    let add_bits = bits(add, "CapAdd")?;
    let drop_bits = bits(drop, "CapDrop")?;
    if privileged || add.iter().any(|c| is_all(c)) {
        return Ok(kernel_mask());
    }
    let base = if drop.iter().any(|c| is_all(c)) {
        0
    } else {
        DEFAULT_MASK & !drop_bits
    };
    Ok((base | add_bits) & kernel_mask())
}

/// In the container's init, before switching user: drop from the bounding
/// set everything not in `mask`, and clear the ambient set.
pub fn drop_bounding(mask: u64) -> Result<()> {
    for cap in 0..=last_cap().min(63) {
        if mask & (1 << cap) == 0 {
            // SAFETY: prctl with integer arguments only.
            let r = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) };
            if r != 0 {
                let e = nix::errno::Errno::last();
                // EINVAL: a capability this kernel does not have.
                if e != nix::errno::Errno::EINVAL {
                    return Err(RuntimeError::sys(format!("dropping capability {cap}"), e));
                }
            }
        }
    }
    // SAFETY: as above.
    unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL,
            0,
            0,
            0,
        );
    }
    Ok(())
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const CAP_V3: u32 = 0x2008_0522;

/// This process's capability sets (capget).
fn current() -> Result<[CapData; 2]> {
    let mut hdr = CapHeader {
        version: CAP_V3,
        pid: 0,
    };
    let mut cur = [CapData::default(); 2];
    // SAFETY: a v3 header and room for two data structs.
    let r = unsafe {
        libc::syscall(
            libc::SYS_capget,
            &mut hdr as *mut CapHeader,
            cur.as_mut_ptr(),
        )
    };
    if r != 0 {
        return Err(RuntimeError::sys("capget", nix::errno::Errno::last()));
    }
    Ok(cur)
}

/// Set this process's capability sets (capset).
fn set(data: &[CapData; 2]) -> Result<()> {
    let mut hdr = CapHeader {
        version: CAP_V3,
        pid: 0,
    };
    // SAFETY: a v3 header and two data structs, as capset(2) requires.
    let r = unsafe { libc::syscall(libc::SYS_capset, &mut hdr as *mut CapHeader, data.as_ptr()) };
    if r != 0 {
        return Err(RuntimeError::sys("capset", nix::errno::Errno::last()));
    }
    Ok(())
}

/// Every permitted capability effective again (a change of fsuid away
/// from 0 drops the file-related ones).
pub fn raise_effective() -> Result<()> {
    let mut cur = current()?;
    for d in cur.iter_mut() {
        d.effective = d.permitted;
    }
    set(&cur)
}

/// After switching user: effective and permitted become `mask` for uid 0;
/// another uid keeps nothing (the kernel cleared them at setuid, and this
/// makes sure), inheritable stays empty, as docker does.
pub fn apply(mask: u64, uid: u32) -> Result<()> {
    // A process can only keep what it has: where rdock itself runs without
    // some capability (CAP_SYS_RESOURCE in some sandboxes), `--privileged`
    // and `--cap-add ALL` give what there is rather than fail.
    let have = current()
        .map(|cur| cur[0].permitted as u64 | (cur[1].permitted as u64) << 32)
        .unwrap_or(u64::MAX);
    let m = if uid == 0 { mask & have } else { 0 };
    set(&[
        CapData {
            effective: m as u32,
            permitted: m as u32,
            inheritable: 0,
        },
        CapData {
            effective: (m >> 32) as u32,
            permitted: (m >> 32) as u32,
            inheritable: 0,
        },
    ])
}

/// The five capability sets of an OCI process (bit masks); the bounding
/// set is `InitSpec::caps`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sets {
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
    pub ambient: u64,
}

/// PR_SET_KEEPCAPS: whether the permitted set survives a setuid away
/// from 0 (the OCI sets are given whatever the uid).
pub fn keep_across_setuid(keep: bool) -> Result<()> {
    // SAFETY: prctl with integer arguments only.
    if unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, libc::c_ulong::from(keep), 0, 0, 0) } != 0 {
        return Err(RuntimeError::sys(
            "prctl(PR_SET_KEEPCAPS)",
            nix::errno::Errno::last(),
        ));
    }
    Ok(())
}

/// After switching user: the sets exactly as an OCI config gives them,
/// then the ambient ones raised (each must be permitted and inheritable).
pub fn apply_sets(s: &Sets) -> Result<()> {
    let have = current()
        .map(|cur| cur[0].permitted as u64 | (cur[1].permitted as u64) << 32)
        .unwrap_or(u64::MAX);
    let perm = s.permitted & have;
    let eff = s.effective & perm;
    set(&[
        CapData {
            effective: eff as u32,
            permitted: perm as u32,
            inheritable: s.inheritable as u32,
        },
        CapData {
            effective: (eff >> 32) as u32,
            permitted: (perm >> 32) as u32,
            inheritable: (s.inheritable >> 32) as u32,
        },
    ])?;
    for cap in 0..=last_cap().min(63) {
        if s.ambient & (1 << cap) != 0 {
            // SAFETY: prctl with integer arguments only.
            let r = unsafe {
                libc::prctl(
                    libc::PR_CAP_AMBIENT,
                    libc::PR_CAP_AMBIENT_RAISE,
                    cap as libc::c_ulong,
                    0,
                    0,
                )
            };
            // As runc: an ambient capability the kernel refuses (not
            // permitted or inheritable) is skipped, not fatal.
            let _ = r;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(x: &[&str]) -> Vec<String> {
        x.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn defaults_and_tweaks() {
        assert_eq!(resolve(&[], &[], false).unwrap(), DEFAULT_MASK);
        let admin = 1u64 << by_name("SYS_ADMIN").unwrap();
        assert_eq!(
            resolve(&v(&["sys_admin"]), &[], false).unwrap(),
            DEFAULT_MASK | admin
        );
        assert_eq!(
            resolve(&v(&["CAP_SYS_ADMIN"]), &[], false).unwrap(),
            DEFAULT_MASK | admin
        );
        let chown = 1u64 << 0;
        assert_eq!(
            resolve(&[], &v(&["chown"]), false).unwrap(),
            DEFAULT_MASK & !chown
        );
        assert_eq!(resolve(&v(&["CHOWN"]), &v(&["ALL"]), false).unwrap(), chown);
        assert_eq!(resolve(&[], &v(&["all"]), false).unwrap(), 0);
        assert_eq!(resolve(&v(&["ALL"]), &[], false).unwrap(), kernel_mask());
        assert_eq!(resolve(&[], &[], true).unwrap(), kernel_mask());
        // The default set is 0xa80425fb, as docker documents it.
        let names = [
            "CHOWN",
            "DAC_OVERRIDE",
            "FOWNER",
            "FSETID",
            "KILL",
            "SETGID",
            "SETUID",
            "SETPCAP",
            "NET_BIND_SERVICE",
            "NET_RAW",
            "SYS_CHROOT",
            "MKNOD",
            "AUDIT_WRITE",
            "SETFCAP",
        ];
        let m = names.iter().fold(0u64, |m, n| m | 1 << by_name(n).unwrap());
        assert_eq!(m, DEFAULT_MASK);
    }

    #[test]
    fn unknown_capability_is_docker_error() {
        let e = resolve(&v(&["NOT_A_CAP"]), &[], false)
            .unwrap_err()
            .to_string();
        assert_eq!(e, "invalid CapAdd: unknown capability: \"CAP_NOT_A_CAP\"");
        assert!(resolve(&[], &v(&["bogus"]), false).is_err());
    }
}
