//! Blob transfers that survive a flaky registry, as docker's do.
//!
//! docker (moby's `distribution/xfer`) gives each layer download 5
//! attempts (`max-download-attempts`) and each layer upload 5, waiting
//! 5 s × the attempts so far between them while the layer's progress line
//! counts down "Retrying in N seconds". It retries network failures and
//! server errors, not answers such as "denied" or "unknown blob".
//! Manifests and configs are not retried. A download that failed part way
//! resumes where it stopped with a `Range` request; docker can because it
//! keeps the partial blob in a temporary file, rdock because the resume
//! happens inside the reader that hashing and extraction pull from, which
//! never see the break. Uploads start over (docker's do too).

use super::client::{body_error, net_error, read_small, url_host, Registry};
use super::RegistryError;
use crate::image::oci::Descriptor;
use crate::image::reference::Reference;
use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use ureq::http::{Method, Response};
use ureq::Body;

/// What a pull reports as it goes, in docker's words.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// "latest: Pulling from library/busybox"
    Start { tag_or_digest: String, repo: String },
    /// Per layer (12-hex short ID): "Pulling fs layer", "Already exists",
    /// "Waiting", "Verifying Checksum", "Download complete", "Pull complete".
    Layer { id: String, status: &'static str },
    /// Bytes of a layer received so far.
    Progress {
        id: String,
        current: u64,
        total: u64,
    },
    /// A layer download failed and starts again in `seconds`: docker's
    /// countdown, one event a second.
    Retrying { id: String, seconds: u64 },
}

/// docker's attempts at a layer upload (`maxUploadAttempts`).
pub const UPLOAD_ATTEMPTS: u32 = 5;

/// Counts the attempts at one transfer and waits between them.
pub struct Retry<'a> {
    max: u32,
    attempt: u32,
    tick: Duration,
    abort: Option<&'a AtomicBool>,
}

