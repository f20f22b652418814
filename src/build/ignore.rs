//! `.dockerignore` matching and Go-style globs.
//!
//! Docker reads the file with `ignorefile.ReadAll`, builds a
//! `patternmatcher.PatternMatcher` from the lines and asks
//! `MatchesOrParentMatches` for each context path; BuildKit's walk decides
//! which excluded directories it may skip. This module reproduces those
//! rules, including their quirks, so a context sent by rdock holds the same
//! files docker's would.

use crate::util::path::go_clean as clean;
use regex_lite::Regex;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PatternError(pub String);

/// Go's `filepath.ErrBadPattern` text, so messages read like docker's.
const BAD_PATTERN: &str = "syntax error in pattern";

fn bad_pattern() -> PatternError {
    PatternError(BAD_PATTERN.to_string())
}

/// How one pattern is matched; docker picks the cheapest form that gives the
/// same answer as its regex, and the non-regex forms have quirks of their own
/// (`**foo` is a plain suffix test, so it also matches `xfoo`).
#[derive(Debug, Clone)]
enum Kind {
    Exact(String),
    Prefix(String),
    Suffix(String),
    Regex(Regex),
}

#[derive(Debug, Clone)]
struct Pattern {
    /// The cleaned text without its `!`: BuildKit's skip decision reads it.
    text: String,
    exception: bool,
    kind: Kind,
}

impl Pattern {
    fn matches(&self, path: &str) -> bool {
        match &self.kind {
            Kind::Exact(p) => path == p,
            Kind::Prefix(p) => path.starts_with(p.as_str()),
            Kind::Suffix(suffix) => {
                path.ends_with(suffix.as_str())
                    // "**/foo" also matches "foo" itself.
                    || suffix.strip_prefix('/').is_some_and(|s| path == s)
            }
            Kind::Regex(re) => re.is_match(path),
        }
    }
}

/// A `.dockerignore` file, matched as docker matches it.
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    patterns: Vec<Pattern>,
}

impl Matcher {
    /// Parse a .dockerignore text as docker's ignorefile.ReadAll does: lines trimmed, `#` comment lines and empty lines skipped, a leading `!` marks an exception, each pattern cleaned like Go's filepath.Clean, a leading "/" removed (patterns are relative to the context root), a pattern that is just "!" is an error. Invalid patterns (bad `[` class) are errors.
    pub fn parse(text: &str) -> Result<Matcher, PatternError> {
        let patterns = read_all(text)
            .iter()
            .filter_map(|line| compile_line(line).transpose())
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Matcher { patterns })
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether the context path `rel` ('/'-separated, relative to the context root, no leading "./" or "/", e.g. "src/main.go") is excluded: docker's MatchesOrParentMatches (a pattern matching a parent dir excludes what is below it), last matching pattern wins, `!` re-includes.
    pub fn excluded(&self, rel: &str) -> bool {
        // The context root itself is never excluded (docker: "don't let them
        // exclude everything").
        if rel.is_empty() || rel == "." {
            return false;
        }
        let parent = go_dir(rel);
        let parents: Vec<&str> = if parent == "." {
            Vec::new()
        } else {
            // Every ancestor: "a", "a/b", … up to the parent itself.
            parent
                .match_indices('/')
                .filter_map(|(i, _)| parent.get(..i))
                .chain(std::iter::once(parent.as_str()))
                .collect()
        };
        let mut matched = false;
        for p in &self.patterns {
            // Only a pattern that could flip the current answer is tried,
            // which makes the result "last matching pattern wins".
            if p.exception != matched {
                continue;
            }
            if p.matches(rel) || parents.iter().any(|d| p.matches(d)) {
                matched = !p.exception;
            }
        }
        matched
    }

