package results

import (
	"bytes"
	"encoding/csv"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/exporter/measure"
)

func TestSummaryRoundTrip(t *testing.T) {
	s := &Summary{Loadgen: "native", Model: "m", Benchmarks: []Benchmark{{Profile: "constant", Level: "constant-4", TargetRate: 4,
		TTFT: Dist{P50: 12.5, Count: 3}, Errors: map[contract.ErrorKind]int{contract.ErrTimeout: 2}}}}
	var buf bytes.Buffer
	if err := WriteSummary(&buf, s); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"schema_version": 1`, `"benchmarks"`, `"ttft_ms"`, `"send_lateness_ms"`, `"invalid_reasons": []`, `"p999"`, `"timeout": 2`} {
		if !strings.Contains(buf.String(), key) {
			t.Errorf("summary.json lacks %s", key)
		}
	}
	got, err := ReadSummary(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, s) {
		t.Fatalf("round trip:\n%+v\n%+v", got, s)
	}
	_, err = ReadSummary(strings.NewReader(`{"schema_version":99,"benchmarks":[]}`))
	if !errors.Is(err, ErrSchemaVersion) {
		t.Fatalf("error %v", err)
	}
}

func TestWriteCSV(t *testing.T) {
	s := &Summary{Model: "m", Benchmarks: []Benchmark{{Level: "a", InvalidReasons: []string{"x, y"}}, {Level: "b", E2E: Dist{P99: 3.5}}}}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, s); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || len(rows[0]) != len(rows[1]) {
		t.Fatalf("%d rows, widths %d/%d", len(rows), len(rows[0]), len(rows[1]))
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	if rows[2][col["e2e_ms_p99"]] != "3.5" || rows[1][col["invalid_reasons"]] != `["x, y"]` || rows[1][col["level"]] != "a" {
		t.Fatalf("rows %v", rows)
	}
}

func TestRequestsRoundTrip(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	in := []*measure.Result{
		{Seq: 0, Scheduled: at, Sent: at.Add(time.Microsecond), FirstTok: at.Add(time.Second), End: at.Add(2 * time.Second),
			Chunks: []measure.Chunk{{At: time.Second, Tokens: 1}}, OutputTokens: 1, Outcome: contract.OutcomeSuccess, Phase: measure.PhaseMeasure},
		{Seq: 1, Scheduled: at, Sent: at, End: at, Outcome: contract.OutcomeError, ErrorKind: contract.ErrConnect, Error: "refused"},
	}
	var buf bytes.Buffer
	w := NewRequestWriter(&buf)
	for _, r := range in {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if strings.Count(buf.String(), "\n") != 2 || strings.Contains(buf.String(), "prompt\"") {
		t.Fatalf("requests.jsonl:\n%s", buf.String())
	}
	var out []*measure.Result
	if err := ReadRequests(&buf, func(r *measure.Result) error { out = append(out, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip:\n%+v\n%+v", in, out)
	}
	err := ReadRequests(strings.NewReader("{\"seq\":1}\n\n{bad\n"), func(*measure.Result) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Fatalf("error %v", err)
	}
}
