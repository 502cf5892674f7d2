// Package contract is servebench's metric contract: the name, help, type,
// unit, label set and buckets of every series servebench publishes, and the
// closed sets of values its bounded labels may take.
//
// It is a leaf package: it imports nothing from servebench. The recorder, the
// collectors, the metering proxy, the dashboards, the alert rules and
// docs/metrics.md are all built from these definitions, so renaming a series
// here breaks the build rather than a panel. Everything in it is immutable
// after package initialisation and safe for concurrent use.
package contract

// Namespace prefixes every servebench series.
const Namespace = "servebench"

// Type is a Prometheus metric type.
type Type string

// Metric types.
const (
	Counter   Type = "counter"
	Gauge     Type = "gauge"
	Histogram Type = "histogram"
	// SummaryType is a summary: one series per quantile label value plus
	// _sum and _count. (Summary names the list of benchmark summary series.)
	SummaryType Type = "summary"
)

// Metric describes one series family.
type Metric struct {
	Name    string    // full name, namespace included
	Help    string    // one sentence, as exposed in # HELP
	Type    Type      // counter, gauge, histogram or summary
	Unit    string    // base unit ("seconds", "bytes", "tokens", "requests", ...) or "" for ratios and info
	Labels  []string  // label names, in exposition order; without a histogram's le or a summary's quantile
	Buckets []float64 // histogram upper bounds (classic le), ascending; nil otherwise
}

// Benchmark labels: every per-request series carries these, all bounded.
const (
	LabelSuite    = "suite"    // suite name, "bench" for runner bench
	LabelModel    = "model"    // served model name
	LabelWorkload = "workload" // workload name or "custom"
	LabelCores    = "cores"    // cores given to the engine, "" when unknown
	LabelLoadgen  = "loadgen"  // native, guidellm, vllm-bench, proxy
	LabelLevel    = "level"    // the load level, e.g. "concurrent-16" or "constant-4"
	LabelOutcome  = "outcome"  // one of Outcomes
	LabelKind     = "kind"     // one of ErrorKinds
	LabelUnit     = "unit"     // one of TargetUnits
)

// BenchmarkLabels is the label set shared by every per-request series.
var BenchmarkLabels = []string{LabelSuite, LabelModel, LabelWorkload, LabelCores, LabelLoadgen, LabelLevel}

// Outcome is how a request ended.
type Outcome string

// Outcomes: every request ends as exactly one of these.
const (
	OutcomeSuccess    Outcome = "success"
	OutcomeError      Outcome = "error"
	OutcomeIncomplete Outcome = "incomplete" // cut by the end of the measurement window
)

// Outcomes lists the values of the outcome label.
var Outcomes = []Outcome{OutcomeSuccess, OutcomeError, OutcomeIncomplete}

// TargetUnit is what a requested load counts: an open-loop profile asks for
// requests per second, a closed-loop one for concurrent streams.
type TargetUnit string

// Target units.
const (
	TargetRequestsPerSecond TargetUnit = "requests_per_second"
	TargetStreams           TargetUnit = "streams"
)

// TargetUnits lists the values of the unit label.
var TargetUnits = []TargetUnit{TargetRequestsPerSecond, TargetStreams}

// ErrorKind classifies a failed request. The set is closed: a failure that
// fits nothing else is ErrOther, never free text.
type ErrorKind string

// Error kinds.
const (
	ErrNone           ErrorKind = ""
	ErrConnect        ErrorKind = "connect"         // before the request was sent: DNS, dial (refused), TLS, writing the request
	ErrTimeout        ErrorKind = "timeout"         // the request timeout passed
	ErrRateLimited    ErrorKind = "rate_limited"    // the server answered 429 Too Many Requests (or a 429 error event)
	ErrHTTP4xx        ErrorKind = "http_4xx"        // the server answered 4xx other than 429
	ErrHTTP5xx        ErrorKind = "http_5xx"        // the server answered 5xx
	ErrStreamBroken   ErrorKind = "stream_broken"   // after the request was sent: a reset or EOF before the answer ended ([DONE]), a response that is not HTTP
	ErrMalformedChunk ErrorKind = "malformed_chunk" // an SSE event that is not valid JSON of the expected shape
	ErrEarlyEOS       ErrorKind = "early_eos"       // fewer output tokens than demanded with ignore_eos
	ErrStalled        ErrorKind = "stalled"         // a stream received nothing for the stream idle timeout after its first token
	ErrCanceled       ErrorKind = "canceled"        // canceled by the client (interrupt) before an answer
	ErrOther          ErrorKind = "other"
)

