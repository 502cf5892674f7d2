package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/servebench/servebench/internal/e2e"
	"github.com/servebench/servebench/runner/engine"
	"github.com/servebench/servebench/runner/results"
	"github.com/servebench/servebench/runner/simulator"
	"github.com/servebench/servebench/runner/store"
)

// commandSuite is a suite of short closed-loop levels (and, for tools that
// drive one, an open-loop level) run by the command load generator.
const commandSuite = `name: tools
description: third-party tools as the command load generator
workloads: [chat_lite]
loadgen: command
limits:
  max_seconds: 2
  drain_timeout_seconds: 3
stages:
  - profile: concurrent
    levels: [2]
`

// TestE2ECommandLoadgens runs real third-party load generators nobody here
// wrote — vegeta (built from the module proxy), wrk, Apache Bench, Locust
// (Debian packages: make deps) — from a suite file through runner start
// --loadgen command --command RECIPE against the simulator. Each level's
// figures are the metering proxy's; each tool's report is parsed and
// checked against them and agrees: the successful requests exactly (for a
// tool stopped at its duration, up to one response per stream that reached
// it as it stopped), the requests up to those the tool abandoned in flight
// when it stopped, which the proxy records incomplete. The tool's output and report stay
// in the level's directory.
func TestE2ECommandLoadgens(t *testing.T) {
	if testing.Short() {
		t.Skip("runs third-party load generators")
	}
	target, suiteFile := commandSetup(t, commandSuite)
	for _, tool := range []string{"vegeta", "wrk", "ab", "locust"} {
		t.Run(tool, func(t *testing.T) {
			e2e.Require(t, tool)
			dir := t.TempDir()
			began := time.Now()
			code, out, errOut := runCLI(t, nil, "start", "--suite", suiteFile, "--engine", "external", "--target", target,
				"--loadgen", "command", "--command", tool, "--results", dir, "--web.listen-address", "off")
			took := time.Since(began)
			if code != 0 {
				t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
			}
			// One level: 2 s of sending, 3 s of drain at most, and the
			// tool's start-up (Locust's is about a second).
			if took > 15*time.Second {
				t.Errorf("%s took %v", tool, took)
			}
			cell := onlyCell(t, dir)
			var sum results.Summary
			readJSON(t, filepath.Join(cell, "summary.json"), &sum)
			if len(sum.Benchmarks) != 1 {
				t.Fatalf("%d benchmarks", len(sum.Benchmarks))
			}
			b := sum.Benchmarks[0]
			if b.Source != "proxy" || !strings.Contains(b.SourceReason, "measured by the metering proxy") || !b.Valid {
				t.Errorf("source %q (%s), valid %v %v", b.Source, b.SourceReason, b.Valid, b.InvalidReasons)
			}
			if b.CrossCheck == nil || !b.CrossCheck.Agree || b.CrossCheck.Tool != tool {
				t.Fatalf("cross-check %+v", b.CrossCheck)
			}
			recs := readRecords(t, filepath.Join(cell, "requests.jsonl"))
			abandoned := 0
			for _, r := range recs {
				if strings.HasPrefix(r.Error, "abandoned in flight") {
					abandoned++
				}
			}
			if tool == "vegeta" && abandoned != 0 {
				t.Errorf("vegeta waits for its answers, yet %d requests were abandoned", abandoned)
			}
			rows := map[string]results.CrossCheckRow{}
			for _, r := range b.CrossCheck.Rows {
				rows[r.Figure] = r
			}
			ok, all := rows["successful"], rows["requests"]
			// A tool stopped at its duration (wrk, ab, Locust) may drop a
			// response that reached it in the instant it stopped: the proxy
			// saw it complete, the tool never counted it — the documented
			// cut-off, at most one per stream (2 here). vegeta waits for
			// its answers: its counts are exact.
			cutoff := 0
			if tool != "vegeta" {
				cutoff = 2
			}
			if ok.Tool == 0 || ok.Tool > ok.Proxy || ok.Proxy > ok.Tool+float64(cutoff) {
				t.Errorf("successful: %s says %v, the proxy %v (cut-off %d)", tool, ok.Tool, ok.Proxy, cutoff)
			}
			// The proxy's requests are those it timed and those it refused
			// after the window (the tool counts them as failures).
			refused := int(all.Proxy) - len(recs)
			if seen := all.Tool + float64(abandoned); seen > all.Proxy || all.Proxy > seen+float64(cutoff) || refused < 0 {
				t.Errorf("requests: %s says %v, the proxy %v (%d timed, %d abandoned, cut-off %d)", tool, all.Tool, all.Proxy, len(recs), abandoned, cutoff)
			}
			if ok.Tool != ok.Proxy || all.Tool+float64(abandoned) != all.Proxy {
				t.Logf("%s stopped as a response reached it: successful %v vs the proxy's %v, requests %v (+%d abandoned) vs %v", tool, ok.Tool, ok.Proxy, all.Tool, abandoned, all.Proxy)
			}
			var man store.Manifest
			readJSON(t, filepath.Join(cell, "manifest.json"), &man)
			if man.Loadgen.Name != tool {
				t.Errorf("manifest load generator %+v", man.Loadgen)
			}
			level := tool + "-concurrent-2"
			logb, err := os.ReadFile(filepath.Join(cell, level+".log"))
			if err != nil || !strings.Contains(string(logb), "# ") || strings.Count(string(logb), "\n") < 3 {
				t.Errorf("level log: %v\n%s", err, logb)
			}
			if fi, err := os.Stat(filepath.Join(cell, level, "report")); err != nil || fi.Size() == 0 {
				t.Errorf("the tool's report is not kept: %v", err)
			}
			if _, err := os.Stat(filepath.Join(cell, level, "bodies.jsonl")); !os.IsNotExist(err) {
				t.Errorf("request files left behind: %v", err)
			}
		})
	}
}

