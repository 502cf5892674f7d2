// Package proxy is the metering proxy: a reverse proxy for the OpenAI API that
// sits between a third-party load generator (GuideLLM, vllm bench serve, any
// OpenAI client) and the server, passes every byte through unbuffered, and
// times each completion or embedding request with measure.Tracker, the code
// the native load generator uses, recording into the same series with the
// loadgen label set.
//
// The proxy reads a request body whole (the upstream needs it anyway) but
// looks only at "model" (the label) and "stream"; it never logs or labels
// prompt text. A request's schedule is its arrival at the proxy, its send is
// when the upstream round trip starts, and every response chunk is timed by
// its arrival from the upstream (the kernel's receive timestamp where the
// upstream connection has one, else when the proxy reads it), before it is
// forwarded and flushed.
//
// A request's outcome follows the protocol, not the socket: once the end of
// a response (a stream's [DONE], a non-streamed body's complete JSON) has
// been written and flushed to a client that was still connected, the request
// is a success whatever the client does next — many clients hang up right
// after [DONE], before the upstream body formally ends. A client that hangs
// up earlier ends the request as canceled.
// Paths other than /v1/chat/completions, /v1/completions and /v1/embeddings
// pass through untimed. A Proxy is safe for concurrent use.
package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/internal/netstamp"
	"github.com/servebench/servebench/internal/redact"
)

// MaxModels bounds the model label values one Proxy creates; requests naming
// further models are recorded under OtherModel.
const (
	MaxModels  = 32
	OtherModel = "other"
)

// maxRequestBody bounds what the proxy holds of one request body.
const maxRequestBody = 64 << 20

// Config configures a Proxy.
type Config struct {
	Upstream *url.URL         // base URL of the server, e.g. http://127.0.0.1:8000
	Recorder measure.Recorder // where timed requests go
	// Labels are the benchmark labels of recorded requests; Model is used
	// only when a request body names none. Loadgen should name the client
	// behind the proxy (guidellm, vllm-bench, ...).
	Labels measure.BenchmarkLabels
	// Transport is the upstream transport; nil = a tuned http.Transport
	// whose connections carry the kernel's receive timestamps.
	Transport http.RoundTripper
	Log       *slog.Logger     // nil discards
	Now       func() time.Time // clock; nil = time.Now (and receive timestamps)
}

// Proxy is an http.Handler forwarding to one upstream.
type Proxy struct {
	rp        *httputil.ReverseProxy
	transport http.RoundTripper
	rec       measure.Recorder
	log       *slog.Logger
	now       func() time.Time
	stamps    bool // chunks are dated by receive timestamps when the connection has them
	seq       atomic.Int64

	mu       sync.Mutex
	labels   measure.BenchmarkLabels
	benches  map[string]measure.BenchmarkRecorder // by model
	inFlight map[*timing]struct{}                 // timed requests not yet finished
}

// New returns a Proxy for cfg.
func New(cfg Config) (*Proxy, error) {
	if cfg.Upstream == nil || cfg.Upstream.Scheme == "" || cfg.Upstream.Host == "" {
		return nil, errors.New("proxy upstream: want an absolute URL such as http://127.0.0.1:8000")
	}
	if cfg.Recorder == nil {
		return nil, errors.New("proxy recorder: nil")
	}
	p := &Proxy{rec: cfg.Recorder, log: cfg.Log, now: cfg.Now, transport: cfg.Transport,
		labels: cfg.Labels, benches: map[string]measure.BenchmarkRecorder{}, inFlight: map[*timing]struct{}{}}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if p.now == nil {
		p.now, p.stamps = time.Now, true
	}
	if p.transport == nil {
		p.transport = &http.Transport{
			Proxy:               nil, // never route benchmark traffic through an environment proxy
			DialContext:         netstamp.DialContext(&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}),
			MaxIdleConns:        4096,
			MaxIdleConnsPerHost: 4096,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true, // pass bytes as the server sent them
			ForceAttemptHTTP2:   false,
		}
	}
	upstream := cfg.Upstream
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(upstream)
			if pr.In.Context().Value(timingKey{}) != nil {
				// The Tracker reads the body as it arrives: it must be plain.
				pr.Out.Header.Del("Accept-Encoding")
			}
		},
		Transport:     roundTripper{p},
		FlushInterval: -1, // flush after every write: SSE chunks must not wait
		BufferPool:    bufferPool{},
		ErrorLog:      slog.NewLogLogger(p.log.Handler(), slog.LevelWarn),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() == nil {
				p.log.Warn("upstream request failed", "path", r.URL.Path, "err", err)
			}
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	return p, nil
}

// SetBenchmark switches the labels of the requests that arrive from now on
// (e.g. the next load level) and closes the previous benchmark's recorders.
// Requests still in flight were cut by the end of the previous benchmark's
// window: they are recorded as incomplete when they end, as the native load
// generator records them.
func (p *Proxy) SetBenchmark(l measure.BenchmarkLabels) {
	p.CutInFlight()
	p.mu.Lock()
	old := p.benches
	p.labels, p.benches = l, map[string]measure.BenchmarkRecorder{}
	p.mu.Unlock()
	for _, b := range old {
		b.Close()
	}
}

