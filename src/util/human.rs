//! Durations and container statuses in docker's words (go-units), for
//! the CLI's tables and the API's container summaries.

use chrono::{DateTime, Utc};

/// docker's HumanDuration (go-units): "Less than a second", "3 seconds",
/// "About a minute", "2 hours", "3 weeks", ...
pub fn human_duration(d: std::time::Duration) -> String {
    let secs = d.as_secs();
    let hours_f = d.as_secs_f64() / 3600.0;
    if secs < 1 {
        return "Less than a second".into();
    }
    if secs == 1 {
        return "1 second".into();
    }
    if secs < 60 {
        return format!("{secs} seconds");
    }
    let minutes = secs / 60;
    if minutes == 1 {
        return "About a minute".into();
    }
    if minutes < 60 {
        return format!("{minutes} minutes");
    }
    let hours = (hours_f + 0.5) as u64;
    if hours == 1 {
        return "About an hour".into();
    }
    if hours < 48 {
        return format!("{hours} hours");
    }
    if hours < 24 * 7 * 2 {
        return format!("{} days", hours / 24);
    }
    if hours < 24 * 30 * 2 {
        return format!("{} weeks", hours / 24 / 7);
    }
    if hours < 24 * 365 * 2 {
        return format!("{} months", hours / 24 / 30);
    }
    format!("{} years", hours_f as u64 / 24 / 365)
}

/// `docker ps` STATUS: "Created", "Up 5 seconds", "Up 2 minutes (Paused)",
/// "Exited (137) 3 seconds ago", "Dead", "Removal In Progress".
pub fn status_text(
    status: &str,
    exit_code: i32,
    started: Option<DateTime<Utc>>,
    finished: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> String {
    let ago = |t: Option<DateTime<Utc>>| {
        human_duration(
            t.map(|t| now.signed_duration_since(t).to_std().unwrap_or_default())
                .unwrap_or_default(),
        )
    };
    match status {
        "running" => format!("Up {}", ago(started)),
        "paused" => format!("Up {} (Paused)", ago(started)),
        "restarting" => format!("Restarting ({exit_code}) {} ago", ago(finished)),
        "removing" => "Removal In Progress".into(),
        "dead" => "Dead".into(),
        "created" => "Created".into(),
        "exited" if finished.is_none() => "Exited".into(),
        "exited" => format!("Exited ({exit_code}) {} ago", ago(finished)),
        other => other.to_string(),
    }
}
