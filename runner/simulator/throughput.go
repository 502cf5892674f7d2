package simulator

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/servebench/servebench/runner/simulator/perfmodel"
	"github.com/servebench/servebench/runner/simulator/tokenizer"
)

// `vllm bench throughput` answered from the performance model: the same
// arguments (benchmark options and engine arguments, vLLM's names and
// defaults for the offline LLM class on CPU), the same dataset sampling
// rules, the same lines on stdout and the same --output-json file. Every
// prompt is added at once, as LLM.generate does, and the engine runs in
// virtual time: the command returns at once, reporting the elapsed time
// the model computes.

// ThroughputDefaults are vLLM's engine defaults for the offline LLM class on
// CPU (arg_utils: 4096 batched tokens and 256 sequences per rank).
var ThroughputDefaults = struct{ MaxNumSeqs, MaxNumBatchedTokens, BlockSize int }{256, 4096, 128}

// throughputFlags are the arguments the simulator models (true = boolean);
// any other vLLM argument is accepted and ignored, with a note.
var throughputFlags = map[string]bool{
	"model": false, "tokenizer": false, "backend": false, "dataset-name": false, "dataset-path": false, "dataset": false,
	"input-len": false, "output-len": false, "n": false, "num-prompts": false, "output-json": false,
	"random-range-ratio": false, "prefix-len": false, "random-prefix-len": false, "random-input-len": false, "random-output-len": false,
	"prefix-repetition-prefix-len": false, "prefix-repetition-suffix-len": false, "prefix-repetition-num-prefixes": false,
	"prefix-repetition-output-len": false, "seed": false, "max-model-len": false, "max-num-seqs": false,
	"max-num-batched-tokens": false, "block-size": false, "enable-prefix-caching": true, "no-enable-prefix-caching": true,
	"dtype": false, "served-model-name": false, "cores": false, "slowdown": false,
}

// SplitArgs splits command-line arguments into those whose flag (without
// dashes) is in known (true: a boolean flag) and the others. An unknown
// flag written "--flag value" takes its value along when the next word is
// not a flag; positionals are kept.
func SplitArgs(args []string, known map[string]bool) (kept, dropped []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			kept = append(kept, a)
			continue
		}
		name, _, inline := strings.Cut(strings.TrimLeft(a, "-"), "=")
		isBool, ok := known[name]
		takesNext := !inline && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-")
		switch {
		case ok && (isBool || !takesNext):
			kept = append(kept, a)
		case ok:
			kept = append(kept, a, args[i+1])
			i++
		case takesNext:
			dropped = append(dropped, a, args[i+1])
			i++
		default:
			dropped = append(dropped, a)
		}
	}
	return kept, dropped
}

// throughputArgs are the parsed arguments.
type throughputArgs struct {
	model, backend, dataset, path, out   string
	inputLen, outputLen, n, prompts      int
	rangeRatio                           float64
	prefixLen                            int
	repPrefix, repSuffix, repNum, repOut int
	seed                                 int64
	maxModelLen, maxSeqs, maxBatched     int
	blockSize, cores                     int
	caching, noCaching                   bool
	dtype                                string
	slowdown                             float64
}

