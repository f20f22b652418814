//! Shared integration-test harness: a private rdock store per test, a
//! busybox image built from Debian's busybox-static, and cleanup that runs
//! even when the test fails.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub mod api;
pub mod hostile;
pub mod podman;
pub mod registry;
pub mod stale;

#[allow(unused_imports)]
pub use podman::{run_ok, Podman};

pub const BUSYBOX: &str = "/bin/busybox";

pub struct Rdock {
    pub dir: tempfile::TempDir,
    pub root: PathBuf,
    pub runroot: PathBuf,
    /// This test's default bridge, subnet (a /24) and nftables table, so
    /// parallel tests never share kernel state; removed on drop.
    pub bridge: String,
    pub subnet: String,
    pub table: String,
    /// Where this test's user networks take their subnets from (a /24,
    /// in /27s), apart from every other test's.
    pub pool: String,
}

/// A /24 per Rdock in this test binary: 10.(150 + pid % 50).N.0/24.
fn next_subnet() -> (String, u32) {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::SeqCst) % 250;
    let b = 150 + std::process::id() % 50;
    (format!("10.{b}.{n}"), n)
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
    /// Assert success and return stdout.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!(
            self.code, 0,
            "stdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        &self.stdout
    }
    /// Assert a failure of `run` (or a flag error, or a value `create`
    /// refuses itself): exit 125 and docker's layout: one line, or
    /// "rdock: MSG", an empty line and "Run 'rdock run --help' for more
    /// information", or (a usage error) one line and docker's usage block.
    /// Returns the first line (with its newline).
    #[track_caller]
    pub fn fails_125(&self) -> &str {
        assert_eq!(
            self.code, 125,
            "stdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        if let Some((first, usage)) = self.stderr.split_once("\n\nUsage:  ") {
            assert!(
                usage.contains("\n\nRun '") && usage.ends_with(" --help' for more information\n"),
                "not docker's usage block: {:?}",
                self.stderr
            );
            assert_eq!(first.lines().count(), 1, "{:?}", self.stderr);
            return first;
        }
        self.message()
    }
    /// Assert a failure of a command other than `run`: exit 1 and one
    /// line on stderr (docker's words, without a prefix).
    #[track_caller]
    pub fn fails_1(&self) -> &str {
        assert_eq!(
            self.code, 1,
            "stdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        assert_eq!(
            self.stderr.lines().count(),
            1,
            "stderr should be one line: {:?}",
            self.stderr
        );
        &self.stderr
    }
    /// The error's line: stderr when it is one line, else the first line
    /// of run's or create's layout (which is checked).
    #[track_caller]
    pub fn message(&self) -> &str {
        let lines: Vec<&str> = self.stderr.lines().collect();
        let n = lines.len();
        if n != 1 {
            // The message may be several lines: the engine's joined errors.
            assert!(
                n >= 3
                    && lines[0].starts_with("rdock: ")
                    && lines[n - 2].is_empty()
                    && lines[n - 1].starts_with("Run 'rdock ")
                    && lines[n - 1].ends_with(" --help' for more information"),
                "stderr should be one line or docker's run layout: {:?}",
                self.stderr
            );
            let end = self.stderr.rfind("\n\nRun ").map_or(0, |i| i + 1);
            return &self.stderr[..end];
        }
        &self.stderr
    }
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_rdock")
}

