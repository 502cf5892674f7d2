package orchestrate

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/servebench/servebench/runner/results"
)

// engineSampler scrapes engine URLs every period and writes one
// results.EngineSample per URL and scrape to w until ctx ends. Only series whose
// name starts with one of prefixes are kept.
type engineSampler struct {
	client   *http.Client
	urls     []string
	apiKey   string
	every    time.Duration
	prefixes []string
	now      func() time.Time
}

// run samples until ctx ends; it returns the first write error.
func (s *engineSampler) run(ctx context.Context, w io.Writer) error {
	enc := json.NewEncoder(w)
	t := time.NewTicker(s.every)
	defer t.Stop()
	for {
		for i, u := range s.urls {
			sample := results.EngineSample{Time: s.now().UTC(), Instance: i + 1}
			m, err := s.scrape(ctx, u)
			if ctx.Err() != nil {
				return nil // the cell ended mid-scrape: nothing worth a line
			}
			if err != nil {
				sample.Error = err.Error()
			}
			sample.Metrics = m
			if err := enc.Encode(sample); err != nil {
				return fmt.Errorf("engine metrics: %w", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (s *engineSampler) scrape(ctx context.Context, base string) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, max(s.every, time.Second))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	if s.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+s.apiKey)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s/metrics answered %s", base, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("%s/metrics: %w", base, err)
	}
	return flattenFamilies(fams, s.prefixes), nil
}

// flattenFamilies turns metric families into series -> value.
func flattenFamilies(fams map[string]*dto.MetricFamily, prefixes []string) map[string]float64 {
	out := map[string]float64{}
	for name, f := range fams {
		if !hasAnyPrefix(name, prefixes) {
			continue
		}
		for _, m := range f.GetMetric() {
			key := seriesKey(name, m.GetLabel())
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				out[key] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[key] = m.GetGauge().GetValue()
			case dto.MetricType_UNTYPED:
				out[key] = m.GetUntyped().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[seriesKey(name+"_sum", m.GetLabel())] = m.GetHistogram().GetSampleSum()
				out[seriesKey(name+"_count", m.GetLabel())] = float64(m.GetHistogram().GetSampleCount())
			case dto.MetricType_SUMMARY:
				out[seriesKey(name+"_sum", m.GetLabel())] = m.GetSummary().GetSampleSum()
				out[seriesKey(name+"_count", m.GetLabel())] = float64(m.GetSummary().GetSampleCount())
			}
		}
	}
	return out
}

func hasAnyPrefix(name string, prefixes []string) bool {
	if len(prefixes) == 0 {
		return true
	}
	for _, p := range prefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// seriesKey renders name{a="x",b="y"} with sorted labels, dropping the
// labels that are the same on every series of one engine.
func seriesKey(name string, labels []*dto.LabelPair) string {
	var kv []string
	for _, l := range labels {
		switch l.GetName() {
		case "model_name", "engine":
			continue
		}
		kv = append(kv, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
	}
	if len(kv) == 0 {
		return name
	}
	sort.Strings(kv)
	return name + "{" + strings.Join(kv, ",") + "}"
}
