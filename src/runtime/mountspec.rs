//! User mounts from `-v`, `--mount` and `--tmpfs`, parsed and validated with
//! docker's rules and error texts. Turned into runtime-spec mounts by
//! `container::lifecycle::oci`, made by `oci::rootfs::setup`.

use super::{Result, RuntimeError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MountKind {
    Bind,
    Tmpfs,
    Volume,
}

/// One user mount, as stored in the container config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountSpec {
    pub kind: MountKind,
    /// Host path for binds (absolute); empty for tmpfs.
    pub source: PathBuf,
    /// Absolute path inside the container.
    pub destination: PathBuf,
    pub readonly: bool,
    /// tmpfs: data and flags ("size=64m", "mode=1777", "exec");
    /// bind: propagation ("rprivate", "rshared", ...).
    pub options: Vec<String>,
    /// `-v` creates a missing host directory (docker does); `--mount` refuses.
    #[serde(default)]
    pub create_source: bool,
    /// Volume mounts: the volume's name (empty until `create` names an
    /// anonymous one); `source` is then its `_data` dir.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Made for this container (`-v /path`, `--mount type=volume` without
    /// a source, an image's VOLUME): `rm -v` and `--rm` remove it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub anonymous: bool,
    /// Fill a new, empty volume from the image first (docker's default;
    /// `nocopy`, `volume-nocopy` turn it off).
    #[serde(default, skip_serializing_if = "is_false")]
    pub copy_up: bool,
    /// `--mount type=volume,volume-opt=k=v,volume-label=k=v`: used when the
    /// mount creates its volume.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub volume_options: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub volume_labels: BTreeMap<String, String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl MountSpec {
    fn new(
        kind: MountKind,
        destination: PathBuf,
        readonly: bool,
        options: Vec<String>,
    ) -> MountSpec {
        MountSpec {
            kind,
            source: PathBuf::new(),
            destination,
            readonly,
            options,
            create_source: false,
            name: String::new(),
            anonymous: false,
            copy_up: false,
            volume_options: BTreeMap::new(),
            volume_labels: BTreeMap::new(),
        }
    }

    pub fn bind(
        source: PathBuf,
        destination: PathBuf,
        readonly: bool,
        options: Vec<String>,
    ) -> MountSpec {
        MountSpec {
            source,
            ..MountSpec::new(MountKind::Bind, destination, readonly, options)
        }
    }

    pub fn tmpfs(destination: PathBuf, readonly: bool, options: Vec<String>) -> MountSpec {
        MountSpec::new(MountKind::Tmpfs, destination, readonly, options)
    }

    /// A volume mount; `name` empty for an anonymous volume.
    pub fn volume(name: &str, destination: PathBuf, readonly: bool, copy_up: bool) -> MountSpec {
        MountSpec {
            name: name.to_string(),
            anonymous: name.is_empty(),
            copy_up,
            ..MountSpec::new(MountKind::Volume, destination, readonly, Vec::new())
        }
    }

    /// docker's `Type` word for inspect.
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            MountKind::Bind => "bind",
            MountKind::Tmpfs => "tmpfs",
            MountKind::Volume => "volume",
        }
    }
}

fn invalid(msg: String) -> RuntimeError {
    RuntimeError::InvalidArg(msg)
}

const PROPAGATIONS: &[&str] = &[
    "shared", "rshared", "slave", "rslave", "private", "rprivate",
];

/// Normalise a container path: absolute, no "..", not "/" itself.
fn container_path(p: &str, spec: &str, kind: &str) -> Result<PathBuf> {
    let path = Path::new(p);
    if !path.is_absolute() {
        return Err(invalid(format!(
            "invalid volume specification: '{spec}': invalid mount config for type \"{kind}\": invalid mount path: '{p}' mount path must be absolute"
        )));
    }
    let mut out = PathBuf::from("/");
    for c in path.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    if out == Path::new("/") {
        return Err(invalid(format!(
            "invalid volume specification: '{spec}': invalid mount config for type \"{kind}\": invalid specification: destination can't be '/'"
        )));
    }
    Ok(out)
}

