//! The docker client's own checks of `run`/`create` values, made before
//! anything else and in its words: the flags whose pflag `Set` validates
//! (a bad one is a usage error: `invalid argument "V" for "FLAG" flag:
//! WHY`), and the spec parsers its `parse()` runs before asking the
//! engine (`invalid spec: ...`, files it cannot open).

use super::run_flags::ContainerFlags;
use crate::error::{Error, Result};

/// pflag's error for a value its flag refused.
fn bad(value: &str, flag: &str, why: impl std::fmt::Display) -> Error {
    Error::msg(format!(
        "invalid argument {} for \"{flag}\" flag: {why}",
        super::pflag::go_quote(value)
    ))
}

/// The flags' validators, then the client's spec parsers.
pub fn check(f: &ContainerFlags) -> Result<()> {
    for v in &f.env {
        if v.split('=').next().unwrap_or_default().is_empty() {
            return Err(bad(
                v,
                "-e, --env",
                format!("invalid environment variable: {v}"),
            ));
        }
    }
    for v in &f.label {
        if v.split('=').next().unwrap_or_default().trim().is_empty() {
            return Err(bad(
                v,
                "-l, --label",
                format!("invalid label '{v}': empty name"),
            ));
        }
    }
    for v in &f.mount {
        check_mount(v).map_err(|why| bad(v, "--mount", why))?;
    }
    for v in &f.ulimit {
        crate::runtime::rlimits::parse(v).map_err(|e| bad(v, "--ulimit", e))?;
    }
    for v in &f.add_host {
        super::run_values::parse_add_host(v).map_err(|e| bad(v, "--add-host", e))?;
    }
    for v in &f.dns {
        if v.parse::<std::net::IpAddr>().is_err() {
            return Err(bad(
                v,
                "--dns",
                format!("IP address is not correctly formatted: {v}"),
            ));
        }
    }
    for v in &f.link {
        let parts: Vec<&str> = v.split(':').collect();
        if parts.len() > 2 || parts.iter().any(|p| p.is_empty()) {
            return Err(bad(v, "--link", format!("bad format for links: {v}")));
        }
    }
    for v in &f.network {
        super::run_networks::parse_value(v).map_err(|why| bad(v, "--network", why))?;
    }
    for v in &f.volume {
        check_volume(v)?;
    }
    for p in f.env_file.iter().chain(&f.label_file) {
        std::fs::metadata(p)
            .map_err(|e| Error::msg(format!("open {p}: {}", super::run_values::go_io_error(&e))))?;
    }
    Ok(())
}

/// The docker client's ParseVolume (its compose loader): only its errors.
pub fn check_volume(spec: &str) -> Result<()> {
    let chars: Vec<char> = spec.chars().collect();
    match chars.len() {
        0 => return Err(Error::msg("invalid empty volume spec")),
        1 | 2 => return Ok(()),
        _ => {}
    }
    let fail = |why: &str| Err(Error::msg(format!("invalid spec: {spec}: {why}")));
    let (mut source, mut target) = (false, false);
    let mut buffer: Vec<char> = Vec::new();
    for c in chars.iter().copied().map(Some).chain(std::iter::once(None)) {
        // `c:` after one letter is a Windows drive, not a separator.
        let drive = c == Some(':') && buffer.len() == 1 && buffer.iter().all(|b| b.is_alphabetic());
        if drive || !matches!(c, Some(':') | None) {
            buffer.extend(c);
            continue;
        }
        if buffer.is_empty() {
            return fail("empty section between colons");
        }
        if !source && c.is_none() {
            target = true;
        } else if !source {
            source = true;
        } else if !target {
            target = true;
        } else if c == Some(':') {
            return fail("too many colons");
        }
        buffer.clear();
    }
    Ok(())
}

