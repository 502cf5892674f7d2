package suite

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Config is everything a run needs to know, resolved from the four layers.
type Config struct {
	Suite     *Suite // the definition, for its stages, phases and reports
	Models    []string
	Workloads []string
	Cores     []int
	Engine    string // sim, docker, external
	Image     string // engine image (docker); "" = the driver's default for the architecture
	Target    string // URL of an external engine
	Loadgen   string
	// Command is the command load generator's tool (Loadgen "command").
	Command *Command
	API     string // "" = each workload's API
	Limits  Limits
	// Phases are the suite's phases to run, by name; nil = all of them.
	Phases []string

	Results       string // results root directory
	ListenAddress string // live /metrics
	EngineCPUs    string // explicit engine cpuset (overrides the allocation's CPUs)
	LoadgenCPUs   string // explicit load-generator cpuset
	NUMANode      int    // -1 = automatic
	TP            int    // 0 = automatic
	ForceOverlap  bool   // allow engine and load-generator cpusets to overlap
	// Repeat runs every cell this many times in a row, each repetition with
	// a fresh engine, so that the suite summary can grade run-to-run
	// variation; 0 and 1 mean once.
	Repeat int
}

// Defaults are the values every suite starts from; the one place defaults
// live. A suite file overrides any of them.
var Defaults = Config{
	Engine:        "sim",
	Loadgen:       "native",
	Results:       "results",
	ListenAddress: "127.0.0.1:9464",
	NUMANode:      -1,
	Limits: Limits{
		MaxSeconds:            60,
		RequestTimeoutSeconds: 600,
		// The native load generator's defaults (loadgen.DefaultDrainTimeout,
		// loadgen.DefaultStreamIdleTimeout); a test keeps them equal.
		DrainTimeoutSeconds:      10,
		StreamIdleTimeoutSeconds: 30,
	},
	Models:    []string{"TinyLlama/TinyLlama-1.1B-Chat-v1.0"},
	Workloads: []string{"chat"},
	Cores:     []int{8},
}

// Overrides holds values from one layer above the suite (the environment or
// the flags). A nil pointer or nil slice means "not set in this layer".
type Overrides struct {
	Models, Workloads []string
	Phases            []string
	Cores             []int
	Engine, Image     *string
	Target, Loadgen   *string
	Command           *Command
	API               *string
	MaxSeconds        *float64
	MaxRequests       *int
	DrainTimeout      *float64 // seconds
	StreamIdleTimeout *float64 // seconds, 0 = never
	Results           *string
	ListenAddress     *string
	EngineCPUs        *string
	LoadgenCPUs       *string
	NUMANode          *int
	TP                *int
	ForceOverlap      *bool
	Repeat            *int
}

// EnvVars lists the environment variables Resolve reads and what they set.
var EnvVars = []struct{ Name, Sets string }{
	{"SERVEBENCH_MODELS", "models (comma-separated)"},
	{"SERVEBENCH_WORKLOADS", "workloads (comma-separated)"},
	{"SERVEBENCH_PHASES", "phases of the suite to run (comma-separated)"},
	{"SERVEBENCH_CORES", "core counts (comma-separated)"},
	{"SERVEBENCH_ENGINE", "engine: sim, docker, external"},
	{"SERVEBENCH_IMAGE", "engine image"},
	{"SERVEBENCH_TARGET", "URL of an external engine"},
	{"SERVEBENCH_LOADGEN", "load generator: native, guidellm, vllm-bench, command"},
	{"SERVEBENCH_COMMAND", "the command load generator's recipe (vegeta, wrk, ab, locust) or command line template"},
	{"SERVEBENCH_MAX_SECONDS", "longest duration of one load level, seconds"},
	{"SERVEBENCH_MAX_REQUESTS", "most requests of one load level"},
	{"SERVEBENCH_RESULTS", "results directory"},
	{"SERVEBENCH_WEB_LISTEN_ADDRESS", "address of the live /metrics endpoint"},
	{"SERVEBENCH_ENGINE_CPUS", "explicit engine cpuset, e.g. 0-7"},
	{"SERVEBENCH_LOADGEN_CPUS", "explicit load-generator cpuset"},
	{"SERVEBENCH_REPEAT", "run every cell this many times (repeatability)"},
}

