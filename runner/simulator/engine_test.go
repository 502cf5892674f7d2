package simulator

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/servebench/servebench/runner/simulator/perfmodel"
)

// scrape gathers the engine's registry into name -> summed value (counters,
// gauges) and name -> histogram sample count and sum.
type scraped struct {
	value map[string]float64
	count map[string]uint64
	sum   map[string]float64
	byLbl map[string]float64 // name{label=value} for labelled counters
}

func scrape(t testing.TB, e *Engine) scraped {
	t.Helper()
	mfs, err := e.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	s := scraped{value: map[string]float64{}, count: map[string]uint64{}, sum: map[string]float64{}, byLbl: map[string]float64{}}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				s.value[mf.GetName()] += m.GetCounter().GetValue()
				for _, l := range m.GetLabel() {
					if l.GetName() == "finished_reason" {
						s.byLbl[mf.GetName()+"{"+l.GetValue()+"}"] = m.GetCounter().GetValue()
					}
				}
			case dto.MetricType_GAUGE:
				s.value[mf.GetName()] += m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				s.count[mf.GetName()] += m.GetHistogram().GetSampleCount()
				s.sum[mf.GetName()] += m.GetHistogram().GetSampleSum()
			}
		}
	}
	return s
}

// TestMetricsMatchServedRequests: after a mix of requests, every vLLM
// counter and histogram count equals what the clients were served.
func TestMetricsMatchServedRequests(t *testing.T) {
	e, url := serve(t, fast())
	var mu sync.Mutex
	var prompt, completion, requests, stops, lengths, multi int
	var wg sync.WaitGroup
	for i := range 24 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path, input := "/v1/completions", fmt.Sprintf(`"prompt":"request %d of the consistency test"`, i)
			if i%2 == 1 {
				path, input = "/v1/chat/completions", fmt.Sprintf(`"messages":[{"role":"user","content":"chat %d"}]`, i)
			}
			stream := i%3 == 0
			body := fmt.Sprintf(`{%s,"max_tokens":%d,"ignore_eos":%v,"stream":%v`, input, 1+i%7, i%4 == 0, stream)
			if stream {
				body += `,"stream_options":{"include_usage":true}`
			}
			_, b := post(t, url+path, body+"}")
			var u usage
			var reason string
			if stream {
				ev := sseEvents(t, b)
				var c struct {
					Usage   usage
					Choices []struct {
						FinishReason *string `json:"finish_reason"`
					}
				}
				for _, x := range ev[:len(ev)-1] {
					_ = json.Unmarshal([]byte(x), &c)
					if len(c.Choices) > 0 && c.Choices[0].FinishReason != nil {
						reason = *c.Choices[0].FinishReason
					}
				}
				u = c.Usage
			} else {
				var r struct {
					Usage   usage
					Choices []struct {
						FinishReason string `json:"finish_reason"`
					}
				}
				if err := json.Unmarshal(b, &r); err != nil {
					t.Error(err)
					return
				}
				u, reason = r.Usage, r.Choices[0].FinishReason
			}
			mu.Lock()
			defer mu.Unlock()
			requests++
			prompt += u.PromptTokens
			completion += u.CompletionTokens
			if u.CompletionTokens > 1 {
				multi++
			}
			switch reason {
			case "stop":
				stops++
			case "length":
				lengths++
			default:
				t.Errorf("finish reason %q", reason)
			}
		}()
	}
	wg.Wait()
	s := scrape(t, e)
	checks := []struct {
		name      string
		got, want float64
	}{
		{"vllm:request_success_total", s.value["vllm:request_success_total"], float64(requests)},
		{"vllm:request_success_total{stop}", s.byLbl["vllm:request_success_total{stop}"], float64(stops)},
		{"vllm:request_success_total{length}", s.byLbl["vllm:request_success_total{length}"], float64(lengths)},
		{"vllm:prompt_tokens_total", s.value["vllm:prompt_tokens_total"], float64(prompt)},
		{"vllm:generation_tokens_total", s.value["vllm:generation_tokens_total"], float64(completion)},
		{"vllm:time_to_first_token_seconds count", float64(s.count["vllm:time_to_first_token_seconds"]), float64(requests)},
		{"vllm:e2e_request_latency_seconds count", float64(s.count["vllm:e2e_request_latency_seconds"]), float64(requests)},
		{"vllm:request_queue_time_seconds count", float64(s.count["vllm:request_queue_time_seconds"]), float64(requests)},
		{"vllm:request_prefill_time_seconds count", float64(s.count["vllm:request_prefill_time_seconds"]), float64(requests)},
		{"vllm:request_decode_time_seconds count", float64(s.count["vllm:request_decode_time_seconds"]), float64(requests)},
		{"vllm:request_prompt_tokens sum", s.sum["vllm:request_prompt_tokens"], float64(prompt)},
		{"vllm:request_generation_tokens sum", s.sum["vllm:request_generation_tokens"], float64(completion)},
		{"vllm:inter_token_latency_seconds count", float64(s.count["vllm:inter_token_latency_seconds"]), float64(completion - requests)},
		{"vllm:request_time_per_output_token_seconds count", float64(s.count["vllm:request_time_per_output_token_seconds"]), float64(multi)},
		{"vllm:num_requests_running", s.value["vllm:num_requests_running"], 0},
		{"vllm:num_requests_waiting", s.value["vllm:num_requests_waiting"], 0},
		{"vllm:kv_cache_usage_perc", s.value["vllm:kv_cache_usage_perc"], 0},
		{"vllm_sim_cores", s.value["vllm_sim_cores"], 8},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if s.count["vllm:iteration_tokens_total"] == 0 || s.sum["vllm:iteration_tokens_total"] != float64(prompt+completion-requests) {
		t.Errorf("vllm:iteration_tokens_total sum %v, want %d (prompt + completion - one sampled-only token per request)",
			s.sum["vllm:iteration_tokens_total"], prompt+completion-requests)
	}
}

