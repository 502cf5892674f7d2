// Package results is the on-disk schema of servebench results: summary.json,
// requests.jsonl and manifest.json, as laid out in docs/results.md. Writers
// (runner bench, runner start, runner import) and readers (results, compare,
// report) share these types; change them only with SchemaVersion.
//
// It also turns requests into figures: an Aggregator takes a benchmark's
// measure.Results (Add) and computes its Benchmark — distributions, window
// throughput and validity — at Close. An Aggregator is used by one goroutine;
// the writers and readers are plain functions of an io.Writer or io.Reader.
package results

import (
	"encoding/json"
	"time"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/runner/saturation"
)

// SchemaVersion is the version of summary.json written by this build.
// Version 2 writes absent figures as null; version 1 wrote them as 0 (an
// empty distribution had count 0), and still reads: see Dist.
const SchemaVersion = 2

// OldestSchemaVersion is the oldest summary.json this build reads.
const OldestSchemaVersion = 1

// Summary is the content of summary.json: one entry per benchmark (load level).
type Summary struct {
	SchemaVersion int    `json:"schema_version"`
	RunID         string `json:"run_id,omitempty"`
	Suite         string `json:"suite,omitempty"`
	Cell          string `json:"cell,omitempty"`
	Model         string `json:"model,omitempty"`
	Workload      string `json:"workload,omitempty"`
	Cores         int    `json:"cores,omitempty"`
	Loadgen       string `json:"loadgen"` // native, guidellm, vllm-bench, proxy
	Target        string `json:"target,omitempty"`
	Source        string `json:"source,omitempty"` // for imports: the original file
	API           string `json:"api,omitempty"`    // chat, completions or embeddings
	Seed          uint64 `json:"seed,omitempty"`
	// PromptCalibration is how synthetic prompts were sized: "tokenize"
	// (exact, through the server's /tokenize), "estimate" (no tokenizer
	// endpoint: lengths are approximate) or "" for prompts from a file.
	PromptCalibration string      `json:"prompt_calibration,omitempty"`
	Benchmarks        []Benchmark `json:"benchmarks"`
	// Saturation is what a sweep found about the server's maximum rate.
	Saturation *Saturation `json:"saturation,omitempty"`
	// RepeatOf and Repetition mark one of several runs of the same cell
	// (runner start --repeat): the cell's ID without the "_rN" suffix, and N.
	RepeatOf   string `json:"repeat_of,omitempty"`
	Repetition int    `json:"repetition,omitempty"`
}

// UnmarshalJSON reads a summary. One of schema version 1, which wrote 0
// for a figure with nothing to measure, is read as version 2 would have
// written it: a rate of 0 (no event inside the window) and the success
// ratio of a level without a request are absent.
func (s *Summary) UnmarshalJSON(b []byte) error {
	type plain Summary
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*s = Summary(p)
	if s.SchemaVersion == 1 {
		for i := range s.Benchmarks {
			s.Benchmarks[i].upgradeV1()
		}
	}
	return nil
}

func (b *Benchmark) upgradeV1() {
	for _, f := range []*Figure{&b.RequestsPerSecond, &b.OutputTokensPerSecond, &b.TotalTokensPerSecond} {
		if v, ok := f.Get(); ok && v == 0 {
			*f = Figure{}
		}
	}
	if b.DurationSeconds == 0 {
		b.AchievedRate = Figure{}
	}
	if b.Requests == (Requests{}) {
		b.SuccessRatio = Figure{}
	}
}

// Saturation records where a sweep found the server saturated.
type Saturation struct {
	Rate   float64 `json:"rate"`   // highest rate the server sustains, req/s
	Reason string  `json:"reason"` // how the sweep found it
	// MaxRate is the request rate the sweep's throughput level measured
	// (req/s) and MaxRateFrom how: from the output tokens inside its
	// window or from the requests completed inside it.
	MaxRate     float64 `json:"max_rate,omitempty"`
	MaxRateFrom string  `json:"max_rate_from,omitempty"`
	// OverSaturatedAt is the target rate (req/s) of the swept level the
	// over-saturation detector found the server could not keep up with,
	// which ended the sweep; Evidence is that level's evidence.
	OverSaturatedAt float64              `json:"over_saturated_at,omitempty"`
	Evidence        *saturation.Evidence `json:"evidence,omitempty"`
}

