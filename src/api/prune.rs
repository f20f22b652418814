//! `POST /containers/prune` and `POST /images/prune`.

use super::containers::filter_strings;
use super::http::{Conn, Request};
use super::{ApiError, Handled, Outcome};
use crate::paths::Paths;
use serde_json::{json, Value};

fn io(e: std::io::Error) -> ApiError {
    ApiError::io("answering", e)
}

fn filter(req: &Request, keys: &[&str]) -> Result<crate::prune::PruneFilter, ApiError> {
    crate::prune::PruneFilter::parse(&filter_strings(req)?, keys)
        .map_err(|e| ApiError::bad_request(e.to_string()))
}

/// docker's null for an empty list.
fn list_or_null(v: Vec<Value>) -> Value {
    if v.is_empty() {
        Value::Null
    } else {
        Value::Array(v)
    }
}

pub fn route(
    paths: &Paths,
    conn: &mut Conn,
    req: &mut Request,
    method: &str,
    segs: &[&str],
) -> Handled {
    match (method, segs) {
        ("POST", ["containers", "prune"]) => {
            let f = filter(req, crate::prune::KEYS)?;
            // What killed commands left (docs/architecture.md, crash safety).
            crate::container::debris::sweep(paths);
            let gone = crate::prune::containers(paths, &f);
            for e in &gone.failures {
                debug!("container prune: {e}");
            }
            let ids = gone.removed.into_iter().map(Value::String).collect();
            conn.json(
                200,
                &json!({"ContainersDeleted": list_or_null(ids), "SpaceReclaimed": gone.space}),
            )
            .map_err(io)?;
            Ok(Outcome::Done)
        }
        ("POST", ["images", "prune"]) => {
            let f = filter(req, crate::prune::IMAGE_KEYS)?;
            crate::container::debris::sweep(paths);
            // The docker CLI sends dangling=true, or dangling=false for -a.
            let gone = crate::prune::images(paths, f.all_images, &f)?;
            let mut items = Vec::new();
            for g in gone.removed {
                items.extend(g.untagged.into_iter().map(|n| json!({"Untagged": n})));
                items.push(json!({"Deleted": g.id}));
            }
            conn.json(
                200,
                &json!({"ImagesDeleted": list_or_null(items), "SpaceReclaimed": gone.space}),
            )
            .map_err(io)?;
            Ok(Outcome::Done)
        }
        _ => Err(super::not_found_route(method, &segs.join("/"))),
    }
}