// ErrorKinds lists the values of the kind label (ErrNone excluded).
var ErrorKinds = []ErrorKind{ErrConnect, ErrTimeout, ErrRateLimited, ErrHTTP4xx, ErrHTTP5xx, ErrStreamBroken,
	ErrMalformedChunk, ErrEarlyEOS, ErrStalled, ErrCanceled, ErrOther}

// LatencyBuckets are the upper bounds, in seconds, of every request latency
// histogram: 1 ms to 1000 s, ten bounds per decade on the 1-1.5-2-2.5-3-4-5-6-7-8
// mantissas, so 50 ms and 60 ms fall in different buckets and CPU TTFTs of
// minutes still have resolution. SLO thresholds (0.1, 0.2, 0.5, 1, 2, 5 s...)
// sit on bounds.
var LatencyBuckets = decadeBuckets(1e-3, 1e3)

// LatenessBuckets are the upper bounds, in seconds, of the send lateness
// histogram: 10 µs to 100 s on the same mantissas, because the validity
// threshold (p99 lateness, default 1 ms) must be resolvable.
var LatenessBuckets = decadeBuckets(1e-5, 1e2)

var mantissas = []float64{1, 1.5, 2, 2.5, 3, 4, 5, 6, 7, 8}

// decadeBuckets returns mantissa*10^k bounds from lo up to and including hi.
func decadeBuckets(lo, hi float64) []float64 {
	var out []float64
	for d := lo; d <= hi*1.0000001; d *= 10 {
		for _, m := range mantissas {
			v := roundSig(m * d)
			if v > hi*1.0000001 {
				break
			}
			out = append(out, v)
		}
	}
	return out
}

// roundSig removes floating point noise (0.0015000000000000002 -> 0.0015).
func roundSig(v float64) float64 {
	scale := 1.0
	for v*scale < 1e6 {
		scale *= 10
	}
	return float64(int64(v*scale+0.5)) / scale
}

// Core per-request series. Their names are relied on by dashboards, alert
// rules and external checks: do not rename them.
var (
	RequestTTFT = Metric{Name: "servebench_request_ttft_seconds", Type: Histogram, Unit: "seconds", Labels: BenchmarkLabels, Buckets: LatencyBuckets,
		Help: "Time to first token, from the request's scheduled send to the first chunk carrying content, reasoning or a tool call; observed when that chunk arrives."}
	RequestITL = Metric{Name: "servebench_request_itl_seconds", Type: Histogram, Unit: "seconds", Labels: BenchmarkLabels, Buckets: LatencyBuckets,
		Help: "Inter-token latency: one sample per gap between consecutive token-carrying chunks."}
	RequestTPOT = Metric{Name: "servebench_request_tpot_seconds", Type: Histogram, Unit: "seconds", Labels: BenchmarkLabels, Buckets: LatencyBuckets,
		Help: "Time per output token, one sample per request: (e2e - ttft) / (output tokens - 1)."}
	RequestE2E = Metric{Name: "servebench_request_e2e_seconds", Type: Histogram, Unit: "seconds", Labels: BenchmarkLabels, Buckets: LatencyBuckets,
		Help: "End-to-end request latency, from the scheduled send to the last byte."}
	SendLateness = Metric{Name: "servebench_send_lateness_seconds", Type: Histogram, Unit: "seconds", Labels: BenchmarkLabels, Buckets: LatenessBuckets,
		Help: "Actual send time minus scheduled send time of each request."}
	Requests = Metric{Name: "servebench_requests_total", Type: Counter, Unit: "requests", Labels: append(clone(BenchmarkLabels), LabelOutcome),
		Help: "Requests finished, by outcome."}
	RequestErrors = Metric{Name: "servebench_request_errors_total", Type: Counter, Unit: "requests", Labels: append(clone(BenchmarkLabels), LabelKind),
		Help: "Failed requests, by error kind."}
	OutputTokens = Metric{Name: "servebench_output_tokens_total", Type: Counter, Unit: "tokens", Labels: BenchmarkLabels,
		Help: "Output tokens received, incomplete requests included."}
	PromptTokens = Metric{Name: "servebench_prompt_tokens_total", Type: Counter, Unit: "tokens", Labels: BenchmarkLabels,
		Help: "Prompt tokens of the requests sent."}
	RequestsInFlight = Metric{Name: "servebench_requests_in_flight", Type: Gauge, Unit: "requests", Labels: BenchmarkLabels,
		Help: "Requests sent and not yet finished."}
	RequestsAwaitingFirstToken = Metric{Name: "servebench_requests_awaiting_first_token", Type: Gauge, Unit: "requests", Labels: BenchmarkLabels,
		Help: "Requests sent whose first token has not arrived yet: queued or in prefill at the server."}
	TargetRate = Metric{Name: "servebench_target_rate", Type: Gauge, Unit: "", Labels: append(clone(BenchmarkLabels), LabelUnit),
		Help: "Requested load, in the unit its label names: requests_per_second for open-loop profiles, streams (concurrent) for closed-loop ones."}
	RunInfo = Metric{Name: "servebench_run_info", Type: Gauge, Unit: "", Labels: []string{"run_id", "suite", "model", "engine", "image", "cpuset", "loadgen"},
		Help: "1 while a run is active, labelled with its provenance."}
)

