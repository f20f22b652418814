//! Confinement against real containers: docker's seccomp profile (and
//! `seccomp=unconfined`, `--privileged`, custom JSON profiles),
//! no_new_privs, capabilities as /proc/self/status shows them, the
//! protected /proc paths, and `--security-opt` parsing.

mod common;
use common::*;
use std::path::PathBuf;
use std::process::Command;

/// A static program making raw syscalls (busybox has no keyctl, ptrace,
/// init_module...): each argument names one, it prints `name=ok` or
/// `name=<strerror>`.
const PROBE_C: &str = r#"
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/wait.h>
int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *w = argv[i];
        long r;
        if (!strcmp(w, "unshare-user")) r = syscall(SYS_unshare, CLONE_NEWUSER);
        else if (!strcmp(w, "unshare-mnt")) r = syscall(SYS_unshare, CLONE_NEWNS);
        else if (!strcmp(w, "mount")) r = syscall(SYS_mount, "none", "/tmp", "tmpfs", 0, "");
        else if (!strcmp(w, "keyctl")) r = syscall(SYS_keyctl, 0, -3, 0);
        else if (!strncmp(w, "ptrace=", 7)) r = syscall(SYS_ptrace, PTRACE_ATTACH, atoi(w + 7), 0, 0);
        else if (!strcmp(w, "init_module")) r = syscall(SYS_init_module, NULL, 0, "");
        else if (!strcmp(w, "finit_module")) r = syscall(SYS_finit_module, -1, "", 0);
        else if (!strcmp(w, "vsock")) r = syscall(SYS_socket, 40, SOCK_STREAM, 0);
        else if (!strcmp(w, "alg")) r = syscall(SYS_socket, 38, SOCK_SEQPACKET, 0);
        else if (!strcmp(w, "io_pgetevents")) r = syscall(SYS_io_pgetevents, 0, 0, 0, NULL, NULL, NULL);
        /* file_getattr (Linux 6.17): 468 on every architecture. */
        else if (!strcmp(w, "file_getattr")) r = syscall(468, -1, "", NULL, 0, 0);
        else if (!strcmp(w, "personality")) r = syscall(SYS_personality, 0x0040000);
        else if (!strcmp(w, "clone-newns") || !strcmp(w, "fork")) {
            long fl = SIGCHLD | (w[0] == 'c' ? CLONE_NEWNS : 0);
            r = syscall(SYS_clone, fl, 0, 0, 0, 0);
            if (r == 0) _exit(0);
            if (r > 0) waitpid(r, 0, 0);
        } else { fprintf(stderr, "unknown %s\n", w); return 2; }
        printf("%s=%s\n", w, r < 0 ? strerror(errno) : "ok");
    }
    return 0;
}
"#;

/// `source` compiled static as `name` in the test's dir.
fn compile_c(r: &Rdock, name: &str, source: &str) -> PathBuf {
    let src = r.dir.path().join(format!("{name}.c"));
    let bin = r.dir.path().join(name);
    std::fs::write(&src, source).unwrap();
    let st = Command::new("cc")
        .args(["-static", "-O1", "-o"])
        .arg(&bin)
        .arg(&src)
        .status()
        .expect("cc (gcc) must be installed");
    assert!(st.success(), "compiling {name} failed");
    bin
}

fn probe(r: &Rdock) -> PathBuf {
    compile_c(r, "probe", PROBE_C)
}

