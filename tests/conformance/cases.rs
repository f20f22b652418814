//! The conformance cases: one line of data each, in `tests/conformance/*.cases`.
//!
//! ```text
//! # a comment
//! == group title             a group: its lines share state; all is removed after it
//! $ D run -d --name web busybox sleep 300     setup: must exit 0 in both, not compared
//! D ps --format '{{.Names}}'                  a case: stdout, stderr, exit status compared
//! [sort] D ...                                stdout compared with its lines sorted
//! [rc] D ...                                  exit status only
//! [out] D ...                                 stdout and exit status, not stderr
//! [allow: REASON] D ...                       an allowed difference (the ledger;
//!                                             no brackets inside REASON)
//! ```
//! Each line is a bash command line; `D` runs docker or rdock, `$TMP` is the
//! world's scratch dir (the working directory too).

use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Compare {
    All,
    Sorted,
    ExitOnly,
    NoStderr,
}

#[derive(Debug, Clone)]
pub struct Step {
    pub line: String,
    pub lineno: usize,
    pub setup: bool,
    pub compare: Compare,
    /// Why this case may differ from docker (the ledger), if it may.
    pub allow: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Group {
    pub file: String,
    pub title: String,
    pub steps: Vec<Step>,
}

/// Every group of every `.cases` file under `dir`, files in name order.
pub fn load(dir: &Path) -> Vec<Group> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("read tests/conformance")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "cases"))
        .collect();
    files.sort();
    let mut groups = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read cases");
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        groups.extend(parse(&name, &text));
    }
    groups
}

pub fn parse(file: &str, text: &str) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(title) = line.strip_prefix("==") {
            groups.push(Group {
                file: file.to_string(),
                title: title.trim().to_string(),
                steps: Vec::new(),
            });
            continue;
        }
        if groups.is_empty() {
            groups.push(Group {
                file: file.to_string(),
                title: "(top)".into(),
                steps: Vec::new(),
            });
        }
        let step = parse_step(line, i + 1);
        if let Some(g) = groups.last_mut() {
            g.steps.push(step);
        }
    }
    groups
}

fn parse_step(line: &str, lineno: usize) -> Step {
    let mut rest = line;
    let mut compare = Compare::All;
    let mut allow = None;
    let mut setup = false;
    loop {
        if let Some(r) = rest.strip_prefix("$ ") {
            setup = true;
            rest = r.trim_start();
        } else if let Some(r) = rest.strip_prefix('[') {
            let Some(end) = r.find(']') else { break };
            let tag = &r[..end];
            // A bracket inside a reason would end the tag early and run the
            // rest of the reason as the command.
            assert!(
                !tag.contains('['),
                "line {lineno}: no brackets inside [allow: ...] reasons: {line}"
            );
            match tag {
                "sort" => compare = Compare::Sorted,
                "rc" => compare = Compare::ExitOnly,
                "out" => compare = Compare::NoStderr,
                t if t.starts_with("allow:") => allow = Some(t["allow:".len()..].trim().into()),
                _ => break,
            }
            rest = r[end + 1..].trim_start();
        } else {
            break;
        }
    }
    Step {
        line: rest.to_string(),
        lineno,
        setup,
        compare,
        allow,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn lines_parse_into_groups_and_steps() {
        let g = super::parse(
            "x.cases",
            "# c\n== one\n$ D run -d busybox\n[sort] [allow: no daemon] D ps\n== two\nD ps\n",
        );
        assert_eq!(g.len(), 2);
        assert!(g[0].steps[0].setup);
        assert_eq!(g[0].steps[1].compare, super::Compare::Sorted);
        assert_eq!(g[0].steps[1].allow.as_deref(), Some("no daemon"));
        assert_eq!(g[0].steps[1].line, "D ps");
        assert_eq!(g[1].steps[0].lineno, 6);
    }

    #[test]
    #[should_panic(expected = "no brackets")]
    fn a_bracket_in_a_reason_is_refused() {
        super::parse("x.cases", "[allow: lists [::] too] D port x\n");
    }
}
