// Package push sends a registry's series to a time-series database, for runs
// that nothing scrapes (CI, short-lived load hosts) and for results that
// must reach history whoever scrapes: in the Prometheus text format
// (VictoriaMetrics or vmagent at /api/v1/import/prometheus, a Pushgateway at
// /metrics/job/NAME[/LABEL/VALUE...]), sent with VictoriaMetrics/metrics'
// push machinery; or as Prometheus remote write (Prometheus with
// --web.enable-remote-write-receiver at /api/v1/write, VictoriaMetrics,
// Mimir), with RemoteWrite.
//
// A Pusher pushes on an interval and once more when its context ends, so the
// last values of a run always arrive; Push pushes once. Sample timestamps
// (the benchmark summaries') are kept, which VictoriaMetrics and remote
// write honour; a Pushgateway refuses them, so DropTimestamps exists for it.
// A timestamped sample is pushed once: later pushes leave it out until its
// timestamp changes, because VictoriaMetrics stores every copy it receives.
// Push and Run may be called from any goroutine; pushes are serialised.
package push

import (
	"bytes"
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

	vm "github.com/VictoriaMetrics/metrics"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/servebench/servebench/exporter/exposition"
)

// Protocol is how series are sent.
type Protocol string

// Protocols.
const (
	ProtocolText        Protocol = "text"         // Prometheus text format, POSTed (or PUT)
	ProtocolRemoteWrite Protocol = "remote-write" // Prometheus remote write 1.0
)

// ProtocolOf tells the protocol from a push URL's path: remote write for
// .../api/v1/write (Prometheus, VictoriaMetrics) and .../api/v1/push
// (Mimir, Cortex), the text format for anything else.
func ProtocolOf(rawURL string) Protocol {
	u, err := url.Parse(rawURL)
	if err == nil && (strings.HasSuffix(u.Path, "/api/v1/write") || strings.HasSuffix(u.Path, "/api/v1/push")) {
		return ProtocolRemoteWrite
	}
	return ProtocolText
}

// IsPushgateway tells a Pushgateway URL (…/metrics/job/NAME) by its path.
func IsPushgateway(rawURL string) bool {
	u, err := url.Parse(rawURL)
	return err == nil && strings.Contains(u.Path, "/metrics/job/")
}

// Config configures a Pusher.
type Config struct {
	URL      string              // where to push, e.g. http://127.0.0.1:8428/api/v1/import/prometheus
	Protocol Protocol            // "" = ProtocolOf(URL)
	Gatherer prometheus.Gatherer // what to push
	Interval time.Duration       // between pushes of Run; 0 = 15 s
	Method   string              // text: HTTP method; "" = POST (a Pushgateway PUT replaces the whole group)
	Header   http.Header         // extra headers, e.g. Authorization
	// DropTimestamps removes explicit sample timestamps (Pushgateway rejects them).
	DropTimestamps bool
	// DisableCompression sends a text body uncompressed instead of gzip.
	DisableCompression bool
	// Client sends remote writes; nil = a client with a 30 s timeout. Text
	// pushes use VictoriaMetrics/metrics' client, bounded by Timeout.
	Client  *http.Client
	Timeout time.Duration // of one push; 0 = 30 s
	Log     *slog.Logger  // nil discards
}

// Pusher pushes one Gatherer to one URL.
type Pusher struct {
	cfg     Config
	headers []string // cfg.Header as "Name: value", for the text push
	mu      sync.Mutex
	// sent holds, per timestamped series, the timestamp last pushed with success.
	sent map[string]int64
}

// New checks cfg and returns a Pusher. Errors name the field at fault.
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
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	switch cfg.Protocol {
	case "":
		cfg.Protocol = ProtocolOf(cfg.URL)
	case ProtocolText, ProtocolRemoteWrite:
	default:
		return nil, fmt.Errorf("push protocol %q: want %s or %s", cfg.Protocol, ProtocolText, ProtocolRemoteWrite)
	}
	switch {
	case cfg.Method == "":
		cfg.Method = http.MethodPost
	case cfg.Method != http.MethodPost && cfg.Method != http.MethodPut:
		return nil, fmt.Errorf("push method %q: want POST or PUT", cfg.Method)
	case cfg.Protocol == ProtocolRemoteWrite && cfg.Method != http.MethodPost:
		return nil, fmt.Errorf("push method %s: remote write is always POST", cfg.Method)
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	p := &Pusher{cfg: cfg, sent: map[string]int64{}}
	for k, vs := range cfg.Header {
		for _, v := range vs {
			p.headers = append(p.headers, k+": "+v)
		}
	}
	return p, nil
}

// Push gathers and pushes once.
func (p *Pusher) Push(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	mfs, stamped, err := p.gather()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	if p.cfg.Protocol == ProtocolRemoteWrite {
		err = RemoteWrite{URL: p.cfg.URL, Header: p.cfg.Header, Client: p.cfg.Client}.Write(ctx, mfs)
	} else {
		err = p.pushText(ctx, mfs)
	}
	if err != nil {
		return err
	}
	for k, ts := range stamped {
		p.sent[k] = ts
	}
	return nil
}

// pushText sends the families as Prometheus text through
// VictoriaMetrics/metrics (gzip unless disabled).
func (p *Pusher) pushText(ctx context.Context, mfs []*dto.MetricFamily) error {
	var body bytes.Buffer
	if err := exposition.Write(&body, mfs); err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	err := vm.PushMetricsExt(ctx, p.cfg.URL, func(w io.Writer) { _, _ = w.Write(body.Bytes()) },
		&vm.PushOptions{Headers: p.headers, DisableCompression: p.cfg.DisableCompression, Method: p.cfg.Method})
	if err == nil && ctx.Err() != nil {
		err = ctx.Err() // the library reports a canceled push as done
	}
	if err != nil {
		return fmt.Errorf("push: %w", err) // the library's errors name the URL, redacted
	}
	return nil
}

// gather returns the families to push, leaving out timestamped samples
// already pushed, and the timestamped samples it kept.
func (p *Pusher) gather() ([]*dto.MetricFamily, map[string]int64, error) {
	mfs, err := p.cfg.Gatherer.Gather()
	if err != nil && len(mfs) == 0 {
		return nil, nil, fmt.Errorf("gather: %w", err)
	}
	if err != nil {
		p.cfg.Log.Warn("push: gathered with errors, pushing the rest", "err", err)
	}
	stamped := map[string]int64{}
	out := mfs[:0]
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
		out = append(out, mf)
	}
	return out, stamped, nil
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
