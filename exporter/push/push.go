// Package push sends a registry's series as Prometheus text to a URL, for runs
// that nothing scrapes (CI, short-lived load hosts): VictoriaMetrics or
// vmagent (/api/v1/import/prometheus) or a Pushgateway
// (/metrics/job/NAME[/LABEL/VALUE...]).
//
// A Pusher pushes on an interval and once more when its context ends, so the
// last values of a run always arrive. Sample timestamps (the benchmark
// summaries') are kept, which VictoriaMetrics honours; a Pushgateway refuses
// them, so DropTimestamps exists for it. A timestamped sample is pushed once:
// later pushes leave it out until its timestamp changes, because
// VictoriaMetrics stores every copy it receives. Push and Run may be called
// from any goroutine; pushes are serialised.
package push

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// Config configures a Pusher.
type Config struct {
	URL      string              // where to push, e.g. http://127.0.0.1:8428/api/v1/import/prometheus
	Gatherer prometheus.Gatherer // what to push
	Interval time.Duration       // between pushes; 0 = 15 s
	Method   string              // HTTP method; "" = POST (a Pushgateway PUT replaces the whole group)
	Header   http.Header         // extra headers, e.g. Authorization
	// DropTimestamps removes explicit sample timestamps (Pushgateway rejects them).
	DropTimestamps bool
	// DisableCompression sends the body uncompressed instead of gzip.
	DisableCompression bool
	Client             *http.Client // nil = a client with a 30 s timeout
	Log                *slog.Logger // nil discards
}

// Pusher pushes one Gatherer to one URL.
type Pusher struct {
	cfg Config
	mu  sync.Mutex
	// sent holds, per timestamped series, the timestamp last pushed with success.
	sent map[string]int64
}

// New checks cfg and returns a Pusher.
func New(cfg Config) (*Pusher, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("push url %q: want an http(s) URL", cfg.URL)
	}
	if cfg.Gatherer == nil {
		return nil, errors.New("push gatherer: nil")
	}
	if cfg.Interval < 0 {
		return nil, fmt.Errorf("push interval %s: must not be negative", cfg.Interval)
	}
	if cfg.Interval == 0 {
		cfg.Interval = 15 * time.Second
	}
	if cfg.Method == "" {
		cfg.Method = http.MethodPost
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Pusher{cfg: cfg, sent: map[string]int64{}}, nil
}

// Push gathers and pushes once.
func (p *Pusher) Push(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	body, stamped, err := p.encode()
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, p.cfg.Method, p.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("push request: %w", err)
	}
	for k, vs := range p.cfg.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("Content-Type", string(expfmt.NewFormat(expfmt.TypeTextPlain)))
	if !p.cfg.DisableCompression {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := p.cfg.Client.Do(req)
	if err != nil {
		return fmt.Errorf("push to %s: %w", redact(p.cfg.URL), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("push to %s: status %d: %s", redact(p.cfg.URL), resp.StatusCode, bytes.TrimSpace(msg))
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	for k, ts := range stamped {
		p.sent[k] = ts
	}
	return nil
}

// encode renders the gathered families, leaving out timestamped samples
// already pushed; it returns the timestamped samples it kept.
func (p *Pusher) encode() ([]byte, map[string]int64, error) {
	mfs, err := p.cfg.Gatherer.Gather()
	if err != nil && len(mfs) == 0 {
		return nil, nil, fmt.Errorf("gather: %w", err)
	}
	if err != nil {
		p.cfg.Log.Warn("push: gathered with errors, pushing the rest", "err", err)
	}
	var buf bytes.Buffer
	var w io.Writer = &buf
	var zw *gzip.Writer
	if !p.cfg.DisableCompression {
		zw = gzip.NewWriter(&buf)
		w = zw
	}
	stamped := map[string]int64{}
	enc := expfmt.NewEncoder(w, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		kept := mf.Metric[:0]
		for _, m := range mf.GetMetric() {
			if m.TimestampMs != nil && !p.cfg.DropTimestamps {
				k := seriesKey(mf.GetName(), m)
				if last, ok := p.sent[k]; ok && last >= m.GetTimestampMs() {
					continue
				}
				stamped[k] = m.GetTimestampMs()
			}
			if p.cfg.DropTimestamps {
				m.TimestampMs = nil
			}
			kept = append(kept, m)
		}
		if len(kept) == 0 {
			continue
		}
		mf.Metric = kept
		if err := enc.Encode(mf); err != nil {
			return nil, nil, fmt.Errorf("encode %s: %w", mf.GetName(), err)
		}
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return nil, nil, fmt.Errorf("compress: %w", err)
		}
	}
	return buf.Bytes(), stamped, nil
}

func seriesKey(name string, m *dto.Metric) string {
	var b strings.Builder
	b.WriteString(name)
	for _, l := range m.GetLabel() {
		b.WriteByte(0)
		b.WriteString(l.GetName())
		b.WriteByte(0)
		b.WriteString(l.GetValue())
	}
	return b.String()
}

// Run pushes every interval until ctx is done, then pushes a last time
// (bounded by 10 s) and returns that push's error. Failed interval pushes are
// logged and retried at the next tick.
func (p *Pusher) Run(ctx context.Context) error {
	t := time.NewTicker(p.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			return p.Push(final)
		case <-t.C:
			if err := p.Push(ctx); err != nil && ctx.Err() == nil {
				p.cfg.Log.Warn("push failed", "err", err)
			}
		}
	}
}

// redact hides credentials in a URL for errors and logs.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(invalid url)"
	}
	return u.Redacted()
}
