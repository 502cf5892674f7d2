package webserver

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Scrapes watches who scrapes the /metrics endpoint, so that a short-lived
// process (a benchmark run) can wait, before it exits, until every scraper
// that watched it has collected its final figures: with two scrapers (an HA
// Prometheus pair, Prometheus and VictoriaMetrics) the first scrape after
// publication is not enough.
//
// Scrapers are told apart by host and User-Agent: two scrapers on one host
// with the same user agent count as one. A scraper that has not come back
// within three of its own intervals (at least 2 s; within the wait's maximum
// while only one of its scrapes was seen) is taken to be gone and is not
// waited for. Safe
// for concurrent use; the zero value is ready.
type Scrapes struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu       sync.Mutex
	scrapers map[string]*scraper
	changed  chan struct{} // closed and replaced at each scrape
}

// scraper is what is known of one scraper: the start of its last two scrapes.
type scraper struct {
	last, prev time.Time
}

func (s *Scrapes) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// minGrace is the least time a scraper may stay away before it counts as
// gone: a scraper polling every few milliseconds has pauses (GC, a busy
// machine) of many of its intervals.
const minGrace = 2 * time.Second

// goneAfter is how long after its last scrape a scraper with this interval
// is taken to be gone: three intervals, at least minGrace.
func goneAfter(interval time.Duration) time.Duration { return max(3*interval, minGrace) }

// Wrap counts every request served by h as a scrape by its client.
func (s *Scrapes) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := s.now()
		h.ServeHTTP(w, r)
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		key := host + " " + r.UserAgent()
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.scrapers == nil {
			s.scrapers = map[string]*scraper{}
		}
		sc := s.scrapers[key]
		if sc == nil {
			sc = &scraper{}
			s.scrapers[key] = sc
		}
		sc.prev, sc.last = sc.last, start
		if s.changed != nil {
			close(s.changed)
			s.changed = nil
		}
	})
}

// WaitAfter waits, for at most max, until every scraper still scraping has
// had a scrape that began after t served. It returns how many scrapers it
// waited for (0 at once when nothing scraped: no one is watching) and those
// that had not scraped after t when it returned (on timeout or ctx's end),
// each named by its host and user agent.
func (s *Scrapes) WaitAfter(ctx context.Context, t time.Time, max time.Duration) (awaited int, missing []string) {
	timer := time.NewTimer(max)
	defer timer.Stop()
	timedOut := false
	waitedFor := map[string]bool{}
	for {
		s.mu.Lock()
		now := s.now()
		missing = missing[:0]
		for key, sc := range s.scrapers {
			if sc.last.After(t) {
				waitedFor[key] = true
				continue
			}
			grace := max
			if !sc.prev.IsZero() {
				grace = goneAfter(sc.last.Sub(sc.prev))
			}
			if now.Sub(sc.last) > grace {
				continue // gone
			}
			waitedFor[key] = true
			missing = append(missing, key)
		}
		if len(missing) == 0 || timedOut {
			s.mu.Unlock()
			slices.Sort(missing)
			return len(waitedFor), missing
		}
		if s.changed == nil {
			s.changed = make(chan struct{})
		}
		ch := s.changed
		s.mu.Unlock()
		// Wake at the next scrape, or a second on to drop scrapers gone by then.
		tick := time.NewTimer(time.Second)
		select {
		case <-ch:
		case <-tick.C:
		case <-timer.C:
			timedOut = true // the next pass reports what is missing
		case <-ctx.Done():
			tick.Stop()
			slices.Sort(missing)
			return len(waitedFor), missing
		}
		tick.Stop()
	}
}

// Linger holds the caller, for at most max, until every scraper that watched
// the process has collected the figures published at published (see
// WaitAfter); it returns at once when nothing scraped, max is not positive
// or ctx is done, and logs a scraper that never came back.
func Linger(ctx context.Context, s *Scrapes, published time.Time, max time.Duration, log *slog.Logger) {
	if s == nil || max <= 0 || ctx.Err() != nil {
		return
	}
	awaited, missing := s.WaitAfter(ctx, published, max)
	switch {
	case awaited == 0:
	case len(missing) == 0:
		log.Debug("final results scraped", "scrapers", awaited, "after", time.Since(published).Round(time.Millisecond))
	case ctx.Err() == nil:
		log.Warn("a scraper did not collect the final results", "missing", missing, "scrapers", awaited, "waited", max)
	}
}
