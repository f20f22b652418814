//! Objects in docker's field order. Docker's inspect output is its Go
//! structs marshalled, so keys come in declaration order; rdock builds the
//! same objects as JSON values (serde_json keeps insertion order), and
//! these tables put the keys where docker has them. Keys a table does not
//! name keep their relative order after the named ones.

use serde_json::{Map, Value};

/// (path, keys): a path is dot-separated keys from the object `reorder`
/// is given; `*` is every value of an object (`Networks.*`), `[]` every
/// element of an array (`Mounts.[]`); "" is the object itself.
pub type Order<'a> = &'a [(&'a str, &'a [&'a str])];

pub fn reorder(v: &mut Value, order: Order) {
    for (path, keys) in order {
        let segs: Vec<&str> = path.split('.').filter(|s| !s.is_empty()).collect();
        at(v, &segs, keys);
    }
}

fn at(v: &mut Value, segs: &[&str], keys: &[&str]) {
    match (segs.split_first(), v) {
        (None, Value::Object(m)) => sort(m, keys),
        (Some((&"*", rest)), Value::Object(m)) => {
            for x in m.values_mut() {
                at(x, rest, keys);
            }
        }
        (Some((&"[]", rest)), Value::Array(a)) => {
            for x in a.iter_mut() {
                at(x, rest, keys);
            }
        }
        (Some((seg, rest)), Value::Object(m)) => {
            if let Some(x) = m.get_mut(*seg) {
                at(x, rest, keys);
            }
        }
        _ => {}
    }
}

/// The keys of a Go map: sorted, as encoding/json writes them.
pub const SORTED: &[&str] = &["\u{0}sorted"];

fn sort(m: &mut Map<String, Value>, keys: &[&str]) {
    if keys == SORTED {
        m.sort_keys();
        return;
    }
    let mut old = std::mem::take(m);
    for k in keys {
        if let Some((k, x)) = old.shift_remove_entry(*k) {
            m.insert(k, x);
        }
    }
    // What the table does not name, in its own order.
    m.extend(old);
}

/// docker's container.Config (containers' and images' `Config`).
pub const CONFIG: &[&str] = &[
    "Hostname",
    "Domainname",
    "User",
    "AttachStdin",
    "AttachStdout",
    "AttachStderr",
    "ExposedPorts",
    "Tty",
    "OpenStdin",
    "StdinOnce",
    "Env",
    "Cmd",
    "Healthcheck",
    "ArgsEscaped",
    "Image",
    "Volumes",
    "WorkingDir",
    "Entrypoint",
    "NetworkDisabled",
    "MacAddress",
    "OnBuild",
    "Labels",
    "StopSignal",
    "StopTimeout",
    "Shell",
];

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn named_keys_first_in_order_then_the_rest() {
        let mut v = json!({"b": 1, "z": {"y": 1, "x": 2}, "a": [{"q": 1, "p": 2}], "c": 3});
        super::reorder(
            &mut v,
            &[("", &["c", "a", "b"]), ("z", &["x"]), ("a.[]", &["p", "q"])],
        );
        assert_eq!(
            serde_json::to_string(&v).unwrap_or_default(),
            r#"{"c":3,"a":[{"p":2,"q":1}],"b":1,"z":{"x":2,"y":1}}"#
        );
    }
}
