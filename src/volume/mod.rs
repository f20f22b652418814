//! Volumes: directories that outlive containers, as docker's `local`
//! driver keeps them.
//!
//! Layout: `volumes/<name>/_data` (what containers see) and
//! `volumes/<name>/volume.json` (created time, labels, driver options).
//! A volume is made complete in a temp dir and renamed into place, so two
//! shells creating one name race to a single rename: both succeed, one
//! volume exists, and nobody sees a half-made one. `volumes/.lock` orders
//! removal against containers being created with the volume, so a volume
//! is never removed between "in use?" and a new container naming it.

pub mod copy;
pub mod select;

use crate::container::store::ContainerStore;
use crate::paths::Paths;
use crate::runtime::mountspec::{MountKind, MountSpec};
use crate::util;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// docker's label on volumes made for one container (`-v /path`, an image's
/// VOLUME): `volume prune` removes only these unless `--all`.
pub const ANONYMOUS_LABEL: &str = "com.docker.volume.anonymous";

#[derive(Debug, Error)]
pub enum VolumeError {
    #[error("create {0}: \"{0}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path")]
    InvalidName(String),
    #[error("get {0}: no such volume")]
    NotFound(String),
    #[error("remove {name}: volume is in use - [{ids}]")]
    InUse { name: String, ids: String },
    #[error("error looking up volume plugin {0}: plugin \"{0}\" not found")]
    Driver(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

impl VolumeError {
    fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        VolumeError::Io {
            what: what.into(),
            source,
        }
    }
}

pub type Result<T> = std::result::Result<T, VolumeError>;

/// What `volume.json` holds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Meta {
    created_at: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    /// Driver options (`-o type=tmpfs,device=tmpfs,o=size=64m`); None for
    /// volumes made without any (docker shows null then).
    #[serde(default)]
    options: Option<BTreeMap<String, String>>,
}

/// One volume, as `volume inspect` shows it.
#[derive(Debug, Clone)]
pub struct Volume {
    pub name: String,
    pub mountpoint: PathBuf,
    pub created_at: String,
    pub labels: BTreeMap<String, String>,
    pub options: Option<BTreeMap<String, String>>,
}

impl Volume {
    pub fn anonymous(&self) -> bool {
        self.labels.contains_key(ANONYMOUS_LABEL)
    }

    /// docker's `volume inspect` document.
    pub fn inspect(&self) -> serde_json::Value {
        serde_json::json!({
            "CreatedAt": self.created_at,
            "Driver": "local",
            "Labels": self.labels,
            "Mountpoint": self.mountpoint,
            "Name": self.name,
            "Options": self.options,
            "Scope": "local",
        })
    }

    /// Options that mount something (`type`/`device`): the volume's data
    /// is that mount, made on the host at first use.
    pub fn mounts_device(&self) -> bool {
        self.options
            .as_ref()
            .is_some_and(|o| o.contains_key("type") || o.contains_key("device"))
    }
}

/// docker's rule for local volume names: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
/// It also keeps every name a single path component inside `volumes/`.
pub fn valid_name(name: &str) -> bool {
    let Some((first, rest)) = name.as_bytes().split_first() else {
        return false;
    };
    first.is_ascii_alphanumeric()
        && !rest.is_empty()
        && rest
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

/// The local driver's options, checked as docker checks them.
fn check_options(opts: &BTreeMap<String, String>) -> Result<()> {
    for k in opts.keys() {
        if !matches!(k.as_str(), "type" | "device" | "o" | "size") {
            return Err(VolumeError::Invalid(format!("invalid option key: {k:?}")));
        }
    }
    if opts.contains_key("size") {
        return Err(VolumeError::Invalid(
            "quota size requested but no quota support".into(),
        ));
    }
    let ty = opts.get("type").map(String::as_str).unwrap_or("");
    if opts.contains_key("device") && ty.is_empty() {
        return Err(VolumeError::Invalid(
            "missing required option: \"type\"".into(),
        ));
    }
    if !ty.is_empty() && !opts.contains_key("device") {
        return Err(VolumeError::Invalid(
            "missing required option: \"device\"".into(),
        ));
    }
    if opts.contains_key("o") && ty.is_empty() {
        return Err(VolumeError::Invalid(
            "missing required option: \"type\"".into(),
        ));
    }
    Ok(())
}

pub struct VolumeStore<'a> {
    paths: &'a Paths,
}

