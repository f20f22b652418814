//! Go's text/template lexer (text/template/parse/lex.go), item for item,
//! so that parse errors read as Go's.

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum It {
    Error,
    Bool,
    Char,
    CharConstant,
    Assign,
    Declare,
    Eof,
    Field,
    Identifier,
    LeftDelim,
    LeftParen,
    Number,
    Pipe,
    RawString,
    RightDelim,
    RightParen,
    Space,
    String,
    Text,
    Variable,
    // keywords
    Block,
    Break,
    Continue,
    Dot,
    Define,
    Else,
    End,
    If,
    Nil,
    Range,
    Template,
    With,
}

impl It {
    fn is_keyword(self) -> bool {
        matches!(
            self,
            It::Block
                | It::Break
                | It::Continue
                | It::Dot
                | It::Define
                | It::Else
                | It::End
                | It::If
                | It::Nil
                | It::Range
                | It::Template
                | It::With
        )
    }
}

#[derive(Debug, Clone)]
pub struct Item {
    pub typ: It,
    pub pos: usize,
    pub val: String,
    pub line: usize,
}

impl std::fmt::Display for Item {
    /// Go's item.String(), as parse errors quote tokens.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.typ {
            It::Eof => write!(f, "EOF"),
            It::Error => write!(f, "{}", self.val),
            t if t.is_keyword() => write!(f, "<{}>", self.val),
            _ if self.val.chars().count() > 10 => {
                let head: String = self.val.chars().take(10).collect();
                write!(f, "{}...", go_quote(&head))
            }
            _ => write!(f, "{}", go_quote(&self.val)),
        }
    }
}

/// Go's %q of a string (strconv.Quote).
pub fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

const LEFT: &str = "{{";
const RIGHT: &str = "}}";

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphabetic() || c.is_numeric()
}

fn left_trim_marker(s: &str) -> bool {
    matches!(s.as_bytes(), [b'-', c, ..] if is_space(*c as char))
}

fn right_trim_marker(s: &str) -> bool {
    matches!(s.as_bytes(), [c, b'-', ..] if is_space(*c as char))
}

pub struct Lexer<'a> {
    input: &'a str,
    pos: usize,
    start: usize,
    line: usize,
    start_line: usize,
    paren_depth: i32,
    items: Vec<Item>,
}

#[derive(Clone, Copy)]
enum State {
    Text,
    LeftDelim,
    Comment,
    RightDelim,
    Inside,
    Space,
    Done,
}

/// The whole token stream, ending in Eof or Error.
pub fn lex(input: &str) -> Vec<Item> {
    let mut l = Lexer {
        input,
        pos: 0,
        start: 0,
        line: 1,
        start_line: 1,
        paren_depth: 0,
        items: Vec::new(),
    };
    let mut st = State::Text;
    loop {
        st = match st {
            State::Text => l.lex_text(),
            State::LeftDelim => l.lex_left_delim(),
            State::Comment => l.lex_comment(),
            State::RightDelim => l.lex_right_delim(),
            State::Inside => l.lex_inside(),
            State::Space => l.lex_space(),
            State::Done => break,
        };
    }
    l.items
}

