#!/usr/bin/env bash
# A private Docker Engine (Debian's docker.io) for comparing rdock with
# docker, leaving the host's network, cgroups and /var/lib/docker alone:
#   scripts/docker-engine.sh start DIR [BRIDGE CIDR]   prints the DOCKER_HOST
#   scripts/docker-engine.sh stop DIR
# The engine is target/test-data/docker-engine's (Debian 13's docker.io,
# which scripts/test.sh unpacks there) when present, else dockerd on PATH.
# DIR holds the data root, exec root, socket and log. With BRIDGE (a name
# of at most 15 characters) and CIDR (e.g. 172.31.250.1/24), the engine's
# default network is a bridge the script makes (and removes on stop);
# without, the engine has no default bridge. No iptables rules, no
# ip_forward change; containers' cgroups live under /rdock-dk-<DIR's name>.
# DOCKER_ENGINE_POOL (e.g. base=10.150.0.0/16,size=24) sets the engine's
# default address pool, for networks made without --subnet.
set -euo pipefail
cmd=${1:?usage: docker-engine.sh start|stop DIR [BRIDGE CIDR]}
dir=${2:?usage: docker-engine.sh start|stop DIR [BRIDGE CIDR]}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
parent="rdock-dk-$(basename "$dir")"

cgroup_dirs() {
    for h in /sys/fs/cgroup /sys/fs/cgroup/*; do
        [ -d "$h/$parent" ] && echo "$h/$parent"
    done
    return 0
}

case $cmd in
start)
    dockerd=dockerd proxy_args=()
    newer="$(cd "$(dirname "$0")/.." && pwd)/target/test-data/docker-engine/usr/sbin"
    if [ -x "$newer/dockerd" ]; then
        dockerd=$newer/dockerd
        proxy_args=(--userland-proxy-path "$newer/docker-proxy")
    fi
    command -v "$dockerd" >/dev/null || {
        echo "docker-engine.sh: dockerd not found (scripts/test.sh fetches it)" >&2
        exit 1
    }
    bridge_args=(--bridge=none)
    if [ $# -ge 4 ]; then
        ip link add "$3" type bridge
        ip addr add "$4" dev "$3"
        ip link set "$3" up
        echo "$3" >"$dir/bridge"
        bridge_args=(--bridge="$3")
    fi
    pool_args=()
    [ -z "${DOCKER_ENGINE_POOL:-}" ] || pool_args=(--default-address-pool "$DOCKER_ENGINE_POOL")
    "$dockerd" --data-root "$dir/data" --exec-root "$dir/exec" \
        -H "unix://$dir/docker.sock" --pidfile "$dir/dockerd.pid" \
        --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false \
        "${bridge_args[@]}" "${pool_args[@]}" --cgroup-parent "/$parent" \
        --storage-driver overlay2 --userland-proxy=true "${proxy_args[@]}" \
        >"$dir/dockerd.log" 2>&1 </dev/null &
    for _ in $(seq 300); do
        if [ -S "$dir/docker.sock" ] &&
            docker -H "unix://$dir/docker.sock" version >/dev/null 2>&1; then
            echo "unix://$dir/docker.sock"
            exit 0
        fi
        kill -0 $! 2>/dev/null || break
        sleep 0.1
    done
    echo "docker-engine.sh: dockerd did not start; its log:" >&2
    tail -20 "$dir/dockerd.log" >&2
    exit 1
    ;;
stop)
    sock="unix://$dir/docker.sock"
    if [ -S "$dir/docker.sock" ]; then
        ids=$(docker -H "$sock" ps -aq 2>/dev/null || true)
        # shellcheck disable=SC2086
        [ -z "$ids" ] || docker -H "$sock" rm -f $ids >/dev/null 2>&1 || true
    fi
    if [ -s "$dir/dockerd.pid" ]; then
        pid=$(cat "$dir/dockerd.pid")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 200); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$pid" 2>/dev/null || true
    fi
    # The engine's own containerd (and shims) exit with it; anything left
    # under DIR is killed so the mounts can go.
    for p in $(pgrep -f -- "$dir/" || true); do kill -9 "$p" 2>/dev/null || true; done
    { grep -F " $dir/" /proc/self/mountinfo || true; } | awk '{print $5}' |
        sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
    for c in $(cgroup_dirs | sort -r); do
        find "$c" -depth -type d -exec rmdir {} \; 2>/dev/null || true
    done
    if [ -s "$dir/bridge" ]; then
        ip link del "$(cat "$dir/bridge")" 2>/dev/null || true
    fi
    rm -rf "$dir"
    ;;
*)
    echo "usage: docker-engine.sh start|stop DIR [BRIDGE CIDR]" >&2
    exit 2
    ;;
esac
