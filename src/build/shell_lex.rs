//! Docker's word processing for Dockerfile arguments: variable expansion,
//! quote removal and word splitting, with BuildKit's (`shell/lex.go`)
//! quirks, plus the ENV/LABEL/ARG name=value splitting its parser does.
//!
//! All of lex.go's `${...}` forms are supported, `#`/`%`/`/` patterns
//! included. Not reproduced: lex.go shares one word buffer between nested
//! `${v:-...}` words and the outer word, which can drop text before such an
//! expansion in ProcessWords; here the outer word keeps it.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct LexError(pub String);

type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Expand variables and remove quotes in one word, as docker's ProcessWord: the result is one string (no splitting).
pub fn process_word(
    word: &str,
    env: &dyn Fn(&str) -> Option<String>,
    escape: char,
) -> Result<String, LexError> {
    Lexer::new(word, env, escape).process().map(|(s, _)| s)
}

/// A COPY/ADD heredoc's body, expanded as BuildKit expands it: variables
/// replaced, quote and escape characters kept.
pub fn process_heredoc(
    body: &str,
    env: &dyn Fn(&str) -> Option<String>,
    escape: char,
) -> Result<String, LexError> {
    let mut lx = Lexer::new(body, env, escape);
    lx.raw_quotes = true;
    lx.raw_escapes = true;
    lx.process().map(|(s, _)| s)
}

/// As docker's ProcessWords: expansion and quote removal, then splitting on
/// unquoted whitespace. Whitespace coming out of an unquoted expansion splits
/// too, and an empty quoted string alone makes no word (both as lex.go).
pub fn process_words(
    s: &str,
    env: &dyn Fn(&str) -> Option<String>,
    escape: char,
) -> Result<Vec<String>, LexError> {
    Lexer::new(s, env, escape).process().map(|(_, w)| w)
}

/// Words of an instruction line as BuildKit's heredoc detection sees them:
/// quotes and escapes kept, unset variables left as written, no environment.
pub(crate) fn raw_words(
    s: &str,
    raw_quotes: bool,
    raw_escapes: bool,
) -> Result<Vec<String>, LexError> {
    let none = |_: &str| None;
    let mut lx = Lexer::new(s, &none, '\\');
    lx.raw_quotes = raw_quotes;
    lx.raw_escapes = raw_escapes;
    lx.skip_unset = true;
    lx.process().map(|(_, w)| w)
}

/// Split ENV/LABEL/ARG arguments into raw (unexpanded, quotes intact) name/value pairs as buildkit's parser does: the legacy form `KEY value with spaces` (first word has no '=' and there are more words: one pair, value is the rest, trimmed) for ENV/LABEL; else whitespace-separated `k=v` words respecting quotes and escapes. For ARG: `name` (no value -> None) or `name=value`. Errors as buildkit ("ENV names can not be blank", "LABEL requires ...", "Syntax error - can't find = in \"x\". Must be of the form: name=value").
pub fn parse_name_values(
    args: &str,
    keyword: &str,
    escape: char,
) -> Result<Vec<(String, Option<String>)>, LexError> {
    let key = keyword.to_uppercase();
    let args = args.trim();
    let words = parse_words(args, escape);
    if words.is_empty() {
        return Err(LexError(format!("{key} requires at least one argument")));
    }
    let blank = || LexError(format!("{key} names can not be blank"));
    if key == "ARG" {
        // ARG allows a bare name (declared, no default), unlike ENV.
        return words
            .into_iter()
            .map(|w| match w.split_once('=') {
                Some(("", _)) => Err(blank()),
                Some((k, v)) => Ok((k.to_string(), Some(v.to_string()))),
                None => Ok((w, None)),
            })
            .collect();
    }
    if words.first().is_some_and(|w| !w.contains('=')) {
        // Legacy `ENV name value...`: split on raw whitespace, not on words,
        // so the value keeps its quotes and inner spacing verbatim.
        return match split_first_ws(args) {
            Some((k, v)) => Ok(vec![(k.to_string(), Some(v.to_string()))]),
            None => Err(LexError(format!("{key} must have two arguments"))),
        };
    }
    words
        .into_iter()
        .map(|w| match w.split_once('=') {
            Some(("", _)) => Err(blank()),
            Some((k, v)) => Ok((k.to_string(), Some(v.to_string()))),
            None => Err(LexError(format!(
                "Syntax error - can't find = in {w:?}. Must be of the form: name=value"
            ))),
        })
        .collect()
}

/// The whitespace BuildKit's `reWhitespace` (`[\t\v\f\r ]+`) splits on.
pub(crate) fn is_split_ws(c: char) -> bool {
    matches!(c, '\t' | '\x0b' | '\x0c' | '\r' | ' ')
}

