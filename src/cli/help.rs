//! docker 28's help, rendered from clap's own definitions: cobra's usage
//! template (docker/cli's cli/cobra.go) and pflag's FlagUsagesWrapped.
//!
//! What clap knows (the commands, their flags, short names, defaults,
//! what is hidden) comes from clap, so help follows the real flags. The
//! words are docker's, kept with the definitions: a command's `about`
//! (`long_about` where docker's Long differs), a flag's help text, and a
//! flag's value type as its `value_name` where it is not what the value's
//! Rust type says (`bytes`, `duration`, `filter`, ...). Docker's alias
//! annotations and its "Common Commands" are the two lists kept here.

use super::usage;
use clap::{Arg, ArgAction, Command};
use std::any::TypeId;
use std::io::IsTerminal;

/// The root's description, docker's.
const ROOT_ABOUT: &str = "A self-sufficient runtime for containers";

/// docker's `category-top` commands, in its order.
const TOP: &[&str] = &[
    "run", "exec", "ps", "build", "pull", "push", "images", "login", "logout", "search", "version",
    "info",
];

/// docker's `aliases` annotations: a command and the commands it is also
/// (each line lists all of them; `rdock X --help` of any shows the line).
const ALIASES: &[&[&str]] = &[
    &["container attach", "attach"],
    &["container commit", "commit"],
    &["container cp", "cp"],
    &["container create", "create"],
    &["container diff", "diff"],
    &["container exec", "exec"],
    &["container export", "export"],
    &["container kill", "kill"],
    &["container logs", "logs"],
    &["container ls", "container list", "container ps", "ps"],
    &["container pause", "pause"],
    &["container port", "port"],
    &["container rename", "rename"],
    &["container restart", "restart"],
    &["container rm", "container remove", "rm"],
    &["container run", "run"],
    &["container start", "start"],
    &["container stats", "stats"],
    &["container stop", "stop"],
    &["container top", "top"],
    &["container unpause", "unpause"],
    &["container update", "update"],
    &["container wait", "wait"],
    &["image build", "build", "builder build"],
    &["image history", "history"],
    &["image import", "import"],
    &["image load", "load"],
    &["image ls", "image list", "images"],
    &["image pull", "pull"],
    &["image push", "push"],
    &["image rm", "image remove", "rmi"],
    &["image save", "save"],
    &["image tag", "tag"],
    &["system events", "events"],
    &["system info", "info"],
];

/// docker's help of `--format` for list commands (cli/flags/options.go).
pub const FORMAT_HELP: &str = "Format output using a custom template:
'table':            Print output in table format with column headers (default)
'table TEMPLATE':   Print output in table format using the given Go template
'json':             Print in JSON format
'TEMPLATE':         Print output using the given Go template.
Refer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates";

/// docker's help of `--format` for inspect commands.
pub const INSPECT_FORMAT_HELP: &str = "Format output using a custom template:
'json':             Print in JSON format
'TEMPLATE':         Print output using the given Go template.
Refer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates";

/// The groups docker marks `experimentalCLI`, with all their commands.
const EXPERIMENTAL: &[&str] = &["manifest"];

const EXPERIMENTAL_NOTE: &str =
    "  Experimental features provide early access to product functionality. These
  features may change between releases without warning, or can be removed from a
  future release. Learn more about experimental features in our documentation:
  https://docs.docker.com/go/experimental/
";

/// The closing line of the root's help (its `additionalHelp`).
const GUIDES: &str =
    "For more help on how to use Docker, head to https://docs.docker.com/go/guides/";

/// The command at `path` (canonical names or aliases), built.
pub fn find(root: &Command, path: &[String]) -> Option<(Command, Vec<String>)> {
    let mut cmd = root.clone();
    cmd.build();
    let mut names = Vec::new();
    for word in path {
        let mut sub = cmd.find_subcommand(word)?.clone();
        sub.build();
        names.push(sub.get_name().to_string());
        cmd = sub;
    }
    Some((cmd, names))
}