/// Run the probe in a container with `opts`; its answers by syscall.
fn syscalls(
    r: &Rdock,
    probe: &std::path::Path,
    opts: &[&str],
    calls: &[&str],
) -> Vec<(String, String)> {
    let vol = format!("{}:/probe:ro", probe.display());
    let mut args = vec!["run", "--rm", "--network", "none", "-v", &vol];
    args.extend_from_slice(opts);
    args.extend_from_slice(&["busybox", "/probe"]);
    args.extend_from_slice(calls);
    let out = r.run(&args);
    out.ok()
        .lines()
        .filter_map(|l| l.rsplit_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn status_field(r: &Rdock, opts: &[&str], field: &str) -> String {
    let mut args = vec!["run", "--rm", "--network", "none"];
    args.extend_from_slice(opts);
    args.extend_from_slice(&["busybox", "cat", "/proc/self/status"]);
    let out = r.run(&args);
    out.ok()
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
        .trim()
        .to_string()
}

const EPERM: &str = "Operation not permitted";
// Namespace-making calls first: after unshare(CLONE_NEWUSER) the probe
// would hold every capability in its new user namespace.
const CALLS: &[&str] = &[
    "mount",
    "unshare-mnt",
    "clone-newns",
    "keyctl",
    "init_module",
    "finit_module",
    "vsock",
    "personality",
    "fork",
    "unshare-user",
];

#[test]
fn default_profile_refuses_what_docker_refuses() {
    let r = Rdock::with_busybox();
    let p = probe(&r);
    let outside = format!("ptrace={}", std::process::id());
    let mut calls = CALLS.to_vec();
    calls.extend([outside.as_str(), "alg", "io_pgetevents", "file_getattr"]);
    let got = syscalls(&r, &p, &[], &calls);
    assert_eq!(got.len(), calls.len(), "{got:?}");
    for (call, res) in &got {
        match call.split('=').next().unwrap_or_default() {
            "fork" => assert_eq!(res, "ok"),
            // ptrace itself passes the profile (kernel >= 4.8, as docker):
            // an outside process cannot even be named from the container's
            // pid namespace.
            "ptrace" => assert_eq!(res, "No such process"),
            // Allowed, as by docker: the kernel refuses the null context.
            "io_pgetevents" => assert_eq!(res, "Invalid argument"),
            // Newer than every syscall docker's profile names: ENOSYS, as
            // runc answers, so that programs fall back.
            "file_getattr" => assert_eq!(res, "Function not implemented"),
            _ => assert_eq!(res, EPERM, "{call} under the default profile"),
        }
    }
    assert_eq!(status_field(&r, &[], "Seccomp"), "2");
    assert_eq!(status_field(&r, &[], "NoNewPrivs"), "0");
    // What the init does after installing the filter (user switch,
    // capset, --init's fork and reaping) passes it.
    assert_eq!(
        status_field(&r, &["--init", "-u", "nobody"], "Seccomp"),
        "2"
    );
    assert_eq!(
        status_field(
            &r,
            &["--init", "--security-opt", "no-new-privileges"],
            "Seccomp"
        ),
        "2"
    );
}

#[test]
fn unconfined_and_privileged_get_past_seccomp() {
    let r = Rdock::with_busybox();
    let p = probe(&r);
    // Unconfined: only capabilities stand in the way (keyctl and user
    // namespaces need none; the default set lacks CAP_SYS_ADMIN).
    let got = syscalls(&r, &p, &["--security-opt", "seccomp=unconfined"], CALLS);
    let get = |got: &[(String, String)], k: &str| {
        got.iter()
            .find(|(c, _)| c == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no {k} in {got:?}"))
    };
    assert_eq!(get(&got, "keyctl"), "ok");
    assert_eq!(get(&got, "unshare-user"), "ok");
    assert_eq!(get(&got, "personality"), "ok");
    assert_ne!(get(&got, "vsock"), EPERM);
    assert_eq!(get(&got, "mount"), EPERM, "no CAP_SYS_ADMIN");
    assert_eq!(
        status_field(&r, &["--security-opt", "seccomp=unconfined"], "Seccomp"),
        "0"
    );

    // Privileged: no filter and every capability.
    let got = syscalls(&r, &p, &["--privileged"], CALLS);
    for k in [
        "mount",
        "unshare-mnt",
        "clone-newns",
        "keyctl",
        "unshare-user",
    ] {
        assert_eq!(get(&got, k), "ok", "{k} under --privileged");
    }
    // Past seccomp and the capability check (EBADF, or ENOSYS on a
    // kernel without modules).
    assert_ne!(get(&got, "finit_module"), EPERM);
    assert_ne!(get(&got, "init_module"), EPERM);
    assert_eq!(status_field(&r, &["--privileged"], "Seccomp"), "0");

    // CAP_SYS_ADMIN brings its syscalls into the profile, nothing else.
    let got = syscalls(&r, &p, &["--cap-add", "SYS_ADMIN"], CALLS);
    for k in ["mount", "unshare-mnt", "clone-newns"] {
        assert_eq!(get(&got, k), "ok", "{k} with CAP_SYS_ADMIN");
    }
    for k in ["keyctl", "init_module", "vsock", "personality"] {
        assert_eq!(get(&got, k), EPERM, "{k} with CAP_SYS_ADMIN");
    }
}

#[test]
fn custom_profile_from_a_json_file() {
    let r = Rdock::with_busybox();
    let prof = r.dir.path().join("no-mkdir.json");
    std::fs::write(
        &prof,
        r#"{
    "defaultAction": "SCMP_ACT_ALLOW",
    "syscalls": [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
        {"names": ["rmdir"], "action": "SCMP_ACT_ERRNO"}
    ]
}
"#,
    )
    .unwrap();
    let opt = format!("seccomp={}", prof.display());
    let out = r.run(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--security-opt",
        &opt,
        "busybox",
        "sh",
        "-c",
        "mkdir /tmp/x 2>&1; echo mkdir=$?; rmdir /tmp 2>&1; touch /tmp/f && echo touch ok",
    ]);
    let text = out.ok();
    assert!(text.contains("Permission denied"), "{text}");
    assert!(text.contains("mkdir=1"), "{text}");
    assert!(text.contains("Operation not permitted"), "{text}");
    assert!(text.contains("touch ok"), "{text}");
    // The same under no_new_privs (installed last, just before exec).
    let out = r.run(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--security-opt",
        &opt,
        "--security-opt",
        "no-new-privileges",
        "busybox",
        "mkdir",
        "/tmp/y",
    ]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    // A custom profile applies under --privileged too, as with docker.
    let out = r.run(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--privileged",
        "--security-opt",
        &opt,
        "busybox",
        "mkdir",
        "/tmp/z",
    ]);
    assert_eq!(out.code, 1, "{}", out.stderr);

    // inspect shows the profile inline, compacted, as docker's CLI sends it.
    let id = r
        .run(&[
            "create",
            "--security-opt",
            &opt,
            "--security-opt",
            "no-new-privileges",
            "busybox",
            "true",
        ])
        .ok()
        .trim()
        .to_string();
    let sec = r
        .run(&["inspect", "-f", "{{json .HostConfig.SecurityOpt}}", &id])
        .ok()
        .trim()
        .to_string();
    let v: Vec<String> = serde_json::from_str(&sec).unwrap();
    assert_eq!(v.len(), 2, "{sec}");
    assert!(
        v[0].starts_with(
            r#"seccomp={"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir""#
        ),
        "{sec}"
    );
    assert_eq!(v[1], "no-new-privileges");
    r.run(&["rm", &id]).ok();

    // Profiles that cannot be used are rdock's errors, before anything runs.
    let missing = r.dir.path().join("missing.json");
    let e = r
        .run(&[
            "run",
            "--rm",
            "--security-opt",
            &format!("seccomp={}", missing.display()),
            "busybox",
            "true",
        ])
        .fails_125()
        .to_string();
    assert!(
        e.contains(&format!(
            "opening seccomp profile ({0}) failed: open {0}: no such file or directory",
            missing.display()
        )),
        "{e}"
    );
    std::fs::write(&prof, "{not json").unwrap();
    let e = r
        .run(&["run", "--rm", "--security-opt", &opt, "busybox", "true"])
        .fails_125()
        .to_string();
    assert!(e.contains("compacting json for seccomp profile"), "{e}");
    std::fs::write(&prof, r#"{"defaultAction": "SCMP_ACT_SOMETIMES"}"#).unwrap();
    r.run(&["run", "--rm", "--security-opt", &opt, "busybox", "true"])
        .fails_125();
    assert_eq!(r.run(&["ps", "-aq"]).ok(), "");
}

#[test]
fn no_new_privileges_and_exec() {
    let r = Rdock::with_busybox();
    for (opt, want) in [
        ("no-new-privileges", "1"),
        ("no-new-privileges=true", "1"),
        ("no-new-privileges:true", "1"),
        ("no-new-privileges=false", "0"),
    ] {
        assert_eq!(
            status_field(&r, &["--security-opt", opt], "NoNewPrivs"),
            want,
            "{opt}"
        );
        assert_eq!(status_field(&r, &["--security-opt", opt], "Seccomp"), "2");
    }
    // exec gets the container's filter and no_new_privs; `exec
    // --privileged` gets every capability but still the container's
    // filter (as runc applies it to every process of the container).
    r.run(&[
        "run",
        "-d",
        "--name",
        "conf",
        "--network",
        "none",
        "--security-opt",
        "no-new-privileges",
        "busybox",
        "sleep",
        "60",
    ])
    .ok();
    let st = r.run(&["exec", "conf", "cat", "/proc/self/status"]);
    let st = st.ok();
    assert!(st.contains("NoNewPrivs:\t1"), "{st}");
    assert!(st.contains("Seccomp:\t2"), "{st}");
    let st = r.run(&["exec", "--privileged", "conf", "cat", "/proc/self/status"]);
    let st = st.ok();
    assert!(st.contains("Seccomp:\t2"), "{st}");
    assert!(!st.contains("CapEff:\t00000000a80425fb"), "{st}");
    let out = r.run(&["exec", "conf", "unshare", "-m", "true"]);
    assert_ne!(out.code, 0);
    r.run(&["rm", "-f", "conf"]).ok();
    // exec into an unconfined container is unconfined.
    r.run(&[
        "run",
        "-d",
        "--name",
        "unconf",
        "--network",
        "none",
        "--security-opt",
        "seccomp=unconfined",
        "busybox",
        "sleep",
        "60",
    ])
    .ok();
    let st = r.run(&["exec", "unconf", "cat", "/proc/self/status"]);
    assert!(st.ok().contains("Seccomp:\t0"), "{}", st.stdout);
    r.run(&["rm", "-f", "unconf"]).ok();
}

#[test]
fn capabilities_are_dockers() {
    let r = Rdock::with_busybox();
    let check = |opts: &[&str], want: &str| {
        for f in ["CapEff", "CapPrm", "CapBnd"] {
            assert_eq!(status_field(&r, opts, f), want, "{f} with {opts:?}");
        }
        assert_eq!(status_field(&r, opts, "CapInh"), "0000000000000000");
        assert_eq!(status_field(&r, opts, "CapAmb"), "0000000000000000");
    };
    check(&[], "00000000a80425fb");
    check(&["--cap-drop", "ALL"], "0000000000000000");
    // NET_ADMIN is bit 12.
    check(&["--cap-add", "NET_ADMIN"], "00000000a80435fb");
    check(
        &["--cap-add", "NET_ADMIN", "--cap-drop", "CHOWN"],
        "00000000a80435fa",
    );
    let last: u32 = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // As far as rdock itself holds them (some sandboxes withhold one,
    // e.g. CAP_SYS_RESOURCE): privileged gives what there is.
    let ours = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("CapPrm:"))
        .map(|v| u64::from_str_radix(v.trim(), 16).unwrap())
        .unwrap();
    check(
        &["--privileged"],
        &format!("{:016x}", ((1u64 << (last + 1)) - 1) & ours),
    );
    // A non-root user keeps nothing but the bounding set.
    assert_eq!(
        status_field(&r, &["-u", "nobody"], "CapEff"),
        "0000000000000000"
    );
    assert_eq!(
        status_field(&r, &["-u", "nobody"], "CapBnd"),
        "00000000a80425fb"
    );
}

