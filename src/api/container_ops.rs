//! `/containers/{id}/...` beyond the lifecycle: export, changes, top,
//! stats, update, and `/commit`.

use super::http::{ChunkWriter, Conn, Request};
use super::{ApiError, Handled, Outcome};
use crate::container::stats::{self, Sample};
use crate::container::store::{Container, ContainerStore};
use crate::paths::Paths;
use serde_json::{json, Value};
use std::io::Write;
use std::time::{Duration, Instant};

fn io(e: std::io::Error) -> ApiError {
    ApiError::io("answering", e)
}

fn answer(conn: &mut Conn, status: u16, v: &Value) -> Handled {
    conn.json(status, v).map_err(io)?;
    Ok(Outcome::Done)
}

/// `GET /containers/{id}/export`: the container's filesystem as a tar.
pub fn export(paths: &Paths, conn: &mut Conn, c: &Container) -> Handled {
    conn.start_chunked(200, "application/x-tar").map_err(io)?;
    let w = std::io::BufWriter::with_capacity(1 << 20, ChunkWriter(conn));
    // Past the head an error can only cut the stream short, as docker's.
    let ok = match crate::container::export::export(paths, c, w) {
        Ok(mut w) => w.flush().is_ok(),
        Err(e) => {
            debug!("api: export of {}: {e}", c.config.name);
            false
        }
    };
    if !ok {
        return Ok(Outcome::Close);
    }
    conn.end_chunks().map_err(io)?;
    Ok(Outcome::Done)
}

/// `GET /containers/{id}/changes`: docker's [{"Path","Kind"}], Kind 0
/// changed, 1 added, 2 deleted.
pub fn changes(paths: &Paths, conn: &mut Conn, c: &Container) -> Handled {
    use crate::container::changes::Kind;
    let list: Vec<Value> = crate::container::changes::changes(paths, c)?
        .into_iter()
        .map(|(kind, path)| {
            let k = match kind {
                Kind::Changed => 0,
                Kind::Added => 1,
                Kind::Deleted => 2,
            };
            json!({"Path": path.display().to_string(), "Kind": k})
        })
        .collect();
    answer(conn, 200, &Value::Array(list))
}

/// `GET /containers/{id}/top?ps_args=`: docker's {"Titles","Processes"}.
pub fn top(conn: &mut Conn, req: &Request, c: &Container) -> Handled {
    if !c.state.is_alive() {
        return Err(ApiError::new(
            409,
            format!("container {} is not running", c.config.id),
        ));
    }
    let args: Vec<String> = req
        .q("ps_args")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let t = crate::container::top::top(c, &args)?;
    answer(
        conn,
        200,
        &json!({"Titles": t.titles, "Processes": t.processes}),
    )
}

/// `POST /containers/{id}/update`: Resources and RestartPolicy.
pub fn update(paths: &Paths, conn: &mut Conn, req: &mut Request, c: &Container) -> Handled {
    let body = conn.read_json(req)?;
    let mut r = crate::runtime::resources::Resources::default();
    super::create::resources(&mut r, &body);
    let restart = match body.get("RestartPolicy") {
        Some(p) => {
            let name = p.get("Name").and_then(Value::as_str).unwrap_or_default();
            let count = p
                .get("MaximumRetryCount")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            if name.is_empty() {
                None
            } else {
                Some(
                    crate::container::config::RestartPolicy::from_parts(name, count)
                        .map_err(ApiError::bad_request)?,
                )
            }
        }
        None => None,
    };
    crate::container::ops::update(paths, c, &r, restart).map_err(|e| {
        let mut a = ApiError::from(e);
        if a.status == 500 {
            a.status = 400;
        }
        a
    })?;
    answer(conn, 200, &json!({"Warnings": []}))
}

/// Every value of a repeated query parameter (`changes=a&changes=b`).
fn q_all(req: &Request, name: &str) -> Vec<String> {
    req.query
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .filter(|v| !v.is_empty())
        .collect()
}

/// `POST /commit?container=&repo=&tag=&comment=&author=&pause=&changes=`.
pub fn commit(paths: &Paths, conn: &mut Conn, req: &mut Request) -> Handled {
    if conn.read_json(req)? != Value::Null {
        debug!("api: commit's config body is not applied (only `changes`)");
    }
    let name = req.q("container").unwrap_or_default();
    let c = ContainerStore::new(paths).resolve(name)?;
    let repo = req.q("repo").unwrap_or_default();
    let tag = req.q("tag").unwrap_or_default();
    let reference = match (repo.is_empty(), tag.is_empty()) {
        (true, true) => None,
        (true, false) => {
            return Err(ApiError::bad_request(
                "invalid reference: repository name must be given with a tag",
            ))
        }
        (false, true) => Some(repo.to_string()),
        (false, false) => Some(format!("{repo}:{tag}")),
    };
    let name = reference
        .map(|r| crate::image::reference::Reference::parse(&r))
        .transpose()
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let id = crate::container::commit::commit(
        paths,
        &c,
        &crate::container::commit::CommitOptions {
            message: req.q("comment").filter(|s| !s.is_empty()).map(String::from),
            author: req.q("author").filter(|s| !s.is_empty()).map(String::from),
            changes: q_all(req, "changes"),
            pause: req.q_bool_or("pause", true),
            name,
        },
    )?;
    crate::events::container(paths, &c.config, "commit", &[("imageID", id.clone())]);
    answer(conn, 201, &json!({"Id": id}))
}

