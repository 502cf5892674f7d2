package metered

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/runner/loadgen"
)

// gate stands in front of the metering proxy for one level and holds the
// tool to the level's budget, which starts with the first timed request
// (the tool's own start-up is not the server's time): timed requests that
// arrive after the sending span (warmup, window, cooldown) are refused
// with 503 and never reach the server; at the drain deadline the requests
// still in flight are cut (recorded incomplete) and the tool is stopped.
// It also gives every request the run's API key, so that no tool needs it.
type gate struct {
	next   http.Handler
	budget loadgen.Budget
	apiKey string
	now    func() time.Time

	started chan struct{} // closed at the first timed request

	mu      sync.Mutex
	first   time.Time
	refused []time.Duration // how long after the window each refused request came
}

func newGate(next http.Handler, b loadgen.Budget, apiKey string, now func() time.Time) *gate {
	if now == nil {
		now = time.Now
	}
	return &gate{next: next, budget: b, apiKey: apiKey, now: now, started: make(chan struct{})}
}

// timedPaths are the API paths the proxy times: the level's requests.
var timedPaths = map[string]bool{
	measure.APIChat.Path(): true, measure.APICompletions.Path(): true,
	measure.APIEmbeddings.Path(): true, measure.APITranscriptions.Path(): true,
}

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if g.apiKey != "" {
		r.Header.Set("Authorization", "Bearer "+g.apiKey)
	}
	if r.Method == http.MethodPost && timedPaths[r.URL.Path] {
		if late, refuse := g.arrive(); refuse {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, `{"error":{"message":"servebench: the level's sending window closed %v ago; nothing is sent after it","type":"window_closed","code":503}}`+"\n", late.Round(time.Millisecond))
			return
		}
	}
	g.next.ServeHTTP(w, r)
}

// arrive notes a timed request: the first starts the budget; one after
// the sending span is refused, with how late it came.
func (g *gate) arrive() (time.Duration, bool) {
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.first.IsZero() {
		g.first = now
		close(g.started)
		return 0, false
	}
	if !g.budget.Bounded() {
		return 0, false
	}
	if late := now.Sub(g.first) - g.budget.Send(); late >= 0 {
		g.refused = append(g.refused, late)
		return late, true
	}
	return 0, false
}

// firstAt is when the first timed request arrived; zero when none has.
func (g *gate) firstAt() time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.first
}

// refusedAfter is how late each refused request came.
func (g *gate) refusedAfter() []time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]time.Duration(nil), g.refused...)
}

// Why a level's tool was stopped before it ended on its own.
var (
	errNoStart    = errors.New("sent no request")
	errOverBudget = errors.New("stopped at the level's budget")
)

// watch stops the tool (stop with errNoStart) when no timed request came
// within allowance of its start, and, for a bounded level, at the drain
// deadline (cut first, then stop with errOverBudget). It returns when ctx
// ends; call it in its own goroutine.
func (g *gate) watch(ctx context.Context, allowance time.Duration, cut func(), stop context.CancelCauseFunc) {
	t := time.NewTimer(allowance)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return
	case <-t.C:
		stop(errNoStart)
		return
	case <-g.started:
	}
	if !g.budget.Bounded() {
		<-ctx.Done()
		return
	}
	deadline := g.firstAt().Add(g.budget.Total())
	t.Reset(deadline.Sub(g.now()))
	select {
	case <-ctx.Done():
	case <-t.C:
		cut()
		stop(errOverBudget)
	}
}
