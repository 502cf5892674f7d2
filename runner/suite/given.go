package suite

import "fmt"

// Given are runner start's suite flags as typed. Overrides applies a value
// only when its flag was given, so that a flag overrides the environment
// and the suite file only when set (the precedence Resolve documents).
type Given struct {
	Models, Workloads, Phases, Cores, Engine, Image, Target, Loadgen, API string
	Results, ListenAddress, EngineCPUs, LoadgenCPUs                       string
	Command                                                               string  // a recipe or a command line (CommandOf)
	MaxSeconds, DrainTimeout, StreamIdleTimeout                           float64 // seconds
	MaxRequests, NUMANode, Repeat, TP                                     int
	ForceOverlap                                                          bool
}

// Overrides checks the given values (set reports whether the flag of that
// name was given) and returns them as overrides; an error names the flag.
func (g *Given) Overrides(set func(flag string) bool) (Overrides, error) {
	var o Overrides
	if set("models") {
		o.Models = SplitList(g.Models)
	}
	if set("workloads") {
		o.Workloads = SplitList(g.Workloads)
	}
	if set("phases") {
		o.Phases = SplitList(g.Phases)
	}
	if set("cores") {
		c, err := ParseCores(g.Cores)
		if err != nil {
			return o, fmt.Errorf("--cores: %v", err)
		}
		o.Cores = c
	}
	str := func(name string, v *string) *string {
		if set(name) {
			return v
		}
		return nil
	}
	o.Engine, o.Image, o.Target, o.Loadgen, o.API = str("engine", &g.Engine), str("image", &g.Image), str("target", &g.Target), str("loadgen", &g.Loadgen), str("api", &g.API)
	o.Results, o.ListenAddress = str("results", &g.Results), str("web.listen-address", &g.ListenAddress)
	o.EngineCPUs, o.LoadgenCPUs = str("engine-cpus", &g.EngineCPUs), str("loadgen-cpus", &g.LoadgenCPUs)
	if set("command") {
		o.Command = CommandOf(g.Command)
	}
	if set("max-seconds") {
		if g.MaxSeconds <= 0 {
			return o, fmt.Errorf("--max-seconds: %g is not a positive number of seconds", g.MaxSeconds)
		}
		o.MaxSeconds = &g.MaxSeconds
	}
	if set("max-requests") {
		if g.MaxRequests < 0 {
			return o, fmt.Errorf("--max-requests: %d is negative", g.MaxRequests)
		}
		o.MaxRequests = &g.MaxRequests
	}
	if set("drain-timeout") {
		if err := Bounds.DrainTimeout.Check(g.DrainTimeout); err != nil || g.DrainTimeout == 0 {
			return o, fmt.Errorf("--drain-timeout: %g is not a positive number of seconds", g.DrainTimeout)
		}
		o.DrainTimeout = &g.DrainTimeout
	}
	if set("stream-idle-timeout") {
		if err := Bounds.StreamIdleTimeout.Check(g.StreamIdleTimeout); err != nil {
			return o, fmt.Errorf("--stream-idle-timeout: %v", err)
		}
		o.StreamIdleTimeout = &g.StreamIdleTimeout
	}
	if set("numa-node") {
		o.NUMANode = &g.NUMANode
	}
	if set("tp") {
		o.TP = &g.TP
	}
	if set("repeat") {
		if g.Repeat < 1 {
			return o, fmt.Errorf("--repeat: %d is not a positive count", g.Repeat)
		}
		o.Repeat = &g.Repeat
	}
	if set("force-overlap") {
		o.ForceOverlap = &g.ForceOverlap
	}
	return o, nil
}
