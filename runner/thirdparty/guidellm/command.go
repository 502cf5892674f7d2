package guidellm

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/servebench/servebench/runner/thirdparty/launch"
)

// DefaultImage is the GuideLLM image used when none is given.
const DefaultImage = "ghcr.io/vllm-project/guidellm:v0.7.3"

// MinVersion is the oldest GuideLLM whose CLI (`guidellm run`, registry
// specs) Args speaks.
const MinVersion = "0.7"

// Request formats (the backend's request_format).
const (
	FormatChat        = "/v1/chat/completions"
	FormatCompletions = "/v1/completions"
	FormatEmbeddings  = "/v1/embeddings"
	// FormatTranscriptions is GuideLLM's audio backend: each row of Data
	// names an audio file in its "audio" column, which GuideLLM decodes,
	// re-encodes and uploads.
	FormatTranscriptions = "/v1/audio/transcriptions"
)

// Config is one `guidellm run`. Zero values leave GuideLLM's defaults.
type Config struct {
	Target string // base URL: the metering proxy in front of the engine
	Model  string // served model id; "" = GuideLLM takes the first from /v1/models
	// APIKey is the backend's api_key. It is never on the command line:
	// the backend then goes to GuideLLM in a scenario file (ScenarioFile,
	// written by the Runner with mode 0600 and removed after the run).
	APIKey        string
	ScenarioFile  string // where the scenario holding the key is, as GuideLLM sees it; required with APIKey
	RequestFormat string // FormatChat (GuideLLM's default), FormatCompletions, FormatEmbeddings or FormatTranscriptions
	// IgnoreEOS makes every generation request ask for its exact output
	// length (ignore_eos through the backend's extras), as servebench's
	// own requests do, whatever the data says.
	IgnoreEOS bool

	// Profile is synchronous, concurrent, throughput, constant, poisson or
	// sweep. Rates are req/s for constant and poisson, streams for concurrent,
	// the sweep size for sweep; several values run one benchmark each.
	Profile        string
	Rates          []float64
	MaxConcurrency int     // cap on in-flight requests (throughput, constant, poisson, sweep)
	Warmup         float64 // seconds (>= 1) or a fraction of the duration (< 1)
	Cooldown       float64

	// Synthetic data; Data, when set, replaces it verbatim (a registry spec
	// such as kind=json_file,path=prompts.jsonl).
	PromptTokens, OutputTokens int
	PromptStdev, OutputStdev   int
	PromptMin, PromptMax       int // clip bounds with a stdev; 0 = none
	OutputMin, OutputMax       int
	Data                       string
	Tokenizer                  string // HF id or local directory; "" = the served model id

	MaxSeconds  float64 // per benchmark
	MaxRequests int
	MaxErrors   int
	// StopOverSaturated adds GuideLLM's over-saturation constraint: a
	// benchmark stops once GuideLLM finds the server cannot keep up.
	StopOverSaturated bool

	Seed       int // 0 = GuideLLM's default (42)
	OutputPath string
	Labels     map[string]string
	Extra      []string // appended verbatim
}

var profiles = []string{"synchronous", "concurrent", "throughput", "constant", "poisson", "sweep"}

