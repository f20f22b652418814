//! Which devices a container may use: docker's default allowlist,
//! `--device`, `--device-cgroup-rule`, `--privileged`. Enforced by the v1
//! devices controller, or on cgroup v2 by a BPF_PROG_TYPE_CGROUP_DEVICE
//! program attached to the container's cgroup.
//!
//! The BPF program is assembled here by hand: it is a short, fixed shape
//! (one compare block per rule), and an eBPF toolchain crate would bring a
//! loader framework onto the `run` path for a few dozen instructions.

use super::cgroups::{Cgroup, CgroupMode};
use super::{Result, RuntimeError};
use serde::{Deserialize, Serialize};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

/// One device cgroup rule ("c 1:3 rwm"); `None` major/minor is `*`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub allow: bool,
    /// 'a' (all), 'c' or 'b'.
    pub kind: char,
    pub major: Option<u32>,
    pub minor: Option<u32>,
    /// Subset of "rwm".
    pub access: String,
}

impl Rule {
    fn allow(kind: char, major: Option<u32>, minor: Option<u32>, access: &str) -> Rule {
        Rule {
            allow: true,
            kind,
            major,
            minor,
            access: access.into(),
        }
    }

    /// The devices-controller line ("c 1:3 rwm").
    pub fn line(&self) -> String {
        let n = |v: Option<u32>| v.map_or("*".to_string(), |v| v.to_string());
        if self.kind == 'a' {
            return "a".into();
        }
        format!(
            "{} {}:{} {}",
            self.kind,
            n(self.major),
            n(self.minor),
            self.access
        )
    }
}

/// docker's default allowlist (moby oci/defaults.go): mknod of anything,
/// and the standard /dev nodes, ptys and /dev/net/tun.
pub fn default_rules() -> Vec<Rule> {
    let c = |maj, min| Rule::allow('c', Some(maj), min, "rwm");
    vec![
        Rule::allow('c', None, None, "m"),
        Rule::allow('b', None, None, "m"),
        c(1, Some(3)),
        c(1, Some(8)),
        c(1, Some(7)),
        c(5, Some(0)),
        c(1, Some(5)),
        c(1, Some(9)),
        c(136, None),
        c(5, Some(2)),
        c(10, Some(200)),
    ]
}

/// `--device-cgroup-rule 'c 42:* rmw'`.
pub fn parse_rule(s: &str) -> Result<Rule> {
    let bad = || RuntimeError::InvalidArg(format!("invalid device cgroup format '{s}'"));
    let parts: Vec<&str> = s.split_whitespace().collect();
    let (kind, nums, access) = match parts.as_slice() {
        [k, n, a] => (*k, *n, *a),
        _ => return Err(bad()),
    };
    let kind = match kind {
        "a" | "b" | "c" => kind.chars().next().ok_or_else(bad)?,
        _ => return Err(bad()),
    };
    let (maj, min) = nums.split_once(':').ok_or_else(bad)?;
    let num = |v: &str| -> Result<Option<u32>> {
        if v == "*" {
            Ok(None)
        } else {
            v.parse().map(Some).map_err(|_| bad())
        }
    };
    if access.is_empty() || !access.chars().all(|c| "rwm".contains(c)) {
        return Err(bad());
    }
    Ok(Rule::allow(kind, num(maj)?, num(min)?, access))
}

/// A device node to create in the container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    /// Absolute path in the container.
    pub path: String,
    pub kind: char,
    pub major: u32,
    pub minor: u32,
    /// Permission bits of the host's node.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

/// `--device HOST[:CONTAINER][:PERMS]` as docker records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mapping {
    pub path_on_host: String,
    pub path_in_container: String,
    pub cgroup_permissions: String,
}

fn valid_perms(p: &str) -> bool {
    !p.is_empty() && p.len() <= 3 && p.chars().all(|c| "rwm".contains(c))
}

