//! `system df`, `system prune` (and `system info`): the store's disk use,
//! and removing what nothing uses.

use super::format::{human_size, human_size_prec, render_rows};
use crate::error::Result;
use crate::paths::Paths;
use clap::{Args, Subcommand};
use serde_json::json;

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum SystemCommand {
    /// Show docker disk usage
    Df(DfArgs),
    /// Remove unused data
    Prune(PruneArgs),
    /// Display system-wide information
    Info(super::info::InfoArgs),
    /// Get real time events from the server
    Events(super::events::EventsArgs),
    // Hidden: docker's help has no such command and rdock's help is
    // docker's (docs/api.md documents it).
    /// Serve the Docker Engine API on a socket (podman's `system service`)
    #[command(hide = true)]
    Service(ServiceArgs),
}

#[derive(Debug, Args)]
pub struct ServiceArgs {
    /// Seconds without a connection before the service exits (0: never)
    #[arg(short = 't', long, default_value = "5")]
    pub time: u64,
    /// The group that may use the socket besides root (docker's `docker` group)
    #[arg(long)]
    pub group: Option<String>,
    /// Where to listen: unix:///PATH (default unix:///run/rdock/docker.sock), or tcp://HOST:PORT
    pub uri: Option<String>,
}

#[derive(Debug, Args)]
pub struct DfArgs {
    #[arg(long, help = super::help::FORMAT_HELP)]
    pub format: Option<String>,
    /// Show detailed information on space usage
    #[arg(short = 'v', long)]
    pub verbose: bool,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Remove all unused images not just dangling ones
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Provide filter values (e.g. "label=<key>=<value>")
    #[arg(long, value_name = "filter")]
    pub filter: Vec<String>,
    /// Do not prompt for confirmation
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Prune anonymous volumes
    #[arg(long)]
    pub volumes: bool,
}

pub fn run(paths: &Paths, cmd: SystemCommand) -> Result<i32> {
    match cmd {
        SystemCommand::Df(a) => df(paths, a),
        SystemCommand::Prune(a) => prune(paths, a),
        SystemCommand::Info(a) => super::info::info(paths, a),
        SystemCommand::Events(a) => super::events::run(paths, a),
        SystemCommand::Service(a) => service(paths, a),
    }
}

/// `system service`: the Engine API until idle for `--time` seconds.
fn service(paths: &Paths, a: ServiceArgs) -> Result<i32> {
    use crate::api::server::{serve, ServeOptions, DEFAULT_URI};
    crate::util::secure_root_dir(&paths.root)
        .and_then(|_| crate::util::secure_root_dir(&paths.runroot))
        .map_err(|e| crate::Error::msg(format!("preparing the store: {e}")))?;
    let uri = a.uri.unwrap_or_else(|| DEFAULT_URI.to_string());
    if uri.starts_with("tcp://") {
        eprintln!("WARNING: the API on {uri} has no authentication: anyone who reaches it is root on this host");
    }
    let opts = ServeOptions {
        uri,
        idle: (a.time > 0).then(|| std::time::Duration::from_secs(a.time)),
        group: a.group,
    };
    serve(paths, &opts).map_err(|e| crate::Error::msg(e.message))?;
    Ok(0)
}

/// docker's Reclaimable cell: the size, and its share of the total when
/// there is a total (go-units HumanSize: 4 significant digits).
fn reclaimable(part: u64, total: u64) -> String {
    let size = human_size_prec(part, 4);
    match u128::from(part)
        .saturating_mul(100)
        .checked_div(u128::from(total))
    {
        Some(pct) => format!("{size} ({pct}%)"),
        None => size,
    }
}

use crate::usage::{usage, Usage};

