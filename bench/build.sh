#!/usr/bin/env bash
# Build speed: a 10-step Dockerfile (ENV, WORKDIR, COPY, 2 RUNs, LABEL,
# EXPOSE, USER, CMD on a busybox base) built cold (--no-cache) and fully
# cached, by rdock, `podman build` and `buildah bud` (whichever are
# installed), in the same run. Prints medians and ratios.
#   bench/build.sh [RUNS]      (as root; default 10 runs each)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine; }
cargo build --release -q
rdock=$PWD/target/release/rdock
source bench/lib.sh
bench_store bench
P="podman --root $work/podman --runroot $work/podman-run --runtime runc --cgroup-manager cgroupfs --events-backend none --storage-driver overlay"
B="buildah --root $work/podman --runroot $work/podman-run --storage-driver overlay"
cleanup() {
    $P rmi -af >/dev/null 2>&1 || true
    bench_store_cleanup
}
trap cleanup EXIT
RDOCK="$R" scripts/busybox-image.sh bench >/dev/null

ctx=$work/ctx
mkdir -p "$ctx"
echo data > "$ctx/f"
cat > "$ctx/Dockerfile" <<'EOF'
FROM bench
ENV APP=/app
WORKDIR /app
COPY f /app/f
RUN echo one > /app/one
RUN echo two > /app/two
LABEL a=b
EXPOSE 80
USER nobody
CMD ["cat", "/app/one"]
EOF

results="$work/results.json"
cmds=(-n "rdock cold" "$R build --no-cache -q --network none -t out $ctx"
      -n "rdock cached" "$R build -q --network none -t out $ctx")
$R build -q --network none -t out "$ctx" >/dev/null
if command -v podman >/dev/null; then
    # The same busybox tree as podman's base image.
    $R save bench | $P load >/dev/null
    $P tag docker.io/library/bench:latest localhost/bench:latest >/dev/null 2>&1 || true
    sed -i 's/^FROM bench/FROM localhost\/bench:latest/' "$ctx/Dockerfile" 2>/dev/null
    cp "$ctx/Dockerfile" "$ctx/Dockerfile.podman"
    sed -i 's/^FROM localhost\/bench:latest/FROM bench/' "$ctx/Dockerfile"
    PB="$P build --network none --ulimit nofile=1024:1024 --ulimit nproc=4096:4096 -q -f $ctx/Dockerfile.podman -t out"
    $PB "$ctx" >/dev/null
    cmds+=(-n "podman cold" "$PB --no-cache $ctx" -n "podman cached" "$PB $ctx")
fi
if command -v buildah >/dev/null; then
    BB="$B bud --runtime runc --isolation oci --network none --ulimit nofile=1024:1024 --ulimit nproc=4096:4096 -q -f $ctx/Dockerfile.podman -t outb"
    $BB "$ctx" >/dev/null
    cmds+=(-n "buildah cold" "$BB --no-cache $ctx" -n "buildah cached" "$BB --layers $ctx")
fi

hyperfine -N --warmup 1 --runs "$runs" --export-json "$results" "${cmds[@]}" >/dev/null 2>&1 || \
    hyperfine --warmup 1 --runs "$runs" --export-json "$results" "${cmds[@]}" >/dev/null

python3 - "$results" <<'PY'
import json, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
print(f"{'build':16} {'median':>10} {'mean':>10} {'min':>10}   vs rdock")
for name, r in res.items():
    base = res["rdock cold" if "cold" in name else "rdock cached"]["median"]
    print(f"{name:16} {r['median']*1000:9.1f}ms {r['mean']*1000:9.1f}ms {r['min']*1000:9.1f}ms   {r['median']/base:6.1f}x")
PY
