//! Bridge networks: the definition of a network, the addresses and host
//! ports its containers hold (leases, in the host's table: `leases`), and
//! a container's endpoint: veth pair, address, route, published ports.
//!
//! No daemon keeps this state: every lease names its container and its
//! store, and any command that allocates first drops the leases whose
//! container is no longer running (a `kill -9` of everything is cleaned up
//! by the next `run`, of this store or of another one that needs what
//! they held).
//!
//! A stopped container's veth is left to the kernel, which deletes it with
//! the container's network namespace; until it has, its address stays
//! taken (`Draining`, see `release`).

use super::firewall::{self, Firewall, PortRule, Proto};
use super::hosts;
use super::leases::{self, Draining, Table};
use super::netlink::Netlink;
use super::ports::{PortMapping, RANDOM_PORTS};
use super::{NetworkError, Result};
use crate::paths::Paths;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::Ipv4Addr;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

pub use super::leases::Lease;

/// The nftables table every rdock rule lives in.
pub const FIREWALL_TABLE: &str = "rdock";

/// One bridge network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkDef {
    pub name: String,
    pub id: String,
    /// The Linux bridge's name.
    pub bridge: String,
    pub subnet: Ipv4Addr,
    pub prefix: u8,
    pub gateway: Ipv4Addr,
    #[serde(default)]
    pub internal: bool,
    /// The nftables table its rules live in.
    #[serde(default = "default_table")]
    pub table: String,
    #[serde(default)]
    pub created: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// `network create -o`: kept and shown, none changes anything yet.
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    #[serde(default)]
    pub attachable: bool,
    /// `network create --subnet` chose the subnet: `--ip` may pick an
    /// address in it (docker's "user configured subnets"). A definition of
    /// an older rdock does not say, and is taken as if it did.
    #[serde(default = "user_subnet_default")]
    pub user_subnet: bool,
}

fn user_subnet_default() -> bool {
    true
}

pub(crate) fn default_table() -> String {
    FIREWALL_TABLE.to_string()
}

/// The default network's name; every other bridge network is user-defined
/// (name resolution between members, `--ip`, aliases).
pub const DEFAULT_NETWORK: &str = "bridge";

pub fn is_user_defined(network: &str) -> bool {
    network != DEFAULT_NETWORK
}

