//! rdock's firewall: NAT for bridge networks, isolation between them and
//! DNAT for published ports. Two backends with the same semantics:
//!
//! - nftables (default when `nft` is installed): everything in one
//!   rdock-owned table (`ip rdock` by default); nothing else on the host is
//!   touched. Driven through `nft -f -` (one atomic transaction per call)
//!   and `nft -j list` to find rules again by their comment.
//! - iptables (when `nft` is missing): rdock-owned chains `RDOCK_<TABLE>-*`
//!   in the nat and filter tables, each jumped to once from the matching
//!   built-in chain; one `iptables` call per rule, found again by comment
//!   in `iptables -S CHAIN` and deleted by its exact spec.
//!
//! `RDOCK_FIREWALL=nft|iptables` forces a backend. Each table's
//! read-modify-write runs under a file lock, so concurrent rdock processes
//! neither duplicate nor lose rules.
//!
//! Subprocesses, not netlink: both wire formats are large, and none of
//! this is on the path of a `run` without `-p` (a bridge's rules are set
//! up once per boot).
//!
//! rdock waits for nft's answer, not for its exit (`run_until`): a process
//! closing an nf_tables socket after a commit (its own or any other's)
//! waits in the kernel for an RCU grace period, 10-15 ms here, and nft
//! only closes its socket once it has printed everything.

use super::{NetworkError, Result};
use crate::util::FileLock;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    pub fn as_str(&self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }
}

/// One published port: traffic to the host's `host_ip:host_port` (any
/// local address when None) goes to the container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortRule {
    pub host_ip: Option<Ipv4Addr>,
    pub host_port: u16,
    pub container_ip: Ipv4Addr,
    pub container_port: u16,
    pub proto: Proto,
}

/// Which tool holds the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Nft,
    Iptables,
}

impl Backend {
    pub fn as_str(&self) -> &'static str {
        match self {
            Backend::Nft => "nft",
            Backend::Iptables => "iptables",
        }
    }
}

/// The environment variable that forces a backend.
pub const BACKEND_ENV: &str = "RDOCK_FIREWALL";

/// `RDOCK_FIREWALL`'s value (unset or empty: nft when installed, else
/// iptables).
fn choose_backend(
    forced: Option<&str>,
    nft_installed: impl FnOnce() -> bool,
) -> std::result::Result<Backend, String> {
    match forced.unwrap_or("") {
        "" if nft_installed() => Ok(Backend::Nft),
        "" => Ok(Backend::Iptables),
        "nft" => Ok(Backend::Nft),
        "iptables" => Ok(Backend::Iptables),
        other => Err(format!(
            "{BACKEND_ENV} must be \"nft\" or \"iptables\", not {other:?}"
        )),
    }
}

/// An executable `prog` in $PATH, as `Command` would find it.
fn on_path(prog: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/sbin:/usr/bin:/sbin:/bin".into());
    std::env::split_paths(&path).any(|dir| {
        std::fs::metadata(dir.join(prog))
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

pub struct Firewall {
    table: String,
    /// Err: RDOCK_FIREWALL held a bad value, reported by every call (new()
    /// cannot fail).
    backend: std::result::Result<Backend, String>,
    /// The iptables program; tests point it at iptables-legacy.
    iptables: String,
    /// Where the per-table lock lives; tests use a temporary directory.
    lock_dir: PathBuf,
}

fn invalid(what: &str, v: &str) -> NetworkError {
    NetworkError::Invalid(format!("invalid {what} {v:?}"))
}

fn check(v: &str, what: &str, max: usize, ok: impl Fn(char) -> bool) -> Result<()> {
    if v.is_empty() || v.len() > max || !v.chars().all(ok) {
        return Err(invalid(what, v));
    }
    Ok(())
}

fn check_bridge(b: &str) -> Result<()> {
    check(b, "bridge name", 15, |c| {
        c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
    })
}

/// nft comments hold 127 bytes, "rdock ctr " included.
const MAX_OWNER: usize = 100;

fn check_owner(o: &str) -> Result<()> {
    check(o, "owner", MAX_OWNER, |c| c.is_ascii_alphanumeric())
}

/// iptables chain names hold 28 characters: "RDOCK_" + table + "-POST".
pub const MAX_TABLE: usize = 28 - "RDOCK_".len() - "-POST".len();

const NET_PREFIX: &str = "rdock net ";
const CTR_PREFIX: &str = "rdock ctr ";

fn net_tag(bridge: &str) -> String {
    format!("{NET_PREFIX}{bridge}")
}

fn ctr_tag(owner: &str) -> String {
    format!("{CTR_PREFIX}{owner}")
}

fn fw_err(msg: String) -> NetworkError {
    NetworkError::Firewall(msg)
}

/// Start `prog args` with its output piped (and its stdin, when there is
/// input to feed).
fn spawn(prog: &str, args: &[&str], with_input: bool) -> Result<Child> {
    Command::new(prog)
        .args(args)
        .stdin(if with_input {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                fw_err(format!(
                    "{prog} not found (install it, or choose the other backend with {BACKEND_ENV})"
                ))
            } else {
                fw_err(format!("running {prog}: {e}"))
            }
        })
}

/// Run `prog args` (feeding `input` on stdin); the output whatever the
/// exit status, a typed error when it could not run at all.
fn run(prog: &str, args: &[&str], input: Option<&str>) -> Result<Output> {
    let mut child = spawn(prog, args, input.is_some())?;
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin
            .write_all(text.as_bytes())
            .map_err(|e| fw_err(format!("writing to {prog}: {e}")))?;
    }
    child
        .wait_with_output()
        .map_err(|e| fw_err(format!("running {prog}: {e}")))
}

/// Processes that gave their answer (`run_until`) and have not exited yet.
static LINGERING: Mutex<Vec<Child>> = Mutex::new(Vec::new());

/// Reap the processes of earlier `run_until` calls that have exited since;
/// the others are left running (if this process exits first, init reaps
/// them).
pub fn reap_lingering() {
    if let Ok(mut v) = LINGERING.lock() {
        v.retain_mut(|c| matches!(c.try_wait(), Ok(None)));
    }
}

fn linger(child: Child) {
    if let Ok(mut v) = LINGERING.lock() {
        v.push(child);
    }
}

/// `run`, but returning as soon as `complete(stdout so far)` says the
/// answer is whole (with a success status), leaving the process to exit
/// on its own; else at its exit, as `run`.
///
/// Why not wait for nft's exit: closing an nf_tables netlink socket
/// (`netlink_release` -> `nft_rcv_nl_event`) flushes nf_tables' destroy
/// work, which waits for an RCU grace period after any recent commit: nft
/// spends 10-15 ms of its ~15 ms there (perf: `__flush_work` <-
/// `nft_rcv_nl_event` <- `sock_close`), after it has printed its answer.
/// A commit is done once nft has echoed it (`-e`), a listing once its JSON
/// is whole.
fn run_until(
    prog: &str,
    args: &[&str],
    input: Option<&str>,
    complete: &dyn Fn(&[u8]) -> bool,
) -> Result<Output> {
    use std::os::unix::process::ExitStatusExt;
    reap_lingering();
    let mut child = spawn(prog, args, input.is_some())?;
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        if let Err(e) = stdin.write_all(text.as_bytes()) {
            let _ = child.kill();
            linger(child);
            return Err(fw_err(format!("writing to {prog}: {e}")));
        }
    }
    let mut stdout = Vec::new();
    if let Some(mut out) = child.stdout.take() {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match out.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    stdout.extend_from_slice(buf.get(..n).unwrap_or_default());
                    if complete(&stdout) {
                        drop(out);
                        linger(child);
                        return Ok(Output {
                            status: std::process::ExitStatus::from_raw(0),
                            stdout,
                            stderr: Vec::new(),
                        });
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let _ = child.kill();
                    linger(child);
                    return Err(fw_err(format!("reading from {prog}: {e}")));
                }
            }
        }
    }
    let mut stderr = Vec::new();
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_end(&mut stderr);
    }
    let status = child
        .wait()
        .map_err(|e| fw_err(format!("running {prog}: {e}")))?;
    Ok(Output {
        status,
        stdout,
        stderr,
    })
}

