package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/servebench/servebench/internal/buildinfo"
	"github.com/servebench/servebench/internal/e2e"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestParseDefaults(t *testing.T) {
	o, err := parse(nil, &bytes.Buffer{}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		t.Fatal(err)
	}
	c := o.cfg
	if c.Cores != set.Count() {
		t.Errorf("cores %d, affinity mask has %d", c.Cores, set.Count())
	}
	if c.Model != "TinyLlama/TinyLlama-1.1B-Chat-v1.0" || c.MaxNumSeqs != 128 || c.MaxNumBatchedTokens != 2048 ||
		c.BlockSize != 128 || c.KVCacheSpaceGiB != 4 || c.Profile != nil || o.host != "127.0.0.1" || o.port != 8000 {
		t.Errorf("defaults: %+v host %s port %d", c, o.host, o.port)
	}
}

func TestParseFlags(t *testing.T) {
	args := []string{"--host", "0.0.0.0", "Qwen/Qwen3-0.6B", "--port", "9001", "--served-model-name", "qwen",
		"--max-num-seqs", "64", "--max-num-batched-tokens", "4096", "--max-model-len", "8192", "--block-size", "32",
		"--seed", "7", "--cores", "3", "--load-time", "2s", "--jitter", "0.05", "--slowdown", "1.5",
		"--fault-error-rate", "0.1", "--fault-drop-rate", "0.2", "--fault-drop-after", "4", "--fault-crash-after", "9",
		"--fault-slow-load", "1m", "--dtype", "float32"}
	o, err := parse(args, &bytes.Buffer{}, env(map[string]string{"VLLM_CPU_KVCACHE_SPACE": "12.5"}))
	if err != nil {
		t.Fatal(err)
	}
	c := o.cfg
	got := fmt.Sprintf("%s %s %d %d %d %d %d %d %s %g %g %g %g %d %d %s %g",
		c.Model, c.ServedModelName, c.MaxNumSeqs, c.MaxNumBatchedTokens, c.MaxModelLen, c.BlockSize, c.Seed, c.Cores,
		c.LoadTime, c.Jitter, c.Slowdown, c.Faults.ErrorRate, c.Faults.DropRate, c.Faults.DropAfter, c.Faults.CrashAfter,
		c.Faults.SlowLoad, c.KVCacheSpaceGiB)
	want := "Qwen/Qwen3-0.6B qwen 64 4096 8192 32 7 3 2s 0.05 1.5 0.1 0.2 4 9 1m0s 12.5"
	if got != want {
		t.Errorf("parsed\n %s\nwant\n %s", got, want)
	}
	if o.host != "0.0.0.0" || o.port != 9001 {
		t.Errorf("listen %s:%d", o.host, o.port)
	}
	if c.Profile == nil || c.Profile.DtypeBytes != 4 || c.Profile.Layers != 28 {
		t.Errorf("--dtype float32 should copy the Qwen3 preset with 4-byte weights: %+v", c.Profile)
	}
}

