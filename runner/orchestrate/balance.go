package orchestrate

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"
)

// leastOutstanding is a loopback reverse proxy that sends each request to
// the engine instance with the fewest requests in flight through it (ties
// rotate), the client-side least-outstanding balancing of the contention
// suite's instances variant. One load loop drives it, so the level's
// target is the whole cell's and a slower instance simply gets fewer
// requests. Streams pass through unbuffered: every SSE chunk is flushed as
// it arrives, so chunk timing is the engine's plus a loopback hop.
type leastOutstanding struct {
	proxies []*httputil.ReverseProxy

	mu       sync.Mutex
	inFlight []int
	served   []int
	next     int // where the tie-break starts
}

func newLeastOutstanding(urls []string, log *slog.Logger) (*leastOutstanding, error) {
	lo := &leastOutstanding{inFlight: make([]int, len(urls)), served: make([]int, len(urls))}
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("balance least-outstanding: engine URL %q: %v", raw, err)
		}
		p := httputil.NewSingleHostReverseProxy(u)
		p.FlushInterval = -1
		p.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelWarn)
		lo.proxies = append(lo.proxies, p)
	}
	return lo, nil
}

// pick takes the instance with the fewest requests in flight; work counts
// the request in Served.
func (l *leastOutstanding) pick(work bool) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(l.inFlight)
	best := l.next % n
	for k := 1; k < n; k++ {
		if i := (l.next + k) % n; l.inFlight[i] < l.inFlight[best] {
			best = i
		}
	}
	l.next = best + 1
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

func (l *leastOutstanding) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Prompt calibration (/tokenize) and model listing are spread too, but
	// only inference requests count as served.
	p := r.URL.Path
	i := l.pick(strings.HasSuffix(p, "/completions") || strings.HasSuffix(p, "/embeddings"))
	defer l.release(i)
	l.proxies[i].ServeHTTP(w, r)
}

// Served returns how many inference requests each instance got.
func (l *leastOutstanding) Served() []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]int(nil), l.served...)
}

// serve listens on a loopback port and returns the proxy's base URL and a
// stop function that waits for the server to end.
func (l *leastOutstanding) serve() (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("balance least-outstanding: %w", err)
	}
	srv := &http.Server{Handler: l, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln) // after Shutdown; a failure shows as the loop's failed requests

	}()
	return "http://" + ln.Addr().String(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if srv.Shutdown(ctx) != nil {
			srv.Close()
		}
		<-done
	}, nil
}
