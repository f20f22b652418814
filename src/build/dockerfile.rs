//! The Dockerfile parser: directives, continuation lines, comments,
//! instructions with their flags and arguments, heredocs and ONBUILD
//! triggers, following BuildKit's `frontend/dockerfile/parser` and the
//! argument checks of its `instructions` package.
//!
//! Like BuildKit it works in two passes: the whole file is split into
//! instructions first (so a broken heredoc anywhere is reported before an
//! unknown instruction), then each instruction's arguments are checked.

use super::shell_lex::{self, is_split_ws, split_first_ws};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct ParseError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Dockerfile {
    /// The escape character from `# escape=` (default '\\').
    pub escape: char,
    /// Every instruction in order, including ARGs before the first FROM.
    pub instructions: Vec<Instruction>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Instruction {
    /// 1-based line where the instruction starts.
    pub line: usize,
    /// Upper-case keyword: "FROM", "RUN", ...
    pub keyword: String,
    /// The instruction as written, continuation lines joined (as docker joins them), without heredoc bodies; trimmed. Used in messages and in `history`.
    pub original: String,
    /// Leading `--name=value` / `--name` words, as written (e.g. "--from=builder", "--chown=1:1", "--interval=5s").
    pub flags: Vec<String>,
    pub args: Args,
    /// Heredocs opened on the instruction line (RUN, COPY, ADD only), in order.
    pub heredocs: Vec<Heredoc>,
    /// For ONBUILD: the trigger instruction, parsed (its `original` is the text docker stores in the image's OnBuild list).
    pub onbuild: Option<Box<Instruction>>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Args {
    /// JSON array form: `["a", "b"]`.
    Exec(Vec<String>),
    /// Everything after the keyword and flags, continuation lines joined, trimmed (quotes and `$` untouched).
    Shell(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Heredoc {
    /// Delimiter word, unquoted ("EOF").
    pub name: String,
    /// Body, each line with its "\n" (after `<<-` tab stripping).
    pub content: String,
    /// False when the delimiter was quoted (`<<"EOF"`, `<<'EOF'`): no variable expansion.
    pub expand: bool,
    /// `<<-`: leading tabs were stripped.
    pub chomp: bool,
}

/// The instructions docker knows (upper case).
pub const INSTRUCTIONS: &[&str] = &[
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

const NOT_STRINGS: &str = "when using JSON array syntax, arrays must be comprised of strings only";

/// A JSON array of strings (`["a", "b"]`), as the exec form of RUN, CMD,
/// ENTRYPOINT, SHELL, COPY, ADD, VOLUME and HEALTHCHECK CMD; None otherwise.
pub fn parse_json_array(s: &str) -> Option<Vec<String>> {
    match json_array(s) {
        Json::Strings(v) => Some(v),
        Json::NotStrings | Json::No => None,
    }
}

enum Json {
    Strings(Vec<String>),
    /// Valid JSON array with a non-string element: an error in docker, not
    /// shell form.
    NotStrings,
    No,
}

fn json_array(s: &str) -> Json {
    let s = s.trim_start();
    if !s.starts_with('[') {
        return Json::No;
    }
    let Ok(values) = serde_json::from_str::<Vec<serde_json::Value>>(s) else {
        return Json::No;
    };
    let mut out = Vec::with_capacity(values.len());
    for v in values {
        match v {
            serde_json::Value::String(s) => out.push(s),
            _ => return Json::NotStrings,
        }
    }
    Json::Strings(out)
}

pub fn parse(text: &str, file: &str) -> Result<Dockerfile, ParseError> {
    let fail = |line: usize, message: String| ParseError {
        file: file.to_string(),
        line,
        message,
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text
        .split_inclusive('\n')
        .map(|l| l.trim_end_matches(['\r', '\n']))
        .collect();

    let mut directives = Directives::default();
    let mut instructions = Vec::new();
    // Lines with their 1-based numbers.
    let mut numbered = lines.iter().copied().zip(1usize..);
    while let Some((first, start)) = numbered.next() {
        let first = first.trim_start();
        directives.check(first).map_err(|m| fail(start, m))?;
        let escape = directives.escape;
        if is_comment(first) {
            continue;
        }
        let (text, mut ended) = trim_continuation(first, escape);
        if ended && text.is_empty() {
            continue;
        }
        let mut joined = text.to_string();
        while !ended {
            let Some((l, _)) = numbered.next() else {
                break;
            };
            // Comments and blank lines inside a continuation are dropped.
            if is_comment(l) || l.trim_start().is_empty() {
                continue;
            }
            let (text, e) = trim_continuation(l, escape);
            joined.push_str(text);
            ended = e;
        }
        if joined.trim().is_empty() {
            // Only escape characters, e.g. a lone `\` before the end of file.
            continue;
        }

        let mut inst = new_instruction(&joined, escape, start).map_err(|m| fail(start, m))?;
        // An ONBUILD's heredocs belong to its trigger.
        let target = match inst.onbuild {
            Some(ref mut trigger) => &mut **trigger,
            None => &mut inst,
        };
        if can_contain_heredoc(target) && joined.contains("<<") {
            let specs = heredocs_from_line(&joined).map_err(|m| fail(start, m))?;
            let mut raw_bodies = Vec::new();
            for spec in specs {
                let mut body = String::new();
                let mut terminated = false;
                for (l, _) in numbered.by_ref() {
                    let candidate = if spec.chomp {
                        l.trim_start_matches('\t')
                    } else {
                        l
                    };
                    if candidate == spec.name {
                        terminated = true;
                        break;
                    }
                    body.push_str(l);
                    body.push('\n');
                }
                if !terminated {
                    return Err(fail(
                        start,
                        format!("unterminated heredoc: no line {:?} ends it", spec.name),
                    ));
                }
                let content = if spec.chomp {
                    chomp(&body)
                } else {
                    body.clone()
                };
                raw_bodies.push((spec.name.clone(), body));
                target.heredocs.push(Heredoc {
                    name: spec.name,
                    content,
                    expand: spec.expand,
                    chomp: spec.chomp,
                });
            }
            if let Some(trigger) = inst.onbuild.as_deref_mut() {
                // Docker stores a trigger with its heredoc bodies so the child
                // build can parse it again.
                for (name, body) in raw_bodies {
                    trigger.original.push('\n');
                    trigger.original.push_str(&body);
                    trigger.original.push_str(&name);
                }
            }
        }
        instructions.push(inst);
    }
    if instructions.is_empty() {
        return Err(fail(
            lines.len().max(1),
            "file with no instructions".to_string(),
        ));
    }

    let escape = directives.escape;
    let mut in_stage = false;
    for inst in &instructions {
        validate(inst, escape).map_err(|m| fail(inst.line, m))?;
        match inst.keyword.as_str() {
            "FROM" => in_stage = true,
            "ARG" => {}
            _ if !in_stage => {
                return Err(fail(
                    inst.line,
                    "no build stage in current context".to_string(),
                ))
            }
            _ => {}
        }
    }
    Ok(Dockerfile {
        escape,
        instructions,
    })
}

/// Parser directives (`# syntax=`, `# escape=`, `# check=`): only in the
/// leading run of comment lines, each at most once.
struct Directives {
    done: bool,
    seen: Vec<String>,
    escape: char,
}

impl Default for Directives {
    fn default() -> Self {
        Directives {
            done: false,
            seen: Vec::new(),
            escape: '\\',
        }
    }
}

fn is_re_space(c: char) -> bool {
    // RE2's `\s`.
    matches!(c, '\t' | '\n' | '\x0c' | '\r' | ' ')
}

impl Directives {
    fn check(&mut self, line: &str) -> Result<(), String> {
        if self.done {
            return Ok(());
        }
        let Some((name, value)) = line.strip_prefix('#').and_then(directive) else {
            self.done = true;
            return Ok(());
        };
        let name = name.to_ascii_lowercase();
        if !matches!(name.as_str(), "syntax" | "escape" | "check") {
            self.done = true;
            return Ok(());
        }
        if self.seen.contains(&name) {
            return Err(format!("only one {name} parser directive can be used"));
        }
        if name == "escape" {
            self.escape = match value {
                "\\" => '\\',
                "`" => '`',
                _ => {
                    return Err(format!(
                        "invalid escape token '{value}' does not match ` or \\"
                    ))
                }
            };
        }
        self.seen.push(name);
        Ok(())
    }
}

/// `^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$` on the text after `#` and its
/// leading blanks.
fn directive(s: &str) -> Option<(&str, &str)> {
    let s = s.trim_start();
    let end = s
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())))
        .map_or(s.len(), |(i, _)| i);
    if end == 0 {
        return None;
    }
    let (name, rest) = s.split_at(end);
    let after = rest.trim_start_matches(is_re_space).strip_prefix('=')?;
    if after.is_empty() {
        return None;
    }
    let value = after.trim_matches(is_re_space);
    if value.is_empty() {
        // The lazy `.+?` still needs one character: the last blank.
        let (last, _) = after.char_indices().next_back()?;
        return Some((name, after.get(last..)?));
    }
    Some((name, value))
}

fn is_comment(line: &str) -> bool {
    line.trim_start().starts_with('#')
}

/// A line whose last non-blank character is an unescaped escape character
/// continues: returns the text before it and false. BuildKit's regex
/// `([^E])E[ \t]*$|^E[ \t]*$`, so an escaped escape (`\\`) does not continue.
fn trim_continuation(line: &str, escape: char) -> (&str, bool) {
    let t = line.trim_end_matches([' ', '\t']);
    match t.strip_suffix(escape) {
        Some(before) if !before.ends_with(escape) => (before, false),
        _ => (line, true),
    }
}

fn chomp(body: &str) -> String {
    body.split_inclusive('\n')
        .map(|l| l.trim_start_matches('\t'))
        .collect()
}

/// One instruction from its joined line: keyword, flags, arguments, and for
/// ONBUILD the trigger.
fn new_instruction(line: &str, escape: char, start: usize) -> Result<Instruction, String> {
    let original = line.trim();
    let (cmd, rest) = split_first_ws(original).unwrap_or((original, ""));
    let (rest, flags) = extract_flags(rest, escape);
    let rest = rest.trim();
    let keyword = cmd.to_uppercase();
    let args = match keyword.as_str() {
        "RUN" | "CMD" | "ENTRYPOINT" | "SHELL" | "COPY" | "ADD" | "VOLUME" => {
            match json_array(rest) {
                Json::Strings(v) => Args::Exec(v),
                Json::NotStrings => return Err(NOT_STRINGS.to_string()),
                Json::No => Args::Shell(rest.to_string()),
            }
        }
        "HEALTHCHECK" => {
            // The executor reads `CMD ...`/`NONE`; only the JSON check is here.
            if let Some((_, cmd)) = rest.split_once(char::is_whitespace) {
                if let Json::NotStrings = json_array(cmd) {
                    return Err(NOT_STRINGS.to_string());
                }
            }
            Args::Shell(rest.to_string())
        }
        _ => Args::Shell(rest.to_string()),
    };
    let onbuild = if keyword == "ONBUILD" && !rest.is_empty() {
        let mut trigger = new_instruction(rest, escape, start)?;
        // `(?i)^\s*ONBUILD\s*` removed from the whole line, as docker does.
        trigger.original = original
            .get(..7)
            .filter(|k| k.eq_ignore_ascii_case("ONBUILD"))
            .and_then(|_| original.get(7..))
            .map_or(original, str::trim_start)
            .to_string();
        Some(Box::new(trigger))
    } else {
        None
    };
    Ok(Instruction {
        line: start,
        keyword,
        original: original.to_string(),
        flags,
        args,
        heredocs: Vec::new(),
        onbuild,
    })
}

/// BuildKit's `extractBuilderFlags`: leading words starting with `--`, with
/// quotes and escapes removed; a bare `--` ends them. Returns the rest of the
/// line and the flags.
fn extract_flags(line: &str, escape: char) -> (&str, Vec<String>) {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote,
    }
    let mut chars = line.char_indices().peekable();
    let mut words = Vec::new();
    let mut phase = Phase::Spaces;
    let mut word = String::new();
    let mut quote = '\0';
    let mut blank_ok = false;
    loop {
        let cur = chars.next();
        // What is left of the line from this character on.
        let rest = || cur.and_then(|(b, _)| line.get(b..)).unwrap_or("");
        let ch = cur.map(|(_, c)| c);
        if phase == Phase::Spaces {
            let Some(c) = ch else { break };
            if c.is_whitespace() {
                continue;
            }
            if c != '-' || chars.peek().map(|&(_, c)| c) != Some('-') {
                return (rest(), words);
            }
            phase = Phase::Word;
        }
        let Some(mut c) = ch else {
            if word != "--" && (blank_ok || !word.is_empty()) {
                words.push(word);
            }
            break;
        };
        match phase {
            Phase::Word => {
                if c.is_whitespace() {
                    if word == "--" {
                        return (rest(), words);
                    }
                    phase = Phase::Spaces;
                    if blank_ok || !word.is_empty() {
                        words.push(std::mem::take(&mut word));
                    }
                    blank_ok = false;
                    continue;
                }
                if c == '\'' || c == '"' {
                    quote = c;
                    blank_ok = true;
                    phase = Phase::Quote;
                    continue;
                }
                if c == escape {
                    match chars.next() {
                        Some((_, next)) => c = next,
                        None => continue,
                    }
                }
                word.push(c);
            }
            Phase::Quote | Phase::Spaces => {
                if c == quote {
                    phase = Phase::Word;
                    continue;
                }
                if c == escape {
                    match chars.next() {
                        Some((_, next)) => c = next,
                        None => {
                            phase = Phase::Word;
                            continue;
                        }
                    }
                }
                word.push(c);
            }
        }
    }
    ("", words)
}

fn can_contain_heredoc(inst: &Instruction) -> bool {
    matches!(inst.keyword.as_str(), "RUN" | "COPY" | "ADD") && matches!(inst.args, Args::Shell(_))
}

struct HeredocSpec {
    name: String,
    expand: bool,
    chomp: bool,
}

/// The heredocs a line opens, as BuildKit finds them: every word (quotes
/// and escapes kept; always `\` as escape) of the form `[n]<<[-]word`.
fn heredocs_from_line(line: &str) -> Result<Vec<HeredocSpec>, String> {
    // A line that does not lex (unbalanced quotes) opens none, as BuildKit.
    let words = shell_lex::raw_words(line, true, true).unwrap_or_default();
    let mut out = Vec::new();
    for w in words {
        if let Some(h) = heredoc_word(&w)? {
            out.push(h);
        }
    }
    Ok(out)
}

/// `^(\d*)<<(-?)\s*([^<]*)$` and a single delimiter word.
fn heredoc_word(word: &str) -> Result<Option<HeredocSpec>, String> {
    let Some(s) = word
        .trim_start_matches(|c: char| c.is_ascii_digit())
        .strip_prefix("<<")
    else {
        return Ok(None);
    };
    let (chomp, s) = match s.strip_prefix('-') {
        Some(s) => (true, s),
        None => (false, s),
    };
    let rest = s.trim_start_matches(is_re_space);
    if rest.is_empty() || rest.contains('<') {
        return Ok(None);
    }
    let plain = shell_lex::raw_words(rest, false, false).map_err(|e| e.0)?;
    let [name] = plain.as_slice() else {
        return Ok(None);
    };
    let raw = shell_lex::raw_words(rest, true, false).map_err(|e| e.0)?;
    let [raw_name] = raw.as_slice() else {
        return Err(format!(
            "internal lexing of heredoc produced inconsistent results: {rest}"
        ));
    };
    // Any quoting of the delimiter (part of it is enough) turns off expansion.
    let quotes = |s: &str| s.chars().filter(|&c| c == '\'' || c == '"').count();
    Ok(Some(HeredocSpec {
        name: name.clone(),
        expand: quotes(name) == quotes(raw_name),
        chomp,
    }))
}

fn fields(s: &str) -> Vec<&str> {
    s.split(is_split_ws).filter(|f| !f.is_empty()).collect()
}

/// The argument checks of BuildKit's `instructions` package that need no
/// variable values.
fn validate(inst: &Instruction, escape: char) -> Result<(), String> {
    let kw = inst.keyword.as_str();
    let at_least_one = || Err(format!("{kw} requires at least one argument"));
    let (shell, exec) = match &inst.args {
        Args::Shell(s) => (s.as_str(), None),
        Args::Exec(v) => ("", Some(v)),
    };
    let empty = exec.map_or(shell.is_empty(), |v| v.is_empty());
    match kw {
        "CMD" | "ENTRYPOINT" => Ok(()),
        "RUN" | "EXPOSE" | "HEALTHCHECK" if empty => at_least_one(),
        "RUN" | "EXPOSE" | "HEALTHCHECK" => Ok(()),
        "MAINTAINER" | "WORKDIR" | "USER" | "STOPSIGNAL" if empty => {
            Err(format!("{kw} requires exactly one argument"))
        }
        "MAINTAINER" | "WORKDIR" | "USER" | "STOPSIGNAL" => Ok(()),
        "ENV" | "LABEL" | "ARG" => shell_lex::parse_name_values(shell, kw, escape)
            .map(|_| ())
            .map_err(|e| e.0),
        "ADD" | "COPY" => {
            let count = exec.map_or_else(|| fields(shell).len(), Vec::len);
            if count < 2 {
                return Err(format!("{kw} requires at least two arguments, but only one was provided. Destination could not be determined"));
            }
            Ok(())
        }
        "VOLUME" if empty => at_least_one(),
        "VOLUME" => match exec {
            Some(v) if v.iter().any(|p| p.trim().is_empty()) => {
                Err("VOLUME specified can not be an empty string".to_string())
            }
            _ => Ok(()),
        },
        "SHELL" if empty => at_least_one(),
        "SHELL" if exec.is_none() => {
            Err("SHELL requires the arguments to be in JSON form".to_string())
        }
        "SHELL" => Ok(()),
        "FROM" => {
            let f = fields(shell);
            match f.as_slice() {
                [_] => Ok(()),
                [_, as_, name] if as_.eq_ignore_ascii_case("as") => {
                    if valid_stage_name(&name.to_lowercase()) {
                        Ok(())
                    } else {
                        Err(format!("invalid name for build stage: {name:?}, name can't start with a number or contain symbols"))
                    }
                }
                _ => Err("FROM requires either one or three arguments".to_string()),
            }
        }
        "ONBUILD" => {
            let Some(trigger) = &inst.onbuild else {
                return at_least_one();
            };
            match trigger.keyword.trim() {
                "ONBUILD" => {
                    Err("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed".to_string())
                }
                t @ ("MAINTAINER" | "FROM") => {
                    Err(format!("{t} isn't allowed as an ONBUILD trigger"))
                }
                _ => Ok(()),
            }
        }
        _ => {
            let written = inst.original.split(is_split_ws).next().unwrap_or_default();
            let mut msg = format!("unknown instruction: {written}");
            if let Some(s) = suggest(written) {
                msg.push_str(&format!(" (did you mean {s}?)"));
            }
            Err(msg)
        }
    }
}

/// `^[a-z][a-z0-9-_.]*$`
fn valid_stage_name(name: &str) -> bool {
    let mut cs = name.chars();
    cs.next().is_some_and(|c| c.is_ascii_lowercase())
        && cs.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'))
}

/// BuildKit's suggestion: the instruction within edit distance 2 (closest
/// first), in the case style of what was written.
fn suggest(written: &str) -> Option<String> {
    let val = written.to_lowercase();
    let mut best = None;
    let mut min = 3;
    for opt in INSTRUCTIONS {
        let opt = opt.to_lowercase();
        let d = levenshtein(&val, &opt);
        if d < min {
            min = d;
            best = Some(opt);
        }
    }
    let best = best?;
    Some(if written == written.to_uppercase() {
        best.to_uppercase()
    } else {
        best
    })
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    // Distances are at most the longer length: no sum saturates.
    for (ca, row) in a.chars().zip(1usize..) {
        let mut cur = Vec::with_capacity(prev.len());
        let mut left = row;
        cur.push(left);
        for ((cb, &diag), &up) in b.iter().zip(&prev).zip(prev.iter().skip(1)) {
            left = diag
                .saturating_add(usize::from(ca != *cb))
                .min(up.saturating_add(1))
                .min(left.saturating_add(1));
            cur.push(left);
        }
        prev = cur;
    }
    prev.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Dockerfile {
        parse(text, "Dockerfile").unwrap_or_else(|e| panic!("{e}"))
    }

    fn fail(text: &str) -> ParseError {
        match parse(text, "Dockerfile") {
            Err(e) => e,
            Ok(d) => panic!("expected an error, got {d:?}"),
        }
    }

    fn shell(s: &str) -> Args {
        Args::Shell(s.to_string())
    }

    fn exec(v: &[&str]) -> Args {
        Args::Exec(v.iter().map(|s| s.to_string()).collect())
    }

    /// The second instruction of `FROM x` + `body`.
    fn second(body: &str) -> Instruction {
        let d = ok(&format!("FROM x\n{body}"));
        d.instructions[1].clone()
    }

    #[test]
    fn basic_instructions() {
        let d = ok("FROM alpine:3.19 AS build\nrun   echo hi  \n\nCMD [\"sh\"]\n");
        assert_eq!(d.escape, '\\');
        assert_eq!(d.instructions.len(), 3);
        let run = &d.instructions[1];
        assert_eq!(run.line, 2);
        assert_eq!(run.keyword, "RUN");
        assert_eq!(run.original, "run   echo hi");
        assert_eq!(run.args, shell("echo hi"));
        assert!(run.flags.is_empty() && run.heredocs.is_empty() && run.onbuild.is_none());
        assert_eq!(d.instructions[2].line, 4);
        assert_eq!(d.instructions[2].args, exec(&["sh"]));
        assert_eq!(d.instructions[0].args, shell("alpine:3.19 AS build"));
    }

    #[test]
    fn error_display_has_file_and_line() {
        let e = parse("FROM x\nRUNN y\n", "path/Dockerfile").unwrap_err();
        assert_eq!(e.line, 2);
        assert_eq!(
            e.to_string(),
            "path/Dockerfile:2: unknown instruction: RUNN (did you mean RUN?)"
        );
    }

    #[test]
    fn unknown_instruction_and_suggestions() {
        assert_eq!(
            fail("FROM x\nrunn y").message,
            "unknown instruction: runn (did you mean run?)"
        );
        assert_eq!(
            fail("FROM x\nCOPPY a b").message,
            "unknown instruction: COPPY (did you mean COPY?)"
        );
        assert_eq!(
            fail("FROM x\nFoo bar").message,
            "unknown instruction: Foo (did you mean from?)"
        );
        assert_eq!(
            fail("FROM x\nFrobnicate bar").message,
            "unknown instruction: Frobnicate"
        );
        assert_eq!(
            fail("FROM x\nExpse 80").message,
            "unknown instruction: Expse (did you mean expose?)"
        );
        // Unknown before FROM is still reported as unknown, not as a missing stage.
        assert_eq!(
            fail("BOGUS x\nFROM x").message,
            "unknown instruction: BOGUS"
        );
    }

    #[test]
    fn directives_escape_and_syntax() {
        let d = ok("# syntax=docker/dockerfile:1\n#ESCAPE = `\nFROM x\nRUN a `\n  b\n");
        assert_eq!(d.escape, '`');
        assert_eq!(d.instructions[1].args, shell("a   b"));
        let d = ok("  # escape=`\n# check=skip=all\nFROM x\nRUN dir c:\\\n");
        assert_eq!(d.escape, '`');
        assert_eq!(d.instructions[1].args, shell("dir c:\\"));
    }

    #[test]
    fn directives_only_at_the_top() {
        // After a comment that is not a directive, a blank line, or an instruction.
        for text in [
            "# hello\n# escape=`\nFROM x\nRUN a \\\n b\n",
            "\n# escape=`\nFROM x\nRUN a \\\n b\n",
            "FROM x\n# escape=`\nRUN a \\\n b\n",
            "# foo=bar\n# escape=`\nFROM x\nRUN a \\\n b\n",
            "# escape=\n# escape=`\nFROM x\nRUN a \\\n b\n",
        ] {
            let d = ok(text);
            assert_eq!(d.escape, '\\', "{text:?}");
            assert_eq!(
                d.instructions.last().map(|i| i.args.clone()),
                Some(shell("a  b")),
                "{text:?}"
            );
        }
    }

    #[test]
    fn directive_errors() {
        let e = fail("# escape=x\nFROM x");
        assert_eq!(
            (e.line, e.message.as_str()),
            (1, "invalid escape token 'x' does not match ` or \\")
        );
        let e = fail("# escape=\\\n# syntax=a\n# Escape=`\nFROM x");
        assert_eq!(
            (e.line, e.message.as_str()),
            (3, "only one escape parser directive can be used")
        );
        assert!(fail("# syntax=a\n# syntax=b\nFROM x")
            .message
            .contains("only one syntax"));
        // `.+?` keeps one blank when the value is only blanks.
        assert_eq!(
            fail("# escape=  \nFROM x").message,
            "invalid escape token ' ' does not match ` or \\"
        );
    }

    #[test]
    fn comments_dropped_everywhere() {
        let d = ok("# c\nFROM x\n  # indented\nRUN a \\\n # inside\n\n   \n  b \\\n# last\n  c\n");
        assert_eq!(d.instructions.len(), 2);
        assert_eq!(d.instructions[1].args, shell("a   b   c"));
        assert_eq!(d.instructions[1].original, "RUN a   b   c");
        // `#` after the keyword is not a comment.
        assert_eq!(
            second("RUN echo # not a comment").args,
            shell("echo # not a comment")
        );
    }

    #[test]
    fn continuation_rules() {
        assert_eq!(second("RUN a \\  \t\nb").args, shell("a b"));
        assert_eq!(second("RUN a\\\nb").args, shell("ab"));
        // An escaped escape does not continue.
        let d = ok("FROM x\nRUN echo \\\\\nRUN b\n");
        assert_eq!(d.instructions.len(), 3);
        assert_eq!(d.instructions[1].args, shell("echo \\\\"));
        // A lone escape line continues too.
        assert_eq!(second("RUN a \\\n\\\nb").args, shell("a b"));
        // Continuation at the end of the file ends the instruction.
        let d = ok("FROM x\nRUN a \\");
        assert_eq!(d.instructions[1].args, shell("a"));
        let d = ok("FROM x\nRUN a \\\n# only a comment\n");
        assert_eq!(d.instructions[1].args, shell("a"));
        // Line numbers count the joined lines.
        let d = ok("FROM x\nRUN a \\\n b \\\n c\nUSER u\n");
        assert_eq!(d.instructions[2].line, 5);
    }

    #[test]
    fn continuation_with_escape_only_lines() {
        // A line holding only the escape joins nothing; one with a blank
        // before the escape keeps that blank.
        let d = ok("FROM x\nENV C a\\\\\nENV E hello\\\n\\\nworld\nENV F hello\\\n \\\nworld\nENV G hello \\\n\\\nworld\n");
        let args: Vec<_> = d.instructions[1..].iter().map(|i| i.args.clone()).collect();
        assert_eq!(
            args,
            vec![
                shell("C a\\\\"),
                shell("E helloworld"),
                shell("F hello world"),
                shell("G hello world")
            ]
        );
    }

    #[test]
    fn crlf_and_bom() {
        let d =
            ok("\u{feff}# escape=`\r\nFROM x\r\nRUN a `\r\n  b\r\nCOPY <<EOF /f\r\nhi\r\nEOF\r\n");
        assert_eq!(d.escape, '`');
        assert_eq!(d.instructions[1].args, shell("a   b"));
        assert_eq!(d.instructions[2].heredocs[0].content, "hi\n");
    }

    #[test]
    fn missing_arguments() {
        for (body, msg) in [
            ("RUN", "RUN requires at least one argument"),
            ("RUN --mount=type=cache,target=/x", "RUN requires at least one argument"),
            ("EXPOSE", "EXPOSE requires at least one argument"),
            ("VOLUME", "VOLUME requires at least one argument"),
            ("VOLUME []", "VOLUME requires at least one argument"),
            ("HEALTHCHECK", "HEALTHCHECK requires at least one argument"),
            ("ONBUILD", "ONBUILD requires at least one argument"),
            ("SHELL", "SHELL requires at least one argument"),
            ("SHELL []", "SHELL requires at least one argument"),
            ("ENV", "ENV requires at least one argument"),
            ("LABEL", "LABEL requires at least one argument"),
            ("ARG", "ARG requires at least one argument"),
            ("WORKDIR", "WORKDIR requires exactly one argument"),
            ("USER", "USER requires exactly one argument"),
            ("STOPSIGNAL", "STOPSIGNAL requires exactly one argument"),
            ("MAINTAINER", "MAINTAINER requires exactly one argument"),
            ("COPY", "COPY requires at least two arguments, but only one was provided. Destination could not be determined"),
            ("ADD a", "ADD requires at least two arguments, but only one was provided. Destination could not be determined"),
            ("COPY [\"a\"]", "COPY requires at least two arguments, but only one was provided. Destination could not be determined"),
        ] {
            let e = fail(&format!("FROM x\n{body}\n"));
            assert_eq!((e.line, e.message.as_str()), (2, msg), "{body}");
        }
        // CMD and ENTRYPOINT may be empty (ENTRYPOINT alone resets it).
        assert_eq!(second("CMD").args, shell(""));
        assert_eq!(second("ENTRYPOINT").args, shell(""));
        assert_eq!(second("ENTRYPOINT []").args, exec(&[]));
    }

    #[test]
    fn flags_for_every_instruction() {
        let i = second("COPY --from=build --chown=1:1 --link a b");
        assert_eq!(i.flags, vec!["--from=build", "--chown=1:1", "--link"]);
        assert_eq!(i.args, shell("a b"));
        assert_eq!(i.original, "COPY --from=build --chown=1:1 --link a b");
        let i = second("HEALTHCHECK --interval=5s --retries=3 CMD curl -f x");
        assert_eq!(i.flags, vec!["--interval=5s", "--retries=3"]);
        assert_eq!(i.args, shell("CMD curl -f x"));
        assert_eq!(second("USER --weird u").flags, vec!["--weird"]);
        let d = ok("FROM --platform=linux/amd64 alpine\n");
        assert_eq!(d.instructions[0].flags, vec!["--platform=linux/amd64"]);
        assert_eq!(d.instructions[0].args, shell("alpine"));
    }

    #[test]
    fn flag_words_lose_quotes_and_stop_correctly() {
        // As BuildKit: quotes and escapes inside flag words are removed.
        let i = second("COPY --chown=\"1:1\" --chmod='7 55' --x=a\\ b src dst");
        assert_eq!(i.flags, vec!["--chown=1:1", "--chmod=7 55", "--x=a b"]);
        assert_eq!(i.args, shell("src dst"));
        // The first word not starting with `--` ends the flags.
        let i = second("RUN -x --y z");
        assert!(i.flags.is_empty());
        assert_eq!(i.args, shell("-x --y z"));
        // A bare `--` ends them and is dropped.
        let i = second("RUN --a -- --b c");
        assert_eq!(i.flags, vec!["--a"]);
        assert_eq!(i.args, shell("--b c"));
        // A quoted `--` word is not a flag.
        assert!(second("RUN \"--a\" b").flags.is_empty());
    }

    #[test]
    fn json_and_shell_forms() {
        assert_eq!(
            second("RUN [\"echo\", \"a b\"]").args,
            exec(&["echo", "a b"])
        );
        assert_eq!(
            second("ENTRYPOINT [ \"/bin/sh\" , \"-c\" ]  ").args,
            exec(&["/bin/sh", "-c"])
        );
        assert_eq!(
            second("CMD [\"a\\\"b\", \"\\u00e9\"]").args,
            exec(&["a\"b", "é"])
        );
        assert_eq!(second("CMD []").args, exec(&[]));
        assert_eq!(second("VOLUME [\"/a\", \"/b\"]").args, exec(&["/a", "/b"]));
        assert_eq!(second("VOLUME /a /b").args, shell("/a /b"));
        assert_eq!(
            second("SHELL [\"bash\", \"-c\"]").args,
            exec(&["bash", "-c"])
        );
        // Malformed JSON arrays are shell form.
        for s in ["['a']", "[\"a\"", "[\"a\" \"b\"]", "[\"a\"] x", "[a]"] {
            assert_eq!(second(&format!("CMD {s}")).args, shell(s), "{s}");
        }
        // JSON only for the exec-capable instructions.
        assert_eq!(second("WORKDIR [\"/a\"]").args, shell("[\"/a\"]"));
        assert_eq!(second("LABEL a=[\"b\"]").args, shell("a=[\"b\"]"));
    }

    #[test]
    fn json_with_non_strings_is_an_error() {
        for body in [
            "CMD [\"a\", 1]",
            "RUN [null]",
            "COPY [[\"a\"], \"b\"]",
            "HEALTHCHECK CMD [\"a\", true]",
        ] {
            let e = fail(&format!("FROM x\n{body}"));
            assert_eq!(e.message, NOT_STRINGS, "{body}");
            assert_eq!(e.line, 2);
        }
    }

    #[test]
    fn shell_must_be_json_and_volume_not_empty() {
        assert_eq!(
            fail("FROM x\nSHELL bash -c").message,
            "SHELL requires the arguments to be in JSON form"
        );
        assert_eq!(
            fail("FROM x\nVOLUME [\"/a\", \" \"]").message,
            "VOLUME specified can not be an empty string"
        );
    }

    #[test]
    fn healthcheck_keeps_whole_rest() {
        assert_eq!(second("HEALTHCHECK NONE").args, shell("NONE"));
        assert_eq!(
            second("HEALTHCHECK CMD [\"curl\", \"x\"]").args,
            shell("CMD [\"curl\", \"x\"]")
        );
        assert_eq!(
            parse_json_array(" [\"curl\", \"x\"]"),
            Some(vec!["curl".to_string(), "x".to_string()])
        );
        assert_eq!(parse_json_array("[\"a\", 1]"), None);
        assert_eq!(parse_json_array("curl x"), None);
        assert_eq!(parse_json_array("[]"), Some(vec![]));
    }

    fn heredoc(name: &str, content: &str, expand: bool, chomp: bool) -> Heredoc {
        Heredoc {
            name: name.to_string(),
            content: content.to_string(),
            expand,
            chomp,
        }
    }

    #[test]
    fn heredoc_run() {
        let d = ok("FROM x\nRUN <<EOF\necho $HOME\n  indented\n\nEOF\nUSER u\n");
        assert_eq!(d.instructions.len(), 3);
        let run = &d.instructions[1];
        assert_eq!(run.args, shell("<<EOF"));
        assert_eq!(run.original, "RUN <<EOF");
        assert_eq!(
            run.heredocs,
            vec![heredoc("EOF", "echo $HOME\n  indented\n\n", true, false)]
        );
        assert_eq!(d.instructions[2].line, 7);
    }

    #[test]
    fn heredoc_multiple_and_quoted() {
        let d = ok("FROM x\nCOPY <<A <<'B' /dst/\na1\nA\nb1\nb2\nB\n");
        let c = &d.instructions[1];
        assert_eq!(c.args, shell("<<A <<'B' /dst/"));
        assert_eq!(
            c.heredocs,
            vec![
                heredoc("A", "a1\n", true, false),
                heredoc("B", "b1\nb2\n", false, false)
            ]
        );
        let r = second("RUN <<\"EOT\" bash\n$X\nEOT");
        assert_eq!(r.heredocs, vec![heredoc("EOT", "$X\n", false, false)]);
        // Quoting part of the delimiter is enough.
        assert_eq!(
            second("RUN <<E\"O\"F\nx\nEOF").heredocs,
            vec![heredoc("EOF", "x\n", false, false)]
        );
        // A file descriptor prefix is allowed.
        assert_eq!(second("RUN cat 3<<X\nx\nX").heredocs[0].name, "X");
        // Heredocs with redirections and a command after them.
        let r = second("RUN python3 <<PY > /out\nprint(1)\nPY");
        assert_eq!(r.heredocs, vec![heredoc("PY", "print(1)\n", true, false)]);
        assert_eq!(r.args, shell("python3 <<PY > /out"));
    }

    #[test]
    fn heredoc_chomp() {
        let r = second("RUN <<-EOF\n\techo a\n\t\techo b\n  c\n\tEOF\n");
        assert_eq!(
            r.heredocs,
            vec![heredoc("EOF", "echo a\necho b\n  c\n", true, true)]
        );
        // Without `-`, tabs stay and a tab-indented terminator does not end it.
        let e = fail("FROM x\nRUN <<EOF\n\tEOF\n");
        assert!(
            e.message.contains("unterminated heredoc") && e.message.contains("EOF"),
            "{}",
            e.message
        );
        let r = second("RUN <<EOF\n\ta\nEOF");
        assert_eq!(r.heredocs[0].content, "\ta\n");
    }

    #[test]
    fn heredoc_unterminated() {
        let e = fail("FROM x\nRUN <<EOF\necho\nEOF \n");
        assert_eq!(e.line, 2);
        assert!(e.message.contains("\"EOF\""), "{}", e.message);
        let e = fail("FROM x\nCOPY <<A <<B /d\nA\n");
        assert!(e.message.contains("\"B\""), "{}", e.message);
        // Reported before a later unknown instruction: whole file first.
        let e = fail("FROM x\nRUNN y\nRUN <<EOF\n");
        assert!(e.message.contains("unterminated heredoc"), "{}", e.message);
    }

    #[test]
    fn not_heredocs() {
        for body in [
            "RUN echo \"a <<b\"",
            "RUN echo 'a <<b'",
            "RUN cat <<< x",
            "RUN echo <<",
            "RUN echo a<<b",
            "RUN [\"cat\", \"<<EOF\"]",
            "RUN echo \"unbalanced <<EOF",
            "CMD cat <<EOF",
            "ENV a=<<EOF",
        ] {
            let d = ok(&format!("FROM x\n{body}\nUSER u\n"));
            assert_eq!(d.instructions.len(), 3, "{body}");
            assert!(d.instructions[1].heredocs.is_empty(), "{body}");
        }
    }

    #[test]
    fn heredoc_space_after_operator_counts() {
        // BuildKit's lexer keeps `<< EOF` as one word, so it opens a heredoc.
        let r = second("RUN cat << EOF\nx\nEOF");
        assert_eq!(r.heredocs, vec![heredoc("EOF", "x\n", true, false)]);
        // `<<- EOF` does not (the `-` stops the blank run).
        assert!(ok("FROM x\nRUN cat <<- EOF\nUSER u").instructions[1]
            .heredocs
            .is_empty());
    }

    #[test]
    fn heredoc_with_continuation_line() {
        let d = ok("FROM x\nRUN --mount=type=cache,target=/c \\\n  bash <<EOF\nset -e\nEOF\n");
        let r = &d.instructions[1];
        assert_eq!(r.flags, vec!["--mount=type=cache,target=/c"]);
        assert_eq!(r.args, shell("bash <<EOF"));
        assert_eq!(r.heredocs[0].content, "set -e\n");
    }

    #[test]
    fn heredoc_body_keeps_comments_and_escapes() {
        let r = second("RUN <<EOF\n# not dropped\necho a \\\nb\n\nEOF");
        assert_eq!(r.heredocs[0].content, "# not dropped\necho a \\\nb\n\n");
    }

    #[test]
    fn onbuild_trigger() {
        let o = second("ONBUILD copy --from=x a b");
        assert_eq!(o.keyword, "ONBUILD");
        assert_eq!(o.args, shell("copy --from=x a b"));
        let t = o.onbuild.as_deref().expect("trigger");
        assert_eq!(t.keyword, "COPY");
        assert_eq!(t.flags, vec!["--from=x"]);
        assert_eq!(t.args, shell("a b"));
        assert_eq!(t.original, "copy --from=x a b");
        assert_eq!(t.line, 2);
        let o = second("onbuild   RUN [\"a\"]");
        let t = o.onbuild.as_deref().expect("trigger");
        assert_eq!(t.args, exec(&["a"]));
        assert_eq!(t.original, "RUN [\"a\"]");
    }

    #[test]
    fn onbuild_heredoc_goes_to_trigger_and_its_text() {
        let d = ok("FROM x\nONBUILD RUN <<EOF\necho hi\nEOF\nUSER u\n");
        assert_eq!(d.instructions.len(), 3);
        let o = &d.instructions[1];
        assert!(o.heredocs.is_empty());
        let t = o.onbuild.as_deref().expect("trigger");
        assert_eq!(t.heredocs, vec![heredoc("EOF", "echo hi\n", true, false)]);
        assert_eq!(t.original, "RUN <<EOF\necho hi\nEOF");
    }

    #[test]
    fn onbuild_errors() {
        assert_eq!(
            fail("FROM x\nONBUILD ONBUILD RUN a").message,
            "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"
        );
        assert_eq!(
            fail("FROM x\nONBUILD from y").message,
            "FROM isn't allowed as an ONBUILD trigger"
        );
        assert_eq!(
            fail("FROM x\nONBUILD MAINTAINER me").message,
            "MAINTAINER isn't allowed as an ONBUILD trigger"
        );
        assert_eq!(fail("FROM x\nONBUILD RUN [1]").message, NOT_STRINGS);
    }

    #[test]
    fn no_instructions() {
        for text in [
            "",
            "\n\n",
            "# just a comment\n",
            "# escape=`\n",
            "   \n\t\n",
            "\\\n",
        ] {
            assert_eq!(fail(text).message, "file with no instructions", "{text:?}");
        }
        assert_eq!(fail("# a\n# b\n\n").line, 3);
    }

    #[test]
    fn first_instruction_must_be_from() {
        let d = ok("ARG V=1\nARG W\nFROM x:$V\nRUN a\n");
        assert_eq!(d.instructions.len(), 4);
        assert_eq!(d.instructions[0].keyword, "ARG");
        let e = fail("ARG V\nRUN a\nFROM x\n");
        assert_eq!(
            (e.line, e.message.as_str()),
            (2, "no build stage in current context")
        );
        assert_eq!(
            fail("ENV a=b\n").message,
            "no build stage in current context"
        );
    }

    #[test]
    fn from_arguments() {
        ok("FROM a AS b-1.x_y\nFROM b-1.x_y as c\n");
        assert_eq!(
            fail("FROM a b").message,
            "FROM requires either one or three arguments"
        );
        assert_eq!(
            fail("FROM a AS b c").message,
            "FROM requires either one or three arguments"
        );
        assert_eq!(
            fail("FROM").message,
            "FROM requires either one or three arguments"
        );
        assert_eq!(
            fail("FROM a AS 1b").message,
            "invalid name for build stage: \"1b\", name can't start with a number or contain symbols"
        );
        // Upper-case stage names are lower-cased before the check.
        ok("FROM a AS Build\n");
    }

    #[test]
    fn env_label_arg_checked() {
        assert_eq!(second("ENV A b c").args, shell("A b c"));
        assert_eq!(
            second("LABEL \"a b\"=\"c d\" e=f").args,
            shell("\"a b\"=\"c d\" e=f")
        );
        let e = fail("FROM x\nENV a=1 b\n");
        assert_eq!(e.line, 2);
        assert_eq!(
            e.message,
            "Syntax error - can't find = in \"b\". Must be of the form: name=value"
        );
        assert_eq!(fail("FROM x\nENV A").message, "ENV must have two arguments");
        assert_eq!(
            fail("FROM x\nLABEL =x").message,
            "LABEL names can not be blank"
        );
        assert_eq!(fail("ARG =x\nFROM x").message, "ARG names can not be blank");
    }

    #[test]
    fn env_uses_the_escape_directive() {
        // With ` as escape, `\` is an ordinary character for ENV words.
        let d = ok("# escape=`\nFROM x\nENV a=x` y\n");
        assert_eq!(d.instructions[1].args, shell("a=x` y"));
        assert!(parse("FROM x\nENV a=x` y\n", "D").is_err());
    }

    #[test]
    fn instructions_list_is_sorted_and_complete() {
        assert_eq!(INSTRUCTIONS.len(), 18);
        assert!(INSTRUCTIONS.windows(2).all(|w| w[0] < w[1]));
        for kw in INSTRUCTIONS {
            let t = format!("FROM x\n{kw} [\"a\", \"b\"]\n");
            if *kw == "FROM" || *kw == "ONBUILD" {
                continue;
            }
            let r = parse(&t, "D");
            assert!(
                !matches!(&r, Err(e) if e.message.starts_with("unknown")),
                "{kw}: {r:?}"
            );
        }
    }

    #[test]
    fn levenshtein_distance() {
        assert_eq!(levenshtein("run", "run"), 0);
        assert_eq!(levenshtein("runn", "run"), 1);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("", "abc"), 3);
    }
}
