//! Which containers a listing shows: docker's `ps` filters (`status`,
//! `name`, `id`, `ancestor`, `label`, `health`, `exited`, `before`,
//! `since`, `volume`, `network`, `publish`, `expose`, `is-task`), for the
//! CLI's `ps` and the API's `/containers/json`.

use super::store::{Container, ContainerStore};
use crate::error::{Error, Result};
use crate::image::store::ImageStore;
use crate::paths::Paths;

struct Filters {
    status: Vec<String>,
    /// Regexps docker matches against the name, with or without its "/";
    /// one that does not compile matches nothing.
    name: Vec<Option<regex_lite::Regex>>,
    id: Vec<String>,
    ancestor: Vec<String>,
    label: Vec<String>,
    health: Vec<String>,
    exited: Vec<i32>,
    before: Vec<String>,
    since: Vec<String>,
    volume: Vec<String>,
    network: Vec<String>,
    publish: Vec<PortFilter>,
    expose: Vec<PortFilter>,
    /// `is-task=true`: swarm tasks, of which rdock has none.
    tasks_only: bool,
}

/// `publish=`/`expose=`: a port or a range, and a protocol (tcp unless
/// given), as docker reads them.
#[derive(Debug, Clone, PartialEq)]
struct PortFilter {
    lo: u16,
    hi: u16,
    proto: String,
}

impl PortFilter {
    fn parse(key: &str, v: &str) -> Result<PortFilter> {
        let bad = || Error::msg(format!("invalid filter '{key}={v}'"));
        let (ports, proto) = v.split_once('/').unwrap_or((v, "tcp"));
        let (lo, hi) = match ports.split_once('-') {
            Some((a, b)) => (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?),
            None => {
                let p: u16 = ports.parse().map_err(|_| bad())?;
                (p, p)
            }
        };
        if lo > hi || !matches!(proto, "tcp" | "udp" | "sctp") {
            return Err(bad());
        }
        Ok(PortFilter {
            lo,
            hi,
            proto: proto.to_string(),
        })
    }

    fn covers(&self, port: u16, proto: &str) -> bool {
        (self.lo..=self.hi).contains(&port) && self.proto == proto
    }
}

fn parse_filters(raw: &[String]) -> Result<Filters> {
    let mut f = Filters {
        status: vec![],
        name: vec![],
        id: vec![],
        ancestor: vec![],
        label: vec![],
        health: vec![],
        exited: vec![],
        before: vec![],
        since: vec![],
        volume: vec![],
        network: vec![],
        publish: vec![],
        expose: vec![],
        tasks_only: false,
    };
    for r in raw {
        let (k, v) = r.split_once('=').ok_or_else(|| {
            Error::msg(format!("bad format of filter (expected name=value): {r}"))
        })?;
        let v = v.to_string();
        match k {
            "status" => {
                if !matches!(
                    v.as_str(),
                    "created"
                        | "restarting"
                        | "running"
                        | "removing"
                        | "paused"
                        | "exited"
                        | "dead"
                ) {
                    return Err(Error::msg(format!(
                        "invalid filter 'status={v}': invalid value for state ({v}): must be one of created, running, paused, restarting, removing, exited, dead"
                    )));
                }
                f.status.push(v)
            }
            "name" => f.name.push(regex_lite::Regex::new(&v).ok()),
            "id" => f.id.push(v),
            "ancestor" => f.ancestor.push(v),
            "label" => f.label.push(v),
            "health" => {
                if !matches!(v.as_str(), "starting" | "healthy" | "unhealthy" | "none") {
                    return Err(Error::msg(format!(
                        "invalid filter 'health={v}': invalid value for health ({v}): must be one of none, starting, healthy, unhealthy"
                    )));
                }
                f.health.push(v)
            }
            "exited" => f.exited.push(v.parse().map_err(|_| {
                Error::msg(format!(
                    "invalid filter 'exited={v}': strconv.Atoi: parsing {v:?}: invalid syntax"
                ))
            })?),
            "before" => f.before.push(v),
            "since" => f.since.push(v),
            "volume" => f.volume.push(v),
            "network" => f.network.push(v),
            "publish" => f.publish.push(PortFilter::parse(k, &v)?),
            "expose" => f.expose.push(PortFilter::parse(k, &v)?),
            "is-task" => match v.as_str() {
                "true" | "1" => f.tasks_only = true,
                "false" | "0" => {}
                _ => return Err(Error::msg(format!("invalid filter 'is-task=[{v}]'"))),
            },
            _ => return Err(Error::msg(format!("invalid filter '{k}'"))),
        }
    }
    Ok(f)
}

