// Package suite owns servebench's suites: their strict YAML schema, the
// built-in catalogue (embedded), the resolution of a run's configuration
// (suite defaults < suite file < environment < flags, in Resolve and nowhere
// else) and the plan — the cells model × workload × cores (× phase, ×
// contention variant), each with its load levels, and the cells skipped with
// a reason.
//
// Everything here is pure: no clock, no process state, no I/O beyond reading
// the suite file named by the caller. Values returned are owned by the
// caller; nothing is shared between calls.
package suite

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Suite is one suite definition, as read from YAML. Zero values mean "not
// set": defaults are applied by Resolve, never here.
type Suite struct {
	Name string `yaml:"name"`
	// Kind is "online" (the default: load levels against a served engine)
	// or "offline" (vllm bench throughput: the engine runs a batch of
	// prompts itself, no server; Workloads name UseCases).
	Kind        string      `yaml:"kind"`
	Description string      `yaml:"description"`
	Reports     []string    `yaml:"reports"` // throughput, latency, scaling, contention
	Models      []string    `yaml:"models"`
	Workloads   []string    `yaml:"workloads"`
	Cores       []int       `yaml:"cores"`
	Engine      string      `yaml:"engine"`  // sim, docker, external
	Loadgen     string      `yaml:"loadgen"` // native, guidellm, vllm-bench, command
	Command     *Command    `yaml:"command"` // the command load generator's tool
	API         string      `yaml:"api"`     // chat, completions, embeddings, transcriptions; "" = the workload's
	Image       string      `yaml:"image"`
	Phases      []Phase     `yaml:"phases"`
	Limits      Limits      `yaml:"limits"`
	Stages      []Stage     `yaml:"stages"`
	Contention  *Contention `yaml:"contention"`
	Audio       *Audio      `yaml:"audio"`
	UseCases    []UseCase   `yaml:"use_cases"` // offline suites
	// Runs repeats every offline cell (runner start --repeat overrides it),
	// as the seed ran each use case 3 to 5 times.
	Runs int `yaml:"runs"`

	// Source is where the suite came from ("built-in" or a file path); not YAML.
	Source string `yaml:"-"`
}

// LoadgenCommand is the load generator that runs any tool from its command
// line (runner/thirdparty/command).
const LoadgenCommand = "command"

// Command is the tool the command load generator runs: a shipped recipe
// (vegeta, wrk, ab, locust), or a command line template of the user's, or
// a recipe with some fields replaced. Fields are those of
// runner/thirdparty/command.Spec, which validates them; the suite checks
// only that there is something to run.
type Command struct {
	Recipe     string            `yaml:"recipe"`
	Name       string            `yaml:"name"`
	Tool       string            `yaml:"tool"`
	Run        string            `yaml:"run"`
	Version    string            `yaml:"version"`
	Report     string            `yaml:"report"`
	ReportFile string            `yaml:"report_file"`
	Profiles   []string          `yaml:"profiles"`
	Files      map[string]string `yaml:"files"`
	Abandons   bool              `yaml:"abandons"`
}

// CommandOf is the Command a --command flag (or SERVEBENCH_COMMAND) names:
// a single word is a recipe, anything else a command line template.
func CommandOf(s string) *Command {
	s = strings.TrimSpace(s)
	if s != "" && !strings.ContainsAny(s, " \t{") {
		return &Command{Recipe: s}
	}
	return &Command{Run: s}
}

// Phase is one pass over the matrix with a workload variant (the seed
// framework's phases: baseline, variable lengths, prefix caching).
type Phase struct {
	Name           string `yaml:"name"`
	WorkloadSuffix string `yaml:"workload_suffix"` // appended to each workload, e.g. "_var"
	PrefixCaching  bool   `yaml:"prefix_caching"`
}

