#!/usr/bin/env bash
# Memory of the process that keeps a detached container: rdock's monitor
# against podman's conmon, idle and while the container writes output.
#   bench/monitor.sh     (as root)
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
cargo build --release -q
rdock=$PWD/target/release/rdock
source bench/lib.sh
bench_store monbench
P="podman --root $work/podman --runroot $work/podman-run --runtime runc --cgroup-manager cgroupfs --events-backend none"
cleanup() {
    $R rm -f idle busy >/dev/null 2>&1 || true
    $P rm -f idle busy >/dev/null 2>&1 || true
    $P rmi -af >/dev/null 2>&1 || true
    bench_store_cleanup
}
trap cleanup EXIT
RDOCK="$R" scripts/busybox-image.sh bench >/dev/null
busy='while true; do echo tick; echo err >&2; sleep 0.05; done'
$R run -d --name idle bench sleep 60 >/dev/null
$R run -d --name busy bench sh -c "$busy" >/dev/null
have_podman=0
if command -v podman >/dev/null; then
    d=$(mktemp -d); mkdir -p "$d/bin"; cp /bin/busybox "$d/bin/"
    for a in sh sleep echo; do ln -s busybox "$d/bin/$a"; done
    tar -C "$d" -c . | $P import - bench >/dev/null; rm -rf "$d"
    opts="--network none --ulimit nofile=1024:1024 --ulimit nproc=4096:4096"
    $P run -d $opts --name idle bench sleep 60 >/dev/null
    $P run -d $opts --name busy bench sh -c "$busy" >/dev/null
    have_podman=1
fi
sleep 3
rss() { awk '/VmRSS/{print $2}' "/proc/$1/status"; }
parent() { awk '{print $4}' "/proc/$1/stat"; }
for c in idle busy; do
    mon=$(parent "$($R inspect -f '{{.State.Pid}}' $c)")
    line="$c: rdock monitor $(rss "$mon") kB"
    if [ $have_podman = 1 ]; then
        conmon=$(parent "$($P inspect -f '{{.State.Pid}}' $c)")
        line+=", conmon $(rss "$conmon") kB"
    fi
    echo "$line"
done
