package orchestrate

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// sseUpstream streams three chunks with gap between them and counts the
// requests it serves at once.
func sseUpstream(t testing.TB, gap time.Duration) (*httptest.Server, func() int) {
	var mu sync.Mutex
	now, peak := 0, 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		now++
		peak = max(peak, now)
		mu.Unlock()
		defer func() { mu.Lock(); now--; mu.Unlock() }()
		w.Header().Set("Content-Type", "text/event-stream")
		for i := 0; i < 3; i++ {
			fmt.Fprintf(w, "data: {\"i\":%d}\n\n", i)
			w.(http.Flusher).Flush()
			time.Sleep(gap)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, func() int { mu.Lock(); defer mu.Unlock(); return peak }
}

// Each SSE chunk reaches the client while the upstream is still sending
// (no buffering in the proxy), and concurrent requests go to the idle
// instance: two requests at once land on two instances.
func TestLeastOutstandingStreamsAndSpreads(t *testing.T) {
	a, peakA := sseUpstream(t, 150*time.Millisecond)
	b, peakB := sseUpstream(t, 150*time.Millisecond)
	lo, err := newLeastOutstanding([]string{a.URL, b.URL}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	base, stop, err := lo.serve()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	var wg sync.WaitGroup
	firstChunk := make([]time.Duration, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			resp, err := http.Post(base+"/v1/chat/completions", "application/json", strings.NewReader("{}"))
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			buf := make([]byte, 64)
			if _, err := resp.Body.Read(buf); err != nil {
				t.Error(err)
			}
			firstChunk[i] = time.Since(start)
			io.Copy(io.Discard, resp.Body)
		}()
	}
	wg.Wait()
	for i, d := range firstChunk {
		if d > 250*time.Millisecond {
			t.Errorf("request %d: first chunk after %s: the proxy buffered the stream", i, d)
		}
	}
	if got := lo.Served(); got[0] != 1 || got[1] != 1 || peakA() != 1 || peakB() != 1 {
		t.Errorf("served %v, peak in flight %d and %d: want one request on each instance", got, peakA(), peakB())
	}
	if _, err := http.Get(base + "/v1/models"); err != nil {
		t.Fatal(err)
	}
	if got := lo.Served(); got[0]+got[1] != 2 {
		t.Errorf("a model listing counted as served: %v", got)
	}
}

// BenchmarkLeastOutstandingHop is what the proxy adds to one short
// streamed request (three chunks, no gap) over loopback.
func BenchmarkLeastOutstandingHop(b *testing.B) {
	up, _ := sseUpstream(b, 0)
	lo, err := newLeastOutstanding([]string{up.URL}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	base, stop, err := lo.serve()
	if err != nil {
		b.Fatal(err)
	}
	defer stop()
	run := func(url string) time.Duration {
		start := time.Now()
		resp, err := http.Post(url+"/v1/completions", "application/json", strings.NewReader("{}"))
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return time.Since(start)
	}
	var direct, proxied time.Duration
	b.ResetTimer()
	for range b.N {
		direct += run(up.URL)
		proxied += run(base)
	}
	b.ReportMetric(float64(direct.Microseconds())/float64(b.N), "direct-µs/req")
	b.ReportMetric(float64(proxied.Microseconds())/float64(b.N), "proxied-µs/req")
	b.ReportMetric(float64((proxied-direct).Microseconds())/float64(b.N), "added-µs/req")
}
