//! Container output in docker's json-file format
//! (`containers/<id>/<id>-json.log`): one JSON object per line,
//! `{"log":"text\n","stream":"stdout","time":"2024-01-02T03:04:05.123456789Z"}`.
//! Lines are split at newlines, and at 16 KiB as docker splits them.

use super::config::LogConfig;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::fs::File;
use std::io::{self, BufRead, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

const MAX_LINE: usize = 16 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    Stdout,
    Stderr,
}

/// The stream's own one of a pair.
fn slot<T>(pair: &[T; 2], s: Stream) -> &T {
    let [out, err] = pair;
    match s {
        Stream::Stdout => out,
        Stream::Stderr => err,
    }
}

fn slot_mut<T>(pair: &mut [T; 2], s: Stream) -> &mut T {
    let [out, err] = pair;
    match s {
        Stream::Stdout => out,
        Stream::Stderr => err,
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Entry {
    pub log: String,
    pub stream: Stream,
    pub time: DateTime<Utc>,
    #[serde(default)]
    pub attrs: std::collections::BTreeMap<String, String>,
}

/// Go's url.QueryEscape, which docker applies to `--details` attributes.
fn query_escape(s: &str, out: &mut Vec<u8>) {
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b),
            b' ' => out.push(b'+'),
            _ => out.extend_from_slice(format!("%{b:02X}").as_bytes()),
        }
    }
}

impl Entry {
    /// The line as docker's engine sends it for `logs`: with `timestamps`
    /// the time first; with `details` the attributes, "k=v,k2=v2 " sorted
    /// by key (a lone space when none).
    pub fn render(&self, timestamps: bool, details: bool) -> Vec<u8> {
        let mut line = Vec::new();
        if timestamps {
            line.extend_from_slice(
                self.time
                    .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
                    .as_bytes(),
            );
            line.push(b' ');
        }
        if details {
            for (i, (k, v)) in self.attrs.iter().enumerate() {
                if i > 0 {
                    line.push(b',');
                }
                query_escape(k, &mut line);
                line.push(b'=');
                query_escape(v, &mut line);
            }
            line.push(b' ');
        }
        line.extend_from_slice(self.log.as_bytes());
        line
    }
}

pub fn log_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("{id}-json.log"))
}

/// The log's files, oldest first: rotated ones (`<log>.N` ... `<log>.1`)
/// then the current one.
pub fn log_files(path: &Path) -> Vec<PathBuf> {
    let mut old = Vec::new();
    for n in 1.. {
        let mut p = path.to_path_buf().into_os_string();
        p.push(format!(".{n}"));
        let p = PathBuf::from(p);
        if !p.exists() {
            break;
        }
        old.push(p);
    }
    old.reverse();
    old.push(path.to_path_buf());
    old
}

/// Appends entries; holds partial lines until their newline arrives.
/// Runs in the monitor, so the steady path allocates nothing: the entry
/// buffer and the partial lines keep their capacity between entries.
pub struct LogWriter {
    /// None with `--log-driver none`.
    file: Option<File>,
    path: PathBuf,
    size: u64,
    /// Rotation (`--log-opt max-size`/`max-file`); u64::MAX when unset.
    max_size: u64,
    max_file: u32,
    /// `"attrs":{...},` ready to splice in, or empty.
    attrs: Vec<u8>,
    partial: [Vec<u8>; 2],
    out: Vec<u8>,
}