func TestParseProfileFlags(t *testing.T) {
	o, err := parse([]string{"--model", "acme/my-7b", "--params", "7e9", "--layers", "32", "--hidden", "4096",
		"--heads", "32", "--kv-heads", "8", "--head-dim", "128", "--model-context-len", "8192"}, &bytes.Buffer{}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	p := o.cfg.Profile
	if p == nil || p.ID != "acme/my-7b" || p.Params != 7e9 || p.Layers != 32 || p.Hidden != 4096 || p.KVHeads != 8 ||
		p.HeadDim != 128 || p.MaxModelLen != 8192 {
		t.Errorf("profile %+v", p)
	}
}

func TestParsePrefixCachingAndOverrides(t *testing.T) {
	o, err := parse([]string{"--no-enable-prefix-caching"}, &bytes.Buffer{}, env(nil))
	if err != nil || o.cfg.EnablePrefixCaching == nil || *o.cfg.EnablePrefixCaching {
		t.Errorf("--no-enable-prefix-caching: %v %v", o.cfg.EnablePrefixCaching, err)
	}
	o, err = parse([]string{"--enable-prefix-caching"}, &bytes.Buffer{}, env(nil))
	if err != nil || o.cfg.EnablePrefixCaching == nil || !*o.cfg.EnablePrefixCaching {
		t.Errorf("--enable-prefix-caching: %v %v", o.cfg.EnablePrefixCaching, err)
	}
	o, err = parse(nil, &bytes.Buffer{}, env(nil))
	if err != nil || o.cfg.EnablePrefixCaching != nil {
		t.Errorf("default leaves vLLM's per-model default: %v %v", o.cfg.EnablePrefixCaching, err)
	}
	o, err = parse([]string{"sentence-transformers/all-MiniLM-L6-v2", "--hf-overrides", `{"matryoshka_dimensions":[128,256],"architectures":["BertModel"]}`},
		&bytes.Buffer{}, env(nil))
	if err != nil || o.cfg.Profile == nil || !o.cfg.Profile.Matryoshka || fmt.Sprint(o.cfg.Profile.MatryoshkaDims) != "[128 256]" {
		t.Errorf("--hf-overrides matryoshka_dimensions: %+v %v", o.cfg.Profile, err)
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		args []string
		env  map[string]string
		msg  string
	}{
		{[]string{"--max-num-seqs", "x"}, nil, "max-num-seqs"},
		{[]string{"--dtype", "int3"}, nil, "--dtype"},
		{[]string{"--layers", "-1"}, nil, "layers"},
		{[]string{"a/b", "c/d"}, nil, "unexpected argument"},
		{nil, map[string]string{"VLLM_CPU_KVCACHE_SPACE": "lots"}, "VLLM_CPU_KVCACHE_SPACE"},
		{[]string{"--hf-overrides", "is_matryoshka"}, nil, "hf-overrides"},
		{[]string{"--hf-overrides", `{"is_matryoshka":true}`}, nil, "need an embedding model"},
	}
	for _, c := range cases {
		var stderr bytes.Buffer
		_, err := parse(c.args, &stderr, env(c.env))
		if err == nil || !strings.Contains(err.Error()+stderr.String(), c.msg) {
			t.Errorf("%v: error %v (stderr %q), want one naming %q", c.args, err, stderr.String(), c.msg)
		}
	}
	var out bytes.Buffer
	if code := run(context.Background(), []string{"--slowdown", "0"}, &out, &out, env(nil)); code != exitUsage {
		t.Errorf("invalid config: exit %d, want %d", code, exitUsage)
	}
}

// TestRunServesAndStops runs the command in-process on a free port: it
// serves until its context ends (exit 0), and the crash fault exits 1.
func TestRunServesAndStops(t *testing.T) {
	port := e2e.FreePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	code := make(chan int, 1)
	var logs bytes.Buffer
	go func() {
		code <- run(ctx, []string{"--port", fmt.Sprint(port), "--load-time", "0", "--slowdown", "0.01",
			"--fault-crash-after", "2", "--log-level", "warn"}, &logs, &logs, env(nil))
	}()
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	e2e.WaitHTTP(t, url+"/health", 10*time.Second)
	for i := range 2 {
		resp, err := http.Post(url+"/v1/completions", "application/json", strings.NewReader(`{"prompt":"hi","max_tokens":2}`))
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		resp.Body.Close()
	}
	select {
	case c := <-code:
		if c != exitFailure {
			t.Errorf("crash fault: exit %d, want %d", c, exitFailure)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no exit after the crash fault")
	}

	port = e2e.FreePort(t)
	ctx2, cancel2 := context.WithCancel(context.Background())
	go func() {
		code <- run(ctx2, []string{"--port", fmt.Sprint(port), "--load-time", "0"}, &logs, &logs, env(nil))
	}()
	e2e.WaitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/health", port), 10*time.Second)
	cancel2()
	select {
	case c := <-code:
		if c != exitOK {
			t.Errorf("after cancel: exit %d, want 0\n%s", c, logs.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no exit after cancel")
	}
}

func TestVersionAndInterspersedModel(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"--version"}, &out, &errb, env(nil)); code != exitOK ||
		!strings.HasPrefix(out.String(), buildinfo.Get().String("vllm-sim")+"\nsimulates vLLM ") {
		t.Errorf("--version: exit %d: %q", code, out.String())
	}
	o, err := parse([]string{"--host", "0.0.0.0", "acme/x", "--port", "1"}, &errb, env(nil))
	if err != nil || o.cfg.Model != "acme/x" || o.port != 1 || o.host != "0.0.0.0" {
		t.Errorf("model between flags: %v %+v", err, o)
	}
}
