//! HTTP/1.1 on one connection, blocking: requests parsed by `httparse`,
//! bodies by length or chunks, answers whole (JSON) or streamed in chunks,
//! and docker's hijack (the connection becomes the container's stream).
//!
//! Why not hyper on tokio: the service forks a single-threaded worker per
//! connection, so every handler runs the CLI's blocking library code under
//! the conditions it is written for (fork-safe starts, `unshare` of a mount
//! namespace for `cp`, which a threaded process cannot do). One connection
//! per process needs no async runtime, and a hijacked stream is just the
//! socket.

use super::ApiError;
use serde_json::Value;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

/// Headers bigger than this are refused (docker's X-Registry-Auth fits).
const MAX_HEAD: usize = 1 << 20;
/// A JSON body read whole is at most this.
pub const MAX_JSON: u64 = 32 << 20;

/// The client's socket: unix or TCP.
pub enum Stream {
    Unix(std::os::unix::net::UnixStream),
    Tcp(std::net::TcpStream),
}

impl Read for Stream {
    fn read(&mut self, b: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Unix(s) => s.read(b),
            Stream::Tcp(s) => s.read(b),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Unix(s) => s.write(b),
            Stream::Tcp(s) => s.write(b),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl AsFd for Stream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Stream::Unix(s) => s.as_fd(),
            Stream::Tcp(s) => s.as_fd(),
        }
    }
}

impl Stream {
    pub fn shutdown_write(&self) {
        let _ = match self {
            Stream::Unix(s) => s.shutdown(std::net::Shutdown::Write),
            Stream::Tcp(s) => s.shutdown(std::net::Shutdown::Write),
        };
    }
    pub fn try_clone(&self) -> io::Result<Stream> {
        Ok(match self {
            Stream::Unix(s) => Stream::Unix(s.try_clone()?),
            Stream::Tcp(s) => Stream::Tcp(s.try_clone()?),
        })
    }
    pub fn raw_fd(&self) -> RawFd {
        self.as_fd().as_raw_fd()
    }
}

/// One connection: the socket and the bytes read past the last request's
/// head (the start of its body, or of the next request).
pub struct Conn {
    pub stream: Stream,
    pending: Vec<u8>,
}

pub struct Request {
    pub method: String,
    /// The path without its query, percent-decoded.
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    /// Bytes of body left to read: `Some(n)` by Content-Length, `None`
    /// for a chunked body.
    body: BodyFraming,
}

#[derive(Clone, Copy)]
enum BodyFraming {
    Length(u64),
    Chunked { left: u64, done: bool },
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    /// The last value of a query parameter (Go's `r.Form.Get` takes the
    /// first; docker's clients send each once).
    pub fn q(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    /// docker's `httputils.BoolValue`: anything but "", "0", "no",
    /// "false", "none" is true.
    pub fn q_bool(&self, name: &str) -> bool {
        match self.q(name) {
            None => false,
            Some(v) => !matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "" | "0" | "no" | "false" | "none"
            ),
        }
    }
    pub fn q_bool_or(&self, name: &str, default: bool) -> bool {
        match self.q(name) {
            None | Some("") => default,
            Some(_) => self.q_bool(name),
        }
    }
    /// Whether the client asked to take the connection over (attach, exec).
    pub fn wants_upgrade(&self) -> bool {
        self.header("Upgrade").is_some()
            && self
                .header("Connection")
                .is_some_and(|c| c.to_ascii_lowercase().contains("upgrade"))
    }
    pub fn has_body(&self) -> bool {
        !matches!(self.body, BodyFraming::Length(0))
    }
}

fn decode(s: &str) -> String {
    let plus = s.replace('+', " ");
    percent_encoding::percent_decode_str(&plus)
        .decode_utf8_lossy()
        .into_owned()
}

impl Conn {
    pub fn new(stream: Stream) -> Conn {
        Conn {
            stream,
            pending: Vec::new(),
        }
    }

