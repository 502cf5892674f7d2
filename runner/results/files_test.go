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
		TTFT: Dist{P50: Of(12.5), Count: 3}, RequestsPerSecond: Of(2), Errors: map[contract.ErrorKind]int{contract.ErrTimeout: 2}}}}
	var buf bytes.Buffer
	if err := WriteSummary(&buf, s); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"schema_version": 2`, `"p99": null`, `"requests_per_second": 2,`, `"output_tokens_per_second": null`, `"benchmarks"`, `"ttft_ms"`, `"send_lateness_ms"`, `"invalid_reasons": []`, `"p999"`, `"timeout": 2`} {
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

// A summary of schema version 1, which wrote 0 for what did not exist,
// reads as version 2 would have written it.
func TestReadSummaryVersion1(t *testing.T) {
	v1 := `{"schema_version":1,"loadgen":"native","benchmarks":[{"profile":"concurrent","level":"concurrent-8",
	  "achieved_rate":0,"duration_seconds":0,"requests":{"successful":8,"failed":0,"incomplete":0},
	  "ttft_ms":{"mean":215,"p50":210,"p90":300,"p95":310,"p99":320,"p999":320,"max":320,"count":8},
	  "itl_ms":{"mean":0,"p50":0,"p90":0,"p95":0,"p99":0,"p999":0,"max":0,"count":0},
	  "requests_per_second":0,"output_tokens_per_second":12.5,"total_tokens_per_second":0,
	  "success_ratio":1,"valid":false,"invalid_reasons":["too few samples"]},
	  {"profile":"concurrent","level":"concurrent-1","requests":{"successful":0,"failed":0,"incomplete":0},"success_ratio":0,"duration_seconds":5,"achieved_rate":0}]}`
	s, err := ReadSummary(strings.NewReader(v1))
	if err != nil {
		t.Fatal(err)
	}
	b := s.Benchmarks[0]
	if !b.ITL.Empty() || b.ITL.P50.Present() || b.RequestsPerSecond.Present() || b.TotalTokensPerSecond.Present() || b.AchievedRate.Present() {
		t.Errorf("zeros read as figures: itl %+v req/s %v total %v achieved %v", b.ITL, b.RequestsPerSecond, b.TotalTokensPerSecond, b.AchievedRate)
	}
	// What version 1 measured stays as it was written.
	if b.TTFT.P99 != Of(320) || b.OutputTokensPerSecond != Of(12.5) || b.SuccessRatio != Of(1) {
		t.Errorf("ttft %+v out %v ratio %v", b.TTFT, b.OutputTokensPerSecond, b.SuccessRatio)
	}
	if b2 := s.Benchmarks[1]; b2.SuccessRatio.Present() || b2.AchievedRate != Of(0) {
		t.Errorf("no request: ratio %v; a window with no send: achieved %v (a measured 0)", b2.SuccessRatio, b2.AchievedRate)
	}
	// Version 2 takes its zeros at their word: 0 req/s written is 0 req/s.
	s2, err := ReadSummary(strings.NewReader(`{"schema_version":2,"benchmarks":[{"requests_per_second":0,"itl_ms":{"p50":null,"count":0}}]}`))
	if err != nil || s2.Benchmarks[0].RequestsPerSecond != Of(0) || !s2.Benchmarks[0].ITL.Empty() {
		t.Errorf("v2 %+v %v", s2, err)
	}
	if _, err := ReadSummary(strings.NewReader(`{"schema_version":0,"benchmarks":[]}`)); !errors.Is(err, ErrSchemaVersion) {
		t.Errorf("version 0: %v", err)
	}
}

func TestWriteCSV(t *testing.T) {
	s := &Summary{Model: "m", Benchmarks: []Benchmark{{Level: "a", InvalidReasons: []string{"x, y"}}, {Level: "b", E2E: Dist{P99: Of(3.5), Count: 100}}}}
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
	if rows[2][col["e2e_ms_p99"]] != "3.5" || rows[2][col["e2e_ms_p50"]] != "" || rows[2][col["requests_per_second"]] != "" || rows[1][col["invalid_reasons"]] != `["x, y"]` || rows[1][col["level"]] != "a" {
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
