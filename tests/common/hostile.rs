//! Registries that misbehave on purpose, for the timeout and retry tests:
//! a tiny HTTP server that serves one image from an OCI layout and stalls
//! or cuts what it is told to, a proxy in front of a real registry that
//! cuts the first big upload, a port that never completes a connection,
//! and a way to run rdock with a deadline so that a hang fails the test
//! instead of hanging it.

use super::*;
use std::io::Read;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the hostile server does wrong.
#[derive(Clone, Copy, Debug)]
pub enum Fault {
    /// Reads every manifest request and never answers it.
    StallManifest,
    /// Sends the layer's first `at` bytes, then nothing, on every attempt;
    /// the connection stays open.
    StallLayer { at: usize },
    /// Closes the first layer download after `at` bytes; later requests
    /// are served whole, as `206` for a `Range` request when `ranges`
    /// (else the whole blob again, `200`, as a server without ranges).
    DropLayerOnce { at: usize, ranges: bool },
}

pub struct Hostile {
    pub port: u16,
    /// "METHOD PATH range=VALUE" of every request, in order.
    pub requests: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

struct Served {
    blobs: PathBuf,
    tag: String,
    manifest: String,
    layer: String,
    fault: Fault,
    dropped: AtomicBool,
    requests: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl Hostile {
    /// Serve `img` (written into the OCI layout at `layout`) under `tag`;
    /// the fault concerns its last layer.
    pub fn start(layout: &Path, img: &registry::BuiltImage, tag: &str, fault: Fault) -> Hostile {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let served = Arc::new(Served {
            blobs: layout.join("blobs/sha256"),
            tag: tag.to_string(),
            manifest: img.manifest_digest.clone(),
            layer: img.layer_digests.last().unwrap().clone(),
            fault,
            dropped: AtomicBool::new(false),
            requests: requests.clone(),
            stop: stop.clone(),
        });
        std::thread::spawn(move || {
            for s in l.incoming().flatten() {
                let served = served.clone();
                std::thread::spawn(move || served.answer(s));
            }
        });
        Hostile {
            port,
            requests,
            stop,
        }
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Served {
    /// Keep a connection open, silent, until the test ends.
    fn hold(&self, s: TcpStream) {
        while !self.stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(s);
    }

    fn answer(&self, s: TcpStream) {
        // A TLS hello (rdock tries HTTPS first on loopback): hang up.
        let mut first = [0u8; 1];
        if s.peek(&mut first)
            .map(|n| n == 0 || first[0] == 0x16)
            .unwrap_or(true)
        {
            return;
        }
        let (line, headers) = http_head(&s);
        let range = header(&headers, "range");
        let mut parts = line.split_whitespace();
        let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        self.requests
            .lock()
            .unwrap()
            .push(format!("{method} {path} range={range}"));
        let blob = |d: &str| std::fs::read(self.blobs.join(d.trim_start_matches("sha256:")));
        if path == "/v2/" {
            return respond(s, "200 OK", &[], b"{}");
        }
        if let Some((_, by)) = path.split_once("/manifests/") {
            if matches!(self.fault, Fault::StallManifest) {
                return self.hold(s);
            }
            return match blob(if by == self.tag { &self.manifest } else { by }) {
                Ok(m) => respond(
                    s,
                    "200 OK",
                    &["Content-Type: application/vnd.oci.image.manifest.v1+json"],
                    &m,
                ),
                Err(_) => respond(s, "404 Not Found", &[], b"{}"),
            };
        }
        let Some((_, digest)) = path.split_once("/blobs/") else {
            return respond(s, "404 Not Found", &[], b"{}");
        };
        let Ok(data) = blob(digest) else {
            return respond(s, "404 Not Found", &[], b"{}");
        };
        if digest == self.layer {
            self.layer_answer(s, &data, range);
        } else {
            respond(s, "200 OK", &[], &data);
        }
    }

    fn layer_answer(&self, mut s: TcpStream, data: &[u8], range: &str) {
        match self.fault {
            Fault::StallLayer { at } => {
                let _ = write!(
                    s,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
                    data.len()
                );
                let _ = s.write_all(&data[..at]);
                self.hold(s);
            }
            Fault::DropLayerOnce { at, .. } if !self.dropped.swap(true, Ordering::Relaxed) => {
                let _ = write!(
                    s,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
                    data.len()
                );
                let _ = s.write_all(&data[..at]);
                let _ = s.shutdown(Shutdown::Both);
            }
            Fault::DropLayerOnce { ranges: true, .. } if range.starts_with("bytes=") => {
                let start: usize = range["bytes=".len()..]
                    .trim_end_matches('-')
                    .parse()
                    .unwrap();
                let cr = format!(
                    "Content-Range: bytes {start}-{}/{}",
                    data.len() - 1,
                    data.len()
                );
                respond(s, "206 Partial Content", &[&cr], &data[start..]);
            }
            _ => respond(s, "200 OK", &[], data),
        }
    }
}

fn respond(mut s: TcpStream, status: &str, headers: &[&str], body: &[u8]) {
    let mut head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\nDocker-Distribution-API-Version: registry/2.0\r\n",
        body.len()
    );
    for h in headers {
        head.push_str(h);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    let _ = s.write_all(head.as_bytes());
    let _ = s.write_all(body);
}

/// A TCP proxy to `upstream` that cuts the first connection on which the
/// client has sent more than `after` bytes (an upload broken mid-way);
/// every other connection passes untouched.
pub struct FlakyProxy {
    pub port: u16,
    pub cuts: Arc<AtomicUsize>,
}

impl FlakyProxy {
    pub fn start(upstream: u16, after: usize) -> FlakyProxy {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let cuts = Arc::new(AtomicUsize::new(0));
        let cuts2 = cuts.clone();
        std::thread::spawn(move || {
            for client in l.incoming().flatten() {
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut &s2, &mut &c2);
                    let _ = c2.shutdown(Shutdown::Write);
                });
                let cuts = cuts2.clone();
                std::thread::spawn(move || {
                    let (mut client, mut server) = (client, server);
                    let mut sent = 0usize;
                    let mut buf = vec![0u8; 16 << 10];
                    loop {
                        let n = match client.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        sent += n;
                        if sent > after && cuts.fetch_add(1, Ordering::Relaxed) == 0 {
                            let _ = client.shutdown(Shutdown::Both);
                            let _ = server.shutdown(Shutdown::Both);
                            return;
                        }
                        if server.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = server.shutdown(Shutdown::Write);
                });
            }
        });
        FlakyProxy { port, cuts }
    }
}

/// A loopback port whose accept queue is full: a connection attempt gets
/// no answer at all (its SYN is dropped), as with a firewalled host.
pub struct Unanswering {
    pub port: u16,
    _listener: TcpListener,
    _queued: TcpStream,
}

impl Unanswering {
    pub fn start() -> Unanswering {
        use nix::sys::socket::{listen, Backlog};
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        // Listening again sets a new backlog: 0 queues one connection, and
        // the next gets no SYN-ACK.
        listen(&l, Backlog::new(0).unwrap()).unwrap();
        let port = l.local_addr().unwrap().port();
        let queued = TcpStream::connect(("127.0.0.1", port)).unwrap();
        Unanswering {
            port,
            _listener: l,
            _queued: queued,
        }
    }
}

/// Run rdock, failing the test (and killing rdock) if it has not finished
/// by `deadline`: a hang must fail, not stall the suite.
pub fn run_within(mut c: Command, deadline: Duration) -> Run {
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().expect("spawn rdock");
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let so = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let se = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let end = Instant::now() + deadline;
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if Instant::now() > end {
            let _ = child.kill();
            let _ = child.wait();
            let (o, e) = (so.join().unwrap(), se.join().unwrap());
            panic!(
                "rdock still running after {deadline:?}\nstdout: {}\nstderr: {}",
                String::from_utf8_lossy(&o),
                String::from_utf8_lossy(&e)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run::from(std::process::Output {
        status,
        stdout: so.join().unwrap(),
        stderr: se.join().unwrap(),
    })
}

/// The environment that shortens the registry timeout (1 s) and the retry
/// back-off (10 ms a "second") so that the fault tests are quick.
pub fn impatient(r: &Rdock, args: &[&str]) -> std::process::Command {
    let mut c = r.cmd(args);
    c.env("RDOCK_REGISTRY_TIMEOUT", "1")
        .env("RDOCK_REGISTRY_BACKOFF_MS", "10");
    c
}

/// Whether a pull left nothing in the store's tmp/.
pub fn tmp_is_empty(r: &Rdock) -> bool {
    std::fs::read_dir(r.root.join("tmp")).map_or(true, |d| d.count() == 0)
}
