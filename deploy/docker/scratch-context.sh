#!/usr/bin/env bash
# Fills DIR with what deploy/docker/Dockerfile.scratch copies: static runner and
# exporter binaries built here (CGO off), the host's CA bundle (for HTTPS
# endpoints), and empty /results and /tmp. Needs only Go; no network.
set -euo pipefail
dir=${1:?usage: scratch-context.sh DIR}
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
(cd "$root" && CGO_ENABLED=0 ${GO:-go} build -trimpath -ldflags="-s -w" -o "$dir/" ./cmd/runner ./cmd/exporter)
if [ -r /etc/ssl/certs/ca-certificates.crt ]; then
  cp /etc/ssl/certs/ca-certificates.crt "$dir/ca-certificates.crt"
else
  echo "scratch-context: no /etc/ssl/certs/ca-certificates.crt; the image will trust no HTTPS endpoint" >&2
  : >"$dir/ca-certificates.crt"
fi
mkdir -p "$dir/results" "$dir/tmp"
chmod 0755 "$dir/results"
chmod 1777 "$dir/tmp"
