//! Every flag the docker 28 client lists for a command, rdock parses: a
//! script written for docker never fails on an unknown flag (rdock then
//! honours the flag or refuses it as docker on Linux does, which each
//! feature's own tests check).

mod common;
use common::*;

/// (long name, takes a value) of each flag in `docker CMD --help`.
fn docker_flags(cmd: &[&str]) -> Vec<(String, bool)> {
    let out = std::process::Command::new("docker")
        .args(cmd)
        .arg("--help")
        .output()
        .expect("the docker client (docker 28) is part of the test machine");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut flags = Vec::new();
    for line in text.lines() {
        let t = line.trim_start();
        let t = match t.strip_prefix('-') {
            // "-a, --attach list": the long name after the short one.
            Some(rest) if !rest.starts_with('-') => match t.split_once(", ") {
                Some((_, long)) => long,
                None => continue,
            },
            Some(_) => t,
            None => continue,
        };
        let Some(t) = t.strip_prefix("--") else {
            continue;
        };
        let mut words = t.split_whitespace();
        let name = words.next().unwrap_or_default().to_string();
        // A type word (list, string, int, ...) follows a flag that takes
        // a value, then two or more spaces and the description.
        let rest = &t[name.len()..];
        let takes = rest.starts_with(' ') && !rest.starts_with("  ");
        flags.push((name, takes));
    }
    flags
}

/// docker's commands and management subcommands, from its own help.
fn commands() -> Vec<Vec<String>> {
    let names = |args: &[&str]| -> Vec<String> {
        let out = std::process::Command::new("docker")
            .args(args)
            .arg("--help")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut in_list = false;
        let mut found = Vec::new();
        for line in text.lines() {
            if line.ends_with("Commands:") {
                in_list = true;
                continue;
            }
            if line.trim().is_empty() || !line.starts_with("  ") {
                in_list = false;
                continue;
            }
            if in_list {
                let word = line.split_whitespace().next().unwrap_or_default();
                found.push(word.trim_end_matches('*').to_string());
            }
        }
        found
    };
    let mut out = Vec::new();
    for c in names(&[]) {
        let subs = names(&[&c]);
        if subs.is_empty() {
            out.push(vec![c]);
        } else {
            for s in subs {
                out.push(vec![c.clone(), s]);
            }
        }
    }
    out
}

#[test]
fn every_docker_flag_of_every_command_parses() {
    let all = commands();
    assert!(all.len() > 50, "docker's commands not read: {all:?}");
    let mut checked = 0;
    let mut missing = Vec::new();
    for cmd in all {
        let cmd: Vec<&str> = cmd.iter().map(String::as_str).collect();
        let cmd = &cmd[..];
        for (flag, takes) in docker_flags(cmd) {
            checked += 1;
            if flag == "help" {
                continue;
            }
            let arg = if takes {
                format!("--{flag}=x")
            } else {
                format!("--{flag}")
            };
            let mut args: Vec<&str> = cmd.to_vec();
            args.push(&arg);
            args.push("--help");
            let out = std::process::Command::new(bin())
                .args(&args)
                .output()
                .unwrap();
            // A bad value may be refused (as docker refuses it), but in
            // docker's words, never as an unknown flag or in clap's.
            let err = String::from_utf8_lossy(&out.stderr);
            if !out.status.success()
                && (err.contains("unknown flag")
                    || err.contains("unknown command")
                    || err.contains("unexpected argument")
                    || err.contains("invalid value '"))
            {
                missing.push(format!("{cmd:?} {arg}: {}", err.trim()));
            }
        }
    }
    assert!(
        checked > 300,
        "only {checked} flags read from docker's help"
    );
    assert!(missing.is_empty(), "rdock does not parse: {missing:#?}");
}

#[test]
fn the_default_context_and_commands_of_engine_features_rdock_lacks() {
    let r = Rdock::new();
    let root = r.root.display().to_string();
    let ls = r.run(&["context", "ls"]).ok().to_string();
    let rows: Vec<&str> = ls.lines().collect();
    assert!(
        rows[0].starts_with("NAME") && rows[0].contains("DOCKER ENDPOINT"),
        "{ls}"
    );
    assert!(
        rows[1].starts_with("default *") && rows[1].contains(&root),
        "{ls}"
    );
    let json: serde_json::Value =
        serde_json::from_str(r.run(&["context", "ls", "--format", "json"]).ok()).unwrap();
    assert_eq!(json["Name"], "default");
    assert_eq!(json["Current"], true);
    assert_eq!(r.run(&["context", "show"]).ok(), "default\n");
    assert_eq!(
        r.run(&[
            "context",
            "inspect",
            "-f",
            "{{.Name}} {{.Endpoints.docker.Host}}"
        ])
        .ok()
        .trim(),
        format!("default {root}")
    );
    let used = r.run(&["context", "use", "default"]);
    assert_eq!(used.ok(), "default\n");
    assert!(used.stderr.contains("Current context is now \"default\""));
    let e = r.run(&["context", "use", "remote"]);
    assert_eq!(e.code, 1);
    assert!(
        e.stderr.contains("context \"remote\": context not found"),
        "{}",
        e.stderr
    );
    let e = r.run(&[
        "context",
        "create",
        "remote",
        "--docker",
        "host=tcp://h:2376",
    ]);
    assert_eq!(e.code, 1);
    // Swarm, plugins, trust, checkpoints: one clear line, docker's exit 1.
    for args in [
        &["swarm", "init", "--advertise-addr", "127.0.0.1"][..],
        &["service", "create", "--replicas", "2", "busybox"],
        &["stack", "deploy", "-c", "compose.yml", "app"],
        &["secret", "ls"],
        &["node", "ls"],
        &["config", "ls"],
        &["trust", "inspect", "busybox"],
        &["checkpoint", "create", "c", "cp1"],
        &["plugin", "install", "vieux/sshfs"],
    ] {
        let e = r.run(args);
        assert_eq!(e.code, 1, "{args:?}: {}", e.stderr);
        assert!(
            !e.stderr.starts_with("rdock: ") && e.stderr.lines().count() == 1,
            "{args:?}: {}",
            e.stderr
        );
    }
    assert!(r
        .run(&["swarm", "init"])
        .stderr
        .contains("not a swarm manager"));
    assert_eq!(
        r.run(&["plugin", "ls"]).ok(),
        "ID        NAME      DESCRIPTION   ENABLED\n"
    );
}
