// Package exposition writes gathered metric families in the Prometheus text
// format (0.0.4) — what a scraper gets unless it asks for protobuf, and what
// servebench pushes — byte for byte as the client library's expfmt encoder
// writes it, at less than half its cost: each series' label pairs are
// rendered once rather than on each of a histogram's bucket lines, and the
// output goes through the caller's buffer. Families whose names need
// escaping or quoting go through expfmt. docs/exporter.md has the figures
// (BenchmarkExposition20k). Functions hold no state and are safe for
// concurrent use on distinct writers.
package exposition

import (
	"bufio"
	"io"
	"math"
	"strconv"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Write writes every family to w through a buffer, names that are not
// legacy Prometheus names escaped with underscores, as a text-format scraper
// without an escaping preference gets them; it stops at the first error.
func Write(w io.Writer, mfs []*dto.MetricFamily) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	for _, mf := range mfs {
		if err := WriteFamily(bw, mf, model.UnderscoreEscaping); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// WriteFamily writes one family in the text format 0.0.4, byte for byte as
// expfmt's encoder does, but renders each series' label pairs once rather
// than once per line: a histogram's thirty bucket lines share them. A family
// whose name or label names need escaping or quoting goes through expfmt.
func WriteFamily(w *bufio.Writer, mf *dto.MetricFamily, esc model.EscapingScheme) error {
	if !plainFamily(mf) {
		_, err := expfmt.MetricFamilyToText(w, model.EscapeMetricFamily(mf, esc))
		return err
	}
	name := mf.GetName()
	if mf.Help != nil {
		w.WriteString("# HELP ")
		w.WriteString(name)
		w.WriteByte(' ')
		writeEscaped(w, *mf.Help)
		w.WriteByte('\n')
	}
	w.WriteString("# TYPE ")
	w.WriteString(name)
	switch mf.GetType() {
	case dto.MetricType_COUNTER:
		w.WriteString(" counter\n")
	case dto.MetricType_GAUGE:
		w.WriteString(" gauge\n")
	case dto.MetricType_SUMMARY:
		w.WriteString(" summary\n")
	case dto.MetricType_UNTYPED:
		w.WriteString(" untyped\n")
	default: // histogram, gauge histogram
		w.WriteString(" histogram\n")
	}
	var lbl []byte
	for _, m := range mf.Metric {
		lbl = appendLabels(lbl[:0], m.Label)
		ts := m.TimestampMs
		switch mf.GetType() {
		case dto.MetricType_COUNTER:
			writeLine(w, name, "", lbl, "", 0, m.Counter.GetValue(), ts)
		case dto.MetricType_GAUGE:
			writeLine(w, name, "", lbl, "", 0, m.Gauge.GetValue(), ts)
		case dto.MetricType_UNTYPED:
			writeLine(w, name, "", lbl, "", 0, m.Untyped.GetValue(), ts)
		case dto.MetricType_SUMMARY:
			for _, q := range m.Summary.Quantile {
				writeLine(w, name, "", lbl, model.QuantileLabel, q.GetQuantile(), q.GetValue(), ts)
			}
			writeLine(w, name, "_sum", lbl, "", 0, m.Summary.GetSampleSum(), ts)
			writeLine(w, name, "_count", lbl, "", 0, float64(m.Summary.GetSampleCount()), ts)
		default:
			h := m.Histogram
			infSeen := false
			for _, b := range h.Bucket {
				v := b.GetCumulativeCountFloat()
				if v == 0 {
					v = float64(b.GetCumulativeCount())
				}
				writeLine(w, name, "_bucket", lbl, model.BucketLabel, b.GetUpperBound(), v, ts)
				if math.IsInf(b.GetUpperBound(), +1) {
					infSeen = true
				}
			}
			count := h.GetSampleCountFloat()
			if count == 0 {
				count = float64(h.GetSampleCount())
			}
			if !infSeen {
				writeLine(w, name, "_bucket", lbl, model.BucketLabel, math.Inf(+1), count, ts)
			}
			writeLine(w, name, "_sum", lbl, "", 0, h.GetSampleSum(), ts)
			writeLine(w, name, "_count", lbl, "", 0, count, ts)
		}
	}
	return nil
}

// plainFamily reports whether WriteFamily can write mf itself: it has metrics
// of its declared type, and its name and label names are legacy names
// (which no escaping scheme changes and the format does not quote).
func plainFamily(mf *dto.MetricFamily) bool {
	if len(mf.Metric) == 0 || !model.LegacyValidation.IsValidMetricName(mf.GetName()) {
		return false
	}
	for _, m := range mf.Metric {
		switch mf.GetType() {
		case dto.MetricType_COUNTER:
			if m.Counter == nil {
				return false
			}
		case dto.MetricType_GAUGE:
			if m.Gauge == nil {
				return false
			}
		case dto.MetricType_UNTYPED:
			if m.Untyped == nil {
				return false
			}
		case dto.MetricType_SUMMARY:
			if m.Summary == nil {
				return false
			}
		case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
			if m.Histogram == nil {
				return false
			}
		default:
			return false
		}
		for _, lp := range m.Label {
			if !model.LegacyValidation.IsValidLabelName(lp.GetName()) {
				return false
			}
		}
	}
	return true
}

// appendLabels renders pairs as name="value",... with the format's escapes.
func appendLabels(b []byte, pairs []*dto.LabelPair) []byte {
	for i, lp := range pairs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, lp.GetName()...)
		b = append(b, '=', '"')
		b = appendEscaped(b, lp.GetValue())
		b = append(b, '"')
	}
	return b
}

