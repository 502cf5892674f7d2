package perfmodel

import (
	"cmp"
	"fmt"
	"math"
	"time"
)

// Hardware is the CPU the simulated engine runs on. Zero fields take
// DefaultHardware's values in Normalize.
type Hardware struct {
	Cores         int     // cores given to the engine (OpenMP threads)
	CoreFLOPS     float64 // effective bf16 FLOP/s of one core at full matrix-unit utilisation
	CoreBandwidth float64 // bytes/s one core can pull from memory on its own
	NodeBandwidth float64 // bytes/s at which one NUMA node's memory saturates
	CoresPerNode  int     // cores per NUMA node
	NUMANodes     int     // NUMA nodes on the machine
	// SyncOverhead is the serial fraction per added core (OpenMP barriers
	// per layer): effective cores = c / (1 + SyncOverhead*(c-1)).
	SyncOverhead float64
	// HalfUtilTokens is the token count per step at which matrix units
	// reach half their throughput; small batches are GEMV-like.
	HalfUtilTokens float64
	StepOverhead   time.Duration // fixed per step (scheduling, sampling set-up)
	SeqOverhead    time.Duration // per scheduled sequence (sampling, bookkeeping)
	// FrontendPerSeq is the API server's cost per streamed output (detokenise,
	// build and serialise the chunk). The frontend is one serial process
	// beside the engine core (as vLLM's API server): it delays each stream's
	// write by its place in the queue but never lengthens a step.
	FrontendPerSeq time.Duration
}

// DefaultHardware is a current two-socket x86 server (AMX-capable cores
// reaching about a quarter of their bf16 peak in vLLM's kernels, eight DDR5
// channels per socket).
func DefaultHardware() Hardware {
	return Hardware{
		Cores:          8,
		CoreFLOPS:      250e9,
		CoreBandwidth:  12e9,
		NodeBandwidth:  120e9,
		CoresPerNode:   32,
		NUMANodes:      2,
		SyncOverhead:   0.04,
		HalfUtilTokens: 4,
		StepOverhead:   3 * time.Millisecond,
		SeqOverhead:    40 * time.Microsecond,
		FrontendPerSeq: 50 * time.Microsecond,
	}
}

// Normalize fills zero fields from DefaultHardware and checks the result.
func (h Hardware) Normalize() (Hardware, error) {
	d := DefaultHardware()
	h.Cores = cmp.Or(h.Cores, d.Cores)
	h.CoreFLOPS = cmp.Or(h.CoreFLOPS, d.CoreFLOPS)
	h.CoreBandwidth = cmp.Or(h.CoreBandwidth, d.CoreBandwidth)
	h.NodeBandwidth = cmp.Or(h.NodeBandwidth, d.NodeBandwidth)
	h.CoresPerNode = cmp.Or(h.CoresPerNode, d.CoresPerNode)
	h.NUMANodes = cmp.Or(h.NUMANodes, d.NUMANodes)
	h.SyncOverhead = cmp.Or(h.SyncOverhead, d.SyncOverhead)
	h.HalfUtilTokens = cmp.Or(h.HalfUtilTokens, d.HalfUtilTokens)
	h.StepOverhead = cmp.Or(h.StepOverhead, d.StepOverhead)
	h.SeqOverhead = cmp.Or(h.SeqOverhead, d.SeqOverhead)
	h.FrontendPerSeq = cmp.Or(h.FrontendPerSeq, d.FrontendPerSeq)
	switch {
	case h.Cores < 0:
		return h, fmt.Errorf("cores must be > 0, got %d", h.Cores)
	case h.CoreFLOPS < 0 || h.CoreBandwidth < 0 || h.NodeBandwidth < 0:
		return h, fmt.Errorf("core flops and bandwidths must be > 0")
	case h.CoresPerNode < 0 || h.NUMANodes < 0:
		return h, fmt.Errorf("cores per node and numa nodes must be > 0")
	case h.SyncOverhead < 0 || h.HalfUtilTokens < 0:
		return h, fmt.Errorf("sync overhead and half-utilisation tokens must be >= 0")
	case h.StepOverhead < 0 || h.SeqOverhead < 0 || h.FrontendPerSeq < 0:
		return h, fmt.Errorf("overheads must be >= 0")
	}
	return h, nil
}

// nodes is how many NUMA nodes the engine's cores span.
func (h Hardware) nodes() int {
	n := (h.Cores + h.CoresPerNode - 1) / h.CoresPerNode
	return max(1, min(n, h.NUMANodes))
}

