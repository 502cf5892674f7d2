// Package store lays out a run's results on disk:
//
//	<root>/<suite>/<run_id>/run.json              the run's state: status, cells, their outcome
//	<root>/<suite>/<run_id>/suite-summary.json    cross-cell report (scaling, contention)
//	<root>/<suite>/<run_id>/<cell>/requests.jsonl one line per finished request, written as it finishes
//	<root>/<suite>/<run_id>/<cell>/summary.json   runner/results.Summary
//	<root>/<suite>/<run_id>/<cell>/manifest.json  provenance (Manifest)
//	<root>/<suite>/<run_id>/<cell>/*.log          engine and load-generator logs
//	<root>/.last-run                              the last run's directory, for `runner results --last`
//
// Each request record is written with one write call when the request
// finishes, so a cell's requests are on disk before the next cell starts and
// survive a crash. JSON documents are replaced atomically (temporary file,
// then rename). A run that ends by interrupt or error is marked incomplete
// or failed in run.json; Resume reopens it and reports which cells are done.
//
// A failed write is never silent and never leaves half a record: a record
// that could not be written whole is cut back off requests.jsonl, the cell
// writer's Failed channel closes at once (the orchestrator stops the level
// on it) and every error wraps ErrWrite. So that a full disk can still say
// so in run.json, a run keeps a small reserve file (.reserve) in its
// directory while it runs and gives that space up for its last documents
// when the disk is full.
//
// A Run is used by one goroutine (the orchestrator); a CellWriter's Record
// and its Recorder are safe for concurrent use.
package store

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/servebench/servebench/internal/atomicfile"
)

// Run statuses.
const (
	StatusRunning    = "running"
	StatusComplete   = "complete"
	StatusIncomplete = "incomplete" // interrupted: resumable
	StatusFailed     = "failed"     // ended by an error: resumable
)

// Cell statuses.
const (
	CellPending = "pending"
	CellDone    = "done"
	CellFailed  = "failed"
	CellSkipped = "skipped"
)

// RunSchemaVersion is the version of run.json.
const RunSchemaVersion = 1

// RunState is the content of run.json.
type RunState struct {
	SchemaVersion int         `json:"schema_version"`
	RunID         string      `json:"run_id"`
	Suite         string      `json:"suite"`
	Status        string      `json:"status"`
	Started       time.Time   `json:"started"`
	Updated       time.Time   `json:"updated"`
	Finished      time.Time   `json:"finished,omitzero"`
	Resumed       []time.Time `json:"resumed,omitempty"`
	Cells         []CellState `json:"cells"`
	// Error says why a failed run ended, when the cause was the run's own
	// (results not written, an engine that died) rather than one cell's.
	Error string `json:"error,omitempty"`
	// Config is the resolved configuration, as the orchestrator renders it.
	Config any `json:"config,omitempty"`
}

// CellState is one cell's line in run.json.
type CellState struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Error  string `json:"error,omitempty"` // why it failed, or why it was skipped
}

// ErrRunNotFound is returned by Resume for an unknown run id.
var ErrRunNotFound = errors.New("run not found")

// ErrWrite is wrapped by every error of writing results (disk full,
// read-only directory, I/O error).
var ErrWrite = errors.New("results could not be written")

// reserveSize is the space a running run keeps in its reserve file: enough
// for run.json, a cell's summary.json and manifest.json on a full disk.
const reserveSize = 512 << 10

const reserveName = ".reserve"

// Store is a results root directory.
type Store struct {
	Root string
	now  func() time.Time
}

// New returns a store rooted at root; now is the clock (time.Now when nil).
func New(root string, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{Root: root, now: now}
}

// NewRunID returns a sortable, unique run id: UTC time plus 4 random hex digits.
func NewRunID(t time.Time) string {
	var b [2]byte
	_, _ = rand.Read(b[:])
	return t.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
}

// Run is one run directory.
type Run struct {
	Dir   string
	store *Store
	state RunState
}

