package vllmbench

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/servebench/servebench/runner/thirdparty/launch"
)

// API selects the backend and endpoint pair (they must match).
type API string

const (
	APIChat        API = "chat"        // --backend openai-chat --endpoint /v1/chat/completions
	APICompletions API = "completions" // --backend openai --endpoint /v1/completions
	APIEmbeddings  API = "embeddings"  // --backend openai-embeddings --endpoint /v1/embeddings
)

var backends = map[API][2]string{
	APIChat:        {"openai-chat", "/v1/chat/completions"},
	APICompletions: {"openai", "/v1/completions"},
	APIEmbeddings:  {"openai-embeddings", "/v1/embeddings"},
}

// Config is one `vllm bench serve` run on the random dataset.
type Config struct {
	BaseURL   string // the metering proxy's URL
	Model     string // served id; "" = the first from /v1/models
	Tokenizer string // HF id or local path; "" = the model's root from /v1/models
	APIKey    string // passed as OPENAI_API_KEY, never on the command line
	API       API

	InputLen, OutputLen int     // --random-input-len / --random-output-len (no output for embeddings)
	RangeRatio          float64 // --random-range-ratio
	NumPrompts          int

	// RequestRate in req/s; 0 = "inf" (everything at once, held back only
	// by MaxConcurrency). Burstiness 0 = vLLM's default 1 (Poisson), +Inf
	// = constant gaps.
	RequestRate    float64
	Burstiness     float64
	MaxConcurrency int
	Seed           int
	IgnoreEOS      bool // forced on by vLLM for the random dataset anyway
	Warmups        int  // --num-warmups
	// SkipReadyCheck passes --ready-check-timeout-sec 0: no initial test
	// request (servebench checked the engine is ready; through the
	// metering proxy that request would count as the level's).
	SkipReadyCheck bool

	ResultDir, ResultFile string // --result-dir / --result-filename
	Label                 string
	Metadata              map[string]string
	Extra                 []string
}

// MetricPercentiles are asked for on every run, so the summary's p50..p99.9
// come from vLLM itself.
const MetricPercentiles = "50,90,95,99,99.9"

