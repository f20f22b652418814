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
        .filter(|m| m.kind == MountKind::Bind)
        .map(|m| {
            format!(
                "{}:{}{}",
                m.source.display(),
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
        })
        .collect();
    let ulimits: Vec<Value> = cfg
        .ulimits
        .iter()
        .map(|u| json!({"Name": u.name, "Soft": u.soft, "Hard": u.hard}))
        .collect();
    let running = st.status == super::state::Status::Running;
    json!({
        "Id": cfg.id,
        "Created": cfg.created,
        "Path": cfg.path,
        "Args": cfg.args,
        "State": {
            "Status": st.display_status(),
            "Running": running,
            "Paused": st.paused,
            "Restarting": st.restarting,
            "OOMKilled": false,
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
        "AppArmorProfile": "",
        "ExecIDs": Value::Null,
        "HostConfig": {
            "Binds": if binds.is_empty() { Value::Null } else { json!(binds) },
            "ContainerIDFile": "",
            "LogConfig": {"Type": cfg.log.driver_name(), "Config": cfg.log.opts},
            "NetworkMode": cfg.network.as_str(),
            "PortBindings": {},
            "RestartPolicy": {"Name": cfg.restart.display_name(), "MaximumRetryCount": cfg.restart.max_retries},
            "AutoRemove": cfg.auto_remove,
            "CapAdd": if cfg.cap_add.is_empty() { Value::Null } else { json!(cfg.cap_add) },
            "CapDrop": if cfg.cap_drop.is_empty() { Value::Null } else { json!(cfg.cap_drop) },
            "Privileged": cfg.privileged,
            "ReadonlyRootfs": cfg.readonly_rootfs,
            "Tmpfs": if tmpfs.is_empty() { Value::Null } else { Value::Object(tmpfs) },
            "Ulimits": if ulimits.is_empty() { Value::Null } else { json!(ulimits) },
            "CgroupnsMode": "private",
            "IpcMode": "private",
            "PidMode": "",
            "UTSMode": "",
        },
        "GraphDriver": {
            "Data": {
                "LowerDir": lower.join(":"),
                "MergedDir": c.dir.join("merged"),
                "UpperDir": c.dir.join("upper"),
                "WorkDir": c.dir.join("work"),
            },
            "Name": "overlay",
        },
        "Mounts": mounts,
        "Config": {
            "Hostname": cfg.hostname,
            "Domainname": "",
            "User": cfg.user,
            "AttachStdin": cfg.open_stdin,
            "AttachStdout": true,
            "AttachStderr": true,
            "Tty": cfg.tty,
            "OpenStdin": cfg.open_stdin,
            "StdinOnce": cfg.open_stdin,
            "Env": cfg.env,
            "Cmd": cfg.cmd,
            "Image": cfg.image,
            "Volumes": Value::Null,
            "WorkingDir": cfg.working_dir,
            "Entrypoint": cfg.entrypoint,
            "OnBuild": Value::Null,
            "Labels": cfg.labels,
            "StopSignal": cfg.stop_signal,
        },
        "NetworkSettings": {
            "Bridge": "",
            "SandboxID": "",
            "Ports": {},
            "Networks": {
                cfg.network.as_str(): {
                    "IPAddress": "",
                    "Gateway": "",
                    "MacAddress": "",
                    "NetworkID": "",
                }
            }
        }
    })
}
