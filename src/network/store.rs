//! User-defined networks: their definitions in the store
//! (`<root>/networks/defs/<id>.json`), created, found and removed under the
//! same locks as the leases (the store's, then the host's table), so a
//! network cannot go while a container joins it, and two stores creating
//! networks at once do not pick the same free subnet.

use super::bridge::{self, NetworkDef, DEFAULT_NETWORK};
use super::firewall::Firewall;
use super::leases;
use super::netlink::Netlink;
use super::{NetworkError, Result};
use crate::paths::Paths;
use crate::util::atomic_write;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;

/// docker's predefined networks besides `bridge`: shown by `network ls`,
/// never created or removed.
pub const PREDEFINED: [&str; 3] = [DEFAULT_NETWORK, "host", "none"];

/// What `network create` asks for.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    pub name: String,
    pub subnet: Option<String>,
    pub gateway: Option<String>,
    pub internal: bool,
    pub attachable: bool,
    pub labels: BTreeMap<String, String>,
    pub options: BTreeMap<String, String>,
    /// `-o com.docker.network.bridge.name=`: the Linux bridge's name.
    pub bridge: Option<String>,
}

fn defs_dir(paths: &Paths) -> PathBuf {
    paths.root.join("networks").join("defs")
}

/// The Linux bridge of a user network made without
/// `-o com.docker.network.bridge.name` (docker's are `br-<id>`).
pub fn default_bridge(id: &str) -> String {
    format!("rdbr-{}", id.get(..10).unwrap_or(id))
}

/// Stable ID of a predefined network (as docker's are per host).
pub fn predefined_id(name: &str) -> String {
    crate::image::store::sha256_hex(format!("rdock-network:{name}").as_bytes())
}

/// Does user network `id` still exist? (Checked under the lock by whoever
/// joins it: a concurrent `network rm` may have won.)
pub(crate) fn exists(paths: &Paths, id: &str) -> bool {
    defs_dir(paths).join(format!("{id}.json")).exists()
}

/// The user-defined networks, by name.
pub fn user_networks(paths: &Paths) -> Vec<NetworkDef> {
    let mut v: Vec<NetworkDef> = std::fs::read_dir(defs_dir(paths))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
        .filter_map(|e| std::fs::read(e.path()).ok())
        .filter_map(|b| serde_json::from_slice::<NetworkDef>(&b).ok())
        .collect();
    v.sort_by(|a, b| a.name.cmp(&b.name));
    v
}

/// Every bridge network: the default one, then the user-defined ones.
pub fn bridge_networks(paths: &Paths) -> Result<Vec<NetworkDef>> {
    let mut v = vec![NetworkDef::default_bridge()?];
    v.extend(user_networks(paths));
    Ok(v)
}

/// A bridge network by name, full ID or unique ID prefix (as docker
/// resolves them: name first).
pub fn find(paths: &Paths, s: &str) -> Result<NetworkDef> {
    let all = bridge_networks(paths)?;
    if let Some(n) = all.iter().find(|n| n.name == s || n.id == s) {
        return Ok(n.clone());
    }
    let hits: Vec<&NetworkDef> = if s.is_empty() {
        Vec::new()
    } else {
        all.iter().filter(|n| n.id.starts_with(s)).collect()
    };
    match hits.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(NetworkError::Invalid(format!("network {s} not found"))),
        _ => Err(NetworkError::Invalid(format!(
            "network {s} is ambiguous ({} matches found based on ID prefix)",
            hits.len()
        ))),
    }
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        && name.len() <= 128
}

fn overlaps(a: (Ipv4Addr, u8), b: (Ipv4Addr, u8)) -> bool {
    let p = a.1.min(b.1);
    u32::from(a.0) & bridge::mask(p) == u32::from(b.0) & bridge::mask(p)
}

