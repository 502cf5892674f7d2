package measure_test

import (
	"fmt"
	"time"

	"github.com/servebench/servebench/exporter/measure"
)

// A Tracker times one response from the bytes as they arrive, split
// anywhere, with the caller's clock: here a chat stream whose role-only first
// chunk is not a token.
func ExampleTracker() {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

	tr := measure.NewTracker(0, t0, at(1), measure.TrackOptions{Stream: true, API: measure.APIChat, ExpectTokens: 2})
	tr.Header(200, at(5))
	tr.Write([]byte(`data: {"choices":[{"delta":{"role":"assistant","content":""}}]}`+"\n\n"), at(5))
	tr.Write([]byte(`data: {"choices":[{"delta":{"content":"Hel`), at(40))
	tr.Write([]byte(`lo"}}]}`+"\n\n"), at(41))
	tr.Write([]byte(`data: {"choices":[{"delta":{"content":"!"}}]}`+"\n\n"+
		`data: {"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2}}`+"\n\ndata: [DONE]\n\n"), at(52))
	r := tr.Finish(at(53), nil)

	ttft, _ := r.TTFT()
	fmt.Println(r.Outcome, "ttft", ttft, "e2e", r.E2E(), "lateness", r.Lateness())
	fmt.Println(r.OutputTokens, "tokens from", r.TokenSource, "chunks at", r.Chunks[0].At, r.Chunks[1].At)
	// Output:
	// success ttft 41ms e2e 53ms lateness 1ms
	// 2 tokens from usage chunks at 40ms 51ms
}
