package measure

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/internal/redact"
)

// API is the OpenAI endpoint family a request used.
type API string

// APIs.
const (
	APIChat        API = "chat"        // /v1/chat/completions
	APICompletions API = "completions" // /v1/completions
	APIEmbeddings  API = "embeddings"  // /v1/embeddings
	// APITranscriptions is speech to text: a multipart upload answered
	// with {"text": ...} or a stream of transcription.chunk events.
	APITranscriptions API = "transcriptions" // /v1/audio/transcriptions
)

// ParseAPI checks an API name.
func ParseAPI(s string) (API, error) {
	switch a := API(s); a {
	case APIChat, APICompletions, APIEmbeddings, APITranscriptions:
		return a, nil
	}
	return "", fmt.Errorf("api %q: want chat, completions, embeddings or transcriptions", s)
}

// Path is the endpoint path of the API.
func (a API) Path() string {
	switch a {
	case APICompletions:
		return "/v1/completions"
	case APIEmbeddings:
		return "/v1/embeddings"
	case APITranscriptions:
		return "/v1/audio/transcriptions"
	}
	return "/v1/chat/completions"
}

// Token sources recorded in Result.TokenSource.
const (
	TokensFromUsage  = "usage"  // the server's usage object
	TokensFromChunks = "chunks" // counted token-carrying chunks
)

// ErrCut may be passed to Finish (or wrapped) when the measurement window
// closed while the request was in flight; it has the same effect as Cut.
var ErrCut = errors.New("cut by the end of the measurement window")

// ErrStalled may be passed to Finish (or wrapped) when a stream received
// nothing for its idle timeout (see IdleTimer): the request ends as an
// error of kind stalled, the tokens it received credited.
var ErrStalled = errors.New("stream stalled")

// TrackOptions describe the request a Tracker times.
type TrackOptions struct {
	Stream bool // the request asked for an SSE stream
	API    API  // chat, completions or embeddings ("" = chat)
	// ExpectTokens is the output length demanded with ignore_eos; a
	// successful response with fewer tokens ends as early_eos. 0 = no demand.
	ExpectTokens int
	// PromptTokens is the client's own count of the prompt, used when the
	// server reports no usage.
	PromptTokens int
	// ChunkHint pre-sizes the chunk list (e.g. the max_tokens asked for);
	// 0 uses a small default.
	ChunkHint int
	// MaxTokens is the output length the request asked for (0 = unknown);
	// it is recorded in Result.MaxTokens.
	MaxTokens int
	// FirstToken, when set, is told the time to first token (from the
	// scheduled send) when the first token arrives: from the Write that
	// completed its chunk, or for a whole body from Finish. It is called at
	// most once, from the Tracker's goroutine.
	FirstToken FirstTokenObserver
	// Redact masks the request's secrets (API key, credential headers) in
	// whatever server text goes into Result.Error; nil = none to mask.
	Redact *redact.Redactor
}

// Limits on what a Tracker buffers, so a hostile or broken server cannot make
// it grow without bound.
const (
	maxLine      = 8 << 20  // one SSE line
	maxBody      = 32 << 20 // a non-streamed body kept whole
	bodyTail     = 64 << 10 // what is kept of a larger body (usage is at its end)
	maxErrDetail = 200      // bytes of server error text kept in Result.Error
)

// Tracker times one response as its bytes arrive. Create one per request
// with NewTracker; it is not safe for concurrent use. Header, Write and Finish
// take the time from the caller, so a proxy and a load generator time
// identically and tests need no clock.
//
// Streamed bodies are parsed incrementally as Server-Sent Events: a chunk's
// arrival is the time of the Write that completed its data line. The first
// token is the first chunk whose choices carry non-empty content, reasoning
// (reasoning_content or reasoning), a refusal, or a tool call (completions:
// non-empty text); a role-only chunk is not a token. Non-streamed responses
// and embeddings are one chunk at the end: TTFT equals end-to-end latency;
// so is a streamed request that a server answered with one JSON object.
type Tracker struct {
	res Result
	opt TrackOptions

	header  bool
	sse     bool   // parse the body as SSE (a streamed 2xx)
	started bool   // a non-whitespace body byte arrived
	line    []byte // a partial line carried across writes
	data    []byte // data lines of the event being read
	dataAt  time.Time
	done    bool // [DONE] seen

	body     []byte // non-SSE body (error bodies, non-streamed responses)
	bodyCut  bool   // body exceeded maxBody and only its tail is kept
	lineLost bool

	ci             chunkInfo
	events         int
	chunkTokens    int
	usage          bool
	usagePrompt    int64
	usageOut       int64
	lastCumulative int64 // last usage.completion_tokens seen on a token chunk
	malformed      int
	firstBad       int // 1-based event number of the first malformed event
	streamErr      bool
	streamErrCode  int64
	streamErrMsg   string
	cut            bool
}

