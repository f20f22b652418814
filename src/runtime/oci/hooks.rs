//! OCI hooks: a program run with the container's state on stdin, within
//! its timeout (runtime-spec config.md "POSIX-platform Hooks"). Run by
//! `ops` in the runtime's namespaces and by the container init in the
//! container's.

use super::{OciError, Result};
use crate::runtime::RuntimeError;
use std::io::Write;
use std::time::{Duration, Instant};

/// Run each hook in turn; their failures are warnings (poststart and
/// poststop, which the spec lets fail without failing the operation).
pub fn run_warning<'a>(
    hooks: impl IntoIterator<Item = &'a oci_spec::runtime::Hook>,
    state: &serde_json::Value,
) -> Vec<String> {
    hooks
        .into_iter()
        .filter_map(|h| run_hook(h, state).err().map(|e| e.to_string()))
        .collect()
}

/// Run one hook: its state on stdin, its timeout; an error names it.
pub fn run_hook(h: &oci_spec::runtime::Hook, state: &serde_json::Value) -> Result<()> {
    let path = h.path();
    let args = h.args().clone().unwrap_or_default();
    let mut cmd = std::process::Command::new(path);
    if let Some(a0) = args.first() {
        std::os::unix::process::CommandExt::arg0(&mut cmd, a0);
    }
    cmd.args(args.iter().skip(1));
    cmd.env_clear();
    for e in h.env().iter().flatten() {
        if let Some((k, v)) = e.split_once('=') {
            cmd.env(k, v);
        }
    }
    cmd.stdin(std::process::Stdio::piped());
    let what = format!("hook {}", path.display());
    let mut child = cmd.spawn().map_err(|e| OciError::io(&what, e))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(state.to_string().as_bytes());
    }
    let deadline = h
        .timeout()
        .filter(|t| *t > 0)
        .map(|t| crate::util::deadline_in(Duration::from_secs(t as u64)));
    let done = |st: std::process::ExitStatus| {
        if st.success() {
            Ok(())
        } else {
            Err(OciError::State(format!("{what} failed: {st}")))
        }
    };
    let Some(deadline) = deadline else {
        return done(child.wait().map_err(|e| OciError::io(&what, e))?);
    };
    loop {
        if let Some(st) = child.try_wait().map_err(|e| OciError::io(&what, e))? {
            return done(st);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(OciError::State(format!("{what} timed out")));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Run `hooks` from the container init with its state: `pid` and
/// `status` filled into `base`.
pub fn run_init_hooks(
    hooks: &[oci_spec::runtime::Hook],
    base: Option<&serde_json::Value>,
    pid: i32,
    status: &str,
) -> crate::runtime::Result<()> {
    if hooks.is_empty() {
        return Ok(());
    }
    let mut state = base.cloned().unwrap_or_else(|| serde_json::json!({}));
    if let Some(m) = state.as_object_mut() {
        m.insert("pid".into(), pid.into());
        m.insert("status".into(), status.into());
    }
    for h in hooks {
        run_hook(h, &state).map_err(|e| RuntimeError::Other(e.to_string()))?;
    }
    Ok(())
}
