//! The Engine API's networks, volumes, events, disk usage and prunes,
//! driven by the real docker 28 CLI over the service's socket, and
//! compared with what rdock's own CLI prints on the same store.

mod common;

use common::api::{text, Service};
use common::Rdock;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The same command through docker (API) and rdock (CLI): same stdout.
fn same(r: &Rdock, s: &Service, args: &[&str]) -> String {
    let docker = s.ok(args);
    let rdock = r.run(args).ok().to_string();
    assert_eq!(docker, rdock, "{args:?}");
    docker
}

#[test]
fn networks_through_the_api() {
    let r = Rdock::with_busybox();
    let s = Service::start(&r, &["--time", "0"]);
    let id = s.ok(&["network", "create", "--label", "tier=back", "apinet1"]);
    assert_eq!(id.trim().len(), 64, "{id}");
    same(&r, &s, &["network", "ls"]);
    same(
        &r,
        &s,
        &["network", "ls", "--filter", "label=tier=back", "-q"],
    );
    assert_eq!(
        s.ok(&[
            "network",
            "ls",
            "--filter",
            "name=apinet",
            "--format",
            "{{.Name}} {{.Driver}}"
        ]),
        "apinet1 bridge\n"
    );
    let (code, _, err) = text(&s.docker(&["network", "ls", "--filter", "colour=red"]));
    assert_eq!(
        (code, err.as_str()),
        (1, "Error response from daemon: invalid filter 'colour'\n")
    );
    same(&r, &s, &["network", "inspect", "apinet1"]);
    assert_eq!(
        s.ok(&[
            "network",
            "inspect",
            "--format",
            "{{.Name}} {{.Labels.tier}} {{.Internal}}",
            "apinet1"
        ]),
        "apinet1 back false\n"
    );
    // Errors in the engine's words, with docker's statuses (rm -f: 404).
    let (code, _, err) = text(&s.docker(&["network", "create", "apinet1"]));
    assert_eq!(
        (code, err.as_str()),
        (
            1,
            "Error response from daemon: network with name apinet1 already exists\n"
        )
    );
    let (code, out, err) = text(&s.docker(&["network", "inspect", "nope"]));
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (
            1,
            "[]\n",
            "Error response from daemon: network nope not found\n"
        )
    );
    assert_eq!(s.ok(&["network", "rm", "-f", "nope"]), "");

    // Containers on the network reach each other by name; connect and
    // disconnect show in inspect.
    s.ok(&[
        "run",
        "-d",
        "--name",
        "apinet-web",
        "--network",
        "apinet1",
        "busybox",
        "sleep",
        "300",
    ]);
    assert_eq!(
        s.ok(&[
            "run",
            "--rm",
            "--network",
            "apinet1",
            "busybox",
            "sh",
            "-c",
            "ping -c1 -W3 apinet-web >/dev/null && echo reached"
        ]),
        "reached\n"
    );
    s.ok(&["network", "create", "apinet2"]);
    s.ok(&[
        "network",
        "connect",
        "--alias",
        "db",
        "apinet2",
        "apinet-web",
    ]);
    assert_eq!(
        s.ok(&[
            "inspect",
            "--format",
            "{{range $k, $v := .NetworkSettings.Networks}}{{$k}}={{$v.Aliases}} {{end}}",
            "apinet-web"
        ]),
        r.run(&[
            "inspect",
            "--format",
            "{{range $k, $v := .NetworkSettings.Networks}}{{$k}}={{$v.Aliases}} {{end}}",
            "apinet-web"
        ])
        .ok()
    );
    assert_eq!(
        s.ok(&[
            "network",
            "inspect",
            "--format",
            "{{range .Containers}}{{.Name}}{{end}}",
            "apinet2"
        ]),
        "apinet-web\n"
    );
    same(&r, &s, &["network", "inspect", "apinet2"]);
    s.ok(&["network", "disconnect", "apinet2", "apinet-web"]);
    assert_eq!(
        s.ok(&[
            "network",
            "inspect",
            "--format",
            "{{len .Containers}}",
            "apinet2"
        ]),
        "0\n"
    );
    let (code, _, err) = text(&s.docker(&["network", "disconnect", "apinet2", "apinet-web"]));
    assert_eq!(code, 1);
    assert!(err.contains("is not connected to network apinet2"), "{err}");
    // In use: refused; predefined: refused.
    let (code, _, err) = text(&s.docker(&["network", "rm", "apinet1"]));
    assert_eq!(code, 1);
    assert!(err.contains("has active endpoints"), "{err}");
    let (code, _, err) = text(&s.docker(&["network", "rm", "host"]));
    assert_eq!(
        (code, err.as_str()),
        (1, "Error response from daemon: host is a pre-defined network and cannot be removed\nexit status 1\n")
    );
    assert_eq!(s.ok(&["network", "rm", "apinet2"]), "apinet2\n");
    assert_eq!(
        r.run(&["network", "ls", "-q", "--filter", "name=apinet2"])
            .ok(),
        ""
    );
    // Prune: the network a container names stays.
    s.ok(&["network", "create", "apinet3"]);
    assert_eq!(
        s.ok(&["network", "prune", "-f"]),
        "Deleted Networks:\napinet3\n\n"
    );
    s.ok(&["rm", "-f", "apinet-web"]);
    assert_eq!(
        s.ok(&["network", "prune", "-f"]),
        "Deleted Networks:\napinet1\n\n"
    );
    assert_eq!(s.ok(&["network", "prune", "-f"]), "");
}

