//! Go's `encoding/json` byte-level transforms, which decide what
//! `docker manifest` prints: `json.Indent` (a registry's manifest shown as
//! sent, re-indented), `json.Compact` with HTML escaping (what
//! `json.Marshal` does to a value that marshals itself, such as a stored
//! manifest), and Go's escaping of strings. Both transforms keep key order
//! and string bytes exactly: re-serialising through a parsed value would
//! not.
//!
//! The input must already be valid JSON (callers parse it first).

/// Walk `src` as Go's scanner does: a callback per byte with its offset,
/// whether it lies inside a string (quotes included), and whether the
/// top-level value was already complete before it.
fn scan(src: &[u8], mut each: impl FnMut(usize, u8, bool, bool)) {
    let mut in_str = false;
    let mut escaped = false;
    let mut depth = 0usize;
    let mut started = false;
    let mut done = false;
    for (i, &c) in src.iter().enumerate() {
        if in_str {
            each(i, c, true, false);
            if escaped {
                escaped = false;
            } else if c == b'\\' {
                escaped = true;
            } else if c == b'"' {
                in_str = false;
                if depth == 0 {
                    done = true;
                }
            }
            continue;
        }
        if done {
            each(i, c, false, true);
            continue;
        }
        match c {
            b'"' => {
                in_str = true;
                started = true;
                each(i, c, true, false);
            }
            b'{' | b'[' => {
                depth = depth.saturating_add(1);
                started = true;
                each(i, c, false, false);
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                each(i, c, false, false);
                if depth == 0 {
                    done = true;
                }
            }
            b' ' | b'\t' | b'\n' | b'\r' => {
                // A top-level literal (number, true...) ends at a space.
                if started && depth == 0 {
                    done = true;
                    each(i, c, false, true);
                } else {
                    each(i, c, false, false);
                }
            }
            _ => {
                started = true;
                each(i, c, false, false);
            }
        }
    }
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

/// Go's `json.Indent(dst, src, "", indent)`: whitespace between tokens is
/// dropped, then each element goes on its own line; empty objects and
/// arrays stay `{}` and `[]`; whitespace after the value is kept (Go
/// copies it through).
pub fn indent(src: &[u8], indent: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(src.len().saturating_mul(2));
    let mut depth = 0usize;
    let mut need_indent = false;
    let newline = |out: &mut Vec<u8>, depth: usize| {
        out.push(b'\n');
        for _ in 0..depth {
            out.extend_from_slice(indent.as_bytes());
        }
    };
    scan(src, |_, c, in_str, after| {
        if after {
            out.push(c);
            return;
        }
        if !in_str && is_space(c) {
            return;
        }
        if need_indent && (in_str || (c != b'}' && c != b']')) {
            need_indent = false;
            depth = depth.saturating_add(1);
            newline(&mut out, depth);
        }
        if in_str {
            out.push(c);
            return;
        }
        match c {
            b'{' | b'[' => {
                // Delayed, so an empty object or array stays on one line.
                need_indent = true;
                out.push(c);
            }
            b',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            b':' => out.extend_from_slice(b": "),
            b'}' | b']' => {
                if need_indent {
                    need_indent = false;
                } else {
                    depth = depth.saturating_sub(1);
                    newline(&mut out, depth);
                }
                out.push(c);
            }
            _ => out.push(c),
        }
    });
    out
}

/// Go's `json.Compact` with `json.Marshal`'s HTML escaping: whitespace
/// outside strings (trailing too) dropped; `<`, `>`, `&`, U+2028 and
/// U+2029 written as `\u` escapes.
pub fn compact(src: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(src.len());
    let mut skip = 0usize;
    scan(src, |i, c, in_str, after| {
        if let Some(left) = skip.checked_sub(1) {
            skip = left;
            return;
        }
        if after || (!in_str && is_space(c)) {
            return;
        }
        match src.get(i..).unwrap_or_default() {
            [b'<' | b'>' | b'&', ..] => out.extend_from_slice(format!("\\u00{c:02x}").as_bytes()),
            // U+2028 and U+2029 are E2 80 A8 and E2 80 A9.
            [0xE2, 0x80, third @ (0xA8 | 0xA9), ..] => {
                let last = if *third == 0xA8 { 8 } else { 9 };
                out.extend_from_slice(format!("\\u202{last}").as_bytes());
                skip = 2;
            }
            _ => out.push(c),
        }
    });
    out
}

/// A string as Go's `json.Marshal` writes it (HTML characters escaped).
pub fn string(s: &str) -> String {
    let plain = serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
    String::from_utf8(compact(plain.as_bytes())).unwrap_or(plain)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ind(s: &str, i: &str) -> String {
        String::from_utf8(indent(s.as_bytes(), i)).unwrap()
    }

    #[test]
    fn indents_as_go() {
        assert_eq!(
            ind(r#" {"a": [1, {"b":"x, y: {z}"}], "e": {}, "f": [ ]}"#, "\t"),
            "{\n\t\"a\": [\n\t\t1,\n\t\t{\n\t\t\t\"b\": \"x, y: {z}\"\n\t\t}\n\t],\n\t\"e\": {},\n\t\"f\": []\n}"
        );
        // Trailing whitespace is copied, escapes are left alone.
        assert_eq!(
            ind("{\"a\":\"\\\"}\"}\n", "  "),
            "{\n  \"a\": \"\\\"}\"\n}\n"
        );
        // Already indented input comes out the same with the same indent.
        let once = ind(r#"{"a":{"b":[1,2]}}"#, "   ");
        assert_eq!(ind(&once, "   "), once);
    }

    #[test]
    fn compacts_as_go_marshal() {
        assert_eq!(
            compact("{ \"a\" : \"<&>\\u2028\u{2028}\u{2029}x\" ,\n \"b\":[1, 2] }\n".as_bytes()),
            b"{\"a\":\"\\u003c\\u0026\\u003e\\u2028\\u2028\\u2029x\",\"b\":[1,2]}".to_vec()
        );
        // Other characters with the same lead byte stay as they are.
        assert_eq!(
            compact("\"\u{2020}\u{20ac}é\"".as_bytes()),
            "\"\u{2020}\u{20ac}é\"".as_bytes()
        );
        assert_eq!(string("a<b\n"), r#""a\u003cb\n""#);
    }
}