// Args returns the exact arguments after the `guidellm` program name.
func Args(c Config) ([]string, error) {
	if c.Target == "" {
		return nil, errors.New("guidellm: target: empty; give the metering proxy's URL")
	}
	if c.OutputPath == "" {
		return nil, errors.New("guidellm: output path: empty")
	}
	if !slices.Contains(profiles, c.Profile) {
		return nil, fmt.Errorf("guidellm: profile %q: want one of %s", c.Profile, strings.Join(profiles, ", "))
	}
	switch c.RequestFormat {
	case "", FormatChat, FormatCompletions, FormatEmbeddings:
	case FormatTranscriptions:
		if c.Data == "" {
			return nil, errors.New("guidellm: transcriptions need Data: a file whose audio column names the recordings")
		}
	default:
		return nil, fmt.Errorf("guidellm: request format %q: want %s, %s, %s or %s", c.RequestFormat, FormatChat, FormatCompletions,
			FormatEmbeddings, FormatTranscriptions)
	}
	for _, r := range c.Rates {
		if r <= 0 {
			return nil, fmt.Errorf("guidellm: rates: %g is not positive", r)
		}
	}
	args := []string{"run"}
	if c.APIKey != "" {
		if c.ScenarioFile == "" {
			return nil, errors.New("guidellm: scenario file: required with an API key, which never goes on the command line")
		}
		args = append(args, "--scenario", c.ScenarioFile)
	} else {
		args = append(args, "--backend", backendOf(c).spec())
	}

	if c.Data != "" {
		args = append(args, "--data", c.Data)
	} else {
		if c.PromptTokens <= 0 {
			return nil, errors.New("guidellm: prompt tokens: must be positive for synthetic data")
		}
		data := []kv{{"prompt_tokens", itoa(c.PromptTokens)}}
		data = appendLength(data, "prompt_tokens", c.PromptStdev, c.PromptMin, c.PromptMax)
		if c.RequestFormat != FormatEmbeddings {
			if c.OutputTokens <= 0 {
				return nil, errors.New("guidellm: output tokens: must be positive for generation")
			}
			data = append(data, kv{"output_tokens", itoa(c.OutputTokens)})
			data = appendLength(data, "output_tokens", c.OutputStdev, c.OutputMin, c.OutputMax)
		}
		args = append(args, "--data", spec("synthetic_text", data))
	}
	if c.Tokenizer != "" {
		args = append(args, "--tokenizer", spec("huggingface_auto", []kv{{"model", c.Tokenizer}}))
	}

	profile, err := profileSpec(c)
	if err != nil {
		return nil, err
	}
	args = append(args, "--profile", spec(c.Profile, profile))
	if len(c.Rates) > 1 {
		field := "rate"
		if c.Profile == "concurrent" {
			field = "streams"
		}
		args = append(args, "--override", "profile."+field, joinFloats(c.Rates))
	}
	if c.MaxSeconds > 0 {
		args = append(args, "--constraint", spec("max_duration", []kv{{"seconds", ftoa(c.MaxSeconds)}}))
	}
	if c.MaxRequests > 0 {
		args = append(args, "--constraint", spec("max_requests", []kv{{"count", itoa(c.MaxRequests)}}))
	}
	if c.MaxErrors > 0 {
		args = append(args, "--constraint", spec("max_errors", []kv{{"count", itoa(c.MaxErrors)}}))
	}
	if c.StopOverSaturated {
		args = append(args, "--constraint", spec("over_saturation", nil))
	}
	if c.Seed != 0 {
		args = append(args, "--seed", spec("static", []kv{{"value", itoa(c.Seed)}}))
	}
	// sample_size=0 lists every request with its timings but without text.
	args = append(args, "--metrics", spec("generative", []kv{{"sample_size", "0"}}))
	args = append(args, "--output", spec("json", []kv{{"path", c.OutputPath}}))
	for _, k := range slices.Sorted(maps.Keys(c.Labels)) {
		args = append(args, "--label", k+"="+c.Labels[k])
	}
	args = append(args, "--disable-console-interactive")
	return append(args, c.Extra...), nil
}

// backend is the openai_http backend's fields in a stable order; extras
// (nested) only when the requests must ignore EOS.
type backend struct {
	fields []kv
	extras bool // {"body":{"ignore_eos":true}}
}

func backendOf(c Config) backend {
	b := backend{fields: []kv{{"target", c.Target}}}
	if c.Model != "" {
		b.fields = append(b.fields, kv{"model", c.Model})
	}
	if c.RequestFormat != "" {
		b.fields = append(b.fields, kv{"request_format", c.RequestFormat})
	}
	switch c.RequestFormat {
	case "", FormatChat, FormatCompletions:
		b.extras = c.IgnoreEOS
	}
	return b
}

