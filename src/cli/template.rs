//! A Go text/template subset over JSON values, for `--format` and `-f`.
//!
//! Written here rather than taken from gtmpl: gtmpl prints lists and maps
//! with Rust's Debug (`[String("sh")]`), where docker users expect Go's
//! `[sh]` and `map[a:b]`, and it lacks docker's functions (json, join,
//! upper, ...). Supported: fields and chains (`.A.B`, `$v.A`), pipelines,
//! parenthesised calls, `if`/`else if`/`else`, `range` (with `$i, $v :=`),
//! `with`, variables, `{{-`/`-}}` trimming, comments, and the functions
//! docker's CLI adds to Go's builtins.

use serde_json::Value;
use std::collections::HashMap;
use std::fmt::Write as _;

#[derive(Debug, PartialEq)]
pub enum TemplateError {
    Parse(String),
    Exec(String),
}

type R<T> = Result<T, TemplateError>;

fn perr<T>(msg: impl Into<String>) -> R<T> {
    Err(TemplateError::Parse(msg.into()))
}
fn xerr<T>(msg: impl Into<String>) -> R<T> {
    Err(TemplateError::Exec(msg.into()))
}

// ---------- lexing ----------

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Field(Vec<String>),
    Var(String, Vec<String>),
    Ident(String),
    Str(String),
    Num(f64),
    LParen,
    RParen(Vec<String>),
    Pipe,
    Declare,
    Assign,
    Comma,
}

