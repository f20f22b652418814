//! The tables against the kernel's headers as installed (Debian's
//! linux-libc-dev, `scripts/test.sh` installs it): every syscall a header
//! numbers is in rdock's table under that number, no table entry holds a
//! number the header gives another name, and what the table has beyond
//! the header is a syscall newer than the header (`NEWER`).

use std::collections::BTreeMap;
use std::process::Command;

const X86_64_HEADER: &str = "/usr/include/x86_64-linux-gnu/asm/unistd_64.h";
const GENERIC_HEADER: &str = "/usr/include/asm-generic/unistd.h";

/// What arm64's `asm/unistd.h` defines before it includes the generic
/// header (since 6.11 the same choices are ABIs of `scripts/syscall.tbl`).
/// Without SYNC_FILE_RANGE2, number 84 is sync_file_range.
const ARM64_WANTS: &[&str] = &[
    "__ARCH_WANT_RENAMEAT",
    "__ARCH_WANT_NEW_STAT",
    "__ARCH_WANT_SET_GET_RLIMIT",
    "__ARCH_WANT_TIME32_SYSCALLS",
    "__ARCH_WANT_SYS_CLONE3",
    "__ARCH_WANT_MEMFD_SECRET",
];

/// In rdock's tables but newer than Debian 12's headers (Linux 6.1); their
/// numbers come from the kernel's syscall tables up to 6.18.
const NEWER: &[&str] = &[
    // 6.5 - 6.8
    "cachestat",
    "fchmodat2",
    "map_shadow_stack",
    "futex_wake",
    "futex_wait",
    "futex_requeue",
    "statmount",
    "listmount",
    "lsm_get_self_attr",
    "lsm_set_self_attr",
    "lsm_list_modules",
    // 6.10 - 6.13
    "mseal",
    "uretprobe",
    "setxattrat",
    "getxattrat",
    "listxattrat",
    "removexattrat",
    // 6.15 - 6.18
    "open_tree_attr",
    "file_getattr",
    "file_setattr",
    "uprobe",
];

fn read_header(path: &str) -> Option<String> {
    match std::fs::read_to_string(path) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => panic!("{path}: {e}"),
    }
}

/// `#define __NR_name N` lines.
fn plain_numbers(text: &str) -> BTreeMap<String, u32> {
    text.lines()
        .filter_map(|l| l.strip_prefix("#define __NR_"))
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let (name, nr) = (it.next()?, it.next()?.parse().ok()?);
            Some((name.to_string(), nr))
        })
        .collect()
}

/// The generic header through the C preprocessor with `wants` defined:
/// its `#if`s decide which syscalls an architecture has, and some names
/// are aliases (`__NR_fcntl` is `__NR3264_fcntl`).
fn generic_numbers(wants: &[&str]) -> BTreeMap<String, u32> {
    let mut cc = Command::new("cc");
    cc.args(["-E", "-dM", "-x", "c"]);
    cc.args(wants.iter().map(|w| format!("-D{w}")));
    let out = cc
        .arg(GENERIC_HEADER)
        .output()
        .expect("cc (gcc) preprocesses the generic header");
    assert!(
        out.status.success(),
        "cc -E {GENERIC_HEADER}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let macros: BTreeMap<&str, &str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("#define "))
        .filter_map(|l| l.split_once(' '))
        .map(|(k, v)| (k, v.trim()))
        .collect();
    // An alias names another macro: follow it to the number.
    fn value<'a>(macros: &BTreeMap<&'a str, &'a str>, mut v: &'a str) -> Option<u32> {
        for _ in 0..8 {
            if let Ok(n) = v.parse() {
                return Some(n);
            }
            v = macros.get(v)?;
        }
        None
    }
    macros
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("__NR_")?, *v)))
        // Markers, not syscalls: the table's size and where an
        // architecture's own syscalls would start.
        .filter(|(name, _)| !["syscalls", "arch_specific_syscall"].contains(name))
        .map(|(name, v)| {
            let nr = value(&macros, v).unwrap_or_else(|| panic!("__NR_{name} = {v}: not a number"));
            (name.to_string(), nr)
        })
        .collect()
}

fn check(arch: &str, table: &[(&str, u32)], header: &BTreeMap<String, u32>) {
    assert!(header.len() > 250, "{arch}: only {} syscalls", header.len());
    let ours: BTreeMap<&str, u32> = table.iter().copied().collect();
    let by_nr: BTreeMap<u32, &str> = header.iter().map(|(n, v)| (*v, n.as_str())).collect();
    let mut wrong = Vec::new();
    for (name, nr) in header {
        match ours.get(name.as_str()) {
            Some(n) if n == nr => {}
            Some(n) => wrong.push(format!("{name}: {n} here, {nr} in the header")),
            None => wrong.push(format!("{name} ({nr}) missing")),
        }
    }
    for (name, nr) in table {
        match by_nr.get(nr) {
            Some(h) if h != name => wrong.push(format!("{name}: {nr} is {h} in the header")),
            Some(_) => {}
            None if header.contains_key(*name) => {}
            None if NEWER.contains(name) => {}
            None => wrong.push(format!("{name} ({nr}): not in the header nor in NEWER")),
        }
    }
    assert!(
        wrong.is_empty(),
        "{arch} table vs header:\n{}",
        wrong.join("\n")
    );
}

/// The host architecture's syscalls as its kernel header numbers them
/// (`vs_docker.rs` uses it too).
pub(in crate::runtime::seccomp) fn native_header() -> BTreeMap<String, u32> {
    if cfg!(target_arch = "aarch64") {
        return generic_numbers(ARM64_WANTS);
    }
    let text = read_header(X86_64_HEADER)
        .unwrap_or_else(|| panic!("{X86_64_HEADER} missing: apt-get install linux-libc-dev"));
    plain_numbers(&text)
}

#[test]
fn tables_sorted_and_unique() {
    for (arch, table) in [
        ("x86_64", super::x86_64::TABLE),
        ("aarch64", super::aarch64::TABLE),
    ] {
        // Sorted by name: syscall_nr's binary search relies on it.
        for w in table.windows(2) {
            assert!(w[0].0 < w[1].0, "{arch}: {} before {}", w[0].0, w[1].0);
        }
        let mut nrs: Vec<u32> = table.iter().map(|(_, n)| *n).collect();
        nrs.sort_unstable();
        nrs.dedup();
        assert_eq!(nrs.len(), table.len(), "{arch}: a number twice");
    }
}

#[test]
fn x86_64_table_matches_kernel_header() {
    // Only an x86_64 host is sure to have it (native_header insists).
    let header = if cfg!(target_arch = "x86_64") {
        native_header()
    } else if let Some(text) = read_header(X86_64_HEADER) {
        plain_numbers(&text)
    } else {
        eprintln!("{X86_64_HEADER} missing: x86_64 table not checked");
        return;
    };
    check("x86_64", super::x86_64::TABLE, &header);
}

#[test]
fn aarch64_table_matches_generic_header() {
    assert!(
        read_header(GENERIC_HEADER).is_some(),
        "{GENERIC_HEADER} missing: apt-get install linux-libc-dev"
    );
    check(
        "aarch64",
        super::aarch64::TABLE,
        &generic_numbers(ARM64_WANTS),
    );
}
