//go:build linux

package measure

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/servebench/servebench/internal/e2e"
)

// The speed benchmark runs its streaming server in a child process (this
// test binary, re-executed) pinned to the last CPU, so the CPU time measured
// here is the client's alone.

const helperEnv = "SERVEBENCH_MEASURE_SSE_SERVER"

// vllmChunk is a chat completion chunk as vLLM writes it.
const vllmChunk = `data: {"id":"chatcmpl-5f3c0c1a2b","object":"chat.completion.chunk","created":1764201600,"model":"TinyLlama/TinyLlama-1.1B-Chat-v1.0","choices":[{"index":0,"delta":{"content":" token"},"logprobs":null,"finish_reason":null}]}` + "\n\n"

// TestHelperSSEServer is not a test: it is the child process's server.
// Query parameters: n chunks per response, gap between chunks (0 = as fast
// as possible).
func TestHelperSSEServer(t *testing.T) {
	if os.Getenv(helperEnv) == "" {
		t.Skip("helper process only")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println(l.Addr().String())
	chunk := []byte(vllmChunk)
	_ = http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		gap, _ := time.ParseDuration(r.URL.Query().Get("gap"))
		w.Header().Set("Content-Type", "text/event-stream")
		fl := w.(http.Flusher)
		next := time.Now()
		for i := 0; i < n; i++ {
			if gap > 0 {
				next = next.Add(gap)
				if d := time.Until(next); d > 0 {
					time.Sleep(d)
				}
			}
			if _, err := w.Write(chunk); err != nil {
				return
			}
			fl.Flush()
		}
		io.WriteString(w, "data: [DONE]\n\n")
	}))
}

// startHelper re-executes the test binary as the SSE server.
func startHelper(b *testing.B) string {
	return "http://" + e2e.StartHelperProcess(b, "TestHelperSSEServer", helperEnv+"=1")
}

func cpuNow() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// consume reads one response body; it returns the chunks it saw.
type consumer func(body io.Reader, buf []byte) int

// lineCounter is the minimal SSE reader: it counts data lines and nothing else.
func lineCounter(body io.Reader, buf []byte) int {
	sc := bufio.NewScanner(body)
	sc.Buffer(buf, len(buf))
	n := 0
	for sc.Scan() {
		if bytes.HasPrefix(sc.Bytes(), []byte("data: {")) {
			n++
		}
	}
	return n
}

// tracked is servebench's timing: every read timestamped and parsed.
func tracked(body io.Reader, buf []byte) int {
	now := time.Now()
	tr := NewTracker(0, now, now, TrackOptions{Stream: true, API: APIChat, ChunkHint: 256})
	tr.Header(200, time.Now())
	for {
		n, err := body.Read(buf)
		if n > 0 {
			tr.Write(buf[:n], time.Now())
		}
		if err != nil {
			break
		}
	}
	r := tr.Finish(time.Now(), nil)
	return len(r.Chunks)
}

// tally is what a consumer got over its slices.
type tally struct {
	chunks    int64
	cpu, wall time.Duration
}

func (t tally) perCPU() float64  { return float64(t.chunks) / t.cpu.Seconds() }
func (t tally) perWall() float64 { return float64(t.chunks) / t.wall.Seconds() }

// drive runs streams concurrent clients for d and adds what it saw to t.
func drive(b *testing.B, url string, streams int, d time.Duration, c consumer, t *tally) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: streams * 2, DisableCompression: true}}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var chunks atomic.Int64
	var wg sync.WaitGroup
	cpu0, t0 := cpuNow(), time.Now()
	for i := 0; i < streams; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 32<<10)
			for ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
				resp, err := client.Do(req)
				if err != nil {
					continue
				}
				chunks.Add(int64(c(resp.Body, buf)))
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	t.cpu += cpuNow() - cpu0
	t.wall += time.Since(t0)
	t.chunks += chunks.Load()
	client.CloseIdleConnections()
}

// BenchmarkChunkCPU compares the chunks per CPU-second of full per-chunk
// timing with a reader that only counts lines, on identical traffic in the
// same run: at a fixed 32,000 chunks/s (32 streams, 1 ms apart) and with
// the server as fast as it goes. The two readers alternate in half-second
// slices, so a shared machine's load drifts over both alike. Budget: the
// ratio at least 0.5.
func BenchmarkChunkCPU(b *testing.B) {
	url := startHelper(b)
	const d = 2 * time.Second
	for _, regime := range []struct {
		name  string
		query string
	}{
		{"fixed32k", "?n=200&gap=1ms"},
		{"saturated", "?n=2000&gap=0"},
	} {
		b.Run(regime.name, func(b *testing.B) {
			for b.Loop() {
				var bt, ft tally
				for slice := 0; slice < 4; slice++ {
					drive(b, url+regime.query, 32, d/4, lineCounter, &bt)
					drive(b, url+regime.query, 32, d/4, tracked, &ft)
				}
				base, baseWall := bt.perCPU(), bt.perWall()
				full, fullWall := ft.perCPU(), ft.perWall()
				b.ReportMetric(base, "linecount-chunks/cpu-s")
				b.ReportMetric(full, "tracked-chunks/cpu-s")
				b.ReportMetric(full/base, "ratio")
				b.ReportMetric(fullWall, "tracked-chunks/s")
				b.Logf("figure %s: line counter %.0f chunks/CPU-s (%.0f chunks/s), tracker %.0f chunks/CPU-s (%.0f chunks/s), ratio %.2f",
					regime.name, base, baseWall, full, fullWall, full/base)
			}
		})
	}
}

// BenchmarkTrackerWrite is the parser alone: one vLLM chunk per Write.
func BenchmarkTrackerWrite(b *testing.B) {
	ev := []byte(vllmChunk)
	now := time.Now()
	tr := NewTracker(0, now, now, TrackOptions{Stream: true, ChunkHint: 1 << 12})
	tr.Header(200, now)
	b.SetBytes(int64(len(ev)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i++; i%4000 == 0 { // keep the chunk list bounded
			tr = NewTracker(0, now, now, TrackOptions{Stream: true, ChunkHint: 1 << 12})
			tr.Header(200, now)
		}
		tr.Write(ev, now)
	}
}
