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
cargo install --locked --path . --root /usr/local
/usr/local/bin/rdock image inspect busybox >/dev/null 2>&1 || RDOCK=/usr/local/bin/rdock scripts/busybox-image.sh busybox
/usr/local/bin/rdock run --rm busybox echo "hello from an rdock container"
