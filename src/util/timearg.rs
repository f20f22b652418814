//! docker's time arguments (`--since`, `--until`, `until=` filters): the
//! forms its client's GetTimestamp reads, and its words when none fits.

use chrono::{DateTime, NaiveDateTime, Utc};

#[derive(Debug, thiserror::Error)]
#[error("failed to parse value as time or duration: {0:?}")]
pub struct TimeError(String);

/// RFC 3339 with or without a zone (none: UTC, this host's zone for
/// docker), a date alone, Unix seconds (with fractions), or a Go duration
/// back from now ("10m", "1h30m").
pub fn parse_time(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, TimeError> {
    let bad = || TimeError(s.to_string());
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%dT%H",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Ok(t.and_utc());
        }
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).ok_or_else(bad);
    }
    if let Ok(secs) = s.parse::<f64>() {
        let nanos = (secs.fract() * 1e9) as u32;
        return DateTime::from_timestamp(secs.trunc() as i64, nanos).ok_or_else(bad);
    }
    go_duration(s)
        .and_then(|secs| chrono::TimeDelta::try_milliseconds((secs * 1000.0) as i64))
        .and_then(|d| now.checked_sub_signed(d))
        .ok_or_else(bad)
}

/// Go's time.ParseDuration, in seconds: sums of <number><unit>.
pub fn go_duration(s: &str) -> Option<f64> {
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
        let v: f64 = num.parse().ok()?;
        num.clear();
        total += v * match unit.as_str() {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
    }
    (num.is_empty() && !s.is_empty()).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::SecondsFormat;

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
        // Before anything a date can hold: an error, not a panic.
        assert!(parse_time("99999999999999h", now).is_err());
        assert!(parse_time("2562047788015h", now).is_err());
        assert_eq!(t("2099-01-01T00:00:00"), "2099-01-01T00:00:00Z");
        assert_eq!(
            parse_time("bogus", now).unwrap_err().to_string(),
            "failed to parse value as time or duration: \"bogus\""
        );
    }
}
