package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/servebench/servebench/internal/e2e"
	"github.com/servebench/servebench/runner/orchestrate"
	"github.com/servebench/servebench/runner/results"
)

// offlineRun runs the built-in offline-batch suite (Qwen3-0.6B, the
// code_generation, shared_prefix and classification use cases, 1 core,
// the seed's 3 runs each) and returns the run directory.
func offlineRun(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	dir := t.TempDir()
	start := time.Now()
	args = append([]string{"start", "--suite", "offline-batch", "--models", "Qwen/Qwen3-0.6B",
		"--workloads", "code_generation,shared_prefix,classification", "--cores", "1", "--results", dir,
		"--web.listen-address", fmt.Sprintf("127.0.0.1:%d", e2e.FreePort(t))}, args...)
	code, out, errOut := runCLI(t, env, args...)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	t.Logf("offline-batch took %s", time.Since(start))
	runs, _ := filepath.Glob(filepath.Join(dir, "offline-batch", "*", "run.json"))
	if len(runs) != 1 {
		t.Fatalf("runs: %v", runs)
	}
	if !strings.Contains(out, "repeatability") || !strings.Contains(out, "requests_per_second") {
		t.Errorf("the run's tables lack repeatability:\n%s", out)
	}
	return filepath.Dir(runs[0])
}

// checkOffline: every cell ran its batch three times, each a summary with
// vllm bench throughput's figures, and the suite summary grades them.
func checkOffline(t *testing.T, runDir string) {
	t.Helper()
	for _, uc := range []string{"code_generation", "shared_prefix", "classification"} {
		for r := 1; r <= 3; r++ {
			cell := filepath.Join(runDir, fmt.Sprintf("Qwen__Qwen3-0.6B_%s_1c_r%d", uc, r))
			f, err := os.Open(filepath.Join(cell, "summary.json"))
			if err != nil {
				t.Fatal(err)
			}
			sum, err := results.ReadSummary(f)
			f.Close()
			if err != nil || len(sum.Benchmarks) != 1 {
				t.Fatalf("%s: %v", cell, err)
			}
			b := sum.Benchmarks[0]
			o := b.Offline
			if sum.Loadgen != orchestrate.OfflineLoadgen || o == nil || o.ElapsedSeconds <= 0 || o.OutputTokensPerSecond == nil ||
				b.RequestsPerSecond != results.Of(o.RequestsPerSecond) || fv(b.OutputTokensPerSecond) <= 0 || b.DurationSeconds != o.ElapsedSeconds {
				t.Errorf("%s: loadgen %s, benchmark %+v", cell, sum.Loadgen, b)
			}
			if _, err := os.Stat(filepath.Join(cell, "offline", "batch.json")); err != nil {
				t.Errorf("%s: vllm bench throughput's JSON: %v", cell, err)
			}
		}
	}
	var rep orchestrate.Report
	b, _ := os.ReadFile(filepath.Join(runDir, "suite-summary.json"))
	if err := json.Unmarshal(b, &rep); err != nil || len(rep.Repeatability) != 3 {
		t.Fatalf("repeatability: %v %s", err, b)
	}
	for _, r := range rep.Repeatability {
		if r.Runs != 3 || r.Metrics["requests_per_second"].N != 3 || len(r.Warnings) != 0 {
			t.Errorf("repeatability row %+v", r)
		}
		if _, graded := r.Metrics["ttft_p50_ms"]; graded {
			t.Errorf("%s: a batch has no TTFT to grade", r.Cell)
		}
	}
}

