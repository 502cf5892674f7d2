package webserver

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// Scrapes watches the /metrics endpoint so that a short-lived process (a
// benchmark run) can wait, before it exits, for the scrape that carries its
// final figures: without it, the summary of a run's last benchmark would be
// published and never collected. Safe for concurrent use; the zero value is
// ready.
type Scrapes struct {
	mu      sync.Mutex
	last    time.Time     // start of the latest scrape
	changed chan struct{} // closed and replaced at each scrape
}

// Wrap counts every request served by h as a scrape.
func (s *Scrapes) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		h.ServeHTTP(w, r)
		s.mu.Lock()
		s.last = start
		if s.changed != nil {
			close(s.changed)
			s.changed = nil
		}
		s.mu.Unlock()
	})
}

// WaitAfter waits until a scrape that began after t has been served, for at
// most max. It returns at once, false, when nothing has scraped so far (no
// one is watching, so there is no one to wait for); true when such a scrape
// came.
func (s *Scrapes) WaitAfter(ctx context.Context, t time.Time, max time.Duration) bool {
	timer := time.NewTimer(max)
	defer timer.Stop()
	for {
		s.mu.Lock()
		if s.last.IsZero() {
			s.mu.Unlock()
			return false
		}
		if s.last.After(t) {
			s.mu.Unlock()
			return true
		}
		if s.changed == nil {
			s.changed = make(chan struct{})
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-timer.C:
			return false
		case <-ctx.Done():
			return false
		}
	}
}
