//! `rdock search TERM`: Docker Hub's search API (`/v1/search`), or that of
//! the registry named in TERM (`localhost:5000/busybox`), with docker's
//! columns and filters.

use super::format::render_rows;
use crate::error::Result;
use clap::Args;
use serde_json::json;

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Filter output based on conditions provided
    #[arg(short = 'f', long, value_name = "filter")]
    pub filter: Vec<String>,
    /// Pretty-print search using a Go template
    #[arg(long)]
    pub format: Option<String>,
    /// Max number of search results
    #[arg(long)]
    pub limit: Option<i64>,
    /// Don't truncate output
    #[arg(long)]
    pub no_trunc: bool,
    pub term: String,
}

const DEFAULT_TABLE: &str = "table {{.Name}}\t{{.Description}}\t{{.StarCount}}\t{{.IsOfficial}}";
const HEADERS: &[(&str, &str)] = &[
    ("Name", "NAME"),
    ("Description", "DESCRIPTION"),
    ("StarCount", "STARS"),
    ("IsOfficial", "OFFICIAL"),
    ("IsAutomated", "AUTOMATED"),
];

/// docker's description column: 45 characters at most, the last an "…".
fn trunc(s: &str) -> String {
    let s = s.replace('\n', " ");
    if s.chars().count() > 45 {
        format!("{}…", s.chars().take(44).collect::<String>())
    } else {
        s
    }
}

pub fn run(a: SearchArgs) -> Result<i32> {
    let hits = crate::image::registry::search::search(&a.term, a.limit, &a.filter)?;
    let rows: Vec<serde_json::Value> = hits
        .iter()
        .map(|h| {
            json!({
                "Name": h.name,
                "Description": if a.no_trunc { h.description.clone() } else { trunc(&h.description) },
                "StarCount": h.star_count.to_string(),
                "IsOfficial": if h.is_official { "[OK]" } else { "" },
                "IsAutomated": if h.is_automated { "[OK]" } else { "" },
            })
        })
        .collect();
    print!(
        "{}",
        render_rows(
            a.format.as_deref(),
            DEFAULT_TABLE,
            HEADERS,
            "*registry.searchContext",
            &rows
        )?
    );
    Ok(0)
}