/// nft's echo (`-e`) of a commit ends with this line, sent by the kernel
/// once the commit is done.
fn committed(out: &[u8]) -> bool {
    out.split(|&b| b == b'\n')
        .any(|l| l.starts_with(b"# new generation "))
}

fn json_complete(out: &[u8]) -> bool {
    serde_json::from_slice::<serde::de::IgnoredAny>(out).is_ok()
}

/// The line of a failed command's stderr worth reporting (iptables-nft
/// prefixes "# Warning: ..." lines that say nothing about the failure).
fn failure(prog: &str, out: &Output) -> NetworkError {
    let err = String::from_utf8_lossy(&out.stderr);
    let line = err
        .lines()
        .find(|l| l.contains("Error"))
        .or_else(|| {
            err.lines()
                .find(|l| !l.starts_with('#') && !l.trim().is_empty())
        })
        .unwrap_or("failed");
    fw_err(format!("{prog}: {}", line.trim()))
}

impl Firewall {
    /// The backend comes from RDOCK_FIREWALL, else nft when installed,
    /// else iptables.
    pub fn new(table: &str) -> Firewall {
        let forced = std::env::var(BACKEND_ENV).ok();
        let backend = choose_backend(forced.as_deref(), || on_path("nft"));
        Firewall::build(table, backend)
    }

    /// A firewall on a given backend, whatever the environment says.
    pub fn with_backend(table: &str, backend: Backend) -> Firewall {
        Firewall::build(table, Ok(backend))
    }

    fn build(table: &str, backend: std::result::Result<Backend, String>) -> Firewall {
        Firewall {
            table: table.to_string(),
            backend,
            iptables: "iptables".into(),
            lock_dir: PathBuf::from("/run"),
        }
    }

    pub fn backend(&self) -> Result<Backend> {
        self.backend.clone().map_err(NetworkError::Invalid)
    }

    fn check_table(&self) -> Result<()> {
        check(&self.table, "firewall table", MAX_TABLE, |c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'
        })
    }

    fn lock_path(&self) -> PathBuf {
        self.lock_dir
            .join(format!("rdock-firewall-{}.lock", self.table))
    }

    /// Validates the table, picks the backend and takes the table's lock:
    /// every call reads the rules, then changes them.
    fn begin(&self) -> Result<(Backend, FileLock)> {
        self.check_table()?;
        let backend = self.backend()?;
        let path = self.lock_path();
        let lock = FileLock::exclusive(&path)
            .map_err(|e| fw_err(format!("locking {}: {e}", path.display())))?;
        Ok((backend, lock))
    }

    /// NAT, forwarding and isolation from the table's other networks for
    /// one bridge network; idempotent.
    pub fn add_network(
        &self,
        bridge: &str,
        subnet: Ipv4Addr,
        prefix: u8,
        internal: bool,
    ) -> Result<()> {
        check_bridge(bridge)?;
        let (backend, _lock) = self.begin()?;
        let net = Net {
            bridge,
            subnet,
            prefix,
            internal,
        };
        match backend {
            Backend::Nft => self.nft().add_network(&net),
            Backend::Iptables => self.ipt().add_network(&net),
        }
    }

    /// Every rule of the network (its isolation included); no rule
    /// mentions `bridge` afterwards.
    pub fn remove_network(&self, bridge: &str) -> Result<()> {
        check_bridge(bridge)?;
        let (backend, _lock) = self.begin()?;
        match backend {
            Backend::Nft => self.nft().remove_network(bridge),
            Backend::Iptables => self.ipt().remove_network(bridge),
        }
    }

    /// DNAT rules for container `owner`'s published ports, replacing the
    /// ones it had.
    pub fn publish(&self, owner: &str, rules: &[PortRule]) -> Result<()> {
        check_owner(owner)?;
        let (backend, _lock) = self.begin()?;
        match backend {
            Backend::Nft => self.nft().publish(owner, rules),
            Backend::Iptables => self.ipt().publish(owner, rules),
        }
    }

    pub fn unpublish(&self, owner: &str) -> Result<()> {
        let (backend, _lock) = self.begin()?;
        match backend {
            Backend::Nft => self.nft().unpublish(owner),
            Backend::Iptables => self.ipt().unpublish(owner),
        }
    }

    /// Containers with published ports in the table now.
    pub fn owners(&self) -> Result<Vec<String>> {
        let (backend, _lock) = self.begin()?;
        let tags = match backend {
            Backend::Nft => self.nft().comments()?,
            Backend::Iptables => self.ipt().comments()?,
        };
        let v: BTreeSet<String> = tags
            .iter()
            .filter_map(|c| c.strip_prefix(CTR_PREFIX))
            .map(str::to_string)
            .collect();
        Ok(v.into_iter().collect())
    }

    /// Everything rdock put in the firewall for this table; idempotent.
    pub fn delete_table(&self) -> Result<()> {
        let (backend, _lock) = self.begin()?;
        match backend {
            Backend::Nft => self.nft().delete_table(),
            Backend::Iptables => self.ipt().delete_table(),
        }
    }

    fn nft(&self) -> Nft<'_> {
        Nft { t: &self.table }
    }

    fn ipt(&self) -> Ipt<'_> {
        Ipt {
            prog: &self.iptables,
            upper: self.table.to_ascii_uppercase(),
        }
    }
}

struct Net<'a> {
    bridge: &'a str,
    subnet: Ipv4Addr,
    prefix: u8,
    internal: bool,
}