/// `-v HOST:CONTAINER[:OPTS]`. Named and anonymous volumes come with the
/// volumes work; until then they are refused with a clear message.
pub fn parse_volume(arg: &str) -> Result<MountSpec> {
    if arg.is_empty() {
        return Err(invalid("invalid empty volume spec".into()));
    }
    let parts: Vec<&str> = arg.split(':').collect();
    let (src, dst, opts) = match parts.as_slice() {
        [d] => ("", *d, ""),
        [s, d] => (*s, *d, ""),
        [s, d, o] => (*s, *d, *o),
        _ => return Err(invalid(format!("invalid volume specification: '{arg}'"))),
    };
    if src.is_empty() && !dst.starts_with('/') {
        return Err(invalid(format!(
            "invalid volume specification: '{arg}': invalid mount config for type \"volume\": invalid mount path: '{dst}' mount path must be absolute"
        )));
    }
    if !src.starts_with('/') {
        // docker: a relative source is a volume name; "./x" is made absolute
        // by the CLI.
        if src.starts_with('.') {
            let abs = std::env::current_dir()
                .map_err(|e| RuntimeError::io("current directory", e))?
                .join(src);
            let rest = arg.split_once(':').map(|x| x.1).unwrap_or("");
            return parse_volume(&format!("{}:{rest}", abs.display()));
        }
    }
    // docker's type: a source that is a path binds, a name is a volume.
    let kind = if src.starts_with('/') || src.starts_with('.') {
        "bind"
    } else {
        "volume"
    };
    let destination = container_path(dst, arg, kind)?;
    let mut readonly = false;
    let mut options = Vec::new();
    let mut seen_rw = false;
    let mut nocopy = false;
    if !opts.is_empty() {
        for o in opts.split(',') {
            match o {
                "ro" | "rw" if seen_rw => {
                    return Err(invalid(format!("invalid mode: {opts}")));
                }
                "ro" => {
                    readonly = true;
                    seen_rw = true;
                }
                "rw" => seen_rw = true,
                // SELinux relabel and the macOS consistency hints: no-ops here, as on docker without SELinux.
                "z" | "Z" | "consistent" | "cached" | "delegated" => {}
                "nocopy" => nocopy = true,
                p if PROPAGATIONS.contains(&p) => options.push(p.to_string()),
                _ => return Err(invalid(format!("invalid mode: {opts}"))),
            }
        }
    }
    if !src.starts_with('/') {
        // A volume: named (checked against docker's name rule when it is
        // created) or anonymous.
        if !options.is_empty() {
            return Err(invalid(format!("invalid mode: {opts}")));
        }
        return Ok(MountSpec::volume(src, destination, readonly, !nocopy));
    }
    Ok(MountSpec {
        create_source: true,
        ..MountSpec::bind(clean_host_path(src), destination, readonly, options)
    })
}

fn clean_host_path(p: &str) -> PathBuf {
    PathBuf::from(crate::util::path::clean_abs(p))
}

fn parse_bool(key: &str, v: Option<&str>) -> Result<bool> {
    match v {
        None => Ok(true),
        Some(s) => match s.to_ascii_lowercase().as_str() {
            "1" | "true" => Ok(true),
            "0" | "false" => Ok(false),
            _ => Err(invalid(format!("invalid value for {key}: {s}"))),
        },
    }
}

/// docker's RAMInBytes: "64m", "1g", "512k", "100" (binary units).
pub fn ram_in_bytes(s: &str) -> Option<u64> {
    let t = s.trim().to_ascii_lowercase();
    let t = t.strip_suffix('b').unwrap_or(&t);
    let (num, mul) = match t.chars().last()? {
        'k' => (t.strip_suffix('k')?, 1u64 << 10),
        'm' => (t.strip_suffix('m')?, 1 << 20),
        'g' => (t.strip_suffix('g')?, 1 << 30),
        't' => (t.strip_suffix('t')?, 1 << 40),
        'p' => (t.strip_suffix('p')?, 1 << 50),
        _ => (t, 1),
    };
    let v: f64 = num.trim().parse().ok()?;
    if v.is_nan() || v < 0.0 {
        return None;
    }
    Some((v * mul as f64) as u64)
}