// BenchThroughput runs `vllm bench throughput` with args (without the
// "bench throughput" words) on the simulated engine: getenv supplies
// VLLM_CPU_KVCACHE_SPACE, cores the CPU count when --cores is not given.
// It prints vLLM's result lines to stdout and notes to stderr, and writes
// --output-json. Errors are the ones vLLM would stop with.
func BenchThroughput(args []string, getenv func(string) string, cores int, stdout, stderr io.Writer) error {
	kept, dropped := SplitArgs(args, throughputFlags)
	if len(dropped) > 0 {
		fmt.Fprintf(stderr, "INFO vllm-sim: engine arguments without a simulated meaning, ignored: %s\n", strings.Join(dropped, " "))
	}
	var a throughputArgs
	fs := pflag.NewFlagSet("vllm bench throughput", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&a.model, "model", "", "model")
	fs.String("tokenizer", "", "tokenizer (the simulator's own)")
	fs.String("served-model-name", "", "served model name")
	fs.StringVar(&a.backend, "backend", "vllm", "vllm or vllm-chat")
	fs.StringVar(&a.dataset, "dataset-name", "sharegpt", "sharegpt, random, sonnet or prefix_repetition")
	fs.StringVar(&a.path, "dataset-path", "", "dataset file")
	fs.StringVar(&a.path, "dataset", "", "dataset file (deprecated name)")
	fs.IntVar(&a.inputLen, "input-len", 0, "prompt tokens")
	fs.IntVar(&a.inputLen, "random-input-len", 0, "prompt tokens")
	fs.IntVar(&a.outputLen, "output-len", 0, "output tokens (overrides the dataset's)")
	fs.IntVar(&a.outputLen, "random-output-len", 0, "output tokens")
	fs.IntVar(&a.n, "n", 1, "sequences per prompt")
	fs.IntVar(&a.prompts, "num-prompts", 1000, "prompts")
	fs.StringVar(&a.out, "output-json", "", "results file")
	fs.Float64Var(&a.rangeRatio, "random-range-ratio", 0, "length spread of the random dataset")
	fs.IntVar(&a.prefixLen, "prefix-len", 0, "shared prefix tokens")
	fs.IntVar(&a.prefixLen, "random-prefix-len", 0, "shared prefix tokens")
	fs.IntVar(&a.repPrefix, "prefix-repetition-prefix-len", 0, "")
	fs.IntVar(&a.repSuffix, "prefix-repetition-suffix-len", 0, "")
	fs.IntVar(&a.repNum, "prefix-repetition-num-prefixes", 0, "")
	fs.IntVar(&a.repOut, "prefix-repetition-output-len", 0, "")
	fs.Int64Var(&a.seed, "seed", 0, "seed")
	fs.IntVar(&a.maxModelLen, "max-model-len", 0, "")
	fs.IntVar(&a.maxSeqs, "max-num-seqs", ThroughputDefaults.MaxNumSeqs, "")
	fs.IntVar(&a.maxBatched, "max-num-batched-tokens", ThroughputDefaults.MaxNumBatchedTokens, "")
	fs.IntVar(&a.blockSize, "block-size", ThroughputDefaults.BlockSize, "")
	fs.BoolVar(&a.caching, "enable-prefix-caching", false, "")
	fs.BoolVar(&a.noCaching, "no-enable-prefix-caching", false, "")
	fs.StringVar(&a.dtype, "dtype", "auto", "")
	fs.IntVar(&a.cores, "cores", cores, "cores the model computes with (the simulator's)")
	fs.Float64Var(&a.slowdown, "slowdown", 1, "multiplier on step time (the simulator's)")
	if err := fs.Parse(kept); err != nil {
		return err
	}
	if a.model == "" {
		return errors.New("--model is required")
	}
	switch a.backend {
	case "vllm", "vllm-chat":
	case "hf", "mii":
		return fmt.Errorf("backend %s: the simulator models the vllm backend only", a.backend)
	default:
		return fmt.Errorf("Unsupported backend: %s", a.backend)
	}
	if a.n < 1 || a.prompts < 1 {
		return fmt.Errorf("--n and --num-prompts must be at least 1")
	}
	reqs, err := a.requests(stderr)
	if err != nil {
		return err
	}

	cfg := DefaultConfig()
	cfg.Model, cfg.Cores, cfg.Slowdown = a.model, a.cores, a.slowdown
	cfg.MaxNumSeqs, cfg.MaxNumBatchedTokens, cfg.BlockSize, cfg.MaxModelLen = a.maxSeqs, a.maxBatched, a.blockSize, a.maxModelLen
	if a.caching || a.noCaching {
		on := a.caching && !a.noCaching
		cfg.EnablePrefixCaching = &on
	}
	if v := getenv("VLLM_CPU_KVCACHE_SPACE"); v != "" {
		gib, err := strconv.ParseFloat(v, 64)
		if err != nil || gib < 0 {
			return fmt.Errorf("Invalid environment variable VLLM_CPU_KVCACHE_SPACE %s, expect a positive integer value.", v)
		}
		if gib > 0 {
			cfg.KVCacheSpaceGiB = gib
		}
	}
	if a.dtype == "float32" || a.dtype == "float" {
		p, _ := perfmodel.Preset(a.model)
		p.DtypeBytes = 4
		cfg.Profile = &p
	}
	e, err := New(cfg, nil)
	if err != nil {
		return err
	}
	sc := e.sc
	mml := e.maxModelLen
	var arr []perfmodel.Arrival
	var promptTokens, outputTokens int
	for _, r := range reqs {
		if r.prompt+r.output > mml {
			return errors.New("AssertionError: Please ensure that max_model_len is greater than the sum of prompt_len and expected_output_len for all requests.")
		}
		for range a.n {
			arr = append(arr, perfmodel.Arrival{Prompt: r.prompt, Output: r.output, BlockHashes: r.hashes})
		}
		promptTokens += r.prompt
		outputTokens += a.n * r.output
	}
	if !sc.PrefixCaching {
		for i := range arr {
			arr[i].BlockHashes = nil
		}
	}
	out, err := perfmodel.Simulate(sc, arr)
	if err != nil {
		return err
	}
	var elapsed time.Duration
	for _, o := range out {
		elapsed = max(elapsed, o.E2E)
	}
	sec := elapsed.Seconds()
	total := promptTokens + outputTokens
	fmt.Fprintf(stdout, "Throughput: %.2f requests/s, %.2f total tokens/s, %.2f output tokens/s\n",
		float64(len(reqs))/sec, float64(total)/sec, float64(outputTokens)/sec)
	fmt.Fprintf(stdout, "Total num prompt tokens:  %d\n", promptTokens)
	fmt.Fprintf(stdout, "Total num output tokens:  %d\n", outputTokens)
	if a.out == "" {
		return nil
	}
	res := struct {
		Elapsed           float64 `json:"elapsed_time"`
		NumRequests       int     `json:"num_requests"`
		TotalNumTokens    int     `json:"total_num_tokens"`
		RequestsPerSecond float64 `json:"requests_per_second"`
		TokensPerSecond   float64 `json:"tokens_per_second"`
	}{sec, len(reqs), total, float64(len(reqs)) / sec, float64(total) / sec}
	b, err := json.MarshalIndent(res, "", "    ")
	if err != nil {
		return err
	}
	return os.WriteFile(a.out, b, 0o644)
}

