package bounds

import (
	"math"
	"testing"
	"time"
)

func TestCheck(t *testing.T) {
	rate := Range{Name: "rate", Min: 0, MinOpen: true, Max: MaxRate, Unit: "req/s"}
	streams := Range{Name: "levels", Also: "--rate", Min: 1, Max: MaxStreams, Whole: true, Unit: "streams", Note: "per level"}
	for _, tc := range []struct {
		r    Range
		v    float64
		want string
	}{
		{rate, 1, ""},
		{rate, MaxRate, ""},
		{rate, 0, "rate: 0 is outside the allowed range (0, 1e+06] req/s"},
		{rate, 1e308, "rate: 1e+308 is outside the allowed range (0, 1e+06] req/s"},
		{rate, math.NaN(), "rate: NaN is outside the allowed range (0, 1e+06] req/s"},
		{rate, math.Inf(1), "rate: inf is outside the allowed range (0, 1e+06] req/s"},
		{streams, 1, ""},
		{streams, 2.5, "levels (--rate): 2.5 is not a whole number (allowed: [1, 50000] streams; per level)"},
		{streams, 1e9, "levels (--rate): 1e+09 is outside the allowed range [1, 50000] streams; per level"},
		{Range{Name: "burstiness", Min: 0, MinOpen: true, Max: math.Inf(1)}, math.Inf(1), ""},
	} {
		err := tc.r.Check(tc.v)
		if got := ""; err != nil {
			got = err.Error()
			if got != tc.want {
				t.Errorf("%s %v: %q, want %q", tc.r.Name, tc.v, got, tc.want)
			}
		} else if tc.want != "" {
			t.Errorf("%s %v: accepted, want %q", tc.r.Name, tc.v, tc.want)
		}
	}
}

func TestSecondsNeverOverflow(t *testing.T) {
	r := Range{Name: "max-seconds", Min: 0, Max: MaxSeconds, Unit: "seconds"}
	if d, err := r.Seconds(1.5); err != nil || d != 1500*time.Millisecond {
		t.Errorf("1.5 s = %v, %v", d, err)
	}
	// 1e12 s does not fit a Duration: it must be refused, not wrapped.
	if _, err := r.Seconds(1e12); err == nil {
		t.Error("1e12 s accepted")
	}
	if time.Duration(float64(MaxSeconds)*float64(time.Second)) <= 0 || time.Duration(float64(MaxTimeoutSeconds)*float64(time.Second)) <= 0 {
		t.Error("a maximum overflows a Duration")
	}
}
