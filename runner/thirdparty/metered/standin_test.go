package metered

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as stand-ins for `vllm bench serve` and
// `guidellm run` (neither installs here: no Python package index). With
// STANDIN set, TestMain runs the stand-in instead of the tests. The
// stand-ins follow the real tools' documented behaviour (docs in
// /work/shared/reference/loadgens.md §1, §2): they send real streamed
// requests to the URL they are given, time them the tool's way and write
// the tool's report with the tool's definitions. STANDIN_MODE changes
// what they do:
//
//	honest      (default) as above
//	recorded:F  send as usual, then write the recorded report F instead
//	forever     keep sending until interrupted, writing nothing
//	silent      send nothing and wait to be interrupted
//	fail        print an error and exit 3
//	garbage     send as usual, then write a report that is not JSON
//
// Like Python, an interrupted stand-in exits 130 without a report.
func TestMain(m *testing.M) {
	switch os.Getenv("STANDIN") {
	case "":
		os.Exit(m.Run())
	case "vllm":
		os.Exit(standinVLLM(os.Args[1:]))
	case "guidellm":
		os.Exit(standinGuideLLM(os.Args[1:]))
	case "post":
		os.Exit(standinPost(os.Args[1:]))
	}
	fmt.Fprintln(os.Stderr, "unknown STANDIN", os.Getenv("STANDIN"))
	os.Exit(2)
}

// standin returns the path of a stand-in for tool ("vllm" or "guidellm")
// in the given mode: a script that runs this test binary.
func standin(t *testing.T, tool, mode string) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), tool)
	script := fmt.Sprintf("#!/bin/sh\nSTANDIN=%s STANDIN_MODE='%s' exec '%s' \"$@\"\n", tool, mode, self)
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// flagsOf reads "--name value" pairs and bare "--name" flags.
func flagsOf(args []string) map[string]string {
	f := map[string]string{}
	for i := 0; i < len(args); i++ {
		if !strings.HasPrefix(args[i], "--") {
			continue
		}
		if i+1 < len(args) && !strings.HasPrefix(args[i+1], "--") {
			f[args[i]] = args[i+1]
			i++
		} else {
			f[args[i]] = ""
		}
	}
	return f
}

// shot is one request as a client times it.
type shot struct {
	start, first, end time.Time
	ok                bool
	canceled          bool
	out               int
}

// send posts one streamed request and reads it to its end: the first token
// is the first data chunk carrying choices with text (or a role).
func send(ctx context.Context, url string, body []byte) shot {
	s := shot{start: time.Now()}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.end, s.canceled = time.Now(), ctx.Err() != nil
		return s
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := strings.TrimPrefix(sc.Text(), "data: ")
		if line == "" || line == "[DONE]" {
			continue
		}
		var ev struct {
			Choices []json.RawMessage `json:"choices"`
		}
		if json.Unmarshal([]byte(line), &ev) == nil && len(ev.Choices) > 0 {
			if s.first.IsZero() {
				s.first = time.Now()
			}
			s.out++
			s.end = time.Now()
		}
	}
	if s.end.IsZero() {
		s.end = time.Now()
	}
	s.canceled = ctx.Err() != nil
	s.ok = resp.StatusCode == 200 && sc.Err() == nil && !s.first.IsZero() && !s.canceled
	return s
}

// loop sends requests until n are sent (n < 0: until ctx ends): a closed
// loop of streams, or an open loop of constant gaps 1/rate, the first one
// gap after the start (vllm bench serve's schedule).
func loop(ctx context.Context, url string, body func(i int) []byte, n, streams int, rate float64) []shot {
	var mu sync.Mutex
	var shots []shot
	keep := func(s shot) {
		mu.Lock()
		shots = append(shots, s)
		mu.Unlock()
	}
	var wg sync.WaitGroup
	next := make(chan int)
	go func() {
		defer close(next)
		start := time.Now()
		for i := 0; n < 0 || i < n; i++ {
			if rate > 0 {
				select {
				case <-time.After(time.Until(start.Add(time.Duration(float64(i+1) / rate * float64(time.Second))))):
				case <-ctx.Done():
					return
				}
			}
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	if rate > 0 {
		for i := range next {
			wg.Add(1)
			go func() { defer wg.Done(); keep(send(ctx, url, body(i))) }()
		}
	} else {
		for range streams {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					keep(send(ctx, url, body(i)))
				}
			}()
		}
	}
	wg.Wait()
	return shots
}

// interrupted is a context canceled by SIGINT or SIGTERM.
func interrupted() (context.Context, func()) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

func mode() string { return os.Getenv("STANDIN_MODE") }

