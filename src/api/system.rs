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
        ("POST", ["auth"]) => auth(conn, req),
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
