package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/servebench/servebench/internal/buildinfo"
	"github.com/servebench/servebench/internal/e2e"
	"github.com/servebench/servebench/runner/engine"
	"github.com/servebench/servebench/runner/simulator"
	"github.com/servebench/servebench/runner/store"
	"github.com/servebench/servebench/runner/thirdparty/metered"
)

func TestStartDryRun(t *testing.T) {
	code, out, errOut := runCLI(t, nil, "start", "--suite", "concurrent-load", "--models", "TinyLlama/TinyLlama-1.1B-Chat-v1.0", "--cores", "8", "--dry-run")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"suite concurrent-load (built-in): 4 cells, 24 load levels, 8 skipped",
		"cell 1/4 TinyLlama__TinyLlama-1.1B-Chat-v1.0_chat_baseline_8c",
		"engine 1: in-process simulator, model TinyLlama/TinyLlama-1.1B-Chat-v1.0, 8 cores, --max-model-len 2048 --block-size 128 --no-enable-prefix-caching",
		"--enable-prefix-caching",
		"TinyLlama__TinyLlama-1.1B-Chat-v1.0_rag_baseline_8c: workload rag needs 8192 tokens of context",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run lacks %q:\n%s", want, out)
		}
	}
	// Environment beats the suite, flags beat the environment.
	env := map[string]string{"SERVEBENCH_CORES": "4", "SERVEBENCH_MAX_SECONDS": "3"}
	_, out, _ = runCLI(t, env, "start", "--suite", "smoke", "--dry-run")
	if !strings.Contains(out, "Qwen__Qwen3-0.6B_chat_lite_4c") || !strings.Contains(out, "each at most 3s") {
		t.Errorf("env layer ignored:\n%s", out)
	}
	_, out, _ = runCLI(t, env, "start", "--suite", "smoke", "--cores", "2", "--dry-run")
	if !strings.Contains(out, "Qwen__Qwen3-0.6B_chat_lite_2c") {
		t.Errorf("flag layer ignored:\n%s", out)
	}
}

func TestStartDryRunDocker(t *testing.T) {
	root := "../../runner/topology/testdata/two-node"
	f, err := parseStartFlags([]string{"--suite", "scaling", "--engine", "docker", "--cores", "8,24", "--image", "servebench/vllm-sim:dev", "--dry-run"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := setupStart(f, func(string) string { return "" }, root)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := printDryRun(&b, st, metered.Launch{}, 0, func(k string) string { return map[string]string{"HF_TOKEN": "hf_secret"}[k] }); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"engine 1 placement: 8cores-numa0-tp1, cpus 0-7, mems 0, TP 1",
		"--cpuset-cpus 0-7",
		"-e VLLM_CPU_OMP_THREADS_BIND=0-7",
		"-e OMP_NUM_THREADS=8",
		"-e 'HF_TOKEN=<redacted>'",
		"runner and load generator pinned to cpus 16-17",
		"engine 1 placement: 24cores-numa0-1-tp2, cpus 0-11,16-27, mems 0-1, TP 2",
		"-e 'VLLM_CPU_OMP_THREADS_BIND=0-11|16-27'",
		"servebench/vllm-sim:dev --model TinyLlama/TinyLlama-1.1B-Chat-v1.0 --host 127.0.0.1 --port 8000",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "hf_secret") {
		t.Error("a secret was printed")
	}
	f.reserveFrontend = true
	st, err = setupStart(f, func(string) string { return "" }, root)
	if err != nil {
		t.Fatal(err)
	}
	b.Reset()
	printDryRun(&b, st, metered.Launch{}, 0, func(string) string { return "" })
	if out := b.String(); !strings.Contains(out, "--cpuset-cpus 0-7") || !strings.Contains(out, "-e VLLM_CPU_OMP_THREADS_BIND=0-6") || !strings.Contains(out, "-e OMP_NUM_THREADS=7") {
		t.Errorf("--reserve-frontend-core: the bind must leave core 7 to the API server:\n%s", out)
	}
}

func TestStartUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"start"}, "start: --suite is required"},
		{[]string{"start", "--suite", "nightly"}, `unknown suite "nightly"`},
		{[]string{"start", "--suite", "smoke", "--cores", "x"}, `--cores: "x" is not a positive core count`},
		{[]string{"start", "--suite", "smoke", "--engine", "external"}, "target: the external engine needs a URL"},
		{[]string{"start", "--suite", "smoke", "--loadgen", "locust"}, `loadgen: unknown load generator "locust"`},
		{[]string{"start", "--suite", "smoke", "--max-seconds", "-1"}, "--max-seconds: -1 is not a positive number of seconds"},
		{[]string{"start", "--suite", "smoke", "--resume", "nope", "--results", "/nonexistent"}, "resume nope: run not found"},
	} {
		code, _, errOut := runCLI(t, nil, tc.args...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", tc.args, code, errOut, tc.want)
		}
	}
}

