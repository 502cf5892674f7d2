#!/usr/bin/env bash
# Installs (Debian packages) and starts what servebench's tests need:
# Prometheus + promtool, Alertmanager, VictoriaMetrics + vmalert, dockerd,
# Chromium, pdftoppm (poppler-utils: the report's PDF test), Node.js + npm
# (the OpenAI SDK conformance test). Idempotent:
# installs only what is missing, starts dockerd only when no Docker engine
# answers.
#
# On a shared machine another apt/dpkg process may hold the package locks:
# the script waits for them (at most SERVEBENCH_APT_LOCK_WAIT seconds,
# default 600) instead of failing. A dockerd that does not come up (its
# prerequisites may be mid-install by someone else) is started once more
# after package work on the machine has settled.
set -euo pipefail

# Each line: a command the tests run, and the Debian package providing it.
# To add a tool, add a line.
tools=(
  "prometheus prometheus"
  "promtool prometheus"
  "prometheus-alertmanager prometheus-alertmanager"
  "victoria-metrics victoria-metrics"
  "vmalert victoria-metrics"
  "dockerd docker.io"
  "chromium chromium"
  "pdftoppm poppler-utils"
  "node nodejs"
  "npm npm"
  "wrk wrk"
  "ab apache2-utils"
  "locust python3-locust"
)

lock_wait=${SERVEBENCH_APT_LOCK_WAIT:-600}
case $lock_wait in '' | *[!0-9]*)
  echo "test-deps: SERVEBENCH_APT_LOCK_WAIT=$lock_wait: want a number of seconds" >&2
  exit 2
  ;;
esac
dockerd_log=${SERVEBENCH_DOCKERD_LOG:-/tmp/servebench-dockerd.log}

sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo

have() { command -v "$1" >/dev/null 2>&1; }

# apt_get runs apt-get with the given arguments. While another process
# holds an apt or dpkg lock it waits and tries again, until lock_wait
# seconds have passed since the script started; apt itself also waits for
# the dpkg frontend lock (DPkg::Lock::Timeout). Other failures end the
# script with apt's own message.
apt_get() {
  local out said=""
  while :; do
    local left=$((lock_wait - SECONDS))
    ((left > 0)) || left=0
    if out=$($sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout="$left" "$@" 2>&1); then
      return 0
    fi
    if grep -qE 'Could not get lock|Unable to (lock|acquire)|is another process using it' <<<"$out"; then
      if ((SECONDS >= lock_wait)); then
        printf '%s\n' "$out" >&2
        echo "test-deps: another process still holds the apt/dpkg lock after ${lock_wait}s (SERVEBENCH_APT_LOCK_WAIT); see: ps -C apt-get,apt,dpkg,unattended-upgr" >&2
        return 1
      fi
      if [ -z "$said" ]; then
        echo "test-deps: another process holds the apt/dpkg lock; waiting up to ${lock_wait}s" >&2
        said=1
      fi
      sleep 2
      continue
    fi
    if grep -q "dpkg was interrupted" <<<"$out" && [ -z "${configured:-}" ]; then
      configured=1
      echo "test-deps: an interrupted dpkg run is pending; finishing it (dpkg --configure -a)" >&2
      $sudo env DEBIAN_FRONTEND=noninteractive dpkg --configure -a >&2
      continue
    fi
    printf '%s\n' "$out" >&2
    echo "test-deps: apt-get $* failed" >&2
    return 1
  done
}

# package_work_settles waits (bounded by lock_wait) until no apt or dpkg
# process runs on the machine.
package_work_settles() {
  have pgrep || { sleep 5; return 0; }
  while pgrep -x 'apt|apt-get|dpkg|unattended-upgr' >/dev/null && ((SECONDS < lock_wait)); do
    sleep 2
  done
}

need=()
for t in "${tools[@]}"; do
  read -r cmd pkg <<<"$t"
  have "$cmd" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  pkgs=$(printf '%s\n' "${need[@]}" | sort -u | tr '\n' ' ')
  echo "test-deps: installing $pkgs" >&2
  apt_get update -qq
  # shellcheck disable=SC2086 # one word per package
  apt_get install -y -qq --no-install-recommends $pkgs
fi

# start_dockerd starts dockerd in the background and waits up to 30 s for
# it to answer; on failure it stops the dockerd it started.
start_dockerd() {
  local pid
  pid=$($sudo sh -c 'nohup dockerd >>"$1" 2>&1 & echo $!' sh "$dockerd_log")
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && return 0
    $sudo kill -0 "$pid" 2>/dev/null || break # it exited
    sleep 0.5
  done
  docker info >/dev/null 2>&1 && return 0
  $sudo kill "$pid" 2>/dev/null || true
  return 1
}

if ! docker info >/dev/null 2>&1; then
  echo "test-deps: starting dockerd (log: $dockerd_log)" >&2
  if ! start_dockerd; then
    echo "test-deps: dockerd did not start; waiting for package work on the machine to settle, then trying once more" >&2
    package_work_settles
    start_dockerd || {
      echo "test-deps: dockerd did not start twice; see $dockerd_log" >&2
      tail -n 5 "$dockerd_log" >&2 || true
      exit 1
    }
  fi
fi
