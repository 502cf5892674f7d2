package push

import (
	"bytes"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/exporter/recorder"
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

// Remote write carries series the way a scrape stores them: a summary as
// one series per quantile, then _sum and _count, with its timestamp; a
// histogram as cumulative _bucket series with le (+Inf included), _sum and
// _count; unstamped samples at the time of the write.
func TestWriteRequestExpandsFamilies(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	sums := recorder.NewSummaries()
	reg.MustRegister(sums)
	l := measure.BenchmarkLabels{Suite: "test", Model: "m", Workload: "chat", Cores: "8", Loadgen: "native", Level: "concurrent-4"}
	fin := time.Date(2026, 10, 3, 4, 5, 6, 0, time.UTC)
	if err := sums.Publish(recorder.BenchmarkSummary{RunID: "r1", Labels: l, Finished: fin, RequestsPerSecond: 2.5, Valid: true,
		E2E: recorder.Quantiles{P50: 1.5, P95: 2, P99: 2.5, Mean: 1.6, Count: 40}}); err != nil {
		t.Fatal(err)
	}
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "servebench_x_seconds", Help: "x", Buckets: []float64{0.1, 1}})
	reg.MustRegister(h)
	h.Observe(0.05)
	h.Observe(0.5)
	h.Observe(5)
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	const now = 1_800_000_000_000
	wr, err := writeRequest(fams, now)
	if err != nil {
		t.Fatal(err)
	}
	got := decodeWriteRequest(t, wr)
	ms := strconv.FormatInt(fin.UnixMilli(), 10)
	cfg := "cores=8,level=concurrent-4,loadgen=native,model=m"
	tail := ",run_id=r1,suite=test,workload=chat"
	for series, want := range map[string]string{
		"__name__=servebench_benchmark_e2e_seconds," + cfg + ",quantile=0.5" + tail:  "1.5@" + ms,
		"__name__=servebench_benchmark_e2e_seconds," + cfg + ",quantile=0.99" + tail: "2.5@" + ms,
		"__name__=servebench_benchmark_e2e_seconds_count," + cfg + tail:              "40@" + ms,
		"__name__=servebench_benchmark_e2e_seconds_sum," + cfg + tail:                num(1.6*40) + "@" + ms,
		"__name__=servebench_benchmark_requests_per_second," + cfg + tail:            "2.5@" + ms,
		"__name__=servebench_x_seconds_bucket,le=0.1":                                "1@" + strconv.Itoa(now),
		"__name__=servebench_x_seconds_bucket,le=1":                                  "2@" + strconv.Itoa(now),
		"__name__=servebench_x_seconds_bucket,le=+Inf":                               "3@" + strconv.Itoa(now),
		"__name__=servebench_x_seconds_count":                                        "3@" + strconv.Itoa(now),
		"__name__=servebench_x_seconds_sum":                                          "5.55@" + strconv.Itoa(now),
	} {
		if s := got[series]; len(s) != 1 || s[0] != want {
			t.Errorf("%s: samples %v, want [%s]", series, s, want)
		}
	}
	for series := range got {
		if strings.Contains(series, "quantile=") && !strings.Contains(series, "_seconds,") {
			t.Errorf("quantile label on a non-summary series: %s", series)
		}
	}
}

// A native-only histogram has no classic series to write: an error naming
// the family, not a series of zeros.
func TestWriteRequestRejectsNativeHistograms(t *testing.T) {
	f := &dto.MetricFamily{Name: proto.String("servebench_x_seconds"), Type: dto.MetricType_HISTOGRAM.Enum(),
		Metric: []*dto.Metric{{Histogram: &dto.Histogram{SampleCount: proto.Uint64(1), ZeroCount: proto.Uint64(1)}}}}
	if _, err := writeRequest([]*dto.MetricFamily{f}, 0); err == nil || !strings.Contains(err.Error(), "servebench_x_seconds") {
		t.Errorf("err = %v, want one naming the family", err)
	}
}

func TestSnappyLiteralFraming(t *testing.T) {
	// Uncompressed length as a varint, then 2-byte-length literal chunks.
	b := bytes.Repeat([]byte{7}, 70000)
	out := snappyLiteral(b)
	if out[0] != 0xf0 || out[1] != 0xa2 || out[2] != 0x04 { // varint(70000)
		t.Fatalf("length prefix % x", out[:3])
	}
	if out[3] != 61<<2 || out[4] != 0xff || out[5] != 0xff || out[6+65536] != 61<<2 {
		t.Errorf("chunk tags % x / % x", out[3:6], out[6+65536:6+65539])
	}
	if len(out) != 3+3+65536+3+(70000-65536) {
		t.Errorf("length %d", len(out))
	}
}