/// The /`size` subnets of the pool `base`/`bits` (bits <= size <= 30), in
/// order; the first 2^16 at most.
fn pool_subnets(base: Ipv4Addr, bits: u8, size: u8) -> impl Iterator<Item = Ipv4Addr> {
    let first = u32::from(base) & bridge::mask(bits);
    // Subnet i starts i blocks of 2^(32 - size) addresses on.
    let block = (!bridge::mask(size)).saturating_add(1);
    let count = 1u32
        .checked_shl(size.saturating_sub(bits).min(16).into())
        .unwrap_or(0);
    (0..count)
        .map_while(move |i| i.checked_mul(block)?.checked_add(first))
        .map(Ipv4Addr::from)
}

/// A subnet's first host address, its default gateway (the network
/// address of a /30 or wider ends in a 0 bit).
fn first_host(net: Ipv4Addr) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(net) | 1)
}

fn pool_overlap_error() -> NetworkError {
    NetworkError::Invalid(
        "invalid pool request: Pool overlaps with other one on this address space".into(),
    )
}

/// The subnet and gateway of a new network: `--subnet`/`--gateway` checked
/// as docker checks them, or the first free subnet of the address pools
/// (free of rdock's networks and of every address on the host's links).
fn pick_subnet(
    o: &CreateOptions,
    pools: &[bridge::AddressPool],
    taken: &[(Ipv4Addr, u8)],
    host: &[(Ipv4Addr, u8)],
) -> Result<(Ipv4Addr, u8, Ipv4Addr)> {
    let Some(subnet) = &o.subnet else {
        if o.gateway.is_some() {
            return Err(NetworkError::Invalid(
                "every ip-range or gateway must have a corresponding subnet".into(),
            ));
        }
        for pool in pools {
            let (base, bits) = bridge::parse_cidr(&pool.base)?;
            if pool.size == 0 || pool.size < bits || pool.size > 30 {
                return Err(NetworkError::Invalid(format!(
                    "invalid address pool {}/{}",
                    pool.base, pool.size
                )));
            }
            for net in pool_subnets(base, bits, pool.size) {
                let cand = (net, pool.size);
                if taken.iter().chain(host).any(|t| overlaps(*t, cand)) {
                    continue;
                }
                return Ok((net, pool.size, first_host(net)));
            }
        }
        return Err(NetworkError::Invalid(
            "all predefined address pools have been fully subnetted".into(),
        ));
    };
    // The engine's checks (moby's ValidateIPAM), in its words.
    let invalid = |e: String| NetworkError::Lines(vec!["invalid network config:".into(), e]);
    let (addr, prefix) = bridge::parse_cidr(subnet).map_err(|_| {
        invalid(format!(
            "invalid subnet {subnet}: invalid CIDR block notation"
        ))
    })?;
    let net = Ipv4Addr::from(u32::from(addr) & bridge::mask(prefix));
    if net != addr {
        return Err(invalid(format!(
            "invalid subnet {subnet}: it should be {net}/{prefix}"
        )));
    }
    if taken.iter().any(|t| overlaps(*t, (net, prefix))) {
        return Err(pool_overlap_error());
    }
    let gateway = match &o.gateway {
        None => first_host(net),
        Some(g) => {
            let g: Ipv4Addr = g
                .parse()
                .map_err(|_| invalid(format!("invalid gateway {g}: invalid address")))?;
            let off = u32::from(g).wrapping_sub(u32::from(net));
            let broadcast = !bridge::mask(prefix);
            if u32::from(g) & bridge::mask(prefix) != u32::from(net) {
                return Err(invalid(format!(
                    "invalid gateway {g}: parent subnet {net}/{prefix} doesn't contain this address"
                )));
            }
            if off == 0 || off == broadcast {
                return Err(NetworkError::Invalid(format!(
                    "failed to allocate gateway ({g}): Address already in use"
                )));
            }
            g
        }
    };
    Ok((net, prefix, gateway))
}

