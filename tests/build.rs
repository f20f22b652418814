//! `build`: the seeds' Dockerfiles, every instruction, the cache,
//! multi-stage builds, .dockerignore, contexts on stdin, bad Dockerfiles.

mod common;
use common::*;
use std::path::Path;

/// A context directory with these files (parents made as needed).
fn context(r: &Rdock, name: &str, files: &[(&str, &str)]) -> std::path::PathBuf {
    let dir = r.dir.path().join(name);
    for (path, body) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn inspect(r: &Rdock, image: &str, format: &str) -> String {
    r.run(&["image", "inspect", "-f", format, image])
        .ok()
        .trim()
        .to_string()
}

/// No build container is left behind, whatever happened.
fn no_containers(r: &Rdock) {
    assert_eq!(
        r.run(&["ps", "-aq"]).ok(),
        "",
        "intermediate containers left"
    );
}

#[test]
fn seed_example_builds_runs_and_caches() {
    let r = Rdock::with_busybox();
    // The seed's ubuntu/sshd Dockerfile, on busybox (adduser and chpasswd
    // as plain file edits).
    let df = r#"FROM    busybox
MAINTAINER    Fisher "fisher@sudops.com"
RUN     /bin/echo 'root:123456' > /root/pw
RUN     echo 'duo:x:1000:1000::/home/duo:/bin/sh' >> /etc/passwd
RUN     /bin/echo -e "LANG=\"en_US.UTF-8\"" >/etc/default_local
EXPOSE  22
EXPOSE  80
CMD     /usr/sbin/sshd -D
"#;
    let ctx = context(&r, "sshd", &[("Dockerfile", df)]);
    let out = r.run(&["build", "-t", "duo/ubuntu:16.04", p(&ctx)]);
    let text = out.ok();
    assert!(text.contains("Step 1/8 : FROM busybox"), "{text}");
    assert!(
        text.contains("Step 3/8 : RUN /bin/echo 'root:123456' > /root/pw"),
        "{text}"
    );
    assert!(
        text.contains("Successfully tagged duo/ubuntu:16.04"),
        "{text}"
    );
    let id = inspect(&r, "duo/ubuntu:16.04", "{{.Id}}");
    assert!(
        text.contains(&format!("Successfully built {}", &id[7..19])),
        "{text}"
    );
    no_containers(&r);
    assert!(r.run(&["images"]).ok().contains("duo/ubuntu"));
    assert_eq!(
        inspect(&r, "duo/ubuntu:16.04", "{{json .Config.Cmd}}"),
        r#"["/bin/sh","-c","/usr/sbin/sshd -D"]"#
    );
    assert_eq!(
        inspect(&r, "duo/ubuntu:16.04", "{{json .Config.ExposedPorts}}"),
        r#"{"22/tcp":{},"80/tcp":{}}"#
    );
    assert_eq!(
        inspect(&r, "duo/ubuntu:16.04", "{{.Author}}"),
        r#"Fisher "fisher@sudops.com""#
    );
    let run = r.run(&[
        "run",
        "--rm",
        "duo/ubuntu:16.04",
        "sh",
        "-c",
        "cat /etc/default_local /root/pw; grep duo /etc/passwd",
    ]);
    assert_eq!(
        run.ok(),
        "LANG=\"en_US.UTF-8\"\nroot:123456\nduo:x:1000:1000::/home/duo:/bin/sh\n"
    );
    let history = r
        .run(&["history", "--no-trunc", "duo/ubuntu:16.04"])
        .ok()
        .to_string();
    assert!(
        history.contains("RUN /bin/sh -c echo 'duo:x:1000"),
        "{history}"
    );
    assert!(history.contains("EXPOSE"), "{history}");

    // Everything again: every step from the cache, the same image.
    let again = r.run(&["build", "-t", "duo/ubuntu:16.04", p(&ctx)]);
    let text = again.ok();
    assert_eq!(text.matches("Using cache").count(), 7, "{text}");
    assert!(!text.contains("Running in"), "{text}");
    assert_eq!(inspect(&r, "duo/ubuntu:16.04", "{{.Id}}"), id);

    // A changed step runs again, and so does every step after it.
    std::fs::write(
        ctx.join("Dockerfile"),
        df.replace("EXPOSE  80", "EXPOSE  8080"),
    )
    .unwrap();
    let changed = r.run(&["build", "-t", "duo/ubuntu:16.04", p(&ctx)]);
    let text = changed.ok();
    assert_eq!(text.matches("Using cache").count(), 5, "{text}");
    assert_ne!(inspect(&r, "duo/ubuntu:16.04", "{{.Id}}"), id);
    // --no-cache runs everything.
    let fresh = r.run(&["build", "--no-cache", "-q", p(&ctx)]);
    let fresh_id = fresh.ok().trim().to_string();
    assert!(
        fresh_id.starts_with("sha256:") && fresh_id.len() == 71,
        "{fresh_id}"
    );
    no_containers(&r);
}

#[test]
fn multi_stage_builds_only_what_the_target_needs() {
    let r = Rdock::with_busybox();
    // The seed's golang -> alpine pattern: build in one stage, copy the
    // result into a small one.
    let df = r#"FROM busybox AS unused
RUN exit 1

FROM busybox as builder
RUN mkdir -p /go/src/test
WORKDIR /go/src/test
COPY main.sh .
RUN cp main.sh app && chmod 755 app

FROM busybox
WORKDIR /root
COPY --from=builder /go/src/test/app .
CMD ["./app"]
"#;
    let ctx = context(
        &r,
        "multi",
        &[
            ("Dockerfile", df),
            ("main.sh", "#!/bin/sh\necho Hello,Docker\n"),
        ],
    );
    r.run(&["build", "-t", "yeasy/test-multistage:latest", p(&ctx)])
        .ok();
    assert_eq!(
        r.run(&["run", "--rm", "yeasy/test-multistage:latest"]).ok(),
        "Hello,Docker\n"
    );
    // The final image has the app but nothing of the builder's tree.
    assert_eq!(
        r.run(&[
            "run",
            "--rm",
            "yeasy/test-multistage:latest",
            "sh",
            "-c",
            "ls /root; test -e /go || echo no-go"
        ])
        .ok(),
        "app\nno-go\n"
    );
    // --target stops at the named stage.
    r.run(&[
        "build",
        "--target",
        "builder",
        "-t",
        "only-builder",
        p(&ctx),
    ])
    .ok();
    assert_eq!(
        inspect(&r, "only-builder", "{{.Config.WorkingDir}}"),
        "/go/src/test"
    );
    let bad = r.run(&["build", "--target", "nope", p(&ctx)]);
    assert!(bad
        .fails_1()
        .contains("target stage \"nope\" could not be found"));
    no_containers(&r);
}

#[test]
fn config_instructions_follow_docker() {
    let r = Rdock::with_busybox();
    let df = r#"# syntax=docker/dockerfile:1
# escape=\
ARG BASE=busybox
FROM ${BASE}
ARG VERSION=1.0
ARG FROM_CLI
ENV APP_HOME=/srv/app \
    GREETING="hello world"
ENV LEGACY value with spaces
ENV COMBINED=${APP_HOME}/v${VERSION} UNSET=${NOPE:-fallback} ALT=${VERSION:+set}
LABEL version="${VERSION}" description='a "quoted" label'
WORKDIR $APP_HOME
WORKDIR sub
RUN echo "$FROM_CLI:$VERSION" > /built-with && pwd > /pwd
USER nobody
VOLUME ["/data", "/logs"]
STOPSIGNAL SIGUSR1
HEALTHCHECK --interval=5s --retries=2 CMD wget -q -O- http://localhost/ || exit 1
SHELL ["/bin/sh", "-e", "-c"]
ENTRYPOINT ["/bin/echo"]
"#;
    let ctx = context(&r, "cfg", &[("Dockerfile", df)]);
    let out = r.run(&[
        "build",
        "--build-arg",
        "FROM_CLI=cli",
        "--build-arg",
        "EXTRA=x",
        "-t",
        "cfg",
        p(&ctx),
    ]);
    out.ok();
    assert!(
        out.stderr
            .contains("[Warning] One or more build-args [EXTRA] were not consumed"),
        "{}",
        out.stderr
    );
    let env = inspect(&r, "cfg", "{{json .Config.Env}}");
    for want in [
        "\"APP_HOME=/srv/app\"",
        "\"GREETING=hello world\"",
        "\"LEGACY=value with spaces\"",
        "\"COMBINED=/srv/app/v1.0\"",
        "\"UNSET=fallback\"",
        "\"ALT=set\"",
    ] {
        assert!(env.contains(want), "{want} in {env}");
    }
    // ARGs are not kept in the image.
    assert!(!env.contains("VERSION"), "{env}");
    assert_eq!(
        inspect(&r, "cfg", "{{json .Config.Labels}}"),
        r#"{"description":"a \"quoted\" label","version":"1.0"}"#
    );
    assert_eq!(inspect(&r, "cfg", "{{.Config.WorkingDir}}"), "/srv/app/sub");
    assert_eq!(inspect(&r, "cfg", "{{.Config.User}}"), "nobody");
    assert_eq!(
        inspect(&r, "cfg", "{{json .Config.Volumes}}"),
        r#"{"/data":{},"/logs":{}}"#
    );
    assert_eq!(inspect(&r, "cfg", "{{.Config.StopSignal}}"), "SIGUSR1");
    assert_eq!(
        inspect(&r, "cfg", "{{json .Config.Healthcheck}}"),
        r#"{"Test":["CMD-SHELL","wget -q -O- http://localhost/ || exit 1"],"Interval":5000000000,"Retries":2}"#
    );
    assert_eq!(
        inspect(&r, "cfg", "{{json .Config.Entrypoint}}"),
        r#"["/bin/echo"]"#
    );
    // A new ENTRYPOINT drops the base image's CMD.
    assert_eq!(inspect(&r, "cfg", "{{json .Config.Cmd}}"), "null");
    assert_eq!(
        r.run(&[
            "run",
            "--rm",
            "--entrypoint",
            "cat",
            "cfg",
            "/built-with",
            "/pwd"
        ])
        .ok(),
        "cli:1.0\n/srv/app/sub\n"
    );
    assert_eq!(r.run(&["run", "--rm", "cfg", "hi"]).ok(), "hi\n");
    // --label joins the image's labels.
    r.run(&["build", "--label", "extra=yes", "-t", "cfg2", p(&ctx)])
        .ok();
    assert!(inspect(&r, "cfg2", "{{json .Config.Labels}}").contains("\"extra\":\"yes\""));
    no_containers(&r);
}

#[test]
fn cmd_entrypoint_shell_and_onbuild() {
    let r = Rdock::with_busybox();
    let parent = r#"FROM busybox
CMD echo from-cmd
ONBUILD RUN echo triggered > /onbuild
ONBUILD COPY note.txt /note.txt
"#;
    let ctx = context(&r, "parent", &[("Dockerfile", parent)]);
    r.run(&["build", "-t", "parent", p(&ctx)]).ok();
    assert_eq!(
        inspect(&r, "parent", "{{json .Config.OnBuild}}"),
        r#"["RUN echo triggered > /onbuild","COPY note.txt /note.txt"]"#
    );
    assert_eq!(r.run(&["run", "--rm", "parent"]).ok(), "from-cmd\n");
    let child = "FROM parent\nENTRYPOINT [\"/bin/sh\", \"-c\"]\nCMD [\"cat /onbuild /note.txt\"]\n";
    let ctx = context(
        &r,
        "child",
        &[("Dockerfile", child), ("note.txt", "noted\n")],
    );
    let out = r.run(&["build", "-t", "child", p(&ctx)]);
    assert!(
        out.ok().contains("Executing 2 build triggers"),
        "{}",
        out.stdout
    );
    assert_eq!(r.run(&["run", "--rm", "child"]).ok(), "triggered\nnoted\n");
    // Triggers run once: the child does not pass them on.
    assert_eq!(inspect(&r, "child", "{{json .Config.OnBuild}}"), "null");
    no_containers(&r);
}

#[test]
fn copy_and_add_semantics() {
    let r = Rdock::with_busybox();
    let df = r#"FROM busybox
COPY dir /copied/
COPY dir/a.txt /renamed.txt
COPY *.md /docs/
COPY --chown=nobody:nogroup --chmod=640 dir/a.txt /owned
ADD archive.tar.gz /unpacked/
ADD archive.tar.xz /unpacked-xz
ADD archive.tar.bz2 /unpacked-bz2
COPY archive.tar.gz /not-unpacked/
COPY <<EOF /heredoc.txt
made by $HOSTNAME_UNSET heredoc
EOF
RUN <<EOF
echo one > /script-out
echo two >> /script-out
EOF
"#;
    let ctx = context(
        &r,
        "copy",
        &[
            ("Dockerfile", df),
            ("dir/a.txt", "a\n"),
            ("dir/sub/b.txt", "b\n"),
            ("one.md", "1"),
            ("two.md", "2"),
            ("skip.txt", "s"),
        ],
    );
    // Archives made by the host's tar.
    let payload = r.dir.path().join("payload");
    std::fs::create_dir_all(payload.join("inner")).unwrap();
    std::fs::write(payload.join("inner/x.txt"), "from the archive\n").unwrap();
    for (name, flag) in [
        ("archive.tar.gz", "-z"),
        ("archive.tar.xz", "-J"),
        ("archive.tar.bz2", "-j"),
    ] {
        let st = std::process::Command::new("tar")
            .args([flag, "-cf", p(&ctx.join(name)), "-C", p(&payload), "inner"])
            .status()
            .unwrap();
        assert!(st.success());
    }
    r.run(&["build", "-t", "copies", p(&ctx)]).ok();
    let out = r
        .run(&[
            "run",
            "--rm",
            "copies",
            "sh",
            "-c",
            "find /copied /docs | sort; cat /renamed.txt; stat -c '%U:%G %a' /owned; \
             cat /unpacked/inner/x.txt /unpacked-xz/inner/x.txt /unpacked-bz2/inner/x.txt; \
             ls /not-unpacked; \
             cat /heredoc.txt /script-out",
        ])
        .ok()
        .to_string();
    assert_eq!(
        out,
        "/copied\n/copied/a.txt\n/copied/sub\n/copied/sub/b.txt\n/docs\n/docs/one.md\n/docs/two.md\n\
         a\nnobody:nogroup 640\nfrom the archive\nfrom the archive\nfrom the archive\narchive.tar.gz\n\
         made by  heredoc\none\ntwo\n"
    );
    no_containers(&r);
}

#[test]
fn dockerignore_applies_to_copy() {
    let r = Rdock::with_busybox();
    let df = "FROM busybox\nCOPY . /ctx/\n";
    let ignore = "# docker's documented example\n*/temp*\n*/*/temp*\ntemp?\n*.md\n!README*.md\nREADME-secret.md\nbuild/\n!build/keep.txt\n";
    let ctx = context(
        &r,
        "ignore",
        &[
            ("Dockerfile", df),
            (".dockerignore", ignore),
            ("a/temporary.txt", "x"),
            ("a/kept.txt", "x"),
            ("a/b/temp.txt", "x"),
            ("tempA", "x"),
            ("notes.md", "x"),
            ("README.md", "x"),
            ("README-secret.md", "x"),
            ("build/out.o", "x"),
            ("build/keep.txt", "x"),
        ],
    );
    r.run(&["build", "-t", "ignored", p(&ctx)]).ok();
    let out = r
        .run(&[
            "run",
            "--rm",
            "ignored",
            "sh",
            "-c",
            "cd /ctx && find . -type f | sort",
        ])
        .ok()
        .to_string();
    assert_eq!(
        out,
        "./.dockerignore\n./Dockerfile\n./README.md\n./a/kept.txt\n./build/keep.txt\n"
    );
    // An ignored file is not in the context at all.
    std::fs::write(ctx.join("Dockerfile"), "FROM busybox\nCOPY notes.md /\n").unwrap();
    let e = r.run(&["build", p(&ctx)]);
    assert!(e.fails_1().contains("notes.md"), "{}", e.stderr);
    // Changing an ignored file does not invalidate the cache.
    std::fs::write(ctx.join("Dockerfile"), df).unwrap();
    std::fs::write(ctx.join("notes.md"), "changed").unwrap();
    let again = r.run(&["build", "-t", "ignored", p(&ctx)]);
    assert!(again.ok().contains("Using cache"), "{}", again.stdout);
    std::fs::write(ctx.join("a/kept.txt"), "changed").unwrap();
    let changed = r.run(&["build", "-t", "ignored", p(&ctx)]);
    assert!(!changed.ok().contains("Using cache"), "{}", changed.stdout);
}

#[test]
fn bad_dockerfiles_are_one_clear_line() {
    let r = Rdock::with_busybox();
    let cases: &[(&str, &str)] = &[
        (
            "FROM busybox\nRUNN echo hi\n",
            "Dockerfile:2: unknown instruction: RUNN",
        ),
        ("RUN echo hi\n", "no build stage in current context"),
        // Only ARGs: no stage at all (was a panic).
        ("ARG A=1\nARG B\n", "dockerfile contains no stages to build"),
        (
            "FROM busybox\nCOPY ../outside /x\n",
            "forbidden path outside the build context",
        ),
        (
            "FROM busybox\nCOPY link-out /x\n",
            "forbidden path outside the build context",
        ),
        ("FROM busybox\nCOPY missing.txt /x\n", "missing.txt"),
        (
            "FROM busybox\nRUN exit 3\n",
            "did not complete successfully: exit code: 3",
        ),
        (
            "FROM busybox\nSHELL /bin/bash -c\n",
            "SHELL requires the arguments to be in JSON form",
        ),
        ("FROM busybox\nEXPOSE http\n", "invalid containerPort: http"),
        ("FROM --platform=linux/s390x busybox\n", "is not supported"),
    ];
    for (i, (df, want)) in cases.iter().enumerate() {
        let ctx = context(&r, &format!("bad{i}"), &[("Dockerfile", df)]);
        let _ = std::os::unix::fs::symlink("/etc/passwd", ctx.join("link-out"));
        let out = r.run(&["build", p(&ctx)]);
        let line = out.fails_1();
        assert!(line.contains(want), "{df:?}: {line}");
    }
    // RUN's failure names the file, line and instruction.
    let ctx = context(
        &r,
        "bad-run",
        &[("Dockerfile", "FROM busybox\n\nRUN exit 3\n")],
    );
    let line = r.run(&["build", p(&ctx)]).fails_1().to_string();
    assert!(
        line.starts_with("Dockerfile:3: RUN exit 3: process \"/bin/sh -c exit 3\""),
        "{line}"
    );
    let e = r.run(&["build", "-t", "BAD:tag", p(&ctx)]);
    assert!(e.fails_125().contains("invalid reference format"));
    no_containers(&r);
}

#[test]
fn contexts_from_stdin_files_and_flags() {
    let r = Rdock::with_busybox();
    // A Dockerfile on stdin, no context.
    let out = r.run_stdin(
        &["build", "-q", "-t", "from-stdin", "-"],
        b"FROM busybox\nRUN echo x > /x\n",
    );
    let id = out.ok().trim().to_string();
    assert!(id.starts_with("sha256:") && id.len() == 71, "{id}");
    assert_eq!(inspect(&r, "from-stdin", "{{.Id}}"), id);
    // A tar context on stdin.
    let mut b = tar::Builder::new(Vec::new());
    for (name, body) in [
        ("Dockerfile", "FROM busybox\nCOPY f /f\n"),
        ("f", "in-tar\n"),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_size(body.len() as u64);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        h.set_cksum();
        b.append_data(&mut h, name, body.as_bytes()).unwrap();
    }
    let tar = b.into_inner().unwrap();
    r.run_stdin(&["build", "-t", "tar-ctx", "-"], &gzip(&tar))
        .ok();
    assert_eq!(
        r.run(&["run", "--rm", "tar-ctx", "cat", "/f"]).ok(),
        "in-tar\n"
    );
    // -f elsewhere, several -t, --iidfile.
    let ctx = context(
        &r,
        "ff",
        &[("other.Dockerfile", "FROM busybox\nLABEL from=other\n")],
    );
    let iid = r.dir.path().join("iid");
    r.run(&[
        "build",
        "-f",
        p(&ctx.join("other.Dockerfile")),
        "-t",
        "one:1",
        "-t",
        "two:2",
        "--iidfile",
        p(&iid),
        p(&ctx),
    ])
    .ok();
    let written = std::fs::read_to_string(&iid).unwrap();
    assert_eq!(inspect(&r, "one:1", "{{.Id}}"), written);
    assert_eq!(inspect(&r, "two:2", "{{.Id}}"), written);
    let e = r.run(&["build", p(&r.dir.path().join("nope"))]);
    assert!(e.fails_1().contains("unable to prepare context"));
    let e = r.run(&["build", "--platform", "linux/s390x", p(&ctx)]);
    assert!(e.fails_1().contains("not supported"));
    // builder prune empties the cache: the next build runs its steps.
    r.run(&["builder", "prune", "-f"]).ok();
    let out = r.run_stdin(&["build", "-"], b"FROM busybox\nRUN echo x > /x\n");
    assert!(!out.ok().contains("Using cache"), "{}", out.stdout);
}

#[test]
fn built_images_interoperate_with_podman_and_buildah() {
    let r = Rdock::with_busybox();
    let df = r#"FROM docker.io/library/busybox:latest
ENV A=1 B="two words"
WORKDIR /srv
RUN echo built > /srv/marker
USER nobody
EXPOSE 8080 53/udp
LABEL team=infra
VOLUME /data
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["cat /srv/marker"]
"#;
    let ctx = context(&r, "interop", &[("Dockerfile", df)]);
    r.run(&["build", "-t", "interop:1", p(&ctx)]).ok();
    let Some(pm) = Podman::new() else {
        return;
    };
    // An image rdock built runs under podman.
    let archive = r.cmd(&["save", "interop:1"]).output().unwrap().stdout;
    run_ok(pm.cmd(&["load"]), Some(&archive));
    let out = pm.ok(&[
        "run",
        "--rm",
        "--runtime",
        "runc",
        "--network",
        "none",
        "--ulimit",
        "nofile=1024:1024",
        "--ulimit",
        "nproc=4096:4096",
        "docker.io/library/interop:1",
    ]);
    assert_eq!(out, "built\n");
    if std::process::Command::new("buildah")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("buildah is not installed: skipping the config comparison");
        return;
    }
    // buildah builds the same Dockerfile on the same base: the same config.
    let base = r.cmd(&["save", "busybox"]).output().unwrap().stdout;
    run_ok(pm.cmd(&["load"]), Some(&base));
    run_ok(
        pm.buildah(&[
            "bud",
            "--isolation",
            "chroot",
            "--network",
            "host",
            "-q",
            "-t",
            "theirs",
            p(&ctx),
        ]),
        None,
    );
    let theirs: serde_json::Value = serde_json::from_str(&pm.ok(&[
        "image",
        "inspect",
        "--format",
        "{{json .Config}}",
        "localhost/theirs",
    ]))
    .unwrap();
    let ours: serde_json::Value =
        serde_json::from_str(&inspect(&r, "interop:1", "{{json .Config}}")).unwrap();
    for key in [
        "Env",
        "Cmd",
        "Entrypoint",
        "WorkingDir",
        "User",
        "ExposedPorts",
        "Volumes",
    ] {
        assert_eq!(
            ours[key], theirs[key],
            "{key}: ours {} theirs {}",
            ours[key], theirs[key]
        );
    }
    // buildah adds its own version label.
    assert_eq!(ours["Labels"]["team"], theirs["Labels"]["team"]);
}

