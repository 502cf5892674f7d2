package backfill

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// VictoriaMetrics imports into a VictoriaMetrics server (single node, or a
// cluster's vminsert with the /insert/<tenant>/prometheus prefix in URL).
type VictoriaMetrics struct {
	URL         string       // e.g. http://127.0.0.1:8428
	Client      *http.Client // nil means http.DefaultClient
	ExtraLabels []string     // name=value pairs added to every sample, e.g. source=backfill
	// Timeout bounds each request (the import, the cache reset), so a
	// server that never answers fails the backfill; 0 = DefaultTimeout.
	Timeout time.Duration
}

// DefaultTimeout bounds each request to VictoriaMetrics when
// VictoriaMetrics.Timeout is zero.
const DefaultTimeout = time.Minute

// Import POSTs the families to /api/v1/import/prometheus and then resets
// the server's rollup cache, which otherwise keeps answering queries over the
// backfilled range from results computed before the import.
func (v VictoriaMetrics) Import(ctx context.Context, fams []*dto.MetricFamily) error {
	var body bytes.Buffer
	if err := WritePrometheusText(&body, fams); err != nil {
		return err
	}
	q := url.Values{}
	for _, l := range v.ExtraLabels {
		if !strings.Contains(l, "=") {
			return fmt.Errorf("extra label %q: want name=value", l)
		}
		q.Add("extra_label", l)
	}
	u := strings.TrimSuffix(v.URL, "/") + "/api/v1/import/prometheus"
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	if err := v.do(ctx, http.MethodPost, u, &body); err != nil {
		return fmt.Errorf("victoriametrics import: %w", err)
	}
	if err := v.do(ctx, http.MethodGet, strings.TrimSuffix(v.URL, "/")+"/internal/resetRollupResultCache", nil); err != nil {
		return fmt.Errorf("victoriametrics cache reset: %w", err)
	}
	return nil
}

func (v VictoriaMetrics) do(ctx context.Context, method, u string, body io.Reader) error {
	d := v.Timeout
	if d <= 0 {
		d = DefaultTimeout
	}
	silent := fmt.Errorf("%s %s: no answer within %s", method, u, d)
	ctx, cancel := context.WithTimeoutCause(ctx, d, silent)
	defer cancel()
	err := v.send(ctx, method, u, body)
	if err != nil && context.Cause(ctx) == silent {
		return silent
	}
	return err
}

func (v VictoriaMetrics) send(ctx context.Context, method, u string, body io.Reader) error {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "text/plain")
	}
	c := v.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s %s: %s: %s", method, u, resp.Status, strings.TrimSpace(string(b)))
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return nil
}