/// Creation bounds from `before=`/`since=` (containers named by name or
/// ID): only containers created strictly between them pass.
struct Bounds {
    before: Option<String>,
    since: Option<String>,
}

fn matches(f: &Filters, c: &Container, ancestors: &[String], bounds: &Bounds) -> bool {
    // docker's rule: publish= names a host (public) port, expose= a
    // container (private) one, of the ports a running container has; a
    // match of either passes.
    let ports_pass = f.publish.is_empty() && f.expose.is_empty()
        || super::network::api_ports(c)
            .iter()
            .any(|(private, public, proto)| {
                f.publish
                    .iter()
                    .any(|pf| *public != 0 && pf.covers(*public, proto))
                    || f.expose.iter().any(|pf| pf.covers(*private, proto))
            });
    let networks = super::network::network_names(&c.config);
    !f.tasks_only
        && (f.exited.is_empty()
            || (c.state.display_status() == "exited" && f.exited.contains(&c.state.exit_code)))
        && bounds.before.as_ref().is_none_or(|b| c.config.created < *b)
        && bounds.since.as_ref().is_none_or(|s| c.config.created > *s)
        && (f.volume.is_empty()
            || f.volume.iter().any(|v| {
                c.config
                    .mounts
                    .iter()
                    .any(|m| m.name == *v || m.destination == std::path::Path::new(v))
            }))
        && (f.network.is_empty()
            || f.network
                .iter()
                .any(|n| networks.split(',').any(|have| have == n)))
        && ports_pass
        && (f.status.is_empty() || f.status.iter().any(|s| s == c.state.display_status()))
        && (f.name.is_empty()
            || f.name
                .iter()
                .flatten()
                .any(|n| n.is_match(&c.config.name) || n.is_match(&format!("/{}", c.config.name))))
        && (f.id.is_empty() || f.id.iter().any(|i| c.config.id.starts_with(i.as_str())))
        && (f.ancestor.is_empty() || ancestors.contains(&c.config.image_id))
        && (f.health.is_empty() || f.health.iter().any(|h| *h == health_status(c)))
        && f.label.iter().all(|l| match l.split_once('=') {
            Some((k, v)) => c.config.labels.get(k).map(|x| x == v).unwrap_or(false),
            None => c.config.labels.contains_key(l),
        })
}

/// The health filter's view: "none" without a check.
fn health_status(c: &Container) -> String {
    super::inspect::health_of(c)
        .map(|h| h.status)
        .unwrap_or_else(|| "none".into())
}

/// What to list: every container or the running ones, the newest `last`.
pub struct Selection<'a> {
    /// docker's `key=value` filter strings.
    pub filters: &'a [String],
    pub all: bool,
    pub last: Option<usize>,
}

/// The containers a listing shows, newest first.
pub fn select(paths: &Paths, s: &Selection) -> Result<Vec<Container>> {
    let f = parse_filters(s.filters)?;
    let mut ancestors = Vec::new();
    if !f.ancestor.is_empty() {
        let idx = ImageStore::new(paths).index()?;
        for name in &f.ancestor {
            if let Ok(img) = idx.lookup(name) {
                ancestors.push(img.id.clone());
            }
        }
    }
    let all = s.all || s.last.is_some() || !f.status.is_empty();
    let mut list: Vec<Container> = ContainerStore::new(paths)
        .list()
        .into_iter()
        .filter(|c| all || c.state.status == super::state::Status::Running)
        .collect();
    if let Some(n) = s.last {
        list.truncate(n);
    }
    // network= takes a name or an ID; containers know networks by name.
    let mut f = f;
    f.network = f
        .network
        .iter()
        .map(|n| {
            crate::network::store::find(paths, n)
                .map(|d| d.name)
                .unwrap_or_else(|_| n.clone())
        })
        .collect();
    // before=/since= name containers; docker compares creation times.
    let store = ContainerStore::new(paths);
    let created = |names: &[String]| -> Result<Vec<String>> {
        names
            .iter()
            .map(|n| Ok(store.resolve(n)?.config.created))
            .collect()
    };
    let bounds = Bounds {
        before: created(&f.before)?.into_iter().min(),
        since: created(&f.since)?.into_iter().max(),
    };
    list.retain(|c| matches(&f, c, &ancestors, &bounds));
    Ok(list)
}
