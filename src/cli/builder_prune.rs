//! `builder prune`'s client side: docker's CLI checks each `--filter`'s
//! form and `--keep-storage` before the engine (the library's
//! `build::prune::CacheFilter`) checks the rest.

use crate::build::prune::CacheFilter;
use crate::error::{Error, Result};

/// The client's check of each `--filter` and of `--keep-storage` (usage
/// errors), then the engine's.
pub fn parse(filters: &[String], keep_storage: Option<&str>) -> Result<CacheFilter> {
    for f in filters {
        if !f.contains('=') {
            return Err(Error::msg(format!(
                "invalid argument {} for \"--filter\" flag: bad format of filter (expected name=value)",
                super::pflag::go_quote(f)
            ))
            .client());
        }
    }
    let keep = match keep_storage {
        None => None,
        Some(k) => Some(
            crate::runtime::resources::ram_in_bytes(k)
                .filter(|n| *n >= 0)
                .map(|n| n as u64)
                .ok_or_else(|| {
                    Error::msg(format!(
                        "invalid argument {} for \"--keep-storage\" flag: invalid size: '{k}'",
                        super::pflag::go_quote(k)
                    ))
                    .client()
                })?,
        ),
    };
    CacheFilter::parse(filters, keep)
}

#[cfg(test)]
mod tests {
    #[test]
    fn client_refusals() {
        let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(super::parse(&s(&["until"]), None)
            .unwrap_err()
            .to_string()
            .contains("bad format of filter"));
        assert!(super::parse(&[], Some("bogus")).is_err());
        assert!(super::parse(&s(&["bogus=1"]), None)
            .unwrap_err()
            .to_string()
            .contains("invalid filter 'bogus'"));
    }
}