impl LogWriter {
    pub fn open(path: &Path, cfg: &LogConfig) -> io::Result<LogWriter> {
        let file = if cfg.driver == "none" {
            None
        } else {
            Some(
                // Holds whatever the container printed (secrets too).
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .mode(crate::util::PRIVATE_FILE)
                    .open(path)?,
            )
        };
        let size = match &file {
            Some(f) => f.metadata()?.len(),
            None => 0,
        };
        let mut attrs = Vec::new();
        if !cfg.attrs.is_empty() {
            attrs.extend_from_slice(b"\"attrs\":{");
            for (i, (k, v)) in cfg.attrs.iter().enumerate() {
                if i > 0 {
                    attrs.push(b',');
                }
                attrs.push(b'"');
                escape_into(&mut attrs, k.as_bytes());
                attrs.extend_from_slice(b"\":\"");
                escape_into(&mut attrs, v.as_bytes());
                attrs.push(b'"');
            }
            attrs.extend_from_slice(b"},");
        }
        Ok(LogWriter {
            file,
            path: path.to_path_buf(),
            size,
            max_size: cfg.max_size().unwrap_or(u64::MAX),
            max_file: cfg.max_file(),
            attrs,
            partial: [Vec::new(), Vec::new()],
            out: Vec::with_capacity(4096),
        })
    }

    fn emit(
        file: &mut Option<File>,
        out: &mut Vec<u8>,
        attrs: &[u8],
        stream: Stream,
        line: &[u8],
    ) -> io::Result<u64> {
        let Some(f) = file.as_mut() else {
            return Ok(0);
        };
        out.clear();
        out.extend_from_slice(b"{\"log\":\"");
        escape_into(out, line);
        out.extend_from_slice(match stream {
            Stream::Stdout => b"\",\"stream\":\"stdout\",",
            Stream::Stderr => b"\",\"stream\":\"stderr\",",
        });
        out.extend_from_slice(attrs);
        out.extend_from_slice(b"\"time\":\"");
        timestamp_into(out);
        out.extend_from_slice(b"\"}\n");
        // One write per entry: O_APPEND keeps concurrent readers whole.
        f.write_all(out)?;
        Ok(out.len() as u64)
    }

    /// One entry, rotating first when it would pass max-size.
    fn entry(&mut self, stream: Stream, line: Option<&[u8]>) -> io::Result<()> {
        if self.size >= self.max_size {
            self.rotate()?;
        }
        let line = line.unwrap_or(slot(&self.partial, stream).as_slice());
        let n = Self::emit(&mut self.file, &mut self.out, &self.attrs, stream, line)?;
        self.size = self.size.saturating_add(n);
        if self.out.capacity() > 64 * 1024 {
            // A huge line once should not keep its buffer for ever.
            self.out = Vec::with_capacity(4096);
        }
        Ok(())
    }

    /// docker's json-file rotation: `<log>.1` is the newest old file, up
    /// to max-file files in all; with max-file 1 the log starts over.
    fn rotate(&mut self) -> io::Result<()> {
        if self.file.is_none() {
            return Ok(());
        }
        if self.max_file <= 1 {
            if let Some(f) = &self.file {
                f.set_len(0)?;
            }
        } else {
            let name = |n: u32| {
                let mut p = self.path.clone().into_os_string();
                p.push(format!(".{n}"));
                PathBuf::from(p)
            };
            let last = self.max_file.saturating_sub(1);
            let _ = std::fs::remove_file(name(last));
            // n < last: n + 1 does not saturate.
            for n in (1..last).rev() {
                let _ = std::fs::rename(name(n), name(n.saturating_add(1)));
            }
            std::fs::rename(&self.path, name(1))?;
            self.file = Some(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .mode(crate::util::PRIVATE_FILE)
                    .open(&self.path)?,
            );
        }
        self.size = 0;
        Ok(())
    }

    /// Output read from the container.
    pub fn write(&mut self, stream: Stream, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let room = MAX_LINE.saturating_sub(slot(&self.partial, stream).len());
            // The first line with its newline, when it fits in the room left.
            let line = data
                .split_inclusive(|b| *b == b'\n')
                .next()
                .filter(|l| l.ends_with(b"\n") && l.len() <= room);
            match line {
                Some(l) if slot(&self.partial, stream).is_empty() => {
                    self.entry(stream, Some(l))?;
                    data = data.get(l.len()..).unwrap_or_default();
                }
                Some(l) => {
                    slot_mut(&mut self.partial, stream).extend_from_slice(l);
                    self.entry(stream, None)?;
                    slot_mut(&mut self.partial, stream).clear();
                    data = data.get(l.len()..).unwrap_or_default();
                }
                // docker splits lines at 16 KiB.
                None => match data.split_at_checked(room) {
                    Some((head, rest)) => {
                        slot_mut(&mut self.partial, stream).extend_from_slice(head);
                        self.entry(stream, None)?;
                        slot_mut(&mut self.partial, stream).clear();
                        data = rest;
                    }
                    None => {
                        slot_mut(&mut self.partial, stream).extend_from_slice(data);
                        data = &[];
                    }
                },
            }
        }
        Ok(())
    }

    /// At the end: what is left without a final newline.
    pub fn flush(&mut self) -> io::Result<()> {
        for s in [Stream::Stdout, Stream::Stderr] {
            if !slot(&self.partial, s).is_empty() {
                self.entry(s, None)?;
                slot_mut(&mut self.partial, s).clear();
            }
        }
        Ok(())
    }
}

