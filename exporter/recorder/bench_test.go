package recorder

import (
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	vm "github.com/VictoriaMetrics/metrics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/exporter/webserver"
)

// observations made by Finished for one successful request with n chunks:
// histograms (lateness, TTFT, TPOT, E2E, n-1 ITL gaps) plus counter and
// gauge updates (in-flight, outcome, output and prompt tokens).
func observations(n int) int { return 4 + (n - 1) + 4 }

func benchmarkFinished(b *testing.B, opts Options) {
	r, _ := newRecorder(b, opts)
	br := r.Benchmark(labels)
	const chunks = 64
	res := result(time.Unix(0, 0), time.Millisecond, 80*time.Millisecond, 25*time.Millisecond, chunks)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for b.Loop() {
		br.Started()
		br.FirstToken(80 * time.Millisecond)
		br.Finished(res)
	}
	obs := float64(b.N) * float64(observations(chunks)+1)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/obs, "ns/observation")
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/obs, "cpu-ns/observation")
}

// BenchmarkObserve: recording one request of 64 chunks, reported per
// observation (budget: 100 ns).
func BenchmarkObserve(b *testing.B) {
	b.Run("classic", func(b *testing.B) { benchmarkFinished(b, Options{}) })
	b.Run("classic+native", func(b *testing.B) { benchmarkFinished(b, Options{NativeHistograms: true}) })
}

// BenchmarkObserveHistogram: one observation into one latency histogram
// child, by the client library servebench records with (classic `le`
// buckets, then classic and native) and by VictoriaMetrics/metrics (the same
// `le` buckets, then its vmrange buckets), the candidates for the hot path.
func BenchmarkObserveHistogram(b *testing.B) {
	values := make([]float64, 1024) // TTFTs from 1 ms to 100 s, log-uniform
	for i := range values {
		values[i] = math.Pow(10, -3+5*float64(i)/float64(len(values)))
	}
	run := func(b *testing.B, observe func(float64)) {
		i := 0
		for b.Loop() {
			observe(values[i&1023])
			i++
		}
	}
	b.Run("client_golang-classic", func(b *testing.B) {
		run(b, histogramVec(contract.RequestTTFT, Options{}).WithLabelValues(labels.Values()...).Observe)
	})
	b.Run("client_golang-classic+native", func(b *testing.B) {
		run(b, histogramVec(contract.RequestTTFT, Options{NativeHistograms: true}).WithLabelValues(labels.Values()...).Observe)
	})
	b.Run("victoriametrics-le", func(b *testing.B) {
		run(b, vm.NewSet().NewPrometheusHistogramExt(`ttft{a="b"}`, contract.RequestTTFT.Buckets).Update)
	})
	b.Run("victoriametrics-vmrange", func(b *testing.B) {
		run(b, vm.NewSet().NewHistogram(`ttft{a="b"}`).Update)
	})
}

// BenchmarkObserveParallel: the same with every core recording at once.
func BenchmarkObserveParallel(b *testing.B) {
	r, _ := newRecorder(b, Options{NativeHistograms: true})
	br := r.Benchmark(labels)
	const chunks = 64
	res := result(time.Unix(0, 0), time.Millisecond, 80*time.Millisecond, 25*time.Millisecond, chunks)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			br.Started()
			br.FirstToken(80 * time.Millisecond)
			br.Finished(res)
		}
	})
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(observations(chunks)+1), "ns/observation")
}