/// Bridges named by "rdock net X" comments, `except` left out.
fn networks_in<'a>(comments: impl Iterator<Item = &'a str>, except: &str) -> BTreeSet<String> {
    comments
        .filter_map(|c| c.strip_prefix(NET_PREFIX))
        // Names go back into nft scripts: only well-formed ones.
        .filter(|b| *b != except && check_bridge(b).is_ok())
        .map(str::to_string)
        .collect()
}

// ---------------------------------------------------------------- nftables

/// Layout of table `ip T`: base chains prerouting/output (DNAT),
/// postrouting (masquerade), forward (per-network accept or, for internal
/// networks, drop) and isolation (before forward: a drop there is final).
/// Set `bridges` holds every network's bridge; each network has one
/// isolation rule dropping what it forwards to another member of the set.
struct Nft<'a> {
    t: &'a str,
}

struct NftRule {
    chain: String,
    handle: u64,
    comment: String,
}

struct NftState {
    rules: Vec<NftRule>,
    bridges: Vec<String>,
}

impl Nft<'_> {
    /// The table, its set and its base chains; `add` is idempotent in nft.
    fn skeleton(&self) -> String {
        let t = self.t;
        format!(
            "add table ip {t}\n\
             add set ip {t} bridges {{ type ifname; }}\n\
             add chain ip {t} prerouting {{ type nat hook prerouting priority dstnat; policy accept; }}\n\
             add chain ip {t} output {{ type nat hook output priority -100; policy accept; }}\n\
             add chain ip {t} postrouting {{ type nat hook postrouting priority srcnat; policy accept; }}\n\
             add chain ip {t} isolation {{ type filter hook forward priority filter - 1; policy accept; }}\n\
             add chain ip {t} forward {{ type filter hook forward priority filter; policy accept; }}\n"
        )
    }

    /// The table's commented rules and the set's members; None when the
    /// table does not exist.
    fn state(&self) -> Result<Option<NftState>> {
        let out = run_until(
            "nft",
            &["-j", "-a", "list", "table", "ip", self.t],
            None,
            &json_complete,
        )?;
        if !out.status.success() {
            if String::from_utf8_lossy(&out.stderr).contains("No such file or directory") {
                return Ok(None);
            }
            return Err(failure("nft", &out));
        }
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .map_err(|e| fw_err(format!("reading nft's JSON: {e}")))?;
        let mut st = NftState {
            rules: Vec::new(),
            bridges: Vec::new(),
        };
        let items = v.get("nftables").and_then(serde_json::Value::as_array);
        for item in items.into_iter().flatten() {
            let set = &item["set"];
            if set["name"] == "bridges" {
                st.bridges = set["elem"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|e| e.as_str().map(str::to_string))
                    .collect();
                continue;
            }
            let r = &item["rule"];
            if let (Some(chain), Some(handle), Some(comment)) = (
                r["chain"].as_str(),
                r["handle"].as_u64(),
                r["comment"].as_str(),
            ) {
                st.rules.push(NftRule {
                    chain: chain.to_string(),
                    handle,
                    comment: comment.to_string(),
                });
            }
        }
        Ok(Some(st))
    }

    fn comments(&self) -> Result<Vec<String>> {
        Ok(self
            .state()?
            .map(|st| st.rules.into_iter().map(|r| r.comment).collect())
            .unwrap_or_default())
    }

    /// One transaction, answered once nft has echoed it. A script nft
    /// echoes nothing of (only deletions) is answered at its exit: such
    /// scripts start with the skeleton, whose `add chain`s are echoed.
    fn apply(&self, script: &str) -> Result<()> {
        let out = run_until("nft", &["-e", "-f", "-"], Some(script), &committed)?;
        if !out.status.success() {
            return Err(failure("nft", &out));
        }
        Ok(())
    }

    fn deletions(&self, st: &Option<NftState>, tag: &str) -> String {
        st.iter()
            .flat_map(|st| &st.rules)
            .filter(|r| r.comment == tag)
            .map(|r| {
                format!(
                    "delete rule ip {} {} handle {}\n",
                    self.t, r.chain, r.handle
                )
            })
            .collect()
    }

    /// Drops what `bridge` forwards to another rdock bridge, except
    /// connections DNAT'd to a published port: those are meant to be
    /// reachable from anywhere that reaches the host (docker 28 and podman
    /// agree).
    fn isolation_rule(&self, bridge: &str) -> String {
        format!(
            "add rule ip {t} isolation iifname \"{bridge}\" oifname != \"{bridge}\" oifname @bridges ct status & dnat == 0 drop comment \"{c}\"\n",
            t = self.t,
            c = net_tag(bridge)
        )
    }

    fn add_network(&self, n: &Net) -> Result<()> {
        let (t, b) = (self.t, n.bridge);
        let tag = net_tag(b);
        let st = self.state()?;
        let others = networks_in(
            st.iter().flat_map(|s| &s.rules).map(|r| r.comment.as_str()),
            b,
        );
        let mut script = self.skeleton();
        script.push_str(&self.deletions(&st, &tag));
        // Members come from the rules' comments too: a table written
        // before isolation existed gets its networks isolated as well.
        let members: Vec<String> = std::iter::once(b.to_string())
            .chain(others.iter().cloned())
            .map(|m| format!("\"{m}\""))
            .collect();
        script.push_str(&format!(
            "add element ip {t} bridges {{ {} }}\n",
            members.join(", ")
        ));
        script.push_str(&self.isolation_rule(b));
        for o in &others {
            let isolated = st.iter().flat_map(|s| &s.rules).any(|r| {
                r.chain == "isolation" && r.comment.strip_prefix(NET_PREFIX) == Some(o.as_str())
            });
            if !isolated {
                script.push_str(&self.isolation_rule(o));
            }
        }
        let c = format!("comment \"{tag}\"");
        if n.internal {
            script.push_str(&format!(
                "add rule ip {t} forward iifname \"{b}\" oifname != \"{b}\" drop {c}\n\
                 add rule ip {t} forward oifname \"{b}\" iifname != \"{b}\" drop {c}\n"
            ));
        } else {
            script.push_str(&format!(
                "add rule ip {t} postrouting ip saddr {}/{} oifname != \"{b}\" masquerade {c}\n\
                 add rule ip {t} forward iifname \"{b}\" accept {c}\n\
                 add rule ip {t} forward oifname \"{b}\" ct state established,related accept {c}\n\
                 add rule ip {t} forward oifname \"{b}\" ct status dnat accept {c}\n",
                n.subnet, n.prefix
            ));
        }
        // Connections DNAT'd from the host's 127.0.0.1 need a source the
        // container can answer.
        script.push_str(&format!(
            "add rule ip {t} postrouting oifname \"{b}\" ip saddr 127.0.0.0/8 masquerade {c}\n"
        ));
        self.apply(&script)
    }

    fn remove_network(&self, bridge: &str) -> Result<()> {
        let st = self.state()?;
        let mut script = self.deletions(&st, &net_tag(bridge));
        if st.iter().any(|s| s.bridges.iter().any(|m| m == bridge)) {
            script.push_str(&format!(
                "delete element ip {} bridges {{ \"{bridge}\" }}\n",
                self.t
            ));
        }
        if script.is_empty() {
            return Ok(());
        }
        self.apply(&(self.skeleton() + &script))
    }

    fn publish(&self, owner: &str, rules: &[PortRule]) -> Result<()> {
        let t = self.t;
        let tag = ctr_tag(owner);
        let st = self.state()?;
        // One transaction: the old rules go as the new ones come.
        let mut script = self.skeleton();
        script.push_str(&self.deletions(&st, &tag));
        for r in rules {
            let daddr = r
                .host_ip
                .map(|ip| format!("ip daddr {ip} "))
                .unwrap_or_default();
            let m = format!(
                "fib daddr type local {daddr}{} dport {} dnat to {}:{} comment \"{tag}\"",
                r.proto.as_str(),
                r.host_port,
                r.container_ip,
                r.container_port
            );
            script.push_str(&format!(
                "add rule ip {t} prerouting {m}\nadd rule ip {t} output {m}\n"
            ));
        }
        self.apply(&script)
    }

    fn unpublish(&self, owner: &str) -> Result<()> {
        let st = self.state()?;
        let script = self.deletions(&st, &ctr_tag(owner));
        if script.is_empty() {
            return Ok(());
        }
        self.apply(&(self.skeleton() + &script))
    }

    fn delete_table(&self) -> Result<()> {
        // add-then-delete: no error when it did not exist.
        self.apply(&format!("add table ip {0}\ndelete table ip {0}\n", self.t))
    }
}