/// The longest head of `b` whose chars satisfy `pred`, and what follows it.
fn span(b: &[char], pred: impl Fn(char) -> bool) -> (&[char], &[char]) {
    let n = b.iter().position(|&c| !pred(c)).unwrap_or(b.len());
    b.split_at_checked(n).unwrap_or((b, &[]))
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Takes the identifier at the head of `b`.
fn ident(b: &mut &[char]) -> String {
    let (id, rest) = span(b, is_ident_char);
    *b = rest;
    id.iter().collect()
}

/// Takes a chain of `.Field`s at the head of `b`.
fn fields(b: &mut &[char]) -> Vec<String> {
    let mut f = Vec::new();
    while let ['.', rest @ ..] = *b {
        if !rest.first().is_some_and(|&c| is_ident_char(c)) {
            break;
        }
        *b = rest;
        f.push(ident(b));
    }
    f
}

fn lex_action(s: &str) -> R<Vec<Tok>> {
    let chars: Vec<char> = s.chars().collect();
    let mut b: &[char] = &chars;
    let mut out = Vec::new();
    while let Some((&c, tail)) = b.split_first() {
        match c {
            ' ' | '\t' | '\n' | '\r' => b = tail,
            '(' => {
                out.push(Tok::LParen);
                b = tail
            }
            ')' => {
                b = tail;
                out.push(Tok::RParen(fields(&mut b)));
            }
            '|' => {
                out.push(Tok::Pipe);
                b = tail
            }
            ',' => {
                out.push(Tok::Comma);
                b = tail
            }
            ':' if tail.first() == Some(&'=') => {
                out.push(Tok::Declare);
                b = tail.get(1..).unwrap_or_default()
            }
            '=' => {
                out.push(Tok::Assign);
                b = tail
            }
            '.' => {
                let f = fields(&mut b);
                if f.is_empty() {
                    b = tail;
                }
                out.push(Tok::Field(f));
            }
            '$' => {
                b = tail;
                let name = format!("${}", ident(&mut b));
                out.push(Tok::Var(name, fields(&mut b)));
            }
            '"' => {
                let mut it = tail.iter();
                let mut s = String::new();
                loop {
                    match it.next() {
                        None => return perr("unterminated quoted string"),
                        Some('"') => break,
                        Some('\\') => match it.next() {
                            Some('n') => s.push('\n'),
                            Some('t') => s.push('\t'),
                            Some('r') => s.push('\r'),
                            Some('\\') => s.push('\\'),
                            Some('"') => s.push('"'),
                            Some(o) => {
                                s.push('\\');
                                s.push(*o)
                            }
                            None => return perr("unterminated quoted string"),
                        },
                        Some(ch) => s.push(*ch),
                    }
                }
                b = it.as_slice();
                out.push(Tok::Str(s));
            }
            '`' => {
                let (raw, rest) = span(tail, |c| c != '`');
                let Some(rest) = rest.strip_prefix(&['`']) else {
                    return perr("unterminated raw quoted string");
                };
                out.push(Tok::Str(raw.iter().collect()));
                b = rest;
            }
            c if c.is_ascii_digit()
                || (c == '-' && tail.first().is_some_and(|d| d.is_ascii_digit())) =>
            {
                let (digits, rest) = span(tail, |c| c.is_ascii_alphanumeric() || c == '.');
                b = rest;
                let t: String = std::iter::once(c).chain(digits.iter().copied()).collect();
                match t.parse::<f64>() {
                    Ok(n) => out.push(Tok::Num(n)),
                    Err(_) => return perr(format!("bad number syntax: {t:?}")),
                }
            }
            c if c.is_alphabetic() || c == '_' => out.push(Tok::Ident(ident(&mut b))),
            other => return perr(format!("unexpected {other:?} in command")),
        }
    }
    Ok(out)
}

// ---------- parsing ----------

#[derive(Debug, Clone)]
enum Arg {
    Field(Vec<String>),
    Var(String, Vec<String>),
    Str(String),
    Num(f64),
    Bool(bool),
    Nil,
    Func(String),
    Sub(Box<Pipe>, Vec<String>),
}

#[derive(Debug, Clone, Default)]
struct Pipe {
    decl: Vec<String>,
    assign: bool,
    cmds: Vec<Vec<Arg>>,
}

#[derive(Debug, Clone)]
enum Node {
    Text(String),
    Action(Pipe),
    If(Pipe, Vec<Node>, Vec<Node>),
    With(Pipe, Vec<Node>, Vec<Node>),
    Range(Pipe, Vec<Node>, Vec<Node>),
}

fn parse_pipe(toks: &[Tok]) -> R<Pipe> {
    let mut p = Pipe::default();
    let mut rest = toks;
    // `$a := ...`, `$i, $v := ...`, `$a = ...`
    let decl_at = toks
        .iter()
        .position(|t| matches!(t, Tok::Declare | Tok::Assign));
    if let Some((names, [op, after @ ..])) = decl_at.and_then(|at| toks.split_at_checked(at)) {
        let all_vars = names
            .iter()
            .all(|t| matches!(t, Tok::Var(_, f) if f.is_empty()) || *t == Tok::Comma);
        if all_vars && !names.is_empty() {
            for t in names {
                if let Tok::Var(n, _) = t {
                    p.decl.push(n.clone());
                }
            }
            p.assign = *op == Tok::Assign;
            rest = after;
        }
    }
    let mut it = rest.iter();
    let mut cmd = Vec::new();
    while let Some(t) = it.next() {
        match t {
            Tok::Pipe => {
                if cmd.is_empty() {
                    return perr("missing command before '|'");
                }
                p.cmds.push(std::mem::take(&mut cmd));
            }
            Tok::LParen => {
                // The matching right paren: `depth` counts the parens
                // opened inside this one (bounded by the token count).
                let inner = it.as_slice();
                let mut depth = 0usize;
                let close = inner.iter().position(|t| match t {
                    Tok::LParen => {
                        depth = depth.saturating_add(1);
                        false
                    }
                    Tok::RParen(_) => match depth.checked_sub(1) {
                        Some(d) => {
                            depth = d;
                            false
                        }
                        None => true,
                    },
                    _ => false,
                });
                let Some((sub, [Tok::RParen(fields), after @ ..])) =
                    close.and_then(|j| inner.split_at_checked(j))
                else {
                    return perr("unclosed left paren");
                };
                cmd.push(Arg::Sub(Box::new(parse_pipe(sub)?), fields.clone()));
                it = after.iter();
            }
            Tok::RParen(_) => return perr("unexpected right paren"),
            Tok::Field(f) => cmd.push(Arg::Field(f.clone())),
            Tok::Var(n, f) => cmd.push(Arg::Var(n.clone(), f.clone())),
            Tok::Str(s) => cmd.push(Arg::Str(s.clone())),
            Tok::Num(n) => cmd.push(Arg::Num(*n)),
            Tok::Ident(id) => cmd.push(match id.as_str() {
                "true" => Arg::Bool(true),
                "false" => Arg::Bool(false),
                "nil" => Arg::Nil,
                _ => Arg::Func(id.clone()),
            }),
            Tok::Declare | Tok::Assign | Tok::Comma => return perr("unexpected declaration"),
        }
    }
    if cmd.is_empty() {
        return perr("missing value for command");
    }
    p.cmds.push(cmd);
    Ok(p)
}

enum Piece {
    Text(String),
    Action(String),
}

/// Split into text and actions, applying `{{-` / `-}}` trimming.
fn split(src: &str) -> R<Vec<Piece>> {
    let mut out = Vec::new();
    let mut rest = src;
    let mut trim_next = false;
    while let Some((before, after)) = rest.split_once("{{") {
        let mut text = before;
        if trim_next {
            text = text.trim_start();
        }
        let (trim_left, inner_start) = match after.strip_prefix("- ") {
            Some(a) => (true, a),
            None => (false, after),
        };
        if trim_left {
            text = text.trim_end();
        }
        out.push(Piece::Text(text.to_string()));
        let Some((mut inner, after_action)) = inner_start.split_once("}}") else {
            return perr("unclosed action");
        };
        trim_next = false;
        if let Some(x) = inner.strip_suffix(" -") {
            inner = x;
            trim_next = true;
        }
        let inner = inner.trim();
        if !(inner.starts_with("/*") && inner.ends_with("*/")) {
            out.push(Piece::Action(inner.to_string()));
        }
        rest = after_action;
    }
    let text = if trim_next { rest.trim_start() } else { rest };
    out.push(Piece::Text(text.to_string()));
    Ok(out)
}

/// Parse nodes until one of `stops` ("end", "else"); returns the stop word
/// met and the rest of its action ("if X" after "else").
fn parse_nodes(pieces: &mut Pieces, stops: bool) -> R<(Vec<Node>, Option<String>)> {
    let mut nodes = Vec::new();
    while let Some(piece) = pieces.next() {
        match piece {
            Piece::Text(t) => {
                if !t.is_empty() {
                    nodes.push(Node::Text(t.clone()))
                }
            }
            Piece::Action(a) => {
                let (word, rest) = first_word(a);
                match word {
                    "end" | "else" => {
                        if !stops {
                            return perr(format!("unexpected {{{{{word}}}}}"));
                        }
                        return Ok((nodes, Some(a.clone())));
                    }
                    "if" | "with" | "range" => nodes.push(parse_control(word, rest, pieces)?),
                    "define" | "template" | "block" | "break" | "continue" => {
                        return perr(format!("{word} is not supported"))
                    }
                    "" => return perr("missing value for command"),
                    _ => nodes.push(Node::Action(parse_pipe(&lex_action(a)?)?)),
                }
            }
        }
    }
    if stops {
        return perr("unexpected EOF");
    }
    Ok((nodes, None))
}

/// The first word of `s` and the rest, trimmed.
fn first_word(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    match s.split_once(char::is_whitespace) {
        Some((w, rest)) => (w, rest.trim()),
        None => (s, ""),
    }
}

type Pieces<'a> = std::slice::Iter<'a, Piece>;

fn parse_control(word: &str, cond: &str, pieces: &mut Pieces) -> R<Node> {
    let pipe = parse_pipe(&lex_action(cond)?)?;
    let (body, stop) = parse_nodes(pieces, true)?;
    let stop = stop.unwrap_or_default();
    let else_body = if stop == "end" {
        Vec::new()
    } else {
        let rest = stop.strip_prefix("else").unwrap_or("").trim();
        if rest.is_empty() {
            let (e, stop2) = parse_nodes(pieces, true)?;
            if stop2.as_deref() != Some("end") {
                return perr("expected end; found else");
            }
            e
        } else {
            // `else if X` / `else with X`: a nested control sharing our end.
            let (w, cond) = first_word(rest);
            vec![parse_control(w, cond, pieces)?]
        }
    };
    Ok(match word {
        "if" => Node::If(pipe, body, else_body),
        "with" => Node::With(pipe, body, else_body),
        _ => Node::Range(pipe, body, else_body),
    })
}

pub struct Template {
    nodes: Vec<Node>,
}

impl Template {
    pub fn parse(src: &str) -> Result<Template, TemplateError> {
        let pieces = split(src)?;
        let (nodes, _) = parse_nodes(&mut pieces.iter(), false)?;
        Ok(Template { nodes })
    }

    pub fn render(&self, dot: &Value) -> Result<String, TemplateError> {
        let mut out = String::new();
        let mut vars = vec![("$".to_string(), Some(dot.clone()))];
        exec(&self.nodes, &Some(dot.clone()), &mut vars, &mut out)?;
        Ok(out)
    }
}

// ---------- execution ----------

/// `None` is Go's "no value" (a missing map key).
type V = Option<Value>;

fn truthy(v: &V) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
    }
}

