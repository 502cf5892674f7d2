package perfmodel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// SchedulerConfig is the engine side of vLLM's configuration.
type SchedulerConfig struct {
	Profile             Profile
	Hardware            Hardware
	MaxNumSeqs          int     // sequences in the running batch at most
	MaxNumBatchedTokens int     // tokens computed per step at most (chunked prefill budget)
	BlockSize           int     // tokens per KV block
	KVCacheBytes        float64 // KV cache capacity
	Slowdown            float64 // multiplier on every step's time; 1 = the model as is
	Jitter              float64 // relative standard deviation of step time; 0 = exact
	Seed                uint64  // seeds the jitter
	// PrefixCaching keeps computed prompt blocks in the KV cache after their
	// sequence ends, keyed by Seq.BlockHashes, so that a later prompt with
	// the same prefix starts from them (vLLM's automatic prefix caching).
	PrefixCaching bool
}

// Seq is one request inside the scheduler. The caller sets the exported
// input fields before Add and reads the rest after steps; the scheduler owns
// the rest.
type Seq struct {
	Prompt    int // prompt tokens
	MaxOutput int // tokens to generate; 0 for an embedding request
	Tag       any // the caller's handle
	// Encoder is the encoder positions of an encoder-decoder request (its
	// audio window); they are computed in its first step and held in the
	// KV cache, for cross-attention, until it ends. 0 for decoder-only
	// models.
	Encoder int
	// BlockHashes identify the prompt's full blocks: hash i covers tokens
	// [0, (i+1)·BlockSize), so equal hashes mean equal prefixes. Empty = the
	// sequence neither hits nor fills the prefix cache.
	BlockHashes []uint64

	Arrival      time.Time // when Add was called
	Scheduled    time.Time // last move from waiting to running
	FirstToken   time.Time // end of the step that produced the first token (or finished an embedding)
	LastToken    time.Time // end of the step that produced the latest token
	Generated    int       // tokens generated so far
	Preemptions  int
	CachedTokens int // prompt tokens found in the prefix cache at the last admission
	Done         bool

	encoded  bool      // the encoder has run (Encoder > 0)
	computed int       // tokens whose KV is in the cache
	private  int       // blocks only this sequence uses
	shared   []*cblock // its leading blocks, in the prefix cache (hits, then blocks it filled)
	running  bool
}

// blocks is how many KV blocks the sequence holds.
func (q *Seq) blocks() int { return q.private + len(q.shared) }

// kv is how many token slots of KV cache the sequence needs with computed
// decoder tokens: its cross-attention states, then its own.
func (q *Seq) kv(computed int) int { return q.Encoder + computed }

// Finished reports whether the sequence needs no more steps.
func (q *Seq) finished() bool {
	if q.MaxOutput == 0 {
		return q.computed >= q.Prompt
	}
	return q.Generated >= q.MaxOutput
}

// Step is what one engine step did.
type Step struct {
	Start, End  time.Time
	Cost        Cost
	Emitted     []*Seq // sequences that produced a token at End, in batch order
	Finished    []*Seq // sequences that finished at End (Emitted ones included)
	Preempted   int
	Prefill     int // sequences that computed prompt tokens this step
	Decode      int // sequences that computed one generated token
	Running     int // running after the step
	Waiting     int // waiting after the step
	KVUsage     float64
	Tokens      int
	BlocksTotal int
	// PrefixQueries and PrefixHits are the prompt tokens looked up in the
	// prefix cache by the sequences admitted this step, and those found
	// (vLLM's prefix_cache_queries and prefix_cache_hits); 0 without
	// prefix caching.
	PrefixQueries, PrefixHits int
}

// Scheduler is a continuous-batching scheduler over a simulated CPU.
type Scheduler struct {
	cfg         SchedulerConfig
	totalBlocks int
	uncached    int // free blocks holding nothing reusable
	cache       map[uint64]*cblock
	lru         lruList // cached blocks no sequence uses: free, evicted oldest first
	waiting     []*Seq
	running     []*Seq
	rng         *rand.Rand
	batch       []Work
	sched       []sched
	emitted     []*Seq
	finished    []*Seq
}

type sched struct {
	q   *Seq
	n   int
	enc int // encoder positions computed in this step
}

