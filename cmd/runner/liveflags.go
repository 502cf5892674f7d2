package main

import (
	"time"

	"github.com/spf13/pflag"
)

// The live endpoint's flags that runner bench and runner start share.

// defaultLinger bounds the wait for the scrape that collects a run's final
// summaries: longer than any sane scrape interval, and only spent when
// something is scraping.
const defaultLinger = 30 * time.Second

const lingerUsage = "after the last benchmark, keep /metrics up for at most this long, until every scraper seen during the run has taken a scrape that began after the final summaries were published (no wait when nothing scraped; 0 disables)"

const pushUsage = "also push each finished benchmark's summary series, and the run's completion, to this `URL` as they are published: " +
	"Prometheus remote write (…/api/v1/write), VictoriaMetrics import (…/api/v1/import/prometheus) or a Pushgateway (…/metrics/job/NAME); " +
	"repeatable (default: $SERVEBENCH_PUSH_URL, comma-separated)"

// addPushFlag registers --push.url on fs.
func addPushFlag(fs *pflag.FlagSet, urls *[]string) {
	fs.StringArrayVar(urls, "push.url", nil, pushUsage)
}
