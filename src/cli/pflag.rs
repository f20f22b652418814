//! docker's command-line grammar (cobra and pflag) in front of clap.
//!
//! clap's grammar differs from pflag's in ways scripts notice: a flag's
//! value may start with `-` in pflag (`--entrypoint -x`), a bool takes
//! `=value` (`--rm=false`, `-it=false`), a repeated single-value flag keeps
//! its last value, `run`/`create`/`exec` stop reading flags at their first
//! argument, and the errors have docker's words. So argv is first read
//! here as pflag reads it, driven by clap's own definitions of each
//! command's flags, and rewritten into an unambiguous form for clap
//! (`--long=value` for every flag, `--` before the arguments).

use super::usage::{self, ArgCount};
use clap::{ArgAction, Command};

/// A usage error: docker's whole text (several lines) and exit status.
#[derive(Debug)]
pub struct UsageError {
    pub text: String,
    pub code: i32,
}

/// How pflag treats a flag.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// A bool: no value, or `=value` (Go's strconv.ParseBool).
    Bool,
    /// A bool clap keeps as a value (`--sig-proxy[=true]`): same grammar
    /// as `Bool`, passed on as `--long=true|false`.
    BoolValue,
    /// One value; the last one given wins.
    Single,
    /// A list: every value is kept.
    Multi,
    /// Counted each time it is given.
    Count,
    /// `--help`.
    Help,
}

#[derive(Debug, Clone)]
struct Flag {
    /// What clap is given: `--long`, or `-s` for a flag without a long name.
    token: String,
    longs: Vec<String>,
    shorts: Vec<char>,
    kind: Kind,
}

impl Flag {
    fn from_clap(a: &clap::Arg) -> Option<Flag> {
        if a.is_positional() {
            return None;
        }
        let mut longs: Vec<String> = a.get_long().map(String::from).into_iter().collect();
        longs.extend(
            a.get_all_aliases()
                .unwrap_or_default()
                .into_iter()
                .map(String::from),
        );
        let mut shorts: Vec<char> = a.get_short().into_iter().collect();
        shorts.extend(a.get_all_short_aliases().unwrap_or_default());
        let token = match (a.get_long(), a.get_short()) {
            (Some(l), _) => format!("--{l}"),
            (None, Some(s)) => format!("-{s}"),
            (None, None) => return None,
        };
        if kind_is_help(a) {
            // cobra's `-h` is a deprecated spelling, handled apart.
            shorts.clear();
        }
        let optional = a.get_num_args().is_some_and(|n| n.min_values() == 0);
        let kind = match a.get_action() {
            ArgAction::SetTrue | ArgAction::SetFalse => Kind::Bool,
            ArgAction::Count => Kind::Count,
            ArgAction::Help | ArgAction::HelpLong | ArgAction::HelpShort => Kind::Help,
            ArgAction::Append => Kind::Multi,
            _ if optional => Kind::BoolValue,
            _ => Kind::Single,
        };
        Some(Flag {
            token,
            longs,
            shorts,
            kind,
        })
    }

    /// pflag's name of the flag in messages: `-a, --all` or `--rm`.
    fn shown(&self) -> String {
        match (self.longs.first(), self.shorts.first()) {
            (Some(l), Some(s)) => format!("-{s}, --{l}"),
            (Some(l), None) => format!("--{l}"),
            (None, Some(s)) => format!("-{s}"),
            (None, None) => String::new(),
        }
    }

    fn takes_value(&self) -> bool {
        matches!(self.kind, Kind::Single | Kind::Multi)
    }
}

fn kind_is_help(a: &clap::Arg) -> bool {
    matches!(
        a.get_action(),
        ArgAction::Help | ArgAction::HelpLong | ArgAction::HelpShort
    )
}

/// One command's flags (its own and the global ones) and where it sits.
struct Level {
    /// The canonical names from the root (`["image", "ls"]`).
    path: Vec<String>,
    flags: Vec<Flag>,
}

impl Level {
    fn new(path: Vec<String>, cmd: &Command, globals: &[Flag]) -> Level {
        let mut flags: Vec<Flag> = cmd.get_arguments().filter_map(Flag::from_clap).collect();
        for g in globals {
            if !flags.iter().any(|f| f.token == g.token) {
                flags.push(g.clone());
            }
        }
        Level { path, flags }
    }

    fn long(&self, name: &str) -> Option<usize> {
        self.flags
            .iter()
            .position(|f| f.longs.iter().any(|l| l == name))
    }