/// docker's help of the command at `path` (canonical names), for a
/// terminal `cols` wide (pflag wraps descriptions at `cols - 1`).
pub fn render(root: &Command, path: &[String], cols: usize, bold: bool) -> Option<String> {
    let (cmd, path) = find(root, path)?;
    let wrap_at = cols.saturating_sub(1);
    Some(if path.is_empty() {
        render_root(&cmd, wrap_at, bold)
    } else {
        render_command(&cmd, &path, wrap_at)
    })
}

/// Print the help of the command at `path`: on stdout when asked for
/// (`--help`, `help X`), on stderr for a group given no subcommand.
pub fn print(path: &[String], to_stderr: bool) {
    use clap::CommandFactory;
    let root = super::Cli::command();
    let bold = if to_stderr {
        std::io::stderr().is_terminal()
    } else {
        std::io::stdout().is_terminal()
    };
    let text = match (path, render(&root, path, terminal_width(), bold)) {
        ([one], _) if one == "completion" => super::completion::USAGE.to_string(),
        (_, Some(t)) => t,
        (_, None) => return,
    };
    if to_stderr {
        eprint!("{text}");
    } else {
        print!("{text}");
    }
}

/// The width of the terminal on stdin, 80 when it is none (docker's
/// wrappedFlagUsages reads fd 0).
fn terminal_width() -> usize {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ fills the winsize we pass.
    let r = unsafe { libc::ioctl(libc::STDIN_FILENO, libc::TIOCGWINSZ, &mut ws) };
    if r != 0 || ws.ws_col == 0 {
        return 80;
    }
    ws.ws_col as usize
}

/// docker's config.Dir(): $DOCKER_CONFIG, else ~/.docker.
fn config_dir() -> Option<String> {
    if let Some(d) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return Some(d.to_string_lossy().into_owned());
    }
    let home = std::env::var_os("HOME")?;
    Some(format!("{}/.docker", home.to_string_lossy()))
}

/// The path of the command's parent (`["image"]` of `["image", "ls"]`).
fn parent_of(path: &[String]) -> &[String] {
    path.split_last().map(|(_, p)| p).unwrap_or_default()
}

/// `rdock image ls`
fn command_path(path: &[String]) -> String {
    let mut s = String::from("rdock");
    for w in path {
        s.push(' ');
        s.push_str(w);
    }
    s
}

/// The subcommands a listing shows: visible ones, sorted as cobra sorts.
fn listed(cmd: &Command) -> Vec<&Command> {
    let mut subs: Vec<&Command> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && !matches!(s.get_name(), "help" | "completion"))
        .collect();
    subs.sort_by(|a, b| a.get_name().cmp(b.get_name()));
    subs
}

/// cobra's NamePadding: the longest name among all the subcommands, at
/// least 11.
fn name_padding(cmd: &Command) -> usize {
    cmd.get_subcommands()
        .map(|s| s.get_name().len())
        .max()
        .unwrap_or(0)
        .max(11)
}

fn short(cmd: &Command) -> String {
    cmd.get_about().map(|s| s.to_string()).unwrap_or_default()
}

/// A section of `name  description` lines.
fn command_lines(out: &mut String, title: &str, subs: &[&Command], pad: usize) {
    if subs.is_empty() {
        return;
    }
    out.push_str(&format!("\n{title}:\n"));
    for s in subs {
        out.push_str(&format!("  {:<pad$} {}\n", s.get_name(), short(s)));
    }
}

