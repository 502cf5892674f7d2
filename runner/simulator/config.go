package simulator

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/servebench/servebench/runner/simulator/perfmodel"
)

// Config is every knob of the simulated engine. Start from DefaultConfig;
// zero values of optional fields mean "the default" as documented per field.
type Config struct {
	Model           string // Hugging Face id; known ids select a preset profile
	ServedModelName string // name in the API and the model_name label; "" = Model

	// Profile overrides the model profile; nil = the preset for Model, or a
	// generic 1B profile (with a warning) for an unknown id.
	Profile *perfmodel.Profile
	// Cores given to the engine; overrides Hardware.Cores. cmd/vllm-sim
	// defaults it to the CPUs in the process's affinity mask.
	Cores int
	// Hardware profile; zero fields take perfmodel.DefaultHardware's values.
	Hardware perfmodel.Hardware

	MaxNumSeqs          int     // --max-num-seqs
	MaxNumBatchedTokens int     // --max-num-batched-tokens
	MaxModelLen         int     // --max-model-len; 0 = the profile's, capped by the KV cache
	BlockSize           int     // --block-size, tokens per KV block
	KVCacheSpaceGiB     float64 // VLLM_CPU_KVCACHE_SPACE
	// EnablePrefixCaching is --enable-prefix-caching / --no-enable-prefix-caching;
	// nil = vLLM v1's default: on for generative models, off for embedding
	// models (whose bidirectional attention has no reusable prefix).
	EnablePrefixCaching *bool

	LoadTime time.Duration // simulated model load: /health answers 503 until it has passed
	Seed     uint64        // --seed: output text, output lengths, jitter and fault draws
	Jitter   float64       // relative std-dev of step time; 0 = exactly reproducible schedules
	Slowdown float64       // multiplier on step time; 1 = the model as is, 2 = an engine half as fast

	// OutputLenMedian is the median of the natural output length (requests
	// without ignore_eos): lognormal with sigma OutputLenSigma, capped by
	// max_tokens.
	OutputLenMedian int
	OutputLenSigma  float64

	Version string // reported by /version and vllm_sim_info

	Faults Faults

	// Clock supplies the "created" timestamps of responses; nil = time.Now.
	// Step timing always runs on the real monotonic clock.
	Clock func() time.Time
}

// Faults are failure modes for reliability tests, all off by default. Which
// requests a rate-based fault hits is drawn from Seed and the request's
// arrival number, so a run with the same seed and order repeats exactly.
type Faults struct {
	ErrorRate float64 // fraction of generation requests answered 500 without being run

	StallRate  float64       // fraction of streams that go silent mid-stream ...
	StallAfter int           // ... after this many tokens ...
	StallFor   time.Duration // ... for this long (then the backlog is written)

	DropRate  float64 // fraction of streams whose connection is cut ...
	DropAfter int     // ... after this many tokens

	MalformedRate  float64 // fraction of streams where one chunk is invalid JSON ...
	MalformedAfter int     // ... the chunk of this token (0-based)

	// CrashAfter makes the engine die once this many requests have
	// finished: in-flight connections are cut, every later connection is
	// cut, and Crashed() is closed (cmd/vllm-sim then exits 1). 0 = never.
	CrashAfter int

	SlowLoad time.Duration // added to LoadTime
}

// DefaultConfig is TinyLlama on 8 cores with vLLM's CPU serving defaults.
func DefaultConfig() Config {
	return Config{
		Model:               "TinyLlama/TinyLlama-1.1B-Chat-v1.0",
		Cores:               8,
		MaxNumSeqs:          128,
		MaxNumBatchedTokens: 2048,
		BlockSize:           128,
		KVCacheSpaceGiB:     4,
		LoadTime:            500 * time.Millisecond,
		Slowdown:            1,
		OutputLenMedian:     128,
		OutputLenSigma:      0.7,
		Version:             "0.11.0+sim",
	}
}

