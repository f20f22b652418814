#!/usr/bin/env bash
# `save` and `load` of a ~200 MB one-layer image (2,000 files of 100 KB of
# random bytes, imported from a tar): rdock against podman in the same run,
# and plain tar as the floor (`tar -cf` of the image's files for save,
# `tar -xf` of its layer for load). Every tool starts from the page cache.
#   bench/archive.sh [RUNS]      (as root; default 7 runs each)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-7}
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
need=()
command -v hyperfine >/dev/null || need+=(hyperfine)
command -v podman >/dev/null || need+=(podman)
if [ ${#need[@]} -gt 0 ]; then apt-get update -qq && apt-get install -y -qq "${need[@]}"; fi
cargo build --release -q
rdock=${CARGO_TARGET_DIR:-$PWD/target}/release/rdock
# BENCH_TMP=/dev/shm measures without the disk.
source bench/lib.sh
bench_store archbench
pm() { podman --root "$work/pm" --runroot "$work/pm-run" --cgroup-manager cgroupfs "$@"; }
pl() { podman --root "$work/pl" --runroot "$work/pl-run" --cgroup-manager cgroupfs "$@"; }
cleanup() {
    pm rmi -af >/dev/null 2>&1 || true
    pl rmi -af >/dev/null 2>&1 || true
    bench_store_cleanup
}
trap cleanup EXIT
[ -n "${KEEP:-}" ] && trap - EXIT

python3 - "$work/rootfs" <<'PY'
import os, sys
root = sys.argv[1]
for d in range(20):
    os.makedirs(f"{root}/data/d{d:02}", exist_ok=True)
    for f in range(100):
        with open(f"{root}/data/d{d:02}/f{f:03}", "wb") as fh:
            fh.write(os.urandom(100_000))
PY
tar -C "$work/rootfs" -cf "$work/rootfs.tar" .
"$rdock" --root "$work/rd/root" --runroot "$work/rd/run" import "$work/rootfs.tar" bench:1 >/dev/null
pm import -q "$work/rootfs.tar" localhost/bench:1 >/dev/null
# The archive both loaders read: rdock's docker-archive (podman loads it too).
"$rdock" --root "$work/rd/root" --runroot "$work/rd/run" save -o "$work/image.tar" bench:1
mkdir -p "$work/out"
echo "image: $(($(stat -c %s "$work/rootfs.tar") / 1000000)) MB, 2000 files, one layer"

report() { # json
    python3 - "$1" <<'PY'
import json, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
rd = res["rdock"]["median"]
for name in ("rdock", "podman", "tar"):
    r = res[name]
    line = f"  {name:7} median {r['median']*1000:7.0f} ms  mean {r['mean']*1000:7.0f} ms  min {r['min']*1000:7.0f} ms"
    if name != "rdock":
        line += f"   ({r['median']/rd:4.2f}x rdock's time)"
    print(line)
print(f"  rdock / tar floor = {rd/res['tar']['median']:.2f}")
PY
}

# Each tool removes only its own output before a run, then waits for the
# disk to settle (a delete's discards can slow the next writer for seconds).
settle="sync; sleep ${SETTLE:-2}"
echo "== save (to a file)"
hyperfine --runs "$runs" --export-json "$work/save.json" \
    --prepare "rm -f $work/out/rd.tar; $settle" \
    --prepare "rm -f $work/out/pm.tar; $settle" \
    --prepare "rm -f $work/out/tar.tar; $settle" \
    -n rdock "$rdock --root $work/rd/root --runroot $work/rd/run save -o $work/out/rd.tar bench:1" \
    -n podman "podman --root $work/pm --runroot $work/pm-run save -q -o $work/out/pm.tar localhost/bench:1" \
    -n tar "tar -cf $work/out/tar.tar -C $work/rootfs ." >/dev/null
report "$work/save.json"
rm -f "$work"/out/*

echo "== load (from a file, into an empty store)"
hyperfine --runs "$runs" --export-json "$work/load.json" \
    --prepare "rm -rf $work/ld; $settle" \
    --prepare "podman --root $work/pl --runroot $work/pl-run rmi -af >/dev/null 2>&1 || true; rm -rf $work/pl $work/pl-run; $settle" \
    --prepare "rm -rf $work/tx; mkdir -p $work/tx; $settle" \
    -n rdock "$rdock --root $work/ld/root --runroot $work/ld/run load -q -i $work/image.tar" \
    -n podman "podman --root $work/pl --runroot $work/pl-run load -q -i $work/image.tar" \
    -n tar "tar -xf $work/rootfs.tar -C $work/tx" >/dev/null
report "$work/load.json"