/// The length of the valid UTF-8 sequence at the start of `b` (2 to 4
/// bytes), or 0 when it is not one.
fn utf8_len(b: &[u8]) -> usize {
    let cont = |i: usize, lo: u8, hi: u8| b.get(i).is_some_and(|c| (lo..=hi).contains(c));
    let Some(first) = b.first() else {
        return 0;
    };
    match first {
        0xc2..=0xdf if cont(1, 0x80, 0xbf) => 2,
        0xe0 if cont(1, 0xa0, 0xbf) && cont(2, 0x80, 0xbf) => 3,
        0xe1..=0xec | 0xee..=0xef if cont(1, 0x80, 0xbf) && cont(2, 0x80, 0xbf) => 3,
        0xed if cont(1, 0x80, 0x9f) && cont(2, 0x80, 0xbf) => 3,
        0xf0 if cont(1, 0x90, 0xbf) && cont(2, 0x80, 0xbf) && cont(3, 0x80, 0xbf) => 4,
        0xf1..=0xf3 if cont(1, 0x80, 0xbf) && cont(2, 0x80, 0xbf) && cont(3, 0x80, 0xbf) => 4,
        0xf4 if cont(1, 0x80, 0x8f) && cont(2, 0x80, 0xbf) && cont(3, 0x80, 0xbf) => 4,
        _ => 0,
    }
}

/// JSON string escaping as docker's json-file writes it (`\u003c` for
/// `<`, `\ufffd` for each byte that is not valid UTF-8, and so on).
/// Written out here rather than through serde: this runs in the monitor,
/// whose memory is kept small, and a short loop over bytes touches far
/// fewer pages than a general serializer and UTF-8 decoder.
fn escape_into(buf: &mut Vec<u8>, b: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut rest = b;
    while let Some((&c, tail)) = rest.split_first() {
        if c >= 0x80 {
            match rest {
                // U+2028 and U+2029, escaped as Go does.
                [0xe2, 0x80, last @ (0xa8 | 0xa9), after @ ..] => {
                    buf.extend_from_slice(if *last == 0xa8 {
                        b"\\u2028"
                    } else {
                        b"\\u2029"
                    });
                    rest = after;
                }
                _ => match rest.split_at_checked(utf8_len(rest)) {
                    Some((seq, after)) if !seq.is_empty() => {
                        buf.extend_from_slice(seq);
                        rest = after;
                    }
                    _ => {
                        buf.extend_from_slice(b"\\ufffd");
                        rest = tail;
                    }
                },
            }
            continue;
        }
        match c {
            b'"' => buf.extend_from_slice(b"\\\""),
            b'\\' => buf.extend_from_slice(b"\\\\"),
            b'\n' => buf.extend_from_slice(b"\\n"),
            b'\r' => buf.extend_from_slice(b"\\r"),
            b'\t' => buf.extend_from_slice(b"\\t"),
            b'<' | b'>' | b'&' | 0..=0x1f => {
                buf.extend_from_slice(b"\\u00");
                buf.extend(HEX.get(usize::from(c >> 4)));
                buf.extend(HEX.get(usize::from(c & 0xf)));
            }
            c => buf.push(c),
        }
        rest = tail;
    }
}

