#!/usr/bin/env bash
# Bridge networking, rdock against podman in the same run:
# `run --rm IMG true` on the default bridge, with `-p`, and (for reference)
# with --network none.
#   bench/network.sh [RUNS]      (as root; default 30 runs each)
# rdock uses its own bridge, subnet and nftables table here (bench/lib.sh),
# so the host's rdock0 is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-30}
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine; }
cargo build --release -q
rdock=$PWD/target/release/rdock
source bench/lib.sh
bench_store netbench
P="podman --root $work/podman --runroot $work/podman-run --runtime runc --cgroup-manager cgroupfs --events-backend none"
PO="--ulimit nofile=1024:1024 --ulimit nproc=4096:4096"
have_podman=0; command -v podman >/dev/null && have_podman=1
cleanup() {
    if [ $have_podman = 1 ]; then $P rm -af >/dev/null 2>&1 || true; $P rmi -af >/dev/null 2>&1 || true; fi
    bench_store_cleanup
}
trap cleanup EXIT
RDOCK="$R" scripts/busybox-image.sh bench >/dev/null
if [ $have_podman = 1 ]; then
    d=$(mktemp -d); mkdir -p "$d/bin"; cp /bin/busybox "$d/bin/"
    for a in sh true; do ln -s busybox "$d/bin/$a"; done
    tar -C "$d" -c . | $P import - bench >/dev/null 2>&1; rm -rf "$d"
    # podman's first bridge run sets up its network: not part of the figure.
    $P run --rm $PO bench true >/dev/null 2>&1 || have_podman=0
fi
bench() { # name rdock-args podman-args
    local args=(-N --warmup 3 --runs "$runs" --export-json "$work/bench.json" -n rdock "$R run --rm $2 bench true")
    [ $have_podman = 1 ] && args+=(-n podman "$P run --rm $PO $3 bench true")
    hyperfine "${args[@]}" >/dev/null
    python3 - "$work/bench.json" "$1" <<'PY'
import json, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
r = res["rdock"]
line = f"{sys.argv[2]:26} rdock median {r['median']*1000:7.1f} ms mean {r['mean']*1000:7.1f} ms"
if "podman" in res:
    p = res["podman"]
    line += f"   podman median {p['median']*1000:7.1f} ms   ({p['median']/r['median']:.1f}x)"
print(line)
PY
}
bench "--network none" "--network none" "--network none"
bench "default bridge" "" ""
bench "bridge -p 127.0.0.1::80" "-p 127.0.0.1::80" "-p 127.0.0.1::80"