#[test]
fn volumes_through_the_api() {
    let r = Rdock::with_busybox();
    let s = Service::start(&r, &["--time", "0"]);
    assert_eq!(
        s.ok(&["volume", "create", "--label", "k=v", "apivol1"]),
        "apivol1\n"
    );
    let anon = s.ok(&["volume", "create"]);
    assert_eq!(anon.trim().len(), 64, "{anon}");
    same(&r, &s, &["volume", "ls"]);
    same(&r, &s, &["volume", "ls", "--filter", "label=k=v"]);
    same(&r, &s, &["volume", "inspect", "apivol1"]);
    assert_eq!(
        s.ok(&[
            "volume",
            "inspect",
            "--format",
            "{{.Name}} {{.Driver}} {{.Labels.k}}",
            "apivol1"
        ]),
        "apivol1 local v\n"
    );
    let (code, out, err) = text(&s.docker(&["volume", "inspect", "nope"]));
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (
            1,
            "[]\n",
            "Error response from daemon: get nope: no such volume\n"
        )
    );
    assert_eq!(s.ok(&["volume", "rm", "-f", "nope"]), "nope\n");
    // A container's named volume: written through one, read by another.
    s.ok(&[
        "run",
        "--rm",
        "-v",
        "apivol1:/data",
        "busybox",
        "sh",
        "-c",
        "echo kept > /data/f",
    ]);
    s.ok(&[
        "create",
        "--name",
        "apivol-user",
        "-v",
        "apivol1:/data",
        "busybox",
        "true",
    ]);
    assert_eq!(
        s.ok(&[
            "run",
            "--rm",
            "-v",
            "apivol1:/data",
            "busybox",
            "cat",
            "/data/f"
        ]),
        "kept\n"
    );
    same(&r, &s, &["volume", "ls", "--filter", "dangling=true", "-q"]);
    let (code, _, err) = text(&s.docker(&["volume", "rm", "apivol1"]));
    assert_eq!(code, 1);
    assert!(err.contains("remove apivol1: volume is in use"), "{err}");
    // Prune: the anonymous one only, then (-a) every unused one.
    assert_eq!(
        s.ok(&["volume", "prune", "-f"]),
        format!(
            "Deleted Volumes:\n{}\n\nTotal reclaimed space: 0B\n",
            anon.trim()
        )
    );
    s.ok(&["rm", "apivol-user"]);
    assert_eq!(
        s.ok(&["volume", "prune", "-af"]),
        "Deleted Volumes:\napivol1\n\nTotal reclaimed space: 5B\n"
    );
    s.ok(&["volume", "create", "apivol2"]);
    assert_eq!(s.ok(&["volume", "rm", "apivol2"]), "apivol2\n");
    assert_eq!(r.run(&["volume", "ls", "-q"]).ok(), "");
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn events_through_the_api() {
    let r = Rdock::with_busybox();
    let s = Service::start(&r, &["--time", "0"]);
    let since = unix_now().to_string();
    s.ok(&["run", "--name", "apiev1", "busybox", "true"]);
    let until = (unix_now() + 1).to_string();
    // The past: docker formats the API's messages as rdock prints its own.
    let fmt = "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}";
    let past = same(
        &r,
        &s,
        &[
            "events", "--since", &since, "--until", &until, "--format", fmt,
        ],
    );
    for want in [
        "container create apiev1",
        "container start apiev1",
        "container die apiev1",
    ] {
        assert!(past.contains(want), "{want}: {past}");
    }
    same(&r, &s, &["events", "--since", &since, "--until", &until]);
    assert_eq!(
        same(
            &r,
            &s,
            &[
                "events",
                "--since",
                &since,
                "--until",
                &until,
                "--filter",
                "event=die",
                "--format",
                fmt
            ]
        ),
        "container die apiev1\n"
    );
    let (code, _, err) = text(&s.docker(&["events", "--since", "10", "--until", "5"]));
    assert_eq!(code, 1);
    assert!(
        err.contains("`since` time (10) cannot be after `until` time (5)"),
        "{err}"
    );

    // Followed: what happens after the client asked, until it goes away.
    let mut child = s
        .docker_cmd(&["events", "--filter", "container=apiev2", "--format", fmt])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for l in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    // The stream is open once the service's worker holds it: start the
    // container until its events show (a start before the subscription
    // is not followed, as docker's).
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = Vec::new();
    r.run(&["create", "--name", "apiev2", "busybox", "sleep", "1"])
        .ok();
    while !seen.iter().any(|l: &String| l == "container start apiev2") {
        assert!(Instant::now() < deadline, "no start event: {seen:?}");
        r.run(&["start", "apiev2"]).ok();
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(1500)) {
            seen.push(l);
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(seen.iter().all(|l| l.ends_with(" apiev2")), "{seen:?}");
    s.ok(&["rm", "-f", "apiev1", "apiev2"]);
}

#[test]
fn disk_usage_and_prunes_through_the_api() {
    let r = Rdock::with_busybox();
    let s = Service::start(&r, &["--time", "0"]);
    s.ok(&[
        "run",
        "--name",
        "apidf1",
        "busybox",
        "sh",
        "-c",
        "echo data > /f",
    ]);
    s.ok(&["run", "-d", "--name", "apidf2", "busybox", "sleep", "300"]);
    s.ok(&["volume", "create", "apidfvol"]);
    same(&r, &s, &["system", "df"]);
    same(
        &r,
        &s,
        &[
            "system",
            "df",
            "--format",
            "{{.Type}} {{.TotalCount}} {{.Active}}",
        ],
    );
    assert_eq!(
        s.ok(&[
            "system",
            "df",
            "-v",
            "--format",
            "{{range .Containers}}{{.Names}} {{end}}{{range .Volumes}}{{.Name}} {{.Links}}{{end}}"
        ]),
        r.run(&[
            "system",
            "df",
            "-v",
            "--format",
            "{{range .Containers}}{{.Names}} {{end}}{{range .Volumes}}{{.Name}} {{.Links}}{{end}}"
        ])
        .ok()
    );
    // Container prune: the stopped one goes, its ID listed.
    let id = r
        .run(&["inspect", "--format", "{{.Id}}", "apidf1"])
        .ok()
        .trim()
        .to_string();
    let out = s.ok(&["container", "prune", "-f"]);
    assert!(
        out.starts_with(&format!(
            "Deleted Containers:\n{id}\n\nTotal reclaimed space: "
        )),
        "{out}"
    );
    assert_eq!(
        r.run(&["ps", "-a", "--format", "{{.Names}}"]).ok(),
        "apidf2\n"
    );
    assert_eq!(
        s.ok(&["container", "prune", "-f"]),
        "Total reclaimed space: 0B\n"
    );
    // Image prune: a dangling image (an untagged commit) goes; busybox,
    // used, stays even with -a.
    let img = r.run(&["commit", "apidf2"]).ok().trim().to_string();
    let out = s.ok(&["image", "prune", "-f"]);
    assert!(
        out.starts_with(&format!(
            "Deleted Images:\ndeleted: {img}\n\nTotal reclaimed space: "
        )),
        "{out}"
    );
    assert_eq!(
        s.ok(&["image", "prune", "-af"]),
        "Total reclaimed space: 0B\n"
    );
    assert_eq!(
        r.run(&["images", "--format", "{{.Repository}}"]).ok(),
        "busybox\n"
    );
    let (code, _, err) = text(&s.docker(&["container", "prune", "-f", "--filter", "colour=red"]));
    assert_eq!(
        (code, err.as_str()),
        (1, "Error response from daemon: invalid filter 'colour'\n")
    );
    s.ok(&["rm", "-f", "apidf2"]);
    s.ok(&["volume", "rm", "apidfvol"]);
}