/// `network create`: the definition, then its bridge and firewall rules
/// (as docker, the bridge exists from now on).
pub fn create(paths: &Paths, o: &CreateOptions) -> Result<NetworkDef> {
    if matches!(o.name.as_str(), "host" | "none" | "bridge" | "default") {
        return Err(NetworkError::Invalid(format!(
            "operation is not permitted on predefined {} network ",
            o.name
        )));
    }
    if !valid_name(&o.name) {
        return Err(NetworkError::Invalid(format!(
            "invalid network name {:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
            o.name
        )));
    }
    // The host's table lock too: from reading the host's addresses to
    // putting the gateway on the bridge, no other store picks a subnet.
    let _table = leases::lock(paths)?;
    let all = bridge_networks(paths)?;
    if all.iter().any(|n| n.name == o.name) {
        return Err(NetworkError::Invalid(format!(
            "network with name {} already exists",
            o.name
        )));
    }
    if let Some(b) = &o.bridge {
        let ok = !b.is_empty()
            && b.len() <= 15
            && b.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if !ok {
            return Err(NetworkError::Invalid(format!("invalid bridge name {b:?}")));
        }
        if all.iter().any(|n| &n.bridge == b) {
            return Err(NetworkError::Invalid(format!(
                "bridge name {b} is already used by another network"
            )));
        }
    }
    let taken: Vec<(Ipv4Addr, u8)> = all.iter().map(|n| (n.subnet, n.prefix)).collect();
    let mut nl = Netlink::open()?;
    let host = if o.subnet.is_none() {
        nl.addrs4(0)?
    } else {
        Vec::new()
    };
    let (subnet, prefix, gateway) = pick_subnet(o, &bridge::address_pools()?, &taken, &host)?;
    let id = crate::util::random_hex(32);
    let def = NetworkDef {
        name: o.name.clone(),
        // rdbr-: rdock's bridges, apart from docker's br- ones; 15 chars,
        // the kernel's limit.
        bridge: o.bridge.clone().unwrap_or_else(|| default_bridge(&id)),
        id,
        subnet,
        prefix,
        gateway,
        internal: o.internal,
        table: NetworkDef::firewall_table()?,
        created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
        labels: o.labels.clone(),
        options: o.options.clone(),
        attachable: o.attachable,
        user_subnet: o.subnet.is_some(),
    };
    let path = defs_dir(paths).join(format!("{}.json", def.id));
    let data = serde_json::to_vec_pretty(&def).map_err(|e| NetworkError::Invalid(e.to_string()))?;
    crate::util::mkdirs_private(&defs_dir(paths))
        .and_then(|_| atomic_write(&path, &data))
        .map_err(|e| NetworkError::Invalid(format!("writing the network definition: {e}")))?;
    if let Err(e) = bridge::ensure_bridge(paths, &mut nl, &def) {
        destroy(paths, &mut nl, &def);
        return Err(e);
    }
    crate::events::network(paths, "create", &def.id, &def.name, "bridge", None);
    Ok(def)
}

/// Remove the bridge, its rules and its definition.
fn destroy(paths: &Paths, nl: &mut Netlink, def: &NetworkDef) {
    let _ = Firewall::new(&def.table).remove_network(&def.bridge);
    let _ = nl.delete_link(&def.bridge);
    let _ = std::fs::remove_file(
        paths
            .runroot
            .join("networks")
            .join(format!("{}.ready", def.bridge)),
    );
    let _ = std::fs::remove_file(defs_dir(paths).join(format!("{}.json", def.id)));
}