/// The default network's settings, from docker's daemon.json keys in
/// rdock's settings file (`/etc/rdock/daemon.json` or
/// `$RDOCK_DAEMON_CONFIG`): `"bridge"` (the Linux bridge's name, default
/// rdock0) and `"bip"` (the gateway's address and prefix, default
/// 10.88.0.1/16: not docker's 172.17.0.0/16, so both can run side by side).
#[derive(Debug, Default, Deserialize)]
struct DaemonSettings {
    bridge: Option<String>,
    bip: Option<String>,
    /// rdock's own key: the nftables table (default `rdock`), so that
    /// tests can keep their rules apart.
    #[serde(rename = "firewall-table")]
    firewall_table: Option<String>,
    /// Where `network create` without `--subnet` takes subnets from.
    #[serde(rename = "default-address-pools", default)]
    default_address_pools: Vec<AddressPool>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AddressPool {
    pub base: String,
    pub size: u8,
}

/// rdock's pool for user networks when daemon.json names none: /24s of
/// 10.89.0.0/16, next to the default bridge's 10.88.0.0/16.
pub const DEFAULT_POOL: (&str, u8) = ("10.89.0.0/16", 24);

fn daemon_settings() -> Result<DaemonSettings> {
    let json = crate::util::daemon_json().map_err(NetworkError::Invalid)?;
    DaemonSettings::deserialize(json).map_err(|e| NetworkError::Invalid(e.to_string()))
}

/// The subnet pools of daemon.json's `default-address-pools`.
pub fn address_pools() -> Result<Vec<AddressPool>> {
    let s = daemon_settings()?;
    if s.default_address_pools.is_empty() {
        return Ok(vec![AddressPool {
            base: DEFAULT_POOL.0.into(),
            size: DEFAULT_POOL.1,
        }]);
    }
    Ok(s.default_address_pools)
}

pub const DEFAULT_BRIDGE: &str = "rdock0";
pub const DEFAULT_BIP: (Ipv4Addr, u8) = (Ipv4Addr::new(10, 88, 0, 1), 16);

/// Parse `a.b.c.d/n`.
pub fn parse_cidr(s: &str) -> Result<(Ipv4Addr, u8)> {
    let bad = || NetworkError::Invalid(format!("invalid CIDR address: {s}"));
    let (a, p) = s.split_once('/').ok_or_else(bad)?;
    let a: Ipv4Addr = a.parse().map_err(|_| bad())?;
    let p: u8 = p.parse().map_err(|_| bad())?;
    if p > 30 {
        return Err(bad());
    }
    Ok((a, p))
}

/// The netmask of a prefix length (past 32 counts as 32).
pub fn mask(prefix: u8) -> u32 {
    // A shift by 32 (prefix 0) is None: no network bits.
    u32::MAX
        .checked_shl(32u32.saturating_sub(prefix.into()))
        .unwrap_or(0)
}

impl NetworkDef {
    /// The default `bridge` network.
    pub fn default_bridge() -> Result<NetworkDef> {
        let s = daemon_settings()?;
        let bridge = s.bridge.unwrap_or_else(|| DEFAULT_BRIDGE.to_string());
        let (gateway, prefix) = match s.bip.as_deref() {
            Some(b) => parse_cidr(b)?,
            None => DEFAULT_BIP,
        };
        let subnet = Ipv4Addr::from(u32::from(gateway) & mask(prefix));
        Ok(NetworkDef {
            name: DEFAULT_NETWORK.into(),
            // Stable per bridge name, as docker's network IDs are per network.
            id: crate::image::store::sha256_hex(format!("rdock-network:{bridge}").as_bytes()),
            bridge,
            subnet,
            prefix,
            gateway,
            internal: false,
            table: s.firewall_table.unwrap_or_else(default_table),
            created: String::new(),
            labels: BTreeMap::new(),
            options: BTreeMap::new(),
            attachable: false,
            user_subnet: false,
        })
    }

    /// The firewall table every network of this host's settings uses.
    pub fn firewall_table() -> Result<String> {
        Ok(daemon_settings()?
            .firewall_table
            .unwrap_or_else(default_table))
    }

    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & mask(self.prefix) == u32::from(self.subnet)
    }
}

/// Who takes a lease.
#[derive(Debug, Clone, Default)]
pub struct Member {
    pub id: String,
    pub name: String,
    pub aliases: Vec<String>,
    /// The container's /etc/hosts (its peers' names are written there;
    /// the lines of its own are read from the `.base` file beside it).
    pub hosts: Option<PathBuf>,
}

/// A running container's endpoint, as inspect and `port` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    pub network: String,
    pub network_id: String,
    pub bridge: String,
    pub ip: Ipv4Addr,
    pub prefix: u8,
    pub gateway: Ipv4Addr,
    pub mac: String,
    pub veth: String,
    pub ports: Vec<PortRule>,
    #[serde(default = "default_table")]
    pub table: String,
    /// The interface's name in the container.
    #[serde(default = "default_ifname")]
    pub ifname: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub internal: bool,
    /// `gw-priority`: the highest gives the default route.
    #[serde(default)]
    pub gw_priority: i64,
}

fn default_ifname() -> String {
    "eth0".into()
}

/// What `run` asked of the network.
#[derive(Debug, Clone, Default)]
pub struct EndpointOptions {
    pub ip: Option<Ipv4Addr>,
    pub mac: Option<[u8; 6]>,
    pub publish: Vec<PortMapping>,
}

/// How long a stopped container's veth may wait for the kernel. A
/// namespace is destroyed within milliseconds of its last process; a veth
/// still there after this means something else keeps the namespace (a
/// process that joined it, a bind mount), and it is deleted.
const DRAIN_GRACE_MS: u64 = 2000;

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Gone draining veths the file may keep before `prepare` rewrites it.
const DRAINING_SLACK: usize = 16;

