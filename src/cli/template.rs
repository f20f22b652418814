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

fn lex_action(s: &str) -> R<Vec<Tok>> {
    let b: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    let ident = |b: &[char], i: &mut usize| -> String {
        let st = *i;
        while *i < b.len() && (b[*i].is_alphanumeric() || b[*i] == '_') {
            *i += 1;
        }
        b[st..*i].iter().collect()
    };
    let fields = |b: &[char], i: &mut usize| -> Vec<String> {
        let mut f = Vec::new();
        while *i < b.len()
            && b[*i] == '.'
            && *i + 1 < b.len()
            && (b[*i + 1].is_alphanumeric() || b[*i + 1] == '_')
        {
            *i += 1;
            f.push(ident(b, i));
        }
        f
    };
    while i < b.len() {
        let c = b[i];
        match c {
            ' ' | '\t' | '\n' | '\r' => i += 1,
            '(' => {
                out.push(Tok::LParen);
                i += 1
            }
            ')' => {
                i += 1;
                out.push(Tok::RParen(fields(&b, &mut i)));
            }
            '|' => {
                out.push(Tok::Pipe);
                i += 1
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1
            }
            ':' if b.get(i + 1) == Some(&'=') => {
                out.push(Tok::Declare);
                i += 2
            }
            '=' => {
                out.push(Tok::Assign);
                i += 1
            }
            '.' => {
                let f = fields(&b, &mut i);
                if f.is_empty() {
                    i += 1;
                }
                out.push(Tok::Field(f));
            }
            '$' => {
                i += 1;
                let name = format!("${}", ident(&b, &mut i));
                out.push(Tok::Var(name, fields(&b, &mut i)));
            }
            '"' => {
                i += 1;
                let mut s = String::new();
                loop {
                    match b.get(i) {
                        None => return perr("unterminated quoted string"),
                        Some('"') => {
                            i += 1;
                            break;
                        }
                        Some('\\') => {
                            i += 1;
                            match b.get(i) {
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
                            }
                            i += 1;
                        }
                        Some(ch) => {
                            s.push(*ch);
                            i += 1
                        }
                    }
                }
                out.push(Tok::Str(s));
            }
            '`' => {
                i += 1;
                let st = i;
                while i < b.len() && b[i] != '`' {
                    i += 1;
                }
                if i >= b.len() {
                    return perr("unterminated raw quoted string");
                }
                out.push(Tok::Str(b[st..i].iter().collect()));
                i += 1;
            }
            c if c.is_ascii_digit()
                || (c == '-' && b.get(i + 1).is_some_and(|d| d.is_ascii_digit())) =>
            {
                let st = i;
                i += 1;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == '.') {
                    i += 1;
                }
                let t: String = b[st..i].iter().collect();
                match t.parse::<f64>() {
                    Ok(n) => out.push(Tok::Num(n)),
                    Err(_) => return perr(format!("bad number syntax: {t:?}")),
                }
            }
            c if c.is_alphabetic() || c == '_' => out.push(Tok::Ident(ident(&b, &mut i))),
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
    if let Some(at) = decl_at {
        let names = &toks[..at];
        let all_vars = names
            .iter()
            .all(|t| matches!(t, Tok::Var(_, f) if f.is_empty()) || *t == Tok::Comma);
        if all_vars && !names.is_empty() {
            for t in names {
                if let Tok::Var(n, _) = t {
                    p.decl.push(n.clone());
                }
            }
            p.assign = toks[at] == Tok::Assign;
            rest = &toks[at + 1..];
        }
    }
    let mut i = 0;
    let mut cmd = Vec::new();
    while i < rest.len() {
        match &rest[i] {
            Tok::Pipe => {
                if cmd.is_empty() {
                    return perr("missing command before '|'");
                }
                p.cmds.push(std::mem::take(&mut cmd));
            }
            Tok::LParen => {
                let mut depth = 1;
                let mut j = i + 1;
                while j < rest.len() {
                    match rest[j] {
                        Tok::LParen => depth += 1,
                        Tok::RParen(_) => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    j += 1;
                }
                let Some(Tok::RParen(fields)) = rest.get(j) else {
                    return perr("unclosed left paren");
                };
                cmd.push(Arg::Sub(
                    Box::new(parse_pipe(&rest[i + 1..j])?),
                    fields.clone(),
                ));
                i = j;
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
        i += 1;
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
    while let Some(start) = rest.find("{{") {
        let mut text = &rest[..start];
        if trim_next {
            text = text.trim_start();
        }
        let after = &rest[start + 2..];
        let (trim_left, inner_start) = match after.strip_prefix("- ") {
            Some(a) => (true, a),
            None => (false, after),
        };
        if trim_left {
            text = text.trim_end();
        }
        out.push(Piece::Text(text.to_string()));
        let Some(end) = inner_start.find("}}") else {
            return perr("unclosed action");
        };
        let mut inner = &inner_start[..end];
        trim_next = false;
        if let Some(x) = inner.strip_suffix(" -") {
            inner = x;
            trim_next = true;
        }
        let inner = inner.trim();
        if !(inner.starts_with("/*") && inner.ends_with("*/")) {
            out.push(Piece::Action(inner.to_string()));
        }
        rest = &inner_start[end + 2..];
    }
    let text = if trim_next { rest.trim_start() } else { rest };
    out.push(Piece::Text(text.to_string()));
    Ok(out)
}

/// Parse nodes until one of `stops` ("end", "else"); returns the stop word
/// met and the rest of its action ("if X" after "else").
fn parse_nodes(pieces: &[Piece], pos: &mut usize, stops: bool) -> R<(Vec<Node>, Option<String>)> {
    let mut nodes = Vec::new();
    while *pos < pieces.len() {
        let piece = &pieces[*pos];
        *pos += 1;
        match piece {
            Piece::Text(t) => {
                if !t.is_empty() {
                    nodes.push(Node::Text(t.clone()))
                }
            }
            Piece::Action(a) => {
                let word = a.split_whitespace().next().unwrap_or("");
                let rest = a[word.len()..].trim();
                match word {
                    "end" | "else" => {
                        if !stops {
                            return perr(format!("unexpected {{{{{word}}}}}"));
                        }
                        return Ok((nodes, Some(a.clone())));
                    }
                    "if" | "with" | "range" => nodes.push(parse_control(word, rest, pieces, pos)?),
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

fn parse_control(word: &str, cond: &str, pieces: &[Piece], pos: &mut usize) -> R<Node> {
    let pipe = parse_pipe(&lex_action(cond)?)?;
    let (body, stop) = parse_nodes(pieces, pos, true)?;
    let stop = stop.unwrap_or_default();
    let else_body = if stop == "end" {
        Vec::new()
    } else {
        let rest = stop.strip_prefix("else").unwrap_or("").trim();
        if rest.is_empty() {
            let (e, stop2) = parse_nodes(pieces, pos, true)?;
            if stop2.as_deref() != Some("end") {
                return perr("expected end; found else");
            }
            e
        } else {
            // `else if X` / `else with X`: a nested control sharing our end.
            let w = rest.split_whitespace().next().unwrap_or("");
            vec![parse_control(w, rest[w.len()..].trim(), pieces, pos)?]
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
        let mut pos = 0;
        let (nodes, _) = parse_nodes(&pieces, &mut pos, false)?;
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
    match &cmd[0] {
        Arg::Func(name) => {
            let mut args = Vec::new();
            for a in &cmd[1..] {
                args.push(eval_arg(a, dot, vars)?);
            }
            if let Some(p) = prev {
                args.push(p);
            }
            call(name, args)
        }
        a => {
            if cmd.len() > 1 || prev.is_some() {
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

fn need(name: &str, args: &[V], n: usize) -> R<()> {
    if args.len() != n {
        return xerr(format!(
            "wrong number of args for {name}: want {n} got {}",
            args.len()
        ));
    }
    Ok(())
}

fn call(name: &str, args: Vec<V>) -> R<V> {
    let s = |x: String| Ok(Some(Value::String(x)));
    match name {
        "json" => {
            need(name, &args, 1)?;
            s(go_json(&args[0]))
        }
        "upper" => {
            need(name, &args, 1)?;
            s(s_of(&args[0]).to_uppercase())
        }
        "lower" => {
            need(name, &args, 1)?;
            s(s_of(&args[0]).to_lowercase())
        }
        "title" => {
            need(name, &args, 1)?;
            let mut out = String::new();
            let mut start = true;
            for c in s_of(&args[0]).chars() {
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
            need(name, &args, 2)?;
            let (a, sep) = (s_of(&args[0]), s_of(&args[1]));
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
            need(name, &args, 2)?;
            let sep = s_of(&args[1]);
            match &args[0] {
                Some(Value::Array(a)) => s(a.iter().map(go_value).collect::<Vec<_>>().join(&sep)),
                other => s(s_of(other)),
            }
        }
        "truncate" => {
            need(name, &args, 2)?;
            let n = n_of(&args[1])? as usize;
            s(s_of(&args[0]).chars().take(n).collect())
        }
        "pad" => {
            need(name, &args, 3)?;
            let (l, r) = (n_of(&args[1])? as usize, n_of(&args[2])? as usize);
            s(format!(
                "{}{}{}",
                " ".repeat(l),
                s_of(&args[0]),
                " ".repeat(r)
            ))
        }
        "len" => {
            need(name, &args, 1)?;
            let n = match &args[0] {
                Some(Value::Array(a)) => a.len(),
                Some(Value::Object(o)) => o.len(),
                Some(Value::String(x)) => x.len(),
                other => return xerr(format!("len of {}", go_string(other))),
            };
            Ok(Some(Value::from(n)))
        }
        "index" => {
            if args.is_empty() {
                return xerr("wrong number of args for index");
            }
            let mut cur = args[0].clone();
            for k in &args[1..] {
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
            if args.is_empty() {
                return xerr("wrong number of args for printf");
            }
            s(printf(&s_of(&args[0]), &args[1..]))
        }
        "not" => {
            need(name, &args, 1)?;
            Ok(Some(Value::Bool(!truthy(&args[0]))))
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
            if args.len() < 2 {
                return xerr("missing argument for comparison");
            }
            Ok(Some(Value::Bool(args[1..].iter().any(|b| eq(&args[0], b)))))
        }
        "ne" => {
            need(name, &args, 2)?;
            Ok(Some(Value::Bool(!eq(&args[0], &args[1]))))
        }
        "lt" | "le" | "gt" | "ge" => {
            need(name, &args, 2)?;
            let Some(o) = cmp(&args[0], &args[1]) else {
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
    let mut ai = 0;
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
        let Some(arg) = args.get(ai) else {
            let _ = write!(out, "%!{verb}(MISSING)");
            continue;
        };
        ai += 1;
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
            if len < w {
                let pad = w - len;
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
    if ai < args.len() {
        let extra: Vec<String> = args[ai..].iter().map(s_of).collect();
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
}