// Positions are byte offsets into the input, so below its length (at
// most isize::MAX); each subtraction steps back over what was just
// consumed (a char, a trim marker, trailing spaces).
#[allow(clippy::arithmetic_side_effects)]
impl Lexer<'_> {
    fn rest(&self) -> &str {
        self.input.get(self.pos..).unwrap_or("")
    }
    fn next(&mut self) -> Option<char> {
        let c = self.rest().chars().next()?;
        self.pos += c.len_utf8();
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }
    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }
    fn backup(&mut self, c: Option<char>) {
        if let Some(c) = c {
            self.pos -= c.len_utf8();
            if c == '\n' {
                self.line -= 1;
            }
        }
    }
    fn this(&mut self, typ: It) -> Item {
        let i = Item {
            typ,
            pos: self.start,
            val: self
                .input
                .get(self.start..self.pos)
                .unwrap_or("")
                .to_string(),
            line: self.start_line,
        };
        self.start = self.pos;
        self.start_line = self.line;
        i
    }
    fn emit(&mut self, typ: It) {
        let i = self.this(typ);
        self.items.push(i);
    }
    fn ignore(&mut self) {
        let skipped = self.input.get(self.start..self.pos).unwrap_or("");
        self.line = self.start_line + skipped.matches('\n').count();
        self.start = self.pos;
        self.start_line = self.line;
    }
    fn errorf(&mut self, msg: String) -> State {
        self.items.push(Item {
            typ: It::Error,
            pos: self.start,
            val: msg,
            line: self.start_line,
        });
        State::Done
    }

    fn lex_text(&mut self) -> State {
        if let Some(x) = self.rest().find(LEFT) {
            if x > 0 {
                self.pos += x;
                let delim_end = self.pos + LEFT.len();
                let mut trim = 0;
                if left_trim_marker(self.input.get(delim_end..).unwrap_or("")) {
                    let text = self.input.get(self.start..self.pos).unwrap_or("");
                    trim = text.len() - text.trim_end_matches(is_space).len();
                }
                self.pos -= trim;
                let text = self.input.get(self.start..self.pos).unwrap_or("");
                self.line = self.start_line + text.matches('\n').count();
                let i = self.this(It::Text);
                self.pos += trim;
                self.ignore();
                if !i.val.is_empty() {
                    self.items.push(i);
                }
            }
            return State::LeftDelim;
        }
        self.pos = self.input.len();
        if self.pos > self.start {
            let text = self.input.get(self.start..).unwrap_or("");
            self.line = self.start_line + text.matches('\n').count();
            self.emit(It::Text);
        }
        self.emit(It::Eof);
        State::Done
    }

    fn lex_left_delim(&mut self) -> State {
        self.pos += LEFT.len();
        let trim = left_trim_marker(self.rest());
        let after = if trim { 2 } else { 0 };
        if self
            .input
            .get(self.pos + after..)
            .is_some_and(|s| s.starts_with("/*"))
        {
            self.pos += after;
            self.ignore();
            return State::Comment;
        }
        let i = self.this(It::LeftDelim);
        self.items.push(i);
        self.pos += after;
        self.ignore();
        self.paren_depth = 0;
        State::Inside
    }

    fn at_right_delim(&self) -> (bool, bool) {
        let r = self.rest();
        if right_trim_marker(r) && r.get(2..).is_some_and(|s| s.starts_with(RIGHT)) {
            return (true, true);
        }
        (r.starts_with(RIGHT), false)
    }

    fn lex_comment(&mut self) -> State {
        self.pos += 2;
        let Some(x) = self.rest().find("*/") else {
            return self.errorf("unclosed comment".into());
        };
        self.pos += x + 2;
        let (delim, trim) = self.at_right_delim();
        if !delim {
            return self.errorf("comment ends before closing delimiter".into());
        }
        if trim {
            self.pos += 2;
        }
        self.pos += RIGHT.len();
        if trim {
            let r = self.rest();
            self.pos += r.len() - r.trim_start_matches(is_space).len();
        }
        self.ignore();
        State::Text
    }

    fn lex_right_delim(&mut self) -> State {
        let (_, trim) = self.at_right_delim();
        if trim {
            self.pos += 2;
            self.ignore();
        }
        self.pos += RIGHT.len();
        self.emit(It::RightDelim);
        if trim {
            let r = self.rest();
            self.pos += r.len() - r.trim_start_matches(is_space).len();
            self.ignore();
        }
        State::Text
    }

    fn lex_inside(&mut self) -> State {
        let (delim, _) = self.at_right_delim();
        if delim {
            if self.paren_depth == 0 {
                return State::RightDelim;
            }
            return self.errorf("unclosed left paren".into());
        }
        let Some(r) = self.next() else {
            return self.errorf("unclosed action".into());
        };
        match r {
            c if is_space(c) => {
                self.backup(Some(c));
                return State::Space;
            }
            '=' => self.emit(It::Assign),
            ':' => {
                if self.next() != Some('=') {
                    return self.errorf("expected :=".into());
                }
                self.emit(It::Declare)
            }
            '|' => self.emit(It::Pipe),
            '"' => return self.lex_quote(),
            '`' => return self.lex_raw_quote(),
            '$' => return self.lex_variable(),
            '\'' => return self.lex_char(),
            '.' if !self.peek().is_some_and(|c| c.is_ascii_digit()) => {
                return self.lex_field_or_variable(It::Field)
            }
            c if c == '.' || c == '+' || c == '-' || c.is_ascii_digit() => {
                self.backup(Some(c));
                return self.lex_number();
            }
            c if is_alnum(c) => {
                self.backup(Some(c));
                return self.lex_identifier();
            }
            '(' => {
                self.emit(It::LeftParen);
                self.paren_depth += 1;
            }
            ')' => {
                self.paren_depth -= 1;
                if self.paren_depth < 0 {
                    return self.errorf("unexpected right paren".into());
                }
                self.emit(It::RightParen);
            }
            c if c.is_ascii() && !c.is_ascii_control() => self.emit(It::Char),
            c => {
                return self.errorf(format!(
                    "unrecognized character in action: {}",
                    unicode_u(c)
                ))
            }
        }
        State::Inside
    }

    fn lex_space(&mut self) -> State {
        let mut n = 0;
        while self.peek().is_some_and(is_space) {
            self.next();
            n += 1;
        }
        let back = self.input.get(self.pos - 1..).unwrap_or("");
        if right_trim_marker(back) && back.get(2..).is_some_and(|s| s.starts_with(RIGHT)) {
            self.backup(Some(' '));
            if n == 1 {
                return State::RightDelim;
            }
        }
        self.emit(It::Space);
        State::Inside
    }

    fn at_terminator(&self) -> bool {
        match self.peek() {
            None => true,
            Some(c) if is_space(c) => true,
            Some('.' | ',' | '|' | ':' | ')' | '(') => true,
            _ => self.rest().starts_with(RIGHT),
        }
    }

    fn lex_identifier(&mut self) -> State {
        loop {
            let r = self.next();
            if r.is_some_and(is_alnum) {
                continue;
            }
            self.backup(r);
            if !self.at_terminator() {
                return self.errorf(format!("bad character {}", unicode_u(r.unwrap_or('\0'))));
            }
            let word = self.input.get(self.start..self.pos).unwrap_or("");
            let typ = match word {
                "block" => It::Block,
                "break" => It::Break,
                "continue" => It::Continue,
                "define" => It::Define,
                "else" => It::Else,
                "end" => It::End,
                "if" => It::If,
                "range" => It::Range,
                "nil" => It::Nil,
                "template" => It::Template,
                "with" => It::With,
                "true" | "false" => It::Bool,
                _ => It::Identifier,
            };
            self.emit(typ);
            return State::Inside;
        }
    }

    fn lex_variable(&mut self) -> State {
        if self.at_terminator() {
            self.emit(It::Variable);
            return State::Inside;
        }
        self.lex_field_or_variable(It::Variable)
    }

    fn lex_field_or_variable(&mut self, typ: It) -> State {
        if self.at_terminator() {
            self.emit(if typ == It::Variable {
                It::Variable
            } else {
                It::Dot
            });
            return State::Inside;
        }
        let mut r;
        loop {
            r = self.next();
            if !r.is_some_and(is_alnum) {
                self.backup(r);
                break;
            }
        }
        if !self.at_terminator() {
            return self.errorf(format!("bad character {}", unicode_u(r.unwrap_or('\0'))));
        }
        self.emit(typ);
        State::Inside
    }

    fn lex_char(&mut self) -> State {
        loop {
            match self.next() {
                Some('\\') => {
                    if matches!(self.next(), None | Some('\n')) {
                        return self.errorf("unterminated character constant".into());
                    }
                }
                None | Some('\n') => return self.errorf("unterminated character constant".into()),
                Some('\'') => break,
                _ => {}
            }
        }
        self.emit(It::CharConstant);
        State::Inside
    }

    fn lex_number(&mut self) -> State {
        if !self.scan_number() {
            let s = self
                .input
                .get(self.start..self.pos)
                .unwrap_or("")
                .to_string();
            return self.errorf(format!("bad number syntax: {}", go_quote(&s)));
        }
        self.emit(It::Number);
        State::Inside
    }

    fn accept(&mut self, valid: &str) -> bool {
        match self.peek() {
            Some(c) if valid.contains(c) => {
                self.next();
                true
            }
            _ => false,
        }
    }

    fn accept_run(&mut self, valid: &str) {
        while self.accept(valid) {}
    }

    fn scan_number(&mut self) -> bool {
        self.accept("+-");
        let mut digits = "0123456789_";
        if self.accept("0") {
            if self.accept("xX") {
                digits = "0123456789abcdefABCDEF_";
            } else if self.accept("oO") {
                digits = "01234567_";
            } else if self.accept("bB") {
                digits = "01_";
            }
        }
        self.accept_run(digits);
        if self.accept(".") {
            self.accept_run(digits);
        }
        if digits.len() == 11 && self.accept("eE") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        if digits.len() == 23 && self.accept("pP") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        self.accept("i");
        if self.peek().is_some_and(is_alnum) {
            self.next();
            return false;
        }
        true
    }

    fn lex_quote(&mut self) -> State {
        loop {
            match self.next() {
                Some('\\') => {
                    if matches!(self.next(), None | Some('\n')) {
                        return self.errorf("unterminated quoted string".into());
                    }
                }
                None | Some('\n') => return self.errorf("unterminated quoted string".into()),
                Some('"') => break,
                _ => {}
            }
        }
        self.emit(It::String);
        State::Inside
    }

    fn lex_raw_quote(&mut self) -> State {
        loop {
            match self.next() {
                None => return self.errorf("unterminated raw quoted string".into()),
                Some('`') => break,
                _ => {}
            }
        }
        self.emit(It::RawString);
        State::Inside
    }
}

/// Go's %#U: U+007D '}'.
pub fn unicode_u(c: char) -> String {
    if c.is_control() {
        format!("U+{:04X}", c as u32)
    } else {
        format!("U+{:04X} '{c}'", c as u32)
    }
}
