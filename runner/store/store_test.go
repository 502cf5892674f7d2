package store

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/runner/results"
)

func clock() func() time.Time {
	t := time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
	return func() time.Time { t = t.Add(time.Second); return t }
}

func lines(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("bad line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

func TestRunLifecycle(t *testing.T) {
	root := t.TempDir()
	s := New(root, clock())
	cells := []CellState{{ID: "a_chat_8c"}, {ID: "b_chat_8c"}, {ID: "c_rag_8c", Status: CellSkipped, Error: "too long"}}
	r, err := s.Create("smoke", "20261127-030000-abcd", cells, map[string]any{"engine": "sim"})
	if err != nil {
		t.Fatal(err)
	}
	if last, _ := s.Last(); last != r.Dir {
		t.Errorf("last = %s, want %s", last, r.Dir)
	}
	cw, err := r.Cell("a_chat_8c")
	if err != nil {
		t.Fatal(err)
	}
	rec := cw.Recorder(measure.Discard)
	b := rec.Benchmark(measure.BenchmarkLabels{Level: "concurrent-4"})
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b.Finished(&measure.Result{Seq: int64(i), Outcome: contract.OutcomeSuccess, OutputTokens: 3})
		}()
	}
	wg.Wait()
	// On disk before Close: each request is written as it finishes.
	if got := lines(t, filepath.Join(cw.Dir, "requests.jsonl")); len(got) != 50 || got[0]["level"] != "concurrent-4" || got[0]["output_tokens"] != 3.0 {
		t.Fatalf("requests before close: %d lines, first %v", len(got), got[0])
	}
	if err := cw.WriteSummary(&results.Summary{Cell: "a_chat_8c", Benchmarks: []results.Benchmark{{Level: "concurrent-4"}}}); err != nil {
		t.Fatal(err)
	}
	if err := cw.WriteManifest(&Manifest{RunID: r.ID(), Cell: "a_chat_8c", Host: Host{Kernel: "6.1"}}); err != nil {
		t.Fatal(err)
	}
	if err := cw.Close(); err != nil {
		t.Fatal(err)
	}
	cw.Record("late", &measure.Result{}) // after Close: dropped, no panic
	if cw.Count() != 50 {
		t.Errorf("count = %d", cw.Count())
	}
	var sum results.Summary
	readJSON(t, filepath.Join(cw.Dir, "summary.json"), &sum)
	if sum.SchemaVersion != results.SchemaVersion || sum.Benchmarks[0].Level != "concurrent-4" {
		t.Errorf("summary: %+v", sum)
	}
	// Encoded as results.WriteSummary writes it: no reasons is [], not null.
	if b, _ := os.ReadFile(filepath.Join(cw.Dir, "summary.json")); !strings.Contains(string(b), `"invalid_reasons": []`) {
		t.Errorf("summary.json:\n%s", b)
	}
	var man map[string]any
	readJSON(t, filepath.Join(cw.Dir, "manifest.json"), &man)
	if man["schema_version"] != 1.0 || man["host"].(map[string]any)["kernel"] != "6.1" {
		t.Errorf("manifest: %v", man)
	}
	if err := r.SetCell("a_chat_8c", CellDone, nil); err != nil {
		t.Fatal(err)
	}
	// Interrupted during cell b.
	cwb, _ := r.Cell("b_chat_8c")
	cwb.Record("concurrent-1", &measure.Result{Seq: 0})
	cwb.Close()
	if err := r.Close(StatusIncomplete); err != nil {
		t.Fatal(err)
	}
	st, err := ReadState(r.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != StatusIncomplete || st.Cells[0].Status != CellDone || st.Cells[1].Status != CellPending || st.Cells[2].Error != "too long" || st.Finished.IsZero() {
		t.Errorf("state after interrupt: %+v", st)
	}

	// Resume: a is done, b starts afresh.
	r2, err := s.Resume("20261127-030000-abcd")
	if err != nil {
		t.Fatal(err)
	}
	if !r2.Done("a_chat_8c") || r2.Done("b_chat_8c") || r2.State().Status != StatusRunning || len(r2.State().Resumed) != 1 {
		t.Errorf("resumed state: %+v", r2.State())
	}
	cwb, _ = r2.Cell("b_chat_8c")
	if got := lines(t, filepath.Join(cwb.Dir, "requests.jsonl")); len(got) != 0 {
		t.Errorf("an unfinished cell must restart empty, has %d lines", len(got))
	}
	cwb.Close()
	if err := r2.SetCell("nope", CellDone, nil); err == nil {
		t.Error("unknown cell accepted")
	}
	r2.SetCell("b_chat_8c", CellFailed, errors.New("engine died"))
	r2.Close(StatusComplete)
	if _, err := s.Resume("20261127-030000-abcd"); err == nil || !strings.Contains(err.Error(), "already complete") {
		t.Errorf("resume of a complete run: %v", err)
	}
	if _, err := s.Resume("nope"); !errors.Is(err, ErrRunNotFound) {
		t.Errorf("resume unknown: %v", err)
	}
	if _, err := s.Create("smoke", "20261127-030000-abcd", nil, nil); err == nil {
		t.Error("Create over an existing run succeeded")
	}
	runs, _ := s.Runs()
	if len(runs) != 1 || runs[0] != r.Dir {
		t.Errorf("runs = %v", runs)
	}
}

func TestNewRunID(t *testing.T) {
	a := NewRunID(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	if !strings.HasPrefix(a, "20260102-030405-") || len(a) != len("20260102-030405-abcd") {
		t.Errorf("run id %q", a)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

// fullFile is requests.jsonl on a disk that fills up after room bytes: the
// write that crosses it lands in part and fails with ENOSPC.
type fullFile struct {
	*os.File
	room int64
}

func (f *fullFile) Write(p []byte) (int, error) {
	if int64(len(p)) <= f.room {
		f.room -= int64(len(p))
		return f.File.Write(p)
	}
	n, _ := f.File.Write(p[:f.room])
	f.room = 0
	return n, syscall.ENOSPC
}

func TestRecordWriteFailureKeepsWholeLines(t *testing.T) {
	s := New(t.TempDir(), clock())
	r, err := s.Create("smoke", "20261127-030000-full", []CellState{{ID: "a"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cw, err := r.Cell("a")
	if err != nil {
		t.Fatal(err)
	}
	cw.f = &fullFile{File: cw.f.(*os.File), room: 500}
	select {
	case <-cw.Failed():
		t.Fatal("Failed closed before any failure")
	default:
	}
	for i := range 20 {
		cw.Record("l", &measure.Result{Seq: int64(i), Outcome: contract.OutcomeSuccess})
	}
	select {
	case <-cw.Failed():
	default:
		t.Fatal("Failed still open after a write failed")
	}
	if err := cw.Err(); !errors.Is(err, ErrWrite) || !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "requests.jsonl") {
		t.Errorf("Err = %v", err)
	}
	if err := cw.Close(); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("Close = %v", err)
	}
	got := lines(t, filepath.Join(cw.Dir, "requests.jsonl")) // fails on half a line
	if len(got) == 0 || len(got) != cw.Count() {
		t.Errorf("%d whole lines on disk, %d counted", len(got), cw.Count())
	}
	b, _ := os.ReadFile(filepath.Join(cw.Dir, "requests.jsonl"))
	if len(b) == 0 || b[len(b)-1] != '\n' {
		t.Errorf("requests.jsonl does not end with a whole line: %q", b[max(len(b)-40, 0):])
	}
	// The run records why it failed.
	if err := r.Fail(cw.Err()); err != nil {
		t.Fatal(err)
	}
	st, _ := ReadState(r.Dir)
	if st.Status != StatusFailed || !strings.Contains(st.Error, "no space left on device") {
		t.Errorf("run state: %+v", st)
	}
	if _, err := os.Stat(filepath.Join(r.Dir, reserveName)); !os.IsNotExist(err) {
		t.Errorf("the reserve outlived the run: %v", err)
	}
}

func TestRunKeepsAReserveWhileRunning(t *testing.T) {
	s := New(t.TempDir(), clock())
	r, err := s.Create("smoke", "20261127-030000-rsrv", []CellState{{ID: "a"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(r.Dir, reserveName))
	if err != nil || fi.Size() != reserveSize {
		t.Fatalf("reserve: %v, %v", fi, err)
	}
	if err := r.Close(StatusIncomplete); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(r.Dir, reserveName)); !os.IsNotExist(err) {
		t.Errorf("reserve after Close: %v", err)
	}
	r2, err := s.Resume(r.ID())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(r2.Dir, reserveName)); err != nil {
		t.Errorf("no reserve after Resume: %v", err)
	}
}

func TestLookupString(t *testing.T) {
	var m map[string]any
	if err := json.Unmarshal([]byte(`{"host": {"hostname": "bench-1", "empty": ""}, "variant": "instances",
		"placement": {"tensor_parallel": 2, "ratio": 0.5, "flag": true, "list": ["a"]}, "engine": "flat"}`), &m); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path []string
		want string
		ok   bool
	}{
		{[]string{"host", "hostname"}, "bench-1", true},
		{[]string{"variant"}, "instances", true},
		{[]string{"placement", "tensor_parallel"}, "2", true},
		{[]string{"placement", "ratio"}, "0.5", true},
		{[]string{"host", "empty"}, "", false},        // an empty string is absent
		{[]string{"placement", "flag"}, "", false},    // neither string nor number
		{[]string{"placement", "list"}, "", false},    // an array
		{[]string{"placement"}, "", false},            // an object
		{[]string{"engine", "image"}, "", false},      // crosses a string
		{[]string{"host", "cpu_model"}, "", false},    // absent
		{[]string{"nothing", "at", "all"}, "", false}, // absent parents
	} {
		got, ok := LookupString(m, c.path...)
		if got != c.want || ok != c.ok {
			t.Errorf("%v: %q %v, want %q %v", c.path, got, ok, c.want, c.ok)
		}
	}
	if _, ok := LookupString(nil, "host"); ok {
		t.Error("a nil manifest has no fields")
	}
}
