//! A container as `docker inspect` shows it (the JSON shape docker users'
//! templates expect: `.State.Status`, `.Config.Env`, `.HostConfig.Binds`...).

use super::store::Container;
use crate::image::store::short_link;
use crate::paths::Paths;
use crate::runtime::rootfs::MountKind;
use serde_json::{json, Value};

const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

pub fn inspect(paths: &Paths, c: &Container) -> Value {
    let cfg = &c.config;
    let st = &c.state;
    let layers = paths.layers();
    let lower: Vec<String> = cfg
        .layers
        .iter()
        .rev()
        .map(|l| layers.join(short_link(l)).display().to_string())
        .collect();
    let binds: Vec<String> = cfg
        .mounts
        .iter()
        .filter(|m| m.kind == MountKind::Bind || m.kind == MountKind::Volume && !m.anonymous)
        .map(|m| {
            format!(
                "{}:{}{}",
                if m.kind == MountKind::Volume {
                    m.name.clone()
                } else {
                    m.source.display().to_string()
                },
                m.destination.display(),
                if m.readonly { ":ro" } else { "" }
            )
        })
        .collect();
    let tmpfs: serde_json::Map<String, Value> = cfg
        .mounts
        .iter()
        .filter(|m| m.kind == MountKind::Tmpfs)
        .map(|m| {
            (
                m.destination.display().to_string(),
                Value::from(m.options.join(",")),
            )
        })
        .collect();
    let mounts: Vec<Value> = cfg
        .mounts
        .iter()
        .map(|m| match m.kind {
            MountKind::Bind => json!({
                "Type": "bind",
                "Source": m.source,
                "Destination": m.destination,
                "Mode": if m.readonly { "ro" } else { "" },
                "RW": !m.readonly,
                "Propagation": "rprivate",
            }),
            MountKind::Tmpfs => json!({
                "Type": "tmpfs",
                "Source": "",
                "Destination": m.destination,
                "Mode": m.options.join(","),
                "RW": !m.readonly,
                "Propagation": "",
            }),
            MountKind::Volume => json!({
                "Type": "volume",
                "Name": m.name,
                "Source": m.source,
                "Destination": m.destination,
                "Driver": "local",
                "Mode": if m.readonly { "ro" } else { "" },
                "RW": !m.readonly,
                "Propagation": "",
            }),
        })
        .collect();
    // docker's Config.Volumes: the anonymous ones (`-v /path`, VOLUME).
    let volumes: serde_json::Map<String, Value> = cfg
        .mounts
        .iter()
        .filter(|m| m.kind == MountKind::Volume && m.anonymous)
        .map(|m| (m.destination.display().to_string(), json!({})))
        .collect();
    let ulimits: Vec<Value> = cfg
        .ulimits
        .iter()
        .map(|u| json!({"Name": u.name, "Soft": u.soft, "Hard": u.hard}))
        .collect();
    let running = st.status == super::state::Status::Running;
    let host_links = host_links(cfg);
    let mut v = json!({
        "Id": cfg.id,
        "Created": cfg.created,
        "Path": cfg.path,
        "Args": cfg.args,
        "State": {
            "Status": st.display_status(),
            "Running": running,
            "Paused": st.is_paused(),
            "Restarting": st.restarting,
            "OOMKilled": st.oom_killed,
            "Dead": st.status == super::state::Status::Dead,
            "Pid": if running { st.pid } else { 0 },
            "ExitCode": st.exit_code,
            "Error": st.error,
            "StartedAt": st.started_at.clone().unwrap_or_else(|| ZERO_TIME.into()),
            "FinishedAt": st.finished_at.clone().unwrap_or_else(|| ZERO_TIME.into()),
        },
        "Image": cfg.image_id,
        "ResolvConfPath": c.dir.join("resolv.conf"),
        "HostnamePath": c.dir.join("hostname"),
        "HostsPath": c.dir.join("hosts"),
        "LogPath": if c.config.log.driver_name() == "none" {
            std::path::PathBuf::new()
        } else {
            crate::container::logs::log_path(&c.dir, &c.config.id)
        },
        "Name": format!("/{}", cfg.name),
        "RestartCount": st.restart_count,
        "Driver": "overlay",
        "Platform": "linux",
        "MountLabel": "",
        "ProcessLabel": "",
        // docker records the option even where AppArmor is absent.
        "AppArmorProfile": super::config::SecurityOptions::parse(&cfg.security_opt)
            .ok()
            .and_then(|s| s.apparmor)
            .unwrap_or_default(),
        "ExecIDs": Value::Null,
        "HostConfig": {
            "Binds": if binds.is_empty() { Value::Null } else { json!(binds) },
            "ContainerIDFile": "",
            "LogConfig": {"Type": cfg.log.driver_name(), "Config": cfg.log.opts},
            "NetworkMode": cfg.network.as_string(),
            "PortBindings": port_bindings(cfg),
            "Dns": cfg.net.dns,
            "DnsOptions": cfg.net.dns_options,
            "DnsSearch": cfg.net.dns_search,
            "ExtraHosts": if cfg.net.extra_hosts.is_empty() { Value::Null } else {
                json!(cfg.net.extra_hosts.iter().map(|l| {
                    let (ip, name) = l.split_once('\t').unwrap_or((l, ""));
                    format!("{name}:{ip}")
                }).collect::<Vec<_>>())
            },
            "Links": host_links,
            "PublishAllPorts": cfg.net.publish_all,
            "RestartPolicy": {"Name": cfg.restart.display_name(), "MaximumRetryCount": cfg.restart.max_retries},
            "AutoRemove": cfg.auto_remove,
            "CapAdd": if cfg.cap_add.is_empty() { Value::Null } else { json!(cfg.cap_add) },
            "CapDrop": if cfg.cap_drop.is_empty() { Value::Null } else { json!(cfg.cap_drop) },
            "Privileged": cfg.privileged,
            "SecurityOpt": if cfg.security_opt.is_empty() { Value::Null } else { json!(cfg.security_opt) },
            "ReadonlyRootfs": cfg.readonly_rootfs,
            "Tmpfs": if tmpfs.is_empty() { Value::Null } else { Value::Object(tmpfs) },
            "Ulimits": if ulimits.is_empty() { Value::Null } else { json!(ulimits) },
            "CgroupnsMode": if cfg.private_cgroupns() { "private" } else { "host" },
            "CgroupParent": cfg.cgroup_parent,
            "Devices": cfg.devices.iter().map(|d| json!({
                "PathOnHost": d.path_on_host,
                "PathInContainer": d.path_in_container,
                "CgroupPermissions": d.cgroup_permissions,
            })).collect::<Vec<_>>(),
            "DeviceCgroupRules": if cfg.device_cgroup_rules.is_empty() { Value::Null } else { json!(cfg.device_cgroup_rules) },
            "ShmSize": if cfg.shm_size > 0 { cfg.shm_size } else { 64 << 20 },
            "IpcMode": if cfg.ipc_mode.is_empty() { "private" } else { cfg.ipc_mode.as_str() },
            "PidMode": cfg.pid_mode,
            "UTSMode": cfg.uts_mode,
            "UsernsMode": cfg.userns_mode,
            "GroupAdd": if cfg.group_add.is_empty() { Value::Null } else { json!(cfg.group_add) },
            "Sysctls": if cfg.sysctls.is_empty() { Value::Null } else { json!(cfg.sysctls) },
            "OomScoreAdj": cfg.oom_score_adj,
        },
        "GraphDriver": {
            "Data": {
                "LowerDir": lower.join(":"),
                // rdock mounts the overlay only inside the container's own mount
                // namespace; from the host it is seen through the init's root.
                "MergedDir": if running && st.pid > 0 { format!("/proc/{}/root", st.pid) } else { String::new() },
                "UpperDir": c.dir.join("upper"),
                "WorkDir": c.dir.join("work"),
            },
            "Name": "overlay",
        },
        "Mounts": mounts,
        "Config": {
            "Hostname": cfg.hostname,
            "Domainname": cfg.domainname,
            "User": cfg.user,
            "AttachStdin": cfg.open_stdin,
            "AttachStdout": true,
            "AttachStderr": true,
            "Tty": cfg.tty,
            "OpenStdin": cfg.open_stdin,
            "StdinOnce": cfg.open_stdin,
            // docker shows no variables as null.
            "Env": Some(&cfg.env).filter(|e| !e.is_empty()),
            "Cmd": cfg.cmd,
            "Image": cfg.image,
            "Volumes": if volumes.is_empty() { Value::Null } else { Value::Object(volumes) },
            "WorkingDir": cfg.working_dir,
            "Entrypoint": cfg.entrypoint,
            "OnBuild": Value::Null,
            "Labels": cfg.labels,
            "StopSignal": cfg.stop_signal,
        },
        "NetworkSettings": network_settings(paths, c),
    });
    if let Some(host) = v.get_mut("HostConfig").and_then(Value::as_object_mut) {
        host.extend(resources_json(&cfg.resources));
        if !cfg.annotations.is_empty() {
            host.insert("Annotations".into(), json!(cfg.annotations));
        }
    }
    // As docker's optional fields: present only when set.
    if let Some(conf) = v.get_mut("Config").and_then(Value::as_object_mut) {
        if !cfg.net.exposed.is_empty() {
            // A Go map: keys sorted (the ORDER table sorts them).
            let ports: serde_json::Map<String, Value> = cfg
                .net
                .exposed
                .iter()
                .map(|p| (p.clone(), json!({})))
                .collect();
            conf.insert("ExposedPorts".into(), Value::Object(ports));
        }
        if let Some(h) = &cfg.healthcheck {
            conf.insert("Healthcheck".into(), json!(h));
        }
        if let Some(t) = cfg.stop_timeout {
            conf.insert("StopTimeout".into(), json!(t));
        }
    }
    if let Some(h) = health_of(c) {
        if let Some(state) = v.get_mut("State").and_then(Value::as_object_mut) {
            state.insert("Health".into(), json!(h));
        }
    }
    crate::util::json_order::reorder(&mut v, ORDER);
    v
}

