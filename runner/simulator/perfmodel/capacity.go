package perfmodel

import (
	"fmt"
	"time"
)

// Capacity is the highest request rate (req/s, in the configuration's time,
// Slowdown included) the engine sustains for requests of prompt and output
// tokens whose prompts share nothing (no prefix-cache hit): the completion
// rate of a scheduler whose waiting queue never runs dry, so that every step
// admits what max_num_seqs, the token budget and the KV cache allow. An open loop below it reaches a steady state; above it the
// waiting queue grows without bound.
//
// The rate is measured in steady state: the first completions, while the
// batch fills, are skipped, and the rate is taken over the next several
// batches' worth, start to finish, so partial batches at either edge weigh
// little. With Jitter set it is the mean over the seeded schedule.
func Capacity(cfg SchedulerConfig, prompt, output int) (float64, error) {
	if prompt < 1 || output < 0 {
		return 0, fmt.Errorf("capacity: need prompt >= 1 and output >= 0 tokens, got %d and %d", prompt, output)
	}
	s, err := NewScheduler(cfg)
	if err != nil {
		return 0, err
	}
	// Enough waiting requests that admission never starves: a step frees at
	// most max_num_seqs slots.
	backlog := s.cfg.MaxNumSeqs
	skip := 2 * s.cfg.MaxNumSeqs
	measure := 16 * s.cfg.MaxNumSeqs
	now := time.Unix(0, 0)
	var from time.Time
	done, base := 0, -1
	for base < 0 || done < base+measure {
		for s.Waiting() < backlog {
			s.Add(&Seq{Prompt: prompt, MaxOutput: output}, now)
		}
		st := s.Step(now)
		if st.End == st.Start {
			return 0, fmt.Errorf("capacity: no progress with %d waiting (a request larger than the KV cache?)", st.Waiting)
		}
		now = st.End
		done += len(st.Finished)
		if base < 0 && done >= skip {
			from, base = now, done
		}
	}
	return float64(done-base) / now.Sub(from).Seconds(), nil
}
