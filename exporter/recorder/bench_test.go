package recorder

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
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
	for b.Loop() {
		br.Started()
		br.Finished(res)
	}
	perObs := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / float64(observations(chunks)+1)
	b.ReportMetric(perObs, "ns/observation")
}

// BenchmarkObserve: recording one request of 64 chunks, reported per
// observation (budget: 100 ns).
func BenchmarkObserve(b *testing.B) {
	b.Run("classic", func(b *testing.B) { benchmarkFinished(b, Options{}) })
	b.Run("classic+native", func(b *testing.B) { benchmarkFinished(b, Options{NativeHistograms: true}) })
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
			br.Finished(res)
		}
	})
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(observations(chunks)+1), "ns/observation")
}

// BenchmarkScrape20k: one HTTP scrape of /metrics exposing at least 20,000
// series of recorder data (budget: 50 ms).
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
		br.SetTargetRate(float64(i))
		br.Started()
		br.Finished(res)
		series = countSeries(b, reg)
	}
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	// Prometheus asks for gzip; a loopback scraper may as well not.
	for _, enc := range []string{"gzip", "identity"} {
		b.Run(enc, func(b *testing.B) {
			client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
			var bytes int64
			for b.Loop() {
				req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
				req.Header.Set("Accept-Encoding", enc)
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				bytes, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/scrape")
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
