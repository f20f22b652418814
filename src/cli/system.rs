//! `system df`, `system prune` (and `system info`): the store's disk use,
//! and removing what nothing uses.

use super::format::{human_size, render_rows};
use crate::container::store::ContainerStore;
use crate::error::{Error, Result};
use crate::image::store::ImageStore;
use crate::paths::Paths;
use clap::{Args, Subcommand};
use serde_json::json;
use std::collections::{HashMap, HashSet};

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
}

#[derive(Debug, Args)]
pub struct DfArgs {
    /// Format output using a custom template
    #[arg(long)]
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
    #[arg(long)]
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
    }
}

fn percent(part: u64, total: u64) -> String {
    let pct = u128::from(part)
        .saturating_mul(100)
        .checked_div(u128::from(total));
    format!("{}%", pct.unwrap_or(0))
}

fn df(paths: &Paths, a: DfArgs) -> Result<i32> {
    if a.verbose {
        return df_verbose(paths, &a);
    }
    let images = ImageStore::new(paths);
    let idx = images.index()?;
    let containers = ContainerStore::new(paths).list();
    let used_images: HashSet<&str> = containers
        .iter()
        .map(|c| c.config.image_id.as_str())
        .collect();
    // Layers are shared: each counts once, and is reclaimable only when no
    // image in use holds it.
    let mut layer_size: HashMap<&str, u64> = HashMap::new();
    let mut in_use: HashSet<&str> = HashSet::new();
    for img in &idx.images {
        for l in &img.layers {
            layer_size
                .entry(l.as_str())
                .or_insert_with(|| images.layer_info(l).map(|i| i.size).unwrap_or(0));
            if used_images.contains(img.id.as_str()) {
                in_use.insert(l.as_str());
            }
        }
    }
    let image_total: u64 = layer_size.values().sum();
    let image_free: u64 = layer_size
        .iter()
        .filter(|(l, _)| !in_use.contains(*l))
        .map(|(_, s)| s)
        .sum();
    let active_images = idx
        .images
        .iter()
        .filter(|i| used_images.contains(i.id.as_str()))
        .count();
    let sizes: Vec<(bool, u64)> = containers
        .iter()
        .map(|c| {
            (
                c.state.is_alive(),
                crate::util::tree_size(&c.dir.join("upper")),
            )
        })
        .collect();
    let ctr_total: u64 = sizes.iter().map(|(_, s)| s).sum();
    let vstore = crate::volume::VolumeStore::new(paths);
    let volumes = vstore.list();
    let unused: std::collections::BTreeSet<String> =
        vstore.unused().into_iter().map(|v| v.name).collect();
    let vol_sizes: Vec<(bool, u64)> = volumes
        .iter()
        .map(|v| (unused.contains(&v.name), vstore.size(v)))
        .collect();
    let vol_total: u64 = vol_sizes.iter().map(|(_, s)| s).sum();
    let vol_free: u64 = vol_sizes
        .iter()
        .filter(|(free, _)| *free)
        .map(|(_, s)| s)
        .sum();
    let ctr_free: u64 = sizes.iter().filter(|(live, _)| !live).map(|(_, s)| s).sum();
    let (cache_count, cache_size) = super::build::cache_usage(paths)?;
    let rows = vec![
        json!({
            "Type": "Images", "TotalCount": idx.images.len().to_string(),
            "Active": active_images.to_string(), "Size": human_size(image_total),
            "Reclaimable": format!("{} ({})", human_size(image_free), percent(image_free, image_total)),
        }),
        json!({
            "Type": "Containers", "TotalCount": containers.len().to_string(),
            "Active": sizes.iter().filter(|(live, _)| *live).count().to_string(),
            "Size": human_size(ctr_total),
            "Reclaimable": format!("{} ({})", human_size(ctr_free), percent(ctr_free, ctr_total)),
        }),
        json!({
            "Type": "Local Volumes", "TotalCount": volumes.len().to_string(),
            "Active": volumes.len().saturating_sub(unused.len()).to_string(),
            "Size": human_size(vol_total),
            "Reclaimable": format!("{} ({})", human_size(vol_free), percent(vol_free, vol_total)),
        }),
        json!({
            "Type": "Build Cache", "TotalCount": cache_count.to_string(), "Active": "0",
            "Size": human_size(cache_size), "Reclaimable": human_size(cache_size),
        }),
    ];
    print!(
        "{}",
        render_rows(
            a.format.as_deref(),
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

/// `system df -v`: each image, container, volume and build cache entry.
fn df_verbose(paths: &Paths, a: &DfArgs) -> Result<i32> {
    use super::format::since;
    let now = chrono::Utc::now();
    let parse = super::ps::parse_time;
    let images = ImageStore::new(paths);
    let idx = images.index()?;
    let containers = ContainerStore::new(paths).list();
    // How many images hold each layer: a layer held by two is shared.
    let mut holders: HashMap<&str, usize> = HashMap::new();
    for img in &idx.images {
        for l in &img.layers {
            let n = holders.entry(l.as_str()).or_default();
            *n = n.saturating_add(1);
        }
    }
    let layer_size = |l: &str| images.layer_info(l).map(|i| i.size).unwrap_or(0);
    let mut image_rows = Vec::new();
    for img in &idx.images {
        let shared: u64 = img
            .layers
            .iter()
            .filter(|l| holders.get(l.as_str()).copied().unwrap_or(0) > 1)
            .map(|l| layer_size(l))
            .sum();
        let users = containers
            .iter()
            .filter(|c| c.config.image_id == img.id)
            .count();
        for r in super::images::rows_of(img) {
            image_rows.push(json!({
                "Repository": r.repo, "Tag": r.tag,
                "ID": super::format::truncate_id(&img.id),
                "CreatedSince": img.created.as_deref().and_then(parse).map(|t| since(t, now)).unwrap_or_default(),
                "Size": human_size(img.size),
                "SharedSize": human_size(shared),
                "UniqueSize": human_size(img.size.saturating_sub(shared)),
                "Containers": users.to_string(),
            }));
        }
    }
    let mut container_rows = Vec::new();
    for c in &containers {
        let volumes = c
            .config
            .mounts
            .iter()
            .filter(|m| m.kind == crate::runtime::rootfs::MountKind::Volume)
            .count();
        // The cells `ps` shows, health included, as docker's API Status.
        container_rows.push(json!({
            "ID": c.short_id(), "Image": c.config.image,
            "Command": super::ps::command_cell(c, false),
            "LocalVolumes": volumes.to_string(),
            "Size": human_size(crate::util::tree_size(&c.dir.join("upper"))),
            "RunningFor": parse(&c.config.created).map(|t| since(t, now)).unwrap_or_default(),
            "Status": super::ps::status_cell(c, now),
            "Names": c.config.name,
        }));
    }
    let vstore = crate::volume::VolumeStore::new(paths);
    let volume_rows: Vec<serde_json::Value> = vstore
        .list()
        .iter()
        .map(|v| {
            json!({
                "Name": v.name,
                "Links": vstore.users(&v.name).len().to_string(),
                "Size": human_size(vstore.size(v)),
            })
        })
        .collect();
    let (_, cache_size) = super::build::cache_usage(paths)?;
    if let Some(f) = a.format.as_deref().map(str::trim).filter(|f| !f.is_empty()) {
        if f != "json" && f != "{{json .}}" {
            return Err(Error::msg(
                "system df -v takes --format json only (rdock has no per-section templates)",
            ));
        }
        let all = json!({
            "Images": image_rows, "Containers": container_rows,
            "Volumes": volume_rows, "BuildCache": [],
        });
        println!("{all}");
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
        &image_rows,
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
        &container_rows,
    )?);
    out.push_str("\nLocal Volumes space usage:\n\n");
    out.push_str(&table(
        "table {{.Name}}\t{{.Links}}\t{{.Size}}",
        &[
            ("Name", "VOLUME NAME"),
            ("Links", "LINKS"),
            ("Size", "SIZE"),
        ],
        &volume_rows,
    )?);
    out.push_str(&format!(
        "\nBuild cache usage: {}\n\n",
        human_size(cache_size)
    ));
    out.push_str("CACHE ID   CACHE TYPE   SIZE      CREATED   LAST USED   USAGE     SHARED\n");
    print!("{out}");
    Ok(0)
}

fn prune(paths: &Paths, a: PruneArgs) -> Result<i32> {
    // What killed commands left (docs/architecture.md, crash safety).
    crate::container::debris::sweep(paths);
    let filter = super::prune::PruneFilter::parse(&a.filter, &["until", "label", "label!"])?;
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
        super::volume::prune_volumes(paths, false, &[])?
    } else {
        (String::new(), 0)
    };
    print!("{vols}");
    let (images, img_size) = super::prune::prune_images(paths, a.all, &filter)?;
    print!("{images}");
    let (cache, cache_size) = super::build::prune_build_cache(paths)?;
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