// Benchmark is one load level's figures. Latency distributions are in
// milliseconds; TTFT and E2E are measured from the scheduled send. A figure
// that does not exist is absent (null), never 0 (see Figure).
type Benchmark struct {
	Profile         string   `json:"profile"`     // synchronous, concurrent, throughput, constant, poisson, gamma, ramp, replay
	Level           string   `json:"level"`       // label value, e.g. "concurrent-16"
	TargetRate      float64  `json:"target_rate"` // req/s (open loop) or streams (closed loop); 0 = unlimited
	AchievedRate    Figure   `json:"achieved_rate"`
	DurationSeconds float64  `json:"duration_seconds"`
	Requests        Requests `json:"requests"`

	TTFT         Dist `json:"ttft_ms"`
	ITL          Dist `json:"itl_ms"` // per inter-chunk gap
	TPOT         Dist `json:"tpot_ms"`
	E2E          Dist `json:"e2e_ms"`
	SendLateness Dist `json:"send_lateness_ms"`

	RequestsPerSecond     Figure `json:"requests_per_second"`
	OutputTokensPerSecond Figure `json:"output_tokens_per_second"`
	TotalTokensPerSecond  Figure `json:"total_tokens_per_second"`

	Valid          bool     `json:"valid"`
	InvalidReasons []string `json:"invalid_reasons"`

	// Beyond the core: the other ITL conventions, TTFT from the actual
	// send, failures by kind and how tokens were counted.
	TTFTFromSend    Dist                       `json:"ttft_from_send_ms"`
	ITLPerToken     Dist                       `json:"itl_per_token_ms"`    // each gap divided by the tokens in its chunk
	ITLRequestMean  Dist                       `json:"itl_request_mean_ms"` // one sample per request: GuideLLM's convention
	Errors          map[contract.ErrorKind]int `json:"errors,omitempty"`
	TokenSource     string                     `json:"token_source,omitempty"` // usage, chunks or mixed
	TokenMismatches int                        `json:"token_mismatches,omitempty"`
	// OutputOverrun counts measured requests that returned more output
	// tokens than they asked for (a server ignoring max_tokens); any makes
	// the level invalid.
	OutputOverrun int `json:"output_overrun,omitempty"`
	// ChunkClock says what timed the chunks: "kernel" (the kernel's
	// receive timestamps: when the bytes reached the host), "read" (the
	// client's clock when it read them) or "mixed".
	ChunkClock string `json:"chunk_clock,omitempty"`

	// FirstTokenShare is the share of the streams in the window (requests
	// that did not fail, in flight at some time inside it) that had their
	// first token by its end. Well below 1, the window measured mostly a
	// prefill queue (a window shorter than the time to first token at this
	// load), and its token rate is not a sustained one.
	FirstTokenShare Figure `json:"first_token_share,omitzero"`
	// ScheduledRate is what an open-loop profile asked for inside the
	// window (req/s); the achieved-rate validity rule compares with it.
	ScheduledRate Figure `json:"scheduled_rate,omitzero"`
	// SuccessRatio is successful over all measured requests; absent when
	// there was none.
	SuccessRatio Figure `json:"success_ratio"`
	// TTFTTrend is the median TTFT of the window's last third of requests
	// over its first third; well above 1 means a queue was building.
	TTFTTrend Figure `json:"ttft_trend,omitzero"`
	// The load generator's own CPU use over the benchmark (percent of one core).
	LoadgenCPUSeconds Figure `json:"loadgen_cpu_seconds,omitzero"`
	LoadgenCPUPercent Figure `json:"loadgen_cpu_percent,omitzero"`
	// StopReason says why sending stopped before the profile's end.
	StopReason string `json:"stop_reason,omitempty"`
	// Dropped counts open-loop sends skipped at the in-flight cap.
	Dropped int `json:"dropped,omitempty"`
	// Missed counts open-loop sends due before the end of sending that
	// never went out because the client was late; MissedLateness is how
	// late they were when given up (nothing is sent after the window).
	Missed         int  `json:"missed,omitempty"`
	MissedLateness Dist `json:"missed_lateness_ms,omitzero"`
	// Notes are caveats that do not invalidate the benchmark, such as
	// percentiles withheld for too few samples.
	Notes []string `json:"notes,omitempty"`
	// OverSaturation is the over-saturation detector's verdict on an
	// open-loop level of constant offered rate, with its evidence.
	OverSaturation *saturation.Evidence `json:"over_saturation,omitempty"`

	// Audio holds a speech-to-text level's figures (API transcriptions).
	Audio *AudioFigures `json:"audio,omitempty"`
	// Offline holds an offline batch's figures (vllm bench throughput).
	Offline *OfflineFigures `json:"offline,omitempty"`

	// Source says whose measurement the figures are, for a level a
	// third-party tool drove: the tool's report (its name) or "proxy",
	// the metering proxy's records, with SourceReason saying why (the
	// tool was stopped at the level's budget, sent after the window, is
	// measured by the proxy by design). Empty for the native load
	// generator, which measures itself.
	Source       string `json:"source,omitempty"`
	SourceReason string `json:"source_reason,omitempty"`
	// CrossCheck is the tool's report checked against the proxy's records.
	CrossCheck *CrossCheck `json:"cross_check,omitempty"`
	// EndedAt is when the level's measurement ended, as an imported source
	// states it (GuideLLM's end_time): what dates the level when no
	// per-request record does. Absent when the source does not say.
	EndedAt *time.Time `json:"ended_at,omitempty"`
}

