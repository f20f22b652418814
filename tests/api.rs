//! The Engine API service (`rdock system service`) driven by the real
//! docker 28 CLI over its socket: containers made through the API are
//! rdock's (and the other way round), streams, exit codes, terminals,
//! the socket's mode, idleness and version negotiation.

mod common;

use common::api::{docker_bin, text, Service};
use common::{Rdock, Tmux};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn docker_cli_runs_containers_through_the_socket() {
    let r = Rdock::with_busybox();
    let s = Service::start(&r, &["--time", "0"]);
    // Streams and the container's exit status.
    let (code, out, err) = text(&s.docker(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "echo out; echo err >&2; exit 3",
    ]));
    assert_eq!((code, out.as_str(), err.as_str()), (3, "out\n", "err\n"));
    assert_eq!(
        s.ok(&["run", "--rm", "busybox", "echo", "hello"]),
        "hello\n"
    );
    // docker's 127 for a program that is not there; the container goes (--rm).
    let (code, _, err) = text(&s.docker(&["run", "--rm", "busybox", "nope"]));
    assert_eq!(code, 127, "{err}");
    assert!(err.contains("executable file not found"), "{err}");
    assert_eq!(r.run(&["ps", "-aq"]).ok(), "");

    // Detached: the same store as the CLI's, both ways.
    let id = s.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "-l",
        "tier=front",
        "busybox",
        "sh",
        "-c",
        "echo started; exec sleep 300",
    ]);
    assert_eq!(id.trim().len(), 64, "{id}");
    assert_eq!(r.run(&["ps", "--format", "{{.Names}}"]).ok(), "web\n");
    r.run(&["create", "--name", "made-by-cli", "busybox", "true"])
        .ok();
    let names = s.ok(&["ps", "-a", "--format", "{{.Names}} {{.State}}"]);
    assert!(
        names.contains("web running") && names.contains("made-by-cli created"),
        "{names}"
    );
    assert_eq!(
        s.ok(&[
            "ps",
            "--filter",
            "label=tier=front",
            "--format",
            "{{.Names}}"
        ]),
        "web\n"
    );
    assert_eq!(
        s.ok(&[
            "inspect",
            "--format",
            "{{.State.Running}} {{.Config.Labels.tier}}",
            "web"
        ]),
        "true front\n"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while s.ok(&["logs", "web"]) != "started\n" {
        assert!(Instant::now() < deadline, "no log line");
        std::thread::sleep(Duration::from_millis(20));
    }
    // exec: streams, status, stdin.
    let (code, out, err) =
        text(&s.docker(&["exec", "web", "sh", "-c", "echo in; echo e >&2; exit 4"]));
    assert_eq!((code, out.as_str(), err.as_str()), (4, "in\n", "e\n"));
    let mut c = s.docker_cmd(&["exec", "-i", "web", "cat"]);
    c.stdin(Stdio::piped()).stdout(Stdio::piped());
    let mut child = c.spawn().expect("docker exec -i");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(b"piped\n").expect("write");
    }
    assert_eq!(text(&child.wait_with_output().expect("wait")).1, "piped\n");
    let (code, out, _) = text(&s.docker(&["exec", "web", "nope"]));
    assert_eq!(code, 127);
    assert!(out.contains("executable file not found"), "{out}");

    // wait, stop, rm; the CLI sees what the API did.
    s.ok(&["stop", "-t", "0", "web"]);
    assert_eq!(s.ok(&["wait", "web"]), "137\n");
    assert!(r
        .run(&[
            "ps",
            "-a",
            "--format",
            "{{.Status}}",
            "--filter",
            "name=web"
        ])
        .ok()
        .starts_with("Exited (137)"));
    s.ok(&["rm", "web", "made-by-cli"]);
    assert_eq!(r.run(&["ps", "-aq"]).ok(), "");
    let (code, _, err) = text(&s.docker(&["inspect", "web"]));
    assert_eq!(code, 1);
    assert!(
        err.contains("No such object: web") || err.contains("No such container"),
        "{err}"
    );
}

