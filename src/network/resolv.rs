//! A container's /etc/resolv.conf, as docker 26+ writes it: the host's
//! file read as a resolver does (comments and blank lines dropped, only
//! the last `search` kept), `--dns`, `--dns-search` and `--dns-option`
//! applied, then made fit for the container's network, with a header and
//! a trailing summary of where each part came from.
//!
//! rdock has no embedded DNS server yet (issue 25), so every bridge
//! network gets the file docker gives its default bridge ("legacy").

use std::net::IpAddr;

/// Where the host's resolvers are read from.
const HOST_PATH: &str = "/etc/resolv.conf";
/// systemd-resolved's list of the real upstream resolvers.
const SYSTEMD_PATH: &str = "/run/systemd/resolve/resolv.conf";

/// How the host's file is made fit for the container's network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transform {
    /// The host's network (`--network host`): as it is.
    Host,
    /// A network of the container's own without a resolver inside it:
    /// loopback (and, without IPv6, IPv6) resolvers cannot be reached from
    /// there and are dropped; Google's public ones stand in if none is
    /// left.
    Legacy,
}

/// The user's `--dns`, `--dns-search` and `--dns-option`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Overrides<'a> {
    pub dns: &'a [String],
    pub search: &'a [String],
    pub options: &'a [String],
}

/// The host's file to start from, and its text: systemd-resolved's
/// upstream list when /etc/resolv.conf names only its stub (127.0.0.53),
/// which a container cannot reach. A missing file reads as empty.
pub fn host_source() -> (&'static str, String) {
    let text = std::fs::read_to_string(HOST_PATH).unwrap_or_default();
    let parsed = Parsed::parse(&text);
    let stub: IpAddr = [127, 0, 0, 53].into();
    if parsed.servers == [stub] {
        return (
            SYSTEMD_PATH,
            std::fs::read_to_string(SYSTEMD_PATH).unwrap_or_default(),
        );
    }
    (HOST_PATH, text)
}

/// The file read as a resolver reads it.
#[derive(Debug, Default)]
struct Parsed {
    servers: Vec<IpAddr>,
    invalid: Vec<String>,
    search: Vec<String>,
    options: Vec<String>,
    /// Lines of directives a resolver does not know, kept as they are.
    other: Vec<String>,
}

impl Parsed {
    fn parse(text: &str) -> Parsed {
        let mut p = Parsed::default();
        for line in text.lines() {
            let mut fields = line.split_whitespace();
            let Some(first) = fields.next() else {
                continue;
            };
            if first.starts_with('#') || first.starts_with(';') {
                continue;
            }
            let rest: Vec<String> = fields.map(String::from).collect();
            let known = matches!(first, "nameserver" | "search" | "domain" | "options");
            match (first, rest.first()) {
                // A directive without a value says nothing.
                (_, None) if known => {}
                ("nameserver", Some(addr)) => match addr.parse::<IpAddr>() {
                    Ok(ip) => p.servers.push(ip),
                    Err(_) => p.invalid.push(addr.clone()),
                },
                ("domain" | "search", _) => p.search = rest,
                ("options", _) => p.options.extend(rest),
                _ => p.other.push(line.to_string()),
            }
        }
        p
    }

    fn has_option(&self, name: &str) -> bool {
        self.options
            .iter()
            .any(|o| o.split(':').next() == Some(name))
    }
}