impl<'a> VolumeStore<'a> {
    pub fn new(paths: &'a Paths) -> Self {
        VolumeStore { paths }
    }

    fn dir(&self) -> PathBuf {
        self.paths.root.join("volumes")
    }

    /// The lock that orders removal against containers taking a volume.
    pub fn lock(&self) -> Result<util::FileLock> {
        util::FileLock::exclusive(&self.dir().join(".lock"))
            .map_err(|e| VolumeError::io("locking the volume store", e))
    }

    /// Create `name` (a random 64-hex name when None), or return it as it
    /// is when it already exists (docker's `volume create` of an existing
    /// name succeeds). `driver` must be docker's "local".
    pub fn create(
        &self,
        name: Option<&str>,
        driver: &str,
        labels: BTreeMap<String, String>,
        options: BTreeMap<String, String>,
    ) -> Result<Volume> {
        if !driver.is_empty() && driver != "local" {
            return Err(VolumeError::Driver(driver.to_string()));
        }
        let mut labels = labels;
        let name = match name {
            Some(n) => n.to_string(),
            // docker 23+ labels a volume made without a name anonymous:
            // `volume prune` (without -a) removes only those.
            None => {
                labels.insert(ANONYMOUS_LABEL.to_string(), String::new());
                util::random_hex(32)
            }
        };
        if !valid_name(&name) {
            return Err(VolumeError::InvalidName(name));
        }
        check_options(&options)?;
        let target = self.dir().join(&name);
        if target.join("volume.json").exists() {
            return self.get(&name);
        }
        util::mkdirs_private(&self.dir()).map_err(|e| VolumeError::io("creating volumes/", e))?;
        let tmp = self.dir().join(format!(".tmp-{}", util::random_hex(8)));
        let meta = Meta {
            created_at: chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            labels,
            options: (!options.is_empty()).then_some(options),
        };
        let made = (|| -> std::io::Result<()> {
            util::mkdirs(&tmp, util::PRIVATE_DIR)?;
            // The volume's root in every container that mounts it.
            util::mkdirs(&tmp.join("_data"), 0o755)?;
            let data = serde_json::to_vec_pretty(&meta).map_err(std::io::Error::other)?;
            util::atomic_write(&tmp.join("volume.json"), &data)?;
            fs::rename(&tmp, &target)
        })();
        match made {
            Ok(()) => crate::events::volume(self.paths, "create", &name, &[]),
            Err(e) => {
                let _ = crate::image::layer::remove_tree(&tmp);
                // Another shell made it first: theirs is the volume.
                if !target.join("volume.json").exists() {
                    return Err(VolumeError::io(format!("creating volume {name}"), e));
                }
            }
        }
        self.get(&name)
    }

    pub fn get(&self, name: &str) -> Result<Volume> {
        if !valid_name(name) {
            return Err(VolumeError::NotFound(name.to_string()));
        }
        let dir = self.dir().join(name);
        let data =
            fs::read(dir.join("volume.json")).map_err(|_| VolumeError::NotFound(name.into()))?;
        let meta: Meta = serde_json::from_slice(&data).map_err(|e| {
            VolumeError::Invalid(format!("invalid JSON in volume {name}'s metadata: {e}"))
        })?;
        Ok(Volume {
            name: name.to_string(),
            mountpoint: dir.join("_data"),
            created_at: meta.created_at,
            labels: meta.labels,
            options: meta.options,
        })
    }

    /// Every volume, by name.
    pub fn list(&self) -> Vec<Volume> {
        let Ok(rd) = fs::read_dir(self.dir()) else {
            return Vec::new();
        };
        let mut out: Vec<Volume> = rd
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| !n.starts_with('.'))
            .filter_map(|n| self.get(&n).ok())
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// The containers whose config names the volume (running or not).
    pub fn users(&self, name: &str) -> Vec<crate::container::store::Container> {
        ContainerStore::new(self.paths)
            .list()
            .into_iter()
            .filter(|c| {
                c.config
                    .mounts
                    .iter()
                    .any(|m| m.kind == MountKind::Volume && m.name == name)
            })
            .collect()
    }

