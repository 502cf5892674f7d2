package dashboards

// vLLM's own /metrics series (v1 engine), read by the Engine board. They are
// not servebench's to name, so they live here rather than in the contract;
// this is the one place to change when vLLM renames one. Every vLLM series
// carries model_name (the served model name, servebench's model label) and
// engine (the engine index).
const (
	vllmModelLabel = "model_name"

	vllmRunning         = "vllm:num_requests_running"
	vllmWaiting         = "vllm:num_requests_waiting"
	vllmKVCacheUsage    = "vllm:kv_cache_usage_perc" // 0..1
	vllmPreemptions     = "vllm:num_preemptions_total"
	vllmPromptTokens    = "vllm:prompt_tokens_total"
	vllmGenTokens       = "vllm:generation_tokens_total"
	vllmRequestSuccess  = "vllm:request_success_total" // finished_reason label
	vllmPrefixQueries   = "vllm:prefix_cache_queries_total"
	vllmPrefixHits      = "vllm:prefix_cache_hits_total"
	vllmTTFT            = "vllm:time_to_first_token_seconds"
	vllmITL             = "vllm:inter_token_latency_seconds"
	vllmE2E             = "vllm:e2e_request_latency_seconds"
	vllmQueueTime       = "vllm:request_queue_time_seconds"
	vllmPrefillTime     = "vllm:request_prefill_time_seconds"
	vllmDecodeTime      = "vllm:request_decode_time_seconds"
	vllmIterationTokens = "vllm:iteration_tokens_total"
)

// vllmSel selects a vLLM series of the board's model.
func vllmSel(name, suffix string) string {
	return name + suffix + `{` + vllmModelLabel + `=~"$` + varModel + `"}`
}
