package main

import (
	"strings"

	"github.com/spf13/pflag"
)

const pushUsage = "also push each finished benchmark's summary series, and the run's completion, to this `URL` as they are published: " +
	"Prometheus remote write (…/api/v1/write), VictoriaMetrics import (…/api/v1/import/prometheus) or a Pushgateway (…/metrics/job/NAME); " +
	"repeatable (default: $SERVEBENCH_PUSH_URL, comma-separated)"

// addPushFlag registers --push.url on fs.
func addPushFlag(fs *pflag.FlagSet, urls *[]string) {
	fs.StringArrayVar(urls, "push.url", nil, pushUsage)
}

// pushURLs are the --push.url values, else $SERVEBENCH_PUSH_URL's.
func pushURLs(flag []string, getenv func(string) string) []string {
	if len(flag) > 0 {
		return flag
	}
	var out []string
	for _, u := range strings.Split(getenv("SERVEBENCH_PUSH_URL"), ",") {
		if u = strings.TrimSpace(u); u != "" {
			out = append(out, u)
		}
	}
	return out
}
