#!/usr/bin/env bash
# The opencontainers/runtime-tools validation suite against OCI runtimes
# (runc's command line), as root:
#   scripts/runtime-validation.sh [RUNTIME]          one runtime ($RUNTIME, else runc)
#   scripts/runtime-validation.sh BASELINE OTHER     both, side by side
# One runtime: a TAP line per validation program, then
# "passed N failed M skipped K" (programs). Two: each run's lines, a table
# (test, BASELINE's result, OTHER's result), the points BASELINE passes
# that OTHER does not, and exit 1 unless OTHER passes every program and
# every point BASELINE passes and passes at least as many programs.
#
# The suite's source is Debian's source package of runtime-tools (from
# trixie: bookworm's has no validation/ in reach), fetched with apt from a
# private signed source list; it builds with Debian's Go in GOPATH mode
# against Debian's -dev packages, once, into target/test-data/runtime-tools.
# tap-go, which Debian does not package, is our own stand-in
# (scripts/runtime-validation/tap.go).
#
# Each program runs with a timeout (RTV_TIMEOUT, default 120 s) in a mount
# namespace of its own (the root made shared, like a systemd host's) so
# mounts the tests leak (rootfs propagation) die with it; the runtime gets
# a private --root; afterwards leftover containers are deleted and the
# suite's fixed cgroups (/cgrouptest, testdir/cgrouptest) removed.
# Outputs: target/test-data/runtime-validation/NAME/ (RTV_OUT to move).
# RTV_TESTS="default hooks ..." runs a subset.
set -euo pipefail
caller_dir=$(pwd)
cd "$(dirname "$0")/.."
root=$(pwd)

if [ "$(id -u)" != 0 ]; then
    echo "runtime-validation.sh: runs containers: must run as root" >&2
    exit 1
fi
case $(uname -m) in
x86_64) ;;
*)
    echo "runtime-validation.sh: the suite's rootfs is amd64's" >&2
    exit 1
    ;;
esac

suite=$root/target/test-data/runtime-tools
out_base=${RTV_OUT:-$root/target/test-data/runtime-validation}
timeout_s=${RTV_TIMEOUT:-120}
# Bumped when the build recipe changes, to rebuild the cache.
build_rev=1
pkg=golang-github-opencontainers-runtime-tools
# Go and the suite's Go dependencies (its go.mod, as Debian packages them).
go_deps=(golang-go golang-github-blang-semver-dev golang-github-google-uuid-dev
    golang-github-hashicorp-go-multierror-dev golang-github-mrunalp-fileutils-dev
    golang-github-opencontainers-specs-dev golang-github-opencontainers-selinux-dev
    golang-github-sirupsen-logrus-dev golang-github-stretchr-testify-dev
    golang-gocapability-dev golang-github-urfave-cli-dev
    golang-github-xeipuuv-gojsonschema-dev golang-golang-x-sys-dev)

