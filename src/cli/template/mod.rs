//! Go's text/template, as docker's CLI uses it for `--format` and `-f`:
//! a port of Go's lexer, parser and executor (so templates, their output
//! and their error messages read as docker's), over JSON values, with
//! docker's functions (json, join, upper, ...) added to Go's builtins.
//!
//! Written here rather than taken from gtmpl: gtmpl prints lists and maps
//! with Rust's Debug (`[String("sh")]`), where docker users expect Go's
//! `[sh]` and `map[a:b]`, and its errors are not Go's.

mod exec;
mod funcs;
mod lex;
mod parse;
mod value;

pub use value::{go_json, go_string, Mode, Row, Shape, Val};

use parse::Node;
use serde_json::Value;
use std::collections::HashMap;

#[derive(Debug, PartialEq)]
pub enum TemplateError {
    /// Go's parse error text: `template: :1: unexpected "}" in operand`.
    Parse(String),
    /// Go's execution error text: `template: :1:2: executing "" at <.X>: ...`.
    Exec(String),
}

pub struct Template {
    src: String,
    trees: HashMap<String, Vec<Node>>,
    /// Added to first-line columns in execution errors.
    pub col_offset: usize,
}

impl Template {
    pub fn parse(src: &str) -> Result<Template, TemplateError> {
        let trees = parse::parse(src).map_err(|e| TemplateError::Parse(e.0))?;
        Ok(Template {
            src: src.to_string(),
            trees,
            col_offset: 0,
        })
    }

    fn exec(&self, dot: &Val, mode: Mode, header: bool) -> (String, Result<(), String>) {
        let mut st = exec::State {
            trees: &self.trees,
            src: &self.src,
            mode,
            header,
            name: String::new(),
            vars: vec![("$".into(), dot.clone())],
            at: None,
            out: String::new(),
            depth: 0,
            col_offset: self.col_offset,
        };
        let root = self.trees.get("").map(Vec::as_slice).unwrap_or_default();
        let r = st.walk_list(dot, root);
        (st.out, r)
    }

    /// docker's `\t`/`\n` escapes, applied to the text between actions
    /// only (as `ps` does: its error columns count the escapes as typed).
    pub fn unescape_text(&mut self) {
        fn walk(nodes: &mut [Node]) {
            for n in nodes {
                match n {
                    Node::Text(t) => *t = t.replace("\\t", "\t").replace("\\n", "\n"),
                    Node::If(c) | Node::With(c) | Node::Range(c) => {
                        walk(&mut c.list);
                        if let Some(e) = &mut c.else_list {
                            walk(e);
                        }
                    }
                    _ => {}
                }
            }
        }
        for t in self.trees.values_mut() {
            walk(t);
        }
    }

    /// Execute on `dot` read in `mode`.
    /// What was written before an error too (Go's `Execute` into a
    /// stream: `version`/`info` show it).
    pub fn execute_partial(&self, dot: &Val, mode: Mode) -> (String, Result<(), TemplateError>) {
        let (out, r) = self.exec(dot, mode, false);
        (out, r.map_err(TemplateError::Exec))
    }

    pub fn execute(&self, dot: &Val, mode: Mode) -> Result<String, TemplateError> {
        let (out, r) = self.exec(dot, mode, false);
        r.map(|_| out).map_err(TemplateError::Exec)
    }

    /// docker's `inspect -f`: the typed structs first; when that fails,
    /// the raw JSON with missingkey=error, whose result (or error) counts.
    pub fn execute_inspect(&self, v: &Value) -> Result<String, TemplateError> {
        let dot = Val::json(v.clone());
        match self.exec(&dot, Mode::Typed, false) {
            (out, Ok(())) => Ok(out),
            _ => self.execute(&dot, Mode::Raw),
        }
    }

    /// A table's header line: the template on the column names with
    /// docker's header functions; an error only cuts the line short.
    pub fn execute_header(&self, headers: &Value) -> String {
        let row = Row {
            type_name: "formatter.SubHeaderContext".into(),
            fields: headers.as_object().cloned().unwrap_or_default(),
            labels: None,
            header: true,
            ..Row::default()
        };
        self.exec(&Val::Row(std::rc::Rc::new(row)), Mode::Row, true)
            .0
    }

    /// Shorthand for plain JSON data (maps all the way down).
    pub fn render(&self, dot: &Value) -> Result<String, TemplateError> {
        self.execute(&Val::json(dot.clone()), Mode::Row)
    }
}

/// For header rows: a template's fields replaced by their column names.
pub fn header_value(fields: &[(&str, &str)]) -> Value {
    let m: serde_json::Map<String, Value> = fields
        .iter()
        .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
        .collect();
    Value::Object(m)
}

#[cfg(test)]
mod tests;
