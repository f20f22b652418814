//! Tagging, removing and pruning images.

use super::reference::Reference;
use super::store::{ImageRecord, ImageStore, Index};
use super::ImageError;
use std::collections::HashSet;

type Result<T, E = ImageError> = std::result::Result<T, E>;

/// What `rmi` did, in docker's words: "Untagged: x", "Deleted: sha256:...".
#[derive(Debug, Default)]
pub struct Removal {
    pub lines: Vec<String>,
}

pub fn tag(store: &ImageStore, source: &str, target: &Reference) -> Result<()> {
    let mut tagged = String::new();
    store.update(|idx| {
        let id = idx.lookup(source)?.id.clone();
        let full = target.to_string();
        for img in idx.images.iter_mut() {
            img.names.retain(|n| *n != full);
        }
        if let Some(img) = idx.images.iter_mut().find(|i| i.id == id) {
            img.names.push(full);
        }
        tagged = id;
        Ok(())
    })?;
    crate::events::image(store.paths(), "tag", &tagged, &target.familiar());
    Ok(())
}

/// `in_use`: (image ID, container ID) for every existing container;
/// `container_layers`: their layer chain IDs, kept by GC.
pub fn remove(
    store: &ImageStore,
    name: &str,
    force: bool,
    in_use: &[(String, String, bool)],
    container_layers: &HashSet<String>,
) -> Result<Removal> {
    let mut out = Removal::default();
    let mut id = String::new();
    store.update(|idx| {
        let img = idx.lookup(name)?.clone();
        id = img.id.clone();
        let by_ref = Reference::parse(name).ok().map(|r| r.to_string()).filter(|full| img.names.contains(full));
        let user = in_use.iter().find(|(i, _, _)| *i == img.id).map(|(_, c, running)| (c.clone(), *running));
        match by_ref {
            // Removing one of several names only untags.
            Some(full) if img.names.len() > 1 || (user.is_some() && force) => {
                untag(idx, &img, &full, &mut out);
                return Ok(());
            }
            Some(full) => {
                if let Some((c, _)) = &user {
                    return Err(ImageError::InUse {
                        // As the user wrote it, as docker's message.
                        reference: name.to_string(),
                        container: crate::util::first_chars(c, 12).to_string(),
                        image: short(&img.id),
                    });
                }
                untag(idx, &img, &full, &mut out);
            }
            None => {
                if img.names.len() > 1 && !force {
                    return Err(ImageError::MultipleRefs(short(&img.id)));
                }
                // docker's words: a running user cannot be forced away.
                if let Some((c, running)) = &user {
                    let (how, state) = if *running {
                        ("cannot", "running")
                    } else {
                        ("must", "stopped")
                    };
                    if *running || !force {
                        return Err(ImageError::Invalid(format!(
                            "conflict: unable to delete {} ({how} be forced) - image is being used by {state} container {}",
                            short(&img.id),
                            crate::util::first_chars(c, 12)
                        )));
                    }
                }
                for n in img.names.clone() {
                    untag(idx, &img, &n, &mut out);
                }
                for d in &img.digests {
                    out.lines.push(format!("Untagged: {}", familiar(d)));
                }
                // Forced removal by ID: the image goes; its containers keep
                // their layers (GC counts them).
                delete(store, idx, &img, container_layers, &mut out)?;
                return Ok(());
            }
        }
        // Untagged by name and no names left: the image goes unless a
        // container still uses it (then it stays as <none>, as in docker).
        if user.is_none() && idx.by_id(&img.id).map(|i| i.names.is_empty()).unwrap_or(false) {
            delete(store, idx, &img, container_layers, &mut out)?;
        }
        Ok(())
    })?;
    for line in &out.lines {
        if let Some(name) = line.strip_prefix("Untagged: ") {
            crate::events::image(store.paths(), "untag", &id, name);
        } else if line.starts_with("Deleted: ") {
            crate::events::image(store.paths(), "delete", &id, &id);
        }
    }
    Ok(out)
}

fn delete(
    store: &ImageStore,
    idx: &mut Index,
    img: &ImageRecord,
    container_layers: &HashSet<String>,
    out: &mut Removal,
) -> Result<()> {
    idx.images.retain(|i| i.id != img.id);
    out.lines.push(format!("Deleted: {}", img.id));
    store.gc_locked(idx, container_layers)
}

/// Remove one name; with the last tag of a repository go that
/// repository's digests (`repo@sha256:...`), as docker untags them.
fn untag(idx: &mut Index, img: &ImageRecord, full: &str, out: &mut Removal) {
    out.lines.push(format!("Untagged: {}", familiar(full)));
    let Some(i) = idx.images.iter_mut().find(|i| i.id == img.id) else {
        return;
    };
    i.names.retain(|n| n != full);
    let Ok(r) = Reference::parse(full) else {
        return;
    };
    let repo = r.name();
    let same_repo = |n: &String| Reference::parse(n).is_ok_and(|x| x.name() == repo);
    if r.digest.is_some() || i.names.iter().any(same_repo) {
        return;
    }
    let (gone, keep): (Vec<String>, Vec<String>) = i.digests.drain(..).partition(same_repo);
    i.digests = keep;
    for d in gone {
        out.lines.push(format!("Untagged: {}", familiar(&d)));
    }
}

fn familiar(full: &str) -> String {
    Reference::parse(full)
        .map(|r| r.familiar())
        .unwrap_or_else(|_| full.to_string())
}

fn short(id: &str) -> String {
    id.trim_start_matches("sha256:").chars().take(12).collect()
}

/// Remove dangling images (no names), or with `all` every image no
/// container uses. Returns the removed IDs.
/// `selects`: the caller's filters (`until`, labels) on each candidate.
pub fn prune(
    store: &ImageStore,
    all: bool,
    selects: &dyn Fn(&ImageRecord) -> bool,
    in_use: &[(String, String, bool)],
    container_layers: &HashSet<String>,
) -> Result<Vec<ImageRecord>> {
    store.update(|idx| {
        let used: HashSet<&String> = in_use.iter().map(|(i, _, _)| i).collect();
        let (gone, keep): (Vec<ImageRecord>, Vec<ImageRecord>) = idx
            .images
            .drain(..)
            .partition(|i| !used.contains(&i.id) && (all || i.names.is_empty()) && selects(i));
        idx.images = keep;
        store.gc_locked(idx, container_layers)?;
        Ok(gone)
    })
}
