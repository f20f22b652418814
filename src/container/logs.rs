//! Container output in docker's json-file format
//! (`containers/<id>/<id>-json.log`): one JSON object per line,
//! `{"log":"text\n","stream":"stdout","time":"2024-01-02T03:04:05.123456789Z"}`.
//! Lines are split at newlines, and at 16 KiB as docker splits them.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};

const MAX_LINE: usize = 16 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    Stdout,
    Stderr,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
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
        let e = Entry {
            log: String::from_utf8_lossy(line).into_owned(),
            stream,
            time: Utc::now(),
        };
        let mut buf = serde_json::to_vec(&SerEntry(&e)).map_err(io::Error::other)?;
        buf.push(b'\n');
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

/// docker writes times with nanoseconds ("...05.123456789Z").
struct SerEntry<'a>(&'a Entry);

impl Serialize for SerEntry<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Entry", 3)?;
        st.serialize_field("log", &self.0.log)?;
        st.serialize_field("stream", &self.0.stream)?;
        st.serialize_field(
            "time",
            &self.0.time.to_rfc3339_opts(SecondsFormat::Nanos, true),
        )?;
        st.end()
    }
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
    }
}