/// `network rm`: refused while a running container is on it (docker's
/// "active endpoints"). `live` says whether a lease's holder still runs;
/// dead ones are dropped here as on every allocation.
pub fn remove(
    paths: &Paths,
    def: &NetworkDef,
    live: &dyn Fn(&bridge::Lease) -> bool,
) -> Result<()> {
    if PREDEFINED.contains(&def.name.as_str()) {
        return Err(NetworkError::Invalid(format!(
            "{} is a pre-defined network and cannot be removed",
            def.name
        )));
    }
    let table = leases::lock(paths)?;
    // Its members, and another store's containers on the same bridge (a
    // network of the same `-o com.docker.network.bridge.name`): deleting
    // the bridge would cut them off.
    let (active, dead): (Vec<bridge::Lease>, Vec<bridge::Lease>) = table
        .leases()
        .into_iter()
        .filter(|l| {
            if table.is_mine(l) {
                l.network == def.name
            } else {
                l.bridge == def.bridge
            }
        })
        .partition(|l| live(l));
    if let Some(l) = active.iter().find(|l| table.is_mine(l)) {
        return Err(NetworkError::Invalid(format!(
            "error while removing network: network {} has active endpoints (name:{:?} id:{:?})",
            def.name,
            l.name,
            l.container.chars().take(12).collect::<String>()
        )));
    }
    if let Some(l) = active.first() {
        return Err(NetworkError::Invalid(format!(
            "error while removing network: bridge {} of network {} is in use by container {} of the rdock store {}",
            def.bridge,
            def.name,
            l.container.chars().take(12).collect::<String>(),
            l.root.display()
        )));
    }
    if !dead.is_empty() {
        // What killed containers held on it goes with it.
        bridge::drop_leases_locked(&table, &dead)?;
    }
    let mut nl = Netlink::open()?;
    destroy(paths, &mut nl, def);
    crate::events::network(paths, "destroy", &def.id, &def.name, "bridge", None);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(subnet: Option<&str>, gateway: Option<&str>) -> CreateOptions {
        CreateOptions {
            name: "n".into(),
            subnet: subnet.map(String::from),
            gateway: gateway.map(String::from),
            ..Default::default()
        }
    }

    #[test]
    fn subnets_and_gateways_are_checked_as_docker_does() {
        let ip = |s: &str| s.parse::<Ipv4Addr>().unwrap();
        let taken = [(ip("10.88.0.0"), 16)];
        assert_eq!(
            pick_subnet(&opts(Some("10.5.0.0/24"), None), &[], &taken, &[]).unwrap(),
            (ip("10.5.0.0"), 24, ip("10.5.0.1"))
        );
        assert_eq!(
            pick_subnet(
                &opts(Some("10.5.0.0/24"), Some("10.5.0.254")),
                &[],
                &taken,
                &[]
            )
            .unwrap(),
            (ip("10.5.0.0"), 24, ip("10.5.0.254"))
        );
        let err = |o: CreateOptions| pick_subnet(&o, &[], &taken, &[]).unwrap_err().to_string();
        assert!(err(opts(Some("10.5.0.3/24"), None)).contains("it should be 10.5.0.0/24"));
        assert!(err(opts(Some("10.88.4.0/24"), None)).contains("Pool overlaps"));
        // The CLI refuses a gateway outside the subnet first; the engine too.
        assert!(err(opts(Some("10.5.0.0/24"), Some("10.6.0.1")))
            .contains("invalid gateway 10.6.0.1: parent subnet 10.5.0.0/24 doesn't contain"));
        assert_eq!(
            err(opts(Some("10.5.0.0/24"), Some("10.5.0.255"))),
            "failed to allocate gateway (10.5.0.255): Address already in use"
        );
        assert_eq!(
            err(opts(Some("bogus"), None)),
            "invalid network config:\ninvalid subnet bogus: invalid CIDR block notation"
        );
        assert!(err(opts(None, Some("10.5.0.1"))).contains("corresponding subnet"));
    }

    #[test]
    fn pools_skip_taken_subnets_and_host_addresses() {
        let ip = |s: &str| s.parse::<Ipv4Addr>().unwrap();
        let pools = [bridge::AddressPool {
            base: "10.89.0.0/16".into(),
            size: 24,
        }];
        let taken = [(ip("10.89.0.0"), 24)];
        let host = [(ip("10.89.1.7"), 24)];
        assert_eq!(
            pick_subnet(&opts(None, None), &pools, &taken, &host).unwrap(),
            (ip("10.89.2.0"), 24, ip("10.89.2.1"))
        );
    }

    #[test]
    fn names() {
        assert!(valid_name("my-net_1.x"));
        assert!(!valid_name("-x"));
        assert!(!valid_name("../x"));
        assert!(!valid_name(""));
    }
}
