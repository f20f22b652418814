use super::*;
use serde_json::json;

fn r(t: &str, v: &Value) -> String {
    Template::parse(t).unwrap().render(v).unwrap()
}

#[test]
fn fields_and_go_printing() {
    let v = json!({"A": {"B": "x"}, "L": ["a", "b"], "M": {"z": 1, "a": true}, "N": null, "I": 3});
    assert_eq!(r("{{.A.B}}", &v), "x");
    assert_eq!(r("{{.L}}", &v), "[a b]");
    assert_eq!(r("{{.M}}", &v), "map[a:true z:1]");
    assert_eq!(r("{{.N}}", &v), "<nil>");
    assert_eq!(r("{{.Missing}}", &v), "<no value>");
    assert_eq!(r("{{.Missing.Deeper}}", &v), "<no value>");
    assert_eq!(r("{{.I}}", &v), "3");
    assert_eq!(r("{{json .A}}", &v), r#"{"B":"x"}"#);
    assert_eq!(r("{{json .Missing}}", &v), "null");
    assert_eq!(r("{{json .}}", &json!({"a": "<&>"})), r#"{"a":"<&>"}"#);
}

#[test]
fn functions() {
    let v = json!({"S": "Hello world", "L": ["a", "b"], "M": {"k": "v"}});
    assert_eq!(r("{{upper .S}}", &v), "HELLO WORLD");
    assert_eq!(r("{{.S | lower}}", &v), "hello world");
    assert_eq!(r("{{title \"hello big world\"}}", &v), "Hello Big World");
    assert_eq!(r("{{join .L \",\"}}", &v), "a,b");
    assert_eq!(r("{{split \"a:b:c\" \":\"}}", &v), "[a b c]");
    assert_eq!(r("{{truncate .S 5}}", &v), "Hello");
    assert_eq!(r("{{len .L}}", &v), "2");
    assert_eq!(r("{{index .M \"k\"}} {{index .L 1}}", &v), "v b");
    assert_eq!(
        r("{{printf \"%-6s|%3d|%q\" \"ab\" 7 \"x\"}}", &v),
        "ab    |  7|\"x\""
    );
    assert_eq!(r("{{println .S}}", &v), "Hello world\n");
    assert_eq!(r("{{(index .L 0) | upper}}", &v), "A");
    assert_eq!(r("{{pad .S 1 2}}", &v), " Hello world  ");
}

#[test]
fn control_flow() {
    let v = json!({"L": ["a", "b"], "E": [], "T": true, "M": {"y": 2, "x": 1}, "N": 0});
    assert_eq!(r("{{range .L}}<{{.}}>{{end}}", &v), "<a><b>");
    assert_eq!(
        r("{{range $i, $e := .L}}{{$i}}={{$e}} {{end}}", &v),
        "0=a 1=b "
    );
    assert_eq!(r("{{range $k, $v := .M}}{{$k}}{{$v}}{{end}}", &v), "x1y2");
    assert_eq!(r("{{range .E}}x{{else}}empty{{end}}", &v), "empty");
    assert_eq!(r("{{if .T}}yes{{else}}no{{end}}", &v), "yes");
    assert_eq!(r("{{if .N}}a{{else if .T}}b{{else}}c{{end}}", &v), "b");
    assert_eq!(r("{{if eq .N 0}}zero{{end}}", &v), "zero");
    assert_eq!(r("{{if and .T (not .N)}}ok{{end}}", &v), "ok");
    assert_eq!(r("{{with .M}}{{.x}}{{end}}", &v), "1");
    assert_eq!(r("{{$x := .N}}{{$x}}", &v), "0");
    assert_eq!(r("a {{- /* c */ -}} b", &v), "ab");
    assert_eq!(r("{{range .L -}}\n  {{.}}\n{{- end}}", &v), "ab");
    assert_eq!(r("{{range .L}}{{$.N}}{{end}}", &v), "00");
}

#[test]
fn errors() {
    assert!(matches!(
        Template::parse("{{.A"),
        Err(TemplateError::Parse(_))
    ));
    assert!(matches!(
        Template::parse("{{if .A}}x"),
        Err(TemplateError::Parse(_))
    ));
    assert!(matches!(
        Template::parse("{{end}}"),
        Err(TemplateError::Parse(_))
    ));
    assert!(matches!(
        Template::parse("{{\"abc}}"),
        Err(TemplateError::Parse(_))
    ));
    assert_eq!(
        Template::parse("{{nosuch .A}}").err(),
        Some(TemplateError::Parse(
            "template: :1: function \"nosuch\" not defined".into()
        ))
    );
}

#[test]
fn malformed_templates_are_errors_not_panics() {
    for t in [
        "{{(}}",
        "{{)}}",
        "{{((.A)}}",
        "{{\"abc}}",
        "{{`abc}}",
        "{{\"a\\}}",
        "{{$x :=}}",
        "{{, }}",
        "{{:=}}",
        "{{-}}",
        "{{.}",
        "{{ -1.2.3 }}",
        "{{end}}",
        "{{if}}",
        "{{else}}",
        "{{printf}}",
        "{{index}}",
        "{{eq 1}}",
        "{{pad .A 1}}",
        "{{.é.ü}}",
        "{{$é}}",
    ] {
        let _ = Template::parse(t).and_then(|p| p.render(&json!({"A": "x"})));
    }
    assert_eq!(
        r("{{printf \"%5s|%-3d|\" .A 7}}", &json!({"A": "é"})),
        "    é|7  |"
    );
    assert_eq!(r("{{printf \"%s\"}}", &json!({})), "%!s(MISSING)");
    assert_eq!(
        r("{{printf \"x\" 1 2}}", &json!({})),
        "x%!(EXTRA int=1, int=2)"
    );
    assert_eq!(r("{{(index .L 1)}}", &json!({"L": [1, 2]})), "2");
    assert!(Template::parse("{{$a, $b := 1}}").is_err());
}
