//! Bridge networking: addresses, published ports fetched from the host on
//! loopback, `container:` sharing, and nothing left behind. Every test has
//! its own bridge, subnet and nftables table (see common::Rdock).

mod common;
use common::*;
use std::io::{Read, Write};
use std::time::Duration;

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

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn nft_table(r: &Rdock) -> String {
    let o = std::process::Command::new("nft")
        .args(["list", "table", "ip", &r.table])
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).into_owned()
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
    let veth = std::fs::read_to_string(r.root.join("networks/leases.json")).unwrap();
    let veth = veth
        .split("\"veth\":\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    assert!(std::path::Path::new(&format!("/sys/class/net/{veth}")).exists());
    r.run(&["stop", "-t", "0", "web1"]).ok();
    assert!(!nft_table(&r).contains("rdock ctr"), "{}", nft_table(&r));
    assert!(!std::path::Path::new(&format!("/sys/class/net/{veth}")).exists());
    assert_eq!(
        std::fs::read_to_string(r.root.join("networks/leases.json")).unwrap(),
        "[]"
    );
    // web1 and the container whose start failed (kept as Created, as docker does).
    assert_eq!(r.run(&["ps", "-a", "--format", "{{.Ports}}"]).ok(), "\n\n");
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[test]
fn random_ports_udp_and_a_killed_monitor() {
    let r = Rdock::with_busybox();
    r.run(&[
        "run",
        "-d",
        "--name",
        "udp1",
        "-p",
        "127.0.0.1::7000/udp",
        "--expose",
        "9000",
        "busybox",
        "sleep",
        "30",
    ])
    .ok();
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
    // Debian's busybox has no UDP server to answer; the rule is checked.
    let table = nft_table(&r);
    assert!(
        table.contains(&format!("udp dport {port} dnat to")),
        "{table}"
    );
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
    assert_eq!(
        std::fs::read_to_string(r.root.join("networks/leases.json")).unwrap(),
        "[]"
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
        (vec!["--mac-address", "zz"], "not a valid mac address"),
        (vec!["--network", "container:nosuch"], "No such container"),
        (vec!["--dns", "not-an-ip"], "is not an ip address"),
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