use crate::util::json_order::SORTED;

/// docker's field order (moby's ContainerJSON and the structs in it; its
/// maps are sorted by key, as Go marshals them).
const ORDER: crate::util::json_order::Order = &[
    (
        "",
        &[
            "Id",
            "Created",
            "Path",
            "Args",
            "State",
            "Image",
            "ResolvConfPath",
            "HostnamePath",
            "HostsPath",
            "LogPath",
            "Node",
            "Name",
            "RestartCount",
            "Driver",
            "Platform",
            "MountLabel",
            "ProcessLabel",
            "AppArmorProfile",
            "ExecIDs",
            "HostConfig",
            "GraphDriver",
            "SizeRw",
            "SizeRootFs",
            "Mounts",
            "Config",
            "NetworkSettings",
        ],
    ),
    (
        "State",
        &[
            "Status",
            "Running",
            "Paused",
            "Restarting",
            "OOMKilled",
            "Dead",
            "Pid",
            "ExitCode",
            "Error",
            "StartedAt",
            "FinishedAt",
            "Health",
        ],
    ),
    ("State.Health", &["Status", "FailingStreak", "Log"]),
    (
        "State.Health.Log.[]",
        &["Start", "End", "ExitCode", "Output"],
    ),
    ("HostConfig", HOST_CONFIG),
    ("HostConfig.LogConfig", &["Type", "Config"]),
    ("HostConfig.RestartPolicy", &["Name", "MaximumRetryCount"]),
    ("GraphDriver", &["Data", "Name"]),
    (
        "GraphDriver.Data",
        &["LowerDir", "MergedDir", "UpperDir", "WorkDir"],
    ),
    (
        "Mounts.[]",
        &[
            "Type",
            "Name",
            "Source",
            "Destination",
            "Driver",
            "Mode",
            "RW",
            "Propagation",
        ],
    ),
    ("Config", crate::util::json_order::CONFIG),
    ("Config.ExposedPorts", SORTED),
    ("Config.Volumes", SORTED),
    ("Config.Labels", SORTED),
    ("HostConfig.PortBindings", SORTED),
    ("HostConfig.Sysctls", SORTED),
    ("HostConfig.Tmpfs", SORTED),
    ("HostConfig.LogConfig.Config", SORTED),
    ("NetworkSettings.Ports", SORTED),
    ("NetworkSettings.Networks", SORTED),
    (
        "NetworkSettings",
        &[
            "Bridge",
            "SandboxID",
            "HairpinMode",
            "LinkLocalIPv6Address",
            "LinkLocalIPv6PrefixLen",
            "Ports",
            "SandboxKey",
            "SecondaryIPAddresses",
            "SecondaryIPv6Addresses",
            "EndpointID",
            "Gateway",
            "GlobalIPv6Address",
            "GlobalIPv6PrefixLen",
            "IPAddress",
            "IPPrefixLen",
            "IPv6Gateway",
            "MacAddress",
            "Networks",
        ],
    ),
    (
        "NetworkSettings.Networks.*",
        &[
            "IPAMConfig",
            "Links",
            "Aliases",
            "NetworkID",
            "EndpointID",
            "Gateway",
            "IPAddress",
            "IPPrefixLen",
            "IPv6Gateway",
            "GlobalIPv6Address",
            "GlobalIPv6PrefixLen",
            "MacAddress",
            "DriverOpts",
            "DNSNames",
        ],
    ),
];

