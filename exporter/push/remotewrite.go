package push

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/encoding/protowire"
)

// RemoteWrite sends samples to a Prometheus remote-write receiver (protocol
// 1.0: a snappy-framed prometheus.WriteRequest), each with its own timestamp
// or, without one, the time of the write. Prometheus must run with
// --web.enable-remote-write-receiver and, for samples older than its head
// block, storage.tsdb.out_of_order_time_window covering their age;
// VictoriaMetrics' /api/v1/write and Mimir's /api/v1/push take the same body.
type RemoteWrite struct {
	URL    string       // e.g. http://127.0.0.1:9090/api/v1/write
	Header http.Header  // extra headers, e.g. Authorization
	Client *http.Client // nil means a client with a 30 s timeout
}

// Write sends every sample of fams in one request.
func (r RemoteWrite) Write(ctx context.Context, fams []*dto.MetricFamily) error {
	wr, err := writeRequest(fams, time.Now().UnixMilli())
	if err != nil {
		return err
	}
	body := snappyLiteral(wr)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("remote write request: %w", err)
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	c := r.Client
	if c == nil {
		c = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("remote write to %s: %w", redact(r.URL), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("remote write to %s: status %d: %s", redact(r.URL), resp.StatusCode, strings.TrimSpace(string(b)))
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return nil
}

type label struct{ name, value string }

// writeRequest encodes prometheus.WriteRequest by hand (field numbers from
// prompb/types.proto): WriteRequest{1: repeated TimeSeries},
// TimeSeries{1: repeated Label, 2: repeated Sample}, Label{1: name, 2: value},
// Sample{1: double value, 2: int64 timestamp ms}. Samples of one label set
// (several runs of a configuration) share a TimeSeries, in time order; a
// sample without a timestamp gets now (ms). Counters, gauges, untyped
// series, summaries (quantile series, _sum, _count) and classic histograms
// (_bucket with le, _sum, _count) are written as the text format names them.
func writeRequest(fams []*dto.MetricFamily, now int64) ([]byte, error) {
	type series struct {
		labels  []label
		samples [][2]float64 // value, timestamp
	}
	var order []string
	byKey := map[string]*series{}
	add := func(name string, m *dto.Metric, extra *label, v float64) {
		ls := []label{{"__name__", name}}
		for _, l := range m.Label {
			ls = append(ls, label{l.GetName(), l.GetValue()})
		}
		if extra != nil {
			ls = append(ls, *extra)
		}
		slices.SortFunc(ls, func(a, b label) int { return strings.Compare(a.name, b.name) })
		var key strings.Builder
		for _, l := range ls {
			key.WriteString(l.name + "\x00" + l.value + "\x00")
		}
		s, ok := byKey[key.String()]
		if !ok {
			s = &series{labels: ls}
			byKey[key.String()] = s
			order = append(order, key.String())
		}
		ts := now
		if m.TimestampMs != nil {
			ts = m.GetTimestampMs()
		}
		s.samples = append(s.samples, [2]float64{v, float64(ts)})
	}
	for _, f := range fams {
		for _, m := range f.Metric {
			switch {
			case m.Summary != nil:
				// A summary is several series on the wire, named and
				// labelled as the text format names them.
				for _, q := range m.Summary.Quantile {
					add(f.GetName(), m, &label{"quantile", formatFloat(q.GetQuantile())}, q.GetValue())
				}
				add(f.GetName()+"_sum", m, nil, m.Summary.GetSampleSum())
				add(f.GetName()+"_count", m, nil, float64(m.Summary.GetSampleCount()))
			case m.Histogram != nil:
				h := m.Histogram
				if len(h.Bucket) == 0 && (len(h.PositiveSpan) > 0 || len(h.NegativeSpan) > 0 || h.GetZeroCount() > 0) {
					return nil, fmt.Errorf("remote write: family %s: native histograms are not supported", f.GetName())
				}
				inf := false
				for _, b := range h.Bucket {
					add(f.GetName()+"_bucket", m, &label{"le", formatFloat(b.GetUpperBound())}, float64(b.GetCumulativeCount()))
					inf = inf || math.IsInf(b.GetUpperBound(), +1)
				}
				if !inf {
					add(f.GetName()+"_bucket", m, &label{"le", "+Inf"}, float64(h.GetSampleCount()))
				}
				add(f.GetName()+"_sum", m, nil, h.GetSampleSum())
				add(f.GetName()+"_count", m, nil, float64(h.GetSampleCount()))
			case m.Counter != nil:
				add(f.GetName(), m, nil, m.GetCounter().GetValue())
			case m.Gauge != nil:
				add(f.GetName(), m, nil, m.GetGauge().GetValue())
			case m.Untyped != nil:
				add(f.GetName(), m, nil, m.GetUntyped().GetValue())
			default:
				return nil, fmt.Errorf("remote write: family %s: type %s is not supported", f.GetName(), f.GetType())
			}
		}
	}
	var out []byte
	for _, k := range order {
		s := byKey[k]
		slices.SortStableFunc(s.samples, func(a, b [2]float64) int { return cmp.Compare(a[1], b[1]) })
		var ts []byte
		for _, l := range s.labels {
			var lb []byte
			lb = protowire.AppendTag(lb, 1, protowire.BytesType)
			lb = protowire.AppendString(lb, l.name)
			lb = protowire.AppendTag(lb, 2, protowire.BytesType)
			lb = protowire.AppendString(lb, l.value)
			ts = protowire.AppendTag(ts, 1, protowire.BytesType)
			ts = protowire.AppendBytes(ts, lb)
		}
		for _, sm := range s.samples {
			var sb []byte
			sb = protowire.AppendTag(sb, 1, protowire.Fixed64Type)
			sb = protowire.AppendFixed64(sb, math.Float64bits(sm[0]))
			sb = protowire.AppendTag(sb, 2, protowire.VarintType)
			sb = protowire.AppendVarint(sb, uint64(int64(sm[1])))
			ts = protowire.AppendTag(ts, 2, protowire.BytesType)
			ts = protowire.AppendBytes(ts, sb)
		}
		out = protowire.AppendTag(out, 1, protowire.BytesType)
		out = protowire.AppendBytes(out, ts)
	}
	return out, nil
}

// formatFloat formats a le or quantile label value as the text format does.
func formatFloat(v float64) string {
	if math.IsInf(v, +1) {
		return "+Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// snappyLiteral frames b as a snappy block of literals only: valid snappy
// that any decoder reads, without a compression dependency. Summary bodies
// are small (a few hundred samples per run), so compression buys little.
func snappyLiteral(b []byte) []byte {
	out := protowire.AppendVarint(nil, uint64(len(b))) // uncompressed length
	for len(b) > 0 {
		n := min(len(b), 1<<16)
		// Tag 61<<2: a literal whose length-1 follows in two little-endian bytes.
		out = append(out, 61<<2, byte((n-1)&0xff), byte((n-1)>>8))
		out = append(out, b[:n]...)
		b = b[n:]
	}
	return out
}
