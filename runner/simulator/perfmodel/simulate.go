package perfmodel

import (
	"fmt"
	"time"
)

// Arrival is one request offered to Simulate.
type Arrival struct {
	At             time.Duration // offset from the start
	Prompt, Output int
	BlockHashes    []uint64 // the prompt's block hashes (Seq.BlockHashes); nil = never cached
	Encoder        int      // encoder positions (encoder-decoder models)
}

// Outcome is what one simulated request saw, engine-side.
type Outcome struct {
	Arrival     time.Duration
	TTFT        time.Duration // arrival to first token
	E2E         time.Duration // arrival to last token
	Output      int
	Preemptions int
	Cached      int // prompt tokens served from the prefix cache at its last admission
}

// TPOT is the mean time per output token after the first.
func (o Outcome) TPOT() time.Duration {
	if o.Output < 2 {
		return 0
	}
	return (o.E2E - o.TTFT) / time.Duration(o.Output-1)
}

// Simulate runs an open-loop arrival list through the scheduler in virtual
// time and returns every request's outcome in arrival order. Requests that
// arrive during a step join at the next step, as in a live engine.
func Simulate(cfg SchedulerConfig, arrivals []Arrival) ([]Outcome, error) {
	s, err := NewScheduler(cfg)
	if err != nil {
		return nil, err
	}
	t0 := time.Unix(0, 0)
	seqs := make([]*Seq, len(arrivals))
	now, next, done := t0, 0, 0
	for done < len(arrivals) {
		for next < len(arrivals) && !t0.Add(arrivals[next].At).After(now) {
			a := arrivals[next]
			seqs[next] = &Seq{Prompt: a.Prompt, MaxOutput: a.Output, BlockHashes: a.BlockHashes, Encoder: a.Encoder}
			s.Add(seqs[next], t0.Add(a.At))
			next++
		}
		if s.Idle() {
			if next >= len(arrivals) {
				return nil, fmt.Errorf("simulate: %d requests never finished", len(arrivals)-done)
			}
			now = t0.Add(arrivals[next].At)
			continue
		}
		st := s.Step(now)
		if st.End == st.Start {
			return nil, fmt.Errorf("simulate: no progress at %s with %d waiting (a request larger than the KV cache?)", now.Sub(t0), st.Waiting)
		}
		done += len(st.Finished)
		now = st.End
	}
	out := make([]Outcome, len(seqs))
	for i, q := range seqs {
		out[i] = Outcome{
			Arrival: arrivals[i].At, TTFT: q.FirstToken.Sub(q.Arrival), E2E: q.LastToken.Sub(q.Arrival),
			Output: q.Generated, Preemptions: q.Preemptions, Cached: q.CachedTokens,
		}
	}
	return out, nil
}

// Load summarises a closed-loop run.
type Load struct {
	Concurrency      int
	Duration         time.Duration
	OutputTokensPerS float64 // total generated tokens per second
	PerSeqTokensPerS float64 // mean decode speed one request sees: 1/TPOT
	MeanTTFT         time.Duration
	MeanTPOT         time.Duration
	MeanE2E          time.Duration
}

// Closed runs n requests of the given shape with a fixed number of streams
// (each sends its next request when its previous one ends) in virtual time.
func Closed(cfg SchedulerConfig, concurrency, n, prompt, output int) (Load, error) {
	s, err := NewScheduler(cfg)
	if err != nil {
		return Load{}, err
	}
	if concurrency <= 0 || n < concurrency {
		return Load{}, fmt.Errorf("closed: need 0 < concurrency <= n, got %d and %d", concurrency, n)
	}
	t0 := time.Unix(0, 0)
	now := t0
	sent, done, tokens := 0, 0, 0
	var ttft, tpot, e2e time.Duration
	for ; sent < concurrency; sent++ {
		s.Add(&Seq{Prompt: prompt, MaxOutput: output}, now)
	}
	for done < n {
		st := s.Step(now)
		if st.End == st.Start {
			return Load{}, fmt.Errorf("closed: no progress with %d waiting", st.Waiting)
		}
		now = st.End
		tokens += len(st.Emitted)
		for _, q := range st.Finished {
			done++
			ttft += q.FirstToken.Sub(q.Arrival)
			e2e += q.LastToken.Sub(q.Arrival)
			if q.Generated > 1 {
				tpot += q.LastToken.Sub(q.FirstToken) / time.Duration(q.Generated-1)
			}
			if sent < n {
				s.Add(&Seq{Prompt: prompt, MaxOutput: output}, now)
				sent++
			}
		}
	}
	d := now.Sub(t0)
	l := Load{
		Concurrency: concurrency, Duration: d,
		OutputTokensPerS: float64(tokens) / d.Seconds(),
		MeanTTFT:         ttft / time.Duration(n), MeanTPOT: tpot / time.Duration(n), MeanE2E: e2e / time.Duration(n),
	}
	if l.MeanTPOT > 0 {
		l.PerSeqTokensPerS = 1 / l.MeanTPOT.Seconds()
	}
	return l, nil
}
