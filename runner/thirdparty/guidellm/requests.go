package guidellm

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/runner/thirdparty/pyjson"
)

type requestStats struct {
	Info struct {
		Error   *string `json:"error"`
		Timings struct {
			TargetedStart  *float64 `json:"targeted_start"`
			RequestStart   *float64 `json:"request_start"`
			FirstIteration *float64 `json:"first_request_iteration"`
			FirstToken     *float64 `json:"first_token_iteration"`
			RequestEnd     *float64 `json:"request_end"`
		} `json:"timings"`
	} `json:"info"`
	PromptTokens *int `json:"prompt_tokens"`
	OutputTokens *int `json:"output_tokens"`
	InputMetrics struct {
		AudioSeconds *float64 `json:"audio_seconds"`
	} `json:"input_metrics"`
}

// Requests returns each benchmark's per-request records as servebench
// Results (one line of requests.jsonl each), ordered by planned start:
// successful, incomplete and errored requests alike. They are complete only
// for reports written with sample_size=0 or unset; with sample_size=N they
// are GuideLLM's reservoir sample. GuideLLM keeps no per-chunk times, so
// Chunks stay empty; an errored request's kind comes from its error text.
func Requests(r io.Reader) ([][]measure.Result, error) {
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
		return nil, fmt.Errorf("%w: per-request records are read from 0.4 and newer only", ErrLegacySchema)
	}
	var rep struct {
		Benchmarks []struct {
			Requests struct {
				Successful []requestStats `json:"successful"`
				Incomplete []requestStats `json:"incomplete"`
				Errored    []requestStats `json:"errored"`
			} `json:"requests"`
		} `json:"benchmarks"`
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, fmt.Errorf("guidellm report: %w", err)
	}
	out := make([][]measure.Result, len(rep.Benchmarks))
	for i, bm := range rep.Benchmarks {
		var rs []measure.Result
		for _, group := range []struct {
			list    []requestStats
			outcome contract.Outcome
		}{{bm.Requests.Successful, contract.OutcomeSuccess}, {bm.Requests.Incomplete, contract.OutcomeIncomplete}, {bm.Requests.Errored, contract.OutcomeError}} {
			for _, q := range group.list {
				rs = append(rs, toResult(q, group.outcome))
			}
		}
		sort.SliceStable(rs, func(a, b int) bool { return rs[a].Scheduled.Before(rs[b].Scheduled) })
		for j := range rs {
			rs[j].Seq = int64(j)
		}
		out[i] = rs
	}
	return out, nil
}

func toResult(q requestStats, outcome contract.Outcome) measure.Result {
	t := q.Info.Timings
	r := measure.Result{
		Sent:      epoch(t.RequestStart),
		FirstByte: epoch(t.FirstIteration),
		End:       epoch(t.RequestEnd),
		Outcome:   outcome,
	}
	r.Scheduled = epoch(t.TargetedStart)
	if r.Scheduled.IsZero() {
		r.Scheduled = r.Sent
	}
	if outcome == contract.OutcomeSuccess || outcome == contract.OutcomeIncomplete {
		r.FirstTok = epoch(t.FirstToken)
	}
	if q.PromptTokens != nil {
		r.PromptTokens = *q.PromptTokens
	}
	if q.OutputTokens != nil {
		r.OutputTokens, r.TokenSource = *q.OutputTokens, "usage"
	}
	if a := q.InputMetrics.AudioSeconds; a != nil && *a > 0 {
		// An audio request: GuideLLM decoded the recording it uploaded.
		// It keeps no transcript text, so nothing is scored.
		r.Audio = &measure.Audio{Seconds: *a}
	}
	if outcome == contract.OutcomeError {
		r.ErrorKind = contract.ErrOther
		if q.Info.Error != nil {
			msg := *q.Info.Error
			low := strings.ToLower(msg)
			switch {
			case strings.Contains(low, "timeout") || strings.Contains(low, "timed out"):
				r.ErrorKind = contract.ErrTimeout
			case strings.Contains(low, "connect"):
				r.ErrorKind = contract.ErrConnect
			}
			if len(msg) > 200 {
				msg = msg[:200]
			}
			r.Error = msg
		}
	}
	return r
}

// epoch converts Unix seconds (time.time()) to a time, to the microsecond
// that Python's float carries; nil and non-positive are the zero time.
func epoch(s *float64) time.Time {
	if s == nil || *s <= 0 {
		return time.Time{}
	}
	sec, frac := math.Modf(*s)
	return time.Unix(int64(sec), int64(math.Round(frac*1e6))*1e3).UTC()
}