// spec renders the backend option: the plain form when it can, the JSON
// form when a value needs it or extras are nested.
func (b backend) spec() string {
	if !b.extras {
		return spec("openai_http", b.fields)
	}
	return string(b.json(""))
}

// json is the backend as a JSON object, with apiKey when not empty.
func (b backend) json(apiKey string) []byte {
	var w strings.Builder
	w.WriteString(`{"kind":"openai_http"`)
	for _, f := range b.fields {
		w.WriteString("," + quote(f.k) + ":" + quote(f.v))
	}
	if apiKey != "" {
		w.WriteString(`,"api_key":` + quote(apiKey))
	}
	if b.extras {
		w.WriteString(`,"extras":{"body":{"ignore_eos":true}}`)
	}
	w.WriteString("}")
	return []byte(w.String())
}

// Scenario is the scenario file that carries the backend, API key
// included, when c has one (GuideLLM reads --scenario files and lets the
// command line override them; the backend is then not on it). It is nil
// without a key.
func Scenario(c Config) []byte {
	if c.APIKey == "" {
		return nil
	}
	return []byte(`{"spec":{"backend":` + string(backendOf(c).json(c.APIKey)) + "}}\n")
}

// appendLength adds a synthetic length's spread: stdev, then its bounds.
func appendLength(data []kv, field string, stdev, lo, hi int) []kv {
	if stdev <= 0 {
		return data
	}
	data = append(data, kv{field + "_stdev", itoa(stdev)})
	if lo > 0 {
		data = append(data, kv{field + "_min", itoa(lo)})
	}
	if hi > 0 {
		data = append(data, kv{field + "_max", itoa(hi)})
	}
	return data
}

func profileSpec(c Config) ([]kv, error) {
	var out []kv
	first := func(field string) error {
		if len(c.Rates) == 0 {
			return fmt.Errorf("guidellm: rates: profile %s needs at least one value", c.Profile)
		}
		out = append(out, kv{field, ftoa(c.Rates[0])})
		return nil
	}
	switch c.Profile {
	case "concurrent":
		for _, r := range c.Rates {
			if r != float64(int(r)) {
				return nil, fmt.Errorf("guidellm: rates: %g streams is not a whole number", r)
			}
		}
		if err := first("streams"); err != nil {
			return nil, err
		}
	case "constant", "poisson":
		if err := first("rate"); err != nil {
			return nil, err
		}
	case "sweep":
		if len(c.Rates) == 1 {
			out = append(out, kv{"sweep_size", ftoa(c.Rates[0])})
		}
	case "synchronous", "throughput":
		if len(c.Rates) > 0 {
			return nil, fmt.Errorf("guidellm: rates: profile %s takes none", c.Profile)
		}
	}
	if c.MaxConcurrency > 0 && c.Profile != "synchronous" && c.Profile != "concurrent" {
		out = append(out, kv{"max_concurrency", itoa(c.MaxConcurrency)})
	}
	if c.Warmup > 0 {
		out = append(out, kv{"warmup", ftoa(c.Warmup)})
	}
	if c.Cooldown > 0 {
		out = append(out, kv{"cooldown", ftoa(c.Cooldown)})
	}
	return out, nil
}

type kv struct{ k, v string }

// spec renders a registry spec: kind=K,key=value,... or, when a value holds
// a comma or an equals sign the key=value form cannot carry, the JSON form
// (GuideLLM accepts either, never both in one option).
func spec(kind string, fields []kv) string {
	plain := true
	for _, f := range fields {
		if strings.ContainsAny(f.v, ",=") {
			plain = false
		}
	}
	if plain {
		var b strings.Builder
		b.WriteString("kind=" + kind)
		for _, f := range fields {
			b.WriteString("," + f.k + "=" + f.v)
		}
		return b.String()
	}
	var b strings.Builder
	b.WriteString(`{"kind":` + quote(kind))
	for _, f := range fields {
		b.WriteString("," + quote(f.k) + ":")
		if _, err := strconv.ParseFloat(f.v, 64); err == nil {
			b.WriteString(f.v)
		} else {
			b.WriteString(quote(f.v))
		}
	}
	b.WriteString("}")
	return b.String()
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func itoa(n int) string     { return strconv.Itoa(n) }
func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
func joinFloats(fs []float64) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = ftoa(f)
	}
	return strings.Join(parts, ",")
}

