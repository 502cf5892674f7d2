package measure

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/url"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/internal/redact"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func ms(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }

// feed is one Write (or the end) at a millisecond offset from t0.
type feed struct {
	at   int
	body string
}

func track(opt TrackOptions, status int, feeds []feed, end int, err error) *Result {
	tr := NewTracker(7, t0.Add(-time.Millisecond), t0, opt)
	if status != 0 {
		tr.Header(status, ms(feeds[0].at))
	}
	for _, f := range feeds {
		tr.Write([]byte(f.body), ms(f.at))
	}
	return tr.Finish(ms(end), err)
}

func chat(content string) string {
	return `data: {"id":"x","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"` + content + `"},"finish_reason":null}]}` + "\n\n"
}

const (
	roleChunk = `data: {"id":"x","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}` + "\n\n"
	usage3    = `data: {"id":"x","choices":[],"usage":{"prompt_tokens":12,"total_tokens":15,"completion_tokens":3}}` + "\n\n"
	done      = "data: [DONE]\n\n"
)

func TestTrackerStream(t *testing.T) {
	chatOpt := TrackOptions{Stream: true, API: APIChat, PromptTokens: 10}
	tests := []struct {
		name   string
		opt    TrackOptions
		status int
		feeds  []feed
		end    int
		err    error

		outcome   contract.Outcome
		kind      contract.ErrorKind
		firstTok  int // ms, -1 = none
		chunks    []int
		out       int
		prompt    int
		source    string
		mismatch  bool
		errSubstr string
	}{
		{
			name: "role chunk is not a token; usage wins", opt: chatOpt, status: 200,
			feeds: []feed{{5, roleChunk}, {50, chat("Hi")}, {60, chat(" there")}, {70, chat("!") + usage3 + done}},
			end:   71, outcome: contract.OutcomeSuccess, firstTok: 50, chunks: []int{50, 60, 70}, out: 3, prompt: 12, source: TokensFromUsage,
		},
		{
			name: "lines split across writes, CRLF", opt: chatOpt, status: 200,
			feeds: []feed{{5, "data: {\"choices\":[{\"delta\":{\"cont"}, {9, "ent\":\"a\"}}]}\r\n\r\n"}, {20, "da"}, {21, "ta: {\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\n"}, {22, "\n" + done}},
			end:   23, outcome: contract.OutcomeSuccess, firstTok: 9, chunks: []int{9, 21}, out: 2, prompt: 10, source: TokensFromChunks,
		},
		{
			name: "reasoning and tool calls are tokens", opt: chatOpt, status: 200,
			feeds: []feed{{5, `data: {"choices":[{"delta":{"reasoning_content":"hmm"}}]}` + "\n\n"}, {15, `data: {"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"name":"f"}}]}}]}` + "\n\n"}, {16, done}},
			end:   16, outcome: contract.OutcomeSuccess, firstTok: 5, chunks: []int{5, 15}, out: 2, prompt: 10, source: TokensFromChunks,
		},
		{
			name: "empty tool_calls and null content are not tokens", opt: chatOpt, status: 200,
			feeds: []feed{{5, `data: {"choices":[{"delta":{"content":null,"tool_calls":[]}}]}` + "\n\n"}, {15, chat("x")}, {16, done}},
			end:   16, outcome: contract.OutcomeSuccess, firstTok: 15, chunks: []int{15}, out: 1, prompt: 10, source: TokensFromChunks,
		},
		{
			name: "completions text", opt: TrackOptions{Stream: true, API: APICompletions}, status: 200,
			feeds: []feed{{30, `data: {"choices":[{"text":"","index":0}]}` + "\n\n" + `data: {"choices":[{"text":"a","index":0}]}` + "\n\n"}, {40, `data: {"choices":[{"text":"b"}]}` + "\n\n" + done}},
			end:   40, outcome: contract.OutcomeSuccess, firstTok: 30, chunks: []int{30, 40}, out: 2, source: TokensFromChunks,
		},
		{
			name: "continuous usage gives tokens per chunk", opt: chatOpt, status: 200,
			feeds: []feed{
				{5, `data: {"choices":[{"delta":{"role":"assistant"}}],"usage":{"prompt_tokens":9,"completion_tokens":0}}` + "\n\n"},
				{20, `data: {"choices":[{"delta":{"content":"ab"}}],"usage":{"prompt_tokens":9,"completion_tokens":2}}` + "\n\n"},
				{30, `data: {"choices":[{"delta":{"content":"c"}}],"usage":{"prompt_tokens":9,"completion_tokens":3}}` + "\n\n" + done}},
			end: 30, outcome: contract.OutcomeSuccess, firstTok: 20, chunks: []int{20, 30}, out: 3, prompt: 9, source: TokensFromUsage,
		},
		{
			name: "usage disagrees with chunk count", opt: chatOpt, status: 200,
			feeds: []feed{{5, chat("a") + usage3 + done}},
			end:   5, outcome: contract.OutcomeSuccess, firstTok: 5, chunks: []int{5}, out: 3, prompt: 12, source: TokensFromUsage, mismatch: true,
		},
		{
			name: "no [DONE] is a broken stream, tokens kept", opt: chatOpt, status: 200,
			feeds: []feed{{5, chat("a")}, {6, chat("b")}},
			end:   7, outcome: contract.OutcomeError, kind: contract.ErrStreamBroken, firstTok: 5, chunks: []int{5, 6}, out: 2, prompt: 10, source: TokensFromChunks,
		},
		{
			name: "read error mid-stream", opt: chatOpt, status: 200,
			feeds: []feed{{5, chat("a")}}, end: 7, err: io.ErrUnexpectedEOF,
			outcome: contract.OutcomeError, kind: contract.ErrStreamBroken, firstTok: 5, chunks: []int{5}, out: 1, prompt: 10, source: TokensFromChunks,
		},
		{
			name: "timeout mid-stream", opt: chatOpt, status: 200,
			feeds: []feed{{5, chat("a")}}, end: 900, err: context.DeadlineExceeded,
			outcome: contract.OutcomeError, kind: contract.ErrTimeout, firstTok: 5, chunks: []int{5}, out: 1, prompt: 10, source: TokensFromChunks,
		},
		{
			name: "cut by the window credits tokens", opt: chatOpt, status: 200,
			feeds: []feed{{5, chat("a")}, {6, chat("b")}}, end: 8, err: ErrCut,
			outcome: contract.OutcomeIncomplete, firstTok: 5, chunks: []int{5, 6}, out: 2, prompt: 10, source: TokensFromChunks,
		},
		{
			name: "malformed chunk", opt: chatOpt, status: 200,
			feeds: []feed{{5, chat("a")}, {6, "data: {\"choices\":[{\"delta\":\n\n"}, {7, chat("b") + done}},
			end:   7, outcome: contract.OutcomeError, kind: contract.ErrMalformedChunk, firstTok: 5, chunks: []int{5, 7}, out: 2, prompt: 10, source: TokensFromChunks, errSubstr: "first at event 2",
		},
		{
			name: "error event in stream", opt: chatOpt, status: 200,
			feeds: []feed{{5, chat("a")}, {6, `data: {"error":{"object":"error","message":"engine dead","type":"InternalServerError","code":500}}` + "\n\n" + done}},
			end:   7, outcome: contract.OutcomeError, kind: contract.ErrHTTP5xx, firstTok: 5, chunks: []int{5}, out: 1, prompt: 10, source: TokensFromChunks, errSubstr: "engine dead",
		},
		{
			name: "early eos with ignore_eos", opt: TrackOptions{Stream: true, ExpectTokens: 4}, status: 200,
			feeds: []feed{{5, chat("a") + usage3 + done}},
			end:   5, outcome: contract.OutcomeError, kind: contract.ErrEarlyEOS, firstTok: 5, chunks: []int{5}, out: 3, prompt: 12, source: TokensFromUsage, mismatch: true,
		},
		{
			name: "http 429 with error body", opt: chatOpt, status: 429,
			feeds: []feed{{3, `{"object":"error","message":"too many","code":429}`}},
			end:   3, outcome: contract.OutcomeError, kind: contract.ErrRateLimited, firstTok: -1, prompt: 10, errSubstr: "HTTP 429: too many",
		},
		{
			name: "http 503", opt: chatOpt, status: 503,
			feeds: []feed{{3, "upstream down"}},
			end:   3, outcome: contract.OutcomeError, kind: contract.ErrHTTP5xx, firstTok: -1, prompt: 10, errSubstr: "upstream down",
		},
		{
			name: "comments and keep-alives are ignored", opt: chatOpt, status: 200,
			feeds: []feed{{1, ": ping\n\nevent: message\nid: 3\n"}, {5, chat("a")}, {6, done}, {7, chat("after done")}},
			end:   8, outcome: contract.OutcomeSuccess, firstTok: 5, chunks: []int{5}, out: 1, prompt: 10, source: TokensFromChunks,
		},
		{
			name: "last event without blank line", opt: chatOpt, status: 200,
			feeds: []feed{{5, chat("a")}, {6, "data: [DONE]\n"}},
			end:   7, outcome: contract.OutcomeSuccess, firstTok: 5, chunks: []int{5}, out: 1, prompt: 10, source: TokensFromChunks,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := track(tc.opt, tc.status, tc.feeds, tc.end, tc.err)
			if r.Outcome != tc.outcome || r.ErrorKind != tc.kind {
				t.Fatalf("outcome %q kind %q (%s), want %q %q", r.Outcome, r.ErrorKind, r.Error, tc.outcome, tc.kind)
			}
			if tc.firstTok < 0 {
				if !r.FirstTok.IsZero() {
					t.Errorf("first token at %v, want none", r.FirstTok.Sub(t0))
				}
			} else if !r.FirstTok.Equal(ms(tc.firstTok)) {
				t.Errorf("first token at %v, want %dms", r.FirstTok.Sub(t0), tc.firstTok)
			}
			var got []int
			for _, c := range r.Chunks {
				got = append(got, int(c.At/time.Millisecond))
			}
			if !reflect.DeepEqual(got, tc.chunks) {
				t.Errorf("chunks at %v, want %v", got, tc.chunks)
			}
			if r.OutputTokens != tc.out || r.PromptTokens != tc.prompt || r.TokenSource != tc.source || r.TokenMismatch != tc.mismatch {
				t.Errorf("tokens out=%d prompt=%d source=%q mismatch=%v, want %d %d %q %v",
					r.OutputTokens, r.PromptTokens, r.TokenSource, r.TokenMismatch, tc.out, tc.prompt, tc.source, tc.mismatch)
			}
			if !strings.Contains(r.Error, tc.errSubstr) {
				t.Errorf("error %q does not contain %q", r.Error, tc.errSubstr)
			}
			if !r.End.Equal(ms(tc.end)) || r.Seq != 7 {
				t.Errorf("end %v seq %d", r.End.Sub(t0), r.Seq)
			}
		})
	}
}