// Limits bound each load level. A level sends for max_seconds (warmup and
// cooldown included), then requests still in flight get drain_timeout_seconds
// and are cut: its budget is max_seconds + drain_timeout_seconds.
type Limits struct {
	MaxSeconds            float64 `yaml:"max_seconds"`
	MaxRequests           int     `yaml:"max_requests"`
	WarmupSeconds         float64 `yaml:"warmup_seconds"`
	CooldownSeconds       float64 `yaml:"cooldown_seconds"`
	RequestTimeoutSeconds float64 `yaml:"request_timeout_seconds"`
	DrainTimeoutSeconds   float64 `yaml:"drain_timeout_seconds"`
	// StreamIdleTimeoutSeconds ends a stream silent for this long after its
	// first token as a stalled error; 0 (only from a flag or the
	// environment, a suite file's 0 is "not set") turns it off.
	StreamIdleTimeoutSeconds float64 `yaml:"stream_idle_timeout_seconds"`
	// StopOverSaturated stops an open-loop level once the over-saturation
	// detector finds the server cannot keep up (GuideLLM levels: its own
	// over_saturation constraint).
	StopOverSaturated bool `yaml:"stop_over_saturated"`
}

// LevelSeconds is the longest one load level may take, max_seconds +
// drain_timeout_seconds; 0 when levels have no time limit (max_requests
// only).
func (l Limits) LevelSeconds() float64 {
	if l.MaxSeconds <= 0 {
		return 0
	}
	return l.MaxSeconds + l.DrainTimeoutSeconds
}

// Stage is a group of load levels run in order within a cell. Either Levels
// (streams for closed-loop profiles, req/s for open-loop ones) or Fractions
// (of the maximum rate found by an earlier stage with FindsMax) is set.
type Stage struct {
	Profile   string    `yaml:"profile"`
	Levels    []float64 `yaml:"levels"`
	Fractions []float64 `yaml:"fractions"`
	FindsMax  bool      `yaml:"finds_max"`
}

// Contention describes the contention suite's variants of each cell.
type Contention struct {
	Variants       []string `yaml:"variants"` // isolated, cpu-neighbour, membw-neighbour, instances
	NeighbourCores int      `yaml:"neighbour_cores"`
	Instances      int      `yaml:"instances"`
	Balance        string   `yaml:"balance"` // round-robin, least-outstanding
}

// Suite kinds.
const (
	KindOnline  = "online"
	KindOffline = "offline"
)

// Offline reports whether the suite runs vllm bench throughput.
func (s *Suite) Offline() bool { return s.Kind == KindOffline }

// UseCase is one offline batch: what `vllm bench throughput` is given.
type UseCase struct {
	Name      string `yaml:"name"`
	Dataset   string `yaml:"dataset"` // random, sharegpt, sonnet, prefix_repetition
	Prompts   int    `yaml:"prompts"`
	InputLen  int    `yaml:"input_len"`  // 0 = the dataset's (random: required)
	OutputLen int    `yaml:"output_len"` // 0 = the dataset's
	PrefixLen int    `yaml:"prefix_len"` // shared prefix tokens (random, sonnet)
	// Cores replaces the suite's core counts for this use case.
	Cores []int `yaml:"cores"`
	// PrefixCaching turns vLLM's prefix caching on; off by default, as the
	// seed ran every use case (--no-enable-prefix-caching).
	PrefixCaching bool `yaml:"prefix_caching"`
}

// Datasets of vllm bench throughput the use cases may name, and the file
// each needs (under SERVEBENCH_DATASETS), "" when none.
var Datasets = map[string]string{"random": "", "prefix_repetition": "", "sharegpt": "ShareGPT_V3_unfiltered_cleaned_split.json", "sonnet": "sonnet.txt"}

// UseCase returns the offline use case named name.
func (s *Suite) UseCase(name string) (UseCase, bool) {
	for _, u := range s.UseCases {
		if u.Name == name {
			return u, true
		}
	}
	return UseCase{}, false
}

func (s *Suite) useCaseNames() []string {
	out := make([]string, len(s.UseCases))
	for i, u := range s.UseCases {
		out[i] = u.Name
	}
	return out
}

// Audio configures the audio report (suites that list "audio" in reports).
type Audio struct {
	// P95TargetSeconds is the end-to-end latency the 95th percentile of a
	// level must stay within for its concurrency to count as sustainable
	// (DefaultP95Target when 0).
	P95TargetSeconds float64 `yaml:"p95_target_seconds"`
}

// DefaultP95Target is the audio report's default p95 latency target, the
// seed framework's.
const DefaultP95Target = 2.0

// P95Target is the audio report's latency target in seconds.
func (s *Suite) P95Target() float64 {
	if s.Audio != nil && s.Audio.P95TargetSeconds > 0 {
		return s.Audio.P95TargetSeconds
	}
	return DefaultP95Target
}

