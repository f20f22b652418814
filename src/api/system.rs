//! `/_ping`, `/version`, `/info`, `/events`, `/system/df`, `/auth`.

use super::http::{Conn, Request};
use super::{ApiError, Handled, Outcome};
use crate::paths::Paths;
use serde_json::Value;

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
        _ => {
            let _ = (req, Value::Null);
            Err(super::not_found_route(method, &segs.join("/")))
        }
    }
}