    fn short(&self, c: char) -> Option<usize> {
        self.flags.iter().position(|f| f.shorts.contains(&c))
    }

    /// `rdock image ls`
    fn command_path(&self) -> String {
        let mut s = String::from("rdock");
        for w in &self.path {
            s.push(' ');
            s.push_str(w);
        }
        s
    }

    /// cobra's UseLine: the parent's path, then the command's `Use`.
    fn use_line(&self) -> String {
        let key = self.path.join(" ");
        match usage::lookup(&key) {
            Some(u) => {
                let parent = self.path.len().saturating_sub(1);
                let mut s = String::from("rdock ");
                for w in self.path.iter().take(parent) {
                    s.push_str(w);
                    s.push(' ');
                }
                s.push_str(&u.use_line.replace("docker ", "rdock "));
                s
            }
            None => format!("{} [OPTIONS]", self.command_path()),
        }
    }

    /// docker's FlagErrorFunc: the error, the usage line, where help is.
    fn flag_error(&self, msg: &str) -> UsageError {
        UsageError {
            text: format!(
                "{msg}\n\nUsage:  {}\n\nRun '{} --help' for more information",
                self.use_line(),
                self.command_path()
            ),
            code: 125,
        }
    }
}

/// docker's text for a bad flag of the command at `path` (a value clap
/// refused when converting it).
pub fn flag_error(path: &[String], msg: &str) -> UsageError {
    Level {
        path: path.to_vec(),
        flags: Vec::new(),
    }
    .flag_error(msg)
}

/// Whether a command's error is pflag's for a flag's value
/// (`invalid argument "x" for "-m, --memory" flag: ...`), which docker
/// prints as a usage error.
pub fn is_flag_value_error(msg: &str) -> bool {
    msg.strip_prefix("invalid argument \"")
        .and_then(|rest| rest.split_once("\" for \""))
        .is_some_and(|(_, rest)| rest.contains("\" flag: "))
}

/// What was read from one command's part of argv.
#[derive(Default)]
struct Parsed {
    /// Per flag (index in `Level::flags`): the values in order.
    values: Vec<Vec<String>>,
    positionals: Vec<String>,
    help: bool,
}

/// Go's strconv.ParseBool.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Go's %q of a string (what pflag's messages quote values with).
pub fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// pflag's parseArgs over one command's arguments.
fn parse_level(level: &Level, args: &[String], interspersed: bool) -> Result<Parsed, UsageError> {
    let mut p = Parsed {
        values: vec![Vec::new(); level.flags.len()],
        ..Default::default()
    };
    let mut args = args.iter();
    while let Some(s) = args.next() {
        if s.len() < 2 || !s.starts_with('-') {
            p.positionals.push(s.clone());
            if !interspersed {
                p.positionals.extend(args.cloned());
                break;
            }
            continue;
        }
        if s == "--" {
            p.positionals.extend(args.cloned());
            break;
        }
        match s.strip_prefix("--") {
            Some(name) => parse_long(level, s, name, &mut args, &mut p)?,
            None => parse_shorts(level, s.get(1..).unwrap_or(""), &mut args, &mut p)?,
        }
    }
    Ok(p)
}

/// `--name`, `--name=value`, `--name value`.
fn parse_long(
    level: &Level,
    s: &str,
    name: &str,
    args: &mut std::slice::Iter<String>,
    p: &mut Parsed,
) -> Result<(), UsageError> {
    if name.is_empty() || name.starts_with('-') || name.starts_with('=') {
        return Err(level.flag_error(&format!("bad flag syntax: {s}")));
    }
    let (name, inline) = match name.split_once('=') {
        Some((n, v)) => (n, Some(v)),
        None => (name, None),
    };
    let Some(idx) = level.long(name) else {
        if name == "help" {
            return set_help(level, &mut p.help, inline);
        }
        return Err(level.flag_error(&format!("unknown flag: --{name}")));
    };
    let takes = level.flags.get(idx).is_some_and(Flag::takes_value);
    let value = match inline {
        Some(v) => v.to_string(),
        None if !takes => "true".to_string(),
        None => match args.next() {
            Some(v) => v.clone(),
            None => return Err(level.flag_error(&format!("flag needs an argument: {s}"))),
        },
    };
    set(level, idx, value, p)
}

