package guidellm

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/servebench/servebench/runner/results"
	"github.com/servebench/servebench/runner/results/resultstest"
)

// fv is a figure the test expects present.
var fv = resultstest.Must

// path reads a nested value of a generic JSON document.
func jsonAt(t *testing.T, v any, keys ...any) float64 {
	t.Helper()
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			v = v.(map[string]any)[k]
		case int:
			v = v.([]any)[k]
		}
	}
	f, ok := v.(float64)
	if !ok {
		t.Fatalf("%v is %T, not a number", keys, v)
	}
	return f
}

func TestParseV07MatchesSource(t *testing.T) {
	raw, err := os.ReadFile("testdata/v0.7.3-sweep.json")
	if err != nil {
		t.Fatal(err)
	}
	var src map[string]any
	if err := json.Unmarshal(raw, &src); err != nil {
		t.Fatal(err)
	}
	s, err := Parse(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	if s.Loadgen != "guidellm" || s.Model != "Qwen/Qwen3-0.6B" || s.Target != "http://127.0.0.1:9470" || s.SchemaVersion != results.SchemaVersion {
		t.Errorf("summary header %+v", s)
	}
	wantLevels := []struct {
		profile, level string
		target         float64
	}{{"synchronous", "synchronous", 1}, {"concurrent", "concurrent-4", 4}, {"constant", "constant-2.5", 2.5}}
	if len(s.Benchmarks) != len(wantLevels) {
		t.Fatalf("%d benchmarks", len(s.Benchmarks))
	}
	for i, b := range s.Benchmarks {
		w := wantLevels[i]
		if b.Profile != w.profile || b.Level != w.level || b.TargetRate != w.target {
			t.Errorf("benchmark %d: %s %s %g, want %+v", i, b.Profile, b.Level, b.TargetRate, w)
		}
		m := []any{"benchmarks", i, "metrics"}
		at := func(keys ...any) float64 { return jsonAt(t, src, append(append([]any{}, m...), keys...)...) }
		checks := []struct {
			name string
			got  results.Figure
			want float64
		}{
			{"duration", results.Of(b.DurationSeconds), jsonAt(t, src, "benchmarks", i, "duration")},
			{"successful", results.Of(float64(b.Requests.Successful)), at("request_totals", "successful")},
			{"incomplete", results.Of(float64(b.Requests.Incomplete)), at("request_totals", "incomplete")},
			{"failed", results.Of(float64(b.Requests.Failed)), at("request_totals", "errored")},
			{"req/s", b.RequestsPerSecond, at("requests_per_second", "successful", "mean")},
			{"achieved", b.AchievedRate, at("requests_per_second", "total", "mean")},
			{"out tok/s", b.OutputTokensPerSecond, at("output_tokens_per_second", "successful", "mean")},
			{"tok/s", b.TotalTokensPerSecond, at("tokens_per_second", "successful", "mean")},
			{"ttft mean", b.TTFT.Mean, at("time_to_first_token_ms", "successful", "mean")},
			{"ttft p50", b.TTFT.P50, at("time_to_first_token_ms", "successful", "percentiles", "p50")},
			{"ttft p90", b.TTFT.P90, at("time_to_first_token_ms", "successful", "percentiles", "p90")},
			{"ttft p95", b.TTFT.P95, at("time_to_first_token_ms", "successful", "percentiles", "p95")},
			{"ttft p99", b.TTFT.P99, at("time_to_first_token_ms", "successful", "percentiles", "p99")},
			{"ttft p999", b.TTFT.P999, at("time_to_first_token_ms", "successful", "percentiles", "p999")},
			{"ttft max", b.TTFT.Max, at("time_to_first_token_ms", "successful", "max")},
			{"ttft count", results.Of(float64(b.TTFT.Count)), at("time_to_first_token_ms", "successful", "count")},
			{"tpot mean", b.TPOT.Mean, at("inter_token_latency_ms", "successful", "mean")},
			{"tpot p99", b.TPOT.P99, at("inter_token_latency_ms", "successful", "percentiles", "p99")},
			{"itl req mean", b.ITLRequestMean.Mean, at("inter_token_latency_ms", "successful", "mean")},
			{"e2e mean ms", b.E2E.Mean, 1000 * at("request_latency", "successful", "mean")},
			{"e2e p50 ms", b.E2E.P50, 1000 * at("request_latency", "successful", "percentiles", "p50")},
			{"e2e max ms", b.E2E.Max, 1000 * at("request_latency", "successful", "max")},
			{"success ratio", b.SuccessRatio, at("request_totals", "successful") / at("request_totals", "total")},
		}
		for _, c := range checks {
			if c.got != results.Of(c.want) {
				t.Errorf("benchmark %d %s: got %v, source %v", i, c.name, c.got, c.want)
			}
		}
		// Each benchmark is dated by its own end, to the microsecond.
		if end := jsonAt(t, src, "benchmarks", i, "end_time"); b.EndedAt == nil || math.Abs(float64(b.EndedAt.UnixMicro())/1e6-end) > 1e-6 {
			t.Errorf("benchmark %d: ended_at %v, source end_time %v", i, b.EndedAt, end)
		}
		if i > 0 && !b.EndedAt.After(*s.Benchmarks[i-1].EndedAt) {
			t.Errorf("benchmark %d ended at %v, before or with the previous one", i, b.EndedAt)
		}
		if b.ITL.Count != 0 {
			t.Errorf("benchmark %d: per-gap ITL filled (%+v) but GuideLLM keeps no per-gap samples", i, b.ITL)
		}
		if !b.Valid || b.InvalidReasons == nil {
			t.Errorf("benchmark %d: valid %v reasons %v", i, b.Valid, b.InvalidReasons)
		}
	}
	// Only the open-loop run reports a targeted-start delay (-1 = unknown).
	if fv(s.Benchmarks[2].SendLateness.Mean) != 2.1 || s.Benchmarks[0].SendLateness.Mean.Present() {
		t.Errorf("send lateness %v %v", s.Benchmarks[2].SendLateness, s.Benchmarks[0].SendLateness)
	}
}

func TestParseRejectsLegacy(t *testing.T) {
	f, err := os.Open("testdata/legacy-pre-v0.4-benchmarks_stripped.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = Parse(f)
	want := "guidellm report: legacy pre-v0.4 schema is not supported: the top level holds only benchmarks, each with args/run_stats/worker; re-run with GuideLLM 0.4 or newer (0.7 recommended)"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
	if !errors.Is(err, ErrLegacySchema) {
		t.Error("not ErrLegacySchema")
	}
}

func TestDetectSchema(t *testing.T) {
	for doc, want := range map[string]Schema{
		`{"metadata":{"version":2},"config":{},"benchmarks":[]}`: SchemaV2,
		`{"metadata":{"version":1},"args":{},"benchmarks":[]}`:   SchemaV1,
		`{"args":{},"benchmarks":[]}`:                            SchemaV04,
		`{"benchmarks":[{"args":{},"run_stats":{}}]}`:            SchemaLegacy,
	} {
		got, err := DetectSchema([]byte(doc))
		if err != nil || got != want {
			t.Errorf("DetectSchema(%s) = %q, %v; want %q", doc, got, err, want)
		}
	}
	for doc, want := range map[string]string{
		`{"metadata":{"version":3},"benchmarks":[]}`: "guidellm report: metadata.version 3 is newer than this parser (knows 1 and 2)",
		`{"date":"20260722-041843"}`:                 "guidellm report: no benchmarks key",
		`[1,2]`:                                      "guidellm report: json: cannot unmarshal array into Go value of type struct",
	} {
		_, err := DetectSchema([]byte(doc))
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("DetectSchema(%s) err = %v, want %s", doc, err, want)
		}
	}
}

func TestParseBadStrategy(t *testing.T) {
	doc := `{"metadata":{"version":2},"config":{},"benchmarks":[{"config":{"strategy":{"type_":"concurrent"}},"metrics":{}}]}`
	_, err := Parse(strings.NewReader(doc))
	if err == nil || err.Error() != "guidellm report: benchmarks[0]: config.strategy: concurrent without streams" {
		t.Errorf("err = %v", err)
	}
}

func BenchmarkParse(b *testing.B) {
	data, err := os.ReadFile("testdata/v0.7.3-sweep.json")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for i := 0; i < b.N; i++ {
		if _, err := Parse(strings.NewReader(string(data))); err != nil {
			b.Fatal(err)
		}
	}
}

func TestRequests(t *testing.T) {
	raw, err := os.ReadFile("testdata/v0.7.3-sweep.json")
	if err != nil {
		t.Fatal(err)
	}
	var src map[string]any
	json.Unmarshal(raw, &src)
	per, err := Requests(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	if len(per) != 3 || len(per[0]) != 7 || len(per[1]) != 11 {
		t.Fatalf("records per benchmark: %d, %d, %d", len(per), len(per[0]), len(per[1]))
	}
	ok, incomplete := 0, 0
	for i, r := range per[0] {
		if r.Seq != int64(i) || (i > 0 && r.Scheduled.Before(per[0][i-1].Scheduled)) {
			t.Errorf("record %d out of order", i)
		}
		switch r.Outcome {
		case "success":
			ok++
			if r.OutputTokens != 32 || r.PromptTokens != 256 || r.TokenSource != "usage" || r.FirstTok.IsZero() || !r.End.After(r.FirstTok) {
				t.Errorf("record %d: %+v", i, r)
			}
		case "incomplete":
			incomplete++
		}
	}
	if ok != 6 || incomplete != 1 {
		t.Errorf("%d successful, %d incomplete", ok, incomplete)
	}
	// The first successful request's TTFT equals the report's, to the
	// microsecond the epoch floats carry.
	first := jsonAt(t, src, "benchmarks", 0, "requests", "successful", 0, "time_to_first_token_ms")
	var r0 = per[0][0]
	got := float64(r0.FirstTok.Sub(r0.Sent).Microseconds()) / 1000
	if math.Abs(got-first) > 0.002 {
		t.Errorf("TTFT from records %.4f ms, report %.4f ms", got, first)
	}
	if _, err := Requests(strings.NewReader(`{"benchmarks":[{"args":{}}]}`)); !errors.Is(err, ErrLegacySchema) {
		t.Errorf("legacy: %v", err)
	}
}

// GuideLLM 0.5-0.6 reports ({metadata:{version:1}, args, benchmarks}) keep
// the strategy under benchmarks[].config.strategy and the metrics at the
// same paths as 0.7; the target and model come from the benchmark's backend.
func TestParseV06(t *testing.T) {
	doc := `{"metadata":{"version":1,"guidellm_version":"0.6.1"},"args":{"target":"http://h:8000"},"benchmarks":[{"type_":"generative_benchmark",
"config":{"strategy":{"type_":"poisson","rate":3.0,"max_concurrency":null},"backend":{"model":"m"}},
"metrics":{"request_totals":{"successful":30,"errored":1,"incomplete":2,"total":33},
"time_to_first_token_ms":{"successful":{"mean":120.5,"max":300.0,"count":30,"percentiles":{"p50":110.0,"p99":290.0}}},
"requests_per_second":{"successful":{"mean":2.9},"total":{"mean":3.1}}},"duration":10.0}]}`
	s, err := Parse(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	b := s.Benchmarks[0]
	if s.Model != "m" || b.Level != "poisson-3" || fv(b.TTFT.Mean) != 120.5 || fv(b.TTFT.P99) != 290 || fv(b.RequestsPerSecond) != 2.9 ||
		fv(b.AchievedRate) != 3.1 || b.Requests != (results.Requests{Successful: 30, Failed: 1, Incomplete: 2}) || b.DurationSeconds != 10 {
		t.Errorf("summary %+v benchmark %+v", s, b)
	}
}

// An embeddings run (`--backend request_format=/v1/embeddings`) reports
// EmbeddingsMetrics: no TTFT, ITL or output tokens, which stay empty.
func TestParseEmbeddingsBenchmark(t *testing.T) {
	doc := `{"metadata":{"version":2},"config":{"spec":{"backend":{"target":"http://p","model":"e"}}},"benchmarks":[{"type_":"embeddings_benchmark",
"config":{"strategy":{"type_":"throughput","max_concurrency":64}},
"metrics":{"request_totals":{"successful":500,"errored":0,"incomplete":3,"total":503},
"requests_per_second":{"successful":{"mean":48.2},"total":{"mean":48.5}},
"request_latency":{"successful":{"mean":0.65,"max":1.9,"count":500,"percentiles":{"p50":0.61,"p90":0.9,"p95":1.1,"p99":1.5,"p999":1.8}}},
"input_tokens_per_second":{"successful":{"mean":24678.0}},"tokens_per_second":{"successful":{"mean":24678.0}},
"output_tokens_per_second":{"successful":{"mean":0.0}}},"duration":10.4}]}`
	s, err := Parse(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	b := s.Benchmarks[0]
	if b.Level != "throughput-64" || fv(b.E2E.P99) != 1500 || b.E2E.Count != 500 || fv(b.TotalTokensPerSecond) != 24678 ||
		b.TTFT.Count != 0 || b.TPOT.Count != 0 || b.OutputTokensPerSecond.Present() || fv(b.RequestsPerSecond) != 48.2 {
		t.Errorf("%+v", b)
	}
}

// Each benchmark's claim, read from the report, against the source.
func TestClaimsMatchSource(t *testing.T) {
	raw, err := os.ReadFile("testdata/v0.7.3-sweep.json")
	if err != nil {
		t.Fatal(err)
	}
	var src any
	if err := json.Unmarshal(raw, &src); err != nil {
		t.Fatal(err)
	}
	claims, err := Claims(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if len(claims) != 3 {
		t.Fatalf("%d claims", len(claims))
	}
	for i, c := range claims {
		at := func(keys ...any) float64 { return jsonAt(t, src, append([]any{"benchmarks", i}, keys...)...) }
		start, end := at("start_time"), at("end_time")
		if c.Tool != "guidellm" || !c.HasTotal || !c.HasSuccessful ||
			float64(c.Total) != at("metrics", "request_totals", "total") ||
			float64(c.Successful) != at("metrics", "request_totals", "successful") ||
			float64(c.Cut) != at("metrics", "request_totals", "incomplete") {
			t.Errorf("benchmark %d counts %+v", i, c)
		}
		if math.Abs(float64(c.Span.Start.UnixNano())/1e9-start) > 1e-6 || math.Abs(float64(c.Span.End.UnixNano())/1e9-end) > 1e-6 ||
			c.RateStart != c.Span.Start || c.RateSpan != c.Span.End.Sub(c.Span.Start) {
			t.Errorf("benchmark %d window %v..%v, source %f..%f", i, c.Span.Start, c.Span.End, start, end)
		}
		if c.Rate != at("metrics", "requests_per_second", "successful", "mean") {
			t.Errorf("benchmark %d rate %v", i, c.Rate)
		}
		if want := time.Duration(at("metrics", "time_to_first_token_ms", "successful", "percentiles", "p50") * float64(time.Millisecond)); c.TTFTP50 != want {
			t.Errorf("benchmark %d ttft p50 %v, source %v", i, c.TTFTP50, want)
		}
	}
}
