//! An image as `docker image inspect` shows it.

use super::reference::Reference;
use super::store::{ImageRecord, ImageStore};
use super::ImageError;
use serde_json::{json, Value};

pub fn inspect(store: &ImageStore, img: &ImageRecord) -> Result<Value, ImageError> {
    let cfg = store.config(img)?;
    let familiar = |n: &String| {
        Reference::parse(n)
            .map(|r| r.familiar())
            .unwrap_or_else(|_| n.clone())
    };
    let comment = cfg
        .history
        .last()
        .and_then(|h| h.comment.clone())
        .unwrap_or_default();
    let layers_dir = store.paths().layers();
    let lower: Vec<String> = img
        .layers
        .iter()
        .rev()
        .map(|l| layers_dir.join(l).join("diff").display().to_string())
        .collect();
    let (upper, lower) = match lower.split_first() {
        Some((u, rest)) => (u.clone(), rest.join(":")),
        None => (String::new(), String::new()),
    };
    let mut config = serde_json::to_value(&cfg.config).map_err(|e| ImageError::Json {
        what: "image config".into(),
        source: e,
    })?;
    // docker always shows these keys, null when unset.
    if let Value::Object(m) = &mut config {
        for k in ["Env", "Cmd", "Entrypoint", "Labels", "Volumes", "OnBuild"] {
            m.entry(k).or_insert(Value::Null);
        }
        for k in ["User", "WorkingDir"] {
            m.entry(k).or_insert(Value::from(""));
        }
    }
    let mut graph = json!({"MergedDir": "", "UpperDir": upper, "WorkDir": ""});
    if !lower.is_empty() {
        if let Some(g) = graph.as_object_mut() {
            g.insert("LowerDir".into(), Value::from(lower));
        }
    }
    let mut v = json!({
        "Id": img.id,
        "RepoTags": img.names.iter().map(familiar).collect::<Vec<_>>(),
        "RepoDigests": img.digests.iter().map(familiar).collect::<Vec<_>>(),
        "Parent": "",
        "Comment": comment,
        "Created": cfg.created.clone().unwrap_or_default(),
        "DockerVersion": "",
        "Author": cfg.author.clone().unwrap_or_default(),
        "Config": config,
        "Architecture": cfg.architecture,
        "Os": cfg.os,
        "Size": img.size,
        "GraphDriver": {"Data": graph, "Name": "overlay"},
        "RootFS": {"Type": cfg.rootfs.kind, "Layers": cfg.rootfs.diff_ids},
        "Metadata": {"LastTagTime": "0001-01-01T00:00:00Z"},
    });
    use crate::util::json_order::{reorder, CONFIG, SORTED};
    reorder(
        &mut v,
        &[
            ("Config", CONFIG),
            ("Config.ExposedPorts", SORTED),
            ("Config.Volumes", SORTED),
            ("Config.Labels", SORTED),
        ],
    );
    Ok(v)
}
