//! Interactive sessions as docker's: `run -it` detached with the keys and
//! attached again, `--detach-keys` and config.json's `detachKeys`,
//! `exec -it` detaching, the TTY checks, `-a` streams, signal proxying.

mod common;
use common::*;
use std::time::{Duration, Instant};

/// A shell under tmux, with `R` the rdock command line of this store.
fn shell(r: &Rdock, sock: &str, env: &str) -> Tmux {
    let cmd = format!(
        "env {env} R='{} --root {} --runroot {}' PS1='$ ' sh",
        bin(),
        r.root.display(),
        r.runroot.display()
    );
    Tmux::start(&r.dir.path().join(sock), 90, 24, &cmd)
}

fn status(r: &Rdock, name: &str) -> String {
    r.run(&[
        "inspect",
        "-f",
        "{{.State.Status}} {{.State.ExitCode}}",
        name,
    ])
    .stdout
    .trim()
    .to_string()
}

/// Poll until `f` holds (6 s at most).
fn eventually(what: &str, f: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(6);
    while !f() {
        assert!(Instant::now() < deadline, "timed out: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn run_it_detaches_and_attach_reconnects() {
    let r = Rdock::with_busybox();
    let t = shell(&r, "t1.sock", "");
    t.send(&["$R run -it --name web busybox sh; echo RUN=$?", "Enter"]);
    t.wait_for("/ #");
    t.send(&["echo $((6*7))", "Enter"]);
    t.wait_for("42");
    t.send(&["C-p", "C-q"]);
    let screen = t.wait_for("RUN=0");
    // docker's run says nothing on a detach.
    assert!(!screen.contains("escape"), "{screen}");
    assert_eq!(status(&r, "web"), "running 0");

    // attach: typing works, output shows; the keys detach again, and
    // docker's attach reports that as its error (exit 1).
    t.send(&["clear; $R attach web; echo ATTACH=$?", "Enter"]);
    t.send(&["echo $((7*8))", "Enter"]);
    t.wait_for("56");
    t.send(&["C-p", "C-q"]);
    let screen = t.wait_for("ATTACH=1");
    assert!(screen.contains("read escape sequence"), "{screen}");
    assert_eq!(status(&r, "web"), "running 0");

    // Exiting the shell ends attach with its status.
    t.send(&["clear; $R attach web; echo AGAIN=$?", "Enter"]);
    t.send(&["echo $((8*9))", "Enter"]);
    t.wait_for("72");
    t.send(&["exit 7", "Enter"]);
    t.wait_for("AGAIN=7");
    assert_eq!(status(&r, "web"), "exited 7");
}

#[test]
fn run_it_rm_returns_once_the_container_is_gone() {
    let r = Rdock::with_busybox();
    let t = shell(&r, "t2.sock", "");
    t.send(&[
        "$R run -it --rm --name gone busybox sh; echo RUN=$?; $R ps -aq | wc -l | sed s/^/N=/",
        "Enter",
    ]);
    t.wait_for("/ #");
    t.send(&["exit 3", "Enter"]);
    let screen = t.wait_for("RUN=3");
    // "\nN=", not "N=": "RUN=3" has that too, and N's line may come later.
    let screen = if screen.contains("\nN=") {
        screen
    } else {
        t.wait_for("\nN=")
    };
    assert!(
        screen.contains("N=0"),
        "removed before run returned: {screen}"
    );
}

#[test]
fn detach_keys_from_the_flag_and_from_config_json() {
    let r = Rdock::with_busybox();
    let cfg = r.dir.path().join("dockercfg");
    std::fs::create_dir_all(&cfg).unwrap();
    std::fs::write(cfg.join("config.json"), r#"{"detachKeys": "ctrl-e,e"}"#).unwrap();
    let t = shell(&r, "t3.sock", &format!("DOCKER_CONFIG={}", cfg.display()));
    // The flag wins over the config; the default keys are then plain input.
    t.send(&[
        "$R run -it --name kk --detach-keys ctrl-a,x busybox sh; echo RUN=$?",
        "Enter",
    ]);
    t.wait_for("/ #");
    t.send(&["C-a", "x"]);
    t.wait_for("RUN=0");
    assert_eq!(status(&r, "kk"), "running 0");
    // config.json's detachKeys for attach; ctrl-e alone is passed on.
    t.send(&["clear; $R attach kk; echo ATTACH=$?", "Enter"]);
    t.send(&["echo $((5*5))", "Enter"]);
    t.wait_for("25");
    t.send(&["C-e", "e"]);
    t.wait_for("ATTACH=1");
    assert_eq!(status(&r, "kk"), "running 0");
    r.run(&["rm", "-f", "kk"]).ok();

    // start -ai of a created -it container detaches too (exit 0).
    r.run(&["create", "-it", "--name", "ss", "busybox", "sh"])
        .ok();
    t.send(&["clear; $R start -ai ss; echo START=$?", "Enter"]);
    t.send(&["echo $((4*4))", "Enter"]);
    t.wait_for("16");
    t.send(&["C-e", "e"]);
    t.wait_for("START=0");
    assert_eq!(status(&r, "ss"), "running 0");
    r.run(&["rm", "-f", "ss"]).ok();
}

#[test]
fn exec_it_detaches_and_its_process_goes_on() {
    let r = Rdock::with_busybox();
    r.run(&["run", "-d", "--name", "box", "busybox", "sleep", "300"])
        .ok();
    wait_for_pid(&r, "box");
    let t = shell(&r, "t4.sock", "");
    t.send(&["$R exec -it box sh -c 'exec sh'; echo EXEC=$?", "Enter"]);
    t.wait_for("/ #");
    t.send(&["C-p", "C-q"]);
    let screen = t.wait_for("EXEC=1");
    assert!(screen.contains("read escape sequence"), "{screen}");
    // The exec'd shell runs on, and nothing of ours shows in the container.
    let ps = r.run(&["exec", "box", "ps", "-o", "comm"]).ok().to_string();
    assert!(ps.lines().any(|l| l.trim() == "sh"), "{ps}");
    assert!(!ps.contains("rdock"), "{ps}");
    r.run(&["rm", "-f", "box"]).ok();
}

#[test]
fn run_it_passes_ctrl_c_to_the_container() {
    let r = Rdock::with_busybox();
    let t = shell(&r, "t5.sock", "");
    t.send(&["$R run -it --rm busybox sh; echo RUN=$?", "Enter"]);
    t.wait_for("/ #");
    t.send(&["sleep 100", "Enter"]);
    std::thread::sleep(Duration::from_millis(300));
    t.send(&["C-c"]);
    // The container's terminal turned ^C into SIGINT for its sleep; the
    // shell and the session go on.
    t.send(&["echo $((9*9))", "Enter"]);
    t.wait_for("81");
    t.send(&["exit 4", "Enter"]);
    t.wait_for("RUN=4");
}

#[test]
fn tty_checks_as_docker() {
    let r = Rdock::with_busybox();
    let nul = || std::process::Stdio::null();
    let run = |args: &[&str]| Run::from(r.cmd(args).stdin(nul()).output().unwrap());
    let o = run(&["run", "-it", "--name", "never", "busybox", "true"]);
    assert_eq!(
        (o.code, o.stderr.as_str()),
        (1, "the input device is not a TTY\n")
    );
    // Refused before the create.
    assert_eq!(r.run(&["ps", "-aq"]).ok(), "");
    // -t alone, or -i alone, is fine.
    assert_eq!(
        run(&["run", "--rm", "-t", "busybox", "echo", "hi"]).ok(),
        "hi\r\n"
    );
    r.run(&["run", "-dit", "--name", "tty", "busybox", "sh"])
        .ok();
    wait_for_pid(&r, "tty");
    let o = run(&["exec", "-it", "tty", "true"]);
    assert_eq!(
        (o.code, o.stderr.as_str()),
        (1, "the input device is not a TTY\n")
    );
    let o = run(&["attach", "tty"]);
    assert_eq!(
        (o.code, o.stderr.as_str()),
        (1, "the input device is not a TTY\n")
    );
    r.run(&["rm", "-f", "tty"]).ok();
}

#[test]
fn invalid_detach_keys_as_docker() {
    let r = Rdock::with_busybox();
    // run: the attach fails after the create; the container stays created.
    let o = r.run(&[
        "run",
        "--name",
        "bad",
        "--detach-keys",
        "ctrl-A",
        "busybox",
        "true",
    ]);
    assert_eq!(
        (o.code, o.stderr.as_str()),
        (1, "unable to upgrade to tcp, received 400\n")
    );
    assert_eq!(status(&r, "bad"), "created 0");
    // run -d never attaches: no check.
    r.run(&["run", "-d", "--detach-keys", "abc", "busybox", "true"])
        .ok();
    r.run(&["run", "-d", "--name", "up", "busybox", "sleep", "300"])
        .ok();
    wait_for_pid(&r, "up");
    let o = r.run(&["exec", "--detach-keys", "abc", "up", "true"]);
    assert_eq!(o.code, 1);
    assert!(
        o.stderr.contains("Invalid escape keys (abc) provided"),
        "{}",
        o.stderr
    );
    // Every key spelling docker knows is accepted.
    r.run(&[
        "exec",
        "--detach-keys",
        "ctrl-@,ctrl-[,ctrl-_,DEL,a",
        "up",
        "true",
    ])
    .ok();
    let o = r.run(&["attach", "--detach-keys", "x,", "up"]);
    assert_eq!(
        (o.code, o.stderr.as_str()),
        (1, "unable to upgrade to tcp, received 400\n")
    );
    r.run(&["rm", "-f", "up"]).ok();
}

#[test]
fn attach_flag_picks_the_streams() {
    let r = Rdock::with_busybox();
    let script = "echo out; echo err >&2; exit 3";
    for rm in [true, false] {
        let run = |streams: &[&str]| {
            let mut args = vec!["run"];
            if rm {
                args.push("--rm");
            }
            for s in streams {
                args.extend_from_slice(&["-a", s]);
            }
            args.extend_from_slice(&["busybox", "sh", "-c", script]);
            let o = r.run(&args);
            (o.code, o.stdout, o.stderr)
        };
        let s = |x: &str| x.to_string();
        assert_eq!(run(&["stderr"]), (3, s(""), s("err\n")), "rm {rm}");
        assert_eq!(run(&["STDOUT"]), (3, s("out\n"), s("")), "rm {rm}");
        assert_eq!(run(&["stdout", "stderr"]), (3, s("out\n"), s("err\n")));
        assert_eq!(run(&["stdin"]), (3, s(""), s("")), "rm {rm}");
    }
    // -i attaches stdin whatever -a says; its output only if asked.
    let o = r.run_stdin(
        &[
            "run",
            "--rm",
            "-i",
            "-a",
            "stdout",
            "busybox",
            "sh",
            "-c",
            "cat; echo e >&2",
        ],
        b"piped\n",
    );
    assert_eq!(
        (o.code, o.stdout.as_str(), o.stderr.as_str()),
        (0, "piped\n", "")
    );
}

#[test]
fn sig_proxy_false_leaves_the_container_running() {
    use std::os::unix::process::ExitStatusExt;
    let r = Rdock::with_busybox();
    let child = r
        .cmd(&[
            "run",
            "--name",
            "np",
            "--sig-proxy=false",
            "busybox",
            "sh",
            "-c",
            "trap 'echo got; exit 9' INT TERM; while true; do sleep 0.05; done",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    eventually("np runs", || status(&r, "np") == "running 0");
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    // docker 28's CLI: the first two are swallowed, the third ends it.
    for _ in 0..3 {
        std::thread::sleep(Duration::from_millis(100));
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    }
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{:?}", o.status.signal());
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "\ngot 3 SIGTERM/SIGINTs, forcefully exiting\n"
    );
    assert_eq!(status(&r, "np"), "running 0");
    assert!(!r.run(&["logs", "np"]).ok().contains("got"));
    // With the proxy (the default), the container gets the signal.
    r.run(&["rm", "-f", "np"]).ok();
    let child = r
        .cmd(&[
            "run",
            "--name",
            "px",
            "busybox",
            "sh",
            "-c",
            "trap 'echo got; exit 9' INT TERM; while true; do sleep 0.05; done",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    eventually("px runs", || status(&r, "px") == "running 0");
    std::thread::sleep(Duration::from_millis(100));
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(9));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "got\n");
}

/// A container a foreground `run` keeps (no monitor): `attach` shows what
/// it writes from then on, each stream to its own, and ends with its
/// status, as docker's attach to a `docker run` in another terminal.
#[test]
fn attach_follows_a_foreground_run() {
    let r = Rdock::with_busybox();
    let run = r
        .cmd(&[
            "run",
            "--name",
            "fg",
            "busybox",
            "sh",
            "-c",
            "echo before; while [ ! -f /tmp/go ]; do sleep 0.05; done; echo after; echo err >&2; exit 3",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    eventually("fg runs", || status(&r, "fg") == "running 0");
    let attach = r
        .cmd(&["attach", "fg"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The attach is recorded once it follows the output.
    eventually("the attach event", || {
        r.run(&[
            "events",
            "--since",
            "1h",
            "--until",
            "0s",
            "--filter",
            "event=attach",
        ])
        .stdout
        .contains("attach")
    });
    r.run(&["exec", "fg", "touch", "/tmp/go"]).ok();
    let a = attach.wait_with_output().unwrap();
    assert_eq!(a.status.code(), Some(3), "{a:?}");
    assert_eq!(String::from_utf8_lossy(&a.stdout), "after\n");
    assert_eq!(String::from_utf8_lossy(&a.stderr), "err\n");
    let o = run.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "before\nafter\n");
    // A --rm run's output is not logged: said, not hung on.
    let rm = r
        .cmd(&["run", "--rm", "--name", "fgrm", "busybox", "sleep", "30"])
        .spawn()
        .unwrap();
    eventually("fgrm runs", || status(&r, "fgrm") == "running 0");
    let e = r.run(&["attach", "fgrm"]);
    assert_eq!(e.code, 1);
    assert!(
        e.stderr.contains("its output is not logged"),
        "{}",
        e.stderr
    );
    r.run(&["rm", "-f", "fgrm"]).ok();
    let _ = rm.wait_with_output();
}