    /// Remove a volume no container uses. `force` also removes one that
    /// only stopped containers name (they get a new, empty one if started
    /// again); a running container's volume is never removed.
    /// The caller holds `lock()`.
    pub fn remove_locked(&self, name: &str, force: bool) -> Result<()> {
        let v = self.get(name)?;
        let users: Vec<String> = self
            .users(name)
            .into_iter()
            .filter(|c| !force || c.state.status == crate::container::state::Status::Running)
            .map(|c| c.config.id)
            .collect();
        if !users.is_empty() {
            return Err(VolumeError::InUse {
                name: name.to_string(),
                ids: users.join(", "),
            });
        }
        if v.mounts_device() {
            // A device volume is mounted on the host at first use.
            let _ = nix::mount::umount2(&v.mountpoint, nix::mount::MntFlags::MNT_DETACH);
        }
        // Out of sight first, then deleted: a crash leaves only tmp/ debris.
        let tmp = self.paths.tmp();
        util::mkdirs_private(&tmp).map_err(|e| VolumeError::io("creating tmp/", e))?;
        let gone = tmp.join(format!("vol-{}-{name}", util::random_hex(4)));
        fs::rename(self.dir().join(name), &gone)
            .map_err(|e| VolumeError::io(format!("removing volume {name}"), e))?;
        crate::events::volume(self.paths, "destroy", name, &[]);
        crate::image::layer::remove_tree(&gone)
            .map_err(|e| VolumeError::io(format!("removing volume {name}"), e))
    }

    pub fn remove(&self, name: &str, force: bool) -> Result<()> {
        let _lock = self.lock()?;
        self.remove_locked(name, force)
    }

    /// Bytes of the files in a volume.
    pub fn size(&self, v: &Volume) -> u64 {
        util::tree_size(&v.mountpoint)
    }

    /// Names of volumes that no container names.
    pub fn unused(&self) -> Vec<Volume> {
        let used: std::collections::BTreeSet<String> = ContainerStore::new(self.paths)
            .list()
            .into_iter()
            .flat_map(|c| c.config.mounts.into_iter())
            .filter(|m| m.kind == MountKind::Volume)
            .map(|m| m.name)
            .collect();
        self.list()
            .into_iter()
            .filter(|v| !used.contains(&v.name))
            .collect()
    }

    /// For a volume with `type`/`device` options: mount it on its `_data`
    /// in the host's namespace if it is not mounted yet, so every container
    /// using it (each binds `_data`) shares one mount, as with docker.
    /// It stays mounted until the volume is removed (no daemon counts
    /// users; see docs/volumes.md).
    pub fn ensure_mounted(&self, v: &Volume) -> Result<()> {
        let Some(opts) = v.options.as_ref().filter(|_| v.mounts_device()) else {
            return Ok(());
        };
        if is_mountpoint(&v.mountpoint) {
            return Ok(());
        }
        let ty = opts.get("type").cloned().unwrap_or_default();
        let device = opts.get("device").cloned().unwrap_or_default();
        let mut flags = nix::mount::MsFlags::empty();
        let mut data = Vec::new();
        for o in opts.get("o").map(|s| s.as_str()).unwrap_or("").split(',') {
            match o {
                "" => {}
                "bind" => flags |= nix::mount::MsFlags::MS_BIND,
                "rbind" => flags |= nix::mount::MsFlags::MS_BIND | nix::mount::MsFlags::MS_REC,
                "ro" => flags |= nix::mount::MsFlags::MS_RDONLY,
                "nosuid" => flags |= nix::mount::MsFlags::MS_NOSUID,
                "nodev" => flags |= nix::mount::MsFlags::MS_NODEV,
                "noexec" => flags |= nix::mount::MsFlags::MS_NOEXEC,
                other => data.push(other),
            }
        }
        let data = data.join(",");
        let fstype = (ty != "none").then_some(ty.as_str());
        nix::mount::mount(
            Some(device.as_str()),
            &v.mountpoint,
            fstype,
            flags,
            (!data.is_empty()).then_some(data.as_str()),
        )
        .map_err(|e| {
            VolumeError::Invalid(format!(
                "error while mounting volume '{}': failed to mount local volume: mount {device}:{}, data: {data}: {}",
                v.mountpoint.display(),
                v.mountpoint.display(),
                e.desc().to_lowercase()
            ))
        })
    }
}

