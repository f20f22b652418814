//! `/volumes/...`: list, inspect, create, delete, prune.

use super::containers::filter_strings;
use super::http::{Conn, Request};
use super::{ApiError, Handled, Outcome};
use crate::paths::Paths;
use crate::volume::{VolumeError, VolumeStore};
use serde_json::{json, Value};
use std::collections::BTreeMap;

fn io(e: std::io::Error) -> ApiError {
    ApiError::io("answering", e)
}

/// The status docker's daemon gives a volume error.
pub fn volume_error(e: VolumeError) -> ApiError {
    let status = match &e {
        VolumeError::NotFound(_) | VolumeError::Driver(_) => 404,
        VolumeError::InUse { .. } => 409,
        VolumeError::InvalidName(_) | VolumeError::Invalid(_) => 400,
        VolumeError::Io { .. } => 500,
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
    let store = VolumeStore::new(paths);
    match (method, segs) {
        ("GET", ["volumes"]) => {
            let f = crate::volume::select::Filters::parse(&filter_strings(req)?)
                .map_err(|e| ApiError::bad_request(e.to_string()))?;
            let list: Vec<Value> = crate::volume::select::list(paths, &f)
                .iter()
                .map(crate::volume::Volume::inspect)
                .collect();
            conn.json(200, &json!({"Volumes": list, "Warnings": null}))
                .map_err(io)?;
            Ok(Outcome::Done)
        }
        ("POST", ["volumes", "create"]) => create(&store, conn, req),
        ("POST", ["volumes", "prune"]) => {
            // Before API 1.42 a prune took every unused volume, named or not.
            let old = req
                .path
                .strip_prefix("/v")
                .and_then(|p| p.split('/').next())
                .and_then(|v| v.split_once('.'))
                .and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?)))
                .is_some_and(|v| v < (1, 42));
            let f = crate::volume::select::PruneFilters::parse(&filter_strings(req)?, old)
                .map_err(|e| ApiError::bad_request(e.to_string()))?;
            let gone = crate::prune::volumes(paths, &f)?;
            conn.json(
                200,
                &json!({"VolumesDeleted": gone.removed, "SpaceReclaimed": gone.space}),
            )
            .map_err(io)?;
            Ok(Outcome::Done)
        }
        ("GET", ["volumes", name]) => {
            let v = store.get(name).map_err(volume_error)?;
            conn.json(200, &v.inspect()).map_err(io)?;
            Ok(Outcome::Done)
        }
        ("DELETE", ["volumes", name]) => {
            match store.remove(name, req.q_bool("force")) {
                Ok(()) => {}
                // docker's force: a volume that is not there is no error.
                Err(VolumeError::NotFound(_)) if req.q_bool("force") => {}
                Err(e) => return Err(volume_error(e)),
            }
            conn.no_content().map_err(io)?;
            Ok(Outcome::Done)
        }
        _ => Err(super::not_found_route(method, &segs.join("/"))),
    }
}

fn map_of(v: &Value, key: &str) -> BTreeMap<String, String> {
    v.get(key)
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
        .collect()
}

fn create(store: &VolumeStore, conn: &mut Conn, req: &mut Request) -> Handled {
    let body = conn.read_json(req)?;
    if body.get("ClusterVolumeSpec").is_some_and(|v| !v.is_null()) {
        return Err(ApiError::new(
            503,
            "cluster volumes need a swarm manager; rdock has no swarm mode",
        ));
    }
    let name = body
        .get("Name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty());
    let driver = body.get("Driver").and_then(Value::as_str).unwrap_or("");
    let v = store
        .create(
            name,
            driver,
            map_of(&body, "Labels"),
            map_of(&body, "DriverOpts"),
        )
        .map_err(|e| match e {
            // The engine names the volume it was asked for.
            VolumeError::Driver(_) => {
                ApiError::not_found(format!("create {}: {e}", name.unwrap_or_default()))
            }
            e => volume_error(e),
        })?;
    conn.json(201, &v.inspect()).map_err(io)?;
    Ok(Outcome::Done)
}