const HOST_CONFIG: &[&str] = &[
    "Binds",
    "ContainerIDFile",
    "LogConfig",
    "NetworkMode",
    "PortBindings",
    "RestartPolicy",
    "AutoRemove",
    "VolumeDriver",
    "VolumesFrom",
    "ConsoleSize",
    "Annotations",
    "CapAdd",
    "CapDrop",
    "CgroupnsMode",
    "Dns",
    "DnsOptions",
    "DnsSearch",
    "ExtraHosts",
    "GroupAdd",
    "IpcMode",
    "Cgroup",
    "Links",
    "OomScoreAdj",
    "PidMode",
    "Privileged",
    "PublishAllPorts",
    "ReadonlyRootfs",
    "SecurityOpt",
    "StorageOpt",
    "Tmpfs",
    "UTSMode",
    "UsernsMode",
    "ShmSize",
    "Sysctls",
    "Runtime",
    "Isolation",
    "CpuShares",
    "Memory",
    "NanoCpus",
    "CgroupParent",
    "BlkioWeight",
    "BlkioWeightDevice",
    "BlkioDeviceReadBps",
    "BlkioDeviceWriteBps",
    "BlkioDeviceReadIOps",
    "BlkioDeviceWriteIOps",
    "CpuPeriod",
    "CpuQuota",
    "CpuRealtimePeriod",
    "CpuRealtimeRuntime",
    "CpusetCpus",
    "CpusetMems",
    "Devices",
    "DeviceCgroupRules",
    "DeviceRequests",
    "KernelMemory",
    "KernelMemoryTCP",
    "MemoryReservation",
    "MemorySwap",
    "MemorySwappiness",
    "OomKillDisable",
    "PidsLimit",
    "Ulimits",
    "CpuCount",
    "CpuPercent",
    "IOMaximumIOps",
    "IOMaximumBandwidth",
    "Mounts",
    "MaskedPaths",
    "ReadonlyPaths",
    "Init",
];

