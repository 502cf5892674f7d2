//go:build linux

package proxy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/servebench/servebench/exporter/recorder"
	"github.com/servebench/servebench/internal/e2e"
	"github.com/servebench/servebench/internal/netstamp"
)

// The benchmarks run the upstream in a child process (this test binary,
// re-executed) pinned to the last CPU and the proxy in another, as they run
// in use (the proxy in the runner or the exporter daemon, the server and the
// load generator elsewhere): the proxy's CPU time is its process's, and its
// latency is not mixed with the server's or the clients' in one Go scheduler.
const (
	helperEnv   = "SERVEBENCH_PROXY_HELPER"   // upstream, proxy or relay
	upstreamEnv = "SERVEBENCH_PROXY_UPSTREAM" // the proxy's upstream URL
)

// TestHelperUpstream is not a test: it is the child process's upstream.
// "/v1/chat/completions?n=N&gap=D" sends N chunks D apart (D = 0: as fast as
// it can, flushing each), then [DONE].
func TestHelperUpstream(t *testing.T) {
	if os.Getenv(helperEnv) != "upstream" {
		t.Skip("helper process only")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println(l.Addr().String())
	chunk := []byte(sseChunk(1))
	done := []byte("data: [DONE]\n\n")
	_ = http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
}

func benchUpstream(b *testing.B) string {
	return "http://" + e2e.StartHelperProcess(b, "TestHelperUpstream", helperEnv+"=upstream")
}

// TestHelperProxy is not a test: it is the child process's metering proxy
// (recording into a registry, as the exporter does) or a baseline: "relay",
// the standard library's reverse proxy with the same flushing and nothing
// measured; "tcp", a TCP forwarder that copies bytes both ways and knows
// nothing of HTTP, the least any process on the path can cost.
func TestHelperProxy(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode != "proxy" && mode != "relay" && mode != "tcp" {
		t.Skip("helper process only")
	}
	u, err := url.Parse(os.Getenv(upstreamEnv))
	if err != nil {
		t.Fatal(err)
	}
	if mode == "tcp" {
		tcpForward(t, u.Host)
		return
	}
	var h http.Handler = &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(u) }, FlushInterval: -1}
	if mode == "proxy" {
		rec, err := recorder.New(prometheus.NewRegistry(), recorder.Options{NativeHistograms: true})
		if err != nil {
			t.Fatal(err)
		}
		if h, err = New(Config{Upstream: u, Recorder: rec}); err != nil {
			t.Fatal(err)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println(l.Addr().String())
	_ = http.Serve(l, h)
}

// tcpForward accepts connections and copies bytes between each and a new
// connection to upstream, both ways.
func tcpForward(t *testing.T, upstream string) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println(l.Addr().String())
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			u, err := net.Dial("tcp", upstream)
			if err != nil {
				return
			}
			defer u.Close()
			go io.Copy(u, c)
			io.Copy(c, u)
		}()
	}
}

// benchProxy starts a proxy ("proxy", "relay" or "tcp") in a child process and
// returns its URL and pid.
func benchProxy(b *testing.B, mode, upstream string) (string, int) {
	addr, pid := e2e.StartFreeHelperProcess(b, "TestHelperProxy", helperEnv+"="+mode, upstreamEnv+"="+upstream)
	return "http://" + addr, pid
}

// procCPU is a process's CPU time (user and system) from /proc.
func procCPU(b *testing.B, pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// The fields after the command name, which ends at the last ')'.
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	ticks := atoi(f[11]) + atoi(f[12])                  // utime, stime: fields 14 and 15
	return time.Duration(ticks) * 10 * time.Millisecond // USER_HZ is 100 on Linux
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func benchClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2000, MaxIdleConns: 4000, DisableCompression: true}}
}

// probeClient's connections carry the kernel's receive timestamps, so a
// probe's TTFT is when the first line reached the host, however late the
// probe goroutine reads it.
func probeClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16, DisableCompression: true,
		DialContext: netstamp.DialContext(&net.Dialer{})}}
}

// ttft posts a streaming request and returns the time to the first data line.
func ttft(c *http.Client, url string) (time.Duration, error) {
	var dater netstamp.Dater
	req, err := http.NewRequestWithContext(dater.Trace(context.Background()), http.MethodPost, url, strings.NewReader(chatBody))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	dater.Since(start)
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	if _, err := br.ReadString('\n'); err != nil {
		return 0, err
	}
	at := dater.Date(time.Now())
	io.Copy(io.Discard, br)
	return at.Sub(start), nil
}

