package guidellm

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/servebench/servebench/runner/results"
	"github.com/servebench/servebench/runner/thirdparty/crosscheck"
	"github.com/servebench/servebench/runner/thirdparty/pyjson"
)

// ErrLegacySchema is wrapped by Parse's error for reports older than v0.4.
var ErrLegacySchema = errors.New("guidellm report: legacy pre-v0.4 schema is not supported")

// Schema is a GuideLLM report schema generation.
type Schema string

const (
	SchemaLegacy Schema = "pre-0.4" // {benchmarks} with per-benchmark args/run_stats/worker
	SchemaV04    Schema = "0.4"     // {args, benchmarks}
	SchemaV1     Schema = "0.5-0.6" // {metadata:{version:1}, args, benchmarks}
	SchemaV2     Schema = "0.7"     // {metadata:{version:2}, config, benchmarks}
)

// DetectSchema tells the report generation from its top-level keys.
func DetectSchema(b []byte) (Schema, error) {
	return detectSchema(pyjson.Clean(b))
}

// detectSchema is DetectSchema on already cleaned JSON.
func detectSchema(b []byte) (Schema, error) {
	var top struct {
		Metadata *struct {
			Version json.Number `json:"version"`
		} `json:"metadata"`
		Args       json.RawMessage   `json:"args"`
		Config     json.RawMessage   `json:"config"`
		Benchmarks []json.RawMessage `json:"benchmarks"`
	}
	if err := json.Unmarshal(b, &top); err != nil {
		return "", fmt.Errorf("guidellm report: %w", err)
	}
	if top.Benchmarks == nil {
		return "", errors.New("guidellm report: no benchmarks key")
	}
	switch {
	case top.Metadata != nil && top.Metadata.Version == "2":
		return SchemaV2, nil
	case top.Metadata != nil && top.Metadata.Version == "1":
		return SchemaV1, nil
	case top.Metadata != nil:
		return "", fmt.Errorf("guidellm report: metadata.version %s is newer than this parser (knows 1 and 2)", top.Metadata.Version)
	case top.Args != nil:
		return SchemaV04, nil
	}
	return SchemaLegacy, nil
}

// report is the part of a v0.4-v0.7 report the parser reads.
type report struct {
	Metadata struct {
		GuideLLMVersion string `json:"guidellm_version"`
	} `json:"metadata"`
	Config struct {
		Spec struct {
			Backend struct {
				Target string `json:"target"`
				Model  string `json:"model"`
			} `json:"backend"`
		} `json:"spec"`
	} `json:"config"`
	Benchmarks []benchmark `json:"benchmarks"`
}

type benchmark struct {
	Config struct {
		Strategy struct {
			Type           string   `json:"type_"`
			Rate           *float64 `json:"rate"`
			Streams        *float64 `json:"streams"`
			MaxConcurrency *float64 `json:"max_concurrency"`
		} `json:"strategy"`
		Backend struct {
			Model string `json:"model"`
		} `json:"backend"`
	} `json:"config"`
	SchedulerMetrics struct {
		TargetedStartDelayAvg *float64 `json:"request_targeted_start_delay_avg"`
	} `json:"scheduler_metrics"`
	Metrics  metrics  `json:"metrics"`
	Duration *float64 `json:"duration"`
	Start    *float64 `json:"start_time"`
	End      *float64 `json:"end_time"`
}

type metrics struct {
	RequestTotals struct {
		Successful int `json:"successful"`
		Errored    int `json:"errored"`
		Incomplete int `json:"incomplete"`
		Total      int `json:"total"`
	} `json:"request_totals"`
	RequestsPerSecond     statusDist `json:"requests_per_second"`
	RequestLatency        statusDist `json:"request_latency"` // seconds
	TTFT                  statusDist `json:"time_to_first_token_ms"`
	ITL                   statusDist `json:"inter_token_latency_ms"`
	TPOT                  statusDist `json:"time_per_output_token_ms"`
	OutputTokensPerSecond statusDist `json:"output_tokens_per_second"`
	TokensPerSecond       statusDist `json:"tokens_per_second"`
}

type statusDist struct {
	Successful *dist `json:"successful"`
	Total      *dist `json:"total"`
}

