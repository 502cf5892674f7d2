package push

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/servebench/servebench/exporter/recorder"
)

// ErrNotDelivered is wrapped by Publisher.Flush when a push target did not
// take a run's final results.
var ErrNotDelivered = errors.New("results not delivered")

// Publisher is where a run publishes its results: each finished benchmark
// goes on the live endpoint's Summaries (for scrapers) and, at once, to every
// push target, so the results reach a database whether or not anything
// scrapes the run, and however soon the process exits. A push that fails is
// logged and retried with the next publication; Flush makes the last try.
// Safe for concurrent use.
type Publisher struct {
	sums    *recorder.Summaries
	pushers []*Pusher
	timeout time.Duration
	log     *slog.Logger

	mu     sync.Mutex
	failed map[*Pusher]error // the latest push to each target, when it failed
}

// DefaultPushTimeout bounds each push a Publisher makes: it runs between
// two load levels, which should not wait long on a slow database.
const DefaultPushTimeout = 10 * time.Second

// NewPublisher returns a Publisher over sums pushing to every URL (none:
// scrapers only). cfg gives the pushes' other settings; its URL, Protocol,
// Gatherer and Timeout are set per target.
func NewPublisher(sums *recorder.Summaries, urls []string, cfg Config) (*Publisher, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	p := &Publisher{sums: sums, timeout: DefaultPushTimeout, log: cfg.Log, failed: map[*Pusher]error{}}
	if len(urls) == 0 {
		return p, nil
	}
	// A registry of the summaries alone: live series are for scrapers.
	reg := prometheus.NewRegistry()
	if err := reg.Register(sums); err != nil {
		return nil, fmt.Errorf("push registry: %w", err)
	}
	for _, u := range urls {
		c := cfg
		c.URL, c.Protocol, c.Gatherer, c.Timeout = u, "", reg, p.timeout
		// A Pushgateway refuses timestamps: it gets each configuration's
		// latest results, stamped when scraped from it, in a plain body.
		if IsPushgateway(u) {
			c.DropTimestamps, c.DisableCompression = true, true
		}
		pu, err := New(c)
		if err != nil {
			return nil, err
		}
		p.pushers = append(p.pushers, pu)
	}
	return p, nil
}

// Publish publishes a finished benchmark and pushes it.
func (p *Publisher) Publish(b recorder.BenchmarkSummary) error {
	if err := p.sums.Publish(b); err != nil {
		return err
	}
	p.push(context.Background())
	return nil
}

// PublishRun publishes a finished run's completion and pushes it.
func (p *Publisher) PublishRun(r recorder.RunCompletion) error {
	if err := p.sums.PublishRun(r); err != nil {
		return err
	}
	p.push(context.Background())
	return nil
}

// push pushes to every target, one after the other (each a few hundred
// samples), and records which failed.
func (p *Publisher) push(ctx context.Context) {
	for _, pu := range p.pushers {
		err := pu.Push(ctx)
		p.mu.Lock()
		if err != nil {
			p.failed[pu] = err
		} else {
			delete(p.failed, pu)
		}
		p.mu.Unlock()
		if err != nil {
			p.log.Warn("push of benchmark results failed; retried with the next results", "url", redact(pu.cfg.URL), "err", err)
		}
	}
}

// Flush retries the targets whose latest push failed, and returns an error
// wrapping ErrNotDelivered naming those that still fail.
func (p *Publisher) Flush(ctx context.Context) error {
	p.mu.Lock()
	var retry []*Pusher
	for pu := range p.failed {
		retry = append(retry, pu)
	}
	p.mu.Unlock()
	var errs []error
	for _, pu := range retry {
		if err := pu.Push(ctx); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", redact(pu.cfg.URL), err))
			continue
		}
		p.mu.Lock()
		delete(p.failed, pu)
		p.mu.Unlock()
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrNotDelivered, errors.Join(errs...))
	}
	return nil
}