#[test]
fn terminal_sessions_detach_and_attach() {
    let r = Rdock::with_busybox();
    let s = Service::start(&r, &["--time", "0"]);
    let env = format!("DOCKER_HOST=unix://{}", s.sock.display());
    let d = docker_bin();
    let t = Tmux::start(
        &r.dir.path().join("tmux1"),
        100,
        30,
        &format!("env {env} {d} run -it --name it1 busybox sh; echo RUN-END-$?; sleep 60"),
    );
    t.wait_for("/ #");
    t.send(&["echo typed-$((6*7))", "Enter"]);
    t.wait_for("typed-42");
    t.send(&["C-p", "C-q"]);
    t.wait_for("RUN-END-0");
    assert_eq!(s.ok(&["ps", "--format", "{{.Names}}"]), "it1\n");
    let t2 = Tmux::start(
        &r.dir.path().join("tmux2"),
        80,
        20,
        &format!("env {env} {d} attach it1; echo ATTACH-END-$?; sleep 60"),
    );
    t2.send(&["Enter"]);
    t2.wait_for("/ #");
    t2.send(&["stty size; exit 5", "Enter"]);
    let screen = t2.wait_for("ATTACH-END-5");
    assert!(screen.contains("20 80"), "{screen}");
    assert!(s
        .ok(&["ps", "-a", "--format", "{{.Status}}"])
        .starts_with("Exited (5)"));
    // exec -it into a running container.
    s.ok(&["run", "-d", "--name", "it2", "busybox", "sleep", "300"]);
    let t3 = Tmux::start(
        &r.dir.path().join("tmux3"),
        90,
        25,
        &format!("env {env} {d} exec -it it2 sh; echo EXEC-END-$?; sleep 60"),
    );
    t3.wait_for("/ #");
    t3.send(&["stty size; exit 7", "Enter"]);
    let screen = t3.wait_for("EXEC-END-7");
    assert!(screen.contains("25 90"), "{screen}");
    s.ok(&["rm", "-f", "it1", "it2"]);
}

