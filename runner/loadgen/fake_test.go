package loadgen

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeServer is a configurable OpenAI-compatible streaming server: first
// token after TTFT, then one token every ITL; errors, stalls and broken
// streams on demand. It logs when it really wrote each token (truth).
type fakeServer struct {
	TTFT, ITL time.Duration
	Tokens    int  // output tokens when the request sets no max (default 8)
	NoUsage   bool // leave usage out of the stream
	Tokenize  bool // serve /tokenize (one token per word)
	// Fail returns a status for request n (0-based arrival order), 0 = serve.
	Fail func(n int64) int
	// Break drops the connection after this many tokens of request n (-1 = never).
	Break func(n int64) int
	// Stall holds request n's stream after this many tokens for d (0 = never).
	Stall func(n int64) (after int, d time.Duration)
	// Overrun adds this many tokens beyond the length asked for, as a
	// server does that reads neither max_tokens nor max_completion_tokens.
	Overrun int
	// RetryAfter is the Retry-After header of injected 429s ("" = none).
	RetryAfter string
	// Bodies keeps every completion request body, in arrival order.
	Bodies bool

	bodies []map[string]any

	n     atomic.Int64
	mu    sync.Mutex
	truth map[string]*truthRec // by prompt
}

type truthRec struct {
	arrived time.Time
	writes  []time.Time
}

func (f *fakeServer) start(t testing.TB) *httptest.Server {
	f.truth = map[string]*truthRec{}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return srv
}

func (f *fakeServer) record(prompt string) *truthRec {
	r := &truthRec{arrived: time.Now()}
	f.mu.Lock()
	f.truth[prompt] = r
	f.mu.Unlock()
	return r
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/v1/models":
		fmt.Fprint(w, `{"object":"list","data":[{"id":"fake-model","object":"model"}]}`)
		return
	case "/tokenize":
		if !f.Tokenize {
			http.NotFound(w, r)
			return
		}
		var req struct {
			Prompt   string `json:"prompt"`
			Messages []struct {
				Content string `json:"content"`
			} `json:"messages"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		n := len(strings.Fields(req.Prompt))
		for _, m := range req.Messages {
			n += len(strings.Fields(m.Content)) + 3 // a chat template's overhead
		}
		fmt.Fprintf(w, `{"count":%d}`, n)
		return
	case "/v1/embeddings":
		var req struct {
			Input string `json:"input"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		time.Sleep(f.TTFT)
		n := len(strings.Fields(req.Input))
		fmt.Fprintf(w, `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,-0.2,0.3]}],"usage":{"prompt_tokens":%d,"total_tokens":%d}}`, n, n)
		return
	case "/v1/chat/completions", "/v1/completions":
	default:
		http.NotFound(w, r)
		return
	}
	n := f.n.Add(1) - 1
	var req struct {
		Prompt   string `json:"prompt"`
		Messages []struct {
			Content string `json:"content"`
		} `json:"messages"`
		MaxTokens  int  `json:"max_tokens"`
		MaxCompl   int  `json:"max_completion_tokens"`
		Stream     bool `json:"stream"`
		StreamOpts struct {
			IncludeUsage bool `json:"include_usage"`
		} `json:"stream_options"`
	}
	raw, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(raw, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if f.Bodies {
		var m map[string]any
		_ = json.Unmarshal(raw, &m)
		f.mu.Lock()
		f.bodies = append(f.bodies, m)
		f.mu.Unlock()
	}
	prompt := req.Prompt
	chat := len(req.Messages) > 0
	if chat {
		prompt = req.Messages[0].Content
	}
	rec := f.record(prompt)
	if f.Fail != nil {
		if code := f.Fail(n); code != 0 {
			if code == http.StatusTooManyRequests && f.RetryAfter != "" {
				w.Header().Set("Retry-After", f.RetryAfter)
			}
			w.WriteHeader(code)
			fmt.Fprintf(w, `{"object":"error","message":"injected %d","code":%d}`, code, code)
			return
		}
	}
	tokens := max(req.MaxTokens, req.MaxCompl)
	if tokens == 0 {
		tokens = f.Tokens
	}
	if tokens == 0 {
		tokens = 8
	}
	tokens += f.Overrun
	if !req.Stream {
		// The whole answer at once, after the time the stream would take.
		time.Sleep(f.TTFT + time.Duration(tokens-1)*f.ITL)
		text := strings.TrimSpace(strings.Repeat("t ", tokens))
		choice := `{"index":0,"text":"` + text + `","finish_reason":"length"}`
		if chat {
			choice = `{"index":0,"message":{"role":"assistant","content":"` + text + `"},"finish_reason":"length"}`
		}
		fmt.Fprintf(w, `{"id":"c","choices":[%s],"usage":{"prompt_tokens":%d,"completion_tokens":%d}}`, choice, len(strings.Fields(prompt)), tokens)
		return
	}
	brk := -1
	if f.Break != nil {
		brk = f.Break(n)
	}
	stallAt, stallFor := -1, time.Duration(0)
	if f.Stall != nil {
		if a, d := f.Stall(n); d > 0 {
			stallAt, stallFor = a, d
		}
	}
	fl := w.(http.Flusher)
	w.Header().Set("Content-Type", "text/event-stream")
	chunk := func(tok string) string {
		if chat {
			return `data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"` + tok + `"},"finish_reason":null}]}` + "\n\n"
		}
		return `data: {"id":"c","object":"text_completion","choices":[{"index":0,"text":"` + tok + `","finish_reason":null}]}` + "\n\n"
	}
	if chat {
		fmt.Fprint(w, `data: {"id":"c","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}`+"\n\n")
		fl.Flush()
	}
	next := rec.arrived.Add(f.TTFT)
	for i := 0; i < tokens; i++ {
		if i == brk {
			panic(http.ErrAbortHandler) // drop the connection mid-stream
		}
		if i == stallAt {
			next = next.Add(stallFor)
		}
		if d := time.Until(next); d > 0 {
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
		}
		if _, err := fmt.Fprint(w, chunk("t")); err != nil {
			return
		}
		fl.Flush()
		now := time.Now()
		f.mu.Lock()
		rec.writes = append(rec.writes, now)
		f.mu.Unlock()
		next = next.Add(f.ITL)
	}
	if !f.NoUsage && req.StreamOpts.IncludeUsage {
		pt := len(strings.Fields(prompt))
		if chat {
			pt += 3 // the template, as /tokenize counts it
		}
		fmt.Fprintf(w, `data: {"id":"c","choices":[],"usage":{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d}}`+"\n\n",
			pt, tokens, pt+tokens)
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
	fl.Flush()
}

// countingRecorder is a measure.Recorder that counts what it is told.
type countingRecorder struct {
	benchmarks, started, finished atomic.Int64
	firstTokens                   atomic.Int64
	closed                        atomic.Int64
	mu                            sync.Mutex
	levels                        []string
	target                        []float64
}