/// docker's `--device` syntax.
pub fn parse_mapping(s: &str) -> Result<Mapping> {
    let bad = || RuntimeError::InvalidArg(format!("invalid device specification: {s}"));
    let parts: Vec<&str> = s.split(':').collect();
    let (src, dst, perms) = match parts.as_slice() {
        [src] => (*src, *src, "rwm"),
        [src, p] if valid_perms(p) => (*src, *src, *p),
        [src, dst] => (*src, *dst, "rwm"),
        [src, dst, p] => {
            if !valid_perms(p) {
                return Err(RuntimeError::InvalidArg(format!(
                    "invalid device mode: {p}"
                )));
            }
            (*src, *dst, *p)
        }
        _ => return Err(bad()),
    };
    if src.is_empty() || dst.is_empty() {
        return Err(bad());
    }
    if !dst.starts_with('/') {
        return Err(RuntimeError::InvalidArg(format!(
            "{dst} is not an absolute path"
        )));
    }
    Ok(Mapping {
        path_on_host: src.to_string(),
        path_in_container: dst.to_string(),
        cgroup_permissions: perms.to_string(),
    })
}

fn node_of(host: &Path, in_container: String) -> Option<Node> {
    let m = std::fs::metadata(host).ok()?;
    let ft = m.file_type();
    let kind = if ft.is_char_device() {
        'c'
    } else if ft.is_block_device() {
        'b'
    } else {
        return None;
    };
    Some(Node {
        path: in_container,
        kind,
        major: libc::major(m.rdev()),
        minor: libc::minor(m.rdev()),
        mode: m.mode() & 0o7777,
        uid: m.uid(),
        gid: m.gid(),
    })
}

/// The nodes and rules a mapping stands for (a directory maps every
/// device under it, as docker does).
pub fn resolve_mapping(m: &Mapping) -> Result<(Vec<Node>, Vec<Rule>)> {
    let host = Path::new(&m.path_on_host);
    let meta = std::fs::metadata(host).map_err(|e| {
        RuntimeError::InvalidArg(format!(
            "error gathering device information while adding custom device \"{}\": {}",
            m.path_on_host,
            crate::util::errno_text(&e)
        ))
    })?;
    let mut nodes = Vec::new();
    if meta.is_dir() {
        for p in files_under(host, &[]) {
            if let Ok(rel) = p.strip_prefix(host) {
                let dst = Path::new(&m.path_in_container).join(rel);
                nodes.extend(node_of(&p, dst.display().to_string()));
            }
        }
    } else {
        nodes.extend(node_of(host, m.path_in_container.clone()));
        if nodes.is_empty() {
            return Err(RuntimeError::InvalidArg(format!(
                "error gathering device information while adding custom device \"{}\": not a device node",
                m.path_on_host
            )));
        }
    }
    let rules = nodes
        .iter()
        .map(|n| Rule::allow(n.kind, Some(n.major), Some(n.minor), &m.cgroup_permissions))
        .collect();
    Ok((nodes, rules))
}

/// Every device node under the host's /dev (for `--privileged`), except
/// the ones the container's /dev gets anyway and per-instance file systems.
pub fn host_devices() -> Vec<Node> {
    const SKIP_DIRS: &[&str] = &["/dev/pts", "/dev/shm", "/dev/mqueue"];
    const OWN: &[&str] = &[
        "/dev/null",
        "/dev/zero",
        "/dev/full",
        "/dev/random",
        "/dev/urandom",
        "/dev/tty",
        "/dev/console",
        "/dev/ptmx",
    ];
    files_under(Path::new("/dev"), SKIP_DIRS)
        .into_iter()
        .filter(|p| !p.to_str().is_some_and(|s| OWN.contains(&s)))
        .filter_map(|p| node_of(&p, p.display().to_string()))
        .collect()
}

/// Every non-directory entry under `root`, not descending into `skip`.
fn files_under(root: &Path, skip: &[&str]) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            match e.file_type() {
                Ok(ft) if ft.is_dir() => {
                    if !p.to_str().is_some_and(|s| skip.contains(&s)) {
                        stack.push(p);
                    }
                }
                Ok(_) => out.push(p),
                Err(_) => {}
            }
        }
    }
    out
}