#[test]
fn socket_mode_idleness_versions_and_containers_outliving_it() {
    let r = Rdock::with_busybox();
    let mut s = Service::start(&r, &["--time", "1"]);
    let meta = std::fs::metadata(&s.sock).expect("socket");
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.mode() & 0o7777, 0o660);
    assert_eq!((meta.uid(), meta.gid()), (0, 0));
    // Version negotiation: docker's words for a client too new or old.
    let curl = |path: &str| {
        let o = Command::new("curl")
            .args(["-s", "--unix-socket"])
            .arg(&s.sock)
            .arg(format!("http://d{path}"))
            .output()
            .expect("curl");
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    assert_eq!(curl("/_ping"), "OK");
    assert!(curl("/v1.99/version")
        .contains("client version 1.99 is too new. Maximum supported API version is 1.50"));
    assert!(curl("/v1.12/version").contains("is too old"));
    assert!(curl("/v1.44/version").contains("\"ApiVersion\":\"1.50\""));
    // A container started through the API is kept by its monitor.
    s.ok(&[
        "run",
        "-d",
        "--name",
        "stays",
        "busybox",
        "sh",
        "-c",
        "echo up; exec sleep 300",
    ]);
    // A follower that goes away ends its worker (else the service would
    // never be idle below).
    let mut follower = s
        .docker_cmd(&["logs", "-f", "stays"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("docker logs -f");
    {
        use std::io::BufRead;
        let out = follower.stdout.take().expect("stdout");
        let mut line = String::new();
        std::io::BufReader::new(out)
            .read_line(&mut line)
            .expect("read");
        assert_eq!(line, "up\n");
    }
    let _ = follower.kill();
    let _ = follower.wait();
    // Idle for its --time: the service ends and removes its socket.
    let start = Instant::now();
    let status = loop {
        if let Some(st) = s.child.try_wait().expect("try_wait") {
            break st;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the service did not exit when idle"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success());
    assert!(!s.sock.exists());
    assert_eq!(
        r.run(&["ps", "--format", "{{.Names}} {{.State}}"]).ok(),
        "stays running\n"
    );
    r.run(&["rm", "-f", "stays"]).ok();
    s.stop();
    // TCP only when asked for, with a warning; docker's client reaches it.
    let port = common::registry::free_port();
    let tcp = r
        .cmd(&[
            "system",
            "service",
            "--time",
            "0",
            &format!("tcp://127.0.0.1:{port}"),
        ])
        .stderr(Stdio::piped())
        .spawn()
        .expect("service on tcp");
    let start = Instant::now();
    let version = loop {
        let o = Command::new(docker_bin())
            .args([
                "-H",
                &format!("tcp://127.0.0.1:{port}"),
                "version",
                "--format",
                "{{.Server.APIVersion}}",
            ])
            .env("DOCKER_CONFIG", r.dir.path().join("docker-config"))
            .output()
            .expect("docker version");
        if o.status.success() || start.elapsed() > Duration::from_secs(10) {
            break String::from_utf8_lossy(&o.stdout).into_owned();
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(version, "1.50\n");
    // SAFETY: signalling our own child.
    unsafe { libc::kill(tcp.id() as i32, libc::SIGTERM) };
    let out = tcp.wait_with_output().expect("wait");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no authentication"));
    // --group: the socket's group, where that group can reach it.
    let private_dir = r.dir.path().join("private");
    std::fs::create_dir(&private_dir).expect("mkdir");
    std::fs::set_permissions(
        &private_dir,
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .expect("chmod");
    let private = private_dir.join("g.sock");
    let o = r.run(&[
        "system",
        "service",
        "--group",
        "adm",
        &format!("unix://{}", private.display()),
    ]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("is private"), "{}", o.stderr);
    let open = tempfile::Builder::new()
        .prefix("rdock-api-group-")
        .tempdir()
        .expect("tempdir");
    std::fs::set_permissions(
        open.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    let sock = open.path().join("docker.sock");
    let mut g = r
        .cmd(&[
            "system",
            "service",
            "--time",
            "1",
            "--group",
            "adm",
            &format!("unix://{}", sock.display()),
        ])
        .spawn()
        .expect("service --group");
    let start = Instant::now();
    while !sock.exists() {
        assert!(start.elapsed() < Duration::from_secs(10), "no socket");
        std::thread::sleep(Duration::from_millis(10));
    }
    let adm = nix::unistd::Group::from_name("adm")
        .expect("getgrnam")
        .expect("group adm")
        .gid
        .as_raw();
    let meta = std::fs::metadata(&sock).expect("socket");
    assert_eq!(
        (meta.mode() & 0o7777, meta.uid(), meta.gid()),
        (0o660, 0, adm)
    );
    assert!(g.wait().expect("wait").success());
    // A live service's socket is not taken over.
    let _a = Service::start(&r, &["--time", "0"]);
    let o = r.run(&[
        "system",
        "service",
        &format!("unix://{}", r.dir.path().join("docker.sock").display()),
    ]);
    assert_eq!(o.code, 1);
    assert!(
        o.stderr.contains("another service is listening"),
        "{}",
        o.stderr
    );
}

#[test]
fn build_login_push_and_pull_through_the_socket() {
    use common::registry::Registry;
    let auth_dir = tempfile::tempdir().expect("tempdir");
    let htpasswd = auth_dir.path().join("htpasswd");
    let hash = bcrypt::hash("s3cret", 4).expect("bcrypt");
    std::fs::write(&htpasswd, format!("alice:{hash}\n")).expect("htpasswd");
    let reg = Registry::start_with(&format!(
        "auth:\n  htpasswd:\n    realm: test\n    path: {}\n",
        htpasswd.display()
    ));
    let r = Rdock::with_busybox();
    let s = Service::start(&r, &["--time", "0"]);
    // The legacy builder's API (docker's CLI has no buildx here).
    let ctx = r.dir.path().join("ctx");
    std::fs::create_dir_all(&ctx).expect("ctx");
    std::fs::write(ctx.join("Dockerfile"), "FROM busybox\nCOPY hello /hello\nRUN echo building >&2 && cat /hello > /copy\nCMD [\"cat\", \"/copy\"]\n").expect("Dockerfile");
    std::fs::write(ctx.join("hello"), "from the context\n").expect("hello");
    let name = format!("{}/alice/app:v1", reg.host());
    let mut build = s.docker_cmd(&["build", "-t", &name, ctx.to_str().unwrap_or_default()]);
    build.env("DOCKER_BUILDKIT", "0");
    let o = common::output_within(&mut build, common::api::CLIENT_LIMIT);
    let (code, out, err) = text(&o);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("Step 3/4 : RUN echo building") && out.contains("building\n"),
        "{out}"
    );
    assert!(
        out.contains(&format!("Successfully tagged {name}")),
        "{out}"
    );
    assert_eq!(s.ok(&["run", "--rm", &name]), "from the context\n");
    // Push needs the login; the client sends it as X-Registry-Auth.
    let (code, _, err) = text(&s.docker(&["push", &name]));
    assert_eq!(code, 1);
    assert!(
        err.contains("no basic auth credentials")
            || err.contains("authentication required")
            || err.contains("denied"),
        "{err}"
    );
    let (code, _, err) = text(&s.docker(&["login", "-u", "alice", "-p", "wrong", &reg.host()]));
    assert_eq!(code, 1);
    assert!(err.contains("401 Unauthorized"), "{err}");
    let (code, out, err) = text(&s.docker(&["login", "-u", "alice", "-p", "s3cret", &reg.host()]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Login Succeeded"), "{out}");
    let out = s.ok(&["push", &name]);
    assert!(out.contains("v1: digest: sha256:"), "{out}");
    // Gone here, pulled back through the API with the credentials.
    s.ok(&["rmi", &name]);
    let out = s.ok(&["pull", &name]);
    assert!(
        out.contains(&format!("Status: Downloaded newer image for {name}")),
        "{out}"
    );
    assert_eq!(r.run(&["run", "--rm", &name]).ok(), "from the context\n");
    let images = s.ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    assert!(
        images.contains(&name) && images.contains("busybox:latest"),
        "{images}"
    );
    // A build whose base is private: docker's client sends its logins as
    // X-Registry-Config, and the pull of the base uses them.
    s.ok(&["rmi", &name]);
    std::fs::write(
        ctx.join("Dockerfile"),
        format!("FROM {name}\nRUN cat /copy\n"),
    )
    .expect("Dockerfile");
    let mut build = s.docker_cmd(&["build", "-t", "derived:1", ctx.to_str().unwrap_or_default()]);
    build.env("DOCKER_BUILDKIT", "0");
    let o = common::output_within(&mut build, common::api::CLIENT_LIMIT);
    let (code, out, err) = text(&o);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("from the context"), "{out}");
}
