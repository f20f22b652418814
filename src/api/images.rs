//! `/images/...`: list, inspect, create (pull, with docker's JSON progress
//! stream), tag, delete.

use super::http::{Conn, Request};
use super::{ApiError, Handled, Outcome};
use crate::image::reference::Reference;
use crate::image::store::ImageStore;
use crate::paths::Paths;
use serde_json::{json, Value};

fn io(e: std::io::Error) -> ApiError {
    ApiError::io("answering", e)
}

pub fn route(
    paths: &Paths,
    conn: &mut Conn,
    req: &mut Request,
    method: &str,
    segs: &[&str],
) -> Handled {
    match (method, segs) {
        ("GET", ["images", "json"]) => list(paths, conn, req),
        ("POST", ["images", "create"]) => create(paths, conn, req),
        ("GET", ["images", "search"]) => {
            let filters = super::containers::filter_strings(req)?;
            let limit = req.q("limit").and_then(|l| l.parse::<i64>().ok());
            let term = req.q("term").unwrap_or_default();
            let hits = crate::image::registry::search::search(term, limit, &filters)?;
            conn.json(200, &serde_json::to_value(hits).unwrap_or_default())
                .map_err(io)?;
            Ok(Outcome::Done)
        }
        ("GET", ["images", "get"]) => super::image_archive::save(paths, conn, req, None),
        ("POST", ["images", "load"]) => super::image_archive::load(paths, conn, req),
        ("GET", ["images", name @ .., "get"]) if !name.is_empty() => {
            super::image_archive::save(paths, conn, req, Some(&name.join("/")))
        }
        ("GET", ["images", name @ .., "history"]) if !name.is_empty() => {
            super::image_archive::history(paths, conn, &name.join("/"))
        }
        // Names hold slashes: everything between "images" and the action.
        ("GET", ["images", name @ .., "json"]) => {
            let store = ImageStore::new(paths);
            let idx = store.index()?;
            let img = idx.lookup(&name.join("/"))?;
            let v = crate::image::inspect::inspect(&store, img)?;
            conn.json(200, &v).map_err(io)?;
            Ok(Outcome::Done)
        }
        ("POST", ["images", name @ .., "push"]) => push(paths, conn, req, &name.join("/")),
        ("POST", ["images", name @ .., "tag"]) => {
            let repo = req.q("repo").unwrap_or_default();
            let tag = req.q("tag").filter(|t| !t.is_empty()).unwrap_or("latest");
            let target = Reference::parse(&format!("{repo}:{tag}")).map_err(crate::Error::from)?;
            crate::image::manage::tag(&ImageStore::new(paths), &name.join("/"), &target)?;
            conn.respond(201, "", b"").map_err(io)?;
            Ok(Outcome::Done)
        }
        ("DELETE", ["images", name @ ..]) if !name.is_empty() => {
            let containers = crate::container::store::ContainerStore::new(paths);
            let removal = crate::image::manage::remove(
                &ImageStore::new(paths),
                &name.join("/"),
                req.q_bool("force"),
                &containers.images_in_use(),
                &containers.layers_in_use(),
            )?;
            // "Untagged: x" / "Deleted: sha256:..." lines as docker's items.
            let items: Vec<Value> = removal
                .lines
                .iter()
                .filter_map(|l| l.split_once(": "))
                .map(|(k, v)| json!({ k: v }))
                .collect();
            conn.json(200, &Value::Array(items)).map_err(io)?;
            Ok(Outcome::Done)
        }
        _ => Err(super::not_found_route(method, &segs.join("/"))),
    }
}

fn unix(t: Option<&str>) -> i64 {
    t.and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.timestamp())
        .unwrap_or(0)
}

fn list(paths: &Paths, conn: &mut Conn, req: &Request) -> Handled {
    let store = ImageStore::new(paths);
    let filters = super::containers::filter_strings(req)?;
    let sel = crate::image::select::select(paths, &filters, &[]).map_err(|e| {
        let mut a = ApiError::from(e);
        a.status = 400;
        a
    })?;
    let mut out = Vec::new();
    for img in &sel.images {
        if !crate::image::select::matches_reference(img, &sel.references) {
            continue;
        }
        let labels = store
            .config(img)
            .ok()
            .and_then(|c| c.config.labels)
            .unwrap_or_default();
        let repo_digests: Vec<String> = img
            .digests
            .iter()
            .filter_map(|d| Reference::parse(d).ok())
            .map(|r| r.familiar())
            .collect();
        // With a reference filter, docker lists only the names it matched.
        let tags: Vec<String> = img
            .names
            .iter()
            .filter_map(|n| Reference::parse(n).ok())
            .filter(|r| {
                let repo = r.familiar_name();
                let named = format!("{repo}:{}", r.tag_str());
                sel.references.is_empty()
                    || sel.references.iter().any(|p| {
                        crate::image::select::glob(p, &repo)
                            || crate::image::select::glob(p, &named)
                    })
            })
            .map(|r| r.familiar())
            .collect();
        out.push(json!({
            "Containers": -1,
            "Created": unix(img.created.as_deref()),
            "Id": img.id,
            "Labels": labels,
            "ParentId": "",
            "RepoDigests": repo_digests,
            "RepoTags": tags,
            "SharedSize": -1,
            "Size": img.size,
        }));
    }
    conn.json(200, &Value::Array(out)).map_err(io)?;
    Ok(Outcome::Done)
}

