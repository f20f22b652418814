//! `history IMAGE`: the image's history entries, newest first, with the
//! size of the layer each one made, as docker lists them.

use super::format::{human_size, render_rows, since, truncate_id};
use crate::error::Result;
use crate::image::store::ImageStore;
use crate::paths::Paths;
use chrono::Utc;
use clap::Args;
use serde_json::json;

#[derive(Debug, Args)]
pub struct HistoryArgs {
    #[arg(long, help = super::help::FORMAT_HELP)]
    pub format: Option<String>,
    /// Print sizes and dates in human readable format
    #[arg(short = 'H', long, default_value_t = true, num_args = 0..=1, default_missing_value = "true", require_equals = true, action = clap::ArgAction::Set)]
    pub human: bool,
    /// Don't truncate output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    #[arg(
        long,
        help = "Show history for the given platform. Formatted as \"os[/arch[/variant]]\" (e.g., \"linux/amd64\")"
    )]
    pub platform: Option<String>,
    /// Only show image IDs
    #[arg(short = 'q', long)]
    pub quiet: bool,
    pub image: String,
}

/// docker's Ellipsis: at most `max` characters, the last one "…".
fn ellipsis(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

pub fn run(paths: &Paths, a: HistoryArgs) -> Result<i32> {
    let store = ImageStore::new(paths);
    let idx = store.index()?;
    let img = idx.lookup(&a.image)?;
    let now = Utc::now();
    let mut rows = Vec::new();
    for h in crate::image::history::history(&store, img)? {
        let id = match h.id {
            Some(id) if a.no_trunc => id,
            Some(id) => truncate_id(&id).to_string(),
            None => "<missing>".to_string(),
        };
        let created_by = h.created_by.replace('\t', " ");
        rows.push(json!({
            "ID": id,
            "CreatedSince": match h.created {
                Some(t) if a.human => since(t, now),
                Some(t) => t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                None => "N/A".to_string(),
            },
            "CreatedAt": h.created.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)).unwrap_or_default(),
            "CreatedBy": if a.no_trunc { created_by } else { ellipsis(&created_by, 45) },
            "Size": if a.human { human_size(h.size) } else { h.size.to_string() },
            "Comment": h.comment,
        }));
    }
    if a.quiet {
        for r in &rows {
            println!("{}", r["ID"].as_str().unwrap_or_default());
        }
        return Ok(0);
    }
    print!(
        "{}",
        render_rows(
            a.format.as_deref(),
            "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}",
            &[
                ("ID", "IMAGE"),
                ("CreatedSince", "CREATED"),
                ("CreatedAt", "CREATED AT"),
                ("CreatedBy", "CREATED BY"),
                ("Size", "SIZE"),
                ("Comment", "COMMENT"),
            ],
            "*image.historyContext",
            &rows,
        )?
    );
    Ok(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn ellipsis_as_docker() {
        assert_eq!(super::ellipsis("short", 45), "short");
        let long = "x".repeat(50);
        let e = super::ellipsis(&long, 45);
        assert_eq!(e.chars().count(), 45);
        assert!(e.ends_with('…'));
    }
}
