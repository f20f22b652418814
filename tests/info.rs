//! `version`, `info`, `system df` and anonymous volumes, as docker 28 shows
//! them (issue 21); the side-by-side comparison is tests/conformance/info.cases.

mod common;
use common::Rdock;

fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s.trim()).expect("JSON")
}

fn keys(v: &serde_json::Value) -> Vec<String> {
    v.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

#[test]
fn version_names_rdocks_engine_as_the_server() {
    let r = Rdock::new();
    let v = env!("CARGO_PKG_VERSION");
    assert_eq!(
        r.run(&["version", "--format", "{{.Server.Version}}"]).ok(),
        format!("{v}\n")
    );
    assert_eq!(
        r.run(&[
            "version",
            "--format",
            "{{.Client.APIVersion}} {{.Server.APIVersion}} {{.Server.Os}} {{range .Server.Components}}{{.Name}}{{end}}",
        ])
        .ok(),
        "1.50 1.50 linux Engine\n"
    );
    let doc = json(r.run(&["version", "--format", "{{json .}}"]).ok());
    assert_eq!(keys(&doc), ["Client", "Server"]);
    assert_eq!(
        keys(&doc["Server"])[..5],
        [
            "Platform",
            "Components",
            "Version",
            "ApiVersion",
            "MinAPIVersion"
        ]
    );
    assert_eq!(doc["Client"]["ApiVersion"], "1.50");
    let text = r.run(&["version"]).ok().to_string();
    assert!(text.starts_with("Client:\n Version:           "), "{text}");
    assert!(text.contains("\nServer: rdock"), "{text}");
    // Go's template errors: 64 for one that does not parse.
    let bad = r.run(&["version", "--format", "{{.Foo"]);
    assert_eq!(bad.code, 64, "{}", bad.stderr);
    assert_eq!(
        bad.stderr,
        "template parsing error: template: version:1: unclosed action\n"
    );
}

#[test]
fn info_has_dockers_keys_and_counts() {
    let r = Rdock::with_busybox();
    r.run(&["create", "--name", "infone", "busybox", "true"])
        .ok();
    let doc = json(r.run(&["info", "--format", "{{json .}}"]).ok());
    let k = keys(&doc);
    for want in [
        "ID",
        "Containers",
        "DriverStatus",
        "Plugins",
        "MemoryLimit",
        "LoggingDriver",
        "OperatingSystem",
        "OSVersion",
        "MemTotal",
        "Name",
        "Labels",
        "Runtimes",
        "DefaultRuntime",
        "Swarm",
        "SecurityOptions",
        "Warnings",
        "ClientInfo",
    ] {
        assert!(k.iter().any(|x| x == want), "{want} missing: {k:?}");
    }
    assert_eq!(k.first().map(String::as_str), Some("ID"));
    assert_eq!(k.last().map(String::as_str), Some("ClientInfo"));
    assert_eq!(doc["Containers"], 1);
    assert_eq!(doc["ContainersStopped"], 1);
    assert_eq!(doc["Images"], 1);
    assert_eq!(doc["Swarm"]["LocalNodeState"], "inactive");
    assert_eq!(doc["ServerVersion"], env!("CARGO_PKG_VERSION"));
    // The ID is made once and kept.
    let id = r.run(&["info", "--format", "{{.ID}}"]).ok().to_string();
    assert_eq!(id.trim().len(), 36, "{id}");
    assert_eq!(r.run(&["info", "--format", "{{.ID}}"]).ok(), id);
    // An empty engine-id (a crash between create and write) makes way.
    let file = r.root.join("engine-id");
    std::fs::write(&file, "").unwrap();
    let again = r.run(&["info", "--format", "{{.ID}}"]).ok().to_string();
    assert_eq!(again.trim().len(), 36, "{again}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), again.trim());
    let text = r.run(&["info"]).ok().to_string();
    for line in [
        "Client:\n Version:",
        "\nServer:\n Containers: 1\n  Running: 0\n  Paused: 0\n  Stopped: 1\n Images: 1\n",
        "\n Swarm: inactive\n",
        "\n Docker Root Dir: ",
    ] {
        assert!(text.contains(line), "{line:?} not in {text}");
    }
    r.run(&["rm", "infone"]).ok();
}

#[test]
fn system_df_sizes_and_sections_as_docker() {
    let r = Rdock::with_busybox();
    r.run(&["tag", "busybox", "other:tag"]).ok();
    r.run(&[
        "run",
        "--network",
        "none",
        "--name",
        "dfone",
        "busybox",
        "sh",
        "-c",
        "echo hi > /f",
    ])
    .ok();
    let out = r
        .run(&["system", "df", "--format", "{{.Type}}|{{.Reclaimable}}"])
        .ok()
        .to_string();
    // A stopped container's 3 bytes are all reclaimable; no volumes: no percent.
    assert!(out.contains("Containers|3B (100%)\n"), "{out}");
    assert!(out.contains("Local Volumes|0B\n"), "{out}");
    // -v: one row an image, whatever its tags.
    let v = r
        .run(&[
            "system",
            "df",
            "-v",
            "--format",
            "{{range .Images}}{{.Containers}};{{end}}",
        ])
        .ok()
        .to_string();
    assert_eq!(v, "1;");
    let doc = json(r.run(&["system", "df", "-v", "--format", "json"]).ok());
    assert_eq!(
        keys(&doc),
        ["Images", "Containers", "Volumes", "BuildCache"]
    );
    assert_eq!(doc["Containers"][0]["Size"], "3B");
    r.run(&["rm", "dfone"]).ok();
    r.run(&["rmi", "other:tag"]).ok();
}

#[test]
fn unnamed_volumes_are_anonymous_and_prune_takes_only_those() {
    let r = Rdock::new();
    let anon = r.run(&["volume", "create"]).ok().trim().to_string();
    r.run(&["volume", "create", "named"]).ok();
    r.run(&["volume", "create", "--label", "keep=1", "kept"])
        .ok();
    assert_eq!(
        r.run(&[
            "volume",
            "ls",
            "-q",
            "--filter",
            "label=com.docker.volume.anonymous"
        ])
        .ok(),
        format!("{anon}\n")
    );
    // Only the anonymous one, unless all.
    let out = r.run(&["volume", "prune", "-f"]).ok().to_string();
    assert!(out.contains(&anon) && !out.contains("named"), "{out}");
    // all=true is -a; label!= keeps what it names.
    let out = r
        .run(&[
            "volume",
            "prune",
            "-f",
            "--filter",
            "all=true",
            "--filter",
            "label!=keep=1",
        ])
        .ok()
        .to_string();
    assert_eq!(
        out,
        "Deleted Volumes:\nnamed\n\nTotal reclaimed space: 0B\n"
    );
    let bad = r.run(&["volume", "prune", "-f", "--filter", "all=maybe"]);
    assert_eq!(bad.fails_1(), "invalid filter 'all=maybe'\n");
    assert_eq!(r.run(&["volume", "ls", "-q"]).ok(), "kept\n");
    r.run(&["volume", "rm", "kept"]).ok();
}