fn render_root(cmd: &Command, wrap_at: usize, bold: bool) -> String {
    let mut out = format!("Usage:  rdock [OPTIONS] COMMAND\n\n{ROOT_ABOUT}\n");
    let pad = name_padding(cmd);
    let subs = listed(cmd);
    let top: Vec<&Command> = TOP
        .iter()
        .filter_map(|n| subs.iter().find(|s| s.get_name() == *n).copied())
        .collect();
    let groups: Vec<&Command> = subs
        .iter()
        .filter(|s| s.has_subcommands())
        .copied()
        .collect();
    let rest: Vec<&Command> = subs
        .iter()
        .filter(|s| !s.has_subcommands() && !TOP.contains(&s.get_name()))
        .copied()
        .collect();
    command_lines(&mut out, "Common Commands", &top, pad);
    command_lines(&mut out, "Management Commands", &groups, pad);
    command_lines(&mut out, "Commands", &rest, pad);
    let mut flags: Vec<Flag> = cmd.get_arguments().filter_map(Flag::of).collect();
    // docker's default for --config is where it reads config.json from.
    if let Some(f) = flags.iter_mut().find(|f| f.long == "config") {
        f.default = config_dir().map(|d| super::pflag::go_quote(&d));
    }
    out.push_str("\nGlobal Options:\n");
    out.push_str(&flag_usages(&flags, wrap_at));
    out.push_str("\nRun 'rdock COMMAND --help' for more information on a command.\n\n");
    if bold {
        out.push_str(&format!("\x1b[1m{GUIDES}\x1b[0m\n"));
    } else {
        out.push_str(&format!("{GUIDES}\n"));
    }
    out
}

fn render_command(cmd: &Command, path: &[String], wrap_at: usize) -> String {
    let here = command_path(path);
    let key = path.join(" ");
    let use_line = if cmd.has_subcommands() {
        format!("{here} COMMAND")
    } else {
        match usage::lookup(&key) {
            Some(u) => {
                let parent = command_path(parent_of(path));
                format!("{parent} {}", u.use_line.replace("docker ", "rdock "))
            }
            None => format!("{here} [OPTIONS]"),
        }
    };
    let about = cmd
        .get_long_about()
        .or(cmd.get_about())
        .map(|s| s.to_string())
        .unwrap_or_default();
    let mut out = format!("Usage:  {use_line}\n\n{}\n", about.trim());
    if path
        .first()
        .is_some_and(|g| EXPERIMENTAL.contains(&g.as_str()))
    {
        out.push_str(&format!(
            "\nEXPERIMENTAL:\n  {here} is an experimental feature.\n{EXPERIMENTAL_NOTE}"
        ));
    }
    if let Some(aliases) = aliases(cmd, path) {
        out.push_str(&format!("\nAliases:\n  {aliases}\n"));
    }
    let flags: Vec<Flag> = cmd
        .get_arguments()
        .filter(|a| !a.is_global_set())
        .filter_map(Flag::of)
        .collect();
    if !flags.is_empty() {
        out.push_str("\nOptions:\n");
        out.push_str(&flag_usages(&flags, wrap_at));
    }
    if cmd.has_subcommands() {
        command_lines(&mut out, "Commands", &listed(cmd), name_padding(cmd));
        out.push_str(&format!(
            "\nRun '{here} COMMAND --help' for more information on a command.\n"
        ));
    }
    out
}

/// cobra's commandAliases: docker's annotation where it has one, else
/// the command's path and its aliases under the same parent.
fn aliases(cmd: &Command, path: &[String]) -> Option<String> {
    let key = path.join(" ");
    if let Some(list) = ALIASES.iter().find(|l| l.contains(&key.as_str())) {
        let all: Vec<String> = list.iter().map(|p| format!("rdock {p}")).collect();
        return Some(all.join(", "));
    }
    let names = cmd.get_all_aliases().collect::<Vec<_>>();
    if names.is_empty() {
        return None;
    }
    let parent = command_path(parent_of(path));
    let mut s = command_path(path);
    for a in names {
        s.push_str(&format!(", {parent} {a}"));
    }
    Some(s)
}

