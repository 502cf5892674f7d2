package backfill

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/servebench/servebench/runner/compare/comparetest"
)

// decodeWriteRequest reads writeRequest's output back: one line per sample,
// "labels value@ms" with labels sorted as sent.
func decodeWriteRequest(t *testing.T, b []byte) map[string][]string {
	t.Helper()
	fields := func(b []byte, each func(num protowire.Number, typ protowire.Type, v []byte, u uint64)) {
		for len(b) > 0 {
			num, typ, n := protowire.ConsumeTag(b)
			if n < 0 {
				t.Fatalf("bad tag: %v", protowire.ParseError(n))
			}
			b = b[n:]
			switch typ {
			case protowire.BytesType:
				v, m := protowire.ConsumeBytes(b)
				if m < 0 {
					t.Fatal(protowire.ParseError(m))
				}
				each(num, typ, v, 0)
				b = b[m:]
			case protowire.Fixed64Type:
				v, m := protowire.ConsumeFixed64(b)
				each(num, typ, nil, v)
				b = b[m:]
			case protowire.VarintType:
				v, m := protowire.ConsumeVarint(b)
				each(num, typ, nil, v)
				b = b[m:]
			default:
				t.Fatalf("unexpected wire type %v", typ)
			}
		}
	}
	out := map[string][]string{}
	fields(b, func(_ protowire.Number, _ protowire.Type, ts []byte, _ uint64) {
		var labels []string
		var samples []string
		fields(ts, func(num protowire.Number, _ protowire.Type, v []byte, _ uint64) {
			switch num {
			case 1:
				var kv [2]string
				fields(v, func(n protowire.Number, _ protowire.Type, s []byte, _ uint64) { kv[n-1] = string(s) })
				labels = append(labels, kv[0]+"="+kv[1])
			case 2:
				var val, ms uint64
				fields(v, func(n protowire.Number, _ protowire.Type, _ []byte, u uint64) {
					if n == 1 {
						val = u
					} else {
						ms = u
					}
				})
				samples = append(samples, formatSample(val, ms))
			}
		})
		out[strings.Join(labels, ",")] = samples
	})
	return out
}

func formatSample(bits, ms uint64) string {
	return num(math.Float64frombits(bits)) + "@" + strconv.FormatInt(int64(ms), 10)
}

func num(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// Remote write carries a summary the way a scrape stores it: one series per
// quantile, then _sum and _count, each with the run's finish time.
func TestWriteRequestExpandsSummaries(t *testing.T) {
	start := time.Date(2026, 10, 3, 4, 5, 6, 0, time.UTC)
	c := cellAt(t, t.TempDir(), "r1", start, comparetest.Bench{Seed: 1, N: 50})
	fin, err := FinishTimes(c, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := Summaries(c.Summary, fin)
	if err != nil {
		t.Fatal(err)
	}
	fams, err := Families(s)
	if err != nil {
		t.Fatal(err)
	}
	wr, err := writeRequest(fams)
	if err != nil {
		t.Fatal(err)
	}
	got := decodeWriteRequest(t, wr)
	b := c.Summary.Benchmarks[0]
	ms := strconv.FormatInt(fin[b.Level].UnixMilli(), 10)
	cfg := "cores=8,level=concurrent-4,loadgen=native,model=qwen3-0.6b"
	tail := ",suite=test,workload=chat"
	for series, want := range map[string]string{
		"__name__=servebench_benchmark_e2e_seconds," + cfg + ",quantile=0.5" + tail:  num(b.E2E.P50 / 1e3),
		"__name__=servebench_benchmark_e2e_seconds," + cfg + ",quantile=0.99" + tail: num(b.E2E.P99 / 1e3),
		"__name__=servebench_benchmark_itl_seconds_count," + cfg + tail:              num(float64(b.ITL.Count)),
		"__name__=servebench_benchmark_itl_seconds_sum," + cfg + tail:                num(b.ITL.Mean / 1e3 * float64(b.ITL.Count)),
		"__name__=servebench_benchmark_requests_per_second," + cfg + tail:            num(b.RequestsPerSecond),
	} {
		if s := got[series]; len(s) != 1 || s[0] != want+"@"+ms {
			t.Errorf("%s: samples %v, want [%s@%s]", series, s, want, ms)
		}
	}
	for series := range got {
		if strings.Contains(series, "quantile=") && !strings.Contains(series, "_seconds,") {
			t.Errorf("quantile label on a non-summary series: %s", series)
		}
	}
	// 4 summaries of 5 series, 9 gauges (per-core included), 1 info.
	if len(got) != 4*5+9+1 {
		t.Errorf("%d series, want %d", len(got), 4*5+9+1)
	}
}

// A family of a type the writer does not map is an error naming it, not a
// series of zeros.
func TestWriteRequestRejectsHistograms(t *testing.T) {
	f := &dto.MetricFamily{Name: proto.String("servebench_x_seconds"), Type: dto.MetricType_HISTOGRAM.Enum(),
		Metric: []*dto.Metric{{Histogram: &dto.Histogram{SampleCount: proto.Uint64(1)}}}}
	if _, err := writeRequest([]*dto.MetricFamily{f}); err == nil || !strings.Contains(err.Error(), "servebench_x_seconds") {
		t.Errorf("err = %v, want one naming the family", err)
	}
}