// NewScheduler checks cfg and returns an idle scheduler.
func NewScheduler(cfg SchedulerConfig) (*Scheduler, error) {
	if err := cfg.Profile.Validate(); err != nil {
		return nil, err
	}
	h, err := cfg.Hardware.Normalize()
	if err != nil {
		return nil, fmt.Errorf("hardware: %w", err)
	}
	cfg.Hardware = h
	switch {
	case cfg.MaxNumSeqs <= 0:
		return nil, fmt.Errorf("max_num_seqs must be > 0, got %d", cfg.MaxNumSeqs)
	case cfg.MaxNumBatchedTokens <= 0:
		return nil, fmt.Errorf("max_num_batched_tokens must be > 0, got %d", cfg.MaxNumBatchedTokens)
	case cfg.BlockSize <= 0:
		return nil, fmt.Errorf("block_size must be > 0, got %d", cfg.BlockSize)
	case cfg.Slowdown <= 0:
		return nil, fmt.Errorf("slowdown must be > 0, got %g", cfg.Slowdown)
	case cfg.Jitter < 0 || cfg.Jitter > 1:
		return nil, fmt.Errorf("jitter must be in [0, 1], got %g", cfg.Jitter)
	}
	blocks := int(cfg.KVCacheBytes / (cfg.Profile.KVBytesPerToken() * float64(cfg.BlockSize)))
	if blocks <= 0 {
		return nil, fmt.Errorf("kv cache of %.0f bytes holds no %d-token block of %s", cfg.KVCacheBytes, cfg.BlockSize, cfg.Profile.ID)
	}
	return &Scheduler{
		cfg: cfg, totalBlocks: blocks, uncached: blocks, cache: map[uint64]*cblock{},
		rng: rand.New(rand.NewPCG(cfg.Seed, 0x5eed)),
	}, nil
}

// Config returns the normalised configuration.
func (s *Scheduler) Config() SchedulerConfig { return s.cfg }

// CapacityTokens is how many tokens the KV cache holds.
func (s *Scheduler) CapacityTokens() int { return s.totalBlocks * s.cfg.BlockSize }

// TotalBlocks is the KV cache size in blocks.
func (s *Scheduler) TotalBlocks() int { return s.totalBlocks }

// Add queues q at now.
func (s *Scheduler) Add(q *Seq, now time.Time) {
	q.Arrival = now
	s.waiting = append(s.waiting, q)
}

// Abort removes q wherever it is and frees its blocks.
func (s *Scheduler) Abort(q *Seq) {
	if q.Done {
		return
	}
	q.Done = true
	s.release(q)
	s.running = remove(s.running, q)
	s.waiting = remove(s.waiting, q)
	q.running = false
}

func remove(list []*Seq, q *Seq) []*Seq {
	for i, x := range list {
		if x == q {
			return append(list[:i], list[i+1:]...)
		}
	}
	return list
}

// free is how many blocks can be allocated: never-filled ones and cached
// ones no sequence uses (allocating one of those evicts it), as vLLM counts
// its free block queue.
func (s *Scheduler) free() int { return s.uncached + s.lru.n }

// release returns q's blocks. Its cached blocks stay in the cache, last
// block first in the eviction order (so a prefix is evicted from its end,
// as vLLM frees a request's blocks in reverse).
func (s *Scheduler) release(q *Seq) {
	s.uncached += q.private
	q.private = 0
	for i := len(q.shared) - 1; i >= 0; i-- {
		b := q.shared[i]
		if b.ref--; b.ref == 0 {
			s.lru.pushBack(b)
		}
	}
	clear(q.shared)
	q.shared = q.shared[:0]
}

// allocate takes n fresh blocks for q: never-filled blocks first, then the
// least recently used cached blocks, which leave the cache. The caller has
// checked that n <= free().
func (s *Scheduler) allocate(q *Seq, n int) {
	take := min(n, s.uncached)
	s.uncached -= take
	for ; take < n; take++ {
		b := s.lru.popFront()
		delete(s.cache, b.hash)
	}
	q.private += n
}