// TestStartSmoke runs the smoke suite for real on the in-process simulator,
// scraping the live endpoint while it runs.
func TestStartSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the smoke suite")
	}
	dir := t.TempDir()
	port := e2e.FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	// Scrape like Prometheus would, all through the run: one body from
	// while requests flow, and the last one, which must carry the summary of
	// the run's final benchmark (the runner waits for that scrape).
	scraped, last := make(chan string, 1), make(chan string, 1)
	runDone := make(chan struct{})
	go func() {
		var live, final string
		for {
			select {
			case <-runDone:
				scraped <- live
				last <- final
				return
			case <-time.After(200 * time.Millisecond):
			}
			resp, err := http.Get("http://" + addr + "/metrics")
			if err != nil {
				continue
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			final = string(b)
			if live == "" && strings.Contains(final, "servebench_requests_total{") {
				live = final
			}
		}
	}()
	start := time.Now()
	code, out, errOut := runCLI(t, nil, "start", "--suite", "smoke", "--max-seconds", "2", "--results", dir, "--web.listen-address", addr)
	close(runDone)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	took := time.Since(start)
	t.Logf("smoke with 2 s levels took %s", took)
	if budget := printedBudget(t, errOut); took > budget+10*time.Second {
		t.Errorf("the run took %v, its printed budget is %v (+ engine start-up)", took, budget)
	}
	if !strings.Contains(out, "concurrent-8") || !strings.Contains(errOut, "complete") {
		t.Errorf("stdout:\n%s\nstderr:\n%s", out, errOut)
	}
	// The log is apart from the progress: in the run's runner.log, with
	// only warnings and errors among the progress lines.
	if strings.Contains(errOut, "level=INFO") || !strings.Contains(errOut, "live metrics: http://"+addr+"/metrics") {
		t.Errorf("stderr mixes the log into the progress, or lacks the live URL:\n%s", errOut)
	}
	if m := <-scraped; !strings.Contains(m, `servebench_run_info{`) || !strings.Contains(m, `level="concurrent-1"`) {
		t.Errorf("live metrics during the run lacked the run and its series:\n%.2000s", m)
	} else if runtime.GOOS == "linux" {
		// The runner's own health and the host's CPUs, next to the requests.
		for _, name := range []string{"servebench_process_cpu_seconds_total{", "servebench_process_goroutines ", "servebench_host_cpu_busy_seconds_total{", "servebench_build_info{"} {
			if !strings.Contains(m, name) {
				t.Errorf("live metrics lacked %s", name)
			}
		}
	}
	if m := <-last; !regexp.MustCompile(`servebench_benchmark_achieved_rate\{[^}]*level="concurrent-8"`).MatchString(m) {
		t.Errorf("the last scrape lacked the final benchmark's summary:\n%.3000s", m)
	}
	runs, _ := filepath.Glob(filepath.Join(dir, "smoke", "*", "run.json"))
	if len(runs) != 1 {
		t.Fatalf("runs: %v", runs)
	}
	runDir := filepath.Dir(runs[0])
	cell := filepath.Join(runDir, "Qwen__Qwen3-0.6B_chat_lite_16c")
	for _, f := range []string{"requests.jsonl", "summary.json", "manifest.json", "engine-metrics.jsonl"} {
		if fi, err := os.Stat(filepath.Join(cell, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	// The engine was sampled every second through the cell's levels.
	em, _ := os.ReadFile(filepath.Join(cell, "engine-metrics.jsonl"))
	if lines := strings.Count(string(em), "\n"); lines < 3 || !strings.Contains(string(em), `"vllm:num_requests_running":`) {
		t.Errorf("engine-metrics.jsonl has %d lines:\n%.1000s", lines, em)
	}
	var man map[string]any
	b, _ := os.ReadFile(filepath.Join(cell, "manifest.json"))
	json.Unmarshal(b, &man)
	host, _ := man["host"].(map[string]any)
	eng, _ := man["engine"].(map[string]any)
	if host["kernel"] == "" || eng["driver"] != "sim" || eng["engine_version"] == nil || man["loadgen"].(map[string]any)["name"] != "native" {
		t.Errorf("manifest: %s", b)
	}
	if sb, _ := man["servebench"].(map[string]any); sb["version"] != buildinfo.Get().Version || sb["go_version"] != runtime.Version() {
		t.Errorf("manifest lacks the runner's build: %s", b)
	}
	if b, err := os.ReadFile(filepath.Join(runDir, "runner.log")); err != nil || !strings.Contains(string(b), `level=INFO msg="starting engine"`) {
		t.Errorf("runner.log: %v\n%.1000s", err, b)
	}
	logs, _ := filepath.Glob(filepath.Join(cell, "*.log"))
	if len(logs) == 0 {
		t.Error("no engine log in the cell directory")
	}
}

// printedBudget is the load budget runner start printed ("at most 1m0s of
// load ...").
func printedBudget(t *testing.T, stderr string) time.Duration {
	t.Helper()
	m := regexp.MustCompile(`at most (\S+) of load`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no budget printed:\n%s", stderr)
	}
	d, err := time.ParseDuration(m[1])
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestStartScalingWithinBudget runs the scaling suite on the simulator with
// levels far shorter than one request (64 streams of chat_lite on one
// simulated core take over a minute to get their first tokens): every level
// still ends within its budget, so the run finishes within the printed
// one, and since no request completed, it exits 4 saying so, its table
// printed.
func TestStartScalingWithinBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the scaling suite")
	}
	start := time.Now()
	code, out, errOut := runCLI(t, nil, "start", "--suite", "scaling", "--engine", "sim", "--cores", "1", "--max-seconds", "2",
		"--drain-timeout", "1", "--results", t.TempDir(), "--web.listen-address", "off")
	took := time.Since(start)
	budget := printedBudget(t, errOut)
	t.Logf("took %v, budget %v", took, budget)
	if budget != 5*(2+1+1)*time.Second || took > budget+5*time.Second {
		t.Errorf("the run took %v, its printed budget is %v (+ engine start-up)", took, budget)
	}
	// 64 streams on one simulated core finish nothing in 2 s: the run
	// fails (exit 4) either at the first level, whose few first tokens are a
	// prefill queue and no maximum rate, or, when they count as one, with
	// levels that had no successful request. Either way the table shows.
	noMax := strings.Contains(errOut, "level throughput-64: sweep found no maximum rate")
	noSuccess := strings.Contains(errOut, "no successful request: TinyLlama__TinyLlama-1.1B-Chat-v1.0_chat_lite_1c throughput-64 (0 failed, 64 incomplete)")
	if code != exitRunFailed || !noMax && !noSuccess || !strings.Contains(out, "throughput-64") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "level draining") && !strings.Contains(errOut, "budget window 2s + drain 1s = 3s") {
		t.Errorf("progress lacks the level's budget:\n%s", errOut)
	}
}

// TestStartInterrupt sends SIGINT to the test process mid-run: the run
// stops, keeps what it measured, is marked incomplete, exits 130, and
// --resume finishes it.
func TestStartInterrupt(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the smoke suite")
	}
	dir := t.TempDir()
	go func() {
		// Wait until the first level is running (its requests are being written).
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			m, _ := filepath.Glob(filepath.Join(dir, "smoke", "*", "*", "requests.jsonl"))
			if len(m) > 0 {
				if fi, err := os.Stat(m[0]); err == nil && fi.Size() > 0 {
					syscall.Kill(os.Getpid(), syscall.SIGINT)
					return
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	code, _, errOut := runCLI(t, nil, "start", "--suite", "smoke", "--max-seconds", "3", "--results", dir, "--web.listen-address", "off")
	if code != exitInterrupted {
		t.Fatalf("exit %d, want 130\n%s", code, errOut)
	}
	runs, _ := filepath.Glob(filepath.Join(dir, "smoke", "*", "run.json"))
	if len(runs) != 1 {
		t.Fatalf("runs: %v", runs)
	}
	st, err := store.ReadState(filepath.Dir(runs[0]))
	if err != nil || st.Status != store.StatusIncomplete {
		t.Fatalf("state %+v %v", st, err)
	}
	code, _, errOut = runCLI(t, nil, "start", "--resume", st.RunID, "--results", dir, "--max-seconds", "1", "--web.listen-address", "off")
	if code != 0 {
		t.Fatalf("resume: exit %d\n%s", code, errOut)
	}
	st, _ = store.ReadState(filepath.Dir(runs[0]))
	if st.Status != store.StatusComplete || len(st.Resumed) != 1 {
		t.Errorf("after resume: %+v", st)
	}
}

// TestStartExternal runs the smoke suite against a server the runner did
// not start: the served model is detected and planned with, not the suite's.
func TestStartExternal(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a simulated engine")
	}
	base := simulator.DefaultConfig()
	base.LoadTime = 0
	base.Slowdown = 0.1 // ten times faster than the modelled CPU: a short test
	in, err := engine.NewSim(base, nil, nil).Start(context.Background(), engine.Spec{Model: "TinyLlama/TinyLlama-1.1B-Chat-v1.0", CPUs: make([]int, 16)})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Stop(context.Background())
	if err := in.Ready(context.Background()); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	code, out, errOut := runCLI(t, nil, "start", "--suite", "smoke", "--engine", "external", "--target", in.URL()+"/v1",
		"--max-seconds", "1", "--results", dir, "--web.listen-address", "off")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	if !strings.Contains(out, "\nTinyLlama__TinyLlama-1.1B-Chat-v1.0_chat_lite\n") {
		t.Errorf("the detected model must name the cell:\n%s", out)
	}
	code, _, errOut = runCLI(t, nil, "start", "--suite", "smoke", "--engine", "external", "--target", "http://127.0.0.1:1", "--results", dir)
	if code != exitFailure || !strings.Contains(errOut, "external engine: detect the model") {
		t.Errorf("unreachable target: exit %d %s", code, errOut)
	}
}

func TestStartDryRunThirdParty(t *testing.T) {
	_, out, errOut := runCLI(t, nil, "start", "--suite", "smoke", "--loadgen", "vllm-bench", "--image", "vllm/vllm-openai-cpu:v0.25.1", "--dry-run")
	for _, want := range []string{"--base-url http://127.0.0.1:PROXY_PORT --model Qwen/Qwen3-0.6B", "--max-concurrency 8", "--result-filename vllm-bench-concurrent-8.json"} {
		if !strings.Contains(out, want) {
			t.Errorf("vllm-bench dry run lacks %q:\n%s%s", want, out, errOut)
		}
	}
	_, out, _ = runCLI(t, nil, "start", "--suite", "scaling", "--cores", "8", "--loadgen", "guidellm", "--tokenizer", "/models/tiny", "--dry-run")
	for _, want := range []string{`"target":"http://127.0.0.1:PROXY_PORT"`, "--profile kind=poisson,rate=1", "(rate shown as 1: the run uses 25% of the maximum found)", "/models/tiny"} {
		if !strings.Contains(out, want) {
			t.Errorf("guidellm dry run lacks %q:\n%s", want, out)
		}
	}
}

func TestResumeRefusesAnotherPlan(t *testing.T) {
	dir := t.TempDir()
	st := store.New(dir, nil)
	r, err := st.Create("smoke", "20261127-050000-abcd", []store.CellState{{ID: "Qwen__Qwen3-0.6B_chat_lite_16c"}},
		map[string]any{"args": []string{"--suite", "smoke"}})
	if err != nil {
		t.Fatal(err)
	}
	r.Close(store.StatusIncomplete)
	code, _, errOut := runCLI(t, nil, "start", "--resume", "20261127-050000-abcd", "--results", dir, "--cores", "8", "--web.listen-address", "off")
	if code != exitFailure || !strings.Contains(errOut, "the plan has cell Qwen__Qwen3-0.6B_chat_lite_8c that the run does not") {
		t.Errorf("exit %d: %s", code, errOut)
	}
	s, _ := store.ReadState(r.Dir)
	if s.Status != store.StatusIncomplete {
		t.Errorf("a refused resume must leave the run resumable, not %s", s.Status)
	}
}