func standinVLLM(args []string) int {
	if len(args) > 0 && args[0] == "--version" {
		fmt.Println("0.25.1")
		return 0
	}
	f := flagsOf(args)
	ctx, stop := interrupted()
	defer stop()
	if mode() == "fail" {
		fmt.Fprintln(os.Stderr, "ValueError: Initial test run failed")
		return 3
	}
	if mode() == "silent" {
		<-ctx.Done()
		return 130
	}
	n, _ := strconv.Atoi(f["--num-prompts"])
	if mode() == "forever" {
		n = -1
	}
	streams, _ := strconv.Atoi(f["--max-concurrency"])
	rate := 0.0
	if r := f["--request-rate"]; r != "inf" {
		rate, _ = strconv.ParseFloat(r, 64)
	}
	if rate == 0 && streams == 0 {
		streams = max(n, 1)
	}
	out, _ := strconv.Atoi(f["--random-output-len"])
	url := f["--base-url"] + f["--endpoint"]
	req := map[string]any{"model": f["--model"], "prompt": "hello there", "max_tokens": out, "ignore_eos": true,
		"stream": true, "stream_options": map[string]bool{"include_usage": true}}
	if f["--backend"] == "openai-chat" { // messages, as vLLM's chat backend sends
		delete(req, "prompt")
		req["messages"] = []map[string]string{{"role": "user", "content": "hello there"}}
	}
	body, _ := json.Marshal(req)
	fmt.Println("Starting main benchmark run...")
	start := time.Now()
	shots := loop(ctx, url, func(int) []byte { return body }, n, streams, rate)
	dur := time.Since(start).Seconds()
	if ctx.Err() != nil {
		fmt.Fprintln(os.Stderr, "KeyboardInterrupt")
		return 130
	}
	path := filepath.Join(f["--result-dir"], f["--result-filename"])
	switch m := mode(); {
	case strings.HasPrefix(m, "recorded:"):
		return copyFile(strings.TrimPrefix(m, "recorded:"), path)
	case m == "garbage":
		return writeFile(path, []byte("Traceback (most recent call last):\n"))
	}
	var ttfts, lats []float64
	completed, outTok := 0, 0
	for _, s := range shots {
		lats = append(lats, s.end.Sub(s.start).Seconds())
		if s.ok {
			completed++
			outTok += s.out
			ttfts = append(ttfts, s.first.Sub(s.start).Seconds()*1000)
		}
	}
	res := map[string]any{
		"date": start.Format("20060102-150405"), "endpoint_type": "openai", "backend": "openai", "label": nil,
		"model_id": f["--model"], "tokenizer_id": f["--model"], "num_prompts": len(shots), "request_rate": f["--request-rate"], "burstiness": 1.0,
		"max_concurrency": nil, "duration": dur, "completed": completed, "failed": len(shots) - completed,
		"total_input_tokens": 2 * completed, "total_output_tokens": outTok, "request_throughput": float64(completed) / dur,
		"request_goodput": nil, "output_throughput": float64(outTok) / dur, "total_token_throughput": float64(outTok+2*completed) / dur,
		"latencies": lats, "mean_ttft_ms": mean(ttfts), "median_ttft_ms": percentile(ttfts, 50), "p99_ttft_ms": percentile(ttfts, 99),
	}
	if streams > 0 && f["--max-concurrency"] != "" {
		res["max_concurrency"] = streams
	}
	b, _ := json.Marshal(res)
	fmt.Printf("%-40s %-10d\n", "Successful requests:", completed)
	return writeFile(path, b)
}