func TestTrackerNonStream(t *testing.T) {
	t.Run("chat", func(t *testing.T) {
		r := track(TrackOptions{API: APIChat}, 200, []feed{{40, `{"choices":[{"message":{"role":"assistant","content":"hel`}, {45, `lo"}}],"usage":{"prompt_tokens":5,"completion_tokens":7}}`}}, 46, nil)
		if r.Outcome != contract.OutcomeSuccess || !r.FirstTok.Equal(ms(46)) || r.OutputTokens != 7 || r.TokenSource != TokensFromUsage {
			t.Fatalf("%+v", r)
		}
		if len(r.Chunks) != 1 || r.Chunks[0].Tokens != 7 || r.Chunks[0].At != 46*time.Millisecond {
			t.Fatalf("chunks %+v", r.Chunks)
		}
		if ttft, _ := r.TTFT(); ttft != r.E2E() {
			t.Fatalf("ttft %v != e2e %v", ttft, r.E2E())
		}
	})
	t.Run("embeddings", func(t *testing.T) {
		r := track(TrackOptions{API: APIEmbeddings, Stream: true, ExpectTokens: 1}, 200, []feed{{9, `{"object":"list","data":[{"object":"embedding","embedding":[0.1,-2e-3,3],"index":0}],"usage":{"prompt_tokens":512,"total_tokens":512}}`}}, 10, nil)
		if r.Outcome != contract.OutcomeSuccess || !r.FirstTok.Equal(ms(10)) || r.PromptTokens != 512 || len(r.Chunks) != 0 {
			t.Fatalf("%+v", r)
		}
	})
	t.Run("embeddings without data", func(t *testing.T) {
		r := track(TrackOptions{API: APIEmbeddings}, 200, []feed{{9, `{"object":"list","data":[]}`}}, 10, nil)
		if r.Outcome != contract.OutcomeSuccess || !r.FirstTok.IsZero() {
			t.Fatalf("%+v", r)
		}
	})
	t.Run("stream asked, JSON answered", func(t *testing.T) {
		r := track(TrackOptions{API: APIChat, Stream: true}, 200, []feed{{9, "\n  "}, {12, `{"choices":[{"message":{"content":"x"}}],"usage":{"prompt_tokens":2,"completion_tokens":1}}`}}, 13, nil)
		if r.Outcome != contract.OutcomeSuccess || !r.FirstTok.Equal(ms(13)) || r.OutputTokens != 1 || len(r.Chunks) != 1 || r.TokenMismatch {
			t.Fatalf("%+v", r)
		}
	})
	t.Run("truncated body", func(t *testing.T) {
		r := track(TrackOptions{API: APIChat}, 200, []feed{{9, `{"choices":[{"message":{"content":"x"`}}, 10, nil)
		if r.ErrorKind != contract.ErrMalformedChunk || !r.FirstTok.IsZero() || r.Chunks != nil {
			t.Fatalf("%+v", r)
		}
	})
}