// FromEnv reads the SERVEBENCH_* variables through getenv. Bad values are
// errors naming the variable.
func FromEnv(getenv func(string) string) (Overrides, error) {
	var o Overrides
	str := func(name string) *string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return &v
		}
		return nil
	}
	if v := str("SERVEBENCH_MODELS"); v != nil {
		o.Models = SplitList(*v)
	}
	if v := str("SERVEBENCH_WORKLOADS"); v != nil {
		o.Workloads = SplitList(*v)
	}
	if v := str("SERVEBENCH_PHASES"); v != nil {
		o.Phases = SplitList(*v)
	}
	if v := str("SERVEBENCH_CORES"); v != nil {
		c, err := ParseCores(*v)
		if err != nil {
			return o, fmt.Errorf("SERVEBENCH_CORES: %w", err)
		}
		o.Cores = c
	}
	o.Engine = str("SERVEBENCH_ENGINE")
	o.Image = str("SERVEBENCH_IMAGE")
	o.Target = str("SERVEBENCH_TARGET")
	o.Loadgen = str("SERVEBENCH_LOADGEN")
	if v := str("SERVEBENCH_COMMAND"); v != nil {
		o.Command = CommandOf(*v)
	}
	o.Results = str("SERVEBENCH_RESULTS")
	o.ListenAddress = str("SERVEBENCH_WEB_LISTEN_ADDRESS")
	o.EngineCPUs = str("SERVEBENCH_ENGINE_CPUS")
	o.LoadgenCPUs = str("SERVEBENCH_LOADGEN_CPUS")
	if v := str("SERVEBENCH_MAX_SECONDS"); v != nil {
		f, err := strconv.ParseFloat(*v, 64)
		if err != nil || f <= 0 {
			return o, fmt.Errorf("SERVEBENCH_MAX_SECONDS: %q is not a positive number of seconds", *v)
		}
		o.MaxSeconds = &f
	}
	if v := str("SERVEBENCH_MAX_REQUESTS"); v != nil {
		n, err := strconv.Atoi(*v)
		if err != nil || n < 0 {
			return o, fmt.Errorf("SERVEBENCH_MAX_REQUESTS: %q is not a request count", *v)
		}
		o.MaxRequests = &n
	}
	for _, e := range []struct {
		name string
		dst  **float64
	}{{"SERVEBENCH_DRAIN_TIMEOUT", &o.DrainTimeout}, {"SERVEBENCH_STREAM_IDLE_TIMEOUT", &o.StreamIdleTimeout}} {
		if v := str(e.name); v != nil {
			f, err := strconv.ParseFloat(*v, 64)
			if err != nil || f < 0 {
				return o, fmt.Errorf("%s: %q is not a number of seconds", e.name, *v)
			}
			*e.dst = &f
		}
	}
	if v := str("SERVEBENCH_REPEAT"); v != nil {
		n, err := strconv.Atoi(*v)
		if err != nil || n < 1 {
			return o, fmt.Errorf("SERVEBENCH_REPEAT: %q is not a positive count", *v)
		}
		o.Repeat = &n
	}
	return o, nil
}

// Resolve builds a run's configuration: Defaults < the suite < env < flags.
// It is the only place precedence is decided.
func Resolve(s *Suite, env, flags Overrides) (Config, error) {
	if s == nil {
		return Config{}, errors.New("suite: none given")
	}
	c := Defaults
	c.Models = append([]string(nil), Defaults.Models...)
	c.Workloads = append([]string(nil), Defaults.Workloads...)
	c.Cores = append([]int(nil), Defaults.Cores...)
	c.Suite = s

	// The suite layer.
	if len(s.Models) > 0 {
		c.Models = append([]string(nil), s.Models...)
	}
	if len(s.Workloads) > 0 {
		c.Workloads = append([]string(nil), s.Workloads...)
	}
	if len(s.Cores) > 0 {
		c.Cores = append([]int(nil), s.Cores...)
	}
	setStr(&c.Engine, s.Engine)
	setStr(&c.Loadgen, s.Loadgen)
	c.Command = s.Command
	setStr(&c.API, s.API)
	setStr(&c.Image, s.Image)
	mergeLimits(&c.Limits, s.Limits)
	if s.Offline() {
		c.Workloads = s.useCaseNames()
		if len(s.Workloads) > 0 {
			c.Workloads = append([]string(nil), s.Workloads...)
		}
		c.Repeat = s.Runs
	}

	// Environment, then flags.
	commandAbove := false // a command set above the suite asks for the command load generator
	for _, o := range []Overrides{env, flags} {
		if o.Models != nil {
			c.Models = o.Models
		}
		if o.Workloads != nil {
			c.Workloads = o.Workloads
		}
		if o.Phases != nil {
			c.Phases = o.Phases
		}
		if o.Cores != nil {
			c.Cores = o.Cores
		}
		setPtr(&c.Engine, o.Engine)
		setPtr(&c.Image, o.Image)
		setPtr(&c.Target, o.Target)
		setPtr(&c.Loadgen, o.Loadgen)
		if o.Command != nil {
			c.Command, commandAbove = o.Command, true
		}
		setPtr(&c.API, o.API)
		setPtr(&c.Results, o.Results)
		setPtr(&c.ListenAddress, o.ListenAddress)
		setPtr(&c.EngineCPUs, o.EngineCPUs)
		setPtr(&c.LoadgenCPUs, o.LoadgenCPUs)
		setPtr(&c.Limits.MaxSeconds, o.MaxSeconds)
		setPtr(&c.Limits.MaxRequests, o.MaxRequests)
		setPtr(&c.Limits.DrainTimeoutSeconds, o.DrainTimeout)
		setPtr(&c.Limits.StreamIdleTimeoutSeconds, o.StreamIdleTimeout)
		setPtr(&c.NUMANode, o.NUMANode)
		setPtr(&c.TP, o.TP)
		setPtr(&c.ForceOverlap, o.ForceOverlap)
		setPtr(&c.Repeat, o.Repeat)
	}
	if commandAbove && c.Loadgen != LoadgenCommand {
		return c, fmt.Errorf("command: a command is run by --loadgen command, not %s", c.Loadgen)
	}
	return c, c.validate()
}

