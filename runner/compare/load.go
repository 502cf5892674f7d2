package compare

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/runner/results"
)

// Cell is one measured configuration: its summary and, when they were kept,
// its per-request records and manifest.
type Cell struct {
	Path     string           // the file or directory it was read from
	Key      string           // cell name, used to pair cells of two runs
	Summary  *results.Summary // never nil
	Requests []measure.Result // nil when there is no requests.jsonl
	Manifest map[string]any   // nil when there is no manifest.json
}

// Decoder reads a result file written by another tool (GuideLLM, vllm bench
// serve). It returns ok=false, without error, when data is not its format.
type Decoder func(path string, data []byte) (s *results.Summary, ok bool, err error)

// Loader reads compare inputs: run directories, cell directories, our
// summary.json files and, through Decoders, third-party result files.
type Loader struct {
	Decoders []Decoder
}

// Load reads one input. A run directory yields one Cell per cell
// sub-directory (those holding a summary.json), sorted by name.
func (l Loader) Load(path string) ([]Cell, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		c, err := l.loadFile(path)
		if err != nil {
			return nil, err
		}
		return []Cell{c}, nil
	}
	if _, err := os.Stat(filepath.Join(path, "summary.json")); err == nil {
		c, err := l.loadFile(filepath.Join(path, "summary.json"))
		if err != nil {
			return nil, err
		}
		return []Cell{c}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	var cells []Cell
	for _, e := range entries {
		sp := filepath.Join(path, e.Name(), "summary.json")
		if !e.IsDir() {
			continue
		}
		if _, err := os.Stat(sp); err != nil {
			continue
		}
		c, err := l.loadFile(sp)
		if err != nil {
			return nil, err
		}
		cells = append(cells, c)
	}
	if len(cells) == 0 {
		return nil, fmt.Errorf("%s: no summary.json in it or in its sub-directories", path)
	}
	sort.Slice(cells, func(i, j int) bool { return cells[i].Key < cells[j].Key })
	return cells, nil
}

// Sides reads one side per argument; an argument joins the repeats of one
// configuration with commas (a1,a2,a3), each loaded as Load does.
func (l Loader) Sides(args []string) ([]Side, error) {
	var sides []Side
	for _, arg := range args {
		s := Side{Label: arg}
		for _, p := range strings.Split(arg, ",") {
			cells, err := l.Load(p)
			if err != nil {
				return nil, err
			}
			s.Repeats = append(s.Repeats, cells)
		}
		sides = append(sides, s)
	}
	return sides, nil
}

func (l Loader) loadFile(path string) (Cell, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Cell{}, err
	}
	s, err := decodeOurs(data)
	if err != nil {
		for _, d := range l.Decoders {
			ts, ok, derr := d(path, data)
			if derr != nil {
				return Cell{}, fmt.Errorf("%s: %w", path, derr)
			}
			if ok {
				s, err = ts, nil
				break
			}
		}
	}
	if err != nil {
		return Cell{}, fmt.Errorf("%s: %w", path, err)
	}
	dir := filepath.Dir(path)
	c := Cell{Path: path, Summary: s, Key: s.Cell}
	if c.Key == "" && filepath.Base(path) == "summary.json" {
		c.Key = filepath.Base(dir)
	}
	if filepath.Base(path) == "summary.json" {
		if c.Requests, err = readRequests(filepath.Join(dir, "requests.jsonl")); err != nil {
			return Cell{}, err
		}
		if b, err := os.ReadFile(filepath.Join(dir, "manifest.json")); err == nil {
			if err := json.Unmarshal(b, &c.Manifest); err != nil {
				return Cell{}, fmt.Errorf("%s: %w", filepath.Join(dir, "manifest.json"), err)
			}
		}
	}
	return c, nil
}

// errNotOurs marks a JSON file that is not a servebench summary.
var errNotOurs = errors.New("not a servebench summary.json (no schema_version and benchmarks) and no importer recognised it")

func decodeOurs(data []byte) (*results.Summary, error) {
	var probe struct {
		SchemaVersion *int             `json:"schema_version"`
		Benchmarks    *json.RawMessage `json:"benchmarks"`
	}
	if err := json.Unmarshal(data, &probe); err != nil || probe.SchemaVersion == nil || probe.Benchmarks == nil {
		return nil, errNotOurs
	}
	return results.ReadSummary(bytes.NewReader(data))
}

