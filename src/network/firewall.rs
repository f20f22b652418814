//! rdock's firewall: NAT for bridge networks and DNAT for published ports,
//! all in one rdock-owned nftables table (`ip rdock` by default); nothing
//! else on the host is touched.
//!
//! Driven through `nft -f -` (one atomic transaction per call) and
//! `nft -j list` to find rules again by their comment. A subprocess, not
//! nfnetlink: the nftables wire format is large, and none of this is on the
//! path of a `run` without `-p` (a bridge's rules are set up once per
//! boot).

use super::{NetworkError, Result};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    pub fn as_str(&self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }
}

/// One published port: traffic to the host's `host_ip:host_port` (any
/// local address when None) goes to the container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortRule {
    pub host_ip: Option<Ipv4Addr>,
    pub host_port: u16,
    pub container_ip: Ipv4Addr,
    pub container_port: u16,
    pub proto: Proto,
}

pub struct Firewall {
    table: String,
}

fn invalid(what: &str, v: &str) -> NetworkError {
    NetworkError::Invalid(format!("invalid {what} {v:?}"))
}

fn check(v: &str, what: &str, max: usize, ok: impl Fn(char) -> bool) -> Result<()> {
    if v.is_empty() || v.len() > max || !v.chars().all(ok) {
        return Err(invalid(what, v));
    }
    Ok(())
}

fn check_bridge(b: &str) -> Result<()> {
    check(b, "bridge name", 15, |c| {
        c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
    })
}

fn net_tag(bridge: &str) -> String {
    format!("rdock net {bridge}")
}

fn ctr_tag(owner: &str) -> String {
    format!("rdock ctr {owner}")
}

impl Firewall {
    pub fn new(table: &str) -> Firewall {
        Firewall {
            table: table.to_string(),
        }
    }

    fn check_table(&self) -> Result<()> {
        check(&self.table, "firewall table", 64, |c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'
        })
    }

    /// The table and its base chains; `add` is idempotent in nft.
    fn skeleton(&self) -> String {
        let t = &self.table;
        format!(
            "add table ip {t}\n\
             add chain ip {t} prerouting {{ type nat hook prerouting priority dstnat; policy accept; }}\n\
             add chain ip {t} output {{ type nat hook output priority -100; policy accept; }}\n\
             add chain ip {t} postrouting {{ type nat hook postrouting priority srcnat; policy accept; }}\n\
             add chain ip {t} forward {{ type filter hook forward priority filter; policy accept; }}\n"
        )
    }

    /// (chain, handle) of every rule of this table whose comment is `tag`.
    fn rules_tagged(&self, tag: &dyn Fn(&str) -> bool) -> Result<Vec<(String, u64, String)>> {
        let out = Command::new("nft")
            .args(["-j", "-a", "list", "table", "ip", &self.table])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| NetworkError::Firewall(format!("running nft: {e}")))?;
        if !out.status.success() {
            // No table yet: no rules.
            return Ok(Vec::new());
        }
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .map_err(|e| NetworkError::Firewall(format!("reading nft's JSON: {e}")))?;
        let mut found = Vec::new();
        for item in v["nftables"].as_array().into_iter().flatten() {
            let r = &item["rule"];
            let (Some(chain), Some(handle), Some(comment)) = (
                r["chain"].as_str(),
                r["handle"].as_u64(),
                r["comment"].as_str(),
            ) else {
                continue;
            };
            if tag(comment) {
                found.push((chain.to_string(), handle, comment.to_string()));
            }
        }
        Ok(found)
    }

    fn apply(&self, script: &str) -> Result<()> {
        let mut child = Command::new("nft")
            .args(["-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| NetworkError::Firewall(format!("running nft: {e}")))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(script.as_bytes())
                .map_err(|e| NetworkError::Firewall(format!("writing to nft: {e}")))?;
        }
        let out = child
            .wait_with_output()
            .map_err(|e| NetworkError::Firewall(format!("running nft: {e}")))?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            let line = err
                .lines()
                .find(|l| l.contains("Error"))
                .unwrap_or(err.trim());
            return Err(NetworkError::Firewall(format!("nft: {line}")));
        }
        Ok(())
    }

    fn deletions(&self, rules: &[(String, u64, String)]) -> String {
        rules
            .iter()
            .map(|(chain, handle, _)| {
                format!("delete rule ip {} {chain} handle {handle}\n", self.table)
            })
            .collect()
    }

    /// NAT and forwarding for one bridge network; idempotent.
    pub fn add_network(
        &self,
        bridge: &str,
        subnet: Ipv4Addr,
        prefix: u8,
        internal: bool,
    ) -> Result<()> {
        self.check_table()?;
        check_bridge(bridge)?;
        let tag = net_tag(bridge);
        let old = self.rules_tagged(&|c| c == tag)?;
        let t = &self.table;
        let c = format!("comment \"{tag}\"");
        let mut script = self.skeleton();
        script.push_str(&self.deletions(&old));
        if internal {
            script.push_str(&format!(
                "add rule ip {t} forward iifname \"{bridge}\" oifname != \"{bridge}\" drop {c}\n\
                 add rule ip {t} forward oifname \"{bridge}\" iifname != \"{bridge}\" drop {c}\n"
            ));
        } else {
            script.push_str(&format!(
                "add rule ip {t} postrouting ip saddr {subnet}/{prefix} oifname != \"{bridge}\" masquerade {c}\n\
                 add rule ip {t} forward iifname \"{bridge}\" accept {c}\n\
                 add rule ip {t} forward oifname \"{bridge}\" ct state established,related accept {c}\n\
                 add rule ip {t} forward oifname \"{bridge}\" ct status dnat accept {c}\n"
            ));
        }
        // Connections DNAT'd from the host's 127.0.0.1 need a source the
        // container can answer.
        script.push_str(&format!(
            "add rule ip {t} postrouting oifname \"{bridge}\" ip saddr 127.0.0.0/8 masquerade {c}\n"
        ));
        self.apply(&script)
    }

    pub fn remove_network(&self, bridge: &str) -> Result<()> {
        self.check_table()?;
        check_bridge(bridge)?;
        let tag = net_tag(bridge);
        let old = self.rules_tagged(&|c| c == tag)?;
        if old.is_empty() {
            return Ok(());
        }
        self.apply(&self.deletions(&old))
    }

    /// DNAT rules for container `owner`'s published ports, in one go.
    pub fn publish(&self, owner: &str, rules: &[PortRule]) -> Result<()> {
        self.check_table()?;
        check(owner, "owner", 128, |c| c.is_ascii_alphanumeric())?;
        let t = &self.table;
        let c = format!("comment \"{}\"", ctr_tag(owner));
        let mut script = self.skeleton();
        for r in rules {
            let daddr = r
                .host_ip
                .map(|ip| format!("ip daddr {ip} "))
                .unwrap_or_default();
            let m = format!(
                "fib daddr type local {daddr}{} dport {} dnat to {}:{} {c}",
                r.proto.as_str(),
                r.host_port,
                r.container_ip,
                r.container_port
            );
            script.push_str(&format!(
                "add rule ip {t} prerouting {m}\nadd rule ip {t} output {m}\n"
            ));
        }
        self.apply(&script)
    }

    pub fn unpublish(&self, owner: &str) -> Result<()> {
        self.check_table()?;
        let tag = ctr_tag(owner);
        let old = self.rules_tagged(&|c| c == tag)?;
        if old.is_empty() {
            return Ok(());
        }
        self.apply(&self.deletions(&old))
    }

    /// Containers with published ports in the table now.
    pub fn owners(&self) -> Result<Vec<String>> {
        self.check_table()?;
        let mut v: Vec<String> = self
            .rules_tagged(&|c| c.starts_with("rdock ctr "))?
            .into_iter()
            .map(|(_, _, c)| c.trim_start_matches("rdock ctr ").to_string())
            .collect();
        v.sort();
        v.dedup();
        Ok(v)
    }

    pub fn delete_table(&self) -> Result<()> {
        self.check_table()?;
        // add-then-delete: no error when it did not exist.
        self.apply(&format!(
            "add table ip {0}\ndelete table ip {0}\n",
            self.table
        ))
    }
}

