//! `import`: one tarball (plain or gzip) becomes a one-layer image, with
//! Dockerfile-style `--change` instructions applied to its config.

use super::config::{host_arch, History, ImageConfig};
use super::reference::Reference;
use super::store::ImageStore;
use super::ImageError;
use std::collections::BTreeMap;
use std::io::Read;

type Result<T, E = ImageError> = std::result::Result<T, E>;

/// JSON array form (`["a","b"]`) or shell form (wrapped in `/bin/sh -c`).
fn exec_or_shell(arg: &str) -> Vec<String> {
    let t = arg.trim();
    if t.starts_with('[') {
        if let Ok(v) = serde_json::from_str::<Vec<String>>(t) {
            return v;
        }
    }
    vec!["/bin/sh".into(), "-c".into(), t.to_string()]
}

/// `KEY=VALUE ...` pairs, or the legacy `KEY VALUE` form; quotes removed.
fn key_values(arg: &str) -> Vec<(String, String)> {
    let t = arg.trim();
    if let Some((k, v)) = t.split_once(char::is_whitespace) {
        if !k.contains('=') {
            return vec![(k.to_string(), v.trim().to_string())];
        }
    }
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut words = Vec::new();
    let mut chars = t.chars();
    while let Some(ch) = chars.next() {
        match (quote, ch) {
            (None, '"' | '\'') => quote = Some(ch),
            (Some(q), c) if c == q => quote = None,
            (_, '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            (None, c) if c.is_whitespace() => {
                if !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
            }
            (_, c) => cur.push(c),
        }
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    for w in words {
        let (k, v) = w.split_once('=').unwrap_or((&w, ""));
        out.push((k.to_string(), v.to_string()));
    }
    out
}

/// Apply one `--change` instruction to `cfg`.
pub fn apply_change(cfg: &mut ImageConfig, change: &str) -> Result<()> {
    let t = change.trim();
    let (instr, arg) = t.split_once(char::is_whitespace).unwrap_or((t, ""));
    let c = &mut cfg.config;
    match instr.to_ascii_uppercase().as_str() {
        "CMD" => c.cmd = Some(exec_or_shell(arg)),
        "ENTRYPOINT" => c.entrypoint = Some(exec_or_shell(arg)),
        "ENV" => {
            let env = c.env.get_or_insert_with(Vec::new);
            for (k, v) in key_values(arg) {
                env.retain(|e| e.split('=').next() != Some(k.as_str()));
                env.push(format!("{k}={v}"));
            }
        }
        "WORKDIR" => c.working_dir = Some(arg.trim().to_string()),
        "USER" => c.user = Some(arg.trim().to_string()),
        "EXPOSE" => {
            let ports = c.exposed_ports.get_or_insert_with(BTreeMap::new);
            for p in arg.split_whitespace() {
                let p = if p.contains('/') {
                    p.to_string()
                } else {
                    format!("{p}/tcp")
                };
                ports.insert(p, serde_json::json!({}));
            }
        }
        "LABEL" => {
            let labels = c.labels.get_or_insert_with(BTreeMap::new);
            for (k, v) in key_values(arg) {
                labels.insert(k, v);
            }
        }
        "VOLUME" => {
            let vols = c.volumes.get_or_insert_with(BTreeMap::new);
            let list = if arg.trim().starts_with('[') {
                serde_json::from_str::<Vec<String>>(arg.trim()).unwrap_or_default()
            } else {
                arg.split_whitespace().map(String::from).collect()
            };
            for v in list {
                vols.insert(v, serde_json::json!({}));
            }
        }
        "STOPSIGNAL" => c.stop_signal = Some(arg.trim().to_string()),
        "ONBUILD" => {}
        // As typed: docker matches case-blind but quotes the word.
        _ => {
            return Err(ImageError::Invalid(format!(
                "{instr} is not a valid change command"
            )))
        }
    }
    Ok(())
}

/// Import `input` as a new image. Returns the image ID.
pub fn import(
    store: &ImageStore,
    input: impl Read,
    changes: &[String],
    message: Option<&str>,
    name: Option<&Reference>,
) -> Result<String> {
    store.sweep_tmp();
    let now = crate::util::go_time_now();
    let mut cfg = ImageConfig {
        created: Some(now.clone()),
        architecture: host_arch().into(),
        os: "linux".into(),
        ..Default::default()
    };
    for ch in changes {
        apply_change(&mut cfg, ch)?;
    }
    cfg.history.push(History {
        created: Some(now),
        created_by: None,
        comment: Some(message.unwrap_or("Imported from -").to_string()).filter(|m| !m.is_empty()),
        ..Default::default()
    });
    let staged = store.stage_layer(input, None)?;
    store.add_image(cfg, vec![staged], name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_apply_like_dockerfile() {
        let mut c = ImageConfig::default();
        apply_change(&mut c, r#"CMD ["sh", "-c", "echo hi"]"#).unwrap();
        apply_change(&mut c, "ENTRYPOINT /bin/app --x").unwrap();
        apply_change(&mut c, "ENV A=1 B=\"two words\"").unwrap();
        apply_change(&mut c, "ENV C 3 4").unwrap();
        apply_change(&mut c, "ENV A=5").unwrap();
        apply_change(&mut c, "WORKDIR /srv").unwrap();
        apply_change(&mut c, "USER nobody").unwrap();
        apply_change(&mut c, "EXPOSE 80 53/udp").unwrap();
        apply_change(&mut c, "LABEL a=b").unwrap();
        let d = &c.config;
        assert_eq!(d.cmd.as_ref().unwrap(), &["sh", "-c", "echo hi"]);
        assert_eq!(
            d.entrypoint.as_ref().unwrap(),
            &["/bin/sh", "-c", "/bin/app --x"]
        );
        assert_eq!(d.env.as_ref().unwrap(), &["B=two words", "C=3 4", "A=5"]);
        assert_eq!(d.working_dir.as_deref(), Some("/srv"));
        assert_eq!(d.user.as_deref(), Some("nobody"));
        let ports: Vec<&String> = d.exposed_ports.as_ref().unwrap().keys().collect();
        assert_eq!(ports, ["53/udp", "80/tcp"]);
        assert_eq!(d.labels.as_ref().unwrap()["a"], "b");
        assert!(apply_change(&mut c, "RUN make").is_err());
    }
}
