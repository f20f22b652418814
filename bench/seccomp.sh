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
source bench/lib.sh
BENCH_BRIDGE=rdbench1 BENCH_TABLE=rdock_bench_sc BENCH_NET=10.197.0
bench_store seccompbench
cleanup() {
    bench_store_cleanup
}
trap cleanup EXIT
RDOCK="$R" scripts/busybox-image.sh bench >/dev/null
# The machine may be shared and noisy: runs are made in rounds, each in a
# rotated order, and the figures pooled, so drift in the background load
# does not land on one variant.
names=("default profile" "seccomp=unconfined" "default + no-new-privileges")
cmds=("$R run --rm --network none bench true"
      "$R run --rm --network none --security-opt seccomp=unconfined bench true"
      "$R run --rm --network none --security-opt no-new-privileges bench true")
rounds=10
per=$(( (runs + rounds - 1) / rounds ))
for ((i = 0; i < rounds; i++)); do
    args=()
    for ((j = 0; j < 3; j++)); do
        k=$(( (i + j) % 3 ))
        args+=(-n "${names[$k]}" "${cmds[$k]}")
    done
    hyperfine -N --warmup 2 --runs "$per" --export-json "$work/round$i.json" "${args[@]}" >/dev/null 2>&1
done
# The filter's own cost per syscall: 1M read+write pairs.
dd="dd if=/dev/zero of=/dev/null bs=1 count=1000000"
hyperfine -N --warmup 1 --runs 5 --export-json "$work/dd.json" \
    -n "dd default profile" "$R run --rm --network none bench $dd" \
    -n "dd seccomp=unconfined" "$R run --rm --network none --security-opt seccomp=unconfined bench $dd" \
    >/dev/null 2>&1
python3 - "$work" "$rounds" <<'PY'
import json, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
times = {}
for i in range(rounds):
    for r in json.load(open(f"{work}/round{i}.json"))["results"]:
        times.setdefault(r["command"], []).extend(r["times"])
base = statistics.median(times["seccomp=unconfined"])
n = len(times["seccomp=unconfined"])
print(f"run --rm --network none bench true, {n} runs each, pooled over {rounds} rotated rounds:")
for name, t in times.items():
    m = statistics.median(t)
    extra = "" if name == "seccomp=unconfined" else f"   ({(m - base) * 1000:+.2f} ms vs unconfined)"
    print(f"  {name:28} median {m * 1000:6.2f} ms  mean {statistics.mean(t) * 1000:6.2f} ms{extra}")
dd = {r["command"]: r for r in json.load(open(f"{work}/dd.json"))["results"]}
a, b = dd["dd default profile"]["median"], dd["dd seccomp=unconfined"]["median"]
print(f"2M syscalls (dd bs=1 count=1000000): default {a * 1000:.0f} ms, unconfined {b * 1000:.0f} ms, "
      f"{(a - b) / 2e6 * 1e9:+.0f} ns per syscall")
PY
