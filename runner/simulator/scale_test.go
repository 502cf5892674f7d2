package simulator

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkScaleStreams holds 2,000 concurrent streams open against one
// engine on this machine and reports how late the engine's token writes
// were against its own schedule (p50, p99, max), with the clients running
// in the same process on the same cores. Each iteration is one full run.
//
//	go test -run '^$' -bench ScaleStreams -benchtime 1x ./runner/simulator/
func BenchmarkScaleStreams(b *testing.B) {
	for _, c := range []struct {
		name     string
		slowdown float64
		tokens   int
	}{
		{"modelled", 1, 6},      // TinyLlama on 64 simulated cores: ~1.1 s steps at batch 2,000
		{"10x-faster", 0.1, 30}, // the same engine ten times faster: ~18k chunks/s
	} {
		b.Run(fmt.Sprintf("streams=2000/%s", c.name), func(b *testing.B) {
			for b.Loop() {
				runScale(b, 2000, c.slowdown, c.tokens)
			}
		})
	}
}

func runScale(b *testing.B, streams int, slowdown float64, tokens int) {
	cfg := DefaultConfig()
	cfg.LoadTime = 0
	cfg.Cores = 64
	cfg.MaxNumSeqs = 2048
	cfg.MaxNumBatchedTokens = 8192
	cfg.BlockSize = 16
	cfg.KVCacheSpaceGiB = 8
	cfg.Slowdown = slowdown
	e, err := New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	e.Start()
	srv := httptest.NewUnstartedServer(e.Handler())
	srv.Start()
	defer func() {
		e.Close()
		srv.Close()
	}()
	tr := &http.Transport{MaxIdleConnsPerHost: streams, MaxConnsPerHost: 0, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	body := fmt.Sprintf(`{"prompt":"scale test prompt with a few words","max_tokens":%d,"ignore_eos":true,"stream":true}`, tokens)
	var wg sync.WaitGroup
	var chunks, failed atomic.Int64
	var open atomic.Int64
	var peak atomic.Int64
	start := time.Now()
	for range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := client.Post(srv.URL+"/v1/completions", "application/json", strings.NewReader(body))
			if err != nil {
				failed.Add(1)
				return
			}
			defer resp.Body.Close()
			n := open.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			br := bufio.NewReaderSize(resp.Body, 4096)
			got := 0
			for {
				line, err := br.ReadSlice('\n')
				if err != nil {
					if err != io.EOF {
						failed.Add(1)
					}
					break
				}
				if len(line) > 7 && line[6] == '{' {
					got++
				}
			}
			open.Add(-1)
			chunks.Add(int64(got))
			if got != tokens {
				failed.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	s := e.WriteLateness()
	sl := e.StepLateness()
	b.Logf("step loop lateness p50 %s p99 %s max %s over %d steps", sl.P50, sl.P99, sl.Max, sl.Count)
	if failed.Load() > 0 {
		b.Errorf("%d of %d streams failed or were short", failed.Load(), streams)
	}
	b.ReportMetric(float64(peak.Load()), "peak_open_streams")
	b.ReportMetric(float64(chunks.Load())/elapsed.Seconds(), "chunks/s")
	b.ReportMetric(float64(s.P50.Microseconds())/1000, "lateness_p50_ms")
	b.ReportMetric(float64(s.P99.Microseconds())/1000, "lateness_p99_ms")
	b.ReportMetric(float64(s.Max.Microseconds())/1000, "lateness_max_ms")
	b.Logf("figure: %d streams (peak %d open), %d chunks in %s (%.0f chunks/s), write lateness p50 %s p99 %s max %s over %d writes",
		streams, peak.Load(), chunks.Load(), elapsed.Round(time.Millisecond), float64(chunks.Load())/elapsed.Seconds(), s.P50, s.P99, s.Max, s.Count)
}
