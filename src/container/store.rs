//! Containers on disk: `containers/<id>/{config.json,state.json,upper,work,
//! merged,hostname,hosts,resolv.conf}` and `names/<name>` symlinks to IDs.

use super::config::ContainerConfig;
use super::state::State;
use super::ContainerError;
use crate::paths::Paths;
use crate::util;
use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::PathBuf;

type Result<T, E = ContainerError> = std::result::Result<T, E>;

#[derive(Debug, Clone)]
pub struct Container {
    pub config: ContainerConfig,
    pub state: State,
    pub dir: PathBuf,
}

impl Container {
    pub fn short_id(&self) -> &str {
        self.config.id.get(..12).unwrap_or(&self.config.id)
    }
}

pub struct ContainerStore {
    paths: Paths,
}

/// Docker's rule for names: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
pub fn valid_name(name: &str) -> bool {
    match name.as_bytes() {
        [first, rest @ ..] if !rest.is_empty() => {
            first.is_ascii_alphanumeric()
                && rest
                    .iter()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
        }
        _ => false,
    }
}

const ADJECTIVES: &[&str] = &[
    "agile", "amber", "ardent", "bold", "brave", "bright", "calm", "candid", "clever", "cosmic",
    "crisp", "daring", "eager", "earnest", "fair", "fearless", "fervent", "gentle", "glad",
    "happy", "hardy", "humble", "jolly", "keen", "kind", "lively", "loyal", "lucid", "merry",
    "mellow", "modest", "nimble", "noble", "patient", "placid", "polite", "proud", "quick",
    "quiet", "rapid", "ready", "serene", "sharp", "shy", "silent", "sincere", "steady", "sunny",
    "swift", "tender", "tidy", "upbeat", "vivid", "warm", "wise", "witty", "zealous",
];

const SURNAMES: &[&str] = &[
    "agnesi",
    "babbage",
    "bardeen",
    "bohr",
    "boole",
    "cannon",
    "carson",
    "curie",
    "darwin",
    "dijkstra",
    "einstein",
    "euler",
    "faraday",
    "fermat",
    "feynman",
    "franklin",
    "galois",
    "gauss",
    "germain",
    "goodall",
    "hamilton",
    "hawking",
    "hopper",
    "hypatia",
    "johnson",
    "kepler",
    "knuth",
    "lamarr",
    "leavitt",
    "lovelace",
    "maxwell",
    "meitner",
    "mendel",
    "mirzakhani",
    "newton",
    "noether",
    "pascal",
    "planck",
    "ramanujan",
    "ride",
    "ritchie",
    "sagan",
    "shannon",
    "somerville",
    "tesla",
    "thompson",
    "torvalds",
    "turing",
    "volta",
    "wilson",
    "wozniak",
    "yalow",
];

fn random_name() -> String {
    let r = util::random_hex(4);
    let n = u32::from_str_radix(&r, 16).unwrap_or(0) as usize;
    const NA: usize = ADJECTIVES.len();
    const NS: usize = SURNAMES.len();
    format!(
        "{}_{}",
        ADJECTIVES.get(n % NA).unwrap_or(&"agile"),
        SURNAMES.get((n / NA) % NS).unwrap_or(&"turing")
    )
}

fn json_err(what: impl Into<String>) -> impl FnOnce(serde_json::Error) -> ContainerError {
    let what = what.into();
    move |source| ContainerError::Json { what, source }
}

impl ContainerStore {
    pub fn new(paths: &Paths) -> Self {
        ContainerStore {
            paths: paths.clone(),
        }
    }