/// Restrict the container's cgroup to `rules` (nothing to do when
/// privileged: it may use every device).
pub fn apply(cg: &Cgroup, rules: &[Rule], privileged: bool) -> Result<()> {
    if privileged {
        return Ok(());
    }
    let v1 = cg.dirs.iter().find(|d| d.join("devices.deny").exists());
    if let Some(dir) = v1 {
        let write = |file: &str, v: &str| {
            std::fs::write(dir.join(file), v)
                .map_err(|e| RuntimeError::Cgroup(format!("writing {v:?} to {file}: {e}")))
        };
        write("devices.deny", "a")?;
        for r in rules {
            write(
                if r.allow {
                    "devices.allow"
                } else {
                    "devices.deny"
                },
                &r.line(),
            )?;
        }
        return Ok(());
    }
    if cg.mode == CgroupMode::Unified {
        if let Some(dir) = cg.dirs.first() {
            attach_filter(dir, rules)?;
        }
    }
    Ok(())
}

// eBPF opcodes (linux/bpf_common.h, linux/bpf.h).
const LDX_W: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W
const AND64_K: u8 = 0x57;
const RSH64_K: u8 = 0x77;
const MOV64_K: u8 = 0xb7;
const MOV64_X: u8 = 0xbf;
const JNE_K: u8 = 0x55;
const EXIT: u8 = 0x95;

#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    code: u8,
    /// dst in the low nibble, src in the high one.
    regs: u8,
    off: i16,
    imm: i32,
}

fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: (src << 4) | (dst & 0x0f),
        off,
        imm,
    }
}

/// The device filter: 1 (allow) when a rule matches, else 0. Rules later
/// in the list win, as the devices controller applies them in order, so
/// they are checked last-first.
pub fn program(rules: &[Rule]) -> Vec<Insn> {
    // struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }
    // access_type = (access << 16) | type.
    let mut p = vec![
        insn(LDX_W, 2, 1, 0, 0),
        insn(AND64_K, 2, 0, 0, 0xffff), // r2: type (1 block, 2 char)
        insn(LDX_W, 3, 1, 0, 0),
        insn(RSH64_K, 3, 0, 0, 16), // r3: access (1 mknod, 2 read, 4 write)
        insn(LDX_W, 4, 1, 4, 0),    // r4: major
        insn(LDX_W, 5, 1, 8, 0),    // r5: minor
    ];
    for r in rules.iter().rev() {
        let mut block = Vec::new();
        let kind = match r.kind {
            'b' => Some(1),
            'c' => Some(2),
            _ => None,
        };
        if let Some(k) = kind {
            block.push(insn(JNE_K, 2, 0, 0, k));
        }
        let mut allowed = 0i32;
        for c in r.access.chars() {
            allowed |= match c {
                'm' => 1,
                'r' => 2,
                'w' => 4,
                _ => 0,
            };
        }
        if allowed != 7 {
            // Every requested access must be among the rule's.
            block.push(insn(MOV64_X, 1, 3, 0, 0));
            block.push(insn(AND64_K, 1, 0, 0, !allowed & 7));
            block.push(insn(JNE_K, 1, 0, 0, 0));
        }
        if let Some(m) = r.major {
            block.push(insn(JNE_K, 4, 0, 0, m as i32));
        }
        if let Some(m) = r.minor {
            block.push(insn(JNE_K, 5, 0, 0, m as i32));
        }
        block.push(insn(MOV64_K, 0, 0, 0, i32::from(r.allow)));
        block.push(insn(EXIT, 0, 0, 0, 0));
        // Each jump skips to the end of its block.
        for (after, ins) in block.iter_mut().rev().enumerate() {
            if ins.code == JNE_K {
                ins.off = after as i16;
            }
        }
        p.extend(block);
    }
    p.push(insn(MOV64_K, 0, 0, 0, 0));
    p.push(insn(EXIT, 0, 0, 0, 0));
    p
}

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;

#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

#[repr(C)]
#[derive(Default)]
struct ProgAttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

fn bpf<T>(cmd: libc::c_long, attr: &T) -> std::io::Result<i64> {
    // SAFETY: attr is a properly laid-out bpf_attr prefix of its size.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *const T,
            std::mem::size_of::<T>() as u32,
        )
    };
    if r < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(r)
}

