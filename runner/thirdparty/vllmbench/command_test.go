package vllmbench

import (
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestArgsExact(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want []string
	}{
		{
			name: "chat at concurrency 16, unlimited rate",
			cfg: Config{BaseURL: "http://127.0.0.1:9470", Model: "Qwen/Qwen3-0.6B", API: APIChat, InputLen: 128, OutputLen: 128,
				NumPrompts: 200, MaxConcurrency: 16, IgnoreEOS: true, SkipReadyCheck: true, ResultDir: "/r", ResultFile: "vllm-bench.json"},
			want: []string{"bench", "serve", "--backend", "openai-chat", "--endpoint", "/v1/chat/completions", "--base-url", "http://127.0.0.1:9470",
				"--model", "Qwen/Qwen3-0.6B", "--dataset-name", "random", "--random-input-len", "128", "--random-output-len", "128",
				"--num-prompts", "200", "--request-rate", "inf", "--max-concurrency", "16", "--ready-check-timeout-sec", "0", "--seed", "0",
				"--percentile-metrics", "ttft,tpot,itl,e2el", "--metric-percentiles", "50,90,95,99,99.9", "--ignore-eos",
				"--disable-tqdm", "--save-result", "--result-dir", "/r", "--result-filename", "vllm-bench.json"},
		},
		{
			name: "completions at 2.5 req/s, bursty, labelled",
			cfg: Config{BaseURL: "http://p:1", API: APICompletions, InputLen: 512, OutputLen: 64, RangeRatio: 0.25, NumPrompts: 50,
				RequestRate: 2.5, Burstiness: 0.5, Seed: 3, Warmups: 2, Tokenizer: "/models/tok", ResultDir: "out", ResultFile: "x.json",
				Label: "cpu8", Metadata: map[string]string{"suite": "scaling", "cell": "c2"}},
			want: []string{"bench", "serve", "--backend", "openai", "--endpoint", "/v1/completions", "--base-url", "http://p:1",
				"--tokenizer", "/models/tok", "--dataset-name", "random", "--random-input-len", "512", "--random-output-len", "64",
				"--random-range-ratio", "0.25", "--num-prompts", "50", "--request-rate", "2.5", "--burstiness", "0.5", "--num-warmups", "2", "--seed", "3",
				"--percentile-metrics", "ttft,tpot,itl,e2el", "--metric-percentiles", "50,90,95,99,99.9",
				"--disable-tqdm", "--save-result", "--result-dir", "out", "--result-filename", "x.json",
				"--label", "cpu8", "--metadata", "cell=c2", "suite=scaling"},
		},
		{
			name: "embeddings: no output length, e2el only",
			cfg:  Config{BaseURL: "http://p:1", API: APIEmbeddings, InputLen: 512, NumPrompts: 1000, IgnoreEOS: true, ResultDir: "/r", ResultFile: "e.json"},
			want: []string{"bench", "serve", "--backend", "openai-embeddings", "--endpoint", "/v1/embeddings", "--base-url", "http://p:1",
				"--dataset-name", "random", "--random-input-len", "512", "--num-prompts", "1000", "--request-rate", "inf", "--seed", "0",
				"--percentile-metrics", "e2el", "--metric-percentiles", "50,90,95,99,99.9",
				"--disable-tqdm", "--save-result", "--result-dir", "/r", "--result-filename", "e.json"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Args(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("args\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestArgsConstantGaps(t *testing.T) {
	args, err := Args(Config{BaseURL: "http://p", API: APIChat, InputLen: 1, OutputLen: 1, NumPrompts: 1, RequestRate: 4, Burstiness: math.Inf(1), ResultDir: "d", ResultFile: "f"})
	if err != nil || !strings.Contains(strings.Join(args, " "), "--request-rate 4 --burstiness inf --seed 0") {
		t.Errorf("%q %v", args, err)
	}
}

func TestArgsErrors(t *testing.T) {
	ok := Config{BaseURL: "http://p", API: APIChat, InputLen: 1, OutputLen: 1, NumPrompts: 1, ResultDir: "d", ResultFile: "f"}
	for _, tc := range []struct {
		mut  func(*Config)
		want string
	}{
		{func(c *Config) { c.BaseURL = "" }, "vllm bench: base url: empty; give the metering proxy's URL"},
		{func(c *Config) { c.API = "responses" }, `vllm bench: api "responses": want chat, completions or embeddings`},
		{func(c *Config) { c.NumPrompts = 0 }, "vllm bench: num prompts: must be positive"},
		{func(c *Config) { c.OutputLen = 0 }, "vllm bench: output len: must be positive for generation"},
		{func(c *Config) { c.RequestRate = -1 }, "vllm bench: request rate, burstiness and max concurrency must not be negative"},
		{func(c *Config) { c.ResultFile = "" }, "vllm bench: result dir and file: both required (--save-result)"},
	} {
		c := ok
		tc.mut(&c)
		if _, err := Args(c); err == nil || err.Error() != tc.want {
			t.Errorf("err = %v\nwant %s", err, tc.want)
		}
	}
}

func TestHostAndContainer(t *testing.T) {
	cfg := Config{BaseURL: "http://127.0.0.1:9470", APIKey: "sk-x", API: APICompletions, InputLen: 8, OutputLen: 4, NumPrompts: 10,
		ResultDir: "/runs/r1/cell", ResultFile: "vllm-bench.json", Tokenizer: "/models/tok"}
	h, err := Host("", cfg)
	if err != nil {
		t.Fatal(err)
	}
	if h.Argv[0] != "vllm" || h.Secrets["OPENAI_API_KEY"] != "sk-x" || strings.Contains(h.String(), "sk-x") || !strings.HasPrefix(h.String(), "VLLM_USE_RUST_BENCH=0 OPENAI_API_KEY=<redacted> vllm bench serve") {
		t.Errorf("host %s", h.String())
	}
	c, err := Container(ContainerOptions{Name: "servebench-vllm-bench-1", Image: "docker.io/vllm/vllm-openai-cpu:v0.25.1-x86_64", CPUs: []int{7}}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := "docker run --rm --name servebench-vllm-bench-1 --network host --cpuset-cpus 7 -v /runs/r1/cell:/results -v /models/tok:/tokenizer:ro -w /results " +
		"-e VLLM_USE_RUST_BENCH=0 -e 'OPENAI_API_KEY=<redacted>' --entrypoint vllm docker.io/vllm/vllm-openai-cpu:v0.25.1-x86_64 bench serve " +
		"--backend openai --endpoint /v1/completions --base-url http://127.0.0.1:9470 --tokenizer /tokenizer --dataset-name random " +
		"--random-input-len 8 --random-output-len 4 --num-prompts 10 --request-rate inf --seed 0 --percentile-metrics ttft,tpot,itl,e2el " +
		"--metric-percentiles 50,90,95,99,99.9 --disable-tqdm --save-result --result-dir /results --result-filename vllm-bench.json"
	if c.String() != want {
		t.Errorf("container\n got %s\nwant %s", c.String(), want)
	}
	if _, err := Container(ContainerOptions{Image: "i"}, Config{ResultDir: "rel"}); err == nil || err.Error() != `vllm bench: result dir "rel": must be absolute to mount it` {
		t.Errorf("relative dir: %v", err)
	}
}
