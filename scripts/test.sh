#!/usr/bin/env bash
# The whole test suite, as root: installs what the tests need, then checks
# formatting, lints, and runs unit and integration tests (real containers).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
    echo "scripts/test.sh: the tests run real containers and must run as root" >&2
    exit 1
fi

need=()
[ -x /bin/busybox ] || need+=(busybox-static)
command -v tmux >/dev/null || need+=(tmux)
command -v cc >/dev/null || need+=(gcc)
# Archives compressed by the host's tools (ADD, cp from stdin).
command -v bzip2 >/dev/null || need+=(bzip2)
command -v xz >/dev/null || need+=(xz-utils)
# Registry tests: a real registry server and a peer client.
[ -x /usr/bin/docker-registry ] || need+=(docker-registry)
command -v skopeo >/dev/null || need+=(skopeo)
# save/load tests exchange archives with podman (and run its containers).
command -v podman >/dev/null || need+=(podman)
# ... with runc: crun refuses this host's hybrid cgroups.
command -v runc >/dev/null || need+=(runc)
# tests/oci_runtime.rs, tests/cri.rs: containerd drives rdock-runtime
# through its runc shim.
command -v ctr >/dev/null || need+=(containerd)
# build tests compare configs with buildah's for the same Dockerfile.
command -v buildah >/dev/null || need+=(buildah)
# Git build contexts: rdock runs git; the tests serve repositories with
# git daemon.
command -v git >/dev/null || need+=(git)
# Networking tests: rdock's firewall drives nft; the tests use ip(8).
command -v nft >/dev/null || need+=(nftables)
command -v ip >/dev/null || need+=(iproute2)
# The conformance suite compares rdock with a private Docker Engine
# (Debian's docker.io; scripts/docker-engine.sh runs it without touching
# the host's network) driven by the docker 28 client.
command -v dockerd >/dev/null || need+=(docker.io)
# The firewall's iptables fallback is tested too (in private namespaces).
command -v iptables-legacy >/dev/null || need+=(iptables)
# The UDP test runs the host's python3 in a busybox container (bind mounts);
# tests/local_user.rs connects to sockets with it as another uid.
[ -x /usr/bin/python3 ] || need+=(python3)
# tests/cri.rs: containerd's CRI plugin driven by tests/cri/client.py
# (gRPC; tests/cri/api.proto, our subset of CRI v1, compiled at run time).
/usr/bin/python3 -c 'import grpc, grpc_tools' 2>/dev/null ||
    need+=(python3-grpcio python3-grpc-tools)
# tests/api_clients.rs: docker-compose 1.29 (Debian's) against the API
# service, and a venv for PyPI's docker SDK and testcontainers (below).
command -v docker-compose >/dev/null || need+=(docker-compose)
/usr/bin/python3 -c 'import ensurepip' 2>/dev/null || need+=(python3-venv)
# tests/local_user.rs: how credentials are created (strace), as whom (setpriv).
command -v strace >/dev/null || need+=(strace)
command -v setpriv >/dev/null || need+=(util-linux)
# seccomp tests: the syscall tables against the kernel's headers.
[ -f /usr/include/asm-generic/unistd.h ] || need+=(linux-libc-dev)
# ... and the default profile against moby 20.10's default.json, which
# Debian ships in golang-github-docker-docker-dev. Only that file is used:
# the package is downloaded and the file unpacked into target/ rather than
# installed (installing pulls ~260 Go packages, ~1 GB).
docker_json=/usr/share/gocode/src/github.com/docker/docker/profiles/seccomp/default.json
docker_json_copy=target/test-data/docker-20.10-seccomp.json
get_docker_json=
[ -f "$docker_json" ] || [ -s "$docker_json_copy" ] || get_docker_json=1
if [ ${#need[@]} -gt 0 ] || [ -n "$get_docker_json" ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    [ ${#need[@]} -eq 0 ] || apt-get install -y -qq "${need[@]}"
fi
# PyPI's docker SDK and testcontainers-python, for tests/api_clients.rs.
pyenv=target/test-data/pyvenv
if ! "$pyenv/bin/python" -c 'import docker, testcontainers' 2>/dev/null; then
    rm -rf "$pyenv"
    /usr/bin/python3 -m venv "$pyenv"
    "$pyenv/bin/pip" install -q docker testcontainers
fi
if [ -n "$get_docker_json" ]; then
    deb=$(mktemp -d)
    # apt's sandbox user fetches into the folder.
    chown _apt "$deb" 2>/dev/null || true
    (cd "$deb" && apt-get download -qq golang-github-docker-docker-dev)
    mkdir -p "$(dirname "$docker_json_copy")"
    dpkg-deb --fsys-tarfile "$deb"/golang-github-docker-docker-dev_*.deb |
        tar -xO ".$docker_json" >"$docker_json_copy.part"
    mv "$docker_json_copy.part" "$docker_json_copy"
    rm -rf "$deb"
fi
# The engine itself: Debian forky's docker.io (28.5), the engine of the
# docker 28 client, as the oracle. Its dockerd and docker-proxy run on
# Debian 12 (glibc 2.34 symbols) beside Debian 12's containerd and runc,
# which docker.io above brought. The package is fetched with apt from a
# private, signed source list and unpacked into target/, not installed.
# The cases are docker 28's: another major version is refused.
engine=target/test-data/docker-engine
engine_major=28
if ! "$engine/usr/sbin/dockerd" --version 2>/dev/null | grep -q "version $engine_major\."; then
    t=$(mktemp -d)
    chown _apt "$t" 2>/dev/null || true
    mkdir -p "$t/lists/partial" "$t/cache/archives/partial"
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian forky main" >"$t/sources.list"
    opts=(-o "Dir::Etc::SourceList=$t/sources.list" -o Dir::Etc::SourceParts=/dev/null
        -o "Dir::State::Lists=$t/lists" -o "Dir::Cache=$t/cache"
        -o Acquire::Languages=none -o APT::Get::List-Cleanup=false)
    apt-get "${opts[@]}" update -qq
    (cd "$t" && apt-get "${opts[@]}" download -qq docker.io)
    deb=$(ls "$t"/docker.io_*.deb)
    case $(basename "$deb") in
    docker.io_"$engine_major".*) ;;
    *)
        echo "scripts/test.sh: $(basename "$deb") is not docker $engine_major, the engine tests/conformance/*.cases describe" >&2
        exit 1
        ;;
    esac
    rm -rf "$engine.part"
    dpkg-deb -x "$deb" "$engine.part"
    rm -rf "$engine"
    mv "$engine.part" "$engine"
    rm -rf "$t"
fi
command -v cargo >/dev/null || { echo "scripts/test.sh: cargo (Rust toolchain) is required" >&2; exit 1; }

cargo fmt --check
cargo clippy --all-targets -- -D warnings
status=0
cargo test --all-targets -- --test-threads="${RDOCK_TEST_THREADS:-4}" || status=$?
# rdock keeps its parent cgroup (as docker keeps its own); the tests made
# it here, so it goes with them when nothing is left in it.
for d in /sys/fs/cgroup/*/rdock /sys/fs/cgroup/rdock; do
    [ -d "$d" ] && rmdir "$d" 2>/dev/null || true
done
exit "$status"
