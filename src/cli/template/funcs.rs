//! The functions a template can call: Go's builtins and docker's own
//! (github.com/docker/cli/templates), with Go's results and errors.

use super::value::{go_json, go_string, go_value, type_name, Mode, Shape, Val};
use serde_json::Value;
use std::fmt::Write as _;

/// A parameter's Go type, as the engine checks arguments against it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Ty {
    /// reflect.Value (Go's builtins): anything, missing included.
    Value,
    /// any: a missing value becomes nil.
    Iface,
    Str,
    Int,
    StrList,
}

/// Fixed parameters and the variadic one of `name`.
pub fn signature(name: &str, header: bool) -> (Vec<Ty>, Option<Ty>) {
    use Ty::*;
    if header {
        match name {
            "json" | "title" | "lower" | "upper" => return (vec![Str], None),
            "split" | "join" => return (vec![Str, Str], None),
            "truncate" => return (vec![Str, Int], None),
            _ => {}
        }
    }
    match name {
        "and" | "or" | "index" | "slice" | "call" | "eq" => (vec![Value], Some(Value)),
        "not" | "len" => (vec![Value], None),
        "ne" | "lt" | "le" | "gt" | "ge" => (vec![Value, Value], None),
        "print" | "println" | "html" | "js" | "urlquery" => (vec![], Some(Iface)),
        "printf" => (vec![Str], Some(Iface)),
        "json" => (vec![Iface], None),
        "split" => (vec![Str, Str], None),
        "join" => (vec![StrList, Str], None),
        "title" | "lower" | "upper" => (vec![Str], None),
        "pad" => (vec![Str, Int, Int], None),
        "truncate" => (vec![Str, Int], None),
        _ => (vec![], None),
    }
}

pub fn truth(v: &Val) -> bool {
    match v {
        Val::Missing => false,
        Val::Row(_) => true,
        Val::J(j, _) => match j {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
            Value::String(s) => !s.is_empty(),
            Value::Array(a) => !a.is_empty(),
            Value::Object(o) => !o.is_empty(),
        },
    }
}

fn s_of(v: &Val) -> String {
    match v {
        Val::J(Value::String(s), _) => s.clone(),
        other => go_string(other, Mode::Raw),
    }
}

fn i_of(v: &Val) -> i64 {
    match v {
        Val::J(Value::Number(n), _) => n.as_i64().unwrap_or(0),
        _ => 0,
    }
}