#[test]
fn run_steps_use_the_configured_network() {
    let r = Rdock::with_busybox();
    // The default network is the store's configured bridge (this test's
    // own), never the host's rdock0; --add-host reaches RUN's /etc/hosts.
    let df = "FROM busybox\nRUN ip -4 addr show eth0 | grep inet > /addr; grep myhost /etc/hosts > /hosts\n";
    let ctx = context(&r, "net", &[("Dockerfile", df)]);
    r.run(&[
        "build",
        "--add-host",
        "myhost:10.9.8.7",
        "-t",
        "net-default",
        p(&ctx),
    ])
    .ok();
    let prefix = r.subnet.trim_end_matches("0/24").to_string();
    let addr = r
        .run(&["run", "--rm", "net-default", "cat", "/addr", "/hosts"])
        .ok()
        .to_string();
    assert!(
        addr.contains(&format!("inet {prefix}")),
        "{addr} not in {}",
        r.subnet
    );
    assert!(addr.contains("10.9.8.7\tmyhost"), "{addr}");
    let df = "FROM busybox\nRUN ls /sys/class/net > /nets\n";
    let ctx = context(&r, "none", &[("Dockerfile", df)]);
    r.run(&["build", "--network", "none", "-t", "net-none", p(&ctx)])
        .ok();
    assert_eq!(
        r.run(&["run", "--rm", "net-none", "cat", "/nets"]).ok(),
        "lo\n"
    );
    no_containers(&r);
}

