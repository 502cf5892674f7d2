package main

import (
	"time"
)

// defaultLinger bounds the wait for the scrape that collects a run's final
// summaries: longer than any sane scrape interval, and only spent when
// something is scraping.
const defaultLinger = 30 * time.Second

const lingerUsage = "after the last benchmark, keep /metrics up for at most this long, until every scraper seen during the run has taken a scrape that began after the final summaries were published (no wait when nothing scraped; 0 disables)"
