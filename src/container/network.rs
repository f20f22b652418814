//! A container's side of networking: what its start asks of the network
//! module (one endpoint per bridge network it is attached to), what it
//! keeps while running (`network.json`: the endpoints that inspect, `ps`
//! and `port` show), joining and leaving networks live, `--link`, and
//! giving it all back when it stops.

use super::config::{Attachment, ContainerConfig, NetworkMode};
use super::store::{Container, ContainerStore};
use crate::error::{Error, Result};
use crate::network::bridge::{self, Endpoint, EndpointOptions, Member};
use crate::network::firewall::Proto;
use crate::network::{hosts, ports, store as networks};
use crate::paths::Paths;

const ENDPOINT_FILE: &str = "network.json";

/// Every bridge network the container is attached to, the one of
/// `--network` first (with `--network-alias`, `--ip`).
pub fn attachments(cfg: &ContainerConfig) -> Vec<Attachment> {
    let mut v = Vec::new();
    match &cfg.network {
        NetworkMode::Bridge(name) if !cfg.net.detached => v.push(Attachment {
            network: name.clone(),
            aliases: cfg.net.aliases.clone(),
            ip: cfg.net.ip,
            mac: None,
            gw_priority: cfg.net.gw_priority,
        }),
        _ => {}
    }
    v.extend(cfg.net.connected.iter().cloned());
    v
}

/// The daemon's check at create of each network's endpoint settings
/// (moby's `validateEndpointSettings`), in docker's words: every fault of
/// every network at once, as docker lists several (`* ...` lines, a
/// network's own indented under it).
pub fn check_addresses(paths: &Paths, cfg: &ContainerConfig) -> Result<()> {
    let mut per_network: Vec<Vec<String>> = Vec::new();
    for att in attachments(cfg) {
        let mut errs = Vec::new();
        let builtin = !bridge::is_user_defined(&att.network);
        if builtin && att.ip.is_some() {
            errs.push(
                "user specified IP address is supported on user defined networks only".to_string(),
            );
        }
        if builtin && !att.aliases.is_empty() {
            errs.push(
                "network-scoped alias is supported only for containers in user defined networks"
                    .to_string(),
            );
        }
        // The network is read only for an address to check (not on every
        // create's path).
        let net = att
            .ip
            .and_then(|ip| Some((ip, networks::find(paths, &att.network).ok()?)));
        if let Some((ip, net)) = net {
            // The default bridge's subnet is configured (bip): a static one.
            if !net.user_subnet && !builtin {
                errs.push("user specified IP address is supported only when connecting to networks with user configured subnets".to_string());
            } else if !net.contains(ip) {
                errs.push(format!(
                    "no configured subnet or ip-range contain the IP address {ip}"
                ));
            }
        }
        if errs.is_empty() {
            continue;
        }
        let mut lines = vec![format!(
            "invalid config for network {}: invalid endpoint settings:",
            att.network
        )];
        if errs.len() == 1 {
            lines.append(&mut errs);
        } else {
            lines.extend(errs.iter().map(|e| format!("* {e}")));
        }
        per_network.push(lines);
    }
    let lines: Vec<String> = match per_network.len() {
        0 => return Ok(()),
        1 => per_network.remove(0),
        _ => per_network
            .into_iter()
            .flat_map(|lines| {
                lines.into_iter().enumerate().map(|(i, l)| {
                    if i == 0 {
                        format!("* {l}")
                    } else {
                        format!("\t{l}")
                    }
                })
            })
            .collect(),
    };
    Err(Error::Lines(lines))
}