#[test]
fn proc_and_sys_are_protected() {
    let r = Rdock::with_busybox();
    let sh = |opts: &[&str], script: &str| {
        let mut args = vec!["run", "--rm", "--network", "none"];
        args.extend_from_slice(opts);
        args.extend_from_slice(&["busybox", "sh", "-c", script]);
        r.run(&args)
    };
    // /proc/sysrq-trigger is read-only, so the write never reaches the
    // host's kernel (a kernel without sysrq has no such file at all).
    let out = sh(&[], "echo h > /proc/sysrq-trigger && echo WROTE");
    assert_ne!(out.code, 0);
    assert!(!out.stdout.contains("WROTE"));
    if std::path::Path::new("/proc/sysrq-trigger").exists() {
        assert!(
            out.stderr.contains("Read-only file system"),
            "{}",
            out.stderr
        );
    }
    // /proc/sys too, even for root with the default capabilities.
    let out = sh(
        &[],
        "echo rdock > /proc/sys/kernel/domainname && echo WROTE",
    );
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("Read-only file system"),
        "{}",
        out.stderr
    );
    // Masked: /proc/keys, /proc/timer_list read as empty, /sys/firmware
    // is an empty tmpfs; /sys is read-only.
    let mountinfo = |opts: &[&str]| sh(opts, "cat /proc/self/mountinfo").ok().to_string();
    let m = mountinfo(&[]);
    for p in [
        "/proc/keys",
        "/proc/timer_list",
        "/sys/firmware",
        "/proc/sys",
        "/proc/irq",
    ] {
        if std::path::Path::new(p).exists() {
            assert!(m.contains(&format!(" {p} ")), "{p} not protected: {m}");
        }
    }
    assert!(m.contains(" /sys ro,"), "{m}");
    assert_eq!(sh(&[], "wc -c < /proc/keys").ok().trim(), "0");
    // systempaths=unconfined: nothing masked, nothing made read-only
    // (the CLI option docker turns into empty MaskedPaths/ReadonlyPaths).
    let m = mountinfo(&["--security-opt", "systempaths=unconfined"]);
    for p in [
        "/proc/keys",
        "/proc/timer_list",
        "/sys/firmware",
        "/proc/sys",
    ] {
        assert!(!m.contains(&format!(" {p} ")), "{p} still protected: {m}");
    }
}