// lookup returns how many of q's leading blocks are in the prefix cache,
// at most enough to leave one prompt token to compute (the last token's
// logits are needed, as in vLLM), and how many of them no sequence uses.
func (s *Scheduler) lookup(q *Seq) (hits, idle int) {
	if !s.cfg.PrefixCaching || q.computed > 0 {
		return 0, 0
	}
	limit := min(len(q.BlockHashes), (q.Prompt-1)/s.cfg.BlockSize)
	for hits < limit {
		b, ok := s.cache[q.BlockHashes[hits]]
		if !ok {
			break
		}
		if b.ref == 0 {
			idle++
		}
		hits++
	}
	return hits, idle
}

// take makes q use its first hits cached blocks.
func (s *Scheduler) take(q *Seq, hits int) {
	for i := 0; i < hits; i++ {
		b := s.cache[q.BlockHashes[i]]
		if b.ref == 0 {
			s.lru.remove(b)
		}
		b.ref++
		q.shared = append(q.shared, b)
	}
	q.computed = hits * s.cfg.BlockSize
	q.CachedTokens = q.computed
}

// register puts q's newly completed prompt blocks into the prefix cache, in
// order; a block some other sequence already cached stays private (vLLM
// keeps the duplicate out of the cache too), and q caches nothing after it.
func (s *Scheduler) register(q *Seq) {
	if !s.cfg.PrefixCaching {
		return
	}
	full := min(len(q.BlockHashes), min(q.computed, q.Prompt)/s.cfg.BlockSize)
	for i := len(q.shared); i < full && q.private > 0; i++ {
		h := q.BlockHashes[i]
		if _, dup := s.cache[h]; dup {
			return
		}
		b := &cblock{hash: h, ref: 1}
		s.cache[h] = b
		q.private--
		q.shared = append(q.shared, b)
	}
}

// Idle reports whether there is nothing to step.
func (s *Scheduler) Idle() bool { return len(s.waiting) == 0 && len(s.running) == 0 }

// Running and Waiting are the queue lengths.
func (s *Scheduler) Running() int { return len(s.running) }
func (s *Scheduler) Waiting() int { return len(s.waiting) }

// KVUsage is the fraction of KV blocks in use by sequences (cached blocks
// no sequence uses count as free, as in vLLM).
func (s *Scheduler) KVUsage() float64 {
	return float64(s.totalBlocks-s.free()) / float64(s.totalBlocks)
}

// CachedBlocks is how many blocks the prefix cache holds.
func (s *Scheduler) CachedBlocks() int { return len(s.cache) }

func (s *Scheduler) blocksFor(tokens int) int {
	return (tokens + s.cfg.BlockSize - 1) / s.cfg.BlockSize
}

// preempt sends q back to the head of the waiting queue; its KV is dropped
// and recomputed when it is scheduled again (vLLM's recompute preemption).
func (s *Scheduler) preempt(q *Seq) {
	s.release(q)
	q.computed = 0
	q.encoded = false
	q.CachedTokens = 0
	q.running = false
	q.Preemptions++
	s.running = remove(s.running, q)
	s.waiting = append([]*Seq{q}, s.waiting...)
}