/// Go's fmt %v of a decoded JSON value.
pub fn go_string(v: &V) -> String {
    match v {
        None => "<no value>".into(),
        Some(v) => go_value(v),
    }
}

fn go_value(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(a) => format!("[{}]", a.iter().map(go_value).collect::<Vec<_>>().join(" ")),
        Value::Object(o) => {
            let mut keys: Vec<&String> = o.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .iter()
                .map(|k| format!("{k}:{}", go_value(&o[*k])))
                .collect();
            format!("map[{}]", parts.join(" "))
        }
    }
}

fn field(v: V, path: &[String]) -> V {
    let mut cur = v;
    for f in path {
        cur = match cur {
            Some(Value::Object(o)) => o.get(f).cloned(),
            _ => None,
        };
    }
    cur
}

fn exec(nodes: &[Node], dot: &V, vars: &mut Vec<(String, V)>, out: &mut String) -> R<()> {
    for n in nodes {
        match n {
            Node::Text(t) => out.push_str(t),
            Node::Action(p) => {
                let v = eval_pipe(p, dot, vars)?;
                if p.decl.is_empty() {
                    out.push_str(&go_string(&v));
                }
            }
            Node::If(p, body, els) => {
                let mark = vars.len();
                let v = eval_pipe(p, dot, vars)?;
                let r = if truthy(&v) {
                    exec(body, dot, vars, out)
                } else {
                    exec(els, dot, vars, out)
                };
                vars.truncate(mark);
                r?;
            }
            Node::With(p, body, els) => {
                let mark = vars.len();
                let v = eval_pipe(p, dot, vars)?;
                let r = if truthy(&v) {
                    exec(body, &v, vars, out)
                } else {
                    exec(els, dot, vars, out)
                };
                vars.truncate(mark);
                r?;
            }
            Node::Range(p, body, els) => {
                let mark = vars.len();
                let decl = p.decl.clone();
                let plain = Pipe {
                    decl: vec![],
                    assign: false,
                    cmds: p.cmds.clone(),
                };
                let v = eval_pipe(&plain, dot, vars)?;
                let items: Vec<(Value, Value)> = match &v {
                    Some(Value::Array(a)) => a
                        .iter()
                        .enumerate()
                        .map(|(i, x)| (Value::from(i), x.clone()))
                        .collect(),
                    Some(Value::Object(o)) => {
                        let mut keys: Vec<&String> = o.keys().collect();
                        keys.sort();
                        keys.into_iter()
                            .map(|k| (Value::from(k.clone()), o[k].clone()))
                            .collect()
                    }
                    None | Some(Value::Null) => vec![],
                    Some(Value::Number(n)) => (0..n.as_u64().unwrap_or(0))
                        .map(|i| (Value::from(i), Value::from(i)))
                        .collect(),
                    Some(other) => {
                        return xerr(format!("range can't iterate over {}", go_value(other)))
                    }
                };
                if items.is_empty() {
                    exec(els, dot, vars, out)?;
                }
                for (k, x) in items {
                    let m2 = vars.len();
                    match decl.as_slice() {
                        [v] => vars.push((v.clone(), Some(x.clone()))),
                        [i, v] => {
                            vars.push((i.clone(), Some(k)));
                            vars.push((v.clone(), Some(x.clone())));
                        }
                        _ => {}
                    }
                    exec(body, &Some(x), vars, out)?;
                    vars.truncate(m2);
                }
                vars.truncate(mark);
            }
        }
    }
    Ok(())
}