/// One flag as pflag shows it.
#[derive(Debug, Clone, PartialEq)]
struct Flag {
    long: String,
    short: Option<char>,
    /// The value's type name (`string`, `list`, ...); none for a bool.
    kind: Option<String>,
    usage: String,
    /// pflag's `(default ...)`, already formatted; none for a zero value.
    default: Option<String>,
}

impl Flag {
    fn of(a: &Arg) -> Option<Flag> {
        if a.is_positional() || a.is_hide_set() {
            return None;
        }
        let help = matches!(
            a.get_action(),
            ArgAction::Help | ArgAction::HelpShort | ArgAction::HelpLong
        );
        // clap's own help flag is cobra's hidden one; a command that
        // defines `--help` itself (run, create) lists it, as docker's do.
        if help
            && a.get_help()
                .is_none_or(|h| h.to_string().starts_with("Print help"))
        {
            return None;
        }
        let long = a.get_long()?.to_string();
        let kind = type_name(a);
        let usage = a.get_help().map(|s| s.to_string()).unwrap_or_default();
        let default = if a.is_hide_default_value_set()
            || (usage.ends_with(')') && usage.contains(" (default "))
        {
            None
        } else if kind.as_deref() == Some("map") && a.get_default_values().is_empty() {
            // docker's maps print their empty value.
            Some("map[]".into())
        } else {
            a.get_default_values()
                .first()
                .map(|v| v.to_string_lossy().into_owned())
                .and_then(|v| shown_default(kind.as_deref(), &v))
        };
        Some(Flag {
            long,
            short: a.get_short(),
            kind,
            usage,
            default,
        })
    }
}

/// pflag's defaultIsZeroValue and its quoting of a string's default.
fn shown_default(kind: Option<&str>, v: &str) -> Option<String> {
    match kind {
        None if v == "false" => None,
        None => Some(v.to_string()),
        Some("string") if v.is_empty() => None,
        Some("string") => Some(super::pflag::go_quote(v)),
        Some("duration") if v == "0" || v == "0s" => None,
        Some("list") if v == "[]" => None,
        Some(_) if matches!(v, "" | "0" | "false" | "<nil>") => None,
        Some(_) => Some(v.to_string()),
    }
}

/// The value's type as pflag names it: a `value_name` in docker's words
/// (lowercase) where one is set, else what the value's Rust type says.
fn type_name(a: &Arg) -> Option<String> {
    let takes = a.get_num_args().is_none_or(|n| n.takes_values());
    let optional = a.get_num_args().is_some_and(|n| n.min_values() == 0);
    match a.get_action() {
        ArgAction::SetTrue | ArgAction::SetFalse | ArgAction::Count => return None,
        // A bool clap keeps as a value (`--sig-proxy[=true]`).
        _ if optional || !takes => return None,
        _ => {}
    }
    if let Some(name) = a.get_value_names().and_then(|n| n.first()) {
        let name = name.as_str();
        if name.chars().any(|c| c.is_ascii_lowercase()) {
            return Some(name.to_string());
        }
    }
    if matches!(a.get_action(), ArgAction::Append) {
        return Some("list".into());
    }
    let t = a.get_value_parser().type_id();
    let name = if t == TypeId::of::<i64>() || t == TypeId::of::<i32>() || t == TypeId::of::<isize>()
    {
        "int"
    } else if t == TypeId::of::<u64>() || t == TypeId::of::<u32>() || t == TypeId::of::<usize>() {
        "uint"
    } else if t == TypeId::of::<u16>() {
        "uint16"
    } else if t == TypeId::of::<f64>() {
        "float"
    } else {
        "string"
    };
    Some(name.into())
}