impl Rdock {
    pub fn new() -> Rdock {
        // What killed test processes left, before this one adds its own.
        stale::sweep_once();
        let dir = tempfile::Builder::new()
            .prefix("rdock-test-")
            .tempdir()
            .expect("tempdir");
        stale::mark(dir.path());
        let root = dir.path().join("root");
        let runroot = dir.path().join("run");
        let (net, n) = next_subnet();
        let tag = format!("{}{}", std::process::id() % 100000, n);
        let bridge = format!("rdt{tag}");
        let table = format!("rdock_t{tag}");
        let pool = format!("10.{}.{n}", 200 + std::process::id() % 50);
        let settings = format!(
            r#"{{"bridge": "{bridge}", "bip": "{net}.1/24", "firewall-table": "{table}",
                "default-address-pools": [{{"base": "{pool}.0/24", "size": 27}}]}}"#
        );
        std::fs::write(dir.path().join("daemon.json"), settings).expect("daemon.json");
        Rdock {
            dir,
            root,
            runroot,
            bridge,
            subnet: format!("{net}.0/24"),
            table,
            pool,
        }
    }

    /// A store with the busybox image imported as `busybox:latest`.
    pub fn with_busybox() -> Rdock {
        let r = Rdock::new();
        let tar = r.dir.path().join("busybox.tar");
        std::fs::write(&tar, busybox_tar()).expect("write tar");
        r.run(&[
            "import",
            "-c",
            "CMD [\"sh\"]",
            tar.to_str().unwrap_or_default(),
            "busybox",
        ])
        .ok();
        r
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin());
        c.env("RDOCK_DAEMON_CONFIG", self.dir.path().join("daemon.json"));
        c.arg("--root")
            .arg(&self.root)
            .arg("--runroot")
            .arg(&self.runroot);
        c.args(args);
        c.stdin(Stdio::null());
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.cmd(args).output().expect("spawn rdock"))
    }

    pub fn run_stdin(&self, args: &[&str], input: &[u8]) -> Run {
        let mut c = self.cmd(args);
        c.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().expect("spawn rdock");
        if let Some(mut s) = child.stdin.take() {
            let _ = s.write_all(input);
        }
        Run::from(child.wait_with_output().expect("wait rdock"))
    }

    /// The Linux bridges of this store's user networks.
    pub fn user_bridges(&self) -> Vec<String> {
        stale::user_bridges(&self.root)
    }

    /// Every file under the store, for "nothing changed" assertions.
    pub fn snapshot(&self) -> Vec<String> {
        let mut out = Vec::new();
        fn walk(p: &Path, base: &Path, out: &mut Vec<String>) {
            if let Ok(rd) = std::fs::read_dir(p) {
                for e in rd.flatten() {
                    let path = e.path();
                    let rel = path
                        .strip_prefix(base)
                        .unwrap_or(&path)
                        .display()
                        .to_string();
                    if rel.ends_with("lock") {
                        continue;
                    }
                    out.push(rel);
                    if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                        walk(&path, base, out);
                    }
                }
            }
        }
        walk(&self.root, &self.root, &mut out);
        out.sort();
        out
    }
}

impl Drop for Rdock {
    fn drop(&mut self) {
        // Kill and remove whatever a failed test left running, and the
        // kernel state it made. A test process killed before this runs is
        // swept by the next one (stale.rs).
        stale::clean(self.dir.path(), &self.bridge, &self.table);
    }
}

/// A tar of a busybox root: /bin/busybox with its applet links, /etc/passwd
/// and /etc/group with a non-root user, /tmp, /root.
pub fn busybox_tar() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let dir = |b: &mut tar::Builder<Vec<u8>>, p: &str, mode: u32| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(mode);
        h.set_size(0);
        h.set_mtime(1_700_000_000);
        b.append_data(&mut h, p, std::io::empty()).expect("dir");
    };
    for (d, m) in [
        ("bin", 0o755),
        ("etc", 0o755),
        ("tmp", 0o1777),
        ("root", 0o700),
        ("home", 0o755),
        ("home/alice", 0o755),
        ("proc", 0o755),
        ("sys", 0o755),
        ("dev", 0o755),
    ] {
        dir(&mut b, d, m);
    }
    // For mount tests: an image symlink that points out of the container.
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_size(0);
    h.set_mode(0o777);
    b.append_link(&mut h, "escape", "/tmp").expect("link");
    // As on systemd images: a dangling resolv.conf symlink the runtime replaces.
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_size(0);
    h.set_mode(0o777);
    b.append_link(
        &mut h,
        "etc/resolv.conf",
        "../run/systemd/resolve/stub-resolv.conf",
    )
    .expect("link");
    let bb = std::fs::read(BUSYBOX)
        .expect("busybox-static must be installed (apt-get install busybox-static)");
    let mut h = tar::Header::new_gnu();
    h.set_mode(0o755);
    h.set_size(bb.len() as u64);
    h.set_mtime(1_700_000_000);
    b.append_data(&mut h, "bin/busybox", &bb[..])
        .expect("busybox");
    let list = Command::new(BUSYBOX)
        .arg("--list")
        .output()
        .expect("busybox --list");
    for applet in String::from_utf8_lossy(&list.stdout).split_whitespace() {
        if applet == "busybox" {
            continue;
        }
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        h.set_mode(0o777);
        h.set_mtime(1_700_000_000);
        b.append_link(&mut h, format!("bin/{applet}"), "busybox")
            .expect("link");
    }
    let files: &[(&str, &str, u32)] = &[
        ("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\nalice:x:1000:1000:Alice:/home/alice:/bin/sh\n", 0o644),
        ("etc/group", "root:x:0:\nnogroup:x:65534:\nalice:x:1000:\nstaff:x:50:alice\n", 0o644),
        ("bin/notexec", "#!/bin/sh\necho no\n", 0o644),
    ];
    for (p, content, mode) in files {
        let mut h = tar::Header::new_gnu();
        h.set_mode(*mode);
        h.set_size(content.len() as u64);
        h.set_mtime(1_700_000_000);
        b.append_data(&mut h, p, content.as_bytes()).expect("file");
    }
    b.into_inner().expect("tar")
}