    /// For a walk: whether a directory that is itself excluded must still be descended into because some exception pattern could re-include something below it (docker's walk skips an excluded dir entirely only when no exception could match inside it). When this is false the walk skips the whole subtree.
    pub fn must_descend(&self, dir_rel: &str) -> bool {
        let mut exceptions = self.patterns.iter().filter(|p| p.exception).peekable();
        if exceptions.peek().is_none() {
            return false;
        }
        // BuildKit only trusts a literal prefix test when every exception is
        // a plain path (a trailing "/*" or "/**" aside); any other wildcard
        // could match anywhere, so it walks everything.
        let trimmed: Vec<&str> = exceptions.map(|p| without_trailing_glob(&p.text)).collect();
        if trimmed
            .iter()
            .any(|t| t.contains(['*', '[', ']', '?', '^', '\\']))
        {
            return true;
        }
        let dir_slash = format!("{dir_rel}/");
        trimmed
            .iter()
            .any(|t| format!("{t}/").starts_with(&dir_slash))
    }
}

/// BuildKit's `patternWithoutTrailingGlob`: "dir/**" and "dir/*" name "dir".
fn without_trailing_glob(p: &str) -> &str {
    let p = p.strip_suffix("/**").unwrap_or(p);
    p.strip_suffix("/*").unwrap_or(p)
}

/// ignorefile.ReadAll: the pattern strings, `!` still attached.
fn read_all(text: &str) -> Vec<String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        // The comment test comes before trimming: " # x" is a pattern.
        if line.starts_with('#') {
            continue;
        }
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (invert, rest) = match line.strip_prefix('!') {
            Some(rest) => (true, rest.trim()),
            None => (false, line),
        };
        let mut pattern = String::new();
        if !rest.is_empty() {
            pattern = clean(rest);
            if pattern.len() > 1 {
                if let Some(stripped) = pattern.strip_prefix('/') {
                    pattern = stripped.to_string();
                }
            }
        }
        out.push(if invert {
            format!("!{pattern}")
        } else {
            pattern
        });
    }
    out
}

/// patternmatcher.New for one line: a second trim and Clean (which is why
/// "!/" ends up as the illegal "!"), then the syntax check and compile.
fn compile_line(line: &str) -> Result<Option<Pattern>, PatternError> {
    let line = line.trim();
    if line.is_empty() {
        return Ok(None);
    }
    let cleaned = clean(line);
    let (exception, text) = match cleaned.strip_prefix('!') {
        Some("") => return Err(PatternError("illegal exclusion pattern: \"!\"".to_string())),
        Some(rest) => (true, rest),
        None => (false, cleaned.as_str()),
    };
    // Docker validates with filepath.Match(p, ".") before compiling.
    glob_match(text, ".").map_err(|e| invalid(text, &e.0))?;
    let kind = compile(text)?;
    Ok(Some(Pattern {
        text: text.to_string(),
        exception,
        kind,
    }))
}

fn invalid(pattern: &str, why: &str) -> PatternError {
    PatternError(format!("invalid .dockerignore pattern {pattern:?}: {why}"))
}

