//! --ulimit parsing (docker's `name=soft[:hard]`) and applying. Limits not
//! named are inherited untouched (never raised unless the user asks),
//! except RLIMIT_NOFILE: see `apply` and docs/compatibility.md.

use super::{Result, RuntimeError};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ulimit {
    /// docker's name: "nofile", "nproc", "core", ...
    pub name: String,
    pub soft: i64,
    pub hard: i64,
}

const NAMES: &[(&str, libc::__rlimit_resource_t)] = &[
    ("as", libc::RLIMIT_AS),
    ("core", libc::RLIMIT_CORE),
    ("cpu", libc::RLIMIT_CPU),
    ("data", libc::RLIMIT_DATA),
    ("fsize", libc::RLIMIT_FSIZE),
    ("locks", libc::RLIMIT_LOCKS),
    ("memlock", libc::RLIMIT_MEMLOCK),
    ("msgqueue", libc::RLIMIT_MSGQUEUE),
    ("nice", libc::RLIMIT_NICE),
    ("nofile", libc::RLIMIT_NOFILE),
    ("nproc", libc::RLIMIT_NPROC),
    ("rss", libc::RLIMIT_RSS),
    ("rtprio", libc::RLIMIT_RTPRIO),
    ("rttime", libc::RLIMIT_RTTIME),
    ("sigpending", libc::RLIMIT_SIGPENDING),
    ("stack", libc::RLIMIT_STACK),
];

fn invalid(msg: String) -> RuntimeError {
    RuntimeError::InvalidArg(msg)
}

/// Parse docker's `name=soft[:hard]` form, with docker's error texts.
pub fn parse(s: &str) -> Result<Ulimit> {
    let Some((name, limits)) = s.split_once('=') else {
        return Err(invalid(format!("invalid ulimit argument: {s}")));
    };
    if !NAMES.iter().any(|(n, _)| *n == name) {
        return Err(invalid(format!("invalid ulimit type: {name}")));
    }
    // go-units returns strconv's error as it is.
    let num = |v: &str| -> Result<i64> {
        v.parse::<i64>().map_err(|_| {
            let digits = v.strip_prefix(['-', '+']).unwrap_or(v);
            let why = if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                "value out of range"
            } else {
                "invalid syntax"
            };
            invalid(format!("strconv.ParseInt: parsing {v:?}: {why}"))
        })
    };
    let (soft, hard) = match limits.split_once(':') {
        Some((a, b)) => (num(a)?, num(b)?),
        None => {
            let v = num(limits)?;
            (v, v)
        }
    };
    // -1 is "unlimited" and compares as the largest value.
    let ord = |v: i64| if v < 0 { u64::MAX } else { v as u64 };
    if ord(soft) > ord(hard) {
        return Err(invalid(format!(
            "ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}"
        )));
    }
    Ok(Ulimit {
        name: name.to_string(),
        soft,
        hard,
    })
}

/// RLIMIT_NOFILE of a container no limit names: what docker 25+ gives
/// on a systemd host (its unit no longer sets LimitNOFILE: systemd's
/// 1024 soft, 524288 hard), not whatever the shell that ran rdock had.
pub const DEFAULT_NOFILE: (u64, u64) = (1024, 524_288);

/// The daemon.json `default-ulimits` (docker's key and shape:
/// `{"nofile": {"Name": "nofile", "Soft": 1024, "Hard": 2048}}`) under the
/// user's `--ulimit`s, which win by name.
pub fn with_defaults(user: &[Ulimit]) -> Result<Vec<Ulimit>> {
    let json = crate::util::daemon_json().map_err(invalid)?;
    let mut out: Vec<Ulimit> = Vec::new();
    if let Some(map) = json.get("default-ulimits").and_then(|v| v.as_object()) {
        for (name, v) in map {
            let num = |k: &str| v.get(k).and_then(|x| x.as_i64());
            let (Some(soft), Some(hard)) = (num("Soft"), num("Hard")) else {
                return Err(invalid(format!(
                    "default-ulimits: invalid value for {name}"
                )));
            };
            parse(&format!("{name}={soft}:{hard}"))?;
            out.push(Ulimit {
                name: name.clone(),
                soft,
                hard,
            });
        }
    }
    out.retain(|d| !user.iter().any(|u| u.name == d.name));
    out.extend(user.iter().cloned());
    Ok(out)
}

/// `DEFAULT_NOFILE`, its hard limit lowered to ours where we may not raise
/// it (no CAP_SYS_RESOURCE, or past fs.nr_open).
fn default_nofile() -> Result<()> {
    let (soft, hard) = DEFAULT_NOFILE;
    let set = |soft: u64, hard: u64| {
        let lim = libc::rlimit {
            rlim_cur: soft,
            rlim_max: hard,
        };
        // SAFETY: a valid resource and rlimit struct.
        unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) == 0 }
    };
    if set(soft, hard) {
        return Ok(());
    }
    let mut cur = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: a valid resource and out-pointer.
    unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut cur) };
    let hard = hard.min(cur.rlim_max);
    if set(soft.min(hard), hard) {
        return Ok(());
    }
    Err(RuntimeError::sys(
        "setrlimit nofile",
        nix::errno::Errno::last(),
    ))
}

/// Apply the container's ulimits in its init (and in each exec).
pub fn apply(ulimits: &[Ulimit]) -> Result<()> {
    if !ulimits.iter().any(|u| u.name == "nofile") {
        default_nofile()?;
    }
    set_all(ulimits)
}

/// Set each of `ulimits`, and nothing else (an OCI config's rlimits).
pub fn set_all(ulimits: &[Ulimit]) -> Result<()> {
    for u in ulimits {
        let Some((_, res)) = NAMES.iter().find(|(n, _)| *n == u.name) else {
            return Err(invalid(format!("invalid ulimit type: {}", u.name)));
        };
        let v = |x: i64| {
            if x < 0 {
                libc::RLIM_INFINITY
            } else {
                x as libc::rlim_t
            }
        };
        let lim = libc::rlimit {
            rlim_cur: v(u.soft),
            rlim_max: v(u.hard),
        };
        // SAFETY: a valid resource and rlimit struct.
        if unsafe { libc::setrlimit(*res, &lim) } != 0 {
            return Err(RuntimeError::sys(
                format!("setrlimit {}", u.name),
                nix::errno::Errno::last(),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_docker_forms() {
        assert_eq!(
            parse("nofile=1024:2048").unwrap(),
            Ulimit {
                name: "nofile".into(),
                soft: 1024,
                hard: 2048
            }
        );
        assert_eq!(parse("core=0").unwrap().hard, 0);
        assert_eq!(parse("memlock=-1:-1").unwrap().soft, -1);
        assert!(parse("nofile=10:-1").is_ok());
    }

    #[test]
    fn docker_errors() {
        let e = |s: &str| parse(s).unwrap_err().to_string();
        assert_eq!(e("nofile"), "invalid ulimit argument: nofile");
        assert_eq!(e("bogus=1"), "invalid ulimit type: bogus");
        assert_eq!(
            e("nofile=x"),
            "strconv.ParseInt: parsing \"x\": invalid syntax"
        );
        assert_eq!(
            e("nofile=10:5"),
            "ulimit soft limit must be less than or equal to hard limit: 10 > 5"
        );
        assert!(parse("nofile=-1:5").is_err());
    }
}