/// `POST /images/create?fromImage=NAME&tag=TAG`: a pull, its progress as
/// docker's JSON messages. (`fromSrc`, an import, is not served yet.)
fn create(paths: &Paths, conn: &mut Conn, req: &mut Request) -> Handled {
    if let Some(src) = req.q("fromSrc").filter(|s| !s.is_empty()) {
        let src = src.to_string();
        return import(paths, conn, req, &src);
    }
    let Some(from) = req.q("fromImage").filter(|s| !s.is_empty()) else {
        return Err(ApiError::bad_request("fromImage or fromSrc is required"));
    };
    let tag = req.q("tag").unwrap_or_default();
    let name = match (tag.is_empty(), tag.starts_with("sha256:")) {
        (true, _) => from.to_string(),
        (false, true) => format!("{from}@{tag}"),
        (false, false) => format!("{from}:{tag}"),
    };
    let r = Reference::parse(&name).map_err(crate::Error::from)?;
    let platform = crate::image::registry::pull::PullOptions {
        platform: crate::image::oci::Platform::host(),
        credentials: registry_auth(req),
    };
    conn.start_chunked(200, "application/json").map_err(io)?;
    let stream = std::sync::Mutex::new(&mut *conn);
    let send = |v: Value| {
        if let Ok(mut c) = stream.lock() {
            let _ = c.json_chunk(&v);
        }
    };
    use crate::image::registry::pull::Event;
    let report = |ev: Event| match ev {
        Event::Start {
            tag_or_digest,
            repo,
        } => send(json!({"status": format!("Pulling from {repo}"), "id": tag_or_digest})),
        Event::Layer { id, status } => {
            send(json!({"status": status, "progressDetail": {}, "id": id}))
        }
        Event::Progress { id, current, total } => send(json!({
            "status": "Downloading",
            "progressDetail": {"current": current, "total": total},
            "id": id
        })),
        Event::Retrying { id, seconds } => send(
            json!({"status": format!("Retrying in {seconds} seconds"), "progressDetail": {}, "id": id}),
        ),
    };
    let store = ImageStore::new(paths);
    let result = crate::image::registry::pull::pull(&store, &r, &platform, &report);
    let conn = stream
        .into_inner()
        .map_err(|_| ApiError::new(500, "pull progress"))?;
    match result {
        Ok(p) => {
            crate::events::image(paths, "pull", &r.familiar(), &r.familiar_name());
            let _ = conn.json_chunk(&json!({"status": format!("Digest: {}", p.digest)}));
            let word = if p.up_to_date {
                "Image is up to date for"
            } else {
                "Downloaded newer image for"
            };
            let _ = conn.json_chunk(&json!({"status": format!("Status: {word} {}", r.familiar())}));
        }
        Err(e) => {
            let msg = crate::Error::from(e).to_string();
            let _ = conn.json_chunk(&json!({"errorDetail": {"message": msg}, "error": msg}));
        }
    }
    conn.end_chunks().map_err(io)?;
    Ok(Outcome::Done)
}

/// docker's X-Registry-Auth: base64url JSON with username and password
/// (or an identity token); absent or empty means the stored credentials.
/// Never logged.
pub fn registry_auth(req: &Request) -> Option<crate::image::registry::credentials::Credentials> {
    use base64::Engine;
    let raw = req.header("X-Registry-Auth")?.trim();
    let bytes = base64::engine::general_purpose::URL_SAFE
        .decode(raw)
        .or_else(|_| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(raw.trim_end_matches('='))
        })
        .or_else(|_| base64::engine::general_purpose::STANDARD.decode(raw))
        .ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    let s = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let (user, secret) = match (s("username"), s("password"), s("identitytoken")) {
        (u, p, _) if !u.is_empty() && !p.is_empty() => (u, p),
        (_, _, t) if !t.is_empty() => ("<token>".to_string(), t),
        _ => return None,
    };
    Some(crate::image::registry::credentials::Credentials {
        username: user,
        secret,
    })
}

