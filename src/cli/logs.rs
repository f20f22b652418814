//! `rdock logs`: the json-file log of a container, stdout entries to our
//! stdout and stderr entries to our stderr.

use crate::container::logs::{log_path, Entry, Stream};
use crate::container::store::ContainerStore;
use crate::error::{Error, Result};
use crate::paths::Paths;
use chrono::{DateTime, SecondsFormat, Utc};
use clap::Args;
use std::io::Write;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Show extra details provided to logs
    #[arg(long)]
    pub details: bool,
    /// Follow log output
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)
    #[arg(long)]
    pub since: Option<String>,
    /// Number of lines to show from the end of the logs
    #[arg(short = 'n', long, default_value = "all")]
    pub tail: String,
    /// Show timestamps
    #[arg(short = 't', long)]
    pub timestamps: bool,
    /// Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)
    #[arg(long)]
    pub until: Option<String>,
    pub container: String,
}

/// docker's time arguments: RFC 3339 (date, or date and time), Unix
/// seconds (with fractions), or a duration back from now ("10m", "1h30m").
pub fn parse_time(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>> {
    let bad = || Error::msg(format!("invalid value for \"since\"/\"until\": {s}"));
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).ok_or_else(bad);
    }
    if let Ok(secs) = s.parse::<f64>() {
        let nanos = (secs.fract() * 1e9) as u32;
        return DateTime::from_timestamp(secs.trunc() as i64, nanos).ok_or_else(bad);
    }
    // Go durations: sums of <number><unit>, units h m s ms us ns.
    let mut total = 0f64;
    let mut num = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        let mut unit = c.to_string();
        if matches!(c, 'm' | 'u' | 'n') && chars.peek() == Some(&'s') {
            unit.push('s');
            chars.next();
        }
        let v: f64 = num.parse().map_err(|_| bad())?;
        num.clear();
        total += v * match unit.as_str() {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" => 1e-6,
            "ns" => 1e-9,
            _ => return Err(bad()),
        };
    }
    if !num.is_empty() || total == 0.0 && s.is_empty() {
        return Err(bad());
    }
    Ok(now - chrono::Duration::milliseconds((total * 1000.0) as i64))
}

fn print(e: &Entry, timestamps: bool) {
    let mut line = Vec::new();
    if timestamps {
        line.extend_from_slice(
            e.time
                .to_rfc3339_opts(SecondsFormat::Nanos, true)
                .as_bytes(),
        );
        line.push(b' ');
    }
    line.extend_from_slice(e.log.as_bytes());
    let _ = match e.stream {
        Stream::Stdout => std::io::stdout().lock().write_all(&line),
        Stream::Stderr => std::io::stderr().lock().write_all(&line),
    };
}

pub fn run(paths: &Paths, a: LogsArgs) -> Result<i32> {
    let store = ContainerStore::new(paths);
    let c = store.resolve(&a.container)?;
    let now = Utc::now();
    let since = a.since.as_deref().map(|s| parse_time(s, now)).transpose()?;
    let until = a.until.as_deref().map(|s| parse_time(s, now)).transpose()?;
    let tail: Option<usize> = match a.tail.as_str() {
        "all" | "" => None,
        n => match n.parse::<i64>() {
            Ok(v) if v < 0 => None,
            Ok(v) => Some(v as usize),
            Err(_) => return Err(Error::msg(format!("invalid value for \"tail\": {n}"))),
        },
    };
    let path = log_path(&c.dir, &c.config.id);
    let keep = |e: &Entry| since.is_none_or(|s| e.time >= s) && until.is_none_or(|u| e.time <= u);
    // --tail N reads only the end of the file.
    let start = match (tail, std::fs::File::open(&path)) {
        (Some(n), Ok(mut f)) => crate::container::logs::tail_offset(&mut f, n)
            .map_err(|e| Error::msg(format!("reading {}: {e}", path.display())))?,
        _ => 0,
    };
    let (entries, mut offset) = crate::container::logs::read_from(&path, start)
        .map_err(|e| Error::msg(format!("reading {}: {e}", path.display())))?;
    for e in entries.iter().filter(|e| keep(e)) {
        print(e, a.timestamps);
    }
    if !a.follow {
        return Ok(0);
    }
    // Follow: what is appended, until the container has stopped.
    loop {
        let running = store.raw_state(&c.config.id).is_some_and(|s| {
            s.status == crate::container::state::Status::Running && s.is_alive() || s.restarting
        });
        let (more, next) =
            crate::container::logs::read_from(&path, offset).unwrap_or((vec![], offset));
        offset = next;
        for e in more.iter().filter(|e| keep(e)) {
            print(e, a.timestamps);
        }
        if !running || until.is_some_and(|u| Utc::now() > u) {
            // One last read: the monitor writes before it records the exit.
            let (last, _) = crate::container::logs::read_from(&path, offset).unwrap_or_default();
            for e in last.iter().filter(|e| keep(e)) {
                print(e, a.timestamps);
            }
            return Ok(0);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_arguments() {
        let now = DateTime::parse_from_rfc3339("2024-05-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let t = |s: &str| {
            parse_time(s, now)
                .unwrap()
                .to_rfc3339_opts(SecondsFormat::Secs, true)
        };
        assert_eq!(t("2024-05-01T11:00:00Z"), "2024-05-01T11:00:00Z");
        assert_eq!(t("2024-04-30"), "2024-04-30T00:00:00Z");
        assert_eq!(t("1714561200"), "2024-05-01T11:00:00Z");
        assert_eq!(t("10m"), "2024-05-01T11:50:00Z");
        assert_eq!(t("1h30m"), "2024-05-01T10:30:00Z");
        assert!(parse_time("soon", now).is_err());
        assert!(parse_time("10", now).is_ok());
        assert!(parse_time("5x", now).is_err());
    }
}