fn eval_pipe(p: &Pipe, dot: &V, vars: &mut Vec<(String, V)>) -> R<V> {
    let mut prev: Option<V> = None;
    for cmd in &p.cmds {
        prev = Some(eval_cmd(cmd, dot, vars, prev)?);
    }
    let v = prev.unwrap_or(None);
    if p.assign {
        for name in &p.decl {
            match vars.iter_mut().rev().find(|(n, _)| n == name) {
                Some(slot) => slot.1 = v.clone(),
                None => return xerr(format!("undefined variable: {name}")),
            }
        }
    } else {
        for name in &p.decl {
            vars.push((name.clone(), v.clone()));
        }
    }
    Ok(v)
}

fn eval_arg(a: &Arg, dot: &V, vars: &mut Vec<(String, V)>) -> R<V> {
    Ok(match a {
        Arg::Field(f) => field(dot.clone(), f),
        Arg::Var(n, f) => match vars.iter().rev().find(|(x, _)| x == n) {
            Some((_, v)) => field(v.clone(), f),
            None => return xerr(format!("undefined variable: {n}")),
        },
        Arg::Str(s) => Some(Value::String(s.clone())),
        Arg::Num(n) => Some(num(*n)),
        Arg::Bool(b) => Some(Value::Bool(*b)),
        Arg::Nil => Some(Value::Null),
        Arg::Func(name) => call(name, vec![])?,
        Arg::Sub(p, f) => field(eval_pipe(p, dot, vars)?, f),
    })
}