/// pflag's FlagUsagesWrapped: sorted by name, the descriptions in one
/// column after the longest `-s, --name type`, wrapped at `cols`.
fn flag_usages(flags: &[Flag], cols: usize) -> String {
    let mut flags = flags.to_vec();
    flags.sort_by(|a, b| a.long.cmp(&b.long));
    let heads: Vec<String> = flags
        .iter()
        .map(|f| {
            let mut h = match f.short {
                Some(s) => format!("  -{s}, --{}", f.long),
                None => format!("      --{}", f.long),
            };
            if let Some(k) = &f.kind {
                h.push(' ');
                h.push_str(k);
            }
            h
        })
        .collect();
    // pflag's maxlen counts its separator byte.
    let maxlen = heads
        .iter()
        .map(|h| h.len().saturating_add(1))
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (f, head) in flags.iter().zip(&heads) {
        let mut usage = f.usage.clone();
        if let Some(d) = &f.default {
            usage.push_str(&format!(" (default {d})"));
        }
        let spacing = " ".repeat(maxlen.saturating_sub(head.len()));
        out.push_str(&format!(
            "{head} {spacing} {}\n",
            wrap(maxlen.saturating_add(2), cols, &usage)
        ));
    }
    // The template's trimRightSpace.
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

/// pflag's wrapN: `s` split on whitespace into a first part of up to `i`
/// bytes and the rest, going `slop` over to take the whole string.
fn wrap_n(i: usize, slop: usize, s: &str) -> (String, String) {
    let whole = || (s.to_string(), String::new());
    if i.saturating_add(slop) > s.len() {
        return whole();
    }
    let head = s.get(..i).unwrap_or(s);
    let w = match head.rfind([' ', '\t', '\n']) {
        Some(w) if w > 0 => w,
        _ => return whole(),
    };
    // Split at the (one-byte) blank, dropping it.
    let cut = |at: usize| match (s.get(..at), s.get(at.saturating_add(1)..)) {
        (Some(a), Some(b)) => (a.to_string(), b.to_string()),
        _ => whole(),
    };
    match head.rfind('\n').filter(|&nl| nl > 0 && nl < w) {
        Some(nl) => cut(nl),
        None => cut(w),
    }
}

/// pflag's wrap: `s` wrapped to `w` columns, lines after the first
/// indented by `i`.
fn wrap(i: usize, w: usize, s: &str) -> String {
    let indent = |n: usize| format!("\n{}", " ".repeat(n));
    if w == 0 {
        return s.replace('\n', &indent(i));
    }
    let (mut i, mut width) = (i, w.saturating_sub(i));
    let mut r = String::new();
    if width < 24 {
        i = 16;
        width = w.saturating_sub(i);
        r.push_str(&indent(i));
    }
    if width < 24 {
        return s.replace('\n', &r);
    }
    let slop = 5;
    width = width.saturating_sub(slop);
    let (first, mut rest) = wrap_n(width, slop, s);
    r.push_str(&first.replace('\n', &indent(i)));
    while !rest.is_empty() {
        let (t, more) = wrap_n(width, slop, &rest);
        r.push_str(&indent(i));
        r.push_str(&t.replace('\n', &indent(i)));
        rest = more;
    }
    r
}

/// `help` alone is `--help`; `help run` is `run --help`, and a topic that
/// names no command is docker's "unknown help topic".
pub fn command(topic: &[String]) -> crate::error::Result<i32> {
    let mut cmd = <super::Cli as clap::CommandFactory>::command();
    cmd.build();
    let mut path = Vec::new();
    for (i, word) in topic.iter().enumerate() {
        let Some(sub) = cmd.find_subcommand(word).cloned() else {
            // cobra's Find: the words from the first it cannot place.
            let rest = topic.get(i..).unwrap_or_default().join(" ");
            return Err(crate::error::Error::WithCode(
                Box::new(crate::error::Error::msg(format!(
                    "unknown help topic: {rest}"
                ))),
                1,
            ));
        };
        cmd = sub;
        cmd.build();
        path.push(cmd.get_name().to_string());
    }
    print(&path, false);
    Ok(0)
}

#[cfg(test)]
mod tests;