type dist struct {
	Mean        *float64           `json:"mean"`
	Max         *float64           `json:"max"`
	Count       int                `json:"count"`
	Percentiles map[string]float64 `json:"percentiles"`
}

// rate is the mean of a rate distribution: absent when the report lacks it
// or it is 0 (GuideLLM writes 0 for a rate of nothing; servebench's rule for
// its own rates is that a rate with no event is absent).
func (d *dist) rate() results.Figure {
	if d == nil || d.Mean == nil || *d.Mean == 0 {
		return results.Figure{}
	}
	return results.Of(*d.Mean)
}

// toDist converts a GuideLLM DistributionSummary, scaling its values (1000
// for seconds to milliseconds). GuideLLM's percentiles are nearest-rank
// without interpolation; they are copied, not recomputed. A distribution
// of no sample (GuideLLM fills it with zeros) is empty, and a figure the
// report lacks is absent.
func (d *dist) toDist(scale float64) results.Dist {
	if d == nil || d.Count == 0 {
		return results.Dist{}
	}
	out := results.Dist{Count: d.Count}
	if d.Mean != nil {
		out.Mean = results.Of(*d.Mean * scale)
	}
	if d.Max != nil {
		out.Max = results.Of(*d.Max * scale)
	}
	p := func(k string) results.Figure {
		v, ok := d.Percentiles[k]
		return results.OfIf(v*scale, ok)
	}
	out.P50, out.P90, out.P95, out.P99, out.P999 = p("p50"), p("p90"), p("p95"), p("p99"), p("p999")
	return out
}

// Parse reads a GuideLLM JSON report (v0.4 to v0.7; `guidellm run --output
// kind=json`) into a servebench summary, one Benchmark per strategy run.
// Reports older than v0.4 fail with ErrLegacySchema. Numbers are GuideLLM's
// own; see the package doc for how its definitions map onto servebench's.
func Parse(r io.Reader) (*results.Summary, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("guidellm report: %w", err)
	}
	b = pyjson.Clean(b)
	schema, err := detectSchema(b)
	if err != nil {
		return nil, err
	}
	if schema == SchemaLegacy {
		return nil, fmt.Errorf("%w: the top level holds only benchmarks, each with args/run_stats/worker; re-run with GuideLLM 0.4 or newer (0.7 recommended)", ErrLegacySchema)
	}
	var rep report
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, fmt.Errorf("guidellm report: %w", err)
	}
	s := &results.Summary{
		SchemaVersion: results.SchemaVersion,
		Loadgen:       "guidellm",
		Target:        rep.Config.Spec.Backend.Target,
		Model:         rep.Config.Spec.Backend.Model,
		Benchmarks:    make([]results.Benchmark, 0, len(rep.Benchmarks)),
	}
	for i, gb := range rep.Benchmarks {
		bm, err := convert(gb)
		if err != nil {
			return nil, fmt.Errorf("guidellm report: benchmarks[%d]: %w", i, err)
		}
		if s.Model == "" {
			s.Model = gb.Config.Backend.Model
		}
		s.Benchmarks = append(s.Benchmarks, bm)
	}
	return s, nil
}