/// Load the device filter and attach it to the cgroup at `dir`. The kernel
/// keeps it attached for the cgroup's life.
pub fn attach_filter(dir: &Path, rules: &[Rule]) -> Result<()> {
    let insns = program(rules);
    let license = c"Apache-2.0";
    let mut name = [0u8; 16];
    name[..6].copy_from_slice(b"rdock\0");
    let attr = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: insns.len() as u32,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        prog_name: name,
        expected_attach_type: BPF_CGROUP_DEVICE,
        ..Default::default()
    };
    let err = |what: &str, e: std::io::Error| RuntimeError::Cgroup(format!("{what}: {e}"));
    let prog = bpf(BPF_PROG_LOAD, &attr).map_err(|e| err("loading the device filter", e))?;
    // SAFETY: the kernel just returned this fd.
    let prog = unsafe { OwnedFd::from_raw_fd(prog as i32) };
    let cg = std::fs::File::open(dir).map_err(|e| err("opening the cgroup", e))?;
    let attach = ProgAttachAttr {
        target_fd: cg.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
        ..Default::default()
    };
    bpf(BPF_PROG_ATTACH, &attach).map_err(|e| err("attaching the device filter", e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_and_mappings_as_docker_writes_them() {
        assert_eq!(parse_rule("c 1:3 rwm").unwrap().line(), "c 1:3 rwm");
        assert_eq!(parse_rule("b *:* m").unwrap().line(), "b *:* m");
        assert!(parse_rule("x 1:3 rwm").is_err());
        assert!(parse_rule("c 1 rwm").is_err());
        assert!(parse_rule("c 1:3 rwx").is_err());
        let m = parse_mapping("/dev/null").unwrap();
        assert_eq!(
            (m.path_in_container.as_str(), m.cgroup_permissions.as_str()),
            ("/dev/null", "rwm")
        );
        let m = parse_mapping("/dev/null:r").unwrap();
        assert_eq!(m.cgroup_permissions, "r");
        let m = parse_mapping("/dev/null:/dev/mynull:rw").unwrap();
        assert_eq!(m.path_in_container, "/dev/mynull");
        assert!(parse_mapping("/dev/null:/dev/x:rwx").is_err());
        assert!(parse_mapping("/dev/null:rel").is_err());
        let (nodes, rules) = resolve_mapping(&parse_mapping("/dev/null:/dev/n2").unwrap()).unwrap();
        assert_eq!((nodes[0].kind, nodes[0].major, nodes[0].minor), ('c', 1, 3));
        assert_eq!(rules[0].line(), "c 1:3 rwm");
        let e = resolve_mapping(&parse_mapping("/dev/nope").unwrap()).unwrap_err();
        assert!(
            e.to_string().contains(
                "error gathering device information while adding custom device \"/dev/nope\""
            ),
            "{e}"
        );
    }

    /// The filter, loaded into a real v2 cgroup (this host's unified
    /// hierarchy, pure or hybrid): a process in it may use /dev/null but
    /// not /dev/full, which the rules leave out.
    #[test]
    fn the_bpf_filter_is_enforced() {
        let root = if CgroupMode::detect() == CgroupMode::Unified {
            std::path::PathBuf::from("/sys/fs/cgroup")
        } else {
            std::path::PathBuf::from("/sys/fs/cgroup/unified")
        };
        if !root.join("cgroup.procs").exists() {
            eprintln!("no cgroup v2 hierarchy: skipped");
            return;
        }
        let dir = root.join(format!("rdock-devtest-{}", std::process::id()));
        std::fs::create_dir(&dir).unwrap();
        struct Rm(std::path::PathBuf);
        impl Drop for Rm {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir(&self.0);
            }
        }
        let _rm = Rm(dir.clone());
        let rules = vec![
            Rule::allow('c', None, None, "m"),
            Rule::allow('c', Some(1), Some(3), "rw"),
        ];
        attach_filter(&dir, &rules).unwrap();
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "echo $$ > {}/cgroup.procs; echo x > /dev/null && echo null-ok; \
                 echo x > /dev/full 2>/dev/null || echo full-denied; \
                 cat /dev/zero 2>/dev/null | head -c1 >/dev/null; exit 0",
                dir.display()
            ))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("null-ok"), "{text}");
        assert!(text.contains("full-denied"), "{text}");
    }
}
