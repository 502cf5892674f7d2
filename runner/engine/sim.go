package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/servebench/servebench/runner/simulator"
	"github.com/servebench/servebench/runner/topology"
)

// Sim serves the engine simulator in-process on 127.0.0.1. It is what runs
// on a machine without vLLM or Docker. The simulator's cores come from
// len(Spec.CPUs) (the process is not pinned: the model, not the kernel,
// decides its speed).
type Sim struct {
	base   simulator.Config
	client *http.Client
	log    *slog.Logger
}

// NewSim returns the sim driver. base is the template every instance starts
// from (simulator.DefaultConfig() plus any test knobs such as Slowdown);
// Spec fields override Model, ServedModelName, Cores and KV cache space.
func NewSim(base simulator.Config, client *http.Client, log *slog.Logger) *Sim {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sim{base: base, client: client, log: log}
}

// Name implements Driver.
func (*Sim) Name() string { return "sim" }

// SimConfig is the simulator configuration Start would use for spec.
// Spec.ExtraArgs may carry vLLM's --max-num-seqs, --max-num-batched-tokens,
// --max-model-len, --block-size and --seed (as "--flag value" or
// "--flag=value") and --enable-prefix-caching / --no-enable-prefix-caching;
// other vLLM flags have no simulated meaning and are ignored.
func (d *Sim) SimConfig(spec Spec) (simulator.Config, error) {
	cfg := d.base
	if spec.Model != "" {
		cfg.Model = spec.Model
		cfg.ServedModelName = ""
	}
	if spec.ServedName != "" {
		cfg.ServedModelName = spec.ServedName
	}
	if len(spec.CPUs) > 0 {
		cfg.Cores = len(spec.CPUs)
	}
	if spec.KVCacheGiB > 0 {
		cfg.KVCacheSpaceGiB = spec.KVCacheGiB
	}
	ints := map[string]*int{
		"--max-num-seqs": &cfg.MaxNumSeqs, "--max-num-batched-tokens": &cfg.MaxNumBatchedTokens,
		"--max-model-len": &cfg.MaxModelLen, "--block-size": &cfg.BlockSize,
	}
	args := spec.ExtraArgs
	for i := 0; i < len(args); i++ {
		name, val, inline := cutFlag(args[i])
		if on, ok := prefixCachingFlags[name]; ok && !inline {
			cfg.EnablePrefixCaching = &on
			continue
		}
		p, known := ints[name]
		if !known && name != "--seed" {
			continue
		}
		if !inline {
			if i+1 >= len(args) {
				return cfg, fmt.Errorf("extra args: %s needs a value", name)
			}
			i++
			val = args[i]
		}
		n, err := strconv.ParseUint(val, 10, 63)
		if err != nil {
			return cfg, fmt.Errorf("extra args: %s %q: want a non-negative integer", name, val)
		}
		if name == "--seed" {
			cfg.Seed = n
		} else {
			*p = int(n)
		}
	}
	return cfg, nil
}

// prefixCachingFlags are vLLM's boolean pair for prefix caching.
var prefixCachingFlags = map[string]bool{"--enable-prefix-caching": true, "--no-enable-prefix-caching": false}

func cutFlag(a string) (name, val string, inline bool) {
	for i := 0; i < len(a); i++ {
		if a[i] == '=' {
			return a[:i], a[i+1:], true
		}
	}
	return a, "", false
}

