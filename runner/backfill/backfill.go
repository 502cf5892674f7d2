// Package backfill pushes finished benchmark summaries — ours and imported —
// into a time-series database with their original timestamps, so history
// boards and regression rules see runs that were never scraped live.
//
// The series are the contract's benchmark summary series
// (contract.Summary()), produced by the exporter's own recorder.Summaries so
// that a backfilled run and a scraped one are indistinguishable. Two ways in:
//
//   - VictoriaMetrics: Prometheus text with millisecond timestamps, POSTed to
//     /api/v1/import/prometheus (VictoriaMetrics.Import);
//   - Prometheus: an OpenMetrics file with timestamps in seconds, for
//     `promtool tsdb create-blocks-from openmetrics FILE DIR`
//     (WriteOpenMetrics), whose blocks are then moved into the TSDB.
//
// Functions are safe for concurrent use; nothing here keeps state.
package backfill

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/exporter/recorder"
	"github.com/servebench/servebench/runner/results"
)

// Plausible sample times. A finish time outside them is a unit mistake (a
// millisecond count read as seconds lands ~50 000 years ahead) or a zero.
var (
	minTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// Summaries converts one summary.json into the recorder's benchmark
// summaries, the same ones runner start and runner bench publish
// (results.SummaryOf). finished gives each level's finish time; a level
// without one is an error naming it.
func Summaries(s *results.Summary, finished map[string]time.Time) ([]recorder.BenchmarkSummary, error) {
	if s.RunID == "" {
		return nil, errors.New("summary has no run_id")
	}
	cores := ""
	if s.Cores > 0 {
		cores = strconv.Itoa(s.Cores)
	}
	suite := s.Suite
	if suite == "" {
		suite = "bench"
	}
	var out []recorder.BenchmarkSummary
	for _, b := range s.Benchmarks {
		at, ok := finished[b.Level]
		if !ok || at.IsZero() {
			return nil, fmt.Errorf("level %s of run %s: no finish time", b.Level, s.RunID)
		}
		if at.Before(minTime) || at.After(maxTime) {
			return nil, fmt.Errorf("level %s of run %s: finish time %s is implausible (unit mistake?)", b.Level, s.RunID, at.Format(time.RFC3339))
		}
		l := measure.BenchmarkLabels{Suite: suite, Model: s.Model, Workload: s.Workload, Cores: cores, Loadgen: s.Loadgen, Level: b.Level}
		out = append(out, results.SummaryOf(s.RunID, l, b, at))
	}
	return out, nil
}

// Families renders benchmark summaries as metric families: one family per
// contract series, every sample timestamped with its benchmark's finish
// time, series in label order and each series' samples in time order.
func Families(bs []recorder.BenchmarkSummary) ([]*dto.MetricFamily, error) {
	byName := map[string]*dto.MetricFamily{}
	for _, b := range bs {
		// A fresh publisher per benchmark: Summaries keeps only the latest
		// run of a configuration, and history needs them all.
		s := recorder.NewSummaries()
		if err := s.Publish(b); err != nil {
			return nil, err
		}
		reg := prometheus.NewPedanticRegistry()
		if err := reg.Register(s); err != nil {
			return nil, err
		}
		fams, err := reg.Gather()
		if err != nil {
			return nil, fmt.Errorf("run %s level %s: %w", b.RunID, b.Labels.Level, err)
		}
		for _, f := range fams {
			if have, ok := byName[f.GetName()]; ok {
				have.Metric = append(have.Metric, f.Metric...)
			} else {
				byName[f.GetName()] = f
			}
		}
	}
	out := make([]*dto.MetricFamily, 0, len(byName))
	for _, f := range byName {
		slices.SortStableFunc(f.Metric, func(a, b *dto.Metric) int {
			return cmp.Or(strings.Compare(labelKey(a), labelKey(b)), cmp.Compare(a.GetTimestampMs(), b.GetTimestampMs()))
		})
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b *dto.MetricFamily) int { return strings.Compare(a.GetName(), b.GetName()) })
	return out, nil
}

func labelKey(m *dto.Metric) string {
	var sb strings.Builder
	for _, l := range m.Label {
		sb.WriteString(l.GetName())
		sb.WriteByte('=')
		sb.WriteString(l.GetValue())
		sb.WriteByte(0)
	}
	return sb.String()
}

// WritePrometheusText writes families in the Prometheus text format, whose
// timestamps are milliseconds: the body VictoriaMetrics' import takes.
func WritePrometheusText(w io.Writer, fams []*dto.MetricFamily) error {
	enc := expfmt.NewEncoder(w, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, f := range fams {
		if err := enc.Encode(f); err != nil {
			return err
		}
	}
	return nil
}

// WriteOpenMetrics writes families as OpenMetrics 1.0 text, timestamps in
// seconds, ending with # EOF: the input of promtool tsdb
// create-blocks-from openmetrics.
func WriteOpenMetrics(w io.Writer, fams []*dto.MetricFamily) error {
	enc := expfmt.NewEncoder(w, expfmt.NewFormat(expfmt.TypeOpenMetrics))
	for _, f := range fams {
		if err := enc.Encode(f); err != nil {
			return err
		}
	}
	if c, ok := enc.(expfmt.Closer); ok {
		return c.Close()
	}
	return errors.New("openmetrics encoder cannot be finalised")
}
