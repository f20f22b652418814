//! `/containers/...`: list, create, inspect, start, stop, restart, kill,
//! wait, attach, resize, logs, rename, pause/unpause, delete.

use super::http::{Conn, Request};
use super::{ApiError, Handled, Outcome};
use crate::container::store::{Container, ContainerStore};
use crate::paths::Paths;
use serde_json::{json, Value};

pub fn route(
    paths: &Paths,
    conn: &mut Conn,
    req: &mut Request,
    method: &str,
    segs: &[&str],
) -> Handled {
    let store = ContainerStore::new(paths);
    match (method, segs) {
        ("GET", ["containers", "json"]) => list(paths, conn, req),
        ("POST", ["containers", "create"]) => create(paths, conn, req),
        // `rm --link`: the link's whole name ("/app/db"), slashes and all.
        ("DELETE", ["containers", name @ ..]) if req.q_bool("link") && !name.is_empty() => {
            let name = name.join("/");
            crate::container::network::remove_link(paths, &name)?;
            conn.no_content().map_err(io)?;
            Ok(Outcome::Done)
        }
        (_, ["containers", id, rest @ ..]) => {
            let res = store
                .resolve(id)
                .map_err(ApiError::from)
                .and_then(|c| one(paths, conn, req, method, &c, rest));
            // docker's words for kill name the container as asked, first.
            res.map_err(|mut a| {
                if rest == ["kill"] {
                    a.message = format!("cannot kill container: {id}: {}", a.message);
                }
                a
            })
        }
        _ => Err(super::not_found_route(method, &segs.join("/"))),
    }
}

fn io(e: std::io::Error) -> ApiError {
    ApiError::io("answering", e)
}

fn done(conn: &mut Conn) -> Handled {
    conn.no_content().map_err(io)?;
    Ok(Outcome::Done)
}

fn not_modified(conn: &mut Conn) -> Handled {
    conn.respond(304, "", b"").map_err(io)?;
    Ok(Outcome::Done)
}

fn one(
    paths: &Paths,
    conn: &mut Conn,
    req: &mut Request,
    method: &str,
    c: &Container,
    rest: &[&str],
) -> Handled {
    use crate::container::ops;
    match (method, rest) {
        ("GET", ["json"]) => {
            conn.json(200, &crate::container::inspect::inspect(paths, c))
                .map_err(io)?;
            Ok(Outcome::Done)
        }
        ("POST", ["start"]) => {
            if c.state.is_alive() {
                return not_modified(conn);
            }
            crate::container::monitor::start_detached(paths, c)?;
            done(conn)
        }
        ("POST", ["stop"]) => {
            if !c.state.is_alive() {
                return not_modified(conn);
            }
            ops::stop(
                paths,
                c,
                timeout(req)?,
                req.q("signal").filter(|s| !s.is_empty()),
            )?;
            done(conn)
        }
        ("POST", ["restart"]) => {
            if c.state.is_alive() {
                ops::stop(
                    paths,
                    c,
                    timeout(req)?,
                    req.q("signal").filter(|s| !s.is_empty()),
                )?;
            }
            let c = ContainerStore::new(paths).load(&c.config.id)?;
            crate::container::monitor::start_detached(paths, &c)?;
            crate::events::container(paths, &c.config, "restart", &[]);
            done(conn)
        }
        ("POST", ["kill"]) => {
            if !c.state.is_alive() {
                return Err(ApiError::new(
                    409,
                    format!("container {} is not running", c.config.id),
                ));
            }
            ops::kill(
                paths,
                c,
                req.q("signal").filter(|s| !s.is_empty()).unwrap_or("KILL"),
            )?;
            done(conn)
        }
        ("POST", ["exec"]) => super::exec::create(paths, conn, req, c),
        ("POST", ["wait"]) => super::attach::wait(paths, conn, req, c),
        ("POST", ["attach"]) => super::attach::attach(paths, conn, req, c),
        ("POST", ["resize"]) => {
            super::attach::resize(paths, req, c)?;
            conn.respond(200, "text/plain; charset=utf-8", b"")
                .map_err(io)?;
            Ok(Outcome::Done)
        }
        ("GET", ["logs"]) => logs(paths, conn, req, c),
        ("HEAD" | "GET" | "PUT", ["archive"]) => super::archive::route(paths, conn, req, method, c),
        ("GET", ["export"]) => super::container_ops::export(paths, conn, c),
        ("GET", ["changes"]) => super::container_ops::changes(paths, conn, c),
        ("GET", ["top"]) => super::container_ops::top(conn, req, c),
        ("GET", ["stats"]) => super::container_ops::stats(paths, conn, req, c),
        ("POST", ["update"]) => super::container_ops::update(paths, conn, req, c),
        ("POST", ["rename"]) => {
            ops::rename(paths, c, req.q("name").unwrap_or_default())?;
            done(conn)
        }
        ("POST", ["pause"]) => {
            ops::set_paused(paths, c, true)?;
            done(conn)
        }
        ("POST", ["unpause"]) => {
            ops::set_paused(paths, c, false)?;
            done(conn)
        }
        ("DELETE", []) => {
            ops::remove(paths, c, req.q_bool("force"))?;
            if req.q_bool("v") {
                crate::volume::release_anonymous(paths, &c.config.mounts)
                    .map_err(crate::Error::from)?;
            }
            done(conn)
        }
        _ => Err(super::not_found_route(method, &rest.join("/"))),
    }
}

