#!/usr/bin/env bash
# `commit` of a container that wrote 100 MB in 1000 files: rdock against
# podman in the same run, and against plain tar as the floor (the same
# upper dir tarred to a file, and copied through tar | tar, which is the
# least a commit must do: read the changes once, write a layer).
#   bench/commit.sh [RUNS]      (as root; default 5 runs each)
#   BENCH_TMP=DIR picks the file system (default /var/tmp).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine; }
cargo build --release -q
rdock=$PWD/target/release/rdock
source bench/lib.sh
BENCH_TMP=${BENCH_TMP:-/var/tmp}
bench_store commitbench
P="podman --root $work/podman --runroot $work/podman-run --runtime runc --cgroup-manager cgroupfs --events-backend none"
PO="--network none --ulimit nofile=1024:1024 --ulimit nproc=4096:4096"
have_podman=0; command -v podman >/dev/null && have_podman=1
cleanup() {
    if [ $have_podman = 1 ]; then $P rm -af >/dev/null 2>&1 || true; $P rmi -af >/dev/null 2>&1 || true; fi
    bench_store_cleanup
}
trap cleanup EXIT
write='mkdir /data && i=0; while [ $i -lt 1000 ]; do head -c 100000 /dev/urandom > /data/f$i; i=$((i+1)); done'
RDOCK="$R" scripts/busybox-image.sh bench >/dev/null
$R run --network none --name wr bench sh -c "$write"
upper=$work/root/containers/$($R inspect -f '{{.Id}}' wr)/upper
if [ $have_podman = 1 ]; then
    d=$(mktemp -d); mkdir -p "$d/bin"; cp /bin/busybox "$d/bin/"
    for a in sh head mkdir; do ln -s busybox "$d/bin/$a"; done
    tar -C "$d" -c . | $P import - bench >/dev/null 2>&1; rm -rf "$d"
    $P run $PO --name wr bench sh -c "$write"
fi
# hyperfine pairs the k-th --prepare with the k-th command.
args=(--warmup 1 --runs "$runs" --export-json "$work/commit.json"
    --prepare "rm -f $work/floor.tar; sync"
    --prepare "rm -rf $work/copy; mkdir $work/copy; sync"
    --prepare "$R image prune -f >/dev/null; sync")
cmds=(-n "tar > file (floor)" "tar -C $upper -cf $work/floor.tar ."
    -n "tar | tar (floor)" "tar -C $upper -cf - . | tar -C $work/copy -xf -"
    -n rdock "$R commit wr")
if [ $have_podman = 1 ]; then
    args+=(--prepare "sync")
    cmds+=(-n podman "$P commit wr")
fi
args+=("${cmds[@]}")
hyperfine "${args[@]}" >/dev/null
python3 - "$work/commit.json" <<'PY'
import json, sys
res = {r["command"]: r["median"] for r in json.load(open(sys.argv[1]))["results"]}
for name, m in res.items():
    print(f"{name:22} median {m*1000:8.1f} ms")
floor = res["tar | tar (floor)"]
print(f"rdock / (tar | tar) = {res['rdock']/floor:.2f}x", end="")
if "podman" in res:
    print(f"   podman / rdock = {res['podman']/res['rdock']:.2f}x")
else:
    print()
PY