func TestTrackerConnectErrors(t *testing.T) {
	for _, tc := range []struct {
		err  error
		kind contract.ErrorKind
	}{
		// Before the request was sent: connect.
		{&url.Error{Op: "Post", URL: "http://127.0.0.1:1", Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}, contract.ErrConnect},
		{&net.OpError{Op: "write", Net: "tcp", Err: syscall.EPIPE}, contract.ErrConnect},
		{&net.DNSError{Err: "no such host", Name: "vllm.invalid"}, contract.ErrConnect},
		{tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, contract.ErrConnect},
		// After: the server had the request and reset or closed.
		{&url.Error{Op: "Post", URL: "http://127.0.0.1:1", Err: &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}}, contract.ErrStreamBroken},
		{&url.Error{Op: "Post", URL: "http://127.0.0.1:1", Err: io.EOF}, contract.ErrStreamBroken},
		{errors.New(`net/http: HTTP/1.x transport connection broken: malformed HTTP response "garbage"`), contract.ErrStreamBroken},
		{context.DeadlineExceeded, contract.ErrTimeout},
		{context.Canceled, contract.ErrCanceled},
	} {
		r := track(TrackOptions{Stream: true}, 0, nil, 3, tc.err)
		if r.Outcome != contract.OutcomeError || r.ErrorKind != tc.kind || r.Status != 0 || !r.FirstByte.IsZero() {
			t.Errorf("%v: %+v", tc.err, r)
		}
	}
	tr := NewTracker(1, t0, t0, TrackOptions{Stream: true})
	tr.Cut()
	if r := tr.Finish(ms(5), context.Canceled); r.Outcome != contract.OutcomeIncomplete || r.ErrorKind != "" {
		t.Errorf("cut before header: %+v", r)
	}
}