    /// The next request's head; None when the client closed the
    /// connection between requests.
    pub fn read_request(&mut self) -> Result<Option<Request>, ApiError> {
        let mut buf = [0u8; 8192];
        loop {
            if let Some(end) = find_head_end(&self.pending) {
                let head: Vec<u8> = self.pending.drain(..end).collect();
                return parse_head(&head).map(Some);
            }
            if self.pending.len() > MAX_HEAD {
                return Err(ApiError::bad_request("request headers too large"));
            }
            let n = match self.stream.read(&mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) if self.pending.is_empty() => return Ok(None),
                Err(e) => return Err(ApiError::io("reading the request", e)),
            };
            if n == 0 {
                return Ok(None);
            }
            self.pending
                .extend_from_slice(buf.get(..n).unwrap_or_default());
        }
    }

    /// The request's body as a reader (it reads from this connection).
    pub fn body<'a>(&'a mut self, req: &'a mut Request) -> Body<'a> {
        Body { conn: self, req }
    }

    /// The whole body, at most `MAX_JSON` bytes.
    pub fn read_body(&mut self, req: &mut Request) -> Result<Vec<u8>, ApiError> {
        let mut out = Vec::new();
        self.body(req)
            .take(MAX_JSON)
            .read_to_end(&mut out)
            .map_err(|e| ApiError::io("reading the request body", e))?;
        Ok(out)
    }

    /// The body as JSON; an empty body is `null`.
    pub fn read_json(&mut self, req: &mut Request) -> Result<Value, ApiError> {
        let b = self.read_body(req)?;
        if b.iter().all(|c| c.is_ascii_whitespace()) {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&b)
            .map_err(|e| ApiError::bad_request(format!("invalid JSON in the request body: {e}")))
    }

    /// Whatever of the body the handler left unread, so the next request
    /// on this connection starts where it should.
    pub fn drain_body(&mut self, req: &mut Request) -> io::Result<()> {
        io::copy(&mut self.body(req), &mut io::sink()).map(|_| ())
    }

    fn fill(&mut self) -> io::Result<usize> {
        let mut buf = [0u8; 65536];
        loop {
            match self.stream.read(&mut buf) {
                Ok(n) => {
                    self.pending
                        .extend_from_slice(buf.get(..n).unwrap_or_default());
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Take up to `max` buffered or fresh bytes.
    fn take(&mut self, out: &mut [u8], max: u64) -> io::Result<usize> {
        if self.pending.is_empty() && self.fill()? == 0 {
            return Ok(0);
        }
        let n = out
            .len()
            .min(self.pending.len())
            .min(usize::try_from(max).unwrap_or(usize::MAX));
        for (o, b) in out.iter_mut().zip(self.pending.drain(..n)) {
            *o = b;
        }
        Ok(n)
    }

    /// One CRLF-ended line of a chunked body's framing.
    fn line(&mut self) -> io::Result<String> {
        loop {
            if let Some(i) = self.pending.windows(2).position(|w| w == b"\r\n") {
                let line: Vec<u8> = self.pending.drain(..i).collect();
                self.pending.drain(..2);
                return Ok(String::from_utf8_lossy(&line).into_owned());
            }
            if self.pending.len() > 4096 {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "bad chunk"));
            }
            if self.fill()? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
    }

    /// Bytes the client sent after the head that the handler did not
    /// consume: the start of a hijacked stream.
    pub fn take_pending(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.pending)
    }

    /// A whole answer.
    pub fn respond(&mut self, status: u16, content_type: &str, body: &[u8]) -> io::Result<()> {
        self.respond_with(status, content_type, &[], body)
    }

    /// A whole answer with headers of its own.
    pub fn respond_with(
        &mut self,
        status: u16,
        content_type: &str,
        extra: &[(&str, &str)],
        body: &[u8],
    ) -> io::Result<()> {
        let mut head = status_line(status);
        head.push_str(&common_headers());
        head.push_str(&extra_headers(extra));
        if !content_type.is_empty() {
            head.push_str(&format!("Content-Type: {content_type}\r\n"));
        }
        head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        let mut all = head.into_bytes();
        all.extend_from_slice(body);
        self.stream.write_all(&all)
    }

    pub fn json(&mut self, status: u16, v: &Value) -> io::Result<()> {
        let mut body = serde_json::to_vec(v).unwrap_or_default();
        body.push(b'\n');
        self.respond(status, "application/json", &body)
    }

    pub fn no_content(&mut self) -> io::Result<()> {
        let mut head = status_line(204);
        head.push_str(&common_headers());
        head.push_str("\r\n");
        self.stream.write_all(head.as_bytes())
    }

    pub fn error(&mut self, e: &ApiError) -> io::Result<()> {
        self.json(e.status, &serde_json::json!({ "message": e.message }))
    }

    /// Start a streamed answer; write with `chunk`, end with `end_chunks`.
    pub fn start_chunked(&mut self, status: u16, content_type: &str) -> io::Result<()> {
        self.start_chunked_with(status, content_type, &[])
    }

    /// A streamed answer with headers of its own.
    pub fn start_chunked_with(
        &mut self,
        status: u16,
        content_type: &str,
        extra: &[(&str, &str)],
    ) -> io::Result<()> {
        let mut head = status_line(status);
        head.push_str(&common_headers());
        head.push_str(&extra_headers(extra));
        head.push_str(&format!(
            "Content-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n\r\n"
        ));
        self.stream.write_all(head.as_bytes())
    }

    /// Start an answer whose body runs until the connection closes (for
    /// a writer that needs the socket itself, as a `File`).
    pub fn start_until_close(&mut self, status: u16, content_type: &str) -> io::Result<()> {
        let mut head = status_line(status);
        head.push_str(&common_headers());
        head.push_str(&format!(
            "Content-Type: {content_type}\r\nConnection: close\r\n\r\n"
        ));
        self.stream.write_all(head.as_bytes())
    }

    pub fn chunk(&mut self, data: &[u8]) -> io::Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        let mut out = format!("{:x}\r\n", data.len()).into_bytes();
        out.extend_from_slice(data);
        out.extend_from_slice(b"\r\n");
        self.stream.write_all(&out)
    }

    pub fn json_chunk(&mut self, v: &Value) -> io::Result<()> {
        let mut b = serde_json::to_vec(v).unwrap_or_default();
        b.push(b'\n');
        self.chunk(&b)
    }

    pub fn end_chunks(&mut self) -> io::Result<()> {
        self.stream.write_all(b"0\r\n\r\n")
    }

    /// Whether the client closed its end (a peeked read of 0 bytes, not
    /// waiting): a stream it no longer reads can end.
    pub fn peer_closed(&self) -> bool {
        peer_closed(self.stream.raw_fd())
    }

    /// Take the connection over for a raw stream (attach, exec start):
    /// docker's "101 UPGRADED" when the client asked for it, else a 200
    /// whose body is the stream until the connection closes.
    pub fn hijack(&mut self, req: &Request, content_type: &str) -> io::Result<()> {
        let head = if req.wants_upgrade() {
            format!(
                "HTTP/1.1 101 UPGRADED\r\nContent-Type: {content_type}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n{}\r\n",
                common_headers()
            )
        } else {
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\n{}\r\n",
                common_headers()
            )
        };
        self.stream.write_all(head.as_bytes())?;
        self.wait_read(std::time::Duration::from_millis(200));
        Ok(())
    }

    /// Wait (at most `max`) until the client has read what we sent.
    /// Clients that take the socket over after reading the answer's head
    /// through a buffer (docker-py, requests) lose the stream's first
    /// bytes if they arrive with the head: docker's daemon is slow enough
    /// to start a process that they never do; a fork is not.
    fn wait_read(&self, max: std::time::Duration) {
        let start = std::time::Instant::now();
        loop {
            let mut queued: libc::c_int = 0;
            // SAFETY: TIOCOUTQ (SIOCOUTQ) writes one int: the bytes the
            // peer has not read (unix) or acknowledged (TCP).
            let r = unsafe { libc::ioctl(self.stream.raw_fd(), libc::TIOCOUTQ, &mut queued) };
            if r != 0 || queued == 0 || start.elapsed() >= max {
                return;
            }
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
    }
}

