//! A container's side of networking: what its start asks of the network
//! module, what it keeps while running (`network.json`: the endpoint that
//! inspect, `ps` and `port` show), and giving it all back when it stops.

use super::config::{ContainerConfig, NetworkMode};
use super::store::{Container, ContainerStore};
use crate::error::{Error, Result};
use crate::network::bridge::{self, Endpoint, EndpointOptions, NetworkDef};
use crate::network::firewall::Proto;
use crate::network::ports;
use crate::paths::Paths;

const ENDPOINT_FILE: &str = "network.json";

/// The network a container's mode names.
pub fn network_def(mode: &NetworkMode) -> Result<Option<NetworkDef>> {
    match mode {
        NetworkMode::Bridge(name) if name == "bridge" => Ok(Some(NetworkDef::default_bridge()?)),
        NetworkMode::Bridge(name) => Err(Error::msg(format!("network {name} not found"))),
        _ => Ok(None),
    }
}

/// Every port the container exposes (image EXPOSE and `--expose`).
pub fn exposed(cfg: &ContainerConfig) -> Vec<(u16, Proto)> {
    cfg.net
        .exposed
        .iter()
        .filter_map(|k| ports::parse_exposed(k).ok())
        .flatten()
        .collect()
}

/// Before spawning: the address, host ports, /etc/hosts entry. Returns
/// the endpoint and its bridge's index for `plumb`.
pub fn prepare(paths: &Paths, c: &Container) -> Result<Option<(Endpoint, u32)>> {
    let Some(net) = network_def(&c.config.network)? else {
        return Ok(None);
    };
    let mut publish = c.config.net.publish.clone();
    if c.config.net.publish_all {
        for (port, proto) in exposed(&c.config) {
            if !publish
                .iter()
                .any(|m| m.container_port == port && m.proto == proto)
            {
                publish.push(ports::PortMapping {
                    host_ip: None,
                    host_port: 0,
                    host_range: None,
                    container_port: port,
                    proto,
                });
            }
        }
    }
    let opts = EndpointOptions {
        ip: c.config.net.ip,
        mac: match &c.config.net.mac {
            Some(m) => Some(bridge::parse_mac(m)?),
            None => None,
        },
        publish,
    };
    let store = ContainerStore::new(paths);
    let me = std::process::id() as i32;
    let holder = (me, super::state::proc_start_time(me).unwrap_or(0));
    let live = |l: &bridge::Lease| -> bool {
        let (pid, start) = l.holder;
        (pid > 0 && super::state::proc_start_time(pid) == Some(start))
            || store
                .raw_state(&l.container)
                .is_some_and(|s| s.is_alive() || s.owner_is_alive())
    };
    let (ep, index) = bridge::prepare(paths, &net, &c.config.id, &opts, holder, &live)?;
    let hosts = hosts_file(&c.config, Some(ep.ip));
    let saved = crate::util::replace_file(&c.dir.join("hosts"), hosts.as_bytes())
        .map_err(|e| Error::msg(format!("writing /etc/hosts: {e}")))
        .and_then(|_| {
            let data = serde_json::to_vec(&ep).map_err(|e| Error::msg(e.to_string()))?;
            crate::util::replace_file(&c.dir.join(ENDPOINT_FILE), &data)
                .map_err(|e| Error::msg(format!("writing the endpoint: {e}")))
        });
    if let Err(e) = saved {
        let _ = bridge::release(paths, &c.config.id);
        return Err(e);
    }
    Ok(Some((ep, index)))
}

/// The container's /etc/hosts: docker's loopback entries, its own address
/// and hostname once it has one (bridge), then `--add-host` lines.
pub fn hosts_file(cfg: &ContainerConfig, own_ip: Option<std::net::Ipv4Addr>) -> String {
    let mut hosts = super::lifecycle::HOSTS_NONE.to_string();
    if let Some(ip) = own_ip {
        hosts.push_str(&format!("{ip}\t{}\n", cfg.hostname));
    }
    for line in &cfg.net.extra_hosts {
        hosts.push_str(line);
        hosts.push('\n');
    }
    hosts
}

/// After the container stopped (or failed to start): its address, ports,
/// rules and veth given back. Idempotent; errors are not the caller's.
/// Only bridge containers hold any (nothing to do on the others' path).
pub fn teardown(paths: &Paths, c: &Container) {
    if !matches!(c.config.network, NetworkMode::Bridge(_)) {
        return;
    }
    let _ = std::fs::remove_file(c.dir.join(ENDPOINT_FILE));
    let _ = bridge::release(paths, &c.config.id);
}

/// The endpoint of a running container.
pub fn endpoint(c: &Container) -> Option<Endpoint> {
    // Loaded states are already effective: Running means it runs.
    if c.state.status != super::state::Status::Running {
        return None;
    }
    let b = std::fs::read(c.dir.join(ENDPOINT_FILE)).ok()?;
    serde_json::from_slice(&b).ok()
}

/// `ps` PORTS.
pub fn ports_text(c: &Container) -> String {
    let published = endpoint(c).map(|e| e.ports).unwrap_or_default();
    let exposed = if c.state.status == super::state::Status::Running {
        exposed(&c.config)
    } else {
        Vec::new()
    };
    ports::ps_text(&published, &exposed)
}
