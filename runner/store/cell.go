package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/internal/buildinfo"
	"github.com/servebench/servebench/runner/results"
)

// record is one line of requests.jsonl: the request's Result and the load
// level it belongs to (a cell's levels share one file).
type record struct {
	*measure.Result
	Level string `json:"level"`
}

// recordBufs hold request lines while they are encoded and written.
var recordBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// Record appends one finished request. It never fails the caller (it runs
// on the measuring path): the first write error is kept, closes Failed at
// once and is returned by Err and Close; a record written only in part is
// cut back off the file, so requests.jsonl always ends with a whole line.
// Nothing is written after the first error.
func (c *CellWriter) Record(level string, r *measure.Result) {
	buf := recordBufs.Get().(*bytes.Buffer)
	defer recordBufs.Put(buf)
	buf.Reset()
	err := json.NewEncoder(buf).Encode(record{Result: r, Level: level}) // the line, newline included
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.err != nil {
		return
	}
	if err != nil {
		c.fail(fmt.Errorf("store: encode request %d: %w: %w", r.Seq, ErrWrite, err))
		return
	}
	// One write per record: the line is in the kernel's page cache as soon
	// as the request is finished, whatever happens to this process next.
	n, err := c.f.Write(buf.Bytes())
	if err != nil {
		if n > 0 {
			// Half a line would make the whole file unreadable as JSON
			// lines: give the part back (truncating frees space even on a
			// full disk).
			if terr := c.f.Truncate(c.size); terr != nil {
				err = errors.Join(err, terr)
			}
			_, _ = c.f.Seek(c.size, io.SeekStart)
		}
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is said once
		}
		c.fail(fmt.Errorf("store: write %s: %w: %w", filepath.Join(c.Dir, "requests.jsonl"), ErrWrite, err))
		return
	}
	c.size += int64(n)
	c.count++
}

// fail keeps the first error and closes Failed; c.mu is held.
func (c *CellWriter) fail(err error) {
	if c.err != nil {
		return
	}
	c.err = err
	close(c.failed)
}

// Failed is closed as soon as a write fails; Err then says why.
func (c *CellWriter) Failed() <-chan struct{} { return c.failed }

// Err is the first write error, nil while every write succeeded.
func (c *CellWriter) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Count is the number of records written.
func (c *CellWriter) Count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.count
}

// Close syncs and closes requests.jsonl; it returns the first write error.
// Idempotent.
func (c *CellWriter) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return c.err
	}
	c.closed = true
	if err := c.f.Sync(); err != nil {
		c.fail(fmt.Errorf("store: sync requests.jsonl: %w: %w", ErrWrite, err))
	}
	if err := c.f.Close(); err != nil {
		c.fail(fmt.Errorf("store: close requests.jsonl: %w: %w", ErrWrite, err))
	}
	return c.err
}

// WriteSummary replaces summary.json atomically with s, encoded by
// results.WriteSummary as runner bench writes it.
func (c *CellWriter) WriteSummary(s *results.Summary) error {
	var buf bytes.Buffer
	if err := results.WriteSummary(&buf, s); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return c.run.writeFile(filepath.Join(c.Dir, "summary.json"), buf.Bytes())
}

// WriteManifest writes manifest.json.
func (c *CellWriter) WriteManifest(m *Manifest) error {
	if m.SchemaVersion == 0 {
		m.SchemaVersion = ManifestSchemaVersion
	}
	return c.run.writeJSON(filepath.Join(c.Dir, "manifest.json"), m)
}

// Recorder wraps next so that every finished request is also written to
// requests.jsonl, under the level of the benchmark it belongs to.
func (c *CellWriter) Recorder(next measure.Recorder) measure.Recorder {
	if next == nil {
		next = measure.Discard
	}
	return teeRecorder{c: c, next: next}
}

type teeRecorder struct {
	c    *CellWriter
	next measure.Recorder
}

