//! `network create|ls|inspect|rm|prune|connect|disconnect`, as docker's.

use super::format::{render_rows, truncate_id};
use crate::container::networks as netobj;
use crate::container::store::ContainerStore;
use crate::error::{Error, Result};
use crate::network::bridge::NetworkDef;
use crate::network::store::PREDEFINED;
use crate::paths::Paths;
use clap::{Args, Subcommand};
use serde_json::{json, Value};
use std::collections::BTreeMap;

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum NetworkCommand {
    /// Create a network
    Create(CreateArgs),
    /// List networks
    #[command(alias = "list")]
    Ls(LsArgs),
    /// Display detailed information on one or more networks
    Inspect(InspectArgs),
    /// Remove one or more networks
    #[command(alias = "remove")]
    Rm(RmArgs),
    /// Remove all unused networks
    Prune(PruneArgs),
    /// Connect a container to a network
    Connect(ConnectArgs),
    /// Disconnect a container from a network
    Disconnect(DisconnectArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Enable manual container attachment
    #[arg(long)]
    pub attachable: bool,
    /// Auxiliary IPv4 or IPv6 addresses used by Network driver
    #[arg(long = "aux-address", value_name = "map")]
    pub aux_address: Vec<String>,
    /// The network from which to copy the configuration
    #[arg(long = "config-from")]
    pub config_from: Option<String>,
    /// Create a configuration only network
    #[arg(long = "config-only")]
    pub config_only: bool,
    /// Driver to manage the Network
    #[arg(short = 'd', long, default_value = "bridge")]
    pub driver: String,
    /// IPv4 or IPv6 Gateway for the master subnet
    #[arg(long, value_delimiter = ',', value_name = "strings")]
    pub gateway: Vec<String>,
    /// Create swarm routing-mesh network
    #[arg(long)]
    pub ingress: bool,
    /// Restrict external access to the network
    #[arg(long)]
    pub internal: bool,
    /// Allocate container ip from a sub-range
    #[arg(long = "ip-range", value_delimiter = ',', value_name = "strings")]
    pub ip_range: Vec<String>,
    /// IP Address Management Driver
    #[arg(long = "ipam-driver", default_value = "default")]
    pub ipam_driver: String,
    /// Set IPAM driver specific options
    #[arg(long = "ipam-opt", value_name = "map")]
    pub ipam_opt: Vec<String>,
    /// Enable or disable IPv4 address assignment (default true)
    #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub ipv4: Option<bool>,
    /// Enable or disable IPv6 address assignment
    #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub ipv6: Option<bool>,
    /// Set metadata on a network
    #[arg(long)]
    pub label: Vec<String>,
    /// Set driver specific options
    #[arg(short = 'o', long, value_name = "map")]
    pub opt: Vec<String>,
    /// Control the network's scope
    #[arg(long)]
    pub scope: Option<String>,
    /// Subnet in CIDR format that represents a network segment
    #[arg(long, value_delimiter = ',', value_name = "strings")]
    pub subnet: Vec<String>,
    pub name: String,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    /// Provide filter values (e.g. "driver=bridge")
    #[arg(short = 'f', long, value_name = "filter")]
    pub filter: Vec<String>,
    #[arg(long, help = super::help::FORMAT_HELP)]
    pub format: Option<String>,
    /// Do not truncate the output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Only display network IDs
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    #[arg(short = 'f', long, help = super::help::INSPECT_FORMAT_HELP)]
    pub format: Option<String>,
    /// Verbose output for diagnostics
    #[arg(short = 'v', long)]
    pub verbose: bool,
    #[arg(required = true)]
    pub names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    /// Do not error if the network does not exist
    #[arg(short = 'f', long)]
    pub force: bool,
    #[arg(required = true)]
    pub names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Provide filter values (e.g. "until=<timestamp>")
    #[arg(long, value_name = "filter")]
    pub filter: Vec<String>,
    /// Do not prompt for confirmation
    #[arg(short = 'f', long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// Add network-scoped alias for the container
    #[arg(long, value_delimiter = ',', value_name = "strings")]
    pub alias: Vec<String>,
    /// driver options for the network
    #[arg(long = "driver-opt", value_delimiter = ',', value_name = "strings")]
    pub driver_opt: Vec<String>,
    #[arg(
        long = "gw-priority",
        allow_negative_numbers = true,
        help = "Highest gw-priority provides the default gateway. Accepts positive and negative values."
    )]
    pub gw_priority: Option<i64>,
    /// IPv4 address (e.g., "172.30.100.104")
    #[arg(long)]
    pub ip: Option<String>,
    /// IPv6 address (e.g., "2001:db8::33")
    #[arg(long)]
    pub ip6: Option<String>,
    /// Add link to another container
    #[arg(long)]
    pub link: Vec<String>,
    /// Add a link-local address for the container
    #[arg(long = "link-local-ip", value_delimiter = ',', value_name = "strings")]
    pub link_local_ip: Vec<String>,
    pub network: String,
    pub container: String,
}

