//! Signal names as docker takes them: "SIGTERM", "TERM", "term", "15".

use super::{Result, RuntimeError};
use nix::sys::signal::Signal;

pub fn parse(s: &str) -> Result<Signal> {
    let bad = || RuntimeError::InvalidArg(format!("invalid signal: {s}"));
    if let Ok(n) = s.parse::<i32>() {
        return Signal::try_from(n).map_err(|_| bad());
    }
    let up = s.to_ascii_uppercase();
    let name = if up.starts_with("SIG") {
        up
    } else {
        format!("SIG{up}")
    };
    name.parse::<Signal>().map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_spellings() {
        for s in ["SIGTERM", "TERM", "term", "15"] {
            assert_eq!(parse(s).unwrap(), Signal::SIGTERM, "{s}");
        }
        assert_eq!(parse("kill").unwrap(), Signal::SIGKILL);
        assert_eq!(parse("SIGUSR1").unwrap(), Signal::SIGUSR1);
        for s in ["", "NOPE", "99", "-1", "SIG"] {
            assert!(parse(s).is_err(), "{s}");
        }
        assert_eq!(parse("x").unwrap_err().to_string(), "invalid signal: x");
    }
}
