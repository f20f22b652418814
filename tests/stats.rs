//! `rdock stats` against real detached containers: docker's columns and
//! number formats, CPU of busy loops, memory a container filled, PIDs,
//! network traffic, `--format`, `-a`, errors, and the live refresh.

mod common;
use common::*;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A `stats` stream this test started; killed even when the test fails.
struct Stream(Child);
impl Drop for Stream {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// "1.5kB" / "48.02MiB" / "0B" -> bytes (decimal and binary units).
fn bytes(s: &str) -> f64 {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: f64 = n.parse().unwrap_or_else(|_| panic!("not a size: {s:?}"));
    let mult = match unit {
        "B" => 1.0,
        "kB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        _ => panic!("unit of {s:?}"),
    };
    n * mult
}

/// "RX / TX" -> (rx, tx) in bytes.
fn pair(s: &str) -> (f64, f64) {
    let (a, b) = s
        .split_once(" / ")
        .unwrap_or_else(|| panic!("not a pair: {s:?}"));
    (bytes(a), bytes(b))
}

fn percent(s: &str) -> f64 {
    s.trim()
        .strip_suffix('%')
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("not a percentage: {s:?}"))
}

/// One container's field through `--format`, once.
fn field(r: &Rdock, name: &str, f: &str) -> String {
    r.run(&["stats", "--no-stream", "--format", f, name])
        .ok()
        .trim()
        .to_string()
}

