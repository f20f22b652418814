//! podman (and buildah, sharing its store) for interop tests: a private
//! store, no network, runc and cgroupfs; everything it made removed and
//! everything mounted under its dir unmounted on drop.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

pub struct Podman {
    pub dir: tempfile::TempDir,
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap_or_default()
}

impl Podman {
    /// None (and a note on stderr) when podman is not installed.
    pub fn new() -> Option<Podman> {
        if Command::new("podman").arg("--version").output().is_err() {
            eprintln!("podman is not installed: skipping the podman exchange");
            return None;
        }
        Some(Podman {
            dir: tempfile::Builder::new()
                .prefix("rdock-podman-")
                .tempdir()
                .unwrap(),
        })
    }

    fn tool(&self, tool: &str) -> Command {
        let d = self.dir.path();
        let mut c = Command::new(tool);
        c.args([
            "--root",
            p(&d.join("root")),
            "--runroot",
            p(&d.join("run")),
            "--storage-driver",
            "vfs",
        ]);
        c.stdin(Stdio::null());
        c
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = self.tool("podman");
        c.args([
            "--tmpdir",
            p(&self.dir.path().join("tmp")),
            "--cgroup-manager",
            "cgroupfs",
            "--events-backend",
            "none",
        ])
        .args(args);
        c
    }

    /// `podman` with this store's options, as a shell command line (for
    /// tmux sessions).
    #[allow(dead_code)]
    pub fn shell(&self) -> String {
        let c = self.cmd(&[]);
        std::iter::once(c.get_program())
            .chain(c.get_args())
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// buildah on the same store.
    pub fn buildah(&self, args: &[&str]) -> Command {
        let mut c = self.tool("buildah");
        c.args(args);
        c
    }

    /// podman ARGS, which must succeed; its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        run_ok(self.cmd(args), None)
    }
}

/// Run `c` with `stdin`; it must succeed. Its stdout.
pub fn run_ok(mut c: Command, stdin: Option<&[u8]>) -> String {
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    if stdin.is_some() {
        c.stdin(Stdio::piped());
    }
    let mut child = c.spawn().expect("spawn");
    if let (Some(data), Some(mut s)) = (stdin, child.stdin.take()) {
        s.write_all(data).expect("write stdin");
    }
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{c:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = self.cmd(&["rm", "-af"]).output();
        let _ = self.cmd(&["rmi", "-af"]).output();
        let prefix = self.dir.path().display().to_string();
        if let Ok(m) = std::fs::read_to_string("/proc/self/mounts") {
            let mut mps: Vec<&str> = m
                .lines()
                .filter_map(|l| l.split_whitespace().nth(1))
                .filter(|mp| mp.starts_with(&prefix))
                .collect();
            mps.sort_by_key(|m| std::cmp::Reverse(m.len()));
            for mp in mps {
                let _ = Command::new("umount").arg("-l").arg(mp).status();
            }
        }
    }
}
