package simulator

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// vLLM v1's histogram bucket grids (vllm/v1/metrics/loggers.py, buckets.py).
var (
	bucketsTTFT = []float64{0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5,
		10, 20, 40, 80, 160, 640, 2560}
	bucketsITL = []float64{0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
		20, 40, 80}
	bucketsRequestLatency = []float64{0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240,
		480, 960, 1920, 7680}
	bucketsLateness = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1}
)

// buckets125 is vLLM's build_1_2_5_buckets: 1, 2, 5, 10, 20, 50, ... <= max.
func buckets125(max int) []float64 {
	var b []float64
	for m := 1; ; m *= 10 {
		for _, k := range []int{1, 2, 5} {
			if k*m > max {
				return b
			}
			b = append(b, float64(k*m))
		}
	}
}

// bucketsIteration is vLLM's iteration-token grid: 1, 8, then powers of two
// from 16 up to the step budget.
func bucketsIteration(maxBatched int) []float64 {
	b := []float64{1, 8}
	for v := 16; v <= maxBatched; v *= 2 {
		b = append(b, float64(v))
	}
	return b
}

// Finish reasons, vLLM's finished_reason label values.
const (
	reasonStop   = "stop"
	reasonLength = "length"
	reasonAbort  = "abort"
)

// metrics holds the engine's series, already bound to their label values so
// the step loop never looks a series up.
type metrics struct {
	running, waiting, kvUsage                       prometheus.Gauge
	promptTokens, generationTokens, preemptions     prometheus.Counter
	prefixQueries, prefixHits                       prometheus.Counter
	success                                         map[string]prometheus.Counter
	ttft, itl, tpot, e2e, queue, inference          prometheus.Observer
	prefill, decode                                 prometheus.Observer
	reqPrompt, reqGeneration, reqMaxTokens, iterTok prometheus.Observer
	lateness                                        prometheus.Observer
	hostStall                                       prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, c Config, maxModelLen, blocks int) *metrics {
	labels := prometheus.Labels{"model_name": c.ServedModelName, "engine": "0"}
	gauge := func(name, help string) prometheus.Gauge {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: labels})
		reg.MustRegister(g)
		return g
	}
	counter := func(name, help string) prometheus.Counter {
		g := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: labels})
		reg.MustRegister(g)
		return g
	}
	hist := func(name, help string, b []float64) prometheus.Observer {
		h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, ConstLabels: labels, Buckets: b})
		reg.MustRegister(h)
		return h
	}
	m := &metrics{
		running:          gauge("vllm:num_requests_running", "Number of requests in model execution batches."),
		waiting:          gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed."),
		kvUsage:          gauge("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage."),
		promptTokens:     counter("vllm:prompt_tokens_total", "Number of prefill tokens processed."),
		generationTokens: counter("vllm:generation_tokens_total", "Number of generation tokens processed."),
		preemptions:      counter("vllm:num_preemptions_total", "Cumulative number of preemption from the engine."),
		prefixQueries:    counter("vllm:prefix_cache_queries_total", "Prefix cache queries, in terms of number of queried tokens."),
		prefixHits:       counter("vllm:prefix_cache_hits_total", "Prefix cache hits, in terms of number of cached tokens."),
		ttft:             hist("vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.", bucketsTTFT),
		itl:              hist("vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.", bucketsITL),
		tpot:             hist("vllm:request_time_per_output_token_seconds", "Histogram of time_per_output_token_seconds per request.", bucketsITL),
		e2e:              hist("vllm:e2e_request_latency_seconds", "Histogram of e2e request latency in seconds.", bucketsRequestLatency),
		queue:            hist("vllm:request_queue_time_seconds", "Histogram of time spent in WAITING phase for request.", bucketsRequestLatency),
		inference:        hist("vllm:request_inference_time_seconds", "Histogram of time spent in RUNNING phase for request.", bucketsRequestLatency),
		prefill:          hist("vllm:request_prefill_time_seconds", "Histogram of time spent in PREFILL phase for request.", bucketsRequestLatency),
		decode:           hist("vllm:request_decode_time_seconds", "Histogram of time spent in DECODE phase for request.", bucketsRequestLatency),
		reqPrompt:        hist("vllm:request_prompt_tokens", "Number of prefill tokens processed.", buckets125(maxModelLen)),
		reqGeneration:    hist("vllm:request_generation_tokens", "Number of generation tokens processed.", buckets125(maxModelLen)),
		reqMaxTokens:     hist("vllm:request_params_max_tokens", "Histogram of the max_tokens request parameter.", buckets125(maxModelLen)),
		iterTok:          hist("vllm:iteration_tokens_total", "Histogram of number of tokens per engine_step.", bucketsIteration(c.MaxNumBatchedTokens)),
		success:          map[string]prometheus.Counter{},
	}
	sv := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vllm:request_success_total",
		Help: "Count of successfully processed requests.", ConstLabels: labels}, []string{"finished_reason"})
	reg.MustRegister(sv)
	for _, r := range []string{reasonStop, reasonLength, reasonAbort} {
		m.success[r] = sv.WithLabelValues(r)
	}
	cache := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "vllm:cache_config_info",
		Help: "Information of the LLMEngine CacheConfig."}, []string{"engine", "block_size", "num_gpu_blocks", "num_cpu_blocks", "cache_dtype", "enable_prefix_caching"})
	reg.MustRegister(cache)
	caching := "False" // Python's spelling, as vLLM's label values have it
	if c.EnablePrefixCaching != nil && *c.EnablePrefixCaching {
		caching = "True"
	}
	cache.WithLabelValues("0", strconv.Itoa(c.BlockSize), strconv.Itoa(blocks), strconv.Itoa(blocks), "auto", caching).Set(1)

	// The simulator's own series, outside vLLM's names.
	sim := prometheus.Labels{"model_name": c.ServedModelName}
	cores := prometheus.NewGauge(prometheus.GaugeOpts{Name: "vllm_sim_cores",
		Help: "Cores the simulated engine computes with (the --cores flag or the process's CPU affinity).", ConstLabels: sim})
	cores.Set(float64(c.Cores))
	info := prometheus.NewGauge(prometheus.GaugeOpts{Name: "vllm_sim_info", Help: "The engine simulator's build and profile; always 1.",
		ConstLabels: prometheus.Labels{"model_name": c.ServedModelName, "model": c.Model, "version": c.Version,
			"max_model_len": strconv.Itoa(maxModelLen), "max_num_seqs": strconv.Itoa(c.MaxNumSeqs)}})
	info.Set(1)
	reg.MustRegister(cores, info, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.hostStall = prometheus.NewCounter(prometheus.CounterOpts{Name: "vllm_sim_host_stall_seconds_total",
		Help:        "Time steps started later than the model's schedule because the host did not run the simulator (wake-up delay, a busy or paused host); never made up by shorter steps.",
		ConstLabels: sim})
	reg.MustRegister(m.hostStall)
	m.lateness = hist("vllm_sim_write_lateness_seconds",
		"Lateness of each token write against the simulator's own schedule (faulted streams excluded).", bucketsLateness)
	return m
}
