//! The Docker Engine API on an opt-in socket (`rdock system service`): a
//! front end to the same library the CLI uses, on the same store and
//! locks. No daemon state: the service only accepts connections, and each
//! connection is served by a forked, single-threaded worker that runs the
//! library's blocking code (see `http.rs` for why not an async runtime).
//! Containers it starts are kept by their own monitors and outlive it.

pub mod archive;
pub mod attach;
pub mod build;
pub mod container_ops;
pub mod containers;
pub mod create;
pub mod events;
pub mod exec;
pub mod http;
pub mod image_archive;
pub mod images;
pub mod networks;
pub mod prune;
pub mod server;
pub mod system;
pub mod volumes;

use crate::paths::Paths;
use http::{Conn, Request};
use thiserror::Error;

/// The newest API version served: the engine's (docker 28's client's).
pub const API_VERSION: &str = crate::engine::API_VERSION;
/// The oldest, as docker 28's daemon.
pub const MIN_API_VERSION: &str = "1.24";
/// The engine version reported to clients.
pub const ENGINE_VERSION: &str = crate::engine::VERSION;

/// A failed request: docker's status code and `{"message": ...}`.
#[derive(Debug, Error)]
#[error("{message}")]
pub struct ApiError {
    pub status: u16,
    pub message: String,
}

impl ApiError {
    pub fn new(status: u16, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }
    pub fn bad_request(m: impl Into<String>) -> ApiError {
        ApiError::new(400, m)
    }
    pub fn not_found(m: impl Into<String>) -> ApiError {
        ApiError::new(404, m)
    }
    pub fn io(what: &str, e: std::io::Error) -> ApiError {
        ApiError::new(500, format!("{what}: {e}"))
    }
}

/// The status docker's daemon gives an error of this kind.
impl From<crate::Error> for ApiError {
    fn from(e: crate::Error) -> ApiError {
        use crate::container::ContainerError as C;
        use crate::image::ImageError as I;
        let status = match &e {
            crate::Error::Container(C::NotFound(_)) | crate::Error::Image(I::NotFound(_)) => 404,
            crate::Error::Container(C::NameInUse { .. } | C::Running(_) | C::ExecPaused(_)) => 409,
            crate::Error::Image(I::InUse { .. } | I::MultipleRefs(_)) => 409,
            crate::Error::Container(C::InvalidName(_) | C::Invalid(_) | C::Ambiguous(_))
            | crate::Error::Client(_)
            | crate::Error::Reference(_) => 400,
            _ => 500,
        };
        ApiError::new(status, e.to_string())
    }
}

impl From<crate::container::ContainerError> for ApiError {
    fn from(e: crate::container::ContainerError) -> ApiError {
        crate::Error::from(e).into()
    }
}

impl From<crate::image::ImageError> for ApiError {
    fn from(e: crate::image::ImageError) -> ApiError {
        crate::Error::from(e).into()
    }
}

/// What a handler did with the connection.
pub enum Outcome {
    /// Answered; the connection can take another request.
    Done,
    /// The connection was taken over (hijacked or streamed to its end).
    Close,
}

pub type Handled = Result<Outcome, ApiError>;

/// The API version a request asks for (`/v1.47/...`), and its path
/// without it.
fn split_version(path: &str) -> (Option<&str>, &str) {
    let Some(rest) = path.strip_prefix("/v") else {
        return (None, path);
    };
    match rest.find('/') {
        Some(i) if rest.get(..i).is_some_and(|v| v.contains('.')) => {
            (rest.get(..i), rest.get(i..).unwrap_or("/"))
        }
        _ => (None, path),
    }
}

fn version_key(v: &str) -> (u32, u32) {
    let (a, b) = v.split_once('.').unwrap_or((v, "0"));
    (a.parse().unwrap_or(0), b.parse().unwrap_or(0))
}