// appendEscaped escapes a label value: backslash, newline, double quote.
func appendEscaped(b []byte, v string) []byte {
	if !strings.ContainsAny(v, "\\\n\"") {
		return append(b, v...)
	}
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '\\':
			b = append(b, '\\', '\\')
		case '\n':
			b = append(b, '\\', 'n')
		case '"':
			b = append(b, '\\', '"')
		default:
			b = append(b, c)
		}
	}
	return b
}

// writeEscaped escapes HELP text: backslash and newline.
func writeEscaped(w *bufio.Writer, v string) {
	if !strings.ContainsAny(v, "\\\n") {
		w.WriteString(v)
		return
	}
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '\\':
			w.WriteString(`\\`)
		case '\n':
			w.WriteString(`\n`)
		default:
			w.WriteByte(c)
		}
	}
}

// writeLine writes one sample: name+suffix, the series' labels and an
// extra label (le, quantile) when given, the value, the timestamp.
func writeLine(w *bufio.Writer, name, suffix string, lbl []byte, extra string, extraValue, v float64, ts *int64) {
	w.WriteString(name)
	w.WriteString(suffix)
	if len(lbl) > 0 || extra != "" {
		w.WriteByte('{')
		w.Write(lbl)
		if extra != "" {
			if len(lbl) > 0 {
				w.WriteByte(',')
			}
			w.WriteString(extra)
			w.WriteString(`="`)
			writeFloat(w, extraValue)
			w.WriteByte('"')
		}
		w.WriteByte('}')
	}
	w.WriteByte(' ')
	writeFloat(w, v)
	if ts != nil {
		w.WriteByte(' ')
		w.Write(strconv.AppendInt(w.AvailableBuffer(), *ts, 10))
	}
	w.WriteByte('\n')
}

// writeFloat formats as the text format does.
func writeFloat(w *bufio.Writer, f float64) {
	switch {
	case f == 1:
		w.WriteByte('1')
	case f == 0:
		w.WriteByte('0')
	case f == -1:
		w.WriteString("-1")
	case math.IsNaN(f):
		w.WriteString("NaN")
	case math.IsInf(f, +1):
		w.WriteString("+Inf")
	case math.IsInf(f, -1):
		w.WriteString("-Inf")
	default:
		w.Write(strconv.AppendFloat(w.AvailableBuffer(), f, 'g', -1, 64))
	}
}
