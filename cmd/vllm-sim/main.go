// Command vllm-sim is servebench's engine simulator: a server that speaks
// vLLM's OpenAI-compatible API and /metrics with timing from a CPU
// performance model. Flags follow vLLM's names where vLLM has the knob.
//
//	vllm-sim --host 127.0.0.1 --port 8000 --model TinyLlama/TinyLlama-1.1B-Chat-v1.0
//
// Exit codes: 0 after SIGINT/SIGTERM, 1 on a failure or the crash fault, 2 on
// bad flags. --version prints the build and the vLLM version it simulates.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"github.com/servebench/servebench/internal/buildinfo"
	"github.com/servebench/servebench/internal/cli"
	"github.com/servebench/servebench/runner/simulator"
	"github.com/servebench/servebench/runner/simulator/perfmodel"
)

const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

func main() {
	if filepath.Base(os.Args[0]) == "vllm" { // the image's vllm command
		os.Exit(runVLLM(context.Background(), os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
	}
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

// affinityCores counts the CPUs this process may run on, which is what a
// container's --cpuset-cpus leaves it.
func affinityCores() int {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil || set.Count() == 0 {
		return 0
	}
	return set.Count()
}

type options struct {
	host, dtype, logLevel string
	port                  int
	seed                  uint64
	cfg                   simulator.Config
	prof                  perfmodel.Profile
	profileSet            map[string]bool
	embedding             bool
	coreGFLOPS, coreBW    float64
	nodeBW                float64
	hfOverrides           hfOverrides
}

// hfOverrides is the part of vLLM's --hf-overrides (a JSON object merged
// into the model's config.json) that the simulator models: whether the
// embedding model honours "dimensions".
type hfOverrides struct {
	IsMatryoshka         *bool `json:"is_matryoshka"`
	MatryoshkaDimensions []int `json:"matryoshka_dimensions"`
}

func (h *hfOverrides) set(s string) error {
	var all map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &all); err != nil {
		return fmt.Errorf("want a JSON object: %w", err)
	}
	if err := json.Unmarshal([]byte(s), h); err != nil {
		return fmt.Errorf("is_matryoshka must be true or false and matryoshka_dimensions a list of integers: %w", err)
	}
	return nil
}

func (h hfOverrides) any() bool { return h.IsMatryoshka != nil || h.MatryoshkaDimensions != nil }

func newOptions() *options {
	return &options{cfg: simulator.DefaultConfig(), profileSet: map[string]bool{}}
}

func (o *options) register(fs *pflag.FlagSet) {
	c := &o.cfg
	fs.StringVar(&o.host, "host", "127.0.0.1", "address to listen on")
	fs.IntVar(&o.port, "port", 8000, "port to listen on")
	fs.StringVar(&c.Model, "model", c.Model, "Hugging Face model id; known ids select a preset profile")
	fs.StringVar(&c.ServedModelName, "served-model-name", "", "model name in the API (default: --model)")
	fs.IntVar(&c.MaxNumSeqs, "max-num-seqs", c.MaxNumSeqs, "sequences per step at most")
	fs.IntVar(&c.MaxNumBatchedTokens, "max-num-batched-tokens", c.MaxNumBatchedTokens, "tokens per step at most (chunked prefill budget)")
	fs.IntVar(&c.MaxModelLen, "max-model-len", 0, "context length (default: the model's, capped by the KV cache)")
	fs.IntVar(&c.BlockSize, "block-size", c.BlockSize, "tokens per KV-cache block")
	fs.BoolFunc("enable-prefix-caching", "keep prompt blocks for later requests with the same prefix (vLLM's default for generative models)", func(string) error {
		on := true
		c.EnablePrefixCaching = &on
		return nil
	})
	fs.BoolFunc("no-enable-prefix-caching", "turn prefix caching off", func(string) error {
		off := false
		c.EnablePrefixCaching = &off
		return nil
	})
	fs.Func("hf-overrides", `JSON merged into the model's config; the simulator reads "is_matryoshka" and "matryoshka_dimensions"`, o.hfOverrides.set)
	fs.Uint64Var(&o.seed, "seed", 0, "seed for output text, output lengths, jitter and fault draws")
	fs.StringVar(&o.dtype, "dtype", "auto", "weight and KV dtype: auto, bfloat16, float16, float32")
	fs.IntVar(&c.Cores, "cores", 0, "cores the engine computes with (default: CPUs in this process's affinity mask)")
	fs.DurationVar(&c.LoadTime, "load-time", c.LoadTime, "simulated model load; /health is 503 until it passes")
	fs.Float64Var(&c.Jitter, "jitter", 0, "relative std-dev of step time (0 = exactly reproducible)")
	fs.Float64Var(&c.Slowdown, "slowdown", 1, "multiplier on step time (2 = an engine half as fast)")
	fs.IntVar(&c.OutputLenMedian, "output-len-median", c.OutputLenMedian, "median natural output length without ignore_eos")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	// Model profile (for unknown ids, or to resize a preset).
	fs.Func("params", "model parameters, e.g. 7e9", o.profFloat("params", &o.prof.Params))
	fs.Func("layers", "transformer layers", o.profInt("layers", &o.prof.Layers))
	fs.Func("hidden", "hidden size", o.profInt("hidden", &o.prof.Hidden))
	fs.Func("heads", "attention heads", o.profInt("heads", &o.prof.Heads))
	fs.Func("kv-heads", "key/value heads", o.profInt("kv-heads", &o.prof.KVHeads))
	fs.Func("head-dim", "dimension per head", o.profInt("head-dim", &o.prof.HeadDim))
	fs.Func("model-context-len", "the model's own context length", o.profInt("model-context-len", &o.prof.MaxModelLen))
	fs.BoolVar(&o.embedding, "embedding", false, "the model is an embedding model (with --hidden as its dimension)")
	// Hardware profile; 0 leaves perfmodel's default, which the usage names.
	hw := perfmodel.DefaultHardware()
	fs.Float64Var(&o.coreGFLOPS, "core-gflops", 0, fmt.Sprintf("effective bf16 GFLOP/s per core (default %g)", hw.CoreFLOPS/1e9))
	fs.Float64Var(&o.coreBW, "core-mem-bw", 0, fmt.Sprintf("GB/s one core pulls from memory (default %g)", hw.CoreBandwidth/1e9))
	fs.Float64Var(&o.nodeBW, "node-mem-bw", 0, fmt.Sprintf("GB/s at which one NUMA node saturates (default %g)", hw.NodeBandwidth/1e9))
	fs.IntVar(&c.Hardware.CoresPerNode, "cores-per-numa-node", 0, fmt.Sprintf("cores per NUMA node (default %d)", hw.CoresPerNode))
	fs.IntVar(&c.Hardware.NUMANodes, "numa-nodes", 0, fmt.Sprintf("NUMA nodes (default %d)", hw.NUMANodes))
	// Faults.
	f := &c.Faults
	fs.Float64Var(&f.ErrorRate, "fault-error-rate", 0, "fraction of requests answered 500")
	fs.Float64Var(&f.StallRate, "fault-stall-rate", 0, "fraction of streams that stall mid-stream")
	fs.IntVar(&f.StallAfter, "fault-stall-after", 1, "tokens before a stall")
	fs.DurationVar(&f.StallFor, "fault-stall-for", 5*time.Second, "length of a stall")
	fs.Float64Var(&f.DropRate, "fault-drop-rate", 0, "fraction of streams whose connection is cut")
	fs.IntVar(&f.DropAfter, "fault-drop-after", 1, "tokens before a cut")
	fs.Float64Var(&f.MalformedRate, "fault-malformed-rate", 0, "fraction of streams with one invalid JSON chunk")
	fs.IntVar(&f.MalformedAfter, "fault-malformed-after", 1, "index of the malformed token chunk")
	fs.IntVar(&f.CrashAfter, "fault-crash-after", 0, "exit 1 once this many requests finished (0 = never)")
	fs.DurationVar(&f.SlowLoad, "fault-slow-load", 0, "extra model load time")
}

// parse parses a command line without running it.
func parse(args []string, stderr io.Writer, getenv func(string) string) (*options, error) {
	o := newOptions()
	fs := pflag.NewFlagSet("vllm-sim", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	o.register(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return o, o.finish(fs.Args(), getenv)
}

// finish applies the positional model and the environment, and checks the
// options. The model may also stand between flags (`--host 0.0.0.0 MODEL
// --port 1`), as it does after the image's entrypoint.
func (o *options) finish(args []string, getenv func(string) string) error {
	c := &o.cfg
	switch len(args) {
	case 0:
	case 1:
		c.Model = args[0]
	default:
		return cli.Usagef("unexpected argument %q", args[1])
	}
	c.Seed = o.seed
	if v := getenv("VLLM_CPU_KVCACHE_SPACE"); v != "" {
		gib, err := strconv.ParseFloat(v, 64)
		if err != nil || gib < 0 {
			return cli.Usagef("VLLM_CPU_KVCACHE_SPACE=%q: want a number of GiB", v)
		}
		if gib > 0 { // vLLM treats 0 as "use the default"
			c.KVCacheSpaceGiB = gib
		}
	}
	if c.Cores == 0 {
		c.Cores = affinityCores()
	}
	c.Hardware.CoreFLOPS = o.coreGFLOPS * 1e9
	c.Hardware.CoreBandwidth = o.coreBW * 1e9
	c.Hardware.NodeBandwidth = o.nodeBW * 1e9
	if err := o.profile(); err != nil {
		return cli.Usage(err)
	}
	return nil
}

func (o *options) profFloat(name string, dst *float64) func(string) error {
	return func(s string) error {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || v <= 0 {
			return fmt.Errorf("want a positive number")
		}
		*dst, o.profileSet[name] = v, true
		return nil
	}
}

func (o *options) profInt(name string, dst *int) func(string) error {
	return func(s string) error {
		v, err := strconv.Atoi(s)
		if err != nil || v <= 0 {
			return fmt.Errorf("want a positive integer")
		}
		*dst, o.profileSet[name] = v, true
		return nil
	}
}

// profile builds Config.Profile when a profile flag or --dtype changes the
// preset (or the generic profile).
func (o *options) profile() error {
	var bytes float64
	switch o.dtype {
	case "auto":
	case "bfloat16", "float16", "half":
		bytes = 2
	case "float32", "float":
		bytes = 4
	default:
		return fmt.Errorf("--dtype %q: want auto, bfloat16, float16 or float32", o.dtype)
	}
	if len(o.profileSet) == 0 && bytes == 0 && !o.embedding && !o.hfOverrides.any() {
		return nil // the preset (or the generic profile, with its warning)
	}
	p, ok := perfmodel.Preset(o.cfg.Model)
	if !ok {
		p = perfmodel.Generic(o.cfg.Model)
	}
	set := func(name string, dst *int, v int) {
		if o.profileSet[name] {
			*dst = v
		}
	}
	if o.profileSet["params"] {
		p.Params = o.prof.Params
	}
	set("layers", &p.Layers, o.prof.Layers)
	set("hidden", &p.Hidden, o.prof.Hidden)
	set("heads", &p.Heads, o.prof.Heads)
	set("kv-heads", &p.KVHeads, o.prof.KVHeads)
	set("head-dim", &p.HeadDim, o.prof.HeadDim)
	set("model-context-len", &p.MaxModelLen, o.prof.MaxModelLen)
	if bytes > 0 {
		p.DtypeBytes = bytes
	}
	if o.embedding {
		p.Embedding, p.EmbedDim = true, p.Hidden
	}
	if h := o.hfOverrides; h.any() {
		if !p.Embedding {
			return fmt.Errorf("--hf-overrides: matryoshka settings need an embedding model (%s generates text)", o.cfg.Model)
		}
		if h.IsMatryoshka != nil {
			p.Matryoshka = *h.IsMatryoshka
		}
		if h.MatryoshkaDimensions != nil {
			p.Matryoshka, p.MatryoshkaDims = true, h.MatryoshkaDimensions
		}
	}
	o.cfg.Profile = &p
	return nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	o := newOptions()
	root := newRoot(o, stderr, getenv)
	cli.Setup(root, stdout, stderr, buildinfo.Get().String("vllm-sim")+"\nsimulates vLLM "+o.cfg.Version)
	cmd, err := cli.Execute(ctx, root, args)
	switch {
	case err == nil:
		return exitOK
	case cli.IsUsage(err):
		cli.Report(stderr, cmd, err)
		return exitUsage
	default:
		if !errors.Is(err, errCrashed) && !errors.Is(err, errShown) {
			cli.Report(stderr, cmd, err)
		}
		return exitFailure
	}
}

func newRoot(o *options, stderr io.Writer, getenv func(string) string) *cobra.Command {
	root := &cobra.Command{
		Use:   "vllm-sim [MODEL] [flags]",
		Short: "serve vLLM's OpenAI API and /metrics with timing from a CPU performance model",
		Long: `vllm-sim is servebench's engine simulator: a server that speaks vLLM's
OpenAI-compatible API and /metrics, with step times from a CPU performance
model (cores, memory bandwidth, batching, KV-cache capacity). Flags follow
vLLM's names where vLLM has the knob.

Environment: VLLM_CPU_KVCACHE_SPACE (GiB, default 4).`,
		Example: `  vllm-sim --host 127.0.0.1 --port 8000 --model TinyLlama/TinyLlama-1.1B-Chat-v1.0
  vllm-sim Qwen/Qwen3-0.6B --cores 8 --max-num-seqs 64
  vllm-sim --fault-error-rate 0.05 --fault-stall-rate 0.01`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.finish(args, getenv); err != nil {
				return err
			}
			return serve(cmd.Context(), o, stderr)
		},
	}
	o.register(root.Flags())
	root.AddCommand(cli.Healthcheck("  vllm-sim healthcheck http://127.0.0.1:8000/health"))
	return root
}

// errShown is a failure already logged.
var errShown = errors.New("server stopped")

// errCrashed is the crash fault: a process exit with no goodbye.
var errCrashed = errors.New("crashed")

func serve(ctx context.Context, o *options, stderr io.Writer) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return cli.Usagef("--log-level: %v", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	eng, err := simulator.New(o.cfg, log)
	if err != nil {
		return cli.Usage(err)
	}
	l, err := net.Listen("tcp", net.JoinHostPort(o.host, strconv.Itoa(o.port)))
	if err != nil {
		return fmt.Errorf("--host/--port: %w", err)
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	log.Info("listening", "addr", l.Addr().String())
	done := make(chan error, 1)
	go func() { done <- eng.Run(ctx, l) }()
	select {
	case err := <-done:
		if err != nil {
			log.Error("server stopped", "err", err)
			return errShown
		}
		return nil
	case <-eng.Crashed():
		return errCrashed
	}
}
