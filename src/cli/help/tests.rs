use super::*;
use clap::CommandFactory;

fn help(path: &[&str]) -> String {
    let path: Vec<String> = path.iter().map(|s| s.to_string()).collect();
    render(&crate::cli::Cli::command(), &path, 80, false).unwrap_or_default()
}

#[test]
fn pflag_wraps_at_the_width_and_keeps_short_orphans() {
    // 50 columns, indent 10: 40 wide, less 5 of slop.
    assert_eq!(
        wrap(
            10,
            50,
            "one two three four five six seven eight nine ten eleven twelve"
        ),
        "one two three four five six seven\n          eight nine ten eleven twelve"
    );
    // Past 35 but within the slop: no orphan line.
    assert_eq!(
        wrap(10, 50, "one two three four five six seven eight"),
        "one two three four five six seven eight"
    );
    // Embedded newlines keep the indent; no width means no wrapping.
    assert_eq!(wrap(4, 0, "a\nb"), "a\n    b");
    // Too narrow: the block goes under the flag, at column 16; narrower
    // still, unwrapped.
    assert_eq!(wrap(60, 79, "x"), "\n                x");
    assert_eq!(wrap(10, 30, "a b\nc"), "a b\n                c");
}

#[test]
fn flags_align_after_the_longest_with_types_and_defaults() {
    let flags = [
        Flag {
            long: "all".into(),
            short: Some('a'),
            kind: None,
            usage: "Show all".into(),
            default: None,
        },
        Flag {
            long: "format".into(),
            short: None,
            kind: Some("string".into()),
            usage: "Format".into(),
            default: Some("\"x\"".into()),
        },
    ];
    assert_eq!(
        flag_usages(&flags, 79),
        "  -a, --all             Show all\n      --format string   Format (default \"x\")\n"
    );
}

#[test]
fn pflag_shows_only_defaults_that_are_not_zero() {
    assert_eq!(shown_default(None, "false"), None);
    assert_eq!(shown_default(None, "true").as_deref(), Some("true"));
    assert_eq!(shown_default(Some("string"), ""), None);
    assert_eq!(
        shown_default(Some("string"), "local").as_deref(),
        Some("\"local\"")
    );
    assert_eq!(shown_default(Some("int"), "0"), None);
    assert_eq!(shown_default(Some("int"), "-1").as_deref(), Some("-1"));
}

#[test]
fn a_group_lists_its_commands_sorted_with_dockers_words() {
    let h = help(&["volume"]);
    assert!(h.starts_with("Usage:  rdock volume COMMAND\n\nManage volumes\n\nCommands:\n  create      Create a volume\n  inspect     "), "{h}");
    // `update` is for cluster volumes: hidden, as docker hides it before
    // an engine that is no swarm manager.
    assert!(!h.contains("update"), "{h}");
    assert!(
        h.ends_with("\nRun 'rdock volume COMMAND --help' for more information on a command.\n"),
        "{h}"
    );
}

#[test]
fn a_command_has_its_usage_aliases_and_typed_options() {
    let h = help(&["ps"]);
    assert!(h.starts_with("Usage:  rdock ps [OPTIONS]\n\nList containers\n\nAliases:\n  rdock container ls, rdock container list, rdock container ps, rdock ps\n\nOptions:\n  -a, --all             Show all containers (default shows just running)\n  -f, --filter filter   Filter output based on conditions provided\n      --format string   Format output using a custom template:\n                        'table':            Print output in table format\n"), "{h}");
    assert!(h.contains("  -n, --last int        Show n last created containers (includes all\n                        states) (default -1)\n"), "{h}");
    // clap's own help flag is cobra's hidden one; the globals are the root's.
    assert!(!h.contains("--help") && !h.contains("--root"), "{h}");
    // An alias's help is the command's.
    assert_eq!(help(&["container", "list"]), help(&["container", "ls"]));
}

#[test]
fn run_lists_its_own_help_flag_and_hides_the_windows_ones() {
    let h = help(&["run"]);
    assert!(
        h.contains("\n      --help                             Print usage\n"),
        "{h}"
    );
    assert!(
        h.contains("\n      --blkio-weight uint16              Block IO (relative weight),\n"),
        "{h}"
    );
    assert!(!h.contains("--cpu-count"), "{h}");
}

#[test]
fn the_root_has_dockers_sections() {
    let h = help(&[]);
    assert!(h.starts_with("Usage:  rdock [OPTIONS] COMMAND\n\nA self-sufficient runtime for containers\n\nCommon Commands:\n  run         Create and run a new container from an image\n  exec        "), "{h}");
    assert!(h.contains("\nManagement Commands:\n  builder     Manage builds\n  container   Manage containers\n"), "{h}");
    assert!(h.contains("\nCommands:\n  attach      "), "{h}");
    assert!(
        !h.contains("  help ") && !h.contains("  completion ") && !h.contains("  swarm "),
        "{h}"
    );
    assert!(h.contains("\nGlobal Options:\n"), "{h}");
    assert!(h.ends_with("\nRun 'rdock COMMAND --help' for more information on a command.\n\nFor more help on how to use Docker, head to https://docs.docker.com/go/guides/\n"), "{h}");
}

#[test]
fn manifest_is_experimental() {
    let h = help(&["manifest", "push"]);
    assert!(
        h.contains("\n\nEXPERIMENTAL:\n  rdock manifest push is an experimental feature.\n"),
        "{h}"
    );
}
