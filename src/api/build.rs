//! `POST /build`: docker's legacy builder API (what `DOCKER_BUILDKIT=0
//! docker build`, docker-compose 1.29 and the SDKs use). The body is the
//! context as a tar (or a lone Dockerfile); the answer streams docker's
//! JSON messages: `{"stream": ...}` lines, `{"aux": {"ID": ...}}`, and
//! `{"error": ...}` on failure.

use super::http::{Conn, Request};
use super::{ApiError, Handled, Outcome};
use crate::build::{BuildOptions, Output, StepLimits};
use crate::container::config::NetworkMode;
use crate::image::reference::Reference;
use crate::image::store::ImageStore;
use crate::paths::Paths;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

fn json_map(req: &Request, key: &str) -> Result<BTreeMap<String, String>, ApiError> {
    match req.q(key).filter(|s| !s.is_empty()) {
        None => Ok(BTreeMap::new()),
        Some(s) => {
            let v: Value = serde_json::from_str(s)
                .map_err(|e| ApiError::bad_request(format!("invalid {key}: {e}")))?;
            Ok(v.as_object()
                .into_iter()
                .flatten()
                // A build arg of null takes its value from nowhere: left out.
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect())
        }
    }
}

/// What the query asks for, before the context is read.
struct Query {
    tags: Vec<Reference>,
    dockerfile: Option<String>,
    build_args: BTreeMap<String, String>,
    labels: BTreeMap<String, String>,
    target: Option<String>,
    network: NetworkMode,
    extra_hosts: Vec<String>,
    quiet: bool,
}

fn query(paths: &Paths, req: &Request) -> Result<Query, ApiError> {
    let mut tags = Vec::new();
    for (k, v) in &req.query {
        if k == "t" && !v.is_empty() {
            tags.push(Reference::parse(v).map_err(|e| ApiError::bad_request(e.to_string()))?);
        }
    }
    // docker's engine refuses them on Linux (the legacy builder's API).
    if req
        .q("securityopt")
        .is_some_and(|s| !s.is_empty() && s != "[]" && s != "null")
    {
        return Err(ApiError::bad_request(
            "security options are not supported on linux",
        ));
    }
    if let Some(iso) = req
        .q("isolation")
        .filter(|i| !i.is_empty() && *i != "default")
    {
        return Err(ApiError::bad_request(format!(
            "unsupported isolation: {iso:?}"
        )));
    }
    if req
        .q("cachefrom")
        .is_some_and(|c| !c.is_empty() && c != "[]")
    {
        return Err(ApiError::bad_request(
            "build --cache-from is not supported by rdock: its cache is local",
        ));
    }
    if let Some(p) = req.q("platform").filter(|p| !p.is_empty()) {
        let host = format!("linux/{}", crate::image::config::host_arch());
        if p != host {
            return Err(ApiError::bad_request(format!(
                "platform {p:?} is not supported: rdock builds for the host platform ({host}) only"
            )));
        }
    }
    let network = match req.q("networkmode").unwrap_or_default() {
        "" | "default" | "bridge" => NetworkMode::Bridge("bridge".into()),
        "host" => NetworkMode::Host,
        "none" => NetworkMode::None,
        other => NetworkMode::Bridge(
            crate::network::store::find(paths, other)
                .map_err(|e| ApiError::from(crate::Error::from(e)))?
                .name,
        ),
    };
    let extra_hosts = req
        .q("extrahosts")
        .unwrap_or_default()
        .split(',')
        .filter(|h| !h.is_empty())
        .filter_map(|h| h.split_once(':').or_else(|| h.split_once('=')))
        .map(|(name, ip)| format!("{ip}\t{name}"))
        .collect();
    Ok(Query {
        tags,
        dockerfile: req
            .q("dockerfile")
            .filter(|d| !d.is_empty())
            .map(str::to_string),
        build_args: json_map(req, "buildargs")?,
        labels: json_map(req, "labels")?,
        target: req
            .q("target")
            .filter(|t| !t.is_empty())
            .map(str::to_string),
        network,
        extra_hosts,
        quiet: req.q_bool("q"),
    })
}