// sampled is one request of the benchmark.
type sampled struct {
	prompt, output int
	hashes         []uint64 // prompt block hashes: shared prefixes share them
}

// requests samples the dataset as vLLM's benchmark datasets do.
func (a *throughputArgs) requests(stderr io.Writer) ([]sampled, error) {
	rng := rand.New(rand.NewPCG(uint64(a.seed), 0xbe7c4))
	if a.path == "" && a.dataset != "prefix_repetition" {
		if a.dataset != "random" {
			fmt.Fprintln(stderr, "When dataset path is not set, it will default to random dataset")
		}
		a.dataset = "random"
	}
	switch a.dataset {
	case "random":
		if a.inputLen == 0 {
			return nil, errors.New("ValueError: input_len must be provided for a random dataset")
		}
		out := a.outputLen
		if out == 0 {
			out = 128
		}
		if a.rangeRatio < 0 || a.rangeRatio >= 1 {
			return nil, fmt.Errorf("random_range_ratio must be in [0, 1), got %g", a.rangeRatio)
		}
		reqs := make([]sampled, a.prompts)
		for i := range reqs {
			in := spread(rng, a.inputLen, a.rangeRatio)
			reqs[i] = sampled{prompt: a.prefixLen + in, output: spread(rng, out, a.rangeRatio)}
			reqs[i].hashes = a.hashes(a.prefixLen, in, 1, uint64(i)+1)
		}
		return reqs, nil
	case "prefix_repetition":
		p, s, k, o := orDefault(a.repPrefix, 256), orDefault(a.repSuffix, 256), orDefault(a.repNum, 10), orDefault(a.repOut, 128)
		reqs := make([]sampled, a.prompts)
		for i := range reqs {
			reqs[i] = sampled{prompt: p + s, output: o, hashes: a.hashes(p, s, uint64(i%k)+1, uint64(i)+1<<20)}
		}
		return reqs, nil
	case "sharegpt":
		return a.sharegpt(rng)
	case "sonnet":
		return a.sonnet()
	}
	return nil, fmt.Errorf("dataset %s: the simulator samples sharegpt, random, sonnet and prefix_repetition", a.dataset)
}

func orDefault(v, d int) int {
	if v > 0 {
		return v
	}
	return d
}

