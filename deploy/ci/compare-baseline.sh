#!/usr/bin/env bash
# Compares the newest run of a suite with the baseline run kept on the
# benchmark host, for CI jobs (github-actions.yml, gitlab-ci.yml).
#
#   compare-baseline.sh SUITE [RESULTS_DIR] [BASELINE_DIR]
#
# Run the suite with repeats (runner start --repeat 3 or more): the verdicts
# rest on the run-to-run spread, and one run a side without a noise floor is
# inconclusive unless the change is large. The baseline is the whole run
# directory, repeats included; the noise floor of the suite on this host,
# BASELINE_DIR/SUITE.noise-floor.json, grows with every comparison
# (runner compare --noise-floor --update-noise-floor), so later comparisons
# see smaller changes.
#
# Exit codes are runner compare's:
#   0 no regression (or no baseline yet: this run becomes it)
#   3 a regression
#   5 inconclusive: too little evidence, or a client-bound or invalid side
#     (SERVEBENCH_ALLOW_INCONCLUSIVE=1 turns it into 0 with a warning)
#   2 bad input, 1 anything else.
# Artefacts in the working directory: compare.json, compare.txt and the
# A-vs-B report report.html, with report.pdf when Chromium is installed.
# RUNNER names the runner binary (default bin/runner); SERVEBENCH_PROMOTE=1
# makes a run without a regression, conclusively, the new baseline.
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
floor="$baselines/$suite.noise-floor.json"
repeats=$(grep -l '"repeat_of"' "$run"/*/summary.json 2>/dev/null | wc -l || true)
if [ "$repeats" -eq 0 ]; then
  echo "compare-baseline: $run has no repeats; run the suite with --repeat 3 so that the verdict can rest on the run-to-run spread" >&2
fi
if [ ! -d "$baseline" ]; then
  echo "compare-baseline: no baseline for $suite yet; $run becomes it"
  mkdir -p "$baselines"
  cp -r "$run" "$baseline"
  exit 0
fi

code=0
"$runner" compare --noise-floor "$floor" --update-noise-floor --json "$baseline" "$run" >compare.json || code=$?
"$runner" compare --noise-floor "$floor" "$baseline" "$run" >compare.txt 2>&1 || true
cat compare.txt
pdf=()
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || command -v google-chrome >/dev/null 2>&1; then
  pdf=(--pdf)
fi
if ! "$runner" report "${pdf[@]}" --output report.html "$baseline" "$run"; then
  echo "compare-baseline: the report could not be written (the verdict stands)" >&2
fi
case "$code" in
  0)
    echo "compare-baseline: no regression against $baseline"
    if [ "${SERVEBENCH_PROMOTE:-0}" = 1 ]; then
      rm -rf "$baseline" && cp -r "$run" "$baseline"
      echo "compare-baseline: $run is the new baseline"
    fi
    ;;
  3) echo "compare-baseline: REGRESSION of $run against $baseline (see compare.txt and report.html)" >&2 ;;
  5)
    echo "compare-baseline: INCONCLUSIVE: $run against $baseline cannot rule a regression out (see compare.txt): add repeats, or let the noise floor grow" >&2
    if [ "${SERVEBENCH_ALLOW_INCONCLUSIVE:-0}" = 1 ]; then
      echo "compare-baseline: SERVEBENCH_ALLOW_INCONCLUSIVE=1: passing" >&2
      code=0
    fi
    ;;
  *) echo "compare-baseline: runner compare failed with exit code $code" >&2 ;;
esac
exit "$code"
