package simulator

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/servebench/servebench/runner/simulator/perfmodel"
)

type kind int

const (
	kindCompletion kind = iota
	kindChat
	kindEmbedding
	kindTranscription
)

// request is one request's state shared between its handler and the step
// loop. The loop appends due times under mu, the dispatcher pokes notify when
// they come due, and the handler copies the slice header under mu and writes
// outside it.
type request struct {
	seq        perfmodel.Seq
	kind       kind
	id         string
	created    int64
	prompt     int
	maxTokens  int // requested max_tokens (0 when not given)
	plan       plan
	stall      bool
	drop       bool
	malformed  bool
	crashAfter bool      // set by the loop: this request's completion crashes the engine
	prevTok    time.Time // loop-owned: time of the previous token, for ITL

	mu     sync.Mutex
	due    []time.Time
	final  bool
	cut    error
	cutCh  chan struct{} // closed when cut is set
	notify chan struct{}
}

func (q *request) faulted() bool { return q.stall || q.drop || q.malformed }

// push publishes one token due at t (zero t: none) and whether it was the
// last. It never blocks and does not wake the stream: the dispatcher (or
// the caller) pokes it when the token is due.
func (q *request) push(t time.Time, last bool) {
	q.mu.Lock()
	if !t.IsZero() {
		q.due = append(q.due, t)
	}
	q.final = q.final || last
	q.mu.Unlock()
}

// poke wakes the request's goroutine; it never blocks.
func (q *request) poke() {
	select {
	case q.notify <- struct{}{}:
	default:
	}
}

func (q *request) cutWith(err error) {
	q.mu.Lock()
	if q.cut == nil {
		q.cut = err
		close(q.cutCh)
	}
	q.mu.Unlock()
	q.poke()
}

func (q *request) state() (due []time.Time, final bool, cut error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.due, q.final, q.cut
}

