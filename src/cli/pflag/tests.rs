use super::*;
use clap::CommandFactory;

fn norm(args: &str) -> Result<Vec<String>, UsageError> {
    let argv: Vec<String> = std::iter::once("rdock")
        .chain(args.split(' '))
        .map(String::from)
        .collect();
    normalize(&crate::cli::Cli::command(), &argv)
}

fn ok(args: &str) -> String {
    norm(args).unwrap().get(1..).unwrap().join(" ")
}

fn err(args: &str) -> (String, i32) {
    let e = norm(args).unwrap_err();
    (e.text, e.code)
}

#[test]
fn values_are_taken_whatever_they_look_like() {
    assert_eq!(ok("run -e -x busybox"), "run --env=-x -- busybox");
    assert_eq!(
        ok("run --entrypoint -x busybox"),
        "run --entrypoint=-x -- busybox"
    );
    assert_eq!(ok("run -w -x busybox"), "run --workdir=-x -- busybox");
    assert_eq!(
        ok("run -e=x -ey --env=z busybox"),
        "run --env=x --env=y --env=z -- busybox"
    );
    assert_eq!(
        ok("history --format --{{.ID}}-- busybox"),
        "history --format=--{{.ID}}-- -- busybox"
    );
    assert_eq!(ok("run -p=80 busybox"), "run --publish=80 -- busybox");
}

#[test]
fn run_create_exec_stop_at_their_first_argument() {
    assert_eq!(
        ok("run -d busybox sh -c true"),
        "run --detach -- busybox sh -c true"
    );
    assert_eq!(
        ok("run --rm echoer -v -h --help -- -d"),
        "run --rm -- echoer -v -h --help -- -d"
    );
    assert_eq!(ok("create busybox -d"), "create -- busybox -d");
    assert_eq!(ok("exec c ls -l"), "exec -- c ls -l");
    assert_eq!(ok("top c -o pid"), "top -- c -o pid");
    // Elsewhere flags and arguments mix, and `--` ends the flags.
    assert_eq!(ok("rm c -f"), "rm --force -- c");
    assert_eq!(ok("rm -- -f"), "rm -- -f");
    assert_eq!(ok("run -- busybox true"), "run -- busybox true");
}

#[test]
fn bools_take_go_values_and_shorthands_combine() {
    assert_eq!(
        ok("run --rm=true -d=F -i=1 busybox"),
        "run --interactive --rm -- busybox"
    );
    assert_eq!(
        ok("run -itd busybox"),
        "run --detach --interactive --tty -- busybox"
    );
    assert_eq!(ok("run -it=false busybox"), "run --interactive -- busybox");
    assert_eq!(ok("run --rm --rm=false busybox"), "run -- busybox");
    assert_eq!(
        ok("run --sig-proxy=0 busybox"),
        "run --sig-proxy=false -- busybox"
    );
    assert_eq!(ok("ps --all=TRUE"), "ps --all");
    let (text, code) = err("ps -a=yes");
    assert_eq!(code, 125);
    assert_eq!(
        text,
        "invalid argument \"yes\" for \"-a, --all\" flag: strconv.ParseBool: parsing \"yes\": invalid syntax\n\nUsage:  rdock ps [OPTIONS]\n\nRun 'rdock ps --help' for more information"
    );
    assert!(err("run --rm=x busybox").0.starts_with(
        "invalid argument \"x\" for \"--rm\" flag: strconv.ParseBool: parsing \"x\": invalid syntax\n"
    ));
}

#[test]
fn a_repeated_single_value_flag_keeps_the_last() {
    assert_eq!(
        ok("run --name a --name b -w /a -w /b busybox"),
        "run --name=b --workdir=/b -- busybox"
    );
    assert_eq!(ok("ps --format a --format b"), "ps --format=b");
}

#[test]
fn docker_28s_usage_errors() {
    let usage = "\n\nUsage:  rdock run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun 'rdock run --help' for more information";
    for (args, first) in [
        ("run --foo busybox", "unknown flag: --foo"),
        ("run -dz busybox", "unknown shorthand flag: 'z' in -z"),
        ("run -d= busybox", "unknown shorthand flag: '=' in -="),
        ("run --name", "flag needs an argument: --name"),
        ("run -dw", "flag needs an argument: 'w' in -w"),
        ("run ---x busybox", "bad flag syntax: ---x"),
    ] {
        assert_eq!(err(args), (format!("{first}{usage}"), 125), "{args}");
    }
    assert_eq!(
        err("ps foo"),
        ("rdock: 'rdock ps' accepts no arguments\n\nUsage:  rdock ps [OPTIONS]\n\nRun 'rdock ps --help' for more information".into(), 1)
    );
    assert_eq!(
        err("image rm").0,
        "rdock: 'rdock image rm' requires at least 1 argument\n\nUsage:  rdock image rm [OPTIONS] IMAGE [IMAGE...]\n\nSee 'rdock image rm --help' for more information"
    );
    assert!(err("container list --foo").0.ends_with("Usage:  rdock container ls [OPTIONS]\n\nRun 'rdock container ls --help' for more information"));
    assert_eq!(
        err("tag a").0.lines().next(),
        Some("rdock: 'rdock tag' requires 2 arguments")
    );
    assert_eq!(
        err("network foo"),
        ("rdock: unknown command: rdock network foo\n\nUsage:  rdock network\n\nRun 'rdock network --help' for more information".into(), 1)
    );
    assert_eq!(
        err("nosuch"),
        (
            "rdock: unknown command: rdock nosuch\n\nRun 'rdock --help' for more information"
                .into(),
            1
        )
    );
    // Flags before a subcommand's name are the group's (cobra's Traverse).
    assert_eq!(err("network --foo x ls"), ("unknown flag: --foo".into(), 1));
    assert!(err("network --foo ls")
        .0
        .contains("Usage:  rdock network\n"));
}

#[test]
fn help_and_the_deprecated_h() {
    assert_eq!(ok("ps --help"), "ps --help");
    assert_eq!(ok("ps --help=false"), "ps");
    assert_eq!(ok("run -h x busybox"), "run --hostname=x -- busybox");
    assert_eq!(ok("network ls --help"), "network ls --help");
}

#[test]
fn the_refusals_take_anything() {
    assert_eq!(ok("swarm init --force -x"), "swarm -- init --force -x");
}

#[test]
fn a_flag_value_error_is_recognised() {
    assert!(is_flag_value_error(
        "invalid argument \"lots\" for \"-m, --memory\" flag: invalid size: 'lots'"
    ));
    assert!(!is_flag_value_error("invalid argument: nope"));
    assert_eq!(go_quote("a\"b\n"), "\"a\\\"b\\n\"");
}
