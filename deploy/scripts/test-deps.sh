#!/usr/bin/env bash
# Installs (Debian packages) and starts what servebench's tests need:
# Prometheus + promtool, Alertmanager, VictoriaMetrics + vmalert, dockerd,
# Chromium, Node.js + npm (the OpenAI SDK conformance test). Idempotent:
# installs only what is missing, starts dockerd only when
# no Docker engine answers.
set -euo pipefail

need=()
have() { command -v "$1" >/dev/null 2>&1; }
have prometheus || need+=(prometheus)
have promtool || need+=(prometheus)
have prometheus-alertmanager || need+=(prometheus-alertmanager)
have victoria-metrics || need+=(victoria-metrics)
have vmalert || need+=(victoria-metrics)
have dockerd || need+=(docker.io)
have chromium || need+=(chromium)
have node || need+=(nodejs)
have npm || need+=(npm)

sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
if [ ${#need[@]} -gt 0 ]; then
  echo "test-deps: installing ${need[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    $(printf '%s\n' "${need[@]}" | sort -u) >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  echo "test-deps: starting dockerd (log: /tmp/servebench-dockerd.log)" >&2
  $sudo sh -c 'nohup dockerd >/tmp/servebench-dockerd.log 2>&1 &'
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 0.5
  done
  docker info >/dev/null 2>&1 || { echo "test-deps: dockerd did not start; see /tmp/servebench-dockerd.log" >&2; exit 1; }
fi
