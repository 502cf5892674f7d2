package recorder

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/exporter/measure"
)

var labels = measure.BenchmarkLabels{Suite: "smoke", Model: "m", Workload: "chat", Cores: "8", Loadgen: "native", Level: "concurrent-4"}

func newRecorder(t testing.TB, opts Options) (*Recorder, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	r, err := New(reg, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r, reg
}

// result builds a successful streamed request: scheduled at t0, sent after
// late, first token after ttft, then one chunk every gap.
func result(t0 time.Time, late, ttft, gap time.Duration, chunks int) *measure.Result {
	r := &measure.Result{
		Scheduled: t0, Sent: t0.Add(late), PromptTokens: 100, Outcome: contract.OutcomeSuccess, Status: 200,
	}
	r.FirstTok = t0.Add(ttft)
	for i := range chunks {
		r.Chunks = append(r.Chunks, measure.Chunk{At: ttft - late + time.Duration(i)*gap, Tokens: 1})
	}
	r.OutputTokens = chunks
	r.End = r.FirstTok.Add(time.Duration(chunks-1) * gap)
	return r
}

func histogram(t *testing.T, reg *prometheus.Registry, name string, extra ...string) *dto.Histogram {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if matches(m, labels, extra...) {
				return m.GetHistogram()
			}
		}
	}
	t.Fatalf("%s%v not exposed", name, extra)
	return nil
}