/// A streamed answer's body as a `Write`: each write one chunk (wrap it
/// in a `BufWriter`). Call `Conn::end_chunks` after.
pub struct ChunkWriter<'a>(pub &'a mut Conn);

impl Write for ChunkWriter<'_> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0.chunk(b)?;
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The request body as a `Read`: by length, or chunked (trailers ignored).
pub struct Body<'a> {
    conn: &'a mut Conn,
    req: &'a mut Request,
}

impl Read for Body<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        match self.req.body {
            BodyFraming::Length(0) => Ok(0),
            BodyFraming::Length(left) => {
                let n = self.conn.take(out, left)?;
                if n == 0 {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
                self.req.body = BodyFraming::Length(left.saturating_sub(n as u64));
                Ok(n)
            }
            BodyFraming::Chunked { done: true, .. } => Ok(0),
            BodyFraming::Chunked { left: 0, .. } => {
                let line = self.conn.line()?;
                let size = line.split(';').next().unwrap_or("").trim();
                let size = u64::from_str_radix(size, 16)
                    .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad chunk size"))?;
                if size == 0 {
                    // Trailers, up to the empty line.
                    while !self.conn.line()?.is_empty() {}
                    self.req.body = BodyFraming::Chunked {
                        left: 0,
                        done: true,
                    };
                    return Ok(0);
                }
                self.req.body = BodyFraming::Chunked {
                    left: size,
                    done: false,
                };
                self.read(out)
            }
            BodyFraming::Chunked { left, .. } => {
                let n = self.conn.take(out, left)?;
                if n == 0 {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
                let left = left.saturating_sub(n as u64);
                if left == 0 {
                    let _ = self.conn.line()?; // the CRLF after the data
                }
                self.req.body = BodyFraming::Chunked { left, done: false };
                Ok(n)
            }
        }
    }
}

