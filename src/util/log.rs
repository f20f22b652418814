//! `--log-level` / `-D`: what rdock is doing, on stderr, in the logrus
//! text shape the docker CLI uses (`DEBU[0000] message`). Off (above
//! debug), a `debug!` costs one relaxed atomic load: its arguments are
//! not even formatted.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Level {
    Trace = 0,
    Debug = 1,
    Info = 2,
    Warn = 3,
    Error = 4,
    Fatal = 5,
    Panic = 6,
}

impl Level {
    /// logrus' `ParseLevel`, which the docker CLI uses: any case,
    /// "warning" for "warn".
    pub fn parse(s: &str) -> Option<Level> {
        Some(match s.to_ascii_lowercase().as_str() {
            "trace" => Level::Trace,
            "debug" => Level::Debug,
            "info" => Level::Info,
            "warn" | "warning" => Level::Warn,
            "error" => Level::Error,
            "fatal" => Level::Fatal,
            "panic" => Level::Panic,
            _ => return None,
        })
    }

    fn tag(self) -> &'static str {
        match self {
            Level::Trace => "TRAC",
            Level::Debug => "DEBU",
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERRO",
            Level::Fatal => "FATA",
            Level::Panic => "PANI",
        }
    }
}

static LEVEL: AtomicU8 = AtomicU8::new(Level::Info as u8);
static START: OnceLock<Instant> = OnceLock::new();

/// Set once by the CLI before any work.
pub fn set_level(level: Level) {
    START.get_or_init(Instant::now);
    LEVEL.store(level as u8, Ordering::Relaxed);
}

/// Whether messages of `level` are printed.
#[inline]
pub fn enabled(level: Level) -> bool {
    level as u8 >= LEVEL.load(Ordering::Relaxed)
}

/// Print one message (the macros check `enabled` first). Control
/// characters are escaped: a message never spans lines.
pub fn emit(level: Level, args: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    let secs = START.get().map_or(0, |t| t.elapsed().as_secs());
    let text = args.to_string();
    let line = format!("{}[{secs:04}] {}\n", level.tag(), super::one_line(&text));
    // One write: lines of parallel threads do not interleave.
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}
