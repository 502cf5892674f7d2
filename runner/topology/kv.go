package topology

import (
	"fmt"
	"math"
)

// KV describes what the KV-cache check needs of a model and an engine
// configuration.
type KV struct {
	CacheGiB        float64 // VLLM_CPU_KVCACHE_SPACE, per rank
	WeightBytes     int64   // the model's weights; each rank holds 1/TP of them
	KVBytesPerToken int64   // K and V for one token over all layers
	MaxModelLen     int     // the longest sequence the engine accepts
}

const gib = 1 << 30

// CheckKV verifies that the KV cache holds at least one sequence of
// MaxModelLen tokens (vLLM refuses to start otherwise, the failure users hit
// with the 4 GiB default at 40k context) and that each rank's weights plus
// its KV cache fit in its NUMA node's memory (vLLM's CPU worker is killed
// otherwise). Unknown sizes (zero) skip the part of the check that needs them.
func (t *Topology) CheckKV(a Allocation, kv KV) error {
	if kv.CacheGiB <= 0 {
		return fmt.Errorf("kv cache: %g GiB is not a positive size", kv.CacheGiB)
	}
	perRank := kv.CacheGiB * gib
	if need := float64(kv.KVBytesPerToken) * float64(kv.MaxModelLen); need > 0 && perRank < need {
		return fmt.Errorf("kv cache: VLLM_CPU_KVCACHE_SPACE=%gGiB holds %d tokens, max_model_len %d needs %.2f GiB",
			kv.CacheGiB, int64(perRank)/kv.KVBytesPerToken, kv.MaxModelLen, need/gib)
	}
	tp := max(a.TP, 1)
	for _, m := range a.Mems {
		i := t.nodeIndex(m)
		if i < 0 || t.Nodes[i].MemTotal == 0 {
			continue
		}
		need := float64(kv.WeightBytes)/float64(tp) + perRank
		if total := float64(t.Nodes[i].MemTotal); need > total {
			return fmt.Errorf("kv cache: node %d has %.1f GiB of memory; weights (%.1f GiB per rank) plus %gGiB of KV cache need %.1f GiB",
				m, total/gib, float64(kv.WeightBytes)/float64(tp)/gib, kv.CacheGiB, need/gib)
		}
	}
	return nil
}

// SizeKV picks VLLM_CPU_KVCACHE_SPACE for an allocation: the wanted size,
// lowered to what the smallest node can hold next to 1/TP of the weights
// with 10% of the node left for the rest of the process, in whole GiB, and
// never below one full sequence. The result is then checked by CheckKV.
func (t *Topology) SizeKV(a Allocation, kv KV, wantGiB float64) float64 {
	tp := max(a.TP, 1)
	size := wantGiB
	for _, m := range a.Mems {
		i := t.nodeIndex(m)
		if i < 0 || t.Nodes[i].MemTotal == 0 {
			continue
		}
		room := float64(t.Nodes[i].MemTotal)*0.9 - float64(kv.WeightBytes)/float64(tp)
		size = math.Min(size, math.Floor(room/gib))
	}
	if seq := float64(kv.KVBytesPerToken) * float64(kv.MaxModelLen); seq > 0 {
		size = math.Max(size, math.Ceil(seq/gib))
	}
	return math.Max(size, 1)
}