/// `reWhitespace.Split(s, 2)`: the first field and the rest after the run of
/// whitespace following it; None when there is no second field.
pub(crate) fn split_first_ws(s: &str) -> Option<(&str, &str)> {
    let (first, rest) = s.split_once(is_split_ws)?;
    Some((first, rest.trim_start_matches(is_split_ws)))
}

/// The parser's word splitter (`parseWords`): whitespace-separated words with
/// quotes and escapes kept, a quoted section never splitting.
fn parse_words(rest: &str, escape: char) -> Vec<String> {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote,
    }
    let mut chars = rest.chars();
    let mut words = Vec::new();
    let mut phase = Phase::Spaces;
    let mut quote = '\0';
    let mut blank_ok = false;
    let mut word = String::new();
    loop {
        let ch = chars.next();
        if phase == Phase::Spaces {
            match ch {
                None => break,
                Some(c) if c.is_whitespace() => continue,
                Some(_) => phase = Phase::Word,
            }
        }
        let Some(mut c) = ch else {
            if blank_ok || !word.is_empty() {
                words.push(word);
            }
            break;
        };
        if phase == Phase::Word {
            if c.is_whitespace() {
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
            }
            if c == escape {
                // A trailing escape is dropped.
                let Some(next) = chars.next() else {
                    continue;
                };
                // Escape and escaped char both stay: quote removal is later.
                word.push(c);
                c = next;
            }
            word.push(c);
            continue;
        }
        // Phase::Quote
        if c == quote {
            phase = Phase::Word;
        }
        if c == escape && quote != '\'' {
            let Some(next) = chars.next() else {
                phase = Phase::Word;
                continue;
            };
            word.push(c);
            c = next;
        }
        word.push(c);
    }
    words
}

/// Word accumulator for ProcessWords (lex.go's wordsStruct).
#[derive(Default)]
struct Words {
    buf: String,
    words: Vec<String>,
    in_word: bool,
}

impl Words {
    fn add_char(&mut self, c: char) {
        if c.is_whitespace() {
            if self.in_word && !self.buf.is_empty() {
                self.words.push(std::mem::take(&mut self.buf));
                self.in_word = false;
            }
        } else {
            self.add_raw_char(c);
        }
    }
    fn add_raw_char(&mut self, c: char) {
        self.buf.push(c);
        self.in_word = true;
    }
    fn add_string(&mut self, s: &str) {
        s.chars().for_each(|c| self.add_char(c));
    }
    fn add_raw_string(&mut self, s: &str) {
        self.buf.push_str(s);
        self.in_word = true;
    }
    fn finish(mut self) -> Vec<String> {
        if !self.buf.is_empty() {
            self.words.push(self.buf);
        }
        self.words
    }
}

fn err<T>(msg: impl Into<String>) -> Result<T, LexError> {
    Err(LexError(msg.into()))
}

const MISSING_BRACE: &str = "syntax error: missing '}'";

struct Lexer<'a> {
    src: &'a str,
    chars: Vec<char>,
    pos: usize,
    env: Env<'a>,
    escape: char,
    /// Keep quote characters in the output (heredoc detection).
    raw_quotes: bool,
    /// Keep escape characters in the output (heredoc detection, patterns).
    raw_escapes: bool,
    /// Leave unset variables as written instead of expanding to "".
    skip_unset: bool,
}

