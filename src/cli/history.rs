//! `history IMAGE`: the image's history entries, newest first, with the
//! size of the layer each one made, as docker lists them.

use super::format::{human_size, render_rows, since, truncate_id};
use crate::error::Result;
use crate::image::store::ImageStore;
use crate::paths::Paths;
use chrono::{DateTime, Utc};
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
    let cfg = store.config(img)?;
    // Non-empty history entries made the layers, in order.
    let mut sizes = img
        .layers
        .iter()
        .map(|l| store.layer_info(l).map(|i| i.size).unwrap_or(0));
    let mut rows = Vec::new();
    let now = Utc::now();
    let newest = cfg.history.len().checked_sub(1);
    for (i, h) in cfg.history.iter().enumerate() {
        let size = if h.empty_layer {
            0
        } else {
            sizes.next().unwrap_or(0)
        };
        // Only the newest entry is this image; the ones below have no
        // image of their own here (docker's <missing>).
        let id = if Some(i) == newest {
            if a.no_trunc {
                img.id.clone()
            } else {
                truncate_id(&img.id).to_string()
            }
        } else {
            "<missing>".to_string()
        };
        let created = h
            .created
            .as_deref()
            .and_then(|c| DateTime::parse_from_rfc3339(c).ok())
            .map(|t| t.with_timezone(&Utc));
        let created_by = h.created_by.clone().unwrap_or_default().replace('\t', " ");
        rows.push(json!({
            "ID": id,
            "CreatedSince": match created {
                Some(t) if a.human => since(t, now),
                Some(t) => t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                None => "N/A".to_string(),
            },
            "CreatedAt": created.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)).unwrap_or_default(),
            "CreatedBy": if a.no_trunc { created_by } else { ellipsis(&created_by, 45) },
            "Size": if a.human { human_size(size) } else { size.to_string() },
            "Comment": h.comment.clone().unwrap_or_default(),
        }));
    }
    rows.reverse();
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