// NewTracker starts timing request seq, due at scheduled and handed to the
// transport at sent.
func NewTracker(seq int64, scheduled, sent time.Time, opt TrackOptions) *Tracker {
	if opt.API == "" {
		opt.API = APIChat
	}
	n := opt.ChunkHint
	if n <= 0 {
		n = 16
	}
	if n > 4096 {
		n = 4096
	}
	t := &Tracker{opt: opt}
	t.res = Result{Seq: seq, Scheduled: scheduled, Sent: sent, MaxTokens: opt.MaxTokens}
	if opt.Stream && opt.API != APIEmbeddings {
		t.res.Chunks = make([]Chunk, 0, n)
	}
	return t
}

// Header records that the response status arrived (its first byte).
func (t *Tracker) Header(status int, now time.Time) {
	if t.header {
		return
	}
	t.header = true
	t.res.Status = status
	t.res.FirstByte = now
	t.sse = t.opt.Stream && t.opt.API != APIEmbeddings && status >= 200 && status < 300
}

// Cut marks the request as abandoned because the measurement window closed:
// Finish then reports it incomplete, crediting the tokens received, whatever
// transport error the cancellation caused.
func (t *Tracker) Cut() { t.cut = true }

// Done reports whether a streamed response's [DONE] event has been read: the
// stream is complete, whatever happens to the connection afterwards.
func (t *Tracker) Done() bool { return t.sse && t.done }

// Complete reports whether the whole response has been read by protocol: a
// stream's [DONE], or a successful non-streamed body that is one complete
// JSON value. A proxy uses it to tell a client that hangs up after the end
// of a response (a success) from one that gives up before it.
func (t *Tracker) Complete() bool {
	if t.sse {
		return t.done
	}
	if !t.header || t.bodyCut || t.res.Status < 200 || t.res.Status >= 300 {
		return false
	}
	body := bytes.TrimSpace(t.body)
	return len(body) > 0 && json.Valid(body)
}

// Write feeds raw body bytes, split anywhere, as they arrive at now. p is
// not retained.
func (t *Tracker) Write(p []byte, now time.Time) {
	if !t.header {
		t.Header(200, now)
	}
	if t.sse && !t.started {
		// A server that ignores "stream": true answers with one JSON
		// object; time it as the non-streamed response it is.
		i := skipWS(p, 0)
		if i == len(p) {
			return // only whitespace so far: nothing to decide or keep
		}
		t.started = true
		if p[i] == '{' {
			t.sse = false
			p = p[i:]
		}
	}
	if !t.sse {
		t.appendBody(p)
		return
	}
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			if t.lineLost {
				return
			}
			if len(t.line)+len(p) > maxLine {
				t.lineLost = true
				t.line = t.line[:0]
				return
			}
			t.line = append(t.line, p...)
			return
		}
		line := p[:i]
		p = p[i+1:]
		if t.lineLost || len(t.line)+len(line) > maxLine {
			// The line is too long to be a chunk we should keep.
			t.lineLost = false
			t.line = t.line[:0]
			t.badEvent()
			continue
		}
		if len(t.line) > 0 {
			t.line = append(t.line, line...)
			line = t.line
		}
		t.handleLine(line, now)
		t.line = t.line[:0]
	}
}

func (t *Tracker) appendBody(p []byte) {
	if len(t.body)+len(p) <= maxBody {
		t.body = append(t.body, p...)
		return
	}
	// Keep only the tail: a huge embeddings body ends with its usage.
	t.bodyCut = true
	t.body = append(t.body, p...)
	if len(t.body) > bodyTail {
		n := copy(t.body, t.body[len(t.body)-bodyTail:])
		t.body = t.body[:n]
	}
}