/// Gzip some bytes.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).expect("gzip");
    e.finish().expect("gzip")
}

/// Delete, forced, every container an OCI runtime with runc's command
/// line (`bin`) keeps under `root`: what a failed test left.
pub fn delete_runtime_containers(bin: &str, root: &Path) {
    let rt = |args: &[&str]| {
        Command::new(bin)
            .arg("--root")
            .arg(root)
            .args(args)
            .stdin(Stdio::null())
            .output()
    };
    if let Ok(o) = rt(&["list", "-q"]) {
        for id in String::from_utf8_lossy(&o.stdout).lines() {
            let _ = rt(&["delete", "--force", id]);
        }
    }
}

/// Host mounts whose mount point or source mentions `needle`.
pub fn mounts_mentioning(needle: &str) -> Vec<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(needle))
        .map(String::from)
        .collect()
}

/// cgroup directories named after a container id, anywhere in the hierarchy.
pub fn cgroups_of(id: &str) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir("/sys/fs/cgroup") {
        for h in rd.flatten() {
            for sub in [h.path().join("rdock").join(id), h.path().join(id)] {
                if sub.exists() {
                    out.push(sub.display().to_string());
                }
            }
        }
    }
    let v2 = Path::new("/sys/fs/cgroup/rdock").join(id);
    if v2.exists() {
        out.push(v2.display().to_string());
    }
    out
}

/// The host PID of a running container, once it has started (polls inspect).
pub fn wait_for_pid(r: &Rdock, name: &str) -> i32 {
    for _ in 0..200 {
        let out = r.run(&["inspect", "-f", "{{.State.Pid}}", name]);
        if let Ok(pid) = out.stdout.trim().parse::<i32>() {
            if pid > 0 {
                return pid;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    panic!("container {name} never started");
}

/// A tmux server on its own socket running one command in a terminal of
/// the given size: for driving `-it` sessions. Killed when dropped.
pub struct Tmux {
    sock: PathBuf,
}

impl Tmux {
    pub fn start(sock: &Path, cols: u16, rows: u16, cmd: &str) -> Tmux {
        let t = Tmux {
            sock: sock.to_path_buf(),
        };
        let out = t.run(&[
            "new-session",
            "-d",
            // The test's own network settings (see Rdock::new).
            "-e",
            &format!(
                "RDOCK_DAEMON_CONFIG={}",
                sock.with_file_name("daemon.json").display()
            ),
            "-x",
            &cols.to_string(),
            "-y",
            &rows.to_string(),
            cmd,
        ]);
        assert!(
            out.status.success(),
            "tmux did not start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        t
    }

    pub fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-S")
            .arg(&self.sock)
            .args(args)
            .output()
            .expect("tmux")
    }

    pub fn send(&self, keys: &[&str]) {
        let mut args = vec!["send-keys"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    pub fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p"]).stdout).into_owned()
    }

    /// The screen once it shows `needle` (panics after 6 s).
    pub fn wait_for(&self, needle: &str) -> String {
        for _ in 0..300 {
            let screen = self.screen();
            if screen.contains(needle) {
                return screen;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        panic!("timed out waiting for {needle:?}: {}", self.screen());
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

/// The parent of a process, from /proc.
pub fn ppid(pid: i32) -> i32 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    rest.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// A small xorshift generator seeded from the clock (no rand crate): the
/// random instants of kill -9 loops.
pub struct Rng(u64);

impl Rng {
    pub fn new() -> Rng {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1);
        Rng(t | 1)
    }

    /// A number in 0..n.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }

    /// A delay of under `max_ms` milliseconds.
    pub fn delay(&mut self, max_ms: u64) -> std::time::Duration {
        std::time::Duration::from_millis(self.below(max_ms))
    }
}

/// An HTTP request's line and headers (names lowercased), read off `s`,
/// for the tests' little servers.
pub fn http_head(s: &std::net::TcpStream) -> (String, Vec<(String, String)>) {
    use std::io::{BufRead, BufReader};
    let mut rd = BufReader::new(s.try_clone().unwrap());
    let mut line = String::new();
    let _ = rd.read_line(&mut line);
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if rd.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    (line, headers)
}

/// The value of header `name` (lowercase), or "".
pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

/// `cmd`'s output, or a panic (so the test's `Drop`s clean up) when it
/// has not ended within `limit`: a hung client must fail its test, not
/// hang the suite with its containers.
#[track_caller]
pub fn output_within(cmd: &mut Command, limit: std::time::Duration) -> Output {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let pid = child.id() as i32;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => out.expect("wait"),
        Err(_) => {
            // SAFETY: signalling the child this test spawned.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("{cmd:?} did not end within {limit:?}");
        }
    }
}