fn df(paths: &Paths, a: DfArgs) -> Result<i32> {
    let u = usage(paths)?;
    if a.verbose {
        return df_verbose(&u, &a);
    }
    let size = |b: u64| human_size_prec(b, 4);
    let active_images = u.images.iter().filter(|(_, n, _)| *n > 0).count();
    let ctr_total: u64 = u.containers.iter().map(|(_, s)| s).sum();
    let ctr_free: u64 = u
        .containers
        .iter()
        .filter(|(c, _)| !c.state.is_alive())
        .map(|(_, s)| s)
        .sum();
    let vol_total: u64 = u.volumes.iter().map(|(_, _, s)| s).sum();
    let vol_free: u64 = u
        .volumes
        .iter()
        .filter(|(_, links, _)| *links == 0)
        .map(|(_, _, s)| s)
        .sum();
    let rows = vec![
        json!({
            "Type": "Images", "TotalCount": u.images.len().to_string(),
            "Active": active_images.to_string(), "Size": size(u.layers_total),
            "Reclaimable": reclaimable(u.layers_free, u.layers_total),
        }),
        json!({
            "Type": "Containers", "TotalCount": u.containers.len().to_string(),
            "Active": u.containers.iter().filter(|(c, _)| c.state.is_alive()).count().to_string(),
            "Size": size(ctr_total),
            "Reclaimable": reclaimable(ctr_free, ctr_total),
        }),
        json!({
            "Type": "Local Volumes", "TotalCount": u.volumes.len().to_string(),
            "Active": u.volumes.iter().filter(|(_, links, _)| *links > 0).count().to_string(),
            "Size": size(vol_total),
            "Reclaimable": reclaimable(vol_free, vol_total),
        }),
        json!({
            "Type": "Build Cache", "TotalCount": u.cache_count.to_string(), "Active": "0",
            "Size": size(u.cache_size), "Reclaimable": size(u.cache_size),
        }),
    ];
    // docker's raw format for this command is its own four lines a row.
    let format = match a.format.as_deref().map(str::trim) {
        Some("raw") => Some("type: {{.Type}}\ntotal: {{.TotalCount}}\nactive: {{.Active}}\nsize: {{.Size}}\nreclaimable: {{.Reclaimable}}\n"),
        _ => a.format.as_deref(),
    };
    print!(
        "{}",
        render_rows(
            format,
            "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}",
            &[
                ("Type", "TYPE"),
                ("TotalCount", "TOTAL"),
                ("Active", "ACTIVE"),
                ("Size", "SIZE"),
                ("Reclaimable", "RECLAIMABLE"),
            ],
            "*formatter.diskUsageImagesContext",
            &rows,
        )?
    );
    Ok(0)
}

/// `-v`'s image rows: one an image, named by its first tag, as docker's
/// (`trunc`: the table's short IDs; JSON and templates get full ones).
fn image_rows(u: &Usage, trunc: bool) -> Vec<serde_json::Value> {
    use super::format::since;
    let now = chrono::Utc::now();
    u.images
        .iter()
        .map(|(img, users, shared)| {
            let (repo, tag) = super::images::rows_of(img)
                .into_iter()
                .find(|r| r.tag != "<none>")
                .map(|r| (r.repo, r.tag))
                .unwrap_or_else(|| ("<none>".into(), "<none>".into()));
            let created = img.created.as_deref().and_then(super::ps::parse_time);
            let id = if trunc {
                super::format::truncate_id(&img.id).to_string()
            } else {
                img.id.clone()
            };
            json!({
                "Containers": users.to_string(),
                "CreatedAt": created.map(|t| t.format("%Y-%m-%d %H:%M:%S %z UTC").to_string()).unwrap_or_default(),
                "CreatedSince": created.map(|t| since(t, now)).unwrap_or_default(),
                // docker's df leaves an image's digest out.
                "Digest": "",
                "ID": id,
                "Repository": repo,
                "SharedSize": human_size_prec(*shared, 4),
                "Size": human_size(img.size),
                "Tag": tag,
                "UniqueSize": human_size_prec(img.size.saturating_sub(*shared), 4),
                "VirtualSize": human_size_prec(img.size, 4),
            })
        })
        .collect()
}

/// `-v`'s container rows: `ps`'s cells, the writable layer's size and
/// the volumes each names (docker's Mounts: volume names, bind sources).
fn container_rows(u: &Usage, trunc: bool) -> Vec<serde_json::Value> {
    use super::format::since;
    use crate::runtime::rootfs::MountKind;
    let now = chrono::Utc::now();
    u.containers
        .iter()
        .map(|(c, size)| {
            let volumes = c
                .config
                .mounts
                .iter()
                .filter(|m| m.kind == MountKind::Volume)
                .count();
            let mounts: Vec<String> = c
                .config
                .mounts
                .iter()
                .filter(|m| m.kind != MountKind::Tmpfs)
                .map(|m| {
                    if m.kind == MountKind::Volume {
                        m.name.clone()
                    } else {
                        m.source.display().to_string()
                    }
                })
                .collect();
            let created = super::ps::parse_time(&c.config.created);
            json!({
                "Command": super::ps::command_cell(c, !trunc),
                "CreatedAt": created.map(|t| t.format("%Y-%m-%d %H:%M:%S %z UTC").to_string()).unwrap_or_default(),
                "ID": if trunc { c.short_id().to_string() } else { c.config.id.clone() },
                "Image": c.config.image,
                "Labels": super::format::labels_text(&c.config.labels),
                "LocalVolumes": volumes.to_string(),
                "Mounts": mounts.join(","),
                "Names": c.config.name,
                "Networks": crate::container::network::network_names(&c.config),
                "Platform": null,
                "Ports": crate::container::network::ports_text(c),
                "RunningFor": created.map(|t| since(t, now)).unwrap_or_default(),
                "Size": human_size(*size),
                "State": c.state.display_status(),
                // The cells `ps` shows, health included, as docker's API Status.
                "Status": super::ps::status_cell(c, now),
            })
        })
        .collect()
}