impl<'a> Lexer<'a> {
    fn new(src: &'a str, env: Env<'a>, escape: char) -> Self {
        Lexer {
            src,
            chars: src.chars().collect(),
            pos: 0,
            env,
            escape,
            raw_quotes: false,
            raw_escapes: false,
            skip_unset: false,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        if c.is_some() {
            // pos < chars.len(): no saturation.
            self.pos = self.pos.saturating_add(1);
        }
        c
    }

    fn process(&mut self) -> Result<(String, Vec<String>), LexError> {
        let raw = self.raw_escapes;
        self.stop_on(None, raw)
            .map_err(|e| LexError(format!("failed to process {:?}: {}", self.src, e.0)))
    }

    /// Process until `stop` (consumed) or the end; returns the joined result
    /// and the split words.
    fn stop_on(
        &mut self,
        stop: Option<char>,
        raw_escapes: bool,
    ) -> Result<(String, Vec<String>), LexError> {
        let saved = std::mem::replace(&mut self.raw_escapes, raw_escapes);
        let r = self.stop_on_inner(stop);
        self.raw_escapes = saved;
        r
    }

    fn stop_on_inner(&mut self, stop: Option<char>) -> Result<(String, Vec<String>), LexError> {
        let mut result = String::new();
        let mut words = Words::default();
        while let Some(ch) = self.peek() {
            if Some(ch) == stop {
                self.next();
                return Ok((result, words.finish()));
            }
            match ch {
                '$' => {
                    let v = self.dollar()?;
                    result.push_str(&v);
                    // Unquoted expansions split on their whitespace.
                    words.add_string(&v);
                }
                '\'' | '"' | '<' => {
                    let v = match ch {
                        '\'' => self.single_quote()?,
                        '"' => self.double_quote()?,
                        _ => self.possible_heredoc(),
                    };
                    result.push_str(&v);
                    words.add_raw_string(&v);
                }
                _ => {
                    self.next();
                    let mut c = ch;
                    if c == self.escape {
                        if self.raw_escapes {
                            words.add_raw_char(c);
                            result.push(c);
                        }
                        // A trailing escape is dropped.
                        let Some(n) = self.next() else { break };
                        c = n;
                        words.add_raw_char(c);
                    } else {
                        words.add_char(c);
                    }
                    result.push(c);
                }
            }
        }
        if let Some(s) = stop {
            return err(format!(
                "unexpected end of statement while looking for matching {s}"
            ));
        }
        Ok((result, words.finish()))
    }

    fn single_quote(&mut self) -> Result<String, LexError> {
        // Everything up to the next ' is literal; ' can't be escaped.
        let mut out = String::new();
        let open = self.next();
        if self.raw_quotes {
            out.extend(open);
        }
        loop {
            match self.next() {
                None => {
                    return err(
                        "unexpected end of statement while looking for matching single-quote",
                    )
                }
                Some('\'') => {
                    if self.raw_quotes {
                        out.push('\'');
                    }
                    return Ok(out);
                }
                Some(c) => out.push(c),
            }
        }
    }

    fn double_quote(&mut self) -> Result<String, LexError> {
        // Literal except $ and the escape, which only escapes " $ and itself.
        let mut out = String::new();
        let open = self.next();
        if self.raw_quotes {
            out.extend(open);
        }
        loop {
            match self.peek() {
                None => {
                    return err(
                        "unexpected end of statement while looking for matching double-quote",
                    )
                }
                Some('"') => {
                    self.next();
                    if self.raw_quotes {
                        out.push('"');
                    }
                    return Ok(out);
                }
                Some('$') => {
                    let v = self.dollar()?;
                    out.push_str(&v);
                }
                Some(mut c) => {
                    self.next();
                    if c == self.escape {
                        if self.raw_escapes {
                            out.push(c);
                        }
                        match self.peek() {
                            // Leads to the unterminated-quote error above.
                            None => continue,
                            Some(n) if n == '"' || n == '$' || n == self.escape => {
                                self.next();
                                c = n;
                            }
                            Some(_) => {}
                        }
                    }
                    out.push(c);
                }
            }
        }
    }

    /// `<<` plus the blanks after it stay one raw piece, as lex.go keeps a
    /// heredoc operator attached to its delimiter word.
    fn possible_heredoc(&mut self) -> String {
        self.next();
        if self.peek() != Some('<') {
            return "<".to_string();
        }
        self.next();
        let mut out = "<<".to_string();
        while let Some(c @ ('\t' | '\r' | ' ')) = self.peek() {
            out.push(c);
            self.next();
        }
        out
    }

    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(c) = self.peek() {
            if name.is_empty() && c.is_numeric() {
                // Positional parameters: all the digits.
                while let Some(d) = self.peek().filter(|d| d.is_numeric()) {
                    name.push(d);
                    self.next();
                }
                return name;
            }
            if name.is_empty() && matches!(c, '@' | '*' | '#' | '?' | '-' | '$' | '!' | '0') {
                self.next();
                return c.to_string();
            }
            if !c.is_alphanumeric() && c != '_' {
                break;
            }
            name.push(c);
            self.next();
        }
        name
    }

    fn lookup(&self, name: &str) -> Option<String> {
        (self.env)(name)
    }

