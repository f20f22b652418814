//! docker's network objects as the engine shows them: the list with its
//! filters, the inspect document, a create request checked as the engine
//! checks it. The CLI's `network` commands and the API's `/networks`
//! both call these.

use super::store::ContainerStore;
use crate::error::{Error, Result};
use crate::network::bridge::{self, NetworkDef};
use crate::network::store::{self as networks, CreateOptions, PREDEFINED};
use crate::paths::Paths;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The one `-o` rdock honours: the Linux bridge's name.
pub const BRIDGE_NAME_OPT: &str = "com.docker.network.bridge.name";

/// Every network with its driver: the bridge networks, host and none,
/// by name.
pub fn rows(paths: &Paths) -> Result<Vec<(NetworkDef, &'static str)>> {
    let mut v: Vec<(NetworkDef, &'static str)> = networks::bridge_networks(paths)?
        .into_iter()
        .map(|n| (n, "bridge"))
        .collect();
    for (name, driver) in [("host", "host"), ("none", "null")] {
        let mut n = NetworkDef::default_bridge()?;
        n.name = name.into();
        n.id = networks::predefined_id(name);
        v.push((n, driver));
    }
    v.sort_by(|a, b| a.0.name.cmp(&b.0.name));
    Ok(v)
}

pub fn matches_filters(n: &NetworkDef, driver: &str, filters: &[(String, String)]) -> Result<bool> {
    let mut by_key: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (k, v) in filters {
        by_key.entry(k.as_str()).or_default().push(v.as_str());
    }
    for (k, vals) in by_key {
        let ok = match k {
            "driver" => vals.contains(&driver),
            "id" => vals.iter().any(|v| n.id.starts_with(v)),
            // A regexp, as docker's (one that does not compile matches nothing).
            "name" => vals
                .iter()
                .any(|v| regex_lite::Regex::new(v).is_ok_and(|r| r.is_match(&n.name))),
            "scope" => vals.contains(&"local"),
            "type" => {
                let custom = !PREDEFINED.contains(&n.name.as_str());
                vals.iter().any(|v| match *v {
                    "custom" => custom,
                    "builtin" => !custom,
                    _ => false,
                })
            }
            "label" => vals.iter().any(|v| match v.split_once('=') {
                Some((k, val)) => n.labels.get(k).is_some_and(|x| x == val),
                None => n.labels.contains_key(*v),
            }),
            _ => return Err(Error::msg(format!("invalid filter '{k}'"))),
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

pub fn parse_filters(raw: &[String]) -> Result<Vec<(String, String)>> {
    raw.iter()
        .map(|r| {
            r.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| {
                    Error::msg(format!("bad format of filter (expected name=value): {r}"))
                })
        })
        .collect()
}

/// docker's `network inspect` document.
pub fn network_json(paths: &Paths, name: &str) -> Result<Value> {
    let (n, driver) = rows(paths)?
        .into_iter()
        .find(|(n, _)| n.name == name || n.id == name)
        .map(Ok)
        .unwrap_or_else(|| networks::find(paths, name).map(|n| (n, "bridge")))?;
    let store = ContainerStore::new(paths);
    let mut containers = serde_json::Map::new();
    for l in crate::container::network::members(paths, &n.name) {
        let mac = store
            .load(&l.container)
            .ok()
            .and_then(|c| {
                crate::container::network::endpoints(&c)
                    .into_iter()
                    .find(|e| e.network == n.name)
            })
            .map(|e| e.mac)
            .unwrap_or_default();
        containers.insert(
            l.container.clone(),
            json!({
                "Name": l.name,
                "EndpointID": crate::image::store::sha256_hex(format!("{}{}", l.container, l.veth).as_bytes()),
                "MacAddress": mac,
                "IPv4Address": format!("{}/{}", l.ip, n.prefix),
                "IPv6Address": "",
            }),
        );
    }
    let bridge_net = driver == "bridge";
    let mut options = serde_json::Map::new();
    // As docker's: a user network shows the option only when it was
    // given (compose compares the options with its file's).
    let chosen = n.bridge != crate::network::store::default_bridge(&n.id);
    if bridge_net && chosen {
        options.insert(BRIDGE_NAME_OPT.into(), json!(n.bridge));
    }
    let mut v = json!({
        "Name": n.name,
        "Id": n.id,
        "Created": if n.created.is_empty() { "0001-01-01T00:00:00Z".to_string() } else { n.created.clone() },
        "Scope": "local",
        "Driver": driver,
        "EnableIPv4": true,
        "EnableIPv6": false,
        "IPAM": {
            "Driver": "default",
            "Options": if bridge::is_user_defined(&n.name) { json!({}) } else { Value::Null },
            "Config": if bridge_net {
                json!([{"Subnet": format!("{}/{}", n.subnet, n.prefix), "Gateway": n.gateway.to_string()}])
            } else {
                json!([])
            },
        },
        "Internal": n.internal,
        "Attachable": n.attachable,
        "Ingress": false,
        "ConfigFrom": {"Network": ""},
        "ConfigOnly": false,
        "Containers": containers,
        "Options": options,
        "Labels": n.labels,
    });
    // Go maps: sorted keys, as encoding/json writes them.
    use crate::util::json_order::{reorder, SORTED};
    reorder(
        &mut v,
        &[
            ("Containers", SORTED),
            ("Options", SORTED),
            ("Labels", SORTED),
        ],
    );
    Ok(v)
}

/// The networks the `key=value` filters select, by name.
pub fn list(paths: &Paths, filters: &[String]) -> Result<Vec<(NetworkDef, &'static str)>> {
    let filters = parse_filters(filters)?;
    let mut out = Vec::new();
    for (n, driver) in rows(paths)? {
        if matches_filters(&n, driver, &filters)? {
            out.push((n, driver));
        }
    }
    Ok(out)
}

/// A network create request, as the engine receives it (the client's own
/// checks of subnets and ranges made before).
#[derive(Debug, Clone, Default)]
pub struct CreateRequest {
    pub name: String,
    pub driver: String,
    pub ipv4: Option<bool>,
    pub ipv6: Option<bool>,
    /// Ingress, config-only or config-from: swarm's.
    pub swarm: bool,
    pub subnets: Vec<String>,
    pub gateways: Vec<String>,
    pub ip_ranges: Vec<String>,
    pub aux_addresses: Vec<String>,
    pub ipam_driver: String,
    pub ipam_options: BTreeMap<String, String>,
    pub options: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    pub internal: bool,
    pub attachable: bool,
    pub scope: Option<String>,
}

fn unsupported(what: &str) -> Error {
    Error::msg(format!("{what} is not supported by rdock"))
}

/// The engine's refusals of a request rdock cannot serve, in docker's
/// words where docker refuses it too.
fn check_request(r: &CreateRequest) -> Result<()> {
    match r.driver.as_str() {
        "bridge" => {}
        // docker's own drivers rdock has not (yet): said plainly.
        "overlay" | "macvlan" | "ipvlan" => {
            return Err(Error::msg(format!(
                "network driver {:?} is not supported by rdock (only \"bridge\")",
                r.driver
            )))
        }
        // As docker: host and none exist once; anything else would be a plugin.
        d @ ("host" | "null") => {
            return Err(Error::msg(format!(
                "only one instance of {d:?} network is allowed"
            )))
        }
        d => return Err(Error::msg(format!("plugin {d:?} not found"))),
    }
    if r.ipv6 == Some(true) {
        return Err(unsupported("IPv6 networking"));
    }
    if r.ipv4 == Some(false) {
        return Err(unsupported("--ipv4=false"));
    }
    if r.swarm {
        return Err(unsupported("swarm and configuration-only networks"));
    }
    if !r.ip_ranges.is_empty() || !r.aux_addresses.is_empty() {
        return Err(unsupported("--ip-range and --aux-address"));
    }
    if !matches!(r.ipam_driver.as_str(), "default" | "") {
        return Err(Error::msg(format!("plugin {:?} not found", r.ipam_driver)));
    }
    if !r.ipam_options.is_empty() {
        return Err(unsupported("--ipam-opt"));
    }
    if let Some(k) = r.options.keys().find(|k| *k != BRIDGE_NAME_OPT) {
        return Err(unsupported(&format!("network option {k:?}")));
    }
    if r.subnets.len() > 1 || r.gateways.len() > 1 {
        return Err(unsupported("more than one IPv4 subnet"));
    }
    if let Some(scope) = r.scope.as_deref().filter(|s| !s.is_empty()) {
        if scope != "local" {
            return Err(Error::msg(format!(
                "invalid scope {scope:?} for a bridge network"
            )));
        }
    }
    Ok(())
}

/// `network create`: checked, then made.
pub fn create(paths: &Paths, r: &CreateRequest) -> Result<NetworkDef> {
    check_request(r)?;
    Ok(networks::create(
        paths,
        &CreateOptions {
            name: r.name.clone(),
            subnet: r.subnets.first().cloned(),
            gateway: r.gateways.first().cloned(),
            internal: r.internal,
            attachable: r.attachable,
            labels: r.labels.clone(),
            options: r.options.clone(),
            bridge: r.options.get(BRIDGE_NAME_OPT).cloned(),
        },
    )?)
}

/// `network rm` of one network by name or ID.
pub fn remove(paths: &Paths, name: &str) -> Result<()> {
    match networks::find(paths, name) {
        Ok(def) => super::network::remove_network(paths, &def),
        Err(_) if PREDEFINED.contains(&name) => Err(Error::msg(format!(
            "{name} is a pre-defined network and cannot be removed"
        ))),
        Err(e) => Err(e.into()),
    }
}

/// What `network connect` asks for (docker's EndpointSettings).
#[derive(Debug, Clone, Default)]
pub struct ConnectRequest {
    pub container: String,
    pub network: String,
    pub aliases: Vec<String>,
    pub ip: Option<String>,
    pub ip6: Option<String>,
    pub link_local_ips: Vec<String>,
    pub links: Vec<String>,
    pub driver_opts: Vec<String>,
    pub gw_priority: i64,
}

/// `network connect`: checked, then the container joins.
pub fn connect(paths: &Paths, r: &ConnectRequest) -> Result<()> {
    if r.ip6.is_some() || !r.link_local_ips.is_empty() {
        return Err(unsupported("IPv6 and link-local addresses"));
    }
    if !r.links.is_empty() {
        return Err(unsupported("--link on network connect"));
    }
    if !r.driver_opts.is_empty() {
        return Err(unsupported("--driver-opt"));
    }
    let c = ContainerStore::new(paths).resolve(&r.container)?;
    let ip = match &r.ip {
        Some(ip) => Some(
            ip.parse()
                .map_err(|_| Error::msg(format!("invalid IPv4 address: {ip}")))?,
        ),
        None => None,
    };
    super::network::connect(
        paths,
        &c,
        &r.network,
        super::config::Attachment {
            network: r.network.clone(),
            aliases: r.aliases.clone(),
            ip,
            mac: None,
            gw_priority: r.gw_priority,
        },
    )
}