/// Now as "2024-01-02T03:04:05.123456789Z" (docker's RFC3339NanoFixed).
// Any i64 seconds give days within ±1.1e14, where every step of the
// civil-date math stays far inside i64; digits are `% 10`, below 10.
#[allow(clippy::arithmetic_side_effects)]
fn timestamp_into(buf: &mut Vec<u8>) {
    // clock_gettime directly (vDSO): SystemTime's arithmetic is more code
    // for the monitor to keep resident.
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
    let secs = ts.tv_sec;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    // Digits by hand: the formatting machinery would pull many pages into
    // the monitor for this one line.
    let digits = |buf: &mut Vec<u8>, v: u64, width: usize| {
        let mut tmp = [b'0'; 10];
        let mut v = v;
        for d in tmp.iter_mut().take(width).rev() {
            *d = b'0' + (v % 10) as u8;
            v /= 10;
        }
        buf.extend(tmp.iter().take(width));
    };
    digits(buf, y as u64, 4);
    buf.push(b'-');
    digits(buf, m as u64, 2);
    buf.push(b'-');
    digits(buf, d as u64, 2);
    buf.push(b'T');
    digits(buf, (rem / 3600) as u64, 2);
    buf.push(b':');
    digits(buf, (rem % 3600 / 60) as u64, 2);
    buf.push(b':');
    digits(buf, (rem % 60) as u64, 2);
    buf.push(b'.');
    digits(buf, ts.tv_nsec as u64, 9);
    buf.push(b'Z');
}

/// The byte offset where the last `n` lines of a file start, and how
/// many lines that is (fewer than `n` when the file has fewer: offset 0),
/// found by reading backwards in blocks: `logs --tail` of a huge log
/// reads only its end.
pub fn tail_offset(f: &mut File, n: usize) -> io::Result<(u64, usize)> {
    use std::io::{Read, Seek, SeekFrom};
    let len = f.seek(SeekFrom::End(0))?;
    let Some(last) = len.checked_sub(1).filter(|_| n > 0) else {
        return Ok((len, 0));
    };
    let mut pos = len;
    let mut newlines = 0usize;
    let mut buf = vec![0u8; 64 * 1024];
    // The file ends with a newline: that one does not start a line.
    let mut skip_last = true;
    // Every sum below is an offset within the file (at most `len`), and
    // `newlines` stays below `n`: nothing saturates.
    while pos > 0 {
        let step = usize::try_from(pos).unwrap_or(usize::MAX).min(buf.len());
        pos = pos.saturating_sub(step as u64);
        f.seek(SeekFrom::Start(pos))?;
        let Some(chunk) = buf.get_mut(..step) else {
            break;
        };
        f.read_exact(chunk)?;
        for (i, &b) in chunk.iter().enumerate().rev() {
            if b == b'\n' {
                let at = pos.saturating_add(i as u64);
                if skip_last && at == last {
                    skip_last = false;
                    continue;
                }
                newlines = newlines.saturating_add(1);
                if newlines == n {
                    return Ok((at.saturating_add(1), n));
                }
            }
        }
    }
    Ok((0, newlines.saturating_add(1)))
}

/// Entries in `path` from byte `offset` to the end; returns them and the
/// offset after the last complete line (a line still being written is
/// left for the next call).
pub fn read_from(path: &Path, offset: u64) -> io::Result<(Vec<Entry>, u64)> {
    match File::open(path) {
        Ok(mut f) => read_file_from(&mut f, offset),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok((vec![], offset)),
        Err(e) => Err(e),
    }
}

/// As `read_from`, on an open file (a follower keeps reading the file it
/// opened after rotation renamed it).
pub fn read_file_from(f: &mut File, offset: u64) -> io::Result<(Vec<Entry>, u64)> {
    use std::io::{Read, Seek, SeekFrom};
    f.seek(SeekFrom::Start(offset))?;
    let mut data = Vec::new();
    f.read_to_end(&mut data)?;
    let complete = data
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i.saturating_add(1));
    data.truncate(complete);
    let mut out = Vec::new();
    for line in data.split(|b| *b == b'\n') {
        if let Ok(e) = serde_json::from_slice::<Entry>(line) {
            out.push(e);
        }
    }
    // Both count bytes of one file.
    Ok((out, offset.saturating_add(complete as u64)))
}

