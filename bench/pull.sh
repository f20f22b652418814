#!/usr/bin/env bash
# Pull time from a loopback registry: rdock against `podman pull`, each into
# a fresh store every run, and `curl | tar -xz` of the same blobs (all
# layers at once) as the floor. Two images: five layers (~120 MB
# uncompressed, made from this host's /usr) and one layer.
#   bench/pull.sh [RUNS]      (as root; default 5 runs each)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
need=()
command -v hyperfine >/dev/null || need+=(hyperfine)
command -v skopeo >/dev/null || need+=(skopeo)
command -v curl >/dev/null || need+=(curl)
[ -x /usr/bin/docker-registry ] || need+=(docker-registry)
if [ ${#need[@]} -gt 0 ]; then apt-get update -qq && apt-get install -y -qq "${need[@]}"; fi
cargo build --release -q
rdock=$PWD/target/release/rdock
# BENCH_TMP=/dev/shm measures without the disk: ext4 inode allocation dominates here.
source bench/lib.sh
bench_store pullbench
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cleanup() {
    [ -n "${reg_pid:-}" ] && kill "$reg_pid" 2>/dev/null || true
    podman --root "$work/podman" --runroot "$work/podman-run" rmi -af >/dev/null 2>&1 || true
    bench_store_cleanup
}
trap cleanup EXIT
[ -n "${KEEP:-}" ] && trap - EXIT

cat > "$work/registry.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $work/registry
http:
  addr: 127.0.0.1:$port
EOF
/usr/bin/docker-registry serve "$work/registry.yml" >/dev/null 2>&1 &
reg_pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.05; done

# OCI layouts made by hand: gzip layers of host directories.
layout() { # name tag dirs...
    local name=$1 dir="$work/$1" tag=$2; shift 2
    mkdir -p "$dir/blobs/sha256"
    echo '{"imageLayoutVersion":"1.0.0"}' > "$dir/oci-layout"
    local layers="" diffs=""
    for d in "$@"; do
        tar -C / -cf "$work/l.tar" "$d"
        local diff; diff=$(sha256sum < "$work/l.tar" | cut -d' ' -f1)
        gzip -6 -c "$work/l.tar" > "$work/l.tgz"
        local dg; dg=$(sha256sum < "$work/l.tgz" | cut -d' ' -f1)
        local size; size=$(stat -c %s "$work/l.tgz")
        mv "$work/l.tgz" "$dir/blobs/sha256/$dg"
        layers+="${layers:+,}{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$dg\",\"size\":$size}"
        diffs+="${diffs:+,}\"sha256:$diff\""
    done
    rm -f "$work/l.tar"
    local cfg="{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[$diffs]}}"
    local cd; cd=$(printf %s "$cfg" | sha256sum | cut -d' ' -f1)
    printf %s "$cfg" > "$dir/blobs/sha256/$cd"
    local man="{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:$cd\",\"size\":${#cfg}},\"layers\":[$layers]}"
    local md; md=$(printf %s "$man" | sha256sum | cut -d' ' -f1)
    printf %s "$man" > "$dir/blobs/sha256/$md"
    echo "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:$md\",\"size\":${#man},\"annotations\":{\"org.opencontainers.image.ref.name\":\"$tag\"}}]}" > "$dir/index.json"
    skopeo copy -q --dest-tls-verify=false "oci:$dir:$tag" "docker://127.0.0.1:$port/$name:$tag"
    # The blob URLs, for the floor.
    grep -o 'sha256:[0-9a-f]*' <<<"$layers" | sed "s|^|http://127.0.0.1:$port/v2/$name/blobs/|" > "$work/$name.urls"
}
layout multi v1 usr/lib/python3.11 usr/lib/x86_64-linux-gnu/perl usr/share/perl usr/share/i18n usr/share/zoneinfo
layout single v1 usr/lib/python3.11

results=()
for img in multi single; do
    ref="127.0.0.1:$port/$img:v1"
    size=$(du -sb "$work/$img/blobs" | cut -f1)
    echo "== $img: $(wc -l < "$work/$img.urls") layer(s), $((size / 1000000)) MB compressed"
    floor="mkdir -p $work/floor && while read u; do (curl -sf \"\$u\" | tar -xzf - -C $work/floor) & done < $work/$img.urls; wait"
    hyperfine --runs "$runs" --export-json "$work/$img.json" \
        --prepare "rm -rf $work/rd $work/floor; podman --root $work/podman --runroot $work/podman-run rmi -af >/dev/null 2>&1 || true; sync" \
        -n rdock "$rdock --root $work/rd/root --runroot $work/rd/run pull -q $ref" \
        -n podman "podman --root $work/podman --runroot $work/podman-run pull -q --tls-verify=false $ref" \
        -n floor "bash -c '$floor'" >/dev/null
    python3 - "$work/$img.json" <<'PY'
import json, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
rd = res["rdock"]["median"]
for name in ("rdock", "podman", "floor"):
    r = res[name]
    print(f"  {name:7} median {r['median']*1000:8.0f} ms  mean {r['mean']*1000:8.0f} ms   rdock is {r['median']/rd:5.2f}x faster" if name != "rdock" else f"  {name:7} median {r['median']*1000:8.0f} ms  mean {r['mean']*1000:8.0f} ms")
print(f"  rdock / floor = {rd/res['floor']['median']:.2f}")
PY
done
