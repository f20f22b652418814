//! `attach` and `wait`: the connection hijacked and joined to the
//! container's monitor (its attach socket when it runs; a socket the next
//! start connects to when it does not run yet, so nothing it prints is
//! missed), in docker's stream format: raw with a TTY, else multiplexed
//! (8-byte headers: stream, 0, 0, 0, big-endian length).

use super::http::{Conn, Request};
use super::{ApiError, Handled, Outcome};
use crate::container::attach as chan;
use crate::container::store::{Container, ContainerStore};
use crate::paths::Paths;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;

/// Where the container's frames will come from.
enum Feed {
    /// Running: its monitor's attach socket.
    Live(UnixStream),
    /// Not started yet: the next start connects here.
    Pending(UnixListener, PathBuf),
    /// Running without a monitor (a CLI's foreground run): no stream.
    Unattachable,
}

impl Drop for Feed {
    fn drop(&mut self) {
        if let Feed::Pending(_, p) = self {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Running, or its exit not yet recorded: its owner (the monitor) still
/// finishing it.
fn in_run(c: &Container) -> bool {
    c.state.is_alive()
        || (c.state.status == crate::container::state::Status::Running && c.state.owner_is_alive())
}

fn subscribe(paths: &Paths, c: &Container) -> Result<Feed, ApiError> {
    if in_run(c) {
        return Ok(match chan::connect(paths, &c.config.id) {
            Ok(s) => Feed::Live(s),
            Err(_) => Feed::Unattachable,
        });
    }
    let (l, p) = chan::listen_pending(paths, &c.config.id)
        .map_err(|e| ApiError::io("creating the attach socket", e))?;
    // Started meanwhile (its start did not see us): join it running.
    if let Ok(now) = ContainerStore::new(paths).load(&c.config.id) {
        if in_run(&now) {
            drop(Feed::Pending(l, p));
            return subscribe(paths, &now);
        }
    }
    Ok(Feed::Pending(l, p))
}

/// The monitor's connection: accepted once the container starts, while
/// the client may give up (its socket closes).
fn connect(mut feed: Feed, client: i32) -> Option<UnixStream> {
    match &mut feed {
        Feed::Live(s) => s.try_clone().ok(),
        Feed::Unattachable => None,
        Feed::Pending(ref l, _) => loop {
            let mut fds = [
                libc::pollfd {
                    fd: l.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                },
                // Only a hang-up: a client that shut its writing side (no
                // stdin to send) still reads.
                libc::pollfd {
                    fd: client,
                    events: 0,
                    revents: 0,
                },
            ];
            // SAFETY: a valid array of two pollfds.
            if unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) } < 0 {
                continue;
            }
            if fds.get(1).is_some_and(|p| p.revents != 0) {
                return None;
            }
            if let Ok((s, _)) = l.accept() {
                return Some(s);
            }
        },
    }
}

/// docker's multiplexed stream frame: stream, 0, 0, 0, big-endian length.
pub fn multiplexed(stream: u8, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len().saturating_add(8));
    out.extend_from_slice(&[stream, 0, 0, 0]);
    out.extend_from_slice(&u32::try_from(data.len()).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(data);
    out
}

/// `POST /containers/{id}/attach?stream=1&stdin=1&stdout=1&stderr=1`.
pub fn attach(paths: &Paths, conn: &mut Conn, req: &Request, c: &Container) -> Handled {
    let (want_in, want_out, want_err) = (
        req.q_bool("stdin"),
        req.q_bool("stdout"),
        req.q_bool("stderr"),
    );
    let keys = match req.q("detachKeys").filter(|k| !k.is_empty()) {
        Some(k) => chan::parse_detach_keys(k).map_err(ApiError::bad_request)?,
        None => crate::container::session::DEFAULT_DETACH_KEYS.to_vec(),
    };
    let tty = c.config.tty;
    let feed = if req.q_bool("stream") {
        Some(subscribe(paths, c)?)
    } else {
        None
    };
    let ctype = if tty {
        "application/vnd.docker.raw-stream"
    } else {
        "application/vnd.docker.multiplexed-stream"
    };
    conn.hijack(req, ctype)
        .map_err(|e| ApiError::io("answering", e))?;
    crate::events::container(paths, &c.config, "attach", &[]);
    if req.q_bool("logs") {
        let q = crate::container::log_read::LogQuery::default();
        let store = ContainerStore::new(paths);
        let _ = crate::container::log_read::read(&store, c, &q, |e| {
            let out = match e.stream {
                crate::container::logs::Stream::Stdout if want_out => 1,
                crate::container::logs::Stream::Stderr if want_err => 2,
                _ => return,
            };
            let data = if tty {
                e.log.as_bytes().to_vec()
            } else {
                multiplexed(out, e.log.as_bytes())
            };
            let _ = conn.stream.write_all(&data);
        });
    }
    let Some(feed) = feed else {
        conn.stream.shutdown_write();
        return Ok(Outcome::Close);
    };
    let early = conn.take_pending();
    let Some(mon) = connect(feed, conn.stream.raw_fd()) else {
        conn.stream.shutdown_write();
        return Ok(Outcome::Close);
    };
    let opts = Pump {
        stdin: want_in && c.config.open_stdin,
        stdout: want_out,
        stderr: want_err,
        tty,
        keys: if tty && want_in { keys } else { Vec::new() },
    };
    pump(conn, mon, &opts, early);
    Ok(Outcome::Close)
}

struct Pump {
    stdin: bool,
    stdout: bool,
    stderr: bool,
    tty: bool,
    keys: Vec<u8>,
}

/// Bytes both ways until the container exits, the client detaches or
/// goes away.
fn pump(conn: &mut Conn, mut mon: UnixStream, o: &Pump, early: Vec<u8>) {
    let mut proxy = crate::container::session::EscapeProxy::default();
    let mut dec = chan::Decoder::default();
    let mut client_open = true;
    let to_stdin = |mon: &mut UnixStream,
                    data: &[u8],
                    proxy: &mut crate::container::session::EscapeProxy|
     -> bool {
        let mut out = Vec::new();
        let detach = if o.keys.is_empty() {
            out.extend_from_slice(data);
            false
        } else {
            proxy.feed(&o.keys, data, &mut out)
        };
        if o.stdin && !out.is_empty() {
            let _ = chan::write_frame(mon, chan::STDIN, &out);
        }
        detach
    };
    if !early.is_empty() && to_stdin(&mut mon, &early, &mut proxy) {
        return;
    }
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        let mut fds = [
            libc::pollfd {
                fd: mon.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: if client_open {
                    conn.stream.raw_fd()
                } else {
                    -1
                },
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: a valid array of two pollfds.
        if unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) } < 0 {
            continue;
        }
        if fds.get(1).is_some_and(|p| p.revents != 0) {
            match conn.stream.read(&mut buf) {
                Ok(0) | Err(_) => {
                    client_open = false;
                    if o.stdin {
                        let _ = chan::write_frame(&mut mon, chan::STDIN_EOF, &[]);
                    }
                }
                Ok(n) => {
                    if to_stdin(&mut mon, buf.get(..n).unwrap_or_default(), &mut proxy) {
                        return;
                    }
                }
            }
        }
        if fds.first().is_some_and(|p| p.revents != 0) {
            let n = match mon.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            dec.push(buf.get(..n).unwrap_or_default());
            while let Some((kind, data)) = dec.next_frame() {
                let out = match kind {
                    chan::STDOUT if o.stdout => 1,
                    chan::STDERR if o.stderr => 2,
                    chan::EXIT => {
                        conn.stream.shutdown_write();
                        return;
                    }
                    _ => continue,
                };
                let bytes = if o.tty { data } else { multiplexed(out, &data) };
                if conn.stream.write_all(&bytes).is_err() {
                    return;
                }
            }
        }
    }
    conn.stream.shutdown_write();
}