/// Whether the client on `fd` closed its connection (a peeked read of 0
/// bytes, without blocking).
pub fn peer_closed(fd: RawFd) -> bool {
    let mut b = [0u8; 1];
    // SAFETY: a one-byte peek into our buffer, without blocking.
    let n = unsafe {
        libc::recv(
            fd,
            b.as_mut_ptr().cast(),
            1,
            libc::MSG_PEEK | libc::MSG_DONTWAIT,
        )
    };
    n == 0
}

fn find_head_end(b: &[u8]) -> Option<usize> {
    b.windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i.saturating_add(4))
}

fn parse_head(head: &[u8]) -> Result<Request, ApiError> {
    let mut hdrs = [httparse::EMPTY_HEADER; 128];
    let mut r = httparse::Request::new(&mut hdrs);
    match r.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        _ => return Err(ApiError::bad_request("malformed HTTP request")),
    }
    let method = r.method.unwrap_or("GET").to_string();
    let target = r.path.unwrap_or("/");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let query = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect();
    let headers: Vec<(String, String)> = r
        .headers
        .iter()
        .map(|h| {
            (
                h.name.to_string(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect();
    let get = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.trim())
    };
    let body = if get("Transfer-Encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        BodyFraming::Chunked {
            left: 0,
            done: false,
        }
    } else {
        let len = get("Content-Length").unwrap_or("0");
        BodyFraming::Length(
            len.parse()
                .map_err(|_| ApiError::bad_request("bad Content-Length"))?,
        )
    };
    Ok(Request {
        method,
        path: percent_encoding::percent_decode_str(path)
            .decode_utf8_lossy()
            .into_owned(),
        query,
        headers,
        body,
    })
}

fn status_line(status: u16) -> String {
    let reason = match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        _ => "Status",
    };
    format!("HTTP/1.1 {status} {reason}\r\n")
}

fn extra_headers(extra: &[(&str, &str)]) -> String {
    extra.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect()
}

/// What docker's daemon puts on every answer.
fn common_headers() -> String {
    format!(
        "Api-Version: {}\r\nDocker-Experimental: false\r\nOstype: linux\r\nServer: Docker/{} (linux)\r\nDate: {}\r\n",
        super::API_VERSION,
        super::ENGINE_VERSION,
        chrono::Utc::now().format("%a, %d %b %Y %H:%M:%S GMT")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn_with(bytes: &[u8]) -> Conn {
        let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
        b.write_all(bytes).unwrap();
        drop(b);
        Conn::new(Stream::Unix(a))
    }

    #[test]
    fn parses_head_query_and_length_body() {
        let mut c = conn_with(
            b"POST /v1.47/containers/create?name=web%201&x=a+b HTTP/1.1\r\nHost: d\r\nContent-Length: 5\r\n\r\nhelloGET /_ping HTTP/1.1\r\n\r\n",
        );
        let mut r = c.read_request().unwrap().unwrap();
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, "/v1.47/containers/create");
        assert_eq!(r.q("name"), Some("web 1"));
        assert_eq!(r.q("x"), Some("a b"));
        assert_eq!(c.read_body(&mut r).unwrap(), b"hello");
        let r2 = c.read_request().unwrap().unwrap();
        assert_eq!(r2.path, "/_ping");
        assert!(c.read_request().unwrap().is_none());
    }

    #[test]
    fn decodes_chunked_body_and_keeps_next_request() {
        let mut c = conn_with(
            b"PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nA;ext=1\r\n0123456789\r\n0\r\n\r\nGET /y HTTP/1.1\r\n\r\n",
        );
        let mut r = c.read_request().unwrap().unwrap();
        assert_eq!(c.read_body(&mut r).unwrap(), b"abc0123456789");
        assert_eq!(c.read_request().unwrap().unwrap().path, "/y");
    }

    #[test]
    fn unread_body_is_drained() {
        let mut c =
            conn_with(b"POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nxyzGET /b HTTP/1.1\r\n\r\n");
        let mut r = c.read_request().unwrap().unwrap();
        c.drain_body(&mut r).unwrap();
        assert_eq!(c.read_request().unwrap().unwrap().path, "/b");
    }

    #[test]
    fn docker_bool_values() {
        let mut c = conn_with(b"GET /a?x=0&y=1&z=False&w=yes HTTP/1.1\r\n\r\n");
        let r = c.read_request().unwrap().unwrap();
        assert!(!r.q_bool("x") && r.q_bool("y") && !r.q_bool("z") && r.q_bool("w"));
        assert!(!r.q_bool("missing") && r.q_bool_or("missing", true));
    }
}