impl<'a> Retry<'a> {
    /// `max` attempts in all; `tick` is one second of the countdown (see
    /// `Timeouts::backoff_tick`); `abort` cuts a wait short (another
    /// layer of the pull failed).
    pub fn new(max: u32, tick: Duration, abort: Option<&'a AtomicBool>) -> Retry<'a> {
        Retry {
            max: max.max(1),
            attempt: 1,
            tick,
            abort,
        }
    }

    /// The attempt under way, counting from 1.
    pub fn attempts(&self) -> u32 {
        self.attempt
    }

    pub fn aborted(&self) -> bool {
        self.abort.is_some_and(|a| a.load(Ordering::Relaxed))
    }

    /// After a failed attempt: false when it was the last one (or the wait
    /// was aborted); else docker's wait, its seconds counted down through
    /// `countdown`, then true.
    pub fn again(&mut self, countdown: &mut dyn FnMut(u64)) -> bool {
        if self.attempt >= self.max || self.aborted() {
            return false;
        }
        let delay = 5u64.saturating_mul(u64::from(self.attempt));
        self.attempt = self.attempt.saturating_add(1);
        for left in (1..=delay).rev() {
            countdown(left);
            if !self.sleep(self.tick) {
                return false;
            }
        }
        true
    }

    /// Sleep, waking early (false) when aborted.
    fn sleep(&self, d: Duration) -> bool {
        // A tick too long to add to the clock is an endless wait.
        let end = Instant::now().checked_add(d);
        loop {
            if self.aborted() {
                return false;
            }
            let now = Instant::now();
            let left = end.map_or(Duration::MAX, |end| end.saturating_duration_since(now));
            if left.is_zero() {
                return true;
            }
            std::thread::sleep(left.min(Duration::from_millis(50)));
        }
    }
}

/// docker's countdown line: "Retrying in 5 seconds", "Retrying in 1 second".
pub fn retrying_text(seconds: u64) -> String {
    let s = if seconds == 1 { "" } else { "s" };
    format!("Retrying in {seconds} second{s}")
}

/// GET a blob from byte `from` on (a `Range` request when above 0): the
/// answer, whose status is 200 or 206, and the URL it came from (after
/// redirects).
pub fn open_blob(
    reg: &Registry,
    r: &Reference,
    digest: &str,
    scope: &str,
    from: u64,
) -> Result<(Response<Body>, String), RegistryError> {
    let path = format!("/v2/{}/blobs/{digest}", r.path);
    let range = format!("bytes={from}-");
    let headers: &[(&str, &str)] = if from > 0 {
        &[("Range", range.as_str())]
    } else {
        &[]
    };
    let (mut resp, url) = reg.get_traced(&path, scope, headers)?;
    match resp.status().as_u16() {
        200 => Ok((resp, url)),
        206 if from > 0 => Ok((resp, url)),
        401 | 403 => Err(RegistryError::Denied(r.familiar_name())),
        status => Err(RegistryError::Status {
            url,
            status,
            msg: body_error(&mut resp),
        }),
    }
}

/// A small blob (a config) read whole, not retried (as docker does not).
pub fn read_blob(
    reg: &Registry,
    r: &Reference,
    digest: &str,
    scope: &str,
) -> Result<Vec<u8>, RegistryError> {
    let (mut resp, url) = open_blob(reg, r, digest, scope, 0)?;
    read_small(&mut resp, &url, &reg.timeouts)
}

/// A layer's bytes as one stream, however many requests it takes: a
/// failed read is retried (`Retry`) from the byte it stopped at. Reports
/// progress and the countdowns; stops once another layer failed.
pub struct BlobDownload<'a, 'r> {
    reg: &'a Registry,
    r: &'a Reference,
    scope: &'a str,
    desc: &'a Descriptor,
    id: String,
    body: Option<Box<dyn Read + Send>>,
    /// Where the current answer comes from; the registry's URL until one
    /// is had.
    url: String,
    /// Bytes handed on so far.
    offset: u64,
    /// Bytes of a whole answer to a `Range` request to drop first.
    skip: u64,
    last_report: u64,
    retry: &'r mut Retry<'a>,
    report: &'a (dyn Fn(Event) + Sync),
    /// Whether any bytes came from a resumed request.
    pub resumed: bool,
    /// Why the stream failed, when it did: what the caller reports, not
    /// the I/O error the consumer wraps it in.
    pub failure: Option<RegistryError>,
}

impl<'a, 'r> BlobDownload<'a, 'r> {
    pub fn new(
        reg: &'a Registry,
        r: &'a Reference,
        scope: &'a str,
        desc: &'a Descriptor,
        report: &'a (dyn Fn(Event) + Sync),
        retry: &'r mut Retry<'a>,
    ) -> BlobDownload<'a, 'r> {
        BlobDownload {
            reg,
            r,
            scope,
            desc,
            id: desc
                .digest()
                .as_ref()
                .trim_start_matches("sha256:")
                .chars()
                .take(12)
                .collect(),
            body: None,
            url: String::new(),
            offset: 0,
            skip: 0,
            last_report: 0,
            retry,
            report,
            resumed: false,
            failure: None,
        }
    }

    fn open(&mut self) -> Result<(), RegistryError> {
        let path = format!("/v2/{}/blobs/{}", self.r.path, self.desc.digest());
        self.url = self.reg.url(&path)?;
        let (resp, url) = open_blob(
            self.reg,
            self.r,
            self.desc.digest().as_ref(),
            self.scope,
            self.offset,
        )?;
        self.url = url;
        self.skip = 0;
        if resp.status().as_u16() == 206 {
            let start = resp
                .headers()
                .get("content-range")
                .and_then(|v| v.to_str().ok())
                .and_then(range_start);
            // None too when the range starts past what we have.
            match start.and_then(|s| self.offset.checked_sub(s)) {
                Some(skip) => self.skip = skip,
                None => {
                    return Err(RegistryError::Http {
                        url: self.url.clone(),
                        msg: format!("a range from byte {} was asked, not this one", self.offset),
                    })
                }
            }
        } else {
            // A server without ranges sends the whole blob again.
            self.skip = self.offset;
        }
        self.resumed |= self.offset > 0;
        self.body = Some(Box::new(resp.into_body().into_reader()));
        Ok(())
    }

