//! Go's text/template executor (text/template/exec.go): evaluation order,
//! argument checks and error messages, over JSON values.

use super::funcs::{self, Ty};
use super::lex::go_quote;
use super::parse::{Arg, Cmd, Control, Node, Pipe};
use super::value::{go_string, shape_of, type_name, Mode, Row, Shape, Val};
use serde_json::Value;
use std::collections::HashMap;
use std::rc::Rc;

/// Go's maxExecDepth is 100000; the tree walk here recurses on the
/// native stack, so nested `template` calls stop far earlier.
const MAX_DEPTH: usize = 1000;

pub struct State<'a> {
    pub trees: &'a HashMap<String, Vec<Node>>,
    pub src: &'a str,
    pub mode: Mode,
    /// docker's header functions (the table header line).
    pub header: bool,
    pub name: String,
    pub vars: Vec<(String, Val)>,
    /// Go's s.node: the position and text errors point at.
    pub at: Option<(usize, String)>,
    pub out: String,
    pub depth: usize,
    /// Added to first-line columns in errors (`ps` counts its "table ").
    pub col_offset: usize,
}

type R<T> = Result<T, String>;

enum Flow {
    Normal,
    Break,
    Continue,
}

impl State<'_> {
    fn at(&mut self, pos: usize, what: impl std::fmt::Display) {
        self.at = Some((pos, what.to_string()));
    }

    fn errorf<T>(&self, msg: impl AsRef<str>) -> R<T> {
        let name = go_quote(&self.name);
        match &self.at {
            None => Err(format!("template: {}: {}", self.name, msg.as_ref())),
            Some((pos, ctx)) => {
                let text = self.src.get(..*pos).unwrap_or(self.src);
                let line = text.matches('\n').count().saturating_add(1);
                let col = match text.rfind('\n') {
                    Some(nl) => pos.saturating_sub(nl).saturating_sub(1),
                    None => pos.saturating_add(self.col_offset),
                };
                Err(format!(
                    "template: :{line}:{col}: executing {name} at <{ctx}>: {}",
                    msg.as_ref()
                ))
            }
        }
    }

    pub fn walk_list(&mut self, dot: &Val, nodes: &[Node]) -> R<()> {
        self.walk(dot, nodes).map(|_| ())
    }

    fn walk(&mut self, dot: &Val, nodes: &[Node]) -> R<Flow> {
        for n in nodes {
            match n {
                Node::Text(t) => self.out.push_str(t),
                Node::Action(p) => {
                    let v = self.eval_pipeline(dot, p)?;
                    if p.decl.is_empty() {
                        self.out.push_str(&go_string(&v, self.mode));
                    }
                }
                Node::If(c) | Node::With(c) => {
                    let mark = self.vars.len();
                    let v = self.eval_pipeline(dot, &c.pipe)?;
                    let with = matches!(n, Node::With(_));
                    let r = if funcs::truth(&v) {
                        self.walk(if with { &v } else { dot }, &c.list)
                    } else if let Some(e) = &c.else_list {
                        self.walk(dot, e)
                    } else {
                        Ok(Flow::Normal)
                    };
                    self.vars.truncate(mark);
                    match r? {
                        Flow::Normal => {}
                        f => return Ok(f),
                    }
                }
                Node::Range(c) => self.walk_range(dot, c)?,
                Node::Template { pos, name, pipe } => {
                    self.at(*pos, format!("{{{{template {}}}}}", go_quote(name)));
                    let Some(tree) = self.trees.get(name) else {
                        return self.errorf(format!("template {} not defined", go_quote(name)));
                    };
                    if self.depth >= MAX_DEPTH {
                        return self.errorf("exceeded maximum template depth (100000)");
                    }
                    let d = match pipe {
                        Some(p) => self.eval_pipeline(dot, p)?,
                        None => Val::Missing,
                    };
                    let saved_vars =
                        std::mem::replace(&mut self.vars, vec![("$".into(), d.clone())]);
                    let saved_name = std::mem::replace(&mut self.name, name.clone());
                    self.depth = self.depth.saturating_add(1);
                    let r = self.walk(&d, tree);
                    self.depth = self.depth.saturating_sub(1);
                    self.vars = saved_vars;
                    self.name = saved_name;
                    r?;
                }
                Node::Break => return Ok(Flow::Break),
                Node::Continue => return Ok(Flow::Continue),
            }
        }
        Ok(Flow::Normal)
    }

    fn walk_range(&mut self, dot: &Val, c: &Control) -> R<()> {
        let mark = self.vars.len();
        let val = self.eval_pipeline(dot, &c.pipe)?;
        let items: Vec<(Val, Val)> = match &val {
            Val::J(Value::Array(a), _) => a
                .iter()
                .enumerate()
                .map(|(i, x)| (Val::int(i as i64), Val::J(x.clone(), Shape::Struct)))
                .collect(),
            Val::J(Value::Object(o), _) => {
                let mut keys: Vec<&String> = o.keys().collect();
                keys.sort();
                keys.into_iter()
                    .map(|k| {
                        let v = o.get(k).cloned().unwrap_or_default();
                        (Val::str(k.clone()), Val::J(v, shape_of(k)))
                    })
                    .collect()
            }
            Val::Missing | Val::J(Value::Null, _) => vec![],
            Val::J(Value::Number(n), _) if n.is_i64() && self.mode != Mode::Raw => {
                (0..n.as_i64().unwrap_or(0))
                    .map(|i| (Val::int(i), Val::int(i)))
                    .collect()
            }
            other => {
                return self.errorf(format!(
                    "range can't iterate over {}",
                    go_string(other, self.mode)
                ))
            }
        };
        let after_decl = self.vars.len();
        let decl = &c.pipe.decl;
        let empty = items.is_empty();
        for (k, x) in items {
            if !c.pipe.is_assign {
                // The pipeline pushed the declared variables: the last
                // gets the element, the first (of two) the index.
                let n = self.vars.len();
                if let (Some(slot), false) = (self.vars.get_mut(n.wrapping_sub(1)), decl.is_empty())
                {
                    slot.1 = x.clone();
                }
                if decl.len() > 1 {
                    if let Some(slot) = self.vars.get_mut(n.wrapping_sub(2)) {
                        slot.1 = k.clone();
                    }
                }
            } else {
                match decl.as_slice() {
                    [v] => self.set_var(v, x.clone())?,
                    [i, v] => {
                        self.set_var(i, k.clone())?;
                        self.set_var(v, x.clone())?;
                    }
                    _ => {}
                }
            }
            let r = self.walk(&x, &c.list);
            self.vars.truncate(after_decl);
            if let Flow::Break = r? {
                break;
            }
        }
        if empty {
            if let Some(e) = &c.else_list {
                self.walk(dot, e)?;
            }
        }
        self.vars.truncate(mark);
        Ok(())
    }

    fn set_var(&mut self, name: &str, v: Val) -> R<()> {
        match self.vars.iter_mut().rev().find(|(n, _)| n == name) {
            Some(slot) => {
                slot.1 = v;
                Ok(())
            }
            None => self.errorf(format!("undefined variable: {name}")),
        }
    }

    fn var_value(&self, name: &str) -> R<Val> {
        match self.vars.iter().rev().find(|(n, _)| n == name) {
            Some((_, v)) => Ok(v.clone()),
            None => self.errorf(format!("undefined variable: {name}")),
        }
    }

    fn eval_pipeline(&mut self, dot: &Val, p: &Pipe) -> R<Val> {
        self.at(p.pos, p);
        let mut value: Option<Val> = None;
        for cmd in &p.cmds {
            value = Some(self.eval_command(dot, cmd, value)?);
        }
        let value = value.unwrap_or(Val::Missing);
        for name in &p.decl {
            if p.is_assign {
                self.set_var(name, value.clone())?;
            } else {
                self.vars.push((name.clone(), value.clone()));
            }
        }
        Ok(value)
    }

    fn not_a_function(&self, args: &[Arg], fin: &Option<Val>) -> R<()> {
        if args.len() > 1 || fin.is_some() {
            let first = args.first().map(|a| a.to_string()).unwrap_or_default();
            return self.errorf(format!("can't give argument to non-function {first}"));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &Val, cmd: &Cmd, fin: Option<Val>) -> R<Val> {
        let Some(first) = cmd.args.first() else {
            return self.errorf("empty command");
        };
        match first {
            Arg::Field(pos, ids) => {
                self.at(*pos, first);
                self.eval_field_chain(dot, dot.clone(), ids, &cmd.args, fin)
            }
            Arg::Chain(..) => self.eval_chain(dot, first, &cmd.args, fin),
            Arg::Ident(pos, name) => {
                self.at(*pos, first);
                self.eval_function(dot, name, &cmd.to_string(), cmd.pos, &cmd.args, fin)
            }
            Arg::Pipe(p) => {
                self.not_a_function(&cmd.args, &fin)?;
                self.eval_pipeline(dot, p)
            }
            Arg::Variable(pos, ids) => {
                self.at(*pos, first);
                self.eval_variable(dot, ids, &cmd.args, fin)
            }
            other => {
                self.at(other.pos(), other);
                self.not_a_function(&cmd.args, &fin)?;
                match other {
                    Arg::Nil(_) => self.errorf("nil is not a command"),
                    Arg::Dot(_) => Ok(dot.clone()),
                    lit => Ok(literal(lit)),
                }
            }
        }
    }

    fn eval_variable(
        &mut self,
        dot: &Val,
        ids: &[String],
        args: &[Arg],
        fin: Option<Val>,
    ) -> R<Val> {
        let name = ids.first().map(String::as_str).unwrap_or("$");
        let value = self.var_value(name)?;
        match ids.get(1..) {
            None | Some([]) => {
                self.not_a_function(args, &fin)?;
                Ok(value)
            }
            Some(rest) => self.eval_field_chain(dot, value, rest, args, fin),
        }
    }

    fn eval_chain(&mut self, dot: &Val, chain: &Arg, args: &[Arg], fin: Option<Val>) -> R<Val> {
        let Arg::Chain(pos, node, fields) = chain else {
            return self.errorf("internal error: not a chain");
        };
        self.at(*pos, chain);
        if let Arg::Nil(_) = node.as_ref() {
            return self.errorf(format!("indirection through explicit nil in {chain}"));
        }
        let recv = self.eval_arg(dot, Ty::Value, node)?;
        self.eval_field_chain(dot, recv, fields, args, fin)
    }

    fn eval_field_chain(
        &mut self,
        dot: &Val,
        recv: Val,
        ids: &[String],
        args: &[Arg],
        fin: Option<Val>,
    ) -> R<Val> {
        let Some((last, init)) = ids.split_last() else {
            return Ok(recv);
        };
        let mut recv = recv;
        for id in init {
            recv = self.eval_field(dot, id, &[], None, recv)?;
        }
        self.eval_field(dot, last, args, fin, recv)
    }

    fn eval_field(
        &mut self,
        dot: &Val,
        name: &str,
        args: &[Arg],
        fin: Option<Val>,
        recv: Val,
    ) -> R<Val> {
        let has_args = args.len() > 1 || fin.is_some();
        let got = args
            .len()
            .saturating_sub(1)
            .saturating_add(usize::from(fin.is_some()));
        match recv {
            Val::Missing => {
                if self.mode == Mode::Raw {
                    return self.errorf(format!("nil data; no entry for key {}", go_quote(name)));
                }
                Ok(Val::Missing)
            }
            Val::Row(r) => {
                if name == "Label" && (r.labels.is_some() || r.header) {
                    if got != 1 {
                        return self
                            .errorf(format!("wrong number of args for Label: want 1 got {got}"));
                    }
                    let key = match args.get(1) {
                        Some(a) => self.eval_arg(dot, Ty::Str, a)?,
                        None => self.validate(fin.unwrap_or(Val::Missing), Ty::Str)?,
                    };
                    let key = match key {
                        Val::J(Value::String(s), _) => s,
                        _ => String::new(),
                    };
                    if r.header {
                        let last = key.rsplit('.').next().unwrap_or_default();
                        return Ok(Val::str(last.replace(['-', '_'], " ")));
                    }
                    let v = r.labels.as_ref().and_then(|l| l.get(&key)).cloned();
                    return Ok(Val::str(v.unwrap_or_default()));
                }
                if r.header {
                    if has_args {
                        return self.errorf(format!("{name} is not a method but has arguments"));
                    }
                    return Ok(r
                        .fields
                        .get(name)
                        .map_or(Val::Missing, |v| Val::J(v.clone(), Shape::Struct)));
                }
                match r
                    .fields
                    .get(name)
                    .or_else(|| r.fields.get(go_field_key(name)))
                {
                    Some(v) => {
                        if has_args {
                            return self.errorf(format!(
                                "wrong number of args for {name}: want 0 got {got}"
                            ));
                        }
                        match (v, r.structs.iter().find(|(f, _)| *f == name)) {
                            (Value::Object(o), Some((_, ty))) => Ok(Val::Row(Rc::new(Row {
                                type_name: ty.to_string(),
                                fields: o.clone(),
                                plain: true,
                                ..Row::default()
                            }))),
                            _ => Ok(Val::J(v.clone(), shape_of(name))),
                        }
                    }
                    _ => self.errorf(format!(
                        "can't evaluate field {name} in type {}",
                        r.type_name
                    )),
                }
            }
            Val::J(Value::Object(o), shape) => {
                if has_args {
                    return self.errorf(format!("{name} is not a method but has arguments"));
                }
                let typed = self.mode == Mode::Typed && shape.is_struct();
                let key = if typed { go_field_key(name) } else { name };
                let typed_name = || (self.mode != Mode::Raw).then(|| o.get(go_field_key(name)));
                // A JSON name whose Go field is named otherwise (`Id`,
                // `CpuShares`) is no field of the typed struct: the raw
                // try, as docker's, finds it.
                let found = match typed && json_only(name) {
                    true => None,
                    false => o.get(key).or_else(|| typed_name().flatten()),
                };
                match found {
                    Some(v) => Ok(Val::J(v.clone(), shape_of(key))),
                    // HostConfig embeds Resources: its fields are HostConfig's.
                    None if typed && name == "Resources" && o.contains_key("CpuShares") => {
                        Ok(Val::J(Value::Object(o.clone()), Shape::Struct))
                    }
                    None if typed && OMITTED_FIELDS.contains(&name) => {
                        Ok(Val::J(omitted_zero(name), shape_of(name)))
                    }
                    None => {
                        let strict = match self.mode {
                            Mode::Raw => true,
                            Mode::Typed => shape.is_struct(),
                            Mode::Row => false,
                        };
                        if strict {
                            return self
                                .errorf(format!("map has no entry for key {}", go_quote(name)));
                        }
                        Ok(Val::Missing)
                    }
                }
            }
            Val::J(Value::Null, Shape::Map(_)) if self.mode != Mode::Raw => Ok(Val::Missing),
            Val::J(Value::Null, _) => {
                self.errorf(format!("nil pointer evaluating interface {{}}.{name}"))
            }
            other => {
                let t = if self.mode == Mode::Raw {
                    "interface {}".to_string()
                } else {
                    type_name(&other, self.mode)
                };
                self.errorf(format!("can't evaluate field {name} in type {t}"))
            }
        }
    }

    fn eval_function(
        &mut self,
        dot: &Val,
        name: &str,
        cmd_text: &str,
        cmd_pos: usize,
        args: &[Arg],
        fin: Option<Val>,
    ) -> R<Val> {
        let (fixed, variadic) = funcs::signature(name, self.header);
        let given = args.len().saturating_sub(1);
        let num_in = given.saturating_add(usize::from(fin.is_some()));
        if variadic.is_some() {
            if num_in < fixed.len() {
                return self.errorf(format!(
                    "wrong number of args for {name}: want at least {} got {given}",
                    fixed.len()
                ));
            }
        } else if num_in != fixed.len() {
            return self.errorf(format!(
                "wrong number of args for {name}: want {} got {num_in}",
                fixed.len()
            ));
        }
        let rest = args.get(1..).unwrap_or_default();
        if matches!(name, "and" | "or") {
            let mut v = Val::Missing;
            for a in rest {
                v = self.eval_arg(dot, Ty::Value, a)?;
                if funcs::truth(&v) == (name == "or") {
                    return Ok(v);
                }
            }
            if let Some(f) = fin {
                v = f;
            }
            return Ok(v);
        }
        let ty = |i: usize| fixed.get(i).copied().or(variadic).unwrap_or(Ty::Value);
        let mut argv = Vec::new();
        for (i, a) in rest.iter().enumerate() {
            argv.push(self.eval_arg(dot, ty(i), a)?);
        }
        if let Some(f) = fin {
            argv.push(self.validate(f, ty(num_in.saturating_sub(1)))?);
        }
        if name == "call" {
            self.at(cmd_pos, cmd_text);
            let callee = rest.first().map(|a| a.to_string()).unwrap_or_default();
            let msg = match argv.first() {
                None | Some(Val::Missing) | Some(Val::J(Value::Null, _)) => {
                    "call of nil".to_string()
                }
                Some(v) => format!("non-function {callee} of type {}", type_name(v, self.mode)),
            };
            return self.errorf(format!("error calling call: {msg}"));
        }
        match funcs::call(name, argv, self.mode, self.header) {
            Ok(v) => Ok(v),
            Err(e) => {
                self.at(cmd_pos, cmd_text);
                self.errorf(format!("error calling {name}: {e}"))
            }
        }
    }

    /// Go's validateType: a value against a parameter's type.
    fn validate(&self, v: Val, ty: Ty) -> R<Val> {
        let mode = self.mode;
        match (ty, &v) {
            (Ty::Value, _) => Ok(v),
            (Ty::Iface, Val::Missing) => Ok(Val::J(Value::Null, Shape::Struct)),
            (Ty::Iface, _) => Ok(v),
            (_, Val::Missing) => self.errorf(format!("invalid value; expected {}", ty_name(ty))),
            (Ty::Str, Val::J(Value::String(_), _)) => Ok(v),
            (Ty::Int, Val::J(Value::Number(n), _)) if n.is_i64() && mode != Mode::Raw => Ok(v),
            (Ty::StrList, Val::J(Value::Array(_) | Value::Null, _)) if mode != Mode::Raw => Ok(v),
            _ => self.errorf(format!(
                "wrong type for value; expected {}; got {}",
                ty_name(ty),
                type_name(&v, mode)
            )),
        }
    }

    fn eval_arg(&mut self, dot: &Val, ty: Ty, a: &Arg) -> R<Val> {
        self.at(a.pos(), a);
        match a {
            Arg::Dot(_) => self.validate(dot.clone(), ty),
            Arg::Nil(_) => match ty {
                Ty::Value | Ty::Iface | Ty::StrList => Ok(Val::J(Value::Null, Shape::Struct)),
                _ => self.errorf(format!("cannot assign nil to {}", ty_name(ty))),
            },
            Arg::Field(_, ids) => {
                let v =
                    self.eval_field_chain(dot, dot.clone(), ids, std::slice::from_ref(a), None)?;
                self.validate(v, ty)
            }
            Arg::Variable(_, ids) => {
                let v = self.eval_variable(dot, ids, std::slice::from_ref(a), None)?;
                self.validate(v, ty)
            }
            Arg::Pipe(p) => {
                let v = self.eval_pipeline(dot, p)?;
                self.validate(v, ty)
            }
            Arg::Ident(pos, name) => {
                let v = self.eval_function(dot, name, name, *pos, std::slice::from_ref(a), None)?;
                self.validate(v, ty)
            }
            Arg::Chain(..) => {
                let v = self.eval_chain(dot, a, std::slice::from_ref(a), None)?;
                self.validate(v, ty)
            }
            lit => {
                let ok = matches!(
                    (ty, lit),
                    (Ty::Value | Ty::Iface, _)
                        | (Ty::Str, Arg::Str(..))
                        | (Ty::Int, Arg::Number(_, _, super::parse::Num::Int(_)))
                );
                if !ok {
                    let what = match ty {
                        Ty::Int => "integer",
                        Ty::Str => "string",
                        _ => "slice",
                    };
                    return self.errorf(format!("expected {what}; found {lit}"));
                }
                Ok(literal(lit))
            }
        }
    }
}