/// `--mount type=bind|tmpfs,source=...,target=...,readonly,...`.
pub fn parse_mount(arg: &str) -> Result<MountSpec> {
    let mut kind = None;
    let mut source = None;
    let mut target = None;
    let mut readonly = false;
    let mut options = Vec::new();
    let mut tmpfs_size = None;
    let mut tmpfs_mode = None;
    let mut nocopy = false;
    let mut volume_fields = false;
    let mut volume_options = BTreeMap::new();
    let mut volume_labels = BTreeMap::new();
    for field in arg.split(',') {
        if field.is_empty() {
            continue;
        }
        let (k, v) = match field.split_once('=') {
            Some((k, v)) => (k.trim().to_ascii_lowercase(), Some(v.trim())),
            None => (field.trim().to_ascii_lowercase(), None),
        };
        let need = |v: Option<&str>| -> Result<String> {
            v.map(str::to_string)
                .ok_or_else(|| invalid(format!("invalid field '{field}' must be a key=value pair")))
        };
        match k.as_str() {
            "type" => kind = Some(need(v)?),
            "source" | "src" => source = Some(need(v)?),
            "target" | "destination" | "dst" => target = Some(need(v)?),
            "readonly" | "ro" => readonly = parse_bool(&k, v)?,
            "bind-propagation" => {
                let p = need(v)?;
                if !PROPAGATIONS.contains(&p.as_str()) {
                    return Err(invalid(format!("invalid bind propagation: {p}")));
                }
                options.push(p);
            }
            "consistency" | "bind-nonrecursive" | "bind-recursive" => {}
            "tmpfs-size" => {
                let s = need(v)?;
                tmpfs_size = Some(
                    ram_in_bytes(&s)
                        .ok_or_else(|| invalid(format!("invalid value for {k}: {s}")))?,
                );
            }
            "tmpfs-mode" => {
                let s = need(v)?;
                tmpfs_mode = Some(
                    u32::from_str_radix(&s, 8)
                        .map_err(|_| invalid(format!("invalid value for {k}: {s}")))?,
                );
            }
            "volume-nocopy" => {
                nocopy = parse_bool(&k, v)?;
                volume_fields = true;
            }
            "volume-driver" => {
                let d = need(v)?;
                if d != "local" {
                    return Err(invalid(format!(
                        "error looking up volume plugin {d}: plugin \"{d}\" not found"
                    )));
                }
                volume_fields = true;
            }
            "volume-opt" | "volume-label" => {
                let kv = need(v)?;
                let (a, b) = kv.split_once('=').unwrap_or((kv.as_str(), ""));
                let map = if k == "volume-opt" {
                    &mut volume_options
                } else {
                    &mut volume_labels
                };
                map.insert(a.to_string(), b.to_string());
                volume_fields = true;
            }
            _ => {
                return Err(invalid(format!("unexpected key '{k}' in '{field}'")));
            }
        }
    }
    let kind_s = kind.unwrap_or_else(|| "volume".into());
    let cfg_err = |msg: &str| invalid(format!("invalid mount config for type \"{kind_s}\": {msg}"));
    let target = match target {
        Some(t) if !t.is_empty() => t,
        _ => return Err(cfg_err("field Target must not be empty")),
    };
    if !target.starts_with('/') {
        return Err(cfg_err(&format!(
            "invalid mount path: '{target}' mount path must be absolute"
        )));
    }
    let destination = clean_host_path(&target);
    if destination == Path::new("/") {
        return Err(cfg_err("invalid specification: destination can't be '/'"));
    }
    match kind_s.as_str() {
        "bind" => {
            let src = match source {
                Some(s) if !s.is_empty() => s,
                _ => return Err(cfg_err("field Source must not be empty")),
            };
            if tmpfs_size.is_some() || tmpfs_mode.is_some() {
                return Err(cfg_err("field TmpfsOptions must not be specified"));
            }
            if volume_fields {
                return Err(cfg_err("field VolumeOptions must not be specified"));
            }
            if !src.starts_with('/') {
                return Err(cfg_err(&format!(
                    "invalid mount path: '{src}' mount path must be absolute"
                )));
            }
            let source = clean_host_path(&src);
            if std::fs::metadata(&source).is_err() {
                return Err(cfg_err(&format!(
                    "bind source path does not exist: {}",
                    source.display()
                )));
            }
            Ok(MountSpec::bind(source, destination, readonly, options))
        }
        "tmpfs" => {
            if source.is_some_and(|s| !s.is_empty()) {
                return Err(cfg_err("field Source must not be specified"));
            }
            if !options.is_empty() {
                return Err(cfg_err("field BindOptions must not be specified"));
            }
            if volume_fields {
                return Err(cfg_err("field VolumeOptions must not be specified"));
            }
            let mut options = Vec::new();
            if let Some(s) = tmpfs_size {
                options.push(format!("size={s}"));
            }
            if let Some(m) = tmpfs_mode {
                options.push(format!("mode={m:o}"));
            }
            Ok(MountSpec::tmpfs(destination, readonly, options))
        }
        "volume" => {
            if tmpfs_size.is_some() || tmpfs_mode.is_some() {
                return Err(cfg_err("field TmpfsOptions must not be specified"));
            }
            if !options.is_empty() {
                return Err(cfg_err("field BindOptions must not be specified"));
            }
            let name = source.unwrap_or_default();
            if name.starts_with('/') {
                return Err(cfg_err(&format!(
                    "invalid volume name: '{name}': it may not be an absolute path (use type=bind for a host path)"
                )));
            }
            let mut m = MountSpec::volume(&name, destination, readonly, !nocopy);
            m.volume_options = volume_options;
            m.volume_labels = volume_labels;
            Ok(m)
        }
        other => Err(invalid(format!(
            "invalid mount config for type \"{other}\": mount type unknown"
        ))),
    }
}

