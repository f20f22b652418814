//! Parsers of single `run`/`create` flag values (`--env-file`,
//! `--security-opt`, `--sysctl`, `--add-host`, `--expose`, namespace
//! modes, `-a`), refused in docker's words; `run_flags` turns the whole
//! set into `CreateOptions`.

use crate::error::{Error, Result};
pub use crate::util::go_io_error;

/// `-a, --attach` streams, as docker checks them.
pub fn check_attach(streams: &[String]) -> Result<()> {
    for s in streams {
        if !matches!(
            s.to_ascii_lowercase().as_str(),
            "stdin" | "stdout" | "stderr"
        ) {
            return Err(Error::msg(format!("invalid argument \"{s}\" for \"-a, --attach\" flag: valid streams are STDIN, STDOUT and STDERR")));
        }
    }
    Ok(())
}

/// `-e KEY` without a value takes the caller's value, or stays a bare
/// `KEY`, which unsets KEY in the container (docker's `ValidateEnv`, then
/// the daemon's `ReplaceOrAppendEnvValues`).
pub fn env_flag(s: &str) -> String {
    env_entry(s).unwrap_or_else(|| s.to_string())
}

/// An env-file's bare `KEY` takes the caller's value, or is dropped.
pub fn env_entry(s: &str) -> Option<String> {
    if s.contains('=') {
        Some(s.to_string())
    } else {
        std::env::var(s).ok().map(|v| format!("{s}={v}"))
    }
}

/// docker's env-file: KEY=VALUE lines, `#` comments, bare KEY from our env.
pub fn read_env_file(path: &str) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::msg(format!("open {path}: {}", go_io_error(&e))))?;
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let key = line.split('=').next().unwrap_or(line);
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Err(Error::msg(format!("invalid environment variable: {line}")));
        }
        out.extend(env_entry(line));
    }
    Ok(out)
}

/// The docker CLI's side of `--security-opt` (`parseSystemPaths`,
/// `parseSecurityOpts`): `systempaths=unconfined` is taken out (returned
/// as the bool), every other option needs a value (but
/// `no-new-privileges`), and a seccomp profile's file is read and sent as
/// `seccomp=<compact JSON>`. The daemon's checks follow at create.
pub fn parse_security_opts(opts: &[String]) -> Result<(Vec<String>, bool)> {
    let mut out = Vec::new();
    let mut unmask = false;
    for opt in opts {
        if opt == "systempaths=unconfined" {
            unmask = true;
            continue;
        }
        let mut kv = opt.split_once('=');
        if kv.is_none() && opt != "no-new-privileges" {
            kv = opt.split_once(':');
        }
        let (k, v) = kv.unwrap_or((opt.as_str(), ""));
        if v.is_empty() && k != "no-new-privileges" {
            return Err(Error::msg(format!("Invalid --security-opt: {opt:?}")));
        }
        if k == "seccomp" && v != "builtin" && v != "unconfined" {
            let text = std::fs::read(v).map_err(|e| {
                Error::msg(format!(
                    "opening seccomp profile ({v}) failed: open {v}: {}",
                    go_io_error(&e)
                ))
            })?;
            serde_json::from_slice::<serde::de::IgnoredAny>(&text).map_err(|e| {
                Error::msg(format!(
                    "compacting json for seccomp profile ({v}) failed: {e}"
                ))
            })?;
            out.push(format!("seccomp={}", compact_json(&text)));
            continue;
        }
        out.push(opt.clone());
    }
    Ok((out, unmask))
}

/// Go's json.Compact: insignificant whitespace out, keys left in order.
fn compact_json(text: &[u8]) -> String {
    let s = String::from_utf8_lossy(text);
    let mut out = String::with_capacity(s.len());
    let (mut in_str, mut escaped) = (false, false);
    for c in s.chars() {
        if in_str {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_str = false;
            }
        } else if c == '"' {
            in_str = true;
            out.push(c);
        } else if !c.is_whitespace() {
            out.push(c);
        }
    }
    out
}

pub(super) fn read_label_file(path: &str) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::msg(format!("open {path}: {}", go_io_error(&e))))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect())
}