func convert(gb benchmark) (results.Benchmark, error) {
	st := gb.Config.Strategy
	profile, target := st.Type, 0.0
	switch st.Type {
	case "synchronous":
		target = 1
	case "concurrent":
		if st.Streams == nil {
			return results.Benchmark{}, errors.New("config.strategy: concurrent without streams")
		}
		target = *st.Streams
	case "throughput":
		if st.MaxConcurrency != nil {
			target = *st.MaxConcurrency
		}
	case "constant", "async", "poisson":
		if st.Rate == nil {
			return results.Benchmark{}, fmt.Errorf("config.strategy: %s without rate", st.Type)
		}
		if st.Type == "async" {
			profile = "constant"
		}
		target = *st.Rate
	case "trace":
		profile = "replay"
	case "":
		profile = "unknown" // pre-0.7 reports keep the strategy elsewhere
	default:
		return results.Benchmark{}, fmt.Errorf("config.strategy.type_ %q is unknown", st.Type)
	}
	level := profile
	if target > 0 && profile != "synchronous" {
		level += "-" + strconv.FormatFloat(target, 'f', -1, 64)
	}
	m := gb.Metrics
	bm := results.Benchmark{
		Profile:      profile,
		Level:        level,
		TargetRate:   target,
		AchievedRate: m.RequestsPerSecond.Total.rate(),
		Requests: results.Requests{
			Successful: m.RequestTotals.Successful,
			Failed:     m.RequestTotals.Errored,
			Incomplete: m.RequestTotals.Incomplete,
		},
		TTFT: m.TTFT.Successful.toDist(1),
		// GuideLLM's per-request inter-token latency, (last - first token) /
		// (output tokens - 1), is the TPOT formula servebench and vLLM use;
		// its time_per_output_token_ms includes TTFT and is not mapped.
		TPOT:                  m.ITL.Successful.toDist(1),
		ITLRequestMean:        m.ITL.Successful.toDist(1),
		E2E:                   m.RequestLatency.Successful.toDist(1000),
		RequestsPerSecond:     m.RequestsPerSecond.Successful.rate(),
		OutputTokensPerSecond: m.OutputTokensPerSecond.Successful.rate(),
		TotalTokensPerSecond:  m.TokensPerSecond.Successful.rate(),
		TokenSource:           "usage",
		Valid:                 true,
		InvalidReasons:        []string{},
	}
	switch {
	case gb.Duration != nil:
		bm.DurationSeconds = *gb.Duration
	case gb.Start != nil && gb.End != nil:
		bm.DurationSeconds = *gb.End - *gb.Start
	}
	if gb.End != nil && *gb.End > 0 {
		end := epoch(gb.End).UTC()
		bm.EndedAt = &end
	}
	if done := bm.Requests.Successful + bm.Requests.Failed + bm.Requests.Incomplete; done > 0 {
		bm.SuccessRatio = results.Of(float64(bm.Requests.Successful) / float64(done))
	}
	if d := gb.SchedulerMetrics.TargetedStartDelayAvg; d != nil && *d >= 0 {
		// Only the average is reported: the percentiles stay absent.
		bm.SendLateness.Mean = results.Of(*d * 1000)
	}
	if bm.Requests.Successful == 0 {
		bm.Valid = false
		bm.InvalidReasons = append(bm.InvalidReasons, "no successful requests")
	}
	return bm, nil
}

// Claims reads what each benchmark of a report says about its requests,
// for checking against the metering proxy's records of the same traffic
// (runner/thirdparty/crosscheck): its counting window (measure start to
// end: a request that overlaps it counts), the totals inside it, the
// successful requests per second over it and the median TTFT.
func Claims(r io.Reader) ([]crosscheck.Claim, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("guidellm report: %w", err)
	}
	b = pyjson.Clean(b)
	if schema, err := detectSchema(b); err != nil {
		return nil, err
	} else if schema == SchemaLegacy {
		return nil, ErrLegacySchema
	}
	var rep report
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, fmt.Errorf("guidellm report: %w", err)
	}
	out := make([]crosscheck.Claim, len(rep.Benchmarks))
	for i, gb := range rep.Benchmarks {
		m := gb.Metrics
		// Its incomplete requests are those it cancelled at its deadline:
		// some may never have left it.
		c := crosscheck.Claim{Tool: "guidellm", Cut: m.RequestTotals.Incomplete,
			Total: m.RequestTotals.Total, Successful: m.RequestTotals.Successful, HasTotal: true, HasSuccessful: true}
		if gb.Start != nil && gb.End != nil && *gb.End > *gb.Start {
			c.Span = crosscheck.Span{Start: epoch(gb.Start), End: epoch(gb.End)}
			if d := m.RequestsPerSecond.Successful; d != nil && d.Mean != nil && *d.Mean > 0 {
				c.Rate, c.RateStart, c.RateSpan = *d.Mean, c.Span.Start, c.Span.End.Sub(c.Span.Start)
			}
		}
		if d := m.TTFT.Successful; d != nil && d.Count > 0 {
			if p50, ok := d.Percentiles["p50"]; ok && p50 > 0 {
				c.TTFTP50 = time.Duration(p50 * float64(time.Millisecond))
			}
		}
		out[i] = c
	}
	return out, nil
}
