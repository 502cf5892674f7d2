package contract

// vLLM's own series (v1 engine), as vLLM exposes them on /metrics and as the
// engine simulator mimics them. They are not servebench's to name and are not
// part of All(): they are listed here so that the dashboards and alert rules
// that read them have one place to change when vLLM renames one. Every vLLM
// series carries VLLMModelLabel (the served model name, which is servebench's
// model label) and "engine" (the engine index).
const VLLMModelLabel = "model_name"

var vllmLabels = []string{VLLMModelLabel, "engine"}

// vLLM series read by servebench's boards and rules.
var (
	VLLMRequestsRunning = Metric{Name: "vllm:num_requests_running", Type: Gauge, Unit: "requests", Labels: vllmLabels,
		Help: "Requests in the engine's running batch."}
	VLLMRequestsWaiting = Metric{Name: "vllm:num_requests_waiting", Type: Gauge, Unit: "requests", Labels: vllmLabels,
		Help: "Requests queued in the engine."}
	VLLMKVCacheUsage = Metric{Name: "vllm:kv_cache_usage_perc", Type: Gauge, Labels: vllmLabels,
		Help: "Fraction (0..1) of KV cache blocks in use."}
	VLLMPreemptions = Metric{Name: "vllm:num_preemptions_total", Type: Counter, Unit: "requests", Labels: vllmLabels,
		Help: "Requests preempted by the scheduler."}
	VLLMPromptTokens = Metric{Name: "vllm:prompt_tokens_total", Type: Counter, Unit: "tokens", Labels: vllmLabels,
		Help: "Prefill tokens processed."}
	VLLMGenerationTokens = Metric{Name: "vllm:generation_tokens_total", Type: Counter, Unit: "tokens", Labels: vllmLabels,
		Help: "Output tokens generated."}
	VLLMRequestSuccess = Metric{Name: "vllm:request_success_total", Type: Counter, Unit: "requests", Labels: append(clone(vllmLabels), "finished_reason"),
		Help: "Finished requests by finish reason (stop, length, abort)."}
	VLLMPrefixCacheQueries = Metric{Name: "vllm:prefix_cache_queries_total", Type: Counter, Unit: "tokens", Labels: vllmLabels,
		Help: "Prompt tokens looked up in the prefix cache."}
	VLLMPrefixCacheHits = Metric{Name: "vllm:prefix_cache_hits_total", Type: Counter, Unit: "tokens", Labels: vllmLabels,
		Help: "Prompt tokens found in the prefix cache."}
	VLLMTTFT = Metric{Name: "vllm:time_to_first_token_seconds", Type: Histogram, Unit: "seconds", Labels: vllmLabels,
		Help: "Server-side time to first token, from arrival (tokenization start)."}
	VLLMITL = Metric{Name: "vllm:inter_token_latency_seconds", Type: Histogram, Unit: "seconds", Labels: vllmLabels,
		Help: "Gap between successive engine outputs of a request."}
	VLLME2E = Metric{Name: "vllm:e2e_request_latency_seconds", Type: Histogram, Unit: "seconds", Labels: vllmLabels,
		Help: "Server-side end-to-end request latency."}
	VLLMQueueTime = Metric{Name: "vllm:request_queue_time_seconds", Type: Histogram, Unit: "seconds", Labels: vllmLabels,
		Help: "Time a request spent waiting."}
	VLLMPrefillTime = Metric{Name: "vllm:request_prefill_time_seconds", Type: Histogram, Unit: "seconds", Labels: vllmLabels,
		Help: "Time a request spent in prefill."}
	VLLMDecodeTime = Metric{Name: "vllm:request_decode_time_seconds", Type: Histogram, Unit: "seconds", Labels: vllmLabels,
		Help: "Time a request spent in decode."}
	VLLMPromptLength = Metric{Name: "vllm:request_prompt_tokens", Type: Histogram, Unit: "tokens", Labels: vllmLabels,
		Help: "Prompt length of finished requests."}
	VLLMGenerationLength = Metric{Name: "vllm:request_generation_tokens", Type: Histogram, Unit: "tokens", Labels: vllmLabels,
		Help: "Output length of finished requests."}
)

// VLLM lists the vLLM series servebench reads.
func VLLM() []Metric {
	return []Metric{VLLMRequestsRunning, VLLMRequestsWaiting, VLLMKVCacheUsage, VLLMPreemptions, VLLMPromptTokens,
		VLLMGenerationTokens, VLLMRequestSuccess, VLLMPrefixCacheQueries, VLLMPrefixCacheHits, VLLMTTFT, VLLMITL, VLLME2E,
		VLLMQueueTime, VLLMPrefillTime, VLLMDecodeTime, VLLMPromptLength, VLLMGenerationLength}
}
