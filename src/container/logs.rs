//! Container output in docker's json-file format
//! (`containers/<id>/<id>-json.log`): one JSON object per line,
//! `{"log":"text\n","stream":"stdout","time":"2024-01-02T03:04:05.123456789Z"}`.
//! Lines are split at newlines, and at 16 KiB as docker splits them.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::fs::File;
use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};

const MAX_LINE: usize = 16 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    Stdout,
    Stderr,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Entry {
    pub log: String,
    pub stream: Stream,
    pub time: DateTime<Utc>,
}

pub fn log_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("{id}-json.log"))
}

/// Appends entries; holds partial lines until their newline arrives.
pub struct LogWriter {
    file: File,
    partial: [Vec<u8>; 2],
}

impl LogWriter {
    pub fn open(path: &Path) -> io::Result<LogWriter> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(LogWriter {
            file,
            partial: [Vec::new(), Vec::new()],
        })
    }

    fn emit(&mut self, stream: Stream, line: &[u8]) -> io::Result<()> {
        let mut buf = Vec::with_capacity(line.len() + 80);
        buf.extend_from_slice(b"{\"log\":\"");
        escape_into(&mut buf, &String::from_utf8_lossy(line));
        buf.extend_from_slice(match stream {
            Stream::Stdout => b"\",\"stream\":\"stdout\",\"time\":\"",
            Stream::Stderr => b"\",\"stream\":\"stderr\",\"time\":\"",
        });
        timestamp_into(&mut buf);
        buf.extend_from_slice(b"\"}\n");
        // One write per entry: O_APPEND keeps concurrent readers whole.
        self.file.write_all(&buf)
    }

    /// Output read from the container.
    pub fn write(&mut self, stream: Stream, mut data: &[u8]) -> io::Result<()> {
        let i = stream as usize;
        while !data.is_empty() {
            match data.iter().position(|b| *b == b'\n') {
                Some(nl) => {
                    let mut line = std::mem::take(&mut self.partial[i]);
                    line.extend_from_slice(&data[..=nl]);
                    self.emit(stream, &line)?;
                    data = &data[nl + 1..];
                }
                None => {
                    self.partial[i].extend_from_slice(data);
                    data = &[];
                }
            }
            while self.partial[i].len() >= MAX_LINE {
                let rest = self.partial[i].split_off(MAX_LINE);
                let chunk = std::mem::replace(&mut self.partial[i], rest);
                self.emit(stream, &chunk)?;
            }
        }
        Ok(())
    }

    /// At the end: what is left without a final newline.
    pub fn flush(&mut self) -> io::Result<()> {
        for (i, s) in [Stream::Stdout, Stream::Stderr].into_iter().enumerate() {
            if !self.partial[i].is_empty() {
                let line = std::mem::take(&mut self.partial[i]);
                self.emit(s, &line)?;
            }
        }
        Ok(())
    }
}

/// JSON string escaping as Go's encoder does it (docker's files have
/// `\u003c` for `<`, and so on). Written out here rather than through
/// serde: this runs in the monitor, whose memory is kept small, and a
/// short loop touches far fewer pages than a general serializer.
fn escape_into(buf: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for c in s.chars() {
        match c {
            '"' => buf.extend_from_slice(b"\\\""),
            '\\' => buf.extend_from_slice(b"\\\\"),
            '\n' => buf.extend_from_slice(b"\\n"),
            '\r' => buf.extend_from_slice(b"\\r"),
            '\t' => buf.extend_from_slice(b"\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' | '\0'..='\u{1f}' => {
                let v = c as u32;
                buf.extend_from_slice(b"\\u");
                for shift in [12, 8, 4, 0] {
                    buf.push(HEX[((v >> shift) & 0xf) as usize]);
                }
            }
            c => {
                let mut tmp = [0u8; 4];
                buf.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
            }
        }
    }
}

