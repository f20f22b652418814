#!/usr/bin/env bash
# Make a busybox image from Debian's busybox-static without any registry:
#   scripts/busybox-image.sh [NAME]   (default: busybox)
set -euo pipefail
name=${1:-busybox}
rdock=${RDOCK:-rdock}
[ -x /bin/busybox ] || { echo "install busybox-static first (apt-get install busybox-static)" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir"/{bin,etc,tmp,root,proc,sys,dev,home}
chmod 1777 "$dir/tmp"
cp /bin/busybox "$dir/bin/busybox"
for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -s busybox "$dir/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$dir/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$dir/etc/group"
tar -C "$dir" -c . | $rdock import -c 'CMD ["sh"]' - "$name"
