package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/servebench/servebench/exporter/webserver"
)

// defaultLinger bounds the wait for the scrape that collects a run's final
// summaries: longer than any sane scrape interval, and only spent when
// something is scraping.
const defaultLinger = 30 * time.Second

const lingerUsage = "after the last benchmark, keep /metrics up for at most this long, until a scrape that began after the final summaries were published has been served (no wait when nothing scraped during the run; 0 disables)"

// awaitFinalScrape holds the process until the scraper that watched the run
// has collected the figures published at its end, so the last benchmark of a
// run reaches Prometheus's history like the others.
// published is when the last figures went up; a scrape that began after it
// carries them.
func awaitFinalScrape(ctx context.Context, s *webserver.Scrapes, published time.Time, max time.Duration, log *slog.Logger) {
	if s == nil || max <= 0 || ctx.Err() != nil {
		return
	}
	if s.WaitAfter(ctx, published, max) {
		log.Debug("final summaries scraped", "after", time.Since(published).Round(time.Millisecond))
	} else if ctx.Err() == nil && time.Since(published) >= max/2 {
		log.Warn("no scrape collected the final summaries", "waited", max)
	}
}
