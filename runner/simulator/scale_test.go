package simulator

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
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
// in a child process on the same cores. Each iteration is one full run.
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
		// TinyLlama on 64 simulated cores: ~1.16 s steps at batch 2,000
		// (perfmodel.StepCost), each step's 2,000 chunks spread over 0.1 s by
		// the modelled frontend (50 µs each).
		{"modelled", 1, 6, 0, 2048},
		// The same with no frontend spread: all 2,000 chunks of a step due at
		// its end, the worst burst the machinery can be handed.
		{"burst", 1, 6, time.Nanosecond, 2048},
		// Ten times faster: ~0.12 s steps, nearly all of which the frontend's
		// 0.1 s of chunks fill, so writes are spread almost without a gap.
		{"10x-faster", 0.1, 30, 0, 2048},
		// max_num_seqs 256: 2,000 streams open, 256 of them decoding at a
		// time (~0.15 s steps), the rest queued.
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
	// The clients run in a child process (this test binary re-executed as
	// TestScaleClientProcess), as a real client would: in this process their
	// 2,000 goroutines would queue in the same Go run queues as the engine's
	// handlers, and the engine's lateness would be the harness's scheduling.
	// Both processes still share this machine's cores.
	cmd := exec.Command(os.Args[0], "-test.run=^TestScaleClientProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), "SIMSCALE_ADDR="+addr,
		fmt.Sprintf("SIMSCALE_STREAMS=%d", streams), fmt.Sprintf("SIMSCALE_TOKENS=%d", tokens),
		fmt.Sprintf("SIMSCALE_FIRST=%d", min(streams, seqs)))
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	var steady *latenessCounts
	var chunks, failed int64
	cpu0 := processCPU(b)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "steady":
			// Every stream is open and as many as may run have had their
			// first token; lateness is summarised from here.
			for e.arrivals.Load() < uint64(streams) {
				time.Sleep(time.Millisecond)
			}
			steady = e.lat.snapshot()
		case strings.HasPrefix(line, "result "):
			if _, err := fmt.Sscanf(line, "result chunks=%d failed=%d", &chunks, &failed); err != nil {
				b.Fatalf("client result %q: %v", line, err)
			}
		}
	}
	if err := cmd.Wait(); err != nil {
		b.Fatalf("client process: %v", err)
	}
	elapsed := time.Since(start)
	cpu := processCPU(b) - cpu0
	var clientCPU time.Duration
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		clientCPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	if failed > 0 || chunks != int64(streams*tokens) {
		b.Errorf("%d of %d streams failed or were short (%d chunks of %d)", failed, streams, chunks, streams*tokens)
	}
	all := e.WriteLateness()
	s := all
	if steady != nil {
		s = e.lat.summarySince(steady)
	} else {
		b.Errorf("the %d streams were never all open at once", streams)
		return
	}
	sl := e.StepLateness()
	b.ReportMetric(float64(chunks)/elapsed.Seconds(), "chunks/s")
	b.ReportMetric(float64(s.P50.Microseconds())/1000, "lateness_p50_ms")
	b.ReportMetric(float64(s.P99.Microseconds())/1000, "lateness_p99_ms")
	b.ReportMetric(float64(s.Max.Microseconds())/1000, "lateness_max_ms")
	b.ReportMetric(float64(all.P99.Microseconds())/1000, "lateness_p99_incl_rampup_ms")
	cpuPerChunk := float64(cpu.Microseconds()) / float64(chunks)
	clientPerChunk := float64(clientCPU.Microseconds()) / float64(chunks)
	b.ReportMetric(cpuPerChunk, "engine_cpu_us/chunk")
	b.ReportMetric(clientPerChunk, "client_cpu_us/chunk")
	b.Logf("figure: %d concurrent streams, %d chunks in %s (%.0f chunks/s); write lateness with all streams open: p50 %s p99 %s max %s over %d writes; including the connection ramp-up: p99 %s max %s over %d writes; step loop wake-up lateness p99 %s; engine process CPU %s (%.0f µs per chunk), client process CPU %s (%.0f µs per chunk)",
		streams, chunks, elapsed.Round(time.Millisecond), float64(chunks)/elapsed.Seconds(),
		s.P50, s.P99, s.Max, s.Count, all.P99, all.Max, all.Count, sl.P99,
		cpu.Round(time.Millisecond), cpuPerChunk, clientCPU.Round(time.Millisecond), clientPerChunk)
}

// TestScaleClientProcess is BenchmarkScaleStreams' client side, run in a
// child process; it skips unless the benchmark started it. It opens every
// stream at once, reads each to [DONE], prints "steady" once the first
// tokens of the streams that may run have arrived, and at the end
// "result chunks=N failed=M".
func TestScaleClientProcess(t *testing.T) {
	addr := os.Getenv("SIMSCALE_ADDR")
	if addr == "" {
		t.Skip("run by BenchmarkScaleStreams only")
	}
	var streams, tokens, firstWanted int
	for _, v := range []struct {
		name string
		dst  *int
	}{{"SIMSCALE_STREAMS", &streams}, {"SIMSCALE_TOKENS", &tokens}, {"SIMSCALE_FIRST", &firstWanted}} {
		n, err := strconv.Atoi(os.Getenv(v.name))
		if err != nil {
			t.Fatalf("%s: %v", v.name, err)
		}
		*v.dst = n
	}
	body := fmt.Sprintf(`{"prompt":"scale test prompt with a few words","max_tokens":%d,"ignore_eos":true,"stream":true}`, tokens)
	request := fmt.Sprintf("POST /v1/completions HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", addr, len(body), body)
	var wg sync.WaitGroup
	var chunks, failed, first atomic.Int64
	var steadyOnce sync.Once
	conns := make(chan net.Conn, streams)
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
			// Kept open until every stream has finished, as a pooling HTTP
			// client keeps its idle connections.
			conns <- conn
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
					if got == 1 && first.Add(1) == int64(firstWanted) {
						steadyOnce.Do(func() { fmt.Println("steady") })
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
	close(conns)
	for c := range conns {
		c.Close()
	}
	fmt.Printf("result chunks=%d failed=%d\n", chunks.Load(), failed.Load())
}

// processCPU is the user plus system CPU time this process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