// readRequests reads requests.jsonl; a missing file is not an error.
func readRequests(path string) ([]measure.Result, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := []measure.Result{}
	if err := results.ReadRequests(f, func(r *measure.Result) error { out = append(out, *r); return nil }); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// ByLevel splits a cell's records by benchmark level. Records carry their
// level when the writer kept several levels in one file; otherwise a single
// benchmark owns them all, and several benchmarks split them where Seq
// restarts at 0, in summary order. It returns nil when records cannot be
// attributed.
func (c Cell) ByLevel() map[string][]measure.Result {
	if c.Requests == nil || len(c.Summary.Benchmarks) == 0 {
		return nil
	}
	out := map[string][]measure.Result{}
	labelled := len(c.Requests) > 0 && c.Requests[0].Level != ""
	switch {
	case labelled:
		for _, r := range c.Requests {
			out[r.Level] = append(out[r.Level], r)
		}
	case len(c.Summary.Benchmarks) == 1:
		out[c.Summary.Benchmarks[0].Level] = c.Requests
	default:
		var groups [][]measure.Result
		for i, r := range c.Requests {
			if i == 0 || r.Seq == 0 {
				groups = append(groups, nil)
			}
			groups[len(groups)-1] = append(groups[len(groups)-1], r)
		}
		if len(groups) != len(c.Summary.Benchmarks) {
			return nil
		}
		for i, b := range c.Summary.Benchmarks {
			out[b.Level] = append(out[b.Level], groups[i]...)
		}
	}
	return out
}

// Samples are one benchmark's per-request measurements, in milliseconds,
// taken as summary.json takes them (results.Aggregator): successful requests
// of the measurement phase only.
type Samples struct {
	TTFT, ITL, TPOT, E2E []float64
	// ITLByRequest holds each request's gaps: they are correlated within a
	// request, so tests resample and rank requests, not gaps.
	ITLByRequest [][]float64
	// Done holds, per successful request, when it ended and its tokens: the
	// raw material of windowed throughput.
	Done []Completion
	// Start is the earliest scheduled send; zero without records.
	Start time.Time
}

// Completion is one successful request's end and tokens.
type Completion struct {
	End          time.Time
	Tokens       int // output tokens
	PromptTokens int
}

// SamplesOf derives latency samples from per-request records: TTFT and E2E
// from the scheduled send, ITL one sample per gap between token-carrying
// chunks, TPOT (end - first token)/(tokens - 1).
func SamplesOf(recs []measure.Result) Samples {
	var s Samples
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	for i := range recs {
		r := &recs[i]
		if r.Phase != "" && r.Phase != measure.PhaseMeasure {
			continue
		}
		if s.Start.IsZero() || (!r.Scheduled.IsZero() && r.Scheduled.Before(s.Start)) {
			s.Start = r.Scheduled
		}
		if r.Outcome != contract.OutcomeSuccess {
			continue
		}
		if ttft, ok := r.TTFT(); ok {
			s.TTFT = append(s.TTFT, ms(ttft))
		}
		if len(r.Chunks) > 1 {
			gaps := make([]float64, 0, len(r.Chunks)-1)
			for i := 1; i < len(r.Chunks); i++ {
				gaps = append(gaps, ms(r.Chunks[i].At-r.Chunks[i-1].At))
			}
			s.ITL = append(s.ITL, gaps...)
			s.ITLByRequest = append(s.ITLByRequest, gaps)
		}
		s.Done = append(s.Done, Completion{End: r.End, Tokens: r.OutputTokens, PromptTokens: r.PromptTokens})
		s.E2E = append(s.E2E, ms(r.E2E()))
		if len(r.Chunks) >= 2 && r.OutputTokens > 1 {
			s.TPOT = append(s.TPOT, ms(r.End.Sub(r.FirstTok))/float64(r.OutputTokens-1))
		}
	}
	return s
}

// Windowed returns the request, output-token and total-token rates of
// successful requests in n equal windows from the first scheduled send to the
// last completion, or nils when there is nothing to window.
func (s Samples) Windowed(n int) (reqRate, outRate, totalRate []float64) {
	if len(s.Done) == 0 || n < 1 || s.Start.IsZero() {
		return nil, nil, nil
	}
	end := s.Start
	for _, c := range s.Done {
		if c.End.After(end) {
			end = c.End
		}
	}
	span := end.Sub(s.Start)
	w := span / time.Duration(n)
	if w <= 0 {
		return nil, nil, nil
	}
	reqs := make([]float64, n)
	toks := make([]float64, n)
	tots := make([]float64, n)
	for _, c := range s.Done {
		i := int(c.End.Sub(s.Start) / w)
		if i >= n {
			i = n - 1
		}
		if i < 0 {
			i = 0
		}
		reqs[i]++
		toks[i] += float64(c.Tokens)
		tots[i] += float64(c.Tokens + c.PromptTokens)
	}
	sec := w.Seconds()
	for i := range reqs {
		reqs[i] /= sec
		toks[i] /= sec
		tots[i] /= sec
	}
	return reqs, toks, tots
}

// describe names a cell for messages.
func (c Cell) describe() string {
	parts := []string{}
	for _, p := range []string{c.Summary.RunID, c.Key} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		return c.Path
	}
	return strings.Join(parts, "/")
}