/// `POST /containers/{id}/resize?h=&w=`: the TTY's size, through the
/// monitor.
pub fn resize(paths: &Paths, req: &Request, c: &Container) -> Result<(), ApiError> {
    let dim = |k: &str| req.q(k).and_then(|v| v.parse::<u16>().ok()).unwrap_or(0);
    let (h, w) = (dim("h"), dim("w"));
    if !c.state.is_alive() {
        return Err(ApiError::new(
            409,
            format!("Container {} is not running", c.config.id),
        ));
    }
    if let Ok(mut s) = chan::connect(paths, &c.config.id) {
        let mut p = h.to_be_bytes().to_vec();
        p.extend_from_slice(&w.to_be_bytes());
        let _ = chan::write_frame(&mut s, chan::RESIZE, &p);
    }
    Ok(())
}

/// `POST /containers/{id}/wait?condition=not-running|next-exit|removed`:
/// the answer's head at once (docker's client waits for it before it
/// starts the container), its body at the exit.
pub fn wait(paths: &Paths, conn: &mut Conn, req: &Request, c: &Container) -> Handled {
    let condition = req
        .q("condition")
        .filter(|s| !s.is_empty())
        .unwrap_or("not-running");
    if !matches!(condition, "not-running" | "next-exit" | "removed") {
        return Err(ApiError::bad_request(format!(
            "invalid condition: \"{condition}\""
        )));
    }
    let io = |e| ApiError::io("answering", e);
    // Stopped means its exit is recorded: a client reads the logs and
    // removes the container next, which must not race its monitor.
    if condition == "not-running" && !in_run(c) {
        conn.json(200, &serde_json::json!({"StatusCode": c.state.exit_code}))
            .map_err(io)?;
        return Ok(Outcome::Done);
    }
    let feed = subscribe(paths, c)?;
    conn.start_chunked(200, "application/json").map_err(io)?;
    let client = conn.stream.raw_fd();
    let code = match connect(feed, client) {
        Some(mut mon) => match exit_of(&mut mon, client) {
            Ok(code) => code,
            Err(()) => return Ok(Outcome::Close),
        },
        None if super::http::peer_closed(client) => return Ok(Outcome::Close),
        None => None,
    };
    let code = match code {
        Some(code) => code,
        // No monitor to tell us: the state, polled.
        None => crate::container::ops::wait(paths, c).unwrap_or(c.state.exit_code),
    };
    if condition == "removed" {
        let store = ContainerStore::new(paths);
        let start = std::time::Instant::now();
        while store.load(&c.config.id).is_ok() && start.elapsed().as_secs() < 60 {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
    conn.json_chunk(&serde_json::json!({"StatusCode": code}))
        .map_err(io)?;
    conn.end_chunks().map_err(io)?;
    Ok(Outcome::Done)
}

/// The EXIT frame's code (output frames are dropped); None when the
/// monitor went away without one. Err when the client hung up first
/// (docker's `run -d` waits, then drops the wait once started).
fn exit_of(mon: &mut UnixStream, client: i32) -> Result<Option<i32>, ()> {
    let mut dec = chan::Decoder::default();
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        let mut fds = [
            libc::pollfd {
                fd: mon.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: client,
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: a valid array of two pollfds.
        if unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) } < 0 {
            continue;
        }
        if fds.get(1).is_some_and(|p| p.revents != 0) && super::http::peer_closed(client) {
            return Err(());
        }
        if fds.first().is_none_or(|p| p.revents == 0) {
            // A client that sent more than we read: do not spin on it.
            std::thread::sleep(std::time::Duration::from_millis(10));
            continue;
        }
        let n = match mon.read(&mut buf) {
            Ok(0) | Err(_) => return Ok(None),
            Ok(n) => n,
        };
        dec.push(buf.get(..n).unwrap_or_default());
        while let Some((kind, data)) = dec.next_frame() {
            if kind == chan::EXIT {
                let b: Option<[u8; 4]> = data.get(..4).and_then(|d| d.try_into().ok());
                return Ok(b.map(i32::from_be_bytes));
            }
        }
    }
}