// Step runs one engine step starting at start and returns what it did. The
// returned slices are reused by the next call. An idle scheduler returns a
// zero-length step.
func (s *Scheduler) Step(start time.Time) Step {
	budget := s.cfg.MaxNumBatchedTokens
	s.sched = s.sched[:0]
	preempted := 0
	// Running sequences first, oldest first; on block shortage the newest
	// running sequence is preempted, possibly the one being scheduled.
	for i := 0; i < len(s.running) && budget > 0; i++ {
		q := s.running[i]
		n := min(q.Prompt+q.Generated-q.computed, budget)
		if n <= 0 {
			continue
		}
		need := s.blocksFor(q.kv(q.computed+n)) - q.blocks()
		for need > s.free() {
			victim := s.running[len(s.running)-1]
			s.preempt(victim)
			preempted++
			if victim == q {
				break
			}
		}
		if !q.running {
			break
		}
		s.allocate(q, max(need, 0))
		budget -= n
		s.sched = append(s.sched, sched{q, n, 0})
	}
	// Then admit waiting sequences while there is room; none after a
	// preemption, as in vLLM.
	var queries, hitTokens int
	for preempted == 0 && len(s.waiting) > 0 && len(s.running) < s.cfg.MaxNumSeqs && budget > 0 {
		q := s.waiting[0]
		hits, idle := s.lookup(q)
		computed := max(q.computed, hits*s.cfg.BlockSize)
		// An encoder-decoder request's encoder runs in its first step, on
		// the same token budget; a window larger than what is left waits
		// for a step of its own.
		enc := 0
		if !q.encoded {
			enc = q.Encoder
		}
		if enc > 0 && enc >= budget && budget < s.cfg.MaxNumBatchedTokens {
			break
		}
		n := min(q.Prompt+q.Generated-computed, max(budget-enc, 1))
		// Cached blocks no one uses count as free until taken.
		need := s.blocksFor(q.kv(computed+n)) - q.blocks() - hits
		if need+idle > s.free() {
			break
		}
		s.waiting = s.waiting[1:]
		if s.cfg.PrefixCaching && q.computed == 0 {
			s.take(q, hits)
			queries += q.Prompt + q.Generated
			hitTokens += q.computed
		}
		s.allocate(q, need)
		q.running = true
		q.Scheduled = start
		s.running = append(s.running, q)
		budget -= n
		budget -= enc
		s.sched = append(s.sched, sched{q, n, enc})
	}
	st := Step{Start: start, End: start, Preempted: preempted, BlocksTotal: s.totalBlocks,
		PrefixQueries: queries, PrefixHits: hitTokens}
	if len(s.sched) == 0 {
		st.Running, st.Waiting, st.KVUsage = len(s.running), len(s.waiting), s.KVUsage()
		return st
	}
	s.batch = s.batch[:0]
	for _, w := range s.sched {
		s.batch = append(s.batch, Work{NewTokens: w.n, Context: w.q.computed, Encoder: w.enc, Cross: w.q.Encoder})
		if w.q.computed < w.q.Prompt {
			st.Prefill++
		} else {
			st.Decode++
		}
	}
	st.Cost = StepCost(s.cfg.Profile, s.cfg.Hardware, s.batch)
	d := float64(st.Cost.Total) * s.cfg.Slowdown
	if s.cfg.Jitter > 0 {
		d *= math.Max(0.25, 1+s.cfg.Jitter*s.rng.NormFloat64())
	}
	st.End = start.Add(time.Duration(d))
	st.Tokens = st.Cost.Tokens
	s.emitted, s.finished = s.emitted[:0], s.finished[:0]
	for _, w := range s.sched {
		q := w.q
		q.computed += w.n
		q.encoded = q.encoded || w.enc > 0
		s.register(q)
		if q.computed < q.Prompt+q.Generated {
			continue // a prefill chunk that did not reach the end
		}
		if q.MaxOutput > 0 {
			q.Generated++
			if q.Generated == 1 {
				q.FirstToken = st.End
			}
			q.LastToken = st.End
			s.emitted = append(s.emitted, q)
		} else {
			q.FirstToken, q.LastToken = st.End, st.End
		}
		if q.finished() {
			q.Done = true
			s.release(q)
			q.running = false
			s.finished = append(s.finished, q)
		}
	}
	if len(s.finished) > 0 {
		kept := s.running[:0]
		for _, q := range s.running {
			if !q.Done {
				kept = append(kept, q)
			}
		}
		s.running = kept
	}
	st.Emitted, st.Finished = s.emitted, s.finished
	st.Running, st.Waiting, st.KVUsage = len(s.running), len(s.waiting), s.KVUsage()
	return st
}

// cblock is a KV block in the prefix cache.
type cblock struct {
	hash       uint64
	ref        int // sequences using it; 0 = free, in the LRU list
	prev, next *cblock
}

// lruList is an intrusive doubly linked list of the cached blocks no
// sequence uses, least recently freed first.
type lruList struct {
	head, tail *cblock
	n          int
}

func (l *lruList) pushBack(b *cblock) {
	b.prev, b.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = b
	} else {
		l.head = b
	}
	l.tail = b
	l.n++
}

func (l *lruList) remove(b *cblock) {
	if b.prev != nil {
		b.prev.next = b.next
	} else {
		l.head = b.next
	}
	if b.next != nil {
		b.next.prev = b.prev
	} else {
		l.tail = b.prev
	}
	b.prev, b.next = nil, nil
	l.n--
}

func (l *lruList) popFront() *cblock {
	b := l.head
	l.remove(b)
	return b
}
