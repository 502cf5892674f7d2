package report

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/runner/compare"
	"github.com/servebench/servebench/runner/results"
)

// engineSample is one line of a cell's engine-metrics.jsonl, as runner
// start writes it.
type engineSample struct {
	results.EngineSample
	cell string // the cell whose file it came from
}

// EngineFileCharts draws the engine queue and KV-cache charts of
// EngineQueries from the cells' engine-metrics.jsonl, for reports made
// without a Prometheus: the same aggregation (queue summed, KV-cache the
// highest, over every engine instance) in bins of at least a second, x in
// seconds since the run started. ok is false when no cell has the file.
func EngineFileCharts(cells []compare.Cell) (charts []LineChart, ok bool, err error) {
	var samples []engineSample
	for _, c := range cells {
		if filepath.Base(c.Path) != "summary.json" {
			continue
		}
		s, err := readEngineSamples(filepath.Join(filepath.Dir(c.Path), results.EngineMetricsFile), cellName(c))
		if err != nil {
			return nil, false, err
		}
		samples = append(samples, s...)
	}
	if len(samples) == 0 {
		return nil, false, nil
	}
	sort.SliceStable(samples, func(i, j int) bool { return samples[i].Time.Before(samples[j].Time) })
	start, end, spanned := RunSpan(cells)
	if !spanned || samples[0].Time.Before(start) {
		start = samples[0].Time
	}
	if last := samples[len(samples)-1].Time; last.After(end) {
		end = last
	}
	bin := max(time.Second, end.Sub(start)/240)

	type series struct {
		name, metric string
		sum          bool // sum over instances, else the highest
		scale        float64
	}
	defs := []struct {
		title, ylabel string
		series        []series
	}{
		{EngineQueries[0].Title, EngineQueries[0].YLabel, []series{
			{"running", contract.VLLMRequestsRunning.Name, true, 1}, {"waiting", contract.VLLMRequestsWaiting.Name, true, 1}}},
		{EngineQueries[1].Title, EngineQueries[1].YLabel, []series{{"kv-cache", contract.VLLMKVCacheUsage.Name, false, 100}}},
	}
	for _, d := range defs {
		ch := LineChart{Title: d.title, X: Axis{Label: "seconds since the run started", Zero: true}, Y: Axis{Label: d.ylabel, Zero: true}}
		for _, sd := range d.series {
			// The last value of each engine instance in each bin, then
			// summed or maxed over instances.
			type key struct {
				bin  int
				inst string
			}
			last := map[key]float64{}
			for _, s := range samples {
				if v, found := s.Metrics[sd.metric]; found {
					last[key{int(s.Time.Sub(start) / bin), fmt.Sprintf("%s#%d", s.cell, s.Instance)}] = v
				}
			}
			byBin := map[int]float64{}
			for k, v := range last {
				if cur, seen := byBin[k.bin]; !seen || !sd.sum && v > cur {
					byBin[k.bin] = v
				} else if sd.sum {
					byBin[k.bin] = cur + v
				}
			}
			if len(byBin) == 0 {
				continue
			}
			bins := make([]int, 0, len(byBin))
			for b := range byBin {
				bins = append(bins, b)
			}
			sort.Ints(bins)
			s := Series{Name: sd.name, Marker: len(bins) < 30}
			for _, b := range bins {
				s.X = append(s.X, (float64(b)+0.5)*bin.Seconds())
				s.Y = append(s.Y, byBin[b]*sd.scale)
			}
			ch.Series = append(ch.Series, s)
		}
		if len(ch.Series) > 0 {
			charts = append(charts, ch)
		}
	}
	return charts, len(charts) > 0, nil
}

func readEngineSamples(path, cell string) ([]engineSample, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []engineSample
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for n := 1; sc.Scan(); n++ {
		var s engineSample
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			return nil, fmt.Errorf("%s line %d: %w", path, n, err)
		}
		if len(s.Metrics) == 0 {
			continue // a failed scrape
		}
		s.cell = cell
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}
