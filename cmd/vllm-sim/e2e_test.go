package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/servebench/servebench/internal/e2e"
)

func docker(ctx context.Context, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// TestE2ESimContainer builds the static binary and the FROM scratch image
// with the real dockerd, runs it with host networking pinned to CPU 0, and
// checks the API and that the engine derived its core count from the cpuset.
func TestE2ESimContainer(t *testing.T) {
	e2e.RequireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	suffix := fmt.Sprintf("e2e-%d-%d", os.Getpid(), time.Now().UnixNano()%1e6)
	image := "servebench/vllm-sim:" + suffix
	e2e.SimImage{Root: "../..", Tag: image}.Build(t)
	t.Cleanup(func() { _, _ = docker(context.Background(), "rmi", "-f", image) })

	port := e2e.FreePort(t)
	name := "servebench-sim-" + suffix
	t.Cleanup(func() {
		if t.Failed() {
			logs, _ := docker(context.Background(), "logs", name)
			t.Logf("container logs:\n%s", logs)
		}
		_, _ = docker(context.Background(), "rm", "-f", name)
	})
	if _, err := docker(ctx, "run", "-d", "--name", name, "--network", "host", "--cpuset-cpus", "0",
		"-e", "VLLM_CPU_KVCACHE_SPACE=2", image,
		"--host", "127.0.0.1", "--port", fmt.Sprint(port), "--load-time", "300ms", "--model", "Qwen/Qwen3-0.6B"); err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	e2e.WaitHTTP(t, url+"/health", 60*time.Second)

	get := func(path string) string {
		resp, err := http.Get(url + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
		}
		return string(b)
	}
	if m := get("/v1/models"); !strings.Contains(m, `"id":"Qwen/Qwen3-0.6B"`) {
		t.Errorf("/v1/models: %s", m)
	}
	resp, err := http.Post(url+"/v1/completions", "application/json", strings.NewReader(
		`{"model":"Qwen/Qwen3-0.6B","prompt":"Hello from the container","max_tokens":3,"ignore_eos":true,"stream":true,"stream_options":{"include_usage":true}}`))
	if err != nil {
		t.Fatal(err)
	}
	var events []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if l := sc.Text(); l != "" {
			events = append(events, l)
		}
	}
	resp.Body.Close()
	if len(events) != 5 || events[4] != "data: [DONE]" || !strings.Contains(events[3], `"completion_tokens":3`) {
		t.Errorf("stream: %q", events)
	}
	metrics := get("/metrics")
	if !strings.Contains(metrics, `vllm_sim_cores{model_name="Qwen/Qwen3-0.6B"} 1`+"\n") {
		t.Errorf("/metrics does not report the 1 core of --cpuset-cpus 0:\n%s", grep(metrics, "vllm_sim_cores"))
	}
	// VLLM_CPU_KVCACHE_SPACE=2: 2 GiB / (128-token blocks x 114,688 B per Qwen3-0.6B token) = 146 blocks.
	if !strings.Contains(metrics, `num_gpu_blocks="146"`) {
		t.Errorf("KV cache not sized from VLLM_CPU_KVCACHE_SPACE=2:\n%s", grep(metrics, "cache_config_info"))
	}
	if !strings.Contains(metrics, `vllm:request_success_total{engine="0",finished_reason="length",model_name="Qwen/Qwen3-0.6B"} 1`) {
		t.Errorf("request_success_total:\n%s", grep(metrics, "request_success"))
	}

	// The image's vllm command runs vLLM's offline benchmark line as is.
	out, err := docker(ctx, "run", "--rm", "--cpuset-cpus", "0", "--entrypoint", "vllm", image, "bench", "throughput",
		"--model", "Qwen/Qwen3-0.6B", "--dataset-name", "random", "--input-len", "64", "--output-len", "16", "--num-prompts", "20",
		"--dtype", "bfloat16", "--enforce-eager")
	if err != nil || !strings.Contains(out, "Throughput: ") || !strings.Contains(out, "Total num output tokens:  320") {
		t.Errorf("vllm bench throughput in the image: %v\n%s", err, out)
	}
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
