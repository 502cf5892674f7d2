package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/spf13/cobra"
)

// The healthcheck command exists for container images built FROM scratch:
// they have no shell, curl or wget, so a Docker or compose HEALTHCHECK runs
// this binary instead ("runner healthcheck http://127.0.0.1:9464/metrics").
func init() { register(newHealthcheckCmd) }

func newHealthcheckCmd(*env) *cobra.Command {
	var timeout time.Duration
	c := &cobra.Command{
		Use:     "healthcheck URL...",
		Short:   "exit 0 when every URL answers 2xx (container health probe)",
		Example: "  runner healthcheck --timeout 2s http://127.0.0.1:9464/metrics",
		RunE: func(c *cobra.Command, args []string) error {
			return runHealthcheck(c.Context(), args, timeout)
		},
	}
	c.Flags().DurationVar(&timeout, "timeout", 5*time.Second, "time allowed for each URL to answer")
	return c
}

func runHealthcheck(ctx context.Context, urls []string, timeout time.Duration) error {
	if len(urls) == 0 {
		return usagef("healthcheck: no URL given")
	}
	if timeout <= 0 {
		return usagef("healthcheck: --timeout must be positive, got %s", timeout)
	}
	client := &http.Client{Timeout: timeout}
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return usagef("healthcheck: URL %q: want http(s)://host[:port]/path", raw)
		}
		if err := probe(ctx, client, u.String()); err != nil {
			return fmt.Errorf("healthcheck: %w", err)
		}
	}
	return nil
}

// probe GETs url and accepts any 2xx answer; the body is drained so a
// scrape-sized /metrics page does not leave the connection half read.
func probe(ctx context.Context, client *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", url, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", url, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%s: status %d", url, resp.StatusCode)
	}
	return nil
}
