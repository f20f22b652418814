//! Signal names and numbers as docker's engine takes them (moby's
//! signal.ParseSignal): "SIGTERM", "TERM", "term", "15", the real-time
//! "RTMIN+3", "SIGRTMAX-1", and any other non-zero number.

use super::{Result, RuntimeError};

/// glibc's SIGRTMIN and SIGRTMAX on Linux, as docker's table has them.
const RTMIN: i32 = 34;
const RTMAX: i32 = 64;

const NAMES: &[(&str, i32)] = &[
    ("ABRT", libc::SIGABRT),
    ("ALRM", libc::SIGALRM),
    ("BUS", libc::SIGBUS),
    ("CHLD", libc::SIGCHLD),
    ("CLD", libc::SIGCHLD),
    ("CONT", libc::SIGCONT),
    ("FPE", libc::SIGFPE),
    ("HUP", libc::SIGHUP),
    ("ILL", libc::SIGILL),
    ("INT", libc::SIGINT),
    ("IO", libc::SIGIO),
    ("IOT", libc::SIGIOT),
    ("KILL", libc::SIGKILL),
    ("PIPE", libc::SIGPIPE),
    ("POLL", libc::SIGPOLL),
    ("PROF", libc::SIGPROF),
    ("PWR", libc::SIGPWR),
    ("QUIT", libc::SIGQUIT),
    ("SEGV", libc::SIGSEGV),
    ("STKFLT", libc::SIGSTKFLT),
    ("STOP", libc::SIGSTOP),
    ("SYS", libc::SIGSYS),
    ("TERM", libc::SIGTERM),
    ("TRAP", libc::SIGTRAP),
    ("TSTP", libc::SIGTSTP),
    ("TTIN", libc::SIGTTIN),
    ("TTOU", libc::SIGTTOU),
    ("URG", libc::SIGURG),
    ("USR1", libc::SIGUSR1),
    ("USR2", libc::SIGUSR2),
    ("VTALRM", libc::SIGVTALRM),
    ("WINCH", libc::SIGWINCH),
    ("XCPU", libc::SIGXCPU),
    ("XFSZ", libc::SIGXFSZ),
];

/// The signal's number; a number is taken as it is (0 excepted), as
/// docker takes it: whether the kernel has it is `deliverable`'s question.
pub fn parse(s: &str) -> Result<i64> {
    let bad = || RuntimeError::InvalidArg(format!("invalid signal: {s}"));
    if let Ok(n) = s.parse::<i64>() {
        return if n == 0 { Err(bad()) } else { Ok(n) };
    }
    let up = s.to_ascii_uppercase();
    let name = up.strip_prefix("SIG").unwrap_or(&up);
    if let Some(&(_, n)) = NAMES.iter().find(|(k, _)| *k == name) {
        return Ok(n.into());
    }
    let rt = |rest: &str, base: i32, sign: i32, max: i32| -> Option<i64> {
        if rest.is_empty() {
            return Some(base.into());
        }
        let k: i32 = rest.parse().ok().filter(|k| (1..=max).contains(k))?;
        // Only docker's spellings: "RTMIN+3", never "RTMIN+03".
        (k.to_string() == rest).then(|| i64::from(base.saturating_add(sign.saturating_mul(k))))
    };
    let n = if let Some(rest) = name.strip_prefix("RTMIN") {
        match rest.strip_prefix('+') {
            Some(r) => rt(r, RTMIN, 1, 15),
            None if rest.is_empty() => Some(RTMIN.into()),
            None => None,
        }
    } else if let Some(rest) = name.strip_prefix("RTMAX") {
        match rest.strip_prefix('-') {
            Some(r) => rt(r, RTMAX, -1, 14),
            None if rest.is_empty() => Some(RTMAX.into()),
            None => None,
        }
    } else {
        None
    };
    n.ok_or_else(bad)
}

/// A parsed signal the kernel can deliver, or docker's refusal (which
/// shows a negative number as Go's uint64).
pub fn deliverable(n: i64) -> std::result::Result<i32, String> {
    i32::try_from(n)
        .ok()
        .filter(|n| (1..=RTMAX).contains(n))
        .ok_or_else(|| format!("the linux daemon does not support signal {}", n as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_spellings() {
        for s in ["SIGTERM", "TERM", "term", "15", "sigterm"] {
            assert_eq!(parse(s).unwrap(), 15, "{s}");
        }
        assert_eq!(parse("kill").unwrap(), 9);
        assert_eq!(parse("SIGUSR1").unwrap(), 10);
        assert_eq!(parse("RTMIN+3").unwrap(), 37);
        assert_eq!(parse("SIGRTMIN+3").unwrap(), 37);
        assert_eq!(parse("rtmin").unwrap(), 34);
        assert_eq!(parse("RTMAX-1").unwrap(), 63);
        assert_eq!(parse("SIGRTMAX").unwrap(), 64);
        assert_eq!(parse("34").unwrap(), 34);
        assert_eq!(parse("99").unwrap(), 99);
        for s in [
            "", "NOPE", "0", "SIG", "RTMIN+16", "RTMIN+0", "RTMAX-15", "RTMIN-1",
        ] {
            assert!(parse(s).is_err(), "{s}");
        }
        assert_eq!(parse("x").unwrap_err().to_string(), "invalid signal: x");
        assert_eq!(deliverable(37), Ok(37));
        assert_eq!(
            deliverable(99).unwrap_err(),
            "the linux daemon does not support signal 99"
        );
        assert_eq!(
            deliverable(-1).unwrap_err(),
            "the linux daemon does not support signal 18446744073709551615"
        );
    }
}