// ---------------------------------------------------------------- iptables

/// Layout, for table T (upper-cased in chain names):
/// nat: RDOCK_T-PRE (from PREROUTING) and RDOCK_T-OUT (from OUTPUT) hold
/// the DNAT rules, RDOCK_T-POST (from POSTROUTING) the masquerades.
/// filter: RDOCK_T-FWD (from FORWARD) starts with one rule per network
/// sending what the bridge forwards elsewhere to RDOCK_T-ISO, which drops
/// it when it leaves by another network's bridge; then come the networks'
/// accept (or, internal, drop) rules. Every jump is inserted first in its
/// built-in chain, as docker does, so a host's own FORWARD rules or policy
/// do not cut containers off.
struct Ipt<'a> {
    prog: &'a str,
    upper: String,
}

#[derive(Clone, Copy)]
enum Chain {
    Pre,
    Out,
    Post,
    Iso,
    Fwd,
}

/// Creation order: ISO before FWD, which jumps to it.
const CHAINS: [Chain; 5] = [Chain::Pre, Chain::Out, Chain::Post, Chain::Iso, Chain::Fwd];

impl Chain {
    fn table(self) -> &'static str {
        match self {
            Chain::Pre | Chain::Out | Chain::Post => "nat",
            Chain::Iso | Chain::Fwd => "filter",
        }
    }

    fn suffix(self) -> &'static str {
        match self {
            Chain::Pre => "PRE",
            Chain::Out => "OUT",
            Chain::Post => "POST",
            Chain::Iso => "ISO",
            Chain::Fwd => "FWD",
        }
    }

    fn parent(self) -> Option<&'static str> {
        match self {
            Chain::Pre => Some("PREROUTING"),
            Chain::Out => Some("OUTPUT"),
            Chain::Post => Some("POSTROUTING"),
            Chain::Fwd => Some("FORWARD"),
            Chain::Iso => None,
        }
    }
}

/// A rule as `iptables -S` prints it, split into arguments.
struct IptRule {
    table: &'static str,
    words: Vec<String>,
}

impl IptRule {
    fn comment(&self) -> Option<&str> {
        self.after("--comment")
    }

    fn after(&self, flag: &str) -> Option<&str> {
        let mut from_flag = self.words.iter().skip_while(|w| *w != flag);
        from_flag.nth(1).map(String::as_str)
    }
}

/// Split an `iptables -S` line into arguments: words, or double-quoted
/// strings with backslash escapes (how comments with spaces are printed).
fn split_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let (mut in_word, mut quoted) = (false, false);
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                quoted = !quoted;
                in_word = true;
            }
            '\\' if quoted => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            c if c.is_whitespace() && !quoted => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

/// A rule to add: `head` (whitespace-separated words), the comment, then
/// `target`.
fn spec(head: &str, tag: &str, target: &str) -> Vec<String> {
    head.split_whitespace()
        .map(str::to_string)
        .chain(["-m", "comment", "--comment", tag].map(str::to_string))
        .chain(target.split_whitespace().map(str::to_string))
        .collect()
}

