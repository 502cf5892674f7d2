package orchestrate

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// leastOutstanding is an http.RoundTripper for the load generator's client
// that sends each request to the engine instance with the fewest requests
// in flight (ties rotate): the client-side least-outstanding balancing of
// the contention suite's instances variant. One load loop uses it, so the
// level's target is the whole cell's and a slower instance simply gets
// fewer requests. A request is in flight from its send until its response
// body is closed or read to the end; nothing sits between the client and
// the engines, so latencies are measured as without it.
type leastOutstanding struct {
	targets []*url.URL
	next    http.RoundTripper

	mu       sync.Mutex
	inFlight []int
	served   []int
	rotate   int // where the tie-break starts
}

// newLeastOutstanding balances over urls, which must differ only in scheme,
// host and port; next sends the requests.
func newLeastOutstanding(urls []string, next http.RoundTripper) (*leastOutstanding, error) {
	lo := &leastOutstanding{next: next, inFlight: make([]int, len(urls)), served: make([]int, len(urls))}
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("balance least-outstanding: engine URL %q: not an absolute URL", raw)
		}
		if len(lo.targets) > 0 && strings.TrimRight(u.Path, "/") != strings.TrimRight(lo.targets[0].Path, "/") {
			return nil, fmt.Errorf("balance least-outstanding: engine URLs %s and %s have different paths", lo.targets[0], u)
		}
		lo.targets = append(lo.targets, u)
	}
	return lo, nil
}

// pick takes the instance with the fewest requests in flight; work counts
// the request in Served.
func (l *leastOutstanding) pick(work bool) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(l.inFlight)
	best := l.rotate % n
	for k := 1; k < n; k++ {
		if i := (l.rotate + k) % n; l.inFlight[i] < l.inFlight[best] {
			best = i
		}
	}
	l.rotate = best + 1
	l.inFlight[best]++
	if work {
		l.served[best]++
	}
	return best
}

func (l *leastOutstanding) release(i int) {
	l.mu.Lock()
	l.inFlight[i]--
	l.mu.Unlock()
}

// RoundTrip implements http.RoundTripper.
func (l *leastOutstanding) RoundTrip(req *http.Request) (*http.Response, error) {
	// Prompt calibration (/tokenize) and model listing are spread too, but
	// only inference requests count as served.
	p := req.URL.Path
	i := l.pick(strings.HasSuffix(p, "/completions") || strings.HasSuffix(p, "/embeddings"))
	out := req.Clone(req.Context())
	out.URL.Scheme, out.URL.Host, out.Host = l.targets[i].Scheme, l.targets[i].Host, ""
	resp, err := l.next.RoundTrip(out)
	if err != nil {
		l.release(i)
		return nil, err
	}
	resp.Body = &releasingBody{ReadCloser: resp.Body, release: sync.OnceFunc(func() { l.release(i) })}
	return resp, nil
}

// Served returns how many inference requests each instance got.
func (l *leastOutstanding) Served() []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]int(nil), l.served...)
}

// releasingBody ends a request's time in flight at EOF, error or Close.
type releasingBody struct {
	io.ReadCloser
	release func()
}

func (b *releasingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.release()
	}
	return n, err
}

func (b *releasingBody) Close() error {
	b.release()
	return b.ReadCloser.Close()
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the
// transport underneath.
func (l *leastOutstanding) CloseIdleConnections() {
	if c, ok := l.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