/// A tiny HTTP server on loopback answering every request with `body`.
fn serve(body: &'static str) -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = write!(
                s,
                "HTTP/1.0 200 OK\r\nContent-Length: {}\r\nLast-Modified: Tue, 14 Nov 2023 22:13:20 GMT\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

#[test]
fn add_from_a_url_with_and_without_a_checksum() {
    let r = Rdock::with_busybox();
    let port = serve("remote content\n");
    let url = format!("http://127.0.0.1:{port}/dir/remote.txt?x=1");
    let df = format!("FROM busybox\nADD {url} /srv/\nADD {url} /named\n");
    let ctx = context(&r, "url", &[("Dockerfile", &df)]);
    r.run(&["build", "-t", "fetched", p(&ctx)]).ok();
    assert_eq!(
        r.run(&[
            "run",
            "--rm",
            "fetched",
            "sh",
            "-c",
            "stat -c '%a %Y' /srv/remote.txt /named; cat /named"
        ])
        .ok(),
        "600 1700000000\n600 1700000000\nremote content\n"
    );
    let wrong = "sha256:0ff4d6d2e2b3ae8b8e8b33e3bbd5f3ad4c9f28cbbbf1ea0abd6b2b2d15d36ec8";
    let df = format!("FROM busybox\nADD --checksum={wrong} {url} /x\n");
    std::fs::write(ctx.join("Dockerfile"), df).unwrap();
    let e = r.run(&["build", p(&ctx)]);
    assert!(e.fails_1().contains("digest mismatch"), "{}", e.stderr);
    let right = format!(
        "sha256:{}",
        rdock::image::store::sha256_hex(b"remote content\n")
    );
    std::fs::write(
        ctx.join("Dockerfile"),
        format!("FROM busybox\nADD --checksum={right} {url} /x\n"),
    )
    .unwrap();
    r.run(&["build", "-t", "checked", p(&ctx)]).ok();
    assert_eq!(
        r.run(&["run", "--rm", "checked", "cat", "/x"]).ok(),
        "remote content\n"
    );
    let df = "FROM busybox\nADD --checksum=sha256:00 local.txt /x\n";
    std::fs::write(ctx.join("Dockerfile"), df).unwrap();
    std::fs::write(ctx.join("local.txt"), "x").unwrap();
    let e = r.run(&["build", p(&ctx)]);
    assert!(e
        .fails_1()
        .contains("checksum can't be specified for non-HTTP(S) sources"));
    no_containers(&r);
}

#[test]
fn copy_from_an_image_heredoc_quotes_and_a_hostile_archive() {
    let r = Rdock::with_busybox();
    let df = "FROM busybox\nENV NAME=world\nCOPY --from=busybox /bin/busybox /bb\n\
              COPY <<EOF /greeting\nsay \"hi\" to $NAME and '$NAME'\nEOF\n";
    let ctx = context(&r, "from-image", &[("Dockerfile", df)]);
    r.run(&["build", "-t", "from-image", p(&ctx)]).ok();
    assert_eq!(
        r.run(&[
            "run",
            "--rm",
            "from-image",
            "sh",
            "-c",
            "cmp /bb /bin/busybox && echo ran; cat /greeting"
        ])
        .ok(),
        "ran\nsay \"hi\" to world and '$NAME'\n"
    );
    // An archive whose entry climbs out of its destination: refused, and
    // nothing written outside the container.
    let marker = format!("rdock-escape-{}", std::process::id());
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_old();
    let name = format!("../../../../../../../../tmp/{marker}");
    h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    h.set_size(1);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_cksum();
    b.append(&h, &b"x"[..]).unwrap();
    let ctx = context(
        &r,
        "evil",
        &[("Dockerfile", "FROM busybox\nADD evil.tar /unpack/\n")],
    );
    std::fs::write(ctx.join("evil.tar"), b.into_inner().unwrap()).unwrap();
    let e = r.run(&["build", p(&ctx)]);
    assert!(e.fails_1().contains("outside"), "{}", e.stderr);
    assert!(!Path::new(&format!("/tmp/{marker}")).exists());
    no_containers(&r);
}

#[test]
fn concurrent_builds_and_a_dockerfile_on_stdin() {
    let r = std::sync::Arc::new(Rdock::with_busybox());
    let df = "FROM busybox\nCOPY f /f\nRUN cat /f > /g\n";
    let ctx = context(&r, "par", &[("Dockerfile", df), ("f", "same\n")]);
    let builds: Vec<_> = (0..3)
        .map(|i| {
            let (r, ctx) = (r.clone(), ctx.clone());
            std::thread::spawn(move || {
                r.run(&["build", "-q", "-t", &format!("par:{i}"), p(&ctx)])
                    .code
            })
        })
        .collect();
    for b in builds {
        assert_eq!(b.join().unwrap(), 0);
    }
    for i in 0..3 {
        assert_eq!(
            r.run(&["run", "--rm", &format!("par:{i}"), "cat", "/g"])
                .ok(),
            "same\n"
        );
    }
    let again = r.run(&["build", p(&ctx)]);
    assert_eq!(
        again.ok().matches("Using cache").count(),
        2,
        "{}",
        again.stdout
    );
    no_containers(&r);
    // -f - with a directory context.
    let out = r.run_stdin(
        &["build", "-f", "-", "-t", "stdin-df", p(&ctx)],
        b"FROM busybox\nCOPY f /copied\n",
    );
    out.ok();
    assert_eq!(
        r.run(&["run", "--rm", "stdin-df", "cat", "/copied"]).ok(),
        "same\n"
    );
}

/// `rdock build ARGS` in a terminal, then `EXIT=code`; the session.
fn build_on_tty(r: &Rdock, sock: &str, args: &str) -> Tmux {
    let cmd = format!(
        "{} --root {} --runroot {} build {args}; echo EXIT=$?; sleep 60",
        bin(),
        p(&r.root),
        p(&r.runroot)
    );
    Tmux::start(&r.dir.path().join(sock), 100, 40, &cmd)
}

#[test]
fn on_a_terminal_the_build_is_a_live_view() {
    let r = Rdock::with_busybox();
    let df = "FROM busybox\nENV A=1\nRUN for i in 1 2 3; do echo tick $i; done; sleep 3\nCOPY f /f\nRUN cat /f; ls /proc/self/fd > /fds\n";
    let ctx = context(&r, "live", &[("Dockerfile", df), ("f", "from f\n")]);
    let t = build_on_tty(&r, "t1.sock", &format!("-t live {}", p(&ctx)));
    // While the step runs, its output's tail is shown under it.
    let screen = t.wait_for("=> => # tick 3");
    assert!(screen.contains(" => [2/4] RUN for i in 1 2 3;"), "{screen}");
    assert!(!screen.contains("FINISHED"), "{screen}");
    let screen = t.wait_for("EXIT=0");
    // Redrawn in place: one header, every step once, no plain output.
    assert_eq!(screen.matches("[+] Building").count(), 1, "{screen}");
    assert!(screen.contains("(6/6) FINISHED"), "{screen}");
    assert_eq!(screen.matches("[1/4] FROM busybox").count(), 1, "{screen}");
    assert!(screen.contains(" => [3/4] COPY f /f"), "{screen}");
    assert!(screen.contains(" => [4/4] RUN cat /f"), "{screen}");
    // The view's own pipe is not among the step's fds.
    assert_eq!(
        r.run(&["run", "--rm", "live", "cat", "/fds"]).ok(),
        "0\n1\n2\n3\n"
    );
    assert!(
        screen.contains(" => => naming to docker.io/library/live:latest"),
        "{screen}"
    );
    // A finished step's output is folded away; ENV is not a step.
    assert!(
        !screen.contains("# tick") && !screen.contains("from f"),
        "{screen}"
    );
    assert!(
        !screen.contains("ENV") && !screen.contains("Step 1/"),
        "{screen}"
    );
    drop(t);
    let t = build_on_tty(&r, "t2.sock", &format!("-t live {}", p(&ctx)));
    let screen = t.wait_for("EXIT=0");
    assert!(screen.contains(" => CACHED [2/4] RUN for i"), "{screen}");
    assert!(screen.contains(" => CACHED [4/4] RUN cat /f"), "{screen}");
    drop(t);
    no_containers(&r);

    // A failing step: marked, and its output printed after the view.
    let ctx = context(
        &r,
        "fails",
        &[("Dockerfile", "FROM busybox\nRUN echo oops; exit 4\n")],
    );
    let t = build_on_tty(&r, "t3.sock", p(&ctx));
    let screen = t.wait_for("EXIT=1");
    assert!(!screen.contains("EXIT=12"), "{screen}");
    assert!(
        screen.contains(" => ERROR [2/2] RUN echo oops; exit 4"),
        "{screen}"
    );
    assert!(
        screen.contains("------\n > [2/2] RUN echo oops; exit 4:\noops\n------"),
        "{screen}"
    );
    assert!(
        screen.contains("Dockerfile:2: RUN echo oops; exit 4: process"),
        "{screen}"
    );
    assert!(!screen.contains("FINISHED"), "{screen}");
    drop(t);

    // ^C cancels the running step at once and exits 130, cleaned up.
    let ctx = context(
        &r,
        "slow",
        &[("Dockerfile", "FROM busybox\nRUN echo started; sleep 30\n")],
    );
    let t = build_on_tty(&r, "t4.sock", p(&ctx));
    t.wait_for("=> => # started");
    t.send(&["C-c"]);
    let screen = t.wait_for("EXIT=130");
    assert!(
        screen.contains(" => CANCELED [2/2] RUN echo started"),
        "{screen}"
    );
    assert!(screen.contains("build interrupted"), "{screen}");
    drop(t);
    no_containers(&r);

    // Without a terminal: `auto` is the plain output, `tty` an error.
    let out = r.run(&[
        "build",
        "--progress",
        "auto",
        p(&ctx.with_file_name("live")),
    ]);
    assert!(
        out.ok().contains("Step 1/5 : FROM busybox"),
        "{}",
        out.stdout
    );
    let e = r.run(&["build", "--progress", "tty", p(&ctx)]);
    assert!(e.fails_1().contains("not a console"), "{}", e.stderr);
}

#[test]
fn an_interrupted_plain_build_exits_130_and_cleans_up() {
    let r = Rdock::with_busybox();
    let ctx = context(
        &r,
        "slow",
        &[("Dockerfile", "FROM busybox\nRUN echo started; sleep 30\n")],
    );
    let child = r
        .cmd(&["build", "--progress", "plain", p(&ctx)])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the step's container to be up.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while r.run(&["ps", "-q"]).ok().trim().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the RUN never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    // 130, not the success the step would reach if it ran to the end.
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "build interrupted\n");
    no_containers(&r);
}

