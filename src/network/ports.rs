//! `-p`/`--publish` and `-P`: docker's port syntax, and how published
//! ports are shown (`ps` PORTS, `port`, inspect's Ports).

use super::firewall::{PortRule, Proto};
use super::{NetworkError, Result};
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;

/// One container port to publish, as the user asked for it. A host port
/// of 0 means "pick a free one" (from `host_range` if given, else from
/// the ephemeral range 32768–60999, as docker's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortMapping {
    pub host_ip: Option<Ipv4Addr>,
    pub host_port: u16,
    /// `-p 8000-8010:80`: any free port of this range.
    #[serde(default)]
    pub host_range: Option<(u16, u16)>,
    pub container_port: u16,
    pub proto: Proto,
}

/// docker's ephemeral range for random host ports.
pub const RANDOM_PORTS: (u16, u16) = (32768, 60999);

fn bad(msg: String) -> NetworkError {
    NetworkError::Invalid(msg)
}

fn parse_range(s: &str) -> Option<(u16, u16)> {
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    let a: u16 = a.parse().ok()?;
    let b: u16 = b.parse().ok()?;
    (a <= b).then_some((a, b))
}

/// Parse one `-p` value: `[ip:][hostPort:]containerPort[/proto]`, with
/// port ranges; expanded into one mapping per container port.
pub fn parse_publish(spec: &str) -> Result<Vec<PortMapping>> {
    let (body, proto) = match spec.rsplit_once('/') {
        Some((b, p)) => (b, p),
        None => (spec, "tcp"),
    };
    let proto = match proto.to_ascii_lowercase().as_str() {
        "tcp" => Proto::Tcp,
        "udp" => Proto::Udp,
        "sctp" => return Err(bad("sctp ports are not supported by rdock".into())),
        other => return Err(bad(format!("invalid proto: {other}"))),
    };
    if body.starts_with('[') {
        return Err(bad(format!(
            "invalid publish spec {spec:?}: rdock publishes on IPv4 addresses only"
        )));
    }
    // As docker's nat.ParsePortSpec: the last part is the container's
    // port, the one before the host's, all before that the address.
    let parts: Vec<&str> = body.split(':').collect();
    let joined;
    let (ip, host, ctr) = match parts.as_slice() {
        [c] => ("", "", *c),
        [h, c] => ("", *h, *c),
        [i, h, c] => (*i, *h, *c),
        [ip @ .., h, c] => {
            joined = ip.join(":");
            (joined.as_str(), *h, *c)
        }
        [] => return Err(bad(format!("invalid publish spec {spec:?}"))),
    };
    let host_ip = match ip {
        "" => None,
        ip => Some(
            ip.parse::<Ipv4Addr>()
                .map_err(|_| bad(format!("invalid IP address: {ip}")))?,
        ),
    };
    let host_ip = host_ip.filter(|ip| !ip.is_unspecified());
    let (c0, c1) = parse_range(ctr)
        .filter(|(a, _)| *a > 0)
        .ok_or_else(|| bad(format!("invalid containerPort: {ctr}")))?;
    let host_text = host;
    let host = if host.is_empty() {
        None
    } else {
        Some(parse_range(host).ok_or_else(|| bad(format!("invalid hostPort: {host}")))?)
    };
    let ctrs = c0..=c1;
    // Per container port, its host port (0: any free one) and range.
    let hosts: Vec<(u16, Option<(u16, u16)>)> = match host {
        None => ctrs.clone().map(|_| (0, None)).collect(),
        // One container port, a range of host ports: any free one.
        Some((h0, h1)) if c0 == c1 && h1 > h0 => vec![(0, Some((h0, h1)))],
        Some((h0, h1)) if (h0..=h1).len() == ctrs.len() => (h0..=h1).map(|h| (h, None)).collect(),
        Some(_) => {
            return Err(bad(format!(
                "invalid ranges specified for container and host Ports: {ctr} and {host_text}"
            )))
        }
    };
    Ok(ctrs
        .zip(hosts)
        .map(|(container_port, (host_port, host_range))| PortMapping {
            host_ip,
            host_port,
            host_range,
            container_port,
            proto,
        })
        .collect())
}