/// docker's refusal of a version it does not serve.
fn check_version(v: Option<&str>) -> Result<(), ApiError> {
    let Some(v) = v else { return Ok(()) };
    if version_key(v) > version_key(API_VERSION) {
        return Err(ApiError::bad_request(format!(
            "client version {v} is too new. Maximum supported API version is {API_VERSION}"
        )));
    }
    if version_key(v) < version_key(MIN_API_VERSION) {
        return Err(ApiError::bad_request(format!(
            "client version {v} is too old. Minimum supported API version is {MIN_API_VERSION}, please upgrade your client to a newer version"
        )));
    }
    Ok(())
}

/// Serve requests on one connection until it closes or is taken over.
pub fn serve_connection(paths: &Paths, mut conn: Conn) {
    loop {
        let mut req = match conn.read_request() {
            Ok(Some(r)) => r,
            Ok(None) => return,
            Err(e) => {
                let _ = conn.error(&e);
                return;
            }
        };
        let outcome = dispatch(paths, &mut conn, &mut req);
        match outcome {
            Ok(Outcome::Done) => {}
            Ok(Outcome::Close) => return,
            Err(e) => {
                if conn.error(&e).is_err() {
                    return;
                }
            }
        }
        if conn.drain_body(&mut req).is_err() {
            return;
        }
    }
}

fn dispatch(paths: &Paths, conn: &mut Conn, req: &mut Request) -> Handled {
    let full = req.path.clone();
    let (version, path) = split_version(&full);
    check_version(version)?;
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let method = req.method.clone();
    // The query's names only: its values may be long (build args) or
    // private.
    let keys: Vec<&str> = req.query.iter().map(|(k, _)| k.as_str()).collect();
    debug!("api: {method} {full} {keys:?}");
    match segs.first().copied().unwrap_or("") {
        "_ping" | "version" | "info" | "events" | "system" | "auth" => {
            system::route(paths, conn, req, &method, &segs)
        }
        "containers" | "images" if segs.len() == 2 && segs.get(1) == Some(&"prune") => {
            prune::route(paths, conn, req, &method, &segs)
        }
        "networks" => networks::route(paths, conn, req, &method, &segs),
        "volumes" => volumes::route(paths, conn, req, &method, &segs),
        "containers" => containers::route(paths, conn, req, &method, &segs),
        "images" => images::route(paths, conn, req, &method, &segs),
        "exec" => exec::route(paths, conn, req, &method, &segs),
        "build" if method == "POST" && segs.len() == 1 => build::build(paths, conn, req),
        "build" if method == "POST" && segs.get(1) == Some(&"prune") => {
            build::prune(paths, conn, req)
        }
        // No swarm here, as on an engine that never joined one.
        "swarm" | "nodes" | "services" | "tasks" | "secrets" | "configs" => {
            Err(no_swarm(segs.get(1) == Some(&"leave")))
        }
        "plugins" if method == "GET" && segs.len() == 1 => {
            conn.json(200, &serde_json::json!([]))
                .map_err(|e| ApiError::io("answering", e))?;
            Ok(Outcome::Done)
        }
        "commit" if method == "POST" => container_ops::commit(paths, conn, req),
        _ => Err(not_found_route(&method, path)),
    }
}

/// docker's answer on a node outside any swarm.
fn no_swarm(leaving: bool) -> ApiError {
    ApiError::new(
        503,
        if leaving {
            "This node is not part of a swarm"
        } else {
            "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this node to swarm and try again."
        },
    )
}

/// docker's answer for a path it has no route for.
pub fn not_found_route(method: &str, path: &str) -> ApiError {
    let _ = method;
    ApiError::not_found(format!("page not found: {path}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_split_and_checked() {
        assert_eq!(
            split_version("/v1.47/containers/json"),
            (Some("1.47"), "/containers/json")
        );
        assert_eq!(split_version("/_ping"), (None, "/_ping"));
        assert_eq!(split_version("/volumes/x"), (None, "/volumes/x"));
        assert!(check_version(Some("1.50")).is_ok());
        assert!(check_version(Some("1.24")).is_ok());
        assert_eq!(check_version(Some("1.51")).unwrap_err().status, 400);
        assert!(check_version(Some("1.12"))
            .unwrap_err()
            .message
            .contains("too old"));
        assert!(check_version(Some("1.9")).is_err());
    }
}