impl Ipt<'_> {
    fn name(&self, c: Chain) -> String {
        format!("RDOCK_{}-{}", self.upper, c.suffix())
    }

    /// `iptables -w -t table args`; -w waits for the xtables lock that
    /// legacy iptables takes (docker or firewalld may hold it).
    fn call(&self, table: &str, args: &[String]) -> Result<Output> {
        let mut all: Vec<&str> = vec!["-w", "-t", table];
        all.extend(args.iter().map(String::as_str));
        run(self.prog, &all, None)
    }

    fn must(&self, table: &str, args: &[String]) -> Result<()> {
        let out = self.call(table, args)?;
        if !out.status.success() {
            return Err(failure(self.prog, &out));
        }
        Ok(())
    }

    /// A chain's rules; None when it does not exist (exit status 1:
    /// iptables-nft's message for a missing chain varies by version).
    fn list(&self, table: &'static str, chain: &str) -> Result<Option<Vec<IptRule>>> {
        let out = self.call(table, &["-S".into(), chain.into()])?;
        match out.status.code() {
            Some(0) => {}
            Some(1) => return Ok(None),
            _ => return Err(failure(self.prog, &out)),
        }
        Ok(Some(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter(|l| l.starts_with("-A "))
                .map(|l| IptRule {
                    table,
                    words: split_words(l),
                })
                .collect(),
        ))
    }

    /// The rules of rdock's chains; with `create`, chains and jumps that
    /// are missing are made first.
    fn rules(&self, create: bool) -> Result<Vec<IptRule>> {
        let mut all = Vec::new();
        for c in CHAINS {
            let name = self.name(c);
            match self.list(c.table(), &name)? {
                Some(rules) => all.extend(rules),
                None if create => self.must(c.table(), &["-N".into(), name.clone()])?,
                None => continue,
            }
            if let (true, Some(parent)) = (create, c.parent()) {
                let jump = |op: &str| -> Vec<String> {
                    vec![op.into(), parent.into(), "-j".into(), name.clone()]
                };
                let out = self.call(c.table(), &jump("-C"))?;
                if !out.status.success() {
                    let mut insert = jump("-I");
                    insert.insert(2, "1".into());
                    self.must(c.table(), &insert)?;
                }
            }
        }
        Ok(all)
    }

    fn comments(&self) -> Result<Vec<String>> {
        Ok(self
            .rules(false)?
            .iter()
            .filter_map(|r| r.comment().map(str::to_string))
            .collect())
    }

    /// Delete, by exact spec, the rules whose comment is `tag`.
    fn delete_tagged(&self, rules: &[IptRule], tag: &str) -> Result<()> {
        for r in rules.iter().filter(|r| r.comment() == Some(tag)) {
            let mut args = r.words.clone();
            if let Some(op) = args.first_mut() {
                *op = "-D".into();
            }
            self.must(r.table, &args)?;
        }
        Ok(())
    }

    fn add(&self, c: Chain, rule: Vec<String>) -> Result<()> {
        let mut args = vec!["-A".to_string(), self.name(c)];
        args.extend(rule);
        self.must(c.table(), &args)
    }

    fn add_network(&self, n: &Net) -> Result<()> {
        let b = n.bridge;
        let tag = net_tag(b);
        let rules = self.rules(true)?;
        self.delete_tagged(&rules, &tag)?;
        // Inserted at the top of FWD: isolation comes before any
        // network's accept rules. DNAT'd connections (published ports)
        // are let through, as in the nft backend.
        let mut iso = vec!["-I".to_string(), self.name(Chain::Fwd), "1".into()];
        iso.extend(spec(
            &format!("-i {b} ! -o {b} -m conntrack ! --ctstate DNAT"),
            &tag,
            &format!("-j {}", self.name(Chain::Iso)),
        ));
        self.must("filter", &iso)?;
        self.add(Chain::Iso, spec(&format!("-o {b}"), &tag, "-j DROP"))?;
        if n.internal {
            self.add(
                Chain::Fwd,
                spec(&format!("-i {b} ! -o {b}"), &tag, "-j DROP"),
            )?;
            self.add(
                Chain::Fwd,
                spec(&format!("-o {b} ! -i {b}"), &tag, "-j DROP"),
            )?;
        } else {
            self.add(
                Chain::Post,
                spec(
                    &format!("-s {}/{} ! -o {b}", n.subnet, n.prefix),
                    &tag,
                    "-j MASQUERADE",
                ),
            )?;
            self.add(Chain::Fwd, spec(&format!("-i {b}"), &tag, "-j ACCEPT"))?;
            self.add(
                Chain::Fwd,
                spec(
                    &format!("-o {b} -m conntrack --ctstate RELATED,ESTABLISHED"),
                    &tag,
                    "-j ACCEPT",
                ),
            )?;
            self.add(
                Chain::Fwd,
                spec(
                    &format!("-o {b} -m conntrack --ctstate DNAT"),
                    &tag,
                    "-j ACCEPT",
                ),
            )?;
        }
        // Connections DNAT'd from the host's 127.0.0.1 need a source the
        // container can answer.
        self.add(
            Chain::Post,
            spec(&format!("-s 127.0.0.0/8 -o {b}"), &tag, "-j MASQUERADE"),
        )
    }

    fn remove_network(&self, bridge: &str) -> Result<()> {
        let rules = self.rules(false)?;
        self.delete_tagged(&rules, &net_tag(bridge))
    }

    fn publish(&self, owner: &str, rules: &[PortRule]) -> Result<()> {
        let tag = ctr_tag(owner);
        let old = self.rules(true)?;
        self.delete_tagged(&old, &tag)?;
        for r in rules {
            let daddr = r
                .host_ip
                .map(|ip| format!("-d {ip}/32 "))
                .unwrap_or_default();
            let p = r.proto.as_str();
            let rule = spec(
                &format!(
                    "{daddr}-p {p} -m {p} --dport {} -m addrtype --dst-type LOCAL",
                    r.host_port
                ),
                &tag,
                &format!(
                    "-j DNAT --to-destination {}:{}",
                    r.container_ip, r.container_port
                ),
            );
            self.add(Chain::Pre, rule.clone())?;
            self.add(Chain::Out, rule)?;
        }
        Ok(())
    }

    fn unpublish(&self, owner: &str) -> Result<()> {
        let rules = self.rules(false)?;
        self.delete_tagged(&rules, &ctr_tag(owner))
    }

    fn delete_table(&self) -> Result<()> {
        // Jumps first (a chain still referenced cannot go), every one
        // found, even a jump someone added with extra matches.
        for c in CHAINS {
            let (Some(parent), name) = (c.parent(), self.name(c)) else {
                continue;
            };
            for r in self.list(c.table(), parent)?.into_iter().flatten() {
                if r.after("-j") == Some(name.as_str()) {
                    let mut args = r.words.clone();
                    if let Some(op) = args.first_mut() {
                        *op = "-D".into();
                    }
                    self.must(c.table(), &args)?;
                }
            }
        }
        // Flushed before any is deleted: FWD jumps to ISO.
        let mut present = Vec::new();
        for c in CHAINS {
            let name = self.name(c);
            if self.list(c.table(), &name)?.is_some() {
                self.must(c.table(), &["-F".into(), name.clone()])?;
                present.push((c, name));
            }
        }
        for (c, name) in present {
            self.must(c.table(), &["-X".into(), name])?;
        }
        Ok(())
    }
}

fn write_sysctl(path: &str, want: &str) -> Result<()> {
    if std::fs::read_to_string(path).is_ok_and(|v| v.trim() == want) {
        return Ok(());
    }
    std::fs::write(path, want).map_err(|e| NetworkError::Firewall(format!("{path}: {e}")))
}

/// Containers on a bridge reach the outside through the host's routing,
/// as with docker, which sets this too (see docs/architecture.md).
pub fn enable_ip_forward() -> Result<()> {
    write_sysctl("/proc/sys/net/ipv4/ip_forward", "1")
}