install_needed() {
    local need=() p
    for p in "${go_deps[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
    done
    command -v unshare >/dev/null || need+=(util-linux)
    command -v xz >/dev/null || need+=(xz-utils)
    command -v runc >/dev/null || need+=(runc)
    [ ${#need[@]} -eq 0 ] && return
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need[@]}" >/dev/null
}

# Downloads the source package's upstream tarball into $1 and prints its
# path. The tarball is checked against the signed index's SHA-256 here:
# the mirror here has served it but not always the .dsc, so apt-get
# source's own status is not relied on.
fetch_source() {
    local t=$1 opts file sum
    chown _apt "$t" 2>/dev/null || true
    mkdir -p "$t/lists/partial"
    echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main" >"$t/sources.list"
    opts=(-o "Dir::Etc::SourceList=$t/sources.list" -o Dir::Etc::SourceParts=/dev/null
        -o "Dir::State::Lists=$t/lists" -o Acquire::Languages=none)
    apt-get "${opts[@]}" update -qq
    read -r sum file < <(apt-cache "${opts[@]}" showsrc "$pkg" |
        awk '/^Checksums-Sha256:/ { s = 1; next } /^[^ ]/ { s = 0 }
            s && $3 ~ /\.orig\.tar\./ { print $1, $3; exit }')
    [ -n "${file:-}" ] || { echo "runtime-validation.sh: $pkg not in trixie's sources" >&2; return 1; }
    (cd "$t" && apt-get "${opts[@]}" source --download-only -qq "$pkg" >/dev/null 2>&1) || true
    if [ ! -f "$t/$file" ] || [ "$(sha256sum "$t/$file" | cut -d' ' -f1)" != "$sum" ]; then
        echo "runtime-validation.sh: could not fetch $file (sha256 $sum)" >&2
        return 1
    fi
    echo "$t/$file"
}

build_suite() {
    local stamp_want
    stamp_want="$build_rev $(sha256sum scripts/runtime-validation/tap.go | cut -c1-16)"
    if [ -f "$suite/stamp" ] && [ "$(cat "$suite/stamp")" = "$stamp_want" ]; then
        return
    fi
    echo "# building the runtime-tools validation suite into $suite" >&2
    local start t orig src
    start=$(date +%s)
    t=$(mktemp -d)
    orig=$(fetch_source "$t") || exit 1
    rm -rf "$suite"
    src=$suite/gopath/src/github.com/opencontainers/runtime-tools
    mkdir -p "$src" "$suite/gopath/src/github.com/mndrix/tap-go"
    tar -xf "$orig" -C "$src" --strip-components=1
    basename "$orig" | sed 's/\.orig\.tar\..*//' >"$suite/version"
    rm -rf "$t"
    cp scripts/runtime-validation/tap.go "$suite/gopath/src/github.com/mndrix/tap-go/"
    (
        cd "$src"
        export GOPATH=$suite/gopath:/usr/share/gocode GO111MODULE=off GOFLAGS='' \
            GOCACHE=$suite/gocache
        go build -trimpath -o runtimetest -tags "netgo osusergo" -ldflags "-s -w -extldflags -static" ./cmd/runtimetest
        for f in validation/*/*.go; do
            case $f in validation/util/*) continue ;; esac
            go build -trimpath -ldflags "-s -w" -o "${f%.go}.t" "$f"
        done
    )
    rm -rf "$suite/gocache"
    echo "$stamp_want" >"$suite/stamp"
    echo "# built $(cat "$suite/version") in $(($(date +%s) - start)) s" >&2
}

# Summarises program $4's TAP output ($1) given its exit status ($2):
# prints "status points ok notok skip why" (tab-separated) and appends its
# points to $3 as "test status description" (a repeated description gets
# " #k"). Only top-level lines count: runtimetest's own TAP, when a
# program relays it, sits in a JSON string inside a YAML block. A program
# with no points fails if it reported an "error" (the hook tests' way).
summarise() {
    awk -v rc="$2" -v name="$4" -v points="$3" '
        /^(not )?ok [0-9]+/ {
            line = $0
            st = (line ~ /^not ok/) ? "fail" : "pass"
            sub(/^(not )?ok [0-9]+ ?(- )?/, "", line)
            if (line ~ /^# *(SKIP|skip|TODO|todo)/) { st = "skip"; sub(/^# *[A-Za-z]+ ?/, "", line) }
            n++
            if (st == "pass") ok++; else if (st == "fail") bad++; else sk++
            k = ++seen[line]
            printf "%s\t%s\t%s%s\n", name, st, line, (k > 1 ? " #" k : "") >> points
            next
        }
        /^1\.\.[0-9]+/ { if (plan == "") plan = substr($0, 4) + 0; next }
        /^    "error": / { err = 1 }
        END {
            status = "pass"; why = ""
            if (rc == 124 || rc == 137) { status = "timeout"; why = "timed out" }
            else if (rc != 0) { status = "fail"; why = "exit status " rc }
            else if (bad > 0) { status = "fail"; why = bad " of " n " points not ok" }
            else if (n > 0 && plan == "") { status = "fail"; why = "no plan" }
            else if (plan != "" && plan != n) { status = "fail"; why = "plan " plan ", " n " points" }
            else if (n == 0 && err) { status = "fail"; why = "error reported" }
            else if (n > 0 && sk == n) { status = "skip" }
            printf "%s\t%d\t%d\t%d\t%d\t%s\n", status, n, ok + 0, bad + 0, sk + 0, why
        }' "$1"
}

# Deletes what a program left: containers in the private state root, the
# suite's fixed cgroups.
cleanup_after() {
    local runtime=$1 state=$2 id d
    for id in $("$runtime" --root "$state" list -q 2>/dev/null); do
        "$runtime" --root "$state" kill "$id" KILL >/dev/null 2>&1 || true
        "$runtime" --root "$state" delete --force "$id" >/dev/null 2>&1 || true
    done
    for d in /sys/fs/cgroup/cgrouptest /sys/fs/cgroup/testdir /sys/fs/cgroup/*/cgrouptest /sys/fs/cgroup/*/testdir; do
        [ -d "$d" ] || continue
        find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
    done
}

# Runs every program against runtime $1 (name $2); fills $out_base/$2.
run_suite() {
    local runtime=$1 name=$2 out=$out_base/$2 src tests=() t n i=0 rc start secs line
    src=$suite/gopath/src/github.com/opencontainers/runtime-tools
    rm -rf "$out"
    mkdir -p "$out/logs" "$out/work"
    local state=$out/work/state wrapper=$out/work/$name
    mkdir -p "$state"
    # The suite runs $RUNTIME by path; the wrapper adds the private root.
    printf '#!/bin/sh\nexec %q --root %q "$@"\n' "$runtime" "$state" >"$wrapper"
    chmod +x "$wrapper"
    if [ -n "${RTV_TESTS:-}" ]; then
        for n in $RTV_TESTS; do tests+=("validation/$n/$n.t"); done
    else
        for t in "$src"/validation/*/*.t; do tests+=("${t#"$src"/}"); done
    fi
    : >"$out/points.tsv"
    : >"$out/tests.tsv"
    say() { printf '%s\n' "$*" | tee -a "$out/summary"; }
    say "# $name: $runtime ($("$runtime" --version 2>/dev/null | head -1))"
    say "TAP version 13"
    say "1..${#tests[@]}"
    for t in "${tests[@]}"; do
        i=$((i + 1))
        n=$(basename "$t" .t)
        local tmp=$out/work/tmp-$n
        mkdir -p "$tmp"
        start=$(date +%s%N)
        rc=0
        # shellcheck disable=SC2016 # expanded by the inner sh
        (cd "$src" && TMPDIR=$tmp RUNTIME=$wrapper unshare --mount --propagation private \
            sh -c 'mount --make-rshared / && exec timeout -k 5 "$0" "$1"' "$timeout_s" "./$t") \
            >"$out/logs/$n.out" 2>"$out/logs/$n.err" </dev/null || rc=$?
        secs=$((($(date +%s%N) - start) / 1000000))
        cleanup_after "$runtime" "$state"
        rm -rf --one-file-system "$tmp" 2>/dev/null || true
        line=$(summarise "$out/logs/$n.out" "$rc" "$out/points.tsv" "$n")
        IFS=$'\t' read -r st np pok pbad psk why <<<"$line"
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "$st" "$np" "$pok" "$pbad" "$psk" "$secs" "$why" >>"$out/tests.tsv"
        case $st in
        pass) say "ok $i - $n # $pok ok, $psk skipped of $np points" ;;
        skip) say "ok $i - $n # SKIP all $np points skipped" ;;
        *) say "not ok $i - $n # $st: $why" ;;
        esac
    done
    rm -rf --one-file-system "$out/work" 2>/dev/null || true
    say "# points: $(awk -F'\t' '{ c[$2]++ }
        END { printf "%d ok, %d not ok, %d skipped", c["pass"], c["fail"], c["skip"] }' "$out/points.tsv")"
    say "$(awk -F'\t' '{ c[$2 == "timeout" ? "fail" : $2]++ }
        END { printf "passed %d failed %d skipped %d", c["pass"], c["fail"], c["skip"] }' "$out/tests.tsv")"
}

