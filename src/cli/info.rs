//! `rdock version` and `rdock info`.

use super::format::render_template;
use crate::container::state::Status;
use crate::container::store::ContainerStore;
use crate::error::{Error, Result};
use crate::image::store::ImageStore;
use crate::paths::Paths;
use crate::runtime::cgroups::CgroupMode;
use clap::Args;
use serde_json::json;

#[derive(Debug, Args)]
pub struct VersionArgs {
    /// Format output using a custom template
    #[arg(short = 'f', long)]
    pub format: Option<String>,
}

#[derive(Debug, Args)]
pub struct InfoArgs {
    /// Format output using a custom template
    #[arg(short = 'f', long)]
    pub format: Option<String>,
}

fn kernel() -> String {
    nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn print(
    format: Option<&str>,
    v: &serde_json::Value,
    plain: impl FnOnce() -> String,
) -> Result<i32> {
    match format {
        Some("json") => println!(
            "{}",
            serde_json::to_string(v).map_err(|e| Error::msg(e.to_string()))?
        ),
        Some(f) => println!("{}", render_template(f, v)?),
        None => print!("{}", plain()),
    }
    Ok(0)
}

pub fn version(_paths: &Paths, a: VersionArgs) -> Result<i32> {
    let v = json!({
        "Client": {
            "Version": env!("CARGO_PKG_VERSION"),
            "Os": "linux",
            "Arch": crate::image::config::host_arch(),
            "Platform": {"Name": "rdock"},
        },
    });
    print(a.format.as_deref(), &v, || {
        format!(
            "Client:\n Version:    {}\n OS/Arch:    linux/{}\n Daemonless: true\n",
            env!("CARGO_PKG_VERSION"),
            crate::image::config::host_arch()
        )
    })
}

pub fn info(paths: &Paths, a: InfoArgs) -> Result<i32> {
    let list = ContainerStore::new(paths).list();
    let count = |s: Status| list.iter().filter(|c| c.state.status == s).count();
    let paused = list.iter().filter(|c| c.state.is_paused()).count();
    let images = ImageStore::new(paths).index()?.images.len();
    let mode = CgroupMode::detect();
    let v = json!({
        "Containers": list.len(),
        "ContainersRunning": count(Status::Running).saturating_sub(paused),
        "ContainersPaused": paused,
        "ContainersStopped": list.len().saturating_sub(count(Status::Running)),
        "Images": images,
        "Driver": "overlay",
        "CgroupDriver": "cgroupfs",
        "CgroupVersion": mode.version(),
        "KernelVersion": kernel(),
        "OperatingSystem": "linux",
        "OSType": "linux",
        "Architecture": std::env::consts::ARCH,
        "NCPU": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "DockerRootDir": paths.root,
        "RunRoot": paths.runroot,
        "ServerVersion": env!("CARGO_PKG_VERSION"),
    });
    print(a.format.as_deref(), &v, || {
        format!(
            "Client:\n Version:    {ver}\n Daemonless: true\n\nServer:\n Containers: {c}\n  Running: {r}\n  Paused: {p}\n  Stopped: {s}\n Images: {i}\n Storage Driver: overlay\n Cgroup Driver: cgroupfs\n Cgroup Version: {cg}\n Kernel Version: {k}\n Operating System: linux\n Architecture: {arch}\n CPUs: {cpus}\n Root Dir: {root}\n Run Root: {run}\n",
            ver = env!("CARGO_PKG_VERSION"),
            c = list.len(),
            r = count(Status::Running).saturating_sub(paused),
            p = paused,
            s = list.len().saturating_sub(count(Status::Running)),
            i = images,
            cg = mode.version(),
            k = kernel(),
            arch = std::env::consts::ARCH,
            cpus = v.get("NCPU").cloned().unwrap_or_default(),
            root = paths.root.display(),
            run = paths.runroot.display(),
        )
    })
}
