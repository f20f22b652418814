//! `commit`: a container's changes as a new image, on top of its image's
//! layers, with the container's run settings as the image's defaults.

use super::changes;
use super::store::Container;
use crate::error::{Error, Result};
use crate::image::config::{History, ImageConfig};
use crate::image::reference::Reference;
use crate::image::store::{ImageStore, StagedLayer};
use crate::paths::Paths;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Debug, Default)]
pub struct CommitOptions {
    pub message: Option<String>,
    pub author: Option<String>,
    /// `-c`: Dockerfile instructions applied to the new config.
    pub changes: Vec<String>,
    /// Freeze a running container while its changes are read (docker's
    /// default).
    pub pause: bool,
    pub name: Option<Reference>,
}

/// The new image's config: the parent's, with the container's settings
/// (as docker takes them from the container's Config) and a history entry.
fn new_config(parent: &ImageConfig, c: &Container, o: &CommitOptions) -> Result<ImageConfig> {
    let cfg = &c.config;
    let now = crate::util::go_time_now();
    let mut ic = parent.clone();
    ic.created = Some(now.clone());
    ic.author = o.author.clone();
    let d = &mut ic.config;
    // HOSTNAME is rdock's addition to a container's environment, not a
    // setting of the container (docker keeps it out of Config.Env).
    let env: Vec<String> = cfg
        .env
        .iter()
        .filter(|e| !e.starts_with("HOSTNAME="))
        .cloned()
        .collect();
    d.env = Some(env).filter(|e| !e.is_empty());
    d.cmd = cfg.cmd.clone();
    d.entrypoint = cfg.entrypoint.clone();
    d.working_dir = Some(cfg.working_dir.clone()).filter(|w| !w.is_empty());
    d.user = Some(cfg.user.clone()).filter(|u| !u.is_empty());
    if !cfg.labels.is_empty() {
        let mut labels = d.labels.clone().unwrap_or_default();
        labels.extend(cfg.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
        d.labels = Some(labels);
    }
    if !cfg.net.exposed.is_empty() {
        let mut ports = d.exposed_ports.clone().unwrap_or_default();
        for p in &cfg.net.exposed {
            ports.insert(p.clone(), serde_json::json!({}));
        }
        d.exposed_ports = Some(ports);
    }
    d.stop_signal = cfg.stop_signal.clone().or(d.stop_signal.clone());
    // docker commits the container's (merged) healthcheck.
    if let Some(h) = &cfg.healthcheck {
        if let Ok(v) = serde_json::to_value(h) {
            d.extra.insert("Healthcheck".into(), v);
        }
    }
    for ch in &o.changes {
        crate::image::import::apply_change(&mut ic, ch)?;
    }
    // docker records the container's Cmd (not its entrypoint).
    let created_by = cfg.cmd.clone().unwrap_or_default().join(" ");
    ic.history.push(History {
        created: Some(now),
        created_by: Some(created_by),
        author: o.author.clone(),
        comment: o.message.clone().filter(|m| !m.is_empty()),
        empty_layer: false,
    });
    Ok(ic)
}

/// Commit container `c`. Returns the new image's ID.
pub fn commit(paths: &Paths, c: &Container, o: &CommitOptions) -> Result<String> {
    let images = ImageStore::new(paths);
    let idx = images.index()?;
    let parent = idx.by_id(&c.config.image_id).ok_or_else(|| {
        Error::msg(format!(
            "the image of container {} ({}) is gone",
            c.config.name, c.config.image
        ))
    })?;
    let parent_cfg = images.config(parent)?;
    let config = new_config(&parent_cfg, c, o)?;
    let mut base = Vec::new();
    for chain in &c.config.layers {
        base.push(
            images
                .layer_info(chain)
                .ok_or_else(|| Error::msg(format!("layer {chain} is missing")))?,
        );
    }
    // Thawed on every way out of here, and by the next command to look at
    // the container if this process is killed meanwhile.
    let freeze = match o.pause {
        true => super::freeze::Freeze::for_commit(paths, c)?,
        false => None,
    };
    let staged = stage(paths, &images, c);
    if let Some(f) = freeze {
        // The commit's own error comes first.
        let thawed = f.release();
        if staged.is_ok() {
            thawed?;
        }
    }
    let staged = staged?;
    Ok(images.add_image_on(config, base, vec![staged], o.name.as_ref())?)
}

/// A write end that notes when its reader has gone.
struct PipeWriter<'a> {
    file: std::fs::File,
    reader_gone: &'a AtomicBool,
}

impl Write for PipeWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file.write(buf).inspect_err(|e| {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                self.reader_gone.store(true, Ordering::Relaxed);
            }
        })
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// The container's changes as a layer staged in the store. The tar
/// streams through a pipe into the store, which hashes and extracts it as
/// it comes: the changes are read once, never spooled.
fn stage(paths: &Paths, images: &ImageStore, c: &Container) -> Result<StagedLayer> {
    let reader_gone = AtomicBool::new(false);
    std::thread::scope(|s| -> Result<_> {
        let (reader, writer) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
            .map_err(|e| Error::msg(format!("creating a pipe: {e}")))?;
        let (reader, writer) = (std::fs::File::from(reader), std::fs::File::from(writer));
        let writer = PipeWriter {
            file: writer,
            reader_gone: &reader_gone,
        };
        let producer = s.spawn(move || changes::write_layer(paths, c, writer).map(drop));
        let parent_chain = c.config.layers.last().map(String::as_str);
        // Where it failed: the store's filesystem (full?), not the container's.
        let staged = images.stage_layer(reader, parent_chain).map_err(|e| {
            Error::msg(format!(
                "storing the new layer in {}: {e}",
                paths.tmp().display()
            ))
        });
        let produced = producer
            .join()
            .map_err(|_| Error::msg("the layer writer panicked"))?;
        match (produced, staged) {
            // The writer's broken pipe only says the store stopped
            // reading: the store's error (a full disk...) is the cause.
            (Err(_), Err(e)) if reader_gone.load(Ordering::Relaxed) => Err(e),
            (produced, staged) => {
                produced?;
                Ok(staged?)
            }
        }
    })
}
