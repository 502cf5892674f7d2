package vllmbench

import (
	"bufio"
	"encoding/json"
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

// source reads the fixture's objects generically, the way a reader who does
// not trust our structs would.
func source(t *testing.T, name string) []map[string]any {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var m map[string]any
		line := strings.NewReplacer("NaN", "null").Replace(sc.Text())
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func parseFile(t *testing.T, name string) *results.Summary {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func num(m map[string]any, k string) float64 {
	v, ok := m[k].(float64)
	if !ok {
		panic(k + " is not a number")
	}
	return v
}

// check compares a figure (or a count) with the source's number: a figure
// must be present and equal.
func check[F float64 | results.Figure](t *testing.T, what string, got F, want float64) {
	t.Helper()
	if f, ok := any(got).(results.Figure); ok && f != results.Of(want) || !ok && any(got) != any(want) {
		t.Errorf("%s: got %v, source %v", what, got, want)
	}
}

func TestParseChatConcurrency(t *testing.T) {
	name := "openai-chat-infqps-concurrency16-Qwen3-0.6B-20260722-041843.json"
	src := source(t, name)[0]
	s := parseFile(t, name)
	if s.Loadgen != "vllm-bench" || s.Model != "Qwen/Qwen3-0.6B" || len(s.Benchmarks) != 1 {
		t.Fatalf("summary %+v", s)
	}
	b := s.Benchmarks[0]
	if b.Profile != "concurrent" || b.Level != "concurrent-16" || b.TargetRate != 16 {
		t.Errorf("profile %s level %s target %v", b.Profile, b.Level, b.TargetRate)
	}
	check(t, "duration", b.DurationSeconds, num(src, "duration"))
	check(t, "completed", float64(b.Requests.Successful), num(src, "completed"))
	check(t, "failed", float64(b.Requests.Failed), num(src, "failed"))
	check(t, "req/s", b.RequestsPerSecond, num(src, "request_throughput"))
	check(t, "achieved", b.AchievedRate, num(src, "request_throughput"))
	check(t, "out tok/s", b.OutputTokensPerSecond, num(src, "output_throughput"))
	check(t, "tok/s", b.TotalTokensPerSecond, num(src, "total_token_throughput"))
	check(t, "ttft mean", b.TTFT.Mean, num(src, "mean_ttft_ms"))
	check(t, "ttft p50", b.TTFT.P50, num(src, "median_ttft_ms"))
	check(t, "ttft p99", b.TTFT.P99, num(src, "p99_ttft_ms"))
	check(t, "tpot mean", b.TPOT.Mean, num(src, "mean_tpot_ms"))
	check(t, "tpot p99", b.TPOT.P99, num(src, "p99_tpot_ms"))
	check(t, "itl mean", b.ITL.Mean, num(src, "mean_itl_ms"))
	check(t, "itl p99", b.ITL.P99, num(src, "p99_itl_ms"))
	check(t, "success ratio", b.SuccessRatio, num(src, "completed")/(num(src, "completed")+num(src, "failed")))
	// Without --save-detailed nothing tells the TTFT p90 or the ITL sample
	// count; they stay absent rather than invented. e2el is not a default
	// metric, but the latencies list (one per request, all 200 successful)
	// gives the end-to-end distribution.
	if b.TTFT.P90.Present() || b.TTFT.Max.Present() || b.ITL.Count != 0 || b.ITL.Max.Present() {
		t.Errorf("invented figures: ttft %+v itl %+v", b.TTFT, b.ITL)
	}
	if b.TTFT.Count != 200 || !b.Valid {
		t.Errorf("ttft count %d valid %v", b.TTFT.Count, b.Valid)
	}
	var lat []float64
	for _, v := range src["latencies"].([]any) {
		lat = append(lat, v.(float64)*1000)
	}
	if num(src, "failed") != 0 || len(lat) != 200 {
		t.Fatalf("fixture: %v failed, %d latencies", src["failed"], len(lat))
	}
	sum := 0.0
	for _, v := range lat {
		sum += v
	}
	if m := fv(b.E2E.Mean); math.Abs(m-sum/200) > 1e-9*m { // summation order
		t.Errorf("e2e mean: got %v, latencies' mean %v", m, sum/200)
	}
	check(t, "e2e p50", b.E2E.P50, numpyPercentile(lat, 50))
	check(t, "e2e p90", b.E2E.P90, numpyPercentile(lat, 90))
	check(t, "e2e p95", b.E2E.P95, numpyPercentile(lat, 95))
	check(t, "e2e p99", b.E2E.P99, numpyPercentile(lat, 99))
	check(t, "e2e max", b.E2E.Max, numpyPercentile(lat, 100))
	if b.E2E.P999.Present() || b.E2E.Count != 200 {
		t.Errorf("e2e p99.9 needs 1000 samples, has %d: %+v", b.E2E.Count, b.E2E)
	}
}

func TestParseAppendedJSONL(t *testing.T) {
	src := source(t, "appended.jsonl")
	s := parseFile(t, "appended.jsonl")
	if len(s.Benchmarks) != 2 {
		t.Fatalf("%d benchmarks", len(s.Benchmarks))
	}
	want := []struct{ profile, level string }{{"poisson", "poisson-2"}, {"concurrent", "concurrent-32"}}
	for i, b := range s.Benchmarks {
		m := src[i]
		if b.Profile != want[i].profile || b.Level != want[i].level {
			t.Errorf("%d: %s %s", i, b.Profile, b.Level)
		}
		for _, metric := range []struct {
			key string
			d   results.Dist
		}{{"ttft", b.TTFT}, {"tpot", b.TPOT}, {"itl", b.ITL}, {"e2el", b.E2E}} {
			check(t, metric.key+" mean", metric.d.Mean, num(m, "mean_"+metric.key+"_ms"))
			check(t, metric.key+" p50", metric.d.P50, num(m, "p50_"+metric.key+"_ms"))
			check(t, metric.key+" p90", metric.d.P90, num(m, "p90_"+metric.key+"_ms"))
			check(t, metric.key+" p95", metric.d.P95, num(m, "p95_"+metric.key+"_ms"))
			check(t, metric.key+" p99", metric.d.P99, num(m, "p99_"+metric.key+"_ms"))
			check(t, metric.key+" p99.9", metric.d.P999, num(m, "p99.9_"+metric.key+"_ms"))
		}
		check(t, "failed", float64(b.Requests.Failed), num(m, "failed"))
		// e2e max from the latencies list: the successful requests' largest.
		mx := 0.0
		for _, v := range m["latencies"].([]any) {
			mx = math.Max(mx, v.(float64)*1000)
		}
		check(t, "e2e max", b.E2E.Max, mx)
	}
	if s.Benchmarks[1].Requests.Failed != 2 || s.Benchmarks[0].TargetRate != 2 {
		t.Errorf("second run failed %d, first target %v", s.Benchmarks[1].Requests.Failed, s.Benchmarks[0].TargetRate)
	}
}

func TestParseAllFailedNaN(t *testing.T) {
	s := parseFile(t, "all-failed-nan.json")
	b := s.Benchmarks[0]
	if b.Profile != "gamma" || b.Level != "gamma-4" || b.Requests.Failed != 5 || b.Requests.Successful != 0 {
		t.Errorf("%+v", b)
	}
	if b.TTFT != (results.Dist{}) || b.Valid || len(b.InvalidReasons) != 1 || b.InvalidReasons[0] != "no successful requests" {
		t.Errorf("ttft %+v valid %v reasons %v", b.TTFT, b.Valid, b.InvalidReasons)
	}
}

func TestParseEmbeddings(t *testing.T) {
	name := "openai-embeddings-infqps-concurrency8-all-MiniLM-L6-v2-20260722-050102.json"
	src := source(t, name)[0]
	if _, ok := src["failed"]; ok {
		t.Fatal("fixture should lack failed, as pooling results do")
	}
	s := parseFile(t, name)
	b := s.Benchmarks[0]
	if b.Requests.Failed != 1 || b.Level != "concurrent-8" {
		t.Errorf("failed %d (counted from errors) level %s", b.Requests.Failed, b.Level)
	}
	check(t, "e2e mean", b.E2E.Mean, num(src, "mean_e2el_ms"))
	check(t, "e2e p99", b.E2E.P99, num(src, "p99_e2el_ms"))
	check(t, "req/s", b.RequestsPerSecond, num(src, "request_throughput"))
	if b.TTFT != (results.Dist{}) || b.OutputTokensPerSecond.Present() {
		t.Errorf("embeddings have no TTFT or output tokens: %+v %v", b.TTFT, b.OutputTokensPerSecond)
	}
}

func TestReadResultsErrors(t *testing.T) {
	for doc, want := range map[string]string{
		``:             "vllm bench result: empty file",
		`{"date":"x"}`: "vllm bench result: object 1: no completed or duration key; not a --save-result file",
		`{"completed":1,"duration":2,"request_rate":"fast"}`: `vllm bench result: object 1: request_rate "fast": strconv.ParseFloat: parsing "fast": invalid syntax`,
		`{"completed":1,"duration":2} {"completed":`:         "vllm bench result: object 2: unexpected EOF",
	} {
		_, err := ReadResults(strings.NewReader(doc))
		if err == nil || err.Error() != want {
			t.Errorf("ReadResults(%q) err = %v\nwant %s", doc, err, want)
		}
	}
}

func TestRate(t *testing.T) {
	rs, err := ReadResults(strings.NewReader(`{"completed":1,"duration":2,"request_rate":"inf"}{"completed":1,"duration":2,"request_rate":Infinity}{"completed":1,"duration":2,"request_rate":10.0}`))
	if err != nil {
		t.Fatal(err)
	}
	if !math.IsInf(float64(rs[0].RequestRate), 1) || !math.IsInf(float64(rs[1].RequestRate), 1) || rs[2].RequestRate != 10 {
		t.Errorf("rates %v %v %v", rs[0].RequestRate, rs[1].RequestRate, rs[2].RequestRate)
	}
}

func TestParseDetailed(t *testing.T) {
	// --save-detailed adds per-request lists; request 1 failed.
	doc := `{"date":"20260722-041843","backend":"openai","model_id":"m","num_prompts":3,"request_rate":"inf","burstiness":1.0,
"max_concurrency":2,"duration":1.5,"completed":2,"failed":1,"total_input_tokens":20,"total_output_tokens":6,
"request_throughput":1.3333,"output_throughput":4.0,"total_token_throughput":17.33,
"latencies":[0.5,0.0,0.7],"queue_times":[0.0,0.0,0.1],
"mean_ttft_ms":150.0,"median_ttft_ms":150.0,"std_ttft_ms":50.0,"p99_ttft_ms":199.0,
"mean_itl_ms":100.0,"median_itl_ms":100.0,"std_itl_ms":20.0,"p99_itl_ms":139.2,
"input_lens":[10,10,10],"output_lens":[3,0,3],"ttfts":[0.1,9.9,0.2],"itls":[[0.08,0.12],[],[0.09,0.14]],
"start_times":[81234.5,81234.5,81234.6],"generated_texts":["a b c","","d e f"],"errors":["","timeout",""]}`
	s, err := Parse(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	b := s.Benchmarks[0]
	if fv(b.TTFT.Max) != 200 || b.ITL.Count != 4 || fv(b.ITL.Max) != 140 || fv(b.TTFT.P99) != 199 || b.Level != "concurrent-2" {
		t.Errorf("ttft %+v itl %+v level %s", b.TTFT, b.ITL, b.Level)
	}
	// e2el was not asked for: the end-to-end figures come from latencies,
	// of the two successful requests (errors says which).
	if fv(b.E2E.Mean) != 600 || fv(b.E2E.P50) != 600 || fv(b.E2E.Max) != 700 || b.E2E.Count != 2 || b.E2E.P90.Present() {
		t.Errorf("e2e = %+v", b.E2E)
	}
	// The ITL percentiles the file lacks come from the successful requests'
	// gaps (80, 120, 90, 140 ms): mean 107.5, median 105 — the file's
	// stated mean and median (100) are kept as stated.
	if fv(b.ITL.Mean) != 100 || fv(b.ITL.P50) != 100 || b.ITL.P90.Present() {
		t.Errorf("itl = %+v", b.ITL)
	}
	if fv(b.SuccessRatio) != 2.0/3 {
		t.Errorf("success ratio %v, want 2/3", b.SuccessRatio)
	}
}

func BenchmarkParse(b *testing.B) {
	data, err := os.ReadFile("testdata/appended.jsonl")
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

// The claim checked against the metering proxy, against the source.
func TestClaimMatchesSource(t *testing.T) {
	name := "openai-chat-infqps-concurrency16-Qwen3-0.6B-20260722-041843.json"
	src := source(t, name)[0]
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rs, err := ReadResults(f)
	if err != nil {
		t.Fatal(err)
	}
	c := rs[0].Claim()
	if c.Tool != "vllm-bench" || !c.HasTotal || !c.HasSuccessful || !c.Span.IsZero() || !c.RateStart.IsZero() {
		t.Errorf("claim %+v", c)
	}
	check(t, "total", float64(c.Total), num(src, "completed")+num(src, "failed"))
	check(t, "successful", float64(c.Successful), num(src, "completed"))
	check(t, "rate", c.Rate, num(src, "request_throughput"))
	check(t, "rate span", c.RateSpan.Seconds(), float64(time.Duration(num(src, "duration")*1e9))/1e9)
	check(t, "ttft p50", float64(c.TTFTP50)/1e6, float64(time.Duration(num(src, "median_ttft_ms")*1e6))/1e6)
	// Pooling runs save no "failed": it is counted from the errors.
	emb := Result{Completed: ptr(2), Errors: []string{"", "boom", ""}}
	if c := emb.Claim(); c.Total != 3 || c.Successful != 2 || c.Rate != 0 || c.TTFTP50 != 0 {
		t.Errorf("pooling claim %+v", c)
	}
}

func ptr[T any](v T) *T { return &v }

// numpyPercentile is numpy's default percentile (linear between closest
// ranks), which vllm bench serve uses, written out for the test.
func numpyPercentile(xs []float64, p float64) float64 {
	s := append([]float64(nil), xs...)
	sortFloats(s)
	h := (float64(len(s)) - 1) * p / 100
	lo := math.Floor(h)
	if int(lo)+1 >= len(s) {
		return s[len(s)-1]
	}
	return s[int(lo)] + (h-lo)*(s[int(lo)+1]-s[int(lo)])
}

func sortFloats(s []float64) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