/// docker's MountOpt.Set: the fields (CSV), their keys and values, and
/// which options go with which type. The engine checks the rest.
pub fn check_mount(value: &str) -> std::result::Result<(), String> {
    let fields = csv_fields(value)?;
    let mut kind = "volume".to_string();
    let mut target = String::new();
    let (mut volume_opts, mut bind_opts, mut tmpfs_opts, mut image_opts) =
        (false, false, false, false);
    let bool_of = |key: &str, v: &str| {
        super::pflag::parse_bool(v).ok_or_else(|| format!("invalid value for {key}: {v}"))
    };
    for field in &fields {
        let (key, val) = match field.split_once('=') {
            Some((k, v)) => (k.to_lowercase(), v),
            None => {
                match field.to_lowercase().as_str() {
                    "readonly" | "ro" => {}
                    "volume-nocopy" => volume_opts = true,
                    "bind-nonrecursive" => bind_opts = true,
                    _ => return Err(format!("invalid field '{field}' must be a key=value pair")),
                }
                continue;
            }
        };
        match key.as_str() {
            "type" => kind = val.to_lowercase(),
            "source" | "src" | "consistency" => {}
            "target" | "dst" | "destination" => target = val.to_string(),
            "readonly" | "ro" => {
                bool_of(&key, val)?;
            }
            "bind-propagation" => bind_opts = true,
            "bind-nonrecursive" => {
                bool_of(&key, val)?;
                bind_opts = true;
            }
            "bind-recursive" => {
                if !matches!(val, "enabled" | "disabled" | "writable" | "readonly") {
                    return Err(format!("invalid value for {key}: {val} (must be \"enabled\", \"disabled\", \"writable\", or \"readonly\")"));
                }
                bind_opts = true;
            }
            "volume-nocopy" => {
                super::pflag::parse_bool(val)
                    .ok_or_else(|| format!("invalid value for volume-nocopy: {val}"))?;
                volume_opts = true;
            }
            "volume-subpath" | "volume-label" | "volume-driver" | "volume-opt" => {
                volume_opts = true
            }
            "image-subpath" => image_opts = true,
            "tmpfs-size" => {
                crate::runtime::mountspec::ram_in_bytes(val)
                    .ok_or_else(|| format!("invalid value for {key}: {val}"))?;
                tmpfs_opts = true;
            }
            "tmpfs-mode" => {
                u32::from_str_radix(val, 8)
                    .map_err(|_| format!("invalid value for {key}: {val}"))?;
                tmpfs_opts = true;
            }
            _ => return Err(format!("unexpected key '{key}' in '{field}'")),
        }
    }
    if kind.is_empty() {
        return Err("type is required".into());
    }
    if target.is_empty() {
        return Err("target is required".into());
    }
    for (given, prefix, owner) in [
        (volume_opts, "volume", "volume"),
        (image_opts, "image", "image"),
        (bind_opts, "bind", "bind"),
        (tmpfs_opts, "tmpfs", "tmpfs"),
    ] {
        if given && kind != owner {
            return Err(format!(
                "cannot mix '{prefix}-*' options with mount type '{kind}'"
            ));
        }
    }
    Ok(())
}

/// One line of Go's encoding/csv: fields split at commas, `"` quoting.
pub(super) fn csv_fields(line: &str) -> std::result::Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut col = 0usize;
    let mut at_start = true;
    let mut quoted = false;
    while let Some(c) = chars.next() {
        col = col.saturating_add(1);
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                    if !matches!(chars.peek(), None | Some(',')) {
                        return Err(format!(
                            "parse error on line 1, column {col}: extraneous or missing \" in quoted-field"
                        ));
                    }
                }
            } else {
                field.push(c);
            }
            continue;
        }
        match c {
            ',' => {
                fields.push(std::mem::take(&mut field));
                at_start = true;
                continue;
            }
            '"' if at_start => quoted = true,
            '"' => {
                return Err(format!(
                    "parse error on line 1, column {col}: bare \" in non-quoted-field"
                ))
            }
            c => field.push(c),
        }
        at_start = false;
    }
    if quoted {
        return Err(format!(
            "parse error on line 1, column {}: extraneous or missing \" in quoted-field",
            col.saturating_add(1)
        ));
    }
    fields.push(field);
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_specs_as_the_docker_client_reads_them() {
        let e = |s: &str| check_volume(s).unwrap_err().to_string();
        assert_eq!(
            e(":/backup"),
            "invalid spec: :/backup: empty section between colons"
        );
        assert_eq!(e("/a:/b:cc:d"), "invalid spec: /a:/b:cc:d: too many colons");
        assert_eq!(
            e("/a::/b"),
            "invalid spec: /a::/b: empty section between colons"
        );
        assert_eq!(e(""), "invalid empty volume spec");
        // A one-letter section before a colon is a Windows drive.
        for ok in ["/a:/b:c:d", "/a:/b", "vol:/x:ro", "/x", "ab", "c:/x:/y"] {
            assert!(check_volume(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn mount_values_as_the_docker_client_sets_them() {
        let e = |s: &str| check_mount(s).unwrap_err();
        assert_eq!(e("type=bind"), "target is required");
        assert_eq!(e("bogus"), "invalid field 'bogus' must be a key=value pair");
        assert_eq!(e("dst=/x,bogus=1"), "unexpected key 'bogus' in 'bogus=1'");
        assert_eq!(
            e("type=tmpfs,dst=/x,tmpfs-size=abc"),
            "invalid value for tmpfs-size: abc"
        );
        assert_eq!(
            e("type=bind,dst=/x,volume-nocopy"),
            "cannot mix 'volume-*' options with mount type 'bind'"
        );
        assert_eq!(e("dst=/x,ro=maybe"), "invalid value for ro: maybe");
        assert_eq!(
            e("dst=/x,a\"b"),
            "parse error on line 1, column 9: bare \" in non-quoted-field"
        );
        assert!(check_mount("type=bind,\"src=/a,b\",dst=/x,readonly").is_ok());
        assert!(check_mount("type=foo,dst=/x").is_ok());
    }
}
