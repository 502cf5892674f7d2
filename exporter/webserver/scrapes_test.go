package webserver

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// scrapeAs returns a function that sends one scrape through h as a client
// at host with user agent ua.
func scrapeAs(h http.Handler, host, ua string) func() {
	return func() {
		r := httptest.NewRequest("GET", "/metrics", nil)
		r.RemoteAddr = host + ":40000"
		r.Header.Set("User-Agent", ua)
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
}

func TestScrapesWaitAfter(t *testing.T) {
	var s Scrapes
	h := s.Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	scrape := scrapeAs(h, "127.0.0.1", "Prometheus/2.42.0")
	ctx := context.Background()

	// Nobody ever scraped: nothing to wait for.
	start := time.Now()
	if n, missing := s.WaitAfter(ctx, time.Now(), time.Second); n != 0 || len(missing) != 0 {
		t.Fatalf("WaitAfter with no scraper = %d, %v", n, missing)
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
	if n, missing := s.WaitAfter(ctx, published, 5*time.Second); n != 1 || len(missing) != 0 {
		t.Fatalf("WaitAfter = %d, %v; want the scrape after publication", n, missing)
	}

	// No further scrape: give up after max, naming the scraper.
	start = time.Now()
	if _, missing := s.WaitAfter(ctx, time.Now(), 80*time.Millisecond); len(missing) != 1 || missing[0] != "127.0.0.1 Prometheus/2.42.0" {
		t.Fatalf("missing = %v, want the scraper that did not come", missing)
	}
	if d := time.Since(start); d < 80*time.Millisecond || d > 2*time.Second {
		t.Fatalf("WaitAfter gave up after %s, want about 80ms", d)
	}
}

// With two scrapers (Prometheus and VictoriaMetrics on one host), the wait
// ends when both have scraped after publication, not at the first.
func TestScrapesWaitForEveryScraper(t *testing.T) {
	var s Scrapes
	h := s.Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	prom, vm := scrapeAs(h, "127.0.0.1", "Prometheus/2.42.0"), scrapeAs(h, "127.0.0.1", "vm_promscrape")
	prom()
	vm()
	published := time.Now()
	var vmDone time.Time
	var mu sync.Mutex
	go func() {
		time.Sleep(20 * time.Millisecond)
		prom()
		time.Sleep(150 * time.Millisecond)
		mu.Lock()
		vmDone = time.Now()
		mu.Unlock()
		vm()
	}()
	n, missing := s.WaitAfter(context.Background(), published, 10*time.Second)
	returned := time.Now()
	if n != 2 || len(missing) != 0 {
		t.Fatalf("WaitAfter = %d, %v; want both scrapers", n, missing)
	}
	mu.Lock()
	defer mu.Unlock()
	if vmDone.IsZero() || returned.Before(vmDone) {
		t.Fatal("WaitAfter returned before the second scraper's scrape")
	}
}

// A scraper that stopped coming (three of its intervals passed) is not
// waited for; one seen once only is, until max.
func TestScrapesGoneScraperIsNotAwaited(t *testing.T) {
	now := time.Unix(1_767_000_000, 0)
	var mu sync.Mutex
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	advance := func(d time.Duration) {
		mu.Lock()
		now = now.Add(d)
		mu.Unlock()
	}
	s := Scrapes{Now: clock}
	h := s.Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	old, steady := scrapeAs(h, "10.0.0.1", "Prometheus/2.42.0"), scrapeAs(h, "10.0.0.2", "Prometheus/2.42.0")
	old()
	advance(time.Second)
	old() // an interval of 1 s ...
	steady()
	advance(5 * time.Second) // ... and no scrape for 5 s: gone
	steady()
	published := clock()
	advance(time.Millisecond)
	go steady()
	n, missing := s.WaitAfter(context.Background(), published, 5*time.Second)
	if n != 1 || len(missing) != 0 {
		t.Fatalf("WaitAfter = %d, %v; want the steady scraper only", n, missing)
	}
}