/// Call `name` on evaluated, type-checked arguments. Errors are the
/// function's own ("error calling NAME: " is added by the caller).
pub fn call(name: &str, args: Vec<Val>, mode: Mode, header: bool) -> Result<Val, String> {
    let arg = |i: usize| args.get(i).cloned().unwrap_or(Val::Missing);
    if header
        && matches!(
            name,
            "json" | "split" | "join" | "title" | "lower" | "upper" | "truncate"
        )
    {
        return Ok(arg(0));
    }
    Ok(match name {
        "json" => Val::str(go_json(&arg(0), mode)),
        "upper" => Val::str(s_of(&arg(0)).to_uppercase()),
        "lower" => Val::str(s_of(&arg(0)).to_lowercase()),
        "title" => Val::str(title(&s_of(&arg(0)))),
        "split" => {
            let (a, sep) = (s_of(&arg(0)), s_of(&arg(1)));
            let parts: Vec<Value> = if sep.is_empty() {
                a.chars().map(|c| Value::String(c.to_string())).collect()
            } else {
                a.split(sep.as_str())
                    .map(|p| Value::String(p.into()))
                    .collect()
            };
            Val::J(Value::Array(parts), Shape::List)
        }
        "join" => {
            let sep = s_of(&arg(1));
            match arg(0) {
                Val::J(Value::Array(a), _) => {
                    Val::str(a.iter().map(go_value).collect::<Vec<_>>().join(&sep))
                }
                _ => Val::str(""),
            }
        }
        "truncate" => {
            let s = s_of(&arg(0));
            let n = usize::try_from(i_of(&arg(1))).unwrap_or(0);
            if s.len() < n {
                Val::str(s)
            } else {
                Val::str(String::from_utf8_lossy(
                    s.as_bytes().get(..n).unwrap_or_default(),
                ))
            }
        }
        "pad" => {
            let n = |i| " ".repeat(usize::try_from(i_of(&arg(i))).unwrap_or(0));
            Val::str(format!("{}{}{}", n(1), s_of(&arg(0)), n(2)))
        }
        "len" => Val::int(length(&arg(0), mode)?),
        "index" => index(args, mode)?,
        "slice" => slice(args, mode)?,
        "not" => Val::bool(!truth(&arg(0))),
        "print" => Val::str(sprint(&args, mode)),
        "println" => Val::str(sprintln(&args, mode)),
        "printf" => Val::str(sprintf(
            &s_of(&arg(0)),
            args.get(1..).unwrap_or_default(),
            mode,
        )),
        "html" => Val::str(html(&eval_args(&args, mode))),
        "js" => Val::str(js(&eval_args(&args, mode))),
        "urlquery" => Val::str(urlquery(&eval_args(&args, mode))),
        "eq" => {
            let Some((a, rest)) = args.split_first().filter(|(_, r)| !r.is_empty()) else {
                return Err("missing argument for comparison".into());
            };
            let mut r = false;
            for b in rest {
                if eq(a, b, mode)? {
                    r = true;
                    break;
                }
            }
            Val::bool(r)
        }
        "ne" => Val::bool(!eq(&arg(0), &arg(1), mode)?),
        "lt" | "le" | "gt" | "ge" => {
            use std::cmp::Ordering::*;
            let o = compare(&arg(0), &arg(1), mode)?;
            Val::bool(match name {
                "lt" => o == Less,
                "le" => o != Greater,
                "gt" => o == Greater,
                _ => o != Less,
            })
        }
        _ => return Err(format!("function {name:?} not defined")),
    })
}