// BenchmarkScrape20k: one HTTP scrape of /metrics exposing at least 20,000
// series of recorder data (budget: 30 ms), and the same scrape served by
// the client library's promhttp handler (library-*).
func BenchmarkScrape20k(b *testing.B) {
	reg := prometheus.NewRegistry()
	r, err := New(reg, Options{NativeHistograms: true})
	if err != nil {
		b.Fatal(err)
	}
	res := result(time.Unix(0, 0), time.Millisecond, 80*time.Millisecond, 25*time.Millisecond, 16)
	series := 0
	for i := 0; series < 20_000; i++ {
		l := labels
		l.Level = fmt.Sprintf("concurrent-%d", i)
		br := r.Benchmark(l)
		br.SetTarget(float64(i), contract.TargetStreams)
		br.Started()
		br.FirstToken(80 * time.Millisecond)
		br.Finished(res)
		series = countSeries(b, reg)
	}
	srv := httptest.NewServer(webserver.Handler(reg, slog.New(slog.DiscardHandler), "bench"))
	defer srv.Close()
	// The client library's own handler, for comparison: the exposition a
	// servebench /metrics would have without package exposition.
	lib := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer lib.Close()
	// Prometheus asks for gzip; a loopback scraper may as well not.
	for _, c := range []struct{ name, enc, url string }{
		{"gzip", "gzip", srv.URL}, {"identity", "identity", srv.URL},
		{"library-gzip", "gzip", lib.URL}, {"library-identity", "identity", lib.URL},
	} {
		enc := c.enc
		b.Run(c.name, func(b *testing.B) {
			client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
			var bytes int64
			cpu0 := cpuTime()
			for b.Loop() {
				req, _ := http.NewRequest(http.MethodGet, c.url+"/metrics", nil)
				req.Header.Set("Accept-Encoding", enc)
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				bytes, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/scrape")
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/scrape")
			b.ReportMetric(float64(series), "series")
			b.ReportMetric(float64(bytes), "bytes/scrape")
		})
	}
}

// countSeries counts exposed samples the way a scraper sees them (each
// classic bucket, _sum and _count is one series).
func countSeries(b *testing.B, g prometheus.Gatherer) int {
	mfs, err := g.Gather()
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if h := m.GetHistogram(); h != nil {
				n += len(h.GetBucket()) + 3
			} else {
				n++
			}
		}
	}
	return n
}

// BenchmarkScrapeUnderLoad: /metrics scraped every 10 ms while 2,000
// requests of 64 chunks per second (about 140,000 observations per second,
// far beyond what a CPU inference server answers) are recorded into 20
// benchmarks (about 7,000 series); the figure is the scrape latency p99
// (budget: 100 ms).
func BenchmarkScrapeUnderLoad(b *testing.B) {
	reg := prometheus.NewRegistry()
	r, err := New(reg, Options{NativeHistograms: true})
	if err != nil {
		b.Fatal(err)
	}
	var brs []measure.BenchmarkRecorder
	for i := range 20 {
		l := labels
		l.Level = fmt.Sprintf("concurrent-%d", i)
		brs = append(brs, r.Benchmark(l))
	}
	res := result(time.Unix(0, 0), time.Millisecond, 80*time.Millisecond, 25*time.Millisecond, 64)
	srv := httptest.NewServer(webserver.Handler(reg, slog.New(slog.DiscardHandler), "bench"))
	defer srv.Close()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var recorded atomic.Int64
	wg.Go(func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for i := 0; ; {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			for range 2 {
				br := brs[i%len(brs)]
				br.Started()
				br.FirstToken(80 * time.Millisecond)
				br.Finished(res)
				recorded.Add(1)
				i++
			}
		}
	})
	var lat []time.Duration
	start := time.Now()
	for b.Loop() {
		for range 50 {
			t0 := time.Now()
			resp, err := http.Get(srv.URL + "/metrics")
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			lat = append(lat, time.Since(t0))
			time.Sleep(10 * time.Millisecond)
		}
	}
	close(stop)
	wg.Wait()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms/scrape")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms/scrape")
	b.ReportMetric(float64(recorded.Load())/time.Since(start).Seconds(), "requests/s")
	b.ReportMetric(float64(countSeries(b, reg)), "series")
}

// cpuTime is the process's user+system CPU time: on a shared machine it
// shows the work a scrape costs when wall time mostly shows the neighbours.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkGatherSummaries: a scrape of the benchmark summary series of 1000
// configurations (a large nightly matrix), reported per configuration.
func BenchmarkGatherSummaries(b *testing.B) {
	s := NewSummaries()
	reg := prometheus.NewRegistry()
	reg.MustRegister(s)
	fin := time.Unix(1_767_000_000, 0)
	const configs = 1000
	for i := range configs {
		bs := summary("r", fin, 1)
		bs.Labels.Level = fmt.Sprintf("concurrent-%d", i)
		if err := s.Publish(bs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := reg.Gather(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/configs, "ns/configuration")
}
