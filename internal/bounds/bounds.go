// Package bounds holds the allowed ranges of servebench's numeric settings
// and the one way they are checked, so that a suite file, an environment
// variable and a flag meaning the same thing accept the same values and
// fail with the same message: the field, the value and the range.
//
// The maxima shared by several packages are the constants below; each
// package keeps its own table of Ranges (loadgen for runner bench's
// settings, suite for suite files, the environment and runner start's
// flags), built from them.
package bounds

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// Maxima shared by the load generator and the suites.
const (
	// MaxRate is the highest open-loop request rate, req/s: well beyond
	// what one client host sends.
	MaxRate = 1e6
	// MaxStreams is the most concurrent streams of a closed loop: each
	// holds a TCP connection, and one client host has about 28,000
	// ephemeral ports per target by default.
	MaxStreams = 50000
	// MaxSeconds is the longest level, warmup or cooldown: a week.
	MaxSeconds = 7 * 24 * 3600
	// MaxTimeoutSeconds bounds per-request, drain and probe timeouts: a day.
	MaxTimeoutSeconds = 24 * 3600
	// MaxCount bounds request and error counts.
	MaxCount = 1e9
	// MaxCores is Linux's largest CPU count (NR_CPUS on big builds).
	MaxCores = 8192
)

// Range is the allowed span of one numeric setting.
type Range struct {
	Name string // the field as the user wrote it: "rate", "limits.max_seconds"
	// Also names the same setting elsewhere ("--max-seconds,
	// SERVEBENCH_MAX_SECONDS"); shown in the error when set.
	Also     string
	Min, Max float64
	// MinOpen excludes Min itself (a rate must be above 0).
	MinOpen bool
	Whole   bool   // a whole number
	Unit    string // "seconds", "req/s", "streams"
	Note    string // what a special value means, e.g. "0 = no limit"
}

// Check returns nil when v is in the range, else an error naming the
// field, v and the range.
func (r Range) Check(v float64) error {
	ok := !math.IsNaN(v) && v <= r.Max && (v > r.Min || !r.MinOpen && v == r.Min)
	if ok && r.Whole && v != math.Trunc(v) {
		return fmt.Errorf("%s: %s is not a whole number (allowed: %s)", r.label(), format(v), r.String())
	}
	if !ok {
		return fmt.Errorf("%s: %s is outside the allowed range %s", r.label(), format(v), r.String())
	}
	return nil
}

// Int checks a whole number.
func (r Range) Int(v int) error { return r.Check(float64(v)) }

// Seconds checks v seconds and converts it to a Duration; the range keeps
// the conversion from overflowing.
func (r Range) Seconds(v float64) (time.Duration, error) {
	if err := r.Check(v); err != nil {
		return 0, err
	}
	return time.Duration(v * float64(time.Second)), nil
}

// Duration checks a Duration against a range in seconds.
func (r Range) Duration(d time.Duration) error { return r.Check(d.Seconds()) }

// String is the range as the error messages and docs show it:
// "(0, 1e+06] req/s".
func (r Range) String() string {
	lo := "["
	if r.MinOpen {
		lo = "("
	}
	s := lo + format(r.Min) + ", " + format(r.Max) + "]"
	if r.Unit != "" {
		s += " " + r.Unit
	}
	if r.Note != "" {
		s += "; " + r.Note
	}
	return s
}

func (r Range) label() string {
	if r.Also != "" {
		return r.Name + " (" + r.Also + ")"
	}
	return r.Name
}

func format(v float64) string {
	if math.IsInf(v, 1) {
		return "inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