// OfflineFigures are what vllm bench throughput reports of one batch: its
// JSON (elapsed time, requests, total tokens and their rates) and its
// result lines (output tokens/s, prompt and output token totals; null when
// the tool printed none).
type OfflineFigures struct {
	ElapsedSeconds        float64  `json:"elapsed_seconds"`
	Requests              int      `json:"requests"`
	TotalTokens           *int     `json:"total_tokens"`
	PromptTokens          *int     `json:"prompt_tokens"`
	OutputTokens          *int     `json:"output_tokens"`
	RequestsPerSecond     float64  `json:"requests_per_second"`
	TokensPerSecond       float64  `json:"tokens_per_second"`
	OutputTokensPerSecond *float64 `json:"output_tokens_per_second"`
}

// AudioFigures are a transcription level's figures. A figure with no
// sample is null, never 0.
type AudioFigures struct {
	// RTF is the real-time factor of each successful measured request:
	// its end-to-end time (from the scheduled send) over its recording's
	// duration; below 1 is faster than real time.
	RTF Dist `json:"rtf"`
	// AudioSeconds is the audio of the recordings transcribed successfully
	// inside the window; AudioHoursPerHour is it over the window's length
	// (hours of audio per hour of wall clock), FilesPerHour the same count
	// of recordings.
	AudioSeconds      float64  `json:"audio_seconds"`
	AudioHoursPerHour *float64 `json:"audio_hours_per_hour"`
	FilesPerHour      *float64 `json:"files_per_hour"`
	// WER and CER are the word and character error rates of the scored
	// requests (successful measured requests whose recording has a
	// reference transcript): edits summed over reference words or
	// characters summed, as jiwer computes them over a corpus.
	WER    *float64 `json:"wer"`
	CER    *float64 `json:"cer"`
	Scored int      `json:"scored"`
	// The sums behind WER and CER, so that levels and cells add up.
	WordEdits int `json:"word_edits"`
	Words     int `json:"words"`
	CharEdits int `json:"char_edits"`
	Chars     int `json:"chars"`
}

// Requests counts requests by outcome.
type Requests struct {
	Successful int `json:"successful"`
	Failed     int `json:"failed"`
	Incomplete int `json:"incomplete"`
}

// Dist summarises a distribution. Percentiles use linear interpolation
// between closest ranks; Count is the number of samples. A distribution
// with no sample has every figure absent; a tail percentile its samples
// cannot support is absent while the others stay (see NewDist).
type Dist struct {
	Mean  Figure `json:"mean"`
	P50   Figure `json:"p50"`
	P90   Figure `json:"p90"`
	P95   Figure `json:"p95"`
	P99   Figure `json:"p99"`
	P999  Figure `json:"p999"`
	Max   Figure `json:"max"`
	Count int    `json:"count"`
}

// UnmarshalJSON reads a distribution. One with count 0 whose figures are
// all 0, as schema version 1 wrote an empty distribution, reads as empty:
// every figure absent. (An importer may know percentiles but not their
// count: those stay.)
func (d *Dist) UnmarshalJSON(b []byte) error {
	type plain Dist
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*d = Dist(p)
	if d.Count == 0 {
		zero := true
		for _, f := range d.figures() {
			if v, ok := f.Get(); ok && v != 0 {
				zero = false
			}
		}
		if zero {
			*d = Dist{}
		}
	}
	return nil
}

func (d Dist) figures() [7]Figure {
	return [7]Figure{d.Mean, d.P50, d.P90, d.P95, d.P99, d.P999, d.Max}
}

// Empty reports whether the distribution has no figure at all.
func (d Dist) Empty() bool {
	for _, f := range d.figures() {
		if f.Present() {
			return false
		}
	}
	return true
}