// Start builds the simulator, listens on Spec.Host:Spec.Port (127.0.0.1 and
// a free port by default) and serves it until Stop.
func (d *Sim) Start(ctx context.Context, spec Spec) (Instance, error) {
	cfg, err := d.SimConfig(spec)
	if err != nil {
		return nil, err
	}
	inst := &simInstance{d: d, spec: spec, died: make(chan error, 1), done: make(chan struct{}), tail: newTail(30)}
	logger, err := inst.openLog()
	if err != nil {
		return nil, err
	}
	eng, err := simulator.New(cfg, logger)
	if err != nil {
		inst.closeLog()
		return nil, fmt.Errorf("sim engine: %w", err)
	}
	host := spec.Host
	if host == "" {
		host = "127.0.0.1"
	}
	l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(spec.Port)))
	if err != nil {
		inst.closeLog()
		return nil, fmt.Errorf("sim engine: %w", err)
	}
	served := cfg.ServedModelName
	if served == "" {
		served = cfg.Model
	}
	if inst.spec.Task == "" { // the simulated model says what it does
		switch p := eng.Profile(); {
		case p.Embedding:
			inst.spec.Task = TaskEmbed
		case p.EncoderDecoder():
			inst.spec.Task = TaskTranscribe
		}
	}
	inst.eng, inst.model = eng, served
	inst.url = "http://" + l.Addr().String()
	inst.info = Info{Driver: "sim", URL: inst.url, Model: served, ModelRoot: cfg.Model, CPUSet: topology.FormatList(spec.CPUs),
		Labels: spec.Labels, LogPath: inst.logPath, Env: map[string]string{"cores": strconv.Itoa(cfg.Cores)}}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	inst.cancel = cancel
	go func() {
		defer close(inst.done)
		inst.runErr = eng.Run(runCtx, l)
	}()
	go inst.watch(runCtx)
	d.log.Info("sim engine serving", "url", inst.url, "model", served, "cores", cfg.Cores)
	return inst, nil
}

type simInstance struct {
	d       *Sim
	spec    Spec
	eng     *simulator.Engine
	url     string
	cancel  context.CancelFunc
	done    chan struct{} // Run returned
	runErr  error
	died    chan error
	tail    *tail
	logFile *os.File
	logPath string

	mu       sync.Mutex
	model    string
	info     Info
	stopping bool
	stopped  bool
}

func (i *simInstance) openLog() (*slog.Logger, error) {
	var w io.Writer = i.tail
	if i.spec.LogDir != "" {
		if err := os.MkdirAll(i.spec.LogDir, 0o755); err != nil {
			return nil, fmt.Errorf("log dir: %w", err)
		}
		name := i.spec.Name
		if name == "" {
			name = "engine"
		}
		i.logPath = filepath.Join(i.spec.LogDir, nameChars.ReplaceAllString(name, "-")+".log")
		f, err := os.Create(i.logPath)
		if err != nil {
			return nil, fmt.Errorf("engine log: %w", err)
		}
		i.logFile = f
		w = io.MultiWriter(f, i.tail)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo})), nil
}

func (i *simInstance) closeLog() {
	if i.logFile != nil {
		i.logFile.Close()
	}
}

// watch reports a crash (the simulator's fault injection) or a server that
// stopped on its own as a death.
func (i *simInstance) watch(ctx context.Context) {
	var exit *ExitError
	select {
	case <-ctx.Done():
		return
	case <-i.eng.Crashed():
		exit = &ExitError{Name: i.name(), ExitCode: 1, Err: simulator.ErrCrashed}
	case <-i.done:
		exit = &ExitError{Name: i.name(), ExitCode: -1, Err: errors.Join(errors.New("server stopped"), i.runErr)}
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.stopping {
		return
	}
	exit.LastLines = i.tail.lines()
	i.died <- exit
}

func (i *simInstance) name() string {
	if i.spec.Name != "" {
		return i.spec.Name
	}
	return "sim"
}

func (i *simInstance) URL() string { return i.url }

func (i *simInstance) Model() string {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.model
}

func (i *simInstance) Info() Info {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.info
}

func (i *simInstance) Died() <-chan error { return i.died }

func (i *simInstance) Ready(ctx context.Context) error {
	p, err := Probe(ctx, i.d.client, i.d.log, ProbeConfig{
		URL: i.url, APIKey: i.spec.APIKey, Model: i.Model(), Task: i.spec.Task,
		Timeout: i.spec.ReadyTimeout, Died: i.died,
	})
	if err != nil {
		return fmt.Errorf("sim engine %s: %w", i.url, err)
	}
	i.mu.Lock()
	i.model = p.Model
	i.info.Model, i.info.MaxModelLen, i.info.EngineVersion = p.Model, p.MaxModelLen, p.Version
	i.mu.Unlock()
	return nil
}

// Stop closes the engine and its server and waits for both; idempotent.
func (i *simInstance) Stop(context.Context) error {
	i.mu.Lock()
	if i.stopped {
		i.mu.Unlock()
		return nil
	}
	i.stopping, i.stopped = true, true
	i.mu.Unlock()
	i.cancel()
	<-i.done
	i.closeLog()
	close(i.died)
	if i.runErr != nil {
		return fmt.Errorf("sim engine: %w", i.runErr)
	}
	return nil
}
