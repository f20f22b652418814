//! `rdock port CONTAINER [PRIVATE_PORT[/PROTO]]`: the published ports of a
//! running container, as docker lists them.

use crate::container::store::ContainerStore;
use crate::error::{Error, Result};
use crate::paths::Paths;
use clap::Args;

#[derive(Debug, Args)]
pub struct PortArgs {
    pub container: String,
    /// PRIVATE_PORT[/PROTO]
    pub port: Option<String>,
}

pub fn run(paths: &Paths, a: PortArgs) -> Result<i32> {
    let c = ContainerStore::new(paths).resolve(&a.container)?;
    let mut rules = crate::container::network::endpoint(&c)
        .map(|e| e.ports)
        .unwrap_or_default();
    rules.sort_by_key(|r| (r.container_port, r.proto.as_str(), r.host_port));
    let host = |r: &crate::network::firewall::PortRule| {
        format!(
            "{}:{}",
            r.host_ip.unwrap_or(std::net::Ipv4Addr::UNSPECIFIED),
            r.host_port
        )
    };
    let mut out = String::new();
    match &a.port {
        None => {
            for r in &rules {
                out.push_str(&format!(
                    "{}/{} -> {}\n",
                    r.container_port,
                    r.proto.as_str(),
                    host(r)
                ));
            }
        }
        Some(p) => {
            let (num, proto) = p.split_once('/').unwrap_or((p, "tcp"));
            let num: u16 = num
                .parse()
                .map_err(|_| Error::msg(format!("Error: invalid port ({p})")))?;
            let found: Vec<_> = rules
                .iter()
                .filter(|r| r.container_port == num && r.proto.as_str() == proto)
                .collect();
            if found.is_empty() {
                // As the user wrote the port, as docker's message.
                return Err(Error::msg(format!(
                    "Error: No public port '{p}' published for {}",
                    c.config.name
                )));
            }
            for r in found {
                out.push_str(&host(r));
                out.push('\n');
            }
        }
    }
    print!("{out}");
    Ok(0)
}