#[test]
fn security_opt_parsing_as_docker() {
    let r = Rdock::with_busybox();
    let before = r.snapshot();
    let e = r
        .run(&["run", "--rm", "--security-opt", "bogus", "busybox", "true"])
        .fails_125()
        .to_string();
    assert_eq!(e, "rdock: Invalid --security-opt: \"bogus\"\n");
    let e = r
        .run(&[
            "run",
            "--rm",
            "--security-opt",
            "bogus=1",
            "busybox",
            "true",
        ])
        .fails_125()
        .to_string();
    assert_eq!(e, "rdock: invalid --security-opt 2: \"bogus=1\"\n");
    r.run(&[
        "create",
        "--security-opt",
        "no-new-privileges=maybe",
        "busybox",
        "true",
    ])
    .fails_1();
    r.run(&[
        "run",
        "--rm",
        "--security-opt",
        "seccomp=",
        "busybox",
        "true",
    ])
    .fails_125();
    assert_eq!(r.snapshot(), before, "failed creates left something");
    // No LSM here: label and apparmor are accepted, as docker accepts
    // them on a host without SELinux or AppArmor.
    r.run(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--security-opt",
        "label=disable",
        "--security-opt",
        "label:type:svirt_t",
        "--security-opt",
        "apparmor=unconfined",
        "--security-opt",
        "seccomp=builtin",
        "busybox",
        "true",
    ])
    .ok();
    let id = r
        .run(&[
            "create",
            "--security-opt",
            "apparmor=docker-default",
            "--security-opt",
            "label=disable",
            "busybox",
            "true",
        ])
        .ok()
        .trim()
        .to_string();
    assert_eq!(
        r.run(&[
            "inspect",
            "-f",
            "{{json .HostConfig.SecurityOpt}} {{.AppArmorProfile}}",
            &id
        ])
        .ok()
        .trim(),
        r#"["apparmor=docker-default","label=disable"] docker-default"#
    );
    let id2 = r
        .run(&["create", "busybox", "true"])
        .ok()
        .trim()
        .to_string();
    assert_eq!(
        r.run(&["inspect", "-f", "{{json .HostConfig.SecurityOpt}}", &id2])
            .ok()
            .trim(),
        "null"
    );
    r.run(&["rm", &id, &id2]).ok();
}

