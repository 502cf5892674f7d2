package vllmbench

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"time"

	"github.com/servebench/servebench/runner/results"
	"github.com/servebench/servebench/runner/thirdparty/crosscheck"
	"github.com/servebench/servebench/runner/thirdparty/pyjson"
)

// Result is one `vllm bench serve --save-result` object, with the keys whose
// types need care spelled out: RequestRate is a number or "inf", several
// fields may be null or absent (older versions, pooling runs).
type Result struct {
	Date               string      `json:"date"`
	Backend            string      `json:"backend"`
	EndpointType       string      `json:"endpoint_type"`
	Label              *string     `json:"label"`
	ModelID            string      `json:"model_id"`
	NumPrompts         *int        `json:"num_prompts"`
	RequestRate        Rate        `json:"request_rate"`
	Burstiness         *float64    `json:"burstiness"`
	MaxConcurrency     *int        `json:"max_concurrency"`
	Duration           *float64    `json:"duration"`
	Completed          *int        `json:"completed"`
	Failed             *int        `json:"failed"` // absent for pooling runs and before late 2025
	TotalInputTokens   *int        `json:"total_input_tokens"`
	TotalOutputTokens  *int        `json:"total_output_tokens"`
	RequestThroughput  *float64    `json:"request_throughput"`
	RequestsPerSecond  *float64    `json:"requests_per_second"` // the very old script's name
	RequestGoodput     *float64    `json:"request_goodput"`
	OutputThroughput   *float64    `json:"output_throughput"`
	TotalTokenThroughp *float64    `json:"total_token_throughput"`
	Latencies          []float64   `json:"latencies"` // s, one per request incl. failed
	TTFTs              []float64   `json:"ttfts"`     // s, --save-detailed
	ITLs               [][]float64 `json:"itls"`      // s, --save-detailed
	Errors             []string    `json:"errors"`    // "" = ok, --save-detailed and pooling

	// Stats holds mean/median/std/pNN for each metric in --percentile-metrics,
	// in milliseconds: Stats["ttft"]["p99"].
	Stats map[string]map[string]float64 `json:"-"`
}

// Rate is request_rate: a number of requests per second, or +Inf for "inf".
type Rate float64

// UnmarshalJSON accepts a number or the strings "inf"/"Infinity".
func (r *Rate) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*r = Rate(math.Inf(1)) // Infinity cleaned to null: the only unbounded rate
		return nil
	}
	var s string
	if json.Unmarshal(b, &s) == nil {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("request_rate %q: %w", s, err)
		}
		*r = Rate(f)
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("request_rate %s: want a number or \"inf\"", b)
	}
	*r = Rate(f)
	return nil
}

var statKey = regexp.MustCompile(`^(mean|median|std|p[0-9]+(?:\.[0-9]+)?)_([a-z0-9_]+)_ms$`)

// ReadResults reads every result object in r: one JSON object, or several
// (JSON Lines from --append-result, or concatenated objects).
func ReadResults(r io.Reader) ([]Result, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("vllm bench result: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(pyjson.Clean(b)))
	var out []Result
	for n := 1; ; n++ {
		var body json.RawMessage
		if err := dec.Decode(&body); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("vllm bench result: object %d: %w", n, err)
		}
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(body, &raw); err != nil {
			return nil, fmt.Errorf("vllm bench result: object %d: %w", n, err)
		}
		var res Result
		if err := json.Unmarshal(body, &res); err != nil {
			return nil, fmt.Errorf("vllm bench result: object %d: %w", n, err)
		}
		if raw["completed"] == nil || raw["duration"] == nil {
			return nil, fmt.Errorf("vllm bench result: object %d: no completed or duration key; not a --save-result file", n)
		}
		res.Stats = map[string]map[string]float64{}
		for k, v := range raw {
			m := statKey.FindStringSubmatch(k)
			if m == nil {
				continue
			}
			var f *float64
			if err := json.Unmarshal(v, &f); err != nil {
				return nil, fmt.Errorf("vllm bench result: object %d: %s: %w", n, k, err)
			}
			if f == nil {
				continue // NaN (no samples) or null: absent, not zero
			}
			if res.Stats[m[2]] == nil {
				res.Stats[m[2]] = map[string]float64{}
			}
			res.Stats[m[2]][m[1]] = *f
		}
		out = append(out, res)
	}
	if len(out) == 0 {
		return nil, errors.New("vllm bench result: empty file")
	}
	return out, nil
}

