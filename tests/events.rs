//! `events`: the journal every command writes, read back with docker's
//! filters, formats and time bounds, and followed live.

mod common;
use common::*;
use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

fn past(r: &Rdock, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["events", "--since", "10m", "--until", "0s"];
    args.extend_from_slice(extra);
    r.run(&args).ok().lines().map(String::from).collect()
}

#[test]
fn lifecycle_events_read_back_with_filters_and_formats() {
    let r = Rdock::with_busybox();
    let fmt = [
        "--format",
        "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}",
    ];
    r.run(&[
        "run", "--rm", "--name", "once", "--label", "tier=db", "busybox", "true",
    ])
    .ok();
    r.run(&["run", "-d", "--name", "svc", "busybox", "sleep", "600"])
        .ok();
    r.run(&["exec", "svc", "true"]).ok();
    r.run(&["pause", "svc"]).ok();
    r.run(&["unpause", "svc"]).ok();
    r.run(&["rename", "svc", "svc2"]).ok();
    r.run(&["kill", "svc2"]).ok();
    r.run(&["rm", "svc2"]).ok();
    r.run(&["tag", "busybox", "bb:two"]).ok();
    r.run(&["rmi", "bb:two"]).ok();
    r.run(&["volume", "create", "vol1"]).ok();
    r.run(&["volume", "rm", "vol1"]).ok();
    let mut a = vec!["--filter", "container=once"];
    a.extend_from_slice(&fmt);
    assert_eq!(
        past(&r, &a),
        [
            "container create once",
            // docker's client attaches a foreground run before its start.
            "container attach once",
            "container start once",
            "container die once",
            "container destroy once"
        ]
    );
    let mut a = vec!["--filter", "type=container", "--filter", "container=svc2"];
    a.extend_from_slice(&fmt);
    assert_eq!(
        past(&r, &a),
        [
            "container rename svc2",
            "container kill svc2",
            "container die svc2",
            "container destroy svc2"
        ]
    );
    let mut a = vec!["--filter", "event=pause", "--filter", "event=unpause"];
    a.extend_from_slice(&fmt);
    assert_eq!(
        past(&r, &a),
        ["container pause svc", "container unpause svc"]
    );
    let mut a = vec!["--filter", "event=exec_die"];
    a.extend_from_slice(&["--format", "{{.Action}} {{.Actor.Attributes.exitCode}}"]);
    assert_eq!(past(&r, &a), ["exec_die 0"]);
    let mut a = vec!["--filter", "label=tier=db", "--filter", "event=die"];
    a.extend_from_slice(&["--format", "{{.Actor.Attributes.exitCode}}"]);
    assert_eq!(past(&r, &a), ["0"]);
    let mut a = vec!["--filter", "type=image"];
    a.extend_from_slice(&["--format", "{{.Action}} {{.Actor.Attributes.name}}"]);
    // The harness's busybox was imported first.
    let images = past(&r, &a);
    assert!(images[0].starts_with("import sha256:"), "{images:?}");
    assert_eq!(images[1..], ["tag bb:two", "untag bb:two"]);
    // A volume's actor is its name (its attributes: the driver).
    let mut a = vec!["--filter", "type=volume"];
    a.extend_from_slice(&[
        "--format",
        "{{.Type}} {{.Action}} {{.Actor.ID}} {{.Actor.Attributes.driver}}",
    ]);
    assert_eq!(
        past(&r, &a),
        ["volume create vol1 local", "volume destroy vol1 local"]
    );
    // docker's default line and its JSON.
    let lines = past(&r, &["--filter", "container=once", "--filter", "event=die"]);
    assert_eq!(lines.len(), 1);
    assert!(
        lines[0].contains(" container die ")
            && lines[0]
                .ends_with("(execDuration=0, exitCode=0, image=busybox, name=once, tier=db)"),
        "{lines:?}"
    );
    let json = past(
        &r,
        &[
            "--filter",
            "container=once",
            "--filter",
            "event=start",
            "--format",
            "json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&json[0]).unwrap();
    assert_eq!(v["status"], "start");
    assert_eq!(v["from"], "busybox");
    assert_eq!(v["Type"], "container");
    assert_eq!(v["Actor"]["Attributes"]["name"], "once");
    assert_eq!(v["scope"], "local");
    assert_eq!(
        v["time"].as_i64().unwrap(),
        v["timeNano"].as_i64().unwrap() / 1_000_000_000
    );
    // --until before anything happened: nothing.
    assert!(r
        .run(&["events", "--since", "1h", "--until", "30m"])
        .ok()
        .is_empty());
    let e = r.run(&["events", "--filter", "colour=red", "--until", "0s"]);
    assert!(e.fails_1().contains("invalid filter 'colour'"));
    let e = r.run(&["events", "--since", "0s", "--until", "1h"]);
    assert!(e.fails_1().contains("cannot be after `until` time ("));
}

#[test]
fn events_follow_what_happens_from_now_on() {
    let r = Rdock::with_busybox();
    // Something before: not shown without --since.
    r.run(&["run", "--rm", "--name", "before", "busybox", "true"])
        .ok();
    let mut child = r
        .cmd(&[
            "events",
            "--filter",
            "event=start",
            "--format",
            "{{.Actor.Attributes.name}}",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(stdout).lines().map_while(|l| l.ok()) {
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    // Once it follows (a marker container's start comes through), act.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        r.run(&["run", "--rm", "--name", "marker", "busybox", "true"])
            .ok();
        match rx.recv_timeout(Duration::from_millis(500)) {
            Ok(l) => {
                assert_eq!(l, "marker");
                break;
            }
            Err(_) => assert!(Instant::now() < deadline, "the follower never started"),
        }
    }
    // Drain the other markers' lines.
    while let Ok(l) = rx.recv_timeout(Duration::from_millis(300)) {
        assert_eq!(l, "marker");
    }
    r.run(&["run", "--rm", "--name", "after", "busybox", "true"])
        .ok();
    let deadline = Instant::now() + Duration::from_secs(10);
    let got = loop {
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(100)) {
            break l;
        }
        assert!(Instant::now() < deadline, "no event followed");
    };
    assert_eq!(got, "after");
    let _ = child.kill();
    let _ = child.wait();
}