/// Names that go into other containers' /etc/hosts (aliases, link names):
/// docker's container-name characters, so none can add a line or a field.
pub fn check_name(kind: &str, name: &str) -> Result<()> {
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        && name.len() <= 253;
    if ok {
        Ok(())
    } else {
        Err(Error::msg(format!(
            "invalid {kind} {name:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
        )))
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

/// The ports `-p` and `-P` ask for.
fn publish(cfg: &ContainerConfig) -> Vec<ports::PortMapping> {
    let mut publish = cfg.net.publish.clone();
    if cfg.net.publish_all {
        for (port, proto) in exposed(cfg) {
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
    publish
}

fn holder() -> (i32, u64) {
    let me = std::process::id() as i32;
    (me, super::state::proc_start_time(me).unwrap_or(0))
}

/// Is a lease's container still there? Its taker runs (a start in
/// progress) or the container does, as the state in the lease's store
/// says: this store or another one sharing the host's table. A store
/// since removed says nothing, and the lease is dead once its taker is.
fn live(store: &ContainerStore) -> impl Fn(&bridge::Lease) -> bool + '_ {
    move |l: &bridge::Lease| {
        let (pid, start) = l.holder;
        if pid > 0 && super::state::proc_start_time(pid) == Some(start) {
            return true;
        }
        let state = if l.root.as_os_str().is_empty() {
            store.raw_state(&l.container)
        } else {
            // Only the root is read (containers/<id>/state.json).
            ContainerStore::new(&Paths::new(&l.root, "")).raw_state(&l.container)
        };
        state.is_some_and(|s| s.is_alive() || s.owner_is_alive())
    }
}

fn member(c: &Container, aliases: &[String]) -> Member {
    Member {
        id: c.config.id.clone(),
        name: c.config.name.clone(),
        aliases: aliases.to_vec(),
        hosts: Some(c.dir.join("hosts")),
    }
}

fn endpoint_options(
    cfg: &ContainerConfig,
    att: &Attachment,
    first: bool,
) -> Result<EndpointOptions> {
    Ok(EndpointOptions {
        ip: att.ip,
        // The MAC and published ports belong to the container's first
        // network, as with docker's `--network` plus `network connect`.
        mac: match (&cfg.net.mac, first, &att.mac) {
            (Some(m), true, _) | (_, _, Some(m)) => Some(bridge::parse_mac(m)?),
            _ => None,
        },
        publish: if first { publish(cfg) } else { Vec::new() },
    })
}

/// What `--link` gives a container at start: /etc/hosts lines and, on the
/// default bridge, docker's `ALIAS_*` environment variables.
#[derive(Debug, Default)]
pub struct Links {
    pub hosts: Vec<String>,
    pub env: Vec<String>,
}

/// Resolve `--link NAME[:ALIAS]` against the running containers.
pub fn links(paths: &Paths, c: &Container) -> Result<Links> {
    let mut out = Links::default();
    if c.config.net.links.is_empty() {
        return Ok(out);
    }
    let network = match &c.config.network {
        NetworkMode::Bridge(n) => n.clone(),
        _ => return Ok(out),
    };
    let store = ContainerStore::new(paths);
    for link in &c.config.net.links {
        let (name, alias) = split_link(link);
        let target = store.resolve(name).map_err(|_| {
            Error::msg(format!(
                "could not get container for {name}: No such container: {name}"
            ))
        })?;
        if !target.state.is_alive() {
            return Err(Error::msg(format!(
                "Cannot link to a non running container: /{} AS /{}/{alias}",
                target.config.name, c.config.name
            )));
        }
        let Some(ep) = endpoints(&target)
            .into_iter()
            .find(|e| e.network == network)
        else {
            return Err(Error::msg(format!(
                "Cannot link to /{}, as it does not belong to the default network",
                target.config.name
            )));
        };
        out.hosts
            .push(format!("{}\t{}", ep.ip, link_names(alias, &target.config)));
        if !bridge::is_user_defined(&network) {
            out.env
                .extend(link_env(&c.config.name, alias, &ep, &target.config));
        }
    }
    Ok(out)
}

/// `rm --link PARENT/ALIAS`: PARENT forgets its link ALIAS (docker's
/// `rmLink`): out of its config, so neither a later start nor an `exec`
/// sees it, and out of its /etc/hosts now if it runs. A plain container
/// name is docker's "default link name", which cannot be removed.
pub fn remove_link(paths: &Paths, name: &str) -> Result<()> {
    let store = ContainerStore::new(paths);
    let path = name.trim_start_matches('/');
    let no_such = || Error::msg(format!("No such container: {path}"));
    let Some((parent, alias)) = path.rsplit_once('/') else {
        store.resolve(path)?;
        return Err(Error::msg(
            "Conflict, cannot remove the default link name of the container",
        ));
    };
    // By name only, as docker's link names are paths of names.
    let parent = store
        .resolve(parent)
        .ok()
        .filter(|c| c.config.name == parent)
        .ok_or_else(no_such)?;
    let link = parent
        .config
        .net
        .links
        .iter()
        .find(|l| split_link(l).1 == alias)
        .cloned()
        .ok_or_else(no_such)?;
    store.update_config(&parent.config.id, |cfg| {
        cfg.net.links.retain(|l| *l != link);
    })?;
    if parent.state.is_alive() {
        let names = store
            .resolve(split_link(&link).0)
            .map(|t| link_names(alias, &t.config));
        let hosts = parent.dir.join("hosts");
        let text = std::fs::read_to_string(&hosts).unwrap_or_default();
        let kept: String = text
            .split_inclusive('\n')
            .filter(|line| {
                let n = line.split_once('\t').map(|(_, n)| n.trim_end());
                !matches!((&names, n), (Ok(a), Some(b)) if a == b)
            })
            .collect();
        if kept != text {
            hosts::write_in_place(&hosts, &kept)
                .map_err(|e| Error::msg(format!("updating {}: {e}", hosts.display())))?;
        }
    }
    Ok(())
}

/// The names a link gives its target in /etc/hosts: the alias, the
/// target's hostname, and its name unless that is the alias (docker's
/// `buildSandboxOptions`).
fn link_names(alias: &str, target: &ContainerConfig) -> String {
    match alias == target.name {
        true => format!("{alias} {}", target.hostname),
        false => format!("{alias} {} {}", target.hostname, target.name),
    }
}

/// `NAME[:ALIAS]`.
pub fn split_link(link: &str) -> (&str, &str) {
    let (name, alias) = link.split_once(':').unwrap_or((link, link));
    (name.trim_start_matches('/'), alias.trim_start_matches('/'))
}

/// docker's legacy link variables for `alias`, pointing at `target`.
fn link_env(me: &str, alias: &str, ep: &Endpoint, target: &ContainerConfig) -> Vec<String> {
    let prefix = alias.to_uppercase().replace('-', "_");
    let mut env = vec![format!("{prefix}_NAME=/{me}/{alias}")];
    let mut ports = exposed(target);
    ports.sort_by_key(|(p, proto)| (*p, proto.as_str()));
    ports.dedup();
    if let Some((p, proto)) = ports.first() {
        env.push(format!("{prefix}_PORT={}://{}:{p}", proto.as_str(), ep.ip));
    }
    for (p, proto) in &ports {
        let pr = proto.as_str();
        let key = format!("{prefix}_PORT_{p}_{}", pr.to_uppercase());
        env.push(format!("{key}={pr}://{}:{p}", ep.ip));
        env.push(format!("{key}_ADDR={}", ep.ip));
        env.push(format!("{key}_PORT={p}"));
        env.push(format!("{key}_PROTO={pr}"));
    }
    for e in &target.env {
        if let Some((k, v)) = e.split_once('=') {
            // HOSTNAME: rdock keeps it in the config, docker does not.
            if !matches!(k, "HOME" | "PATH" | "HOSTNAME") {
                env.push(format!("{prefix}_ENV_{k}={v}"));
            }
        }
    }
    env
}

/// Before spawning: an address (and host ports) on every attached
/// network, the container's /etc/hosts. Returns the endpoints and their
/// bridges' indexes for `plumb`.
pub fn prepare(paths: &Paths, c: &Container, links: &Links) -> Result<Vec<(Endpoint, u32)>> {
    let atts = attachments(&c.config);
    if atts.is_empty() {
        return Ok(Vec::new());
    }
    let store = ContainerStore::new(paths);
    let live = live(&store);
    let mut eps = Vec::new();
    let release = || {
        let _ = bridge::release(paths, &c.config.id, None);
    };
    // The engine's words for what goes wrong while it sets up networking.
    let fail = |e: Error| {
        release();
        Err(Error::msg(format!(
            "failed to set up container networking: {e}"
        )))
    };
    let mut nets = Vec::new();
    for (i, att) in atts.iter().enumerate() {
        match networks::find(paths, &att.network) {
            Ok(n) => nets.push(n),
            // docker words the mode's network so when it has others.
            Err(e) if i == 0 && atts.len() > 1 => {
                release();
                return Err(Error::msg(format!(
                    "could not find a network matching network mode {}: {e}",
                    att.network
                )));
            }
            Err(e) => return fail(e.into()),
        }
    }
    // docker 28 names the interfaces in its gateway order: eth0 is the
    // network that gives the default route.
    let keys: Vec<(i64, bool, &str)> = atts
        .iter()
        .zip(&nets)
        .map(|(a, n)| (a.gw_priority, n.internal, n.name.as_str()))
        .collect();
    let order = gateway_order(&keys);
    for (i, (att, net)) in atts.iter().zip(&nets).enumerate() {
        let rank = order.iter().position(|&j| j == i).unwrap_or(i);
        let opts = match endpoint_options(&c.config, att, i == 0) {
            Ok(o) => o,
            Err(e) => return fail(e),
        };
        match bridge::prepare(
            paths,
            net,
            &member(c, &att.aliases),
            &format!("eth{rank}"),
            &opts,
            holder(),
            &live,
        ) {
            Ok(mut ep) => {
                ep.0.gw_priority = att.gw_priority;
                debug!(
                    "network {}: {} on {} ({})",
                    net.name, ep.0.ip, net.bridge, ep.0.ifname
                );
                eps.push(ep)
            }
            Err(crate::network::NetworkError::PortTaken(why)) => {
                return fail(Error::msg(format!(
                    "driver failed programming external connectivity on endpoint {} ({}): {why}",
                    c.config.name,
                    crate::util::random_hex(32)
                )))
            }
            Err(e) => return fail(e.into()),
        }
    }
    let own_ip = eps.first().map(|(e, _)| e.ip);
    let mut hosts = hosts_file(&c.config, own_ip, &links.hosts);
    // docker adds the container's own line for each network it joins.
    for (e, _) in eps.iter().skip(1) {
        hosts.push_str(&format!("{}\t{}\n", e.ip, host_names(&c.config)));
    }
    // On user networks a container finds itself by name and alias too.
    for (e, _) in eps
        .iter()
        .filter(|(e, _)| bridge::is_user_defined(&e.network))
    {
        let mut names = vec![c.config.name.clone()];
        names.extend(e.aliases.iter().cloned());
        hosts.push_str(&format!("{}\t{}\n", e.ip, names.join(" ")));
    }
    let user: Vec<String> = eps
        .iter()
        .map(|(e, _)| e.network.clone())
        .filter(|n| bridge::is_user_defined(n))
        .collect();
    let hosts_path = c.dir.join("hosts");
    let saved = save_endpoints(c, &eps.iter().map(|(e, _)| e.clone()).collect::<Vec<_>>())
        .and_then(|_| Ok(hosts::refresh(paths, &user, Some((&hosts_path, &hosts)))?));
    if let Err(e) = saved {
        return fail(e);
    }
    Ok(eps)
}

fn save_endpoints(c: &Container, eps: &[Endpoint]) -> Result<()> {
    let data = serde_json::to_vec(eps).map_err(|e| Error::msg(e.to_string()))?;
    crate::util::replace_file(&c.dir.join(ENDPOINT_FILE), &data)
        .map_err(|e| Error::msg(format!("writing the endpoints: {e}")))
}

/// Endpoints (`gw-priority`, internal, network name) in docker 28's
/// gateway order (libnetwork's `Endpoint.Less`): the highest priority
/// first, internal networks last, then by name. The first that is not
/// internal gives the default route.
pub fn gateway_order(keys: &[(i64, bool, &str)]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_by(|&a, &b| {
        let (pa, ia, na) = keys.get(a).copied().unwrap_or((0, true, ""));
        let (pb, ib, nb) = keys.get(b).copied().unwrap_or((0, true, ""));
        pb.cmp(&pa).then(ia.cmp(&ib)).then(na.cmp(nb))
    });
    order
}

/// The endpoint that gives the default route, if any.
fn gateway_endpoint<'a>(eps: impl Iterator<Item = &'a Endpoint>) -> Option<&'a Endpoint> {
    let eps: Vec<&Endpoint> = eps.collect();
    let keys: Vec<(i64, bool, &str)> = eps
        .iter()
        .map(|e| (e.gw_priority, e.internal, e.network.as_str()))
        .collect();
    gateway_order(&keys)
        .into_iter()
        .filter_map(|i| eps.get(i).copied())
        .find(|e| !e.internal)
}

/// Once the init exists, before it is released: its interfaces, and the
/// default route through the gateway endpoint (`gateway_order`).
pub fn plumb(id: &str, eps: &[(Endpoint, u32)], pid: i32) -> Result<()> {
    let route = gateway_endpoint(eps.iter().map(|(e, _)| e)).map(|e| e.network.clone());
    for (ep, bridge_index) in eps {
        let gives_route = route.as_deref() == Some(ep.network.as_str());
        bridge::plumb(id, ep, *bridge_index, pid, gives_route)?;
    }
    Ok(())
}

/// The container's /etc/hosts: docker's loopback entries, `--add-host`
/// and `--link` lines, then its own address (bridge) with its FQDN and bare hostname
/// (libnetwork's `updateHostsFile` appends it last).
pub fn hosts_file(
    cfg: &ContainerConfig,
    own_ip: Option<std::net::Ipv4Addr>,
    links: &[String],
) -> String {
    let mut hosts = super::lifecycle::HOSTS_NONE.to_string();
    for line in cfg.net.extra_hosts.iter().chain(links) {
        hosts.push_str(line);
        hosts.push('\n');
    }
    if let Some(ip) = own_ip {
        hosts.push_str(&format!("{ip}\t{}\n", host_names(cfg)));
    }
    hosts
}

/// "FQDN bare" for a container's own /etc/hosts line: `-h` may hold the
/// FQDN, or `--domainname` completes it.
fn host_names(cfg: &ContainerConfig) -> String {
    let mut fqdn = cfg.hostname.clone();
    if !cfg.domainname.is_empty() {
        fqdn = format!("{fqdn}.{}", cfg.domainname);
    }
    match fqdn.split_once('.') {
        Some((bare, _)) => format!("{fqdn} {bare}"),
        None => fqdn,
    }
}

/// After the container stopped (or failed to start): its addresses, ports,
/// rules and veths given back. Idempotent; errors are not the caller's.
/// Only bridge containers hold any (nothing to do on the others' path).
pub fn teardown(paths: &Paths, c: &Container) {
    if attachments(&c.config).is_empty() {
        return;
    }
    let _ = std::fs::remove_file(c.dir.join(ENDPOINT_FILE));
    let _ = bridge::release(paths, &c.config.id, None);
}

/// docker's `network connect` / `disconnect` events of a container's
/// start and exit: one per network it is on, none and host included
/// (another container's namespace: none). `eps`: its bridge endpoints,
/// when the caller has them (else those its start recorded are read).
pub fn events(paths: &Paths, c: &Container, action: &str, eps: Option<&[Endpoint]>) {
    let id = &c.config.id;
    match &c.config.network {
        NetworkMode::None => {
            let nid = networks::predefined_id("none");
            crate::events::network(paths, action, &nid, "none", "null", Some(id));
        }
        NetworkMode::Host => {
            let nid = networks::predefined_id("host");
            crate::events::network(paths, action, &nid, "host", "host", Some(id));
        }
        NetworkMode::Container(_) => {}
        NetworkMode::Bridge(_) => {
            let recorded;
            let eps = match eps {
                Some(e) => e,
                None => {
                    recorded = recorded_endpoints(c);
                    &recorded
                }
            };
            for e in eps {
                crate::events::network(
                    paths,
                    action,
                    &e.network_id,
                    &e.network,
                    "bridge",
                    Some(id),
                );
            }
        }
    }
}

/// The endpoints of a running container, its first network's first.
pub fn endpoints(c: &Container) -> Vec<Endpoint> {
    // Loaded states are already effective: Running means it runs.
    if c.state.status != super::state::Status::Running {
        return Vec::new();
    }
    recorded_endpoints(c)
}

/// The endpoints its start recorded, whatever its state says (its exit,
/// before they are released).
fn recorded_endpoints(c: &Container) -> Vec<Endpoint> {
    let Ok(b) = std::fs::read(c.dir.join(ENDPOINT_FILE)) else {
        return Vec::new();
    };
    serde_json::from_slice::<Vec<Endpoint>>(&b)
        .or_else(|_| serde_json::from_slice::<Endpoint>(&b).map(|e| vec![e]))
        .unwrap_or_default()
}

/// The endpoint on its first network (the one published ports use).
pub fn endpoint(c: &Container) -> Option<Endpoint> {
    endpoints(c).into_iter().next()
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

/// docker's API `Ports` of a running container: (private port, public
/// port or 0, protocol) for each published rule and each port only
/// exposed. Empty when it does not run.
pub fn api_ports(c: &Container) -> Vec<(u16, u16, &'static str)> {
    if c.state.status != super::state::Status::Running {
        return Vec::new();
    }
    let published = endpoint(c).map(|e| e.ports).unwrap_or_default();
    let mut out: Vec<(u16, u16, &'static str)> = published
        .iter()
        .map(|r| (r.container_port, r.host_port, r.proto.as_str()))
        .collect();
    for (p, proto) in exposed(&c.config) {
        if !out
            .iter()
            .any(|(q, _, pr)| *q == p && *pr == proto.as_str())
        {
            out.push((p, 0, proto.as_str()));
        }
    }
    out
}

/// The names of the networks a container is on (`ps` NETWORKS).
pub fn network_names(cfg: &ContainerConfig) -> String {
    match &cfg.network {
        NetworkMode::Bridge(_) => attachments(cfg)
            .iter()
            .map(|a| a.network.clone())
            .collect::<Vec<_>>()
            .join(","),
        other => other.as_string(),
    }
}

/// One `network connect`/`disconnect` at a time per container: each reads
/// the endpoints and config, then writes them back.
fn network_lock(c: &Container) -> Result<crate::util::FileLock> {
    crate::util::FileLock::exclusive(&c.dir.join("network.lock"))
        .map_err(|e| Error::msg(format!("locking the container's networks: {e}")))
}

/// The first interface name (eth0, eth1, ...) no endpoint uses.
fn free_ifname(eps: &[Endpoint]) -> String {
    (0..)
        .map(|i| format!("eth{i}"))
        .find(|n| !eps.iter().any(|e| &e.ifname == n))
        .unwrap_or_default()
}

/// `network connect`: attach the container to `net` (at once if it runs,
/// at its next start otherwise), recorded in its config.
pub fn connect(paths: &Paths, c: &Container, network: &str, att_in: Attachment) -> Result<()> {
    let _lock = network_lock(c)?;
    let store = ContainerStore::new(paths);
    // Again under the lock: a concurrent connect may have changed it.
    let c = &store.load(&c.config.id)?;
    let mode_error = |mode: &NetworkMode| {
        match mode {
        NetworkMode::Host => Some(
            "container cannot be disconnected from host network or connected to host network",
        ),
        NetworkMode::None => Some(
            "container cannot be connected to multiple networks with one of the networks in private (none) mode",
        ),
        NetworkMode::Container(_) => {
            Some("conflicting options: container type network can't be used with other networks")
        }
        NetworkMode::Bridge(_) => None,
    }
    };
    if let Some(e) = mode_error(&c.config.network) {
        return Err(Error::msg(e));
    }
    match network {
        "host" => {
            return Err(Error::msg(
                mode_error(&NetworkMode::Host).unwrap_or_default(),
            ))
        }
        "none" => {
            return Err(Error::msg(
                mode_error(&NetworkMode::None).unwrap_or_default(),
            ))
        }
        _ => {}
    }
    let net = networks::find(paths, network)?;
    for a in &att_in.aliases {
        check_name("alias", a)?;
    }
    if !bridge::is_user_defined(&net.name) {
        if att_in.ip.is_some() {
            return Err(Error::msg(
                "user specified IP address is supported on user defined networks only",
            ));
        }
        if !att_in.aliases.is_empty() {
            return Err(Error::msg(
                "network-scoped alias is supported only for containers in user defined networks",
            ));
        }
    }
    if attachments(&c.config).iter().any(|a| a.network == net.name) {
        return Err(Error::msg(format!(
            "endpoint with name {} already exists in network {}",
            c.config.name, net.name
        )));
    }
    let att = Attachment {
        network: net.name.clone(),
        ..att_in
    };
    if c.state.status == super::state::Status::Running {
        let mut eps = endpoints(c);
        let live = live(&store);
        let (ep, bridge_index) = bridge::prepare(
            paths,
            &net,
            &member(c, &att.aliases),
            &free_ifname(&eps),
            &endpoint_options(&c.config, &att, false)?,
            holder(),
            &live,
        )?;
        let mut ep = ep;
        ep.gw_priority = att.gw_priority;
        // The gateway endpoint gives the default route: the new one when
        // it ranks first (docker 28 moves the route to it).
        let before = gateway_endpoint(eps.iter()).map(|e| e.network.clone());
        let after =
            gateway_endpoint(eps.iter().chain(std::iter::once(&ep))).map(|e| e.network.clone());
        let route = after.as_deref() == Some(ep.network.as_str());
        if route && before.is_some() {
            // The old default route goes first.
            let _ = bridge::clear_default_route(c.state.pid);
        }
        let plumbed = bridge::plumb(&c.config.id, &ep, bridge_index, c.state.pid, route)
            .map_err(Error::from)
            .and_then(|_| {
                eps.push(ep.clone());
                save_endpoints(c, &eps)
            });
        if let Err(e) = plumbed {
            let _ = bridge::release(paths, &c.config.id, Some(&net.name));
            return Err(e);
        }
        if bridge::is_user_defined(&net.name) {
            hosts::refresh(paths, std::slice::from_ref(&net.name), None)?;
        }
    }
    store.update_config(&c.config.id, move |cfg| {
        if cfg.net.detached {
            // Off every network before: this one takes the first place.
            cfg.net.detached = false;
            cfg.net.aliases = att.aliases;
            cfg.net.ip = att.ip;
            cfg.network = NetworkMode::Bridge(att.network);
        } else {
            cfg.net.connected.push(att);
        }
    })?;
    crate::events::network(
        paths,
        "connect",
        &net.id,
        &net.name,
        "bridge",
        Some(&c.config.id),
    );
    Ok(())
}

/// `network disconnect`: the container leaves `net` (its interface goes at
/// once if it runs).
pub fn disconnect(paths: &Paths, c: &Container, network: &str) -> Result<()> {
    let _lock = network_lock(c)?;
    let store = ContainerStore::new(paths);
    let c = &store.load(&c.config.id)?;
    if network == "host" || c.config.network == NetworkMode::Host {
        return Err(Error::msg(
            "container cannot be disconnected from host network or connected to host network",
        ));
    }
    let net = networks::find(paths, network)?;
    if !attachments(&c.config).iter().any(|a| a.network == net.name) {
        return Err(Error::msg(format!(
            "container {} is not connected to network {}",
            c.config.id, net.name
        )));
    }
    if c.state.status == super::state::Status::Running {
        let eps = endpoints(c);
        bridge::release(paths, &c.config.id, Some(&net.name))?;
        let had_route = gateway_endpoint(eps.iter()).map(|e| e.network.clone());
        let rest: Vec<Endpoint> = eps.into_iter().filter(|e| e.network != net.name).collect();
        save_endpoints(c, &rest)?;
        // Its default route went with the interface: the next gateway
        // endpoint takes it over, as docker moves it.
        if had_route.as_deref() == Some(net.name.as_str()) {
            if let Some(next) = gateway_endpoint(rest.iter()) {
                bridge::set_default_route(c.state.pid, next)?;
            }
        }
    }
    let name = net.name.clone();
    store.update_config(&c.config.id, move |cfg| {
        cfg.net.connected.retain(|a| a.network != name);
        if matches!(&cfg.network, NetworkMode::Bridge(n) if *n == name) && !cfg.net.detached {
            // Its first network gone, the next one takes that place.
            match cfg.net.connected.first().cloned() {
                Some(next) => {
                    cfg.net.connected.remove(0);
                    cfg.net.aliases = next.aliases;
                    cfg.net.ip = next.ip;
                    cfg.network = NetworkMode::Bridge(next.network);
                }
                None => cfg.net.detached = true,
            }
        }
    })?;
    crate::events::network(
        paths,
        "disconnect",
        &net.id,
        &net.name,
        "bridge",
        Some(&c.config.id),
    );
    Ok(())
}

/// Names of running containers holding an address on `network`.
pub fn members(paths: &Paths, network: &str) -> Vec<bridge::Lease> {
    let store = ContainerStore::new(paths);
    let live = live(&store);
    bridge::leases(paths)
        .into_iter()
        .filter(|l| l.network == network && live(l))
        .collect()
}

/// `network rm`.
pub fn remove_network(paths: &Paths, def: &bridge::NetworkDef) -> Result<()> {
    let store = ContainerStore::new(paths);
    let live = live(&store);
    Ok(networks::remove(paths, def, &live)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateway_order_is_dockers() {
        // Priority first, internal networks last, then by name.
        let keys = [(0, false, "zz"), (0, false, "aa"), (0, true, "a0")];
        assert_eq!(gateway_order(&keys), vec![1, 0, 2]);
        let keys = [(0, false, "zz"), (-1, false, "aa")];
        assert_eq!(gateway_order(&keys), vec![0, 1]);
        let keys = [(0, false, "aa"), (5, true, "zz"), (1, false, "mm")];
        assert_eq!(gateway_order(&keys), vec![1, 2, 0]);
    }

    #[test]
    fn link_variables_are_dockers() {
        let ep = Endpoint {
            network: "bridge".into(),
            network_id: "x".into(),
            bridge: "b".into(),
            ip: "10.88.0.2".parse().unwrap(),
            prefix: 16,
            gateway: "10.88.0.1".parse().unwrap(),
            mac: "02:42:0a:58:00:02".into(),
            veth: "v".into(),
            ports: vec![],
            table: "t".into(),
            ifname: "eth0".into(),
            aliases: vec![],
            internal: false,
            gw_priority: 0,
        };
        let target = ContainerConfig {
            env: vec!["PATH=/bin".into(), "DB_PASS=x=y".into()],
            net: super::super::config::NetworkOptions {
                exposed: vec!["6379/tcp".into(), "53/udp".into()],
                ..Default::default()
            },
            ..Default::default()
        };
        let env = link_env("app", "my-db", &ep, &target);
        assert_eq!(
            env,
            vec![
                "MY_DB_NAME=/app/my-db",
                "MY_DB_PORT=udp://10.88.0.2:53",
                "MY_DB_PORT_53_UDP=udp://10.88.0.2:53",
                "MY_DB_PORT_53_UDP_ADDR=10.88.0.2",
                "MY_DB_PORT_53_UDP_PORT=53",
                "MY_DB_PORT_53_UDP_PROTO=udp",
                "MY_DB_PORT_6379_TCP=tcp://10.88.0.2:6379",
                "MY_DB_PORT_6379_TCP_ADDR=10.88.0.2",
                "MY_DB_PORT_6379_TCP_PORT=6379",
                "MY_DB_PORT_6379_TCP_PROTO=tcp",
                "MY_DB_ENV_DB_PASS=x=y",
            ]
        );
        assert_eq!(split_link("db"), ("db", "db"));
        assert_eq!(split_link("/db:/x"), ("db", "x"));
    }
}
