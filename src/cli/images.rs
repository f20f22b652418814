//! `rdock images` / `image ls`.

use super::format::{self, render_rows};
use crate::error::Result;
use crate::image::reference::Reference;
use crate::image::store::ImageRecord;
use crate::paths::Paths;
use chrono::{DateTime, Utc};
use clap::Args;
use serde_json::json;

#[derive(Debug, Args)]
pub struct ImagesArgs {
    /// Show all images (default hides intermediate images)
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Show digests
    #[arg(long)]
    pub digests: bool,
    /// Filter output based on conditions provided
    #[arg(short = 'f', long, value_name = "filter")]
    pub filter: Vec<String>,
    #[arg(long, help = super::help::FORMAT_HELP)]
    pub format: Option<String>,
    /// Don't truncate output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Only show image IDs
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// List multi-platform images as a tree (EXPERIMENTAL)
    #[arg(long)]
    pub tree: bool,
    /// Filter by repository[:tag]
    pub repository: Option<String>,
}

const HEADERS: &[(&str, &str)] = &[
    ("Repository", "REPOSITORY"),
    ("Tag", "TAG"),
    ("Digest", "DIGEST"),
    ("ID", "IMAGE ID"),
    ("CreatedSince", "CREATED"),
    ("CreatedAt", "CREATED AT"),
    ("Size", "SIZE"),
    ("Containers", "CONTAINERS"),
    ("SharedSize", "SHARED SIZE"),
    ("UniqueSize", "UNIQUE SIZE"),
    ("VirtualSize", "VIRTUAL SIZE"),
];

pub(super) struct Row<'a> {
    pub img: &'a ImageRecord,
    pub repo: String,
    pub tag: String,
    pub digest: String,
}

pub(super) fn rows_of(img: &ImageRecord) -> Vec<Row<'_>> {
    let mut out = Vec::new();
    for n in &img.names {
        if let Ok(r) = Reference::parse(n) {
            out.push(Row {
                img,
                repo: r.familiar_name(),
                tag: r.tag_str().to_string(),
                digest: "<none>".into(),
            });
        }
    }
    for d in &img.digests {
        if let Ok(r) = Reference::parse(d) {
            if !out.iter().any(|x| x.repo == r.familiar_name()) {
                out.push(Row {
                    img,
                    repo: r.familiar_name(),
                    tag: "<none>".into(),
                    digest: r.digest.clone().unwrap_or_default(),
                });
            } else {
                for x in out.iter_mut().filter(|x| x.repo == r.familiar_name()) {
                    x.digest = r.digest.clone().unwrap_or_default();
                }
            }
        }
    }
    if out.is_empty() {
        out.push(Row {
            img,
            repo: "<none>".into(),
            tag: "<none>".into(),
            digest: "<none>".into(),
        });
    }
    out
}

pub fn run(paths: &Paths, a: ImagesArgs) -> Result<i32> {
    let refs: Vec<String> = a.repository.iter().cloned().collect();
    let sel = crate::image::select::select(paths, &a.filter, &refs)?;
    let refs = sel.references;
    let mut rows = Vec::new();
    let now = Utc::now();
    for img in &sel.images {
        for r in rows_of(img) {
            if !refs.is_empty() {
                let named = format!("{}:{}", r.repo, r.tag);
                if r.repo == "<none>"
                    || !refs.iter().any(|p| {
                        crate::image::select::glob(p, &r.repo)
                            || crate::image::select::glob(p, &named)
                    })
                {
                    continue;
                }
            }
            rows.push(r);
        }
    }
    if a.quiet {
        // One line per row, as docker: an image with two tags is listed twice.
        for r in &rows {
            println!("{}", id_cell(&r.img.id, a.no_trunc));
        }
        return Ok(0);
    }
    let values: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            let created: Option<DateTime<Utc>> = r
                .img
                .created
                .as_deref()
                .and_then(|c| DateTime::parse_from_rfc3339(c).ok())
                .map(|t| t.with_timezone(&Utc));
            json!({
                "Repository": r.repo,
                "Tag": r.tag,
                "Digest": r.digest,
                "ID": id_cell(&r.img.id, a.no_trunc),
                "CreatedSince": created.map(|c| format::since(c, now)).unwrap_or_else(|| "N/A".into()),
                "CreatedAt": created.map(|c| c.format("%Y-%m-%d %H:%M:%S %z UTC").to_string()).unwrap_or_default(),
                "Size": format::human_size(r.img.size),
                "VirtualSize": format::human_size(r.img.size),
                "SharedSize": "N/A",
                "UniqueSize": "N/A",
                "Containers": "N/A",
            })
        })
        .collect();
    let table = if a.digests {
        "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
    } else {
        "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
    };
    print!(
        "{}",
        render_rows(
            a.format.as_deref(),
            table,
            HEADERS,
            "*formatter.imageContext",
            &values
        )?
    );
    Ok(0)
}

fn id_cell(id: &str, no_trunc: bool) -> String {
    if no_trunc {
        id.to_string()
    } else {
        format::truncate_id(id).to_string()
    }
}