// Create makes a new run directory with every cell pending (skipped cells
// recorded with their reason) and writes run.json and the last-run hint.
func (s *Store) Create(suite, runID string, cells []CellState, config any) (*Run, error) {
	if suite == "" || runID == "" || strings.ContainsAny(suite+runID, `/\`) {
		return nil, fmt.Errorf("store: bad suite %q or run id %q", suite, runID)
	}
	dir := filepath.Join(s.Root, suite, runID)
	if _, err := os.Stat(dir); err == nil {
		return nil, fmt.Errorf("store: run directory %s already exists", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	now := s.now()
	r := &Run{Dir: dir, store: s, state: RunState{
		SchemaVersion: RunSchemaVersion, RunID: runID, Suite: suite, Status: StatusRunning,
		Started: now, Updated: now, Cells: append([]CellState(nil), cells...), Config: config,
	}}
	for i := range r.state.Cells {
		if r.state.Cells[i].Status == "" {
			r.state.Cells[i].Status = CellPending
		}
	}
	r.reserve()
	if err := r.save(); err != nil {
		return nil, err
	}
	if err := s.setLast(dir); err != nil {
		return nil, err
	}
	return r, nil
}

// Resume reopens run runID (under any suite), marks it running again and
// returns it. Cells already done stay done; Done tells the caller which to skip.
func (s *Store) Resume(runID string) (*Run, error) {
	matches, _ := filepath.Glob(filepath.Join(s.Root, "*", runID, "run.json"))
	if len(matches) == 0 {
		return nil, fmt.Errorf("resume %s: %w under %s", runID, ErrRunNotFound, s.Root)
	}
	if len(matches) > 1 {
		return nil, fmt.Errorf("resume %s: found in several suites: %s", runID, strings.Join(matches, ", "))
	}
	st, err := ReadState(filepath.Dir(matches[0]))
	if err != nil {
		return nil, err
	}
	if st.Status == StatusComplete {
		return nil, fmt.Errorf("resume %s: the run is already complete", runID)
	}
	r := &Run{Dir: filepath.Dir(matches[0]), store: s, state: *st}
	r.state.Status = StatusRunning
	r.state.Resumed = append(r.state.Resumed, s.now())
	r.state.Finished = time.Time{}
	r.state.Error = ""
	r.reserve()
	if err := r.save(); err != nil {
		return nil, err
	}
	return r, s.setLast(r.Dir)
}

// ReadState reads run.json from a run directory.
func ReadState(dir string) (*RunState, error) {
	b, err := os.ReadFile(filepath.Join(dir, "run.json"))
	if err != nil {
		return nil, fmt.Errorf("run state: %w", err)
	}
	var st RunState
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("run state %s: %w", dir, err)
	}
	return &st, nil
}

// ID is the run id.
func (r *Run) ID() string { return r.state.RunID }

// State returns a copy of the run's state.
func (r *Run) State() RunState {
	st := r.state
	st.Cells = append([]CellState(nil), r.state.Cells...)
	return st
}

// Done reports whether a cell finished in an earlier attempt.
func (r *Run) Done(cellID string) bool {
	for _, c := range r.state.Cells {
		if c.ID == cellID {
			return c.Status == CellDone
		}
	}
	return false
}

// SetCell records a cell's outcome and saves run.json.
func (r *Run) SetCell(cellID, status string, cause error) error {
	for i := range r.state.Cells {
		if r.state.Cells[i].ID == cellID {
			r.state.Cells[i].Status = status
			r.state.Cells[i].Error = ""
			if cause != nil {
				r.state.Cells[i].Error = cause.Error()
			}
			return r.save()
		}
	}
	return fmt.Errorf("store: run %s has no cell %q", r.state.RunID, cellID)
}

// Close ends the run with a status and saves run.json; the reserve file
// goes.
func (r *Run) Close(status string) error {
	r.state.Status = status
	r.state.Finished = r.store.now()
	err := r.save()
	os.Remove(filepath.Join(r.Dir, reserveName))
	return err
}

// Fail ends the run as failed with the run-wide cause (results not written,
// a dead engine) recorded in run.json.
func (r *Run) Fail(cause error) error {
	if cause != nil {
		r.state.Error = cause.Error()
	}
	return r.Close(StatusFailed)
}

// WriteJSON writes a document at the run's top level (e.g. suite-summary.json).
func (r *Run) WriteJSON(name string, v any) error {
	return r.writeJSON(filepath.Join(r.Dir, name), v)
}

func (r *Run) save() error {
	r.state.Updated = r.store.now()
	return r.writeJSON(filepath.Join(r.Dir, "run.json"), r.state)
}

// reserve sets the reserve file aside; a disk too full for it runs
// without one.
func (r *Run) reserve() {
	p := filepath.Join(r.Dir, reserveName)
	if err := atomicfile.WriteFile(p, make([]byte, reserveSize), 0o644); err != nil {
		os.Remove(p)
	}
}

// writeJSON replaces path atomically with v; on a full disk it gives up
// the reserve and tries once more.
func (r *Run) writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("store: encode %s: %w", filepath.Base(path), err)
	}
	return r.writeFile(path, append(b, '\n'))
}

func (r *Run) writeFile(path string, b []byte) error {
	err := writeFile(path, b)
	if errors.Is(err, syscall.ENOSPC) {
		if os.Remove(filepath.Join(r.Dir, reserveName)) == nil {
			err = writeFile(path, b)
		}
	}
	return err
}

// Cell opens a cell's directory for writing. An unfinished cell from an
// earlier attempt is started afresh: its old files are removed, so a cell's
// files always come from one attempt.
func (r *Run) Cell(cellID string) (*CellWriter, error) {
	dir := filepath.Join(r.Dir, cellID)
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "requests.jsonl"), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("store: %w: %w", ErrWrite, err)
	}
	return &CellWriter{Dir: dir, run: r, f: f, failed: make(chan struct{})}, nil
}

// Last returns the directory of the last run started under root.
func (s *Store) Last() (string, error) {
	b, err := os.ReadFile(filepath.Join(s.Root, ".last-run"))
	if err != nil {
		return "", fmt.Errorf("no last run under %s: %w", s.Root, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// Runs lists run directories under root, oldest first (run ids sort by time).
func (s *Store) Runs() ([]string, error) {
	matches, err := filepath.Glob(filepath.Join(s.Root, "*", "*", "run.json"))
	if err != nil {
		return nil, err
	}
	dirs := make([]string, len(matches))
	for i, m := range matches {
		dirs[i] = filepath.Dir(m)
	}
	sort.Slice(dirs, func(i, j int) bool { return filepath.Base(dirs[i]) < filepath.Base(dirs[j]) })
	return dirs, nil
}

func (s *Store) setLast(dir string) error {
	return writeFile(filepath.Join(s.Root, ".last-run"), []byte(dir+"\n"))
}

// writeFile replaces path atomically; its errors wrap ErrWrite.
func writeFile(path string, b []byte) error {
	if err := atomicfile.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("store: %w: %w", ErrWrite, err)
	}
	return nil
}

// recordFile is what a CellWriter needs of requests.jsonl (an *os.File).
type recordFile interface {
	io.WriteSeeker
	Truncate(size int64) error
	Sync() error
	Close() error
}

// CellWriter writes one cell's files.
type CellWriter struct {
	Dir string
	run *Run

	mu     sync.Mutex
	f      recordFile
	size   int64 // bytes of whole records in requests.jsonl
	count  int
	err    error         // first write error, reported by Close and Err
	failed chan struct{} // closed with the first write error
	closed bool
}
