//! `/containers/{id}/exec`, `/exec/{id}/start|json|resize`: an exec is
//! made by one request and started by another (each on its own worker),
//! so its settings and outcome live in `<runroot>/api-exec/<id>.json`.

use super::http::{Conn, Request};
use super::{ApiError, Handled, Outcome};
use crate::container::attach as chan;
use crate::container::exec::ExecOptions;
use crate::container::store::{Container, ContainerStore};
use crate::paths::Paths;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;

#[derive(Serialize, Deserialize, Default)]
struct Record {
    container: String,
    cmd: Vec<String>,
    env: Vec<String>,
    user: String,
    workdir: String,
    tty: bool,
    stdin: bool,
    stdout: bool,
    stderr: bool,
    privileged: bool,
    detach_keys: String,
    running: bool,
    pid: i32,
    exit_code: Option<i32>,
}

fn dir(paths: &Paths) -> PathBuf {
    paths.runroot.join("api-exec")
}

fn path(paths: &Paths, id: &str) -> Result<PathBuf, ApiError> {
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::not_found(format!("No such exec instance: {id}")));
    }
    Ok(dir(paths).join(format!("{id}.json")))
}

fn load(paths: &Paths, id: &str) -> Result<Record, ApiError> {
    let text = std::fs::read(path(paths, id)?)
        .map_err(|_| ApiError::not_found(format!("No such exec instance: {id}")))?;
    serde_json::from_slice(&text).map_err(|e| ApiError::new(500, format!("exec {id}: {e}")))
}

fn save(paths: &Paths, id: &str, r: &Record) -> Result<(), ApiError> {
    let p = path(paths, id)?;
    let body = serde_json::to_vec(r).unwrap_or_default();
    // Whole or not at all: other workers read it meanwhile (resize, inspect).
    let tmp = p.with_extension(format!("tmp{}", std::process::id()));
    crate::util::write_mode(&tmp, &body, crate::util::PRIVATE_FILE)
        .and_then(|_| std::fs::rename(&tmp, &p))
        .map_err(|e| ApiError::io("saving the exec", e))
}

fn io(e: std::io::Error) -> ApiError {
    ApiError::io("answering", e)
}