/// `system df`'s Build Cache row, split into words.
fn cache_row(r: &Rdock) -> Vec<String> {
    let df = r.run(&["system", "df"]).ok().to_string();
    df.lines()
        .find(|l| l.starts_with("Build Cache"))
        .unwrap_or_else(|| panic!("no Build Cache row: {df}"))
        .split_whitespace()
        .map(String::from)
        .collect()
}

#[test]
fn system_df_counts_and_system_prune_clears_the_build_cache() {
    let r = Rdock::with_busybox();
    let ctx = context(
        &r,
        "cached",
        &[(
            "Dockerfile",
            "FROM busybox\nRUN head -c 300000 /bin/busybox > /blob\nENV X=1\n",
        )],
    );
    r.run(&["build", "-t", "cached", p(&ctx)]).ok();
    // While the image holds the layer, it is the image's space.
    assert_eq!(cache_row(&r), ["Build", "Cache", "2", "0", "0B", "0B"]);
    r.run(&["rmi", "cached"]).ok();
    let row = cache_row(&r);
    assert_eq!(row[2..4], ["2", "0"], "{row:?}");
    assert!(row[4].ends_with("kB") && row[4] == row[5], "{row:?}");
    let layers = || std::fs::read_dir(r.root.join("layers")).unwrap().count();
    let before = layers();
    let out = r.run(&["system", "prune", "-f"]).ok().to_string();
    assert!(out.contains("Deleted build cache objects:\n"), "{out}");
    assert!(!out.contains("Total reclaimed space: 0B"), "{out}");
    assert_eq!(layers(), before - 1);
    assert_eq!(cache_row(&r), ["Build", "Cache", "0", "0", "0B", "0B"]);
    let out = r.run(&["build", "-t", "again", p(&ctx)]);
    assert!(!out.ok().contains("Using cache"), "{}", out.stdout);
    // builder prune says what it freed: the base's layer too, once no
    // image holds it.
    r.run(&["rmi", "again", "busybox"]).ok();
    let out = r.run(&["builder", "prune", "-f"]).ok().to_string();
    assert!(out.starts_with("Deleted build cache objects:\n"), "{out}");
    assert!(!out.contains("Total reclaimed space: 0B"), "{out}");
}

