package results

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/exporter/recorder"
)

// An absent figure is no series on /metrics: no gauge for a rate with
// nothing to rate, no summary for a distribution without samples, no
// quantile for a percentile withheld for too few samples.
func TestSummaryOfPublishesNoAbsentFigure(t *testing.T) {
	b := Benchmark{Level: "concurrent-8", TargetRate: 8, Valid: false, OutputTokensPerSecond: Of(12.5),
		Requests: Requests{Successful: 8},
		TTFT:     NewDist([]float64{200, 210, 220, 230, 240, 250, 260, 270})} // 8 samples: no p95, no p99
	s := recorder.NewSummaries()
	l := measure.BenchmarkLabels{Suite: "smoke", Model: "m", Workload: "chat", Cores: "2", Loadgen: "native", Level: b.Level}
	if err := s.Publish(SummaryOf("r1", l, b, time.Now())); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(s)
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		names[f.GetName()] = f
	}
	for _, absent := range []string{contract.BenchmarkRequestRate.Name, contract.BenchmarkTotalTokenRate.Name, contract.BenchmarkAchievedRate.Name,
		contract.BenchmarkITL.Name, contract.BenchmarkE2E.Name, contract.BenchmarkTPOT.Name} {
		if names[absent] != nil {
			t.Errorf("%s exposed for an absent figure: %v", absent, names[absent])
		}
	}
	if names[contract.BenchmarkOutputTokenRate.Name] == nil || names[contract.BenchmarkSuccessRatio.Name] == nil {
		t.Errorf("present figures missing: %v", names)
	}
	ttft := names[contract.BenchmarkTTFT.Name]
	if ttft == nil || len(ttft.Metric) != 1 || ttft.Metric[0].GetSummary().GetSampleCount() != 8 || len(ttft.Metric[0].GetSummary().Quantile) != 1 {
		t.Fatalf("ttft summary: %v", ttft)
	}
	if q := ttft.Metric[0].GetSummary().Quantile[0]; q.GetQuantile() != 0.5 || q.GetValue() != 0.235 {
		t.Errorf("ttft quantile %v", q)
	}
}
