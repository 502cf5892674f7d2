package simulator

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
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
		frontend time.Duration
		seqs     int
	}{
		// TinyLlama on 64 simulated cores: ~1.1 s steps at batch 2,000, each
		// step's 2,000 chunks spread by the modelled frontend (50 µs each).
		{"modelled", 1, 6, 0, 2048},
		// The same with no frontend spread: all 2,000 chunks of a step due at
		// its end, the worst burst the machinery can be handed.
		{"burst", 1, 6, time.Nanosecond, 2048},
		// Ten times faster: the frontend queue, not the steps, paces the writes.
		{"10x-faster", 0.1, 30, 0, 2048},
		// vLLM's CPU serving limit of 256 running sequences: 2,000 streams
		// open, 256 of them decoding at a time, the rest queued.
		{"max-num-seqs=256", 1, 6, 0, 256},
	} {
		b.Run(fmt.Sprintf("streams=2000/%s", c.name), func(b *testing.B) {
			for b.Loop() {
				runScale(b, 2000, c.slowdown, c.tokens, c.frontend, c.seqs)
			}
		})
	}
}

func runScale(b *testing.B, streams int, slowdown float64, tokens int, frontend time.Duration, seqs int) {
	cfg := DefaultConfig()
	cfg.LoadTime = 0
	cfg.Cores = 64
	cfg.MaxNumSeqs = seqs
	cfg.MaxNumBatchedTokens = 8192
	cfg.BlockSize = 16
	cfg.KVCacheSpaceGiB = 8
	cfg.Slowdown = slowdown
	cfg.Hardware.FrontendPerSeq = frontend // 0 = the modelled default
	e, err := New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	e.Start()
	srv := httptest.NewServer(e.Handler())
	defer func() {
		e.Close()
		srv.Close()
	}()
	addr := strings.TrimPrefix(srv.URL, "http://")
	body := fmt.Sprintf(`{"prompt":"scale test prompt with a few words","max_tokens":%d,"ignore_eos":true,"stream":true}`, tokens)
	request := fmt.Sprintf("POST /v1/completions HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", addr, len(body), body)
	var wg sync.WaitGroup
	var chunks, failed, first atomic.Int64
	var steady atomic.Pointer[latenessCounts]
	// The steady state starts once every stream has arrived and as many as
	// may run have had their first token; lateness is summarised from there.
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		for e.arrivals.Load() < uint64(streams) || first.Load() < int64(min(streams, seqs)) {
			if failed.Load() > 0 {
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
		steady.Store(e.lat.snapshot())
	}()
	cpu0 := processCPU(b)
	start := time.Now()
	for range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A raw HTTP/1.1 client: the harness should cost the shared cores
			// as little as possible, so that what is measured is the engine.
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				failed.Add(1)
				return
			}
			defer conn.Close()
			if _, err := io.WriteString(conn, request); err != nil {
				failed.Add(1)
				return
			}
			br := bufio.NewReaderSize(conn, 4096)
			got := 0
			for {
				line, err := br.ReadSlice('\n')
				if err != nil {
					failed.Add(1)
					return
				}
				if bytes.HasPrefix(line, []byte("data: {")) {
					got++
					if got == 1 {
						first.Add(1)
					}
				}
				if bytes.HasPrefix(line, []byte("data: [DONE]")) {
					break
				}
			}
			chunks.Add(int64(got))
			if got != tokens {
				failed.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := processCPU(b) - cpu0
	<-watchDone
	if failed.Load() > 0 {
		b.Errorf("%d of %d streams failed or were short", failed.Load(), streams)
	}
	all := e.WriteLateness()
	s := all
	if base := steady.Load(); base != nil {
		s = e.lat.summarySince(base)
	} else {
		b.Errorf("the %d streams were never all open at once", streams)
		return
	}
	sl := e.StepLateness()
	b.ReportMetric(float64(chunks.Load())/elapsed.Seconds(), "chunks/s")
	b.ReportMetric(float64(s.P50.Microseconds())/1000, "lateness_p50_ms")
	b.ReportMetric(float64(s.P99.Microseconds())/1000, "lateness_p99_ms")
	b.ReportMetric(float64(s.Max.Microseconds())/1000, "lateness_max_ms")
	b.ReportMetric(float64(all.P99.Microseconds())/1000, "lateness_p99_incl_rampup_ms")
	cpuPerChunk := float64(cpu.Microseconds()) / float64(chunks.Load())
	b.ReportMetric(cpuPerChunk, "cpu_us/chunk")
	b.Logf("figure: %d concurrent streams, %d chunks in %s (%.0f chunks/s); write lateness with all streams open: p50 %s p99 %s max %s over %d writes; including the connection ramp-up: p99 %s max %s over %d writes; step loop wake-up lateness p99 %s; process CPU %s (%.0f µs per chunk, clients and connection set-up included)",
		streams, chunks.Load(), elapsed.Round(time.Millisecond), float64(chunks.Load())/elapsed.Seconds(),
		s.P50, s.P99, s.Max, s.Count, all.P99, all.Max, all.Count, sl.P99, cpu.Round(time.Millisecond), cpuPerChunk)
}

// processCPU is the user plus system CPU time this process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