/// patternmatcher's compile: the same walk over the pattern deciding between
/// exact, prefix, suffix and regex matching, producing an equivalent regex.
fn compile(pattern: &str) -> Result<Kind, PatternError> {
    #[derive(PartialEq)]
    enum Detected {
        Exact,
        Prefix,
        Suffix,
        Regex,
    }
    let mut re = String::from("^");
    let mut detected = Detected::Exact;
    let mut chars = pattern.chars().peekable();
    let mut at_start = true;
    while let Some(ch) = chars.next() {
        match ch {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                // "**/" is treated as "**".
                if chars.peek() == Some(&'/') {
                    chars.next();
                }
                if chars.peek().is_none() {
                    // A trailing "**" accepts everything, as in .gitignore.
                    if detected == Detected::Exact {
                        detected = Detected::Prefix;
                    } else {
                        re.push_str(".*");
                        detected = Detected::Regex;
                    }
                } else {
                    // Any number of directories, including none.
                    re.push_str("(.*/)?");
                    detected = Detected::Regex;
                }
                if at_start {
                    detected = Detected::Suffix;
                }
            }
            '*' => {
                re.push_str("[^/]*");
                detected = Detected::Regex;
            }
            '?' => {
                re.push_str("[^/]");
                detected = Detected::Regex;
            }
            '\\' => {
                // Validation already rejected a trailing backslash.
                let Some(next) = chars.next() else {
                    return Err(invalid(pattern, BAD_PATTERN));
                };
                re.push_str(&regex_lite::escape(next.encode_utf8(&mut [0; 4])));
                detected = Detected::Regex;
            }
            '[' => {
                // Docker hands the class text to Go's regexp; parsing it with
                // filepath.Match's grammar gives the same set for every class
                // that grammar accepts, without regex syntax leaking in.
                let rest: String = chars.clone().collect();
                let (negated, ranges, after) =
                    parse_class(&rest).map_err(|e| invalid(pattern, &e.0))?;
                // `after` is what parse_class left of `rest`.
                let consumed_chars = rest.chars().count().saturating_sub(after.chars().count());
                for _ in 0..consumed_chars {
                    chars.next();
                }
                re.push('[');
                if negated {
                    re.push('^');
                }
                for (lo, hi) in ranges {
                    // Go's regexp rejects an inverted range, so docker fails
                    // the build on it; fail at parse time instead.
                    if lo > hi {
                        return Err(invalid(pattern, "invalid character class range"));
                    }
                    re.push_str(&format!("\\x{{{:X}}}-\\x{{{:X}}}", lo as u32, hi as u32));
                }
                re.push(']');
                detected = Detected::Regex;
            }
            ']' => {
                // A stray ']' is literal in Go's regexp, but docker still
                // switches to regex matching for it.
                re.push_str("\\]");
                detected = Detected::Regex;
            }
            c => re.push_str(&regex_lite::escape(c.encode_utf8(&mut [0; 4]))),
        }
        at_start = false;
    }
    Ok(match detected {
        Detected::Exact => Kind::Exact(pattern.to_string()),
        // The text before the "**" held nothing special, so it is literal.
        Detected::Prefix => Kind::Prefix(
            pattern
                .len()
                .checked_sub(2)
                .and_then(|n| pattern.get(..n))
                .unwrap_or_default()
                .to_string(),
        ),
        Detected::Suffix => Kind::Suffix(pattern.get(2..).unwrap_or_default().to_string()),
        Detected::Regex => {
            re.push('$');
            Kind::Regex(Regex::new(&re).map_err(|e| invalid(pattern, &e.to_string()))?)
        }
    })
}

/// Go's path.Dir.
fn go_dir(path: &str) -> String {
    match path.rfind('/').and_then(|i| path.get(..=i)) {
        Some(dir) => clean(dir),
        None => ".".to_string(),
    }
}

/// Go's path.Match for one '/'-separated path: `*` (not across '/'), `?`, `[...]` classes with ranges and `^`/`!` negation, the escape `\\`. Err for a malformed pattern (ErrBadPattern).
///
/// As in Go, only `^` negates a class; `[!a]` is the set of '!' and 'a'.
pub fn glob_match(pattern: &str, name: &str) -> Result<bool, PatternError> {
    let mut pattern = pattern;
    let mut name = name;
    'chunks: while !pattern.is_empty() {
        let (star, chunk, rest) = scan_chunk(pattern);
        pattern = rest;
        if star && chunk.is_empty() {
            // A trailing '*' takes the rest unless it crosses a '/'.
            return Ok(!name.contains('/'));
        }
        if let Some(t) = match_chunk(chunk, name)? {
            // The last chunk must use up the name, else the star may still.
            if t.is_empty() || !pattern.is_empty() {
                name = t;
                continue;
            }
        }
        if star {
            // Let the star take one more character at a time, never a '/'.
            let mut taken = name.chars();
            while let Some(c) = taken.next() {
                if c == '/' {
                    break;
                }
                if let Some(t) = match_chunk(chunk, taken.as_str())? {
                    if pattern.is_empty() && !t.is_empty() {
                        continue;
                    }
                    name = t;
                    continue 'chunks;
                }
            }
        }
        // A mismatch still reports a malformed rest of the pattern.
        while !pattern.is_empty() {
            let (_, chunk, rest) = scan_chunk(pattern);
            pattern = rest;
            match_chunk(chunk, "")?;
        }
        return Ok(false);
    }
    Ok(name.is_empty())
}

