#!/usr/bin/env bash
# Fills DIR with what deploy/docker/Dockerfile.scratch copies: static runner and
# exporter binaries built here (CGO off) for each ARCH (default: this
# machine's; Go cross-compiles, e.g. "amd64 arm64") in DIR/linux_ARCH/, the
# host's CA bundle (for HTTPS endpoints), and empty /results and /tmp. Needs
# only Go; no network. VERSION and COMMIT, when set, are what --version reports.
set -euo pipefail
dir=${1:?usage: scratch-context.sh DIR [ARCH...]}
shift
root=$(cd "$(dirname "$0")/../.." && pwd)
archs=("$@")
[ ${#archs[@]} -gt 0 ] || archs=("$(cd "$root" && ${GO:-go} env GOARCH)")
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
pkg=github.com/servebench/servebench/internal/buildinfo
for arch in "${archs[@]}"; do
  (cd "$root" && CGO_ENABLED=0 GOOS=linux GOARCH="$arch" ${GO:-go} build -trimpath \
    -ldflags="-s -w -X $pkg.version=${VERSION:-} -X $pkg.commit=${COMMIT:-}" \
    -o "$dir/linux_$arch/" ./cmd/runner ./cmd/exporter)
done
if [ -r /etc/ssl/certs/ca-certificates.crt ]; then
  cp /etc/ssl/certs/ca-certificates.crt "$dir/ca-certificates.crt"
else
  echo "scratch-context: no /etc/ssl/certs/ca-certificates.crt; the image will trust no HTTPS endpoint" >&2
  : >"$dir/ca-certificates.crt"
fi
mkdir -p "$dir/results" "$dir/tmp"
chmod 0755 "$dir/results"
chmod 1777 "$dir/tmp"