// EffectiveCores is the compute the cores deliver together: Amdahl-style
// synchronisation loss, and a further 10% when a rank spans NUMA nodes.
func (h Hardware) EffectiveCores() float64 {
	c := float64(h.Cores)
	e := c / (1 + h.SyncOverhead*(c-1))
	if h.nodes() > 1 {
		e *= 0.9
	}
	return e
}

// Bandwidth is the memory bandwidth the cores reach: per node, c·b / (1 +
// c·b/B) rises linearly for few cores and saturates at the node's B; a rank
// spanning nodes loses a fifth of the remote share to the interconnect.
func (h Hardware) Bandwidth() float64 {
	n := h.nodes()
	per := float64(h.Cores) / float64(n)
	x := per * h.CoreBandwidth
	bw := float64(n) * x / (1 + x/h.NodeBandwidth)
	if n > 1 {
		bw *= 1 - 0.2*float64(n-1)/float64(n)
	}
	return bw
}

// Work is one sequence's share of a step: NewTokens computed on top of
// Context tokens already in its KV cache. For an encoder-decoder model,
// Encoder is the encoder positions computed in this step (the sequence's
// audio window, in its first step) and Cross the encoder states its decoder
// tokens cross-attend to.
type Work struct {
	NewTokens int
	Context   int
	Encoder   int
	Cross     int
}

// Cost breaks a step's time down.
type Cost struct {
	FLOPs, Bytes            float64
	Compute, Memory, Total  time.Duration
	Tokens, Seqs            int
	ComputeBound            bool
	EffectiveCores, BWBytes float64
}

// StepCost is the time one engine step takes for the given batch:
//
//	FLOPs   = 2·P·T + 4·L·H·Σ n_i·(c_i + n_i/2)
//	bytes   = P·d + kv·Σ (c_i + n_i)
//	compute = FLOPs / (C_eff · F_core · T/(T + T_half))
//	memory  = bytes / BW(cores)
//	step    = max(compute, memory) + overhead + seqs·seq_overhead
//
// with T the tokens in the step, n_i and c_i each sequence's new and cached
// tokens, P parameters, L layers, H = heads·head_dim, d dtype bytes, kv the
// KV bytes per token. An encoder-decoder model adds, for E encoder positions
// computed in windows of W: 2·P_enc·E + 4·L_enc·H·W·E (bidirectional
// attention within a window) + 4·L·Hid²·E (the cross-attention keys and
// values) FLOPs and the encoder's weights in bytes when E > 0; and for each
// decoder token 4·L·H·x_i FLOPs and kv·x_i bytes of cross-attention over its
// x_i encoder states. E counts towards T.
func StepCost(p Profile, h Hardware, batch []Work) Cost {
	var tokens, enc int
	var attn, kvTokens, cross float64
	for _, w := range batch {
		n, c := float64(w.NewTokens), float64(w.Context)
		tokens += w.NewTokens
		attn += n * (c + n/2)
		kvTokens += c + n
		enc += w.Encoder
		cross += n * float64(w.Cross)
		if w.NewTokens > 0 {
			kvTokens += float64(w.Cross)
		}
	}
	if tokens+enc == 0 {
		return Cost{}
	}
	T := float64(tokens + enc)
	attnWidth := float64(p.Layers * p.Heads * p.HeadDim)
	flops := 2*p.Params*float64(tokens) + 4*attnWidth*(attn+cross)
	bytes := p.WeightBytes() + p.KVBytesPerToken()*kvTokens
	if enc > 0 {
		E := float64(enc)
		flops += 2*p.EncoderParams*E + 4*float64(p.EncoderLayers*p.Heads*p.HeadDim)*float64(p.EncoderPositions)*E +
			4*float64(p.Layers)*float64(p.Hidden)*float64(p.Hidden)*E
		bytes += p.EncoderWeightBytes()
	}
	ec, bw := h.EffectiveCores(), h.Bandwidth()
	util := T / (T + h.HalfUtilTokens)
	compute := seconds(flops / (ec * h.CoreFLOPS * util))
	memory := seconds(bytes / bw)
	total := max(compute, memory) + h.StepOverhead + time.Duration(len(batch))*h.SeqOverhead
	return Cost{
		FLOPs: flops, Bytes: bytes, Compute: compute, Memory: memory, Total: total,
		Tokens: tokens + enc, Seqs: len(batch), ComputeBound: compute >= memory,
		EffectiveCores: ec, BWBytes: bw,
	}
}

func seconds(s float64) time.Duration {
	if s > math.MaxInt64/1e9 {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(s * 1e9)
}
