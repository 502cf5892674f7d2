// Package vllmbench drives `vllm bench serve` as a servebench load generator
// and reads its --save-result files.
//
// Commands: Args builds the exact `vllm bench serve` arguments for a Config
// (chat, completions or embeddings, always --save-result); Host and
// Container wrap them for a host binary or the vLLM image with the `vllm`
// entrypoint. The base URL is the metering proxy's, so the requests appear
// in servebench's live metrics.
//
// Results: ReadResults and Parse accept one JSON object or several (JSON
// Lines from --append-result). Python's NaN and Infinity tokens are read as
// absent; request_rate may be a number or "inf"; missing keys stay zero and
// are never invented. Mapping:
//
//	profile/level  rate inf + max_concurrency N -> concurrent-N; rate inf alone ->
//	               throughput; finite rate -> poisson-R (burstiness 1) or gamma-R
//	ttft/tpot/itl/e2e_ms  mean_, median_, p90_, p95_, p99_, p99.9_<m>_ms as saved
//	               (only the --metric-percentiles that were asked for exist; e2el is
//	               not in vLLM's default --percentile-metrics). itl is per chunk gap,
//	               pooled over requests, as servebench's own.
//	max            from ttfts/itls (--save-detailed) and latencies when present
//	requests       completed; failed, or counted from errors for pooling runs
//	rates          request_throughput, output_throughput, total_token_throughput
//
// Everything here is safe for concurrent use.
package vllmbench
