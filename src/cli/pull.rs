//! `rdock pull NAME[:TAG|@DIGEST]`, and the pull `run`/`create` do for a
//! missing image, with docker's progress output: live lines with bars on a
//! terminal, one line per status change otherwise.

use super::format::human_size_prec;
use crate::error::{Error, Result};
use crate::image::oci::Platform;
use crate::image::reference::Reference;
use crate::image::registry::pull::{self, Event, PullOptions};
use crate::image::registry::settings::Settings;
use crate::image::registry::transfer::retrying_text;
use crate::image::registry::RegistryError;
use crate::image::store::ImageStore;
use crate::paths::Paths;
use clap::Args;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;

#[derive(Debug, Args)]
pub struct PullArgs {
    /// Download all tagged images in the repository
    #[arg(short = 'a', long)]
    pub all_tags: bool,
    /// Skip image verification (default true)
    #[arg(long, default_value_t = true)]
    pub disable_content_trust: bool,
    /// Set platform if server is multi-platform capable
    #[arg(long)]
    pub platform: Option<String>,
    /// Suppress verbose output
    #[arg(short = 'q', long)]
    pub quiet: bool,
    pub name: String,
}

/// Where progress goes: `pull` writes to stdout, `run` to stderr.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Sink {
    Stdout,
    Stderr,
}

struct Display {
    sink: Sink,
    tty: bool,
    quiet: bool,
    state: Mutex<Lines>,
}

#[derive(Default)]
struct Lines {
    /// Layer IDs in first-seen order, and their current text (TTY mode).
    ids: Vec<String>,
    text: Vec<String>,
}

impl Display {
    fn new(sink: Sink, quiet: bool) -> Display {
        let tty = match sink {
            Sink::Stdout => std::io::stdout().is_terminal(),
            Sink::Stderr => std::io::stderr().is_terminal(),
        };
        Display {
            sink,
            tty,
            quiet,
            state: Mutex::new(Lines::default()),
        }
    }

    fn write(&self, s: &str) {
        let _ = match self.sink {
            Sink::Stdout => crate::util::QuietStdout.write_all(s.as_bytes()),
            Sink::Stderr => std::io::stderr().lock().write_all(s.as_bytes()),
        };
    }

    fn line(&self, s: &str) {
        if !self.quiet {
            self.write(&format!("{s}\n"));
        }
    }

    fn event(&self, ev: Event) {
        if self.quiet {
            return;
        }
        match ev {
            Event::Start {
                tag_or_digest,
                repo,
            } => self.line(&format!("{tag_or_digest}: Pulling from {repo}")),
            Event::Layer { id, status } => self.layer_line(&id, status.to_string(), true),
            Event::Retrying { id, seconds } => self.layer_line(&id, retrying_text(seconds), true),
            Event::Progress { id, current, total } => {
                if self.tty {
                    self.layer_line(&id, progress_text(current, total), false)
                }
            }
        }
    }

    /// Docker's layer lines: on a terminal each layer keeps one line that
    /// is rewritten in place; otherwise each status is a new line.
    fn layer_line(&self, id: &str, text: String, is_status: bool) {
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        if !self.tty {
            if is_status {
                self.write(&format!("{id}: {text}\n"));
            }
            return;
        }
        let pos = match st.ids.iter().position(|x| x == id) {
            Some(p) => p,
            None => {
                let pos = st.ids.len();
                st.ids.push(id.to_string());
                st.text.push(String::new());
                self.write("\n");
                pos
            }
        };
        // Lines from the layer's to the last (pos is an index of ids).
        let up = st.ids.len().saturating_sub(pos);
        // Up to the layer's line, rewrite it, back down.
        self.write(&format!("\x1b[{up}A\r\x1b[2K{id}: {text}\x1b[{up}B\r"));
        if let Some(line) = st.text.get_mut(pos) {
            *line = text;
        }
    }
}

