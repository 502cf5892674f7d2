package results

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/exporter/measure"
)

// FuzzReadRequests: no requests.jsonl, however broken (half a last line
// from a full disk, a binary blob, a huge line), panics the reader; an
// error names its line; every record handed out re-encodes, and a file
// RequestWriter wrote reads back whole.
func FuzzReadRequests(f *testing.F) {
	var good bytes.Buffer
	w := NewRequestWriter(&good)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 3 {
		w.Write(&measure.Result{Seq: int64(i), Scheduled: t0, Sent: t0.Add(time.Millisecond), FirstTok: t0.Add(50 * time.Millisecond),
			End: t0.Add(90 * time.Millisecond), Chunks: []measure.Chunk{{At: 49 * time.Millisecond, Tokens: 1}, {At: 89 * time.Millisecond, Tokens: 2}},
			PromptTokens: 8, OutputTokens: 3, Outcome: contract.OutcomeSuccess, Phase: measure.PhaseMeasure, Level: "concurrent-1"})
	}
	w.Write(&measure.Result{Seq: 3, Scheduled: t0, Sent: t0, End: t0, Outcome: contract.OutcomeError, ErrorKind: contract.ErrConnect, Error: "refused"})
	w.Flush()
	f.Add(good.Bytes())
	f.Add(good.Bytes()[:good.Len()-17]) // half a last line
	for _, s := range []string{"", "\n\n", "{}\n", "null\n", "[]\n", `{"seq":"x"}`, `{"chunks":[{"at":1e400}]}`, `{"scheduled":"yesterday"}`, "\x00\xff"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n := 0
		err := ReadRequests(bytes.NewReader(b), func(r *measure.Result) error {
			n++
			if _, err := json.Marshal(r); err != nil {
				t.Fatalf("record %d does not re-encode: %v", n, err)
			}
			return nil
		})
		if err != nil && !strings.HasPrefix(err.Error(), "requests line ") {
			t.Fatalf("error does not name a line: %v", err)
		}
		stop := errors.New("stop")
		if err := ReadRequests(bytes.NewReader(b), func(*measure.Result) error { return stop }); err != nil && n > 0 && !errors.Is(err, stop) && !strings.HasPrefix(err.Error(), "requests line ") {
			t.Fatalf("the callback's error was lost: %v", err)
		}
	})
}
