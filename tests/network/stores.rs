//! Two stores (two `--root`s) on one host: addresses are leased per
//! bridge and host ports per host, whichever store asks, and a dead
//! lease of a removed store is reclaimed.

use super::*;
use std::time::Instant;

/// A second store whose settings name `a`'s bridge, subnet, pool and
/// firewall table, as two `--root`s under one /etc/rdock/daemon.json.
/// Its Drop removes the shared bridge and table too (whichever store
/// drops first).
fn sharing(a: &Rdock) -> Rdock {
    let mut b = Rdock::with_busybox();
    std::fs::copy(
        a.dir.path().join("daemon.json"),
        b.dir.path().join("daemon.json"),
    )
    .unwrap();
    b.bridge = a.bridge.clone();
    b.subnet = a.subnet.clone();
    b.table = a.table.clone();
    b.pool = a.pool.clone();
    b
}

fn prefix(r: &Rdock) -> String {
    r.subnet.trim_end_matches(".0/24").to_string()
}

/// What a container says of its eth0: MAC and IPv4 address.
fn eth0(r: &Rdock, name: &str) -> String {
    r.run(&[
        "exec",
        name,
        "sh",
        "-c",
        "cat /sys/class/net/eth0/address; ip -4 -o addr show eth0 | grep -o 'inet [0-9./]*'",
    ])
    .ok()
    .to_string()
}

fn inspect_ip(r: &Rdock, name: &str) -> String {
    r.run(&["inspect", "-f", "{{.NetworkSettings.IPAddress}}", name])
        .ok()
        .trim()
        .to_string()
}

const HTTPD: &str = "mkdir -p /www && echo $0 > /www/index.html && httpd -f -p 80 -h /www";

fn serve(r: &Rdock, name: &str, port: u16, body: &str) -> Run {
    r.run(&[
        "run",
        "-d",
        "--name",
        name,
        "-p",
        &format!("127.0.0.1:{port}:80"),
        "busybox",
        "sh",
        "-c",
        HTTPD,
        body,
    ])
}