/// `-abc`, `-ovalue`, `-o=value`, `-o value`, `-i=false`.
fn parse_shorts(
    level: &Level,
    shorthands: &str,
    args: &mut std::slice::Iter<String>,
    p: &mut Parsed,
) -> Result<(), UsageError> {
    let mut rest = shorthands;
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        let after = chars.as_str();
        // `-o=value` (not a lone `=`: `-o=` is `o` then a flag named `=`).
        let inline = after.strip_prefix('=').filter(|v| !v.is_empty());
        let Some(idx) = level.short(c) else {
            if c == 'h' {
                // cobra's `-h`, deprecated where a command has no -h of its own.
                set_help(level, &mut p.help, inline)?;
                // pflag prints it to its flag set's output: stderr for
                // the root's own flags, the command's stdout below it.
                let notice = "Flag shorthand -h has been deprecated, use --help";
                if level.path.is_empty() {
                    eprintln!("{notice}");
                } else {
                    println!("{notice}");
                }
                rest = if inline.is_some() { "" } else { after };
                chars = rest.chars();
                continue;
            }
            return Err(level.flag_error(&format!(
                "unknown shorthand flag: '{}' in -{rest}",
                go_char(c)
            )));
        };
        let takes = level.flags.get(idx).is_some_and(Flag::takes_value);
        let value = if let Some(v) = inline {
            rest = "";
            v.to_string()
        } else if !takes {
            rest = after;
            "true".to_string()
        } else if !after.is_empty() {
            rest = "";
            after.to_string()
        } else if let Some(v) = args.next() {
            rest = "";
            v.clone()
        } else {
            return Err(level.flag_error(&format!(
                "flag needs an argument: '{}' in -{rest}",
                go_char(c)
            )));
        };
        set(level, idx, value, p)?;
        chars = rest.chars();
    }
    Ok(())
}

/// A rune inside Go's %q of a byte: quotes and backslashes escaped.
fn go_char(c: char) -> String {
    match c {
        '\'' => "\\'".into(),
        '\\' => "\\\\".into(),
        c => c.to_string(),
    }
}

fn set_help(level: &Level, help: &mut bool, value: Option<&str>) -> Result<(), UsageError> {
    *help = match value {
        None => true,
        Some(v) => parse_bool(v).ok_or_else(|| {
            level.flag_error(&format!(
                "invalid argument {} for \"--help\" flag: strconv.ParseBool: parsing {}: invalid syntax",
                go_quote(v),
                go_quote(v)
            ))
        })?,
    };
    Ok(())
}

/// pflag's Set: a bool's value is checked; a single value replaces.
fn set(level: &Level, idx: usize, value: String, p: &mut Parsed) -> Result<(), UsageError> {
    let (Some(flag), Some(values)) = (level.flags.get(idx), p.values.get_mut(idx)) else {
        return Ok(());
    };
    match flag.kind {
        Kind::Bool | Kind::BoolValue | Kind::Help => {
            let b = parse_bool(&value).ok_or_else(|| {
                level.flag_error(&format!(
                    "invalid argument {} for {} flag: strconv.ParseBool: parsing {}: invalid syntax",
                    go_quote(&value),
                    go_quote(&flag.shown()),
                    go_quote(&value)
                ))
            })?;
            if flag.kind == Kind::Help {
                p.help = b;
            } else {
                *values = vec![b.to_string()];
            }
        }
        Kind::Single => *values = vec![value],
        Kind::Multi | Kind::Count => values.push(value),
    }
    Ok(())
}

/// The flags as clap reads them unambiguously.
fn emit(level: &Level, p: &Parsed, out: &mut Vec<String>) {
    for (flag, values) in level.flags.iter().zip(&p.values) {
        match flag.kind {
            Kind::Bool => {
                if values.last().is_some_and(|v| v == "true") {
                    out.push(flag.token.clone());
                }
            }
            Kind::Count => out.extend(values.iter().map(|_| flag.token.clone())),
            Kind::Help => {}
            Kind::BoolValue | Kind::Single | Kind::Multi => {
                for v in values {
                    out.push(format!("{}={v}", flag.token));
                }
            }
        }
    }
}

/// A command that takes its arguments as they are (the refusals of
/// swarm, plugin, ...): no flags, one list of anything.
fn is_passthrough(cmd: &Command) -> bool {
    cmd.is_disable_help_flag_set()
        && cmd
            .get_arguments()
            .all(|a| a.is_positional() && a.is_trailing_var_arg_set())
}

