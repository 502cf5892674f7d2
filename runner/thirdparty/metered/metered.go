// Package metered runs third-party load generators (GuideLLM, vllm bench
// serve) as load levels of a servebench run: each level starts the metering
// proxy (exporter/proxy) on 127.0.0.1 in front of the engine, points the tool
// at it so its requests show up live in the same series as the native load
// generator's (loadgen label = the tool), runs the tool with its output
// streamed to the console and to <LogDir>/<tool>-<level>.log, and returns
// the tool's own figures parsed from its report, with the plan's level name.
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
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/exporter/proxy"
	"github.com/servebench/servebench/runner/orchestrate"
	"github.com/servebench/servebench/runner/results"
	"github.com/servebench/servebench/runner/thirdparty/launch"
	"github.com/servebench/servebench/runner/workload"
)

// errOneURL: a third-party tool talks to one base URL.
var errOneURL = errors.New("third-party load generators drive one engine URL; the instances variant needs --loadgen native")

// withProxy serves the metering proxy in front of upstream for the length
// of fn, recording into rec with labels.
func withProxy(ctx context.Context, upstream string, rec measure.Recorder, labels measure.BenchmarkLabels, log *slog.Logger,
	fn func(proxyURL string) (*results.Summary, error)) (*results.Summary, error) {
	u, err := url.Parse(upstream)
	if err != nil {
		return nil, fmt.Errorf("engine url %q: %w", upstream, err)
	}
	p, err := proxy.New(proxy.Config{Upstream: u, Recorder: rec, Labels: labels, Log: log})
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("metering proxy: %w", err)
	}
	srv := &http.Server{Handler: p, ReadHeaderTimeout: 30 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	s, runErr := fn("http://" + l.Addr().String())
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx) // waits for in-flight requests to finish
	<-served
	p.Close()
	return s, runErr
}

// runLevel runs one level of tool: it opens the level's log, serves the
// metering proxy in front of the one engine URL and returns the tool's
// benchmark under the plan's level name. run starts the tool against
// proxyURL with its report in dir, its output also going to levelLog, in a
// container named container when it runs in one.
func runLevel(ctx context.Context, req orchestrate.LoadRequest, rec measure.Recorder, tool string, log *slog.Logger,
	run func(proxyURL, dir string, levelLog io.Writer, container string) (*results.Summary, error)) (results.Benchmark, error) {
	if len(req.URLs) != 1 {
		return results.Benchmark{}, errOneURL
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
	container := fmt.Sprintf("servebench-%s-%s-%s", tool, safe(req.Cell.ID), safe(req.Level.Name))
	s, err := withProxy(ctx, req.URLs[0], rec, labels, log, func(proxyURL string) (*results.Summary, error) {
		return run(proxyURL, dir, f, container)
	})
	if err != nil {
		return results.Benchmark{}, err
	}
	return pick(s, req, tool)
}

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

// requestCount is the fixed request count a tool without a duration limit
// (vllm bench serve) is given: the limit when set, else the open-loop rate
// times the duration, else 200 (vLLM's CPU CI size).
func requestCount(req orchestrate.LoadRequest) int {
	if req.Limits.MaxRequests > 0 {
		return req.Limits.MaxRequests
	}
	open := req.Level.Profile == "constant" || req.Level.Profile == "poisson"
	if open && req.Target > 0 && req.Limits.MaxSeconds > 0 {
		return max(1, int(math.Ceil(req.Target*req.Limits.MaxSeconds)))
	}
	return 200
}