/// Split off leading stars and the run up to the next star outside a class.
fn scan_chunk(pattern: &str) -> (bool, &str, &str) {
    let trimmed = pattern.trim_start_matches('*');
    let star = trimmed.len() != pattern.len();
    let mut bytes = trimmed.bytes().enumerate();
    let mut in_range = false;
    let mut end = trimmed.len();
    while let Some((i, b)) = bytes.next() {
        match b {
            // Malformed escapes are reported by match_chunk.
            b'\\' => {
                bytes.next();
            }
            b'[' => in_range = true,
            b']' => in_range = false,
            b'*' if !in_range => {
                end = i;
                break;
            }
            _ => {}
        }
    }
    // `end` is at an ASCII '*' or the end: a char boundary.
    let (chunk, rest) = trimmed.split_at_checked(end).unwrap_or((trimmed, ""));
    (star, chunk, rest)
}

/// Match a star-free chunk at the start of `s`: Some(rest) on a match. After
/// a mismatch the chunk is still parsed so syntax errors surface.
fn match_chunk<'a>(chunk: &str, s: &'a str) -> Result<Option<&'a str>, PatternError> {
    let mut chunk = chunk;
    let mut s = s;
    let mut failed = false;
    while let Some((pc, after_pc)) = split_char(chunk) {
        if s.is_empty() {
            failed = true;
        }
        match pc {
            '[' => {
                let r = if failed {
                    None
                } else {
                    split_char(s).map(|(c, rest)| {
                        s = rest;
                        c
                    })
                };
                let (negated, ranges, rest) = parse_class(after_pc)?;
                chunk = rest;
                let hit = r.is_some_and(|r| ranges.iter().any(|&(lo, hi)| lo <= r && r <= hi));
                if hit == negated {
                    failed = true;
                }
            }
            '?' => {
                if !failed {
                    if let Some((c, rest)) = split_char(s) {
                        failed = c == '/';
                        s = rest;
                    }
                }
                chunk = after_pc;
            }
            _ => {
                let (literal, rest) = if pc == '\\' {
                    split_char(after_pc).ok_or_else(bad_pattern)?
                } else {
                    (pc, after_pc)
                };
                if !failed {
                    match split_char(s) {
                        Some((c, after)) if c == literal => s = after,
                        _ => failed = true,
                    }
                }
                chunk = rest;
            }
        }
    }
    Ok(if failed { None } else { Some(s) })
}

type Class<'a> = (bool, Vec<(char, char)>, &'a str);

/// A class body after its '[': negation, ranges, and the pattern after ']'.
fn parse_class(chunk: &str) -> Result<Class<'_>, PatternError> {
    let (negated, mut chunk) = match chunk.strip_prefix('^') {
        Some(rest) => (true, rest),
        None => (false, chunk),
    };
    let mut ranges = Vec::new();
    loop {
        if let Some(rest) = chunk.strip_prefix(']') {
            if !ranges.is_empty() {
                return Ok((negated, ranges, rest));
            }
        }
        let (lo, rest) = class_char(chunk)?;
        chunk = rest;
        let mut hi = lo;
        if let Some(rest) = chunk.strip_prefix('-') {
            let (h, rest) = class_char(rest)?;
            hi = h;
            chunk = rest;
        }
        ranges.push((lo, hi));
    }
}