# The side-by-side table and the verdict for $1 (baseline) and $2.
compare() {
    local a=$out_base/$1 b=$out_base/$2 lost_points lost_tests pa pb
    echo
    printf '%-34s %-18s %-18s\n' test "$1" "$2"
    awk -F'\t' 'NR == FNR { r[$1] = $2 " " $4 "/" $3; next }
        { printf "%-34s %-18s %-18s\n", $1, $2 " " $4 "/" $3, ($1 in r) ? r[$1] : "-" }' \
        "$b/tests.tsv" "$a/tests.tsv"
    # A point counts where $2 fails its program: a program $2 passes by
    # refusing a config (process_capabilities_fail: an unknown capability
    # MUST be an error) has no points, where $1, running it anyway, has
    # hundreds.
    lost_points=$(awk -F'\t' 'FILENAME == ARGV[1] { if ($2 == "pass") passb[$1] = 1; next }
        FILENAME == ARGV[2] { if ($2 == "pass") okb[$1 "\t" $3] = 1; next }
        $2 == "pass" && !($1 in passb) && !(($1 "\t" $3) in okb) { print $1 ": " $3 }' \
        "$b/tests.tsv" "$b/points.tsv" "$a/points.tsv")
    lost_tests=$(awk -F'\t' 'NR == FNR { st[$1] = $2; next }
        $2 == "pass" && st[$1] != "pass" { print $1 " (" (st[$1] == "" ? "not run" : st[$1]) ")" }' \
        "$b/tests.tsv" "$a/tests.tsv")
    echo
    echo "# programs $1 passes that $2 does not: $(grep -c . <<<"$lost_tests" || true)"
    [ -z "$lost_tests" ] || sed 's/^/#   /' <<<"$lost_tests"
    echo "# points $1 passes that $2 does not: $(grep -c . <<<"$lost_points" || true)"
    [ -z "$lost_points" ] || sed 's/^/#   /' <<<"$lost_points"
    pa=$(awk -F'\t' '$2 == "pass"' "$a/tests.tsv" | wc -l)
    pb=$(awk -F'\t' '$2 == "pass"' "$b/tests.tsv" | wc -l)
    echo "$1: $(tail -1 "$a/summary")"
    echo "$2: $(tail -1 "$b/summary")"
    if [ -n "$lost_tests$lost_points" ] || [ "$pb" -lt "$pa" ]; then
        echo "verdict: FAIL ($2 must pass every program and point $1 passes, and at least $pa programs)"
        return 1
    fi
    echo "verdict: ok"
}

# The absolute path of runtime $1: a name on PATH, or a path from the
# caller's directory.
runtime_path() {
    local p
    case $1 in
    */*) p=$(cd "$caller_dir" && realpath -s "$1") ;;
    *) p=$(command -v "$1" || true) ;;
    esac
    if [ -z "$p" ] || [ ! -x "$p" ]; then
        echo "runtime-validation.sh: no runtime $1" >&2
        return 1
    fi
    echo "$p"
}

install_needed
build_suite

if [ $# -le 1 ]; then
    rt_path=$(runtime_path "${1:-${RUNTIME:-runc}}")
    run_suite "$rt_path" "$(basename "$rt_path")"
    exit 0
fi
names=()
for rt in "$1" "$2"; do
    rt_path=$(runtime_path "$rt")
    name=$(basename "$rt_path")
    [ "${#names[@]}" -eq 0 ] || [ "$name" != "${names[0]}" ] || name=$name-2
    names+=("$name")
    run_suite "$rt_path" "$name"
done
compare "${names[0]}" "${names[1]}" | tee "$out_base/compare"
