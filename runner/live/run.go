package live

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/exporter/recorder"
	"github.com/servebench/servebench/exporter/webserver"
	"github.com/servebench/servebench/runner/results"
)

// Run is the live side of one runner bench run: the per-request series
// while its benchmarks run (Recorder), then each finished benchmark's
// summary series (Publish) and the run's completion (Finish), as runner
// start publishes them.
type Run struct {
	*Metrics
	id      string
	levels  *levelCloses
	log     *slog.Logger
	stop    func()
	scrapes *webserver.Scrapes // nil when not listening
}

// RunOptions say where a Run is served and pushed.
type RunOptions struct {
	Listen    string // address of /metrics; "" or "off": not served
	WebConfig string // exporter-toolkit web configuration file
	PushTo    []string
	Name      string    // the endpoint's name on its landing page
	Console   io.Writer // where the endpoint's URL is printed
	Log       *slog.Logger
}

// StartRun builds the live series and push targets of the run info.RunID
// and, when o.Listen asks for it, serves them until Stop.
func StartRun(ctx context.Context, info recorder.RunInfo, o RunOptions) (*Run, error) {
	m, err := New(recorder.Options{NativeHistograms: true}, "", "", o.PushTo, o.Log)
	if err != nil {
		return nil, err
	}
	r := &Run{Metrics: m, id: info.RunID, levels: newLevelCloses(m.Rec), log: o.Log}
	stopServer := func() {}
	if Listening(o.Listen) {
		l, err := Listen(o.Listen, o.Console)
		if err != nil {
			return nil, err
		}
		r.scrapes, stopServer = m.Serve(ctx, l, o.WebConfig, o.Name, o.Log)
	}
	m.Rec.StartRun(info)
	r.stop = func() { m.Rec.EndRun(info); stopServer() }
	return r, nil
}

// Recorder records the run's per-request series and remembers when each
// benchmark closed, for Publish.
func (r *Run) Recorder() measure.Recorder { return r.levels }

// Publish puts every benchmark of sum on the endpoint and the push targets,
// labelled as its live series and stamped with the time its level ended.
func (r *Run) Publish(sum *results.Summary) {
	for _, bm := range sum.Benchmarks {
		l, at := r.levels.of(bm.Level)
		if err := r.Pub.Publish(results.SummaryOf(r.id, l, bm, at)); err != nil {
			r.log.Warn("publish benchmark summary", "level", bm.Level, "err", err)
		}
	}
}

// Linger keeps the endpoint up, for at most d, until every scraper seen
// has taken a scrape that began after published.
func (r *Run) Linger(ctx context.Context, published time.Time, d time.Duration) {
	webserver.Linger(ctx, r.scrapes, published, d, r.log)
}

// Stop ends the run's series and the server.
func (r *Run) Stop() { r.stop() }

// levelCloses passes a recorder through and remembers each benchmark's
// labels and the time it closed.
type levelCloses struct {
	measure.Recorder
	mu     sync.Mutex
	labels map[string]measure.BenchmarkLabels
	closed map[string]time.Time
}

func newLevelCloses(r measure.Recorder) *levelCloses {
	return &levelCloses{Recorder: r, labels: map[string]measure.BenchmarkLabels{}, closed: map[string]time.Time{}}
}

func (r *levelCloses) Benchmark(l measure.BenchmarkLabels) measure.BenchmarkRecorder {
	r.mu.Lock()
	r.labels[l.Level] = l
	r.mu.Unlock()
	return closeTimer{BenchmarkRecorder: r.Recorder.Benchmark(l), r: r, level: l.Level}
}

// of returns a level's labels and close time (now when it never closed).
func (r *levelCloses) of(level string) (measure.BenchmarkLabels, time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	l, ok := r.labels[level]
	if !ok {
		l = measure.BenchmarkLabels{Suite: "bench", Level: level}
	}
	at, ok := r.closed[level]
	if !ok {
		at = time.Now()
	}
	return l, at
}

type closeTimer struct {
	measure.BenchmarkRecorder
	r     *levelCloses
	level string
}

func (c closeTimer) Close() {
	c.BenchmarkRecorder.Close()
	c.r.mu.Lock()
	c.r.closed[c.level] = time.Now()
	c.r.mu.Unlock()
}