// The Tracker must not allocate per chunk beyond growing the chunk list.
func TestTrackerAllocs(t *testing.T) {
	ev := []byte(chat("tok"))
	tr := NewTracker(0, t0, t0, TrackOptions{Stream: true, ChunkHint: 2000})
	tr.Header(200, t0)
	allocs := testing.AllocsPerRun(1000, func() { tr.Write(ev, t0) })
	if allocs != 0 {
		t.Fatalf("%.1f allocations per chunk", allocs)
	}
}

func TestParseChunkRejects(t *testing.T) {
	var ci chunkInfo
	for _, s := range []string{``, `{`, `[]`, `{"a":1,}`, `{"choices":[1,]}`, `{"a":01}`, `{"a":"\x"}`, `{"a":1} x`, `{"usage":{"completion_tokens":"3"}}`, `nul`, `{"a":tru}`} {
		if parseChunk([]byte(s), APIChat, &ci) {
			t.Errorf("accepted %q", s)
		}
	}
	for _, s := range []string{`{}`, ` {"a":[1,2.5e-3,{"b":null}],"c":"\u00e9\n"} `, `{"choices":null,"usage":null,"error":null}`} {
		if !parseChunk([]byte(s), APIChat, &ci) {
			t.Errorf("rejected %q", s)
		}
	}
}

// A server that echoes the request's credentials in an error puts none of
// them into the record, whole or cut by the error-detail clip.
func TestTrackerRedactsSecrets(t *testing.T) {
	key := "sk-live-0123456789abcdef"
	red := redact.New(key)
	long := strings.Repeat("x", maxErrDetail-10) + key
	for _, tc := range []struct {
		name   string
		status int
		body   string
		stream bool
	}{
		{"error body", 401, `{"error":{"message":"bad header Authorization: Bearer ` + key + `"}}`, false},
		{"plain body", 500, "upstream said: Bearer " + key, false},
		{"json escaped", 400, `{"message":"key \"` + key + `\" refused"}`, false},
		{"cut by the clip", 502, long, false},
		{"error event", 200, "data: {\"error\":{\"message\":\"quota for " + key + "\",\"code\":429}}\n\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := track(TrackOptions{Stream: tc.stream, API: APIChat, Redact: red}, tc.status, []feed{{1, tc.body}}, 2, nil)
			if r.Outcome != contract.OutcomeError || strings.Contains(r.Error, key) || strings.Contains(r.Error, key[:8]) {
				t.Fatalf("error %q (kind %s)", r.Error, r.ErrorKind)
			}
			b, _ := json.Marshal(r)
			if strings.Contains(string(b), key[:8]) {
				t.Fatalf("record %s", b)
			}
		})
	}
	// A 429 error event is rate_limited too.
	r := track(TrackOptions{Stream: true, API: APIChat}, 200, []feed{{1, "data: {\"error\":{\"message\":\"slow down\",\"code\":429}}\n\n"}}, 2, nil)
	if r.ErrorKind != contract.ErrRateLimited {
		t.Errorf("429 event: %s", r.ErrorKind)
	}
}