/// Records of containers that are gone are dropped as new ones are made.
fn sweep(paths: &Paths, store: &ContainerStore) {
    let Ok(entries) = std::fs::read_dir(dir(paths)) else {
        return;
    };
    for e in entries.flatten() {
        let gone = std::fs::read(e.path())
            .ok()
            .and_then(|t| serde_json::from_slice::<Record>(&t).ok())
            .is_none_or(|r| store.load(&r.container).is_err());
        if gone {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// `POST /containers/{id}/exec`.
pub fn create(paths: &Paths, conn: &mut Conn, req: &mut Request, c: &Container) -> Handled {
    let body = conn.read_json(req)?;
    if !c.state.is_alive() {
        return Err(ApiError::new(
            409,
            format!("container {} is not running", c.config.id),
        ));
    }
    if c.state.is_paused() {
        return Err(ApiError::new(
            409,
            format!(
                "Container {} is paused, unpause the container before exec",
                c.config.id
            ),
        ));
    }
    let strs = |k: &str| -> Vec<String> {
        body.get(k)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let s = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let b = |k: &str| body.get(k).and_then(Value::as_bool).unwrap_or(false);
    let cmd = strs("Cmd");
    if cmd.is_empty() {
        return Err(ApiError::bad_request("No exec command specified"));
    }
    let keys = s("DetachKeys");
    if !keys.is_empty() {
        chan::parse_detach_keys(&keys)
            .map_err(|_| ApiError::bad_request(format!("Invalid escape keys ({keys}) provided")))?;
    }
    // docker's engine looks the user up when the exec is made.
    let user = s("User");
    if !user.is_empty() {
        let root = std::path::PathBuf::from(format!("/proc/{}/root", c.state.pid));
        if let Err(e) = crate::runtime::user::resolve(&user, &root) {
            return Err(ApiError::bad_request(e.to_string()));
        }
    }
    let store = ContainerStore::new(paths);
    sweep(paths, &store);
    crate::util::mkdirs_private(&dir(paths))
        .map_err(|e| ApiError::io("creating the exec directory", e))?;
    let id = crate::util::random_hex(32);
    let r = Record {
        container: c.config.id.clone(),
        cmd,
        env: strs("Env"),
        user,
        workdir: s("WorkingDir"),
        tty: b("Tty"),
        stdin: b("AttachStdin"),
        stdout: b("AttachStdout"),
        stderr: b("AttachStderr"),
        privileged: b("Privileged"),
        detach_keys: keys,
        ..Default::default()
    };
    save(paths, &id, &r)?;
    let shown = r.cmd.join(" ");
    crate::events::container(
        paths,
        &c.config,
        &format!("exec_create: {shown}"),
        &[("execID", id.clone())],
    );
    conn.json(201, &json!({ "Id": id })).map_err(io)?;
    Ok(Outcome::Done)
}

pub fn route(
    paths: &Paths,
    conn: &mut Conn,
    req: &mut Request,
    method: &str,
    segs: &[&str],
) -> Handled {
    match (method, segs) {
        ("POST", ["exec", id, "start"]) => start(paths, conn, req, id),
        ("GET", ["exec", id, "json"]) => {
            let r = load(paths, id)?;
            conn.json(200, &inspect(id, &r)).map_err(io)?;
            Ok(Outcome::Done)
        }
        ("POST", ["exec", id, "resize"]) => {
            let r = load(paths, id)?;
            let dim = |k: &str| req.q(k).and_then(|v| v.parse::<u16>().ok()).unwrap_or(0);
            if r.running && r.tty {
                // The process's own terminal: its size is the pair's.
                if let Ok(f) = std::fs::File::open(format!("/proc/{}/fd/0", r.pid)) {
                    set_size(f.as_raw_fd(), dim("h"), dim("w"));
                }
            }
            conn.respond(200, "text/plain; charset=utf-8", b"")
                .map_err(io)?;
            Ok(Outcome::Done)
        }
        _ => Err(super::not_found_route(method, &segs.join("/"))),
    }
}

fn set_size(fd: i32, rows: u16, cols: u16) {
    if rows == 0 || cols == 0 {
        return;
    }
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ with a valid winsize on an fd we hold.
    unsafe { libc::ioctl(fd, libc::TIOCSWINSZ, &ws) };
}

fn inspect(id: &str, r: &Record) -> Value {
    let (entry, args) = r
        .cmd
        .split_first()
        .map(|(a, b)| (a.clone(), b.to_vec()))
        .unwrap_or_default();
    json!({
        "CanRemove": false,
        "ContainerID": r.container,
        "DetachKeys": r.detach_keys,
        "ExitCode": r.exit_code,
        "ID": id,
        "OpenStderr": r.stderr,
        "OpenStdin": r.stdin,
        "OpenStdout": r.stdout,
        "ProcessConfig": {
            "arguments": args,
            "entrypoint": entry,
            "privileged": r.privileged,
            "tty": r.tty,
            "user": r.user,
        },
        "Running": r.running,
        "Pid": r.pid,
    })
}

fn pipe() -> Result<(OwnedFd, OwnedFd), ApiError> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| ApiError::new(500, format!("pipe: {e}")))
}

/// `POST /exec/{id}/start`: run it, the connection hijacked for its
/// streams (unless `Detach`), its exit code recorded before the stream
/// ends (docker's client asks for it next).
fn start(paths: &Paths, conn: &mut Conn, req: &mut Request, id: &str) -> Handled {
    let body = conn.read_json(req)?;
    let mut r = load(paths, id)?;
    if r.running || r.exit_code.is_some() {
        return Err(ApiError::new(
            409,
            format!("Error: Exec command {id} has already run"),
        ));
    }
    let detach = body.get("Detach").and_then(Value::as_bool).unwrap_or(false);
    let c = ContainerStore::new(paths).load(&r.container)?;
    let opts = ExecOptions {
        cmd: r.cmd.clone(),
        env: r.env.clone(),
        user: Some(r.user.clone()).filter(|u| !u.is_empty()),
        workdir: Some(r.workdir.clone()).filter(|w| !w.is_empty()),
        tty: r.tty,
        interactive: r.stdin && !detach,
        detach,
        privileged: r.privileged,
        link_env: crate::container::network::links(paths, &c)
            .map(|l| l.env)
            .unwrap_or_default(),
        detach_keys: Vec::new(),
    };
    let null = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
        .map_err(|e| ApiError::io("/dev/null", e))?;
    let (in_p, out_p, err_p) = (pipe()?, pipe()?, pipe()?);
    let stdio = if detach {
        [null.as_raw_fd(); 3]
    } else {
        [in_p.0.as_raw_fd(), out_p.1.as_raw_fd(), err_p.1.as_raw_fd()]
    };
    let ctype = if r.tty {
        "application/vnd.docker.raw-stream"
    } else {
        "application/vnd.docker.multiplexed-stream"
    };
    let spawned = match crate::container::exec::start(&c, &opts, stdio) {
        Ok(s) => s,
        // The engine's refusal before anything starts (no such user).
        Err(e) if crate::container::exec::lookup_failed(&e) => return Err(e.into()),
        Err(e) if !detach && crate::container::exec::cannot_start(&e) => {
            return failed_start(paths, conn, req, id, &mut r, ctype, &e);
        }
        Err(e) => return Err(e.into()),
    };
    drop((in_p.0, out_p.1, err_p.1));
    r.running = true;
    r.pid = spawned.pid;
    save(paths, id, &r)?;
    crate::events::container(
        paths,
        &c.config,
        &format!("exec_start: {}", r.cmd.join(" ")),
        &[("execID", id.to_string())],
    );
    if detach {
        conn.respond(200, "", b"").map_err(io)?;
        // Reaped in the background by a child that outlives this request.
        finish_detached(paths, id, r);
        return Ok(Outcome::Done);
    }
    conn.hijack(req, ctype).map_err(io)?;
    let early = conn.take_pending();
    let streams = match spawned.pty_master {
        Some(m) => Streams::Tty(m),
        None => Streams::Pipes {
            stdin: Some(in_p.1),
            out: Some(out_p.0),
            err: Some(err_p.0),
        },
    };
    let keys = match (r.tty && r.stdin, r.detach_keys.is_empty()) {
        (false, _) => Vec::new(),
        (true, true) => crate::container::session::DEFAULT_DETACH_KEYS.to_vec(),
        (true, false) => chan::parse_detach_keys(&r.detach_keys).unwrap_or_default(),
    };
    let detached = pump(conn, streams, &r, &keys, early);
    let code = if detached { None } else { reap(spawned.pid) };
    r.running = detached;
    r.exit_code = code;
    let _ = save(paths, id, &r);
    if detached {
        finish_detached(paths, id, r);
    } else {
        crate::events::container(
            paths,
            &c.config,
            "exec_die",
            &[
                ("execID", id.to_string()),
                ("exitCode", code.unwrap_or(0).to_string()),
            ],
        );
    }
    conn.stream.shutdown_write();
    Ok(Outcome::Close)
}

fn multiplexed(stream: u8, data: &[u8]) -> Vec<u8> {
    super::attach::multiplexed(stream, data)
}

/// What the process wrote since the last poll, to the client (its own
/// stream's frames without a TTY); outputs that ended are dropped.
fn forward_outputs(
    conn: &mut Conn,
    outs: &mut Vec<(std::fs::File, u8)>,
    fds: &[libc::pollfd],
    r: &Record,
    buf: &mut [u8],
) {
    let mut closed = Vec::new();
    for (i, p) in fds.iter().enumerate().take(outs.len()) {
        if p.revents == 0 {
            continue;
        }
        let Some((f, kind)) = outs.get_mut(i) else {
            continue;
        };
        match f.read(buf) {
            Ok(0) | Err(_) => closed.push(i),
            Ok(n) => {
                let data = buf.get(..n).unwrap_or_default();
                let bytes = match *kind {
                    0 => data.to_vec(),
                    k if (k == 1 && r.stdout) || (k == 2 && r.stderr) => multiplexed(k, data),
                    _ => continue,
                };
                let _ = conn.stream.write_all(&bytes);
            }
        }
    }
    for i in closed.into_iter().rev() {
        outs.remove(i);
    }
}

/// As docker's daemon: the stream is already the client's, the words of
/// the failure go into it and the status follows them.
fn failed_start(
    paths: &Paths,
    conn: &mut Conn,
    req: &Request,
    id: &str,
    r: &mut Record,
    ctype: &str,
    e: &crate::Error,
) -> Handled {
    let (code, text) = crate::container::exec::start_failure(&e.to_string());
    conn.hijack(req, ctype).map_err(io)?;
    let line = format!("{}\r\n", crate::util::one_line(&text));
    let bytes = if r.tty {
        line.into_bytes()
    } else {
        multiplexed(1, line.as_bytes())
    };
    let _ = conn.stream.write_all(&bytes);
    r.exit_code = Some(code);
    save(paths, id, r)?;
    conn.stream.shutdown_write();
    Ok(Outcome::Close)
}

fn reap(pid: i32) -> Option<i32> {
    use nix::sys::wait::{waitpid, WaitStatus};
    loop {
        match waitpid(nix::unistd::Pid::from_raw(pid), None) {
            Ok(WaitStatus::Exited(_, c)) => return Some(c),
            Ok(WaitStatus::Signaled(_, s, _)) => return Some(128i32.saturating_add(s as i32)),
            Ok(_) => continue,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return None,
        }
    }
}

/// A detached exec (or one the client detached from): a forked keeper
/// reaps it and records its exit code, so this worker can end.
fn finish_detached(paths: &Paths, id: &str, mut r: Record) {
    // SAFETY: the worker is single-threaded; the child only runs our code.
    if let Ok(nix::unistd::ForkResult::Child) = unsafe { nix::unistd::fork() } {
        let _ = nix::unistd::setsid();
        for fd in 0..3 {
            let _ = nix::unistd::close(fd);
        }
        // The exec's process is the worker's child, not ours: wait for it
        // through its pidfd-less /proc entry.
        let proc = format!("/proc/{}", r.pid);
        while std::path::Path::new(&proc).exists() {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        r.running = false;
        let _ = save(paths, id, &r);
        // SAFETY: leave without the parent's exit handlers.
        unsafe { libc::_exit(0) }
    }
}

enum Streams {
    Tty(OwnedFd),
    Pipes {
        stdin: Option<OwnedFd>,
        out: Option<OwnedFd>,
        err: Option<OwnedFd>,
    },
}

/// Bytes between the client and the process until its output ends; true
/// when the client typed the detach keys.
fn pump(conn: &mut Conn, s: Streams, r: &Record, keys: &[u8], early: Vec<u8>) -> bool {
    let mut proxy = crate::container::session::EscapeProxy::default();
    let (mut input, mut outs): (Option<std::fs::File>, Vec<(std::fs::File, u8)>) = match s {
        Streams::Tty(m) => {
            let f = std::fs::File::from(m);
            let w = f.try_clone().ok();
            (w, vec![(f, 0)])
        }
        Streams::Pipes { stdin, out, err } => (
            stdin.map(std::fs::File::from),
            out.into_iter()
                .map(|f| (std::fs::File::from(f), 1))
                .chain(err.into_iter().map(|f| (std::fs::File::from(f), 2)))
                .collect(),
        ),
    };
    if !r.stdin {
        input = None;
    }
    let mut feed = |input: &mut Option<std::fs::File>, data: &[u8]| -> bool {
        let mut out = Vec::new();
        let detach = if keys.is_empty() {
            out.extend_from_slice(data);
            false
        } else {
            proxy.feed(keys, data, &mut out)
        };
        if let Some(w) = input.as_mut() {
            let _ = w.write_all(&out);
        }
        detach
    };
    if !early.is_empty() && feed(&mut input, &early) {
        return true;
    }
    let mut client_open = true;
    let mut buf = vec![0u8; 32 * 1024];
    while !outs.is_empty() {
        let mut fds: Vec<libc::pollfd> = outs
            .iter()
            .map(|(f, _)| libc::pollfd {
                fd: f.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        fds.push(libc::pollfd {
            fd: if client_open {
                conn.stream.raw_fd()
            } else {
                -1
            },
            events: libc::POLLIN,
            revents: 0,
        });
        // SAFETY: a valid array of pollfds of this length.
        if unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, -1) } < 0 {
            continue;
        }
        if fds.last().is_some_and(|p| p.revents != 0) {
            match conn.stream.read(&mut buf) {
                Ok(0) | Err(_) => {
                    client_open = false;
                    // A TTY's input stays (its master is the output too).
                    if !r.tty {
                        input = None;
                    }
                }
                Ok(n) => {
                    if feed(&mut input, buf.get(..n).unwrap_or_default()) {
                        return true;
                    }
                }
            }
        }
        forward_outputs(conn, &mut outs, &fds, r, &mut buf);
    }
    false
}