    fn dollar(&mut self) -> Result<String, LexError> {
        self.next();
        if self.peek() != Some('{') {
            let name = self.name();
            if name.is_empty() {
                return Ok("$".to_string());
            }
            return Ok(match self.lookup(&name) {
                Some(v) => v,
                None if self.skip_unset => format!("${name}"),
                None => String::new(),
            });
        }
        self.next();
        match self.peek() {
            None => return err(MISSING_BRACE),
            Some('{' | '}' | ':') => return err("syntax error: bad substitution"),
            Some(_) => {}
        }
        let name = self.name();
        let ch = self.next();
        match ch {
            // lex.go reports an odd "unsupported modifier" here; the brace
            // is what is missing.
            None => err(MISSING_BRACE),
            Some('}') => Ok(match self.lookup(&name) {
                Some(v) => v,
                None if self.skip_unset => format!("${{{name}}}"),
                None => String::new(),
            }),
            Some(c @ (':' | '+' | '-' | '?' | '#' | '%')) => {
                let null_is_unset = c == ':';
                let op = if null_is_unset { self.next() } else { Some(c) };
                let mut chs = c.to_string();
                if null_is_unset {
                    chs.extend(op);
                }
                let pattern_op = matches!(op, Some('#' | '%'));
                if null_is_unset && pattern_op {
                    return err(format!("unsupported modifier ({chs}) in substitution"));
                }
                let word = self.stop_on_brace('}', pattern_op, MISSING_BRACE)?;
                let value = self.lookup(&name);
                if self.skip_unset && value.is_none() {
                    return Ok(format!("${{{name}{chs}{word}}}"));
                }
                let unset_or_null = match &value {
                    None => true,
                    Some(v) => null_is_unset && v.is_empty(),
                };
                match op {
                    Some('-') => Ok(if unset_or_null {
                        word
                    } else {
                        value.unwrap_or_default()
                    }),
                    Some('+') => Ok(if unset_or_null { String::new() } else { word }),
                    Some('?') => {
                        let msg = |dflt: &str| {
                            if word.is_empty() {
                                dflt.to_string()
                            } else {
                                word.clone()
                            }
                        };
                        match value {
                            None => err(format!("{name}: {}", msg("is not allowed to be unset"))),
                            Some(v) if null_is_unset && v.is_empty() => {
                                err(format!("{name}: {}", msg("is not allowed to be empty")))
                            }
                            Some(v) => Ok(v),
                        }
                    }
                    Some(o @ ('#' | '%')) => {
                        // `##`/`%%` match the longest pattern, `#`/`%` the shortest.
                        let (greedy, pat) = match word.strip_prefix(o) {
                            Some(p) => (true, p),
                            None => (false, word.as_str()),
                        };
                        let value = value.unwrap_or_default();
                        let glob = Glob::parse(pat)?;
                        Ok(if o == '#' {
                            glob.trim_prefix(&value, greedy)
                        } else {
                            glob.trim_suffix(&value, greedy)
                        })
                    }
                    _ => err(format!("unsupported modifier ({chs}) in substitution")),
                }
            }
            Some('/') => {
                let all = self.peek() == Some('/');
                if all {
                    self.next();
                }
                let pattern = self.stop_on_brace('/', true, "syntax error: missing '/' in ${}")?;
                let replacement = self.stop_on_brace('}', true, MISSING_BRACE)?;
                let value = self.lookup(&name);
                let Some(value) = value else {
                    if self.skip_unset {
                        return Ok(format!("${{{name}/{pattern}/{replacement}}}"));
                    }
                    return Ok(String::new());
                };
                let glob = Glob::parse(&pattern)?;
                Ok(glob.replace(&value, &replacement, all))
            }
            Some(c) => err(format!("unsupported modifier ({c}) in substitution")),
        }
    }