fn timeout(req: &Request) -> Result<Option<i64>, ApiError> {
    match req.q("t").filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(t) => t
            .parse()
            .map(Some)
            .map_err(|_| ApiError::bad_request(format!("invalid value for t: {t}"))),
    }
}

fn create(paths: &Paths, conn: &mut Conn, req: &mut Request) -> Handled {
    let body = conn.read_json(req)?;
    let opts = super::create::options(&body, req.q("name").unwrap_or_default())?;
    let (c, warnings) = crate::container::lifecycle::create_warned(paths, &opts).map_err(|e| {
        let mut a = ApiError::from(e);
        // docker's "No such image: busybox:latest": the client pulls then.
        // Anything else missing (a `--volumes-from` container) is not a
        // 404, or the client would try to pull.
        if a.status == 404 && a.message.starts_with("No such image") {
            a.message = format!("No such image: {}", full_ref(&opts.image));
        } else if a.status == 404 {
            a.status = 400;
        }
        a
    })?;
    conn.json(201, &json!({"Id": c.config.id, "Warnings": warnings}))
        .map_err(io)?;
    Ok(Outcome::Done)
}

/// A reference with its tag, as docker's daemon names a missing image.
fn full_ref(image: &str) -> String {
    match crate::image::reference::Reference::parse(image) {
        Ok(r) => r.familiar(),
        Err(_) => image.to_string(),
    }
}

/// docker's container summary (`/containers/json`), from the inspect
/// document the CLI's `inspect` prints.
pub fn summary(paths: &Paths, c: &Container) -> Value {
    let ins = crate::container::inspect::inspect(paths, c);
    let command = c.config.command_line();
    let created = chrono::DateTime::parse_from_rfc3339(&c.config.created)
        .map(|t| t.timestamp())
        .unwrap_or(0);
    let mut ports = Vec::new();
    for (key, binds) in ins
        .pointer("/NetworkSettings/Ports")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let (port, proto) = key.split_once('/').unwrap_or((key, "tcp"));
        let private: u16 = port.parse().unwrap_or(0);
        match binds.as_array() {
            Some(list) if !list.is_empty() => {
                for b in list {
                    let public: u16 = b
                        .get("HostPort")
                        .and_then(Value::as_str)
                        .and_then(|p| p.parse().ok())
                        .unwrap_or(0);
                    ports.push(json!({"IP": b.get("HostIp").cloned().unwrap_or(Value::Null), "PrivatePort": private, "PublicPort": public, "Type": proto}));
                }
            }
            _ => ports.push(json!({"PrivatePort": private, "Type": proto})),
        }
    }
    let now = chrono::Utc::now();
    let time = |s: Option<&str>| {
        s.and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.with_timezone(&chrono::Utc))
    };
    let status = crate::util::human::status_text(
        c.state.display_status(),
        c.state.exit_code,
        time(c.state.started_at.as_deref()),
        time(c.state.finished_at.as_deref()),
        now,
    );
    json!({
        "Id": c.config.id,
        "Names": [format!("/{}", c.config.name)],
        "Image": c.config.image,
        "ImageID": c.config.image_id,
        "Command": command,
        "Created": created,
        "Ports": ports,
        "Labels": c.config.labels,
        "State": c.state.display_status(),
        "Status": status,
        "HostConfig": {"NetworkMode": ins.pointer("/HostConfig/NetworkMode").cloned().unwrap_or(Value::Null)},
        "NetworkSettings": {"Networks": ins.pointer("/NetworkSettings/Networks").cloned().unwrap_or(json!({}))},
        "Mounts": ins.get("Mounts").cloned().unwrap_or(json!([])),
    })
}