/// `.State.Health`: for a container with a check that has started.
pub fn health_of(c: &Container) -> Option<super::health::Health> {
    c.config
        .healthcheck
        .as_ref()
        .filter(|h| h.enabled())
        .and_then(|_| super::health::read(&c.dir))
}

/// HostConfig.PortBindings: what was asked ("" for a random host port).
/// HostConfig.Links as docker shows them: `/target:/me/alias`.
fn host_links(cfg: &super::config::ContainerConfig) -> Value {
    if cfg.net.links.is_empty() {
        return Value::Null;
    }
    json!(cfg
        .net
        .links
        .iter()
        .map(|l| {
            let (name, alias) = super::network::split_link(l);
            format!("/{name}:/{}/{alias}", cfg.name)
        })
        .collect::<Vec<_>>())
}

fn port_bindings(cfg: &super::config::ContainerConfig) -> Value {
    let mut m = serde_json::Map::new();
    for p in &cfg.net.publish {
        let key = format!("{}/{}", p.container_port, p.proto.as_str());
        let entry = m.entry(key).or_insert_with(|| json!([]));
        if let Some(a) = entry.as_array_mut() {
            a.push(json!({
                "HostIp": p.host_ip.map(|i| i.to_string()).unwrap_or_default(),
                "HostPort": match (p.host_port, p.host_range) {
                    (0, Some((a, b))) => format!("{a}-{b}"),
                    (0, None) => String::new(),
                    (n, _) => n.to_string(),
                },
            }));
        }
    }
    Value::Object(m)
}

