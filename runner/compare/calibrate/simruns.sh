#!/bin/sh
# Measures the engine simulator as calibrate.Default models it: RUNS runs
# (default 8), each on a fresh vllm-sim (Qwen/Qwen3-0.6B, 16 cores, 5% step
# jitter, its own seed), each the levels concurrent-2 and concurrent-8 of
# 128-token prompts and 32-token outputs, 2 s of warmup and a 20 s window.
# Each run is written to OUTDIR/rN/ (summary.json, requests.jsonl). Then
#
#	go test ./runner/compare/calibrate -run TestModelMatchesTheSimulator -v -args -simulator-runs OUTDIR
#
# prints the runs' medians and run-to-run spread beside the model's.
#
# Usage: simruns.sh OUTDIR [RUNS]   (BIN: directory of vllm-sim and runner, default bin; PORT, default 18507, must be free)
set -eu
out=${1:?usage: simruns.sh OUTDIR [RUNS]}
runs=${2:-8}
bin=${BIN:-bin}
port=${PORT:-18507}
url=http://127.0.0.1:$port
mkdir -p "$out"
i=1
while [ "$i" -le "$runs" ]; do
	if curl -s -o /dev/null "$url/health"; then
		echo "simruns: something already answers on $url; set PORT to a free port" >&2
		exit 1
	fi
	"$bin/vllm-sim" --model Qwen/Qwen3-0.6B --cores 16 --jitter 0.05 --seed "$i" --load-time 0 --host 127.0.0.1 --port "$port" >"$out/sim.log" 2>&1 &
	sim=$!
	trap 'kill $sim 2>/dev/null' EXIT INT TERM
	tries=0
	until curl -fs "$url/health" >/dev/null 2>&1; do
		tries=$((tries + 1))
		if [ "$tries" -gt 100 ]; then
			echo "simruns: vllm-sim did not answer $url/health within 10 s (log: $out/sim.log)" >&2
			exit 1
		fi
		if ! kill -0 "$sim" 2>/dev/null; then
			echo "simruns: vllm-sim exited (log: $out/sim.log)" >&2
			exit 1
		fi
		sleep 0.1
	done
	mkdir -p "$out/r$i"
	"$bin/runner" bench --target "$url" --profile concurrent --rate 2,8 --max-seconds 20 --warmup 2 \
		--data prompt_tokens=128,output_tokens=32 --seed 7 --web.listen-address off --progress-interval 1m \
		--output "$out/r$i/summary.json" --requests "$out/r$i/requests.jsonl"
	kill "$sim"
	wait "$sim" 2>/dev/null || true
	trap - EXIT INT TERM
	i=$((i + 1))
done
echo "simruns: $runs runs in $out"
