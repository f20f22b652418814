#!/usr/bin/env bash
# What confinement costs: `run --rm IMG true` with docker's default seccomp
# profile (rdock's default) against `--security-opt seccomp=unconfined`,
# and with no_new_privileges on top, --network none (no bridge work in
# the figure).
#   bench/seccomp.sh [RUNS]      (as root; default 50 runs each)
# Uses $CARGO_TARGET_DIR if set (release build).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-50}
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine; }
cargo build --release -q
rdock=${CARGO_TARGET_DIR:-$PWD/target}/release/rdock
work=$(mktemp -d /tmp/rdock-seccompbench.XXXXXX)
cat > "$work/daemon.json" <<JSON
{"bridge": "rdbench1", "bip": "10.197.0.1/24", "firewall-table": "rdock_bench_sc"}
JSON
export RDOCK_DAEMON_CONFIG=$work/daemon.json
R="$rdock --root $work/root --runroot $work/run"
cleanup() {
    $R rm -f $($R ps -aq) >/dev/null 2>&1 || true
    grep " $work" /proc/mounts | awk '{print $2}' | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    ip link del rdbench1 2>/dev/null || true
    nft delete table ip rdock_bench_sc 2>/dev/null || true
    rm -f /run/rdock-firewall-rdock_bench_sc.lock
    rm -rf "$work"
}
trap cleanup EXIT
RDOCK="$R" scripts/busybox-image.sh bench >/dev/null
hyperfine -N --warmup 5 --runs "$runs" --export-json "$work/bench.json" \
    -n "default profile" "$R run --rm --network none bench true" \
    -n "seccomp=unconfined" "$R run --rm --network none --security-opt seccomp=unconfined bench true" \
    -n "default + no-new-privileges" "$R run --rm --network none --security-opt no-new-privileges bench true" \
    >/dev/null
python3 - "$work/bench.json" <<'PY'
import json, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
base = res["seccomp=unconfined"]
for name, r in res.items():
    d = (r["median"] - base["median"]) * 1000
    print(f"{name:28} median {r['median']*1000:6.2f} ms  mean {r['mean']*1000:6.2f} ms ± {r['stddev']*1000:5.2f}"
          + ("" if r is base else f"   ({d:+.2f} ms vs unconfined)"))
PY
