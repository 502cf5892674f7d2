package contract

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/metrics.md from the contract")

// docs/metrics.md must be what Markdown renders; -update rewrites it.
func TestMarkdownMatchesDocs(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "metrics.md")
	want := Markdown()
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./exporter/contract -run TestMarkdownMatchesDocs -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("docs/metrics.md differs from contract.Markdown(); run go test ./exporter/contract -run TestMarkdownMatchesDocs -update")
	}
	for _, m := range All() {
		if !bytes.Contains(want, []byte("`"+m.Name+"`")) {
			t.Errorf("%s missing from the rendered docs", m.Name)
		}
	}
}

var (
	nameRe  = regexp.MustCompile(`^servebench_[a-z0-9_]+$`)
	labelRe = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
)

// Every series follows the naming conventions promtool checks, and no name is
// used twice.
func TestConventions(t *testing.T) {
	seen := map[string]bool{}
	for _, m := range All() {
		if !nameRe.MatchString(m.Name) {
			t.Errorf("%s: not in the servebench_ namespace", m.Name)
		}
		if seen[m.Name] {
			t.Errorf("%s: defined twice", m.Name)
		}
		seen[m.Name] = true
		if m.Help == "" {
			t.Errorf("%s: no help", m.Name)
		}
		switch m.Type {
		case Counter:
			if !strings.HasSuffix(m.Name, "_total") {
				t.Errorf("%s: counter without _total", m.Name)
			}
		case Histogram:
			if len(m.Buckets) == 0 || !slices.IsSorted(m.Buckets) {
				t.Errorf("%s: histogram buckets missing or unsorted", m.Name)
			}
		case Gauge:
			if strings.HasSuffix(m.Name, "_total") {
				t.Errorf("%s: gauge named like a counter", m.Name)
			}
		case SummaryType:
			for _, s := range []string{"_total", "_sum", "_count"} {
				if strings.HasSuffix(m.Name, s) {
					t.Errorf("%s: summary named with reserved suffix %s", m.Name, s)
				}
			}
			if slices.Contains(m.Labels, LabelQuantile) {
				t.Errorf("%s: summary lists its implicit quantile label", m.Name)
			}
		default:
			t.Errorf("%s: unknown type %q", m.Name, m.Type)
		}
		if m.Unit == "seconds" && !strings.Contains(m.Name, "_seconds") {
			t.Errorf("%s: unit seconds but no _seconds in the name", m.Name)
		}
		if m.Unit == "bytes" && !strings.Contains(m.Name, "_bytes") {
			t.Errorf("%s: unit bytes but no _bytes in the name", m.Name)
		}
		labels := map[string]bool{}
		for _, l := range m.Labels {
			if !labelRe.MatchString(l) || l == "le" || l == LabelQuantile {
				t.Errorf("%s: bad label %q", m.Name, l)
			}
			if labels[l] {
				t.Errorf("%s: label %q twice", m.Name, l)
			}
			labels[l] = true
		}
	}
}

// The summary quantile label values are what the Prometheus text format
// prints for them, so a query's {quantile="0.95"} matches the exposition.
func TestSummaryQuantiles(t *testing.T) {
	prev := 0.0
	for _, q := range SummaryQuantiles {
		v, err := strconv.ParseFloat(q, 64)
		if err != nil || v <= prev || v >= 1 {
			t.Errorf("quantile %q: want ascending values in (0, 1) (%v)", q, err)
		}
		if f := strconv.FormatFloat(v, 'g', -1, 64); f != q {
			t.Errorf("quantile %q is exposed as %q", q, f)
		}
		prev = v
	}
}

// The latency buckets cover 1 ms to at least 600 s and separate 50 ms from 60 ms.
func TestLatencyBuckets(t *testing.T) {
	b := LatencyBuckets
	if b[0] != 0.001 || b[len(b)-1] < 600 {
		t.Fatalf("latency buckets span %g..%g, want 0.001..>=600", b[0], b[len(b)-1])
	}
	if !slices.Contains(b, 0.05) || !slices.Contains(b, 0.06) {
		t.Errorf("50 ms and 60 ms are not both bounds: %v", b)
	}
	for _, slo := range []float64{0.1, 0.2, 0.5, 1, 2, 5, 10, 60} {
		if !slices.Contains(b, slo) {
			t.Errorf("SLO threshold %g is not a bound", slo)
		}
	}
	if LatenessBuckets[0] != 1e-5 || !slices.Contains(LatenessBuckets, 0.001) {
		t.Errorf("lateness buckets do not resolve 1 ms from 10 µs: %v", LatenessBuckets[:12])
	}
}
