package backfill

import (
	"os"
	"testing"
	"time"
)

func TestSourceTimes(t *testing.T) {
	b, err := os.ReadFile("../thirdparty/guidellm/testdata/v0.7.3-sweep.json")
	if err != nil {
		t.Fatal(err)
	}
	start, end, ok := SourceTimes(b)
	if !ok || start.Unix() != 1785390000 || !end.After(start) {
		t.Errorf("guidellm: %v %v %v", start, end, ok)
	}
	v := []byte(`{"date": "20260722-041843", "completed": 10, "duration": 1.5, "mean_ttft_ms": NaN}`)
	start, end, ok = SourceTimes(v)
	want := time.Date(2026, 7, 22, 4, 18, 43, 0, time.UTC)
	if !ok || !start.Equal(want) || !end.Equal(want) {
		t.Errorf("vllm bench: %v %v %v", start, end, ok)
	}
	lines := []byte("{\"date\": \"20260722-041843\", \"completed\": 1}\n{\"date\": \"20260722-051843\", \"completed\": 2}\n")
	if _, end, ok = SourceTimes(lines); !ok || !end.Equal(want.Add(time.Hour)) {
		t.Errorf("jsonl: %v %v", end, ok)
	}
	if _, _, ok = SourceTimes([]byte(`{"x": 1}`)); ok {
		t.Error("undatable file dated")
	}
}
