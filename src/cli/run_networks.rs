//! `--network` at `run`/`create`, as the docker 28 client reads it: each
//! value a network name or the long syntax (`name=N,alias=A,ip=I,...`),
//! the first network taking `--network-alias`, `--ip` and `--mac-address`,
//! several networks joined at once (API 1.44+, docker 25+).

use crate::container::config::{Attachment, NetworkMode};
use crate::error::{Error, Result};

/// One `--network` value (docker's `NetworkAttachmentOpts`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetValue {
    pub target: String,
    pub aliases: Vec<String>,
    pub ip: Option<String>,
    pub mac: Option<String>,
    /// Fields rdock parses but cannot apply (`ip6`, `link-local-ip`,
    /// `driver-opt`): named in the refusal.
    pub unsupported: Vec<&'static str>,
    pub gw_priority: i64,
}

/// pflag's `Set` of docker's `NetworkOpt`: the long syntax when the value
/// holds `\w+=\w+` anywhere (docker's unanchored regexp), its fields
/// lower-cased as docker lower-cases them.
pub fn parse_value(value: &str) -> std::result::Result<NetValue, String> {
    if !long_syntax(value) {
        return Ok(NetValue {
            target: value.to_string(),
            ..Default::default()
        });
    }
    let mut n = NetValue::default();
    for field in super::client_checks::csv_fields(value)? {
        let lower = field.to_lowercase();
        let (key, val) = match lower.split_once('=') {
            Some((k, v)) if !k.is_empty() => (k.trim(), v.trim().to_string()),
            _ => return Err(format!("invalid field {field}")),
        };
        match key {
            "name" => n.target = val,
            "alias" => n.aliases.push(val),
            "ip" => n.ip = Some(val),
            "mac-address" => n.mac = Some(val),
            "ip6" => n.unsupported.push("ip6"),
            "link-local-ip" => n.unsupported.push("link-local-ip"),
            "driver-opt" => {
                if !val.contains('=') {
                    return Err("invalid key value pair format in driver options".into());
                }
                n.unsupported.push("driver-opt")
            }
            "gw-priority" => match val.parse::<i64>() {
                Ok(p) => n.gw_priority = p,
                Err(e) => {
                    let why = if matches!(
                        e.kind(),
                        std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow
                    ) {
                        "value out of range"
                    } else {
                        "invalid syntax"
                    };
                    return Err(format!("invalid gw-priority ({val}): {why}"));
                }
            },
            other => return Err(format!("invalid field key {other}")),
        }
    }
    if n.target.is_empty() {
        return Err("network name/id is not specified".into());
    }
    Ok(n)
}

/// Does `s` match Go's `\w+=\w+` somewhere?
fn long_syntax(s: &str) -> bool {
    let b = s.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    b.windows(3)
        .any(|w| matches!(w, [l, b'=', r] if word(*l) && word(*r)))
}

/// docker's `NetworkMode.IsUserDefined`.
pub fn user_defined(n: &str) -> bool {
    !matches!(n, "default" | "bridge" | "host" | "none") && !n.starts_with("container:")
}

/// The networks a new container joins: its mode (the first network), the
/// first network's aliases, address and MAC, and the others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkPlan {
    pub mode: NetworkMode,
    pub aliases: Vec<String>,
    pub ip: Option<String>,
    pub mac: Option<String>,
    pub gw_priority: i64,
    pub others: Vec<Attachment>,
}

/// The container-wide flags the first network takes (`applyContainerOptions`).
pub struct Wide<'a> {
    pub aliases: &'a [String],
    pub ip: Option<&'a str>,
    pub mac: Option<&'a str>,
}

/// docker 28's `parseNetworkOpts`, in its order and words, then what rdock
/// cannot do: several networks of which one is not user-defined (docker's
/// engine accepts `--network bridge --network none` and then runs the
/// container on a mixture of both; rdock refuses it).
pub fn plan(values: &[String], wide: &Wide) -> Result<NetworkPlan> {
    let mut parsed = Vec::new();
    for v in values {
        // Already checked as pflag would (client_checks).
        parsed.push(parse_value(v).map_err(Error::msg)?);
    }
    if parsed.is_empty() {
        parsed.push(NetValue {
            target: "default".into(),
            ..Default::default()
        });
    }
    let (mut users, mut others) = (false, false);
    let mut seen: Vec<&str> = Vec::new();
    for (i, n) in parsed.iter_mut().enumerate() {
        if user_defined(&n.target) {
            users = true;
        } else {
            others = true;
        }
        if i == 0 {
            apply_wide(n, wide)?;
        }
        if n.target.trim().is_empty() {
            return Err(Error::msg("no name set for network"));
        }
        if !user_defined(&n.target) && !n.aliases.is_empty() {
            return Err(Error::msg(
                "network-scoped aliases are only supported for user-defined networks",
            ));
        }
        if let Some(m) = &n.mac {
            crate::network::bridge::parse_mac(m.trim())
                .map_err(|_| Error::msg(format!("{m} is not a valid mac address")))?;
        }
        if values.is_empty() {
            continue;
        }
        if seen.contains(&n.target.as_str()) {
            return Err(Error::msg(format!(
                "network {:?} is specified multiple times",
                n.target
            )));
        }
        seen.push(&n.target);
    }
    if users && others && !values.is_empty() {
        return Err(Error::msg(
            "conflicting options: cannot attach both user-defined and non-user-defined network-modes",
        ));
    }
    if parsed.len() > 1 && others {
        return Err(Error::msg(format!(
            "Container cannot be connected to network endpoints: {}",
            values.join(", ")
        )));
    }
    if let Some(field) = parsed.iter().flat_map(|n| &n.unsupported).next() {
        return Err(Error::msg(format!(
            "--network {field}=... is not supported by rdock yet"
        )));
    }
    let mut parsed = parsed.into_iter();
    let first = parsed.next().unwrap_or_default();
    let mode = match first.target.as_str() {
        "default" | "bridge" => NetworkMode::Bridge("bridge".into()),
        "none" => NetworkMode::None,
        "host" => NetworkMode::Host,
        other => match other.strip_prefix("container:") {
            Some(c) if !c.is_empty() => NetworkMode::Container(c.to_string()),
            _ => NetworkMode::Bridge(other.to_string()),
        },
    };
    let mut rest = Vec::new();
    for n in parsed {
        rest.push(attachment(n)?);
    }
    Ok(NetworkPlan {
        mode,
        aliases: first.aliases,
        ip: first.ip,
        mac: first.mac,
        gw_priority: first.gw_priority,
        others: rest,
    })
}