    /// Nested word up to `stop`; hitting the end reports `missing`.
    fn stop_on_brace(&mut self, stop: char, raw: bool, missing: &str) -> Result<String, LexError> {
        match self.stop_on(Some(stop), raw) {
            Ok((s, _)) => Ok(s),
            Err(_) if self.peek().is_none() => err(missing),
            Err(e) => Err(e),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Tok {
    Lit(char),
    Any,
    Star,
}

/// Shell pattern of `${v#p}`, `${v%p}`, `${v/p/r}`: `*`, `?`, and `\`
/// escaping `*`, `?`, `\` (and `}`/`/`, where the escape is dropped). No
/// bracket expressions, as lex.go. Matching is by trying every length
/// (values are short), which gives the same shortest/longest results as
/// lex.go's lazy/greedy regexps.
struct Glob(Vec<Tok>);

impl Glob {
    fn parse(p: &str) -> Result<Glob, LexError> {
        let mut chars = p.chars().peekable();
        let mut toks = Vec::new();
        while let Some(c) = chars.next() {
            toks.push(match c {
                '*' => Tok::Star,
                '?' => Tok::Any,
                '\\' => match chars.peek() {
                    Some('}' | '/') => continue,
                    Some(&n @ ('*' | '?' | '\\')) => {
                        chars.next();
                        Tok::Lit(n)
                    }
                    other => {
                        let shown = other.copied().unwrap_or('\u{FFFD}');
                        return err(format!(
                            "invalid pattern ({p}) in substitution: invalid escape '\\{shown}'"
                        ));
                    }
                },
                c => Tok::Lit(c),
            });
        }
        Ok(Glob(toks))
    }

    /// Whether the whole of `s` matches.
    fn matches(toks: &[Tok], s: &[char]) -> bool {
        match toks.split_first() {
            None => s.is_empty(),
            Some((Tok::Star, rest)) => {
                (0..=s.len()).any(|k| s.get(k..).is_some_and(|t| Glob::matches(rest, t)))
            }
            Some((Tok::Any, rest)) => s.split_first().is_some_and(|(_, t)| Glob::matches(rest, t)),
            Some((Tok::Lit(c), rest)) => s
                .split_first()
                .is_some_and(|(f, t)| f == c && Glob::matches(rest, t)),
        }
    }

    /// Length of the shortest (or longest) prefix of `s` matching.
    fn prefix_len(&self, s: &[char], greedy: bool) -> Option<usize> {
        let mut lens: Box<dyn Iterator<Item = usize>> = if greedy {
            Box::new((0..=s.len()).rev())
        } else {
            Box::new(0..=s.len())
        };
        lens.find(|&k| s.get(..k).is_some_and(|p| Glob::matches(&self.0, p)))
    }

    fn trim_prefix(&self, value: &str, greedy: bool) -> String {
        let s: Vec<char> = value.chars().collect();
        match self.prefix_len(&s, greedy) {
            Some(k) => s.iter().skip(k).collect(),
            None => value.to_string(),
        }
    }

    fn trim_suffix(&self, value: &str, greedy: bool) -> String {
        // Reverse value and pattern: the shortest/longest suffix becomes a prefix.
        let rev = Glob(self.0.iter().rev().copied().collect());
        let s: Vec<char> = value.chars().rev().collect();
        match rev.prefix_len(&s, greedy) {
            Some(k) => s.iter().skip(k).rev().collect(),
            None => value.to_string(),
        }
    }

    /// First (or every) leftmost-longest match replaced by `rep` literally.
    /// As Go's ReplaceAllString, an empty match right after a match is skipped.
    fn replace(&self, value: &str, rep: &str, all: bool) -> String {
        let s: Vec<char> = value.chars().collect();
        let mut out = String::new();
        let mut pos = 0;
        let mut last_end = None;
        let mut done = false;
        // pos <= s.len() and a match ends within s: no sum saturates.
        while let Some(tail) = s.get(pos..) {
            let m = if done {
                None
            } else {
                self.prefix_len(tail, true)
            };
            match m {
                Some(0) if last_end == Some(pos) => {}
                Some(k) => {
                    out.push_str(rep);
                    last_end = Some(pos.saturating_add(k));
                    done = !all;
                    if k > 0 {
                        pos = pos.saturating_add(k);
                        continue;
                    }
                }
                None => {}
            }
            out.extend(s.get(pos));
            pos = pos.saturating_add(1);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn word_in(s: &str, pairs: &[(&str, &str)]) -> Result<String, LexError> {
        let m = env_of(pairs);
        process_word(s, &|k| m.get(k).cloned(), '\\')
    }

    fn std_env() -> Vec<(&'static str, &'static str)> {
        vec![
            ("PWD", "/home"),
            ("SHELL", "bash"),
            ("NULL", ""),
            ("KOREAN", "한국어"),
        ]
    }

    fn w(s: &str) -> String {
        word_in(s, &std_env()).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn werr(s: &str) -> String {
        match word_in(s, &std_env()) {
            Err(e) => e.0,
            Ok(v) => panic!("{s}: expected error, got {v:?}"),
        }
    }

    fn words(s: &str, pairs: &[(&str, &str)]) -> Vec<String> {
        let m = env_of(pairs);
        process_words(s, &|k| m.get(k).cloned(), '\\').unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn plain_and_quotes() {
        assert_eq!(w("hello"), "hello");
        assert_eq!(w("he'll'o"), "hello");
        assert_eq!(w("he\\'llo"), "he'llo");
        assert_eq!(w("\"hel'lo\""), "hel'lo");
        assert_eq!(w("'\"hello\"'"), "\"hello\"");
        assert_eq!(w("\"''\""), "''");
        assert_eq!(w("안'녕'하세요"), "안녕하세요");
    }

    #[test]
    fn unterminated_quotes_error() {
        assert!(werr("he'llo").contains("single-quote"));
        assert!(werr("\"hello").contains("double-quote"));
        assert!(werr("\"hello\\\"").contains("double-quote"));
        assert!(werr("he\\\\'llo").contains("single-quote"));
        assert!(werr("'hello").starts_with("failed to process \"'hello\""));
    }

    #[test]
    fn escapes_outside_quotes() {
        assert_eq!(w("abc\\tdef"), "abctdef");
        assert_eq!(w("hello\\"), "hello");
        assert_eq!(w("hello\\\\"), "hello\\");
        assert_eq!(w("he\\$PWD"), "he$PWD");
        assert_eq!(w("he\\\\$PWD"), "he\\/home");
        assert_eq!(w("\\${}aaa"), "${}aaa");
    }

    #[test]
    fn escapes_in_double_quotes_only_special_chars() {
        assert_eq!(w("\"abc\\tdef\""), "abc\\tdef");
        assert_eq!(w("\"abc\\\\tdef\""), "abc\\tdef");
        assert_eq!(w("\"he\\$PWD\""), "he$PWD");
        assert_eq!(w("\"he\\\\$PWD\""), "he\\/home");
        assert_eq!(w("\"a\\\"b\""), "a\"b");
    }

    #[test]
    fn single_quotes_literal() {
        assert_eq!(w("'abc\\tdef'"), "abc\\tdef");
        assert_eq!(w("'hello\\'"), "hello\\");
        assert_eq!(w("'$PWD'"), "$PWD");
        assert_eq!(w("'he${XX}'"), "he${XX}");
    }

    #[test]
    fn simple_variables() {
        assert_eq!(w("he$PWD"), "he/home");
        assert_eq!(w("he${PWD}"), "he/home");
        assert_eq!(w("he${hi}xx"), "hexx");
        assert_eq!(w("he$pwd."), "he.");
        assert_eq!(w("\"he'$PWD'\""), "he'/home'");
        assert_eq!(w("안녕$KOREAN"), "안녕한국어");
        assert_eq!(w("${aaa}}"), "}");
    }

    #[test]
    fn dollar_without_name_is_literal() {
        assert_eq!(w("$."), "$.");
        assert_eq!(w("he$.x"), "he$.x");
        assert_eq!(w("a$"), "a$");
        assert_eq!(w("\"a$\""), "a$");
    }

    #[test]
    fn positional_and_special_params_are_unset() {
        assert_eq!(w("he$1x"), "hex");
        assert_eq!(w("$12a"), "a");
        assert_eq!(w("${1}"), "");
        assert_eq!(w("${1:-bbb}"), "bbb");
        assert_eq!(w("a$@b"), "ab");
        assert_eq!(word_in("$$", &[("$", "pid")]).unwrap(), "pid");
    }

    #[test]
    fn bad_substitutions() {
        assert!(werr("${}").contains("bad substitution"));
        assert!(werr("he${}xx").contains("bad substitution"));
        assert!(werr("${{aaa}").contains("bad substitution"));
        assert!(werr("${:}").contains("bad substitution"));
        assert!(werr("${:-bbb}").contains("bad substitution"));
        assert!(werr("he${.}").contains("unsupported modifier (.)"));
        assert!(werr("he${XXX:YYY}").contains("unsupported modifier (:Y)"));
        assert!(werr("he${PWD:=000}xx").contains("unsupported modifier (:=)"));
        assert!(werr("${PWD:#x}").contains("unsupported modifier (:#)"));
    }

    #[test]
    fn missing_brace() {
        assert!(werr("${").contains("missing '}'"));
        assert!(werr("he${PWD").contains("missing '}'"));
        assert!(werr("${aaa:-bbb").contains("missing '}'"));
        assert!(werr("${aaa:-bbb ${foo}").contains("missing '}'"));
        assert!(werr("${aaa:").contains("missing '}'"));
    }

    #[test]
    fn default_and_alternate() {
        assert_eq!(w("he${XXX:-000}xx"), "he000xx");
        assert_eq!(w("he${PWD:-000}xx"), "he/homexx");
        assert_eq!(w("he${XXX:-$PWD}xx"), "he/homexx");
        assert_eq!(w("he${XXX:-${YYY:-yyy}}xx"), "heyyyxx");
        assert_eq!(w("${NULL:-d}"), "d");
        assert_eq!(w("${NULL-d}"), "");
        assert_eq!(w("${XXX-d}"), "d");
        assert_eq!(w("he${XXX:+000}xx"), "hexx");
        assert_eq!(w("he${PWD:+000}xx"), "he000xx");
        assert_eq!(w("he${PWD:+${SHELL}}xx"), "hebashxx");
        assert_eq!(w("${NULL:+x}"), "");
        assert_eq!(w("${NULL+x}"), "x");
        assert_eq!(w("he${PWD:+${PWD}:}xx"), "he/home:xx");
        assert_eq!(w("he${XXX:-\\$PWD:}xx"), "he$PWD:xx");
        assert_eq!(w("he${XXX:-\\${PWD}z}xx"), "he${PWDz}xx");
        assert_eq!(w("${aaa:-bbb {foo}"), "bbb {foo");
        assert_eq!(w("${aaa:-bbb}}"), "bbb}");
        assert_eq!(w("${X:-'a b'\"c\"}"), "a bc");
    }

    #[test]
    fn required_variables() {
        assert_eq!(w("he${PWD?}"), "he/home");
        assert_eq!(w("he${PWD:?}"), "he/home");
        assert_eq!(w("he${NULL?}"), "he");
        assert!(werr("he${XXX?}").ends_with("XXX: is not allowed to be unset"));
        assert!(werr("he${NULL:?}").ends_with("NULL: is not allowed to be empty"));
        assert!(werr("${XXX:?set it}").ends_with("XXX: set it"));
        assert!(werr("${XXX?need $PWD}").ends_with("XXX: need /home"));
    }

    #[test]
    fn pattern_removal() {
        let e = [("FOO", "xxyy")];
        assert_eq!(word_in("${FOO#*x*y}", &e).unwrap(), "y");
        assert_eq!(word_in("${FOO#*}", &e).unwrap(), "xxyy");
        assert_eq!(word_in("${FOO##*x}", &e).unwrap(), "yy");
        assert_eq!(word_in("${FOO##}", &e).unwrap(), "xxyy");
        assert_eq!(word_in("${FOO#}", &e).unwrap(), "xxyy");
        assert_eq!(word_in("${FOO%y*}", &e).unwrap(), "xxy");
        assert_eq!(word_in("${FOO%%y*}", &e).unwrap(), "xx");
        assert_eq!(word_in("${FOO%x}", &e).unwrap(), "xxyy");
        assert_eq!(
            word_in("${FOO#$BAR}", &[("FOO", "xxyy"), ("BAR", "x")]).unwrap(),
            "xyy"
        );
        assert_eq!(word_in("${FOO#?\\?}", &[("FOO", "???y")]).unwrap(), "?y");
        assert_eq!(word_in("${FOO%%\\**}", &[("FOO", "xx**")]).unwrap(), "xx");
        assert_eq!(
            word_in("${FOO%%\\**\\*}", &[("FOO", "a***yy*")]).unwrap(),
            "a"
        );
        assert_eq!(word_in("${FOO#a\\}}", &[("FOO", "a}b")]).unwrap(), "b");
        assert_eq!(word_in("${FOO#*/}", &[("FOO", "a/b/c")]).unwrap(), "b/c");
        assert_eq!(word_in("${FOO##*/}", &[("FOO", "a/b/c")]).unwrap(), "c");
        assert_eq!(word_in("${FOO%/*}", &[("FOO", "a/b/c")]).unwrap(), "a/b");
        assert_eq!(word_in("${UNSET#x}", &[]).unwrap(), "");
        assert!(word_in("${FOO#\\a}", &e)
            .unwrap_err()
            .0
            .contains("invalid escape '\\a'"));
    }

    #[test]
    fn pattern_replace() {
        let e = [("FOO", "a.b.c")];
        assert_eq!(word_in("${FOO/./-}", &e).unwrap(), "a-b.c");
        assert_eq!(word_in("${FOO//./-}", &e).unwrap(), "a-b-c");
        assert_eq!(word_in("${FOO/b*/X}", &e).unwrap(), "a.X");
        assert_eq!(word_in("${FOO/?/X}", &e).unwrap(), "X.b.c");
        assert_eq!(word_in("${FOO/z/X}", &e).unwrap(), "a.b.c");
        // As lex.go, `//` still needs the `/` before the replacement.
        assert!(word_in("${FOO//}", &[("FOO", "ab")])
            .unwrap_err()
            .0
            .contains("missing '/'"));
        assert_eq!(word_in("${FOO///X}", &[("FOO", "ab")]).unwrap(), "XaXbX");
        assert_eq!(word_in("${FOO/\\//X}", &[("FOO", "a/b")]).unwrap(), "aXb");
        assert_eq!(word_in("${UNSET/a/b}", &[]).unwrap(), "");
        assert!(word_in("${FOO/a", &e)
            .unwrap_err()
            .0
            .contains("missing '/'"));
        assert!(word_in("${FOO/a/b", &e)
            .unwrap_err()
            .0
            .contains("missing '}'"));
    }

    #[test]
    fn backtick_escape() {
        let m = env_of(&[("A", "1")]);
        let env = |k: &str| m.get(k).cloned();
        assert_eq!(process_word("`$A", &env, '`').unwrap(), "$A");
        assert_eq!(process_word("C:\\x", &env, '`').unwrap(), "C:\\x");
        assert_eq!(process_word("\"a`\"b\"", &env, '`').unwrap(), "a\"b");
        assert_eq!(process_words("a` b", &env, '`').unwrap(), vec!["a b"]);
    }

    #[test]
    fn words_split_on_unquoted_whitespace() {
        assert_eq!(words("hello there  ", &[]), vec!["hello", "there"]);
        assert_eq!(words("hello\\ there", &[]), vec!["hello there"]);
        assert_eq!(words("hello\" there  \"", &[]), vec!["hello there  "]);
        assert_eq!(words("hello\\\" there", &[]), vec!["hello\"", "there"]);
        assert_eq!(words("hello'\\there'", &[]), vec!["hello\\there"]);
        assert_eq!(words("hello\"\\\\there\"", &[]), vec!["hello\\there"]);
        assert_eq!(words("a \"\" b", &[]), vec!["a", "b"]);
        assert_eq!(words("", &[]), Vec::<String>::new());
        assert!(process_words("hello\" there", &|_| None, '\\').is_err());
    }

    #[test]
    fn words_split_unquoted_expansions() {
        let sp = [
            ("space", "abc  def"),
            ("leading", "  ab c"),
            ("trailing", "ab c   "),
        ];
        assert_eq!(words("hello${space}bye", &sp), vec!["helloabc", "defbye"]);
        assert_eq!(words("hello\"${space}\"bye", &sp), vec!["helloabc  defbye"]);
        assert_eq!(
            words("hello \"${space}\"bye", &sp),
            vec!["hello", "abc  defbye"]
        );
        assert_eq!(
            words("hello${leading}def", &sp),
            vec!["hello", "ab", "cdef"]
        );
        assert_eq!(
            words("hello\"${leading}\" def", &sp),
            vec!["hello  ab c", "def"]
        );
        assert_eq!(words("hello${trailing}d", &sp), vec!["helloab", "c", "d"]);
        assert_eq!(words("hel\"lo${trailing}\"", &sp), vec!["helloab c   "]);
        assert_eq!(words("${X:-a b}", &[]), vec!["a", "b"]);
    }

    #[test]
    fn heredoc_operator_keeps_following_blanks() {
        assert_eq!(words("cat << EOF", &[]), vec!["cat", "<< EOF"]);
        assert_eq!(words("a<b <<-X", &[]), vec!["a<b", "<<-X"]);
        assert_eq!(w("a <<  b"), "a <<  b");
    }

    #[test]
    fn raw_words_keep_quotes_escapes_and_unset_vars() {
        let got = raw_words("RUN \"a b\" 'c' \\x $V ${W:-z} <<EOF", true, true).unwrap();
        assert_eq!(
            got,
            vec!["RUN", "\"a b\"", "'c'", "\\x", "$V", "${W:-z}", "<<EOF"]
        );
        assert_eq!(raw_words("\"EOF\"", false, false).unwrap(), vec!["EOF"]);
    }

    #[test]
    fn process_word_keeps_spacing() {
        assert_eq!(w("  a   b "), "  a   b ");
        assert_eq!(word_in("$X", &[("X", " a  b ")]).unwrap(), " a  b ");
    }

    fn nv(s: &str, kw: &str) -> Vec<(String, Option<String>)> {
        parse_name_values(s, kw, '\\').unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn p(k: &str, v: Option<&str>) -> (String, Option<String>) {
        (k.to_string(), v.map(str::to_string))
    }

    #[test]
    fn name_values_legacy_form() {
        assert_eq!(
            nv("KEY value with  spaces ", "ENV"),
            vec![p("KEY", Some("value with  spaces"))]
        );
        assert_eq!(
            nv("KEY \"quoted\" x=y", "env"),
            vec![p("KEY", Some("\"quoted\" x=y"))]
        );
        assert_eq!(nv("L\tv", "LABEL"), vec![p("L", Some("v"))]);
        assert_eq!(
            parse_name_values("KEY", "ENV", '\\').unwrap_err().0,
            "ENV must have two arguments"
        );
    }

    #[test]
    fn name_values_equals_form() {
        assert_eq!(
            nv("a=1 b=\"x y\" c='p q' d=e\\ f g=", "ENV"),
            vec![
                p("a", Some("1")),
                p("b", Some("\"x y\"")),
                p("c", Some("'p q'")),
                p("d", Some("e\\ f")),
                p("g", Some("")),
            ]
        );
        assert_eq!(nv("a=b=c", "LABEL"), vec![p("a", Some("b=c"))]);
        assert_eq!(
            nv("\"com.x\"=\"y\"", "LABEL"),
            vec![p("\"com.x\"", Some("\"y\""))]
        );
        assert_eq!(nv("a=\"x\\\"y\"", "ENV"), vec![p("a", Some("\"x\\\"y\""))]);
    }

    #[test]
    fn name_values_errors() {
        let e = |s: &str, k: &str| parse_name_values(s, k, '\\').unwrap_err().0;
        assert_eq!(
            e("a=1 b", "ENV"),
            "Syntax error - can't find = in \"b\". Must be of the form: name=value"
        );
        assert_eq!(e("=1", "ENV"), "ENV names can not be blank");
        assert_eq!(e("  ", "LABEL"), "LABEL requires at least one argument");
        assert_eq!(e("", "ARG"), "ARG requires at least one argument");
        assert_eq!(e("a =x", "ARG"), "ARG names can not be blank");
    }

    #[test]
    fn name_values_arg() {
        assert_eq!(
            nv("A B=2 C= D=\"x y\"", "ARG"),
            vec![
                p("A", None),
                p("B", Some("2")),
                p("C", Some("")),
                p("D", Some("\"x y\""))
            ]
        );
    }

    #[test]
    fn name_values_escape_char() {
        assert_eq!(
            parse_name_values("a=x` y", "ENV", '`').unwrap(),
            vec![p("a", Some("x` y"))]
        );
        assert!(parse_name_values("a=x` y", "ENV", '\\').is_err());
        // A trailing escape is dropped; one inside double quotes keeps the quote open.
        assert_eq!(nv("a=b\\", "ENV"), vec![p("a", Some("b"))]);
        assert_eq!(
            nv("a=\"b c\\\" d\"", "ENV"),
            vec![p("a", Some("\"b c\\\" d\""))]
        );
    }
}