pub fn build(paths: &Paths, conn: &mut Conn, req: &mut Request) -> Handled {
    let q = query(paths, req)?;
    crate::container::debris::sweep(paths);
    let images = ImageStore::new(paths);
    let loaded = {
        let mut body = conn.body(req);
        crate::build::remote::from_stream(
            &images,
            &mut body as &mut dyn Read,
            q.dockerfile.as_deref(),
        )
    };
    let io = |e| ApiError::io("answering", e);
    conn.start_chunked(200, "application/json").map_err(io)?;
    let result = loaded.and_then(|(context, dockerfile, dockerfile_name)| {
        let auths = registry_config(req);
        let fetch = |name: &str, always: bool| fetch_image(paths, name, always, &auths);
        let opts = BuildOptions {
            dockerfile,
            dockerfile_name,
            context: &context,
            tags: q.tags.clone(),
            build_args: q.build_args.clone(),
            target: q.target.clone(),
            no_cache: req.q_bool("nocache"),
            pull: req.q_bool("pull"),
            labels: q.labels.clone(),
            network: q.network.clone(),
            extra_hosts: q.extra_hosts.clone(),
            output: if q.quiet {
                Output::Quiet
            } else {
                Output::Plain
            },
            limits: StepLimits::default(),
            fetch_image: &fetch,
        };
        with_output_streamed(conn, || crate::build::build(paths, &opts))
    });
    match result {
        Ok(id) => {
            let _ = conn.json_chunk(&json!({"aux": {"ID": id}}));
            if q.quiet {
                // What docker's client prints for `-q`.
                let _ = conn.json_chunk(&json!({"stream": format!("{id}\n")}));
            }
        }
        Err(e) => {
            let msg = e.to_string();
            let _ = conn.json_chunk(&json!({"errorDetail": {"message": msg}, "error": msg}));
        }
    }
    conn.end_chunks().map_err(io)?;
    Ok(Outcome::Done)
}