/// NetworkSettings as docker shows them: the endpoint while running,
/// empty values otherwise; exposed ports map to null when unpublished.
fn network_settings(paths: &Paths, c: &Container) -> Value {
    let cfg = &c.config;
    let ep = super::network::endpoint(c);
    let mut ports = serde_json::Map::new();
    if ep.is_some() {
        for (port, proto) in super::network::exposed(cfg) {
            ports.insert(format!("{port}/{}", proto.as_str()), Value::Null);
        }
    }
    if let Some(ep) = &ep {
        for r in &ep.ports {
            let key = format!("{}/{}", r.container_port, r.proto.as_str());
            let entry = ports.entry(key).or_insert(Value::Null);
            if entry.is_null() {
                *entry = json!([]);
            }
            if let Some(a) = entry.as_array_mut() {
                a.push(json!({
                    "HostIp": r.host_ip.unwrap_or(std::net::Ipv4Addr::UNSPECIFIED).to_string(),
                    "HostPort": r.host_port.to_string(),
                }));
            }
        }
    }
    let endpoint_id = |e: &crate::network::bridge::Endpoint| {
        crate::image::store::sha256_hex(format!("{}{}", cfg.id, e.veth).as_bytes())
    };
    // The top-level fields are the default bridge's only, as docker's.
    let default_ep = super::network::endpoints(c)
        .into_iter()
        .find(|e| !crate::network::bridge::is_user_defined(&e.network));
    let (ip, gw, mac, prefix, ep_id) = match &default_ep {
        Some(e) => (
            e.ip.to_string(),
            e.gateway.to_string(),
            e.mac.clone(),
            e.prefix,
            endpoint_id(e),
        ),
        None => (
            String::new(),
            String::new(),
            String::new(),
            0,
            String::new(),
        ),
    };
    let mut networks = serde_json::Map::new();
    let eps = super::network::endpoints(c);
    match &cfg.network {
        super::config::NetworkMode::Container(_) => {}
        super::config::NetworkMode::Bridge(_) => {
            for att in super::network::attachments(cfg) {
                let e = eps.iter().find(|e| e.network == att.network);
                let net_id = e.map(|e| e.network_id.clone()).unwrap_or_else(|| {
                    crate::network::store::find(paths, &att.network)
                        .map(|n| n.id)
                        .unwrap_or_default()
                });
                let mut dns: Vec<String> = Vec::new();
                if crate::network::bridge::is_user_defined(&att.network) {
                    dns.push(cfg.name.clone());
                    dns.extend(att.aliases.iter().cloned());
                    dns.push(crate::util::first_chars(&cfg.id, 12).to_string());
                }
                let links: Vec<String> = if att.network == cfg.network.as_string() {
                    cfg.net
                        .links
                        .iter()
                        .map(|l| {
                            let (name, alias) = super::network::split_link(l);
                            format!("{name}:{alias}")
                        })
                        .collect()
                } else {
                    Vec::new()
                };
                networks.insert(
                    att.network.clone(),
                    json!({
                        "IPAMConfig": att.ip.map(|ip| json!({"IPv4Address": ip.to_string()})).unwrap_or(Value::Null),
                        "Links": if links.is_empty() { Value::Null } else { json!(links) },
                        "Aliases": if att.aliases.is_empty() { Value::Null } else { json!(att.aliases) },
                        "MacAddress": e.map(|e| e.mac.clone()).unwrap_or_default(),
                        "DriverOpts": Value::Null,
                        "GwPriority": att.gw_priority,
                        "NetworkID": net_id,
                        "EndpointID": e.map(endpoint_id).unwrap_or_default(),
                        "Gateway": e.map(|e| e.gateway.to_string()).unwrap_or_default(),
                        "IPAddress": e.map(|e| e.ip.to_string()).unwrap_or_default(),
                        "IPPrefixLen": e.map(|e| e.prefix).unwrap_or(0),
                        "IPv6Gateway": "",
                        "GlobalIPv6Address": "",
                        "GlobalIPv6PrefixLen": 0,
                        "DNSNames": if dns.is_empty() { Value::Null } else { json!(dns) },
                    }),
                );
            }
        }
        other => {
            networks.insert(
                other.as_string(),
                json!({
                    "IPAMConfig": Value::Null,
                    "Links": Value::Null,
                    "Aliases": Value::Null,
                    "MacAddress": "",
                    "DriverOpts": Value::Null,
                    "GwPriority": 0,
                    "NetworkID": crate::network::store::predefined_id(&other.as_string()),
                    "EndpointID": "",
                    "Gateway": "",
                    "IPAddress": "",
                    "IPPrefixLen": 0,
                    "IPv6Gateway": "",
                    "GlobalIPv6Address": "",
                    "GlobalIPv6PrefixLen": 0,
                    "DNSNames": Value::Null,
                }),
            );
        }
    }
    json!({
        "Bridge": "",
        "SandboxID": if ep.is_some() { cfg.id.clone() } else { String::new() },
        "SandboxKey": if c.state.pid > 0 { format!("/proc/{}/ns/net", c.state.pid) } else { String::new() },
        "Ports": ports,
        "HairpinMode": false,
        "LinkLocalIPv6Address": "",
        "LinkLocalIPv6PrefixLen": 0,
        "SecondaryIPAddresses": Value::Null,
        "SecondaryIPv6Addresses": Value::Null,
        "EndpointID": ep_id,
        "Gateway": gw,
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "IPAddress": ip,
        "IPPrefixLen": prefix,
        "IPv6Gateway": "",
        "MacAddress": mac,
        "Networks": networks,
    })
}

