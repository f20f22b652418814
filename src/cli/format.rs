//! Output formatting as docker prints it: `--format` Go templates, aligned
//! tables, human sizes and durations.
//! STUB: to be implemented (helper "reference+format").

use thiserror::Error;

#[derive(Debug, Error)]
pub enum FormatError {
    #[error("template parsing error: {0}")]
    Parse(String),
    #[error("template: {0}")]
    Exec(String),
}

/// Render rows for a listing command (`ps`, `images`).
/// `format`: the user's `--format` (None = default table; "table", "table TMPL",
/// "json", or a plain template applied per row, no header).
/// `default_table`: e.g. "table {{.ID}}\t{{.Image}}".
/// `headers`: field name -> column header, e.g. ("ID", "CONTAINER ID").
/// Returns the full text to print, each line ending in '\n'.
pub fn render_rows(
    _format: Option<&str>,
    _default_table: &str,
    _headers: &[(&str, &str)],
    _rows: &[serde_json::Value],
) -> Result<String, FormatError> {
    Err(FormatError::Parse("not implemented".into()))
}

/// Apply one template to one value (`inspect -f`). No trailing newline added.
pub fn render_template(_tmpl: &str, _value: &serde_json::Value) -> Result<String, FormatError> {
    Err(FormatError::Parse("not implemented".into()))
}

/// docker's HumanSize: decimal units, 3 significant digits: "4.26kB", "77.8MB".
pub fn human_size(bytes: u64) -> String {
    format!("{bytes}B")
}

/// docker's HumanDuration: "Less than a second", "3 seconds", "About a minute", ...
pub fn human_duration(d: std::time::Duration) -> String {
    format!("{} seconds", d.as_secs())
}

/// STUB until the format module lands.
pub fn since(t: chrono::DateTime<chrono::Utc>, now: chrono::DateTime<chrono::Utc>) -> String {
    format!(
        "{} ago",
        human_duration((now - t).to_std().unwrap_or_default())
    )
}
/// STUB until the format module lands.
pub fn status_text(
    status: &str,
    exit_code: i32,
    _started: Option<chrono::DateTime<chrono::Utc>>,
    _finished: Option<chrono::DateTime<chrono::Utc>>,
    _now: chrono::DateTime<chrono::Utc>,
) -> String {
    format!("{status} ({exit_code})")
}
/// STUB until the format module lands.
pub fn truncate_id(id: &str) -> &str {
    let h = id.strip_prefix("sha256:").unwrap_or(id);
    &h[..h.len().min(12)]
}
