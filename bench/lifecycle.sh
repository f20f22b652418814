#!/usr/bin/env bash
# Detached-container operations, rdock against podman in the same run:
# `run -d` until the ID is printed, `exec true`, `stop -t 0`, and
# `logs --tail 10` of a container that wrote 100 MB.
#   bench/lifecycle.sh [RUNS]      (as root; default 20 runs each)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine; }
cargo build --release -q
rdock=$PWD/target/release/rdock
source bench/lib.sh
bench_store lcbench
P="podman --root $work/podman --runroot $work/podman-run --runtime runc --cgroup-manager cgroupfs --events-backend none"
PO="--network none --ulimit nofile=1024:1024 --ulimit nproc=4096:4096"
have_podman=0; command -v podman >/dev/null && have_podman=1
cleanup() {
    if [ $have_podman = 1 ]; then $P rm -af >/dev/null 2>&1 || true; $P rmi -af >/dev/null 2>&1 || true; fi
    bench_store_cleanup
}
trap cleanup EXIT
RDOCK="$R" scripts/busybox-image.sh bench >/dev/null
if [ $have_podman = 1 ]; then
    d=$(mktemp -d); mkdir -p "$d/bin"; cp /bin/busybox "$d/bin/"
    for a in sh sleep true yes head; do ln -s busybox "$d/bin/$a"; done
    tar -C "$d" -c . | $P import - bench >/dev/null; rm -rf "$d"
fi
# Long-lived targets for exec, and the 100 MB logs.
$R run -d --name target bench sleep 600 >/dev/null
$R run -d --name big bench sh -c 'yes 0123456789012345678901234567890123456789 | head -c 100000000' >/dev/null
$R wait big >/dev/null
if [ $have_podman = 1 ]; then
    $P run -d $PO --name target bench sleep 600 >/dev/null
    $P run -d $PO --name big bench sh -c 'yes 0123456789012345678901234567890123456789 | head -c 100000000' >/dev/null
    $P wait big >/dev/null
fi
bench() { # name rdock-cmd podman-cmd [prepare-rdock prepare-podman]
    local args=(--warmup 2 --runs "$runs" --export-json "$work/$1.json")
    if [ -n "${4:-}" ]; then
        # Prepare steps need a shell (hyperfine subtracts its start-up).
        args+=(--prepare "$4" -n rdock "$2")
        [ $have_podman = 1 ] && args+=(--prepare "$5" -n podman "$3")
    else
        args=(-N "${args[@]}" -n rdock "$2")
        [ $have_podman = 1 ] && args+=(-n podman "$3")
    fi
    hyperfine "${args[@]}" >/dev/null
    python3 - "$work/$1.json" "$1" <<'PY'
import json, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
line = f"{sys.argv[2]:22} rdock {res['rdock']['median']*1000:8.1f} ms"
if "podman" in res:
    line += f"   podman {res['podman']['median']*1000:8.1f} ms   ({res['podman']['median']/res['rdock']['median']:.1f}x)"
print(line)
PY
}
bench "run -d" "$R run -d bench sleep 600" "$P run -d $PO bench sleep 600"
bench "exec true" "$R exec target true" "$P exec target true"
bench "stop -t 0" "$R stop -t 0 stopme" "$P stop -t 0 stopme" \
    "$R  rm -f stopme >/dev/null 2>&1; $R run -d --name stopme bench sleep 600" \
    "$P  rm -f stopme >/dev/null 2>&1; $P run -d $PO --name stopme bench sleep 600"
bench "logs --tail 10 (100MB)" "$R logs --tail 10 big" "$P logs --tail 10 big"