// TestGaugesAndAbort: the running gauge and KV usage move while a request
// runs, and a client that goes away is counted as an abort.
func TestGaugesAndAbort(t *testing.T) {
	cfg := fast()
	cfg.Slowdown = 1
	cfg.Cores = 1 // ~0.2 s per decode step: slow enough to observe
	e, url := serve(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", url+"/v1/completions",
		strings.NewReader(`{"prompt":"a long running request","max_tokens":500,"ignore_eos":true,"stream":true}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(resp.Body)
	if _, err := br.ReadString('\n'); err != nil { // the first token has arrived
		t.Fatal(err)
	}
	s := scrape(t, e)
	if s.value["vllm:num_requests_running"] != 1 || s.value["vllm:kv_cache_usage_perc"] <= 0 {
		t.Errorf("while running: running %v, kv usage %v", s.value["vllm:num_requests_running"], s.value["vllm:kv_cache_usage_perc"])
	}
	cancel()
	resp.Body.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s = scrape(t, e)
		if s.byLbl["vllm:request_success_total{abort}"] == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("abort not counted: %v", s.byLbl)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if s.value["vllm:num_requests_running"] != 0 || s.value["vllm:kv_cache_usage_perc"] != 0 {
		t.Errorf("after abort: running %v, kv usage %v", s.value["vllm:num_requests_running"], s.value["vllm:kv_cache_usage_perc"])
	}
}

// TestLiveTimingFollowsModel: a lone stream runs on the model's schedule.
// Engine-side, every inter-token gap is the model's batch-1 decode step plus
// the time the host kept the step loop from starting it (counted in
// vllm_sim_host_stall_seconds_total, never made up later); client-side, the
// stream cannot finish before the schedule allows (writes are never early by
// more than the dispatcher's slack), and on a machine that is not starved it
// finishes close to it.
func TestLiveTimingFollowsModel(t *testing.T) {
	cfg := fast()
	cfg.Slowdown = 1
	cfg.Cores = 16
	e, url := serve(t, cfg)
	p, h := e.Profile(), e.sc.Hardware
	const n = 6
	prefill := perfmodel.StepCost(p, h, []perfmodel.Work{{NewTokens: 1}}).Total
	var decode time.Duration
	for i := 1; i < n; i++ {
		decode += perfmodel.StepCost(p, h, []perfmodel.Work{{NewTokens: 1, Context: i}}).Total
	}
	start := time.Now()
	resp, err := http.Post(url+"/v1/completions", "application/json",
		strings.NewReader(fmt.Sprintf(`{"prompt":"timing","max_tokens":%d,"ignore_eos":true,"stream":true}`, n)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	chunks := 0
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			break
		}
		if strings.HasPrefix(line, "data: {") {
			chunks++
		}
	}
	took := time.Since(start)
	if chunks != n {
		t.Fatalf("%d chunks, want %d", chunks, n)
	}
	s := scrape(t, e)
	stall := s.value["vllm_sim_host_stall_seconds_total"]
	if got, want := s.sum["vllm:inter_token_latency_seconds"], decode.Seconds()+stall; s.count["vllm:inter_token_latency_seconds"] != n-1 ||
		got < want-1e-6 || got > want+1e-6 {
		t.Errorf("engine-side ITL sum %.6fs over %d gaps; model %.6fs over %d plus %.6fs host stall", got,
			s.count["vllm:inter_token_latency_seconds"], decode.Seconds(), n-1, stall)
	}
	want := prefill + decode + h.FrontendPerSeq
	if took < want-time.Millisecond {
		t.Errorf("stream took %s, faster than the model's %s", took, want)
	}
	if took > 3*want+200*time.Millisecond {
		t.Errorf("stream took %s, the model says %s", took, want)
	}
}

func readStream(t testing.TB, url, body string) (events []string, err error) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		return []string{string(b)}, fmt.Errorf("status %d", resp.StatusCode)
	}
	br := bufio.NewReader(resp.Body)
	for {
		line, err := br.ReadString('\n')
		if errors.Is(err, io.EOF) && line == "" {
			return events, nil
		}
		if err != nil {
			return events, err
		}
		if line = strings.TrimSpace(line); line != "" {
			events = append(events, line)
		}
	}
}

func TestFaults(t *testing.T) {
	stream := `{"prompt":"fault","max_tokens":5,"ignore_eos":true,"stream":true}`
	t.Run("error rate", func(t *testing.T) {
		cfg := fast()
		cfg.Faults.ErrorRate = 0.5
		e, url := serve(t, cfg)
		fails := 0
		for range 40 {
			resp, b := post(t, url+"/v1/completions", `{"prompt":"x","max_tokens":1}`)
			if resp.StatusCode == 500 {
				fails++
				if !strings.Contains(string(b), `"type":"InternalServerError"`) {
					t.Errorf("500 body %s", b)
				}
			}
		}
		if fails < 8 || fails > 32 {
			t.Errorf("%d of 40 failed at rate 0.5", fails)
		}
		if s := scrape(t, e); s.value["vllm:request_success_total"] != float64(40-fails) {
			t.Errorf("request_success_total %v, served %d", s.value["vllm:request_success_total"], 40-fails)
		}
	})
	t.Run("stall", func(t *testing.T) {
		cfg := fast()
		cfg.Faults.StallRate, cfg.Faults.StallAfter, cfg.Faults.StallFor = 1, 2, 300*time.Millisecond
		_, url := serve(t, cfg)
		start := time.Now()
		ev, err := readStream(t, url+"/v1/completions", stream)
		if err != nil || ev[len(ev)-1] != "data: [DONE]" || len(ev) != 6 {
			t.Fatalf("stalled stream should still complete: %v %q", err, ev)
		}
		if d := time.Since(start); d < 300*time.Millisecond {
			t.Errorf("stream took %s, stall is 300ms", d)
		}
	})
	t.Run("stall cut short by Close", func(t *testing.T) {
		cfg := fast()
		cfg.Faults.StallRate, cfg.Faults.StallAfter, cfg.Faults.StallFor = 1, 1, time.Hour
		e, url := serve(t, cfg)
		go func() {
			time.Sleep(300 * time.Millisecond)
			e.Close()
		}()
		start := time.Now()
		ev, err := readStream(t, url+"/v1/completions", stream)
		if err == nil || len(ev) != 1 {
			t.Errorf("a stream stalled at token 1 and cut by Close: %v %q", err, ev)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Close took %s to end a stalled stream", d)
		}
	})
	t.Run("drop", func(t *testing.T) {
		cfg := fast()
		cfg.Faults.DropRate, cfg.Faults.DropAfter = 1, 2
		_, url := serve(t, cfg)
		ev, err := readStream(t, url+"/v1/completions", stream)
		if err == nil {
			t.Fatalf("dropped stream ended cleanly: %q", ev)
		}
		if len(ev) != 2 {
			t.Errorf("%d chunks before the drop, want 2", len(ev))
		}
	})
	t.Run("malformed", func(t *testing.T) {
		cfg := fast()
		cfg.Faults.MalformedRate, cfg.Faults.MalformedAfter = 1, 1
		_, url := serve(t, cfg)
		ev, err := readStream(t, url+"/v1/completions", stream)
		if err != nil || len(ev) != 6 {
			t.Fatalf("%v %q", err, ev)
		}
		for i, x := range ev[:5] {
			valid := json.Valid([]byte(strings.TrimPrefix(x, "data: ")))
			if valid == (i == 1) {
				t.Errorf("chunk %d valid=%v: %s", i, valid, x)
			}
		}
	})
	t.Run("crash", func(t *testing.T) {
		cfg := fast()
		cfg.Faults.CrashAfter = 2
		e, url := serve(t, cfg)
		for i := range 2 {
			if resp, b := post(t, url+"/v1/completions", `{"prompt":"x","max_tokens":2}`); resp.StatusCode != 200 {
				t.Fatalf("request %d before the crash: %d %s", i, resp.StatusCode, b)
			}
		}
		select {
		case <-e.Crashed():
		case <-time.After(5 * time.Second):
			t.Fatal("engine did not crash after 2 requests")
		}
		if _, err := http.Post(url+"/v1/completions", "application/json", strings.NewReader(`{"prompt":"x"}`)); err == nil {
			t.Error("a crashed engine still answers")
		}
		if _, err := http.Get(url + "/health"); err == nil {
			t.Error("a crashed engine still answers /health")
		}
	})
	t.Run("off by default", func(t *testing.T) {
		_, url := serve(t, fast())
		for range 5 {
			ev, err := readStream(t, url+"/v1/completions", stream)
			if err != nil || len(ev) != 6 {
				t.Fatalf("%v %q", err, ev)
			}
		}
	})
}

// TestRunShutsDownCleanly: Run with streams in flight returns when its
// context ends, and leaves no goroutine behind.
func TestRunShutsDownCleanly(t *testing.T) {
	http.DefaultClient.CloseIdleConnections()
	before := runtime.NumGoroutine()
	cfg := fast()
	cfg.Slowdown = 1
	e, err := New(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx, l) }()
	url := "http://" + l.Addr().String()
	tr := &http.Transport{}
	client := &http.Client{Transport: tr}
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := client.Post(url+"/v1/completions", "application/json",
				strings.NewReader(`{"prompt":"long","max_tokens":1000,"ignore_eos":true,"stream":true}`))
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
	wg.Wait()
	tr.CloseIdleConnections()
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestConfigValidation(t *testing.T) {
	cases := []struct {
		name string
		f    func(*Config)
		msg  string
	}{
		{"model", func(c *Config) { c.Model = "" }, "model must be set"},
		{"kv", func(c *Config) { c.KVCacheSpaceGiB = 0 }, "VLLM_CPU_KVCACHE_SPACE"},
		{"kv too small for max len", func(c *Config) { c.KVCacheSpaceGiB = 0.01; c.MaxModelLen = 2048 }, "KV cache holds"},
		{"max len over model", func(c *Config) { c.MaxModelLen = 4096 }, "exceeds the model's context length"},
		{"seqs", func(c *Config) { c.MaxNumSeqs = 0 }, "max_num_seqs"},
		{"slowdown", func(c *Config) { c.Slowdown = 0 }, "slowdown"},
		{"fault rate", func(c *Config) { c.Faults.DropRate = 1.5 }, "drop rate"},
		{"cores", func(c *Config) { c.Cores = -2 }, "cores"},
	}
	for _, c := range cases {
		cfg := fast()
		c.f(&cfg)
		_, err := New(cfg, testLogger(t))
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.msg)
		}
	}
	// An unknown id runs on the generic profile; the KV cache caps max_model_len.
	cfg := fast()
	cfg.Model = "someone/custom-model"
	cfg.KVCacheSpaceGiB = 0.05
	e, err := New(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if e.Profile().Params != perfmodel.Generic("").Params || e.Config().MaxModelLen >= 4096 {
		t.Errorf("generic profile %+v, max_model_len %d", e.Profile(), e.Config().MaxModelLen)
	}
}

// TestEveryPresetServes: each preset starts with the defaults and serves a
// request of its kind.
func TestEveryPresetServes(t *testing.T) {
	for _, id := range perfmodel.PresetIDs() {
		t.Run(strings.ReplaceAll(id, "/", "_"), func(t *testing.T) {
			cfg := fast()
			cfg.Model = id
			e, url := serve(t, cfg)
			p := e.Profile()
			if e.Config().MaxModelLen <= 0 || e.Config().MaxModelLen > p.MaxModelLen {
				t.Errorf("max_model_len %d (model's %d)", e.Config().MaxModelLen, p.MaxModelLen)
			}
			path, body := "/v1/completions", `{"model":"`+id+`","prompt":"hello","max_tokens":3,"ignore_eos":true}`
			if p.Embedding {
				path, body = "/v1/embeddings", `{"model":"`+id+`","input":"hello"}`
			}
			if p.EncoderDecoder() {
				c := clip(t, "speech", 0)
				if resp, b := postAudio(t, url, map[string]string{"model": id}, c.Name, c.Data); resp.StatusCode != 200 {
					t.Errorf("transcription: %d %s", resp.StatusCode, b)
				}
				return
			}
			if resp, b := post(t, url+path, body); resp.StatusCode != 200 {
				t.Errorf("%s: %d %s", path, resp.StatusCode, b)
			}
		})
	}
}
