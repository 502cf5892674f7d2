package engine

import "github.com/servebench/servebench/runner/simulator"

// simFlags are the flags cmd/vllm-sim accepts (true = boolean). vLLM flags
// outside this set have no simulated meaning; the simulator image would
// refuse them, so the docker driver drops them for FlavorSim.
var simFlags = map[string]bool{
	"host": false, "port": false, "model": false, "served-model-name": false, "max-num-seqs": false,
	"max-num-batched-tokens": false, "max-model-len": false, "block-size": false, "seed": false, "dtype": false,
	"cores": false, "load-time": false, "jitter": false, "slowdown": false, "output-len-median": false,
	"log-level": false, "version": true, "embedding": true, "params": false, "layers": false, "hidden": false,
	"heads": false, "kv-heads": false, "head-dim": false, "model-context-len": false, "core-gflops": false,
	"core-mem-bw": false, "node-mem-bw": false, "cores-per-numa-node": false, "numa-nodes": false,
	"fault-error-rate": false, "fault-stall-rate": false, "fault-stall-after": false, "fault-stall-for": false,
	"fault-drop-rate": false, "fault-drop-after": false, "fault-malformed-rate": false,
	"fault-malformed-after": false, "fault-crash-after": false, "fault-slow-load": false,
	"enable-prefix-caching": true, "no-enable-prefix-caching": true, "hf-overrides": false,
}

// SimArgs splits vLLM-style arguments into those the simulator understands
// and those it does not. An unknown flag written "--flag value" takes its
// value with it when the next word is not a flag.
func SimArgs(args []string) (kept, dropped []string) { return simulator.SplitArgs(args, simFlags) }