// spread draws a length uniformly in [n(1-r), n(1+r)], as vLLM's random
// dataset does.
func spread(rng *rand.Rand, n int, r float64) int {
	lo, hi := int(float64(n)*(1-r)), int(float64(n)*(1+r))
	if hi <= lo {
		return max(n, 1)
	}
	return max(1, lo+rng.IntN(hi-lo+1))
}

// hashes is the block-hash chain of a prompt made of prefix tokens shared
// by every prompt of group, then rest tokens of its own (id).
func (a *throughputArgs) hashes(prefix, rest int, group, id uint64) []uint64 {
	bs := a.blockSize
	n := (prefix + rest) / bs
	out := make([]uint64, n)
	h := splitmix64(uint64(a.seed) ^ 0x7072)
	for i := range out {
		src := id
		if (i+1)*bs <= prefix {
			src = group
		}
		h = splitmix64(h ^ src ^ uint64(i)<<40)
		out[i] = h
	}
	return out
}

// sharegpt reads a ShareGPT file (a JSON list of {"conversations": [{"from",
// "value"}, ...]}) and keeps the first two turns of conversations vLLM
// would keep: prompt and completion of at least 4 tokens, prompt at most
// 1024, both at most 2048; shuffled by the seed, and repeated when there
// are fewer than --num-prompts.
func (a *throughputArgs) sharegpt(rng *rand.Rand) ([]sampled, error) {
	f, err := os.Open(a.path)
	if err != nil {
		return nil, fmt.Errorf("FileNotFoundError: %w", err)
	}
	defer f.Close()
	var convs []struct {
		Conversations []struct {
			Value string `json:"value"`
		} `json:"conversations"`
	}
	if err := json.NewDecoder(bufio.NewReader(f)).Decode(&convs); err != nil {
		return nil, fmt.Errorf("%s: not a ShareGPT JSON file: %w", a.path, err)
	}
	rng.Shuffle(len(convs), func(i, j int) { convs[i], convs[j] = convs[j], convs[i] })
	var reqs []sampled
	for i, c := range convs {
		if len(reqs) == a.prompts {
			break
		}
		if len(c.Conversations) < 2 {
			continue
		}
		p := tokenizer.Count(c.Conversations[0].Value)
		o := tokenizer.Count(c.Conversations[1].Value)
		if a.outputLen > 0 {
			o = a.outputLen
		} else if o < 4 {
			continue
		}
		if p < 4 || p > 1024 || p+o > 2048 {
			continue
		}
		reqs = append(reqs, sampled{prompt: p, output: o, hashes: a.hashes(0, p, 0, uint64(i)+1)})
	}
	if len(reqs) == 0 {
		return nil, fmt.Errorf("%s: no conversation of the dataset fits", a.path)
	}
	for i := 0; len(reqs) < a.prompts; i++ { // vLLM oversamples a short dataset
		reqs = append(reqs, reqs[i])
	}
	return reqs, nil
}

// sonnet reads a poem (one line per line) and builds prompts as vLLM's
// sonnet dataset does: a shared prefix of --prefix-len tokens (default 200)
// of the first lines, then lines to reach --input-len (default 550) tokens;
// output --output-len (default 150).
func (a *throughputArgs) sonnet() ([]sampled, error) {
	b, err := os.ReadFile(a.path)
	if err != nil {
		return nil, fmt.Errorf("FileNotFoundError: %w", err)
	}
	var lines []int
	for _, l := range strings.Split(string(b), "\n") {
		if n := tokenizer.Count(l); n > 0 {
			lines = append(lines, n)
		}
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("%s: empty", a.path)
	}
	in, out, prefix := orDefault(a.inputLen, 550), orDefault(a.outputLen, 150), a.prefixLen
	if prefix == 0 {
		prefix = 200
	}
	if prefix >= in {
		return nil, fmt.Errorf("ValueError: 'input_len' must be greater than or equal to the prefix length (%d)", prefix)
	}
	avg := 0
	for _, n := range lines {
		avg += n
	}
	per := max(1, int(math.Round(float64(avg)/float64(len(lines)))))
	prompt := prefix + ((in-prefix)/per)*per
	reqs := make([]sampled, a.prompts)
	for i := range reqs {
		reqs[i] = sampled{prompt: prompt, output: out, hashes: a.hashes(prefix, prompt-prefix, 1, uint64(i)+1)}
	}
	return reqs, nil
}
