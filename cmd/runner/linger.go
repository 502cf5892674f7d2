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

const lingerUsage = "after the last benchmark, keep /metrics up for at most this long, until every scraper seen during the run has taken a scrape that began after the final summaries were published (no wait when nothing scraped; 0 disables)"

// awaitFinalScrape holds the process until every scraper that watched the
// run has collected the figures published at its end (published), so the
// last benchmark of a run reaches every database's history like the others.
func awaitFinalScrape(ctx context.Context, s *webserver.Scrapes, published time.Time, max time.Duration, log *slog.Logger) {
	webserver.Linger(ctx, s, published, max, log)
}
