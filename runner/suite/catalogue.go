package suite

import "sort"

// Workload is what the plan needs to know of a workload: its token lengths
// (the longest a request can be, for the context check), the API it uses
// and the seed framework's engine settings for it.
type Workload struct {
	Name          string
	API           string // chat, completions, embeddings
	PromptTokens  int    // mean
	OutputTokens  int    // mean
	MaxPrompt     int    // longest prompt the workload sends
	MaxOutput     int    // longest output it asks for
	MaxModelLen   int    // --max-model-len the seed used, 0 = the model's context
	KVCacheGiB    int    // the seed's fallback VLLM_CPU_KVCACHE_SPACE
	PromptStdev   int
	OutputStdev   int
	MinPrompt     int
	MinOutput     int
	PrefixCaching bool
}

// Workloads is the seed framework's workload catalogue (test-workloads.yml),
// the lengths the native load generator's --workload uses too.
var Workloads = map[string]Workload{
	"chat":               {API: "chat", PromptTokens: 512, OutputTokens: 512, MaxModelLen: 2048, KVCacheGiB: 40},
	"chat_lite":          {API: "chat", PromptTokens: 128, OutputTokens: 128, MaxModelLen: 2048, KVCacheGiB: 10},
	"rag":                {API: "completions", PromptTokens: 7680, OutputTokens: 512, MaxModelLen: 8320, KVCacheGiB: 40},
	"code":               {API: "completions", PromptTokens: 1024, OutputTokens: 1024, MaxModelLen: 4096, KVCacheGiB: 40},
	"summarization":      {API: "completions", PromptTokens: 2048, OutputTokens: 256, MaxModelLen: 4096, KVCacheGiB: 40},
	"reasoning":          {API: "completions", PromptTokens: 256, OutputTokens: 2048, MaxModelLen: 4096, KVCacheGiB: 40},
	"chat_var":           {API: "chat", PromptTokens: 512, OutputTokens: 512, PromptStdev: 128, OutputStdev: 128, MinPrompt: 128, MaxPrompt: 1024, MinOutput: 256, MaxOutput: 1024, MaxModelLen: 4096, KVCacheGiB: 40},
	"code_var":           {API: "completions", PromptTokens: 1024, OutputTokens: 1024, PromptStdev: 256, OutputStdev: 256, MinPrompt: 512, MaxPrompt: 2048, MinOutput: 512, MaxOutput: 2048, MaxModelLen: 8192, KVCacheGiB: 40},
	"summarization_var":  {API: "completions", PromptTokens: 1024, OutputTokens: 256, PromptStdev: 256, OutputStdev: 64, MinPrompt: 512, MaxPrompt: 2048, MinOutput: 128, MaxOutput: 512, KVCacheGiB: 40},
	"context_scaling_1k": {API: "completions", PromptTokens: 1024, OutputTokens: 256, MaxModelLen: 2048, KVCacheGiB: 40},
	"context_scaling_4k": {API: "completions", PromptTokens: 4096, OutputTokens: 256, MaxModelLen: 8192, KVCacheGiB: 40},
	"context_scaling_8k": {API: "completions", PromptTokens: 8192, OutputTokens: 256, MaxModelLen: 16384, KVCacheGiB: 40},
	"embedding":          {API: "embeddings", PromptTokens: 512, OutputTokens: 1, KVCacheGiB: 8},
}

func init() {
	for name, w := range Workloads {
		w.Name = name
		if w.MaxPrompt == 0 {
			w.MaxPrompt = w.PromptTokens
		}
		if w.MaxOutput == 0 {
			w.MaxOutput = w.OutputTokens
		}
		Workloads[name] = w
	}
}

// WorkloadNames lists the workload catalogue, sorted.
func WorkloadNames() []string {
	out := make([]string, 0, len(Workloads))
	for n := range Workloads {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Model is what the plan and the allocator need to know of a model: its
// context length, and the sizes that decide whether it fits a NUMA node.
type Model struct {
	ID              string
	Context         int   // maximum context, tokens
	WeightBytes     int64 // weights at the serving dtype
	KVBytesPerToken int64 // K and V for one token, all layers
	Embedding       bool
}

// Models are the models the seed framework's matrices use. An id not listed
// here is accepted; its context is unknown, so no cell is skipped for it.
var Models = map[string]Model{
	// KV bytes per token = 2 (K,V) × layers × KV heads × head dim × 2 bytes (bf16).
	"TinyLlama/TinyLlama-1.1B-Chat-v1.0":     {Context: 2048, WeightBytes: 2_200_000_000, KVBytesPerToken: 2 * 22 * 4 * 64 * 2},
	"meta-llama/Llama-3.2-1B-Instruct":       {Context: 131072, WeightBytes: 2_470_000_000, KVBytesPerToken: 2 * 16 * 8 * 64 * 2},
	"meta-llama/Llama-3.2-3B-Instruct":       {Context: 131072, WeightBytes: 6_430_000_000, KVBytesPerToken: 2 * 28 * 8 * 128 * 2},
	"ibm-granite/granite-3.2-2b-instruct":    {Context: 4096, WeightBytes: 5_070_000_000, KVBytesPerToken: 2 * 40 * 8 * 64 * 2},
	"Qwen/Qwen3-0.6B":                        {Context: 40960, WeightBytes: 1_500_000_000, KVBytesPerToken: 2 * 28 * 8 * 128 * 2},
	"Qwen/Qwen2.5-3B-Instruct":               {Context: 32768, WeightBytes: 6_170_000_000, KVBytesPerToken: 2 * 36 * 2 * 128 * 2},
	"sentence-transformers/all-MiniLM-L6-v2": {Context: 512, WeightBytes: 91_000_000, Embedding: true},
	"RedHatAI/all-MiniLM-L6-v2":              {Context: 512, WeightBytes: 91_000_000, Embedding: true},
}

func init() {
	for id, m := range Models {
		m.ID = id
		Models[id] = m
	}
}

// LookupModel returns what is known of a model; ok is false for an id not in
// Models (the returned Model then has only the ID).
func LookupModel(id string) (m Model, ok bool) {
	m, ok = Models[id]
	if !ok {
		m.ID = id
	}
	return m, ok
}