#[derive(Debug, Args)]
pub struct DisconnectArgs {
    /// Force the container to disconnect from a network
    #[arg(short = 'f', long)]
    pub force: bool,
    pub network: String,
    pub container: String,
}

pub fn run(paths: &Paths, cmd: NetworkCommand) -> Result<i32> {
    match cmd {
        NetworkCommand::Create(a) => create(paths, a),
        NetworkCommand::Ls(a) => ls(paths, a),
        NetworkCommand::Inspect(a) => inspect(paths, a),
        NetworkCommand::Rm(a) => rm(paths, a),
        NetworkCommand::Prune(a) => prune(paths, a),
        NetworkCommand::Connect(a) => connect(paths, a),
        NetworkCommand::Disconnect(a) => disconnect(paths, a),
    }
}

fn key_values(list: &[String]) -> BTreeMap<String, String> {
    list.iter()
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap_or((l, ""));
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// Go's net.ParseCIDR, both families: the address and the prefix length.
fn go_cidr(s: &str) -> std::result::Result<(std::net::IpAddr, u32), String> {
    let bad = || format!("invalid CIDR address: {s}");
    let (a, p) = s.split_once('/').ok_or_else(bad)?;
    let a: std::net::IpAddr = a.parse().map_err(|_| bad())?;
    let p: u32 = p.parse().map_err(|_| bad())?;
    let bits = if a.is_ipv4() { 32 } else { 128 };
    if p > bits || s.split_once('/').is_some_and(|(_, p)| p.starts_with('+')) {
        return Err(bad());
    }
    Ok((a, p))
}

/// The docker CLI's subnetMatches: is `data` (an address, or a CIDR's
/// address) inside `subnet`?
fn subnet_matches(subnet: &str, data: &str) -> std::result::Result<bool, String> {
    let (net, bits) = go_cidr(subnet).map_err(|e| format!("invalid subnet: {e}"))?;
    let ip = if data.contains('/') {
        Some(go_cidr(data)?.0)
    } else {
        data.parse::<std::net::IpAddr>().ok()
    };
    let as_u128 = |a: std::net::IpAddr| match a {
        std::net::IpAddr::V4(v) => (u128::from(u32::from(v)), 32u32),
        std::net::IpAddr::V6(v) => (u128::from(v), 128),
    };
    Ok(ip.is_some_and(|ip| {
        let ((n, w), (i, iw)) = (as_u128(net), as_u128(ip));
        // go_cidr keeps bits within the family's width.
        let shift = w.saturating_sub(bits);
        w == iw && n.checked_shr(shift).unwrap_or(0) == i.checked_shr(shift).unwrap_or(0)
    }))
}

/// The docker CLI's own checks of `--subnet`, `--ip-range`, `--gateway`
/// and `--aux-address` (createIPAMConfig), made before the engine sees
/// them, in its words.
fn ipam_client_checks(a: &CreateArgs) -> Result<()> {
    let (subnets, ranges, gateways) = (&a.subnet, &a.ip_range, &a.gateway);
    if subnets.len() < ranges.len() || subnets.len() < gateways.len() {
        return Err(Error::msg(
            "every ip-range or gateway must have a corresponding subnet",
        ));
    }
    for (i, s) in subnets.iter().enumerate() {
        for k in subnets.iter().take(i) {
            if subnet_matches(s, k).map_err(Error::msg)?
                || subnet_matches(k, s).map_err(Error::msg)?
            {
                return Err(Error::msg(
                    "multiple overlapping subnet configuration is not supported",
                ));
            }
        }
    }
    // (subnet index, "range" or "gateway", value) already given.
    let mut taken: Vec<(usize, &str, &str)> = Vec::new();
    for (what, list) in [("range", ranges), ("gateway", gateways)] {
        for r in list {
            let mut found = false;
            for (i, s) in subnets.iter().enumerate() {
                if what == "range" {
                    go_cidr(r).map_err(Error::msg)?;
                }
                if !subnet_matches(s, r).map_err(Error::msg)? {
                    continue;
                }
                if let Some((_, _, prev)) = taken.iter().find(|t| t.0 == i && t.1 == what) {
                    return Err(Error::msg(if what == "range" {
                        format!("cannot configure multiple ranges ({r}, {prev}) on the same subnet ({s})")
                    } else {
                        format!("cannot configure multiple gateways ({r}, {prev}) for the same subnet ({s})")
                    }));
                }
                taken.push((i, what, r));
                found = true;
            }
            if !found {
                return Err(Error::msg(format!("no matching subnet for {what} {r}")));
            }
        }
    }
    for aux in &a.aux_address {
        let addr = aux.split_once('=').map_or(aux.as_str(), |(_, v)| v);
        let mut found = false;
        for s in subnets {
            found |= subnet_matches(s, addr).map_err(Error::msg)?;
        }
        if !found {
            return Err(Error::msg(format!(
                "no matching subnet for aux-address {addr}"
            )));
        }
    }
    Ok(())
}

fn create(paths: &Paths, a: CreateArgs) -> Result<i32> {
    ipam_client_checks(&a)?;
    let def = netobj::create(
        paths,
        &netobj::CreateRequest {
            name: a.name.clone(),
            driver: a.driver.clone(),
            ipv4: a.ipv4,
            ipv6: a.ipv6,
            swarm: a.ingress || a.config_only || a.config_from.is_some(),
            subnets: a.subnet.clone(),
            gateways: a.gateway.clone(),
            ip_ranges: a.ip_range.clone(),
            aux_addresses: a.aux_address.clone(),
            ipam_driver: a.ipam_driver.clone(),
            ipam_options: key_values(&a.ipam_opt),
            options: key_values(&a.opt),
            labels: key_values(&a.label),
            internal: a.internal,
            attachable: a.attachable,
            scope: a.scope.clone(),
        },
    )?;
    println!("{}", def.id);
    Ok(0)
}

fn ls(paths: &Paths, a: LsArgs) -> Result<i32> {
    let list = netobj::list(paths, &a.filter)?;
    let id = |n: &NetworkDef| {
        if a.no_trunc {
            n.id.clone()
        } else {
            truncate_id(&n.id).to_string()
        }
    };
    if a.quiet {
        for (n, _) in &list {
            println!("{}", id(n));
        }
        return Ok(0);
    }
    let rows: Vec<Value> = list
        .iter()
        .map(|(n, driver)| {
            let labels: Vec<String> = n.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            json!({
                "ID": id(n),
                "Name": n.name,
                "Driver": driver,
                "Scope": "local",
                "IPv4": "true",
                "IPv6": "false",
                "Internal": n.internal.to_string(),
                "Labels": labels.join(","),
                super::format::LABELS_KEY: n.labels,
                "CreatedAt": n.created,
            })
        })
        .collect();
    print!(
        "{}",
        render_rows(
            a.format.as_deref(),
            "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}",
            &[
                ("ID", "NETWORK ID"),
                ("Name", "NAME"),
                ("Driver", "DRIVER"),
                ("Scope", "SCOPE"),
                ("IPv4", "IPV4"),
                ("IPv6", "IPV6"),
                ("Internal", "INTERNAL"),
                ("Labels", "LABELS"),
                ("CreatedAt", "CREATED AT"),
            ],
            "*network.networkContext",
            &rows,
        )?
    );
    Ok(0)
}

fn inspect(paths: &Paths, a: InspectArgs) -> Result<i32> {
    let mut values = Vec::new();
    let mut failed = false;
    for name in &a.names {
        match netobj::network_json(paths, name) {
            Ok(v) => values.push(v),
            Err(e) => {
                super::report_line(&e);
                failed = true;
            }
        }
    }
    super::format::print_values(values, a.format.as_deref(), failed)
}

fn rm(paths: &Paths, a: RmArgs) -> Result<i32> {
    let mut failed = false;
    for name in &a.names {
        // -f: a network that is not there is no error.
        if a.force
            && !PREDEFINED.contains(&name.as_str())
            && crate::network::store::find(paths, name).is_err()
        {
            continue;
        }
        match netobj::remove(paths, name) {
            Ok(()) => println!("{name}"),
            Err(e) => {
                super::report_line(&e);
                failed = true;
            }
        }
    }
    if failed {
        // The docker 28 CLI's last line after a failed removal.
        eprintln!("exit status 1");
        return Ok(1);
    }
    Ok(0)
}

fn prune(paths: &Paths, a: PruneArgs) -> Result<i32> {
    let filter = super::prune::PruneFilter::parse(&a.filter, crate::prune::KEYS)?;
    if !super::prune::confirm(
        "WARNING! This will remove all custom networks not used by at least one container.",
        a.force,
    ) {
        return Ok(0);
    }
    print!("{}", prune_networks(paths, &filter));
    Ok(0)
}

/// Remove the user networks no container names: docker's "Deleted
/// Networks:" section.
pub(crate) fn prune_networks(paths: &Paths, filter: &super::prune::PruneFilter) -> String {
    let removed = crate::prune::networks(paths, filter);
    let mut out = String::new();
    if !removed.is_empty() {
        out.push_str("Deleted Networks:\n");
        for n in &removed {
            out.push_str(n);
            out.push('\n');
        }
        out.push('\n');
    }
    out
}

fn connect(paths: &Paths, a: ConnectArgs) -> Result<i32> {
    netobj::connect(
        paths,
        &netobj::ConnectRequest {
            container: a.container,
            network: a.network,
            aliases: a.alias,
            ip: a.ip,
            ip6: a.ip6,
            link_local_ips: a.link_local_ip,
            links: a.link,
            driver_opts: a.driver_opt,
            gw_priority: a.gw_priority.unwrap_or(0),
        },
    )?;
    Ok(0)
}

fn disconnect(paths: &Paths, a: DisconnectArgs) -> Result<i32> {
    let c = ContainerStore::new(paths).resolve(&a.container)?;
    crate::container::network::disconnect(paths, &c, &a.network)?;
    Ok(0)
}
