package orchestrate

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/servebench/servebench/runner/analysis"
	"github.com/servebench/servebench/runner/results"
	"github.com/servebench/servebench/runner/suite"
)

func TestReportRepeatability(t *testing.T) {
	n := 3
	s, _ := suite.Lookup("smoke")
	cfg, err := suite.Resolve(s, suite.Overrides{}, suite.Overrides{Repeat: &n})
	if err != nil {
		t.Fatal(err)
	}
	p, err := suite.NewPlan(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Throughput 99, 100, 101 req/s: CV 1% (good); TTFT p50 100, 150, 200:
	// CV 33% (poor); 600 TTFT samples suffice for p99, 50 E2E samples do not.
	var sums []*results.Summary
	for i, c := range p.Cells {
		b := results.Benchmark{Level: "concurrent-1", RequestsPerSecond: results.Of(99 + float64(i)), OutputTokensPerSecond: results.Of(1000),
			TTFT: results.Dist{P50: results.Of(100 + 50*float64(i)), P99: results.Of(300), Count: 600}, E2E: results.Dist{P50: results.Of(1), P99: results.Of(2), Count: 50 + i},
			ITL: results.Dist{P50: results.Of(5)}, TPOT: results.Dist{P50: results.Of(5)}}
		sums = append(sums, &results.Summary{Cell: c.ID, Benchmarks: []results.Benchmark{b}})
	}
	rep := BuildReport(p, sums)
	if len(rep.Repeatability) != 1 {
		t.Fatalf("repeatability rows %+v", rep.Repeatability)
	}
	r := rep.Repeatability[0]
	if r.Cell != p.Cells[0].BaseID || r.Level != "concurrent-1" || r.Runs != 3 || r.Worst != analysis.GradePoor {
		t.Errorf("row %+v", r)
	}
	if rps := r.Metrics["requests_per_second"]; math.Abs(rps.CV-0.01) > 1e-9 || rps.Grade != analysis.GradeGood {
		t.Errorf("requests/s spread %+v, want CV 1%% good", rps)
	}
	if ttft := r.Metrics["ttft_p50_ms"]; math.Abs(ttft.CV-1.0/3) > 1e-9 || ttft.Grade != analysis.GradePoor {
		t.Errorf("TTFT p50 spread %+v, want CV 33%% poor", ttft)
	}
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "E2E p99 rests on 50 samples") {
		t.Errorf("warnings %q", r.Warnings)
	}
	b, _ := json.Marshal(rep)
	if !strings.Contains(string(b), `"repeatability":[{"cell":"`+p.Cells[0].BaseID) {
		t.Errorf("suite summary JSON: %s", b)
	}

	// Unrepeated cells get no rows.
	once, _ := suite.NewPlan(func() suite.Config { c := cfg; c.Repeat = 0; return c }())
	sums[0].Cell = once.Cells[0].ID
	if rows := BuildReport(once, sums[:1]).Repeatability; len(rows) != 0 {
		t.Errorf("rows for an unrepeated run: %+v", rows)
	}
}
