package simulator

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func testRequest(t testing.TB, k kind) (*Engine, *request) {
	e, err := New(fast(), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	q := &request{kind: k, id: "cmpl-x", created: 1, prompt: 12,
		plan: makePlan(7, 8, true, 128, 0.7, nil), notify: make(chan struct{}, 1)}
	return e, q
}

// TestTokenChunkDoesNotAllocate: the per-token hot path encodes into a
// reused buffer from pre-encoded templates.
func TestTokenChunkDoesNotAllocate(t *testing.T) {
	for _, k := range []kind{kindCompletion, kindChat} {
		e, q := testRequest(t, k)
		tpl := e.templates(q, true)
		buf := make([]byte, 0, 1024)
		allocs := testing.AllocsPerRun(200, func() {
			buf = tpl.appendToken(buf[:0], q, 3, false, true, false)
			buf = tpl.appendToken(buf[:0], q, 7, true, true, false)
		})
		if allocs != 0 {
			t.Errorf("kind %d: %.1f allocations per token", k, allocs)
		}
		// Every chunk it produces is valid JSON.
		for i := range 8 {
			out := tpl.appendToken(nil, q, i, i == 7, true, false)
			for _, ev := range strings.Split(strings.TrimSpace(string(out)), "\n\n") {
				ev = strings.TrimPrefix(ev, "data: ")
				if ev != "[DONE]" && !json.Valid([]byte(ev)) {
					t.Errorf("kind %d token %d: invalid chunk %s", k, i, ev)
				}
			}
		}
	}
}

func TestAppendEscaped(t *testing.T) {
	in := "a\"b\\c\nd\te\x01é"
	got := string(appendEscaped(nil, in))
	var back string
	if err := json.Unmarshal([]byte(`"`+got+`"`), &back); err != nil || back != in {
		t.Errorf("appendEscaped(%q) = %q, decodes to %q (%v)", in, got, back, err)
	}
}

func TestLatenessSummary(t *testing.T) {
	l := newLateness()
	for i := range 1000 {
		l.observe(us(i % 100)) // 0..99 µs, ten times each
	}
	l.observe(us(250_000)) // one outlier past the fine buckets
	s := l.summary()
	if s.Count != 1001 || s.Max != us(250_000) {
		t.Errorf("summary %+v", s)
	}
	if s.P50 != us(60) || s.P99 != us(100) { // the 501st value is 50 µs, in the [50, 60) bucket
		t.Errorf("p50 %s p99 %s, want 60µs and 100µs (upper bounds of 10 µs buckets)", s.P50, s.P99)
	}
}

func BenchmarkTokenChunk(b *testing.B) {
	e, q := testRequest(b, kindChat)
	tpl := e.templates(q, true)
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = tpl.appendToken(buf[:0], q, 3, false, false, false)
	}
}

func us(n int) time.Duration { return time.Duration(n) * time.Microsecond }