/// A static watcher: spins on the next pid of its pid namespace, trying
/// to open /proc/PID/exe, and prints `GOT PID` when what it opened is the
/// file named by (dev, ino) (the host's rdock binary). Ends after `secs`.
const EXE_WATCH_C: &str = r#"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv) {
    unsigned long dev = strtoul(argv[1], 0, 10), ino = strtoul(argv[2], 0, 10);
    time_t end = time(0) + atoi(argv[3]);
    int pid = getpid() + 1, seen = 0;
    char p[64];
    printf("watching\n");
    fflush(stdout);
    while (time(0) < end) {
        snprintf(p, sizeof p, "/proc/%d/exe", pid);
        int fd = open(p, O_RDONLY);
        if (fd >= 0) {
            struct stat st;
            if (fstat(fd, &st) == 0 && st.st_dev == dev && st.st_ino == ino) {
                printf("GOT %d\n", pid);
                fflush(stdout);
            }
            close(fd);
            seen = 1;
        }
        snprintf(p, sizeof p, "/proc/%d", pid + 1);
        if (seen || access(p, F_OK) == 0) {
            pid++;
            seen = 0;
        }
    }
    printf("done\n");
    return 0;
}
"#;

/// Before its execve, an exec's process is the rdock binary inside the
/// container: it is non-dumpable, so no container process can open its
/// /proc/PID/exe (a handle on the host's binary, CVE-2019-5736's way in).
#[test]
fn exec_never_shows_the_host_binary_to_the_container() {
    use std::os::unix::fs::MetadataExt;
    let r = Rdock::with_busybox();
    let watch = compile_c(&r, "watch", EXE_WATCH_C);
    let me = std::fs::metadata(bin()).unwrap();
    let (dev, ino) = (me.dev().to_string(), me.ino().to_string());
    let vol = format!("{}:/watch:ro", watch.display());
    r.run(&[
        "run",
        "-d",
        "--name",
        "watcher",
        "--network",
        "none",
        "-v",
        &vol,
        "busybox",
        "/watch",
        &dev,
        &ino,
        "600",
    ])
    .ok();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !r.run(&["logs", "watcher"]).ok().contains("watching") {
        assert!(
            std::time::Instant::now() < deadline,
            "the watcher never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // Unfixed, a few dozen of these were caught.
    for _ in 0..150 {
        r.run(&["exec", "watcher", "true"]).ok();
    }
    let logs = r.run(&["logs", "watcher"]).ok().to_string();
    r.run(&["rm", "-f", "watcher"]).ok();
    assert!(
        !logs.contains("GOT"),
        "a container process opened the host binary through /proc/PID/exe: {logs}"
    );
}
