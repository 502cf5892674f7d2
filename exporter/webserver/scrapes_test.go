package webserver

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestScrapesWaitAfter(t *testing.T) {
	var s Scrapes
	h := s.Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	scrape := func() { h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/metrics", nil)) }
	ctx := context.Background()

	// Nobody ever scraped: nothing to wait for.
	start := time.Now()
	if s.WaitAfter(ctx, time.Now(), time.Second) {
		t.Fatal("WaitAfter reported a scrape that never happened")
	}
	if time.Since(start) > 100*time.Millisecond {
		t.Fatalf("WaitAfter waited %s with no scraper", time.Since(start))
	}

	// A scraper exists, but its last scrape came before the final figures:
	// wait for the next one.
	scrape()
	published := time.Now()
	go func() {
		time.Sleep(50 * time.Millisecond)
		scrape()
	}()
	if !s.WaitAfter(ctx, published, 5*time.Second) {
		t.Fatal("WaitAfter missed the scrape after publication")
	}

	// No further scrape: give up after max.
	start = time.Now()
	if s.WaitAfter(ctx, time.Now(), 80*time.Millisecond) {
		t.Fatal("WaitAfter reported a scrape that did not come")
	}
	if d := time.Since(start); d < 80*time.Millisecond || d > 2*time.Second {
		t.Fatalf("WaitAfter gave up after %s, want about 80ms", d)
	}
}