/// Go's strings.Title: the first letter of each word upper-cased.
fn title(s: &str) -> String {
    let mut out = String::new();
    let mut start = true;
    for c in s.chars() {
        if start && c.is_alphabetic() {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        start = !(c.is_alphanumeric() || c == '_' || c == '\'');
    }
    out
}

fn length(v: &Val, mode: Mode) -> Result<i64, String> {
    let n = match v {
        Val::J(Value::Array(a), _) => a.len(),
        Val::J(Value::Object(o), _) => o.len(),
        Val::J(Value::String(s), _) => s.len(),
        Val::J(Value::Number(n), _) if mode == Mode::Raw => n.to_string().len(),
        Val::J(Value::Null, Shape::List | Shape::Map(_)) if mode != Mode::Raw => 0,
        Val::J(Value::Null, _) => return Err("len of nil pointer".into()),
        Val::Row(r) if !r.plain => r.fields.len(),
        other => return Err(format!("len of type {}", type_name(other, mode))),
    };
    Ok(i64::try_from(n).unwrap_or(i64::MAX))
}

fn index_arg(i: &Val, size: usize, mode: Mode) -> Result<usize, String> {
    match i {
        // In raw mode the data's numbers are json.Number, but an index is
        // nearly always the template's own int constant: taken as int.
        Val::J(Value::Number(n), _) if n.is_i64() => {
            let x = n.as_i64().unwrap_or(-1);
            match usize::try_from(x) {
                Ok(u) if u <= size => Ok(u),
                _ => Err(format!("index out of range: {x}")),
            }
        }
        Val::Missing | Val::J(Value::Null, _) => Err("cannot index slice/array with nil".into()),
        other => Err(format!(
            "cannot index slice/array with type {}",
            type_name(other, mode)
        )),
    }
}

fn index(args: Vec<Val>, mode: Mode) -> Result<Val, String> {
    let mut it = args.into_iter();
    let mut item = it.next().unwrap_or(Val::Missing);
    // A nil map of a typed struct is typed: indexing it gives the zero value.
    let typed_nil_map = mode != Mode::Raw && matches!(item, Val::J(Value::Null, Shape::Map(_)));
    if !typed_nil_map && matches!(item, Val::Missing | Val::J(Value::Null, _)) {
        return Err("index of untyped nil".into());
    }
    for i in it {
        item = match &item {
            Val::J(Value::Array(a), _) => {
                let x = index_arg(&i, a.len(), mode)?;
                match a.get(x) {
                    Some(v) => Val::J(v.clone(), Shape::Struct),
                    None => return Err(format!("index out of range: {x}")),
                }
            }
            Val::J(Value::String(s), _) => {
                let x = index_arg(&i, s.len(), mode)?;
                match s.as_bytes().get(x) {
                    Some(b) => Val::int(i64::from(*b)),
                    None => return Err(format!("index out of range: {x}")),
                }
            }
            Val::J(Value::Object(o), shape) if mode != Mode::Typed || !shape.is_struct() => {
                let Val::J(Value::String(k), _) = &i else {
                    return Err(format!(
                        "value has type {}; should be string",
                        type_name(&i, mode)
                    ));
                };
                match o.get(k) {
                    Some(v) => Val::J(v.clone(), super::value::shape_of(k)),
                    None if *shape == Shape::Map(true) => Val::str(""),
                    None => Val::Missing,
                }
            }
            Val::J(Value::Null, Shape::Map(true)) if mode != Mode::Raw => Val::str(""),
            Val::J(Value::Null, Shape::Map(false)) if mode != Mode::Raw => Val::Missing,
            other => {
                return Err(format!(
                    "can't index item of type {}",
                    type_name(other, mode)
                ))
            }
        };
    }
    Ok(item)
}

fn slice(args: Vec<Val>, mode: Mode) -> Result<Val, String> {
    let Some((item, idx)) = args.split_first() else {
        return Err("slice of untyped nil".into());
    };
    if idx.len() > 3 {
        return Err(format!("too many slice indexes: {}", idx.len()));
    }
    let len = match item {
        Val::J(Value::String(s), _) => {
            if idx.len() == 3 {
                return Err("cannot 3-index slice a string".into());
            }
            s.len()
        }
        Val::J(Value::Array(a), _) => a.len(),
        Val::Missing | Val::J(Value::Null, _) => return Err("slice of untyped nil".into()),
        other => {
            return Err(format!(
                "can't slice item of type {}",
                type_name(other, mode)
            ))
        }
    };
    let mut b = [0, len, len];
    for (slot, i) in b.iter_mut().zip(idx) {
        *slot = index_arg(i, len, mode)?;
    }
    if b[0] > b[1] {
        return Err(format!("invalid slice index: {} > {}", b[0], b[1]));
    }
    if idx.len() == 3 && b[1] > b[2] {
        return Err(format!("invalid slice index: {} > {}", b[1], b[2]));
    }
    Ok(match item {
        Val::J(Value::String(s), _) => Val::str(String::from_utf8_lossy(
            s.as_bytes().get(b[0]..b[1]).unwrap_or_default(),
        )),
        Val::J(Value::Array(a), shape) => Val::J(
            Value::Array(a.get(b[0]..b[1]).unwrap_or_default().to_vec()),
            *shape,
        ),
        _ => Val::Missing,
    })
}

#[derive(PartialEq, Debug, Clone, Copy)]
enum Kind {
    Invalid,
    Bool,
    Int,
    Float,
    Str,
    Other,
}

fn kind(v: &Val, mode: Mode) -> Kind {
    match v {
        Val::Missing | Val::J(Value::Null, _) => Kind::Invalid,
        Val::J(Value::Bool(_), _) => Kind::Bool,
        Val::J(Value::Number(_), _) if mode == Mode::Raw => Kind::Str,
        Val::J(Value::Number(n), _) if n.is_f64() => Kind::Float,
        Val::J(Value::Number(_), _) => Kind::Int,
        Val::J(Value::String(_), _) => Kind::Str,
        _ => Kind::Other,
    }
}

fn num_str(v: &Val) -> String {
    match v {
        Val::J(Value::String(s), _) => s.clone(),
        Val::J(Value::Number(n), _) => n.to_string(),
        _ => String::new(),
    }
}

fn eq(a: &Val, b: &Val, mode: Mode) -> Result<bool, String> {
    let (ka, kb) = (kind(a, mode), kind(b, mode));
    if ka != kb {
        if ka != Kind::Invalid && kb != Kind::Invalid {
            return Err("incompatible types for comparison".into());
        }
        return Ok(false);
    }
    Ok(match ka {
        Kind::Invalid => true,
        Kind::Str => num_str(a) == num_str(b),
        Kind::Int | Kind::Float | Kind::Bool => {
            a.as_json() == b.as_json() || {
                let f = |v: &Val| v.as_json().as_f64();
                ka != Kind::Bool && f(a) == f(b)
            }
        }
        Kind::Other => return Err("incompatible types for comparison".into()),
    })
}

fn compare(a: &Val, b: &Val, mode: Mode) -> Result<std::cmp::Ordering, String> {
    let (ka, kb) = (kind(a, mode), kind(b, mode));
    let bad_type = || "invalid type for comparison".to_string();
    if matches!(ka, Kind::Invalid | Kind::Other | Kind::Bool) {
        return Err(bad_type());
    }
    if ka != kb {
        if matches!(kb, Kind::Invalid | Kind::Other) {
            return Err(bad_type());
        }
        return Err("incompatible types for comparison".into());
    }
    Ok(match ka {
        Kind::Str => num_str(a).cmp(&num_str(b)),
        _ => {
            let f = |v: &Val| v.as_json().as_f64().unwrap_or(0.0);
            f(a).partial_cmp(&f(b)).unwrap_or(std::cmp::Ordering::Equal)
        }
    })
}

fn is_string(v: &Val, mode: Mode) -> bool {
    matches!(v, Val::J(Value::String(_), _))
        || (mode == Mode::Raw && matches!(v, Val::J(Value::Number(_), _)))
}

/// fmt.Sprint: operands separated by a space when neither is a string.
pub fn sprint(args: &[Val], mode: Mode) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0
            && !is_string(a, mode)
            && args
                .get(i.wrapping_sub(1))
                .is_some_and(|p| !is_string(p, mode))
        {
            out.push(' ');
        }
        out.push_str(&fmt_v(a, mode));
    }
    out
}

