#!/usr/bin/env bash
# rdock-runtime against runc on the same bundle, in the same run:
#   1. `run` (create + start + wait + delete) of a busybox `true`;
#   2. create, start, wait for the exit (state polled), delete as separate
#      commands, as containerd's shim drives a runtime;
#   3. `ctr run --rm` through containerd's runc shim with each binary
#      (when containerd is installed; a private containerd is started).
#   bench/oci.sh [RUNS]      (as root; default 50)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-50}
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine; }
command -v runc >/dev/null || { apt-get update -qq && apt-get install -y -qq runc; }
cargo build --release -q
rt=$PWD/target/release/rdock-runtime
# The bench's temp dir and its cleanup (no rdock store is used here).
rdock=$PWD/target/release/rdock
source bench/lib.sh
bench_store oci
ctd_pid=
cleanup() {
    for r in runc "$rt"; do
        for id in $($r --root "$work/state-$(basename "$r")" list -q 2>/dev/null); do
            $r --root "$work/state-$(basename "$r")" delete --force "$id" || true
        done
    done
    if [ -n "$ctd_pid" ]; then
        for r in $(ls -d /run/containerd/runc/rdkbench 2>/dev/null); do rm -rf "$r"; done
        kill "$ctd_pid" 2>/dev/null || true
        pkill -9 -f -- "-address $work/c.sock" || true
        grep " $work" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l || true
        for h in /sys/fs/cgroup/*/; do rmdir "$h/rdkbench" 2>/dev/null || true; done
    fi
    bench_store_cleanup
}
trap cleanup EXIT

mkdir -p "$work/bundle/rootfs/bin"
cp /bin/busybox "$work/bundle/rootfs/bin/"
ln -s busybox "$work/bundle/rootfs/bin/true"
(cd "$work/bundle" && runc spec && sed -i 's/"terminal": true/"terminal": false/; s/"sh"/"true"/' config.json)

cat > "$work/steps.sh" <<'SH'
#!/bin/sh
# create, start, wait, delete as separate commands (a shim's sequence).
r=$1; root=$2; bundle=$3; id=b$$
$r --root "$root" create --bundle "$bundle" "$id" </dev/null >/dev/null 2>&1
$r --root "$root" start "$id"
while ! $r --root "$root" state "$id" | grep -q '"stopped"'; do :; done
$r --root "$root" delete "$id"
SH
chmod +x "$work/steps.sh"

cmds=()
for r in runc "$rt"; do
    n=$(basename "$r")
    cmds+=(-n "$n run" "$r --root $work/state-$n run -b $work/bundle b\$RANDOM")
done
for r in runc "$rt"; do
    n=$(basename "$r")
    cmds+=(-n "$n steps" "$work/steps.sh $r $work/state-$n $work/bundle")
done
if command -v containerd >/dev/null && command -v ctr >/dev/null; then
    cat > "$work/config.toml" <<TOML
version = 2
root = "$work/ctd-root"
state = "$work/ctd-state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$work/c.sock"
[ttrpc]
  address = "$work/c.sock.ttrpc"
[debug]
  address = "$work/debug.sock"
TOML
    containerd --config "$work/config.toml" >"$work/ctd.log" 2>&1 &
    ctd_pid=$!
    C="ctr -a $work/c.sock -n rdkbench"
    for _ in $(seq 100); do $C version >/dev/null 2>&1 && break; sleep 0.05; done
    tar -C "$work/bundle/rootfs" -c . | gzip > "$work/layer.tar.gz"
    # An image for containerd: the rootfs as a one-layer docker archive.
    python3 - "$work" <<'PY'
import hashlib, json, os, sys, tarfile, io
w = sys.argv[1]
layer = open(f"{w}/layer.tar.gz", "rb").read()
import gzip
diff = hashlib.sha256(gzip.decompress(layer)).hexdigest()
cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["true"]},
                  "rootfs": {"type": "layers", "diff_ids": [f"sha256:{diff}"]}}).encode()
cid = hashlib.sha256(cfg).hexdigest()
out = tarfile.open(f"{w}/image.tar", "w")
def add(name, data):
    ti = tarfile.TarInfo(name); ti.size = len(data); out.addfile(ti, io.BytesIO(data))
add(f"{cid}.json", cfg)
add("layer.tar", gzip.decompress(layer))
add("manifest.json", json.dumps([{"Config": f"{cid}.json", "RepoTags": ["docker.io/library/bench:latest"], "Layers": ["layer.tar"]}]).encode())
out.close()
PY
    $C images import "$work/image.tar" >/dev/null
    for r in runc "$rt"; do
        n=$(basename "$r")
        cmds+=(-n "$n ctr" "$C run --runc-binary $(command -v "$r" || echo "$r") --rm docker.io/library/bench:latest c\$RANDOM true")
    done
fi

results="$work/results.json"
hyperfine -N --warmup 3 --runs "$runs" --export-json "$results" "${cmds[@]}" >/dev/null 2>&1 || \
    hyperfine --warmup 3 --runs "$runs" --export-json "$results" "${cmds[@]}" >/dev/null

python3 - "$results" <<'PY'
import json, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
print(f"{'case':26} {'median':>10} {'mean':>10} {'min':>10}   runc/rdock-runtime")
for kind in ("run", "steps", "ctr"):
    a, b = res.get(f"runc {kind}"), res.get(f"rdock-runtime {kind}")
    for name, r in ((f"runc {kind}", a), (f"rdock-runtime {kind}", b)):
        if r:
            print(f"{name:26} {r['median']*1000:9.2f}ms {r['mean']*1000:9.2f}ms {r['min']*1000:9.2f}ms")
    if a and b:
        print(f"{'':26} {'':10} {'':10} {'':10}   {a['median']/b['median']:5.1f}x")
PY
