package results

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/internal/atomicfile"
)

// WriteSummary writes s as indented summary.json, stamping SchemaVersion.
func WriteSummary(w io.Writer, s *Summary) error {
	s.SchemaVersion = SchemaVersion
	for i := range s.Benchmarks {
		if s.Benchmarks[i].InvalidReasons == nil {
			s.Benchmarks[i].InvalidReasons = []string{}
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	return nil
}

// ErrSchemaVersion is returned for a summary.json of another schema version.
var ErrSchemaVersion = errors.New("unsupported summary schema_version")

// ReadSummary reads a summary.json of schema version OldestSchemaVersion
// to SchemaVersion. Version 1's zero-filled empty distributions read as
// absent (see Dist).
func ReadSummary(r io.Reader) (*Summary, error) {
	var s Summary
	dec := json.NewDecoder(r)
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("read summary: %w", err)
	}
	if s.SchemaVersion < OldestSchemaVersion || s.SchemaVersion > SchemaVersion {
		return nil, fmt.Errorf("read summary: schema_version %d: %w (this build reads %d to %d)", s.SchemaVersion, ErrSchemaVersion, OldestSchemaVersion, SchemaVersion)
	}
	return &s, nil
}

// csvDists are the distributions written as CSV columns, by column prefix.
var csvDists = []struct {
	name string
	get  func(*Benchmark) Dist
}{
	{"ttft_ms", func(b *Benchmark) Dist { return b.TTFT }},
	{"itl_ms", func(b *Benchmark) Dist { return b.ITL }},
	{"tpot_ms", func(b *Benchmark) Dist { return b.TPOT }},
	{"e2e_ms", func(b *Benchmark) Dist { return b.E2E }},
	{"send_lateness_ms", func(b *Benchmark) Dist { return b.SendLateness }},
	{"ttft_from_send_ms", func(b *Benchmark) Dist { return b.TTFTFromSend }},
	{"itl_per_token_ms", func(b *Benchmark) Dist { return b.ITLPerToken }},
	{"itl_request_mean_ms", func(b *Benchmark) Dist { return b.ITLRequestMean }},
}

var distCols = []string{"mean", "p50", "p90", "p95", "p99", "p999", "max", "count"}

// WriteCSV writes one header row and one row per benchmark: the headline
// figures, then every distribution as <dist>_<stat> columns. An absent
// figure is an empty cell.
func WriteCSV(w io.Writer, s *Summary) error {
	cw := csv.NewWriter(w)
	head := []string{"model", "workload", "loadgen", "profile", "level", "target_rate", "scheduled_rate", "achieved_rate",
		"duration_seconds", "successful", "failed", "incomplete", "success_ratio", "requests_per_second",
		"output_tokens_per_second", "total_tokens_per_second", "valid", "invalid_reasons", "token_source", "stop_reason",
		"dropped", "loadgen_cpu_percent"}
	for _, d := range csvDists {
		for _, c := range distCols {
			head = append(head, d.name+"_"+c)
		}
	}
	if err := cw.Write(head); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 10, 64) }
	for i := range s.Benchmarks {
		b := &s.Benchmarks[i]
		reasons, _ := json.Marshal(b.InvalidReasons)
		row := []string{s.Model, s.Workload, s.Loadgen, b.Profile, b.Level, f(b.TargetRate), b.ScheduledRate.CSV(), b.AchievedRate.CSV(),
			f(b.DurationSeconds), strconv.Itoa(b.Requests.Successful), strconv.Itoa(b.Requests.Failed), strconv.Itoa(b.Requests.Incomplete),
			b.SuccessRatio.CSV(), b.RequestsPerSecond.CSV(), b.OutputTokensPerSecond.CSV(), b.TotalTokensPerSecond.CSV(),
			strconv.FormatBool(b.Valid), string(reasons), b.TokenSource, b.StopReason, strconv.Itoa(b.Dropped), b.LoadgenCPUPercent.CSV()}
		for _, d := range csvDists {
			v := d.get(b)
			row = append(row, v.Mean.CSV(), v.P50.CSV(), v.P90.CSV(), v.P95.CSV(), v.P99.CSV(), v.P999.CSV(), v.Max.CSV(), strconv.Itoa(v.Count))
		}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("write csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

// RequestWriter writes requests.jsonl: one measure.Result per line. It is
// not safe for concurrent use; call Flush before closing the file.
type RequestWriter struct {
	w   *bufio.Writer
	enc *json.Encoder // into w: a record's line is encoded straight into the buffer
	err error
}

// NewRequestWriter buffers writes to w.
func NewRequestWriter(w io.Writer) *RequestWriter {
	bw := bufio.NewWriterSize(w, 256<<10)
	return &RequestWriter{w: bw, enc: json.NewEncoder(bw)}
}

// Write appends one record. After the first error every call returns it.
func (rw *RequestWriter) Write(r *measure.Result) error {
	if rw.err != nil {
		return rw.err
	}
	if err := rw.enc.Encode(r); err != nil {
		rw.err = fmt.Errorf("write requests: %w", err)
	}
	return rw.err
}

// Flush writes out what is buffered.
func (rw *RequestWriter) Flush() error {
	if rw.err != nil {
		return rw.err
	}
	if err := rw.w.Flush(); err != nil {
		rw.err = fmt.Errorf("write requests: %w", err)
	}
	return rw.err
}

// ReadRequests calls fn for each record of a requests.jsonl stream; an
// error names the line.
func ReadRequests(r io.Reader, fn func(*measure.Result) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 64<<20)
	line := 0
	for sc.Scan() {
		line++
		if len(sc.Bytes()) == 0 {
			continue
		}
		var res measure.Result
		if err := json.Unmarshal(sc.Bytes(), &res); err != nil {
			return fmt.Errorf("requests line %d: %w", line, err)
		}
		if err := fn(&res); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("requests line %d: %w", line+1, err)
	}
	return nil
}

// WriteSummaryFile writes s as summary.json to path, replacing the file
// only once it is complete.
func WriteSummaryFile(path string, s *Summary) error {
	var buf bytes.Buffer
	if err := WriteSummary(&buf, s); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, buf.Bytes(), 0o644)
}