/// An image's or `--expose`'s port key: `80/tcp`, `53/udp`, `80`, or a
/// range (`8000-8002/tcp`); expanded.
pub fn parse_exposed(key: &str) -> Result<Vec<(u16, Proto)>> {
    let (port, proto) = key.rsplit_once('/').unwrap_or((key, "tcp"));
    let proto = match proto {
        "tcp" => Proto::Tcp,
        "udp" => Proto::Udp,
        other => return Err(bad(format!("invalid proto: {other}"))),
    };
    let (a, b) = parse_range(port)
        .filter(|(a, _)| *a > 0)
        .ok_or_else(|| bad(format!("invalid containerPort: {port}")))?;
    Ok((a..=b).map(|p| (p, proto)).collect())
}

/// docker's `ps` PORTS text: `0.0.0.0:8080->80/tcp, 53/udp`, published
/// ones first in container-port order, then exposed-only ones.
pub fn ps_text(published: &[PortRule], exposed: &[(u16, Proto)]) -> String {
    let mut rules: Vec<&PortRule> = published.iter().collect();
    rules.sort_by_key(|r| (r.container_port, r.proto.as_str(), r.host_port));
    let mut parts: Vec<String> = rules
        .iter()
        .map(|r| {
            format!(
                "{}:{}->{}/{}",
                r.host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED),
                r.host_port,
                r.container_port,
                r.proto.as_str()
            )
        })
        .collect();
    let mut exp: Vec<&(u16, Proto)> = exposed
        .iter()
        .filter(|(p, pr)| {
            !published
                .iter()
                .any(|r| r.container_port == *p && r.proto == *pr)
        })
        .collect();
    exp.sort_by_key(|(p, pr)| (*p, pr.as_str()));
    exp.dedup();
    parts.extend(exp.iter().map(|(p, pr)| format!("{p}/{}", pr.as_str())));
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(s: &str) -> PortMapping {
        let v = parse_publish(s).unwrap();
        assert_eq!(v.len(), 1, "{s}");
        v.into_iter().next().unwrap()
    }

    #[test]
    fn every_docker_form() {
        let m = one("80");
        assert_eq!((m.host_ip, m.host_port, m.container_port), (None, 0, 80));
        let m = one("8080:80");
        assert_eq!(
            (m.host_port, m.container_port, m.proto),
            (8080, 80, Proto::Tcp)
        );
        let m = one("127.0.0.1:8080:80/udp");
        assert_eq!(m.host_ip, Some(Ipv4Addr::LOCALHOST));
        assert_eq!((m.host_port, m.proto), (8080, Proto::Udp));
        let m = one("127.0.0.1::80");
        assert_eq!((m.host_ip, m.host_port), (Some(Ipv4Addr::LOCALHOST), 0));
        let m = one("0.0.0.0:5000:5000");
        assert_eq!(m.host_ip, None);
        let v = parse_publish("8000-8002:80-82/tcp").unwrap();
        assert_eq!(
            v.iter()
                .map(|m| (m.host_port, m.container_port))
                .collect::<Vec<_>>(),
            vec![(8000, 80), (8001, 81), (8002, 82)]
        );
        let m = one("9000-9005:80");
        assert_eq!((m.host_port, m.host_range), (0, Some((9000, 9005))));
        assert_eq!(parse_publish("7000-7001").unwrap().len(), 2);
    }

    #[test]
    fn bad_specs_are_refused() {
        for s in [
            "x",
            "0",
            "80/icmp",
            "1:2:3:4",
            "8000-8001:80-85",
            "abc:80",
            "99999",
            "1.2.3:80:80",
            "[::1]:80:80",
        ] {
            assert!(parse_publish(s).is_err(), "{s}");
        }
    }

    #[test]
    fn ps_text_as_docker() {
        let rule = |hp, cp, proto| PortRule {
            host_ip: None,
            host_port: hp,
            container_ip: Ipv4Addr::new(10, 88, 0, 2),
            container_port: cp,
            proto,
        };
        assert_eq!(
            ps_text(
                &[rule(8080, 80, Proto::Tcp), rule(5353, 53, Proto::Udp)],
                &[(80, Proto::Tcp), (443, Proto::Tcp)]
            ),
            "0.0.0.0:5353->53/udp, 0.0.0.0:8080->80/tcp, 443/tcp"
        );
        assert_eq!(parse_exposed("80/tcp").unwrap(), vec![(80, Proto::Tcp)]);
        assert_eq!(parse_exposed("53/udp").unwrap(), vec![(53, Proto::Udp)]);
    }
}