/// Go's RFC3339Nano of now, or Go's zero time.
fn go_now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

fn cpu_json(s: Option<&Sample>) -> Value {
    let Some(s) = s.filter(|s| s.running) else {
        // Go's omitempty leaves the zero counters out.
        return json!({
            "cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
            "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0},
        });
    };
    json!({
        "cpu_usage": {"total_usage": s.cpu_ns, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
        "system_cpu_usage": s.host.system_ns,
        "online_cpus": s.host.online_cpus,
        "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0},
    })
}

/// docker's stats JSON from a sample and the one before it (its
/// `precpu_stats`), with the numbers docker's CLI turns into the same row
/// as rdock's `stats` prints.
fn stats_json(c: &Container, prev: Option<(&Sample, &str)>, cur: &Sample, read: &str) -> Value {
    let u = stats::usage(prev.map(|p| p.0), cur);
    let mut v = json!({
        "name": format!("/{}", c.config.name),
        "id": c.config.id,
        "read": if cur.running { read } else { ZERO_TIME },
        "preread": prev.filter(|_| cur.running).map_or(ZERO_TIME, |p| p.1),
        "pids_stats": if cur.running { json!({"current": cur.pids}) } else { json!({}) },
        "blkio_stats": {
            "io_service_bytes_recursive": if cur.running { json!([
                {"major": 0, "minor": 0, "op": "read", "value": cur.blk_read},
                {"major": 0, "minor": 0, "op": "write", "value": cur.blk_write},
            ]) } else { Value::Null },
            "io_serviced_recursive": null, "io_queue_recursive": null,
            "io_service_time_recursive": null, "io_wait_time_recursive": null,
            "io_merged_recursive": null, "io_time_recursive": null,
            "sectors_recursive": null,
        },
        "num_procs": 0,
        "storage_stats": {},
        "cpu_stats": cpu_json(Some(cur)),
        "precpu_stats": cpu_json(prev.map(|p| p.0)),
        "memory_stats": if cur.running { json!({
            "usage": cur.mem_usage,
            "stats": {"inactive_file": cur.mem_inactive_file},
            "limit": u.mem_limit,
        }) } else { json!({}) },
    });
    // No interfaces of its own (host) or none but lo: docker lists none.
    use crate::container::config::NetworkMode;
    let net = cur.running && !matches!(c.config.network, NetworkMode::Host | NetworkMode::None);
    if let (true, Some(o)) = (net, v.as_object_mut()) {
        o.insert(
            "networks".into(),
            json!({"eth0": {
                "rx_bytes": cur.net_rx, "rx_packets": 0, "rx_errors": 0, "rx_dropped": 0,
                "tx_bytes": cur.net_tx, "tx_packets": 0, "tx_errors": 0, "tx_dropped": 0,
            }}),
        );
    }
    v
}

/// docker's daemon samples every second.
const INTERVAL: Duration = Duration::from_secs(1);

fn take(paths: &Paths, c: &Container) -> Result<(Container, Sample, String), ApiError> {
    // Loaded again: it may have stopped or started since.
    let c = ContainerStore::new(paths).load(&c.config.id)?;
    let s = stats::sample(&c, stats::host()?);
    Ok((c, s, go_now()))
}

/// `GET /containers/{id}/stats?stream=&one-shot=`: one document (a
/// second apart from its precpu sample, unless one-shot), or one a
/// second as a stream.
pub fn stats(paths: &Paths, conn: &mut Conn, req: &Request, c: &Container) -> Handled {
    let stream = req.q_bool_or("stream", true);
    let (mut c, mut prev, mut prev_read) = take(paths, c)?;
    if !stream {
        if !req.q_bool("one-shot") && prev.running {
            std::thread::sleep(INTERVAL);
            let (c2, cur, read) = take(paths, &c)?;
            return answer(
                conn,
                200,
                &stats_json(&c2, Some((&prev, &prev_read)), &cur, &read),
            );
        }
        return answer(conn, 200, &stats_json(&c, None, &prev, &prev_read));
    }
    conn.start_chunked(200, "application/json").map_err(io)?;
    if conn
        .json_chunk(&stats_json(&c, None, &prev, &prev_read))
        .is_err()
    {
        return Ok(Outcome::Close);
    }
    let mut last = Instant::now();
    loop {
        std::thread::sleep(INTERVAL.saturating_sub(last.elapsed()));
        last = Instant::now();
        let Ok((c2, cur, read)) = take(paths, &c) else {
            break;
        };
        let doc = stats_json(&c2, Some((&prev, &prev_read)), &cur, &read);
        if conn.json_chunk(&doc).is_err() {
            return Ok(Outcome::Close);
        }
        (c, prev, prev_read) = (c2, cur, read);
    }
    conn.end_chunks().map_err(io)?;
    Ok(Outcome::Done)
}