/// `POST /images/{name}/push?tag=`: docker's JSON progress stream.
fn push(paths: &Paths, conn: &mut Conn, req: &Request, name: &str) -> Handled {
    let tag = req.q("tag").unwrap_or_default();
    let full = if tag.is_empty() {
        name.to_string()
    } else {
        format!("{name}:{tag}")
    };
    let r = Reference::parse(&full).map_err(crate::Error::from)?;
    let store = ImageStore::new(paths);
    // No tag: every tag of the repository (`push --all-tags`).
    let refs = match tag.is_empty() {
        true => {
            crate::image::registry::push::repository_tags(&store, &r).map_err(crate::Error::from)?
        }
        false => vec![r.clone()],
    };
    let creds = registry_auth(req);
    conn.start_chunked(200, "application/json").map_err(io)?;
    if refs.is_empty() {
        let msg = format!(
            "An image does not exist locally with the tag: {}",
            r.familiar_name()
        );
        let _ = conn.json_chunk(&json!({"errorDetail": {"message": msg}, "error": msg}));
        conn.end_chunks().map_err(io)?;
        return Ok(Outcome::Done);
    }
    for tr in &refs {
        if !push_one(paths, conn, &store, tr, creds.clone()) {
            break;
        }
    }
    conn.end_chunks().map_err(io)?;
    Ok(Outcome::Done)
}

/// One reference's push as docker's messages; false after a failure.
fn push_one(
    paths: &Paths,
    conn: &mut Conn,
    store: &ImageStore,
    r: &Reference,
    creds: Option<crate::image::registry::credentials::Credentials>,
) -> bool {
    let stream = std::sync::Mutex::new(&mut *conn);
    let send = |v: Value| {
        if let Ok(mut c) = stream.lock() {
            let _ = c.json_chunk(&v);
        }
    };
    use crate::image::registry::push::Event;
    let report = |ev: Event| match ev {
        Event::Start { repo } => {
            send(json!({"status": format!("The push refers to repository [{repo}]")}))
        }
        // A progress message: docker's CLI shows it on a terminal only.
        Event::Layer { id, status } if status == "Pushing" => send(json!({
            "status": status, "progressDetail": {"current": 1, "total": 1}, "id": id
        })),
        Event::Layer { id, status } => {
            send(json!({"status": status, "progressDetail": {}, "id": id}))
        }
    };
    let result = crate::image::registry::push::push_as(store, r, creds, &report);
    let Ok(conn) = stream.into_inner() else {
        return false;
    };
    match result {
        Ok(p) => {
            crate::events::image(paths, "push", &r.familiar(), &r.familiar_name());
            let _ = conn.json_chunk(
                &json!({"status": format!("{}: digest: {} size: {}", p.tag, p.digest, p.size)}),
            );
            let _ = conn.json_chunk(&json!({"progressDetail": {}, "aux": {"Tag": p.tag, "Digest": p.digest, "Size": p.size}}));
            true
        }
        Err(e) => {
            let msg = crate::Error::from(e).to_string();
            let _ = conn.json_chunk(&json!({"errorDetail": {"message": msg}, "error": msg}));
            false
        }
    }
}

/// `POST /images/create?fromSrc=-&repo=&tag=&message=&changes=`: the body
/// is the tar to import (docker's `import`).
fn import(paths: &Paths, conn: &mut Conn, req: &mut Request, src: &str) -> Handled {
    if src != "-" {
        return Err(ApiError::bad_request(
            "importing from a URL is not supported by rdock yet",
        ));
    }
    let repo = req.q("repo").unwrap_or_default().to_string();
    let tag = req.q("tag").unwrap_or_default().to_string();
    let name = match (repo.is_empty(), tag.is_empty()) {
        (true, _) => None,
        (false, true) => Some(Reference::parse(&repo).map_err(crate::Error::from)?),
        (false, false) => {
            Some(Reference::parse(&format!("{repo}:{tag}")).map_err(crate::Error::from)?)
        }
    };
    let changes: Vec<String> = req
        .query
        .iter()
        .filter(|(k, v)| k == "changes" && !v.is_empty())
        .map(|(_, v)| v.clone())
        .collect();
    let message = req
        .q("message")
        .filter(|m| !m.is_empty())
        .map(str::to_string);
    crate::container::debris::sweep(paths);
    let store = ImageStore::new(paths);
    let id = {
        let body = conn.body(req);
        crate::image::import::import(&store, body, &changes, message.as_deref(), name.as_ref())?
    };
    crate::events::image(paths, "import", &id, &id);
    conn.start_chunked(200, "application/json").map_err(io)?;
    conn.json_chunk(&json!({ "status": id })).map_err(io)?;
    conn.end_chunks().map_err(io)?;
    Ok(Outcome::Done)
}