/// Lets the host's 127.0.0.1 be DNAT'd out of `bridge` (published ports
/// reachable on localhost, as docker's).
pub fn enable_route_localnet(bridge: &str) -> Result<()> {
    check_bridge(bridge)?;
    write_sysctl(
        &format!("/proc/sys/net/ipv4/conf/{bridge}/route_localnet"),
        "1",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::ErrorKind;
    use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    /// Run `f` on a thread in a fresh network namespace: the host's is
    /// never touched (nft, iptables and ip run in the namespace of the
    /// thread spawning them; so do threads it spawns).
    fn in_netns<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        std::thread::spawn(move || {
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
            f()
        })
        .join()
        .unwrap()
    }

    /// The three ways rdock may meet a host's firewall.
    #[derive(Clone, Copy, Debug)]
    enum Variant {
        Nft,
        /// Whatever `iptables` is here (iptables-nft on Debian 12).
        Iptables,
        IptablesLegacy,
    }

    /// A firewall on `v` whose lock lives in `lock_dir`, not /run.
    fn firewall(table: &str, v: Variant, lock_dir: &std::path::Path) -> Firewall {
        let backend = match v {
            Variant::Nft => Backend::Nft,
            Variant::Iptables | Variant::IptablesLegacy => Backend::Iptables,
        };
        let mut fw = Firewall::with_backend(table, backend);
        if let Variant::IptablesLegacy = v {
            fw.iptables = "iptables-legacy".into();
        }
        fw.lock_dir = lock_dir.to_path_buf();
        fw
    }

    fn sh(cmd: &str) -> String {
        let out = Command::new("sh").args(["-c", cmd]).output().unwrap();
        assert!(
            out.status.success(),
            "{cmd}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Everything the backend holds in this namespace, as text.
    fn dump(fw: &Firewall) -> String {
        match fw.backend().unwrap() {
            Backend::Nft => sh("nft list ruleset"),
            Backend::Iptables => {
                let p = &fw.iptables;
                sh(&format!("{p} -w -S; {p} -w -t nat -S"))
            }
        }
    }

    fn count(text: &str, needle: &str) -> usize {
        text.matches(needle).count()
    }

    fn rule(port: u16) -> PortRule {
        PortRule {
            host_ip: None,
            host_port: port,
            container_ip: Ipv4Addr::new(10, 5, 0, 2),
            container_port: 80,
            proto: Proto::Tcp,
        }
    }

    /// Rules per non-internal network, per internal network.
    fn per_network(v: Variant) -> (usize, usize) {
        match v {
            // masquerade, 3 forward, 127/8 masquerade, isolation.
            Variant::Nft => (6, 4),
            // the same, isolation taking two rules (FWD, ISO).
            _ => (7, 5),
        }
    }

    fn round_trip(v: Variant) {
        let locks = tempfile::tempdir().unwrap();
        let fw = firewall("rdu_rt", v, locks.path());
        let (open, internal) = per_network(v);
        let tag0 = "\"rdock net rdu0\"";
        let tag1 = "\"rdock net rdu1\"";
        fw.delete_table().unwrap();
        let net = Ipv4Addr::new(10, 5, 0, 0);
        fw.add_network("rdu0", net, 24, false).unwrap();
        fw.add_network("rdu0", net, 24, false).unwrap();
        let d = dump(&fw);
        assert_eq!(count(&d, tag0), open, "{d}");
        fw.add_network("rdu1", Ipv4Addr::new(10, 6, 0, 0), 24, true)
            .unwrap();
        let d = dump(&fw);
        assert_eq!(count(&d, tag1), internal, "{d}");
        assert_eq!(count(&d, tag0), open, "{d}");
        match v {
            Variant::Nft => {
                assert!(d.contains("\"rdu0\""), "{d}");
                assert!(d.contains("\"rdu1\""), "{d}");
                assert!(
                    d.contains("iifname \"rdu0\" oifname != \"rdu0\" oifname @bridges"),
                    "{d}"
                );
            }
            _ => {
                // One jump each, however often the chains were ensured.
                for (c, parent) in [
                    ("PRE", "PREROUTING"),
                    ("OUT", "OUTPUT"),
                    ("POST", "POSTROUTING"),
                    ("FWD", "FORWARD"),
                ] {
                    let jump = format!("-A {parent} -j RDOCK_RDU_RT-{c}\n");
                    assert_eq!(count(&d, &jump), 1, "{d}");
                }
                // Isolation first in FWD, for both networks.
                let fwd: Vec<&str> = d
                    .lines()
                    .filter(|l| l.starts_with("-A RDOCK_RDU_RT-FWD "))
                    .collect();
                assert!(fwd[0].ends_with("-j RDOCK_RDU_RT-ISO"), "{d}");
                assert!(fwd[1].ends_with("-j RDOCK_RDU_RT-ISO"), "{d}");
                assert!(d.contains("-A RDOCK_RDU_RT-ISO -o rdu0 "), "{d}");
                assert!(d.contains("-A RDOCK_RDU_RT-ISO -o rdu1 "), "{d}");
            }
        }
        fw.publish("abc123", &[rule(8080), rule(8081)]).unwrap();
        fw.publish("def456", &[rule(9090)]).unwrap();
        // Re-publishing replaces.
        fw.publish("def456", &[rule(9091)]).unwrap();
        let d = dump(&fw);
        assert_eq!(count(&d, "\"rdock ctr abc123\""), 4, "{d}");
        assert_eq!(count(&d, "\"rdock ctr def456\""), 2, "{d}");
        assert!(!d.contains("9090"), "{d}");
        assert_eq!(fw.owners().unwrap(), vec!["abc123", "def456"]);
        fw.unpublish("abc123").unwrap();
        fw.unpublish("abc123").unwrap();
        assert_eq!(fw.owners().unwrap(), vec!["def456"]);
        fw.remove_network("rdu0").unwrap();
        fw.remove_network("rdu0").unwrap();
        let d = dump(&fw);
        assert!(!d.contains("rdu0"), "{d}");
        assert_eq!(count(&d, tag1), internal, "{d}");
        fw.add_network("rdu0", net, 24, false).unwrap();
        assert_eq!(count(&dump(&fw), tag0), open);
        fw.delete_table().unwrap();
        fw.delete_table().unwrap();
        assert!(fw.owners().unwrap().is_empty());
        let d = dump(&fw);
        assert!(!d.to_lowercase().contains("rdu"), "{d}");
        fw.remove_network("rdu1").unwrap();
        fw.unpublish("def456").unwrap();
        assert!(!dump(&fw).to_lowercase().contains("rdu"));
    }

    #[test]
    fn nft_round_trip_in_a_private_netns() {
        in_netns(|| round_trip(Variant::Nft));
    }

    #[test]
    fn iptables_round_trip_in_a_private_netns() {
        in_netns(|| round_trip(Variant::Iptables));
    }

    #[test]
    fn iptables_legacy_round_trip_in_a_private_netns() {
        in_netns(|| round_trip(Variant::IptablesLegacy));
    }

    /// A table written before isolation existed (no set, no isolation
    /// chain): the next network added isolates the old one too.
    #[test]
    fn nft_isolation_covers_networks_from_an_older_table() {
        in_netns(|| {
            let locks = tempfile::tempdir().unwrap();
            let fw = firewall("rdu_old", Variant::Nft, locks.path());
            fw.nft()
                .apply(
                    "add table ip rdu_old\n\
                     add chain ip rdu_old forward { type filter hook forward priority filter; policy accept; }\n\
                     add rule ip rdu_old forward iifname \"old0\" accept comment \"rdock net old0\"\n",
                )
                .unwrap();
            fw.add_network("new0", Ipv4Addr::new(10, 7, 0, 0), 24, false)
                .unwrap();
            let d = dump(&fw);
            assert!(d.contains("iifname \"old0\" oifname != \"old0\" oifname @bridges"));
            assert!(d.contains("\"old0\""), "{d}");
            fw.remove_network("old0").unwrap();
            assert!(!dump(&fw).contains("old0"));
            fw.delete_table().unwrap();
        });
    }

    /// A commit is answered at its echo; a failed one, which echoes
    /// nothing, at nft's exit, with its error.
    #[test]
    fn nft_answers_at_the_echo_and_errors_at_exit() {
        in_netns(|| {
            let locks = tempfile::tempdir().unwrap();
            let fw = firewall("rdu_echo", Variant::Nft, locks.path());
            let nft = fw.nft();
            nft.apply(&nft.skeleton()).unwrap();
            let e = nft.apply("add rule ip rdu_nosuch c drop\n").unwrap_err();
            assert!(e.to_string().contains("Error"), "{e}");
            fw.delete_table().unwrap();
            reap_lingering();
        });
        assert!(!committed(
            b"add chain ip t c { type nat hook output priority -100; policy accept; } # handle 2\n"
        ));
        assert!(committed(
            b"add rule ip t c drop # handle 9\n# new generation 12 by process 77 (nft)\n"
        ));
        assert!(!committed(
            b"add rule ip t c drop comment \"# new generation \"\n"
        ));
    }

    #[test]
    fn names_are_checked() {
        // In a private netns all the same: a check that let a bad name
        // through must not reach the host's firewall.
        in_netns(names_are_checked_here);
    }

    fn names_are_checked_here() {
        let locks = tempfile::tempdir().unwrap();
        for v in [Variant::Nft, Variant::Iptables] {
            let fw = firewall("rdu_names", v, locks.path());
            let net = Ipv4Addr::new(10, 5, 0, 0);
            assert!(fw.publish("x;y", &[]).is_err());
            assert!(fw.publish(&"a".repeat(MAX_OWNER + 1), &[]).is_err());
            assert!(fw.add_network("bad name", net, 24, false).is_err());
            assert!(fw.add_network("", net, 24, false).is_err());
            for t in ["Bad", "a-b", "", &"a".repeat(MAX_TABLE + 1)] {
                let bad = firewall(t, v, locks.path());
                assert!(matches!(bad.delete_table(), Err(NetworkError::Invalid(_))));
            }
        }
        // The longest table still makes chain names iptables takes.
        let long = "a".repeat(MAX_TABLE);
        let fw = firewall(&long, Variant::Iptables, locks.path());
        assert!(fw.check_table().is_ok());
        for c in CHAINS {
            assert!(fw.ipt().name(c).len() <= 28);
        }
        assert_eq!(
            Firewall::new("rdock").lock_path(),
            PathBuf::from("/run/rdock-firewall-rdock.lock")
        );
    }

    #[test]
    fn backend_choice() {
        assert_eq!(choose_backend(None, || true), Ok(Backend::Nft));
        assert_eq!(choose_backend(None, || false), Ok(Backend::Iptables));
        assert_eq!(choose_backend(Some(""), || false), Ok(Backend::Iptables));
        assert_eq!(choose_backend(Some("nft"), || false), Ok(Backend::Nft));
        assert_eq!(
            choose_backend(Some("iptables"), || true),
            Ok(Backend::Iptables)
        );
        assert!(choose_backend(Some("ufw"), || true).is_err());
        let fw = Firewall::build("rdock", choose_backend(Some("pf"), || true));
        assert!(matches!(fw.owners(), Err(NetworkError::Invalid(_))));
        assert!(on_path("sh"));
        assert!(!on_path("rdock-no-such-program"));
    }

    #[test]
    fn iptables_lines_split_like_a_shell() {
        assert_eq!(
            split_words(
                r#"-A X -s 10.0.0.0/24 ! -o br0 -m comment --comment "rdock net br0" -j MASQUERADE"#
            ),
            [
                "-A",
                "X",
                "-s",
                "10.0.0.0/24",
                "!",
                "-o",
                "br0",
                "-m",
                "comment",
                "--comment",
                "rdock net br0",
                "-j",
                "MASQUERADE"
            ]
        );
        assert_eq!(
            split_words(r#"--comment "a \"b\" \\c" x"#),
            ["--comment", r#"a "b" \c"#, "x"]
        );
        assert_eq!(split_words(r#"--comment "" x"#), ["--comment", "", "x"]);
    }

    /// Several processes' worth of callers at once: under the table's lock
    /// no jump is doubled, no rule lost, and a re-published owner keeps
    /// one set of rules.
    fn concurrent(v: Variant) {
        let locks = tempfile::tempdir().unwrap();
        let dir = locks.path().to_path_buf();
        let threads: Vec<_> = (0..8u8)
            .map(|i| {
                let dir = dir.clone();
                std::thread::spawn(move || {
                    let fw = firewall("rdu_cc", v, &dir);
                    fw.add_network(&format!("rdc{i}"), Ipv4Addr::new(10, 9, i, 0), 24, false)?;
                    fw.publish("same", &[rule(7000 + u16::from(i))])?;
                    fw.publish(&format!("own{i}"), &[rule(8000 + u16::from(i))])
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap().unwrap();
        }
        let fw = firewall("rdu_cc", v, &dir);
        let d = dump(&fw);
        let (open, _) = per_network(v);
        for i in 0..8 {
            assert_eq!(count(&d, &format!("\"rdock net rdc{i}\"")), open, "{d}");
        }
        assert_eq!(count(&d, "\"rdock ctr same\""), 2, "{d}");
        assert_eq!(fw.owners().unwrap().len(), 9);
        if let Backend::Iptables = fw.backend().unwrap() {
            assert_eq!(count(&d, "-j RDOCK_RDU_CC-FWD\n"), 1, "{d}");
            assert_eq!(count(&d, "-j RDOCK_RDU_CC-PRE\n"), 1, "{d}");
        }
        fw.delete_table().unwrap();
    }

    #[test]
    fn nft_concurrent_callers() {
        in_netns(|| concurrent(Variant::Nft));
    }

    #[test]
    fn iptables_concurrent_callers() {
        in_netns(|| concurrent(Variant::Iptables));
    }

    type Job = Box<dyn FnOnce() + Send>;

    /// A "container": a thread in its own network namespace running the
    /// closures it is given. Its namespace, and the veth end inside, go
    /// away with the thread: nothing to clean up on the host even when a
    /// test fails half-way.
    struct Peer {
        jobs: Option<mpsc::Sender<Job>>,
        tid: i32,
        thread: Option<std::thread::JoinHandle<()>>,
    }

    impl Peer {
        fn new() -> Peer {
            let (jobs, rx) = mpsc::channel::<Job>();
            let (tid_tx, tid_rx) = mpsc::channel();
            let thread = std::thread::spawn(move || {
                nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
                tid_tx.send(nix::unistd::gettid().as_raw()).unwrap();
                for job in rx {
                    job();
                }
            });
            Peer {
                jobs: Some(jobs),
                tid: tid_rx.recv().unwrap(),
                thread: Some(thread),
            }
        }

        fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
            let (tx, rx) = mpsc::channel();
            let job: Job = Box::new(move || {
                let _ = tx.send(f());
            });
            self.jobs.as_ref().unwrap().send(job).unwrap();
            rx.recv().unwrap()
        }
    }

    impl Drop for Peer {
        fn drop(&mut self) {
            self.jobs.take();
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        }
    }

    /// A veth from `bridge` to `peer`'s eth0, addressed `ip`/24, default
    /// route via `gw`.
    fn plumb(host_if: &str, bridge: &str, peer: &Peer, ip: &'static str, gw: &'static str) {
        sh(&format!(
            "ip link add {host_if} type veth peer name eth0 netns {}",
            peer.tid
        ));
        sh(&format!("ip link set {host_if} master {bridge} up"));
        peer.run(move || {
            sh(&format!(
                "ip link set lo up && ip addr add {ip}/24 dev eth0 && ip link set eth0 up && ip route add default via {gw}"
            ));
        });
    }

    fn connect(to: &str) -> std::io::Result<()> {
        let addr: SocketAddr = to.parse().unwrap();
        TcpStream::connect_timeout(&addr, Duration::from_millis(1500)).map(|_| ())
    }

    /// Whether `l` got a connection within a second.
    fn accepted(l: &TcpListener) -> bool {
        let deadline = Instant::now() + Duration::from_secs(1);
        while Instant::now() < deadline {
            match l.accept() {
                Ok(_) => return true,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                Err(e) => panic!("accept: {e}"),
            }
        }
        false
    }

    fn listen(peer: &Peer) -> TcpListener {
        // The socket belongs to the peer's namespace wherever it is used.
        let l = peer.run(|| TcpListener::bind("0.0.0.0:80")).unwrap();
        l.set_nonblocking(true).unwrap();
        l
    }

    /// A UDP socket on port 5353 of `peer`'s namespace.
    fn udp(peer: &Peer) -> UdpSocket {
        let s = peer.run(|| UdpSocket::bind("0.0.0.0:5353")).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(700)))
            .unwrap();
        s
    }

    /// Whether a datagram from `from` to `to` reaches `rx`: one way only,
    /// so each direction of isolation is seen on its own (a TCP connect
    /// fails when either direction is dropped).
    fn udp_delivered(from: &Peer, to: &'static str, rx: &UdpSocket) -> bool {
        from.run(move || {
            let s = UdpSocket::bind("0.0.0.0:0").unwrap();
            s.send_to(b"x", to).unwrap();
        });
        let mut buf = [0u8; 8];
        rx.recv_from(&mut buf).is_ok()
    }

    /// Two networks, one container on each, real connections: isolation
    /// drops direct traffic between them, published ports work from the
    /// other network and from the host (127.0.0.1 included).
    fn traffic(v: Variant) {
        let locks = tempfile::tempdir().unwrap();
        let fw = firewall("rdu_tr", v, locks.path());
        sh("ip link set lo up");
        for (br, gw) in [("rdta", "10.201.1.1"), ("rdtb", "10.201.2.1")] {
            sh(&format!(
                "ip link add {br} type bridge && ip addr add {gw}/24 dev {br} && ip link set {br} up"
            ));
        }
        let a = Peer::new();
        let b = Peer::new();
        plumb("vrdta", "rdta", &a, "10.201.1.2", "10.201.1.1");
        plumb("vrdtb", "rdtb", &b, "10.201.2.2", "10.201.2.1");
        enable_ip_forward().unwrap();
        enable_route_localnet("rdtb").unwrap();
        let la = listen(&a);
        let lb = listen(&b);
        let (ua, ub) = (udp(&a), udp(&b));
        let both_ways = || {
            (
                udp_delivered(&a, "10.201.2.2:5353", &ub),
                udp_delivered(&b, "10.201.1.2:5353", &ua),
            )
        };

        // Routing works before rdock isolates anything...
        let net = |x| Ipv4Addr::new(10, 201, x, 0);
        fw.add_network("rdta", net(1), 24, false).unwrap();
        a.run(|| connect("10.201.2.2:80")).unwrap();
        assert!(accepted(&lb));
        assert_eq!(both_ways(), (true, true));
        // ...and stops, both ways, once both bridges are rdock networks.
        fw.add_network("rdtb", net(2), 24, false).unwrap();
        assert_eq!(both_ways(), (false, false));
        let e = a.run(|| connect("10.201.2.2:80")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TimedOut, "{e}");
        let e = b.run(|| connect("10.201.1.2:80")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TimedOut, "{e}");
        assert!(!accepted(&la) && !accepted(&lb));

        let to_b = |host_ip, host_port| PortRule {
            host_ip,
            host_port,
            container_ip: Ipv4Addr::new(10, 201, 2, 2),
            container_port: 80,
            proto: Proto::Tcp,
        };
        fw.publish("ctrb", &[to_b(None, 8080)]).unwrap();
        // From the other network (PREROUTING), from the host (OUTPUT).
        a.run(|| connect("10.201.1.1:8080")).unwrap();
        assert!(accepted(&lb));
        connect("10.201.1.1:8080").unwrap();
        assert!(accepted(&lb));
        connect("127.0.0.1:8080").unwrap();
        assert!(accepted(&lb));

        // Re-publishing replaces: 8080 is gone, nothing listens there.
        let lo = Some(Ipv4Addr::LOCALHOST);
        fw.publish("ctrb", &[to_b(None, 9090), to_b(lo, 7070)])
            .unwrap();
        let e = a.run(|| connect("10.201.1.1:8080")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ConnectionRefused, "{e}");
        a.run(|| connect("10.201.1.1:9090")).unwrap();
        assert!(accepted(&lb));
        // Bound to 127.0.0.1: the host reaches it there only.
        connect("127.0.0.1:7070").unwrap();
        assert!(accepted(&lb));
        let e = connect("10.201.1.1:7070").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ConnectionRefused, "{e}");

        fw.unpublish("ctrb").unwrap();
        let e = a.run(|| connect("10.201.1.1:9090")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ConnectionRefused, "{e}");

        // Isolation goes with the network.
        fw.remove_network("rdtb").unwrap();
        a.run(|| connect("10.201.2.2:80")).unwrap();
        assert!(accepted(&lb));
        b.run(|| connect("10.201.1.2:80")).unwrap();
        assert!(accepted(&la));
        assert_eq!(both_ways(), (true, true));
        fw.delete_table().unwrap();
    }

    #[test]
    fn nft_traffic_in_private_netns() {
        in_netns(|| traffic(Variant::Nft));
    }

    #[test]
    fn iptables_traffic_in_private_netns() {
        in_netns(|| traffic(Variant::Iptables));
    }

    #[test]
    fn iptables_legacy_traffic_in_private_netns() {
        in_netns(|| traffic(Variant::IptablesLegacy));
    }
}