// BenchmarkAddedTTFT500: with 500 streams open through the proxy (a chunk
// every 100 ms each), probe requests go in turn to the upstream directly,
// through a TCP forwarder, through a bare HTTP relay (the standard library's
// reverse proxy, measuring nothing) and through the metering proxy; the
// figure is the difference of the proxied and direct TTFT p99 (budget:
// 0.3 ms). The baselines show what one more process on the path costs by
// itself on this machine. The upstream, each proxy and the clients are
// separate processes, as in use; probes are timed by the kernel's receive
// timestamps.
func BenchmarkAddedTTFT500(b *testing.B) {
	up := benchUpstream(b)
	px, _ := benchProxy(b, "proxy", up)
	relay, _ := benchProxy(b, "relay", up)
	fwd, _ := benchProxy(b, "tcp", up)
	client := benchClient()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	const streams = 500
	opened := make(chan struct{}, streams)
	for range streams {
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, px+"/v1/chat/completions?n=600&gap=100ms", strings.NewReader(chatBody))
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

	probe := probeClient()
	var direct, forwarded, relayed, proxied []time.Duration
	b.ResetTimer()
	for b.Loop() {
		for range 1000 {
			for _, p := range []struct {
				url string
				to  *[]time.Duration
			}{{up, &direct}, {fwd, &forwarded}, {relay, &relayed}, {px, &proxied}} {
				d, err := ttft(probe, p.url+"/v1/chat/completions")
				if err != nil {
					b.Fatal(err)
				}
				*p.to = append(*p.to, d)
			}
		}
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	dd, df, dr, dp := durDist(direct), durDist(forwarded), durDist(relayed), durDist(proxied)
	b.ReportMetric(ms(dp[0]-dd[0]), "added-p50-ms")
	b.ReportMetric(ms(dp[1]-dd[1]), "added-p99-ms")
	b.ReportMetric(ms(df[1]-dd[1]), "tcp-added-p99-ms")
	b.ReportMetric(ms(dr[1]-dd[1]), "relay-added-p99-ms")
	b.Logf("figure proxy-added-ttft: TTFT p50/p99 direct %.3f/%.3f ms, TCP forwarder %.3f/%.3f, bare relay %.3f/%.3f, metering proxy %.3f/%.3f; added p50/p99: TCP forwarder %.3f/%.3f ms, relay %.3f/%.3f ms, metering proxy %.3f/%.3f ms",
		ms(dd[0]), ms(dd[1]), ms(df[0]), ms(df[1]), ms(dr[0]), ms(dr[1]), ms(dp[0]), ms(dp[1]),
		ms(df[0]-dd[0]), ms(df[1]-dd[1]), ms(dr[0]-dd[0]), ms(dr[1]-dd[1]), ms(dp[0]-dd[0]), ms(dp[1]-dd[1]))
}

// durDist returns the p50 and p99 of ds.
func durDist(ds []time.Duration) [2]time.Duration {
	slices.Sort(ds)
	return [2]time.Duration{ds[len(ds)/2], ds[(len(ds)*99)/100]}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkChunksPerCPUSecond: the same streams read through the metering
// proxy and through a bare relay (the standard library's reverse proxy,
// flushing each write, measuring nothing), each in its own process; a
// proxy's figure is the chunks it passed per second of its process's CPU
// time. Budget: >= 100,000 chunks per CPU-second. "burst": 8 streams of
// 20,000 back-to-back chunks (reads carry many chunks); "spaced": 200 streams
// of 100 chunks 10 ms apart (one chunk per read and per write, as with real
// token streams: the kernel's cost per segment sets a ceiling, which the
// relay shows).
func BenchmarkChunksPerCPUSecond(b *testing.B) {
	for _, c := range []struct {
		name            string
		streams, chunks int
		gap             string
	}{{"burst", 8, 20_000, "0s"}, {"spaced", 200, 100, "10ms"}} {
		b.Run(c.name, func(b *testing.B) {
			up := benchUpstream(b)
			px, pxPID := benchProxy(b, "proxy", up)
			relay, relayPID := benchProxy(b, "relay", up)
			client := benchClient()
			query := fmt.Sprintf("/v1/chat/completions?n=%d&gap=%s", c.chunks, c.gap)
			run := func(base string, pid int) time.Duration {
				c0 := procCPU(b, pid)
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
				return procCPU(b, pid) - c0
			}
			var relayed, proxied time.Duration
			for b.Loop() {
				relayed += run(relay, relayPID)
				proxied += run(px, pxPID)
			}
			chunks := float64(b.N * c.streams * c.chunks)
			ours, bare := chunks/proxied.Seconds(), chunks/relayed.Seconds()
			b.ReportMetric(ours, "chunks/cpu-s")
			b.ReportMetric(bare, "relay-chunks/cpu-s")
			b.Logf("figure proxy-chunks-%s: metering proxy %.0f chunks/CPU-s, bare relay %.0f (ratio %.2f); CPU-s: relay %.2f, proxy %.2f",
				c.name, ours, bare, ours/bare, relayed.Seconds(), proxied.Seconds())
		})
	}
}