fn ty_name(t: Ty) -> &'static str {
    match t {
        Ty::Value => "reflect.Value",
        Ty::Iface => "interface {}",
        Ty::Str => "string",
        Ty::Int => "int",
        Ty::StrList => "[]string",
    }
}

fn literal(a: &Arg) -> Val {
    match a {
        Arg::Bool(_, b) => Val::bool(*b),
        Arg::Str(_, _, s) => Val::str(s.clone()),
        Arg::Number(_, _, super::parse::Num::Int(i)) => Val::int(*i),
        Arg::Number(_, _, super::parse::Num::Float(f)) => Val::json(
            serde_json::Number::from_f64(*f)
                .map(Value::Number)
                .unwrap_or(Value::Null),
        ),
        _ => Val::Missing,
    }
}

/// Fields of docker's typed structs whose Go name is not their JSON key
/// (`{{.HostConfig.CPUShares}}` reads "CpuShares", `{{.Client.APIVersion}}`
/// "ApiVersion"; `.Id` works through the raw fallback, as in docker).
fn go_field_key(name: &str) -> &str {
    match name {
        "ID" => "Id",
        "CPUShares" => "CpuShares",
        "CPUPeriod" => "CpuPeriod",
        "CPUQuota" => "CpuQuota",
        "CPURealtimePeriod" => "CpuRealtimePeriod",
        "CPURealtimeRuntime" => "CpuRealtimeRuntime",
        "CPUCount" => "CpuCount",
        "CPUPercent" => "CpuPercent",
        "APIVersion" => "ApiVersion",
        "CPUCfsPeriod" => "CpuCfsPeriod",
        "CPUCfsQuota" => "CpuCfsQuota",
        "HTTPProxy" => "HttpProxy",
        "HTTPSProxy" => "HttpsProxy",
        other => other,
    }
}

