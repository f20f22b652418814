#!/usr/bin/env bash
# `stats --no-stream` over 50 running containers (`sleep 600`), rdock
# against podman in the same run. rdock's default table waits docker's one
# second between two samples for CPU %; a format without .CPUPerc takes
# one sample, which is the cost of reading 50 containers.
#   bench/stats.sh [RUNS]      (as root; default 10 runs each)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
n=50
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine; }
cargo build --release -q
rdock=${CARGO_TARGET_DIR:-$PWD/target}/release/rdock
source bench/lib.sh
bench_store statsbench
P="podman --root $work/podman --runroot $work/podman-run --runtime runc --cgroup-manager cgroupfs --events-backend none"
PO="--network none --ulimit nofile=1024:1024 --ulimit nproc=4096:4096"
have_podman=0; command -v podman >/dev/null && have_podman=1
cleanup() {
    if [ $have_podman = 1 ]; then $P rm -af -t 0 >/dev/null 2>&1 || true; $P rmi -af >/dev/null 2>&1 || true; fi
    bench_store_cleanup
}
trap cleanup EXIT
RDOCK="$R" scripts/busybox-image.sh bench >/dev/null
for i in $(seq $n); do $R run -d --network none --name s$i bench sleep 600 >/dev/null; done
if [ $have_podman = 1 ]; then
    d=$(mktemp -d); mkdir -p "$d/bin"; cp /bin/busybox "$d/bin/"
    for a in sh sleep; do ln -s busybox "$d/bin/$a"; done
    tar -C "$d" -c . | $P import - bench >/dev/null 2>&1; rm -rf "$d"
    for i in $(seq $n); do $P run -d $PO --name s$i bench sleep 600 >/dev/null; done
fi
[ "$($R stats --no-stream --format '{{.Name}}' | wc -l)" = $n ] || { echo "rdock: not $n rows" >&2; exit 1; }
args=(-N --warmup 1 --runs "$runs" --export-json "$work/stats.json"
    -n "rdock (default table)" "$R stats --no-stream"
    -n "rdock (no CPU column)" "$R stats --no-stream --format 'table {{.Name}}\t{{.MemUsage}}\t{{.PIDs}}'")
if [ $have_podman = 1 ]; then
    [ "$($P stats --no-stream --format '{{.Name}}' | wc -l)" = $n ] || { echo "podman: not $n rows" >&2; exit 1; }
    args+=(-n podman "$P stats --no-stream")
fi
hyperfine "${args[@]}" >/dev/null
python3 - "$work/stats.json" "$n" <<'PY'
import json, sys
res = {r["command"]: r["median"] for r in json.load(open(sys.argv[1]))["results"]}
print(f"stats --no-stream, {sys.argv[2]} running containers")
for name, m in res.items():
    print(f"{name:24} median {m*1000:8.1f} ms")
PY
