//! `/images/...` as archives and history: `GET /images/{name}/history`,
//! `GET /images/get?names=` and `GET /images/{name}/get` (a
//! docker-archive), `POST /images/load` (an archive in the body).

use super::http::{Conn, Request};
use super::{ApiError, Handled, Outcome};
use crate::image::archive::load::{Input, LoadOptions};
use crate::image::archive::save::{Format, SaveOptions};
use crate::image::store::ImageStore;
use crate::paths::Paths;
use serde_json::{json, Value};
use std::os::fd::AsFd;

fn io(e: std::io::Error) -> ApiError {
    ApiError::io("answering", e)
}

/// `GET /images/{name}/history`: docker's [{Id, Created, CreatedBy,
/// Tags, Size, Comment}], newest first.
pub fn history(paths: &Paths, conn: &mut Conn, name: &str) -> Handled {
    let store = ImageStore::new(paths);
    let idx = store.index()?;
    let img = idx.lookup(name)?;
    let items: Vec<Value> = crate::image::history::history(&store, img)?
        .into_iter()
        .map(|h| {
            json!({
                "Id": h.id.unwrap_or_else(|| "<missing>".into()),
                "Created": h.created.map_or(0, |t| t.timestamp()),
                "CreatedBy": h.created_by,
                "Tags": if h.tags.is_empty() { Value::Null } else { json!(h.tags) },
                "Size": h.size,
                "Comment": h.comment,
            })
        })
        .collect();
    conn.json(200, &Value::Array(items)).map_err(io)?;
    Ok(Outcome::Done)
}

/// docker's `platform` parameter: an OCI platform as JSON.
fn platform(req: &Request) -> Result<Option<crate::image::oci::Platform>, ApiError> {
    let Some(raw) = req.q("platform").filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    let v: Value = serde_json::from_str(raw)
        .map_err(|e| ApiError::bad_request(format!("failed to parse platform: {e}")))?;
    let part = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default();
    let mut s = part("os").to_string();
    for k in ["architecture", "variant"] {
        if !part(k).is_empty() {
            s.push('/');
            s.push_str(part(k));
        }
    }
    crate::image::archive::parse_platform(&s)
        .map(Some)
        .map_err(|e| ApiError::bad_request(e.to_string()))
}

/// `GET /images/get?names=a&names=b`, or `GET /images/{name}/get`.
pub fn save(paths: &Paths, conn: &mut Conn, req: &Request, name: Option<&str>) -> Handled {
    let names: Vec<String> = match name {
        Some(n) => vec![n.to_string()],
        None => req
            .query
            .iter()
            .filter(|(k, _)| k == "names")
            .map(|(_, v)| v.clone())
            .collect(),
    };
    let opts = SaveOptions {
        format: Format::DockerArchive,
        platform: platform(req)?,
    };
    let store = ImageStore::new(paths);
    // Every name must be there before the answer starts: after it, an
    // error can only cut the stream short.
    {
        let idx = store.index()?;
        for n in &names {
            // docker names the image as it was asked for.
            idx.lookup(n)
                .map_err(|_| ApiError::not_found(format!("No such image: {n}")))?;
        }
    }
    conn.start_until_close(200, "application/x-tar")
        .map_err(io)?;
    // save writes to a File: the socket itself (a stream, not seekable).
    let sock = conn
        .stream
        .as_fd()
        .try_clone_to_owned()
        .map_err(|e| ApiError::io("the socket", e))?;
    let out = std::fs::File::from(sock);
    match crate::image::archive::save::save(&store, &names, &opts, &out) {
        Ok(()) => {
            for n in &names {
                crate::events::image(paths, "save", n, n);
            }
        }
        Err(e) => debug!("api: save {names:?}: {e}"),
    }
    Ok(Outcome::Close)
}

/// `POST /images/load?quiet=`: the archive is the body; docker's JSON
/// messages, one "Loaded image" line each.
pub fn load(paths: &Paths, conn: &mut Conn, req: &mut Request) -> Handled {
    let opts = LoadOptions {
        platform: platform(req)?,
    };
    // What killed commands left (docs/architecture.md, crash safety).
    crate::container::debris::sweep(paths);
    let store = ImageStore::new(paths);
    let lines = {
        let body = conn.body(req);
        crate::image::archive::load::load(&store, Input::Stream(Box::new(body)), &opts, None)
            .map_err(crate::Error::from)?
    };
    conn.start_chunked(200, "application/json").map_err(io)?;
    for l in lines {
        if let Some((_, what)) = l.split_once(": ") {
            crate::events::image(paths, "load", what, what);
        }
        conn.json_chunk(&json!({ "stream": format!("{l}\n") }))
            .map_err(io)?;
    }
    conn.end_chunks().map_err(io)?;
    Ok(Outcome::Done)
}
