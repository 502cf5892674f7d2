// Package metered runs third-party load generators (GuideLLM, vllm bench
// serve) as load levels of a servebench run. Each level starts the metering
// proxy (exporter/proxy) on 127.0.0.1 in front of the engine, behind a gate
// that adds the run's API key to every request and holds the tool to the
// level's budget (loadgen.Budget, from the tool's first request: nothing
// reaches the engine after the sending span; at the drain deadline what is
// in flight is cut and the tool stopped, SIGINT then SIGKILL). The tool's
// requests show up live in the native load generator's series (loadgen
// label = the tool) and in the cell's requests.jsonl; its output is
// streamed to the console and kept in <LogDir>/<tool>-<level>.log.
//
// A level's figures are the tool's own report (Benchmark.Source = the
// tool) when it ran its course within the budget, else the proxy's
// records ("proxy", with the reason); either way the report is checked
// against the proxy's records (runner/thirdparty/crosscheck) and a
// disagreement makes the level invalid. A tool that fails — missing,
// non-zero exit, nothing sent, an unreadable report — fails its level with
// an error naming the tool, the level and its log.
//
// GuideLLM and *VLLMBench implement orchestrate.LoadGenerator. A value
// runs one level at a time.
package metered

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"time"

	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/exporter/proxy"
	"github.com/servebench/servebench/runner/orchestrate"
	"github.com/servebench/servebench/runner/results"
	"github.com/servebench/servebench/runner/thirdparty/crosscheck"
	"github.com/servebench/servebench/runner/thirdparty/launch"
	"github.com/servebench/servebench/runner/workload"
)

// errOneURL: a third-party tool talks to one base URL.
var errOneURL = errors.New("third-party load generators drive one engine URL; the instances variant needs --loadgen native")

// toolRun is what one run of a tool gave.
type toolRun struct {
	// summary is the tool's report as a summary (GuideLLM, vllm bench
	// serve): its single benchmark becomes the level's figures when the
	// tool ran its course within the budget. Nil for tools whose figures
	// are the proxy's by design (commands).
	summary *results.Summary
	// claim is what the tool's report says, checked against the proxy's
	// records; nil when there is no report to check.
	claim *crosscheck.Claim
	// note explains, for a level the tool drove with too few requests (a
	// closed-loop estimate), how much of the window it covered.
	note string
}

// runFunc starts the tool against proxyURL with its report in dir and its
// output also going to levelLog, in a container named container when it
// runs in one, and returns when it ends or ctx does (the tool is then
// interrupted: SIGINT, then SIGKILL after a grace).
type runFunc func(ctx context.Context, proxyURL, dir string, levelLog io.Writer, container string) (toolRun, error)

// stopGrace is how long a tool stopped at its level's budget may take to
// exit before it is killed; the level's requests were cut already.
const stopGrace = 2 * time.Second

