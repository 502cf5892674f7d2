// Package measure is how servebench times one request to an OpenAI-compatible
// server: the streamed-response parser, the first-token rule, per-chunk
// timing and the Result record. The native load generator and the metering
// proxy both use it, so both time a request identically.
//
// A Tracker (NewTracker, then Header, Write and Finish with the caller's
// times) times one response; it is used by one goroutine. A Result is owned
// by whoever is measuring the request until it is handed to a Recorder; after
// that it must not be mutated. Recorders are called concurrently.
package measure

import (
	"time"

	"github.com/servebench/servebench/exporter/contract"
)

// Result is the record of one request, failed or not. Times are absolute;
// offsets and latencies are derived from them. The JSON form is one line of
// requests.jsonl; it never holds prompt or output text.
type Result struct {
	Seq       int64     `json:"seq"`                  // 0-based order of scheduling within the benchmark
	Scheduled time.Time `json:"scheduled"`            // when the pacer said it was due (closed loop: when a stream was free)
	Sent      time.Time `json:"sent"`                 // when the request was handed to the transport
	FirstByte time.Time `json:"first_byte,omitzero"`  // first response byte
	FirstTok  time.Time `json:"first_token,omitzero"` // first chunk carrying content, reasoning or a tool call
	End       time.Time `json:"end"`                  // last byte, error or cut-off

	// Chunks holds, for every token-carrying chunk, its arrival as an offset
	// from Sent and the number of tokens it carried.
	Chunks []Chunk `json:"chunks,omitempty"`

	PromptTokens int `json:"prompt_tokens"`
	OutputTokens int `json:"output_tokens"`
	// MaxTokens is the output length the request asked for (max_tokens),
	// 0 when unknown; more output tokens than this is an overrun.
	MaxTokens   int    `json:"max_tokens,omitempty"`
	TokenSource string `json:"token_source,omitempty"` // "usage" (server-reported) or "chunks" (counted)
	// TokenMismatch is set when the server's usage disagreed with the chunk count.
	TokenMismatch bool `json:"token_mismatch,omitempty"`

	// Level and Phase place the request in a benchmark; the load generator
	// sets them, the metering proxy leaves them empty.
	Level string `json:"level,omitempty"`
	Phase Phase  `json:"phase,omitempty"`

	// Audio is set for speech-to-text requests (APITranscriptions) by the
	// load generator, which knows what it uploaded.
	Audio *Audio `json:"audio,omitempty"`

	Status    int                `json:"status,omitempty"` // HTTP status, 0 when none arrived
	Outcome   contract.Outcome   `json:"outcome"`
	ErrorKind contract.ErrorKind `json:"error_kind,omitempty"`
	Error     string             `json:"error,omitempty"` // human detail; never used as a label
}

// Audio is what a transcription request uploaded and, when the recording
// has a reference transcript and the request succeeded, how far the
// returned text was from it: word and character edits (substitutions,
// deletions, insertions) against the reference's words and characters.
type Audio struct {
	Seconds   float64 `json:"seconds"` // the recording's duration
	Scored    bool    `json:"scored"`  // the edit counts below were measured
	WordEdits int     `json:"word_edits,omitempty"`
	Words     int     `json:"words,omitempty"`
	CharEdits int     `json:"char_edits,omitempty"`
	Chars     int     `json:"chars,omitempty"`
}

// Phase is where a request's scheduled send fell in its benchmark's window.
type Phase string

// Phases: only PhaseMeasure requests enter a benchmark's figures.
const (
	PhaseWarmup   Phase = "warmup"
	PhaseMeasure  Phase = "measure"
	PhaseCooldown Phase = "cooldown"
)

// Chunk is one token-carrying SSE event.
type Chunk struct {
	At     time.Duration `json:"at"`     // arrival, offset from Sent
	Tokens int           `json:"tokens"` // tokens in this chunk (1 when the server does not say)
}

// Recorder receives measurements as they happen. Implementations must be safe
// for concurrent use; the hot-path methods of Benchmark cannot fail.
type Recorder interface {
	// Benchmark is called once per benchmark (load level) before its first
	// request; implementations resolve their labelled series here, not per
	// observation.
	Benchmark(BenchmarkLabels) BenchmarkRecorder
}

// BenchmarkLabels identify one benchmark's series. All values are bounded.
type BenchmarkLabels struct {
	Suite, Model, Workload, Cores, Loadgen, Level string
}

// Values returns the label values in contract.BenchmarkLabels order.
func (l BenchmarkLabels) Values() []string {
	return []string{l.Suite, l.Model, l.Workload, l.Cores, l.Loadgen, l.Level}
}

// FirstTokenObserver is told a request's time to first token, measured
// from its scheduled send, when the first token arrives.
type FirstTokenObserver interface {
	FirstToken(ttft time.Duration)
}

// BenchmarkRecorder receives one benchmark's requests.
type BenchmarkRecorder interface {
	// SetTarget publishes the requested load: v requests per second or v
	// concurrent streams, as unit says.
	SetTarget(v float64, unit contract.TargetUnit)
	// Started is called when a request is sent.
	Started()
	// FirstToken is called once per request whose first token arrived, as
	// it arrives (a whole, non-streamed body: at its end), always before
	// that request's Finished, and never for a request that got none. A
	// measurer gets this by passing the BenchmarkRecorder (or an observer
	// that calls it) as TrackOptions.FirstToken.
	FirstToken(ttft time.Duration)
	// Finished is called once per request that Started, with its final
	// record; r.FirstTok is set exactly when FirstToken was called.
	Finished(*Result)
	// Close ends the benchmark; no call may follow.
	Close()
}

// Overrun reports whether the request returned more output tokens than it
// asked for: a server that ignored the requested length.
func (r *Result) Overrun() bool { return r.MaxTokens > 0 && r.OutputTokens > r.MaxTokens }

// Discard is a Recorder that records nothing.
var Discard Recorder = discard{}

type discard struct{}

func (discard) Benchmark(BenchmarkLabels) BenchmarkRecorder { return discard{} }
func (discard) SetTarget(float64, contract.TargetUnit)      {}
func (discard) Started()                                    {}
func (discard) FirstToken(time.Duration)                    {}
func (discard) Finished(*Result)                            {}
func (discard) Close()                                      {}