/// A process killed and reaped when dropped (a test's server).
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start `cmd` serving on `port` and wait until it accepts connections.
fn start_server(cmd: &mut std::process::Command, port: u16) -> Server {
    let s = Server(
        cmd.stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return s;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    panic!("server on {port} never came up");
}

fn git(dir: &Path, args: &[&str]) {
    let ok = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.email=t@t", "-c", "user.name=t"])
        .args(args)
        .status()
        .unwrap()
        .success();
    assert!(ok, "git {args:?}");
}

#[test]
fn git_repositories_are_contexts() {
    let r = Rdock::with_busybox();
    let df = "FROM busybox\nCOPY hello /hello\nCMD [\"cat\", \"/hello\"]\n";
    let repo = context(
        &r,
        "repo",
        &[
            ("Dockerfile", df),
            ("hello", "from v1\n"),
            ("sub/Dockerfile", "FROM busybox\nCOPY . /ctx\n"),
            ("sub/f", "in sub\n"),
        ],
    );
    std::os::unix::fs::symlink("/etc", repo.join("sub/out")).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "one"]);
    git(&repo, &["tag", "v1"]);
    std::fs::write(repo.join("hello"), "from main\n").unwrap();
    git(&repo, &["commit", "-qam", "two"]);
    let srv = r.dir.path().join("srv");
    std::fs::create_dir(&srv).unwrap();
    git(
        &repo,
        &["clone", "-q", "--bare", ".", p(&srv.join("repo.git"))],
    );
    git(&srv.join("repo.git"), &["update-server-info"]);
    // git's own protocol (shallow fetches) and dumb HTTP (full ones).
    let gport = registry::free_port();
    // git-daemon itself: `git daemon` would leave it behind when killed.
    let exec_path = std::process::Command::new("git")
        .arg("--exec-path")
        .output()
        .unwrap()
        .stdout;
    let daemon = Path::new(String::from_utf8(exec_path).unwrap().trim()).join("git-daemon");
    let _gd = start_server(
        std::process::Command::new(daemon)
            .args(["--reuseaddr", "--export-all", "--listen=127.0.0.1"])
            .arg(format!("--port={gport}"))
            .arg(format!("--base-path={}", p(&srv)))
            .arg(&srv),
        gport,
    );
    let hport = registry::free_port();
    let _hs = start_server(
        std::process::Command::new("python3")
            .args(["-m", "http.server", "--bind", "127.0.0.1"])
            .arg(hport.to_string())
            .arg("--directory")
            .arg(&srv),
        hport,
    );
    let git_url = format!("git://127.0.0.1:{gport}/repo.git");
    r.run(&["build", "-q", "-t", "g-head", &git_url]).ok();
    assert_eq!(r.run(&["run", "--rm", "g-head"]).ok(), "from main\n");
    let http_url = format!("http://127.0.0.1:{hport}/repo.git#v1");
    r.run(&["build", "-q", "-t", "g-tag", &http_url]).ok();
    assert_eq!(r.run(&["run", "--rm", "g-tag"]).ok(), "from v1\n");
    // A subdirectory is the context, without the repository's .git.
    r.run(&["build", "-q", "-t", "g-sub", &format!("{git_url}#main:sub")])
        .ok();
    assert_eq!(
        r.run(&["run", "--rm", "g-sub", "ls", "-A", "/ctx"]).ok(),
        "Dockerfile\nf\nout\n"
    );
    // The repository cannot lead the context out of itself.
    for frag in ["#main:sub/out", "#main:../..", "#main:nowhere"] {
        let e = r.run(&["build", &format!("{git_url}{frag}")]);
        assert!(
            e.fails_1()
                .contains("unable to prepare context: subdirectory"),
            "{frag}: {}",
            e.stderr
        );
    }
    // A fragment is never an option to git (CVE-2019-13139).
    let marker = r.dir.path().join("pwned");
    let hostile = format!("{git_url}#--upload-pack=touch {};:", marker.display());
    let e = r.run(&["build", &hostile]);
    assert!(
        e.fails_1().contains("invalid git reference"),
        "{}",
        e.stderr
    );
    assert!(!marker.exists());
    let e = r.run(&["build", &format!("git://127.0.0.1:{gport}/nope.git")]);
    assert!(e.fails_1().contains("git fetch"), "{}", e.stderr);
    // -f names a file inside the repository.
    let e = r.run(&["build", "-f", "missing", &git_url]);
    assert!(
        e.fails_1()
            .contains("Cannot locate specified Dockerfile: missing"),
        "{}",
        e.stderr
    );
    // Every checkout went with its build.
    assert_eq!(std::fs::read_dir(r.root.join("tmp")).unwrap().count(), 0);
    no_containers(&r);
}