/// Poll `field` until `ok` accepts it (10 s at most).
fn wait_field(r: &Rdock, name: &str, f: &str, ok: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let v = field(r, name, f);
        if ok(&v) || Instant::now() > deadline {
            return v;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn mem_total() -> u64 {
    let m = std::fs::read_to_string("/proc/meminfo").unwrap();
    let kb: u64 = m
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap();
    kb * 1024
}

#[test]
fn cpu_memory_and_pids_of_real_containers() {
    let r = Rdock::with_busybox();
    // Two busy loops: more than half a CPU even on a loaded 2-core host.
    r.run(&[
        "run",
        "-d",
        "--name",
        "busy",
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        "while :; do :; done & while :; do :; done",
    ])
    .ok();
    r.run(&[
        "run",
        "-d",
        "--name",
        "mem",
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        "dd if=/dev/zero of=/dev/shm/fill bs=1M count=48 2>/dev/null; sleep 600",
    ])
    .ok();
    r.run(&[
        "run",
        "-d",
        "--name",
        "many",
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        "for i in 1 2 3 4 5; do sleep 600 & done; wait",
    ])
    .ok();
    r.run(&["run", "-d", "--name", "idle", "busybox", "sleep", "600"])
        .ok();

    // The default table: docker's header and one row per running container.
    let out = r.run(&["stats", "--no-stream"]).ok().to_string();
    let mut lines = out.lines();
    let header = lines.next().unwrap();
    assert!(
        header.starts_with("CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT"),
        "{out}"
    );
    for col in ["MEM %", "NET I/O", "BLOCK I/O", "PIDS"] {
        assert!(header.contains(col), "{col}: {out}");
    }
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 4, "{out}");
    for row in &rows {
        let id = &row[..12];
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{row}");
        // Each cell starts where its header does (tabwriter columns).
        for col in [
            "CPU %",
            "MEM USAGE",
            "MEM %",
            "NET I/O",
            "BLOCK I/O",
            "PIDS",
        ] {
            let at = header.find(col).unwrap();
            assert_ne!(row.as_bytes()[at], b' ', "{col} in {row:?}\n{out}");
            assert_eq!(row.as_bytes()[at - 1], b' ', "{col} in {row:?}\n{out}");
        }
    }

    let cpu = percent(&field(&r, "busy", "{{.CPUPerc}}"));
    assert!(cpu > 50.0, "two busy loops at {cpu}%");
    let idle = percent(&field(&r, "idle", "{{.CPUPerc}}"));
    assert!(idle < 5.0, "sleep at {idle}%");

    // 48 MiB written into the container's /dev/shm (tmpfs: charged to its
    // memory cgroup); no limit, so the host's memory is the limit.
    let usage = wait_field(&r, "mem", "{{.MemUsage}}", |v| {
        pair(v).0 >= 48.0 * 1048576.0
    });
    let (used, limit) = pair(&usage);
    assert!(used >= 48.0 * 1048576.0, "{usage}");
    assert!(used < 100.0 * 1048576.0, "{usage}");
    assert_eq!(
        usage.split(" / ").nth(1).unwrap(),
        rdock::cli::format::bytes_size(mem_total()),
        "{usage}"
    );
    let mem_perc = percent(&field(&r, "mem", "{{.MemPerc}}"));
    let expect = used / limit * 100.0;
    assert!((mem_perc - expect).abs() < 0.05, "{mem_perc} vs {expect}");

    // A shell and five sleeps.
    let pids = wait_field(&r, "many", "{{.PIDs}}", |v| v == "6");
    assert_eq!(pids, "6");
    assert_eq!(field(&r, "idle", "{{.PIDs}}"), "1");
    // Without a network namespace of their own bridged, no traffic.
    assert_eq!(field(&r, "busy", "{{.NetIO}}"), "0B / 0B");
    // BLOCK I/O is well-formed (tmpfs and overlay writes may count or not).
    pair(&field(&r, "mem", "{{.BlockIO}}"));
}

#[test]
fn net_io_counts_the_containers_traffic() {
    let r = Rdock::with_busybox();
    r.run(&["run", "-d", "--name", "net", "busybox", "sleep", "600"])
        .ok();
    let gateway = r.subnet.replace(".0/24", ".1");
    let (rx0, tx0) = pair(&field(&r, "net", "{{.NetIO}}"));
    r.run(&[
        "exec", "net", "ping", "-c", "3", "-s", "1000", "-W", "2", &gateway,
    ])
    .ok();
    let (rx1, tx1) = pair(&field(&r, "net", "{{.NetIO}}"));
    // Three 1 kB echoes each way (sizes are shown with 3 digits).
    assert!(rx1 - rx0 >= 2900.0, "rx {rx0} -> {rx1}");
    assert!(tx1 - tx0 >= 2900.0, "tx {tx0} -> {tx1}");
}

#[test]
fn formats_all_and_errors() {
    let r = Rdock::with_busybox();
    r.run(&["run", "-d", "--name", "up", "busybox", "sleep", "600"])
        .ok();
    r.run(&["create", "--name", "down", "busybox", "true"]).ok();
    let up_id = r
        .run(&["inspect", "-f", "{{.Id}}", "up"])
        .ok()
        .trim()
        .to_string();
    let down_id = r
        .run(&["inspect", "-f", "{{.Id}}", "down"])
        .ok()
        .trim()
        .to_string();

    // Running only by default; -a adds the stopped one, with docker's zeros.
    let names = |args: &[&str]| -> Vec<String> {
        let mut a = vec!["stats", "--no-stream", "--format", "{{.Name}}"];
        a.extend_from_slice(args);
        r.run(&a).ok().lines().map(String::from).collect()
    };
    assert_eq!(names(&[]), vec!["up"]);
    let mut all = names(&["-a"]);
    all.sort();
    assert_eq!(all, vec!["down", "up"]);
    let table = r.run(&["stats", "--no-stream", "-a"]).ok().to_string();
    let down = table
        .lines()
        .find(|l| l.starts_with(&down_id[..12]))
        .unwrap_or_else(|| panic!("{table}"));
    let cells: Vec<&str> = down
        .split("   ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(
        cells,
        vec![
            &down_id[..12],
            "down",
            "0.00%",
            "0B / 0B",
            "0.00%",
            "0B / 0B",
            "0B / 0B",
            "0"
        ],
        "{table}"
    );
    // A named stopped container needs no -a.
    assert_eq!(names(&["down"]), vec!["down"]);

    // json: docker's keys; .Container is what was asked for.
    let j = r
        .run(&["stats", "--no-stream", "--format", "json", "up"])
        .ok()
        .to_string();
    let v: serde_json::Value = serde_json::from_str(j.trim()).unwrap();
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    keys.sort();
    assert_eq!(
        keys,
        vec![
            "BlockIO",
            "CPUPerc",
            "Container",
            "ID",
            "MemPerc",
            "MemUsage",
            "Name",
            "NetIO",
            "PIDs"
        ]
    );
    assert_eq!(v["Container"], "up");
    assert_eq!(v["ID"], &up_id[..12]);
    assert_eq!(v["Name"], "up");
    assert_eq!(v["PIDs"], "1");
    // Without names, .Container is the short ID; --no-trunc lengthens .ID.
    assert_eq!(
        r.run(&[
            "stats",
            "--no-stream",
            "--format",
            "{{.Container}} {{.ID}}",
            "--no-trunc"
        ])
        .ok(),
        format!("{} {up_id}\n", &up_id[..12])
    );
    // A table template: its own header.
    assert_eq!(
        r.run(&[
            "stats",
            "--no-stream",
            "--format",
            "table {{.Name}}\\t{{.PIDs}}",
            "up"
        ])
        .ok(),
        "NAME      PIDS\nup        1\n"
    );
    // Nothing running: the header alone.
    r.run(&["rm", "-f", "up"]).ok();
    assert_eq!(
        r.run(&["stats", "--no-stream"]).ok(),
        "CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT   MEM %     NET I/O   BLOCK I/O   PIDS\n"
    );

    // Unknown names: docker's message, rdock's 125, nothing printed.
    let e = r.run(&["stats", "--no-stream", "down", "nosuch"]);
    assert!(
        e.fails_1().contains("No such container: nosuch"),
        "{}",
        e.stderr
    );
    assert_eq!(e.stdout, "");
    // A bad template is a plain error (exit 1), as docker's.
    let e = r.run(&["stats", "--no-stream", "--format", "{{.Nope", "down"]);
    assert_eq!(e.code, 1, "{}", e.stderr);
    assert!(
        e.stderr
            .contains("template parsing error: template: :1: unclosed action"),
        "{}",
        e.stderr
    );
    r.run(&["stats", "--bogus"]).fails_125();
}

/// Tables read from a stream: each one ends where the next header starts.
struct Tables {
    rx: mpsc::Receiver<String>,
    current: Option<Vec<String>>,
}

impl Tables {
    fn next(&mut self) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.rx.recv_timeout(left).expect("a table within 10 s");
            assert!(!line.contains('\x1b'), "escape in a pipe: {line:?}");
            if line.starts_with("NAME") {
                if let Some(done) = self.current.replace(Vec::new()) {
                    return done;
                }
            } else if let Some(t) = self.current.as_mut() {
                t.push(line);
            }
        }
    }
}