/// docker's MAC for an address: 02:42 and the address's four bytes.
pub fn mac_for(ip: Ipv4Addr) -> [u8; 6] {
    let o = ip.octets();
    [0x02, 0x42, o[0], o[1], o[2], o[3]]
}

pub fn mac_text(mac: [u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

pub fn parse_mac(s: &str) -> Result<[u8; 6]> {
    let bad = || NetworkError::Invalid(format!("{s} is not a valid mac address"));
    let parts: Vec<&str> = s.split([':', '-']).collect();
    if parts.len() != 6 {
        return Err(bad());
    }
    let mut mac = [0u8; 6];
    for (m, p) in mac.iter_mut().zip(parts) {
        *m = u8::from_str_radix(p, 16).map_err(|_| bad())?;
    }
    Ok(mac)
}

/// Can the host port be bound now? (Nothing of rdock listens on published
/// ports, so a host service on one would silently lose its traffic: refuse
/// as docker's proxy would.)
fn port_free(ip: Option<Ipv4Addr>, port: u16, proto: Proto) -> bool {
    let addr = std::net::SocketAddr::from((ip.unwrap_or(Ipv4Addr::UNSPECIFIED), port));
    match proto {
        Proto::Tcp => std::net::TcpListener::bind(addr).is_ok(),
        Proto::Udp => std::net::UdpSocket::bind(addr).is_ok(),
    }
}

fn clash(a: Option<Ipv4Addr>, b: Option<Ipv4Addr>) -> bool {
    a.is_none() || b.is_none() || a == b
}

/// A host port picked for a container port: (host ip, host port,
/// container port, protocol).
type Picked = (Option<Ipv4Addr>, u16, u16, Proto);

/// Pick the host ports and the address under the lock. `leases` are
/// every store's: ports clash host-wide, addresses on the same bridge.
fn allocate(
    net: &NetworkDef,
    leases: &[Lease],
    opts: &EndpointOptions,
) -> Result<(Ipv4Addr, Vec<Picked>)> {
    let taken_port = |ip: Option<Ipv4Addr>, port: u16, proto: Proto, extra: &[Picked]| {
        leases
            .iter()
            .flat_map(|l| l.ports.iter())
            .any(|r| r.host_port == port && r.proto == proto && clash(r.host_ip, ip))
            || extra
                .iter()
                .any(|(i, p, _, pr)| *p == port && *pr == proto && clash(*i, ip))
    };
    let mut ports = Vec::new();
    for m in &opts.publish {
        let shown = |p: u16| format!("{}:{}", m.host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED), p);
        if m.host_port != 0 {
            if taken_port(m.host_ip, m.host_port, m.proto, &ports) {
                return Err(NetworkError::PortTaken(format!(
                    "Bind for {} failed: port is already allocated",
                    shown(m.host_port)
                )));
            }
            if !port_free(m.host_ip, m.host_port, m.proto) {
                return Err(NetworkError::PortTaken(format!(
                    "failed to bind host port {}/{}: address already in use",
                    shown(m.host_port),
                    m.proto.as_str()
                )));
            }
            ports.push((m.host_ip, m.host_port, m.container_port, m.proto));
            continue;
        }
        let (lo, hi) = m.host_range.unwrap_or(RANDOM_PORTS);
        // Each port of the range once, from a random one on, wrapping.
        let span = (lo..=hi).len();
        let start = usize::from_str_radix(&crate::util::random_hex(4), 16)
            .ok()
            .and_then(|r| r.checked_rem(span))
            .unwrap_or(0);
        let found = (lo..=hi).cycle().skip(start).take(span).find(|&p| {
            !taken_port(m.host_ip, p, m.proto, &ports) && port_free(m.host_ip, p, m.proto)
        });
        match found {
            Some(p) => ports.push((m.host_ip, p, m.container_port, m.proto)),
            None => {
                return Err(NetworkError::PortTaken(format!(
                    "no free host port in {lo}-{hi} for {}/{}",
                    m.container_port,
                    m.proto.as_str()
                )))
            }
        }
    }
    // Per bridge, whichever store's network (or stopped container's veth)
    // holds the address.
    let used = |ip: Ipv4Addr| {
        ip == net.gateway || leases.iter().any(|l| l.bridge == net.bridge && l.ip == ip)
    };
    let ip = match opts.ip {
        Some(ip) => {
            if !net.contains(ip) {
                return Err(NetworkError::Invalid(format!(
                    "no configured subnet or ip-range contain the IP address {ip}"
                )));
            }
            if used(ip) {
                return Err(NetworkError::Invalid("Address already in use".into()));
            }
            ip
        }
        None => {
            // Sequential from .2 (docker's order), skipping the network and
            // broadcast addresses.
            let base = u32::from(net.subnet);
            let broadcast = !mask(net.prefix);
            (1..broadcast)
                .filter_map(|i| base.checked_add(i).map(Ipv4Addr::from))
                .find(|ip| !used(*ip))
                .ok_or_else(|| {
                    NetworkError::Invalid(format!(
                        "no available IPv4 addresses on network {}",
                        net.name
                    ))
                })?
        }
    };
    Ok((ip, ports))
}

/// Make sure the bridge exists with its gateway address and the network's
/// firewall rules; done once per bridge per boot (a marker in the
/// runroot, which is tmpfs like the kernel state it stands for).
pub(crate) fn ensure_bridge(paths: &Paths, nl: &mut Netlink, net: &NetworkDef) -> Result<u32> {
    let marker = paths
        .runroot
        .join("networks")
        .join(format!("{}.ready", net.bridge));
    if marker.exists() {
        if let Some(index) = nl.link_index(&net.bridge)? {
            return Ok(index);
        }
    }
    let index = nl.ensure_bridge(&net.bridge)?;
    let have = nl.addrs4(index)?;
    if !have.contains(&(net.gateway, net.prefix)) {
        nl.add_addr4(index, net.gateway, net.prefix)?;
    }
    Firewall::new(&net.table).add_network(&net.bridge, net.subnet, net.prefix, net.internal)?;
    if !net.internal {
        firewall::enable_ip_forward()?;
    }
    firewall::enable_route_localnet(&net.bridge)?;
    if let Some(dir) = marker.parent() {
        let _ = crate::util::mkdirs_private(dir);
    }
    let _ = crate::util::write_mode(&marker, b"", crate::util::PRIVATE_FILE);
    Ok(index)
}

/// Before the container starts: the bridge, an address and host ports for
/// `member` on `net`. `live` says whether a lease's container still runs
/// (any store's: a lease names its store's root). `ifname` is the
/// interface's name in the container (eth0, eth1, ...).
pub fn prepare(
    paths: &Paths,
    net: &NetworkDef,
    member: &Member,
    ifname: &str,
    opts: &EndpointOptions,
    holder: (i32, u64),
    live: &dyn Fn(&Lease) -> bool,
) -> Result<(Endpoint, u32)> {
    // One lock for the bridge's one-time setup too: parallel first runs
    // (of any store: the host's table is locked) would otherwise race on
    // its address and firewall rules.
    let table = leases::lock(paths)?;
    if is_user_defined(&net.name) && !super::store::exists(paths, &net.id) {
        return Err(NetworkError::Invalid(format!(
            "network {} not found",
            net.name
        )));
    }
    let mut nl = Netlink::open()?;
    let bridge_index = ensure_bridge(paths, &mut nl, net)?;
    let (keep, stale) = judge(&table, net, member, opts, live);
    for l in &stale {
        release_resources(l);
    }
    let (ip, ports) = allocate_past_draining(&table, &mut nl, net, &keep, opts)?;
    let ports: Vec<PortRule> = ports
        .into_iter()
        .map(|(host_ip, host_port, container_port, proto)| PortRule {
            host_ip,
            host_port,
            container_ip: ip,
            container_port,
            proto,
        })
        .collect();
    let veth = format!("veth{}", crate::util::random_hex(4).get(..7).unwrap_or("0"));
    let mut leases = keep;
    leases.push(Lease {
        network: net.name.clone(),
        bridge: net.bridge.clone(),
        root: table.root().to_path_buf(),
        container: member.id.clone(),
        ip,
        veth: veth.clone(),
        ports: ports.clone(),
        holder,
        table: net.table.clone(),
        name: member.name.clone(),
        aliases: member.aliases.clone(),
        hosts: member.hosts.clone(),
    });
    table.write_leases(&leases)?;
    hosts::refresh_dropped(&leases, &stale);
    let mac = opts.mac.unwrap_or_else(|| mac_for(ip));
    Ok((
        Endpoint {
            network: net.name.clone(),
            network_id: net.id.clone(),
            bridge: net.bridge.clone(),
            ip,
            prefix: net.prefix,
            gateway: net.gateway,
            mac: mac_text(mac),
            veth,
            ports,
            table: net.table.clone(),
            ifname: ifname.to_string(),
            aliases: member.aliases.clone(),
            internal: net.internal,
            gw_priority: 0,
        },
        bridge_index,
    ))
}

/// The table's leases, split into those kept and the dead ones to drop
/// (with an earlier run of this container on this network). This store's
/// are all judged, as when each store kept its own; another store's only
/// when they can block this allocation or their store is gone (one stat
/// per store), so a `run` reads no other store's state beyond that.
fn judge(
    table: &Table,
    net: &NetworkDef,
    member: &Member,
    opts: &EndpointOptions,
    live: &dyn Fn(&Lease) -> bool,
) -> (Vec<Lease>, Vec<Lease>) {
    let mut gone: HashMap<PathBuf, bool> = HashMap::new();
    table.leases().into_iter().partition(|l| {
        if l.container == member.id && l.network == net.name {
            return false;
        }
        let judged = table.is_mine(l)
            || blocks(l, net, opts)
            || *gone
                .entry(l.root.clone())
                .or_insert_with(|| !l.root.exists());
        !judged || live(l)
    })
}

/// Can another store's lease `l` keep this allocation from what it asks
/// for: an address on the same bridge, or a host port in a fixed port or
/// range asked for? (A random port just skips the ports it holds.)
fn blocks(l: &Lease, net: &NetworkDef, opts: &EndpointOptions) -> bool {
    l.bridge == net.bridge
        || opts.publish.iter().any(|m| {
            let (lo, hi) = match (m.host_port, m.host_range) {
                (0, Some(range)) => range,
                (0, None) => return false,
                (p, _) => (p, p),
            };
            l.ports.iter().any(|r| {
                r.proto == m.proto
                    && (lo..=hi).contains(&r.host_port)
                    && clash(r.host_ip, m.host_ip)
            })
        })
}

/// `allocate`, with the addresses of stopped containers' veths still
/// there taken too. Those the kernel has deleted since free their
/// addresses; one still there past the grace period, or holding the
/// address asked for, is deleted now, and so are this bridge's when it
/// is out of addresses. The file is only rewritten when that happened or
/// enough gone ones piled up: one write less a run.
fn allocate_past_draining(
    table: &Table,
    nl: &mut Netlink,
    net: &NetworkDef,
    keep: &[Lease],
    opts: &EndpointOptions,
) -> Result<(Ipv4Addr, Vec<Picked>)> {
    let before = table.draining();
    let sysfs = Path::new("/sys/class/net").join(&net.bridge).exists();
    let now = now_ms();
    let mut forced = false;
    let mut draining: Vec<Draining> = before
        .iter()
        .filter(|d| {
            let wanted = d.bridge == net.bridge && opts.ip == Some(d.ip);
            let late = now.saturating_sub(d.since) >= DRAIN_GRACE_MS;
            let lingers = d.lingers(nl, sysfs);
            if lingers && (wanted || late) {
                d.delete(nl);
                forced = true;
                return false;
            }
            lingers
        })
        .cloned()
        .collect();
    let taken = |draining: &[Draining]| -> Vec<Lease> {
        keep.iter()
            .cloned()
            .chain(draining.iter().map(Draining::as_lease))
            .collect()
    };
    let picked = match allocate(net, &taken(&draining), opts) {
        Ok(a) => a,
        Err(e) if draining.iter().any(|d| d.bridge == net.bridge) => {
            let (here, elsewhere): (Vec<Draining>, Vec<Draining>) =
                draining.into_iter().partition(|d| d.bridge == net.bridge);
            for d in &here {
                d.delete(nl);
            }
            draining = elsewhere;
            forced = true;
            allocate(net, &taken(&draining), opts).map_err(|_| e)?
        }
        Err(e) => return Err(e),
    };
    if forced || before.len().saturating_sub(draining.len()) > DRAINING_SLACK {
        table.write_draining(&draining)?;
    }
    Ok(picked)
}

/// Once the container's init exists (in its own network namespace): its
/// end of a veth pair as `ep.ifname`, addressed, routed (the default route
/// only when `default_route`); then the ports published for container
/// `id`.
pub fn plumb(
    id: &str,
    ep: &Endpoint,
    bridge_index: u32,
    pid: i32,
    default_route: bool,
) -> Result<()> {
    let mac = parse_mac(&ep.mac)?;
    let mut nl = Netlink::open()?;
    nl.create_veth(&ep.veth, &ep.ifname, pid, Some(mac), Some(bridge_index))?;
    let (mut inner, index) = open_in_container(pid, &ep.ifname)?;
    inner.add_addr4(index, ep.ip, ep.prefix)?;
    inner.set_up(index)?;
    if default_route {
        inner.add_default_route4(ep.gateway, index)?;
    }
    if !ep.ports.is_empty() {
        Firewall::new(&ep.table).publish(id, &ep.ports)?;
    }
    Ok(())
}

/// A netlink socket in process `pid`'s network namespace, and the index
/// of its interface `ifname`.
fn open_in_container(pid: i32, ifname: &str) -> Result<(Netlink, u32)> {
    let ns =
        std::fs::File::open(format!("/proc/{pid}/ns/net")).map_err(|e| NetworkError::Netlink {
            what: "opening the container's network namespace".into(),
            source: e,
        })?;
    let mut inner = Netlink::open_in(ns.as_fd())?;
    let index = inner.link_index(ifname)?.ok_or_else(|| {
        NetworkError::Invalid(format!("{ifname} missing in the container's namespace"))
    })?;
    Ok((inner, index))
}

/// Point the default route of process `pid`'s namespace at `ep`'s
/// gateway (after the network that carried it was left, or when the
/// first network with a gateway is joined).
pub fn set_default_route(pid: i32, ep: &Endpoint) -> Result<()> {
    let (mut inner, index) = open_in_container(pid, &ep.ifname)?;
    inner.add_default_route4(ep.gateway, index)
}

/// Remove the default route of the container whose init is `pid`.
pub fn clear_default_route(pid: i32) -> Result<()> {
    let ns =
        std::fs::File::open(format!("/proc/{pid}/ns/net")).map_err(|e| NetworkError::Netlink {
            what: "opening the container's network namespace".into(),
            source: e,
        })?;
    Netlink::open_in(ns.as_fd())?.del_default_route4()
}

fn unpublish(l: &Lease) {
    if !l.ports.is_empty() {
        let _ = Firewall::new(&l.table).unpublish(&l.container);
    }
}

/// Its rules, and its veth (synchronously: `release` says why that is
/// avoided on a container's stop).
fn release_resources(l: &Lease) {
    unpublish(l);
    // Usually gone with the container's namespace already.
    if let Ok(mut nl) = Netlink::open() {
        let _ = nl.delete_link(&l.veth);
    }
}

/// After the container stopped (`network` None) or left one network: give
/// back its addresses and ports, remove its rules and veths, and take its
/// name out of its peers' /etc/hosts. Idempotent.
///
/// A stopped container's veths are not deleted here: the kernel deletes
/// them with its network namespace, asynchronously, once its last process
/// is gone. Deleting one from here made every bridge `run --rm` wait
/// 15-25 ms (`rtnl_dellink` -> `netdev_run_todo` -> `rcu_barrier`,
/// contended with the namespace cleanup's own barrier). Their addresses
/// stay taken until they are gone (`Draining`). Leaving one network of a
/// running container deletes its interface at once, as docker does.
pub fn release(paths: &Paths, id: &str, network: Option<&str>) -> Result<()> {
    let table = leases::lock(paths)?;
    let (mine, rest): (Vec<Lease>, Vec<Lease>) = table
        .leases()
        .into_iter()
        .partition(|l| l.container == id && network.is_none_or(|n| n == l.network));
    if mine.is_empty() {
        return Ok(());
    }
    if network.is_none() {
        let since = now_ms();
        let mut draining = table.draining();
        draining.extend(mine.iter().map(|l| Draining {
            bridge: l.bridge.clone(),
            ip: l.ip,
            veth: l.veth.clone(),
            since,
        }));
        table.write_draining(&draining)?;
    }
    table.write_leases(&rest)?;
    for l in &mine {
        if network.is_none() {
            unpublish(l);
        } else {
            release_resources(l);
        }
    }
    let mut changed: BTreeSet<String> = mine.iter().map(|l| l.network.clone()).collect();
    if network.is_some() {
        // It stays on its other networks: its own file loses these peers.
        changed.extend(
            rest.iter()
                .filter(|l| l.container == id)
                .map(|l| l.network.clone()),
        );
    }
    hosts::refresh_locked(&hosts::of_store(&rest, table.root()), &changed);
    // Off its last user network, a container still running keeps no
    // names of former peers.
    let on_user_net = rest
        .iter()
        .any(|l| l.container == id && is_user_defined(&l.network));
    if network.is_some() && !on_user_net {
        hosts::forget_peers(&mine);
    }
    Ok(())
}

/// Drop `dead` leases (their containers are gone) and what they held;
/// the caller holds the table.
pub(crate) fn drop_leases_locked(table: &Table, dead: &[Lease]) -> Result<()> {
    let leases: Vec<Lease> = table
        .leases()
        .into_iter()
        .filter(|l| !dead.contains(l))
        .collect();
    table.write_leases(&leases)?;
    for l in dead {
        release_resources(l);
    }
    hosts::refresh_dropped(&leases, dead);
    Ok(())
}

/// This store's leases, read without the lock (for `network inspect`).
pub fn leases(paths: &Paths) -> Vec<Lease> {
    let root = leases::store_root(paths);
    leases::snapshot()
        .into_iter()
        .filter(|l| l.root == root)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net() -> NetworkDef {
        NetworkDef {
            name: "bridge".into(),
            id: "x".into(),
            bridge: "rdt0".into(),
            subnet: Ipv4Addr::new(10, 99, 0, 0),
            prefix: 30,
            gateway: Ipv4Addr::new(10, 99, 0, 1),
            internal: false,
            table: FIREWALL_TABLE.into(),
            created: String::new(),
            labels: BTreeMap::new(),
            options: BTreeMap::new(),
            attachable: false,
            user_subnet: true,
        }
    }

    #[test]
    fn addresses_are_sequential_and_run_out() {
        let n = net();
        let (ip, _) = allocate(&n, &[], &EndpointOptions::default()).unwrap();
        assert_eq!(ip, Ipv4Addr::new(10, 99, 0, 2));
        let lease = Lease {
            network: "bridge".into(),
            bridge: "rdt0".into(),
            root: PathBuf::from("/a"),
            container: "a".into(),
            ip,
            veth: "v".into(),
            ports: vec![],
            holder: (0, 0),
            table: FIREWALL_TABLE.into(),
            name: "a".into(),
            aliases: vec![],
            hosts: None,
        };
        let e = allocate(&n, &[lease], &EndpointOptions::default()).unwrap_err();
        assert!(e.to_string().contains("no available IPv4"), "{e}");
        let e = allocate(
            &n,
            &[],
            &EndpointOptions {
                ip: Some(Ipv4Addr::new(10, 1, 0, 2)),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(e.to_string().contains("no configured subnet"), "{e}");
    }

    #[test]
    fn published_ports_do_not_clash() {
        let n = NetworkDef {
            prefix: 24,
            ..net()
        };
        let lease = Lease {
            network: "bridge".into(),
            bridge: "rdt0".into(),
            root: PathBuf::from("/a"),
            container: "a".into(),
            ip: Ipv4Addr::new(10, 99, 0, 2),
            veth: "v".into(),
            ports: vec![PortRule {
                host_ip: None,
                host_port: 18455,
                container_ip: Ipv4Addr::new(10, 99, 0, 2),
                container_port: 80,
                proto: Proto::Tcp,
            }],
            holder: (0, 0),
            table: FIREWALL_TABLE.into(),
            name: "a".into(),
            aliases: vec![],
            hosts: None,
        };
        let want = |spec: &str| EndpointOptions {
            publish: super::super::ports::parse_publish(spec).unwrap(),
            ..Default::default()
        };
        let e = allocate(&n, std::slice::from_ref(&lease), &want("18455:80")).unwrap_err();
        assert!(e.to_string().contains("port is already allocated"), "{e}");
        // Another protocol is another port.
        assert!(allocate(&n, std::slice::from_ref(&lease), &want("18455:80/udp")).is_ok());
        let (ip, ports) = allocate(&n, &[lease], &want("80")).unwrap();
        assert_eq!(ip, Ipv4Addr::new(10, 99, 0, 3));
        assert!((RANDOM_PORTS.0..=RANDOM_PORTS.1).contains(&ports[0].1));
        // A port a host process listens on is refused.
        let l = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
        let p = l.local_addr().unwrap().port();
        let e = allocate(&n, &[], &want(&format!("{p}:80"))).unwrap_err();
        assert!(e.to_string().contains("address already in use"), "{e}");
    }

    #[test]
    fn addresses_are_per_bridge_and_ports_per_host() {
        let n = net();
        let other = |bridge: &str, network: &str, port: u16| Lease {
            network: network.into(),
            bridge: bridge.into(),
            root: PathBuf::from("/other-store"),
            container: "b".into(),
            ip: Ipv4Addr::new(10, 99, 0, 2),
            veth: "v".into(),
            ports: vec![PortRule {
                host_ip: None,
                host_port: port,
                container_ip: Ipv4Addr::new(10, 99, 0, 2),
                container_port: 80,
                proto: Proto::Tcp,
            }],
            holder: (0, 0),
            table: FIREWALL_TABLE.into(),
            name: "b".into(),
            aliases: vec![],
            hosts: None,
        };
        let want = |spec: &str| EndpointOptions {
            publish: super::super::ports::parse_publish(spec).unwrap(),
            ..Default::default()
        };
        // Another store's network on the same bridge, whatever its name,
        // holds the address; the same address on another bridge does not.
        let same = other("rdt0", "elsewhere", 18455);
        let e = allocate(&n, std::slice::from_ref(&same), &want("80")).unwrap_err();
        assert!(e.to_string().contains("no available IPv4"), "{e}");
        let far = other("rdt9", "bridge", 18455);
        let (ip, _) = allocate(&n, std::slice::from_ref(&far), &want("80")).unwrap();
        assert_eq!(ip, Ipv4Addr::new(10, 99, 0, 2));
        // Its host port is taken on every bridge.
        let e = allocate(&n, std::slice::from_ref(&far), &want("18455:80")).unwrap_err();
        assert!(e.to_string().contains("port is already allocated"), "{e}");
        // Judged only when it can block what is asked for.
        assert!(blocks(&same, &n, &want("80")));
        assert!(blocks(&far, &n, &want("18455:80")));
        assert!(blocks(&far, &n, &want("18450-18460:80")));
        assert!(!blocks(&far, &n, &want("80")));
        assert!(!blocks(&far, &n, &want("18456:80")));
        assert!(!blocks(&far, &n, &want("18455:80/udp")));
        assert!(!blocks(&far, &n, &EndpointOptions::default()));
    }

    #[test]
    fn cidr_and_mac() {
        assert_eq!(
            parse_cidr("10.5.0.1/24").unwrap(),
            (Ipv4Addr::new(10, 5, 0, 1), 24)
        );
        assert!(parse_cidr("10.5.0.1").is_err());
        assert_eq!(
            mac_text(mac_for(Ipv4Addr::new(10, 88, 0, 2))),
            "02:42:0a:58:00:02"
        );
        assert_eq!(
            parse_mac("02:42:0a:58:00:02").unwrap(),
            mac_for(Ipv4Addr::new(10, 88, 0, 2))
        );
        assert!(parse_mac("zz:42:0a:58:00:02").is_err());
    }
}
