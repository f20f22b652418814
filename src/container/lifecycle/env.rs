//! A container process's environment: `Config.Env` as create makes it,
//! and what each start and exec adds to it.

use crate::container::config::ContainerConfig;
use crate::runtime::process;

/// Merge `KEY=VALUE` overrides into `env`, later wins, order kept.
pub fn merge_env(env: &mut Vec<String>, overrides: &[String]) {
    for kv in overrides {
        let key = kv.split('=').next().unwrap_or(kv);
        env.retain(|e| e.split('=').next() != Some(key));
        env.push(kv.clone());
    }
}

/// docker's `ReplaceOrAppendEnvValues`: each override replaces its key in
/// place or is appended; a bare `KEY` (no `=`) removes KEY.
pub fn replace_or_append_env(env: &mut Vec<String>, overrides: &[String]) {
    let key = |e: &str| e.split('=').next().unwrap_or("").to_string();
    let mut unset = Vec::new();
    for kv in overrides {
        let k = key(kv);
        match env.iter_mut().find(|e| key(e) == k) {
            Some(_) if !kv.contains('=') => unset.push(k),
            Some(e) => *e = kv.clone(),
            None if kv.contains('=') => env.push(kv.clone()),
            None => {}
        }
    }
    env.retain(|e| !unset.contains(&key(e)));
}

/// A container's `Config.Env` as docker's create makes it: the user's
/// variables (a repeated key keeps its first place and its last value),
/// then the image's that the user did not name. PATH, HOSTNAME and TERM
/// are not in it: they are added at each start and exec (`process_env`).
pub fn config_env(image: &[String], user: &[String]) -> Vec<String> {
    let key = |e: &str| e.split('=').next().unwrap_or("").to_string();
    let mut env: Vec<String> = Vec::new();
    for kv in user {
        match env.iter_mut().find(|e| key(e) == key(kv)) {
            Some(e) => *e = kv.clone(),
            None => env.push(kv.clone()),
        }
    }
    for kv in image {
        if !env.iter().any(|e| key(e) == key(kv)) {
            env.push(kv.clone());
        }
    }
    env
}

/// The environment a process of the container starts with, as docker's
/// `CreateDaemonEnvironment`: PATH, HOSTNAME, TERM (with a TTY) and the
/// links' variables, then the container's own `Config.Env` over them.
pub fn process_env(cfg: &ContainerConfig, tty: bool, links: &[String]) -> Vec<String> {
    let mut env = vec![
        format!("PATH={}", process::DEFAULT_PATH),
        format!("HOSTNAME={}", cfg.hostname),
    ];
    if tty {
        env.push("TERM=xterm".into());
    }
    env.extend(links.iter().cloned());
    replace_or_append_env(&mut env, &cfg.env);
    env
}