// Known values of the enumerated fields.
var (
	Engines   = []string{"sim", "docker", "external"}
	Loadgens  = []string{"native", "guidellm", "vllm-bench", LoadgenCommand}
	APIs      = []string{"chat", "completions", "embeddings", "transcriptions"}
	Profiles  = []string{"synchronous", "concurrent", "throughput", "constant", "poisson"}
	Reports   = []string{"throughput", "latency", "scaling", "contention", "audio"}
	Variants  = []string{VariantIsolated, VariantCPUNeighbour, VariantMemBWNeighbour, VariantInstances}
	Balancers = []string{"round-robin", "least-outstanding"}
)

// Contention variants.
const (
	VariantIsolated       = "isolated"
	VariantCPUNeighbour   = "cpu-neighbour"
	VariantMemBWNeighbour = "membw-neighbour"
	VariantInstances      = "instances"
)

// closedLoop profiles take stream counts; the others take req/s.
func closedLoop(profile string) bool {
	return profile == "synchronous" || profile == "concurrent" || profile == "throughput"
}

//go:embed catalogue/*.yaml
var catalogueFS embed.FS

// ErrUnknownSuite is returned by Lookup for a name that is neither built in
// nor a readable file.
var ErrUnknownSuite = errors.New("unknown suite")

// Catalogue returns the built-in suites, sorted by name.
func Catalogue() ([]*Suite, error) {
	entries, err := catalogueFS.ReadDir("catalogue")
	if err != nil {
		return nil, fmt.Errorf("read catalogue: %w", err)
	}
	var out []*Suite
	for _, e := range entries {
		b, err := catalogueFS.ReadFile("catalogue/" + e.Name())
		if err != nil {
			return nil, fmt.Errorf("read catalogue: %w", err)
		}
		s, err := Parse(bytes.NewReader(b), "built-in:"+e.Name())
		if err != nil {
			return nil, err
		}
		s.Source = "built-in"
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Builtin returns the built-in suite with that name.
func Builtin(name string) (*Suite, error) {
	all, err := Catalogue()
	if err != nil {
		return nil, err
	}
	for _, s := range all {
		if s.Name == name {
			return s, nil
		}
	}
	names := make([]string, len(all))
	for i, s := range all {
		names[i] = s.Name
	}
	return nil, fmt.Errorf("%w %q (built-in: %s; or give a YAML file path)", ErrUnknownSuite, name, strings.Join(names, ", "))
}

// Lookup resolves a --suite value: a built-in name, or a path to a YAML file
// (anything ending in .yaml/.yml or containing a path separator).
func Lookup(nameOrPath string) (*Suite, error) {
	if strings.HasSuffix(nameOrPath, ".yaml") || strings.HasSuffix(nameOrPath, ".yml") || strings.ContainsRune(nameOrPath, filepath.Separator) {
		return Load(nameOrPath)
	}
	return Builtin(nameOrPath)
}

// Load reads and validates a suite file.
func Load(path string) (*Suite, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("suite file: %w", err)
	}
	defer f.Close()
	s, err := Parse(f, path)
	if err != nil {
		return nil, err
	}
	s.Source = path
	return s, nil
}

// Parse decodes one suite strictly (unknown fields are errors) and validates
// it. name prefixes every error so the user knows which file is wrong.
func Parse(r io.Reader, name string) (*Suite, error) {
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	var s Suite
	if err := dec.Decode(&s); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty suite file", name)
		}
		return nil, fmt.Errorf("%s: %s", name, cleanYAMLError(err))
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &s, nil
}

// cleanYAMLError drops the decoder's preamble and Go type names, which mean
// nothing to a user: "yaml: unmarshal errors:\n  line 3: field colour not
// found in type suite.Suite" becomes "line 3: unknown field \"colour\"".
func cleanYAMLError(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:\n")
	var lines []string
	for _, l := range strings.Split(msg, "\n") {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		if i := strings.Index(l, ": field "); i >= 0 && strings.Contains(l, " not found in type ") {
			field := l[i+len(": field ") : strings.Index(l, " not found in type ")]
			l = fmt.Sprintf("%s: unknown field %q", l[:i], field)
		}
		if i := strings.Index(l, " into "); i >= 0 && strings.Contains(l, "cannot unmarshal") {
			l = l[:i] + " into " + goTypeToYAML(l[i+len(" into "):])
		}
		lines = append(lines, l)
	}
	return strings.Join(lines, "; ")
}