/// "Downloading [=====>      ]  1.234MB/5.678MB", as docker draws it.
fn progress_text(current: u64, total: u64) -> String {
    if total == 0 {
        return format!("Downloading  {}", human_size_prec(current, 4));
    }
    let width = 50usize;
    let filled = ((current.min(total) as f64 / total as f64) * width as f64) as usize;
    // The arrow at column `filled` (1-based; the first when 0), unless full.
    let arrow = filled.max(1);
    let bar: String = (1..=width)
        .map(|col| {
            if filled >= width || col < arrow {
                '='
            } else if col == arrow {
                '>'
            } else {
                ' '
            }
        })
        .collect();
    format!(
        "Downloading [{bar}]  {}/{}",
        human_size_prec(current, 4),
        human_size_prec(total, 4)
    )
}

fn platform_of(p: Option<&str>) -> Result<Platform> {
    Ok(match p.filter(|p| !p.is_empty()) {
        Some(p) => Platform::parse(p).map_err(RegistryError::from)?,
        None => Platform::host(),
    })
}

/// Pull one reference with docker's output. Returns the image ID.
pub fn pull_reference(
    paths: &Paths,
    original: &str,
    r: &Reference,
    platform: Option<&str>,
    quiet: bool,
    sink: Sink,
) -> Result<String> {
    let d = Display::new(sink, quiet);
    // `docker pull` says so; `docker run` pulling a missing image does not.
    if sink == Sink::Stdout
        && r.digest.is_none()
        && r.tag.as_deref() == Some("latest")
        && !original.ends_with(":latest")
    {
        d.line("Using default tag: latest");
    }
    let store = ImageStore::new(paths);
    let opts = PullOptions {
        platform: platform_of(platform)?,
        credentials: None,
    };
    let pulled = pull::pull(&store, r, &opts, &|ev| d.event(ev))?;
    crate::events::image(paths, "pull", &r.familiar(), &r.familiar_name());
    d.line(&format!("Digest: {}", pulled.digest));
    let what = r.familiar();
    if pulled.up_to_date {
        d.line(&format!("Status: Image is up to date for {what}"));
    } else {
        d.line(&format!("Status: Downloaded newer image for {what}"));
    }
    Ok(pulled.id)
}

pub fn run(paths: &Paths, a: PullArgs) -> Result<i32> {
    // What killed commands left (docs/architecture.md, crash safety).
    crate::container::debris::sweep(paths);
    let r = Reference::parse(&a.name)?;
    if a.all_tags {
        if r.digest.is_some()
            || (a.name.contains(':') && a.name.rsplit('/').next().is_some_and(|l| l.contains(':')))
        {
            return Err(Error::msg("tag can't be used with --all-tags/-a"));
        }
        let tags = crate::image::registry::client::list_tags(&r, &Settings::load()?)?;
        for t in &tags {
            let tr = Reference {
                tag: Some(t.clone()),
                digest: None,
                ..r.clone()
            };
            pull_reference(
                paths,
                &tr.to_string(),
                &tr,
                a.platform.as_deref(),
                a.quiet,
                Sink::Stdout,
            )?;
        }
        println!("{}", r.name());
        return Ok(0);
    }
    pull_reference(
        paths,
        &a.name,
        &r,
        a.platform.as_deref(),
        a.quiet,
        Sink::Stdout,
    )?;
    println!("{r}");
    Ok(0)
}

/// For `run`/`create`: make sure the image is here, pulling as `policy`
/// ("missing", "always", "never") says, with docker's messages on stderr.
pub fn ensure_image(
    paths: &Paths,
    image: &str,
    policy: &str,
    platform: Option<&str>,
    quiet: bool,
) -> Result<()> {
    let store = ImageStore::new(paths);
    let present = store.index()?.lookup(image).is_ok();
    if present && policy != "always" {
        return Ok(());
    }
    let r = Reference::parse(image)?;
    if policy == "never" {
        return Err(Error::msg(format!("No such image: {}", r.familiar())));
    }
    if !present {
        eprintln!("Unable to find image '{}' locally", r.familiar());
    }
    pull_reference(paths, image, &r, platform, quiet, Sink::Stderr).map(|_| ())
}
