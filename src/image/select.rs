//! Which images a listing shows: docker's `images` filters (`reference`,
//! `dangling`, `label`, `before`, `since`), newest first, for the CLI's
//! `images` and the API's `/images/json`.

use super::store::{ImageRecord, ImageStore};
use crate::error::{Error, Result};
use crate::paths::Paths;
use chrono::{DateTime, Utc};

/// The images that pass, and the `reference` patterns (with the CLI's
/// REPOSITORY argument) that each listed name must match.
pub struct Selected {
    pub images: Vec<ImageRecord>,
    pub references: Vec<String>,
}

/// Shell-style glob with `*` and `?`, as docker's reference filter uses.
pub fn glob(pattern: &str, s: &str) -> bool {
    fn rec(p: &[u8], s: &[u8]) -> bool {
        match (p.split_first(), s.split_first()) {
            (None, None) => true,
            (Some((b'*', p_rest)), s_split) => {
                rec(p_rest, s) || s_split.is_some_and(|(c, s_rest)| *c != b'/' && rec(p, s_rest))
            }
            (Some((b'?', p_rest)), Some((c, s_rest))) if *c != b'/' => rec(p_rest, s_rest),
            (Some((a, p_rest)), Some((b, s_rest))) if a == b => rec(p_rest, s_rest),
            _ => false,
        }
    }
    rec(pattern.as_bytes(), s.as_bytes())
}

/// Whether one of the image's names matches a `reference` pattern (as
/// `repo` or `repo:tag`); every image passes an empty list.
pub fn matches_reference(img: &ImageRecord, refs: &[String]) -> bool {
    refs.is_empty()
        || img.names.iter().any(|n| {
            super::reference::Reference::parse(n).is_ok_and(|r| {
                let repo = r.familiar_name();
                let named = format!("{repo}:{}", r.tag_str());
                refs.iter().any(|p| glob(p, &repo) || glob(p, &named))
            })
        })
}

/// The images `filters` (docker's `key=value` strings) let through.
pub fn select(paths: &Paths, filters: &[String], refs: &[String]) -> Result<Selected> {
    let mut refs = refs.to_vec();
    let idx = ImageStore::new(paths).index()?;
    let mut dangling: Option<bool> = None;
    let mut labels: Vec<String> = Vec::new();
    // before=/since= name images; docker compares creation times.
    let mut before: Option<DateTime<Utc>> = None;
    let mut since: Option<DateTime<Utc>> = None;
    let time_of = |img: &ImageRecord| {
        img.created
            .as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    };
    let created_of = |name: &str| -> Result<DateTime<Utc>> { Ok(time_of(idx.lookup(name)?)) };
    for f in filters {
        let (k, v) = f.split_once('=').ok_or_else(|| {
            Error::msg(format!("bad format of filter (expected name=value): {f}"))
        })?;
        match k {
            "reference" => refs.push(v.to_string()),
            "dangling" => dangling = Some(matches!(v, "true" | "1")),
            "label" => labels.push(v.to_string()),
            "before" => {
                let t = created_of(v)?;
                before = Some(before.map_or(t, |b| b.min(t)));
            }
            "since" => {
                let t = created_of(v)?;
                since = Some(since.map_or(t, |s| s.max(t)));
            }
            _ => return Err(Error::msg(format!("invalid filter '{k}'"))),
        }
    }
    let mut images: Vec<&ImageRecord> = idx.images.iter().collect();
    // Newest first, by time: configs from elsewhere differ in precision
    // and zone, so their strings do not sort.
    let when = |r: &ImageRecord| {
        r.created
            .as_deref()
            .and_then(|c| chrono::DateTime::parse_from_rfc3339(c).ok())
    };
    images.sort_by(|x, y| {
        when(y)
            .cmp(&when(x))
            .then_with(|| y.created.cmp(&x.created))
    });
    let store = ImageStore::new(paths);
    let mut kept = Vec::new();
    for img in images {
        let created = time_of(img);
        if before.is_some_and(|b| created >= b) || since.is_some_and(|s| created <= s) {
            continue;
        }
        if let Some(d) = dangling {
            if d != img.names.is_empty() {
                continue;
            }
        }
        if !labels.is_empty() {
            let cfg_labels = store
                .config(img)
                .ok()
                .and_then(|c| c.config.labels)
                .unwrap_or_default();
            let ok = labels.iter().all(|l| match l.split_once('=') {
                Some((k, v)) => cfg_labels.get(k).map(|x| x == v).unwrap_or(false),
                None => cfg_labels.contains_key(l),
            });
            if !ok {
                continue;
            }
        }
        kept.push(img.clone());
    }
    Ok(Selected {
        images: kept,
        references: refs,
    })
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn glob_matches_like_docker_reference_filter() {
        assert!(glob("busy*", "busybox"));
        assert!(glob("busybox:1.*", "busybox:1.36"));
        assert!(!glob("busy*", "library/busybox"));
        assert!(glob("*/app", "user/app"));
        assert!(glob("b?sybox", "busybox"));
        assert!(!glob("box", "busybox"));
    }
}