func standinGuideLLM(args []string) int {
	if len(args) > 0 && args[0] == "--version" {
		fmt.Println("guidellm, version 0.7.3")
		return 0
	}
	f := flagsOf(args)
	ctx, stop := interrupted()
	defer stop()
	if mode() == "silent" {
		<-ctx.Done()
		return 130
	}
	// The backend comes as a plain or a JSON registry spec.
	var backend struct {
		Target, Model string
		Format        string `json:"request_format"`
	}
	if err := json.Unmarshal([]byte(f["--backend"]), &backend); err != nil {
		b := spec(f["--backend"])
		backend.Target, backend.Model, backend.Format = b["target"], b["model"], b["request_format"]
	}
	if backend.Format == "" {
		backend.Format = "/v1/chat/completions"
	}
	profile := spec(f["--profile"])
	seconds, _ := strconv.ParseFloat(spec(f["--constraint"])["seconds"], 64)
	streams, _ := strconv.Atoi(profile["streams"])
	rate, _ := strconv.ParseFloat(profile["rate"], 64)
	if profile["kind"] == "synchronous" {
		streams = 1
	}
	var prompts [][]byte
	if data := spec(f["--data"]); data["kind"] == "json_file" {
		raw, err := os.ReadFile(data["path"])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		for _, line := range bytes.Split(bytes.TrimSpace(raw), []byte("\n")) {
			var row struct {
				Prompt string `json:"prompt"`
				Out    int    `json:"output_tokens_count"`
			}
			if err := json.Unmarshal(line, &row); err != nil {
				fmt.Fprintln(os.Stderr, "data row:", err)
				return 1
			}
			m := map[string]any{"model": backend.Model, "max_tokens": row.Out, "ignore_eos": true, "stream": true,
				"stream_options": map[string]bool{"include_usage": true}}
			if backend.Format == "/v1/completions" {
				m["prompt"] = row.Prompt
			} else {
				m["messages"] = []map[string]string{{"role": "user", "content": row.Prompt}}
			}
			b, _ := json.Marshal(m)
			prompts = append(prompts, b)
		}
	}
	if len(prompts) == 0 {
		fmt.Fprintln(os.Stderr, "the stand-in reads --data kind=json_file only")
		return 1
	}
	url := strings.TrimSuffix(backend.Target, "/") + backend.Format
	// max_duration: queueing stops and what is in flight is cancelled,
	// counted incomplete.
	rctx, cancel := context.WithTimeout(ctx, time.Duration(seconds*float64(time.Second)))
	defer cancel()
	start := time.Now()
	shots := loop(rctx, url, func(i int) []byte { return prompts[i%len(prompts)] }, len(prompts), streams, rate)
	end := time.Now()
	if ctx.Err() != nil {
		return 130
	}
	if mode() == "garbage" {
		return writeFile(spec(f["--output"])["path"], []byte("{\"benchmarks\": [")) // cut short
	}
	var ok, incomplete, errored int
	var ttfts []float64
	for _, s := range shots {
		switch {
		case s.ok:
			ok++
			ttfts = append(ttfts, s.first.Sub(s.start).Seconds()*1000)
		case s.canceled:
			incomplete++
		default:
			errored++
		}
	}
	secs := end.Sub(start).Seconds()
	epoch := func(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
	dist := func(xs []float64, mean float64) map[string]any {
		return map[string]any{"mean": mean, "median": percentile(xs, 50), "count": len(xs),
			"percentiles": map[string]float64{"p50": percentile(xs, 50), "p99": percentile(xs, 99)}}
	}
	strategy := map[string]any{"type_": profile["kind"]}
	if streams > 0 && profile["kind"] == "concurrent" {
		strategy["streams"] = streams
	}
	if rate > 0 {
		strategy["rate"] = rate
	}
	rep := map[string]any{
		"metadata": map[string]any{"version": 2, "guidellm_version": "0.7.3"},
		"config":   map[string]any{"spec": map[string]any{"backend": map[string]any{"kind": "openai_http", "target": backend.Target, "model": backend.Model}}},
		"benchmarks": []any{map[string]any{
			"type_":  "generative_benchmark",
			"config": map[string]any{"strategy": strategy},
			"metrics": map[string]any{
				"request_totals":         map[string]int{"successful": ok, "errored": errored, "incomplete": incomplete, "total": len(shots)},
				"requests_per_second":    map[string]any{"successful": map[string]any{"mean": float64(ok) / secs}, "total": map[string]any{"mean": float64(len(shots)) / secs}},
				"time_to_first_token_ms": map[string]any{"successful": dist(ttfts, mean(ttfts))},
			},
			"start_time": epoch(start), "end_time": epoch(end), "duration": secs,
		}},
	}
	b, _ := json.Marshal(rep)
	if m := mode(); strings.HasPrefix(m, "recorded:") {
		return copyFile(strings.TrimPrefix(m, "recorded:"), spec(f["--output"])["path"])
	}
	fmt.Printf("Benchmarks complete: %d successful\n", ok)
	return writeFile(spec(f["--output"])["path"], b)
}

// spec reads a GuideLLM registry spec, kind=K,key=value,...
func spec(s string) map[string]string {
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			out[k] = v
		}
	}
	return out
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// percentile interpolates linearly (numpy's default, vLLM's).
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	r := p / 100 * float64(len(s)-1)
	lo := int(math.Floor(r))
	if lo+1 >= len(s) {
		return s[lo]
	}
	return s[lo] + (r-float64(lo))*(s[lo+1]-s[lo])
}

func copyFile(from, to string) int {
	b, err := os.ReadFile(from)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return writeFile(to, b)
}

func writeFile(path string, b []byte) int {
	if err := os.WriteFile(path, b, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// standinPost is a minimal command-line load generator: post URL BODIES N
// sends the first N bodies of the file one after another and prints how
// many succeeded.
func standinPost(args []string) int {
	if len(args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: post URL BODIES N")
		return 2
	}
	b, err := os.ReadFile(args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	n, _ := strconv.Atoi(args[2])
	ok := 0
	for i := range n {
		if s := send(context.Background(), args[0], []byte(lines[i%len(lines)])); s.ok {
			ok++
		}
	}
	fmt.Printf("posted %d, %d ok\n", n, ok)
	return 0
}