func checkRate(name string, r float64) error {
	if r < 0 || r > 1 {
		return fmt.Errorf("faults: %s must be in [0, 1], got %g", name, r)
	}
	return nil
}

// resolve validates c and derives the scheduler configuration.
func (c Config) resolve(log *slog.Logger) (Config, perfmodel.SchedulerConfig, error) {
	var sc perfmodel.SchedulerConfig
	if c.Model == "" {
		return c, sc, fmt.Errorf("model must be set")
	}
	if c.ServedModelName == "" {
		c.ServedModelName = c.Model
	}
	var prof perfmodel.Profile
	switch {
	case c.Profile != nil:
		prof = *c.Profile
		if prof.ID == "" {
			prof.ID = c.Model
		}
	default:
		p, ok := perfmodel.Preset(c.Model)
		if !ok {
			p = perfmodel.Generic(c.Model)
			log.Warn("unknown model id, using the generic profile; size it with the profile flags",
				"model", c.Model, "params", p.Params, "layers", p.Layers, "hidden", p.Hidden)
		}
		prof = p
	}
	if c.Cores < 0 {
		return c, sc, fmt.Errorf("cores must be > 0, got %d", c.Cores)
	}
	h := c.Hardware
	if c.Cores > 0 {
		h.Cores = c.Cores
	}
	h, err := h.Normalize()
	if err != nil {
		return c, sc, fmt.Errorf("hardware: %w", err)
	}
	c.Hardware, c.Cores = h, h.Cores
	switch {
	case c.KVCacheSpaceGiB <= 0:
		return c, sc, fmt.Errorf("kv cache space (VLLM_CPU_KVCACHE_SPACE) must be > 0 GiB, got %g", c.KVCacheSpaceGiB)
	case c.MaxModelLen < 0:
		return c, sc, fmt.Errorf("max_model_len must be >= 0, got %d", c.MaxModelLen)
	case c.LoadTime < 0 || c.Faults.SlowLoad < 0:
		return c, sc, fmt.Errorf("load time must be >= 0")
	case c.OutputLenMedian <= 0:
		return c, sc, fmt.Errorf("output len median must be > 0, got %d", c.OutputLenMedian)
	case c.OutputLenSigma < 0:
		return c, sc, fmt.Errorf("output len sigma must be >= 0, got %g", c.OutputLenSigma)
	case c.Faults.StallAfter < 0 || c.Faults.DropAfter < 0 || c.Faults.MalformedAfter < 0 || c.Faults.CrashAfter < 0:
		return c, sc, fmt.Errorf("faults: token and request counts must be >= 0")
	case c.Faults.StallFor < 0:
		return c, sc, fmt.Errorf("faults: stall duration must be >= 0")
	}
	for _, r := range []struct {
		n string
		v float64
	}{{"error rate", c.Faults.ErrorRate}, {"stall rate", c.Faults.StallRate}, {"drop rate", c.Faults.DropRate}, {"malformed rate", c.Faults.MalformedRate}} {
		if err := checkRate(r.n, r.v); err != nil {
			return c, sc, err
		}
	}
	caching := !prof.Embedding
	if c.EnablePrefixCaching != nil {
		caching = *c.EnablePrefixCaching
		if caching && prof.Embedding {
			log.Warn("prefix caching has no effect on an embedding model", "model", c.Model)
			caching = false
		}
	}
	c.EnablePrefixCaching = &caching
	sc = perfmodel.SchedulerConfig{
		Profile: prof, Hardware: h, MaxNumSeqs: c.MaxNumSeqs, MaxNumBatchedTokens: c.MaxNumBatchedTokens,
		BlockSize: c.BlockSize, KVCacheBytes: c.KVCacheSpaceGiB * (1 << 30),
		Slowdown: c.Slowdown, Jitter: c.Jitter, Seed: c.Seed, PrefixCaching: caching,
	}
	return c, sc, nil
}