// Parse reads a --save-result file (JSON or JSON Lines) into a servebench
// summary, one Benchmark per result object.
func Parse(r io.Reader) (*results.Summary, error) {
	rs, err := ReadResults(r)
	if err != nil {
		return nil, err
	}
	s := &results.Summary{SchemaVersion: results.SchemaVersion, Loadgen: "vllm-bench", Model: rs[0].ModelID}
	for _, res := range rs {
		s.Benchmarks = append(s.Benchmarks, res.Benchmark())
	}
	return s, nil
}

// Benchmark converts one result. The rate and max concurrency decide the
// profile: an unbounded rate with a concurrency cap is a closed loop of that
// many streams ("concurrent-16"), without one it is "throughput"; a finite
// rate is Poisson for burstiness 1, gamma otherwise.
func (res Result) Benchmark() results.Benchmark {
	rate := float64(res.RequestRate)
	b := results.Benchmark{Valid: true, InvalidReasons: []string{}, TokenSource: "usage"}
	switch {
	case math.IsInf(rate, 1) && res.MaxConcurrency != nil:
		b.Profile, b.TargetRate = "concurrent", float64(*res.MaxConcurrency)
		b.Level = "concurrent-" + strconv.Itoa(*res.MaxConcurrency)
	case math.IsInf(rate, 1):
		b.Profile, b.Level = "throughput", "throughput"
	default:
		b.Profile = "poisson"
		if res.Burstiness != nil && *res.Burstiness != 1 {
			b.Profile = "gamma"
		}
		b.TargetRate = rate
		b.Level = b.Profile + "-" + strconv.FormatFloat(rate, 'f', -1, 64)
		if res.MaxConcurrency != nil {
			b.Level += "-max" + strconv.Itoa(*res.MaxConcurrency)
		}
	}
	b.DurationSeconds = deref(res.Duration)
	b.Requests.Successful = derefInt(res.Completed)
	switch {
	case res.Failed != nil:
		b.Requests.Failed = *res.Failed
	case res.Errors != nil: // pooling runs do not save "failed"
		for _, e := range res.Errors {
			if e != "" {
				b.Requests.Failed++
			}
		}
	}
	// A rate the file lacks, or a rate of nothing (vLLM writes 0 when no
	// request completed), is absent: servebench's rule for its own rates.
	b.RequestsPerSecond = throughput(res.RequestThroughput)
	if res.RequestThroughput == nil {
		b.RequestsPerSecond = throughput(res.RequestsPerSecond)
	}
	b.AchievedRate = b.RequestsPerSecond
	b.OutputTokensPerSecond = throughput(res.OutputThroughput)
	b.TotalTokensPerSecond = throughput(res.TotalTokenThroughp)

	n := b.Requests.Successful
	if n > 0 {
		// With no successful request vLLM writes zeros for the empty
		// distributions; they stay empty here.
		b.TTFT = res.dist("ttft", n)
		b.TPOT = res.dist("tpot", n)
		b.ITL = res.dist("itl", 0)
		b.E2E = res.dist("e2el", n)
	}
	if total := b.Requests.Successful + b.Requests.Failed; total > 0 {
		b.SuccessRatio = results.Of(float64(b.Requests.Successful) / float64(total))
	}
	// The per-request lists give what the saved statistics lack: the
	// end-to-end latency (latencies is saved without --percentile-metrics
	// e2el), the maxima, percentiles not asked for. A figure the file
	// states is kept as stated.
	if n > 0 {
		if xs, ok := res.okSamples(singletons(res.Latencies)); ok {
			b.E2E = fill(b.E2E, xs)
		}
		if xs, ok := res.okSamples(singletons(res.TTFTs)); ok {
			b.TTFT = fill(b.TTFT, xs)
		}
		if xs, ok := res.okSamples(res.ITLs); ok {
			b.ITL = fill(b.ITL, xs)
		}
	}
	if n == 0 {
		b.Valid = false
		b.InvalidReasons = append(b.InvalidReasons, "no successful requests")
	}
	return b
}