/// docker's daemon refuses `build --security-opt` on Linux; rdock too,
/// rather than run (or take from the cache) steps it did not build so.
#[test]
fn security_opt_is_refused_as_docker_refuses_it() {
    let r = Rdock::with_busybox();
    let ctx = context(
        &r,
        "secopt",
        &[("Dockerfile", "FROM busybox\nRUN echo hi > /x\n")],
    );
    let out = r.run(&["build", "--security-opt", "seccomp=unconfined", p(&ctx)]);
    assert_ne!(out.code, 0);
    assert!(
        out.stderr
            .contains("security options are not supported on linux"),
        "{}",
        out.stderr
    );
}

#[test]
fn resource_flags_apply_to_run_steps() {
    let r = Rdock::with_busybox();
    let ctx = context(
        &r,
        "limits",
        &[(
            "Dockerfile",
            "FROM busybox\nRUN (ulimit -n; df -k /dev/shm | tail -1) > /seen\n",
        )],
    );
    r.run(&[
        "build",
        "-t",
        "limited",
        "--ulimit",
        "nofile=512:512",
        "--shm-size",
        "8m",
        "--cpu-shares",
        "512",
        p(&ctx),
    ])
    .ok();
    let seen = r
        .run(&["run", "--rm", "limited", "cat", "/seen"])
        .ok()
        .to_string();
    let lines: Vec<&str> = seen.lines().collect();
    assert_eq!(lines[0], "512", "{seen}");
    assert!(lines[1].contains(" 8192 "), "{seen}");
    // -m holds: /dev/shm's pages count against it, so a RUN that fills
    // it past the limit is killed; without -m the same step passes.
    let ctx = context(
        &r,
        "oom",
        &[(
            "Dockerfile",
            "FROM busybox\nRUN dd if=/dev/zero of=/dev/shm/x bs=1M count=100\n",
        )],
    );
    let e = r.run(&[
        "build",
        "-m",
        "32m",
        "--memory-swap",
        "32m",
        "--shm-size",
        "200m",
        p(&ctx),
    ]);
    assert!(e.fails_1().contains("exit code: 137"), "{}", e.stderr);
    r.run(&["build", "--shm-size", "200m", p(&ctx)]).ok();
    no_containers(&r);
    // Values are checked as `run` checks them.
    let e = r.run(&["build", "-m", "lots", p(&ctx)]);
    assert!(
        e.fails_125().contains("invalid argument \"lots\""),
        "{}",
        e.stderr
    );
    let e = r.run(&["build", "--cache-from", "busybox", p(&ctx)]);
    assert!(e.fails_1().contains("--cache-from"), "{}", e.stderr);
}