func (t teeRecorder) Benchmark(l measure.BenchmarkLabels) measure.BenchmarkRecorder {
	return teeBenchmark{BenchmarkRecorder: t.next.Benchmark(l), c: t.c, level: l.Level}
}

type teeBenchmark struct {
	measure.BenchmarkRecorder
	c     *CellWriter
	level string
}

func (t teeBenchmark) Finished(r *measure.Result) {
	t.c.Record(t.level, r)
	t.BenchmarkRecorder.Finished(r)
}

// LookupString reads a field of a manifest decoded generically (as JSON
// into map[string]any), following path through nested objects: a non-empty
// string as it is, a number in its shortest decimal form. ok is false when
// the path is absent, crosses a non-object, or ends at anything else.
func LookupString(m map[string]any, path ...string) (string, bool) {
	var v any = m
	for _, p := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return "", false
		}
		v = mm[p]
	}
	switch t := v.(type) {
	case string:
		return t, t != ""
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64), true
	}
	return "", false
}

// ManifestSchemaVersion is the version of manifest.json.
const ManifestSchemaVersion = 1

// Manifest is a cell's provenance: what ran, where, on what.
type Manifest struct {
	SchemaVersion int       `json:"schema_version"`
	RunID         string    `json:"run_id"`
	Suite         string    `json:"suite"`
	Cell          string    `json:"cell"`
	Started       time.Time `json:"started"`
	Finished      time.Time `json:"finished,omitzero"`

	Model         string `json:"model"`
	Workload      string `json:"workload"`
	Phase         string `json:"phase,omitempty"`
	PrefixCaching bool   `json:"prefix_caching"`
	Variant       string `json:"variant,omitempty"`
	Cores         int    `json:"cores"`
	MaxModelLen   int    `json:"max_model_len,omitempty"`

	// Engine is the engine driver's provenance (image and digest, engine
	// version, container, cpuset, non-secret env, log path).
	Engine any `json:"engine"`

	Host      Host      `json:"host"`
	Placement Placement `json:"placement"`
	Loadgen   Loadgen   `json:"loadgen"`

	GitRevision string `json:"git_revision,omitempty"`
	GoVersion   string `json:"go_version,omitempty"`
	Command     string `json:"command,omitempty"`
	// Servebench is the build of the runner that wrote the cell, as its
	// --version prints it.
	Servebench *buildinfo.Info `json:"servebench,omitempty"`
}

// Host describes the machine the runner ran on.
type Host struct {
	Hostname  string `json:"hostname,omitempty"`
	Kernel    string `json:"kernel,omitempty"`
	Arch      string `json:"arch,omitempty"`
	CPUModel  string `json:"cpu_model,omitempty"`
	CPUs      int    `json:"cpus"`
	Cores     int    `json:"physical_cores"`
	NUMANodes int    `json:"numa_nodes"`
}

// Placement is where the engine and the load generator ran.
type Placement struct {
	EngineCPUs    string            `json:"engine_cpuset,omitempty"`
	EngineMems    string            `json:"engine_mems,omitempty"`
	TP            int               `json:"tensor_parallel,omitempty"`
	Name          string            `json:"allocation,omitempty"` // e.g. 8cores-numa0-tp1
	Env           map[string]string `json:"env,omitempty"`        // derived engine env (OMP bind, KV space)
	KVCacheGiB    float64           `json:"kv_cache_gib,omitempty"`
	LoadgenCPUs   string            `json:"loadgen_cpuset,omitempty"`
	Overlap       bool              `json:"overlap,omitempty"`   // forced overlap of the two cpusets
	Simulated     bool              `json:"simulated,omitempty"` // in-process simulator: cores are modelled, not pinned
	PinnedRunner  bool              `json:"runner_pinned"`
	PlacementNote string            `json:"note,omitempty"`
}

// Loadgen is the load generator's identity.
type Loadgen struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	Image   string `json:"image,omitempty"`
	Command string `json:"command,omitempty"`
}