// Args returns the exact arguments after the `vllm` program name.
func Args(c Config) ([]string, error) {
	if c.BaseURL == "" {
		return nil, errors.New("vllm bench: base url: empty; give the metering proxy's URL")
	}
	be, ok := backends[c.API]
	if !ok {
		return nil, fmt.Errorf("vllm bench: api %q: want chat, completions or embeddings", c.API)
	}
	if c.NumPrompts <= 0 {
		return nil, errors.New("vllm bench: num prompts: must be positive")
	}
	if c.InputLen <= 0 {
		return nil, errors.New("vllm bench: input len: must be positive")
	}
	if c.API != APIEmbeddings && c.OutputLen <= 0 {
		return nil, errors.New("vllm bench: output len: must be positive for generation")
	}
	if c.RequestRate < 0 || c.MaxConcurrency < 0 || c.Burstiness < 0 {
		return nil, errors.New("vllm bench: request rate, burstiness and max concurrency must not be negative")
	}
	if c.ResultDir == "" || c.ResultFile == "" {
		return nil, errors.New("vllm bench: result dir and file: both required (--save-result)")
	}
	args := []string{"bench", "serve",
		"--backend", be[0], "--endpoint", be[1], "--base-url", c.BaseURL}
	if c.Model != "" {
		args = append(args, "--model", c.Model)
	}
	if c.Tokenizer != "" {
		args = append(args, "--tokenizer", c.Tokenizer)
	}
	args = append(args, "--dataset-name", "random", "--random-input-len", strconv.Itoa(c.InputLen))
	if c.API != APIEmbeddings {
		args = append(args, "--random-output-len", strconv.Itoa(c.OutputLen))
	}
	if c.RangeRatio > 0 {
		args = append(args, "--random-range-ratio", ftoa(c.RangeRatio))
	}
	args = append(args, "--num-prompts", strconv.Itoa(c.NumPrompts))
	rate := "inf"
	if c.RequestRate > 0 {
		rate = ftoa(c.RequestRate)
	}
	args = append(args, "--request-rate", rate)
	switch {
	case math.IsInf(c.Burstiness, 1): // a constant 1/rate gap
		args = append(args, "--burstiness", "inf")
	case c.Burstiness > 0:
		args = append(args, "--burstiness", ftoa(c.Burstiness))
	}
	if c.MaxConcurrency > 0 {
		args = append(args, "--max-concurrency", strconv.Itoa(c.MaxConcurrency))
	}
	if c.Warmups > 0 {
		args = append(args, "--num-warmups", strconv.Itoa(c.Warmups))
	}
	if c.SkipReadyCheck {
		args = append(args, "--ready-check-timeout-sec", "0")
	}
	args = append(args, "--seed", strconv.Itoa(c.Seed))
	metrics := "ttft,tpot,itl,e2el" // e2el is not in vLLM's default
	if c.API == APIEmbeddings {
		metrics = "e2el"
	}
	args = append(args, "--percentile-metrics", metrics, "--metric-percentiles", MetricPercentiles)
	if c.IgnoreEOS && c.API != APIEmbeddings {
		args = append(args, "--ignore-eos")
	}
	// tqdm redraws with carriage returns: noise in a streamed log.
	args = append(args, "--disable-tqdm", "--save-result", "--result-dir", c.ResultDir, "--result-filename", c.ResultFile)
	if c.Label != "" {
		args = append(args, "--label", c.Label)
	}
	if len(c.Metadata) > 0 {
		args = append(args, "--metadata")
		for _, k := range slices.Sorted(maps.Keys(c.Metadata)) {
			args = append(args, k+"="+c.Metadata[k])
		}
	}
	return append(args, c.Extra...), nil
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// env is the environment every form sets: the key for the OpenAI client and
// the Python implementation pinned (VLLM_USE_RUST_BENCH hands the run to a
// binary with other semantics).
func env(c Config) (plain, secret map[string]string) {
	plain = map[string]string{"VLLM_USE_RUST_BENCH": "0"}
	if c.APIKey != "" {
		secret = map[string]string{"OPENAI_API_KEY": c.APIKey}
	}
	return plain, secret
}

// Host is `vllm bench serve` with a vllm binary on this machine (binary ""
// = "vllm" from PATH).
func Host(binary string, c Config) (launch.Host, error) {
	if binary == "" {
		binary = "vllm"
	}
	args, err := Args(c)
	if err != nil {
		return launch.Host{}, err
	}
	plain, secret := env(c)
	return launch.Host{Argv: append([]string{binary}, args...), Env: plain, Secrets: secret}, nil
}

// ContainerOptions place the vLLM image that runs the benchmark.
type ContainerOptions struct {
	Name       string
	Image      string // the vLLM image (e.g. engine.DefaultImage for the daemon's arch)
	CPUs, Mems []int  // the load generator's cpuset
	User       string
	Labels     map[string]string
	HFCache    string // host Hugging Face cache for the tokenizer; optional
}

// Container is `vllm bench serve` in the vLLM image with the `vllm`
// entrypoint; the result directory is mounted at /results and a local
// tokenizer directory read-only at /tokenizer.
func Container(o ContainerOptions, c Config) (launch.Container, error) {
	if o.Image == "" {
		return launch.Container{}, errors.New("vllm bench: image: empty; the benchmark runs in the vLLM image")
	}
	if !filepath.IsAbs(c.ResultDir) {
		return launch.Container{}, fmt.Errorf("vllm bench: result dir %q: must be absolute to mount it", c.ResultDir)
	}
	mounts := []launch.Mount{{Host: c.ResultDir, Container: "/results"}}
	c.ResultDir = "/results"
	if filepath.IsAbs(c.Tokenizer) {
		mounts = append(mounts, launch.Mount{Host: c.Tokenizer, Container: "/tokenizer", ReadOnly: true})
		c.Tokenizer = "/tokenizer"
	}
	plain, secret := env(c)
	if o.HFCache != "" {
		mounts = append(mounts, launch.Mount{Host: o.HFCache, Container: "/root/.cache/huggingface"})
	}
	args, err := Args(c)
	if err != nil {
		return launch.Container{}, err
	}
	return launch.Container{
		Name: o.Name, Image: o.Image, Entrypoint: []string{"vllm"}, Cmd: args, Env: plain, Secrets: secret,
		CPUs: o.CPUs, Mems: o.Mems, Mounts: mounts, WorkDir: "/results", User: o.User, Labels: o.Labels,
	}, nil
}