#[test]
fn run_mounts_network_and_security_flags() {
    let r = Rdock::with_busybox();
    let df = r#"FROM busybox AS tools
RUN echo "from tools" > /tool.txt
FROM busybox
ARG CDIR=/cache
RUN --mount=type=cache,target=$CDIR,id=counter n=$(cat /cache/n 2>/dev/null || echo 0); echo $((n+1)) > /cache/n; cat /cache/n > /runs
RUN --mount=type=bind,source=src,target=/mnt cat /mnt/a.txt > /bound
RUN --mount=target=/ctx ls -A /ctx > /ctxlist
RUN --mount=type=bind,rw,target=/rw echo scribble > /rw/src/a.txt
RUN --mount=type=bind,from=tools,source=/tool.txt,target=/t.txt cat /t.txt > /fromtools
RUN --mount=type=tmpfs,target=/scratch,size=1m df -k /scratch | tail -1 > /tmpfs; touch /scratch/gone
RUN --mount=type=secret,id=token cat /run/secrets/token > /secret 2>&1 || echo none > /secret
RUN --network=none --security=sandbox ls /sys/class/net > /links
"#;
    let ctx = context(
        &r,
        "mounts",
        &[
            ("Dockerfile", df),
            ("src/a.txt", "from the context\n"),
            ("ignored.txt", "not for the build\n"),
            (".dockerignore", "ignored.txt\n"),
        ],
    );
    r.run(&["build", "-t", "mounted", p(&ctx)]).ok();
    let out = r
        .run(&[
            "run",
            "--rm",
            "mounted",
            "sh",
            "-c",
            "cat /runs /bound /ctxlist /fromtools /tmpfs /secret /links; test ! -e /scratch/gone",
        ])
        .ok()
        .to_string();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "1", "{out}");
    assert_eq!(lines[1], "from the context", "{out}");
    // The context as the build sees it: .dockerignore applies.
    assert_eq!(lines[2..5], [".dockerignore", "Dockerfile", "src"], "{out}");
    assert_eq!(lines[5], "from tools", "{out}");
    assert!(lines[6].contains(" 1024 "), "{out}");
    assert_eq!(lines[7], "none", "{out}");
    assert_eq!(lines[8], "lo", "{out}");
    // Nothing written in a tmpfs stays; a rw bind's writes reach neither
    // the image nor the context.
    assert_eq!(lines.len(), 9, "{out}");
    assert_eq!(
        std::fs::read_to_string(ctx.join("src/a.txt")).unwrap(),
        "from the context\n"
    );
    // The cache mount persists between builds, its content outside the
    // step's cache key.
    r.run(&["build", "--no-cache", "-t", "mounted", p(&ctx)])
        .ok();
    assert_eq!(
        r.run(&["run", "--rm", "mounted", "cat", "/runs"]).ok(),
        "2\n"
    );
    // A bind's source is part of the key: a change reruns the step.
    std::fs::write(ctx.join("src/a.txt"), "changed\n").unwrap();
    let out = r.run(&["build", "-t", "mounted", p(&ctx)]).ok().to_string();
    assert_eq!(out.matches("Using cache").count(), 2, "{out}");
    assert_eq!(
        r.run(&["run", "--rm", "mounted", "cat", "/bound"]).ok(),
        "changed\n"
    );
    no_containers(&r);
    assert_eq!(std::fs::read_dir(r.root.join("tmp")).unwrap().count(), 0);
    // builder prune empties cache mounts too.
    r.run(&["builder", "prune", "-f"]).ok();
    r.run(&["build", "--no-cache", "-t", "mounted", p(&ctx)])
        .ok();
    assert_eq!(
        r.run(&["run", "--rm", "mounted", "cat", "/runs"]).ok(),
        "1\n"
    );

    for (line, why) in [
        (
            "RUN --mount=type=bind,source=../..,target=/x true",
            "forbidden path outside the build context",
        ),
        (
            "RUN --mount=type=secret,id=tok,required true",
            "secret tok: not found",
        ),
        (
            "RUN --mount=type=nfs,target=/x true",
            "unsupported mount type",
        ),
        ("RUN --network=host true", "network.host is not allowed"),
        (
            "RUN --security=insecure true",
            "security.insecure is not allowed",
        ),
        ("RUN --colour=red true", "unknown flag: colour"),
    ] {
        let df = format!("FROM busybox\n{line}\n");
        let e = r.run_stdin(&["build", "-f", "-", p(&ctx)], df.as_bytes());
        let err = e.fails_1();
        assert!(
            err.contains(&format!("Dockerfile:2: {line}: {why}")) || err.contains(why),
            "{line}: {err}"
        );
    }
    no_containers(&r);
}

