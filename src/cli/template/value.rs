//! The values a template sees, and Go's ways of printing them.

use serde_json::Value;
use std::collections::BTreeMap;
use std::rc::Rc;

/// How the engine reads the data, as docker's CLI holds it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// A formatter context (`ps`, `images`, ... rows) or a typed struct
    /// (`version`, `info`): JSON objects below the root are Go maps.
    Row,
    /// `inspect`'s first try: docker's typed structs. Objects are structs
    /// (a missing field fails) unless they are maps by their key.
    Typed,
    /// `inspect`'s fallback: the JSON decoded into interface{} values
    /// (numbers json.Number), executed with missingkey=error.
    Raw,
}

/// What Go type a JSON value stands for, as far as printing and missing
/// keys go.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shape {
    Struct,
    /// A docker struct printed whole (`{on-failure 3}`): its Go fields in
    /// order, the zero value of those its JSON omits.
    Go(&'static GoStruct),
    /// A Go map (missing keys are "no value"); of strings when `true`.
    Map(bool),
    List,
}

/// A docker struct a template may print whole: its Go type and fields.
#[derive(Debug, PartialEq)]
pub struct GoStruct {
    /// The type, as text/template names it after dereferencing.
    pub name: &'static str,
    /// (field, zero value's JSON) in Go's order.
    pub fields: &'static [(&'static str, Zero)],
}

/// The zero value of a field a struct's JSON may omit.
#[derive(Debug, PartialEq, Clone, Copy)]
pub enum Zero {
    Str,
    Int,
    /// A nil slice: `[]`.
    List,
    /// A nil map: `map[]`.
    Map,
}

const RESTART_POLICY: GoStruct = GoStruct {
    name: "container.RestartPolicy",
    fields: &[("Name", Zero::Str), ("MaximumRetryCount", Zero::Int)],
};
const LOG_CONFIG: GoStruct = GoStruct {
    name: "container.LogConfig",
    fields: &[("Type", Zero::Str), ("Config", Zero::Map)],
};
const IPAM_CONFIG: GoStruct = GoStruct {
    name: "network.EndpointIPAMConfig",
    fields: &[
        ("IPv4Address", Zero::Str),
        ("IPv6Address", Zero::Str),
        ("LinkLocalIPs", Zero::List),
    ],
};

impl GoStruct {
    /// Go's %v of the struct: `{v1 v2 ...}`.
    fn print(&self, o: &serde_json::Map<String, Value>) -> String {
        let parts: Vec<String> = self
            .fields
            .iter()
            .map(|(f, zero)| match (o.get(*f), zero) {
                (Some(Value::Null) | None, Zero::Str) => String::new(),
                (Some(Value::Null) | None, Zero::Int) => "0".into(),
                (Some(Value::Null) | None, Zero::List) => "[]".into(),
                (Some(Value::Null) | None, Zero::Map) => "map[]".into(),
                (Some(v), _) => go_value(v),
            })
            .collect();
        format!("{{{}}}", parts.join(" "))
    }
}

impl Shape {
    /// A Go struct (a missing field is an error in typed mode).
    pub fn is_struct(self) -> bool {
        matches!(self, Shape::Struct | Shape::Go(_))
    }
}

/// A docker formatter context: a Go struct whose fields are methods.
#[derive(Debug, Clone, Default)]
pub struct Row {
    /// Go's name for it in errors, e.g. "*formatter.ContainerContext".
    pub type_name: String,
    pub fields: serde_json::Map<String, Value>,
    /// For the `Label "k"` method, when the context has one.
    pub labels: Option<BTreeMap<String, String>>,
    /// A table header's context: a Go map (missing keys print "<no
    /// value>") whose `Label "a.b-c"` method gives "b c".
    pub header: bool,
    /// Fields that hold plain Go structs (`version`'s `Client`, `info`'s
    /// `Plugins`...) and their Go types: a field they lack is an error in
    /// docker's words, not "<no value>".
    pub structs: &'static [(&'static str, &'static str)],
    /// This context is one of those structs: printed `{...}` (`&{...}`
    /// for a pointer), `json` in field order, no `len`.
    pub plain: bool,
}

