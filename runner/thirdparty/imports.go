package thirdparty

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/internal/atomicfile"
	"github.com/servebench/servebench/runner/backfill"
	"github.com/servebench/servebench/runner/results"
	"github.com/servebench/servebench/runner/store"
	"github.com/servebench/servebench/runner/thirdparty/guidellm"
)

// ImportOptions label imported files with what they do not say themselves.
type ImportOptions struct {
	Suite    string // the suite the imported runs belong to (their history series carry it); "import" when empty
	Workload string // the workload to record; the file's, else "custom", when empty
	Cores    int    // the engine's cores; 0 when unknown
}

// Validate checks the options.
func (o ImportOptions) Validate() error {
	if strings.ContainsAny(o.Suite, `/\`) || o.Cores < 0 {
		return errors.New("the suite must be a plain name and the cores >= 0")
	}
	return nil
}

// Import reads one GuideLLM or vllm bench serve file as a summary labelled
// for the results store: its numbers are the source's, normalised to
// servebench's summary shape. A servebench summary.json is refused.
func Import(path string, data []byte, o ImportOptions) (*results.Summary, Format, error) {
	f, err := Sniff(data)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	if f == FormatServebench {
		return nil, f, fmt.Errorf("%s is already a servebench summary.json", path)
	}
	s, _, err := Decode(path, data)
	if err != nil {
		return nil, f, fmt.Errorf("%s: %w", path, err)
	}
	if abs, err := filepath.Abs(path); err == nil {
		s.Source = abs
	}
	s.Suite, s.Cell = o.Suite, cellID(path)
	if s.Suite == "" {
		s.Suite = "import"
	}
	if o.Workload != "" {
		s.Workload = o.Workload
	}
	if s.Workload == "" {
		s.Workload = "custom"
	}
	if o.Cores > 0 {
		s.Cores = o.Cores
	}
	return s, f, nil
}

// Decode reads a GuideLLM or vllm bench serve file as a summary, named
// after the file and dated by it; ok is false for any other file (a
// servebench summary.json included), which is left to the caller. It has
// the shape of compare.Decoder, so compare, report and backfill read
// third-party files directly.
func Decode(path string, data []byte) (*results.Summary, bool, error) {
	f, err := Sniff(data)
	if err != nil || f == FormatServebench {
		return nil, false, nil
	}
	s, _, err := Parse(bytes.NewReader(data))
	if err != nil {
		return nil, true, err
	}
	if s.Source == "" {
		s.Source = path
	}
	if s.RunID == "" {
		s.RunID = runID(f, data)
	}
	return s, true, nil
}

// runID names an imported file's run after its finish time, or its
// content when it has none, so importing the same file twice collides.
func runID(f Format, data []byte) string {
	sum := sha256.Sum256(data)
	id := "import-" + string(f) + "-"
	if _, end, ok := backfill.SourceTimes(data); ok {
		id += end.UTC().Format("20060102-150405") + "-"
	}
	return id + hex.EncodeToString(sum[:3])
}

// cellID names the imported cell after the file, without its extension.
func cellID(path string) string {
	base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == ' ' {
			return '_'
		}
		return r
	}, base)
}

// Store writes <root>/<suite>/<run>/<cell>/ with summary.json,
// manifest.json (dated from the source) and the source file itself.
func Store(root string, s *results.Summary, f Format, path string, data []byte) (string, error) {
	st := store.New(root, nil)
	run, err := st.Create(s.Suite, s.RunID, []store.CellState{{ID: s.Cell, Status: store.CellPending}}, map[string]string{"source": s.Source, "format": string(f)})
	if err != nil {
		return "", fmt.Errorf("%w (already imported?)", err)
	}
	cw, err := run.Cell(s.Cell)
	if err != nil {
		return "", err
	}
	if err := cw.Close(); err != nil {
		return "", err
	}
	// The store opens requests.jsonl for every cell. Keep it only with the
	// source's complete per-request records; an empty file would claim
	// records that were never kept.
	reqPath := filepath.Join(cw.Dir, "requests.jsonl")
	if recs := importRecords(s, f, data); recs != nil {
		var buf bytes.Buffer
		w := results.NewRequestWriter(&buf)
		for i := range recs {
			if err := w.Write(&recs[i]); err != nil {
				return "", err
			}
		}
		if err := w.Flush(); err != nil {
			return "", err
		}
		if err := atomicfile.WriteFile(reqPath, buf.Bytes(), 0o644); err != nil {
			return "", err
		}
	} else if err := os.Remove(reqPath); err != nil {
		return "", err
	}
	if err := cw.WriteSummary(s); err != nil {
		return "", err
	}
	m := &store.Manifest{RunID: s.RunID, Suite: s.Suite, Cell: s.Cell, Model: s.Model, Workload: s.Workload, Cores: s.Cores, Loadgen: store.Loadgen{Name: s.Loadgen},
		Command: "runner import " + filepath.Base(path)}
	if start, end, ok := backfill.SourceTimes(data); ok {
		m.Started, m.Finished = start, end
	} else {
		m.Started = time.Now().UTC()
	}
	if err := cw.WriteManifest(m); err != nil {
		return "", err
	}
	if err := atomicfile.WriteFile(filepath.Join(cw.Dir, "source-"+filepath.Base(path)), data, 0o644); err != nil {
		return "", err
	}
	if err := run.SetCell(s.Cell, store.CellDone, nil); err != nil {
		return "", err
	}
	if err := run.Close(store.StatusComplete); err != nil {
		return "", err
	}
	return cw.Dir, nil
}

// importRecords returns a GuideLLM report's per-request records, each tagged
// with its benchmark's level, when they are complete: as many per benchmark
// as the summary counts requests. A reservoir sample (sample_size=N) would
// understate throughput, so it is not kept; neither are other formats, which
// carry none.
func importRecords(s *results.Summary, f Format, data []byte) []measure.Result {
	if f != FormatGuideLLM {
		return nil
	}
	per, err := guidellm.Requests(bytes.NewReader(data))
	if err != nil || len(per) != len(s.Benchmarks) {
		return nil
	}
	var out []measure.Result
	for i, rs := range per {
		b := s.Benchmarks[i]
		if len(rs) != b.Requests.Successful+b.Requests.Failed+b.Requests.Incomplete {
			return nil
		}
		for j := range rs {
			rs[j].Level = b.Level
		}
		out = append(out, rs...)
	}
	return out
}
