// Package guidellm drives GuideLLM (v0.7 `guidellm run`) as a servebench load
// generator and reads its JSON reports.
//
// Commands: Args builds the exact `guidellm run` arguments for a Config;
// Host and Container wrap them for a binary on PATH or the GuideLLM image
// (see runner/thirdparty/launch, which streams the tool's output live).
// The target is the metering proxy's URL, so every request also appears in
// servebench's live metrics. An API key never goes on the command line: with
// one, the backend is written to a scenario file GuideLLM reads with
// --scenario (Scenario; the Runner writes it with mode 0600 and removes it
// after the run). IgnoreEOS asks for exact output lengths through the
// backend's extras; data from a file with prompt_tokens_count and
// output_tokens_count columns needs no tokenizer at all.
//
// Reports: Parse reads `--output kind=json` files of GuideLLM 0.4 to 0.7
// (metadata.version 2 for 0.7; the benchmarks[].metrics paths are the same
// since 0.4) into a results.Summary, one Benchmark per strategy run. Reports
// older than 0.4 are rejected with ErrLegacySchema. Numbers are GuideLLM's
// own, copied not recomputed, and map as follows:
//
//	ttft_ms            time_to_first_token_ms.successful (nearest-rank percentiles)
//	tpot_ms            inter_token_latency_ms.successful: GuideLLM's per-request
//	                   (last - first token)/(tokens - 1), which is the TPOT formula
//	                   of servebench and vLLM; its distribution is token-weighted.
//	                   GuideLLM's own time_per_output_token_ms includes TTFT and is
//	                   not mapped.
//	itl_request_mean_ms the same per-request figure, under its own convention
//	itl_ms             empty (count 0): GuideLLM keeps no per-gap samples
//	e2e_ms             request_latency.successful, seconds -> ms
//	send_lateness_ms   mean only, from scheduler_metrics.request_targeted_start_delay_avg
//	requests_per_second, output/total tokens per second: the successful means
//	achieved_rate      requests_per_second.total.mean (all statuses)
//
// Requests reads the same reports' per-request records (complete with
// sample_size=0, which Args always sets) as measure.Result lines, for
// requests.jsonl and for distributions computed servebench's way.
//
// Parse and Requests are safe for concurrent use; they hold no state.
package guidellm