func (c Config) validate() error {
	if err := errors.Join(Bounds.Repeat.Int(c.Repeat), Bounds.TP.Int(c.TP), Bounds.NUMANode.Int(c.NUMANode)); err != nil {
		return err
	}
	if len(c.Models) == 0 {
		return errors.New("models: none given")
	}
	for _, w := range c.Workloads {
		if c.Suite.Offline() {
			if _, ok := c.Suite.UseCase(w); !ok {
				return fmt.Errorf("workloads: %q is not a use case of suite %s (%s)", w, c.Suite.Name, strings.Join(c.Suite.useCaseNames(), ", "))
			}
			continue
		}
		if _, ok := Workloads[w]; !ok {
			return fmt.Errorf("workloads: unknown workload %q (one of %s)", w, strings.Join(WorkloadNames(), ", "))
		}
	}
	if c.Suite.Offline() && c.Engine == "external" {
		return errors.New("engine: an offline suite runs the engine itself (vllm bench throughput): use --engine docker or sim")
	}
	if len(c.Workloads) == 0 {
		return errors.New("workloads: none given")
	}
	for _, ph := range c.Phases {
		var names []string
		found := false
		for _, sp := range c.Suite.Phases {
			names = append(names, sp.Name)
			found = found || sp.Name == ph
		}
		if !found {
			if len(names) == 0 {
				return fmt.Errorf("phases: suite %s has no phases", c.Suite.Name)
			}
			return fmt.Errorf("phases: suite %s has no phase %q (phases: %s)", c.Suite.Name, ph, strings.Join(names, ", "))
		}
	}
	for _, n := range c.Cores {
		if err := Bounds.Cores.Int(n); err != nil {
			return err
		}
	}
	if !oneOf(c.Engine, Engines) {
		return fmt.Errorf("engine: unknown engine %q (one of %s)", c.Engine, strings.Join(Engines, ", "))
	}
	if c.Engine == "external" && c.Target == "" {
		return errors.New("target: the external engine needs a URL (--target or SERVEBENCH_TARGET)")
	}
	if c.Engine != "external" && c.Target != "" {
		return fmt.Errorf("target: a target URL is only used with --engine external, not %s", c.Engine)
	}
	if !oneOf(c.Loadgen, Loadgens) {
		return fmt.Errorf("loadgen: unknown load generator %q (one of %s)", c.Loadgen, strings.Join(Loadgens, ", "))
	}
	if c.API != "" && !oneOf(c.API, APIs) {
		return fmt.Errorf("api: unknown API %q (one of %s)", c.API, strings.Join(APIs, ", "))
	}
	if c.Loadgen == LoadgenCommand && (c.Command == nil || c.Command.Recipe == "" && strings.TrimSpace(c.Command.Run) == "") {
		return errors.New("command: --loadgen command needs a tool to run: --command RECIPE (vegeta, wrk, ab, locust), --command 'LINE', or the suite's command block")
	}
	return c.Limits.validate()
}

func setStr(dst *string, v string) {
	if v != "" {
		*dst = v
	}
}

func setPtr[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

func mergeLimits(dst *Limits, l Limits) {
	if l.MaxSeconds > 0 {
		dst.MaxSeconds = l.MaxSeconds
	}
	if l.MaxRequests > 0 {
		dst.MaxRequests = l.MaxRequests
	}
	if l.WarmupSeconds > 0 {
		dst.WarmupSeconds = l.WarmupSeconds
	}
	if l.CooldownSeconds > 0 {
		dst.CooldownSeconds = l.CooldownSeconds
	}
	if l.RequestTimeoutSeconds > 0 {
		dst.RequestTimeoutSeconds = l.RequestTimeoutSeconds
	}
	if l.DrainTimeoutSeconds > 0 {
		dst.DrainTimeoutSeconds = l.DrainTimeoutSeconds
	}
	if l.StreamIdleTimeoutSeconds > 0 {
		dst.StreamIdleTimeoutSeconds = l.StreamIdleTimeoutSeconds
	}
	if l.StopOverSaturated {
		dst.StopOverSaturated = true
	}
}

// SplitList splits a comma-separated list, dropping blanks.
func SplitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// ParseCores parses "8,16,32".
func ParseCores(s string) ([]int, error) {
	var out []int
	for _, p := range SplitList(s) {
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a positive core count", p)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, errors.New("no core counts")
	}
	return out, nil
}