    /// Atomically claim `name` for `id`: the symlink either gets created or
    /// already names another container.
    fn claim_name(&self, name: &str, id: &str) -> Result<()> {
        let dir = self.paths.names();
        util::mkdirs_private(&dir).map_err(|e| ContainerError::io("creating names dir", e))?;
        let link = dir.join(name);
        match std::os::unix::fs::symlink(id, &link) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let owner = fs::read_link(&link)
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_default();
                // A name whose container has no config is debris from a
                // crash (the caller holds the names lock; see `create`).
                if !owner.is_empty() && !self.paths.container(&owner).join("config.json").exists() {
                    let _ = fs::remove_file(&link);
                    return self.claim_name(name, id);
                }
                Err(ContainerError::NameInUse {
                    name: name.to_string(),
                    id: owner,
                })
            }
            Err(e) => Err(ContainerError::io(format!("claiming name {name}"), e)),
        }
    }

    /// Create the container's directory and files. `config.name` empty means
    /// generate one. Files: hostname, hosts, resolv.conf for bind mounts.
    pub fn create(
        &self,
        config: &mut ContainerConfig,
        hosts: &str,
        resolv: &str,
    ) -> Result<Container> {
        // Held from the name claim until config.json exists: under it, a
        // name whose container has no config is a crash's debris, never a
        // create still in progress.
        let _lock = util::FileLock::exclusive(&self.paths.names().join(".lock"))
            .map_err(|e| ContainerError::io("locking container names", e))?;
        if config.name.is_empty() {
            // Up to 20 more names when one is taken.
            let mut retries = 0..20;
            loop {
                let n = random_name();
                match self.claim_name(&n, &config.id) {
                    Ok(()) => {
                        config.name = n;
                        break;
                    }
                    Err(ContainerError::NameInUse { .. }) if retries.next().is_some() => {}
                    Err(e) => return Err(e),
                }
            }
        } else {
            if !valid_name(&config.name) {
                return Err(ContainerError::InvalidName(config.name.clone()));
            }
            self.claim_name(&config.name, &config.id)?;
        }
        let dir = self.paths.container(&config.id);
        let res = (|| {
            // The container dir is private; upper/ is the container's "/"
            // (docker's 0755); overlay wants work/ to itself.
            for (sub, mode) in [("", util::PRIVATE_DIR), ("upper", 0o755), ("work", 0o700)] {
                util::mkdirs(&dir.join(sub), mode)
                    .map_err(|e| ContainerError::io("creating container dir", e))?;
            }
            // Bind-mounted into the container: readable by its every user.
            let hostname = format!("{}\n", config.hostname);
            for (name, data) in [
                ("hostname", hostname.as_str()),
                ("hosts", hosts),
                ("resolv.conf", resolv),
            ] {
                util::write_mode(&dir.join(name), data.as_bytes(), 0o644)
                    .map_err(|e| ContainerError::io(format!("writing {name}"), e))?;
            }
            if let Some((pid, start)) = config.owner {
                let owned = self.paths.owned();
                util::mkdirs_private(&owned)
                    .and_then(|_| {
                        util::write_mode(
                            &owned.join(&config.id),
                            format!("{pid} {start}").as_bytes(),
                            util::PRIVATE_FILE,
                        )
                    })
                    .map_err(|e| ContainerError::io("recording the container's owner", e))?;
            }
            // No state.json yet: a missing one reads as "created".
            // config.json last: its presence marks a complete container.
            let data = serde_json::to_vec_pretty(config).map_err(json_err("container config"))?;
            // A --rm container does not outlive this command: durability
            // across a power loss buys nothing, and fsync is ~1 ms of `run`.
            let path = dir.join("config.json");
            if config.auto_remove {
                util::replace_file(&path, &data)
            } else {
                util::atomic_write(&path, &data)
            }
            .map_err(|e| ContainerError::io("writing container config", e))
        })();
        if let Err(e) = res {
            let _ = crate::image::layer::remove_tree(&dir);
            let _ = fs::remove_file(self.paths.names().join(&config.name));
            return Err(e);
        }
        Ok(Container {
            config: config.clone(),
            state: State::default(),
            dir,
        })
    }

    pub fn save_state(&self, id: &str, state: &State) -> Result<()> {
        let _lock = self.state_lock(id)?;
        self.write_state(id, state)
    }

    fn write_state(&self, id: &str, state: &State) -> Result<()> {
        let data = serde_json::to_vec(state).map_err(json_err("container state"))?;
        // No fsync: state is re-derived from /proc when a crash loses it.
        util::replace_file(&self.paths.container(id).join("state.json"), &data)
            .map_err(|e| ContainerError::io("writing container state", e))
    }

    /// The per-container lock around state changes: the monitor, `stop`,
    /// `pause`... each read-modify-write under it, so none undoes another.
    fn state_lock(&self, id: &str) -> Result<util::FileLock> {
        util::FileLock::on_dir(&self.paths.container(id))
            .map_err(|e| ContainerError::io("locking container state", e))
    }

    /// Change the state under its lock; None when the container is gone.
    pub fn update_state<R>(&self, id: &str, f: impl FnOnce(&mut State) -> R) -> Result<Option<R>> {
        if !self.paths.container(id).join("config.json").exists() {
            return Ok(None);
        }
        let _lock = self.state_lock(id)?;
        let Some(mut st) = self.raw_state(id) else {
            return Ok(None);
        };
        let r = f(&mut st);
        self.write_state(id, &st)?;
        Ok(Some(r))
    }

    /// As `update_state`, for a change that may fail: nothing is written
    /// then. The caller undoes what it did to the container beyond the
    /// state if the write fails.
    pub fn try_update_state<R>(
        &self,
        id: &str,
        f: impl FnOnce(&mut State) -> crate::error::Result<R>,
    ) -> crate::error::Result<Option<R>> {
        if !self.paths.container(id).join("config.json").exists() {
            return Ok(None);
        }
        let _lock = self.state_lock(id)?;
        let Some(mut st) = self.raw_state(id) else {
            return Ok(None);
        };
        let r = f(&mut st)?;
        self.write_state(id, &st)?;
        Ok(Some(r))
    }

    /// Change the config (`network connect`...) under the state lock.
    pub fn update_config(&self, id: &str, f: impl FnOnce(&mut ContainerConfig)) -> Result<()> {
        let _lock = self.state_lock(id)?;
        let mut cfg = self.read(id)?.config;
        f(&mut cfg);
        let data = serde_json::to_vec_pretty(&cfg).map_err(json_err("container config"))?;
        util::atomic_write(&self.paths.container(id).join("config.json"), &data)
            .map_err(|e| ContainerError::io("writing container config", e))
    }

    /// As `update_config`, with the container as it is under the lock, for
    /// a change that may fail (nothing is written then).
    pub fn try_update_config(
        &self,
        id: &str,
        f: impl FnOnce(&Container, &mut ContainerConfig) -> crate::error::Result<()>,
    ) -> crate::error::Result<()> {
        let _lock = self.state_lock(id)?;
        let c = self.read(id)?;
        let mut cfg = c.config.clone();
        f(&c, &mut cfg)?;
        let data = serde_json::to_vec_pretty(&cfg).map_err(json_err("container config"))?;
        util::atomic_write(&self.paths.container(id).join("config.json"), &data)
            .map_err(|e| ContainerError::io("writing container config", e))?;
        Ok(())
    }

    /// state.json as written (not corrected by liveness), or None when the
    /// container is gone. A missing file is the "created" state.
    pub fn raw_state(&self, id: &str) -> Option<State> {
        let dir = self.paths.container(id);
        if !dir.join("config.json").exists() {
            return None;
        }
        Some(
            fs::read(dir.join("state.json"))
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or_default(),
        )
    }

    /// Give a container a new name: claim the new one, rewrite the config,
    /// drop the old link. Under the names lock, as `create`.
    pub fn rename(&self, c: &Container, new: &str) -> Result<()> {
        if !valid_name(new) {
            return Err(ContainerError::InvalidName(new.to_string()));
        }
        let _lock = util::FileLock::exclusive(&self.paths.names().join(".lock"))
            .map_err(|e| ContainerError::io("locking container names", e))?;
        self.claim_name(new, &c.config.id)?;
        let mut cfg = c.config.clone();
        let old = std::mem::replace(&mut cfg.name, new.to_string());
        let data = serde_json::to_vec_pretty(&cfg).map_err(json_err("container config"))?;
        if let Err(e) = util::atomic_write(&c.dir.join("config.json"), &data) {
            let _ = fs::remove_file(self.paths.names().join(new));
            return Err(ContainerError::io("writing container config", e));
        }
        let link = self.paths.names().join(&old);
        if fs::read_link(&link)
            .map(|p| p.to_string_lossy() == c.config.id.as_str())
            .unwrap_or(false)
        {
            let _ = fs::remove_file(link);
        }
        Ok(())
    }

    /// The container as the user should see it: its state corrected by
    /// liveness, and a freeze left by a killed `commit` undone (one failed
    /// open when there is none; see `freeze.rs`).
    pub fn load(&self, id: &str) -> Result<Container> {
        let mut c = self.read(id)?;
        super::freeze::check(&self.paths, &c.config, &c.dir, &mut c.state);
        Ok(c)
    }

    /// `load` without the freeze check: for callers holding the state
    /// lock, which undoing a freeze takes.
    fn read(&self, id: &str) -> Result<Container> {
        let dir = self.paths.container(id);
        let cfg = fs::read(dir.join("config.json")).map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                ContainerError::NotFound(id.to_string())
            } else {
                ContainerError::io("reading container config", e)
            }
        })?;
        let config: ContainerConfig =
            serde_json::from_slice(&cfg).map_err(json_err("container config"))?;
        let state: State = match fs::read(dir.join("state.json")) {
            Ok(b) => serde_json::from_slice(&b).map_err(json_err("container state"))?,
            Err(_) => State::default(),
        };
        Ok(Container {
            config,
            state: state.effective(),
            dir,
        })
    }

    pub fn ids(&self) -> Vec<String> {
        let Ok(rd) = fs::read_dir(self.paths.containers()) else {
            return vec![];
        };
        rd.flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.len() == 64)
            .collect()
    }

    /// All complete containers, newest first (docker's `ps` order).
    pub fn list(&self) -> Vec<Container> {
        let mut v: Vec<Container> = self
            .ids()
            .iter()
            .filter_map(|id| self.load(id).ok())
            .collect();
        v.sort_by(|a, b| b.config.created.cmp(&a.config.created));
        v
    }

    /// By full ID, name, or unique ID prefix.
    pub fn resolve(&self, s: &str) -> Result<Container> {
        let s = s.strip_prefix('/').unwrap_or(s);
        if s.len() == 64 {
            if let Ok(c) = self.load(s) {
                return Ok(c);
            }
        }
        if valid_name(s) {
            if let Ok(id) = fs::read_link(self.paths.names().join(s)) {
                if let Ok(c) = self.load(&id.to_string_lossy()) {
                    return Ok(c);
                }
            }
        }
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            let ids: Vec<String> = self
                .ids()
                .into_iter()
                .filter(|id| id.starts_with(s))
                .collect();
            match ids.as_slice() {
                [id] => return self.load(id),
                [] => {}
                _ => return Err(ContainerError::Ambiguous(s.to_string())),
            }
        }
        Err(ContainerError::NotFound(s.to_string()))
    }

    /// Remove the container's files and name. The caller has made sure it is
    /// not running and its cgroup is gone.
    pub fn remove(&self, c: &Container) -> Result<()> {
        match self.detach(c)? {
            Some(d) => d.purge(),
            None => Ok(()),
        }
    }

    /// The first half of `remove`: the container leaves the store (its
    /// name freed, its dir moved out in one rename), so no reader ever sees
    /// it half-removed. Its files stay until `Detached::purge`, which may
    /// come later (a monitor tells the exit first); a crash before leaves a
    /// dir under tmp/ named by a dead pid, which the next sweep removes.
    pub fn detach(&self, c: &Container) -> Result<Option<Detached>> {
        let names = self.paths.names().join(&c.config.name);
        if fs::read_link(&names)
            .map(|p| p.to_string_lossy() == c.config.id.as_str())
            .unwrap_or(false)
        {
            let _ = fs::remove_file(&names);
        }
        let _ = util::mkdirs_private(&self.paths.tmp());
        super::lifecycle::release_shm(&c.dir);
        let doomed = self
            .paths
            .tmp()
            .join(format!("{}-rm-{}", std::process::id(), &c.config.id));
        let victim = match fs::rename(&c.dir, &doomed) {
            Ok(()) => doomed,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            // A tmp/ on another filesystem: fall back to deleting in place,
            // config.json first so the rest is never listed.
            Err(_) => {
                let _ = fs::remove_file(c.dir.join("config.json"));
                c.dir.clone()
            }
        };
        Ok(Some(Detached {
            victim,
            run_dir: self.paths.run_container(&c.config.id),
            owned: c
                .config
                .owner
                .is_some()
                .then(|| self.paths.owned().join(&c.config.id)),
        }))
    }

    /// Layer chain IDs of every container, so image GC keeps them.
    pub fn layers_in_use(&self) -> HashSet<String> {
        self.list()
            .into_iter()
            .flat_map(|c| c.config.layers)
            .collect()
    }

    /// Image IDs used by containers, with one container ID each.
    /// (image ID, container ID, whether it runs) of every container.
    pub fn images_in_use(&self) -> Vec<(String, String, bool)> {
        self.list()
            .into_iter()
            .map(|c| {
                let alive = c.state.is_alive();
                (c.config.image_id, c.config.id, alive)
            })
            .collect()
    }
}