/// Until `pid` is gone (or a zombie), at most 10 s.
fn wait_gone(pid: i32) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => return,
            Ok(s) if s.contains(") Z ") => return,
            Ok(_) => {}
        }
        assert!(Instant::now() < deadline, "process {pid} still there");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn two_stores_on_one_bridge_get_different_addresses_and_macs() {
    let a = Rdock::with_busybox();
    let b = sharing(&a);
    let p = prefix(&a);
    // An older rdock's per-store lease file is folded into the host's
    // table (its container is long gone: reclaimed) and goes.
    std::fs::create_dir_all(a.root.join("networks")).unwrap();
    let old = a.root.join("networks/leases.json");
    std::fs::write(
        &old,
        format!(r#"[{{"network":"bridge","container":"gone","ip":"{p}.9","veth":"vethgone"}}]"#),
    )
    .unwrap();
    for (r, name) in [(&a, "one"), (&b, "two")] {
        r.run(&["run", "-d", "--name", name, "busybox", "sleep", "300"])
            .ok();
        wait_for_pid(r, name);
    }
    let (ea, eb) = (eth0(&a, "one"), eth0(&b, "two"));
    assert_ne!(ea.lines().next(), eb.lines().next(), "same MAC:\n{ea}{eb}");
    assert_ne!(
        ea.lines().nth(1),
        eb.lines().nth(1),
        "same address:\n{ea}{eb}"
    );
    assert_eq!(ea.lines().nth(1), Some(format!("inet {p}.2/24").as_str()));
    assert_eq!(eb.lines().nth(1), Some(format!("inet {p}.3/24").as_str()));
    assert_eq!(inspect_ip(&b, "two"), format!("{p}.3"));
    assert!(!old.exists());
    // Each store sees its own lease only: its network inspect too.
    let members = |r: &Rdock| {
        r.run(&["network", "inspect", "-f", "{{len .Containers}}", "bridge"])
            .ok()
            .trim()
            .to_string()
    };
    assert_eq!((members(&a), members(&b)), ("1".into(), "1".into()));
    // The next of A's is after both.
    a.run(&["run", "-d", "--name", "three", "busybox", "sleep", "300"])
        .ok();
    assert_eq!(inspect_ip(&a, "three"), format!("{p}.4"));
    // The host's table is root's alone.
    use std::os::unix::fs::MetadataExt;
    let mode = |f: &str| {
        std::fs::metadata(std::path::Path::new(HOST_LEASES).join(f))
            .unwrap()
            .mode()
            & 0o777
    };
    assert_eq!(
        (mode(""), mode("leases.json"), mode("lock")),
        (0o700, 0o600, 0o600)
    );
    a.run(&["rm", "-f", "one", "three"]).ok();
    b.run(&["rm", "-f", "two"]).ok();
    assert!(store_leases(&a).is_empty() && store_leases(&b).is_empty());
    // User networks from one pool: B skips the subnet whose gateway A's
    // bridge holds on the host.
    let subnet = |r: &Rdock| {
        r.run(&["network", "create", "n1"]).ok();
        r.run(&[
            "network",
            "inspect",
            "-f",
            "{{range .IPAM.Config}}{{.Subnet}}{{end}}",
            "n1",
        ])
        .ok()
        .trim()
        .to_string()
    };
    let (sa, sb) = (subnet(&a), subnet(&b));
    assert!(
        sa.starts_with(&a.pool) && sb.starts_with(&a.pool),
        "{sa} {sb}"
    );
    assert_ne!(sa, sb);
}

#[test]
fn a_port_another_store_publishes_is_allocated() {
    let a = Rdock::with_busybox();
    let b = sharing(&a);
    // A third store on a bridge and table of its own: host ports are the
    // host's, whatever the bridge.
    let c = Rdock::with_busybox();
    let port = free_port();
    let id = serve(&a, "web", port, "from-a").ok().trim().to_string();
    wait_for_pid(&a, "web");
    assert!(http_get(port).contains("from-a"));
    let taken = format!("Bind for 127.0.0.1:{port} failed: port is already allocated");
    for (r, name) in [(&b, "web-b"), (&c, "web-c")] {
        let e = serve(r, name, port, "x").fails_125().to_string();
        assert!(e.contains(&taken), "{e}");
    }
    // Nothing changed for A's container.
    assert!(http_get(port).contains("from-a"));
    let rules = nft_table(&a);
    assert_eq!(
        rules.matches("rdock ctr").count(),
        rules.matches(&format!("rdock ctr {id}")).count(),
        "{rules}"
    );
    // Once A's container is gone, the port is free for the others.
    a.run(&["rm", "-f", "web"]).ok();
    serve(&b, "web-b2", port, "from-b").ok();
    wait_for_pid(&b, "web-b2");
    assert!(http_get(port).contains("from-b"));
    b.run(&["rm", "-f", "web-b2"]).ok();
}

/// kill -9 of container `name` of `r` and its monitor (its lease's
/// holder): nobody there gives anything back. (`r`'s store goes after.)
fn kill_store(r: &Rdock, name: &str, id: &str) {
    let pid = wait_for_pid(r, name);
    let monitor = ppid(pid);
    // SAFETY: signals to the test's own container processes.
    unsafe {
        libc::kill(monitor, libc::SIGKILL);
        libc::kill(pid, libc::SIGKILL);
    }
    wait_gone(monitor);
    wait_gone(pid);
    for cg in cgroups_of(id) {
        let _ = std::fs::remove_dir(cg);
    }
}

fn in_host_table(id: &str) -> bool {
    host_table("leases.json")
        .iter()
        .any(|l| l["container"].as_str() == Some(id))
}

#[test]
fn a_removed_stores_dead_leases_are_reclaimed() {
    let a = Rdock::with_busybox();
    let b = sharing(&a);
    // A store on a bridge of its own: its dead lease blocks nothing of
    // B's, and goes all the same (its store is gone).
    let c = Rdock::with_busybox();
    let p = prefix(&a);
    let (port, port_c) = (free_port(), free_port());
    let id = serve(&a, "web", port, "from-a").ok().trim().to_string();
    let id_c = serve(&c, "web", port_c, "from-c").ok().trim().to_string();
    b.run(&["run", "-d", "--name", "other", "busybox", "sleep", "300"])
        .ok();
    wait_for_pid(&b, "other");
    assert_eq!(inspect_ip(&b, "other"), format!("{p}.3"));
    kill_store(&a, "web", &id);
    kill_store(&c, "web", &id_c);
    // Their rules are still there (only an allocation their leases block
    // judges them while their stores exist: no other test's).
    assert!(nft_table(&a).contains(&format!("rdock ctr {id}")));
    assert!(nft_table(&c).contains(&format!("rdock ctr {id_c}")));
    // Now their stores go: from here any allocation on the host, another
    // test's included, may reclaim them.
    std::fs::remove_dir_all(&a.root).unwrap();
    std::fs::remove_dir_all(&c.root).unwrap();
    // B takes the port and the address back, and the dead leases' rules
    // go.
    serve(&b, "web", port, "from-b").ok();
    wait_for_pid(&b, "web");
    assert_eq!(inspect_ip(&b, "web"), format!("{p}.2"));
    assert!(http_get(port).contains("from-b"));
    let rules = nft_table(&b);
    assert!(!rules.contains(&format!("rdock ctr {id}")), "{rules}");
    assert!(!in_host_table(&id));
    let rules = nft_table(&c);
    assert!(!rules.contains(&format!("rdock ctr {id_c}")), "{rules}");
    assert!(!in_host_table(&id_c));
    b.run(&["rm", "-f", "web", "other"]).ok();
}