fn volume_rows(u: &Usage) -> Vec<serde_json::Value> {
    u.volumes
        .iter()
        .map(|(v, links, size)| {
            json!({
                "Availability": "N/A",
                "Driver": "local",
                "Group": "N/A",
                "Labels": super::format::labels_text(&v.labels),
                "Links": links.to_string(),
                "Mountpoint": v.mountpoint,
                "Name": v.name,
                "Scope": "local",
                "Size": human_size_prec(*size, 4),
                "Status": "N/A",
            })
        })
        .collect()
}

/// `system df -v`: each image, container, volume and build cache entry;
/// with `--format`, docker's template over all four lists.
fn df_verbose(u: &Usage, a: &DfArgs) -> Result<i32> {
    let format = a
        .format
        .as_deref()
        .filter(|f| !f.is_empty() && *f != "table");
    if let Some(f) = format {
        let all = json!({
            "Images": image_rows(u, false), "Containers": container_rows(u, false),
            "Volumes": volume_rows(u), "BuildCache": [],
        });
        // A struct's fields in their order (a template's `json` sorts map
        // keys). docker adds no newline after this template.
        if matches!(f.trim(), "json" | "{{json .}}" | "{{ json . }}") {
            print!("{all}");
        } else {
            print!(
                "{}",
                super::format::render_struct(f, "*formatter.diskUsageContext", &all)?
            );
        }
        return Ok(0);
    }
    let table = |tmpl: &str, headers: &[(&str, &str)], rows: &[serde_json::Value]| {
        render_rows(None, tmpl, headers, "*formatter.diskUsageContext", rows)
    };
    let mut out = String::from("Images space usage:\n\n");
    out.push_str(&table(
        "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}",
        &[
            ("Repository", "REPOSITORY"),
            ("Tag", "TAG"),
            ("ID", "IMAGE ID"),
            ("CreatedSince", "CREATED"),
            ("Size", "SIZE"),
            ("SharedSize", "SHARED SIZE"),
            ("UniqueSize", "UNIQUE SIZE"),
            ("Containers", "CONTAINERS"),
        ],
        &image_rows(u, true),
    )?);
    out.push_str("\nContainers space usage:\n\n");
    out.push_str(&table(
        "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}",
        &[
            ("ID", "CONTAINER ID"),
            ("Image", "IMAGE"),
            ("Command", "COMMAND"),
            ("LocalVolumes", "LOCAL VOLUMES"),
            ("Size", "SIZE"),
            ("RunningFor", "CREATED"),
            ("Status", "STATUS"),
            ("Names", "NAMES"),
        ],
        &container_rows(u, true),
    )?);
    out.push_str("\nLocal Volumes space usage:\n\n");
    out.push_str(&table(
        "table {{.Name}}\t{{.Links}}\t{{.Size}}",
        &[
            ("Name", "VOLUME NAME"),
            ("Links", "LINKS"),
            ("Size", "SIZE"),
        ],
        &volume_rows(u),
    )?);
    out.push_str(&format!(
        "\nBuild cache usage: {}\n\n",
        human_size_prec(u.cache_size, 4)
    ));
    out.push_str("CACHE ID   CACHE TYPE   SIZE      CREATED   LAST USED   USAGE     SHARED\n");
    print!("{out}");
    Ok(0)
}

fn prune(paths: &Paths, a: PruneArgs) -> Result<i32> {
    // What killed commands left (docs/architecture.md, crash safety).
    crate::container::debris::sweep(paths);
    let filter = super::prune::PruneFilter::parse(&a.filter, crate::prune::KEYS)?;
    let mut warning = String::from(
        "WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n",
    );
    if a.volumes {
        warning.push_str("  - all anonymous volumes not used by at least one container\n");
    }
    warning.push_str(if a.all {
        "  - all images without at least one container associated to them\n"
    } else {
        "  - all dangling images\n"
    });
    warning.push_str("  - unused build cache\n");
    if !super::prune::confirm(&warning, a.force) {
        return Ok(0);
    }
    let (containers, ctr_size) = super::prune::prune_containers(paths, &filter)?;
    print!("{containers}");
    print!("{}", super::network::prune_networks(paths, &filter));
    let (vols, vol_size) = if a.volumes {
        super::volume::prune_volumes(paths, &Default::default())?
    } else {
        (String::new(), 0)
    };
    print!("{vols}");
    let (images, img_size) = super::prune::prune_images(paths, a.all, &filter)?;
    print!("{images}");
    let (cache, cache_size) = super::build::pruned_text(&crate::build::prune::prune_all(paths)?);
    print!("{cache}");
    println!(
        "Total reclaimed space: {}",
        human_size(
            ctr_size
                .saturating_add(vol_size)
                .saturating_add(img_size)
                .saturating_add(cache_size)
        )
    );
    Ok(0)
}
