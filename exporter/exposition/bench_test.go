package exposition_test

import (
	"bufio"
	"bytes"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	vm "github.com/VictoriaMetrics/metrics"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/servebench/servebench/exporter/exposition"
)

// BenchmarkExposition20k is one text exposition of the recorder's series,
// 20,000 of them, gathered and written to a buffer (no HTTP, no gzip: what
// the choice of writer changes), by the writer servebench uses, by the
// client library's expfmt encoder, and by VictoriaMetrics/metrics writing
// the same series held in one of its Sets, with `le` buckets as servebench
// exposes them and with its own vmrange buckets. Budget: 30 ms a scrape.
func BenchmarkExposition20k(b *testing.B) {
	reg, series := recorded(b, 20_000)
	run := func(b *testing.B, write func(w *bytes.Buffer)) {
		var buf bytes.Buffer
		cpu0 := cpuTime()
		for b.Loop() {
			buf.Reset()
			write(&buf)
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/scrape")
		b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/scrape")
		b.ReportMetric(float64(series), "series")
		b.ReportMetric(float64(buf.Len()), "bytes/scrape")
	}
	gather := func(b *testing.B) []*dto.MetricFamily {
		mfs, err := reg.Gather()
		if err != nil {
			b.Fatal(err)
		}
		return mfs
	}
	b.Run("servebench", func(b *testing.B) {
		run(b, func(w *bytes.Buffer) {
			if err := exposition.Write(w, gather(b)); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("client_golang-expfmt", func(b *testing.B) {
		run(b, func(w *bytes.Buffer) {
			bw := bufio.NewWriterSize(w, 64<<10)
			enc := expfmt.NewEncoder(bw, expfmt.NewFormat(expfmt.TypeTextPlain))
			for _, mf := range gather(b) {
				if err := enc.Encode(mf); err != nil {
					b.Fatal(err)
				}
			}
			bw.Flush()
		})
	})
	for _, vmrange := range []bool{false, true} {
		name := "victoriametrics-le"
		if vmrange {
			name = "victoriametrics-vmrange"
		}
		b.Run(name, func(b *testing.B) {
			s := vmSet(b, reg, vmrange)
			run(b, func(w *bytes.Buffer) { s.WritePrometheus(w) })
		})
	}
}

// vmSet holds the same series as g in a VictoriaMetrics/metrics Set:
// counters and gauges with their values, each histogram with the same
// observations per classic bucket (in its own `le` buckets, or in vmrange
// buckets). Summaries (a handful) are left out.
func vmSet(b *testing.B, g prometheus.Gatherer, vmrange bool) *vm.Set {
	mfs, err := g.Gather()
	if err != nil {
		b.Fatal(err)
	}
	s := vm.NewSet()
	for _, mf := range mfs {
		for _, m := range mf.Metric {
			var lbl []string
			for _, l := range m.Label {
				lbl = append(lbl, l.GetName()+"="+strconv.Quote(l.GetValue()))
			}
			name := mf.GetName() + "{" + strings.Join(lbl, ",") + "}"
			switch {
			case m.Counter != nil:
				s.NewFloatCounter(name).Set(m.Counter.GetValue())
			case m.Gauge != nil:
				s.NewFloatCounter(name).Set(m.Gauge.GetValue())
			case m.Histogram != nil:
				// Replay each classic bucket's count just under its bound.
				var update func(float64)
				if vmrange {
					update = s.NewHistogram(name).Update
				} else {
					bounds := make([]float64, 0, len(m.Histogram.Bucket))
					for _, bk := range m.Histogram.Bucket {
						bounds = append(bounds, bk.GetUpperBound())
					}
					update = s.NewPrometheusHistogramExt(name, bounds).Update
				}
				prev := uint64(0)
				for _, bk := range m.Histogram.Bucket {
					for range bk.GetCumulativeCount() - prev {
						update(bk.GetUpperBound() * 0.99)
					}
					prev = bk.GetCumulativeCount()
				}
			}
		}
	}
	return s
}

// cpuTime is the process's user+system CPU time: on a shared machine it
// shows the work a scrape costs when wall time mostly shows the neighbours.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
