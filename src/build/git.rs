//! Git build contexts (`rdock build https://host/repo.git#ref:dir`): the
//! repository is fetched with the `git` command, as docker's CLI does,
//! into a temp dir that becomes the context.
//!
//! `git` rather than a git library: a build context is a one-off fetch,
//! off the `run` hot path, and the user's git brings its own transports,
//! credentials helpers and proxy settings, which a library would not.

use super::BuildError;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A git URL as docker's CLI tells one: an http(s) URL whose path ends
/// in `.git` (before an optional `#fragment`), or one starting with
/// `git://`, `git@` or `github.com/`.
pub fn is_git_url(s: &str) -> bool {
    if ["git://", "git@", "github.com/"]
        .iter()
        .any(|p| s.starts_with(p))
    {
        return true;
    }
    if s.starts_with("http://") || s.starts_with("https://") {
        let path = s.split_once('#').map_or(s, |(p, _)| p);
        return path.ends_with(".git");
    }
    false
}

/// The parts of a git context URL: `REPO#REF:SUBDIR`, both optional.
#[derive(Debug, PartialEq, Eq)]
pub struct GitSource {
    pub repo: String,
    pub reference: Option<String>,
    pub subdir: Option<String>,
}

impl GitSource {
    pub fn parse(url: &str) -> GitSource {
        let (repo, fragment) = url.split_once('#').unwrap_or((url, ""));
        let (reference, subdir) = fragment.split_once(':').unwrap_or((fragment, ""));
        let repo = if repo.starts_with("github.com/") {
            format!("https://{repo}")
        } else {
            repo.to_string()
        };
        let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
        GitSource {
            repo,
            reference: some(reference),
            subdir: some(subdir.trim_matches('/')),
        }
    }
}

fn git(dir: &Path, args: &[&str]) -> Result<(), BuildError> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        // Never ask on a terminal: a build is not interactive.
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| {
            BuildError::Msg(format!(
                "unable to prepare context: running git (is it installed?): {e}"
            ))
        })?;
    if out.status.success() {
        return Ok(());
    }
    let err = String::from_utf8_lossy(&out.stderr);
    let last = err
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("failed");
    Err(BuildError::Msg(format!(
        "unable to prepare context: git {}: {}",
        args.first().copied().unwrap_or(""),
        last.trim()
    )))
}

/// Fetch `src` into `dest` (an empty dir) and return the context dir in
/// it. Shallow where the server allows it; a branch, a tag or a commit
/// as the reference; submodules too; without `.git`, as BuildKit.
pub fn checkout(src: &GitSource, dest: &Path) -> Result<PathBuf, BuildError> {
    let reference = src.reference.as_deref().unwrap_or("HEAD");
    // The URL is the user's, but its fragment must never reach git as an
    // option (`#--upload-pack=...` runs a command: CVE-2019-13139).
    for part in [
        Some(reference),
        src.subdir.as_deref(),
        Some(src.repo.as_str()),
    ]
    .into_iter()
    .flatten()
    {
        if part.starts_with('-') {
            return Err(BuildError::Msg(format!(
                "unable to prepare context: invalid git reference or path {part:?}"
            )));
        }
    }
    git(dest, &["init", "-q"])?;
    git(dest, &["remote", "add", "--", "origin", &src.repo])?;
    // Dumb HTTP servers and old ones refuse shallow fetches, and a
    // commit can only be fetched by name where the server allows it:
    // then fetch everything and check the reference out of that.
    let shallow = git(
        dest,
        &[
            "fetch",
            "-q",
            "--depth",
            "1",
            "--end-of-options",
            "origin",
            reference,
        ],
    );
    if shallow.is_ok() {
        git(dest, &["checkout", "-q", "FETCH_HEAD"])?;
    } else {
        git(
            dest,
            &["fetch", "-q", "--tags", "--end-of-options", "origin"],
        )?;
        let target = if reference == "HEAD" {
            "origin/HEAD".to_string()
        } else if git(
            dest,
            &[
                "rev-parse",
                "-q",
                "--verify",
                "--end-of-options",
                &format!("origin/{reference}"),
            ],
        )
        .is_ok()
        {
            format!("origin/{reference}")
        } else {
            reference.to_string()
        };
        if target == "origin/HEAD" {
            // A full fetch does not set origin/HEAD; ask the remote.
            git(dest, &["remote", "set-head", "origin", "--auto"])?;
        }
        git(dest, &["checkout", "-q", "--end-of-options", &target])?;
    }
    git(
        dest,
        &[
            "submodule",
            "update",
            "-q",
            "--init",
            "--recursive",
            "--depth",
            "1",
        ],
    )?;
    crate::image::layer::remove_tree(&dest.join(".git"))
        .map_err(|e| BuildError::io("removing .git from the context", e))?;
    let Some(sub) = &src.subdir else {
        return Ok(dest.to_path_buf());
    };
    // The repository is untrusted: its subdir may climb out by `..` or
    // through a symlink.
    let base = dest
        .canonicalize()
        .map_err(|e| BuildError::io("the git context", e))?;
    let dir = base.join(sub).canonicalize().map_err(|_| {
        BuildError::Msg(format!(
            "unable to prepare context: subdirectory {sub:?} not found in the repository"
        ))
    })?;
    if !dir.starts_with(&base) || !dir.is_dir() {
        return Err(BuildError::Msg(format!(
            "unable to prepare context: subdirectory {sub:?} is not a directory inside the repository"
        )));
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_urls_as_docker_tells_them() {
        for yes in [
            "https://example.com/a/b.git",
            "http://127.0.0.1:9/x.git#main",
            "https://example.com/a/b.git#v1:sub/dir",
            "git://127.0.0.1/repo",
            "git@github.com:docker/cli.git",
            "github.com/docker/cli",
        ] {
            assert!(is_git_url(yes), "{yes}");
        }
        for no in [
            "https://example.com/context.tar.gz",
            "https://example.com/a.git/Dockerfile",
            "./repo.git",
            "repo",
        ] {
            assert!(!is_git_url(no), "{no}");
        }
    }

    #[test]
    fn fragments_name_a_reference_and_a_subdir() {
        assert_eq!(
            GitSource::parse("https://h/r.git#v1.0:docker/app/"),
            GitSource {
                repo: "https://h/r.git".into(),
                reference: Some("v1.0".into()),
                subdir: Some("docker/app".into()),
            }
        );
        assert_eq!(
            GitSource::parse("github.com/o/r#:sub"),
            GitSource {
                repo: "https://github.com/o/r".into(),
                reference: None,
                subdir: Some("sub".into()),
            }
        );
        let plain = GitSource::parse("git://h/r");
        assert_eq!((plain.reference, plain.subdir), (None, None));
    }
}