// CutInFlight marks every request in flight as cut by the end of the
// measurement window: whatever ends it (the client canceling, the stream
// finishing), it is recorded as incomplete.
func (p *Proxy) CutInFlight() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for t := range p.inFlight {
		t.cut.Store(true)
	}
}

func (p *Proxy) track(t *timing, on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if on {
		p.inFlight[t] = struct{}{}
	} else {
		delete(p.inFlight, t)
	}
}

// Close closes the current benchmark's recorders; requests still in flight
// must have finished.
func (p *Proxy) Close() { p.SetBenchmark(p.currentLabels()) }

func (p *Proxy) currentLabels() measure.BenchmarkLabels {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.labels
}

// bench returns the recorder for a model, resolving it once.
func (p *Proxy) bench(model string) measure.BenchmarkRecorder {
	p.mu.Lock()
	defer p.mu.Unlock()
	if model == "" {
		model = p.labels.Model
	}
	if b, ok := p.benches[model]; ok {
		return b
	}
	if len(p.benches) >= MaxModels {
		model = OtherModel
		if b, ok := p.benches[model]; ok {
			return b
		}
	}
	l := p.labels
	l.Model = model
	b := p.rec.Benchmark(l)
	p.benches[model] = b
	return b
}

// timing is what ServeHTTP learnt about a timed request, carried to the
// round trip in the request context.
type timing struct {
	arrived time.Time
	opt     measure.TrackOptions
	bench   measure.BenchmarkRecorder
	client  *clientWriter
	cut     atomic.Bool // set by CutInFlight; read when the request ends
}

// clientWriter counts the response bytes handed to the client: written while
// the client was still connected and then flushed without error. The
// reverse proxy flushes after every write.
type clientWriter struct {
	http.ResponseWriter
	ctx       context.Context
	pending   atomic.Int64 // written while connected, not yet flushed
	forwarded atomic.Int64
}

func (w *clientWriter) Write(p []byte) (int, error) {
	connected := w.ctx.Err() == nil
	n, err := w.ResponseWriter.Write(p)
	if connected && err == nil {
		w.pending.Add(int64(n))
	}
	return n, err
}

// FlushError is what http.ResponseController calls to flush.
func (w *clientWriter) FlushError() error {
	err := http.NewResponseController(w.ResponseWriter).Flush()
	if err == nil {
		w.forwarded.Add(w.pending.Swap(0))
	} else {
		w.pending.Store(0)
	}
	return err
}

func (w *clientWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// finish ends a timed request once, in the goroutine that read its body.
func (p *Proxy) finish(t *timing, tr *measure.Tracker, now time.Time, err error) {
	if t.cut.Load() {
		tr.Cut()
	}
	p.track(t, false)
	t.bench.Finished(tr.Finish(now, err))
}

type timingKey struct{}

// apiOf names the timed API served at path.
func apiOf(path string) (measure.API, bool) {
	for _, a := range [...]measure.API{measure.APIChat, measure.APICompletions, measure.APIEmbeddings, measure.APITranscriptions} {
		if a.Path() == path {
			return a, true
		}
	}
	return "", false
}

// ServeHTTP implements http.Handler.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	arrived := p.now()
	api, timed := apiOf(r.URL.Path)
	if !timed || r.Method != http.MethodPost {
		p.rp.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody+1))
	r.Body.Close()
	if err != nil {
		http.Error(w, "read request body: "+err.Error(), http.StatusBadRequest)
		return
	}
	if len(body) > maxRequestBody {
		http.Error(w, fmt.Sprintf("request body over %d bytes", maxRequestBody), http.StatusRequestEntityTooLarge)
		return
	}
	var head struct {
		Model  string `json:"model"`
		Stream bool   `json:"stream"`
	}
	// A body that is not JSON still goes upstream: the server's answer (a
	// 4xx) is the measurement. Transcriptions are multipart forms.
	if api == measure.APITranscriptions {
		head.Model, head.Stream = formHead(body, r.Header.Get("Content-Type"))
	} else {
		_ = json.Unmarshal(body, &head)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	cw := &clientWriter{ResponseWriter: w, ctx: r.Context()}
	// The client's credentials are masked in any error text the upstream
	// echoes them in.
	t := &timing{arrived: arrived, opt: measure.TrackOptions{Stream: head.Stream, API: api, Redact: redact.New(redact.HeaderSecrets(r.Header)...)},
		bench: p.bench(head.Model), client: cw}
	t.opt.FirstToken = t.bench // live TTFT at the first token, as the load generator's
	p.rp.ServeHTTP(cw, r.WithContext(context.WithValue(r.Context(), timingKey{}, t)))
}