func clone(s []string) []string { return append([]string(nil), s...) }

// Core lists the core per-request series in documentation order.
func Core() []Metric {
	return []Metric{RequestTTFT, RequestITL, RequestTPOT, RequestE2E, SendLateness, Requests, RequestErrors,
		OutputTokens, PromptTokens, RequestsInFlight, RequestsAwaitingFirstToken, TargetRate, RunInfo}
}

// Benchmark summary series: when a benchmark finishes, its headline figures
// are exposed once, with the finish time as the sample timestamp, labelled
// by run and configuration (SummaryLabels): every run of every
// configuration is its own series with one sample, about thirty series per
// finished benchmark. Boards and rules read them with last_over_time over
// a range and aggregate across runs (quantile by configuration for a
// baseline median, count for the number of runs), so neither staleness
// markers stored at a sample's own timestamp (VictoriaMetrics does so when
// a series leaves a scrape) nor duplicates of a sample scraped twice change
// a figure. BenchmarkFinished says which run of a configuration is the
// latest; BenchmarkInfo ties a finished benchmark to its run.
//
// The latency series are summaries: each quantile (SummaryQuantiles) is one
// series, and _count and _sum carry the distribution's sample count and
// total, so _sum / _count is its mean and runs can be weighted by their
// samples. A figure that does not exist (an empty distribution, a rate with
// no completion) has no series.
var (
	SummaryLabels = append([]string{LabelRunID}, BenchmarkLabels...)
	// SummaryQuantileLabels are the labels of a latency summary's quantile
	// series: its Labels plus the implicit quantile label.
	SummaryQuantileLabels = append(clone(SummaryLabels), LabelQuantile)

	BenchmarkInfo = Metric{Name: "servebench_benchmark_info", Type: Gauge, Labels: SummaryLabels,
		Help: "1 for each finished benchmark, at its finish time, tying its configuration to its run."}
	BenchmarkFinished = Metric{Name: "servebench_benchmark_finished_timestamp_seconds", Type: Gauge, Unit: "seconds", Labels: SummaryLabels,
		Help: "Finish time of a finished benchmark, Unix seconds: the latest run of a configuration has the largest."}
	BenchmarkTargetRate = Metric{Name: "servebench_benchmark_target_rate", Type: Gauge, Labels: append(clone(SummaryLabels), LabelUnit),
		Help: "Requested load of a finished benchmark, in the unit its label names (requests_per_second or streams; no label when the profile is unknown)."}
	BenchmarkAchievedRate = Metric{Name: "servebench_benchmark_achieved_rate", Type: Gauge, Unit: "requests per second", Labels: SummaryLabels,
		Help: "Achieved send rate of a finished benchmark."}
	BenchmarkRequestRate = Metric{Name: "servebench_benchmark_requests_per_second", Type: Gauge, Unit: "requests per second", Labels: SummaryLabels,
		Help: "Successful requests per second of a finished benchmark."}
	BenchmarkOutputTokenRate = Metric{Name: "servebench_benchmark_output_tokens_per_second", Type: Gauge, Unit: "tokens per second", Labels: SummaryLabels,
		Help: "Output tokens per second of a finished benchmark."}
	BenchmarkTotalTokenRate = Metric{Name: "servebench_benchmark_total_tokens_per_second", Type: Gauge, Unit: "tokens per second", Labels: SummaryLabels,
		Help: "Prompt plus output tokens per second of a finished benchmark."}
	BenchmarkOutputTokenRatePerCore = Metric{Name: "servebench_benchmark_output_tokens_per_second_per_core", Type: Gauge, Unit: "tokens per second", Labels: SummaryLabels,
		Help: "Output tokens per second per engine core of a finished benchmark (absent when cores is unknown)."}
	BenchmarkTTFT = Metric{Name: "servebench_benchmark_ttft_seconds", Type: SummaryType, Unit: "seconds", Labels: SummaryLabels,
		Help: "TTFT of a finished benchmark: quantiles 0.5, 0.95, 0.99, sample count and sum."}
	BenchmarkITL = Metric{Name: "servebench_benchmark_itl_seconds", Type: SummaryType, Unit: "seconds", Labels: SummaryLabels,
		Help: "Inter-token latency (one sample per gap) of a finished benchmark: quantiles 0.5, 0.95, 0.99, sample count and sum."}
	BenchmarkTPOT = Metric{Name: "servebench_benchmark_tpot_seconds", Type: SummaryType, Unit: "seconds", Labels: SummaryLabels,
		Help: "TPOT of a finished benchmark: quantiles 0.5, 0.95, 0.99, sample count and sum."}
	BenchmarkE2E = Metric{Name: "servebench_benchmark_e2e_seconds", Type: SummaryType, Unit: "seconds", Labels: SummaryLabels,
		Help: "End-to-end latency of a finished benchmark: quantiles 0.5, 0.95, 0.99, sample count and sum."}
	BenchmarkSuccessRatio = Metric{Name: "servebench_benchmark_success_ratio", Type: Gauge, Labels: SummaryLabels,
		Help: "Successful requests over all requests of a finished benchmark."}
	BenchmarkValid = Metric{Name: "servebench_benchmark_valid", Type: Gauge, Labels: SummaryLabels,
		Help: "1 when a finished benchmark was valid, 0 when flagged (client-bound, too few samples, too many errors)."}
	BenchmarkDuration = Metric{Name: "servebench_benchmark_duration_seconds", Type: Gauge, Unit: "seconds", Labels: SummaryLabels,
		Help: "Measured duration of a finished benchmark."}
)

