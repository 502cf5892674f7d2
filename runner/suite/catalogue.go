package suite

import (
	"sort"

	"github.com/servebench/servebench/runner/audio"
	"github.com/servebench/servebench/runner/workload"
)

// Workload is what the plan needs to know of a workload: its token lengths
// (the longest a request can be, for the context check), the API it uses
// and the seed framework's engine settings for it.
type Workload struct {
	Name         string
	API          string // chat, completions, embeddings
	PromptTokens int    // mean
	OutputTokens int    // mean; 0 for embeddings
	MaxPrompt    int    // longest prompt the workload sends
	MaxOutput    int    // longest output it asks for
	MaxModelLen  int    // --max-model-len the seed used, 0 = the model's context
	KVCacheGiB   int    // the seed's fallback VLLM_CPU_KVCACHE_SPACE
}

// Workloads is the seed framework's workload catalogue: lengths and API
// from runner/workload (the load generator's catalogue, so both always
// agree), engine settings from the seed's test-workloads.yml.
var Workloads = map[string]Workload{}

// seedEngine is each workload's --max-model-len and fallback KV cache (GiB)
// in the seed framework.
var seedEngine = map[string][2]int{
	"chat": {2048, 40}, "chat_lite": {2048, 10}, "rag": {8320, 40}, "code": {4096, 40},
	"summarization": {4096, 40}, "reasoning": {4096, 40}, "chat_var": {4096, 40}, "code_var": {8192, 40},
	"summarization_var": {0, 40}, "context_scaling_1k": {2048, 40}, "context_scaling_4k": {8192, 40},
	"context_scaling_8k": {16384, 40}, "embedding": {0, 8},
}

func init() {
	for _, name := range workload.Names() {
		spec, err := workload.Lookup(name)
		if err != nil {
			panic(err) // the catalogue lists only what Lookup finds
		}
		w := Workload{Name: name, API: string(spec.API), PromptTokens: spec.Prompt.Mean, OutputTokens: spec.Output.Mean,
			MaxPrompt: max(spec.Prompt.Max, spec.Prompt.Mean), MaxOutput: max(spec.Output.Max, spec.Output.Mean),
			MaxModelLen: seedEngine[name][0], KVCacheGiB: seedEngine[name][1]}
		if w.KVCacheGiB == 0 {
			w.KVCacheGiB = 4
		}
		Workloads[name] = w
	}
	// Speech: a recording per request; the decoder's prompt is Whisper's
	// 4 special tokens and its output fits the model's 448 positions.
	for _, name := range audio.WorkloadNames() {
		Workloads[name] = Workload{Name: name, API: "transcriptions", PromptTokens: 4, MaxPrompt: 4, MaxOutput: 440,
			MaxModelLen: 448, KVCacheGiB: 2}
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
	Speech          bool // a speech-to-text model (transcriptions only)
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
	// Whisper (bf16 weights; KV per decoder token, cross-attention states
	// take the same per encoder position): d_model and decoder layers.
	"openai/whisper-tiny":           {Context: 448, WeightBytes: 78_000_000, KVBytesPerToken: 2 * 4 * 384 * 2, Speech: true},
	"openai/whisper-base":           {Context: 448, WeightBytes: 148_000_000, KVBytesPerToken: 2 * 6 * 512 * 2, Speech: true},
	"openai/whisper-small":          {Context: 448, WeightBytes: 488_000_000, KVBytesPerToken: 2 * 12 * 768 * 2, Speech: true},
	"openai/whisper-medium":         {Context: 448, WeightBytes: 1_530_000_000, KVBytesPerToken: 2 * 24 * 1024 * 2, Speech: true},
	"openai/whisper-large-v3":       {Context: 448, WeightBytes: 3_090_000_000, KVBytesPerToken: 2 * 32 * 1280 * 2, Speech: true},
	"openai/whisper-large-v3-turbo": {Context: 448, WeightBytes: 1_620_000_000, KVBytesPerToken: 2 * 4 * 1280 * 2, Speech: true},
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