// formHead reads the "model" and "stream" fields of a multipart form,
// skipping the file; an unreadable form reads as neither.
func formHead(body []byte, contentType string) (model string, stream bool) {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil || params["boundary"] == "" {
		return "", false
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		part, err := mr.NextPart()
		if err != nil {
			return model, stream
		}
		switch part.FormName() {
		case "model":
			b, _ := io.ReadAll(io.LimitReader(part, 1024))
			model = string(b)
		case "stream":
			b, _ := io.ReadAll(io.LimitReader(part, 16))
			stream = strings.EqualFold(strings.TrimSpace(string(b)), "true")
		}
	}
}

// bufferPool lends ReverseProxy its copy buffers, so a response does not
// allocate one. A read returns what has arrived, rarely more than a few
// chunks, so they are small.
type bufferPool struct{}

var copyBuffers = sync.Pool{New: func() any { return make([]byte, 8<<10) }}

func (bufferPool) Get() []byte  { return copyBuffers.Get().([]byte) }
func (bufferPool) Put(b []byte) { copyBuffers.Put(b) } // boxing the slice header costs 24 bytes, not 8 KiB

// roundTripper times the upstream round trip of timed requests.
type roundTripper struct{ p *Proxy }

func (rt roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	t, _ := req.Context().Value(timingKey{}).(*timing)
	if t == nil {
		return rt.p.transport.RoundTrip(req)
	}
	p := rt.p
	b := &trackedBody{p: p, t: t, ctx: req.Context(), now: p.now}
	if p.stamps {
		req = req.WithContext(b.dater.Trace(req.Context()))
	}
	sent := p.now()
	b.dater.Since(sent)
	b.tr = measure.NewTracker(p.seq.Add(1)-1, t.arrived, sent, t.opt)
	p.track(t, true)
	t.bench.Started()
	resp, err := p.transport.RoundTrip(req)
	if err != nil {
		p.finish(t, b.tr, p.now(), err)
		return nil, err
	}
	b.tr.Header(resp.StatusCode, b.dater.Date(p.now()))
	b.rc = resp.Body
	resp.Body = b
	return resp, nil
}

// errClosedEarly ends a body the proxy stopped reading for a reason other
// than the client's cancellation (e.g. a failed write to the client).
var errClosedEarly = errors.New("response body closed before its end")

// trackedBody feeds every read to the Tracker and finishes it once, at the
// end of the body, on a read error, or when the proxy closes it early.
// ReverseProxy reads and closes it from one goroutine.
type trackedBody struct {
	p      *Proxy
	t      *timing
	rc     io.ReadCloser
	tr     *measure.Tracker
	ctx    context.Context
	now    func() time.Time
	dater  netstamp.Dater // dates reads by arrival from the upstream, where it can
	read   int64          // body bytes read so far
	doneAt int64          // bytes read up to the stream's [DONE]; 0 before it
	done   bool
}

func (b *trackedBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if b.done {
		return n, err
	}
	now := b.now()
	if n > 0 {
		b.tr.Write(p[:n], b.dater.Date(now))
		b.read += int64(n)
		if b.doneAt == 0 && b.tr.Done() {
			b.doneAt = b.read
		}
	}
	switch {
	case err == io.EOF:
		b.finish(now, nil)
	case err != nil && b.delivered():
		// The client left after the end of the response: for the reverse
		// proxy too, the body ended cleanly (no read error to log).
		b.finish(now, nil)
		return n, io.EOF
	case err != nil:
		if cerr := b.ctx.Err(); cerr != nil {
			err = fmt.Errorf("%w: %w", cerr, err)
		}
		b.finish(now, err)
	}
	return n, err
}

func (b *trackedBody) Close() error {
	if !b.done {
		err := b.ctx.Err()
		if err == nil {
			err = errClosedEarly
		}
		b.finish(b.now(), err)
	}
	return b.rc.Close()
}

func (b *trackedBody) finish(now time.Time, err error) {
	b.done = true
	if err != nil && b.delivered() {
		err = nil // the client had the whole response; what failed after it is not the request's
	}
	b.p.finish(b.t, b.tr, now, err)
}

// delivered reports whether the end of the response, by protocol, reached
// the client.
func (b *trackedBody) delivered() bool {
	if b.t.client == nil {
		return false
	}
	fw := b.t.client.forwarded.Load()
	if b.doneAt > 0 {
		return fw >= b.doneAt
	}
	return fw >= b.read && b.tr.Complete()
}

// Serve serves the proxy on l until ctx is done, then gives open streams 5 s
// to end before closing them. There is no write timeout: a stream lasts as
// long as the server generates.
func (p *Proxy) Serve(ctx context.Context, l net.Listener) error {
	srv := &http.Server{Handler: p, ReadHeaderTimeout: 30 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return fmt.Errorf("proxy on %s: %w", l.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("proxy on %s: %w", l.Addr(), err)
	}
	return nil
}
