package proxy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/servebench/servebench/exporter/recorder"
)

// benchUpstream streams: "/v1/chat/completions?n=N&gap=D" sends N chunks D
// apart (D = 0: as fast as it can, flushing each), then [DONE].
func benchUpstream(b *testing.B) *httptest.Server {
	chunk := []byte(sseChunk(1))
	done := []byte("data: [DONE]\n\n")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		q := r.URL.Query()
		n := 1
		if v := q.Get("n"); v != "" {
			n = atoi(v)
		}
		gap, _ := time.ParseDuration(q.Get("gap"))
		w.Header().Set("Content-Type", "text/event-stream")
		f := w.(http.Flusher)
		for i := 0; i < n; i++ {
			if i > 0 && gap > 0 {
				select {
				case <-time.After(gap):
				case <-r.Context().Done():
					return
				}
			}
			w.Write(chunk)
			f.Flush()
		}
		w.Write(done)
	}))
	b.Cleanup(srv.Close)
	return srv
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func benchProxy(b *testing.B, upstream string) *httptest.Server {
	reg := prometheus.NewRegistry()
	rec, err := recorder.New(reg, recorder.Options{NativeHistograms: true})
	if err != nil {
		b.Fatal(err)
	}
	u, _ := url.Parse(upstream)
	p, err := New(Config{Upstream: u, Recorder: rec})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(p)
	b.Cleanup(srv.Close)
	return srv
}

func benchClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2000, MaxIdleConns: 4000, DisableCompression: true}}
}

// ttft posts a streaming request and returns the time to the first data line.
func ttft(c *http.Client, url string) (time.Duration, error) {
	start := time.Now()
	resp, err := c.Post(url, "application/json", strings.NewReader(chatBody))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	if _, err := br.ReadString('\n'); err != nil {
		return 0, err
	}
	d := time.Since(start)
	io.Copy(io.Discard, br)
	return d, nil
}

func p99(ds []time.Duration) time.Duration {
	slices.Sort(ds)
	return ds[(len(ds)*99)/100]
}

// BenchmarkAddedTTFT500: with 500 streams open through the proxy (a chunk
// every 100 ms each), probe requests alternate between the upstream directly
// and through the proxy; the figure is the difference of their TTFT p99
// (budget: 0.3 ms).
func BenchmarkAddedTTFT500(b *testing.B) {
	up := benchUpstream(b)
	px := benchProxy(b, up.URL)
	client := benchClient()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	const streams = 500
	opened := make(chan struct{}, streams)
	for range streams {
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, px.URL+"/v1/chat/completions?n=600&gap=100ms", strings.NewReader(chatBody))
			resp, err := client.Do(req)
			if err != nil {
				opened <- struct{}{}
				return
			}
			br := bufio.NewReader(resp.Body)
			br.ReadString('\n')
			opened <- struct{}{}
			io.Copy(io.Discard, br)
			resp.Body.Close()
		})
	}
	for range streams {
		<-opened
	}
	defer func() { cancel(); wg.Wait() }()

	probe := benchClient()
	var direct, proxied []time.Duration
	b.ResetTimer()
	for b.Loop() {
		for range 1000 {
			d, err := ttft(probe, up.URL+"/v1/chat/completions")
			if err != nil {
				b.Fatal(err)
			}
			p, err := ttft(probe, px.URL+"/v1/chat/completions")
			if err != nil {
				b.Fatal(err)
			}
			direct, proxied = append(direct, d), append(proxied, p)
		}
	}
	slices.Sort(direct)
	slices.Sort(proxied)
	b.ReportMetric(float64((proxied[len(proxied)/2]-direct[len(direct)/2]).Microseconds())/1000, "added-p50-ms")
	pd, pp := p99(direct), p99(proxied)
	b.ReportMetric(float64(pd.Microseconds())/1000, "direct-p99-ms")
	b.ReportMetric(float64(pp.Microseconds())/1000, "proxied-p99-ms")
	b.ReportMetric(float64((pp-pd).Microseconds())/1000, "added-p99-ms")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkChunksPerCPUSecond: streams read once directly and once through
// the proxy; the proxy's CPU is the difference of the process's CPU time
// between the two (budget: >= 100,000 chunks per CPU-second). "burst": 8
// streams of 20,000 back-to-back chunks (reads carry many chunks); "spaced":
// 200 streams of 100 chunks 10 ms apart (about one chunk per read, as with
// real token streams).
func BenchmarkChunksPerCPUSecond(b *testing.B) {
	for _, c := range []struct {
		name            string
		streams, chunks int
		gap             string
	}{{"burst", 8, 20_000, "0s"}, {"spaced", 200, 100, "10ms"}} {
		b.Run(c.name, func(b *testing.B) {
			up := benchUpstream(b)
			px := benchProxy(b, up.URL)
			client := benchClient()
			query := fmt.Sprintf("/v1/chat/completions?n=%d&gap=%s", c.chunks, c.gap)
			run := func(base string) time.Duration {
				c0 := cpuTime()
				var wg sync.WaitGroup
				for range c.streams {
					wg.Go(func() {
						resp, err := client.Post(base+query, "application/json", strings.NewReader(chatBody))
						if err != nil {
							b.Error(err)
							return
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					})
				}
				wg.Wait()
				return cpuTime() - c0
			}
			var direct, proxied time.Duration
			for b.Loop() {
				direct += run(up.URL)
				proxied += run(px.URL)
			}
			extra := (proxied - direct).Seconds()
			b.ReportMetric(float64(b.N*c.streams*c.chunks)/extra, "chunks/cpu-s")
			b.ReportMetric(direct.Seconds()/float64(b.N), "direct-cpu-s")
			b.ReportMetric(proxied.Seconds()/float64(b.N), "proxied-cpu-s")
		})
	}
}