/// docker's filters query: `{"name":["web"]}` (or the old
/// `{"name":{"web":true}}`), as the CLI's `key=value` strings.
pub fn filter_strings(req: &Request) -> Result<Vec<String>, ApiError> {
    let Some(raw) = req.q("filters").filter(|s| !s.is_empty()) else {
        return Ok(Vec::new());
    };
    let v: Value = serde_json::from_str(raw)
        .map_err(|e| ApiError::bad_request(format!("invalid filter: {e}")))?;
    let mut out = Vec::new();
    for (k, vals) in v.as_object().into_iter().flatten() {
        match vals {
            Value::Array(a) => out.extend(
                a.iter()
                    .filter_map(Value::as_str)
                    .map(|s| format!("{k}={s}")),
            ),
            Value::Object(o) => out.extend(o.keys().map(|s| format!("{k}={s}"))),
            _ => {}
        }
    }
    Ok(out)
}

fn list(paths: &Paths, conn: &mut Conn, req: &Request) -> Handled {
    let filters = filter_strings(req)?;
    let limit = req
        .q("limit")
        .and_then(|l| l.parse::<i64>().ok())
        .filter(|&l| l > 0);
    let sel = crate::container::select::Selection {
        filters: &filters,
        all: req.q_bool("all"),
        last: limit.and_then(|l| usize::try_from(l).ok()),
    };
    let list = crate::container::select::select(paths, &sel).map_err(|e| {
        let mut a = ApiError::from(e);
        a.status = 400;
        a
    })?;
    let out: Vec<Value> = list.iter().map(|c| summary(paths, c)).collect();
    conn.json(200, &Value::Array(out)).map_err(io)?;
    Ok(Outcome::Done)
}

/// docker's time parameters: Unix seconds, with an optional fraction.
fn unix_time(s: &str) -> Result<chrono::DateTime<chrono::Utc>, ApiError> {
    let (secs, frac) = s.split_once('.').unwrap_or((s, "0"));
    let bad = || ApiError::bad_request(format!("invalid timestamp: {s}"));
    let secs: i64 = secs.parse().map_err(|_| bad())?;
    let nanos: u32 = format!("{frac:0<9}")
        .get(..9)
        .unwrap_or("0")
        .parse()
        .map_err(|_| bad())?;
    chrono::DateTime::from_timestamp(secs, nanos).ok_or_else(bad)
}

fn logs(paths: &Paths, conn: &mut Conn, req: &Request, c: &Container) -> Handled {
    let (out, err) = (req.q_bool("stdout"), req.q_bool("stderr"));
    if !out && !err {
        return Err(ApiError::bad_request(
            "Bad parameters: you must choose at least one stream",
        ));
    }
    if c.config.log.driver_name() == "none" {
        return Err(ApiError::bad_request(
            "configured logging driver does not support reading",
        ));
    }
    let time = |k: &str| match req.q(k).filter(|s| !s.is_empty() && *s != "0") {
        None => Ok(None),
        Some(s) => unix_time(s).map(Some),
    };
    let q = crate::container::log_read::LogQuery {
        since: time("since")?,
        until: time("until")?,
        tail: req
            .q("tail")
            .and_then(|t| t.parse::<i64>().ok())
            .and_then(|n| usize::try_from(n).ok()),
        follow: req.q_bool("follow"),
    };
    let stamps = req.q_bool("timestamps");
    let details = req.q_bool("details");
    let tty = c.config.tty;
    conn.start_chunked(
        200,
        if tty {
            "application/vnd.docker.raw-stream"
        } else {
            "application/vnd.docker.multiplexed-stream"
        },
    )
    .map_err(io)?;
    let store = ContainerStore::new(paths);
    let failed = std::cell::Cell::new(false);
    let client = conn.stream.raw_fd();
    let gone = || failed.get() || super::http::peer_closed(client);
    crate::container::log_read::read_until(&store, c, &q, gone, |e| {
        use crate::container::logs::Stream;
        let kind = match e.stream {
            Stream::Stdout if out => 1,
            Stream::Stderr if err => 2,
            _ => return,
        };
        let line = e.render(stamps, details);
        let data = if tty {
            line
        } else {
            super::attach::multiplexed(kind, &line)
        };
        if !failed.get() && conn.chunk(&data).is_err() {
            failed.set(true);
        }
    })?;
    if failed.get() {
        return Ok(Outcome::Close);
    }
    conn.end_chunks().map_err(io)?;
    Ok(Outcome::Done)
}
