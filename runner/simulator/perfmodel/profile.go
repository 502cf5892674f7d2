// Package perfmodel is the engine simulator's CPU performance model: model
// profiles (presets for known Hugging Face ids), a hardware profile, the time
// one engine step takes for a given batch, and a continuous-batching
// scheduler in the manner of vLLM v1 (chunked prefill, a token budget per
// step, a paged KV cache, a waiting queue, recompute preemption).
//
// Everything here is pure: no goroutines, no clock. The scheduler advances on
// the times its caller passes in, so the same model drives the live simulator
// (real time) and the tests and docs tables (virtual time). A Scheduler is not
// safe for concurrent use; its owner serialises calls.
package perfmodel

import (
	"fmt"
	"slices"
	"sort"
)

// Profile describes a model's size as far as the performance model needs it.
type Profile struct {
	ID          string  // Hugging Face id
	Params      float64 // parameter count
	DtypeBytes  float64 // bytes per weight and per KV element (2 for bfloat16)
	Layers      int
	Hidden      int // model (residual) width
	Heads       int // attention heads
	KVHeads     int // key/value heads (grouped-query attention)
	HeadDim     int
	Vocab       int
	MaxModelLen int  // context length the model was trained for
	Embedding   bool // an embedding (pooling) model: no generation
	EmbedDim    int  // embedding vector length (Embedding only)
	// Matryoshka marks an embedding model trained for truncated outputs:
	// only then does vLLM honour a request's "dimensions". MatryoshkaDims
	// lists the sizes allowed; empty = any size from 1 to EmbedDim.
	Matryoshka     bool
	MatryoshkaDims []int

	// An encoder-decoder speech model (Whisper) has an encoder besides the
	// decoder described above: it turns each window of WindowSeconds of
	// audio (shorter audio is padded) into EncoderPositions states, which
	// every decoder layer cross-attends to. EncoderLayers 0 = decoder only.
	EncoderLayers    int
	EncoderParams    float64
	EncoderPositions int
	WindowSeconds    float64
	// TranscribeWER is the word error rate the simulator gives the model's
	// transcripts (published LibriSpeech test-clean figures, rounded).
	TranscribeWER float64
}

// EncoderDecoder reports whether the model is an encoder-decoder speech
// model.
func (p Profile) EncoderDecoder() bool { return p.EncoderLayers > 0 }

// KVBytesPerToken is the KV cache one token occupies: keys and values for
// every layer and KV head.
func (p Profile) KVBytesPerToken() float64 {
	return 2 * float64(p.Layers*p.KVHeads*p.HeadDim) * p.DtypeBytes
}

// WeightBytes is the memory every step streams through at least once: the
// decoder's weights (Params).
func (p Profile) WeightBytes() float64 { return p.Params * p.DtypeBytes }

// EncoderWeightBytes is what a step that runs the encoder streams besides.
func (p Profile) EncoderWeightBytes() float64 { return p.EncoderParams * p.DtypeBytes }

// Validate reports the first field that cannot work.
func (p Profile) Validate() error {
	switch {
	case p.Params <= 0:
		return fmt.Errorf("profile %s: params must be > 0", p.ID)
	case p.DtypeBytes <= 0:
		return fmt.Errorf("profile %s: dtype bytes must be > 0", p.ID)
	case p.Layers <= 0 || p.Hidden <= 0 || p.Heads <= 0 || p.KVHeads <= 0 || p.HeadDim <= 0:
		return fmt.Errorf("profile %s: layers, hidden, heads, kv heads and head dim must be > 0", p.ID)
	case p.MaxModelLen <= 0:
		return fmt.Errorf("profile %s: max model len must be > 0", p.ID)
	case p.Embedding && p.EmbedDim <= 0:
		return fmt.Errorf("profile %s: embedding dim must be > 0 for an embedding model", p.ID)
	case p.Matryoshka && !p.Embedding:
		return fmt.Errorf("profile %s: matryoshka dimensions need an embedding model", p.ID)
	case p.EncoderDecoder() && (p.EncoderParams <= 0 || p.EncoderPositions <= 0 || p.WindowSeconds <= 0):
		return fmt.Errorf("profile %s: an encoder-decoder model needs encoder params, positions and window seconds", p.ID)
	case p.EncoderDecoder() && p.Embedding:
		return fmt.Errorf("profile %s: an encoder-decoder model is not an embedding model", p.ID)
	}
	for _, d := range p.MatryoshkaDims {
		if d < 1 || d > p.EmbedDim {
			return fmt.Errorf("profile %s: matryoshka dimension %d is outside 1..%d", p.ID, d, p.EmbedDim)
		}
	}
	return nil
}

