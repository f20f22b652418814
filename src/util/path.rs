//! Lexical path cleaning, as Go's path.Clean does it (docker's rules for
//! every path a user, an image or a Dockerfile gives): one place for the
//! forms rdock needs. Only the text is looked at, never the file system.

/// Go's path.Clean of a '/'-separated path: no empty or "." components,
/// ".." resolved against what precedes it (at the root it stays at the
/// root; a relative path keeps its leading ".."s); "." for nothing.
pub fn go_clean(path: &str) -> String {
    if path.is_empty() {
        return ".".to_string();
    }
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                // ".." at the root stays at the root.
                _ if rooted => {}
                _ => parts.push(".."),
            },
            p => parts.push(p),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

/// `p` made absolute and clean, as Go's filepath.Join("/", p): ".." never
/// climbs above "/".
pub fn clean_abs(p: &str) -> String {
    go_clean(&format!("/{p}"))
}

/// A relative path cleaned, without the leading "/" of `clean_abs`
/// ("" for the start itself).
pub fn clean_under(p: &str) -> String {
    clean_abs(p).trim_start_matches('/').to_string()
}

/// A '/'-separated relative path cleaned; None if it climbs above its
/// start.
pub fn clean_rel(p: &str) -> Option<String> {
    let mut out: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                out.pop()?;
            }
            c => out.push(c),
        }
    }
    Some(out.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_go_cleans() {
        for (p, want) in [
            ("", "."),
            (".", "."),
            ("/", "/"),
            ("a//b/./c/", "a/b/c"),
            ("/../a", "/a"),
            ("../../a", "../../a"),
            ("a/../..", ".."),
            ("/a/b/../../..", "/"),
        ] {
            assert_eq!(go_clean(p), want, "{p:?}");
        }
        assert_eq!(clean_abs("../../etc"), "/etc");
        assert_eq!(clean_abs(""), "/");
        assert_eq!(clean_under("/a/b/../c/"), "a/c");
        assert_eq!(clean_under(".."), "");
        assert_eq!(clean_rel("a/./b/../c"), Some("a/c".into()));
        assert_eq!(clean_rel("a/../.."), None);
    }
}