/// After a container is removed with `-v` (or was `--rm`): remove its
/// anonymous volumes that no other container names (`--volumes-from`
/// shares them). Named volumes stay, as with docker.
pub fn release_anonymous(paths: &Paths, mounts: &[MountSpec]) -> Result<()> {
    let anon: Vec<&MountSpec> = mounts
        .iter()
        .filter(|m| m.kind == MountKind::Volume && m.anonymous && !m.name.is_empty())
        .collect();
    if anon.is_empty() {
        return Ok(());
    }
    let store = VolumeStore::new(paths);
    let _lock = store.lock()?;
    for m in anon {
        if store.users(&m.name).is_empty() {
            match store.remove_locked(&m.name, false) {
                Ok(()) | Err(VolumeError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

/// A new container's mounts made whole, as docker's daemon does at create:
/// `--volumes-from` mounts added, the image's VOLUMEs added as anonymous
/// volumes where nothing else is mounted, every volume created (anonymous
/// ones named) and its `_data` recorded as the mount's source.
/// Returns the volume lock when there are volumes: the caller holds it
/// until the container's config is written, so no `volume rm` slips in.
pub fn attach(
    paths: &Paths,
    mounts: &mut Vec<MountSpec>,
    image_volumes: &[String],
    volumes_from: &[String],
) -> crate::error::Result<Option<util::FileLock>> {
    let mut seen = std::collections::BTreeSet::new();
    for m in mounts.iter() {
        if !seen.insert(m.destination.clone()) {
            return Err(crate::error::Error::msg(format!(
                "Duplicate mount point: {}",
                m.destination.display()
            )));
        }
    }
    for spec in volumes_from {
        let (name, mode) = match spec.rsplit_once(':') {
            Some((n, m)) if matches!(m, "ro" | "rw") => (n, Some(m == "ro")),
            Some((_, m)) if !m.contains('/') => {
                return Err(crate::error::Error::msg(format!("invalid mode: {m}")))
            }
            _ => (spec.as_str(), None),
        };
        let from = ContainerStore::new(paths).resolve(name)?;
        for m in &from.config.mounts {
            if m.kind == MountKind::Tmpfs || !seen.insert(m.destination.clone()) {
                continue;
            }
            let mut m = m.clone();
            if let Some(ro) = mode {
                m.readonly = ro;
            }
            // The volume is already filled (or deliberately not).
            m.copy_up = m.copy_up && m.kind == MountKind::Volume;
            mounts.push(m);
        }
    }
    for v in image_volumes {
        let dest = Path::new("/").join(v.trim_start_matches('/'));
        let dest: PathBuf = dest.components().collect();
        if dest == Path::new("/") || !seen.insert(dest.clone()) {
            continue;
        }
        mounts.push(MountSpec::volume("", dest, false, true));
    }
    if !mounts.iter().any(|m| m.kind == MountKind::Volume) {
        return Ok(None);
    }
    // Refused before anything is written.
    for m in mounts.iter().filter(|m| m.kind == MountKind::Volume) {
        if !m.name.is_empty() && !valid_name(&m.name) {
            return Err(VolumeError::InvalidName(m.name.clone()).into());
        }
    }
    let store = VolumeStore::new(paths);
    let lock = store.lock()?;
    let mut made: Vec<String> = Vec::new();
    let res = (|| -> Result<()> {
        for m in mounts.iter_mut().filter(|m| m.kind == MountKind::Volume) {
            let v = if m.name.is_empty() {
                let mut labels = m.volume_labels.clone();
                labels.insert(ANONYMOUS_LABEL.to_string(), String::new());
                let v = store.create(None, "local", labels, m.volume_options.clone())?;
                made.push(v.name.clone());
                v
            } else {
                store.create(
                    Some(&m.name),
                    "local",
                    m.volume_labels.clone(),
                    m.volume_options.clone(),
                )?
            };
            m.name = v.name;
            m.source = v.mountpoint;
        }
        Ok(())
    })();
    if let Err(e) = res {
        for n in made {
            let _ = store.remove_locked(&n, true);
        }
        return Err(e.into());
    }
    Ok(Some(lock))
}

/// Before a start: volumes a container names exist again (a forced
/// `volume rm` of a stopped container's volume leaves a new, empty one, as
/// docker's `-v name:` would), and device volumes are mounted.
pub fn prepare_start(paths: &Paths, mounts: &[MountSpec]) -> Result<()> {
    let store = VolumeStore::new(paths);
    for m in mounts.iter().filter(|m| m.kind == MountKind::Volume) {
        let v = match store.get(&m.name) {
            Ok(v) => v,
            Err(VolumeError::NotFound(_)) => {
                let mut labels = m.volume_labels.clone();
                if m.anonymous {
                    labels.insert(ANONYMOUS_LABEL.to_string(), String::new());
                }
                store.create(Some(&m.name), "local", labels, m.volume_options.clone())?
            }
            Err(e) => return Err(e),
        };
        store.ensure_mounted(&v)?;
    }
    Ok(())
}

/// Whether `p` is the root of a mount (its device differs from its
/// parent's).
fn is_mountpoint(p: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (fs::metadata(p), p.parent().map(fs::metadata)) {
        (Ok(a), Some(Ok(b))) => a.dev() != b.dev(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_as_docker_allows_them() {
        for ok in ["ab", "data", "my-vol_1.x", "0abc"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in [
            "", "a", "../x", "/abs", "a/b", "-x", ".x", "x y", "..", "a\0b",
        ] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn local_driver_options() {
        let o = |kv: &[(&str, &str)]| {
            kv.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>()
        };
        assert!(check_options(&o(&[
            ("type", "tmpfs"),
            ("device", "tmpfs"),
            ("o", "size=1m")
        ]))
        .is_ok());
        assert!(check_options(&o(&[])).is_ok());
        assert!(check_options(&o(&[("bogus", "1")])).is_err());
        assert!(check_options(&o(&[("device", "/x")])).is_err());
        assert!(check_options(&o(&[("type", "tmpfs")])).is_err());
    }

    #[test]
    fn create_is_idempotent_and_escapes_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::new(dir.path().join("root"), dir.path().join("run"));
        let store = VolumeStore::new(&paths);
        let a = store
            .create(Some("data"), "local", BTreeMap::new(), BTreeMap::new())
            .unwrap();
        std::fs::write(a.mountpoint.join("f"), "x").unwrap();
        let b = store
            .create(Some("data"), "", BTreeMap::new(), BTreeMap::new())
            .unwrap();
        assert_eq!(b.mountpoint, a.mountpoint);
        assert!(b.mountpoint.join("f").exists());
        for bad in ["../x", "/abs", "a/../../b"] {
            let e = store
                .create(Some(bad), "local", BTreeMap::new(), BTreeMap::new())
                .unwrap_err();
            assert!(matches!(e, VolumeError::InvalidName(_)), "{bad}");
        }
        assert!(matches!(
            store.create(Some("x1"), "nfs", BTreeMap::new(), BTreeMap::new()),
            Err(VolumeError::Driver(_))
        ));
        let anon = store
            .create(None, "local", BTreeMap::new(), BTreeMap::new())
            .unwrap();
        assert_eq!(anon.name.len(), 64);
        assert_eq!(
            store
                .list()
                .iter()
                .map(|v| v.name.len())
                .collect::<Vec<_>>()
                .len(),
            2
        );
        store.remove("data", false).unwrap();
        assert!(matches!(store.get("data"), Err(VolumeError::NotFound(_))));
        assert!(!dir.path().join("root/volumes/data").exists());
    }
}