// Architectures from each model's published config.json; parameter counts
// from its model card.
var presets = map[string]Profile{
	"TinyLlama/TinyLlama-1.1B-Chat-v1.0": {
		Params: 1.10e9, DtypeBytes: 2, Layers: 22, Hidden: 2048, Heads: 32, KVHeads: 4, HeadDim: 64,
		Vocab: 32000, MaxModelLen: 2048,
	},
	"meta-llama/Llama-3.2-1B-Instruct": {
		Params: 1.24e9, DtypeBytes: 2, Layers: 16, Hidden: 2048, Heads: 32, KVHeads: 8, HeadDim: 64,
		Vocab: 128256, MaxModelLen: 131072,
	},
	"meta-llama/Llama-3.2-3B-Instruct": {
		Params: 3.21e9, DtypeBytes: 2, Layers: 28, Hidden: 3072, Heads: 24, KVHeads: 8, HeadDim: 128,
		Vocab: 128256, MaxModelLen: 131072,
	},
	"Qwen/Qwen3-0.6B": {
		Params: 0.60e9, DtypeBytes: 2, Layers: 28, Hidden: 1024, Heads: 16, KVHeads: 8, HeadDim: 128,
		Vocab: 151936, MaxModelLen: 40960,
	},
	"ibm-granite/granite-3.2-2b-instruct": {
		Params: 2.53e9, DtypeBytes: 2, Layers: 40, Hidden: 2048, Heads: 32, KVHeads: 8, HeadDim: 64,
		Vocab: 49155, MaxModelLen: 131072,
	},
	"Qwen/Qwen2.5-3B-Instruct": {
		Params: 3.09e9, DtypeBytes: 2, Layers: 36, Hidden: 2048, Heads: 16, KVHeads: 2, HeadDim: 128,
		Vocab: 151936, MaxModelLen: 32768,
	},
	"sentence-transformers/all-MiniLM-L6-v2": {
		Params: 22.7e6, DtypeBytes: 2, Layers: 6, Hidden: 384, Heads: 12, KVHeads: 12, HeadDim: 32,
		Vocab: 30522, MaxModelLen: 512, Embedding: true, EmbedDim: 384,
	},
	// XLM-RoBERTa large with task LoRAs; its config.json declares the
	// matryoshka dimensions, so vLLM honours "dimensions" for it.
	"jinaai/jina-embeddings-v3": {
		Params: 572e6, DtypeBytes: 2, Layers: 24, Hidden: 1024, Heads: 16, KVHeads: 16, HeadDim: 64,
		Vocab: 250002, MaxModelLen: 8194, Embedding: true, EmbedDim: 1024,
		Matryoshka: true, MatryoshkaDims: []int{32, 64, 128, 256, 512, 768, 1024},
	},
}

// whisper is an OpenAI Whisper checkpoint (config.json: d_model, encoder
// and decoder layers, attention heads; 51,865 tokens, 448 decoder
// positions, 1,500 encoder positions per 30 s window). Parameters are the
// transformer blocks' (12·d² per encoder layer, 16·d² per decoder layer
// with cross-attention) plus the tied token embedding in the decoder.
func whisper(d, encLayers, decLayers, heads, vocab int, wer float64) Profile {
	dd := float64(d) * float64(d)
	return Profile{
		Params: 16*float64(decLayers)*dd + float64(vocab*d), DtypeBytes: 2, Layers: decLayers, Hidden: d,
		Heads: heads, KVHeads: heads, HeadDim: d / heads, Vocab: vocab, MaxModelLen: 448,
		EncoderLayers: encLayers, EncoderParams: 12 * float64(encLayers) * dd, EncoderPositions: 1500, WindowSeconds: 30,
		TranscribeWER: wer,
	}
}

func init() {
	// Word error rates on LibriSpeech test-clean from the Whisper paper
	// (table 2, rounded); turbo from its model card.
	presets["openai/whisper-tiny"] = whisper(384, 4, 4, 6, 51865, 0.075)
	presets["openai/whisper-base"] = whisper(512, 6, 6, 8, 51865, 0.05)
	presets["openai/whisper-small"] = whisper(768, 12, 12, 12, 51865, 0.034)
	presets["openai/whisper-medium"] = whisper(1024, 24, 24, 16, 51865, 0.029)
	presets["openai/whisper-large-v3"] = whisper(1280, 32, 32, 20, 51866, 0.02)
	presets["openai/whisper-large-v3-turbo"] = whisper(1280, 32, 4, 20, 51866, 0.022)
}

// Preset returns the profile of a known model id.
func Preset(id string) (Profile, bool) {
	p, ok := presets[id]
	p.ID = id
	p.MatryoshkaDims = slices.Clone(p.MatryoshkaDims)
	return p, ok
}

// PresetIDs lists the known model ids, sorted.
func PresetIDs() []string {
	ids := make([]string, 0, len(presets))
	for id := range presets {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Generic is the profile of an unknown model: a 1B Llama-like decoder, to be
// resized by the caller.
func Generic(id string) Profile {
	return Profile{
		ID: id, Params: 1.0e9, DtypeBytes: 2, Layers: 16, Hidden: 2048, Heads: 32, KVHeads: 8, HeadDim: 64,
		Vocab: 32000, MaxModelLen: 4096,
	}
}
