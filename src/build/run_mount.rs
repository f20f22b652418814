//! `RUN --mount=...`, parsed as BuildKit's Dockerfile frontend reads it:
//! comma-separated `key=value` fields (and a few bare booleans), type
//! `bind` by default.

use super::BuildError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountType {
    Bind,
    Cache,
    Tmpfs,
    Secret,
    Ssh,
}

/// How concurrent builds share a cache mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sharing {
    Shared,
    /// One writer at a time; the others wait.
    Locked,
    /// A busy cache gives the step a fresh, throwaway directory.
    Private,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunMount {
    pub kind: MountType,
    /// Absolute, in the container.
    pub target: String,
    /// In the context, or in `from`'s filesystem.
    pub source: Option<String>,
    /// A stage or image to take `source` from.
    pub from: Option<String>,
    pub readonly: bool,
    /// A cache's, secret's or ssh socket's ID.
    pub id: Option<String>,
    pub sharing: Sharing,
    /// A new cache directory's mode and owner.
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub required: bool,
    /// tmpfs size, as docker's units ("64m").
    pub size: Option<String>,
}

fn bad(text: String) -> BuildError {
    BuildError::Msg(text)
}

fn parse_bool(key: &str, v: Option<&str>) -> Result<bool, BuildError> {
    match v.map(|s| s.to_ascii_lowercase()).as_deref() {
        None | Some("true") | Some("1") => Ok(true),
        Some("false") | Some("0") => Ok(false),
        Some(other) => Err(bad(format!("invalid value for {key}: {other}"))),
    }
}

fn parse_u32(key: &str, v: &str, radix: u32) -> Result<u32, BuildError> {
    u32::from_str_radix(v, radix).map_err(|_| bad(format!("invalid value for {key}: {v}")))
}

/// One `--mount` value.
pub fn parse(value: &str) -> Result<RunMount, BuildError> {
    let mut kind = MountType::Bind;
    let mut m = RunMount {
        kind,
        target: String::new(),
        source: None,
        from: None,
        readonly: false,
        id: None,
        sharing: Sharing::Shared,
        mode: None,
        uid: None,
        gid: None,
        required: false,
        size: None,
    };
    let mut readonly: Option<bool> = None;
    for field in value.split(',') {
        let field = field.trim();
        if field.is_empty() {
            continue;
        }
        let (key, v) = match field.split_once('=') {
            Some((k, v)) => (k.to_ascii_lowercase(), Some(v)),
            None => (field.to_ascii_lowercase(), None),
        };
        let need = || -> Result<String, BuildError> {
            v.map(str::to_string)
                .ok_or_else(|| bad(format!("invalid field '{field}' must be a key=value pair")))
        };
        match key.as_str() {
            "type" => {
                kind = match need()?.as_str() {
                    "bind" => MountType::Bind,
                    "cache" => MountType::Cache,
                    "tmpfs" => MountType::Tmpfs,
                    "secret" => MountType::Secret,
                    "ssh" => MountType::Ssh,
                    other => return Err(bad(format!("unsupported mount type {other:?}"))),
                }
            }
            "target" | "dst" | "destination" => m.target = need()?,
            "source" | "src" => m.source = Some(need()?),
            "from" => m.from = Some(need()?),
            "readonly" | "ro" => readonly = Some(parse_bool(&key, v)?),
            "readwrite" | "rw" => readonly = Some(!parse_bool(&key, v)?),
            "id" => m.id = Some(need()?),
            "sharing" => {
                m.sharing = match need()?.as_str() {
                    "shared" => Sharing::Shared,
                    "locked" => Sharing::Locked,
                    "private" => Sharing::Private,
                    other => return Err(bad(format!("unsupported sharing value {other:?}"))),
                }
            }
            "mode" => m.mode = Some(parse_u32("mode", &need()?, 8)?),
            "uid" => m.uid = Some(parse_u32("uid", &need()?, 10)?),
            "gid" => m.gid = Some(parse_u32("gid", &need()?, 10)?),
            "required" => m.required = parse_bool(&key, v)?,
            "size" => m.size = Some(need()?),
            // Secrets as environment variables need a secret to read.
            "env" => {}
            _ => return Err(bad(format!("unexpected key '{key}' in '{field}'"))),
        }
    }
    m.kind = kind;
    m.readonly = readonly.unwrap_or(kind == MountType::Bind);
    if m.target.is_empty() {
        m.target = match kind {
            MountType::Secret => format!("/run/secrets/{}", m.id.as_deref().unwrap_or("")),
            MountType::Ssh => "/run/buildkit/ssh_agent.0".into(),
            _ => return Err(bad("mount destination not set".into())),
        };
    }
    if kind == MountType::Cache && m.id.is_none() {
        m.id = Some(m.target.clone());
    }
    if kind != MountType::Cache && m.sharing != Sharing::Shared {
        return Err(bad("sharing is only allowed for cache mounts".into()));
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_are_the_default_and_read_only() {
        let m = parse("target=/src,source=app").unwrap();
        assert_eq!(m.kind, MountType::Bind);
        assert!(m.readonly);
        assert_eq!(
            (m.target.as_str(), m.source.as_deref()),
            ("/src", Some("app"))
        );
        assert!(!parse("type=bind,dst=/x,rw").unwrap().readonly);
        assert!(!parse("type=bind,dst=/x,readwrite=true").unwrap().readonly);
    }

    #[test]
    fn caches_are_writable_and_named_by_target() {
        let m = parse("type=cache,target=/root/.cache,sharing=locked,mode=0700,uid=1000").unwrap();
        assert_eq!(m.kind, MountType::Cache);
        assert!(!m.readonly);
        assert_eq!(m.id.as_deref(), Some("/root/.cache"));
        assert_eq!(m.sharing, Sharing::Locked);
        assert_eq!((m.mode, m.uid, m.gid), (Some(0o700), Some(1000), None));
        assert_eq!(
            parse("type=cache,target=/c,id=go").unwrap().id.as_deref(),
            Some("go")
        );
    }

    #[test]
    fn secrets_have_a_default_target() {
        let m = parse("type=secret,id=token,required").unwrap();
        assert_eq!(m.target, "/run/secrets/token");
        assert!(m.required);
    }

    #[test]
    fn bad_mounts_are_errors() {
        for (v, why) in [
            ("type=nfs,target=/x", "unsupported mount type"),
            ("type=cache", "destination not set"),
            ("target=/x,colour=red", "unexpected key 'colour'"),
            ("target=/x,sharing=locked", "only allowed for cache"),
            (
                "type=cache,target=/x,sharing=sometimes",
                "unsupported sharing",
            ),
            ("type=cache,target=/x,mode=999", "invalid value for mode"),
            ("target", "must be a key=value pair"),
        ] {
            let e = parse(v).unwrap_err().to_string();
            assert!(e.contains(why), "{v}: {e}");
        }
    }
}