/// Is `name` the JSON name of a field whose Go name differs?
fn json_only(name: &str) -> bool {
    const GO_NAMED: &[&str] = &[
        "ID",
        "CPUShares",
        "CPUPeriod",
        "CPUQuota",
        "CPURealtimePeriod",
        "CPURealtimeRuntime",
        "CPUCount",
        "CPUPercent",
        "APIVersion",
        "CPUCfsPeriod",
        "CPUCfsQuota",
        "HTTPProxy",
        "HTTPSProxy",
    ];
    GO_NAMED.iter().any(|g| go_field_key(g) == name)
}

/// Fields docker's types have but marshal only when set (omitempty or
/// pointers): the typed struct still has them, at their zero value.
const OMITTED_FIELDS: &[&str] = &[
    "Health",
    "Healthcheck",
    "ExposedPorts",
    "StopTimeout",
    "Shell",
    "Volumes",
    "OnBuild",
    "MacAddress",
    "StopSignal",
    "NetworkDisabled",
    "ArgsEscaped",
    "SizeRw",
    "SizeRootFs",
    "Node",
    "Annotations",
    "Init",
    "Sysctls",
    "Tmpfs",
    "StorageOpt",
    "Mounts",
];

fn omitted_zero(name: &str) -> Value {
    match name {
        "MacAddress" | "StopSignal" => Value::String(String::new()),
        "NetworkDisabled" | "ArgsEscaped" => Value::Bool(false),
        _ => Value::Null,
    }
}