func matches(m *dto.Metric, l measure.BenchmarkLabels, extra ...string) bool {
	want := map[string]string{}
	for i, n := range contract.BenchmarkLabels {
		want[n] = l.Values()[i]
	}
	for i := 0; i+1 < len(extra); i += 2 {
		want[extra[i]] = extra[i+1]
	}
	got := map[string]string{}
	for _, lp := range m.GetLabel() {
		got[lp.GetName()] = lp.GetValue()
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

func counter(t *testing.T, c prometheus.Collector, values ...string) float64 {
	t.Helper()
	switch v := c.(type) {
	case *prometheus.CounterVec:
		return testutil.ToFloat64(v.WithLabelValues(values...))
	case *prometheus.GaugeVec:
		return testutil.ToFloat64(v.WithLabelValues(values...))
	}
	t.Fatalf("unexpected collector %T", c)
	return 0
}

func TestRecorderMovesEverySeries(t *testing.T) {
	r, reg := newRecorder(t, Options{})
	b := r.Benchmark(labels)
	v := labels.Values()
	with := func(extra string) []string { return append(append([]string(nil), v...), extra) }

	b.SetTarget(4, contract.TargetRequestsPerSecond)
	if got := counter(t, r.targetRate, with(string(contract.TargetRequestsPerSecond))...); got != 4 {
		t.Errorf("target rate = %g req/s, want 4", got)
	}
	if n := testutil.CollectAndCount(r.targetRate); n != 1 {
		t.Errorf("%d target rate series, want one, in its unit", n)
	}
	t0 := time.Unix(1_700_000_000, 0)
	for range 3 {
		b.Started()
	}
	if got := counter(t, r.inFlight, v...); got != 3 {
		t.Errorf("in flight = %g, want 3", got)
	}
	if got := counter(t, r.awaiting, v...); got != 3 {
		t.Errorf("awaiting first token = %g, want 3", got)
	}
	// Two successes: TTFT 50 ms and 70 ms, 5 chunks 20 ms apart. TTFT is
	// observed when the first token arrives, before the request ends.
	b.FirstToken(50 * time.Millisecond)
	b.FirstToken(70 * time.Millisecond)
	if ttft := histogram(t, reg, contract.RequestTTFT.Name); ttft.GetSampleCount() != 2 {
		t.Errorf("ttft count at the first tokens = %d, want 2", ttft.GetSampleCount())
	}
	if got, flight := counter(t, r.awaiting, v...), counter(t, r.inFlight, v...); got != 1 || flight != 3 {
		t.Errorf("awaiting first token = %g, in flight %g after two first tokens, want 1 and 3", got, flight)
	}
	b.Finished(result(t0, time.Millisecond, 50*time.Millisecond, 20*time.Millisecond, 5))
	b.Finished(result(t0, 3*time.Millisecond, 70*time.Millisecond, 20*time.Millisecond, 5))
	// One failure after 10 ms, no token.
	b.Finished(&measure.Result{Scheduled: t0, Sent: t0.Add(2 * time.Millisecond), End: t0.Add(10 * time.Millisecond),
		PromptTokens: 100, Outcome: contract.OutcomeError, ErrorKind: contract.ErrHTTP5xx, Status: 503})

	if got := counter(t, r.inFlight, v...); got != 0 {
		t.Errorf("in flight after finishing = %g, want 0", got)
	}
	if got := counter(t, r.awaiting, v...); got != 0 {
		t.Errorf("awaiting first token after finishing = %g, want 0 (the failure had none)", got)
	}
	for o, want := range map[contract.Outcome]float64{contract.OutcomeSuccess: 2, contract.OutcomeError: 1, contract.OutcomeIncomplete: 0} {
		if got := counter(t, r.requests, with(string(o))...); got != want {
			t.Errorf("requests{outcome=%s} = %g, want %g", o, got, want)
		}
	}
	if got := counter(t, r.errors, with(string(contract.ErrHTTP5xx))...); got != 1 {
		t.Errorf("errors{kind=http_5xx} = %g, want 1", got)
	}
	if got := counter(t, r.errors, with(string(contract.ErrConnect))...); got != 0 {
		t.Errorf("errors{kind=connect} = %g, want 0", got)
	}
	if got := counter(t, r.outputTokens, v...); got != 10 {
		t.Errorf("output tokens = %g, want 10", got)
	}
	if got := counter(t, r.promptTokens, v...); got != 300 {
		t.Errorf("prompt tokens = %g, want 300", got)
	}

	ttft := histogram(t, reg, contract.RequestTTFT.Name)
	if ttft.GetSampleCount() != 2 || !near(ttft.GetSampleSum(), 0.12) {
		t.Errorf("ttft count/sum = %d/%g, want 2/0.12", ttft.GetSampleCount(), ttft.GetSampleSum())
	}
	if got := cumulative(ttft, 0.05); got != 1 {
		t.Errorf("ttft le=0.05 = %d, want 1 (50 ms and 70 ms fall apart)", got)
	}
	if got := cumulative(ttft, 0.06); got != 1 {
		t.Errorf("ttft le=0.06 = %d, want 1", got)
	}
	itl := histogram(t, reg, contract.RequestITL.Name)
	if itl.GetSampleCount() != 8 || !near(itl.GetSampleSum(), 0.16) {
		t.Errorf("itl count/sum = %d/%g, want 8 gaps summing 0.16 s", itl.GetSampleCount(), itl.GetSampleSum())
	}
	tpot := histogram(t, reg, contract.RequestTPOT.Name)
	if tpot.GetSampleCount() != 2 || !near(tpot.GetSampleSum(), 0.04) {
		t.Errorf("tpot count/sum = %d/%g, want 2/0.04", tpot.GetSampleCount(), tpot.GetSampleSum())
	}
	e2e := histogram(t, reg, contract.RequestE2E.Name)
	if e2e.GetSampleCount() != 2 || !near(e2e.GetSampleSum(), 0.05+0.08+0.07+0.08) {
		t.Errorf("e2e count/sum = %d/%g, want 2/0.28", e2e.GetSampleCount(), e2e.GetSampleSum())
	}
	late := histogram(t, reg, contract.SendLateness.Name)
	if late.GetSampleCount() != 3 || !near(late.GetSampleSum(), 0.006) {
		t.Errorf("lateness count/sum = %d/%g, want 3/0.006 (failed requests too)", late.GetSampleCount(), late.GetSampleSum())
	}

	b.Close()
	if n := testutil.CollectAndCount(r.targetRate) + testutil.CollectAndCount(r.awaiting); n != 0 {
		t.Errorf("target rate and awaiting series after Close = %d, want 0", n)
	}
	if n := testutil.CollectAndCount(r.ttft); n != 1 {
		t.Errorf("ttft series after Close = %d, want 1 (histograms stay)", n)
	}
}

func TestUnknownErrorKindCountsAsOther(t *testing.T) {
	r, _ := newRecorder(t, Options{})
	b := r.Benchmark(labels)
	b.Started()
	b.Finished(&measure.Result{Outcome: contract.OutcomeError, ErrorKind: "free text from somewhere"})
	b.Started()
	b.Finished(&measure.Result{Outcome: contract.OutcomeIncomplete})
	b.Started()
	b.Finished(&measure.Result{}) // no outcome at all: an error of kind other
	with := append(labels.Values(), string(contract.ErrOther))
	if got := counter(t, r.errors, with...); got != 2 {
		t.Errorf("errors{kind=other} = %g, want 2", got)
	}
	if got := counter(t, r.requests, append(labels.Values(), string(contract.OutcomeError))...); got != 2 {
		t.Errorf("requests{outcome=error} = %g, want 2 (errors_total and requests_total agree)", got)
	}
	if n := testutil.CollectAndCount(r.errors); n != len(contract.ErrorKinds) {
		t.Errorf("error series = %d, want exactly the %d contract kinds", n, len(contract.ErrorKinds))
	}
	if got := counter(t, r.requests, append(labels.Values(), string(contract.OutcomeIncomplete))...); got != 1 {
		t.Errorf("requests{outcome=incomplete} = %g, want 1", got)
	}
}

func TestRunInfo(t *testing.T) {
	r, reg := newRecorder(t, Options{})
	info := RunInfo{RunID: "r1", Suite: "smoke", Model: "m", Engine: "sim", Loadgen: "native", CPUSet: "0-3"}
	r.StartRun(info)
	want := `# HELP servebench_run_info 1 while a run is active, labelled with its provenance.
# TYPE servebench_run_info gauge
servebench_run_info{cpuset="0-3",engine="sim",image="",loadgen="native",model="m",run_id="r1",suite="smoke"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), contract.RunInfo.Name); err != nil {
		t.Error(err)
	}
	r.EndRun(info)
	if n := testutil.CollectAndCount(r.runInfo); n != 0 {
		t.Errorf("run_info series after EndRun = %d, want 0", n)
	}
}

// With native histograms on, the text exposition still carries every classic
// bucket, so stock Prometheus and VictoriaMetrics keep working.
func TestNativeKeepsClassicBuckets(t *testing.T) {
	r, reg := newRecorder(t, Options{NativeHistograms: true})
	b := r.Benchmark(labels)
	b.Started()
	b.FirstToken(55 * time.Millisecond)
	b.Finished(result(time.Unix(0, 0), 0, 55*time.Millisecond, 10*time.Millisecond, 3))
	h := histogram(t, reg, contract.RequestTTFT.Name)
	if len(h.GetBucket()) != len(contract.LatencyBuckets) {
		t.Errorf("classic buckets = %d, want %d", len(h.GetBucket()), len(contract.LatencyBuckets))
	}
	if h.GetSchema() == 0 && len(h.GetPositiveSpan()) == 0 {
		t.Errorf("no native buckets although enabled")
	}
	if got := cumulative(h, 0.06); got != 1 {
		t.Errorf("le=0.06 = %d, want 1", got)
	}
}

func cumulative(h *dto.Histogram, le float64) uint64 {
	for _, b := range h.GetBucket() {
		if b.GetUpperBound() == le {
			return b.GetCumulativeCount()
		}
	}
	return 1 << 62
}

func near(a, b float64) bool { d := a - b; return d < 1e-9 && d > -1e-9 }