/// Where a command with subcommands finds a subcommand's name, as
/// cobra's Traverse: the first argument that is neither a flag nor what
/// it takes to be a flag's value (the next argument after any `--flag`
/// or `-f` but a known bool's, even an unknown flag's).
fn first_word(level: &Level, args: &[String]) -> Option<usize> {
    let is_bool = |f: Option<usize>| {
        f.and_then(|f| level.flags.get(f))
            .is_some_and(|f| !f.takes_value())
    };
    let mut in_flag = false;
    for (i, s) in args.iter().enumerate() {
        if let Some(name) = s.strip_prefix("--").filter(|_| !s.contains('=')) {
            in_flag = !(is_bool(level.long(name)) || name == "help");
            continue;
        }
        let mut short = s.chars().skip(1);
        if let (Some('-'), Some(c), None) = (s.chars().next(), short.next(), short.next()) {
            if c != '=' && !(is_bool(level.short(c)) || c == 'h') {
                in_flag = true;
                continue;
            }
        }
        if std::mem::take(&mut in_flag) {
            continue;
        }
        let is_flag = s.len() >= 2 && s.starts_with('-') && s != "--";
        if !is_flag {
            return Some(i);
        }
    }
    None
}

/// Read argv as docker's CLI does and rewrite it for clap, or fail with
/// docker's usage error.
/// pflag's notice for a deprecated flag, printed when it is used: the
/// `--time` of `stop` and `restart` (`--timeout` now).
pub fn warn_deprecated(args: &[String]) {
    let words: Vec<&str> = args
        .iter()
        .skip(1)
        .map(String::as_str)
        .take_while(|a| *a != "--")
        .collect();
    let stops = words.iter().position(|w| matches!(*w, "stop" | "restart"));
    let Some(at) = stops else { return };
    if words
        .iter()
        .skip(at)
        .any(|w| *w == "--time" || w.starts_with("--time="))
    {
        // pflag prints it on stdout.
        println!("Flag --time has been deprecated, use --timeout instead");
    }
}

pub fn normalize(root: &Command, args: &[String]) -> Result<Vec<String>, UsageError> {
    let mut out: Vec<String> = args.first().cloned().into_iter().collect();
    let globals: Vec<Flag> = root
        .get_arguments()
        .filter(|a| a.is_global_set())
        .filter_map(Flag::from_clap)
        .collect();
    // The root reads its own flags up to the command's name.
    let top = Level::new(Vec::new(), root, &[]);
    let p = parse_level(&top, args.get(1..).unwrap_or_default(), false)?;
    emit(&top, &p, &mut out);
    if p.help {
        out.push("--help".into());
        return Ok(out);
    }
    let Some(name) = p.positionals.first() else {
        return Ok(out);
    };
    let Some(sub) = root.find_subcommand(name) else {
        return Err(UsageError {
            text: format!(
                "rdock: unknown command: rdock {name}\n\nRun 'rdock --help' for more information"
            ),
            code: 1,
        });
    };
    let mut cmd = sub.clone();
    cmd.build();
    let mut path = vec![cmd.get_name().to_string()];
    let mut rest: Vec<String> = p.positionals.get(1..).unwrap_or_default().to_vec();
    loop {
        out.push(cmd.get_name().to_string());
        if is_passthrough(&cmd) {
            out.push("--".into());
            out.extend(rest);
            return Ok(out);
        }
        let level = Level::new(path.clone(), &cmd, &globals);
        if cmd.has_subcommands() {
            // cobra finds the subcommand among the arguments, flags aside;
            // the flags before it are the subcommand's.
            let found = first_word(&level, &rest)
                .and_then(|at| Some((at, cmd.find_subcommand(rest.get(at)?)?.clone())));
            if let Some((at, mut sub)) = found {
                // The flags before the name are this command's; cobra
                // returns their errors bare (exit 1).
                let before = rest.get(..at).unwrap_or_default();
                let p = parse_level(&level, before, true).map_err(|e| UsageError {
                    text: e.text.lines().next().unwrap_or_default().to_string(),
                    code: 1,
                })?;
                emit(&level, &p, &mut out);
                if p.help {
                    out.push("--help".into());
                    return Ok(out);
                }
                rest = rest.split_off(at).split_off(1);
                sub.build();
                path.push(sub.get_name().to_string());
                cmd = sub;
                continue;
            }
            let p = parse_level(&level, &rest, true)?;
            // cobra shows the group's help for `GROUP nosuch --help`.
            if p.help {
                emit(&level, &p, &mut out);
                out.push("--help".into());
                return Ok(out);
            }
            if let Some(word) = p.positionals.first() {
                return Err(UsageError {
                    text: format!(
                        "rdock: unknown command: {} {word}\n\nUsage:  {}\n\nRun '{} --help' for more information",
                        level.command_path(),
                        level.use_line(),
                        level.command_path()
                    ),
                    code: 1,
                });
            }
            emit(&level, &p, &mut out);
            if p.help {
                out.push("--help".into());
            }
            return Ok(out);
        }
        let key = path.join(" ");
        let spec = usage::lookup(&key);
        let interspersed = spec.is_none_or(|u| u.interspersed);
        let p = parse_level(&level, &rest, interspersed)?;
        emit(&level, &p, &mut out);
        if p.help {
            out.push("--help".into());
            return Ok(out);
        }
        if let Some(u) = spec {
            check_count(&level, u.args, p.positionals.len())?;
        }
        check_annotations(&level, &p)?;
        if !p.positionals.is_empty() {
            out.push("--".into());
            out.extend(p.positionals);
        }
        return Ok(out);
    }
}

