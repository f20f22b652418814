//! Bridge networking: addresses, published ports fetched from the host on
//! loopback, `container:` sharing, and nothing left behind. Every test has
//! its own bridge, subnet and nftables table (see common::Rdock).

mod common;
use common::*;
use std::io::{Read, Write};
use std::time::Duration;

#[path = "network/stores.rs"]
mod stores;

fn http_get(port: u16) -> String {
    for _ in 0..50 {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            s.write_all(b"GET /index.html HTTP/1.0\r\n\r\n").unwrap();
            let mut out = String::new();
            let _ = s.read_to_string(&mut out);
            if !out.is_empty() {
                return out;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("nothing answered on 127.0.0.1:{port}");
}

/// The host's lease table (src/network/leases.rs).
const HOST_LEASES: &str = "/run/rdock-network";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The test's nftables table (which must exist: an absent table would make
/// every "no rule left" check pass).
fn nft_table(r: &Rdock) -> String {
    let o = std::process::Command::new("nft")
        .args(["list", "table", "ip", &r.table])
        .output()
        .unwrap();
    assert!(o.status.success(), "no table {}", r.table);
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Run until it succeeds (a server in another container may not listen
/// yet), at most ~5 s.
fn eventually(r: &Rdock, args: &[&str]) -> String {
    for _ in 0..25 {
        let out = r.run(args);
        if out.code == 0 {
            return out.stdout;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    r.run(args).ok().to_string()
}

#[test]
fn published_port_answers_on_loopback_and_is_cleaned_up() {
    let r = Rdock::with_busybox();
    let port = free_port();
    let id = r
        .run(&[
            "run",
            "-d",
            "--name",
            "web1",
            "-p",
            &format!("127.0.0.1:{port}:80"),
            "busybox",
            "sh",
            "-c",
            "mkdir -p /www && echo hello-from-rdock > /www/index.html && httpd -f -p 80 -h /www",
        ])
        .ok()
        .trim()
        .to_string();
    wait_for_pid(&r, "web1");
    let body = http_get(port);
    assert!(body.contains("hello-from-rdock"), "{body}");

    // ps, port, inspect agree.
    assert_eq!(
        r.run(&["ps", "--format", "{{.Ports}}"]).ok(),
        format!("127.0.0.1:{port}->80/tcp\n")
    );
    assert_eq!(
        r.run(&["port", "web1"]).ok(),
        format!("80/tcp -> 127.0.0.1:{port}\n")
    );
    assert_eq!(
        r.run(&["port", "web1", "80"]).ok(),
        format!("127.0.0.1:{port}\n")
    );
    let prefix = r.subnet.trim_end_matches(".0/24");
    let ip = r
        .run(&["inspect", "-f", "{{.NetworkSettings.IPAddress}} {{.NetworkSettings.Gateway}} {{.NetworkSettings.MacAddress}}", "web1"])
        .ok()
        .to_string();
    assert_eq!(
        ip,
        format!(
            "{prefix}.2 {prefix}.1 02:42:{}\n",
            prefix
                .split('.')
                .chain(["2"])
                .map(|o| format!("{:02x}", o.parse::<u8>().unwrap()))
                .collect::<Vec<_>>()
                .join(":")
        )
    );
    assert!(nft_table(&r).contains(&format!("rdock ctr {id}")));

    // A second container gets the next address, and reaches the first.
    let out = r
        .run(&[
            "run",
            "--rm",
            "busybox",
            "sh",
            "-c",
            &format!("ip -4 -o addr show eth0 | grep -o '{prefix}\\.[0-9]*/24'; wget -q -O - http://{prefix}.2/index.html"),
        ])
        .ok()
        .to_string();
    assert_eq!(out, format!("{prefix}.3/24\nhello-from-rdock\n"));

    // The same host port again is docker's error, and changes nothing.
    let e = r
        .run(&[
            "run",
            "-d",
            "-p",
            &format!("127.0.0.1:{port}:80"),
            "busybox",
            "true",
        ])
        .fails_125()
        .to_string();
    assert!(e.contains("port is already allocated"), "{e}");

    // `container:` shares web1's network namespace.
    let out = r
        .run(&[
            "run",
            "--rm",
            "--network",
            "container:web1",
            "busybox",
            "wget",
            "-q",
            "-O",
            "-",
            "http://127.0.0.1/index.html",
        ])
        .ok()
        .to_string();
    assert_eq!(out, "hello-from-rdock\n");

    // Stopping gives everything back: rule, veth, lease.
    let veth = lease_veths(&r).pop().unwrap();
    assert!(std::path::Path::new(&format!("/sys/class/net/{veth}")).exists());
    r.run(&["stop", "-t", "0", "web1"]).ok();
    assert!(!nft_table(&r).contains("rdock ctr"), "{}", nft_table(&r));
    assert!(gone_soon(&veth));
    assert_eq!(store_leases(&r), Vec::<serde_json::Value>::new());
    // web1 and the container whose start failed (kept as Created, as docker does).
    assert_eq!(r.run(&["ps", "-a", "--format", "{{.Ports}}"]).ok(), "\n\n");
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

/// Bind mounts that let the busybox image run the host's python3 (Debian's
/// busybox has no UDP server).
const HOST_PYTHON: [&str; 6] = [
    "-v",
    "/usr:/usr:ro",
    "-v",
    "/usr/lib:/lib:ro",
    "-v",
    "/usr/lib64:/lib64:ro",
];

const UDP_ECHO: &str = "import socket\n\
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
s.bind(('0.0.0.0', 7000))\n\
while True:\n    d, a = s.recvfrom(100)\n    s.sendto(b'echo:' + d, a)\n";

fn udp_ask(port: u16) -> String {
    let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut buf = [0u8; 100];
    for _ in 0..30 {
        s.send_to(b"ping", ("127.0.0.1", port)).unwrap();
        if let Ok((n, _)) = s.recv_from(&mut buf) {
            return String::from_utf8_lossy(&buf[..n]).into_owned();
        }
    }
    panic!("no UDP answer on 127.0.0.1:{port}");
}

#[test]
fn random_ports_udp_and_a_killed_monitor() {
    let r = Rdock::with_busybox();
    let mut args = vec![
        "run",
        "-d",
        "--name",
        "udp1",
        "-p",
        "127.0.0.1::7000/udp",
        "--expose",
        "9000",
    ];
    args.extend(HOST_PYTHON);
    args.extend(["busybox", "/usr/bin/python3", "-c", UDP_ECHO]);
    r.run(&args).ok();
    wait_for_pid(&r, "udp1");
    let port: u16 = r
        .run(&["port", "udp1", "7000/udp"])
        .ok()
        .trim()
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((32768..=60999).contains(&port), "{port}");
    assert_eq!(
        r.run(&["ps", "--format", "{{.Ports}}"]).ok(),
        format!("127.0.0.1:{port}->7000/udp, 9000/tcp\n")
    );
    assert_eq!(udp_ask(port), "echo:ping");
    // kill -9 of the monitor and the container: the next run reclaims
    // the lease and the rules.
    let pid = wait_for_pid(&r, "udp1");
    let mon = ppid(pid);
    unsafe {
        libc::kill(mon, libc::SIGKILL);
        libc::kill(pid, libc::SIGKILL);
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(nft_table(&r).contains("rdock ctr"));
    r.run(&["run", "--rm", "busybox", "true"]).ok();
    assert!(!nft_table(&r).contains("rdock ctr"), "{}", nft_table(&r));
    assert_eq!(store_leases(&r), Vec::<serde_json::Value>::new());
}

fn link_exists(name: &str) -> bool {
    std::path::Path::new(&format!("/sys/class/net/{name}")).exists()
}

/// The kernel deletes a stopped container's veth with its network
/// namespace, asynchronously: give it a moment.
fn gone_soon(link: &str) -> bool {
    for _ in 0..100 {
        if !link_exists(link) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// Every entry of one of the host's lease files (every store's).
fn host_table(file: &str) -> Vec<serde_json::Value> {
    match std::fs::read_to_string(std::path::Path::new(HOST_LEASES).join(file)) {
        Ok(text) => serde_json::from_str(&text).unwrap(),
        Err(_) => Vec::new(),
    }
}

/// The leases of `r`'s store in the host's table.
fn store_leases(r: &Rdock) -> Vec<serde_json::Value> {
    let root = std::fs::canonicalize(&r.root).unwrap();
    host_table("leases.json")
        .into_iter()
        .filter(|l| l["root"].as_str() == root.to_str())
        .collect()
}

/// The host end of each lease's veth.
fn lease_veths(r: &Rdock) -> Vec<String> {
    store_leases(r)
        .iter()
        .map(|l| l["veth"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_stopped_containers_veth_goes_with_its_namespace() {
    let r = Rdock::with_busybox();
    // Back to back: the kernel deletes each veth with its namespace, and
    // the address is only given out again once it has.
    for _ in 0..3 {
        r.run(&["run", "--rm", "busybox", "true"]).ok();
    }
    assert_eq!(store_leases(&r), Vec::<serde_json::Value>::new());
    let draining: Vec<serde_json::Value> = host_table("draining.json")
        .into_iter()
        .filter(|d| d["bridge"].as_str() == Some(r.bridge.as_str()))
        .collect();
    for d in &draining {
        assert!(gone_soon(d["veth"].as_str().unwrap()), "{draining:?}");
    }

    // A namespace another container still uses keeps its veth: after the
    // grace period the next start deletes it (the sharer loses eth0, as
    // with docker), and the address is free again.
    r.run(&["run", "-d", "--name", "owner", "busybox", "sleep", "30"])
        .ok();
    wait_for_pid(&r, "owner");
    r.run(&[
        "run",
        "-d",
        "--name",
        "sharer",
        "--network",
        "container:owner",
        "busybox",
        "sleep",
        "30",
    ])
    .ok();
    wait_for_pid(&r, "sharer");
    let veth = lease_veths(&r).pop().unwrap();
    r.run(&["stop", "-t", "0", "owner"]).ok();
    std::thread::sleep(Duration::from_millis(300));
    assert!(link_exists(&veth));
    std::thread::sleep(Duration::from_millis(2000));
    r.run(&["run", "--rm", "busybox", "true"]).ok();
    assert!(!link_exists(&veth));
    let out = r
        .run(&["exec", "sharer", "cat", "/proc/net/dev"])
        .ok()
        .to_string();
    assert!(!out.contains("eth0"), "{out}");
    r.run(&["rm", "-f", "sharer", "owner"]).ok();
}

#[test]
fn user_networks_resolve_names_and_connect_live() {
    let r = Rdock::with_busybox();
    let id = r
        .run(&["network", "create", "--label", "team=a", "n1"])
        .ok()
        .trim()
        .to_string();
    assert_eq!(id.len(), 64, "{id}");
    let e = r.run(&["network", "create", "n1"]).fails_1().to_string();
    assert!(e.contains("network with name n1 already exists"), "{e}");
    let n2_subnet = format!("{}.192/27", r.pool);
    r.run(&["network", "create", "--subnet", &n2_subnet, "n2"])
        .ok();
    let ls = r.run(&["network", "ls"]).ok().to_string();
    let lines: Vec<&str> = ls.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["NETWORK", "ID", "NAME", "DRIVER", "SCOPE"]
    );
    let names: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l.split_whitespace().nth(1).unwrap())
        .collect();
    assert_eq!(names, ["bridge", "host", "n1", "n2", "none"]);
    assert_eq!(
        r.run(&[
            "network",
            "ls",
            "-q",
            "--no-trunc",
            "--filter",
            "label=team=a"
        ])
        .ok(),
        format!("{id}\n")
    );
    let n1_subnet = r
        .run(&[
            "network",
            "inspect",
            "-f",
            "{{range .IPAM.Config}}{{.Subnet}}{{end}}",
            "n1",
        ])
        .ok()
        .trim()
        .to_string();
    assert_eq!(n1_subnet, format!("{}.0/27", r.pool));
    let bridges = r.user_bridges();
    assert_eq!(bridges.len(), 2);
    assert!(bridges.iter().all(|b| link_exists(b)), "{bridges:?}");

    // A chosen address needs a subnet chosen at `network create`, as
    // docker's daemon says; n1's came from the pool.
    let e = r.run(&[
        "create",
        "--network",
        "n1",
        "--ip",
        &format!("{}.10", r.pool),
        "busybox",
    ]); // docker's two-line message
    assert_eq!(e.code, 1, "{}", e.stderr);
    let e = e.stderr.clone();
    assert!(
        e.contains("supported only when connecting to networks with user configured subnets"),
        "{e}"
    );
    // By name and by alias on n1.
    r.run(&[
        "run",
        "-d",
        "--name",
        "srv",
        "--network",
        "n1",
        "--network-alias",
        "web",
        "busybox",
        "sh",
        "-c",
        "mkdir -p /www && echo hello-n1 > /www/index.html && httpd -f -p 80 -h /www",
    ])
    .ok();
    wait_for_pid(&r, "srv");
    let ip = r
        .run(&[
            "inspect",
            "-f",
            "{{.NetworkSettings.Networks.n1.IPAddress}}",
            "srv",
        ])
        .ok()
        .trim()
        .to_string();
    assert!(ip.starts_with(&format!("{}.", r.pool)), "{ip}");
    let out = eventually(
        &r,
        &[
            "run",
            "--rm",
            "--network",
            "n1",
            "busybox",
            "sh",
            "-c",
            "wget -q -O - http://srv/index.html && wget -q -O - http://web/index.html",
        ],
    );
    assert_eq!(out, "hello-n1\nhello-n1\n");
    let members = r
        .run(&[
            "network",
            "inspect",
            "-f",
            "{{range .Containers}}{{.Name}} {{.IPv4Address}}{{end}}",
            "n1",
        ])
        .ok()
        .to_string();
    assert_eq!(members, format!("srv {ip}/27\n"));

    // A container on n2 does not know srv until it joins n1, live.
    r.run(&[
        "run",
        "-d",
        "--name",
        "c2",
        "--network",
        "n2",
        "busybox",
        "sleep",
        "60",
    ])
    .ok();
    wait_for_pid(&r, "c2");
    let fetch = [
        "exec",
        "c2",
        "wget",
        "-q",
        "-O",
        "-",
        "http://srv/index.html",
    ];
    let knows_srv = || {
        r.run(&["exec", "c2", "cat", "/etc/hosts"])
            .ok()
            .contains("\tsrv web ")
    };
    assert!(!knows_srv());
    // Networks are isolated from each other: n2 cannot reach srv on n1.
    let direct = format!("timeout 2 wget -q -O - http://{ip}/index.html");
    assert_ne!(r.run(&["exec", "c2", "sh", "-c", &direct]).code, 0);
    r.run(&["network", "connect", "--alias", "c2x", "n1", "c2"])
        .ok();
    assert_eq!(r.run(&fetch).ok(), "hello-n1\n");
    assert_eq!(
        r.run(&["ps", "--filter", "name=c2", "--format", "{{.Networks}}"])
            .ok(),
        "n2,n1\n"
    );
    let srv_hosts = r
        .run(&["exec", "srv", "cat", "/etc/hosts"])
        .ok()
        .to_string();
    assert!(srv_hosts.contains("\tc2 c2x "), "{srv_hosts}");
    let e = r
        .run(&["network", "connect", "n1", "c2"])
        .fails_1()
        .to_string();
    assert!(e.contains("already exists in network n1"), "{e}");
    // n1 is in use.
    let e = r.run(&["network", "rm", "n1"]);
    assert_eq!(e.code, 1);
    assert!(e.stderr.contains("has active endpoints"), "{}", e.stderr);
    // A rename reaches the peers.
    r.run(&["rename", "c2", "c2new"]).ok();
    let srv_hosts = r
        .run(&["exec", "srv", "cat", "/etc/hosts"])
        .ok()
        .to_string();
    assert!(srv_hosts.contains("\tc2new c2x "), "{srv_hosts}");
    r.run(&["rename", "c2new", "c2"]).ok();
    // Leaving: the interface and the names go.
    r.run(&["network", "disconnect", "n1", "c2"]).ok();
    assert!(!knows_srv());
    let ifs = r
        .run(&["exec", "c2", "ls", "/sys/class/net"])
        .ok()
        .to_string();
    assert_eq!(ifs, "eth0\nlo\n");
    let srv_hosts = r
        .run(&["exec", "srv", "cat", "/etc/hosts"])
        .ok()
        .to_string();
    assert!(!srv_hosts.contains("\tc2 "), "{srv_hosts}");
    let e = r
        .run(&["network", "disconnect", "n1", "c2"])
        .fails_1()
        .to_string();
    assert!(e.contains("is not connected to network n1"), "{e}");

    // Everything back: leases, bridges, rules.
    r.run(&["rm", "-f", "srv", "c2"]).ok();
    assert_eq!(r.run(&["network", "rm", "n1", "n2"]).ok(), "n1\nn2\n");
    assert!(bridges.iter().all(|b| !link_exists(b)), "{bridges:?}");
    assert!(!nft_table(&r).contains("rdbr-"), "{}", nft_table(&r));
    assert_eq!(store_leases(&r), Vec::<serde_json::Value>::new());
    let e = r.run(&["network", "rm", "bridge"]);
    assert!(
        e.stderr
            .contains("pre-defined network and cannot be removed"),
        "{}",
        e.stderr
    );
    // prune keeps what a container names.
    r.run(&["network", "create", "n3"]).ok();
    r.run(&["network", "create", "n4"]).ok();
    r.run(&[
        "create",
        "--name",
        "c4",
        "--network",
        "n4",
        "busybox",
        "ls",
        "/sys/class/net",
    ])
    .ok();
    // Joining a stopped container takes effect at its start.
    r.run(&["network", "create", "n5"]).ok();
    r.run(&["network", "connect", "n5", "c4"]).ok();
    assert_eq!(r.run(&["start", "-a", "c4"]).ok(), "eth0\neth1\nlo\n");
    assert_eq!(
        r.run(&["network", "prune", "-f"]).ok(),
        "Deleted Networks:\nn3\n\n"
    );
}

#[test]
fn links_on_the_default_bridge() {
    let r = Rdock::with_busybox();
    r.run(&[
        "run",
        "-d",
        "--name",
        "db",
        "-e",
        "DB_PASS=pw",
        "--expose",
        "5432",
        "busybox",
        "sleep",
        "60",
    ])
    .ok();
    wait_for_pid(&r, "db");
    let db_ip = r
        .run(&["inspect", "-f", "{{.NetworkSettings.IPAddress}}", "db"])
        .ok()
        .trim()
        .to_string();
    let out = r
        .run(&[
            "run", "--rm", "--name", "app", "--link", "db:my-db", "busybox", "sh", "-c",
            "env | grep ^MY_DB | sort; grep my-db /etc/hosts; ping -c 1 -W 2 my-db > /dev/null && echo reached",
        ])
        .ok()
        .to_string();
    let short = r
        .run(&["ps", "-q", "--filter", "name=db"])
        .ok()
        .trim()
        .to_string();
    assert_eq!(
        out,
        format!(
            "MY_DB_ENV_DB_PASS=pw\nMY_DB_NAME=/app/my-db\n\
             MY_DB_PORT=tcp://{db_ip}:5432\nMY_DB_PORT_5432_TCP=tcp://{db_ip}:5432\n\
             MY_DB_PORT_5432_TCP_ADDR={db_ip}\nMY_DB_PORT_5432_TCP_PORT=5432\n\
             MY_DB_PORT_5432_TCP_PROTO=tcp\n{db_ip}\tmy-db {short} db\nreached\n"
        )
    );
    let e = r
        .run(&["run", "--rm", "--link", "nosuch:x", "busybox", "true"])
        .fails_125()
        .to_string();
    assert!(e.contains("could not get container for nosuch"), "{e}");
    r.run(&["stop", "-t", "0", "db"]).ok();
    let e = r
        .run(&["run", "--rm", "--link", "db", "busybox", "true"])
        .fails_125()
        .to_string();
    assert!(
        e.contains("Cannot link to a non running container: /db AS"),
        "{e}"
    );
}

#[test]
fn dns_hosts_and_bad_flags() {
    let r = Rdock::with_busybox();
    let out = r
        .run(&[
            "run",
            "--rm",
            "--hostname",
            "box1",
            "--dns",
            "192.0.2.53",
            "--dns-search",
            "example.test",
            "--add-host",
            "db.local:192.0.2.10",
            "busybox",
            "sh",
            "-c",
            "cat /etc/resolv.conf; grep -E 'box1|db.local' /etc/hosts",
        ])
        .ok()
        .to_string();
    let prefix = r.subnet.trim_end_matches(".0/24");
    assert!(
        out.contains("nameserver 192.0.2.53\nsearch example.test\n"),
        "{out}"
    );
    assert!(out.contains(&format!("{prefix}.2\tbox1\n")), "{out}");
    assert!(out.contains("192.0.2.10\tdb.local\n"), "{out}");
    for (args, msg) in [
        (vec!["-p", "80/icmp"], "invalid proto"),
        (vec!["-p", "8000-8001:80-85"], "invalid ranges"),
        (
            vec!["--network", "nosuchnet"],
            "network nosuchnet not found",
        ),
        (vec!["--ip", "10.9.9.9"], "user defined networks only"),
        (
            vec!["--network-alias", "x"],
            "only supported for user-defined networks",
        ),
        (vec!["--link", "a:b:c"], "bad format for links: a:b:c"),
        (
            vec!["--network", "host", "--link", "a"],
            "host type networking can't be used with links",
        ),
        (vec!["--mac-address", "zz"], "not a valid mac address"),
        (vec!["--network", "container:nosuch"], "No such container"),
        (
            vec!["--dns", "not-an-ip"],
            "IP address is not correctly formatted",
        ),
        (vec!["--add-host", "nocolon"], "bad format for add-host"),
        (
            vec!["--add-host", "db:999.1.1.1"],
            "invalid IP address in add-host",
        ),
    ] {
        let mut a = vec!["run", "--rm"];
        a.extend(args);
        a.extend(["busybox", "true"]);
        let e = r.run(&a).fails_125().to_string();
        assert!(e.contains(msg), "{a:?}: {e}");
    }
    let out = r
        .run(&[
            "run",
            "--rm",
            "--mac-address",
            "02:aa:bb:cc:dd:ee",
            "busybox",
            "cat",
            "/sys/class/net/eth0/address",
        ])
        .ok()
        .to_string();
    assert_eq!(out, "02:aa:bb:cc:dd:ee\n");
}

#[test]
fn connect_disconnect_routes_own_names_and_edits() {
    let r = Rdock::with_busybox();
    r.run(&["network", "create", "m1"]).ok();
    r.run(&["network", "create", "m2"]).ok();
    let gw2 = r
        .run(&[
            "network",
            "inspect",
            "-f",
            "{{range .IPAM.Config}}{{.Gateway}}{{end}}",
            "m2",
        ])
        .ok()
        .trim()
        .to_string();
    r.run(&[
        "run",
        "-d",
        "--name",
        "solo",
        "--network",
        "m1",
        "--network-alias",
        "me",
        "busybox",
        "sleep",
        "60",
    ])
    .ok();
    wait_for_pid(&r, "solo");
    // It finds itself by name and alias, as docker's DNS answers.
    r.run(&["exec", "solo", "ping", "-c", "1", "-W", "2", "me"])
        .ok();
    r.run(&["exec", "solo", "ping", "-c", "1", "-W", "2", "solo"])
        .ok();
    // Its own edits survive a peer coming and going.
    r.run(&[
        "exec",
        "solo",
        "sh",
        "-c",
        "echo '192.0.2.7 mine' >> /etc/hosts",
    ])
    .ok();
    r.run(&[
        "run",
        "--rm",
        "--name",
        "peer",
        "--network",
        "m1",
        "busybox",
        "true",
    ])
    .ok();
    let hosts = r
        .run(&["exec", "solo", "cat", "/etc/hosts"])
        .ok()
        .to_string();
    assert!(hosts.contains("192.0.2.7 mine\n"), "{hosts}");
    assert!(!hosts.contains("\tpeer "), "{hosts}");
    let nets = ["exec", "solo", "ls", "/sys/class/net"];
    // m2 joins as eth1; leaving m1 moves the default route to m2.
    r.run(&["network", "connect", "m2", "solo"]).ok();
    assert_eq!(r.run(&nets).ok(), "eth0\neth1\nlo\n");
    r.run(&["network", "disconnect", "m1", "solo"]).ok();
    let route = r.run(&["exec", "solo", "ip", "route"]).ok().to_string();
    assert!(
        route.contains(&format!("default via {gw2} dev eth1")),
        "{route}"
    );
    // The freed name is taken again.
    r.run(&["network", "connect", "m1", "solo"]).ok();
    assert_eq!(r.run(&nets).ok(), "eth0\neth1\nlo\n");
    // Off every network, and back on one.
    r.run(&["network", "disconnect", "m1", "solo"]).ok();
    r.run(&["network", "disconnect", "m2", "solo"]).ok();
    assert_eq!(r.run(&nets).ok(), "lo\n");
    r.run(&["network", "connect", "m2", "solo"]).ok();
    assert_eq!(r.run(&nets).ok(), "eth0\nlo\n");
    assert_eq!(r.run(&["ps", "--format", "{{.Networks}}"]).ok(), "m2\n");
    // Names that would add a line or a field to someone's /etc/hosts.
    let e = r
        .run(&[
            "run",
            "--rm",
            "--network",
            "m1",
            "--network-alias",
            "x 6.6.6.6",
            "busybox",
            "true",
        ])
        .fails_125()
        .to_string();
    assert!(e.contains("invalid alias"), "{e}");
    let e = r
        .run(&[
            "network",
            "connect",
            "--alias",
            "a\n6.6.6.6 evil",
            "m1",
            "solo",
        ])
        .fails_1()
        .to_string();
    assert!(e.contains("invalid alias"), "{e}");
    let e = r
        .run(&["run", "--rm", "--link", "solo:x#y", "busybox", "true"])
        .fails_125()
        .to_string();
    assert!(e.contains("invalid link alias"), "{e}");
    // An --internal network has no way out: no default route, and its
    // bridge's traffic elsewhere is dropped.
    r.run(&["network", "create", "--internal", "mi"]).ok();
    assert_eq!(
        r.run(&["network", "inspect", "-f", "{{.Internal}}", "mi"])
            .ok(),
        "true\n"
    );
    let route = r
        .run(&["run", "--rm", "--network", "mi", "busybox", "ip", "route"])
        .ok()
        .to_string();
    assert!(!route.contains("default"), "{route}");
    assert!(route.contains(&format!("{}.", r.pool)), "{route}");
    // A user network's bridge is rdbr-<the ID's first 10> (inspect shows
    // the name only when it was chosen, as docker's).
    let mi_id = r
        .run(&["network", "inspect", "-f", "{{.Id}}", "mi"])
        .ok()
        .trim()
        .to_string();
    let mi_bridge = format!("rdbr-{}", &mi_id[..10]);
    let table = nft_table(&r);
    assert!(
        table.contains(&format!(
            "iifname \"{mi_bridge}\" oifname != \"{mi_bridge}\" drop"
        )),
        "{table}"
    );
    r.run(&["rm", "-f", "solo"]).ok();
    r.run(&["network", "rm", "m1", "m2", "mi"]).ok();
}

/// The bench scripts' store (bench/lib.sh) keeps rdock off the host's
/// rdock0 and `rdock` table, and its cleanup takes back the bridge and
/// table its containers made, with a container still running.
#[test]
fn bench_stores_clean_up_their_network() {
    let r = Rdock::new();
    let tar = r.dir.path().join("busybox.tar");
    std::fs::write(&tar, busybox_tar()).unwrap();
    let net = r.subnet.trim_end_matches(".0/24").to_string();
    let script = format!(
        r#"set -euo pipefail
rdock={bin}
BENCH_TMP={tmp} BENCH_BRIDGE={bridge} BENCH_TABLE={table} BENCH_NET={net}
source bench/lib.sh
bench_store cleanuptest
$R import -c 'CMD ["sh"]' {tar} bb >/dev/null
$R run --rm bb true
$R run -d --name running bb sleep 60 >/dev/null
grep -q '"bridge": "{bridge}"' "$RDOCK_DAEMON_CONFIG"
ip link show {bridge} >/dev/null && nft list table ip {table} >/dev/null && echo made
echo "$work"
bench_store_cleanup
"#,
        bin = bin(),
        tmp = r.dir.path().display(),
        bridge = r.bridge,
        table = r.table,
        tar = tar.display(),
    );
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("RDOCK_DAEMON_CONFIG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines = stdout.lines();
    assert_eq!(lines.next(), Some("made"), "{stdout}");
    let work = lines.next().unwrap_or_default();
    assert!(
        !work.is_empty() && !std::path::Path::new(work).exists(),
        "{work} left"
    );
    assert!(!link_exists(&r.bridge), "bridge {} left", r.bridge);
    let table = std::process::Command::new("nft")
        .args(["list", "table", "ip", &r.table])
        .output()
        .unwrap();
    assert!(!table.status.success(), "table {} left", r.table);
    assert!(mounts_mentioning(work).is_empty());
}

/// Every bench script takes its store from bench/lib.sh, so none of them
/// runs rdock on the host's default network config (bench/lifecycle.sh
/// and bench/monitor.sh once left rdock0 and table `rdock` behind).
#[test]
fn every_bench_script_uses_a_private_store() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bench");
    let mut checked = 0;
    for e in std::fs::read_dir(&dir).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".sh") || name == "lib.sh" {
            continue;
        }
        let text = std::fs::read_to_string(e.path()).unwrap();
        assert!(
            text.contains("source bench/lib.sh")
                && text.contains("bench_store ")
                && text.contains("bench_store_cleanup"),
            "{name} must take its store from bench/lib.sh and clean it up"
        );
        assert!(
            !text.contains("daemon.json"),
            "{name} writes its own daemon.json"
        );
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} bench scripts found");
}

/// A test's store has its own bridge and table: running on the default
/// network never makes the host's `rdock0` or nft table `rdock` (a
/// session once left rdock0 behind from a command run without its
/// store's settings). Checked when the host has neither beforehand.
#[test]
fn a_test_store_never_makes_the_hosts_default_network() {
    let host_table = || {
        std::process::Command::new("nft")
            .args(["list", "table", "ip", "rdock"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    let before = (link_exists("rdock0"), host_table());
    let r = Rdock::with_busybox();
    r.run(&["run", "--rm", "busybox", "true"]).ok();
    assert!(
        link_exists(&r.bridge),
        "the store's own bridge {}",
        r.bridge
    );
    assert_eq!((link_exists("rdock0"), host_table()), before);
}
