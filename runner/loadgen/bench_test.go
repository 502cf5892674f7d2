//go:build linux

package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/internal/e2e"
	"github.com/servebench/servebench/runner/pacer"
	"github.com/servebench/servebench/runner/results"
	"github.com/servebench/servebench/runner/workload"
)

// The speed and truth benchmarks run their server in a child process (this
// test binary, re-executed) pinned to the last CPU, so the load generator
// and the server do not share a Go scheduler.

const helperEnv = "SERVEBENCH_LOADGEN_HELPER"

// TestHelperServer is not a test: it is the child process's server. Mode
// "fast" answers one token at once; mode "truth" writes the first token 50 ms
// after arrival and then one every 10 ms (a token late by more than 2 ms
// delays the rest), and logs when it really wrote each one
// (GET /truth). The truth server runs at nice 19: the load generator is what
// is measured, so when both want the second core it goes first; the server
// is then late, which its own log records, and its lateness is no error of
// the client's.
func TestHelperServer(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		t.Skip("helper process only")
	}
	if mode == "truth" {
		niceAll(t, 19)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println(l.Addr().String())
	var mu sync.Mutex
	truth := map[string][]int64{}
	chunk := []byte(`data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":" tok"},"finish_reason":null}]}` + "\n\n")
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/truth":
			mu.Lock()
			defer mu.Unlock()
			_ = json.NewEncoder(w).Encode(truth)
			return
		case "/v1/chat/completions":
		default:
			http.NotFound(w, r)
			return
		}
		arrived := time.Now()
		var req struct {
			Messages []struct {
				Content string `json:"content"`
			} `json:"messages"`
			Max int `json:"max_completion_tokens"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		w.Header().Set("Content-Type", "text/event-stream")
		fl := w.(http.Flusher)
		if mode == "fast" {
			w.Write(chunk)
			io.WriteString(w, "data: [DONE]\n\n")
			return
		}
		writes := make([]int64, 0, req.Max)
		next := arrived.Add(50 * time.Millisecond)
		for i := 0; i < req.Max; i++ {
			time.Sleep(time.Until(next))
			// A token more than 2 ms late delays the rest, as an engine's
			// next decode step starts after the last: no catching up with a
			// burst of short gaps. Timer jitter below that is absorbed.
			if now := time.Now(); now.Sub(next) > 2*time.Millisecond {
				next = now
			}
			next = next.Add(10 * time.Millisecond)
			if _, err := w.Write(chunk); err != nil {
				return
			}
			fl.Flush()
			writes = append(writes, time.Now().UnixNano())
		}
		io.WriteString(w, "data: [DONE]\n\n")
		if len(req.Messages) > 0 {
			mu.Lock()
			truth[req.Messages[0].Content] = writes
			mu.Unlock()
		}
	})}
	_ = srv.Serve(l)
}

// niceAll lowers the priority of every thread of this process (Linux nice
// values are per thread; threads started later inherit their creator's).
func niceAll(t *testing.T, n int) {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range tasks {
		tid, _ := strconv.Atoi(e.Name())
		if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, n); err != nil {
			t.Fatal(err)
		}
	}
}

func startHelper(b *testing.B, mode string) string {
	return "http://" + e2e.StartHelperProcess(b, "TestHelperServer", helperEnv+"="+mode)
}

// BenchmarkConstant2000: open loop at 2,000 req/s for 5 s (1 s warmup)
// against a server answering at once. Budget: achieved >= 99.5% of the
// scheduled rate, p99 send lateness <= 1 ms.
func BenchmarkConstant2000(b *testing.B) {
	defer debug.SetGCPercent(debug.SetGCPercent(GCPercent)) // as cmd/runner runs
	url := startHelper(b, "fast")
	for b.Loop() {
		cfg := Config{Target: url, Model: "m", API: measure.APIChat, Stream: true, Profile: pacer.Constant, Rates: []float64{2000},
			Workload: workload.Spec{Prompt: workload.Length{Mean: 8}, Output: workload.Length{Mean: 1}}, PromptPool: 256,
			MaxSeconds: 5 * time.Second, Warmup: 1, RequestTimeout: 10 * time.Second}
		sum, err := Run(context.Background(), cfg, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		bm := sum.Benchmarks[0]
		ratio := results.Ratio(bm.AchievedRate, bm.ScheduledRate).Or(math.NaN())
		b.ReportMetric(100*ratio, "achieved-%")
		b.ReportMetric(bm.SendLateness.P50.Or(math.NaN()), "lateness-p50-ms")
		b.ReportMetric(bm.SendLateness.P99.Or(math.NaN()), "lateness-p99-ms")
		b.ReportMetric(bm.LoadgenCPUPercent.Or(math.NaN()), "loadgen-cpu-%")
		b.Logf("figure constant-2000: achieved %.1f of %.1f req/s (%.2f%%), lateness p50 %.3f ms p99 %.3f ms max %.1f ms, %d ok %d failed, loadgen CPU %.0f%% of a core, valid %v %q",
			bm.AchievedRate, bm.ScheduledRate, 100*ratio, bm.SendLateness.P50, bm.SendLateness.P99, bm.SendLateness.Max,
			bm.Requests.Successful, bm.Requests.Failed, bm.LoadgenCPUPercent, bm.Valid, bm.InvalidReasons)
	}
}

// BenchmarkSleeperAlone: the pacer's sleeper with nothing else to do, 10,000
// waits 0.5 ms apart (2,000 a second). Its lateness is the floor the
// machine itself sets (a virtual CPU the host deschedules now and then)
// under BenchmarkConstant2000's figures.
func BenchmarkSleeperAlone(b *testing.B) {
	for b.Loop() {
		sl := newSleeper()
		late := make([]float64, 0, 10000)
		start := time.Now()
		for i := range 10000 {
			due := start.Add(time.Duration(i+1) * 500 * time.Microsecond)
			sl.until(due, nil)
			late = append(late, float64(time.Since(due))/1e6)
		}
		sl.close()
		d := results.NewDist(late)
		b.ReportMetric(d.P99.Or(math.NaN()), "lateness-p99-ms")
		b.ReportMetric(d.Max.Or(math.NaN()), "lateness-max-ms")
		over := 0
		for _, v := range late {
			if v > 1 {
				over++
			}
		}
		b.Logf("figure sleeper-alone: lateness p50 %.3f ms p99 %.3f ms p99.9 %.3f ms max %.1f ms; %d of 10,000 waits over 1 ms",
			d.P50, d.P99, d.P999, d.Max, over)
	}
}

// BenchmarkTruth500: 500 concurrent streams against a server that writes
// the first token 50 ms after arrival and one every 10 ms and logs when it
// really wrote each. In steady state (after 2 s), the reported first-token
// and chunk times are compared with the server's log request by request.
// Budget: TTFT error within 0.5 ms at p50 and 2 ms at p99; ITL p50 within
// 0.5 ms of 10 ms.
//
// The same at 100 and 300 streams shows how the error grows with load.
func BenchmarkTruth500(b *testing.B) {
	defer debug.SetGCPercent(debug.SetGCPercent(GCPercent)) // as cmd/runner runs
	url := startHelper(b, "truth")
	const tokens = 20
	items := make([]workload.Item, 40000)
	for i := range items {
		items[i] = workload.Item{Prompt: fmt.Sprintf("prompt %d", i), OutputTokens: tokens}
	}
	for _, streams := range []int{100, 300, 500} {
		b.Run(fmt.Sprintf("streams=%d", streams), func(b *testing.B) {
			for b.Loop() {
				truthRun(b, url, items, streams)
			}
		})
	}
}

func truthRun(b *testing.B, url string, items []workload.Item, streams int) {
	{
		cfg := Config{Target: url, Model: "m", API: measure.APIChat, Stream: true, Profile: pacer.Concurrent, Rates: []float64{float64(streams)},
			Prompts: &workload.Set{Items: items}, MaxSeconds: 6 * time.Second, Warmup: 2, RequestTimeout: 30 * time.Second,
			DrainTimeout: 5 * time.Second}
		var mu sync.Mutex
		var measured []*measure.Result
		sum, err := Run(context.Background(), cfg, nil, func(r *measure.Result) {
			if r.Phase == measure.PhaseMeasure && r.Outcome == contract.OutcomeSuccess {
				mu.Lock()
				measured = append(measured, r)
				mu.Unlock()
			}
		})
		if err != nil {
			b.Fatal(err)
		}
		resp, err := http.Get(url + "/truth")
		if err != nil {
			b.Fatal(err)
		}
		var truth map[string][]int64
		err = json.NewDecoder(resp.Body).Decode(&truth)
		resp.Body.Close()
		if err != nil {
			b.Fatal(err)
		}
		var ttftErr, gapErr, gaps, serverGaps []float64
		for _, r := range measured {
			w := truth[items[int(r.Seq)%len(items)].Prompt]
			if len(w) != len(r.Chunks) || len(w) == 0 {
				continue
			}
			ttftErr = append(ttftErr, float64(r.FirstTok.UnixNano()-w[0])/1e6)
			for i := 1; i < len(w); i++ {
				got := float64(r.Chunks[i].At-r.Chunks[i-1].At) / 1e6
				gapErr = append(gapErr, got-float64(w[i]-w[i-1])/1e6)
				gaps = append(gaps, got)
				serverGaps = append(serverGaps, float64(w[i]-w[i-1])/1e6)
			}
		}
		if len(ttftErr) == 0 {
			b.Fatal("no request matched the server's log")
		}
		te, ge, g, tg := results.NewDist(ttftErr), results.NewDist(gapErr), results.NewDist(gaps), results.NewDist(serverGaps)
		bm := sum.Benchmarks[0]
		b.ReportMetric(te.P50.Or(math.NaN()), "ttft-err-p50-ms")
		b.ReportMetric(te.P99.Or(math.NaN()), "ttft-err-p99-ms")
		b.ReportMetric(bm.ITL.P50.Or(math.NaN()), "itl-p50-ms")
		b.ReportMetric(tg.P50.Or(math.NaN()), "server-itl-p50-ms")
		b.ReportMetric(ge.P99.Or(math.NaN()), "itl-err-p99-ms")
		sort.Float64s(ttftErr)
		b.Logf("figure truth-%d: %d requests matched; TTFT error vs the server's log p50 %.3f ms p99 %.3f ms max %.1f ms; ITL p50 %.3f ms (summary %.3f ms, server's log %.3f ms), per-gap error p50 %.3f p99 %.3f ms; TTFT from send p50 %.1f ms (the server scheduled 50); %.0f chunks/s; loadgen CPU %.0f%%",
			streams, len(ttftErr), te.P50, te.P99, te.Max, g.P50, bm.ITL.P50, tg.P50, ge.P50, ge.P99, bm.TTFTFromSend.P50,
			bm.OutputTokensPerSecond, bm.LoadgenCPUPercent)
	}
}