fn num(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        Value::from(n as i64)
    } else {
        Value::from(n)
    }
}

fn eval_cmd(cmd: &[Arg], dot: &V, vars: &mut Vec<(String, V)>, prev: Option<V>) -> R<V> {
    let Some((first, rest)) = cmd.split_first() else {
        return xerr("missing value for command");
    };
    match first {
        Arg::Func(name) => {
            let mut args = Vec::new();
            for a in rest {
                args.push(eval_arg(a, dot, vars)?);
            }
            if let Some(p) = prev {
                args.push(p);
            }
            call(name, args)
        }
        a => {
            if !rest.is_empty() || prev.is_some() {
                return xerr("can't give argument to non-function");
            }
            eval_arg(a, dot, vars)
        }
    }
}

fn s_of(v: &V) -> String {
    go_string(v)
}

fn n_of(v: &V) -> R<f64> {
    match v {
        Some(Value::Number(n)) => Ok(n.as_f64().unwrap_or(0.0)),
        Some(Value::String(s)) => s
            .parse()
            .or_else(|_| xerr(format!("expected a number, got {s:?}"))),
        other => xerr(format!("expected a number, got {}", go_string(other))),
    }
}

fn cmp(a: &V, b: &V) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Some(Value::String(x)), Some(Value::String(y))) => Some(x.cmp(y)),
        _ => None,
    }
}

fn eq(a: &V, b: &V) -> bool {
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// Go's json.Marshal escapes these inside strings; so does docker's output.
pub fn go_json(v: &V) -> String {
    let s = match v {
        None | Some(Value::Null) => "null".to_string(),
        Some(v) => serde_json::to_string(v).unwrap_or_default(),
    };
    s.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// `args` as exactly `N` values, or Go's arity error.
fn need<'a, const N: usize>(name: &str, args: &'a [V]) -> R<&'a [V; N]> {
    args.try_into().or_else(|_| {
        xerr(format!(
            "wrong number of args for {name}: want {N} got {}",
            args.len()
        ))
    })
}

