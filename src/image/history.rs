//! An image's history: its config's entries, newest first, each with the
//! size of the layer it made, as docker's `history` and its API list them.

use super::store::{ImageRecord, ImageStore};
use crate::error::Result;
use chrono::{DateTime, Utc};

/// One entry, as docker's `image.HistoryResponseItem`.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The image's ID on the newest entry; the ones below have no image
    /// of their own here (docker's `<missing>`).
    pub id: Option<String>,
    pub created: Option<DateTime<Utc>>,
    /// Raw: docker's CLI replaces its tabs when it prints it.
    pub created_by: String,
    pub size: u64,
    pub comment: String,
    /// The image's names, on the newest entry only.
    pub tags: Vec<String>,
}

pub fn history(store: &ImageStore, img: &ImageRecord) -> Result<Vec<Entry>> {
    let cfg = store.config(img)?;
    // Non-empty history entries made the layers, in order.
    let mut sizes = img
        .layers
        .iter()
        .map(|l| store.layer_info(l).map(|i| i.size).unwrap_or(0));
    let newest = cfg.history.len().checked_sub(1);
    let mut out = Vec::with_capacity(cfg.history.len());
    for (i, h) in cfg.history.iter().enumerate() {
        let size = if h.empty_layer {
            0
        } else {
            sizes.next().unwrap_or(0)
        };
        let top = Some(i) == newest;
        out.push(Entry {
            id: top.then(|| img.id.clone()),
            created: h
                .created
                .as_deref()
                .and_then(|c| DateTime::parse_from_rfc3339(c).ok())
                .map(|t| t.with_timezone(&Utc)),
            created_by: h.created_by.clone().unwrap_or_default(),
            size,
            comment: h.comment.clone().unwrap_or_default(),
            tags: if top {
                img.names
                    .iter()
                    .map(|n| {
                        super::reference::Reference::parse(n)
                            .map(|r| r.familiar())
                            .unwrap_or_else(|_| n.clone())
                    })
                    .collect()
            } else {
                Vec::new()
            },
        });
    }
    out.reverse();
    Ok(out)
}
