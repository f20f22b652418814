//! `rdock search TERM`: Docker Hub's search API (`/v1/search`), or that of
//! the registry named in TERM (`localhost:5000/busybox`), with docker's
//! columns and filters.

use super::format::render_rows;
use crate::error::{Error, Result};
use crate::image::registry::client::{self, urlencode, Registry};
use crate::image::registry::settings::Settings;
use clap::Args;
use serde::Deserialize;
use serde_json::json;
use ureq::http::Method;

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

#[derive(Debug, Deserialize)]
struct Hit {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    star_count: i64,
    #[serde(default)]
    is_official: bool,
    #[serde(default)]
    is_automated: bool,
}

#[derive(Debug, Deserialize)]
struct Answer {
    #[serde(default)]
    results: Vec<Hit>,
}

const DEFAULT_TABLE: &str = "table {{.Name}}\t{{.Description}}\t{{.StarCount}}\t{{.IsOfficial}}";
const HEADERS: &[(&str, &str)] = &[
    ("Name", "NAME"),
    ("Description", "DESCRIPTION"),
    ("StarCount", "STARS"),
    ("IsOfficial", "OFFICIAL"),
    ("IsAutomated", "AUTOMATED"),
];

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
    // docker's client sends no limit for 0: the registry's default, 25.
    let limit = a.limit.filter(|l| *l != 0).unwrap_or(25);
    if !(1..=100).contains(&limit) {
        return Err(Error::msg(format!(
            "limit {limit} is outside the range of [1, 100]"
        )));
    }
    let f = parse_filters(&a.filter)?;
    // "host:port/term" searches that registry; anything else Docker Hub.
    let (index, term) = match a.term.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (first.to_string(), rest.to_string())
        }
        _ => ("docker.io".to_string(), a.term.clone()),
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
    let rows: Vec<serde_json::Value> = ans
        .results
        .iter()
        .filter(|h| h.star_count >= f.stars)
        .filter(|h| f.official.is_none_or(|o| h.is_official == o))
        .filter(|h| f.automated.is_none_or(|o| h.is_automated == o))
        .take(limit as usize)
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
