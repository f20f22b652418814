//! The two worlds a case runs in: a private Docker Engine driven by the
//! docker CLI, and a private rdock store. Each runs a line with bash, where
//! `D` is its program.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common::Rdock;

/// A private Docker Engine (scripts/docker-engine.sh), stopped on drop:
/// its own data and exec roots, socket, bridge and cgroup parent.
pub struct Engine {
    pub dir: PathBuf,
    pub host: String,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/docker-engine.sh")
}

impl Engine {
    pub fn start(dir: &Path, bridge: &str, cidr: &str, pool: &str) -> Engine {
        let out = Command::new(script())
            .args(["start", &dir.display().to_string(), bridge, cidr])
            .env("DOCKER_ENGINE_POOL", pool)
            .stdin(Stdio::null())
            .output()
            .expect("run scripts/docker-engine.sh");
        assert!(
            out.status.success(),
            "the Docker Engine did not start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Engine {
            dir: dir.to_path_buf(),
            host: String::from_utf8_lossy(&out.stdout).trim().to_string(),
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = Command::new(script())
            .args(["stop", &self.dir.display().to_string()])
            .stdin(Stdio::null())
            .status();
    }
}

/// The docker 28 client the suite compares against: /usr/local/bin's
/// where installed there (Debian's docker.io brings a 20.10 client to
/// /usr/bin), else the one on PATH.
pub fn docker_client() -> String {
    let local = "/usr/local/bin/docker";
    if Path::new(local).exists() {
        local.into()
    } else {
        "docker".into()
    }
}

#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub struct World {
    pub program: &'static str,
    pub tmp: PathBuf,
    prelude: String,
    env: Vec<(String, String)>,
}

const RESET: &str = r#"
ids=$(D ps -aq 2>/dev/null); [ -z "$ids" ] || D rm -f $ids >/dev/null 2>&1
for n in $(D network ls --format '{{.Name}}' 2>/dev/null); do
    case $n in bridge|host|none) ;; *) D network rm "$n" >/dev/null 2>&1;; esac
done
vols=$(D volume ls -q 2>/dev/null); [ -z "$vols" ] || D volume rm -f $vols >/dev/null 2>&1
for i in $(D images --format '{{.Repository}}:{{.Tag}}' 2>/dev/null); do
    case $i in busybox:latest|'<none>:<none>') ;; *) D rmi -f "$i" >/dev/null 2>&1;; esac
done
D builder prune -af >/dev/null 2>&1
dang=$(D images -q --filter dangling=true 2>/dev/null); [ -z "$dang" ] || D rmi -f $dang >/dev/null 2>&1
find "$TMP" -mindepth 1 -maxdepth 1 ! -name .home -exec rm -rf {} + 2>/dev/null
true
"#;

impl World {
    pub fn docker(engine: &Engine, tmp: &Path, reg: &str) -> World {
        World::new(
            "docker",
            tmp,
            format!("D() {{ {} -H {} \"$@\"; }}", docker_client(), engine.host),
            vec![("REG".into(), reg.into())],
        )
    }

    /// `REG` is the loopback registry both worlds share; each pushes under
    /// its own program's name (`$REG/$W/...`), which normalises alike.
    pub fn rdock(r: &Rdock, tmp: &Path, reg: &str) -> World {
        World::new(
            "rdock",
            tmp,
            format!(
                "D() {{ {} --root {} --runroot {} \"$@\"; }}",
                crate::common::bin(),
                r.root.display(),
                r.runroot.display()
            ),
            vec![
                (
                    "RDOCK_DAEMON_CONFIG".into(),
                    r.dir.path().join("daemon.json").display().to_string(),
                ),
                ("REG".into(), reg.into()),
            ],
        )
    }

    /// The docker 28 CLI against rdock's API service on `sock`: the
    /// client prints, so its words are docker's on both sides.
    pub fn rdock_api(r: &Rdock, sock: &Path, tmp: &Path, reg: &str) -> World {
        World::new(
            "rdock",
            tmp,
            format!(
                "D() {{ {} -H unix://{} \"$@\"; }}",
                docker_client(),
                sock.display()
            ),
            vec![
                (
                    "RDOCK_DAEMON_CONFIG".into(),
                    r.dir.path().join("daemon.json").display().to_string(),
                ),
                ("REG".into(), reg.into()),
            ],
        )
    }

    fn new(program: &'static str, tmp: &Path, d: String, mut env: Vec<(String, String)>) -> World {
        let home = tmp.join(".home");
        std::fs::create_dir_all(&home).expect("world home");
        env.push(("HOME".into(), home.display().to_string()));
        env.push(("TMP".into(), tmp.display().to_string()));
        env.push(("W".into(), program.into()));
        World {
            program,
            tmp: tmp.to_path_buf(),
            prelude: format!("{d}\nexport -f D\n"),
            env,
        }
    }

    /// One line through bash, with a deadline: a hung case fails, it does
    /// not hang the suite.
    pub fn run(&self, line: &str) -> Outcome {
        let out = Command::new("timeout")
            .args(["-k", "5", "120", "bash", "-c"])
            .arg(format!("{}{line}", self.prelude))
            .current_dir(&self.tmp)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env_remove("DOCKER_HOST")
            .env_remove("DOCKER_CONFIG")
            .stdin(Stdio::null())
            .output()
            .expect("spawn bash");
        Outcome {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Back to the base state between groups: busybox and nothing else.
    pub fn reset(&self) {
        self.run(RESET);
    }
}