    /// One read: Some(bytes handed on), None when nothing was (a request
    /// made, or bytes skipped).
    fn step(&mut self, buf: &mut [u8]) -> Result<Option<usize>, RegistryError> {
        let Some(body) = self.body.as_mut() else {
            self.open()?;
            return Ok(None);
        };
        let n = body.read(buf).map_err(|e| {
            net_error(
                &Method::GET,
                &self.url,
                ureq::Error::from(e),
                &self.reg.timeouts,
            )
        })?;
        if n == 0 {
            // The answer's end (ureq fails one cut short of its length).
            // Shorter than the descriptor says is the digest check's to
            // refuse: it is what the registry has, and will send again.
            return Ok(Some(0));
        }
        // Bytes before `offset` that the server sends again are dropped.
        let skipped = self.skip.min(n as u64);
        self.skip = self.skip.saturating_sub(skipped);
        let fresh = skipped as usize..n;
        let Some(kept) = buf.get(fresh.clone()).map(<[u8]>::len).filter(|&k| k > 0) else {
            return Ok(None);
        };
        buf.copy_within(fresh, 0);
        self.offset = self.offset.saturating_add(kept as u64);
        // Every 512 KiB is plenty for a display, and the last bytes.
        let done = self.desc.size() > 0 && self.offset >= self.desc.size();
        if self.offset.saturating_sub(self.last_report) >= 512 * 1024 || done {
            self.last_report = self.offset;
            (self.report)(Event::Progress {
                id: self.id.clone(),
                current: self.offset,
                total: self.desc.size(),
            });
        }
        Ok(Some(kept))
    }

    /// The error to report for good: after retries, one that names the
    /// layer, the host and the attempts.
    fn give_up(&self, e: RegistryError) -> RegistryError {
        if self.retry.aborted() {
            return RegistryError::Aborted;
        }
        if !e.is_retryable() {
            return e;
        }
        // The host that failed: blob storage, when the registry redirects.
        let host = url_host(e.url().unwrap_or(&self.url));
        RegistryError::Transfer {
            what: format!("downloading layer {} from {host}", self.desc.digest()),
            cause: e.cause(),
            attempts: self.retry.attempts(),
        }
    }
}

/// The first byte of a `Content-Range: bytes START-END/TOTAL`.
fn range_start(v: &str) -> Option<u64> {
    v.trim()
        .strip_prefix("bytes ")?
        .split('-')
        .next()?
        .trim()
        .parse()
        .ok()
}

impl Read for BlobDownload<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.retry.aborted() {
                return Err(io::Error::other("pull aborted"));
            }
            let err = match self.step(buf) {
                Ok(Some(n)) => return Ok(n),
                Ok(None) => continue,
                Err(e) => e,
            };
            self.body = None;
            let (id, report) = (self.id.clone(), self.report);
            let mut countdown = |seconds| {
                report(Event::Retrying {
                    id: id.clone(),
                    seconds,
                })
            };
            if err.is_retryable() && self.retry.again(&mut countdown) {
                continue;
            }
            let failure = self.give_up(err);
            let msg = failure.to_string();
            self.failure = Some(failure);
            return Err(io::Error::other(msg));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_s_back_off() {
        let mut r = Retry::new(3, Duration::ZERO, None);
        let mut seen = Vec::new();
        assert!(r.again(&mut |s| seen.push(s)));
        assert_eq!(seen, [5, 4, 3, 2, 1]);
        seen.clear();
        assert!(r.again(&mut |s| seen.push(s)));
        assert_eq!(seen.first(), Some(&10));
        assert_eq!(r.attempts(), 3);
        assert!(!r.again(&mut |_| {}), "three attempts in all");
        let abort = AtomicBool::new(true);
        let mut r = Retry::new(5, Duration::from_secs(60), Some(&abort));
        assert!(!r.again(&mut |_| {}), "an aborted pull does not wait");
        assert_eq!(retrying_text(1), "Retrying in 1 second");
        assert_eq!(retrying_text(20), "Retrying in 20 seconds");
    }

    #[test]
    fn content_ranges() {
        assert_eq!(range_start("bytes 1048576-3145727/3145728"), Some(1 << 20));
        assert_eq!(range_start("bytes */100"), None);
        assert_eq!(range_start("items 1-2/3"), None);
    }
}