/// `--tmpfs /path[:opts]`.
pub fn parse_tmpfs(arg: &str) -> Result<MountSpec> {
    let (dst, opts) = arg.split_once(':').unwrap_or((arg, ""));
    if !dst.starts_with('/') {
        return Err(invalid(format!(
            "invalid mount config for type \"tmpfs\": invalid mount path: '{dst}' mount path must be absolute"
        )));
    }
    let destination = clean_host_path(dst);
    if destination == Path::new("/") {
        return Err(invalid(
            "invalid mount config for type \"tmpfs\": invalid specification: destination can't be '/'".into(),
        ));
    }
    let mut readonly = false;
    let mut options = Vec::new();
    for o in opts.split(',').filter(|o| !o.is_empty()) {
        match o {
            "ro" => readonly = true,
            "rw" => readonly = false,
            _ => {
                if let Some((k, v)) = o.split_once('=') {
                    if k == "size" && ram_in_bytes(v).is_none() {
                        return Err(invalid(format!("invalid tmpfs option {o:?}")));
                    }
                } else if !TMPFS_FLAGS.iter().any(|(n, _, _)| *n == o) {
                    return Err(invalid(format!("invalid tmpfs option {o:?}")));
                }
                options.push(o.to_string());
            }
        }
    }
    Ok(MountSpec::tmpfs(destination, readonly, options))
}