// sharegptDir writes a small ShareGPT-shaped dataset for the
// classification use case.
func sharegptDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	var convs []map[string]any
	for i := range 30 {
		convs = append(convs, map[string]any{"id": fmt.Sprint(i), "conversations": []map[string]string{
			{"from": "human", "value": strings.Repeat(fmt.Sprintf("please classify item %d of the list ", i), 4+i%5)},
			{"from": "gpt", "value": strings.Repeat("it belongs to the first group ", 2+i%3)}}})
	}
	b, _ := json.Marshal(convs)
	if err := os.WriteFile(filepath.Join(dir, "ShareGPT_V3_unfiltered_cleaned_split.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestStartOfflineBatchSim: the offline suite on the in-process simulator;
// its batches are published as the benchmark summary series the Scaling
// and History boards read (requests/s, output tokens/s and per core, by
// run and cores).
func TestStartOfflineBatchSim(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the offline-batch suite")
	}
	addr := fmt.Sprintf("127.0.0.1:%d", e2e.FreePort(t))
	last := make(chan string, 1)
	done := make(chan struct{})
	// Scrape like Prometheus, until the run ends (it waits for a scrape
	// after its last summary from every scraper it saw), but often: a
	// simulated batch can end within 100 ms, before a slower scraper is
	// ever seen.
	go func() {
		var final string
		for {
			select {
			case <-done:
				last <- final
				return
			case <-time.After(10 * time.Millisecond):
			}
			if resp, err := http.Get("http://" + addr + "/metrics"); err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				final = string(b)
			}
		}
	}()
	runDir := offlineRun(t, map[string]string{"SERVEBENCH_DATASETS": sharegptDir(t)}, "--engine", "sim", "--web.listen-address", addr)
	close(done)
	checkOffline(t, runDir)
	m := <-last
	for _, name := range []string{"servebench_benchmark_requests_per_second{", "servebench_benchmark_output_tokens_per_second{",
		"servebench_benchmark_output_tokens_per_second_per_core{"} {
		re := regexp.MustCompile(regexp.QuoteMeta(name) + `[^}]*cores="1"[^}]*level="offline"[^}]*run_id="` + filepath.Base(runDir) + `"`)
		if !re.MatchString(m) {
			t.Errorf("no %s series of the batches in the last scrape:\n%.3000s", name, m)
		}
	}

	// A ShareGPT use case without the dataset fails naming what it needs.
	code, _, errOut := runCLI(t, nil, "start", "--suite", "offline-batch", "--engine", "sim", "--models", "Qwen/Qwen3-0.6B",
		"--workloads", "classification", "--cores", "1", "--repeat", "1", "--results", t.TempDir(), "--web.listen-address", "off")
	if code == 0 || !strings.Contains(errOut, "SERVEBENCH_DATASETS") {
		t.Errorf("no dataset: exit %d\n%s", code, errOut)
	}
}

// TestE2EStartOfflineBatchDocker: the offline suite through the docker
// driver: each batch is `vllm bench throughput` with vLLM's arguments in a
// pinned engine container of the simulator image (its vllm command), the
// dataset directory mounted read-only, the JSON written to the cell.
func TestE2EStartOfflineBatchDocker(t *testing.T) {
	if testing.Short() {
		t.Skip("builds an image and runs containers")
	}
	const image = "servebench/vllm-sim:offline-e2e"
	e2e.SimImage{Root: filepath.Join("..", ".."), Tag: image}.Build(t)
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", image).Run() })

	runDir := offlineRun(t, map[string]string{"SERVEBENCH_DATASETS": sharegptDir(t)}, "--engine", "docker", "--image", image, "--force-overlap")
	checkOffline(t, runDir)
	var man map[string]any
	b, _ := os.ReadFile(filepath.Join(runDir, "Qwen__Qwen3-0.6B_classification_1c_r1", "manifest.json"))
	json.Unmarshal(b, &man)
	log, _ := filepath.Glob(filepath.Join(runDir, "Qwen__Qwen3-0.6B_classification_1c_r1", "*.log"))
	if len(log) == 0 {
		t.Fatalf("no container log in the cell: %s", b)
	}
	if eng, _ := man["engine"].(map[string]any); eng["driver"] != "docker" || eng["image"] != image || eng["cpuset"] == "" {
		t.Errorf("manifest's engine: %v", man["engine"])
	}
	lb, _ := os.ReadFile(log[0])
	if !strings.Contains(string(lb), "Throughput: ") {
		t.Errorf("container log %s lacks vllm bench throughput's result line:\n%s", log[0], lb)
	}
	out, _ := exec.Command("docker", "ps", "-a", "--filter", "label=io.servebench.suite=offline-batch", "--format", "{{.Names}}").Output()
	if strings.TrimSpace(string(out)) != "" {
		t.Errorf("batch containers left behind: %s", out)
	}
}