#[derive(Debug, Clone)]
pub enum Val {
    /// Go's invalid reflect.Value: prints "<no value>".
    Missing,
    J(Value, Shape),
    Row(Rc<Row>),
}

impl Val {
    pub fn json(v: Value) -> Val {
        Val::J(v, Shape::Struct)
    }
    pub fn str(s: impl Into<String>) -> Val {
        Val::json(Value::String(s.into()))
    }
    pub fn int(i: i64) -> Val {
        Val::json(Value::from(i))
    }
    pub fn bool(b: bool) -> Val {
        Val::json(Value::Bool(b))
    }
    pub fn as_json(&self) -> Value {
        match self {
            Val::Missing => Value::Null,
            Val::J(v, _) => v.clone(),
            Val::Row(r) => Value::Object(r.fields.clone()),
        }
    }
}

/// The shape of the value under `key` in docker's types.
pub fn shape_of(key: &str) -> Shape {
    const STR_MAPS: &[&str] = &[
        "Labels",
        "Options",
        "DriverOpts",
        "Data",
        "Sysctls",
        "Annotations",
        "StorageOpt",
        "Tmpfs",
    ];
    const MAPS: &[&str] = &[
        "Networks",
        "Ports",
        "ExposedPorts",
        "Volumes",
        "Containers",
        "Status",
        "Peers",
        "Services",
        "PortBindings",
    ];
    const LISTS: &[&str] = &[
        "Env",
        "Cmd",
        "Entrypoint",
        "Binds",
        "Links",
        "Aliases",
        "DNSNames",
        "Dns",
        "DnsOptions",
        "DnsSearch",
        "ExtraHosts",
        "CapAdd",
        "CapDrop",
        "SecurityOpt",
        "Devices",
        "Ulimits",
        "GroupAdd",
        "Mounts",
        "RepoTags",
        "RepoDigests",
        "Layers",
        "Args",
        "OnBuild",
        "Shell",
        "ConsoleSize",
        "MaskedPaths",
        "ReadonlyPaths",
        "DeviceCgroupRules",
        "DeviceRequests",
        "BlkioWeightDevice",
        "BlkioDeviceReadBps",
        "BlkioDeviceWriteBps",
        "BlkioDeviceReadIOps",
        "BlkioDeviceWriteIOps",
        "VolumesFrom",
        "Config",
    ];
    match key {
        "RestartPolicy" => return Shape::Go(&RESTART_POLICY),
        "LogConfig" => return Shape::Go(&LOG_CONFIG),
        "IPAMConfig" => return Shape::Go(&IPAM_CONFIG),
        _ => {}
    }
    if STR_MAPS.contains(&key) {
        Shape::Map(true)
    } else if MAPS.contains(&key) {
        Shape::Map(false)
    } else if LISTS.contains(&key) && key != "Config" {
        Shape::List
    } else {
        Shape::Struct
    }
}

/// Go's type name of a value, as errors and `%T` show it.
pub fn type_name(v: &Val, mode: Mode) -> String {
    match v {
        Val::Missing => "<nil>".into(),
        Val::Row(r) => r.type_name.clone(),
        Val::J(j, shape) => match (j, mode) {
            (Value::Number(_), Mode::Raw) => "json.Number".into(),
            (Value::Null, Mode::Raw) => "<nil>".into(),
            (Value::Null, _) => match shape {
                Shape::List => "[]string".into(),
                Shape::Map(_) => "map[string]string".into(),
                Shape::Struct | Shape::Go(_) => "<nil>".into(),
            },
            (Value::Bool(_), _) => "bool".into(),
            (Value::Number(n), _) if n.is_f64() => "float64".into(),
            (Value::Number(_), _) => "int".into(),
            (Value::String(_), _) => "string".into(),
            (Value::Array(_), Mode::Raw) => "[]interface {}".into(),
            (Value::Array(_), _) => "[]string".into(),
            (Value::Object(_), Mode::Raw) => "map[string]interface {}".into(),
            (Value::Object(_), _) => match shape {
                Shape::Map(true) => "map[string]string".into(),
                Shape::Go(t) => t.name.into(),
                _ => "map[string]interface {}".into(),
            },
        },
    }
}