/// docker's HostConfig resource fields.
fn resources_json(r: &crate::runtime::resources::Resources) -> serde_json::Map<String, Value> {
    let rates = |l: &[crate::runtime::resources::ThrottleDevice]| {
        json!(l
            .iter()
            .map(|d| json!({"Path": d.path, "Rate": d.rate}))
            .collect::<Vec<_>>())
    };
    let v = json!({
        "BlkioWeight": r.blkio_weight,
        "BlkioWeightDevice": r.blkio_weight_device.iter()
            .map(|d| json!({"Path": d.path, "Weight": d.weight})).collect::<Vec<_>>(),
        "BlkioDeviceReadBps": rates(&r.device_read_bps),
        "BlkioDeviceWriteBps": rates(&r.device_write_bps),
        "BlkioDeviceReadIOps": rates(&r.device_read_iops),
        "BlkioDeviceWriteIOps": rates(&r.device_write_iops),
        "CpuShares": r.cpu_shares,
        "CpuPeriod": r.cpu_period,
        "CpuQuota": r.cpu_quota,
        "CpuRealtimePeriod": r.cpu_rt_period,
        "CpuRealtimeRuntime": r.cpu_rt_runtime,
        "CpusetCpus": r.cpuset_cpus,
        "CpusetMems": r.cpuset_mems,
        "Memory": r.memory,
        "MemoryReservation": r.memory_reservation,
        "MemorySwap": r.memory_swap,
        "MemorySwappiness": r.memory_swappiness,
        "NanoCpus": r.nano_cpus,
        "OomKillDisable": r.oom_kill_disable,
        "PidsLimit": r.pids_limit.filter(|p| *p > 0),
    });
    match v {
        Value::Object(m) => m,
        _ => serde_json::Map::new(),
    }
}
