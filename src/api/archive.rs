//! `/containers/{id}/archive`: what `docker cp` asks of a daemon. HEAD
//! stats a path (the `X-Docker-Container-Path-Stat` header), GET tars it,
//! PUT extracts a tar into a directory; docker's CLI does the rest (the
//! path rules, its own tars), so these are `container::cp::daemon`'s.

use super::http::{ChunkWriter, Conn, Request};
use super::{ApiError, Handled, Outcome};
use crate::container::cp::daemon::{self, PathArchive, PathStat};
use crate::container::cp::CpError;
use crate::container::store::Container;
use crate::paths::Paths;
use base64::Engine;
use std::io::Write;

const STAT_HEADER: &str = "X-Docker-Container-Path-Stat";

fn io(e: std::io::Error) -> ApiError {
    ApiError::io("answering", e)
}

/// docker's status for a copy's error.
fn cp_error(e: CpError) -> ApiError {
    match e {
        CpError::Container(e) => e.into(),
        CpError::NotFound { .. } => ApiError::not_found(e.to_string()),
        CpError::ExtractionNotDirectory
        | CpError::VolumeReadOnly
        | CpError::RootfsReadOnly
        | CpError::PseudoFs(_) => ApiError::bad_request(e.to_string()),
        e => ApiError::new(500, e.to_string()),
    }
}

/// The container as the client named it in the URL: docker's messages
/// ("Could not find the file /x in container web") use that name.
fn client_name<'a>(req: &'a Request, c: &'a Container) -> &'a str {
    let mut segs = req.path.split('/');
    segs.by_ref().find(|s| *s == "containers");
    segs.next()
        .filter(|s| !s.is_empty())
        .unwrap_or(&c.config.name)
}

fn path_param(req: &Request) -> Result<&str, ApiError> {
    req.q("path")
        .filter(|p| !p.is_empty())
        .ok_or_else(|| ApiError::bad_request("bad parameter: pathcannot be empty"))
}

fn stat_header(st: &PathStat) -> String {
    let json = serde_json::to_vec(st).unwrap_or_default();
    base64::engine::general_purpose::STANDARD.encode(json)
}

pub fn route(
    paths: &Paths,
    conn: &mut Conn,
    req: &mut Request,
    method: &str,
    c: &Container,
) -> Handled {
    match method {
        "HEAD" => head(paths, conn, req, c),
        "GET" => get(paths, conn, req, c),
        "PUT" => put(paths, conn, req, c),
        _ => Err(super::not_found_route(method, &req.path)),
    }
}

/// A HEAD answer has no body, an error's neither (the client would read
/// its JSON as the next answer).
fn head(paths: &Paths, conn: &mut Conn, req: &Request, c: &Container) -> Handled {
    let st = path_param(req)
        .and_then(|p| daemon::stat_path(paths, c, client_name(req, c), p).map_err(cp_error));
    match st {
        Ok(st) => conn
            .respond_with(200, "", &[(STAT_HEADER, &stat_header(&st))], b"")
            .map_err(io)?,
        Err(e) => conn
            .respond(e.status, "application/json", b"")
            .map_err(io)?,
    }
    Ok(Outcome::Done)
}

fn get(paths: &Paths, conn: &mut Conn, req: &Request, c: &Container) -> Handled {
    let path = path_param(req)?;
    let archive = PathArchive::open(paths, c, client_name(req, c), path).map_err(cp_error)?;
    conn.start_chunked_with(
        200,
        "application/x-tar",
        &[(STAT_HEADER, &stat_header(&archive.stat))],
    )
    .map_err(io)?;
    let mut w = std::io::BufWriter::with_capacity(128 * 1024, ChunkWriter(conn));
    // Past the header, an error can only cut the stream short, as docker's.
    let ok = archive.write(&mut w).is_ok() && w.flush().is_ok();
    drop(w);
    if !ok {
        return Ok(Outcome::Close);
    }
    conn.end_chunks().map_err(io)?;
    Ok(Outcome::Done)
}

fn put(paths: &Paths, conn: &mut Conn, req: &mut Request, c: &Container) -> Handled {
    let path = path_param(req)?.to_string();
    let copy_ids = req.q_bool("copyUIDGID");
    let name = client_name(req, c).to_string();
    let mut body = conn.body(req);
    daemon::extract_to_dir(paths, c, &name, &path, &mut body, copy_ids).map_err(cp_error)?;
    conn.respond(200, "", b"").map_err(io)?;
    Ok(Outcome::Done)
}