// TestE2ECommandStoppedAtTheBudget runs vegeta told to attack for a minute
// in a level of 2 s + 1 s of drain: the proxy refuses what it sends after
// the window, vegeta is stopped at the budget, and the level's figures are
// the proxy's, saying so.
func TestE2ECommandStoppedAtTheBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("runs vegeta")
	}
	s := strings.Replace(commandSuite, "loadgen: command\n", "loadgen: command\ncommand:\n  recipe: vegeta\n"+
		"  run: vegeta attack -format json -targets {{q .TargetsFile}} -rate 8/1s -duration 60s -output vegeta.bin\n", 1)
	s = strings.Replace(s, "drain_timeout_seconds: 3", "drain_timeout_seconds: 1", 1)
	target, suiteFile := commandSetup(t, s)
	dir := t.TempDir()
	began := time.Now()
	code, out, errOut := runCLI(t, nil, "start", "--suite", suiteFile, "--engine", "external", "--target", target,
		"--results", dir, "--web.listen-address", "off")
	took := time.Since(began)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	// 3 s of budget from the first request, the 2 s grace for the tool to
	// exit after SIGINT, its start-up, on a loaded machine: far from the
	// minute vegeta was told to attack for.
	if took > 20*time.Second {
		t.Errorf("the level took %v: vegeta was not stopped at the budget", took)
	}
	cell := onlyCell(t, dir)
	var sum results.Summary
	readJSON(t, filepath.Join(cell, "summary.json"), &sum)
	b := sum.Benchmarks[0]
	if b.Source != "proxy" || !strings.Contains(b.SourceReason, "vegeta was stopped at the level's budget (window 2s + drain 1s = 3s)") {
		t.Errorf("source %q: %s", b.Source, b.SourceReason)
	}
	recs := readRecords(t, filepath.Join(cell, "requests.jsonl"))
	var first, last time.Time
	for _, r := range recs {
		if first.IsZero() || r.Scheduled.Before(first) {
			first = r.Scheduled
		}
		if r.Scheduled.After(last) {
			last = r.Scheduled
		}
	}
	if len(recs) < 8 || last.Sub(first) >= 2*time.Second {
		t.Errorf("%d requests reached the server, the last %v after the first (window 2 s)", len(recs), last.Sub(first))
	}
	if logb, err := os.ReadFile(filepath.Join(cell, "vegeta-concurrent-2.log")); err != nil || !strings.Contains(string(logb), "-duration 60s") {
		t.Errorf("level log: %v\n%s", err, logb)
	}
}

// commandSetup puts vegeta (built from the module proxy) on PATH, serves
// a fast simulator and writes the suite file: the simulator's API URL and
// the file's path.
func commandSetup(t *testing.T, suiteYAML string) (target, suiteFile string) {
	t.Helper()
	gobin := e2e.GoInstall(t, "github.com/tsenart/vegeta/v12", "v12.13.0")
	t.Setenv("PATH", gobin+string(os.PathListSeparator)+os.Getenv("PATH"))
	suiteFile = filepath.Join(t.TempDir(), "tools.yaml")
	if err := os.WriteFile(suiteFile, []byte(suiteYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	return fastSim(t), suiteFile
}

// fastSim serves a simulator ten times faster than the modelled CPU and
// returns its API base URL.
func fastSim(t *testing.T) string {
	t.Helper()
	base := simulator.DefaultConfig()
	base.LoadTime = 0
	base.Slowdown = 0.1
	in, err := engine.NewSim(base, nil, nil).Start(context.Background(), engine.Spec{Model: "TinyLlama/TinyLlama-1.1B-Chat-v1.0", CPUs: make([]int, 16)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Stop(context.Background()) })
	if err := in.Ready(context.Background()); err != nil {
		t.Fatal(err)
	}
	return in.URL() + "/v1"
}

func onlyCell(t *testing.T, dir string) string {
	t.Helper()
	sums, _ := filepath.Glob(filepath.Join(dir, "*", "*", "*", "summary.json"))
	if len(sums) != 1 {
		t.Fatalf("summaries: %v", sums)
	}
	return filepath.Dir(sums[0])
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// recordLine is what these tests read of a requests.jsonl line.
type recordLine struct {
	Scheduled time.Time `json:"scheduled"`
	Outcome   string    `json:"outcome"`
	Error     string    `json:"error"`
}

func readRecords(t *testing.T, path string) []recordLine {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []recordLine
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var r recordLine
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}