/// Flag words allowed in tmpfs options: (word, set?, flag).
pub const TMPFS_FLAGS: &[(&str, bool, libc::c_ulong)] = &[
    ("exec", false, libc::MS_NOEXEC),
    ("noexec", true, libc::MS_NOEXEC),
    ("suid", false, libc::MS_NOSUID),
    ("nosuid", true, libc::MS_NOSUID),
    ("dev", false, libc::MS_NODEV),
    ("nodev", true, libc::MS_NODEV),
    ("atime", false, libc::MS_NOATIME),
    ("noatime", true, libc::MS_NOATIME),
    ("diratime", false, libc::MS_NODIRATIME),
    ("nodiratime", true, libc::MS_NODIRATIME),
    ("strictatime", true, libc::MS_STRICTATIME),
    ("relatime", true, libc::MS_RELATIME),
    ("sync", true, libc::MS_SYNCHRONOUS),
    ("async", false, libc::MS_SYNCHRONOUS),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_forms() {
        let m = parse_volume("/srv/data:/data:ro,z").unwrap();
        assert_eq!(m.source, PathBuf::from("/srv/data"));
        assert_eq!(m.destination, PathBuf::from("/data"));
        assert!(m.readonly && m.create_source);
        let m = parse_volume("/a/../b/:/x/./y/").unwrap();
        assert_eq!(m.source, PathBuf::from("/b"));
        assert_eq!(m.destination, PathBuf::from("/x/y"));
        assert_eq!(parse_volume("/a:/b:rshared").unwrap().options, ["rshared"]);
        for bad in [
            "",
            "/a:rel",
            "/a:/",
            "/a:/b:bogus",
            "/a:/b:ro,rw",
            "a:b:c:d",
            "name:/x:rshared",
            "rel:dest",
        ] {
            assert!(parse_volume(bad).is_err(), "{bad}");
        }
        let e = parse_volume("/a:/b:bogus").unwrap_err().to_string();
        assert_eq!(e, "invalid mode: bogus");
    }

    #[test]
    fn volume_mount_forms() {
        let m = parse_volume("data:/d:ro").unwrap();
        assert_eq!(
            (m.kind, m.name.as_str(), m.readonly, m.anonymous, m.copy_up),
            (MountKind::Volume, "data", true, false, true)
        );
        let m = parse_volume("/anon").unwrap();
        assert_eq!(
            (m.kind, m.anonymous, m.copy_up),
            (MountKind::Volume, true, true)
        );
        assert!(!parse_volume("data:/d:nocopy").unwrap().copy_up);
        let m = parse_mount(
            "type=volume,target=/t,volume-nocopy,volume-opt=type=tmpfs,volume-label=a=b",
        )
        .unwrap();
        assert!(m.anonymous && !m.copy_up);
        assert_eq!(
            m.volume_options.get("type").map(String::as_str),
            Some("tmpfs")
        );
        assert_eq!(m.volume_labels.get("a").map(String::as_str), Some("b"));
        let m = parse_mount("source=v1,target=/t,readonly").unwrap();
        assert_eq!(
            (m.kind, m.name.as_str(), m.readonly),
            (MountKind::Volume, "v1", true)
        );
        for (bad, msg) in [
            (
                "type=volume,target=/t,tmpfs-size=1m",
                "field TmpfsOptions must not be specified",
            ),
            (
                "type=volume,target=/t,bind-propagation=rshared",
                "field BindOptions must not be specified",
            ),
            (
                "type=bind,source=/tmp,target=/t,volume-nocopy",
                "field VolumeOptions must not be specified",
            ),
            (
                "type=tmpfs,target=/t,volume-label=a=b",
                "field VolumeOptions must not be specified",
            ),
            (
                "type=volume,source=/abs,target=/t",
                "it may not be an absolute path",
            ),
            (
                "type=volume,source=v,target=/t,volume-driver=nfs",
                "plugin \"nfs\" not found",
            ),
        ] {
            let e = parse_mount(bad).unwrap_err().to_string();
            assert!(e.contains(msg), "{bad}: {e}");
        }
    }

    #[test]
    fn mount_forms() {
        let m = parse_mount("type=bind,source=/tmp,target=/t,readonly").unwrap();
        assert!(m.readonly && !m.create_source);
        let m = parse_mount("type=bind,src=/tmp,dst=/t,ro=false,bind-propagation=rslave").unwrap();
        assert!(!m.readonly);
        assert_eq!(m.options, ["rslave"]);
        let m = parse_mount("type=tmpfs,target=/t,tmpfs-size=1m,tmpfs-mode=1770").unwrap();
        assert_eq!(m.options, ["size=1048576", "mode=1770"]);
        let e = parse_mount("type=bind,source=/no/such/dir,target=/t")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "invalid mount config for type \"bind\": bind source path does not exist: /no/such/dir"
        );
        let e = parse_mount("type=bind,source=/tmp")
            .unwrap_err()
            .to_string();
        assert!(e.ends_with("field Target must not be empty"), "{e}");
        let e = parse_mount("type=bind,foo=bar,target=/t")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "unexpected key 'foo' in 'foo=bar'");
        assert!(parse_mount("type=tmpfs,source=/x,target=/t").is_err());
        assert!(parse_mount("type=nope,target=/t").is_err());
        assert!(parse_mount("type=bind,source=/tmp,target=rel").is_err());
    }

    #[test]
    fn tmpfs_forms() {
        let m = parse_tmpfs("/run:rw,size=64m,exec").unwrap();
        assert_eq!(m.options, ["size=64m", "exec"]);
        assert!(parse_tmpfs("rel").is_err());
        assert!(parse_tmpfs("/x:bogus").is_err());
        assert!(parse_tmpfs("/").is_err());
    }

    #[test]
    fn ram_units() {
        assert_eq!(ram_in_bytes("64m"), Some(64 << 20));
        assert_eq!(ram_in_bytes("1.5g"), Some(3 << 29));
        assert_eq!(ram_in_bytes("100"), Some(100));
        assert_eq!(ram_in_bytes("10kb"), Some(10240));
        assert_eq!(ram_in_bytes("x"), None);
    }
}
