//! Registry search (`/v1/search`): Docker Hub's index, or that of the
//! registry named in the term (`localhost:5000/busybox`), with docker's
//! limit and filters. For the CLI's `search` and the API's
//! `/images/search`.

use super::client::{self, urlencode, Registry};
use super::settings::Settings;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use ureq::http::Method;

/// One result, in the API's shape.
#[derive(Debug, Deserialize, Serialize)]
pub struct Hit {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub star_count: i64,
    #[serde(default)]
    pub is_official: bool,
    #[serde(default)]
    pub is_automated: bool,
}

#[derive(Debug, Deserialize)]
struct Answer {
    #[serde(default)]
    results: Vec<Hit>,
}

struct Filters {
    stars: i64,
    official: Option<bool>,
    automated: Option<bool>,
}

fn parse_filters(raw: &[String]) -> Result<Filters> {
    let mut f = Filters {
        stars: 0,
        official: None,
        automated: None,
    };
    for r in raw {
        let (k, v) = r.split_once('=').ok_or_else(|| {
            Error::msg(format!("bad format of filter (expected name=value): {r}"))
        })?;
        let b = || match v {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err(Error::msg(format!("invalid filter '{k}={v}'"))),
        };
        match k {
            "stars" => {
                f.stars = v
                    .parse()
                    .map_err(|_| Error::msg(format!("invalid filter 'stars={v}'")))?
            }
            "is-official" => f.official = Some(b()?),
            "is-automated" => f.automated = Some(b()?),
            _ => return Err(Error::msg(format!("invalid filter '{k}'"))),
        }
    }
    Ok(f)
}

/// Search for `term`: at most `limit` results (docker's 25 when None or
/// 0) that pass `filters` (`stars`, `is-official`, `is-automated`).
pub fn search(term: &str, limit: Option<i64>, filters: &[String]) -> Result<Vec<Hit>> {
    // docker's client sends no limit for 0: the registry's default, 25.
    let limit = limit.filter(|l| *l != 0).unwrap_or(25);
    if !(1..=100).contains(&limit) {
        return Err(Error::msg(format!(
            "limit {limit} is outside the range of [1, 100]"
        )));
    }
    let f = parse_filters(filters)?;
    // "host:port/term" searches that registry; anything else Docker Hub.
    let (index, term) = match term.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (first.to_string(), rest.to_string())
        }
        _ => ("docker.io".to_string(), term.to_string()),
    };
    let settings = Settings::load()?;
    let base = if index == "docker.io" {
        "https://index.docker.io".to_string()
    } else {
        let reg = Registry::new(&index, None, &settings);
        reg.url("")?
    };
    let url = format!("{base}/v1/search?q={}&n={limit}", urlencode(&term));
    // The index may redirect (it has moved hosts before); search sends no
    // credentials, so ureq may follow.
    let agent: ureq::Agent = client::agent_config(false, &settings.timeouts)
        .max_redirects(10)
        .build()
        .into();
    let mut resp = agent
        .get(&url)
        .call()
        .map_err(|e| client::net_error(&Method::GET, &url, e, &settings.timeouts))?;
    if !resp.status().is_success() {
        return Err(Error::msg(format!(
            "Get \"{url}\": unexpected status {}",
            resp.status().as_u16()
        )));
    }
    let body = client::read_small(&mut resp, &url, &settings.timeouts)?;
    let ans: Answer = serde_json::from_slice(&body)
        .map_err(|e| Error::msg(format!("search answer from {url}: {e}")))?;
    Ok(ans
        .results
        .into_iter()
        .filter(|h| h.star_count >= f.stars)
        .filter(|h| f.official.is_none_or(|o| h.is_official == o))
        .filter(|h| f.automated.is_none_or(|o| h.is_automated == o))
        .take(usize::try_from(limit).unwrap_or(25))
        .collect())
}