fn write_sysctl(path: &str, want: &str) -> Result<()> {
    if std::fs::read_to_string(path).is_ok_and(|v| v.trim() == want) {
        return Ok(());
    }
    std::fs::write(path, want).map_err(|e| NetworkError::Firewall(format!("{path}: {e}")))
}

/// Containers on a bridge reach the outside through the host's routing,
/// as with docker, which sets this too (see docs/architecture.md).
pub fn enable_ip_forward() -> Result<()> {
    write_sysctl("/proc/sys/net/ipv4/ip_forward", "1")
}

/// Lets the host's 127.0.0.1 be DNAT'd out of `bridge` (published ports
/// reachable on localhost, as docker's).
pub fn enable_route_localnet(bridge: &str) -> Result<()> {
    check_bridge(bridge)?;
    write_sysctl(
        &format!("/proc/sys/net/ipv4/conf/{bridge}/route_localnet"),
        "1",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Run `f` on a thread in a fresh network namespace: the host's is
    /// never touched (nft runs in the namespace of the thread spawning it).
    fn in_netns<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        std::thread::spawn(move || {
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
            f()
        })
        .join()
        .unwrap()
    }

    fn rule(port: u16) -> PortRule {
        PortRule {
            host_ip: None,
            host_port: port,
            container_ip: Ipv4Addr::new(10, 5, 0, 2),
            container_port: 80,
            proto: Proto::Tcp,
        }
    }

    #[test]
    fn rules_round_trip_in_a_private_netns() {
        in_netns(|| {
            let fw = Firewall::new("rdock_unit");
            fw.delete_table().unwrap();
            let net = Ipv4Addr::new(10, 5, 0, 0);
            fw.add_network("rdu0", net, 24, false).unwrap();
            fw.add_network("rdu0", net, 24, false).unwrap();
            assert_eq!(
                fw.rules_tagged(&|c| c == "rdock net rdu0").unwrap().len(),
                5
            );
            fw.add_network("rdu1", net, 24, true).unwrap();
            fw.publish("abc123", &[rule(8080), rule(8081)]).unwrap();
            fw.publish("def456", &[rule(9090)]).unwrap();
            assert_eq!(fw.owners().unwrap(), vec!["abc123", "def456"]);
            fw.unpublish("abc123").unwrap();
            fw.unpublish("abc123").unwrap();
            assert_eq!(fw.owners().unwrap(), vec!["def456"]);
            fw.remove_network("rdu0").unwrap();
            assert!(fw
                .rules_tagged(&|c| c == "rdock net rdu0")
                .unwrap()
                .is_empty());
            assert_eq!(
                fw.rules_tagged(&|c| c == "rdock net rdu1").unwrap().len(),
                3
            );
            assert!(fw.publish("x;y", &[]).is_err());
            assert!(Firewall::new("Bad Table").delete_table().is_err());
            assert!(fw.add_network("bad name", net, 24, false).is_err());
            fw.delete_table().unwrap();
            fw.delete_table().unwrap();
            assert!(fw.owners().unwrap().is_empty());
        });
    }
}
