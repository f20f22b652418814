//! `rdock login [SERVER]` and `rdock logout [SERVER]`: credentials checked
//! against the registry, then kept in docker's `config.json`.

use crate::error::{Error, Result};
use crate::image::registry::client::Registry;
use crate::image::registry::credentials::{self, Credentials};
use crate::image::registry::settings::Settings;
use clap::Args;
use std::io::{BufRead, IsTerminal, Write};

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Password or Personal Access Token (PAT)
    #[arg(short = 'p', long)]
    pub password: Option<String>,
    /// Take the Password or Personal Access Token (PAT) from stdin
    #[arg(long)]
    pub password_stdin: bool,
    /// Username
    #[arg(short = 'u', long)]
    pub username: Option<String>,
    pub server: Option<String>,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    pub server: Option<String>,
}

fn display_name(domain: &str) -> String {
    credentials::server_key(domain)
}

fn prompt(label: &str, echo: bool) -> Result<String> {
    let mut err = std::io::stderr();
    let _ = write!(err, "{label}");
    let _ = err.flush();
    let stdin = std::io::stdin();
    let fd = std::os::fd::AsFd::as_fd(&stdin);
    let saved = if echo {
        None
    } else {
        nix::sys::termios::tcgetattr(fd).ok()
    };
    if let Some(t) = &saved {
        let mut quiet = t.clone();
        quiet
            .local_flags
            .remove(nix::sys::termios::LocalFlags::ECHO);
        let _ = nix::sys::termios::tcsetattr(fd, nix::sys::termios::SetArg::TCSANOW, &quiet);
    }
    let mut line = String::new();
    let r = stdin.lock().read_line(&mut line);
    if let Some(t) = &saved {
        let _ = nix::sys::termios::tcsetattr(fd, nix::sys::termios::SetArg::TCSANOW, t);
        let _ = writeln!(err);
    }
    r.map_err(|e| Error::msg(format!("reading {}: {e}", label.trim_end_matches(": "))))?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

pub fn login(a: LoginArgs) -> Result<i32> {
    let domain = credentials::domain_of(a.server.as_deref());
    if a.password.is_some() && a.password_stdin {
        return Err(Error::msg(
            "--password and --password-stdin are mutually exclusive",
        ));
    }
    let mut password = a.password.clone();
    if a.password.is_some() {
        eprintln!("WARNING! Using --password via the CLI is insecure. Use --password-stdin.");
    }
    if a.password_stdin {
        if a.username.is_none() {
            return Err(Error::msg("Must provide --username with --password-stdin"));
        }
        let mut s = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut s)
            .map_err(|e| Error::msg(format!("reading password: {e}")))?;
        password = Some(s.trim_end_matches(['\n', '\r']).to_string());
    }
    let interactive = a.username.is_none() || password.is_none();
    if interactive && !std::io::stdin().is_terminal() {
        return Err(Error::msg(
            "Cannot perform an interactive login from a non TTY device",
        ));
    }
    let username = match a.username {
        Some(u) => u,
        None => prompt("Username: ", true)?,
    };
    let password = match password {
        Some(p) => p,
        None => prompt("Password: ", false)?,
    };
    if username.is_empty() {
        return Err(Error::msg("Username is required"));
    }
    if password.is_empty() {
        // docker then asks on the terminal, which a pipe is not.
        if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
            return Err(Error::msg(
                "Error: Cannot perform an interactive login from a non TTY device",
            ));
        }
        return Err(Error::msg("Password is required"));
    }
    let creds = Credentials {
        username,
        secret: password,
    };
    let reg = Registry::new(&domain, Some(creds.clone()), &Settings::load()?);
    // docker's words: a refusal names the status, a network failure is
    // Go's error as it is.
    reg.check_login().map_err(|e| match e {
        crate::image::registry::RegistryError::Unauthorized(_) => Error::msg(format!(
            "login attempt to {} failed with status: 401 Unauthorized",
            reg.url("/v2/").unwrap_or_else(|_| domain.clone())
        )),
        e => Error::msg(e.to_string()),
    })?;
    credentials::store(&domain, &creds)?;
    println!("Login Succeeded");
    Ok(0)
}

pub fn logout(a: LogoutArgs) -> Result<i32> {
    let domain = credentials::domain_of(a.server.as_deref());
    let name = display_name(&domain);
    // docker 28 says so whether or not there was anything to remove.
    credentials::erase(&domain)?;
    println!("Removing login credentials for {name}");
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers() {
        assert_eq!(credentials::domain_of(None), "docker.io");
        assert_eq!(
            credentials::domain_of(Some("https://index.docker.io/v1/")),
            "docker.io"
        );
        assert_eq!(
            credentials::domain_of(Some("localhost:5000")),
            "localhost:5000"
        );
        assert_eq!(
            credentials::domain_of(Some("http://127.0.0.1:5000/v2/")),
            "127.0.0.1:5000"
        );
    }
}
