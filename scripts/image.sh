#!/usr/bin/env bash
# npm run image [-- TAG]: builds Berth's container image (Containerfile) from dist/berth,
# FROM scratch with the shared libraries ldd names for it. Default tag: berth:latest.
# BERTH_BIN names another binary than dist/berth (the tests' build).
set -euo pipefail
cd "$(dirname "$0")/.."
tag="${1:-berth:latest}"
bin="${BERTH_BIN:-dist/berth}"
[ -n "${BERTH_BIN:-}" ] || [ -x dist/berth ] || npm run build
context="$(mktemp -d "${TMPDIR:-/tmp}/berth-image-XXXXXX")"
trap 'rm -rf "$context"' EXIT
root="$context/rootfs"
mkdir -p "$root/usr/local/bin" "$root/etc/berth" "$root/tmp" "$context/rootfs-data"
chmod 1777 "$root/tmp"
cp "$bin" "$root/usr/local/bin/berth"
# every library the binary loads, and the loader itself, at the paths it asks for
for lib in $(ldd "$bin" | grep -o '/[^ ]*'); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
[ -f /etc/ssl/certs/ca-certificates.crt ] && mkdir -p "$root/etc/ssl/certs" && cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
printf 'root:x:0:0:root:/:/sbin/nologin\nberth:x:10001:10001:Berth:/var/lib/registry:/sbin/nologin\n' > "$root/etc/passwd"
printf 'root:x:0:\nberth:x:10001:\n' > "$root/etc/group"
cat > "$root/etc/berth/registry.toml" <<'TOML'
# Berth in a container: data in the /var/lib/registry volume, config here (mount your own
# /etc/berth/registry.toml over it; BERTH_* and REGISTRY_* variables work too).
[http]
addr = "0.0.0.0:5000"

[storage]
root = "/var/lib/registry"
TOML
cp Containerfile "$context/Containerfile"
docker build --quiet --file "$context/Containerfile" --tag "$tag" "$context" >/dev/null
size=$(docker image inspect --format '{{.Size}}' "$tag")
echo "built $tag: $((size / 1024 / 1024)) MiB"