func goTypeToYAML(t string) string {
	switch t {
	case "int", "float64":
		return "a number"
	case "bool":
		return "true or false"
	case "string":
		return "a string"
	case "[]int", "[]float64":
		return "a list of numbers"
	case "[]string":
		return "a list of strings"
	}
	return "the expected shape"
}

// Validate checks a suite as written (before defaults). Every error names the
// field at fault.
func (s *Suite) Validate() error {
	if s.Name == "" {
		return errors.New("name: required")
	}
	if !validName(s.Name) {
		return fmt.Errorf("name: %q must be lowercase letters, digits and dashes", s.Name)
	}
	for _, r := range s.Reports {
		if !oneOf(r, Reports) {
			return fmt.Errorf("reports: unknown report %q (one of %s)", r, strings.Join(Reports, ", "))
		}
	}
	for _, m := range s.Models {
		if strings.TrimSpace(m) == "" {
			return errors.New("models: empty model id")
		}
	}
	if s.Kind != "" && s.Kind != KindOnline && s.Kind != KindOffline {
		return fmt.Errorf("kind: %q is neither online nor offline", s.Kind)
	}
	if !s.Offline() {
		if len(s.UseCases) > 0 || s.Runs != 0 {
			return errors.New("use_cases: only offline suites (kind: offline) have use cases and runs")
		}
		for _, w := range s.Workloads {
			if _, ok := Workloads[w]; !ok {
				return fmt.Errorf("workloads: unknown workload %q (one of %s)", w, strings.Join(WorkloadNames(), ", "))
			}
		}
	}
	for _, c := range s.Cores {
		if err := Bounds.Cores.Int(c); err != nil {
			return err
		}
	}
	if s.Engine != "" && !oneOf(s.Engine, Engines) {
		return fmt.Errorf("engine: unknown engine %q (one of %s)", s.Engine, strings.Join(Engines, ", "))
	}
	if s.Loadgen != "" && !oneOf(s.Loadgen, Loadgens) {
		return fmt.Errorf("loadgen: unknown load generator %q (one of %s)", s.Loadgen, strings.Join(Loadgens, ", "))
	}
	if s.API != "" && !oneOf(s.API, APIs) {
		return fmt.Errorf("api: unknown API %q (one of %s)", s.API, strings.Join(APIs, ", "))
	}
	if c := s.Command; c != nil && c.Recipe == "" && strings.TrimSpace(c.Run) == "" {
		return errors.New("command: needs a recipe or a run line")
	}
	for i, p := range s.Phases {
		if p.Name == "" {
			return fmt.Errorf("phases[%d].name: required", i)
		}
	}
	if err := s.Limits.validate(); err != nil {
		return err
	}
	if s.Offline() {
		return s.validateOffline()
	}
	if len(s.Stages) == 0 {
		return errors.New("stages: at least one stage is required")
	}
	foundMax := false
	for i, st := range s.Stages {
		if err := st.validate(foundMax); err != nil {
			return fmt.Errorf("stages[%d].%w", i, err)
		}
		foundMax = foundMax || st.FindsMax
	}
	if a := s.Audio; a != nil && a.P95TargetSeconds < 0 {
		return fmt.Errorf("audio.p95_target_seconds: %g is negative", a.P95TargetSeconds)
	}
	if c := s.Contention; c != nil {
		if len(c.Variants) == 0 {
			return errors.New("contention.variants: at least one variant is required")
		}
		for _, v := range c.Variants {
			if !oneOf(v, Variants) {
				return fmt.Errorf("contention.variants: unknown variant %q (one of %s)", v, strings.Join(Variants, ", "))
			}
		}
		if err := Bounds.NeighbourCores.Int(c.NeighbourCores); err != nil {
			return err
		}
		if c.Instances != 0 {
			if err := Bounds.Instances.Int(c.Instances); err != nil {
				return err
			}
		}
		if c.Balance != "" && !oneOf(c.Balance, Balancers) {
			return fmt.Errorf("contention.balance: unknown balancer %q (one of %s)", c.Balance, strings.Join(Balancers, ", "))
		}
	}
	return nil
}