/// A container out of the store whose files are still to be deleted
/// (`ContainerStore::detach`).
pub struct Detached {
    victim: PathBuf,
    run_dir: PathBuf,
    owned: Option<PathBuf>,
}

impl Detached {
    /// Delete what is left of the container.
    pub fn purge(self) -> Result<()> {
        crate::image::layer::remove_tree(&self.victim)
            .map_err(|e| ContainerError::io("removing container dir", e))?;
        let _ = fs::remove_dir_all(&self.run_dir);
        if let Some(o) = self.owned {
            let _ = fs::remove_file(o);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(id: &str, name: &str) -> ContainerConfig {
        ContainerConfig {
            id: id.to_string(),
            name: name.to_string(),
            created: chrono::Utc::now().to_rfc3339(),
            hostname: id[..12].to_string(),
            ..Default::default()
        }
    }

    #[test]
    fn names_are_unique_and_resolvable() {
        let d = tempfile::tempdir().unwrap();
        let s = ContainerStore::new(&Paths::new(d.path().join("root"), d.path().join("run")));
        let id1 = "a".repeat(64);
        let id2 = "b".repeat(64);
        s.create(&mut cfg(&id1, "web"), "", "").unwrap();
        let err = s.create(&mut cfg(&id2, "web"), "", "").unwrap_err();
        assert!(matches!(err, ContainerError::NameInUse { .. }), "{err}");
        assert!(!s.paths.container(&id2).exists());
        let mut c2 = cfg(&id2, "");
        s.create(&mut c2, "", "").unwrap();
        assert!(valid_name(&c2.name));
        assert_eq!(s.resolve("web").unwrap().config.id, id1);
        assert_eq!(s.resolve("bbb").unwrap().config.id, id2);
        assert!(matches!(s.resolve("zz"), Err(ContainerError::NotFound(_))));
        let c = s.resolve("web").unwrap();
        s.remove(&c).unwrap();
        assert!(s.resolve("web").is_err());
        s.create(&mut cfg(&id1, "web"), "", "").unwrap();
    }

    #[test]
    fn a_detached_container_is_gone_before_its_files() {
        let d = tempfile::tempdir().unwrap();
        let s = ContainerStore::new(&Paths::new(d.path().join("root"), d.path().join("run")));
        let id = "c".repeat(64);
        s.create(&mut cfg(&id, "web"), "", "").unwrap();
        let c = s.resolve("web").unwrap();
        let files = s.detach(&c).unwrap().unwrap();
        // Gone from the store, its name free, its files still there.
        assert!(s.resolve("web").is_err());
        assert!(s.list().is_empty());
        assert!(!s.paths.container(&id).exists());
        assert!(files.victim.join("config.json").exists());
        s.create(&mut cfg(&"d".repeat(64), "web"), "", "").unwrap();
        let victim = files.victim.clone();
        files.purge().unwrap();
        assert!(!victim.exists());
        // Detaching what is already gone: nothing to purge.
        assert!(s.detach(&c).unwrap().is_none());
    }

    #[test]
    fn bad_names_are_refused() {
        for n in ["-x", "a", "a b", "a/b", "ä1"] {
            assert!(!valid_name(n), "{n}");
        }
        for n in ["ab", "web.1", "my_app-2"] {
            assert!(valid_name(n), "{n}");
        }
    }
}
