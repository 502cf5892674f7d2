package perfmodel

import (
	"testing"
	"time"
)

// hashes is a prompt's block-hash chain: the first shared blocks come from
// prefix, the rest from id, so prompts with the same prefix share exactly
// `shared` leading blocks.
func hashes(prefix, id uint64, shared, blocks int) []uint64 {
	out := make([]uint64, blocks)
	h := uint64(0xcbf29ce484222325)
	for i := range out {
		src := prefix
		if i >= shared {
			src = id
		}
		h = (h ^ src ^ uint64(i)<<32) * 0x100000001b3
		out[i] = h
	}
	return out
}

// TestPrefixCacheCutsTTFT: requests sharing a 7-block prefix, one at a
// time, reach their first token sooner once the prefix is cached; without
// prefix caching they all pay the full prefill.
func TestPrefixCacheCutsTTFT(t *testing.T) {
	const prompt, shared = 1024, 7 // 8 blocks of 128, 7 shared
	arrivals := make([]Arrival, 6)
	for i := range arrivals {
		arrivals[i] = Arrival{At: time.Duration(i) * 30 * time.Second, Prompt: prompt, Output: 8,
			BlockHashes: hashes(1, uint64(100+i), shared, prompt/128)}
	}
	for _, caching := range []bool{false, true} {
		cfg := tiny(t, 8)
		cfg.PrefixCaching = caching
		out, err := Simulate(cfg, arrivals)
		if err != nil {
			t.Fatal(err)
		}
		for i, o := range out {
			t.Logf("caching %v: request %d TTFT %s, cached %d", caching, i, o.TTFT, o.Cached)
		}
		first, later := out[0].TTFT, out[len(out)-1].TTFT
		switch {
		case !caching && (later != first || out[5].Cached != 0):
			t.Errorf("without caching every request pays the same prefill: %s then %s (cached %d)", first, later, out[5].Cached)
		case caching && out[0].Cached != 0:
			t.Errorf("the first request found %d cached tokens in an empty cache", out[0].Cached)
		case caching && out[5].Cached != shared*128:
			t.Errorf("a later request found %d cached tokens, want the %d of the shared prefix", out[5].Cached, shared*128)
		case caching && later.Seconds() > 0.4*first.Seconds():
			t.Errorf("TTFT with 7 of 8 blocks cached is %s, not well below the uncached %s", later, first)
		}
	}
}

// TestPrefixCacheKeepsOneTokenToCompute: an identical prompt of exactly two
// blocks hits only the first; the last token's logits must be computed.
func TestPrefixCacheKeepsOneTokenToCompute(t *testing.T) {
	cfg := tiny(t, 8)
	cfg.PrefixCaching = true
	h := hashes(7, 7, 2, 2)
	out, err := Simulate(cfg, []Arrival{{Prompt: 256, Output: 2, BlockHashes: h},
		{At: 10 * time.Second, Prompt: 256, Output: 2, BlockHashes: h}})
	if err != nil {
		t.Fatal(err)
	}
	if out[1].Cached != 128 {
		t.Errorf("identical 256-token prompt found %d cached tokens, want 128", out[1].Cached)
	}
}

// TestPrefixCacheEvictsUnderPressure: a KV cache of 16 blocks fills with
// other prompts' blocks; the first prefix is evicted (least recently used
// first) and a repeat of it misses, while a repeat of the most recent hits.
func TestPrefixCacheEvictsUnderPressure(t *testing.T) {
	cfg := tiny(t, 8)
	cfg.PrefixCaching = true
	cfg.KVCacheBytes = 16 * 128 * cfg.Profile.KVBytesPerToken()
	s, err := NewScheduler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(0, 0)
	run := func(q *Seq) {
		t.Helper()
		s.Add(q, now)
		for !q.Done {
			st := s.Step(now)
			if st.End.Equal(st.Start) {
				t.Fatalf("no progress")
			}
			now = st.End
		}
	}
	seq := func(id uint64) *Seq { // 4 blocks; a repeat can hit 3 of them
		return &Seq{Prompt: 4 * 128, MaxOutput: 1, BlockHashes: hashes(id, id, 4, 4)}
	}
	for id := uint64(1); id <= 4; id++ { // 4 prompts x 4 blocks fill the cache
		run(seq(id))
	}
	if got := s.CachedBlocks(); got != 16 {
		t.Fatalf("cached blocks after 4 prompts = %d, want 16", got)
	}
	if u := s.KVUsage(); u != 0 {
		t.Errorf("KV usage with only cached, unused blocks = %g, want 0 (they count as free)", u)
	}
	run(seq(5)) // needs 4 blocks: evicts prompt 1's, the least recently freed
	q1, q4 := seq(1), seq(4)
	run(q4)
	run(q1)
	if q4.CachedTokens != 3*128 {
		t.Errorf("the most recent prefix found %d cached tokens, want 384", q4.CachedTokens)
	}
	if q1.CachedTokens != 0 {
		t.Errorf("the evicted prefix found %d cached tokens, want 0", q1.CachedTokens)
	}
}

// TestPrefixCacheSharesBlocks: two running sequences with one prefix hold
// its blocks once, so the cache holds more sequences than without sharing.
func TestPrefixCacheSharesBlocks(t *testing.T) {
	cfg := tiny(t, 8)
	cfg.PrefixCaching = true
	cfg.KVCacheBytes = 20 * 128 * cfg.Profile.KVBytesPerToken()
	s, err := NewScheduler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(0, 0)
	first := &Seq{Prompt: 8 * 128, MaxOutput: 100, BlockHashes: hashes(9, 1, 8, 8)}
	s.Add(first, now)
	for first.Generated == 0 {
		now = s.Step(now).End
	}
	second := &Seq{Prompt: 8 * 128, MaxOutput: 100, BlockHashes: hashes(9, 2, 7, 8)}
	s.Add(second, now)
	for second.Generated == 0 {
		now = s.Step(now).End
	}
	// first: 9 blocks (8 prompt + 1 for its output); second: 7 shared + 1 own.
	if used := s.totalBlocks - s.free(); used != 10 {
		t.Errorf("blocks in use = %d, want 10 (7 shared once)", used)
	}
	if second.CachedTokens != 7*128 {
		t.Errorf("second found %d cached tokens while the first runs, want 896", second.CachedTokens)
	}
}

// TestPrefixCacheCountsQueries: the step reports the prompt tokens looked
// up and found, only with prefix caching on.
func TestPrefixCacheCountsQueries(t *testing.T) {
	for _, caching := range []bool{false, true} {
		cfg := tiny(t, 8)
		cfg.PrefixCaching = caching
		s, _ := NewScheduler(cfg)
		now := time.Unix(0, 0)
		var queries, hits int
		for i := range 3 {
			q := &Seq{Prompt: 300, MaxOutput: 1, BlockHashes: hashes(3, uint64(i), 2, 2)}
			s.Add(q, now)
			for !q.Done {
				st := s.Step(now)
				queries, hits = queries+st.PrefixQueries, hits+st.PrefixHits
				now = st.End
			}
		}
		wantQ, wantH := 900, 512
		if !caching {
			wantQ, wantH = 0, 0
		}
		if queries != wantQ || hits != wantH {
			t.Errorf("caching %v: queries %d hits %d, want %d and %d", caching, queries, hits, wantQ, wantH)
		}
	}
}
