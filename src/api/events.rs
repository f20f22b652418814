//! `GET /events`: the journal's messages as docker's stream of JSON
//! lines, the past from `since` (or up to `until`), then followed until
//! `until` passes or the client goes away.

use super::containers::filter_strings;
use super::http::{Conn, Request};
use super::{ApiError, Handled, Outcome};
use crate::events::read::{follow, Filters, Flow, Query};
use crate::paths::Paths;
use std::cell::RefCell;

/// docker's `since`/`until`: Unix seconds with a fraction as its client
/// sends them, or any of the forms its CLI reads.
fn time(req: &Request, key: &str) -> Result<Option<chrono::DateTime<chrono::Utc>>, ApiError> {
    match req.q(key).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => crate::util::timearg::parse_time(s, chrono::Utc::now())
            .map(Some)
            .map_err(|e| ApiError::bad_request(e.to_string())),
    }
}

pub fn events(paths: &Paths, conn: &mut Conn, req: &Request) -> Handled {
    let filters =
        Filters::parse(&filter_strings(req)?).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let q = Query {
        since: time(req, "since")?,
        until: time(req, "until")?,
        filters,
    };
    q.check(
        req.q("since").unwrap_or_default(),
        req.q("until").unwrap_or_default(),
    )
    .map_err(|e| ApiError::bad_request(e.to_string()))?;
    conn.start_chunked(200, "application/json")
        .map_err(|e| ApiError::io("answering", e))?;
    let conn = RefCell::new(conn);
    let gone = std::cell::Cell::new(false);
    let mut emit = |m: &crate::events::Message| -> Result<Flow, std::convert::Infallible> {
        let v = serde_json::to_value(m).unwrap_or_default();
        if conn.borrow_mut().json_chunk(&v).is_err() {
            gone.set(true);
            return Ok(Flow::Stop);
        }
        Ok(Flow::More)
    };
    let mut idle = || {
        if conn.borrow().peer_closed() {
            gone.set(true);
            return Flow::Stop;
        }
        Flow::More
    };
    let _ = follow(paths, &q, &mut emit, &mut idle);
    if gone.get() {
        return Ok(Outcome::Close);
    }
    conn.borrow_mut()
        .end_chunks()
        .map_err(|e| ApiError::io("answering", e))?;
    Ok(Outcome::Done)
}