/// Every entry of a log file (lines that do not parse are skipped, as a
/// crash may leave the last one cut).
pub fn read_entries(path: &Path) -> io::Result<Vec<Entry>> {
    let f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for line in io::BufReader::new(f).lines() {
        let line = line?;
        if let Ok(e) = serde_json::from_str::<Entry>(&line) {
            out.push(e);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn lines_are_split_and_kept_apart() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x-json.log");
        let mut w = LogWriter::open(&p, &LogConfig::default()).unwrap();
        w.write(Stream::Stdout, b"hel").unwrap();
        w.write(Stream::Stderr, b"oops\n").unwrap();
        w.write(Stream::Stdout, b"lo\nworld\nno newline").unwrap();
        w.write(Stream::Stdout, &vec![b'x'; MAX_LINE + 10]).unwrap();
        w.flush().unwrap();
        let e = read_entries(&p).unwrap();
        let logs: Vec<(&str, Stream)> = e.iter().map(|e| (e.log.as_str(), e.stream)).collect();
        assert_eq!(logs[0], ("oops\n", Stream::Stderr));
        assert_eq!(logs[1], ("hello\n", Stream::Stdout));
        assert_eq!(logs[2], ("world\n", Stream::Stdout));
        assert_eq!(logs[3].0.len(), MAX_LINE);
        assert!(logs[3].0.starts_with("no newline"));
        assert_eq!(logs[4].0.len(), 10 + "no newline".len());
        let raw = std::fs::read_to_string(&p).unwrap();
        let first: serde_json::Value = serde_json::from_str(raw.lines().next().unwrap()).unwrap();
        assert_eq!(first["stream"], "stderr");
        assert!(first["time"].as_str().unwrap().ends_with('Z'));
        assert_eq!(first["time"].as_str().unwrap().len(), 30, "nanoseconds");
        let t = chrono::DateTime::parse_from_rfc3339(first["time"].as_str().unwrap()).unwrap();
        assert!(
            (chrono::Utc::now() - t.with_timezone(&chrono::Utc))
                .num_seconds()
                .abs()
                < 5
        );
    }

    #[test]
    fn tail_reads_from_the_end() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("t-json.log");
        let mut w = LogWriter::open(&p, &LogConfig::default()).unwrap();
        for i in 0..100_000 {
            w.write(Stream::Stdout, format!("line {i}\n").as_bytes())
                .unwrap();
        }
        let mut f = File::open(&p).unwrap();
        let (off, found) = tail_offset(&mut f, 3).unwrap();
        assert_eq!(found, 3);
        let (e, end) = read_from(&p, off).unwrap();
        let logs: Vec<&str> = e.iter().map(|e| e.log.as_str()).collect();
        assert_eq!(logs, ["line 99997\n", "line 99998\n", "line 99999\n"]);
        assert_eq!(end, std::fs::metadata(&p).unwrap().len());
        assert_eq!(tail_offset(&mut f, 0).unwrap(), (end, 0));
        assert_eq!(tail_offset(&mut f, 1_000_000).unwrap(), (0, 100_000));
    }

    #[test]
    fn escaping_matches_gos_encoder() {
        let mut b = Vec::new();
        escape_into(&mut b, "a\"b\\c\n<x>&\u{1}\u{2028}é".as_bytes());
        assert_eq!(
            String::from_utf8(b.clone()).unwrap(),
            "a\\\"b\\\\c\\n\\u003cx\\u003e\\u0026\\u0001\\u2028é"
        );
        let v: String = serde_json::from_slice(&[b"\"".as_slice(), &b, b"\""].concat()).unwrap();
        assert_eq!(v, "a\"b\\c\n<x>&\u{1}\u{2028}é");
    }

    #[test]
    fn bytes_are_escaped_as_docker_does() {
        let mut b = Vec::new();
        escape_into(&mut b, b"a\"<\x01\xffok \xe2\x80\xa8 \xc3\xa9 \xe2\x82");
        assert_eq!(
            String::from_utf8(b).unwrap(),
            "a\\\"\\u003c\\u0001\\ufffdok \\u2028 \u{e9} \\ufffd\\ufffd"
        );
        // Every output is JSON that decodes back (lossily) to the input.
        let mut b = Vec::new();
        let input: Vec<u8> = (0..=255u8).collect();
        escape_into(&mut b, &input);
        let back: String = serde_json::from_slice(&[b"\"", &b[..], b"\""].concat()).unwrap();
        assert_eq!(back, String::from_utf8_lossy(&input));
    }

    #[test]
    fn rotation_keeps_max_file_files_and_readers_see_them_in_order() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("r-json.log");
        let cfg = LogConfig::new(
            None,
            &["max-size=1k".into(), "max-file=3".into()],
            &Default::default(),
            &[],
        )
        .unwrap();
        let mut w = LogWriter::open(&p, &cfg).unwrap();
        for i in 0..200 {
            w.write(Stream::Stdout, format!("line {i}\n").as_bytes())
                .unwrap();
        }
        let files = log_files(&p);
        assert_eq!(files.len(), 3, "{files:?}");
        for f in &files {
            assert!(std::fs::metadata(f).unwrap().len() <= 1024 + 100);
        }
        let lines: Vec<String> = files
            .iter()
            .flat_map(|f| read_entries(f).unwrap())
            .map(|e| e.log)
            .collect();
        assert_eq!(lines.last().unwrap(), "line 199\n");
        let first: usize = lines[0].trim().trim_start_matches("line ").parse().unwrap();
        assert!(first > 0, "the oldest lines were dropped");
        assert_eq!(
            lines.len(),
            200 - first,
            "consecutive, none lost in between"
        );
    }

    #[test]
    fn attrs_go_into_each_entry() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a-json.log");
        let labels = [("team".to_string(), "a b".to_string())].into();
        let cfg = LogConfig::new(
            Some("json-file"),
            &["labels=team,other".into(), "env-regex=^FO".into()],
            &labels,
            &["FOO=1".into(), "BAR=2".into()],
        )
        .unwrap();
        let mut w = LogWriter::open(&p, &cfg).unwrap();
        w.write(Stream::Stderr, b"x\n").unwrap();
        let e = read_entries(&p).unwrap();
        assert_eq!(e[0].attrs.get("team").map(String::as_str), Some("a b"));
        assert_eq!(e[0].attrs.get("FOO").map(String::as_str), Some("1"));
        assert_eq!(e[0].attrs.len(), 2);
        assert_eq!(e[0].stream, Stream::Stderr);
    }

    #[test]
    fn log_options_are_checked_as_docker_does() {
        let none = BTreeMap::new();
        let new = |d: Option<&str>, o: &[&str]| {
            let o: Vec<String> = o.iter().map(|s| s.to_string()).collect();
            LogConfig::new(d, &o, &none, &[])
        };
        assert!(new(None, &["max-size=10m", "max-file=3", "compress=true"]).is_ok());
        assert_eq!(
            new(None, &["bogus=1"]).unwrap_err(),
            "unknown log opt 'bogus' for json-file log driver"
        );
        assert!(new(None, &["max-file=0"])
            .unwrap_err()
            .contains("less than 1"));
        assert!(new(None, &["max-size=ten"]).is_err());
        assert!(new(Some("none"), &["max-size=1m"]).is_err());
        assert!(new(Some("syslog"), &[])
            .unwrap_err()
            .contains("not supported"));
        assert_eq!(
            new(None, &["max-size=10m"]).unwrap().max_size(),
            Some(10 << 20)
        );
        assert_eq!(crate::container::config::parse_ram("1.5k"), Some(1536));
        assert_eq!(crate::container::config::parse_ram("2gb"), Some(2 << 30));
        assert_eq!(crate::container::config::parse_ram("100"), Some(100));
    }
}
