//! Go's text/template parser (text/template/parse/parse.go): the same
//! trees, checks and error messages.

use super::lex::{go_quote, lex, It, Item};
use std::collections::HashMap;

#[derive(Debug, Clone)]
pub enum Node {
    Text(String),
    Action(Pipe),
    If(Control),
    With(Control),
    Range(Control),
    Template {
        pos: usize,
        name: String,
        pipe: Option<Pipe>,
    },
    Break,
    Continue,
}

#[derive(Debug, Clone)]
pub struct Control {
    pub pipe: Pipe,
    pub list: Vec<Node>,
    pub else_list: Option<Vec<Node>>,
}

#[derive(Debug, Clone)]
pub struct Pipe {
    pub pos: usize,
    pub decl: Vec<String>,
    pub is_assign: bool,
    pub cmds: Vec<Cmd>,
}

#[derive(Debug, Clone)]
pub struct Cmd {
    pub pos: usize,
    pub args: Vec<Arg>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    Int(i64),
    Float(f64),
}

#[derive(Debug, Clone)]
pub enum Arg {
    Field(usize, Vec<String>),
    /// `$x.A.B`: idents[0] is the variable's name.
    Variable(usize, Vec<String>),
    Dot(usize),
    Nil(usize),
    Bool(usize, bool),
    Number(usize, String, Num),
    Str(usize, String, String),
    Ident(usize, String),
    Pipe(Box<Pipe>),
    Chain(usize, Box<Arg>, Vec<String>),
}

impl Arg {
    pub fn pos(&self) -> usize {
        match self {
            Arg::Field(p, _)
            | Arg::Variable(p, _)
            | Arg::Dot(p)
            | Arg::Nil(p)
            | Arg::Bool(p, _)
            | Arg::Number(p, ..)
            | Arg::Str(p, ..)
            | Arg::Ident(p, _)
            | Arg::Chain(p, ..) => *p,
            Arg::Pipe(pipe) => pipe.pos,
        }
    }
}

impl std::fmt::Display for Arg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Arg::Field(_, ids) => write!(f, ".{}", ids.join(".")),
            Arg::Variable(_, ids) => write!(f, "{}", ids.join(".")),
            Arg::Dot(_) => write!(f, "."),
            Arg::Nil(_) => write!(f, "nil"),
            Arg::Bool(_, b) => write!(f, "{b}"),
            Arg::Number(_, text, _) => write!(f, "{text}"),
            Arg::Str(_, quoted, _) => write!(f, "{quoted}"),
            Arg::Ident(_, name) => write!(f, "{name}"),
            Arg::Pipe(p) => write!(f, "({p})"),
            Arg::Chain(_, node, fields) => {
                match node.as_ref() {
                    Arg::Pipe(p) => write!(f, "({p})")?,
                    other => write!(f, "{other}")?,
                }
                for field in fields {
                    write!(f, ".{field}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::fmt::Display for Cmd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                write!(f, " ")?;
            }
            write!(f, "{a}")?;
        }
        Ok(())
    }
}