/// Flags docker's CLI refuses for a Linux engine (its `ostype: windows`
/// annotations), by command name and flag.
const WINDOWS_ONLY: &[(&str, &str)] = &[
    ("run", "cpu-count"),
    ("run", "cpu-percent"),
    ("run", "io-maxbandwidth"),
    ("run", "io-maxiops"),
    ("create", "cpu-count"),
    ("create", "cpu-percent"),
    ("create", "io-maxbandwidth"),
    ("create", "io-maxiops"),
];

/// Flags docker's CLI refuses unless the engine has experimental features
/// (rdock has none).
const EXPERIMENTAL: &[(&str, &str)] = &[("build", "squash")];

/// The docker CLI's check of the flags given against the engine
/// (`areFlagsSupported`), after the argument count: every refused flag,
/// one line each, exit 1.
fn check_annotations(level: &Level, p: &Parsed) -> Result<(), UsageError> {
    let Some(name) = level.path.last() else {
        return Ok(());
    };
    let mut errs = Vec::new();
    for (f, values) in level.flags.iter().zip(&p.values) {
        let Some(long) = f.longs.first().filter(|_| !values.is_empty()) else {
            continue;
        };
        let is = |table: &[(&str, &str)]| table.iter().any(|(c, l)| c == name && l == long);
        if is(WINDOWS_ONLY) {
            errs.push(format!("\"--{long}\" is only supported on a Docker daemon running on windows, but the Docker daemon is running on linux"));
        } else if is(EXPERIMENTAL) {
            errs.push(format!("\"--{long}\" is only supported on a Docker daemon with experimental features enabled"));
        }
    }
    if errs.is_empty() {
        return Ok(());
    }
    Err(UsageError {
        text: errs.join("\n"),
        code: 1,
    })
}

/// docker's validators of the number of arguments (cli/required.go).
fn check_count(level: &Level, count: ArgCount, n: usize) -> Result<(), UsageError> {
    let plural = |k: usize| if k == 1 { "argument" } else { "arguments" };
    let path = level.command_path();
    let (msg, see) = match count {
        ArgCount::Any => return Ok(()),
        ArgCount::No if n == 0 => return Ok(()),
        ArgCount::No => (format!("'{path}' accepts no arguments"), "Run"),
        ArgCount::Min(k) if n >= k => return Ok(()),
        ArgCount::Min(k) => (
            format!("'{path}' requires at least {k} {}", plural(k)),
            "See",
        ),
        ArgCount::Max(k) if n <= k => return Ok(()),
        ArgCount::Max(k) => (
            format!("'{path}' requires at most {k} {}", plural(k)),
            "SRun",
        ),
        ArgCount::Exact(k) if n == k => return Ok(()),
        ArgCount::Exact(k) => (format!("'{path}' requires {k} {}", plural(k)), "Run"),
        ArgCount::Range(lo, hi) if n >= lo && n <= hi => return Ok(()),
        ArgCount::Range(lo, hi) => (
            format!(
                "'{path}' requires at least {lo} and at most {hi} {}",
                plural(hi)
            ),
            "Run",
        ),
        ArgCount::CobraExact(k) if n == k => return Ok(()),
        ArgCount::CobraExact(k) => {
            return Err(UsageError {
                text: format!("accepts {k} arg(s), received {n}"),
                code: 1,
            })
        }
    };
    Err(UsageError {
        text: format!(
            "rdock: {msg}\n\nUsage:  {}\n\n{see} '{path} --help' for more information",
            level.use_line()
        ),
        code: 1,
    })
}

#[cfg(test)]
mod tests;
