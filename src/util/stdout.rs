//! stdout as docker's (a Go program) behaves on a closed pipe, and error
//! text fit for a terminal.

use super::errno_text;
use std::io::{self, Write};

/// The process's stdout, where a closed pipe ends the process by SIGPIPE
/// (quietly, exit status 141 to a shell), as Go ends the docker CLI:
/// Rust ignores SIGPIPE, and std's `println!` would panic instead.
/// Not for the foreground run's output proxy, which must outlive its
/// reader to reap the container.
pub struct QuietStdout;

impl Write for QuietStdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        io::stdout().lock().write(buf).map_err(stdout_failed)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        io::stdout().lock().write_all(buf).map_err(stdout_failed)
    }
    fn flush(&mut self) -> io::Result<()> {
        io::stdout().lock().flush().map_err(stdout_failed)
    }
}

/// The first error writing stdout (a full disk under `> file`): `main`
/// reports it once the command is done, rather than the output going
/// missing without a word.
pub static STDOUT_ERROR: std::sync::OnceLock<String> = std::sync::OnceLock::new();

fn stdout_failed(e: io::Error) -> io::Error {
    let e = die_on_broken_pipe(e);
    let _ = STDOUT_ERROR.set(errno_text(&e));
    e
}

/// A write to stdout failed: on EPIPE, die of SIGPIPE; other errors are
/// the caller's.
pub fn die_on_broken_pipe(e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::BrokenPipe {
        // SAFETY: restoring the default action and raising a signal; the
        // process ends here.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
            libc::raise(libc::SIGPIPE);
            libc::_exit(141);
        }
    }
    e
}

/// `die_on_broken_pipe` for an error whose cause, somewhere down its
/// chain, is EPIPE: for streams to stdout (`save`, `export`, `cp -`)
/// whose writes go through library code.
pub fn die_if_broken_pipe(e: &(dyn std::error::Error + 'static)) {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<io::Error>() {
            if io.kind() == io::ErrorKind::BrokenPipe {
                die_on_broken_pipe(io::Error::from(io::ErrorKind::BrokenPipe));
            }
        }
        cur = err.source();
    }
}

/// `s` on one line with nothing a terminal acts on: control characters
/// (newlines, escapes, bells) from hostile input shown as `\x1b`, `\n`...
pub fn one_line(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len().saturating_add(8));
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// An io error as Go prints it ("no such file or directory"): docker's
/// messages carry Go's errno text.
pub fn go_io_error(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => nix::errno::Errno::from_raw(n).desc().to_lowercase(),
        None => e.to_string(),
    }
}