/// docker's X-Registry-Config: base64url JSON of credentials by registry
/// (`{"host:5000": {"username": ..., "password": ...}}`), for the base
/// images a build pulls. Never logged.
fn registry_config(
    req: &Request,
) -> BTreeMap<String, crate::image::registry::credentials::Credentials> {
    use base64::Engine;
    let Some(raw) = req.header("X-Registry-Config").map(str::trim) else {
        return BTreeMap::new();
    };
    let engines = [
        base64::engine::general_purpose::URL_SAFE,
        base64::engine::general_purpose::STANDARD,
    ];
    let Some(bytes) = engines.iter().find_map(|e| e.decode(raw).ok()) else {
        return BTreeMap::new();
    };
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(&bytes) else {
        return BTreeMap::new();
    };
    map.into_iter()
        .filter_map(|(server, v)| {
            let s = |k: &str| {
                v.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            let (user, secret) = (s("username"), s("password"));
            (!user.is_empty() && !secret.is_empty()).then(|| {
                (
                    crate::image::registry::credentials::domain_of(Some(server.as_str())),
                    crate::image::registry::credentials::Credentials {
                        username: user,
                        secret,
                    },
                )
            })
        })
        .collect()
}

/// The base image, pulled when missing (or always, for `pull=1`), with
/// the request's credentials for its registry if it sent some.
fn fetch_image(
    paths: &Paths,
    name: &str,
    always: bool,
    auths: &BTreeMap<String, crate::image::registry::credentials::Credentials>,
) -> crate::Result<()> {
    let store = ImageStore::new(paths);
    if !always && store.index()?.lookup(name).is_ok() {
        return Ok(());
    }
    let r = Reference::parse(name)?;
    let opts = crate::image::registry::pull::PullOptions {
        platform: crate::image::oci::Platform::host(),
        credentials: auths.get(&r.domain).cloned(),
    };
    crate::image::registry::pull::pull(&store, &r, &opts, &|_| {})?;
    crate::events::image(paths, "pull", &r.familiar(), &r.familiar_name());
    Ok(())
}

/// Run `f` with this process's stdout and stderr (the builder's output,
/// and its RUN steps') going into the answer as `{"stream": ...}`
/// messages. A thread copies them while `f` runs: forks from `f` (RUN
/// steps) copy only the calling thread, which owns no lock the copier
/// holds.
fn with_output_streamed<T>(
    conn: &mut Conn,
    f: impl FnOnce() -> crate::Result<T>,
) -> crate::Result<T> {
    use std::io::Write;
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| crate::Error::msg(format!("pipe: {e}")))?;
    let mut sink = conn
        .stream
        .try_clone()
        .map_err(|e| crate::Error::msg(format!("the connection: {e}")))?;
    // SAFETY: dup of our own stdout and stderr, kept to restore them.
    let saved = unsafe { [libc::dup(1), libc::dup(2)] };
    if saved.iter().any(|&fd| fd < 0) {
        return Err(crate::Error::msg("dup of stdout failed"));
    }
    // SAFETY: both saved descriptors are valid and ours.
    let saved: Vec<OwnedFd> = saved
        .iter()
        .map(|&fd| unsafe { OwnedFd::from_raw_fd(fd) })
        .collect();
    // SAFETY: dup2 onto our own standard descriptors.
    unsafe {
        libc::dup2(w.as_raw_fd(), 1);
        libc::dup2(w.as_raw_fd(), 2);
    }
    drop(w);
    // A thread that takes no signals: a SIGCHLD taken by it would be lost
    // to the signalfd a RUN step waits on.
    let copier = crate::util::spawn_quiet(move || {
        let mut f = std::fs::File::from(r);
        let mut buf = vec![0u8; 16 * 1024];
        // One message per line, as docker's daemon sends them (the SDKs
        // match "Successfully built ID" against a whole message).
        let mut pending: Vec<u8> = Vec::new();
        let mut alive = true;
        loop {
            let n = f.read(&mut buf).unwrap_or_default();
            pending.extend_from_slice(buf.get(..n).unwrap_or_default());
            let cut = match n {
                0 => pending.len(),
                _ => pending
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |i| i.saturating_add(1)),
            };
            let ready: Vec<u8> = pending.drain(..cut).collect();
            for line in ready.split_inclusive(|&b| b == b'\n') {
                if alive && sink.write_all(&stream_frame(line)).is_err() {
                    // The client went away: keep draining so the build
                    // is not blocked on a full pipe.
                    alive = false;
                }
            }
            if n == 0 {
                break;
            }
        }
    });
    let result = f();
    let _ = std::io::stdout().flush();
    for (fd, old) in [1, 2].into_iter().zip(&saved) {
        // SAFETY: restoring our own standard descriptors.
        unsafe { libc::dup2(old.as_raw_fd(), fd) };
    }
    let _ = copier.join();
    result
}

/// One `{"stream": ...}` message as a chunk of the answer.
fn stream_frame(line: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(line);
    let mut msg = serde_json::to_vec(&json!({ "stream": text })).unwrap_or_default();
    msg.push(b'\n');
    let mut frame = format!("{:x}\r\n", msg.len()).into_bytes();
    frame.extend_from_slice(&msg);
    frame.extend_from_slice(b"\r\n");
    frame
}

/// `POST /build/prune?filters=&keep-storage=` (or `reserved-space=`):
/// docker's `{"CachesDeleted": [...], "SpaceReclaimed": N}`.
pub fn prune(paths: &Paths, conn: &mut Conn, req: &Request) -> Handled {
    let filters = super::containers::filter_strings(req)?;
    let keep = ["keep-storage", "reserved-space"]
        .iter()
        .find_map(|k| req.q(k).and_then(|v| v.parse::<u64>().ok()))
        .filter(|&n| n > 0);
    let filter = crate::build::prune::CacheFilter::parse(&filters, keep)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let pruned = crate::build::prune::prune(paths, &filter)?;
    let deleted: Vec<String> = pruned
        .keys
        .iter()
        .map(|k| k.chars().take(25).collect())
        .collect();
    conn.json(
        200,
        &json!({
            "CachesDeleted": if deleted.is_empty() { Value::Null } else { json!(deleted) },
            "SpaceReclaimed": pruned.size,
        }),
    )
    .map_err(|e| ApiError::io("answering", e))?;
    Ok(Outcome::Done)
}