impl std::fmt::Display for Pipe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.decl.is_empty() {
            write!(f, "{}", self.decl.join(", "))?;
            write!(f, "{}", if self.is_assign { " = " } else { " := " })?;
        }
        for (i, c) in self.cmds.iter().enumerate() {
            if i > 0 {
                write!(f, " | ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

/// A parse error, already in Go's words ("template: :1: ...").
#[derive(Debug)]
pub struct ParseError(pub String);

type R<T> = Result<T, ParseError>;

/// The functions a template may name (Go's builtins and docker's).
pub const FUNCS: &[&str] = &[
    "and", "call", "html", "index", "slice", "js", "len", "not", "or", "print", "printf",
    "println", "urlquery", "eq", "ge", "gt", "le", "lt", "ne", "json", "split", "join", "title",
    "lower", "upper", "pad", "truncate",
];

enum Stop {
    End,
    /// `else`; true when an `if`/`with` follows it in the same action.
    Else,
}

struct Parser {
    items: Vec<Item>,
    i: usize,
    line: usize,
    action_line: usize,
    vars: Vec<String>,
    range_depth: usize,
    trees: HashMap<String, Vec<Node>>,
}

/// Parse `src` into named trees; "" is the main one.
pub fn parse(src: &str) -> R<HashMap<String, Vec<Node>>> {
    let mut p = Parser {
        items: lex(src),
        i: 0,
        line: 1,
        action_line: 0,
        vars: vec!["$".into()],
        range_depth: 0,
        trees: HashMap::new(),
    };
    let mut root = Vec::new();
    while p.peek().typ != It::Eof {
        if p.peek().typ == It::LeftDelim {
            let mark = p.i;
            p.next();
            if p.next_non_space().typ == It::Define {
                p.parse_definition()?;
                continue;
            }
            p.i = mark;
        }
        match p.text_or_action()? {
            Ok(n) => root.push(n),
            Err(Stop::End) => return p.errorf("unexpected {{end}}"),
            Err(Stop::Else) => return p.errorf("unexpected {{else}}"),
        }
    }
    p.add("", root)?;
    Ok(p.trees)
}

impl Parser {
    fn errorf<T>(&self, msg: impl AsRef<str>) -> R<T> {
        Err(ParseError(format!(
            "template: :{}: {}",
            self.line,
            msg.as_ref()
        )))
    }

    fn next(&mut self) -> Item {
        let item = self
            .items
            .get(self.i)
            .or(self.items.last())
            .cloned()
            .unwrap_or(Item {
                typ: It::Eof,
                pos: 0,
                val: String::new(),
                line: 1,
            });
        if self.i < self.items.len() {
            self.i = self.i.saturating_add(1);
        }
        self.line = item.line;
        item
    }
    fn backup(&mut self) {
        self.i = self.i.saturating_sub(1);
    }
    fn peek(&mut self) -> Item {
        let (i, line) = (self.i, self.line);
        let t = self.next();
        self.i = i;
        self.line = line;
        t
    }
    fn next_non_space(&mut self) -> Item {
        loop {
            let t = self.next();
            if t.typ != It::Space {
                return t;
            }
        }
    }
    fn peek_non_space(&mut self) -> Item {
        let (i, line) = (self.i, self.line);
        let t = self.next_non_space();
        self.i = i;
        self.line = line;
        t
    }
    fn unexpected<T>(&self, token: &Item, context: &str) -> R<T> {
        if token.typ == It::Error {
            let mut extra = String::new();
            if self.action_line != 0 && self.action_line != token.line {
                extra = format!(" in action started at :{}", self.action_line);
                if token.val.ends_with(" action") {
                    extra = extra.replacen(" in action", "", 1);
                }
            }
            return self.errorf(format!("{token}{extra}"));
        }
        self.errorf(format!("unexpected {token} in {context}"))
    }
    fn expect(&mut self, typ: It, context: &str) -> R<Item> {
        let t = self.next_non_space();
        if t.typ != typ {
            return self.unexpected(&t, context);
        }
        Ok(t)
    }

    fn add(&mut self, name: &str, nodes: Vec<Node>) -> R<()> {
        let empty = |n: &[Node]| {
            n.iter()
                .all(|n| matches!(n, Node::Text(t) if t.trim().is_empty()))
        };
        match self.trees.get(name) {
            Some(old) if !empty(old) && !empty(&nodes) => self.errorf(format!(
                "template: multiple definition of template {}",
                go_quote(name)
            )),
            Some(_) if empty(&nodes) => Ok(()),
            _ => {
                self.trees.insert(name.to_string(), nodes);
                Ok(())
            }
        }
    }

    fn parse_definition(&mut self) -> R<()> {
        let context = "define clause";
        let t = self.next_non_space();
        if !matches!(t.typ, It::String | It::RawString) {
            return self.unexpected(&t, context);
        }
        let name = unquote(&t.val).or_else(|e| self.errorf(e))?;
        self.expect(It::RightDelim, context)?;
        let saved = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let (list, stop) = self.item_list()?;
        self.vars = saved;
        if !matches!(stop, Stop::End) {
            return self.errorf(format!("unexpected {{{{else}}}} in {context}"));
        }
        self.add(&name, list)
    }

    /// Nodes up to an `{{end}}` or `{{else}}`.
    fn item_list(&mut self) -> R<(Vec<Node>, Stop)> {
        let mut list = Vec::new();
        while self.peek_non_space().typ != It::Eof {
            match self.text_or_action()? {
                Ok(n) => list.push(n),
                Err(stop) => return Ok((list, stop)),
            }
        }
        self.errorf("unexpected EOF")
    }

    fn text_or_action(&mut self) -> R<Result<Node, Stop>> {
        let t = self.next_non_space();
        match t.typ {
            It::Text => Ok(Ok(Node::Text(t.val))),
            It::LeftDelim => {
                self.action_line = t.line;
                let r = self.action();
                self.action_line = 0;
                r
            }
            _ => self.unexpected(&t, "input"),
        }
    }

    fn action(&mut self) -> R<Result<Node, Stop>> {
        let t = self.next_non_space();
        Ok(Ok(match t.typ {
            It::Block => self.block_control()?,
            It::Break | It::Continue => {
                let word = if t.typ == It::Break {
                    "break"
                } else {
                    "continue"
                };
                let n = self.next_non_space();
                if n.typ != It::RightDelim {
                    return self.unexpected(&n, &format!("{{{{{word}}}}}"));
                }
                if self.range_depth == 0 {
                    return self.errorf(format!("{{{{{word}}}}} outside {{{{range}}}}"));
                }
                if t.typ == It::Break {
                    Node::Break
                } else {
                    Node::Continue
                }
            }
            It::Else => {
                let p = self.peek_non_space();
                if !matches!(p.typ, It::If | It::With) {
                    self.expect(It::RightDelim, "else")?;
                }
                return Ok(Err(Stop::Else));
            }
            It::End => {
                self.expect(It::RightDelim, "end")?;
                return Ok(Err(Stop::End));
            }
            It::If => Node::If(self.control("if")?),
            It::Range => Node::Range(self.control("range")?),
            It::With => Node::With(self.control("with")?),
            It::Template => self.template_control()?,
            _ => {
                self.backup();
                Node::Action(self.pipeline("command", It::RightDelim)?)
            }
        }))
    }

    fn control(&mut self, context: &str) -> R<Control> {
        let mark = self.vars.len();
        let pipe = self.pipeline(context, It::RightDelim)?;
        if context == "range" {
            self.range_depth = self.range_depth.saturating_add(1);
        }
        let (list, stop) = self.item_list()?;
        if context == "range" {
            self.range_depth = self.range_depth.saturating_sub(1);
        }
        let mut else_list = None;
        if let Stop::Else = stop {
            let p = self.peek_non_space();
            if context == "if" && p.typ == It::If {
                self.next_non_space();
                else_list = Some(vec![Node::If(self.control("if")?)]);
            } else if context == "with" && p.typ == It::With {
                self.next_non_space();
                else_list = Some(vec![Node::With(self.control("with")?)]);
            } else {
                let (l, stop) = self.item_list()?;
                if !matches!(stop, Stop::End) {
                    return self.errorf("expected end; found {{else}}");
                }
                else_list = Some(l);
            }
        }
        self.vars.truncate(mark);
        Ok(Control {
            pipe,
            list,
            else_list,
        })
    }

    fn template_name(&mut self, t: &Item, context: &str) -> R<String> {
        if !matches!(t.typ, It::String | It::RawString) {
            return self.unexpected(t, context);
        }
        unquote(&t.val).or_else(|e| self.errorf(e))
    }

    fn template_control(&mut self) -> R<Node> {
        let context = "template clause";
        let t = self.next_non_space();
        let name = self.template_name(&t, context)?;
        let pipe = if self.next_non_space().typ != It::RightDelim {
            self.backup();
            Some(self.pipeline(context, It::RightDelim)?)
        } else {
            None
        };
        Ok(Node::Template {
            pos: t.pos,
            name,
            pipe,
        })
    }

    fn block_control(&mut self) -> R<Node> {
        let context = "block clause";
        let t = self.next_non_space();
        let name = self.template_name(&t, context)?;
        let pipe = self.pipeline(context, It::RightDelim)?;
        let saved = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let (list, stop) = self.item_list()?;
        self.vars = saved;
        if !matches!(stop, Stop::End) {
            return self.errorf(format!("unexpected {{{{else}}}} in {context}"));
        }
        self.add(&name, list)?;
        Ok(Node::Template {
            pos: t.pos,
            name,
            pipe: Some(pipe),
        })
    }

    fn pipeline(&mut self, context: &str, end: It) -> R<Pipe> {
        let pos = self.peek_non_space().pos;
        let mut pipe = Pipe {
            pos,
            decl: vec![],
            is_assign: false,
            cmds: vec![],
        };
        loop {
            let v = self.peek_non_space();
            if v.typ != It::Variable {
                break;
            }
            let mark = self.i;
            self.next_non_space();
            let next = self.peek_non_space();
            match next.typ {
                It::Assign | It::Declare => {
                    pipe.is_assign = next.typ == It::Assign;
                    self.next_non_space();
                    if pipe.is_assign && !self.vars.contains(&v.val) {
                        return self.errorf(format!("undefined variable {}", go_quote(&v.val)));
                    }
                    pipe.decl.push(v.val.clone());
                    self.vars.push(v.val);
                }
                It::Char if next.val == "," => {
                    self.next_non_space();
                    pipe.decl.push(v.val.clone());
                    self.vars.push(v.val);
                    if context == "range" && pipe.decl.len() < 2 {
                        match self.peek_non_space().typ {
                            It::Variable | It::RightDelim | It::RightParen => continue,
                            _ => return self.errorf("range can only initialize variables"),
                        }
                    }
                    return self.errorf(format!("too many declarations in {context}"));
                }
                _ => self.i = mark,
            }
            break;
        }
        loop {
            let t = self.next_non_space();
            match t.typ {
                x if x == end => {
                    self.check_pipeline(&pipe, context)?;
                    return Ok(pipe);
                }
                It::Bool
                | It::CharConstant
                | It::Dot
                | It::Field
                | It::Identifier
                | It::Number
                | It::Nil
                | It::RawString
                | It::String
                | It::Variable
                | It::LeftParen => {
                    self.backup();
                    let c = self.command()?;
                    pipe.cmds.push(c);
                }
                _ => return self.unexpected(&t, context),
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str) -> R<()> {
        if pipe.cmds.is_empty() {
            return self.errorf(format!("missing value for {context}"));
        }
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if matches!(
                c.args.first(),
                Some(Arg::Bool(..) | Arg::Dot(_) | Arg::Nil(_) | Arg::Number(..) | Arg::Str(..))
            ) {
                return self.errorf(format!(
                    "non executable command in pipeline stage {}",
                    i.saturating_add(1)
                ));
            }
        }
        Ok(())
    }

    fn command(&mut self) -> R<Cmd> {
        let pos = self.peek_non_space().pos;
        let mut cmd = Cmd { pos, args: vec![] };
        loop {
            self.peek_non_space();
            if let Some(op) = self.operand()? {
                cmd.args.push(op);
            }
            let t = self.next();
            match t.typ {
                It::Space => continue,
                It::RightDelim | It::RightParen => self.backup(),
                It::Pipe => {}
                _ => return self.unexpected(&t, "operand"),
            }
            break;
        }
        if cmd.args.is_empty() {
            return self.errorf("empty command");
        }
        Ok(cmd)
    }

    fn operand(&mut self) -> R<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if self.peek().typ != It::Field {
            return Ok(Some(node));
        }
        let pos = self.peek().pos;
        let mut fields = Vec::new();
        while self.peek().typ == It::Field {
            let f = self.next().val;
            fields.push(f.trim_start_matches('.').to_string());
        }
        Ok(Some(match node {
            Arg::Field(_, mut ids) => {
                ids.extend(fields);
                Arg::Field(pos, ids)
            }
            Arg::Variable(_, mut ids) => {
                ids.extend(fields);
                Arg::Variable(pos, ids)
            }
            Arg::Bool(..) | Arg::Str(..) | Arg::Number(..) | Arg::Nil(_) | Arg::Dot(_) => {
                return self.errorf(format!(
                    "unexpected . after term {}",
                    go_quote(&node.to_string())
                ))
            }
            other => Arg::Chain(pos, Box::new(other), fields),
        }))
    }

    fn term(&mut self) -> R<Option<Arg>> {
        let t = self.next_non_space();
        Ok(Some(match t.typ {
            It::Identifier => {
                if !FUNCS.contains(&t.val.as_str()) {
                    return self.errorf(format!("function {} not defined", go_quote(&t.val)));
                }
                Arg::Ident(t.pos, t.val)
            }
            It::Dot => Arg::Dot(t.pos),
            It::Nil => Arg::Nil(t.pos),
            It::Variable => {
                let ids: Vec<String> = t.val.split('.').map(str::to_string).collect();
                let name = ids.first().cloned().unwrap_or_default();
                if !self.vars.contains(&name) {
                    return self.errorf(format!("undefined variable {}", go_quote(&name)));
                }
                Arg::Variable(t.pos, ids)
            }
            It::Field => Arg::Field(
                t.pos,
                t.val.split('.').skip(1).map(str::to_string).collect(),
            ),
            It::Bool => Arg::Bool(t.pos, t.val == "true"),
            It::Number | It::CharConstant => {
                let n = number(&t).or_else(|e| self.errorf(e))?;
                Arg::Number(t.pos, t.val, n)
            }
            It::LeftParen => {
                let p = self.pipeline("parenthesized pipeline", It::RightParen)?;
                Arg::Pipe(Box::new(p))
            }
            It::String | It::RawString => {
                let s = unquote(&t.val).or_else(|e| self.errorf(e))?;
                Arg::Str(t.pos, t.val, s)
            }
            _ => {
                self.backup();
                return Ok(None);
            }
        }))
    }
}

fn number(t: &Item) -> Result<Num, String> {
    let bad = || format!("illegal number syntax: {}", go_quote(&t.val));
    if t.typ == It::CharConstant {
        let inner = unquote(&format!("\"{}\"", t.val.trim_matches('\'')))?;
        let mut cs = inner.chars();
        return match (cs.next(), cs.next()) {
            (Some(c), None) => Ok(Num::Int(c as i64)),
            _ => Err(format!("malformed character constant: {}", t.val)),
        };
    }
    let s = t.val.replace('_', "");
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(&s)),
    };
    let radix = |p: &str, r: u32| {
        body.strip_prefix(p)
            .and_then(|d| i64::from_str_radix(d, r).ok())
    };
    let int = radix("0x", 16)
        .or_else(|| radix("0X", 16))
        .or_else(|| radix("0o", 8))
        .or_else(|| radix("0b", 2))
        .or_else(|| body.parse::<i64>().ok());
    if let Some(i) = int {
        return Ok(Num::Int(if neg { i.wrapping_neg() } else { i }));
    }
    if body.contains(['x', 'X', 'i']) {
        return Err(bad());
    }
    match s.parse::<f64>() {
        Ok(f) if f.fract() == 0.0 && f.abs() < 9.0e18 && !body.contains(['.', 'e', 'E']) => {
            Ok(Num::Int(f as i64))
        }
        Ok(f) => Ok(Num::Float(f)),
        Err(_) => Err(bad()),
    }
}

/// Go's strconv.Unquote for "..." and `...` literals.
pub fn unquote(s: &str) -> Result<String, String> {
    if let Some(raw) = s.strip_prefix('`').and_then(|r| r.strip_suffix('`')) {
        return Ok(raw.to_string());
    }
    let Some(inner) = s.strip_prefix('"').and_then(|r| r.strip_suffix('"')) else {
        return Err("invalid syntax".into());
    };
    let mut out = String::new();
    let mut it = inner.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let e = it.next().ok_or("invalid syntax")?;
        match e {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'a' => out.push('\x07'),
            'b' => out.push('\x08'),
            'f' => out.push('\x0c'),
            'v' => out.push('\x0b'),
            '\\' | '"' | '\'' => out.push(e),
            'x' | 'u' | 'U' => {
                let n = match e {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let hex: String = it.by_ref().take(n).collect();
                let v = u32::from_str_radix(&hex, 16).map_err(|_| "invalid syntax")?;
                out.push(char::from_u32(v).ok_or("invalid syntax")?);
            }
            '0'..='7' => {
                let rest: String = it.by_ref().take(2).collect();
                let v =
                    u32::from_str_radix(&format!("{e}{rest}"), 8).map_err(|_| "invalid syntax")?;
                out.push(char::from_u32(v).ok_or("invalid syntax")?);
            }
            _ => return Err("invalid syntax".into()),
        }
    }
    Ok(out)
}
