# Shared by the bench scripts (source it): a private store and a private
# network config for rdock, and the cleanup of both.
#
#   bench_store NAME     sets $work (a new temp dir; $BENCH_TMP or /tmp),
#                        $R (rdock on a store in it) and a daemon.json whose
#                        bridge, subnet and nftables table are the bench's
#                        own, so no bench creates or touches the host's
#                        rdock0 bridge and `rdock` table, whatever network
#                        its containers use.
#   bench_store_cleanup  removes the store's containers and mounts, the
#                        bridge and firewall table it may have made, and
#                        $work. Call it from the script's EXIT trap.
#
# Override the names with BENCH_BRIDGE, BENCH_TABLE, BENCH_NET (a /24
# prefix like 10.196.0) before calling bench_store.

bench_store() {
    local name=$1
    command -v nft >/dev/null || { apt-get update -qq && apt-get install -y -qq nftables; }
    work=$(mktemp -d "${BENCH_TMP:-/tmp}/rdock-$name.XXXXXX")
    BENCH_BRIDGE=${BENCH_BRIDGE:-rdbench0}
    BENCH_TABLE=${BENCH_TABLE:-rdock_bench}
    BENCH_NET=${BENCH_NET:-10.196.0}
    cat > "$work/daemon.json" <<JSON
{"bridge": "$BENCH_BRIDGE", "bip": "$BENCH_NET.1/24", "firewall-table": "$BENCH_TABLE",
 "default-address-pools": [{"base": "10.197.0.0/24", "size": 27}]}
JSON
    export RDOCK_DAEMON_CONFIG=$work/daemon.json
    # The table is cleaned up with nft below: keep rdock on that backend.
    export RDOCK_FIREWALL=nft
    R="${rdock:?set rdock before bench_store} --root $work/root --runroot $work/run"
}

bench_store_cleanup() {
    [ -n "${work:-}" ] && [ -d "$work" ] || return 0
    $R rm -f $($R ps -aq) >/dev/null 2>&1 || true
    grep " $work" /proc/mounts | awk '{print $2}' | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    # User networks' bridges first (`network create` in a bench), then ours.
    for def in "$work"/root/networks/defs/*.json; do
        [ -e "$def" ] || continue
        b=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("bridge",""))' "$def" 2>/dev/null || true)
        [ -n "$b" ] && ip link del "$b" 2>/dev/null || true
    done
    ip link del "$BENCH_BRIDGE" 2>/dev/null || true
    nft delete table ip "$BENCH_TABLE" 2>/dev/null || true
    rm -f "/run/rdock-firewall-$BENCH_TABLE.lock"
    rm -rf "$work"
}