// dist maps the saved statistics of one metric; count is what the caller
// knows of the sample size (0 = unknown). The p90/p95/p99.9 keys exist only
// when --metric-percentiles asked for them: a key the file lacks is absent.
// vLLM interpolates linearly, as servebench does.
func (res Result) dist(metric string, count int) results.Dist {
	st := res.Stats[metric]
	if st == nil {
		return results.Dist{}
	}
	get := func(k string) results.Figure {
		v, ok := st[k]
		return results.OfIf(v, ok)
	}
	d := results.Dist{Mean: get("mean"), P50: get("median"), P90: get("p90"), P95: get("p95"), P99: get("p99"), P999: get("p99.9"), Count: count}
	if v, ok := st["p50"]; ok {
		d.P50 = results.Of(v)
	}
	return d
}

// throughput is a rate the file gives: absent when it lacks it or it is 0.
func throughput(p *float64) results.Figure {
	if p == nil || *p == 0 {
		return results.Figure{}
	}
	return results.Of(*p)
}

// ok says whether request i succeeded, from the detailed error list.
func (res Result) ok(i int) bool {
	return i >= len(res.Errors) || res.Errors[i] == ""
}

// okSamples pools, in ms, the samples of the successful requests from a
// per-request list (lists[i] belongs to request i, in dispatch order). It
// tells them apart by the detailed error list, else by the counts: with no
// failed request every entry counts; with some, vLLM leaves a failed
// request's latency at 0, so exactly that many empty entries are dropped.
// ok is false when the list is missing, does not have one entry per
// request, or which requests failed cannot be told.
func (res Result) okSamples(lists [][]float64) ([]float64, bool) {
	failed := derefInt(res.Failed)
	if len(lists) == 0 || len(lists) != derefInt(res.Completed)+failed {
		return nil, false
	}
	keep := func(i int) bool { return true }
	switch {
	case len(res.Errors) == len(lists):
		keep = res.ok
	case failed == 0:
	default:
		zero := 0
		for _, l := range lists {
			if len(l) == 1 && l[0] == 0 {
				zero++
			}
		}
		if zero != failed {
			return nil, false
		}
		keep = func(i int) bool { return !(len(lists[i]) == 1 && lists[i][0] == 0) }
	}
	var out []float64
	for i, l := range lists {
		if keep(i) {
			for _, v := range l {
				out = append(out, v*1000)
			}
		}
	}
	return out, len(out) > 0
}

// fill completes a distribution the file states with what the samples
// give: a figure the file lacks is taken from them (servebench's rules:
// linear interpolation, as numpy's and so vLLM's; a tail percentile needs
// enough samples), the count is theirs.
func fill(d results.Dist, samples []float64) results.Dist {
	c := results.NewDist(samples)
	or := func(f *results.Figure, g results.Figure) {
		if !f.Present() {
			*f = g
		}
	}
	or(&d.Mean, c.Mean)
	or(&d.P50, c.P50)
	or(&d.P90, c.P90)
	or(&d.P95, c.P95)
	or(&d.P99, c.P99)
	or(&d.P999, c.P999)
	or(&d.Max, c.Max)
	d.Count = c.Count
	return d
}

func singletons(xs []float64) [][]float64 {
	out := make([][]float64, len(xs))
	for i := range xs {
		out[i] = xs[i : i+1]
	}
	return out
}

func deref(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}

func derefInt(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

// Claim is what the result says about its requests, for checking against
// the metering proxy's records of the same traffic (runner/thirdparty/
// crosscheck): every request of the run (vllm bench serve has no warmup in
// its figures), the completed ones, request_throughput over the run's
// duration and the median TTFT.
func (res Result) Claim() crosscheck.Claim {
	c := crosscheck.Claim{Tool: "vllm-bench"}
	if res.Completed != nil {
		c.Successful, c.HasSuccessful = *res.Completed, true
		failed, known := 0, false
		switch {
		case res.Failed != nil:
			failed, known = *res.Failed, true
		case res.Errors != nil:
			for _, e := range res.Errors {
				if e != "" {
					failed++
				}
			}
			known = true
		}
		if known {
			c.Total, c.HasTotal = c.Successful+failed, true
		}
	}
	rate := res.RequestThroughput
	if rate == nil {
		rate = res.RequestsPerSecond
	}
	if rate != nil && *rate > 0 && res.Duration != nil && *res.Duration > 0 {
		c.Rate, c.RateSpan = *rate, time.Duration(*res.Duration*float64(time.Second))
	}
	if p50, ok := res.Stats["ttft"]["median"]; ok && p50 > 0 {
		c.TTFTP50 = time.Duration(p50 * float64(time.Millisecond))
	}
	return c
}