fn call(name: &str, args: Vec<V>) -> R<V> {
    let s = |x: String| Ok(Some(Value::String(x)));
    match name {
        "json" => {
            let [a] = need(name, &args)?;
            s(go_json(a))
        }
        "upper" => {
            let [a] = need(name, &args)?;
            s(s_of(a).to_uppercase())
        }
        "lower" => {
            let [a] = need(name, &args)?;
            s(s_of(a).to_lowercase())
        }
        "title" => {
            let [a] = need(name, &args)?;
            let mut out = String::new();
            let mut start = true;
            for c in s_of(a).chars() {
                if start && c.is_alphabetic() {
                    out.extend(c.to_uppercase());
                } else {
                    out.push(c);
                }
                start = !c.is_alphanumeric();
            }
            s(out)
        }
        "split" => {
            let [a, sep] = need(name, &args)?;
            let (a, sep) = (s_of(a), s_of(sep));
            let parts: Vec<Value> = if sep.is_empty() {
                a.chars().map(|c| Value::String(c.to_string())).collect()
            } else {
                a.split(sep.as_str())
                    .map(|p| Value::String(p.to_string()))
                    .collect()
            };
            Ok(Some(Value::Array(parts)))
        }
        "join" => {
            let [a, sep] = need(name, &args)?;
            let sep = s_of(sep);
            match a {
                Some(Value::Array(a)) => s(a.iter().map(go_value).collect::<Vec<_>>().join(&sep)),
                other => s(s_of(other)),
            }
        }
        "truncate" => {
            let [a, n] = need(name, &args)?;
            let n = n_of(n)? as usize;
            s(s_of(a).chars().take(n).collect())
        }
        "pad" => {
            let [a, l, r] = need(name, &args)?;
            let (l, r) = (n_of(l)? as usize, n_of(r)? as usize);
            s(format!("{}{}{}", " ".repeat(l), s_of(a), " ".repeat(r)))
        }
        "len" => {
            let [a] = need(name, &args)?;
            let n = match a {
                Some(Value::Array(a)) => a.len(),
                Some(Value::Object(o)) => o.len(),
                Some(Value::String(x)) => x.len(),
                other => return xerr(format!("len of {}", go_string(other))),
            };
            Ok(Some(Value::from(n)))
        }
        "index" => {
            let Some((first, keys)) = args.split_first() else {
                return xerr("wrong number of args for index");
            };
            let mut cur = first.clone();
            for k in keys {
                cur = match (&cur, k) {
                    (Some(Value::Object(o)), Some(Value::String(k))) => o.get(k).cloned(),
                    (Some(Value::Array(a)), Some(Value::Number(i))) => match i
                        .as_u64()
                        .and_then(|i| a.get(i as usize))
                    {
                        Some(x) => Some(x.clone()),
                        None => {
                            return xerr(format!("error calling index: index out of range: {i}"))
                        }
                    },
                    _ => None,
                };
            }
            Ok(cur)
        }
        "print" => s(args.iter().map(s_of).collect::<Vec<_>>().join("")),
        "println" => s(format!(
            "{}\n",
            args.iter().map(s_of).collect::<Vec<_>>().join(" ")
        )),
        "printf" => {
            let Some((f, rest)) = args.split_first() else {
                return xerr("wrong number of args for printf");
            };
            s(printf(&s_of(f), rest))
        }
        "not" => {
            let [a] = need(name, &args)?;
            Ok(Some(Value::Bool(!truthy(a))))
        }
        "and" => Ok(args
            .iter()
            .find(|a| !truthy(a))
            .or(args.last())
            .cloned()
            .unwrap_or(None)),
        "or" => Ok(args
            .iter()
            .find(|a| truthy(a))
            .or(args.last())
            .cloned()
            .unwrap_or(None)),
        "eq" => {
            let Some((a, others)) = args.split_first().filter(|(_, o)| !o.is_empty()) else {
                return xerr("missing argument for comparison");
            };
            Ok(Some(Value::Bool(others.iter().any(|b| eq(a, b)))))
        }
        "ne" => {
            let [a, b] = need(name, &args)?;
            Ok(Some(Value::Bool(!eq(a, b))))
        }
        "lt" | "le" | "gt" | "ge" => {
            let [a, b] = need(name, &args)?;
            let Some(o) = cmp(a, b) else {
                return xerr(format!(
                    "error calling {name}: incompatible types for comparison"
                ));
            };
            use std::cmp::Ordering::*;
            let r = match name {
                "lt" => o == Less,
                "le" => o != Greater,
                "gt" => o == Greater,
                _ => o != Less,
            };
            Ok(Some(Value::Bool(r)))
        }
        _ => xerr(format!("function \"{name}\" not defined")),
    }
}

