package perfmodel

import (
	"testing"
	"time"
)

// transcribe is the engine time of one audio clip alone: one request per
// window of the model, each with a 4-token decoder prompt and about 3.5
// output tokens per second of speech.
func transcribe(t testing.TB, p Profile, cores int, seconds float64) time.Duration {
	t.Helper()
	h := DefaultHardware()
	h.Cores = cores
	cfg := SchedulerConfig{Profile: p, Hardware: h, MaxNumSeqs: 128, MaxNumBatchedTokens: 2048, BlockSize: 128,
		KVCacheBytes: 2 << 30, Slowdown: 1}
	s, err := NewScheduler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(0, 0)
	var seqs []*Seq
	for left := seconds; left > 0; left -= p.WindowSeconds {
		w := min(left, p.WindowSeconds)
		q := &Seq{Prompt: 4, MaxOutput: int(3.5*w) + 1, Encoder: p.EncoderPositions}
		s.Add(q, now)
		seqs = append(seqs, q)
	}
	for !s.Idle() {
		st := s.Step(now)
		if st.End.Equal(st.Start) {
			t.Fatal("no progress")
		}
		now = st.End
	}
	var end time.Time
	for _, q := range seqs {
		if q.LastToken.After(end) {
			end = q.LastToken
		}
	}
	return end.Sub(time.Unix(0, 0))
}

func TestWhisperCostFollowsAudio(t *testing.T) {
	tiny, _ := Preset("openai/whisper-tiny")
	small, _ := Preset("openai/whisper-small")
	medium, _ := Preset("openai/whisper-medium")
	for _, p := range []Profile{tiny, small, medium} {
		if err := p.Validate(); err != nil {
			t.Fatal(err)
		}
	}
	// The encoder pads every window to 30 s: a 3 s clip costs nearly as
	// much encoder time as a 30 s one, so its real-time factor is worse.
	short, full := transcribe(t, small, 8, 3), transcribe(t, small, 8, 30)
	rtfShort, rtfFull := short.Seconds()/3, full.Seconds()/30
	t.Logf("whisper-small, 8 cores: 3 s clip %s (RTF %.3f), 30 s clip %s (RTF %.3f)", short, rtfShort, full, rtfFull)
	if rtfShort <= 2*rtfFull {
		t.Errorf("a padded 3 s window should have a much worse RTF than a full one: %.3f vs %.3f", rtfShort, rtfFull)
	}
	// Longer audio is more windows, run side by side.
	two := transcribe(t, small, 8, 60)
	if two <= full || two >= 2*full {
		t.Errorf("60 s (two windows batched) took %s; one 30 s window %s", two, full)
	}
	// Bigger models are slower; more cores are faster.
	if !(transcribe(t, tiny, 8, 10) < transcribe(t, small, 8, 10) && transcribe(t, small, 8, 10) < transcribe(t, medium, 8, 10)) {
		t.Error("tiny < small < medium does not hold")
	}
	if transcribe(t, medium, 16, 10) >= transcribe(t, medium, 4, 10) {
		t.Error("16 cores are not faster than 4")
	}
	// Calibration: whisper-small on 8 cores transcribes a 10 s clip well
	// under real time but not in milliseconds.
	if d := transcribe(t, small, 8, 10); d < 100*time.Millisecond || d > 5*time.Second {
		t.Errorf("whisper-small, 8 cores, 10 s clip: %s", d)
	}
}

// TestEncoderRunsOnce: the encoder's positions count in the first step
// only, and its states stay in the KV cache until the request ends.
func TestEncoderRunsOnce(t *testing.T) {
	p, _ := Preset("openai/whisper-tiny")
	cfg := SchedulerConfig{Profile: p, Hardware: DefaultHardware(), MaxNumSeqs: 8, MaxNumBatchedTokens: 2048,
		BlockSize: 128, KVCacheBytes: 1 << 30, Slowdown: 1}
	s, _ := NewScheduler(cfg)
	q := &Seq{Prompt: 4, MaxOutput: 3, Encoder: 1500}
	now := time.Unix(0, 0)
	s.Add(q, now)
	first := s.Step(now)
	if first.Tokens != 1504 || first.Cost.Tokens != 1504 {
		t.Errorf("first step: %d tokens, want 1500 encoder positions + 4 prompt tokens", first.Tokens)
	}
	if blocks := q.blocks(); blocks != s.blocksFor(1504) {
		t.Errorf("blocks %d, want %d (cross-attention states + prompt)", blocks, s.blocksFor(1504))
	}
	second := s.Step(first.End)
	if second.Tokens != 1 {
		t.Errorf("decode step: %d tokens, want 1", second.Tokens)
	}
	if second.Cost.Total >= first.Cost.Total {
		t.Errorf("a decode step (%s) should cost less than the encoder step (%s)", second.Cost.Total, first.Cost.Total)
	}
}