// runLevel runs one level of tool through the metering proxy, under the
// level's budget: it opens the level's log, serves the proxy behind a gate
// (budget, API key) on 127.0.0.1, runs the tool, and returns the level's
// figures with their source: the tool's report when the tool ran its
// course within the budget and sent nothing after the window, else the
// proxy's records — and the tool's report checked against the proxy's
// records either way.
func runLevel(ctx context.Context, req orchestrate.LoadRequest, rec measure.Recorder, tool string, log *slog.Logger, cells *cellState, run runFunc) (results.Benchmark, error) {
	if len(req.URLs) != 1 {
		return results.Benchmark{}, errOneURL
	}
	upstream, err := url.Parse(req.URLs[0])
	if err != nil {
		return results.Benchmark{}, fmt.Errorf("engine url %q: %w", req.URLs[0], err)
	}
	dir, err := absDir(req.LogDir)
	if err != nil {
		return results.Benchmark{}, err
	}
	f, err := levelLog(dir, tool, req.Level.Name)
	if err != nil {
		return results.Benchmark{}, err
	}
	defer f.Close()
	labels := req.Labels
	labels.Loadgen = tool

	var g *gate
	col := &collector{next: rec, budget: req.Budget, first: func() time.Time { return g.firstAt() }}
	p, err := proxy.New(proxy.Config{Upstream: upstream, Recorder: col, Labels: labels, Log: log})
	if err != nil {
		return results.Benchmark{}, err
	}
	g = newGate(p, req.Budget, req.APIKey, nil)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return results.Benchmark{}, fmt.Errorf("metering proxy: %w", err)
	}
	srv := &http.Server{Handler: g, ReadHeaderTimeout: 30 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()

	toolCtx, stop := context.WithCancelCause(ctx)
	watched := make(chan struct{})
	allowance := req.StartAllowance
	if allowance <= 0 {
		allowance = orchestrate.DefaultStartAllowance
	}
	go func() {
		defer close(watched)
		g.watch(toolCtx, allowance, p.CutInFlight, stop)
	}()
	container := fmt.Sprintf("servebench-%s-%s-%s", tool, safe(req.Cell.ID), safe(req.Level.Name))
	tr, runErr := run(toolCtx, "http://"+l.Addr().String(), dir, f, container)
	cause := context.Cause(toolCtx)
	stop(nil)
	<-watched
	p.CutInFlight() // whatever the tool left behind is cut, not waited for
	nAbandoned := col.settle()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	_ = srv.Shutdown(sctx)
	cancel()
	<-served
	p.Close()

	first := g.firstAt()
	records := col.all()
	refused := g.refusedAfter()
	b := proxyView(req, records, first)
	b.Source = sourceProxy
	cells.observe(req, b)
	logPath := f.Name()
	fail := func(err error) (results.Benchmark, error) {
		b.Valid = false
		b.InvalidReasons = append(b.InvalidReasons, err.Error())
		return b, err
	}
	switch {
	case ctx.Err() != nil:
		b.SourceReason = fmt.Sprintf("%s was interrupted; the figures are what the proxy measured until then", tool)
		if runErr == nil {
			runErr = ctx.Err()
		}
		return b, runErr
	case errors.Is(cause, errNoStart):
		return fail(fmt.Errorf("%s (level %s) %w within %v of starting; stopped, its output is in %s", tool, req.Level.Name, errNoStart, allowance, logPath))
	case errors.Is(cause, errOverBudget):
		b.SourceReason = fmt.Sprintf("%s was %s (%s) before it finished; the figures are the proxy's", tool, errOverBudget, req.Budget)
		if len(records) == 0 {
			return fail(fmt.Errorf("%s (level %s): no request reached the server through the proxy", tool, req.Level.Name))
		}
		return b, nil
	case runErr != nil:
		return fail(fmt.Errorf("%s (level %s): %w; its output is in %s", tool, req.Level.Name, runErr, logPath))
	}
	if tr.claim != nil {
		cc := crosscheck.Check(*tr.claim, crosscheck.Proxy{Records: records, Refused: len(refused)})
		b.CrossCheck = &cc
	}
	switch {
	case tr.summary == nil:
		b.SourceReason = fmt.Sprintf("%s is measured by the metering proxy: its latencies are servebench's, timed as the native load generator's", tool)
	case len(refused) > 0:
		b.SourceReason = fmt.Sprintf("%s sent %d requests after the level's sending window closed (the first %v late); the proxy refused them, so its report counts requests the server never saw and the figures are the proxy's",
			tool, len(refused), slices.Min(refused).Round(time.Millisecond))
	default:
		tb, err := pick(tr.summary, req, tool)
		if err != nil {
			return fail(fmt.Errorf("%s (level %s): %w; its output is in %s", tool, req.Level.Name, err, logPath))
		}
		tb.Source, tb.CrossCheck = tool, b.CrossCheck
		b = tb
	}
	if tr.note != "" {
		b.Notes = append(b.Notes, tr.note)
	}
	if nAbandoned > 0 {
		b.Notes = append(b.Notes, fmt.Sprintf("%s stopped with %d requests in flight, which it abandoned uncounted; the proxy records them incomplete", tool, nAbandoned))
	}
	if b.CrossCheck != nil && !b.CrossCheck.Agree {
		b.Valid = false
		b.InvalidReasons = append(b.InvalidReasons, crosscheck.Reasons(*b.CrossCheck)...)
	}
	return b, nil
}

// sourceProxy is the source of figures measured by the metering proxy.
const sourceProxy = "proxy"

// levelLog opens <dir>/<tool>-<level>.log for the tool's output.
func levelLog(dir, tool, level string) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return os.Create(filepath.Join(dir, tool+"-"+safe(level)+".log"))
}

var unsafeChars = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

func safe(s string) string { return unsafeChars.ReplaceAllString(s, "-") }

// pick returns the summary's single benchmark under the plan's level name.
func pick(s *results.Summary, req orchestrate.LoadRequest, tool string) (results.Benchmark, error) {
	if s == nil || len(s.Benchmarks) == 0 {
		return results.Benchmark{}, fmt.Errorf("%s: the report holds no benchmark", tool)
	}
	if len(s.Benchmarks) > 1 {
		return results.Benchmark{}, fmt.Errorf("%s: the report holds %d benchmarks for one level", tool, len(s.Benchmarks))
	}
	b := s.Benchmarks[0]
	b.Level = req.Level.Name
	return b, nil
}

// outputs returns the tool's Output with the level log added.
func outputs(base launch.Output, f io.Writer) launch.Output {
	o := base
	if o.Log != nil {
		o.Log = io.MultiWriter(o.Log, f)
	} else {
		o.Log = f
	}
	return o
}

func absDir(dir string) (string, error) {
	if dir == "" {
		return "", errors.New("load request: no log directory for the tool's report")
	}
	return filepath.Abs(dir)
}

func workloadOf(req orchestrate.LoadRequest) (workload.Spec, error) {
	w, err := workload.Lookup(req.Cell.Workload)
	if err != nil {
		return w, fmt.Errorf("workload %s: %w", req.Cell.Workload, err)
	}
	return w, nil
}