// validateOffline checks an offline suite: use cases instead of load
// levels.
func (s *Suite) validateOffline() error {
	if len(s.Stages) > 0 || s.Contention != nil || len(s.Phases) > 0 {
		return errors.New("stages: an offline suite has use cases, not stages, phases or contention")
	}
	if len(s.UseCases) == 0 {
		return errors.New("use_cases: an offline suite needs at least one")
	}
	if s.Runs < 0 {
		return fmt.Errorf("runs: %d is negative", s.Runs)
	}
	seen := map[string]bool{}
	for i, u := range s.UseCases {
		switch _, known := Datasets[u.Dataset]; {
		case u.Name == "" || !validName(strings.ReplaceAll(u.Name, "_", "-")):
			return fmt.Errorf("use_cases[%d].name: %q must be lowercase letters, digits, dashes and underscores", i, u.Name)
		case seen[u.Name]:
			return fmt.Errorf("use_cases[%d].name: %q appears twice", i, u.Name)
		case !known:
			return fmt.Errorf("use_cases[%d].dataset: unknown dataset %q (one of random, sharegpt, sonnet, prefix_repetition)", i, u.Dataset)
		case u.Prompts <= 0:
			return fmt.Errorf("use_cases[%d].prompts: %d, need at least 1", i, u.Prompts)
		case u.Dataset == "random" && u.InputLen <= 0:
			return fmt.Errorf("use_cases[%d].input_len: the random dataset needs one", i)
		case u.InputLen < 0 || u.OutputLen < 0 || u.PrefixLen < 0:
			return fmt.Errorf("use_cases[%d]: lengths must be >= 0", i)
		}
		for _, c := range u.Cores {
			if c <= 0 {
				return fmt.Errorf("use_cases[%d].cores: %d is not a positive core count", i, c)
			}
		}
		seen[u.Name] = true
	}
	for _, w := range s.Workloads {
		if !seen[w] {
			return fmt.Errorf("workloads: %q is not one of the use cases (%s)", w, strings.Join(s.useCaseNames(), ", "))
		}
	}
	return nil
}

func (l Limits) validate() error {
	return errors.Join(Bounds.MaxSeconds.Check(l.MaxSeconds), Bounds.MaxRequests.Int(l.MaxRequests),
		Bounds.Warmup.Check(l.WarmupSeconds), Bounds.Cooldown.Check(l.CooldownSeconds),
		Bounds.RequestTimeout.Check(l.RequestTimeoutSeconds), Bounds.DrainTimeout.Check(l.DrainTimeoutSeconds),
		Bounds.StreamIdleTimeout.Check(l.StreamIdleTimeoutSeconds))
}

// validate returns errors starting with the field name, to be prefixed
// with "stages[i].".
func (st Stage) validate(maxFound bool) error {
	if !oneOf(st.Profile, Profiles) {
		return fmt.Errorf("profile: unknown profile %q (one of %s)", st.Profile, strings.Join(Profiles, ", "))
	}
	switch {
	case len(st.Levels) > 0 && len(st.Fractions) > 0:
		return errors.New("levels: set levels or fractions, not both")
	case len(st.Levels) == 0 && len(st.Fractions) == 0 && st.Profile != "synchronous":
		return errors.New("levels: set levels or fractions")
	}
	r := Bounds.Rate
	if closedLoop(st.Profile) {
		r = Bounds.Streams
	}
	for _, l := range st.Levels {
		if err := r.Check(l); err != nil {
			return err
		}
	}
	if len(st.Fractions) > 0 {
		if !maxFound {
			return errors.New("fractions: needs an earlier stage with finds_max: true")
		}
		if closedLoop(st.Profile) {
			return fmt.Errorf("fractions: profile %s takes streams, not fractions of a rate", st.Profile)
		}
	}
	for _, f := range st.Fractions {
		if f <= 0 || f > 2 {
			return fmt.Errorf("fractions: %g is outside (0, 2]", f)
		}
	}
	if st.FindsMax && (len(st.Levels) != 1 || st.Profile != "throughput") {
		return errors.New("finds_max: needs profile throughput with exactly one level (the streams)")
	}
	return nil
}

func validName(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

func oneOf(v string, set []string) bool {
	for _, s := range set {
		if v == s {
			return true
		}
	}
	return false
}
