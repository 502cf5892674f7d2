package loadgen

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/internal/bounds"
	"github.com/servebench/servebench/runner/audio"
	"github.com/servebench/servebench/runner/pacer"
	"github.com/servebench/servebench/runner/results"
	"github.com/servebench/servebench/runner/workload"
)

// Options are the settings of a Config as a person writes them (runner
// bench's flags): lists as text, durations as seconds, the workload as a
// catalogue name, a synthetic spec or a file. Apply checks them, naming
// the flag of any bad value, and fills a Config.
type Options struct {
	API, Profile, Rates, Data, Workload, ExtraBody string
	// Seconds; 0 UnreachableAfter or StreamIdleTimeout means never.
	RampSeconds, MaxSeconds, Warmup, Cooldown         float64
	RequestTimeout, ProbeTimeout, DrainTimeout, Grace float64
	UnreachableAfter, StreamIdleTimeout               float64
	Headers, SecretHeaders                            []string // K=V
	MaxLatenessShare, MaxLatenessMs, MaxErrorRate     float64  // validity; a 0 error rate tolerates no failure
	MinSamples                                        int
	Cores                                             int // 0 = unknown
}

// Kinds lists the load profiles, separated by |.
func Kinds() string {
	s := make([]string, len(pacer.Kinds))
	for i, k := range pacer.Kinds {
		s[i] = string(k)
	}
	return strings.Join(s, "|")
}

// Apply checks o and fills c from it, then validates c. c's Target is
// required; the fields Options does not carry are c's own.
func (o Options) Apply(c *Config) error {
	if c.Target == "" {
		return fmt.Errorf("--target is required")
	}
	if o.Profile == "" {
		return fmt.Errorf("--profile is required (%s)", Kinds())
	}
	k, err := pacer.ParseKind(o.Profile)
	if err != nil {
		return fmt.Errorf("--profile: %v", err)
	}
	c.Profile = k
	if o.Rates != "" {
		for _, s := range strings.Split(o.Rates, ",") {
			v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil {
				return fmt.Errorf("--rate: %q is not a number", s)
			}
			c.Rates = append(c.Rates, v)
		}
	}
	if !(c.Burstiness > 0) {
		return fmt.Errorf("--burstiness: %v must be above 0", c.Burstiness)
	}
	if err := o.durations(c); err != nil {
		return err
	}
	if err := o.data(c); err != nil {
		return err
	}
	if err := o.header(c); err != nil {
		return err
	}
	if o.ExtraBody != "" {
		if err := json.Unmarshal([]byte(o.ExtraBody), &c.ExtraBody); err != nil || c.ExtraBody == nil {
			return fmt.Errorf("--extra-body: want a JSON object: %v", err)
		}
	}
	if o.MaxLatenessShare <= 0 || o.MaxLatenessMs < 0 || o.MinSamples < 1 {
		return fmt.Errorf("--valid.max-lateness-share and --valid.min-samples must be positive, --valid.max-lateness not negative")
	}
	maxErr := o.MaxErrorRate
	if maxErr == 0 {
		maxErr = 1e-12 // 0 would select the default; zero tolerance is "any failure"
	}
	c.Validity = results.Validity{MaxLatenessShare: o.MaxLatenessShare, MaxLatenessP99: time.Duration(o.MaxLatenessMs * float64(time.Millisecond)),
		MinSamplesP99: o.MinSamples, MaxErrorRate: maxErr}
	if err := Bounds.Cores.Int(o.Cores); err != nil {
		return fmt.Errorf("--%v", err)
	}
	if o.Cores > 0 {
		c.Labels.Cores = strconv.Itoa(o.Cores)
	}
	return c.Validate()
}

// durations range-checks the seconds before they become Durations, which
// would overflow; Bounds decides the ranges.
func (o Options) durations(c *Config) error {
	var err error
	l := &Bounds
	for _, d := range []struct {
		dst *time.Duration
		r   bounds.Range
		v   float64
	}{
		{&c.RampOver, l.RampSeconds, o.RampSeconds}, {&c.MaxSeconds, l.MaxSeconds, o.MaxSeconds},
		{&c.RequestTimeout, l.RequestTimeout, o.RequestTimeout}, {&c.ProbeTimeout, l.ProbeTimeout, o.ProbeTimeout},
		{&c.DrainTimeout, l.DrainTimeout, o.DrainTimeout}, {&c.InterruptGrace, l.InterruptGrace, o.Grace},
	} {
		if *d.dst, err = d.r.Seconds(d.v); err != nil {
			return fmt.Errorf("--%v", err)
		}
	}
	if o.UnreachableAfter == 0 {
		c.UnreachableAfter = -1 // never
	} else if c.UnreachableAfter, err = l.UnreachableAfter.Seconds(o.UnreachableAfter); err != nil {
		return fmt.Errorf("--%v", err)
	}
	if o.StreamIdleTimeout == 0 {
		c.StreamIdleTimeout = -1 // never
	} else if c.StreamIdleTimeout, err = l.StreamIdleTimeout.Seconds(o.StreamIdleTimeout); err != nil {
		return fmt.Errorf("--%v", err)
	}
	c.Warmup, c.Cooldown = Span(o.Warmup), Span(o.Cooldown)
	return nil
}

// data picks the requests: recordings for transcriptions, a catalogue
// workload, a synthetic spec or a prompts file; then the API.
func (o Options) data(c *Config) error {
	var err error
	switch {
	case o.API == string(measure.APITranscriptions):
		if c.Audio, c.Labels.Workload, err = audio.Recordings(o.Workload, o.Data); err != nil {
			return fmt.Errorf("--workload/--data: %v", err)
		}
	case o.Data != "" && o.Workload != "":
		return fmt.Errorf("--data and --workload: give one")
	case o.Workload != "":
		if c.Workload, err = workload.Lookup(o.Workload); err != nil {
			return fmt.Errorf("--workload: %v", err)
		}
	case strings.Contains(o.Data, "="):
		if c.Workload, err = workload.ParseData(o.Data); err != nil {
			return fmt.Errorf("--data: %v", err)
		}
	case o.Data != "":
		fh, err := os.Open(o.Data)
		if err != nil {
			return fmt.Errorf("--data: %v", err)
		}
		set, err := workload.ReadFile(fh)
		fh.Close()
		if err != nil {
			return fmt.Errorf("--data %s: %v", o.Data, err)
		}
		c.Prompts = &set
		c.Labels.Workload = strings.TrimSuffix(filepath.Base(o.Data), filepath.Ext(o.Data))
	default:
		return fmt.Errorf("--data or --workload is required")
	}
	switch {
	case o.API != "":
		a, err := measure.ParseAPI(o.API)
		if err != nil {
			return fmt.Errorf("--api: %v", err)
		}
		c.API = a
	case c.Workload.API != "":
		c.API = c.Workload.API
	default:
		c.API = measure.APIChat
	}
	return nil
}

// header adds the extra headers, marking the secret ones.
func (o Options) header(c *Config) error {
	for i, h := range append(append([]string{}, o.Headers...), o.SecretHeaders...) {
		flag := "--header"
		if i >= len(o.Headers) {
			flag = "--secret-header"
		}
		k, v, ok := strings.Cut(h, "=")
		if k = strings.TrimSpace(k); !ok || k == "" {
			return fmt.Errorf("%s %q: want K=V", flag, h)
		}
		if c.Header == nil {
			c.Header = http.Header{}
		}
		c.Header.Add(k, v)
		if flag == "--secret-header" {
			c.SecretHeaders = append(c.SecretHeaders, k)
		}
	}
	return nil
}