#[test]
fn the_stream_follows_containers_as_they_come_and_go() {
    let r = Rdock::with_busybox();
    r.run(&["run", "-d", "--name", "first", "busybox", "sleep", "600"])
        .ok();
    // Not a terminal: successive tables, no escape sequences.
    let mut child = r
        .cmd(&["stats", "--format", "table {{.Name}}\\t{{.PIDs}}"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let _guard = Stream(child);
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut tables = Tables { rx, current: None };
    let t = tables.next();
    assert!(t.iter().any(|l| l.starts_with("first")), "{t:?}");
    r.run(&["run", "-d", "--name", "second", "busybox", "sleep", "600"])
        .ok();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let t = tables.next();
        if t.iter().any(|l| l.starts_with("second")) {
            break;
        }
        assert!(Instant::now() < deadline, "second never appeared: {t:?}");
    }
    r.run(&["rm", "-f", "first"]).ok();
    loop {
        let t = tables.next();
        if !t.iter().any(|l| l.starts_with("first")) {
            assert!(t.iter().any(|l| l.starts_with("second")), "{t:?}");
            break;
        }
        assert!(Instant::now() < deadline, "first never left: {t:?}");
    }
}

#[test]
fn on_a_terminal_the_table_is_redrawn_in_place() {
    let r = Rdock::with_busybox();
    r.run(&["run", "-d", "--name", "shown", "busybox", "sleep", "600"])
        .ok();
    let cmd = format!(
        "{} --root {} --runroot {} stats",
        bin(),
        r.root.display(),
        r.runroot.display()
    );
    let t = Tmux::start(&r.dir.path().join("tmux.sock"), 120, 20, &cmd);
    t.wait_for("shown");
    // Three more refreshes, still one header on the screen.
    std::thread::sleep(Duration::from_millis(3200));
    let screen = t.screen();
    assert_eq!(screen.matches("CONTAINER ID").count(), 1, "{screen}");
    assert_eq!(screen.matches("shown").count(), 1, "{screen}");
}