#[test]
fn locked_cache_mounts_take_turns() {
    let r = std::sync::Arc::new(Rdock::with_busybox());
    // Each build appends its start and end; with sharing=locked no build
    // starts while another holds the cache.
    let df = "FROM busybox\nARG N\nRUN --mount=type=cache,target=/c,sharing=locked \
              echo start >> /c/log; sleep 0.3; echo end >> /c/log\n";
    let ctx = context(&r, "locked", &[("Dockerfile", df)]);
    let builds: Vec<_> = (0..3)
        .map(|i| {
            let (r, ctx) = (r.clone(), ctx.clone());
            std::thread::spawn(move || {
                r.run(&["build", "-q", "--build-arg", &format!("N={i}"), p(&ctx)])
                    .code
            })
        })
        .collect();
    for b in builds {
        assert_eq!(b.join().unwrap(), 0);
    }
    let out = r
        .run_stdin(
            &["build", "-q", "-t", "log", "-f", "-", p(&ctx)],
            b"FROM busybox\nRUN --mount=type=cache,target=/c,sharing=locked cp /c/log /log\n",
        )
        .ok()
        .to_string();
    assert!(out.starts_with("sha256:"));
    assert_eq!(
        r.run(&["run", "--rm", "log", "cat", "/log"]).ok(),
        "start\nend\n".repeat(3)
    );
}

#[test]
fn mount_targets_follow_workdir_and_context_files_stay_inside() {
    let r = Rdock::with_busybox();
    let df = "FROM busybox\nWORKDIR /app\nRUN --mount=type=tmpfs,target=scratch \
              grep -c ' /app/scratch ' /proc/mounts > /seen\n";
    let ctx = context(&r, "wd", &[("Dockerfile", df)]);
    r.run(&["build", "-t", "wd", p(&ctx)]).ok();
    assert_eq!(r.run(&["run", "--rm", "wd", "cat", "/seen"]).ok(), "1\n");
    let e = r.run_stdin(
        &["build", "-f", "-", p(&ctx)],
        b"FROM busybox\nRUN --mount=type=tmpfs,target=/ true\n",
    );
    assert!(
        e.fails_1().contains("invalid mount target \"/\""),
        "{}",
        e.stderr
    );
    // Only stdio reaches a RUN step (no fd of rdock's or of the caller's).
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "exec 9</etc/hostname; {} --root {} --runroot {} build -q -f - {}",
            bin(),
            p(&r.root),
            p(&r.runroot),
            p(&ctx)
        ))
        .env("RDOCK_DAEMON_CONFIG", r.dir.path().join("daemon.json"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin
                .take()
                .unwrap()
                .write_all(b"FROM busybox\nRUN ls /proc/self/fd > /fds\n")?;
            c.wait_with_output()
        })
        .unwrap();
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(id.starts_with("sha256:"), "{out:?}");
    assert_eq!(
        r.run(&["run", "--rm", &id, "cat", "/fds"]).ok(),
        "0\n1\n2\n3\n"
    );
    // A tar context whose .dockerignore is a link out of it (or to an
    // endless device): not followed, no patterns.
    let mut tar = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_size(0);
    h.set_mode(0o777);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    tar.append_link(&mut h, ".dockerignore", "/dev/zero")
        .unwrap();
    let body = b"FROM busybox\nCOPY . /ctx\n";
    let mut h = tar::Header::new_gnu();
    h.set_size(body.len() as u64);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    tar.append_data(&mut h, "Dockerfile", &body[..]).unwrap();
    let data = tar.into_inner().unwrap();
    let out = r.run_stdin(&["build", "-q", "-t", "linked", "-"], &data);
    out.ok();
    assert_eq!(
        r.run(&["run", "--rm", "linked", "ls", "-A", "/ctx"]).ok(),
        ".dockerignore\nDockerfile\n"
    );
}

#[test]
fn a_prune_leaves_a_running_builds_cache_alone() {
    let r = Rdock::with_busybox();
    let ctx = context(
        &r,
        "slowb",
        &[(
            "Dockerfile",
            "FROM busybox\nRUN echo one > /one\nRUN sleep 2\nRUN echo three > /three\n",
        )],
    );
    let build = r
        .cmd(&["build", "-q", "-t", "slowb", p(&ctx)])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // While its second step runs, prunes of the build cache wait their turn.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while r.run(&["ps", "-q"]).ok().trim().is_empty() {
        assert!(std::time::Instant::now() < deadline, "the build never ran");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let pruned = r.run(&["builder", "prune", "-f"]);
    assert!(
        pruned.stderr.contains("a build is running"),
        "{}",
        pruned.stderr
    );
    r.run(&["system", "prune", "-f"]).ok();
    let out = build.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        r.run(&["run", "--rm", "slowb", "cat", "/one", "/three"])
            .ok(),
        "one\nthree\n"
    );
    // Afterwards the cache is there to prune.
    let again = r.run(&["build", p(&ctx)]).ok().to_string();
    assert_eq!(again.matches("Using cache").count(), 3, "{again}");
    assert!(r
        .run(&["builder", "prune", "-f"])
        .ok()
        .starts_with("Deleted build cache objects:"));
}

/// `builder prune`'s filters choose among rdock's cache entries: `until`
/// by last use, `label`/`label!` by the step's image labels, `type`,
/// `--keep-storage` the oldest until the rest fits.
#[test]
fn builder_prune_filters_choose_entries() {
    let r = Rdock::with_busybox();
    let count = || {
        r.run(&["system", "df", "--format", "{{.Type}} {{.TotalCount}}"])
            .ok()
            .lines()
            .find_map(|l| l.strip_prefix("Build Cache ").map(str::to_string))
            .unwrap_or_default()
    };
    let a = context(
        &r,
        "pa",
        &[(
            "Dockerfile",
            "FROM busybox\nLABEL team=a\nRUN echo a > /a\n",
        )],
    );
    let b = context(
        &r,
        "pb",
        &[(
            "Dockerfile",
            "FROM busybox\nLABEL team=b\nRUN echo b > /b\n",
        )],
    );
    r.run(&["build", "-q", "-t", "pa", p(&a)]).ok();
    r.run(&["build", "-q", "-t", "pb", p(&b)]).ok();
    assert_eq!(count(), "4");
    // Fresh entries are not older than an hour; no mount is there.
    for f in [
        "until=1h",
        "type=exec.cachemount",
        "inuse=true",
        "label=team=c",
    ] {
        let out = r
            .run(&["builder", "prune", "-f", "--filter", f])
            .ok()
            .to_string();
        assert_eq!(out, "Total reclaimed space: 0B\n", "{f}");
    }
    assert_eq!(count(), "4");
    // team=a's two steps (LABEL, RUN) carry its label.
    let out = r
        .run(&["builder", "prune", "-f", "--filter", "label=team=a"])
        .ok()
        .to_string();
    assert!(out.starts_with("Deleted build cache objects:\n"), "{out}");
    assert_eq!(count(), "2");
    r.run(&["builder", "prune", "-f", "--keep-storage", "1GB"])
        .ok();
    assert_eq!(count(), "2");
    r.run(&["builder", "prune", "-f", "--filter", "label!=team=b"])
        .ok();
    assert_eq!(count(), "2");
    // What an image holds takes no space of the cache's: kept.
    r.run(&["builder", "prune", "-f", "--keep-storage", "0"])
        .ok();
    assert_eq!(count(), "2");
    r.run(&["rmi", "pb"]).ok();
    r.run(&["builder", "prune", "-f", "--keep-storage", "0"])
        .ok();
    assert_eq!(count(), "0");
    let e = r.run(&["builder", "prune", "-f", "--filter", "bogus=1"]);
    assert!(e.stderr.contains("invalid filter 'bogus'"), "{}", e.stderr);
}
