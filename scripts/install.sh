#!/usr/bin/env bash
# Quick start on a fresh Debian machine, as root: build and install rdock,
# make a busybox image offline, and run a container.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
if ! [ -x /bin/busybox ] || ! command -v cc >/dev/null; then
    apt-get update -qq
    apt-get install -y -qq busybox-static gcc
fi
if ! command -v cargo >/dev/null; then
    # Debian's own cargo is too old for the dependencies: use rustup.
    [ -f "$HOME/.cargo/env" ] || {
        command -v curl >/dev/null || { apt-get update -qq; apt-get install -y -qq curl ca-certificates; }
        curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
    }
    . "$HOME/.cargo/env"
fi
cargo install --locked --path . --root /usr/local
/usr/local/bin/rdock image inspect busybox >/dev/null 2>&1 || RDOCK=/usr/local/bin/rdock scripts/busybox-image.sh busybox
/usr/local/bin/rdock run --rm busybox echo "hello from an rdock container"
