package webserver

import (
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/exporter/recorder"
)

// odd is a collector of everything the text format has to get right.
type odd struct{}

var (
	oddCounter = prometheus.NewDesc("odd_total", "Help with a \\ backslash\nand a newline.", []string{"v"}, nil)
	oddGauge   = prometheus.NewDesc("odd_gauge", "Special values.", []string{"case"}, prometheus.Labels{"const": "c"})
	oddBare    = prometheus.NewDesc("odd_bare", "", nil, nil)
	oddUntyped = prometheus.NewDesc("odd_untyped", "Untyped.", nil, nil)
	oddSummary = prometheus.NewDesc("odd_summary_seconds", "A summary.", []string{"a", "b"}, nil)
	oddHist    = prometheus.NewDesc("odd_hist_seconds", "A histogram without its +Inf bucket.", []string{"x"}, nil)
	oddHistInf = prometheus.NewDesc("odd_hist_inf_seconds", "A histogram with its +Inf bucket.", nil, nil)
	oddStamped = prometheus.NewDesc("odd_stamped", "With a timestamp.", nil, nil)
	oddUTF8    = prometheus.NewDesc("odd.utf8 name", "A name the format must quote or escape.", []string{"label.dot"}, nil)
)

func (odd) Describe(ch chan<- *prometheus.Desc) {}

func (odd) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(oddCounter, prometheus.CounterValue, 3, `quote " backslash \ newline `+"\n end")
	ch <- prometheus.MustNewConstMetric(oddCounter, prometheus.CounterValue, 0.1, "plain")
	ch <- prometheus.MustNewConstMetric(oddCounter, prometheus.CounterValue, 0, "")
	for name, v := range map[string]float64{"one": 1, "zero": 0, "minus-one": -1, "nan": math.NaN(), "inf": math.Inf(1),
		"-inf": math.Inf(-1), "big": 1e21, "small": 1.5e-7, "int": 12345678, "neg": -0.25} {
		ch <- prometheus.MustNewConstMetric(oddGauge, prometheus.GaugeValue, v, name)
	}
	ch <- prometheus.MustNewConstMetric(oddBare, prometheus.GaugeValue, 7)
	ch <- prometheus.MustNewConstMetric(oddUntyped, prometheus.UntypedValue, 2.5)
	ch <- prometheus.MustNewConstSummary(oddSummary, 10, 1.25, map[float64]float64{0.5: 0.1, 0.99: math.NaN(), 0.9: 0.2}, "A", "b\"")
	ch <- prometheus.MustNewConstHistogram(oddHist, 4, 2.5, map[float64]uint64{0.1: 1, 1: 3, 10: 4}, "x")
	ch <- prometheus.MustNewConstHistogram(oddHistInf, 4, 2.5, map[float64]uint64{0.5: 2, math.Inf(1): 4})
	ch <- prometheus.NewMetricWithTimestamp(time.UnixMilli(1_767_000_000_123), prometheus.MustNewConstMetric(oddStamped, prometheus.GaugeValue, 9))
	ch <- prometheus.MustNewConstMetric(oddUTF8, prometheus.GaugeValue, 1, "v")
}

// The text handler answers byte for byte as promhttp does, for every
// format a scraper may ask for, over the recorder's series and every case
// the format has.
func TestTextMatchesPromhttp(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	rec, err := recorder.New(reg, recorder.Options{NativeHistograms: true})
	if err != nil {
		t.Fatal(err)
	}
	for i, level := range []string{"constant-1", "constant-2"} {
		br := rec.Benchmark(measure.BenchmarkLabels{Suite: "s", Model: "m\"odel", Workload: "chat", Cores: "4", Loadgen: "native", Level: level})
		br.SetTarget(float64(i+1), contract.TargetStreams)
		t0 := time.Unix(1_767_000_000, 0)
		r := &measure.Result{Scheduled: t0, Sent: t0.Add(time.Millisecond), FirstTok: t0.Add(40 * time.Millisecond),
			End: t0.Add(90 * time.Millisecond), Outcome: contract.OutcomeSuccess, Status: 200, OutputTokens: 3, PromptTokens: 10,
			Chunks: []measure.Chunk{{At: 39 * time.Millisecond, Tokens: 1}, {At: 64 * time.Millisecond, Tokens: 1}, {At: 89 * time.Millisecond, Tokens: 1}}}
		br.Started()
		br.FirstToken(r.FirstTok.Sub(r.Scheduled))
		br.Finished(r)
	}
	reg.MustRegister(odd{})

	ours := httptest.NewServer(Handler(reg, slog.New(slog.DiscardHandler), "test"))
	defer ours.Close()
	ref := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError, DisableCompression: true}))
	defer ref.Close()
	get := func(url, accept string) (string, string) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Accept-Encoding", "identity")
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s (Accept %q): HTTP %d %s", url, accept, resp.StatusCode, b)
		}
		return resp.Header.Get("Content-Type"), string(b)
	}
	for _, accept := range []string{"", "text/plain", "text/plain;version=0.0.4", "text/plain;version=0.0.4;escaping=allow-utf-8",
		"text/plain;version=1.0.0;escaping=values", "application/openmetrics-text;version=1.0.0",
		"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited",
		"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6,application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1"} {
		ct1, b1 := get(ours.URL+"/metrics", accept)
		ct2, b2 := get(ref.URL, accept)
		if ct1 != ct2 {
			t.Errorf("Accept %q: Content-Type %q, promhttp %q", accept, ct1, ct2)
		}
		if b1 != b2 {
			t.Errorf("Accept %q: body differs from promhttp's:\n%s", accept, diffLines(b1, b2))
		}
	}
}

// diffLines shows the first line where a and b differ.
func diffLines(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(la) || i < len(lb); i++ {
		var x, y string
		if i < len(la) {
			x = la[i]
		}
		if i < len(lb) {
			y = lb[i]
		}
		if x != y {
			return fmt.Sprintf("line %d:\n  ours     %q\n  promhttp %q", i+1, x, y)
		}
	}
	return "(same lines)"
}