/// The container's file. `source` names the host file `host` was read
/// from; `ipv6`: the network gives the container IPv6.
pub fn generate(source: &str, host: &str, o: Overrides, how: Transform, ipv6: bool) -> String {
    let mut rc = Parsed::parse(host);
    let mut ndots_from = rc.has_option("ndots").then_some("host");
    let mut overrides = Vec::new();
    if !o.dns.is_empty() {
        // The CLI has checked each is an address.
        rc.servers = o.dns.iter().filter_map(|s| s.parse().ok()).collect();
        overrides.push("nameservers");
    }
    if !o.search.is_empty() {
        rc.search = o.search.iter().filter(|s| *s != ".").cloned().collect();
        overrides.push("search");
    }
    if !o.options.is_empty() {
        rc.options = o.options.to_vec();
        ndots_from = rc.has_option("ndots").then_some("override");
        overrides.push("options");
    }
    let mut warnings = Vec::new();
    if how == Transform::Legacy && o.dns.is_empty() {
        rc.servers
            .retain(|a| !a.is_loopback() && (ipv6 || a.is_ipv4()));
        if rc.servers.is_empty() {
            rc.servers = vec![[8, 8, 8, 8].into(), [8, 8, 4, 4].into()];
            if ipv6 {
                rc.servers.extend(
                    [
                        "2001:4860:4860::8888".parse::<IpAddr>().ok(),
                        "2001:4860:4860::8844".parse::<IpAddr>().ok(),
                    ]
                    .into_iter()
                    .flatten(),
                );
            }
            warnings.push("Used default nameservers.");
        }
    }
    let mut out = String::from(
        "# Generated by rdock.\n# This file can be edited; rdock will not make further changes once it\n# has been modified.\n\n",
    );
    for s in &rc.servers {
        out.push_str(&format!("nameserver {s}\n"));
    }
    if !rc.search.is_empty() {
        out.push_str(&format!("search {}\n", rc.search.join(" ")));
    }
    if !rc.options.is_empty() {
        out.push_str(&format!("options {}\n", rc.options.join(" ")));
    }
    if !rc.other.is_empty() {
        out.push_str(&format!("{}\n", rc.other.join("\n")));
    }
    let transform = match how {
        Transform::Host => "",
        Transform::Legacy => " (legacy)",
    };
    out.push_str(&format!("\n# Based on host file: '{source}'{transform}\n"));
    for w in warnings {
        out.push_str(&format!("# {w}\n"));
    }
    if !rc.invalid.is_empty() {
        out.push_str(&format!(
            "# Invalid nameservers: [{}]\n",
            rc.invalid.join(" ")
        ));
    }
    out.push_str(&format!("# Overrides: [{}]\n", overrides.join(" ")));
    if let Some(from) = ndots_from {
        out.push_str(&format!("# Option ndots from: {from}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "# Generated by rdock.\n# This file can be edited; rdock will not make further changes once it\n# has been modified.\n\n";

    #[test]
    fn legacy_drops_loopback_and_ipv6_resolvers() {
        let host = "# generated\nnameserver 127.0.0.53\nnameserver ::1\nsearch a b\nsearch example.com\noptions edns0\nsortlist 10.0.0.0\n";
        assert_eq!(
            generate(HOST_PATH, host, Overrides::default(), Transform::Legacy, false),
            format!("{HEAD}nameserver 8.8.8.8\nnameserver 8.8.4.4\nsearch example.com\noptions edns0\nsortlist 10.0.0.0\n\n# Based on host file: '/etc/resolv.conf' (legacy)\n# Used default nameservers.\n# Overrides: []\n")
        );
        let host = "nameserver 192.0.2.1\nnameserver 2001:db8::1\nnameserver bogus\n";
        assert_eq!(
            generate(HOST_PATH, host, Overrides::default(), Transform::Legacy, false),
            format!("{HEAD}nameserver 192.0.2.1\n\n# Based on host file: '/etc/resolv.conf' (legacy)\n# Invalid nameservers: [bogus]\n# Overrides: []\n")
        );
    }

    #[test]
    fn overrides_replace_and_are_named() {
        let host = "nameserver 192.0.2.1\noptions ndots:3\n";
        let dns = ["127.0.0.1".to_string()];
        let search = ["x.y".to_string(), ".".to_string()];
        let options = ["ndots:2".to_string()];
        let o = Overrides {
            dns: &dns,
            search: &search,
            options: &options,
        };
        // A loopback resolver the user names is kept.
        assert_eq!(
            generate(HOST_PATH, host, o, Transform::Legacy, false),
            format!("{HEAD}nameserver 127.0.0.1\nsearch x.y\noptions ndots:2\n\n# Based on host file: '/etc/resolv.conf' (legacy)\n# Overrides: [nameservers search options]\n# Option ndots from: override\n")
        );
        assert_eq!(
            generate(HOST_PATH, host, Overrides::default(), Transform::Host, false),
            format!("{HEAD}nameserver 192.0.2.1\noptions ndots:3\n\n# Based on host file: '/etc/resolv.conf'\n# Overrides: []\n# Option ndots from: host\n")
        );
    }
}