/// Now as "2024-01-02T03:04:05.123456789Z" (docker's RFC3339NanoFixed).
fn timestamp_into(buf: &mut Vec<u8>) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as i64;
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
        for i in (0..width).rev() {
            tmp[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
        buf.extend_from_slice(&tmp[..width]);
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
    digits(buf, now.subsec_nanos() as u64, 9);
    buf.push(b'Z');
}

/// The byte offset where the last `n` lines of a file start, found by
/// reading backwards in blocks: `logs --tail` of a huge log reads only
/// its end.
pub fn tail_offset(f: &mut File, n: usize) -> io::Result<u64> {
    use std::io::{Read, Seek, SeekFrom};
    let len = f.seek(SeekFrom::End(0))?;
    if n == 0 {
        return Ok(len);
    }
    let mut pos = len;
    let mut newlines = 0usize;
    let mut buf = vec![0u8; 64 * 1024];
    // The file ends with a newline: that one does not start a line.
    let mut skip_last = true;
    while pos > 0 {
        let step = (pos as usize).min(buf.len());
        pos -= step as u64;
        f.seek(SeekFrom::Start(pos))?;
        f.read_exact(&mut buf[..step])?;
        for i in (0..step).rev() {
            if buf[i] == b'\n' {
                if skip_last && pos + i as u64 == len - 1 {
                    skip_last = false;
                    continue;
                }
                newlines += 1;
                if newlines == n {
                    return Ok(pos + i as u64 + 1);
                }
            }
        }
    }
    Ok(0)
}

/// Entries in `path` from byte `offset` to the end; returns them and the
/// offset after the last complete line (a line still being written is
/// left for the next call).
pub fn read_from(path: &Path, offset: u64) -> io::Result<(Vec<Entry>, u64)> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((vec![], offset)),
        Err(e) => return Err(e),
    };
    f.seek(SeekFrom::Start(offset))?;
    let mut data = Vec::new();
    f.read_to_end(&mut data)?;
    let complete = data
        .iter()
        .rposition(|b| *b == b'\n')
        .map(|i| i + 1)
        .unwrap_or(0);
    let mut out = Vec::new();
    for line in data[..complete].split(|b| *b == b'\n') {
        if let Ok(e) = serde_json::from_slice::<Entry>(line) {
            out.push(e);
        }
    }
    Ok((out, offset + complete as u64))
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

    #[test]
    fn lines_are_split_and_kept_apart() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x-json.log");
        let mut w = LogWriter::open(&p).unwrap();
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
        let mut w = LogWriter::open(&p).unwrap();
        for i in 0..100_000 {
            w.write(Stream::Stdout, format!("line {i}\n").as_bytes())
                .unwrap();
        }
        let mut f = File::open(&p).unwrap();
        let off = tail_offset(&mut f, 3).unwrap();
        let (e, end) = read_from(&p, off).unwrap();
        let logs: Vec<&str> = e.iter().map(|e| e.log.as_str()).collect();
        assert_eq!(logs, ["line 99997\n", "line 99998\n", "line 99999\n"]);
        assert_eq!(end, std::fs::metadata(&p).unwrap().len());
        assert_eq!(tail_offset(&mut f, 0).unwrap(), end);
        assert_eq!(tail_offset(&mut f, 1_000_000).unwrap(), 0);
    }

    #[test]
    fn escaping_matches_gos_encoder() {
        let mut b = Vec::new();
        escape_into(&mut b, "a\"b\\c\n<x>&\u{1}\u{2028}é");
        assert_eq!(
            String::from_utf8(b.clone()).unwrap(),
            "a\\\"b\\\\c\\n\\u003cx\\u003e\\u0026\\u0001\\u2028é"
        );
        let v: String = serde_json::from_slice(&[b"\"".as_slice(), &b, b"\""].concat()).unwrap();
        assert_eq!(v, "a\"b\\c\n<x>&\u{1}\u{2028}é");
    }
}
