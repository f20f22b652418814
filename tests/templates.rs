//! `--format` / `-f` templates as docker's CLI runs them (Go's
//! text/template, docker's formatter contexts), and the name filters.

mod common;
use common::Rdock;

/// `images --format TMPL busybox`: (exit status, stdout, stderr).
fn images(r: &Rdock, tmpl: &str) -> (i32, String, String) {
    let out = r.run(&["images", "--format", tmpl, "busybox"]);
    (out.code, out.stdout, out.stderr)
}

#[test]
fn go_template_features_on_image_rows() {
    let r = Rdock::with_busybox();
    for (tmpl, want) in [
        ("{{.Repository}}:{{.Tag}}", "busybox:latest\n"),
        ("{{slice .Repository 1 3}} {{index .Tag 1}}", "us 97\n"),
        ("{{print 1 2 \"a\" \"b\" 3}}", "1 2ab3\n"),
        (
            "{{printf \"%d|%5s|\" .Tag \"ab\"}}",
            "%!d(string=latest)|   ab|\n",
        ),
        (
            "{{define \"x\"}}X{{.}}{{end}}{{template \"x\" .Tag}}",
            "Xlatest\n",
        ),
        ("{{block \"b\" .}}B{{.Tag}}{{end}}", "Blatest\n"),
        (
            "{{range split \"a,b,c\" \",\"}}{{if eq . \"b\"}}{{break}}{{end}}{{.}}{{end}}",
            "a\n",
        ),
        (
            "{{html \"<a>\"}} {{urlquery \"a b&c\"}}",
            "&lt;a&gt; a+b%26c\n",
        ),
        ("{{- \" x \" -}} {{/* c */}} {{- .Tag -}}", " x latest\n"),
    ] {
        assert_eq!(
            images(&r, tmpl),
            (0, want.to_string(), String::new()),
            "{tmpl}"
        );
    }
    let (_, table, _) = images(&r, "table {{.ID}}\\t{{upper .Tag}}");
    let mut lines = table.lines();
    // Header functions leave the column names alone.
    assert_eq!(lines.next(), Some("IMAGE ID       TAG"));
    assert!(lines.next().is_some_and(|l| l.ends_with("   LATEST")));
}

#[test]
fn template_errors_read_as_go_and_exit_1() {
    let r = Rdock::with_busybox();
    for (tmpl, err) in [
        (
            "{{.Nope}}",
            "template: :1:2: executing \"\" at <.Nope>: can't evaluate field Nope in type *formatter.imageContext",
        ),
        (
            "{{.ID.Foo}}",
            "template: :1:5: executing \"\" at <.ID.Foo>: can't evaluate field Foo in type string",
        ),
        (
            "{{.ID \"x\"}}",
            "template: :1:2: executing \"\" at <.ID>: wrong number of args for ID: want 0 got 1",
        ),
        ("{{nosuch 1}}", "template: :1: function \"nosuch\" not defined"),
        ("{{.ID}", "template: :1: bad character U+007D '}'"),
        ("{{if}}", "template: :1: missing value for if"),
        ("{{)}}", "template: :1: unexpected right paren"),
        ("{{break}}", "template: :1: {{break}} outside {{range}}"),
        (
            "{{lt 1 2.5}}",
            "template: :1:2: executing \"\" at <lt 1 2.5>: error calling lt: incompatible types for comparison",
        ),
        (
            "{{upper 1}}",
            "template: :1:8: executing \"\" at <1>: expected string; found 1",
        ),
    ] {
        let (code, out, stderr) = images(&r, tmpl);
        assert_eq!((code, out.as_str()), (1, ""), "{tmpl}: {stderr}");
        assert_eq!(
            stderr.trim_end(),
            format!("template parsing error: {err}"),
            "{tmpl}"
        );
    }
}

#[test]
fn label_methods_and_name_regexps() {
    let r = Rdock::with_busybox();
    r.run(&[
        "run", "-d", "--name", "tmpl-lw", "-l", "tier=web", "-l", "a=b", "busybox", "sleep", "300",
    ])
    .ok();
    r.run(&["volume", "create", "--label", "tier=db", "tmpl-lv"])
        .ok();
    let ps = |f: &str, t: &str| r.run(&["ps", "-a", "--filter", f, "--format", t]);
    assert_eq!(
        ps(
            "name=tmpl-lw",
            "{{.Label \"tier\"}}|{{.Labels}}|{{.Label \"x\"}}"
        )
        .ok(),
        "web|a=b,tier=web|\n"
    );
    assert_eq!(
        ps(
            "name=tmpl-lw",
            "table {{.Names}}\\t{{.Label \"com.x_y-z\"}}"
        )
        .ok(),
        "NAMES     x y z\ntmpl-lw   \n"
    );
    let bad = ps("name=tmpl-lw", "table {{.ID}}\\t{{.Nope}}");
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr
            .starts_with("failed to execute template: template: :1:17:"),
        "{}",
        bad.stderr
    );
    assert_eq!(ps("name=^tmpl-l", "{{.Names}}").ok(), "tmpl-lw\n");
    assert_eq!(ps("name=^/tmpl-lw$", "{{.Names}}").ok(), "tmpl-lw\n");
    assert_eq!(ps("name=^lw", "{{.Names}}").ok(), "");
    assert_eq!(ps("name=[", "{{.Names}}").ok(), "");
    let vols = |f: &str| {
        r.run(&[
            "volume",
            "ls",
            "--filter",
            f,
            "--format",
            "{{.Name}} {{.Label \"tier\"}}",
        ])
    };
    assert_eq!(vols("name=^tmpl-l.$").ok(), "tmpl-lv db\n");
    assert_eq!(vols("name=^lv").ok(), "");
    r.run(&["rm", "-f", "tmpl-lw"]).ok();
    r.run(&["volume", "rm", "tmpl-lv"]).ok();
}

#[test]
fn inspect_runs_typed_then_raw_as_docker() {
    let r = Rdock::with_busybox();
    let f = |t: &str| r.run(&["inspect", "-f", t, "busybox"]);
    let nope = f("{{.Config.Nope}}");
    assert_eq!((nope.code, nope.stdout.as_str()), (1, "\n"));
    assert_eq!(
        nope.stderr.trim_end(),
        "template parsing error: template: :1:9: executing \"\" at <.Config.Nope>: map has no entry for key \"Nope\""
    );
    // A map's missing key is no error; in the raw fallback a nil is.
    assert_eq!(
        f("{{.Config.Labels.x}}|{{print .Config.Labels.x}}").ok(),
        "<no value>|<nil>\n"
    );
    let len = f("{{len .Config.Labels.x}}");
    assert!(
        len.stderr
            .contains("at <.Config.Labels.x>: nil pointer evaluating interface {}.x"),
        "{}",
        len.stderr
    );
    assert_eq!(
        f("{{json .Config.Cmd}} {{.Config.Cmd}}").ok(),
        "[\"sh\"] [sh]\n"
    );
    // No \t unescaping for inspect.
    assert_eq!(f("{{.Os}}\\t").ok(), "linux\\t\n");
    // docker's 4-space indented JSON.
    let json = r.run(&["inspect", "busybox"]);
    assert!(
        json.ok().starts_with("[\n    {\n        \""),
        "{}",
        json.stdout
    );
}
