//! The Engine API service (`rdock system service`) for tests: started on
//! a socket in the test's dir, driven by the docker 28 CLI.

use super::Rdock;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The docker 28 client: /usr/local/bin's where installed there (Debian's
/// docker.io brings an older one to /usr/bin).
/// How long one client command may take before its test fails.
pub const CLIENT_LIMIT: Duration = Duration::from_secs(180);

pub fn docker_bin() -> &'static str {
    if Path::new("/usr/local/bin/docker").exists() {
        "/usr/local/bin/docker"
    } else {
        "docker"
    }
}

/// A service on a socket in the test's dir, stopped (SIGTERM) on drop.
pub struct Service {
    pub child: Child,
    pub sock: PathBuf,
}

impl Service {
    pub fn start(r: &Rdock, extra: &[&str]) -> Service {
        let sock = r.dir.path().join("docker.sock");
        let uri = format!("unix://{}", sock.display());
        let mut args = vec!["system", "service"];
        args.extend_from_slice(extra);
        args.push(&uri);
        let child = r
            .cmd(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the service");
        let s = Service { child, sock };
        let start = Instant::now();
        while !s.sock.exists() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "the socket never appeared"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        s
    }

    pub fn docker(&self, args: &[&str]) -> Output {
        super::output_within(&mut self.docker_cmd(args), CLIENT_LIMIT)
    }

    pub fn docker_cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(docker_bin());
        c.env("DOCKER_HOST", format!("unix://{}", self.sock.display()))
            .env("DOCKER_CONFIG", self.sock.with_file_name("docker-config"))
            .args(args)
            .stdin(Stdio::null());
        c
    }

    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.docker(args);
        assert!(
            o.status.success(),
            "docker {args:?} failed ({:?}): {}{}",
            o.status.code(),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    pub fn stop(&mut self) {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.stop();
    }
}

pub fn text(o: &Output) -> (i32, String, String) {
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}