// wait blocks until the request finished (all tokens published), was cut,
// or ctx ended.
func (q *request) wait(ctx context.Context) ([]time.Time, error) {
	for {
		due, final, cut := q.state()
		if cut != nil {
			return nil, cut
		}
		if final {
			return due, nil
		}
		select {
		case <-q.notify:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// sleepUntil waits for t on a reused timer; false when ctx ended or the
// request was cut first.
func (q *request) sleepUntil(ctx context.Context, timer *time.Timer, t time.Time) bool {
	d := time.Until(t)
	if d <= dispatchSlack { // the dispatcher releases within its slack; writing that early is fine
		return ctx.Err() == nil
	}
	timer.Reset(d)
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
	case <-q.cutCh:
	}
	timer.Stop()
	return false
}

// templates are a stream's pre-encoded chunk parts; a token chunk is
// pre + JSON-escaped text + mid (or fin for the last) + usage + "}\n\n".
type templates struct {
	pre, mid, fin, role, usageHead []byte
	continuous                     bool
}

func jsonString(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}

func (e *Engine) templates(q *request, continuous bool) templates {
	head := func(object string) []byte {
		b := []byte(`data: {"id":"` + q.id + `","object":"` + object + `","created":` + strconv.FormatInt(q.created, 10) + `,"model":`)
		return append(b, jsonString(e.cfg.ServedModelName)...)
	}
	stop := []byte("null")
	if q.plan.stopReason != "" {
		stop = jsonString(q.plan.stopReason)
	}
	t := templates{continuous: continuous}
	switch q.kind {
	case kindChat:
		h := head("chat.completion.chunk")
		t.pre = append(append([]byte{}, h...), `,"choices":[{"index":0,"delta":{"content":"`...)
		t.mid = []byte(`"},"logprobs":null,"finish_reason":null}]`)
		t.fin = append(append([]byte(`"},"logprobs":null,"finish_reason":"`+q.plan.reason+`","stop_reason":`), stop...), "}]"...)
		t.role = append(append([]byte{}, h...), `,"choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]`...)
		t.usageHead = append(append([]byte{}, h...), `,"choices":[]`...)
	default:
		h := head("text_completion")
		t.pre = append(append([]byte{}, h...), `,"choices":[{"index":0,"text":"`...)
		t.mid = []byte(`","logprobs":null,"finish_reason":null,"stop_reason":null}]`)
		t.fin = append(append([]byte(`","logprobs":null,"finish_reason":"`+q.plan.reason+`","stop_reason":`), stop...), "}]"...)
		t.usageHead = append(append([]byte{}, h...), `,"choices":[]`...)
	}
	return t
}

func appendUsage(b []byte, prompt, completion int) []byte {
	b = append(b, `,"usage":{"prompt_tokens":`...)
	b = strconv.AppendInt(b, int64(prompt), 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, int64(prompt+completion), 10)
	b = append(b, `,"completion_tokens":`...)
	b = strconv.AppendInt(b, int64(completion), 10)
	return append(b, '}')
}

// appendEscaped appends s as the inside of a JSON string without allocating.
func appendEscaped(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return b
}

var doneChunk = []byte("data: [DONE]\n\n")

// appendToken appends everything written for token i: the role chunk first
// for chat, the token's chunk (broken JSON when malformed), and after the
// last token the usage chunk when asked for and [DONE].
func (t *templates) appendToken(buf []byte, q *request, i int, last, includeUsage, malformed bool) []byte {
	if i == 0 && q.kind == kindChat {
		buf = append(buf, t.role...)
		if t.continuous {
			buf = appendUsage(buf, q.prompt, 0)
		}
		buf = append(buf, "}\n\n"...)
	}
	if malformed {
		buf = append(buf, t.pre[:len(t.pre)/2]...)
		buf = append(buf, "\n\n"...)
	} else {
		buf = append(buf, t.pre...)
		buf = appendEscaped(buf, q.plan.pieces[i])
		if last {
			buf = append(buf, t.fin...)
		} else {
			buf = append(buf, t.mid...)
		}
		if t.continuous {
			buf = appendUsage(buf, q.prompt, i+1)
		}
		buf = append(buf, "}\n\n"...)
	}
	if last {
		if includeUsage {
			buf = append(buf, t.usageHead...)
			buf = appendUsage(buf, q.prompt, q.plan.n)
			buf = append(buf, "}\n\n"...)
		}
		buf = append(buf, doneChunk...)
	}
	return buf
}

// stream writes an SSE response: each token chunk at its scheduled time,
// one write and one flush per chunk. The last token's chunk carries the
// finish reason (as vLLM's does), followed in the same write by the usage
// chunk when asked for and [DONE].
func (e *Engine) stream(ctx context.Context, w http.ResponseWriter, q *request, includeUsage, continuous bool) {
	fl := startSSE(w)
	t := e.templates(q, continuous)
	buf := make([]byte, 0, 1024)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	f := e.cfg.Faults
	sent := 0
	for {
		due, final, cut := q.state()
		if cut != nil {
			panic(http.ErrAbortHandler) // cut the connection as a dying server would
		}
		for ; sent < len(due); sent++ {
			if !q.sleepUntil(ctx, timer, due[sent]) {
				break
			}
			if q.stall && sent == f.StallAfter {
				if !q.sleepUntil(ctx, timer, time.Now().Add(f.StallFor)) {
					break
				}
			}
			if q.drop && sent == f.DropAfter {
				panic(http.ErrAbortHandler)
			}
			last := final && sent == len(due)-1
			buf = t.appendToken(buf[:0], q, sent, last, includeUsage, q.malformed && sent == f.MalformedAfter)
			if _, err := w.Write(buf); err != nil {
				return
			}
			if fl != nil {
				fl.Flush()
			}
			if !q.faulted() {
				l := time.Since(due[sent])
				e.lat.observe(l)
				e.m.lateness.Observe(l.Seconds())
			}
			if last {
				return
			}
		}
		select {
		case <-q.notify:
		case <-ctx.Done():
			return
		}
	}
}

// startSSE sends an event stream's headers and returns the flusher.
func startSSE(w http.ResponseWriter) http.Flusher {
	fl, _ := w.(http.Flusher)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if fl != nil {
		fl.Flush()
	}
	return fl
}

func newSeq(q *request, prompt, output int) perfmodel.Seq {
	return perfmodel.Seq{Prompt: prompt, MaxOutput: output, Tag: q}
}