// Run completion series: when a run ends, whatever its end, its start and
// finish times are exposed once, stamped with the finish time, so that a
// notification (the ServebenchRunFinished alert) can say it finished and
// link to its benchmarks.
const LabelStatus = "status" // one of RunStatuses

// RunStatus is how a run ended, as run.json records it.
type RunStatus string

// Run statuses.
const (
	RunComplete   RunStatus = "complete"   // every cell ran
	RunIncomplete RunStatus = "incomplete" // interrupted; runner start --resume continues it
	RunFailed     RunStatus = "failed"     // ended by an error
)

// RunStatuses lists the values of the status label.
var RunStatuses = []RunStatus{RunComplete, RunIncomplete, RunFailed}

var (
	RunLabels = []string{LabelRunID, LabelSuite, LabelModel, LabelStatus}

	RunStarted = Metric{Name: "servebench_run_started_timestamp_seconds", Type: Gauge, Unit: "seconds", Labels: RunLabels,
		Help: "Start time of a finished run, Unix seconds, published at its end (model lists the run's models, comma-separated)."}
	RunFinished = Metric{Name: "servebench_run_finished_timestamp_seconds", Type: Gauge, Unit: "seconds", Labels: RunLabels,
		Help: "Finish time of a finished run, Unix seconds, published at its end with its status."}
)

// RunCompletion lists the run completion series in documentation order.
func RunCompletion() []Metric { return []Metric{RunStarted, RunFinished} }

// LabelQuantile is the label a summary's quantile series carry.
const LabelQuantile = "quantile"

// SummaryQuantiles are the quantile label values of the latency summaries,
// formatted as Prometheus formats them.
var SummaryQuantiles = []string{"0.5", "0.95", "0.99"}

// Summary lists the benchmark summary series in documentation order.
func Summary() []Metric {
	return []Metric{BenchmarkInfo, BenchmarkFinished, BenchmarkTargetRate, BenchmarkAchievedRate, BenchmarkRequestRate, BenchmarkOutputTokenRate,
		BenchmarkTotalTokenRate, BenchmarkOutputTokenRatePerCore, BenchmarkTTFT, BenchmarkITL, BenchmarkTPOT, BenchmarkE2E,
		BenchmarkSuccessRatio, BenchmarkValid, BenchmarkDuration}
}
