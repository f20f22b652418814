#!/usr/bin/env bash
# The Engine API service: `docker run --rm --network none IMG true` with the
# docker 28 CLI through rdock's socket against the same command through a
# Docker Engine (Debian's docker.io, a private data root), and rdock's own
# CLI, in one hyperfine run, with the docker CLI against an engine that
# does nothing (bench/null-engine.py: the client's own floor); then the API's create + wait + start + wait
# result (what `docker run --rm` asks, without the docker CLI's own
# start-up) from one process over the socket, against the rdock CLI's run.
#   bench/api.sh [RUNS]      (as root; default 50 runs each)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-50}
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine; }
cargo build --release -q
rdock=$PWD/target/release/rdock
docker=docker
[ -x /usr/local/bin/docker ] && docker=/usr/local/bin/docker
source bench/lib.sh
bench_store api
svc=
null=
cleanup() {
    [ -n "$svc" ] && kill "$svc" 2>/dev/null || true
    [ -n "$null" ] && kill "$null" 2>/dev/null || true
    scripts/docker-engine.sh stop "$work/dk" >/dev/null 2>&1 || true
    bench_store_cleanup
}
trap cleanup EXIT
RDOCK="$R" scripts/busybox-image.sh bench >/dev/null

$R system service --time 0 "unix://$work/rdock.sock" &
svc=$!
python3 bench/null-engine.py "$work/null.sock" &
null=$!
engine=$(scripts/docker-engine.sh start "$work/dk")
$R save bench | $docker -H "$engine" load >/dev/null
for _ in $(seq 100); do [ -S "$work/rdock.sock" ] && [ -S "$work/null.sock" ] && break; sleep 0.05; done

results="$work/results.json"
hyperfine -N --warmup 3 --runs "$runs" --export-json "$results" \
    -n "docker CLI -> rdock API" "$docker -H unix://$work/rdock.sock run --rm --network none bench true" \
    -n "docker CLI -> dockerd" "$docker -H $engine run --rm --network none bench true" \
    -n "rdock CLI" "$R run --rm --network none bench true" \
    -n "docker CLI -> null engine" "$docker -H unix://$work/null.sock run --rm --network none bench true" >/dev/null

python3 - "$results" "$work/rdock.sock" "$runs" <<'PY'
import http.client, json, socket, statistics, sys, time

res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
base = res["docker CLI -> rdock API"]["median"]
print(f"{'command':26} {'median':>10} {'mean':>10} {'min':>10}   vs rdock API")
for name, r in res.items():
    print(f"{name:26} {r['median']*1000:9.2f}ms {r['mean']*1000:9.2f}ms {r['min']*1000:9.2f}ms   {r['median']/base:6.2f}x")

floor = res["docker CLI -> null engine"]["median"]
api_own = base - floor
dk_own = res["docker CLI -> dockerd"]["median"] - floor
print(f"\nbeyond the docker CLI's own {floor*1000:.2f} ms: rdock API {api_own*1000:.2f} ms,"
      f" dockerd {dk_own*1000:.2f} ms ({dk_own/api_own:.1f}x)")

class Unix(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost")
        self.path = path
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)

def call(conn, method, url, body=None):
    conn.request(method, url, body=json.dumps(body) if body is not None else None,
                 headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    return r.status, r.read()

sock, runs = sys.argv[2], int(sys.argv[3])
times = []
for i in range(runs + 3):
    t0 = time.perf_counter()
    a, w = Unix(sock), Unix(sock)
    st, body = call(a, "POST", "/v1.50/containers/create",
                    {"Image": "bench", "Cmd": ["true"],
                     "HostConfig": {"AutoRemove": True, "NetworkMode": "none"}})
    cid = json.loads(body)["Id"]
    # As docker's CLI: the wait is asked before the start.
    w.request("POST", f"/v1.50/containers/{cid}/wait?condition=removed")
    wr = w.getresponse()
    st, _ = call(a, "POST", f"/v1.50/containers/{cid}/start")
    assert st == 204, st
    assert json.loads(wr.read())["StatusCode"] == 0
    a.close(); w.close()
    if i >= 3:
        times.append(time.perf_counter() - t0)
api = statistics.median(times)
cli = res["rdock CLI"]["median"]
print(f"\nAPI create+wait+start+wait (one client process, {runs} runs): median {api*1000:.2f} ms"
      f" against the rdock CLI's run {cli*1000:.2f} ms: {1000*(api-cli):+.2f} ms")
PY