/// `applyContainerOptions`: the container-wide flags go to the first network,
/// unless its long syntax already says the same thing.
fn apply_wide(n: &mut NetValue, wide: &Wide) -> Result<()> {
    let conflict = |what: &str| {
        Err(Error::msg(format!(
            "conflicting options: cannot specify both {what}"
        )))
    };
    if !n.aliases.is_empty() && !wide.aliases.is_empty() {
        return conflict("--network-alias and per-network alias");
    }
    if n.ip.is_some() && wide.ip.is_some() {
        return conflict("--ip and per-network IPv4 address");
    }
    if n.mac.is_some() && wide.mac.is_some() {
        return conflict("--mac-address and per-network MAC address");
    }
    if !wide.aliases.is_empty() {
        n.aliases = wide.aliases.to_vec();
    }
    if let Some(ip) = wide.ip {
        n.ip = Some(ip.to_string());
    }
    if let Some(m) = wide.mac {
        n.mac = Some(m.to_string());
    }
    Ok(())
}

/// A network after the first, as `network connect` would record it.
fn attachment(n: NetValue) -> Result<Attachment> {
    for a in &n.aliases {
        crate::container::network::check_name("alias", a)?;
    }
    Ok(Attachment {
        network: n.target,
        aliases: n.aliases,
        ip: n.ip.as_deref().map(parse_ip).transpose()?,
        mac: n.mac,
        gw_priority: n.gw_priority,
    })
}

/// An `--ip` value, as rdock has always refused a bad one.
pub fn parse_ip(ip: &str) -> Result<std::net::Ipv4Addr> {
    ip.parse()
        .map_err(|_| Error::msg(format!("invalid IPv4 address: {ip}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wide() -> Wide<'static> {
        Wide {
            aliases: &[],
            ip: None,
            mac: None,
        }
    }

    fn nets(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn long_syntax_as_docker_detects_it() {
        assert!(long_syntax("name=a"));
        assert!(long_syntax("x,name=a"));
        assert!(!long_syntax("a"));
        assert!(!long_syntax("=a"));
        assert!(!long_syntax("a="));
        let v = parse_value("name=Net1,alias=X,ip=10.0.0.2").unwrap();
        assert_eq!(v.target, "net1");
        assert_eq!(v.aliases, ["x"]);
        assert_eq!(v.ip.as_deref(), Some("10.0.0.2"));
        assert_eq!(
            parse_value("name=a,foo=1").unwrap_err(),
            "invalid field key foo"
        );
        assert_eq!(
            parse_value("alias=a").unwrap_err(),
            "network name/id is not specified"
        );
        assert_eq!(
            parse_value("name=a,gw-priority=x").unwrap_err(),
            "invalid gw-priority (x): invalid syntax"
        );
    }

    #[test]
    fn several_networks_first_takes_the_wide_flags() {
        let w = Wide {
            aliases: &["web".to_string()],
            ip: Some("10.1.0.9"),
            mac: None,
        };
        let p = plan(&nets(&["a", "name=b,alias=bb,ip=10.2.0.9"]), &w).unwrap();
        assert_eq!(p.mode, NetworkMode::Bridge("a".into()));
        assert_eq!(p.aliases, ["web"]);
        assert_eq!(p.ip.as_deref(), Some("10.1.0.9"));
        assert_eq!(p.others.len(), 1);
        assert_eq!(p.others[0].network, "b");
        assert_eq!(p.others[0].aliases, ["bb"]);
    }

    #[test]
    fn refusals_in_docker_words() {
        let err = |v: &[&str]| plan(&nets(v), &wide()).unwrap_err().to_string();
        assert_eq!(
            err(&["a", "a"]),
            "network \"a\" is specified multiple times"
        );
        assert!(err(&["none", "a"]).contains("cannot attach both user-defined"));
        assert!(err(&["bridge", "none"]).contains("cannot be connected to network endpoints"));
        assert!(err(&["name=bridge,alias=x"]).contains("only supported for user-defined"));
        let w = Wide {
            aliases: &["w".to_string()],
            ip: None,
            mac: None,
        };
        assert!(plan(&nets(&["name=a,alias=z"]), &w)
            .unwrap_err()
            .to_string()
            .contains("cannot specify both --network-alias and per-network alias"));
        // The wide flags go to the first network only.
        assert!(plan(&nets(&["a", "name=b,alias=z"]), &w).is_ok());
    }
}
