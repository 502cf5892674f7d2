package orchestrate

import (
	"testing"

	"github.com/servebench/servebench/runner/results"
	"github.com/servebench/servebench/runner/suite"
)

func ptr(v float64) *float64 { return &v }

// TestAudioReport: the highest concurrency whose p95 meets the target is
// chosen among levels with enough samples and no fault but the p99's
// sample count; error rates add up over levels; a cell without speech
// levels has no row.
func TestAudioReport(t *testing.T) {
	lvl := func(profile, name string, streams, p95ms float64, n int, reasons []string, words, edits int, hours float64) results.Benchmark {
		return results.Benchmark{Profile: profile, Level: name, TargetRate: streams, Valid: len(reasons) == 0, InvalidReasons: reasons,
			E2E: results.Dist{P95: results.Of(p95ms), Count: n},
			Audio: &results.AudioFigures{RTF: results.Dist{P50: results.Of(p95ms / 5000), P95: results.Of(p95ms / 4000), Count: n}, AudioHoursPerHour: ptr(hours),
				FilesPerHour: ptr(hours * 900), Scored: n, WordEdits: edits, Words: words, CharEdits: edits, Chars: 5 * words}}
	}
	few := []string{"too few samples: 150 TTFT samples, p99 needs 1000"}
	sums := []*results.Summary{
		{Model: "openai/whisper-tiny", Workload: "speech", Cores: 8, Benchmarks: []results.Benchmark{
			lvl("synchronous", "synchronous", 0, 400, 150, few, 1000, 50, 10),
			lvl("concurrent", "concurrent-4", 4, 1500, 150, few, 1000, 70, 40),
			lvl("concurrent", "concurrent-8", 8, 1900, 80, few, 1000, 70, 60),                                        // too few for a p95
			lvl("concurrent", "concurrent-16", 16, 1800, 300, []string{"client-bound: p99 send lateness"}, 0, 0, 90), // client-bound
			lvl("concurrent", "concurrent-32", 32, 2600, 300, nil, 0, 0, 95),                                         // over the target
			lvl("constant", "constant-5", 5, 500, 300, nil, 1000, 80, 30),                                            // open loop
		}},
		{Model: "TinyLlama/TinyLlama-1.1B-Chat-v1.0", Workload: "chat", Cores: 8, Benchmarks: []results.Benchmark{{Level: "concurrent-1"}}},
	}
	p := &suite.Plan{Config: suite.Config{Suite: &suite.Suite{Name: "audio", Reports: []string{"audio"}}}}
	rows := BuildReport(p, sums).Audio
	if len(rows) != 1 {
		t.Fatalf("rows %+v", rows)
	}
	r := rows[0]
	if r.P95TargetSeconds != 2 || r.MaxConcurrency == nil || *r.MaxConcurrency != 4 || r.Level != "concurrent-4" || *r.E2EP95Seconds != 1.5 {
		t.Errorf("max concurrency: %+v", r)
	}
	if *r.AudioHoursPerHour != 95 || r.BestLevel != "concurrent-32" || *r.RTFP95 != 1500.0/4000 {
		t.Errorf("best throughput or RTF: %+v", r)
	}
	if *r.WER != 270.0/4000 || *r.CER != 270.0/20000 || r.Scored != 1280 {
		t.Errorf("error rates over the levels: WER %v CER %v scored %d", *r.WER, *r.CER, r.Scored)
	}
	// A tighter target: only the synchronous level meets it; none at all
	// leaves the concurrency null, not 0.
	p.Config.Suite.Audio = &suite.Audio{P95TargetSeconds: 0.5}
	if r := BuildReport(p, sums).Audio[0]; r.MaxConcurrency == nil || *r.MaxConcurrency != 1 {
		t.Errorf("target 0.5 s: %+v", r)
	}
	p.Config.Suite.Audio.P95TargetSeconds = 0.1
	if r := BuildReport(p, sums).Audio[0]; r.MaxConcurrency != nil || r.RTFP50 != nil || r.E2EP95Seconds != nil {
		t.Errorf("target 0.1 s: %+v", r)
	}
}