/// Go's Printf for the verbs templates use: %s %v %d %q %f %x %%, with
/// width, '-' and precision.
fn printf(f: &str, args: &[V]) -> String {
    let mut out = String::new();
    let mut it = f.chars().peekable();
    let mut args = args.iter();
    while let Some(c) = it.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut left = false;
        let mut zero = false;
        let mut width = String::new();
        let mut prec: Option<String> = None;
        while let Some(&x) = it.peek() {
            match x {
                '-' => left = true,
                '0' if width.is_empty() && prec.is_none() => zero = true,
                '0'..='9' => match &mut prec {
                    Some(p) => p.push(x),
                    None => width.push(x),
                },
                '.' => prec = Some(String::new()),
                '+' | ' ' | '#' => {}
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
        let p: Option<usize> = prec.as_ref().and_then(|p| p.parse().ok().or(Some(0)));
        let mut s = match verb {
            'd' => match n_of(arg) {
                Ok(n) => format!("{}", n as i64),
                Err(_) => format!("%!d({})", s_of(arg)),
            },
            'f' => match n_of(arg) {
                Ok(n) => format!("{:.*}", p.unwrap_or(6), n),
                Err(_) => format!("%!f({})", s_of(arg)),
            },
            'x' => match arg {
                Some(Value::Number(n)) => format!("{:x}", n.as_i64().unwrap_or(0)),
                other => s_of(other).bytes().map(|b| format!("{b:02x}")).collect(),
            },
            'q' => serde_json::to_string(&s_of(arg)).unwrap_or_default(),
            _ => {
                let t = s_of(arg);
                match p {
                    Some(p) if verb == 's' || verb == 'v' => t.chars().take(p).collect(),
                    _ => t,
                }
            }
        };
        if let Ok(w) = width.parse::<usize>() {
            let len = s.chars().count();
            if let Some(pad) = w.checked_sub(len).filter(|&p| p > 0) {
                if left {
                    s.push_str(&" ".repeat(pad));
                } else if zero && matches!(verb, 'd' | 'f') {
                    s = format!("{}{s}", "0".repeat(pad));
                } else {
                    s = format!("{}{s}", " ".repeat(pad));
                }
            }
        }
        out.push_str(&s);
    }
    if !args.as_slice().is_empty() {
        let extra: Vec<String> = args.map(s_of).collect();
        let _ = write!(out, "%!(EXTRA {})", extra.join(", "));
    }
    out
}

/// For header rows: a template's fields replaced by their column names.
pub fn header_value(fields: &[(&str, &str)]) -> Value {
    let m: HashMap<&str, &str> = fields.iter().copied().collect();
    serde_json::to_value(m).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn r(t: &str, v: &Value) -> String {
        Template::parse(t).unwrap().render(v).unwrap()
    }

    #[test]
    fn fields_and_go_printing() {
        let v =
            json!({"A": {"B": "x"}, "L": ["a", "b"], "M": {"z": 1, "a": true}, "N": null, "I": 3});
        assert_eq!(r("{{.A.B}}", &v), "x");
        assert_eq!(r("{{.L}}", &v), "[a b]");
        assert_eq!(r("{{.M}}", &v), "map[a:true z:1]");
        assert_eq!(r("{{.N}}", &v), "<nil>");
        assert_eq!(r("{{.Missing}}", &v), "<no value>");
        assert_eq!(r("{{.Missing.Deeper}}", &v), "<no value>");
        assert_eq!(r("{{.I}}", &v), "3");
        assert_eq!(r("{{json .A}}", &v), r#"{"B":"x"}"#);
        assert_eq!(r("{{json .Missing}}", &v), "null");
        assert_eq!(
            r("{{json .}}", &json!({"a": "<&>"})),
            r#"{"a":"\u003c\u0026\u003e"}"#
        );
    }

    #[test]
    fn functions() {
        let v = json!({"S": "Hello world", "L": ["a", "b"], "M": {"k": "v"}});
        assert_eq!(r("{{upper .S}}", &v), "HELLO WORLD");
        assert_eq!(r("{{.S | lower}}", &v), "hello world");
        assert_eq!(r("{{title \"hello big world\"}}", &v), "Hello Big World");
        assert_eq!(r("{{join .L \",\"}}", &v), "a,b");
        assert_eq!(r("{{split \"a:b:c\" \":\"}}", &v), "[a b c]");
        assert_eq!(r("{{truncate .S 5}}", &v), "Hello");
        assert_eq!(r("{{len .L}}", &v), "2");
        assert_eq!(r("{{index .M \"k\"}} {{index .L 1}}", &v), "v b");
        assert_eq!(
            r("{{printf \"%-6s|%3d|%q\" \"ab\" 7 \"x\"}}", &v),
            "ab    |  7|\"x\""
        );
        assert_eq!(r("{{println .S}}", &v), "Hello world\n");
        assert_eq!(r("{{(index .L 0) | upper}}", &v), "A");
        assert_eq!(r("{{pad .L 1 2}}", &v), " [a b]  ");
    }

    #[test]
    fn control_flow() {
        let v = json!({"L": ["a", "b"], "E": [], "T": true, "M": {"y": 2, "x": 1}, "N": 0});
        assert_eq!(r("{{range .L}}<{{.}}>{{end}}", &v), "<a><b>");
        assert_eq!(
            r("{{range $i, $e := .L}}{{$i}}={{$e}} {{end}}", &v),
            "0=a 1=b "
        );
        assert_eq!(r("{{range $k, $v := .M}}{{$k}}{{$v}}{{end}}", &v), "x1y2");
        assert_eq!(r("{{range .E}}x{{else}}empty{{end}}", &v), "empty");
        assert_eq!(r("{{if .T}}yes{{else}}no{{end}}", &v), "yes");
        assert_eq!(r("{{if .N}}a{{else if .T}}b{{else}}c{{end}}", &v), "b");
        assert_eq!(r("{{if eq .N 0}}zero{{end}}", &v), "zero");
        assert_eq!(r("{{if and .T (not .N)}}ok{{end}}", &v), "ok");
        assert_eq!(r("{{with .M}}{{.x}}{{end}}", &v), "1");
        assert_eq!(r("{{$x := .N}}{{$x}}", &v), "0");
        assert_eq!(r("a {{- /* c */ -}} b", &v), "ab");
        assert_eq!(r("{{range .L -}}\n  {{.}}\n{{- end}}", &v), "ab");
        assert_eq!(r("{{range .L}}{{$.N}}{{end}}", &v), "00");
    }

    #[test]
    fn errors() {
        assert!(matches!(
            Template::parse("{{.A"),
            Err(TemplateError::Parse(_))
        ));
        assert!(matches!(
            Template::parse("{{if .A}}x"),
            Err(TemplateError::Parse(_))
        ));
        assert!(matches!(
            Template::parse("{{end}}"),
            Err(TemplateError::Parse(_))
        ));
        assert!(matches!(
            Template::parse("{{\"abc}}"),
            Err(TemplateError::Parse(_))
        ));
        let t = Template::parse("{{nosuch .A}}").unwrap();
        assert!(matches!(t.render(&json!({})), Err(TemplateError::Exec(_))));
    }

    #[test]
    fn malformed_templates_are_errors_not_panics() {
        for t in [
            "{{(}}",
            "{{)}}",
            "{{((.A)}}",
            "{{\"abc}}",
            "{{`abc}}",
            "{{\"a\\}}",
            "{{$x :=}}",
            "{{, }}",
            "{{:=}}",
            "{{-}}",
            "{{.}",
            "{{ -1.2.3 }}",
            "{{end}}",
            "{{if}}",
            "{{else}}",
            "{{printf}}",
            "{{index}}",
            "{{eq 1}}",
            "{{pad .A 1}}",
            "{{.é.ü}}",
            "{{$é}}",
        ] {
            let _ = Template::parse(t).and_then(|p| p.render(&json!({"A": "x"})));
        }
        assert_eq!(
            r("{{printf \"%5s|%-3d|\" .A 7}}", &json!({"A": "é"})),
            "    é|7  |"
        );
        assert_eq!(r("{{printf \"%s\"}}", &json!({})), "%!s(MISSING)");
        assert_eq!(r("{{printf \"x\" 1 2}}", &json!({})), "x%!(EXTRA 1, 2)");
        assert_eq!(r("{{(index .L 1)}}", &json!({"L": [1, 2]})), "2");
        assert_eq!(r("{{$a, $b := 1}}", &json!({})), "");
    }
}
