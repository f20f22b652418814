//! `POST /containers/create`: docker's create body (Config, HostConfig,
//! NetworkingConfig) as the library's `CreateOptions`. docker's client has
//! already checked and structured what the user typed; values given in
//! the CLI's syntax (Binds, Tmpfs, Devices...) go through the same
//! parsers as the CLI's flags.

use super::ApiError;
use crate::container::config::{NetworkMode, RestartPolicy};
use crate::container::lifecycle::CreateOptions;
use serde_json::Value;
use std::collections::BTreeMap;

fn strs(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

fn string(v: &Value, k: &str) -> Option<String> {
    v.get(k)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn int(v: &Value, k: &str) -> i64 {
    v.get(k).and_then(Value::as_i64).unwrap_or(0)
}

fn flag(v: &Value, k: &str) -> bool {
    v.get(k).and_then(Value::as_bool).unwrap_or(false)
}

fn map(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .map(|o| {
            o.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

fn bad(e: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(e.to_string())
}

/// The create body as options; `name` from the query.
pub fn options(body: &Value, name: &str) -> Result<CreateOptions, ApiError> {
    let null = Value::Null;
    let hc = body.get("HostConfig").unwrap_or(&null);
    let image = string(body, "Image")
        .ok_or_else(|| bad("config cannot be empty in order to create a container"))?;
    if !name.is_empty() && !crate::container::store::valid_name(name.trim_start_matches('/')) {
        return Err(crate::container::ContainerError::InvalidName(name.into()).into());
    }
    let entrypoint = match body.get("Entrypoint") {
        None | Some(Value::Null) => None,
        v => Some(strs(v).into_iter().filter(|s| !s.is_empty()).collect()),
    };
    let mut o = CreateOptions {
        image,
        name: name.trim_start_matches('/').to_string(),
        cmd: strs(body.get("Cmd")),
        entrypoint,
        env: strs(body.get("Env")),
        workdir: string(body, "WorkingDir"),
        user: string(body, "User"),
        hostname: string(body, "Hostname"),
        domainname: string(body, "Domainname").unwrap_or_default(),
        tty: flag(body, "Tty"),
        interactive: flag(body, "OpenStdin"),
        labels: map(body.get("Labels")),
        stop_signal: string(body, "StopSignal"),
        stop_timeout: body.get("StopTimeout").and_then(Value::as_i64),
        healthcheck: body
            .get("Healthcheck")
            .filter(|h| h.is_object())
            .map(healthcheck),
        ..Default::default()
    };
    host_config(&mut o, hc)?;
    volumes(&mut o, body, hc)?;
    networking(&mut o, body, hc)?;
    Ok(o)
}

/// docker's HealthConfig; clients send absent fields as null or 0.
fn healthcheck(h: &Value) -> crate::container::health::HealthConfig {
    crate::container::health::HealthConfig {
        test: strs(h.get("Test")),
        interval: int(h, "Interval"),
        timeout: int(h, "Timeout"),
        start_period: int(h, "StartPeriod"),
        start_interval: int(h, "StartInterval"),
        retries: int(h, "Retries"),
    }
}

fn host_config(o: &mut CreateOptions, hc: &Value) -> Result<(), ApiError> {
    if let Some(iso) = string(hc, "Isolation").filter(|i| i != "default") {
        return Err(bad(format!(
            "invalid isolation ({iso}): linux only supports 'default'"
        )));
    }
    o.auto_remove = flag(hc, "AutoRemove");
    o.privileged = flag(hc, "Privileged");
    o.readonly = flag(hc, "ReadonlyRootfs");
    o.init = flag(hc, "Init");
    o.cap_add = strs(hc.get("CapAdd"));
    o.cap_drop = strs(hc.get("CapDrop"));
    o.security_opt = strs(hc.get("SecurityOpt"));
    o.unmask_system_paths = o.security_opt.iter().any(|s| s == "systempaths=unconfined");
    o.security_opt.retain(|s| s != "systempaths=unconfined");
    o.group_add = strs(hc.get("GroupAdd"));
    o.sysctls = map(hc.get("Sysctls"));
    o.annotations = map(hc.get("Annotations"));
    o.oom_score_adj = i32::try_from(int(hc, "OomScoreAdj")).map_err(bad)?;
    o.shm_size = int(hc, "ShmSize");
    o.cgroup_parent = string(hc, "CgroupParent").unwrap_or_default();
    o.cgroupns = string(hc, "CgroupnsMode").unwrap_or_default();
    o.pid_mode = string(hc, "PidMode").unwrap_or_default();
    o.ipc_mode = string(hc, "IpcMode").unwrap_or_default();
    let shared = |m: &str| m.strip_prefix("container:").is_some_and(|c| !c.is_empty());
    if !(matches!(
        o.ipc_mode.as_str(),
        "" | "host" | "private" | "shareable" | "none"
    ) || shared(&o.ipc_mode))
    {
        return Err(bad(format!("invalid IPC mode: {}", o.ipc_mode)));
    }
    if !(matches!(o.pid_mode.as_str(), "" | "host") || shared(&o.pid_mode)) {
        return Err(bad(format!("invalid PID mode: {}", o.pid_mode)));
    }
    o.uts_mode = string(hc, "UTSMode").unwrap_or_default();
    o.userns_mode = string(hc, "UsernsMode").unwrap_or_default();
    o.device_cgroup_rules = strs(hc.get("DeviceCgroupRules"));
    o.volumes_from = strs(hc.get("VolumesFrom"));
    if let Some(p) = hc.get("RestartPolicy") {
        let name = p.get("Name").and_then(Value::as_str).unwrap_or("");
        o.restart = RestartPolicy::from_parts(
            if name.is_empty() { "no" } else { name },
            int(p, "MaximumRetryCount"),
        )
        .map_err(bad)?;
    }
    if o.auto_remove && !o.restart.is_none() {
        return Err(bad(
            "can't create 'AutoRemove' container with restart policy",
        ));
    }
    if let Some(l) = hc.get("LogConfig") {
        o.log_driver = string(l, "Type");
        o.log_opts = map(l.get("Config"))
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
    }
    ulimits_and_devices(o, hc)?;
    resources(&mut o.resources, hc);
    Ok(())
}

/// Ulimits and Devices (through the CLI's parser for a device).
fn ulimits_and_devices(o: &mut CreateOptions, hc: &Value) -> Result<(), ApiError> {
    for u in hc
        .get("Ulimits")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        o.ulimits.push(crate::runtime::rlimits::Ulimit {
            name: u
                .get("Name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .into(),
            soft: int(u, "Soft"),
            hard: int(u, "Hard"),
        });
    }
    for d in hc
        .get("Devices")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let host = d
            .get("PathOnHost")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let inside = d
            .get("PathInContainer")
            .and_then(Value::as_str)
            .unwrap_or(host);
        let perms = d
            .get("CgroupPermissions")
            .and_then(Value::as_str)
            .unwrap_or("rwm");
        o.devices.push(
            crate::runtime::devices::parse_mapping(&format!("{host}:{inside}:{perms}"))
                .map_err(|e| bad(crate::Error::from(e)))?,
        );
    }
    Ok(())
}

/// HostConfig's (or an update's) resources.
pub fn resources(r: &mut crate::runtime::resources::Resources, hc: &Value) {
    r.memory = int(hc, "Memory");
    r.memory_swap = int(hc, "MemorySwap");
    r.memory_reservation = int(hc, "MemoryReservation");
    r.memory_swappiness = hc
        .get("MemorySwappiness")
        .and_then(Value::as_i64)
        .filter(|&v| v >= 0);
    r.oom_kill_disable = flag(hc, "OomKillDisable");
    r.nano_cpus = int(hc, "NanoCpus");
    r.cpu_shares = int(hc, "CpuShares");
    r.cpu_period = int(hc, "CpuPeriod");
    r.cpu_quota = int(hc, "CpuQuota");
    r.cpu_rt_period = int(hc, "CpuRealtimePeriod");
    r.cpu_rt_runtime = int(hc, "CpuRealtimeRuntime");
    r.cpuset_cpus = string(hc, "CpusetCpus").unwrap_or_default();
    r.cpuset_mems = string(hc, "CpusetMems").unwrap_or_default();
    r.pids_limit = hc
        .get("PidsLimit")
        .and_then(Value::as_i64)
        .filter(|&v| v != 0);
    r.blkio_weight = u16::try_from(int(hc, "BlkioWeight")).unwrap_or(0);
}

/// Binds (`-v`'s syntax), Mounts (`--mount`'s fields), Tmpfs, and the
/// anonymous volumes of Config.Volumes.
fn volumes(o: &mut CreateOptions, body: &Value, hc: &Value) -> Result<(), ApiError> {
    let err = |e: crate::Error| bad(e);
    for b in strs(hc.get("Binds")) {
        o.mounts
            .push(crate::runtime::mountspec::parse_volume(&b).map_err(|e| err(e.into()))?);
    }
    for m in hc
        .get("Mounts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        o.mounts.push(
            crate::runtime::mountspec::parse_mount(&mount_arg(m)).map_err(|e| err(e.into()))?,
        );
    }
    for (path, opts) in map(hc.get("Tmpfs")) {
        let arg = if opts.is_empty() {
            path
        } else {
            format!("{path}:{opts}")
        };
        o.mounts
            .push(crate::runtime::mountspec::parse_tmpfs(&arg).map_err(|e| err(e.into()))?);
    }
    for (path, _) in body
        .get("Volumes")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        if !o
            .mounts
            .iter()
            .any(|m| m.destination == std::path::Path::new(path))
        {
            o.mounts
                .push(crate::runtime::mountspec::parse_volume(path).map_err(|e| err(e.into()))?);
        }
    }
    Ok(())
}

/// A structured mount as `--mount`'s comma-separated fields.
fn mount_arg(m: &Value) -> String {
    let mut f = Vec::new();
    let s = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or_default();
    f.push(format!(
        "type={}",
        if s("Type").is_empty() {
            "volume"
        } else {
            s("Type")
        }
    ));
    if !s("Source").is_empty() {
        f.push(format!("source={}", s("Source")));
    }
    f.push(format!("target={}", s("Target")));
    if flag(m, "ReadOnly") {
        f.push("readonly".into());
    }
    if let Some(p) = m
        .pointer("/BindOptions/Propagation")
        .and_then(Value::as_str)
    {
        f.push(format!("bind-propagation={p}"));
    }
    if flag(m.get("VolumeOptions").unwrap_or(&Value::Null), "NoCopy") {
        f.push("volume-nocopy".into());
    }
    if let Some(n) = m.pointer("/TmpfsOptions/SizeBytes").and_then(Value::as_i64) {
        f.push(format!("tmpfs-size={n}"));
    }
    if let Some(n) = m.pointer("/TmpfsOptions/Mode").and_then(Value::as_i64) {
        f.push(format!("tmpfs-mode={n:o}"));
    }
    f.join(",")
}

/// NetworkMode, ports, DNS, hosts, links, and the first network's
/// endpoint settings.
fn networking(o: &mut CreateOptions, body: &Value, hc: &Value) -> Result<(), ApiError> {
    let mode = string(hc, "NetworkMode").unwrap_or_else(|| "default".into());
    o.network = match mode.as_str() {
        "default" | "bridge" => NetworkMode::Bridge("bridge".into()),
        "host" => NetworkMode::Host,
        "none" => NetworkMode::None,
        m => match m.strip_prefix("container:") {
            Some(c) => NetworkMode::Container(c.to_string()),
            None => NetworkMode::Bridge(m.to_string()),
        },
    };
    let net = &mut o.net;
    ports(net, body, hc)?;
    net.dns = strs(hc.get("Dns"));
    net.dns_search = strs(hc.get("DnsSearch"));
    net.dns_options = strs(hc.get("DnsOptions"));
    for h in strs(hc.get("ExtraHosts")) {
        // docker's engine takes "name:ip" (and "name=ip" since 25).
        let (name, ip) = h
            .split_once('=')
            .or_else(|| h.split_once(':'))
            .ok_or_else(|| bad(format!("invalid extra host: {h}")))?;
        net.extra_hosts.push(format!("{ip}\t{name}"));
    }
    net.links = strs(hc.get("Links"))
        .into_iter()
        .map(|l| {
            // The engine's form is "/name:/container/alias".
            match l.split_once(':') {
                Some((n, a)) => format!(
                    "{}:{}",
                    n.trim_start_matches('/'),
                    a.rsplit('/').next().unwrap_or(a)
                ),
                None => l.trim_start_matches('/').to_string(),
            }
        })
        .collect();
    endpoints(net, body, &mode)?;
    if net.mac.is_none() {
        net.mac = string(body, "MacAddress");
    }
    Ok(())
}

/// PortBindings (`-p`'s syntax rebuilt), PublishAllPorts and the exposed
/// ports (published ones included, as docker records them).
fn ports(
    net: &mut crate::container::config::NetworkOptions,
    body: &Value,
    hc: &Value,
) -> Result<(), ApiError> {
    for (port, binds) in hc
        .get("PortBindings")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        for b in binds.as_array().into_iter().flatten() {
            let ip = b.get("HostIp").and_then(Value::as_str).unwrap_or_default();
            let hp = b
                .get("HostPort")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let spec = match (ip.is_empty(), hp.is_empty()) {
                (true, true) => port.clone(),
                (true, false) => format!("{hp}:{port}"),
                (false, _) => format!("{ip}:{hp}:{port}"),
            };
            net.publish.extend(
                crate::network::ports::parse_publish(&spec)
                    .map_err(|e| bad(crate::Error::from(e)))?,
            );
        }
    }
    net.publish_all = flag(hc, "PublishAllPorts");
    let exposed = body
        .get("ExposedPorts")
        .and_then(Value::as_object)
        .map(|o| o.keys().cloned().collect::<Vec<_>>())
        .unwrap_or_default();
    for key in exposed {
        let key = if key.contains('/') {
            key
        } else {
            format!("{key}/tcp")
        };
        if !net.exposed.contains(&key) {
            net.exposed.push(key);
        }
    }
    for m in &net.publish {
        let key = format!("{}/{}", m.container_port, m.proto.as_str());
        if !net.exposed.contains(&key) {
            net.exposed.push(key);
        }
    }
    Ok(())
}

/// The endpoint settings of NetworkingConfig: the mode's network's for
/// the container, the others' as networks it joins too (API 1.44+).
fn endpoints(
    net: &mut crate::container::config::NetworkOptions,
    body: &Value,
    mode: &str,
) -> Result<(), ApiError> {
    if let Some(eps) = body
        .pointer("/NetworkingConfig/EndpointsConfig")
        .and_then(Value::as_object)
    {
        // The mode's network first; the others are joined too (API 1.44+).
        for (name, ep) in eps {
            let ip = match ep
                .pointer("/IPAMConfig/IPv4Address")
                .and_then(Value::as_str)
            {
                Some(ip) if !ip.is_empty() => Some(
                    ip.parse()
                        .map_err(|_| bad(format!("invalid IPv4 address: {ip}")))?,
                ),
                _ => None,
            };
            if *name == mode || (eps.len() == 1 && !eps.contains_key(mode)) {
                net.aliases = strs(ep.get("Aliases"));
                net.ip = ip;
                net.mac = string(ep, "MacAddress");
                net.gw_priority = int(ep, "GwPriority");
            } else {
                net.connected.push(crate::container::config::Attachment {
                    network: name.clone(),
                    aliases: strs(ep.get("Aliases")),
                    ip,
                    mac: string(ep, "MacAddress"),
                    gw_priority: int(ep, "GwPriority"),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn docker_cli_body() {
        let body = json!({
            "Image": "busybox", "Cmd": ["sh", "-c", "echo hi"], "Env": ["A=1"],
            "Tty": true, "OpenStdin": true, "Labels": {"k": "v"}, "Entrypoint": null,
            "ExposedPorts": {"80/tcp": {}},
            "HostConfig": {
                "AutoRemove": true, "NetworkMode": "default", "Binds": ["/tmp:/h:ro"],
                "PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]},
                "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0},
                "Memory": 67108864, "Ulimits": [{"Name": "nofile", "Soft": 10, "Hard": 20}],
                "ExtraHosts": ["db:10.0.0.2"], "Tmpfs": {"/run": "size=1m"}
            }
        });
        let o = options(&body, "/web").unwrap();
        assert_eq!(o.name, "web");
        assert_eq!(o.cmd, ["sh", "-c", "echo hi"]);
        assert!(o.entrypoint.is_none());
        assert!(o.tty && o.interactive && o.auto_remove);
        assert_eq!(o.network, NetworkMode::Bridge("bridge".into()));
        assert_eq!(o.net.publish.len(), 1);
        assert_eq!(o.net.publish[0].host_port, 8080);
        assert_eq!(o.net.exposed, ["80/tcp"]);
        assert_eq!(o.mounts.len(), 2);
        assert_eq!(o.resources.memory, 64 << 20);
        assert_eq!(o.ulimits[0].hard, 20);
        assert_eq!(o.net.extra_hosts, ["10.0.0.2\tdb"]);
    }

    #[test]
    fn entrypoint_and_errors() {
        let o = options(&json!({"Image": "b", "Entrypoint": ["sh", "-c"]}), "").unwrap();
        assert_eq!(o.entrypoint, Some(vec!["sh".to_string(), "-c".to_string()]));
        let o = options(&json!({"Image": "b", "Entrypoint": [""]}), "").unwrap();
        assert_eq!(o.entrypoint, Some(vec![]));
        assert_eq!(options(&json!({}), "").unwrap_err().status, 400);
        assert_eq!(
            options(&json!({"Image": "b"}), "a b").unwrap_err().status,
            400
        );
        let conflict = json!({"Image": "b", "HostConfig": {"AutoRemove": true, "RestartPolicy": {"Name": "always"}}});
        assert_eq!(options(&conflict, "").unwrap_err().status, 400);
    }
}
