#!/usr/bin/env bash
# What the default confinement plus limits cost at start (issue 7's
# budget: at most 2 ms): `run --rm IMG true` bare (seccomp=unconfined, no
# limits) against docker's default seccomp profile with a memory and a
# pids limit, and each of the two alone. --network none keeps bridge work
# out of the figure.
#   bench/confinement.sh [RUNS]      (as root; default 100 runs each)
# Uses $CARGO_TARGET_DIR if set (release build).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-100}
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine; }
cargo build --release -q
rdock=${CARGO_TARGET_DIR:-$PWD/target}/release/rdock
source bench/lib.sh
BENCH_BRIDGE=rdbench2 BENCH_TABLE=rdock_bench_cf BENCH_NET=10.196.0
bench_store confbench
cleanup() {
    bench_store_cleanup
}
trap cleanup EXIT
RDOCK="$R" scripts/busybox-image.sh bench >/dev/null
names=("bare" "seccomp" "limits" "seccomp + limits")
base="$R run --rm --network none"
lim="-m 256m --pids-limit 512"
cmds=("$base --security-opt seccomp=unconfined bench true"
      "$base bench true"
      "$base --security-opt seccomp=unconfined $lim bench true"
      "$base $lim bench true")
# Rounds in rotated order, pooled: a drifting background load then lands
# on every variant alike.
rounds=10
per=$(( (runs + rounds - 1) / rounds ))
for ((i = 0; i < rounds; i++)); do
    args=()
    for ((j = 0; j < 4; j++)); do
        k=$(( (i + j) % 4 ))
        args+=(-n "${names[$k]}" "${cmds[$k]}")
    done
    hyperfine -N --warmup 2 --runs "$per" --export-json "$work/round$i.json" "${args[@]}" >/dev/null 2>&1
done
python3 - "$work" "$rounds" <<'PY'
import json, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
times = {}
for i in range(rounds):
    for r in json.load(open(f"{work}/round{i}.json"))["results"]:
        times.setdefault(r["command"], []).extend(r["times"])
base = statistics.median(times["bare"])
print(f"run --rm --network none bench true, {len(times['bare'])} runs each, {rounds} rotated rounds:")
for name, t in times.items():
    m = statistics.median(t)
    extra = "" if name == "bare" else f"   ({(m - base) * 1000:+.2f} ms vs bare)"
    print(f"  {name:18} median {m * 1000:6.2f} ms  mean {statistics.mean(t) * 1000:6.2f} ms{extra}")
PY
