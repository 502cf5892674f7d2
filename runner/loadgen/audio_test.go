package loadgen

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/runner/audio"
	"github.com/servebench/servebench/runner/pacer"
	"github.com/servebench/servebench/runner/simulator"
)

// Transcriptions against the simulator's Whisper: every recording is
// uploaded in turn, the level reports real-time factors, audio-hours and
// files per hour, and the word error rate of the model (whisper-tiny hears
// about 7.5% of words wrong), streamed or not.
func TestTranscriptionsAgainstSimulator(t *testing.T) {
	url := startSim(t, func(c *simulator.Config) {
		c.Model = "openai/whisper-tiny"
		c.KVCacheSpaceGiB = 1
		c.Slowdown = 0.2
	})
	w, _ := audio.LookupWorkload("speech")
	clips, err := w.Clips()
	if err != nil {
		t.Fatal(err)
	}
	for _, stream := range []bool{false, true} {
		cfg := Config{Target: url, API: measure.APITranscriptions, Stream: stream, Audio: clips,
			Profile: pacer.Concurrent, Rates: []float64{4}, MaxSeconds: 3 * time.Second, Seed: 1}
		var col collector
		sum, err := Run(context.Background(), cfg, nil, col.sink)
		if err != nil {
			t.Fatal(err)
		}
		b := sum.Benchmarks[0]
		a := b.Audio
		if b.Requests.Successful < 8 || b.Requests.Failed != 0 || a == nil {
			t.Fatalf("stream %v: requests %+v errors %v audio %+v", stream, b.Requests, b.Errors, a)
		}
		t.Logf("stream %v: %d requests, RTF p50 %.3f p95 %.3f, %.1f audio-h/h, %.0f files/h, WER %.3f CER %.3f (%d scored)",
			stream, b.Requests.Successful, a.RTF.P50, a.RTF.P95, *a.AudioHoursPerHour, *a.FilesPerHour, *a.WER, *a.CER, a.Scored)
		if a.Scored != b.Requests.Successful || a.WER == nil || *a.WER <= 0 || *a.WER > 0.25 || *a.CER <= 0 || *a.CER > *a.WER {
			t.Errorf("stream %v: scored %d of %d, WER %v CER %v", stream, a.Scored, b.Requests.Successful, a.WER, a.CER)
		}
		if a.RTF.Count != b.Requests.Successful || fv(a.RTF.P50) <= 0 || fv(a.RTF.P50) > 1 {
			t.Errorf("stream %v: RTF %+v", stream, a.RTF)
		}
		// audio-h/h is audio seconds over window seconds; files/h the
		// completions in the window per hour.
		if want := a.AudioSeconds / b.DurationSeconds; math.Abs(*a.AudioHoursPerHour-want) > 1e-9 || math.Abs(*a.FilesPerHour-fv(b.RequestsPerSecond)*3600) > 1e-6 {
			t.Errorf("stream %v: audio-h/h %g (want %g), files/h %g (requests/s %g)", stream, *a.AudioHoursPerHour, want, *a.FilesPerHour, b.RequestsPerSecond)
		}
		for _, r := range col.all {
			if r.Outcome == contract.OutcomeSuccess && (r.Audio == nil || r.Audio.Seconds <= 0 || !r.Audio.Scored) {
				t.Fatalf("stream %v: result %+v", stream, r)
			}
			// Streamed, the first text arrives before the end; the usage
			// chunk gives the output tokens.
			if stream && r.Outcome == contract.OutcomeSuccess && (r.OutputTokens < 3 || r.TokenSource != measure.TokensFromUsage || !r.FirstTok.Before(r.End)) {
				t.Fatalf("streamed result %+v", r)
			}
		}
	}
}

func TestTranscriptText(t *testing.T) {
	text, err := transcriptText([]byte(`{"text":" hello there","usage":{"type":"duration","seconds":2}}`), false)
	if err != nil || text != " hello there" {
		t.Errorf("json: %q %v", text, err)
	}
	sse := "data: {\"object\":\"transcription.chunk\",\"choices\":[{\"delta\":{\"content\":\" hello\"}}]}\n\n" +
		"data: {\"object\":\"transcription.chunk\",\"choices\":[{\"delta\":{\"content\":\" there\"},\"finish_reason\":\"stop\"}]}\n\n" +
		"data: {\"object\":\"transcription.chunk\",\"choices\":[],\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":3}}\n\ndata: [DONE]\n\n"
	text, err = transcriptText([]byte(sse), true)
	if err != nil || text != " hello there" {
		t.Errorf("stream: %q %v", text, err)
	}
	if _, err := transcriptText([]byte(`{"error":"x"}`), false); err == nil {
		t.Error("no text must be an error")
	}
	var res measure.Result
	res.Outcome = contract.OutcomeSuccess
	scoreAudio(&res, &audio.Clip{Seconds: 2, Text: "Hello there, friend."}, []byte(`{"text":" hello their"}`), false)
	if a := res.Audio; a == nil || !a.Scored || a.WordEdits != 2 || a.Words != 3 {
		t.Errorf("score %+v", res.Audio)
	}
	res = measure.Result{Outcome: contract.OutcomeError}
	scoreAudio(&res, &audio.Clip{Seconds: 2, Text: "x"}, nil, false)
	if res.Audio == nil || res.Audio.Scored || res.Audio.Seconds != 2 {
		t.Errorf("a failed request is not scored: %+v", res.Audio)
	}
}
