//! `context`: rdock has one context, "default": its store (`--root`).
//! Listing, showing, inspecting and using it work as docker's do for its
//! default context, so tools that ask which context is current get an
//! answer; making others is refused.

use crate::error::{Error, Result};
use crate::paths::Paths;
use clap::{Args, Subcommand};
use serde_json::json;

/// docker's Long of `context create` and `context update`.
fn endpoint_help(verb: &str) -> String {
    format!(
        "{} a context

Docker endpoint config:

NAME                DESCRIPTION
from                Copy named context's Docker endpoint configuration
host                Docker endpoint on which to connect
ca                  Trust certs signed only by this CA
cert                Path to TLS certificate file
key                 Path to TLS key file
skip-tls-verify     Skip TLS certificate validation

Example:

$ rdock context {verb} my-context --description \"some description\" --docker \"host=tcp://myserver:2376,ca=~/ca-file,cert=~/cert-file,key=~/key-file\"
",
        if verb == "create" { "Create" } else { "Update" }
    )
}

#[derive(Debug, Subcommand)]
pub enum ContextCommand {
    /// List contexts
    #[command(alias = "list")]
    Ls(LsArgs),
    /// Print the name of the current context
    Show,
    /// Display detailed information on one or more contexts
    Inspect(InspectArgs),
    /// Set the current docker context
    Use(UseArgs),
    /// Create a context
    #[command(long_about = endpoint_help("create"))]
    Create(ChangeArgs),
    /// Update a context
    #[command(long_about = endpoint_help("update"))]
    Update(UpdateArgs),
    /// Remove one or more contexts
    #[command(alias = "remove")]
    Rm(RmArgs),
    #[command(about = "Export a context to a tar archive FILE or a tar stream on STDOUT.")]
    Export(NameArgs),
    /// Import a context from a tar or zip file
    Import(NameArgs),
}

#[derive(Debug, Args)]
pub struct LsArgs {
    #[arg(long, help = super::help::FORMAT_HELP)]
    pub format: Option<String>,
    /// Only show context names
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    #[arg(short = 'f', long, help = super::help::INSPECT_FORMAT_HELP)]
    pub format: Option<String>,
    pub names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct UseArgs {
    pub name: String,
}

#[derive(Debug, Args)]
pub struct ChangeArgs {
    /// Description of the context
    #[arg(long)]
    pub description: Option<String>,
    /// set the docker endpoint (default [])
    #[arg(long, value_name = "stringToString")]
    pub docker: Vec<String>,
    /// create context from a named context
    #[arg(long)]
    pub from: Option<String>,
    pub name: String,
}

/// `context update`: create's flags but `--from`, as docker's.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Description of the context
    #[arg(long)]
    pub description: Option<String>,
    /// set the docker endpoint (default [])
    #[arg(long, value_name = "stringToString")]
    pub docker: Vec<String>,
    pub name: String,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    /// Force the removal of a context in use
    #[arg(short = 'f', long)]
    pub force: bool,
    #[arg(required = true)]
    pub names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct NameArgs {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

const NAME: &str = "default";
const DESCRIPTION: &str = "rdock's local store (no daemon)";

fn endpoint(paths: &Paths) -> String {
    paths.root.display().to_string()
}

fn only_default(name: &str) -> Result<()> {
    if name == NAME {
        Ok(())
    } else {
        // docker's words name the metadata file its store would hold.
        let dir = std::env::var("DOCKER_CONFIG")
            .unwrap_or_else(|_| format!("{}/.docker", std::env::var("HOME").unwrap_or_default()));
        let id = crate::image::store::sha256_hex(name.as_bytes());
        Err(Error::msg(format!(
            "context {name:?}: context not found: open {dir}/contexts/meta/{id}/meta.json: no such file or directory"
        ))
        .with_code(1))
    }
}

fn one_context() -> Error {
    Error::msg("rdock has one context, \"default\" (its store): contexts cannot be created, changed or removed").with_code(1)
}

pub fn run(paths: &Paths, cmd: ContextCommand) -> Result<i32> {
    match cmd {
        ContextCommand::Ls(a) => {
            if a.quiet {
                println!("{NAME}");
                return Ok(0);
            }
            let row = json!({
                "Name": NAME, "Current": true, "Description": DESCRIPTION,
                "DockerEndpoint": endpoint(paths), "Error": "",
            });
            let mut shown = row.clone();
            if let Some(o) = shown.as_object_mut() {
                o.insert("Name".into(), json!(format!("{NAME} *")));
            }
            let format = a.format.as_deref().map(str::trim);
            let value = if matches!(format, Some("json"))
                || format.is_some_and(|f| !f.starts_with("table"))
            {
                row
            } else {
                shown
            };
            print!(
                "{}",
                super::format::render_rows(
                    a.format.as_deref(),
                    "table {{.Name}}\t{{.Description}}\t{{.DockerEndpoint}}\t{{.Error}}",
                    &[
                        ("Name", "NAME"),
                        ("Description", "DESCRIPTION"),
                        ("DockerEndpoint", "DOCKER ENDPOINT"),
                        ("Error", "ERROR"),
                    ],
                    "*formatter.clientContextContext",
                    &[value],
                )?
            );
            Ok(0)
        }
        ContextCommand::Show => {
            println!("{NAME}");
            Ok(0)
        }
        ContextCommand::Inspect(a) => {
            let names = if a.names.is_empty() {
                vec![NAME.to_string()]
            } else {
                a.names
            };
            let mut values = Vec::new();
            let mut failed = false;
            for n in &names {
                match only_default(n) {
                    Ok(()) => values.push(json!({
                        "Name": NAME,
                        "Metadata": {},
                        "Endpoints": {"docker": {"Host": endpoint(paths), "SkipTLSVerify": false}},
                        "TLSMaterial": {},
                        "Storage": {"MetadataPath": "<IN MEMORY>", "TLSPath": "<IN MEMORY>"},
                    })),
                    Err(e) => {
                        super::report_line(&e);
                        failed = true;
                    }
                }
            }
            super::format::print_values(values, a.format.as_deref(), failed)
        }
        ContextCommand::Use(a) => {
            only_default(&a.name)?;
            println!("{NAME}");
            eprintln!("Current context is now \"{NAME}\"");
            Ok(0)
        }
        ContextCommand::Create(a) => {
            // docker checks the name first, in these words.
            let valid = a.name.len() >= 2
                && a.name.chars().enumerate().all(|(i, c)| {
                    c.is_ascii_alphanumeric() || (i > 0 && matches!(c, '_' | '.' | '+' | '-'))
                });
            if !valid {
                return Err(Error::msg(format!(
                    "context name {:?} is invalid, names are validated against regexp \"^[a-zA-Z0-9][a-zA-Z0-9_.+-]+$\"",
                    a.name
                ))
                .with_code(1));
            }
            Err(one_context())
        }
        ContextCommand::Rm(a) if a.names.iter().any(|n| n == NAME) => {
            Err(Error::msg(format!("context {NAME:?} cannot be removed")).with_code(1))
        }
        ContextCommand::Update(_)
        | ContextCommand::Rm(_)
        | ContextCommand::Export(_)
        | ContextCommand::Import(_) => Err(one_context()),
    }
}
