//! `/_ping`, `/version`, `/info`, `/events`, `/system/df`, `/auth`.

use super::http::{Conn, Request};
use super::{ApiError, Handled, Outcome};
use crate::paths::Paths;
use serde_json::{json, Value};

pub fn route(
    paths: &Paths,
    conn: &mut Conn,
    req: &mut Request,
    method: &str,
    segs: &[&str],
) -> Handled {
    let io = |e: std::io::Error| ApiError::io("writing the answer", e);
    match (method, segs) {
        ("GET" | "HEAD", ["_ping"]) => {
            // docker's ping: "OK" as text, with the version headers.
            let body: &[u8] = if method == "HEAD" { b"" } else { b"OK" };
            conn.respond(200, "text/plain; charset=utf-8", body)
                .map_err(io)?;
            Ok(Outcome::Done)
        }
        ("GET", ["version"]) => {
            let mut v = crate::engine::server_version();
            if let Some(o) = v.as_object_mut() {
                o.insert("MinAPIVersion".into(), super::MIN_API_VERSION.into());
            }
            if let Some(d) = v
                .pointer_mut("/Components/0/Details")
                .and_then(Value::as_object_mut)
            {
                d.insert("MinAPIVersion".into(), super::MIN_API_VERSION.into());
            }
            conn.json(200, &v).map_err(io)?;
            Ok(Outcome::Done)
        }
        ("GET", ["info"]) => {
            let mut v = crate::engine::info(paths)?;
            if let Some(o) = v.as_object_mut() {
                o.shift_remove("ClientInfo");
            }
            conn.json(200, &v).map_err(io)?;
            Ok(Outcome::Done)
        }
        ("POST", ["auth"]) => auth(conn, req),
        ("GET", ["events"]) => super::events::events(paths, conn, req),
        ("GET", ["system", "df"]) => {
            conn.json(200, &disk_usage(paths)?).map_err(io)?;
            Ok(Outcome::Done)
        }
        _ => {
            let _ = (req, Value::Null);
            Err(super::not_found_route(method, &segs.join("/")))
        }
    }
}

/// `POST /auth`: check the credentials with the registry, as docker's
/// daemon does for `docker login` (the client stores them itself).
fn auth(conn: &mut Conn, req: &mut Request) -> Handled {
    use crate::image::registry::credentials::{domain_of, Credentials};
    let body = conn.read_json(req)?;
    let s = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let server = s("serveraddress");
    let domain = domain_of(Some(server.as_str()).filter(|s| !s.is_empty()));
    let creds = Credentials {
        username: s("username"),
        secret: s("password"),
    };
    let settings =
        crate::image::registry::settings::Settings::load().map_err(crate::Error::from)?;
    let reg = crate::image::registry::client::Registry::new(&domain, Some(creds), &settings);
    reg.check_login().map_err(|e| match e {
        crate::image::registry::RegistryError::Unauthorized(_) => ApiError::new(
            401,
            format!(
                "login attempt to {} failed with status: 401 Unauthorized",
                reg.url("/v2/").unwrap_or_else(|_| domain.clone())
            ),
        ),
        e => ApiError::new(500, e.to_string()),
    })?;
    conn.json(
        200,
        &serde_json::json!({"IdentityToken": "", "Status": "Login Succeeded"}),
    )
    .map_err(|e| ApiError::io("answering", e))?;
    Ok(Outcome::Done)
}

fn unix(t: Option<&str>) -> i64 {
    t.and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.timestamp())
        .unwrap_or(0)
}

/// docker's DiskUsage document (`/system/df`), from what `system df`
/// counts.
fn disk_usage(paths: &Paths) -> Result<Value, ApiError> {
    use crate::image::reference::Reference;
    let u = crate::usage::usage(paths)?;
    let store = crate::image::store::ImageStore::new(paths);
    let images: Vec<Value> = u
        .images
        .iter()
        .map(|(img, users, shared)| {
            let familiar = |n: &String| {
                Reference::parse(n)
                    .map(|r| r.familiar())
                    .unwrap_or_else(|_| n.clone())
            };
            let labels = store
                .config(img)
                .ok()
                .and_then(|c| c.config.labels)
                .unwrap_or_default();
            json!({
                "Containers": users,
                "Created": unix(img.created.as_deref()),
                "Id": img.id,
                "Labels": labels,
                "ParentId": "",
                "RepoDigests": [],
                "RepoTags": img.names.iter().map(familiar).collect::<Vec<_>>(),
                "SharedSize": shared,
                "Size": img.size,
            })
        })
        .collect();
    let containers: Vec<Value> = u
        .containers
        .iter()
        .map(|(c, size)| {
            let mut v = super::containers::summary(paths, c);
            if let Some(o) = v.as_object_mut() {
                o.insert("SizeRw".into(), json!(size));
                o.insert("SizeRootFs".into(), json!(0));
            }
            v
        })
        .collect();
    let volumes: Vec<Value> = u
        .volumes
        .iter()
        .map(|(v, links, size)| {
            let mut d = v.inspect();
            if let Some(o) = d.as_object_mut() {
                o.insert("UsageData".into(), json!({"RefCount": links, "Size": size}));
            }
            d
        })
        .collect();
    Ok(json!({
        "LayersSize": u.layers_total,
        "Images": images,
        "Containers": containers,
        "Volumes": volumes,
        "BuildCache": build_cache(paths)?,
    }))
}

/// The build cache's records as docker's `BuildCache` lists them.
fn build_cache(paths: &Paths) -> Result<Vec<Value>, ApiError> {
    let time = |t: std::time::SystemTime| {
        chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
    };
    Ok(crate::build::prune::records(paths)?
        .into_iter()
        .map(|(e, size)| {
            let kind = match e.kind {
                crate::build::cache::Kind::Step => "regular",
                crate::build::cache::Kind::Mount => "exec.cachemount",
            };
            json!({
                "ID": e.key.chars().take(25).collect::<String>(),
                "Parents": null,
                "Type": kind,
                "Description": "",
                "InUse": false,
                "Shared": false,
                "Size": size,
                "CreatedAt": time(e.used),
                "LastUsedAt": time(e.used),
                "UsageCount": 1,
            })
        })
        .collect())
}
