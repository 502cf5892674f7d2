package guidellm

import (
	"encoding/json"
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
			name: "constant sweep of rates through the proxy, completions",
			cfg: Config{
				Target: "http://127.0.0.1:9470", Model: "Qwen/Qwen3-0.6B", RequestFormat: FormatCompletions,
				Profile: "constant", Rates: []float64{1, 2.5, 4}, Warmup: 10, Cooldown: 5,
				PromptTokens: 512, OutputTokens: 128, Tokenizer: "/models/Qwen3-0.6B",
				MaxSeconds: 120, OutputPath: "out/benchmarks.json", Labels: map[string]string{"suite": "scaling", "cell": "c1"}, Seed: 7,
			},
			want: []string{"run",
				"--backend", "kind=openai_http,target=http://127.0.0.1:9470,model=Qwen/Qwen3-0.6B,request_format=/v1/completions",
				"--data", "kind=synthetic_text,prompt_tokens=512,output_tokens=128",
				"--tokenizer", "kind=huggingface_auto,model=/models/Qwen3-0.6B",
				"--profile", "kind=constant,rate=1,warmup=10,cooldown=5",
				"--override", "profile.rate", "1,2.5,4",
				"--constraint", "kind=max_duration,seconds=120",
				"--seed", "kind=static,value=7",
				"--metrics", "kind=generative,sample_size=0",
				"--output", "kind=json,path=out/benchmarks.json",
				"--label", "cell=c1", "--label", "suite=scaling",
				"--disable-console-interactive"},
		},
		{
			name: "concurrent chat with variable lengths, limits and an API key: the backend is in the scenario file",
			cfg: Config{
				Target: "http://127.0.0.1:9470", APIKey: "sk-1", ScenarioFile: "/tmp/s/scenario.json", IgnoreEOS: true, Profile: "concurrent", Rates: []float64{16},
				PromptTokens: 256, PromptStdev: 32, PromptMin: 128, PromptMax: 512, OutputTokens: 64, OutputStdev: 8, MaxRequests: 500, MaxErrors: 10,
				StopOverSaturated: true, OutputPath: "/r/b.json", Extra: []string{"--data-loader", "kind=pytorch,samples=1000"},
			},
			want: []string{"run",
				"--scenario", "/tmp/s/scenario.json",
				"--data", "kind=synthetic_text,prompt_tokens=256,prompt_tokens_stdev=32,prompt_tokens_min=128,prompt_tokens_max=512,output_tokens=64,output_tokens_stdev=8",
				"--profile", "kind=concurrent,streams=16",
				"--constraint", "kind=max_requests,count=500",
				"--constraint", "kind=max_errors,count=10",
				"--constraint", "kind=over_saturation",
				"--metrics", "kind=generative,sample_size=0",
				"--output", "kind=json,path=/r/b.json",
				"--disable-console-interactive", "--data-loader", "kind=pytorch,samples=1000"},
		},
		{
			name: "chat ignoring EOS through the backend's extras, offline data from a file",
			cfg: Config{
				Target: "http://127.0.0.1:9470", Model: "m", RequestFormat: FormatChat, IgnoreEOS: true, Profile: "poisson", Rates: []float64{2},
				Data: "kind=json_file,path=/r/prompts.jsonl", OutputPath: "/r/b.json",
			},
			want: []string{"run",
				"--backend", `{"kind":"openai_http","target":"http://127.0.0.1:9470","model":"m","request_format":"/v1/chat/completions","extras":{"body":{"ignore_eos":true}}}`,
				"--data", "kind=json_file,path=/r/prompts.jsonl",
				"--profile", "kind=poisson,rate=2",
				"--metrics", "kind=generative,sample_size=0",
				"--output", "kind=json,path=/r/b.json",
				"--disable-console-interactive"},
		},
		{
			name: "embeddings at unlimited rate, a path with a comma takes the JSON form",
			cfg: Config{
				Target: "http://127.0.0.1:9470", RequestFormat: FormatEmbeddings, IgnoreEOS: true, Profile: "throughput", MaxConcurrency: 64,
				PromptTokens: 512, OutputPath: "/r/a,b.json",
			},
			want: []string{"run",
				"--backend", "kind=openai_http,target=http://127.0.0.1:9470,request_format=/v1/embeddings",
				"--data", "kind=synthetic_text,prompt_tokens=512",
				"--profile", "kind=throughput,max_concurrency=64",
				"--metrics", "kind=generative,sample_size=0",
				"--output", `{"kind":"json","path":"/r/a,b.json"}`,
				"--disable-console-interactive"},
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

func TestArgsErrors(t *testing.T) {
	ok := Config{Target: "http://p", Profile: "constant", Rates: []float64{1}, PromptTokens: 1, OutputTokens: 1, OutputPath: "o.json"}
	for _, tc := range []struct {
		mut  func(*Config)
		want string
	}{
		{func(c *Config) { c.Target = "" }, "guidellm: target: empty; give the metering proxy's URL"},
		{func(c *Config) { c.Profile = "burst" }, `guidellm: profile "burst": want one of synchronous, concurrent, throughput, constant, poisson, sweep`},
		{func(c *Config) { c.Rates = nil }, "guidellm: rates: profile constant needs at least one value"},
		{func(c *Config) { c.Rates = []float64{0} }, "guidellm: rates: 0 is not positive"},
		{func(c *Config) { c.Profile, c.Rates = "concurrent", []float64{1.5} }, "guidellm: rates: 1.5 streams is not a whole number"},
		{func(c *Config) { c.Profile = "synchronous" }, "guidellm: rates: profile synchronous takes none"},
		{func(c *Config) { c.OutputTokens = 0 }, "guidellm: output tokens: must be positive for generation"},
		{func(c *Config) { c.RequestFormat = "/v1/responses" }, `guidellm: request format "/v1/responses": want /v1/chat/completions, /v1/completions, /v1/embeddings or /v1/audio/transcriptions`},
		{func(c *Config) { c.OutputPath = "" }, "guidellm: output path: empty"},
		{func(c *Config) { c.APIKey = "sk-1" }, "guidellm: scenario file: required with an API key, which never goes on the command line"},
	} {
		c := ok
		tc.mut(&c)
		if _, err := Args(c); err == nil || err.Error() != tc.want {
			t.Errorf("err = %v\nwant %s", err, tc.want)
		}
	}
}

func TestHostAndContainer(t *testing.T) {
	cfg := Config{Target: "http://127.0.0.1:9470", APIKey: "sk-secret", ScenarioFile: "/tmp/servebench-guidellm-1/scenario.json", Profile: "poisson",
		Rates: []float64{2}, PromptTokens: 8, OutputTokens: 4, Tokenizer: "/models/tok", OutputPath: "/runs/r1/cell/guidellm.json"}
	h, err := Host("", cfg)
	if err != nil {
		t.Fatal(err)
	}
	if h.Argv[0] != "guidellm" || h.Argv[1] != "run" || strings.Contains(strings.Join(h.Argv, " "), "sk-secret") || !strings.Contains(h.String(), "--scenario /tmp/servebench-guidellm-1/scenario.json") {
		t.Errorf("host %q / %s", h.Argv, h.String())
	}
	c, err := Container(ContainerOptions{Name: "servebench-guidellm-1", CPUs: []int{3}, User: "1000:1000"}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := "docker run --rm --name servebench-guidellm-1 --network host --cpuset-cpus 3 -v /runs/r1/cell:/results -v /tmp/servebench-guidellm-1:/run/servebench:ro " +
		"-v /models/tok:/tokenizer:ro -w /results --user 1000:1000 " +
		"--entrypoint guidellm ghcr.io/vllm-project/guidellm:v0.7.3 run --scenario /run/servebench/scenario.json " +
		"--data kind=synthetic_text,prompt_tokens=8,output_tokens=4 --tokenizer kind=huggingface_auto,model=/tokenizer --profile kind=poisson,rate=2 " +
		"--metrics kind=generative,sample_size=0 --output kind=json,path=/results/guidellm.json --disable-console-interactive"
	if c.String() != want {
		t.Errorf("container\n got %s\nwant %s", c.String(), want)
	}
	if strings.Contains(strings.Join(append(c.Cmd, c.Entrypoint...), " "), "sk-secret") || len(c.Env)+len(c.Secrets) != 0 {
		t.Errorf("the key reached the container's command line or environment: %+v", c)
	}
	if _, err := Container(ContainerOptions{}, Config{OutputPath: "rel.json"}); err == nil || err.Error() != `guidellm: output path "rel.json": must be absolute to mount it` {
		t.Errorf("relative output: %v", err)
	}
}

// The scenario file holds the backend with its key, in the JSON GuideLLM's
// --scenario reads (spec.backend), and nothing else.
func TestScenario(t *testing.T) {
	if Scenario(Config{Target: "http://p"}) != nil {
		t.Error("a scenario without a key")
	}
	got := string(Scenario(Config{Target: "http://127.0.0.1:1", Model: "m", APIKey: `sk-"q"`, RequestFormat: FormatCompletions, IgnoreEOS: true}))
	want := `{"spec":{"backend":{"kind":"openai_http","target":"http://127.0.0.1:1","model":"m","request_format":"/v1/completions","api_key":"sk-\"q\"","extras":{"body":{"ignore_eos":true}}}}}` + "\n"
	if got != want {
		t.Errorf("scenario\n got %s\nwant %s", got, want)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(got), &v); err != nil {
		t.Error(err)
	}
}

func TestCheckVersion(t *testing.T) {
	if err := CheckVersion("0.7.3"); err != nil {
		t.Error(err)
	}
	err := CheckVersion("0.6.1")
	if err == nil || !strings.HasPrefix(err.Error(), "guidellm 0.6.1: servebench drives the `guidellm run` interface of 0.7 and newer") {
		t.Errorf("0.6.1: %v", err)
	}
}