/// Go's fmt %v of a value.
pub fn go_string(v: &Val, mode: Mode) -> String {
    match v {
        Val::Missing => "<no value>".into(),
        Val::J(Value::Null, shape) if mode != Mode::Raw => match shape {
            Shape::List => "[]".into(),
            Shape::Map(_) => "map[]".into(),
            Shape::Struct | Shape::Go(_) => "<nil>".into(),
        },
        Val::J(Value::Object(o), Shape::Go(t)) if mode == Mode::Typed => t.print(o),
        Val::J(j, _) => go_value(j),
        Val::Row(r) => {
            let parts: Vec<String> = r.fields.values().map(go_value).collect();
            let amp = if r.plain && !r.type_name.starts_with('*') {
                ""
            } else {
                "&"
            };
            format!("{amp}{{{}}}", parts.join(" "))
        }
    }
}

pub fn go_value(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (_, Some(u), _) => u.to_string(),
            (_, _, Some(f)) => go_float(f, 'g', None),
            _ => n.to_string(),
        },
        Value::String(s) => s.clone(),
        Value::Array(a) => format!("[{}]", a.iter().map(go_value).collect::<Vec<_>>().join(" ")),
        Value::Object(o) => {
            let mut keys: Vec<&String> = o.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .iter()
                .map(|k| format!("{k}:{}", o.get(*k).map(go_value).unwrap_or_default()))
                .collect();
            format!("map[{}]", parts.join(" "))
        }
    }
}

/// Go's %g (shortest when `prec` is None), %e and %f of a float.
pub fn go_float(f: f64, verb: char, prec: Option<usize>) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    match verb {
        'f' | 'F' => format!("{:.*}", prec.unwrap_or(6), f),
        'e' => exp_form(&format!("{:.*e}", prec.unwrap_or(6), f)),
        _ => {
            if f == 0.0 {
                return "0".into();
            }
            // Shortest digits, then %e when the exponent is < -4 or >= the
            // precision (6 for the shortest form, as strconv).
            let e = match prec {
                Some(p) => format!("{:.*e}", p.saturating_sub(1), f),
                None => format!("{f:e}"),
            };
            let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
            let exp: i32 = exp.parse().unwrap_or(0);
            let limit = prec.map(|p| p.max(1) as i32).unwrap_or(6);
            let mant = if mant.contains('.') {
                mant.trim_end_matches('0').trim_end_matches('.')
            } else {
                mant
            };
            if exp < -4 || exp >= limit {
                exp_form(&format!("{mant}e{exp}"))
            } else {
                let digits = mant.replace(['.', '-'], "");
                let nd = i32::try_from(digits.len()).unwrap_or(i32::MAX);
                let decimals =
                    usize::try_from(nd.saturating_sub(1).saturating_sub(exp)).unwrap_or(0);
                format!("{f:.decimals$}")
            }
        }
    }
}

/// Rust's "1.5e3" as Go's "1.5e+03".
fn exp_form(s: &str) -> String {
    let (m, e) = s.split_once('e').unwrap_or((s, "0"));
    let (sign, digits) = match e.strip_prefix('-') {
        Some(d) => ('-', d),
        None => ('+', e),
    };
    format!("{m}e{sign}{digits:0>2}")
}

/// docker's `json` function: encoding/json without HTML escaping; a
/// formatter context marshals itself (escaping).
pub fn go_json(v: &Val, mode: Mode) -> String {
    let text = match v {
        Val::Missing => "null".to_string(),
        Val::J(Value::Null, shape) if mode != Mode::Raw => match shape {
            Shape::List | Shape::Map(_) | Shape::Struct | Shape::Go(_) => "null".into(),
        },
        Val::J(Value::Number(n), _) => n.to_string(),
        Val::J(j, _) => serde_json::to_string(j).unwrap_or_default(),
        Val::Row(r) if r.plain => serde_json::to_string(&r.fields).unwrap_or_default(),
        Val::Row(r) => {
            let sorted: BTreeMap<&String, &Value> = r.fields.iter().collect();
            return escape_html(&serde_json::to_string(&sorted).unwrap_or_default());
        }
    };
    text
}

/// encoding/json's HTML-safe escapes.
pub fn escape_html(s: &str) -> String {
    s.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}