/// Go's getEsc: one possibly escaped class character; the class must go on.
fn class_char(chunk: &str) -> Result<(char, &str), PatternError> {
    let chunk = match split_char(chunk) {
        None | Some(('-' | ']', _)) => return Err(bad_pattern()),
        Some(('\\', rest)) => rest,
        Some(_) => chunk,
    };
    let (c, rest) = split_char(chunk).ok_or_else(bad_pattern)?;
    if rest.is_empty() {
        return Err(bad_pattern());
    }
    Ok((c, rest))
}

/// The first char of `s` and the rest.
fn split_char(s: &str) -> Option<(char, &str)> {
    let mut chars = s.chars();
    chars.next().map(|c| (c, chars.as_str()))
}

/// Whether `s` contains glob metacharacters (`*`, `?`, `[`, and `\\` escape), i.e. whether a COPY source needs matching rather than a plain lookup.
pub fn has_glob_meta(s: &str) -> bool {
    s.contains(['*', '?', '[', '\\'])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(lines: &[&str]) -> Matcher {
        match Matcher::parse(&lines.join("\n")) {
            Ok(m) => m,
            Err(e) => panic!("{lines:?}: {e}"),
        }
    }

    #[test]
    fn excluded_table() {
        #[rustfmt::skip]
        let cases: &[(&[&str], &str, bool)] = &[
            // docker docs: .dockerignore example
            (&["# comment", "*/temp*", "*/*/temp*", "temp?"], "somedir/temporary.txt", true),
            (&["# comment", "*/temp*", "*/*/temp*", "temp?"], "somedir/temp", true),
            (&["# comment", "*/temp*", "*/*/temp*", "temp?"], "somedir/subdir/temporary.txt", true),
            (&["# comment", "*/temp*", "*/*/temp*", "temp?"], "tempa", true),
            (&["# comment", "*/temp*", "*/*/temp*", "temp?"], "tempb", true),
            (&["# comment", "*/temp*", "*/*/temp*", "temp?"], "temp", false),
            (&["# comment", "*/temp*", "*/*/temp*", "temp?"], "temporary.txt", false),
            (&["# comment", "*/temp*", "*/*/temp*", "temp?"], "a/b/c/temp", false),
            (&["# comment", "*/temp*", "*/*/temp*", "temp?"], "somedir/tempa", true),
            (&["temp?"], "a/tempa", false),
            (&["temp?"], "tempab", false),
            (&["# comment"], "# comment", false),
            // docs: ** matches any number of directories
            (&["**/*.go"], "main.go", true),
            (&["**/*.go"], "a/b/c.go", true),
            (&["**/*.go"], "a/b/c.gox", false),
            (&["**/*.go"], "a/b/cxgo", false),
            // docs: exceptions, in both orders
            (&["*.md", "!README*.md", "README-secret.md"], "README.md", false),
            (&["*.md", "!README*.md", "README-secret.md"], "README-secret.md", true),
            (&["*.md", "!README*.md", "README-secret.md"], "CHANGELOG.md", true),
            (&["*.md", "!README*.md", "README-secret.md"], "main.go", false),
            (&["*.md", "README-secret.md", "!README*.md"], "README-secret.md", false),
            (&["*.md", "!README.md"], "README.md", false),
            (&["*.md", "!README.md"], "docs/x.md", false),
            // parent matching
            (&["dir"], "dir", true),
            (&["dir"], "dir/file", true),
            (&["dir"], "dir/sub/file", true),
            (&["dir"], "dirx/file", false),
            (&["dir"], "x/dir", false),
            (&["*.md"], "x.md/inner.txt", true),
            (&["a/b"], "a/b/c/d", true),
            (&["a/b"], "a/bc", false),
            (&["a*"], "ab/c", true),
            (&["docs", "!docs/README.md"], "docs/README.md", false),
            (&["docs", "!docs/README.md"], "docs/other.md", true),
            (&["docs/*", "!docs/README.md"], "docs/README.md", false),
            (&["!docs/README.md", "docs"], "docs/README.md", true),
            // trailing "/", "./" and "/" prefixes are cleaned away
            (&["dir/"], "dir", true),
            (&["dir/"], "dir/file", true),
            (&["./dir"], "dir/file", true),
            (&["/dir"], "dir/file", true),
            (&["/dir/../other"], "other", true),
            (&["a//b/./c"], "a/b/c", true),
            (&["docs/", "!docs/README.md"], "docs/README.md", false),
            (&["!./docs/README.md", "docs/"], "docs/README.md", true),
            // "/" and "." name no context path
            (&["/"], "x", false),
            (&["."], "x", false),
            (&["**"], ".", false),
            (&["**"], "", false),
            // lines: trimming, comments only at column 0, CRLF, BOM
            (&["  dir  "], "dir", true),
            (&[" #x"], "#x", true),
            (&["*.md", "!  README.md  "], "README.md", false),
            (&["a\r", "b\r"], "a", true),
            (&["\u{feff}bom"], "bom", true),
            (&["a", "", "   ", "b"], "b", true),
            // "**" in all positions
            (&["**"], "file", true),
            (&["**"], "dir/file", true),
            (&["**/"], "dir/file", true),
            (&["**/dir"], "dir", true),
            (&["**/dir"], "a/b/dir", true),
            (&["**/dir"], "a/dir/file", true),
            (&["**/dir"], "a/xdir", false),
            (&["dir/**"], "dir/file", true),
            (&["dir/**"], "dir/a/b", true),
            (&["dir/**"], "dir", false),
            (&["a/**/b"], "a/b", true),
            (&["a/**/b"], "a/x/y/b", true),
            (&["a/**/b"], "a/xb", false),
            (&["**/dir2/*"], "dir/dir2/file", true),
            (&["**/dir2/**"], "dir/dir2/dir3/file", true),
            (&["**/**/*.txt2"], "dir/dir/file.txt", false),
            (&["a**/*.txt"], "a/dir/dir/file.txt", true),
            (&["a/*.txt"], "a/dir/file.txt", false),
            // docker quirks kept: "**file" is a bare suffix test
            (&["**file"], "dir/file", true),
            (&["**file"], "xfile", true),
            (&["a**b"], "ax/b", true),
            (&["a**b"], "axb", false),
            (&["**", "!util/docker/web"], "util/docker/web/foo", false),
            (&["**", "!util/docker/web", "util/docker/web/foo"], "util/docker/web/foo", true),
            (&["**", "!dist/*.whl"], "dist/p-1.0+g0-py3-none-any.whl", false),
            // anchoring and single-segment wildcards
            (&["*"], "file", true),
            (&["*"], "dir/file", true),
            (&["*/b"], "a/b", true),
            (&["*/b"], "b", false),
            (&["*/b"], "x/a/b", false),
            (&["b"], "ab", false),
            (&["?"], "ab", false),
            (&["?b"], "a/b", false),
            // classes
            (&["a[b-d]e"], "ace", true),
            (&["a[b-d]e"], "ae", false),
            (&["a[b-d]e"], "aae", false),
            (&["a[^b-d]e"], "aze", true),
            (&["a[^b-d]e"], "ace", false),
            (&["[\\]a]x"], "]x", true),
            (&["[a.]x"], "bx", false),
            // escapes
            (&["a\\*b"], "a*b", true),
            (&["a\\*b"], "axb", false),
            (&["a\\\\"], "a\\", true),
            (&["\\[x]"], "[x]", true),
            (&["a]b"], "a]b", true),
            // regex metacharacters are literal
            (&[".*"], ".foo", true),
            (&[".*"], "foo", false),
            (&["abc.def"], "abcZdef", false),
            (&["*.txt"], "fileXtxt", false),
            (&["a(b)c/def"], "a(b)c/def", true),
            (&["a.|)$(}+{bc"], "a.|)$(}+{bc", true),
            (&["a+b*"], "a+bc", true),
            (&["a+b*"], "aab", false),
            (&["x^y*"], "x^yz", true),
            (&["dist/*.whl"], "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", true),
            (&["é*"], "été", true),
            (&["?t?"], "été", true),
        ];
        for &(lines, path, want) in cases {
            assert_eq!(m(lines).excluded(path), want, "{lines:?} {path:?}");
        }
    }

    #[test]
    fn parse_errors() {
        for text in [
            "!", "a\n!", "! ", "!/", "[", "a[", "[^", "[]a]", "[-]", "[a-b-c]", "foo\\",
            "ok\n[x-]", "[z-a]",
        ] {
            assert!(Matcher::parse(text).is_err(), "{text:?} parsed");
        }
        let e = Matcher::parse("!").err();
        assert_eq!(
            e,
            Some(PatternError("illegal exclusion pattern: \"!\"".into()))
        );
    }

    #[test]
    fn empty() {
        assert!(m(&[]).is_empty());
        assert!(m(&["# only a comment", "", "  "]).is_empty());
        assert!(!m(&["x"]).is_empty());
        assert!(!m(&[]).excluded("anything"));
    }

    #[test]
    fn must_descend_table() {
        #[rustfmt::skip]
        let cases: &[(&[&str], &str, bool)] = &[
            (&["vendor"], "vendor", false),
            (&["vendor", "!vendor/keep.txt"], "vendor", true),
            (&["vendor", "!vendor/keep.txt"], "vendor/sub", false),
            (&["vendor", "!vendor/a/b"], "vendor/a", true),
            (&["vendor", "!vendor/a/b"], "vendor/c", false),
            (&["v*", "!vendor/x"], "vendor", true),
            (&["v*", "!vendor/x"], "vault", false),
            (&["vendor", "!vendorx/a"], "vendor", false),
            (&["vendor", "!other/a"], "vendor", false),
            (&["vendor", "!vendor/*"], "vendor", true),
            (&["vendor", "!vendor/**"], "vendor", true),
            (&["vendor", "!vendor/a/**"], "vendor", true),
            (&["vendor", "!vendor/a/**"], "vendor/b", false),
            // any wildcard in an exception forces a full walk
            (&["vendor", "!**/keep"], "vendor", true),
            (&["vendor", "!other/*.txt"], "vendor", true),
            (&["vendor", "!a/[b]"], "vendor", true),
        ];
        for &(lines, dir, want) in cases {
            let matcher = m(lines);
            assert!(
                matcher.excluded(dir),
                "{lines:?} {dir:?} should be excluded"
            );
            assert_eq!(matcher.must_descend(dir), want, "{lines:?} {dir:?}");
        }
    }

    #[test]
    fn read_all_matches_ignorefile() {
        let text = "test1\n/test2\n/a/file/here\n\nlastfile\n# this is a comment\n! /inverted/abs/path\n!\n! ";
        let want = [
            "test1",
            "test2",
            "a/file/here",
            "lastfile",
            "!inverted/abs/path",
            "!",
            "!",
        ];
        assert_eq!(read_all(text), want);
        assert_eq!(read_all("/"), ["/"]);
        assert_eq!(read_all("!./a/"), ["!a"]);
    }

    #[test]
    fn clean_matches_go() {
        for (input, want) in [
            ("", "."),
            (".", "."),
            ("./", "."),
            ("a/", "a"),
            ("./a", "a"),
            ("a//b", "a/b"),
            ("a/./b/..", "a"),
            ("../a", "../a"),
            ("a/../..", ".."),
            ("/..", "/"),
            ("/../a/", "/a"),
            ("/", "/"),
            ("!../../x", "x"),
        ] {
            assert_eq!(clean(input), want, "{input:?}");
        }
        assert_eq!(go_dir("a/b/c"), "a/b");
        assert_eq!(go_dir("a"), ".");
        assert_eq!(go_dir("dir/file/"), "dir/file");
    }

    #[test]
    fn glob_match_go_table() {
        let bad = Err(bad_pattern());
        #[rustfmt::skip]
        let cases: &[(&str, &str, Result<bool, PatternError>)] = &[
            ("abc", "abc", Ok(true)),
            ("*", "abc", Ok(true)),
            ("*c", "abc", Ok(true)),
            ("a*", "a", Ok(true)),
            ("a*", "abc", Ok(true)),
            ("a*", "ab/c", Ok(false)),
            ("a*/b", "abc/b", Ok(true)),
            ("a*/b", "a/c/b", Ok(false)),
            ("a*b*c*d*e*/f", "axbxcxdxe/f", Ok(true)),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/f", Ok(true)),
            ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", Ok(false)),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", Ok(false)),
            ("a*b?c*x", "abxbbxdbxebxczzx", Ok(true)),
            ("a*b?c*x", "abxbbxdbxebxczzy", Ok(false)),
            ("ab[c]", "abc", Ok(true)),
            ("ab[b-d]", "abc", Ok(true)),
            ("ab[e-g]", "abc", Ok(false)),
            ("ab[^c]", "abc", Ok(false)),
            ("ab[^b-d]", "abc", Ok(false)),
            ("ab[^e-g]", "abc", Ok(true)),
            ("a\\*b", "a*b", Ok(true)),
            ("a\\*b", "ab", Ok(false)),
            ("a?b", "a☺b", Ok(true)),
            ("a[^a]b", "a☺b", Ok(true)),
            ("a???b", "a☺b", Ok(false)),
            ("a[^a][^a][^a]b", "a☺b", Ok(false)),
            ("[a-ζ]*", "α", Ok(true)),
            ("*[a-ζ]", "A", Ok(false)),
            ("a?b", "a/b", Ok(false)),
            ("a*b", "a/b", Ok(false)),
            ("[\\]a]", "]", Ok(true)),
            ("[\\-]", "-", Ok(true)),
            ("[x\\-]", "x", Ok(true)),
            ("[x\\-]", "-", Ok(true)),
            ("[x\\-]", "z", Ok(false)),
            ("[\\-x]", "x", Ok(true)),
            ("[\\-x]", "-", Ok(true)),
            ("[\\-x]", "a", Ok(false)),
            ("[]a]", "]", bad.clone()),
            ("[-]", "-", bad.clone()),
            ("[x-]", "x", bad.clone()),
            ("[x-]", "-", bad.clone()),
            ("[x-]", "z", bad.clone()),
            ("[-x]", "x", bad.clone()),
            ("[-x]", "-", bad.clone()),
            ("[-x]", "a", bad.clone()),
            ("\\", "a", bad.clone()),
            ("[a-b-c]", "a", bad.clone()),
            ("[", "a", bad.clone()),
            ("[^", "a", bad.clone()),
            ("[^bc", "a", bad.clone()),
            ("a[", "a", bad.clone()),
            ("a[", "ab", bad.clone()),
            ("a[", "x", bad.clone()),
            ("a/", "a", Ok(false)),
            ("*x", "xxx", Ok(true)),
            // a mismatch before the bad part still reports it
            ("x*[", "abc", bad.clone()),
            ("[a-c]", "b", Ok(true)),
            ("[a-c]", "d", Ok(false)),
            ("[^a]", "a", Ok(false)),
            ("[^a]", "b", Ok(true)),
            // Go: '!' does not negate, '/' is an ordinary class member
            ("[!a]", "b", Ok(false)),
            ("[!a]", "!", Ok(true)),
            ("a[/]b", "a/b", Ok(true)),
            ("[z-a]", "m", Ok(false)),
            ("", "", Ok(true)),
            ("", "a", Ok(false)),
            ("*", "", Ok(true)),
        ];
        for (pattern, name, want) in cases {
            assert_eq!(&glob_match(pattern, name), want, "{pattern:?} {name:?}");
        }
    }

    #[test]
    fn glob_meta() {
        for (s, want) in [
            ("foo/bar.txt", false),
            ("a]b", false),
            ("*.go", true),
            ("a?c", true),
            ("[ab]", true),
            ("a\\b", true),
        ] {
            assert_eq!(has_glob_meta(s), want, "{s:?}");
        }
    }
}