func (t *Tracker) handleLine(line []byte, now time.Time) {
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	if len(line) == 0 {
		t.dispatch()
		return
	}
	if line[0] == ':' { // comment / keep-alive
		return
	}
	field, value := line, []byte(nil)
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		field, value = line[:i], line[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	if string(field) != "data" {
		return // event, id, retry: not needed for timing
	}
	if len(t.data) > 0 {
		t.data = append(t.data, '\n')
	}
	t.data = append(t.data, value...)
	t.dataAt = now
	if len(t.data) == 0 {
		// An empty data line still makes an event; keep a marker.
		t.data = append(t.data, ' ')
	}
}

// dispatch handles the event whose data lines have been read.
func (t *Tracker) dispatch() {
	if len(t.data) == 0 {
		return
	}
	payload := bytes.TrimSpace(t.data)
	at := t.dataAt
	t.data = t.data[:0]
	if t.done || len(payload) == 0 {
		return // nothing after [DONE] counts; an empty event carries nothing
	}
	t.events++
	if string(payload) == "[DONE]" {
		t.done = true
		return
	}
	if !t.absorb(payload) {
		return
	}
	ci := &t.ci
	tokens := 1
	if ci.hasUsage && ci.completion > t.lastCumulative {
		// Continuous usage stats: the cumulative count tells how many
		// tokens this chunk carried (several with speculative decoding).
		tokens = int(ci.completion - t.lastCumulative)
		t.lastCumulative = ci.completion
	}
	if t.res.FirstTok.IsZero() {
		t.res.FirstTok = at
		if t.opt.FirstToken != nil {
			t.opt.FirstToken.FirstToken(at.Sub(t.res.Scheduled))
		}
	}
	t.chunkTokens += tokens
	t.res.Chunks = append(t.res.Chunks, Chunk{At: at.Sub(t.res.Sent), Tokens: tokens})
}

func (t *Tracker) badEvent() {
	t.malformed++
	if t.firstBad == 0 {
		t.firstBad = t.events
		if t.firstBad == 0 {
			t.firstBad = 1
		}
	}
}

func (t *Tracker) setStreamErr(ci *chunkInfo) {
	if t.streamErr {
		return
	}
	t.streamErr = true
	t.streamErrCode = ci.errCode
	t.streamErrMsg = t.clip(ci.errMsg)
}

// clip keeps the first maxErrDetail bytes of server text, masked first so
// that a secret cut by the clip cannot survive in part.
func (t *Tracker) clip(b []byte) string {
	b = t.opt.Redact.Bytes(b)
	if len(b) > maxErrDetail {
		b = b[:maxErrDetail]
	}
	return string(b)
}

// Finish ends the measurement at now. err is the transport error that ended
// the body, nil after a clean end of body. It classifies the outcome and
// error kind, settles the token counts and returns the Result, which the
// Tracker no longer touches.
func (t *Tracker) Finish(now time.Time, err error) *Result {
	r := &t.res
	r.End = now
	if errors.Is(err, ErrCut) {
		t.cut = true
	}
	if t.sse && err == nil {
		t.dispatch() // an event whose blank line never came
	}
	if !t.sse && t.header {
		t.finishBody(now)
	}
	t.settleTokens()

	switch {
	case t.cut:
		r.Outcome = contract.OutcomeIncomplete
	case errors.Is(err, ErrStalled):
		t.fail(contract.ErrStalled, err.Error())
	case !t.header:
		// No status line: the connection failed before the request was
		// sent (connect), or after it, with no answer (stream_broken).
		kind := contract.ErrStreamBroken
		if beforeSend(err) {
			kind = contract.ErrConnect
		}
		t.fail(transportKind(err, kind), errText(err, "no response"))
	case r.Status < 200 || r.Status >= 300:
		t.fail(statusKind(int64(r.Status)), t.httpDetail())
	case t.streamErr:
		kind := contract.ErrOther
		if c := t.streamErrCode; c >= 400 && c < 600 {
			kind = statusKind(c)
		}
		t.fail(kind, "error event in stream: "+t.streamErrMsg)
	case err != nil:
		t.fail(transportKind(err, contract.ErrStreamBroken), err.Error())
	case t.sse && !t.done:
		t.fail(contract.ErrStreamBroken, "stream ended before [DONE]")
	case t.malformed > 0:
		t.fail(contract.ErrMalformedChunk, fmt.Sprintf("%d malformed event(s), first at event %d", t.malformed, t.firstBad))
	case t.opt.ExpectTokens > 0 && r.OutputTokens < t.opt.ExpectTokens && t.opt.API != APIEmbeddings:
		t.fail(contract.ErrEarlyEOS, fmt.Sprintf("%d output tokens, %d demanded", r.OutputTokens, t.opt.ExpectTokens))
	default:
		r.Outcome = contract.OutcomeSuccess
	}
	if r.Outcome == contract.OutcomeError && !t.sse && r.Status >= 200 && r.Status < 300 {
		// A failed non-streamed request produced no usable first token.
		r.FirstTok = time.Time{}
		r.Chunks = nil
	}
	if !t.sse && !r.FirstTok.IsZero() && t.opt.FirstToken != nil {
		t.opt.FirstToken.FirstToken(r.FirstTok.Sub(r.Scheduled))
	}
	return r
}

func (t *Tracker) fail(kind contract.ErrorKind, detail string) {
	t.res.Outcome = contract.OutcomeError
	t.res.ErrorKind = kind
	t.res.Error = t.opt.Redact.String(detail)
}

// statusKind classifies a non-2xx status (of the response, or of an error
// event in a stream).
func statusKind(code int64) contract.ErrorKind {
	switch {
	case code == 429:
		return contract.ErrRateLimited
	case code >= 500 && code < 600:
		return contract.ErrHTTP5xx
	case code >= 400 && code < 500:
		return contract.ErrHTTP4xx
	}
	return contract.ErrOther
}

// beforeSend reports a transport error that happened before the request
// reached the server: name resolution, dialing, the TLS handshake, writing
// the request. Anything else (a reset or EOF while waiting for the answer,
// a response that is not HTTP) came after the server had the request.
func beforeSend(err error) bool {
	var (
		op   *net.OpError
		dns  *net.DNSError
		cert *tls.CertificateVerificationError
		rec  tls.RecordHeaderError
		alrt tls.AlertError
	)
	switch {
	case errors.As(err, &op):
		return op.Op == "dial" || op.Op == "write"
	case errors.As(err, &dns), errors.As(err, &cert), errors.As(err, &rec), errors.As(err, &alrt):
		return true
	}
	return false
}

// finishBody parses a non-SSE body: an error body, or a whole response.
func (t *Tracker) finishBody(now time.Time) {
	r := &t.res
	body := bytes.TrimSpace(t.body)
	if r.Status < 200 || r.Status >= 300 {
		if parseChunk(body, t.opt.API, &t.ci) && t.ci.isErr {
			t.streamErrMsg = t.clip(t.ci.errMsg)
		} else {
			t.streamErrMsg = t.clip(body)
		}
		return
	}
	if t.bodyCut {
		// Only the tail is left: find the usage object in it.
		if i := bytes.LastIndex(body, []byte(`"usage"`)); i >= 0 {
			if j := bytes.IndexByte(body[i:], ':'); j >= 0 {
				if parseUsage(body, skipWS(body, i+j+1), &t.ci) > 0 && t.ci.hasUsage {
					t.usage = true
					t.usagePrompt, t.usageOut = t.ci.prompt, t.ci.completion
				}
			}
		}
		t.res.FirstTok = now
		return
	}
	if t.absorb(body) {
		r.FirstTok = now
	}
}

// absorb parses one JSON payload (an SSE event's data or a whole
// non-streamed body) into t.ci, records a malformed payload, an error object
// or usage, and reports whether the payload carried a token.
func (t *Tracker) absorb(payload []byte) bool {
	ci := &t.ci
	if !parseChunk(payload, t.opt.API, ci) {
		t.badEvent()
		return false
	}
	if ci.isErr {
		t.setStreamErr(ci)
		return false
	}
	if ci.hasUsage {
		t.usage = true
		t.usagePrompt, t.usageOut = ci.prompt, ci.completion
	}
	return ci.token
}

func (t *Tracker) settleTokens() {
	r := &t.res
	r.PromptTokens = t.opt.PromptTokens
	if t.usage && t.usagePrompt > 0 {
		r.PromptTokens = int(t.usagePrompt)
	}
	switch {
	case t.usage:
		r.OutputTokens = int(t.usageOut)
		r.TokenSource = TokensFromUsage
		r.TokenMismatch = t.sse && t.chunkTokens != int(t.usageOut)
	case t.sse:
		r.OutputTokens = t.chunkTokens
		r.TokenSource = TokensFromChunks
	}
	if !t.sse && !r.FirstTok.IsZero() && t.opt.API != APIEmbeddings {
		n := r.OutputTokens
		if n < 1 {
			n = 1
		}
		r.Chunks = append(r.Chunks[:0], Chunk{At: r.FirstTok.Sub(r.Sent), Tokens: n})
	}
}

func (t *Tracker) httpDetail() string {
	s := "HTTP " + strconv.Itoa(t.res.Status)
	if t.streamErrMsg != "" {
		s += ": " + t.streamErrMsg
	}
	return s
}

func errText(err error, def string) string {
	if err == nil {
		return def
	}
	return err.Error()
}

// transportKind classifies a transport error; def is the kind of anything
// that is neither a timeout nor a cancellation.
func transportKind(err error, def contract.ErrorKind) contract.ErrorKind {
	if err == nil {
		return contract.ErrOther
	}
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return contract.ErrTimeout
	case errors.Is(err, context.Canceled):
		return contract.ErrCanceled
	}
	return def
}

// Lateness is how late the request was sent relative to its schedule.
func (r *Result) Lateness() time.Duration { return r.Sent.Sub(r.Scheduled) }

// TTFT is the time to first token from the scheduled send; ok is false when
// no token arrived.
func (r *Result) TTFT() (d time.Duration, ok bool) {
	if r.FirstTok.IsZero() {
		return 0, false
	}
	return r.FirstTok.Sub(r.Scheduled), true
}

// E2E is the end-to-end latency from the scheduled send.
func (r *Result) E2E() time.Duration { return r.End.Sub(r.Scheduled) }