fn sprintln(args: &[Val], mode: Mode) -> String {
    let parts: Vec<String> = args.iter().map(|a| fmt_v(a, mode)).collect();
    format!("{}\n", parts.join(" "))
}

/// %v of an argument passed as `any` (a missing value is nil there).
fn fmt_v(v: &Val, mode: Mode) -> String {
    match v {
        Val::Missing => "<nil>".into(),
        other => go_string(other, mode),
    }
}

fn eval_args(args: &[Val], mode: Mode) -> String {
    match args {
        [Val::J(Value::String(s), _)] => s.clone(),
        _ => sprint(args, mode),
    }
}

fn html(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '\0' => out.push('\u{FFFD}'),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

fn js(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 || (!c.is_ascii() && c.is_control()) => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

fn urlquery(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            b => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// Go's fmt.Sprintf for the verbs templates use.
pub fn sprintf(f: &str, args: &[Val], mode: Mode) -> String {
    let mut out = String::new();
    let mut it = f.chars().peekable();
    let mut args = args.iter();
    while let Some(c) = it.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let (mut left, mut zero, mut plus) = (false, false, false);
        let mut width = String::new();
        let mut prec: Option<String> = None;
        while let Some(&x) = it.peek() {
            match x {
                '-' => left = true,
                '+' => plus = true,
                '0' if width.is_empty() && prec.is_none() => zero = true,
                '0'..='9' => match &mut prec {
                    Some(p) => p.push(x),
                    None => width.push(x),
                },
                '.' => prec = Some(String::new()),
                ' ' | '#' => {}
                _ => break,
            }
            it.next();
        }
        let Some(verb) = it.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.next() else {
            let _ = write!(out, "%!{verb}(MISSING)");
            continue;
        };
        let p: Option<usize> = prec.as_ref().map(|p| p.parse().unwrap_or(0));
        let mut s = format_one(verb, arg, p, plus, mode);
        if let Ok(w) = width.parse::<usize>() {
            let len = s.chars().count();
            if let Some(pad) = w.checked_sub(len).filter(|&p| p > 0) {
                if left {
                    s.push_str(&" ".repeat(pad));
                } else if zero && matches!(verb, 'd' | 'f' | 'x' | 'e' | 'g') {
                    let (sign, digits) = match s.strip_prefix('-') {
                        Some(d) => ("-", d.to_string()),
                        None => ("", s.clone()),
                    };
                    s = format!("{sign}{}{digits}", "0".repeat(pad));
                } else {
                    s = format!("{}{s}", " ".repeat(pad));
                }
            }
        }
        out.push_str(&s);
    }
    let extra: Vec<String> = args
        .map(|a| format!("{}={}", type_name(a, mode), fmt_v(a, mode)))
        .collect();
    if !extra.is_empty() {
        let _ = write!(out, "%!(EXTRA {})", extra.join(", "));
    }
    out
}

fn format_one(verb: char, arg: &Val, p: Option<usize>, plus: bool, mode: Mode) -> String {
    let k = kind(arg, mode);
    let bad = || match arg {
        Val::Missing | Val::J(Value::Null, _) => format!("%!{verb}(<nil>)"),
        _ => format!("%!{verb}({}={})", type_name(arg, mode), fmt_v(arg, mode)),
    };
    let num = arg.as_json();
    match verb {
        'v' => match (k, p) {
            (Kind::Float, Some(p)) => {
                super::value::go_float(num.as_f64().unwrap_or(0.0), 'g', Some(p))
            }
            _ => {
                let s = fmt_v(arg, mode);
                if plus && k == Kind::Int && !s.starts_with('-') {
                    format!("+{s}")
                } else {
                    s
                }
            }
        },
        'T' => type_name(arg, mode),
        's' if !matches!(k, Kind::Int | Kind::Float | Kind::Bool) => {
            let s = fmt_v(arg, mode);
            match p {
                Some(p) => s.chars().take(p).collect(),
                None => s,
            }
        }
        'q' if k == Kind::Str => super::lex::go_quote(&num_str(arg)),
        'd' if k == Kind::Int => {
            let s = go_value(&num);
            if plus && !s.starts_with('-') {
                format!("+{s}")
            } else {
                s
            }
        }
        'c' if k == Kind::Int => {
            char::from_u32(u32::try_from(num.as_i64().unwrap_or(0)).unwrap_or(0xFFFD))
                .unwrap_or('\u{FFFD}')
                .to_string()
        }
        'x' | 'X' if k == Kind::Int => {
            let i = num.as_i64().unwrap_or(0);
            let s = if i < 0 {
                format!("-{:x}", i.unsigned_abs())
            } else {
                format!("{i:x}")
            };
            if verb == 'X' {
                s.to_uppercase()
            } else {
                s
            }
        }
        'x' | 'X' if k == Kind::Str => {
            let s: String = num_str(arg).bytes().map(|b| format!("{b:02x}")).collect();
            if verb == 'X' {
                s.to_uppercase()
            } else {
                s
            }
        }
        'o' if k == Kind::Int => format!("{:o}", num.as_i64().unwrap_or(0)),
        'b' if k == Kind::Int => format!("{:b}", num.as_i64().unwrap_or(0)),
        't' if k == Kind::Bool => fmt_v(arg, mode),
        'e' | 'f' | 'F' | 'g' if k == Kind::Float => {
            super::value::go_float(num.as_f64().unwrap_or(0.0), verb, p)
        }
        _ => bad(),
    }
}
