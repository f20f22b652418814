//! `/networks/...`: list, inspect, create, connect, disconnect, delete,
//! prune.

use super::containers::filter_strings;
use super::http::{Conn, Request};
use super::{ApiError, Handled, Outcome};
use crate::container::networks as netobj;
use crate::paths::Paths;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

fn io(e: std::io::Error) -> ApiError {
    ApiError::io("answering", e)
}

/// The status docker's daemon gives a network error, by its words (the
/// library's network errors are messages).
fn net_error(e: crate::Error) -> ApiError {
    let status = match &e {
        crate::Error::Container(_) | crate::Error::Image(_) => return e.into(),
        crate::Error::Network(
            crate::network::NetworkError::Netlink { .. }
            | crate::network::NetworkError::Leases { .. }
            | crate::network::NetworkError::Firewall(_),
        ) => 500,
        _ => {
            let m = e.to_string();
            if m.ends_with(" not found") {
                404
            } else if m.contains("already exists") {
                409
            } else if m.contains("pre-defined network")
                || m.contains("active endpoints")
                || m.contains("is in use by container")
                || m.starts_with("operation is not permitted")
            {
                403
            } else {
                400
            }
        }
    };
    ApiError::new(status, e.to_string())
}

pub fn route(
    paths: &Paths,
    conn: &mut Conn,
    req: &mut Request,
    method: &str,
    segs: &[&str],
) -> Handled {
    match (method, segs) {
        ("GET", ["networks"]) => {
            let filters = filter_strings(req)?;
            let list =
                netobj::list(paths, &filters).map_err(|e| ApiError::bad_request(e.to_string()))?;
            let mut out = Vec::new();
            for (n, _) in list {
                let mut v = netobj::network_json(paths, &n.id).map_err(net_error)?;
                // The list leaves the members out, as docker's.
                if let Some(o) = v.as_object_mut() {
                    o.insert("Containers".into(), json!({}));
                }
                out.push(v);
            }
            conn.json(200, &Value::Array(out)).map_err(io)?;
            Ok(Outcome::Done)
        }
        ("POST", ["networks", "create"]) => create(paths, conn, req),
        ("POST", ["networks", "prune"]) => {
            let filter =
                crate::prune::PruneFilter::parse(&filter_strings(req)?, crate::prune::KEYS)
                    .map_err(|e| ApiError::bad_request(e.to_string()))?;
            let gone = crate::prune::networks(paths, &filter);
            let gone = if gone.is_empty() {
                Value::Null
            } else {
                json!(gone)
            };
            conn.json(200, &json!({ "NetworksDeleted": gone }))
                .map_err(io)?;
            Ok(Outcome::Done)
        }
        ("GET", ["networks", id]) => {
            let v = netobj::network_json(paths, id).map_err(net_error)?;
            conn.json(200, &v).map_err(io)?;
            Ok(Outcome::Done)
        }
        ("DELETE", ["networks", id]) => {
            netobj::remove(paths, id).map_err(net_error)?;
            conn.no_content().map_err(io)?;
            Ok(Outcome::Done)
        }
        ("POST", ["networks", id, "connect"]) => connect(paths, conn, req, id),
        ("POST", ["networks", id, "disconnect"]) => {
            let body = conn.read_json(req)?;
            let container = str_of(&body, "/Container");
            let c = crate::container::store::ContainerStore::new(paths).resolve(&container)?;
            crate::container::network::disconnect(paths, &c, id).map_err(net_error)?;
            conn.respond(200, "", b"").map_err(io)?;
            Ok(Outcome::Done)
        }
        _ => Err(super::not_found_route(method, &segs.join("/"))),
    }
}

fn str_of(v: &Value, ptr: &str) -> String {
    v.pointer(ptr)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn strings(v: &Value, ptr: &str) -> Vec<String> {
    v.pointer(ptr)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

fn map_of(v: &Value, ptr: &str) -> BTreeMap<String, String> {
    v.pointer(ptr)
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(Map::iter)
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
        .collect()
}

/// docker's NetworkCreateRequest as the library's request.
fn request(body: &Value) -> netobj::CreateRequest {
    let configs: Vec<&Value> = body
        .pointer("/IPAM/Config")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    let each = |k: &str| -> Vec<String> {
        configs
            .iter()
            .map(|c| str_of(c, &format!("/{k}")))
            .filter(|s| !s.is_empty())
            .collect()
    };
    let flag = |p: &str| body.pointer(p).and_then(Value::as_bool);
    let driver = str_of(body, "/Driver");
    netobj::CreateRequest {
        name: str_of(body, "/Name"),
        driver: if driver.is_empty() {
            "bridge".into()
        } else {
            driver
        },
        ipv4: flag("/EnableIPv4"),
        ipv6: flag("/EnableIPv6"),
        swarm: flag("/Ingress") == Some(true)
            || flag("/ConfigOnly") == Some(true)
            || !str_of(body, "/ConfigFrom/Network").is_empty(),
        subnets: each("Subnet"),
        gateways: each("Gateway"),
        ip_ranges: each("IPRange"),
        aux_addresses: configs
            .iter()
            .flat_map(|c| map_of(c, "/AuxiliaryAddresses").into_values())
            .collect(),
        ipam_driver: str_of(body, "/IPAM/Driver"),
        ipam_options: map_of(body, "/IPAM/Options"),
        options: map_of(body, "/Options"),
        labels: map_of(body, "/Labels"),
        internal: flag("/Internal") == Some(true),
        attachable: flag("/Attachable") == Some(true),
        scope: Some(str_of(body, "/Scope")).filter(|s| !s.is_empty()),
    }
}

fn create(paths: &Paths, conn: &mut Conn, req: &mut Request) -> Handled {
    let body = conn.read_json(req)?;
    let def = netobj::create(paths, &request(&body)).map_err(net_error)?;
    conn.json(201, &json!({"Id": def.id, "Warning": ""}))
        .map_err(io)?;
    Ok(Outcome::Done)
}

fn connect(paths: &Paths, conn: &mut Conn, req: &mut Request, network: &str) -> Handled {
    let body = conn.read_json(req)?;
    let ip = str_of(&body, "/EndpointConfig/IPAMConfig/IPv4Address");
    let ip6 = str_of(&body, "/EndpointConfig/IPAMConfig/IPv6Address");
    let r = netobj::ConnectRequest {
        container: str_of(&body, "/Container"),
        network: network.to_string(),
        aliases: strings(&body, "/EndpointConfig/Aliases"),
        ip: Some(ip).filter(|s| !s.is_empty()),
        ip6: Some(ip6).filter(|s| !s.is_empty()),
        link_local_ips: strings(&body, "/EndpointConfig/IPAMConfig/LinkLocalIPs"),
        links: strings(&body, "/EndpointConfig/Links"),
        driver_opts: map_of(&body, "/EndpointConfig/DriverOpts")
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect(),
        gw_priority: body
            .pointer("/EndpointConfig/GwPriority")
            .and_then(Value::as_i64)
            .unwrap_or(0),
    };
    netobj::connect(paths, &r).map_err(net_error)?;
    conn.respond(200, "", b"").map_err(io)?;
    Ok(Outcome::Done)
}
