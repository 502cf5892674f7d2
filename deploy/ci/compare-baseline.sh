#!/usr/bin/env bash
# Compares the newest run of a suite with the baseline run kept on the
# benchmark host, for CI jobs (github-actions.yml, gitlab-ci.yml).
#
#   compare-baseline.sh SUITE [RESULTS_DIR] [BASELINE_DIR]
#
# Exit codes are runner compare's, so the job fails on a regression:
# 0 no regression (or no baseline yet: this run becomes it), 3 a regression,
# 2 bad input, 1 anything else. The verdicts are written to compare.json and
# compare.txt for the job's artifacts. RUNNER names the runner binary
# (default bin/runner); SERVEBENCH_PROMOTE=1 makes a passing run the new baseline.
set -euo pipefail
suite=${1:?usage: compare-baseline.sh SUITE [RESULTS_DIR] [BASELINE_DIR]}
results=${2:-results}
baselines=${3:-/var/lib/servebench/baseline}
runner=${RUNNER:-bin/runner}

run=$(ls -1td "$results/$suite"/*/ 2>/dev/null | head -n 1 || true)
if [ -z "$run" ]; then
  echo "compare-baseline: no run of suite $suite under $results" >&2
  exit 2
fi
run=${run%/}
baseline="$baselines/$suite"
if [ ! -d "$baseline" ]; then
  echo "compare-baseline: no baseline for $suite yet; $run becomes it"
  mkdir -p "$baselines"
  cp -r "$run" "$baseline"
  exit 0
fi

set +e
"$runner" compare --json "$baseline" "$run" >compare.json
code=$?
"$runner" compare "$baseline" "$run" >compare.txt 2>&1
set -e
cat compare.txt
case "$code" in
  0)
    echo "compare-baseline: no regression against $baseline"
    if [ "${SERVEBENCH_PROMOTE:-0}" = 1 ]; then
      rm -rf "$baseline" && cp -r "$run" "$baseline"
      echo "compare-baseline: $run is the new baseline"
    fi
    ;;
  3) echo "compare-baseline: REGRESSION of $run against $baseline (see compare.json)" >&2 ;;
  *) echo "compare-baseline: runner compare failed with exit code $code" >&2 ;;
esac
exit "$code"