/// `--pid`/`--ipc` values docker's client accepts.
pub(super) fn ns_flag(flag: &str, what: &str, v: &Option<String>, ipc: bool) -> Result<String> {
    match v.as_deref() {
        None | Some("") => Ok(String::new()),
        Some("host") => Ok("host".into()),
        Some(m @ ("private" | "shareable" | "none")) if ipc => Ok(m.to_string()),
        Some(m) if m.strip_prefix("container:").is_some_and(|c| !c.is_empty()) => Ok(m.to_string()),
        // The engine refuses a bad IPC mode (create: exit 1, no help line),
        // docker's client the others.
        Some(m) if ipc => Err(Error::Container(crate::container::ContainerError::Invalid(
            format!("invalid IPC mode: {m}"),
        ))),
        Some(_) => Err(Error::msg(format!("{flag}: invalid {what} mode"))),
    }
}

/// One `--expose` value, refused in docker's client's words.
pub(super) fn expose_ports(e: &str) -> Result<Vec<(u16, crate::network::firewall::Proto)>> {
    if e.contains(':') {
        return Err(Error::msg(format!("invalid port format for --expose: {e}")));
    }
    let port = e.rsplit_once('/').map_or(e, |(p, _)| p);
    for part in port.split('-') {
        if part.parse::<u16>().is_err() {
            let digits = !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
            let why = if digits {
                "value out of range"
            } else {
                "invalid syntax"
            };
            return Err(Error::msg(format!(
                "invalid range format for --expose: {e}, error: strconv.ParseUint: parsing {part:?}: {why}"
            )));
        }
    }
    Ok(crate::network::ports::parse_exposed(e)?)
}

/// docker's client check of `--sysctl` (opts.ValidateSysctl): only the
/// namespaced ones.
pub(super) fn parse_sysctl(s: &str) -> Result<(String, String)> {
    const IPC: &[&str] = &[
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    let not_allowed = || {
        Error::msg(format!(
            "invalid argument \"{s}\" for \"--sysctl\" flag: sysctl '{s}' is not allowed"
        ))
    };
    let Some((k, v)) = s.split_once('=') else {
        return Err(not_allowed());
    };
    let ok = IPC.contains(&k) || k.starts_with("net.") || k.starts_with("fs.mqueue.");
    if !ok || k.contains('/') || k.split('.').any(|c| c.is_empty() || c == "..") {
        return Err(not_allowed());
    }
    Ok((k.to_string(), v.to_string()))
}

/// `--add-host NAME:IP` (or `NAME=IP`) as an /etc/hosts line; IP may be
/// `host-gateway`.
pub fn parse_add_host(h: &str) -> Result<String> {
    let (name, ip) = h
        .split_once(':')
        .or_else(|| h.split_once('='))
        .ok_or_else(|| Error::msg(format!("bad format for add-host: {h:?}")))?;
    let ip = if ip == "host-gateway" {
        crate::network::bridge::NetworkDef::default_bridge()?
            .gateway
            .to_string()
    } else {
        ip.parse::<std::net::IpAddr>()
            .map_err(|_| Error::msg(format!("invalid IP address in add-host: {ip:?}")))?
            .to_string()
    };
    Ok(format!("{ip}\t{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn security_opts_as_the_docker_cli_reads_them() {
        let v = |o: &[&str]| o.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let (opts, unmask) = parse_security_opts(&v(&[
            "no-new-privileges",
            "systempaths=unconfined",
            "label:disable",
        ]))
        .unwrap();
        assert_eq!(opts, ["no-new-privileges", "label:disable"]);
        assert!(unmask);
        for bad in ["bogus", "seccomp=", "label"] {
            assert_eq!(
                parse_security_opts(&v(&[bad])).unwrap_err().to_string(),
                format!("Invalid --security-opt: {bad:?}")
            );
        }
        let e = parse_security_opts(&v(&["seccomp=/no/such.json"])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "opening seccomp profile (/no/such.json) failed: open /no/such.json: no such file or directory"
        );
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("p.json");
        std::fs::write(
            &f,
            "{\n  \"defaultAction\": \"SCMP_ACT_ALLOW\",\n  \"a b\": [1, \"x \\\" y\"]\n}\n",
        )
        .unwrap();
        let (opts, _) = parse_security_opts(&v(&[&format!("seccomp={}", f.display())])).unwrap();
        assert_eq!(
            opts,
            ["seccomp={\"defaultAction\":\"SCMP_ACT_ALLOW\",\"a b\":[1,\"x \\\" y\"]}"]
        );
        std::fs::write(&f, "{nope").unwrap();
        assert!(
            parse_security_opts(&v(&[&format!("seccomp={}", f.display())]))
                .unwrap_err()
                .to_string()
                .starts_with("compacting json for seccomp profile")
        );
    }
}
