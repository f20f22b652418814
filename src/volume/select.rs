//! docker's volume filters: which volumes `volume ls` lists and `volume
//! prune` removes (for the CLI and the API alike).

use super::{Result, Volume, VolumeError, VolumeStore};
use crate::paths::Paths;

type Label = (String, Option<String>);

fn label(v: &str) -> Label {
    match v.split_once('=') {
        Some((a, b)) => (a.to_string(), Some(b.to_string())),
        None => (v.to_string(), None),
    }
}

fn invalid(m: impl Into<String>) -> VolumeError {
    VolumeError::Invalid(m.into())
}

/// docker's `label=` filter: every `key` present, every `key=value` equal.
fn labels_match(v: &Volume, wanted: &[Label]) -> bool {
    wanted
        .iter()
        .all(|(k, want)| match (v.labels.get(k), want) {
            (Some(_), None) => true,
            (Some(have), Some(w)) => have == w,
            (None, _) => false,
        })
}

/// `volume ls`'s filters: dangling, name (a regexp), label (key or
/// key=value), driver.
#[derive(Debug, Default)]
pub struct Filters {
    dangling: Option<bool>,
    names: Vec<String>,
    labels: Vec<Label>,
    drivers: Vec<String>,
}

impl Filters {
    /// `key=value` items, as the CLI's `--filter` takes them.
    pub fn parse(items: &[String]) -> Result<Filters> {
        let mut f = Filters::default();
        for item in items {
            let Some((k, v)) = item.split_once('=') else {
                return Err(invalid("bad format of filter (expected name=value)"));
            };
            match k {
                "dangling" => {
                    f.dangling = Some(match v.to_ascii_lowercase().as_str() {
                        "true" | "1" => true,
                        "false" | "0" => false,
                        _ => return Err(invalid(format!("invalid filter 'dangling={v}'"))),
                    })
                }
                "name" => f.names.push(v.to_string()),
                "label" => f.labels.push(label(v)),
                "driver" => f.drivers.push(v.to_string()),
                _ => return Err(invalid(format!("invalid filter '{k}'"))),
            }
        }
        Ok(f)
    }
}

/// The volumes the filters select, by name.
pub fn list(paths: &Paths, f: &Filters) -> Vec<Volume> {
    let store = VolumeStore::new(paths);
    let unused: std::collections::BTreeSet<String> = if f.dangling.is_some() {
        store.unused().into_iter().map(|v| v.name).collect()
    } else {
        Default::default()
    };
    store
        .list()
        .into_iter()
        .filter(|v| f.dangling.is_none_or(|d| unused.contains(&v.name) == d))
        .filter(|v| {
            // Regexps, as docker's (one that does not compile matches nothing).
            f.names.is_empty()
                || f.names
                    .iter()
                    .any(|n| regex_lite::Regex::new(n).is_ok_and(|r| r.is_match(&v.name)))
        })
        .filter(|v| labels_match(v, &f.labels))
        .filter(|_| f.drivers.is_empty() || f.drivers.iter().any(|d| d == "local"))
        .collect()
}

/// `volume prune`'s filters (docker 23+): `label=`, `label!=` and `all=`
/// (what `-a` sends); anything else is refused as the engine refuses it.
#[derive(Debug, Default)]
pub struct PruneFilters {
    pub all: bool,
    labels: Vec<Label>,
    not_labels: Vec<Label>,
}

impl PruneFilters {
    pub fn parse(items: &[String], all: bool) -> Result<PruneFilters> {
        let mut f = PruneFilters {
            all,
            ..Default::default()
        };
        for item in items {
            let Some((k, v)) = item.split_once('=') else {
                return Err(invalid("bad format of filter (expected name=value)"));
            };
            match k {
                "label" => f.labels.push(label(v)),
                "label!" => f.not_labels.push(label(v)),
                "all" => match v.to_ascii_lowercase().as_str() {
                    "true" | "1" => f.all = true,
                    "false" | "0" => {}
                    _ => return Err(invalid(format!("invalid filter 'all={v}'"))),
                },
                _ => return Err(invalid(format!("invalid filter '{k}'"))),
            }
        }
        Ok(f)
    }

    /// Whether an unused volume is one to prune: anonymous (unless
    /// `all`), every `label` matching, no `label!` matching.
    pub fn selects(&self, v: &Volume) -> bool {
        (self.all || v.anonymous())
            && labels_match(v, &self.labels)
            && !self
                .not_labels
                .iter()
                .any(|l| labels_match(v, std::slice::from_ref(l)))
    }
}