// Host is `guidellm run` with a binary on this machine (binary "" =
// "guidellm" from PATH).
func Host(binary string, c Config) (launch.Host, error) {
	if binary == "" {
		binary = "guidellm"
	}
	args, err := Args(c)
	if err != nil {
		return launch.Host{}, err
	}
	return launch.Host{Argv: append([]string{binary}, args...), Redact: nonEmpty(c.APIKey)}, nil
}

// ContainerOptions place GuideLLM's container.
type ContainerOptions struct {
	Name       string // unique container name
	Image      string // "" = DefaultImage
	CPUs, Mems []int  // the load generator's cpuset, disjoint from the engine's
	User       string
	Labels     map[string]string
	HFCache    string // host Hugging Face cache, mounted for the tokenizer; optional
}

// scenarioMount is where a container sees the scenario file's directory.
const scenarioMount = "/run/servebench"

// Container is `guidellm run` in the GuideLLM image: the output file's
// directory is mounted at /results, a local tokenizer directory read-only at
// /tokenizer, the scenario file's (with an API key) read-only at
// /run/servebench, and the container shares the host network to reach the
// proxy.
func Container(o ContainerOptions, c Config) (launch.Container, error) {
	if c.OutputPath == "" {
		return launch.Container{}, errors.New("guidellm: output path: empty")
	}
	if !filepath.IsAbs(c.OutputPath) {
		return launch.Container{}, fmt.Errorf("guidellm: output path %q: must be absolute to mount it", c.OutputPath)
	}
	image := o.Image
	if image == "" {
		image = DefaultImage
	}
	mounts := []launch.Mount{{Host: filepath.Dir(c.OutputPath), Container: "/results"}}
	c.OutputPath = path.Join("/results", filepath.Base(c.OutputPath))
	if c.ScenarioFile != "" {
		mounts = append(mounts, launch.Mount{Host: filepath.Dir(c.ScenarioFile), Container: scenarioMount, ReadOnly: true})
		c.ScenarioFile = path.Join(scenarioMount, filepath.Base(c.ScenarioFile))
	}
	if filepath.IsAbs(c.Tokenizer) {
		mounts = append(mounts, launch.Mount{Host: c.Tokenizer, Container: "/tokenizer", ReadOnly: true})
		c.Tokenizer = "/tokenizer"
	}
	env := map[string]string{}
	if o.HFCache != "" {
		mounts = append(mounts, launch.Mount{Host: o.HFCache, Container: "/home/guidellm/.cache/huggingface"})
		env["HF_HOME"] = "/home/guidellm/.cache/huggingface"
	}
	args, err := Args(c)
	if err != nil {
		return launch.Container{}, err
	}
	return launch.Container{
		Name: o.Name, Image: image, Entrypoint: []string{"guidellm"}, Cmd: args, Env: env,
		CPUs: o.CPUs, Mems: o.Mems, Mounts: mounts, WorkDir: "/results", User: o.User, Labels: o.Labels,
		Redact: nonEmpty(c.APIKey),
	}, nil
}

// CheckVersion accepts GuideLLM versions whose CLI Args speaks.
func CheckVersion(v string) error {
	if !launch.AtLeast(v, MinVersion) {
		return fmt.Errorf("guidellm %s: servebench drives the `guidellm run` interface of %s and newer; upgrade (pip install 'guidellm>=%s') or use the image %s", v, MinVersion, MinVersion, DefaultImage)
	}
	return nil
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}
