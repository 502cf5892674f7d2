package loadgen

import (
	"math"
	"time"

	"github.com/servebench/servebench/internal/bounds"
	"github.com/servebench/servebench/runner/pacer"
)

// Bounds are the allowed ranges of every numeric setting of a Config, named
// as runner bench's flags name them; Config.check enforces them and runner
// bench converts its flags with them, so both say the same thing. The
// shared maxima are internal/bounds'.
var Bounds = struct {
	Rate, Streams, Burstiness, RampFrom, RampTo, RampSeconds, TimeScale bounds.Range
	SweepSize, SweepStreams, Prompts                                    bounds.Range
	MaxSeconds, MaxRequests, MaxErrors, MaxErrorRate, MaxInFlight       bounds.Range
	Warmup, Cooldown                                                    bounds.Range
	RequestTimeout, DrainTimeout, InterruptGrace, ProbeTimeout          bounds.Range
	StreamIdleTimeout, UnreachableAfter                                 bounds.Range
	Cores                                                               bounds.Range
}{
	Rate:         bounds.Range{Name: "rate", Min: 0, MinOpen: true, Max: bounds.MaxRate, Unit: "req/s"},
	Streams:      bounds.Range{Name: "rate", Min: 1, Max: bounds.MaxStreams, Whole: true, Unit: "streams"},
	Burstiness:   bounds.Range{Name: "burstiness", Min: 0, MinOpen: true, Max: math.Inf(1), Note: "inf = constant"},
	RampFrom:     bounds.Range{Name: "ramp-from", Min: 0, Max: bounds.MaxRate, Unit: "req/s"},
	RampTo:       bounds.Range{Name: "ramp-to", Min: 0, Max: bounds.MaxRate, Unit: "req/s"},
	RampSeconds:  bounds.Range{Name: "ramp-seconds", Min: 0, Max: bounds.MaxSeconds, Unit: "seconds"},
	TimeScale:    bounds.Range{Name: "time-scale", Min: 0, MinOpen: true, Max: 1e6},
	SweepSize:    bounds.Range{Name: "sweep-size", Min: 2, Max: 100, Whole: true, Note: "0 = 10"},
	SweepStreams: bounds.Range{Name: "sweep-streams", Min: 1, Max: bounds.MaxStreams, Whole: true, Unit: "streams"},
	Prompts:      bounds.Range{Name: "prompts", Min: 0, Max: 1e6, Whole: true, Note: "0 = the default pool"},
	MaxSeconds:   bounds.Range{Name: "max-seconds", Min: 0, Max: bounds.MaxSeconds, Unit: "seconds", Note: "0 = no time limit"},
	MaxRequests:  bounds.Range{Name: "max-requests", Min: 0, Max: bounds.MaxCount, Whole: true, Note: "0 = no count limit"},
	MaxErrors:    bounds.Range{Name: "max-errors", Min: 0, Max: bounds.MaxCount, Whole: true, Note: "0 = no limit"},
	MaxErrorRate: bounds.Range{Name: "max-error-rate", Min: 0, Max: 1, Note: "0 = no limit"},
	MaxInFlight:  bounds.Range{Name: "max-in-flight", Min: 0, Max: bounds.MaxCount, Whole: true, Note: "0 = no cap"},
	Warmup:       bounds.Range{Name: "warmup", Min: 0, Max: bounds.MaxSeconds, Unit: "seconds", Note: "below 1 a fraction of max-seconds"},
	Cooldown:     bounds.Range{Name: "cooldown", Min: 0, Max: bounds.MaxSeconds, Unit: "seconds", Note: "below 1 a fraction of max-seconds"},
	// A request timeout of 0 would fail every request at once: it is not
	// "no timeout".
	RequestTimeout: bounds.Range{Name: "request-timeout", Min: 0, MinOpen: true, Max: bounds.MaxTimeoutSeconds, Unit: "seconds"},
	DrainTimeout:   bounds.Range{Name: "drain-timeout", Min: 0, Max: bounds.MaxTimeoutSeconds, Unit: "seconds", Note: "0 = the default"},
	InterruptGrace: bounds.Range{Name: "interrupt-grace", Min: 0, Max: bounds.MaxTimeoutSeconds, Unit: "seconds", Note: "0 = the default"},
	ProbeTimeout:   bounds.Range{Name: "probe-timeout", Min: 0, MinOpen: true, Max: bounds.MaxTimeoutSeconds, Unit: "seconds"},
	// Config: 0 is the default and negative never; the flag says 0 = never.
	StreamIdleTimeout: bounds.Range{Name: "stream-idle-timeout", Min: 0, Max: bounds.MaxTimeoutSeconds, Unit: "seconds", Note: "0 = never"},
	UnreachableAfter:  bounds.Range{Name: "unreachable-after", Min: 0, Max: bounds.MaxTimeoutSeconds, Unit: "seconds", Note: "0 = never"},
	Cores:             bounds.Range{Name: "cores", Min: 0, Max: bounds.MaxCores, Whole: true, Note: "0 = unknown"},
}

// checkBounds checks every numeric field against Bounds. Durations that
// the caller leaves zero take their defaults later; a timeout set to a
// negative value is an error, not a default.
func (c *Config) checkBounds() error {
	l := &Bounds
	rate := l.Rate
	if c.Profile.Closed() {
		rate = l.Streams
	}
	for _, r := range c.Rates {
		if err := rate.Check(r); err != nil {
			return configErr("%v", err)
		}
	}
	checks := []error{
		l.RampFrom.Check(c.RampFrom), l.RampTo.Check(c.RampTo), l.RampSeconds.Duration(c.RampOver),
		l.SweepStreams.Int(max(c.SweepStreams, 1)), l.Prompts.Int(c.PromptPool),
		l.MaxSeconds.Duration(c.MaxSeconds), l.MaxRequests.Int(c.MaxRequests), l.MaxErrors.Int(c.MaxErrors),
		l.MaxErrorRate.Check(c.MaxErrorRate), l.MaxInFlight.Int(c.MaxInFlight),
		l.Warmup.Check(float64(c.Warmup)), l.Cooldown.Check(float64(c.Cooldown)),
		l.DrainTimeout.Duration(c.DrainTimeout), l.InterruptGrace.Duration(c.InterruptGrace),
	}
	if c.Profile == pacer.Gamma || c.Burstiness != 0 {
		checks = append(checks, l.Burstiness.Check(c.Burstiness))
	}
	if c.SweepSize != 0 {
		checks = append(checks, l.SweepSize.Int(c.SweepSize))
	}
	if c.TimeScale != 0 {
		checks = append(checks, l.TimeScale.Check(c.TimeScale))
	}
	for _, t := range []struct {
		r bounds.Range
		d time.Duration
	}{{l.RequestTimeout, c.RequestTimeout}, {l.ProbeTimeout, c.ProbeTimeout}, {l.StreamIdleTimeout, max(c.StreamIdleTimeout, 0)},
		{l.UnreachableAfter, max(c.UnreachableAfter, 0)}} {
		if t.d != 0 {
			checks = append(checks, t.r.Duration(t.d))
		}
	}
	for _, err := range checks {
		if err != nil {
			return configErr("%v", err)
		}
	}
	return nil
}
