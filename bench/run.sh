#!/usr/bin/env bash
# Container start latency: `rdock run --rm --network none IMG true` against
# `podman run --rm --network none` and `runc run` of a prepared bundle
# (whichever are installed), in the same run, and the kernel's floor: the
# same namespaces made by unshare(1) and a chroot to the same busybox tree
# (no cgroup, no overlay, no rdock). Prints medians and ratios.
#   bench/run.sh [RUNS]      (as root; default 50 runs each)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-50}
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine; }
cargo build --release -q
rdock=$PWD/target/release/rdock
source bench/lib.sh
bench_store bench
cleanup() {
    podman --root "$work/podman" --runroot "$work/podman-run" rmi -af >/dev/null 2>&1 || true
    bench_store_cleanup
}
trap cleanup EXIT
RDOCK="$R" scripts/busybox-image.sh bench >/dev/null

results="$work/results.json"
cmds=(-n rdock "$R run --rm --network none bench true")

mkdir -p "$work/floor/bin" "$work/floor/proc"
cp /bin/busybox "$work/floor/bin/"
ln -s busybox "$work/floor/bin/true"
cmds+=(-n floor "unshare -m -p -f -u -i -n --mount-proc chroot $work/floor /bin/true")

if command -v runc >/dev/null; then
    mkdir -p "$work/bundle/rootfs"
    # The bundle's rootfs is the same busybox tree.
    tar -C "$work/bundle/rootfs" -xf <(
        d=$(mktemp -d); mkdir -p "$d/bin"; cp /bin/busybox "$d/bin/"; ln -s busybox "$d/bin/true"; ln -s busybox "$d/bin/sh"; tar -C "$d" -c .; rm -rf "$d")
    (cd "$work/bundle" && runc spec && sed -i 's/"terminal": true/"terminal": false/; s/"sh"/"true"/' config.json)
    # A foreground `runc run` deletes its container as it ends: one name
    # does for every run, and hyperfine needs no shell (-N).
    cmds+=(-n runc "runc --root $work/runc run -b $work/bundle bench")
fi
if command -v podman >/dev/null; then
    P="podman --root $work/podman --runroot $work/podman-run --runtime runc --cgroup-manager cgroupfs --events-backend none"
    # Same image for podman: an OCI archive of the busybox tree.
    d=$(mktemp -d); mkdir -p "$d/bin"; cp /bin/busybox "$d/bin/"; ln -s busybox "$d/bin/true"
    tar -C "$d" -c . | $P import - bench >/dev/null
    rm -rf "$d"
    cmds+=(-n podman "$P run --rm --network none --ulimit nofile=1024:1024 --ulimit nproc=4096:4096 bench true")
fi

hyperfine -N --warmup 3 --runs "$runs" --export-json "$results" "${cmds[@]}" >/dev/null 2>&1 || \
    hyperfine --warmup 3 --runs "$runs" --export-json "$results" "${cmds[@]}" >/dev/null

python3 - "$results" <<'PY'
import json, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
base = res["rdock"]["median"]
print(f"{'tool':8} {'median':>10} {'mean':>10} {'min':>10}   vs rdock")
for name, r in res.items():
    print(f"{name:8} {r['median']*1000:9.2f}ms {r['mean']*1000:9.2f}ms {r['min']*1000:9.2f}ms   {r['median']/base:6.1f}x")
print(f"\nrdock is {base/res['floor']['median']:.2f}x the floor")
PY
