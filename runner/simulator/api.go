package simulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/servebench/servebench/runner/simulator/tokenizer"
)

func (e *Engine) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", e.handleHealth)
	mux.HandleFunc("GET /v1/models", e.handleModels)
	mux.HandleFunc("GET /version", e.handleVersion)
	mux.Handle("GET /metrics", promhttp.HandlerFor(e.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("POST /v1/completions", func(w http.ResponseWriter, r *http.Request) { e.handleGenerate(w, r, kindCompletion) })
	mux.HandleFunc("POST /v1/chat/completions", func(w http.ResponseWriter, r *http.Request) { e.handleGenerate(w, r, kindChat) })
	mux.HandleFunc("POST /v1/embeddings", e.handleEmbeddings)
	mux.HandleFunc("POST /v1/audio/transcriptions", e.handleTranscription)
	mux.HandleFunc("POST /tokenize", e.handleTokenize)
	mux.HandleFunc("POST /detokenize", e.handleDetokenize)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]string{"detail": "Not Found"})
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if e.dead.Load() {
			panic(http.ErrAbortHandler) // a crashed server answers nothing
		}
		if r.Method == http.MethodPost && !e.Ready() {
			// vLLM does not listen before its engine is built; answering 503
			// is the nearest an in-process server that already listens gets.
			writeError(w, http.StatusServiceUnavailable, "the model is still loading")
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// apiError is the OpenAI error body vLLM returns.
type apiError struct {
	Error apiErrorInfo `json:"error"`
}

type apiErrorInfo struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    int     `json:"code"`
}

var errorTypes = map[int]string{
	http.StatusBadRequest:          "BadRequestError",
	http.StatusNotFound:            "NotFoundError",
	http.StatusInternalServerError: "InternalServerError",
	http.StatusServiceUnavailable:  "ServiceUnavailableError",
}

func writeError(w http.ResponseWriter, status int, format string, a ...any) {
	writeJSON(w, status, apiError{Error: apiErrorInfo{Message: fmt.Sprintf(format, a...), Type: errorTypes[status], Code: status}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"message":"encoding response","type":"InternalServerError","param":null,"code":500}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func (e *Engine) handleHealth(w http.ResponseWriter, r *http.Request) {
	if !e.Ready() {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}

type modelCard struct {
	ID          string  `json:"id"`
	Object      string  `json:"object"`
	Created     int64   `json:"created"`
	OwnedBy     string  `json:"owned_by"`
	Root        string  `json:"root"`
	Parent      *string `json:"parent"`
	MaxModelLen int     `json:"max_model_len"`
}

func (e *Engine) handleModels(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, struct {
		Object string      `json:"object"`
		Data   []modelCard `json:"data"`
	}{"list", []modelCard{{
		ID: e.cfg.ServedModelName, Object: "model", Created: e.cfg.Clock().Unix(), OwnedBy: "vllm",
		Root: e.cfg.Model, MaxModelLen: e.maxModelLen,
	}}})
}

func (e *Engine) handleVersion(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"version": e.cfg.Version})
}

// decode reads a JSON body; a malformed body is a 400 naming the problem.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, "reading request body: %v", err)
		return false
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			writeError(w, http.StatusBadRequest, "invalid type for field %q: expected %s", te.Field, te.Type)
		} else {
			writeError(w, http.StatusBadRequest, "malformed JSON body: %v", err)
		}
		return false
	}
	return true
}

// checkModel answers 404 for a model this server does not serve.
func (e *Engine) checkModel(w http.ResponseWriter, model string) bool {
	if model != "" && model != e.cfg.ServedModelName {
		writeError(w, http.StatusNotFound, "The model `%s` does not exist.", model)
		return false
	}
	return true
}

type streamOptions struct {
	IncludeUsage         bool `json:"include_usage"`
	ContinuousUsageStats bool `json:"continuous_usage_stats"`
}

type chatMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

type generateRequest struct {
	Model               string          `json:"model"`
	Prompt              json.RawMessage `json:"prompt"`
	Messages            []chatMessage   `json:"messages"`
	MaxTokens           *int            `json:"max_tokens"`
	MaxCompletionTokens *int            `json:"max_completion_tokens"`
	Stream              bool            `json:"stream"`
	StreamOptions       *streamOptions  `json:"stream_options"`
	IgnoreEOS           bool            `json:"ignore_eos"`
	Stop                json.RawMessage `json:"stop"`
	N                   *int            `json:"n"`
}

// input is a parsed prompt: its text (for hashing and chat templates) or ids.
type input struct {
	text   string
	ids    []int64
	tokens int
}

func (in input) key(seed uint64) uint64 {
	if in.ids == nil {
		return hashString(seed, in.text)
	}
	var b strings.Builder
	for _, id := range in.ids {
		b.WriteString(strconv.FormatInt(id, 36))
		b.WriteByte(',')
	}
	return hashString(seed^0x1d5, b.String())
}

func textInput(s string) input { return input{text: s, tokens: tokenizer.Count(s)} }

func idsInput(field string, ids []int64) (input, error) {
	for i, id := range ids {
		if _, err := tokenizer.Piece(id); err != nil {
			return input{}, fmt.Errorf("%s[%d]: %w", field, i, err)
		}
	}
	return input{ids: ids, tokens: len(ids)}, nil
}

// blockHashes is the hash chain of the prompt's full blocks of blockSize
// tokens (perfmodel.Seq.BlockHashes): hash i depends on every token of
// blocks 0..i, so equal hashes mean equal prefixes.
func (in input) blockHashes(blockSize int, seed uint64) []uint64 {
	ids := in.ids
	if ids == nil {
		ids = tokenizer.IDs(in.text)
	}
	out := make([]uint64, 0, len(ids)/blockSize)
	h := splitmix64(seed ^ 0x70726566)
	for i, id := range ids {
		h = splitmix64(h ^ uint64(id))
		if (i+1)%blockSize == 0 {
			out = append(out, h)
		}
	}
	return out
}

// parsePrompts reads a prompt or embeddings input: a string, a list of
// strings, a list of token ids, or a list of token-id lists.
func parsePrompts(field string, raw json.RawMessage) ([]input, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, fmt.Errorf("%s is required", field)
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []input{textInput(s)}, nil
	}
	var ss []string
	if json.Unmarshal(raw, &ss) == nil && len(ss) > 0 {
		out := make([]input, len(ss))
		for i, x := range ss {
			out[i] = textInput(x)
		}
		return out, nil
	}
	var ids []int64
	if json.Unmarshal(raw, &ids) == nil && len(ids) > 0 {
		in, err := idsInput(field, ids)
		return []input{in}, err
	}
	var idss [][]int64
	if json.Unmarshal(raw, &idss) == nil && len(idss) > 0 {
		out := make([]input, len(idss))
		for i, x := range idss {
			in, err := idsInput(fmt.Sprintf("%s[%d]", field, i), x)
			if err != nil {
				return nil, err
			}
			out[i] = in
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s must be a string, a list of strings, or a list of token ids", field)
}

// renderChat applies the simulator's chat template: "<|role|>\n" content
// "\n" per message, then "<|assistant|>\n" (the generation prompt).
func renderChat(msgs []chatMessage, addGenerationPrompt bool) (string, error) {
	if len(msgs) == 0 {
		return "", errors.New("messages must not be empty")
	}
	var b strings.Builder
	for i, m := range msgs {
		if m.Role == "" {
			return "", fmt.Errorf("messages[%d].role is required", i)
		}
		text, err := messageText(m.Content)
		if err != nil {
			return "", fmt.Errorf("messages[%d].content: %w", i, err)
		}
		b.WriteString("<|" + m.Role + "|>\n" + text + "\n")
	}
	if addGenerationPrompt {
		b.WriteString("<|assistant|>\n")
	}
	return b.String(), nil
}

func messageText(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", errors.New("must be a string or a list of content parts")
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Type == "text" {
			b.WriteString(p.Text)
		}
	}
	return b.String(), nil
}

func parseStop(raw json.RawMessage) ([]string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []string{s}, nil
	}
	var ss []string
	if err := json.Unmarshal(raw, &ss); err != nil {
		return nil, errors.New("stop must be a string or a list of strings")
	}
	return ss, nil
}

// newID is a deterministic request id: prefix + 16 hex digits of the seed
// and arrival number.
func (e *Engine) newID(prefix string, n uint64) string {
	return prefix + fmt.Sprintf("%016x", splitmix64(e.cfg.Seed^splitmix64(n)))
}

// draw decides a rate-based fault for arrival n.
func (e *Engine) draw(n uint64, fault uint64, rate float64) bool {
	return rate > 0 && unit(splitmix64(e.cfg.Seed^splitmix64(n)^fault*0x9e3779b97f4a7c15)) < rate
}

// generation is a validated generation request.
type generation struct {
	in        input
	stop      []string
	maxTokens *int // as requested
	tokens    int  // the output budget: max_tokens or its default
}

// badRequest is a validation failure answered with 400.
type badRequest struct{ msg string }

func (b badRequest) Error() string { return b.msg }

func badf(format string, a ...any) error { return badRequest{fmt.Sprintf(format, a...)} }

// parseGeneration validates a completions or chat request the way vLLM does.
func (e *Engine) parseGeneration(req generateRequest, k kind, path string) (generation, error) {
	var g generation
	switch {
	case e.sc.Profile.Embedding:
		return g, badf("The model %s is an embedding model and does not support %s", e.cfg.ServedModelName, path)
	case e.sc.Profile.EncoderDecoder():
		return g, badf("The model %s is a speech-to-text model and does not support %s; use /v1/audio/transcriptions", e.cfg.ServedModelName, path)
	case req.N != nil && *req.N != 1:
		return g, badf("n must be 1 in the simulator, got %d", *req.N)
	case req.StreamOptions != nil && !req.Stream:
		return g, badf("Stream options can only be defined when `stream=True`.")
	}
	if k == kindChat {
		text, err := renderChat(req.Messages, true)
		if err != nil {
			return g, badRequest{err.Error()}
		}
		g.in = textInput(text)
	} else {
		ins, err := parsePrompts("prompt", req.Prompt)
		if err != nil {
			return g, badRequest{err.Error()}
		}
		if len(ins) != 1 {
			return g, badf("prompt: the simulator serves one prompt per request, got %d", len(ins))
		}
		g.in = ins[0]
	}
	stop, err := parseStop(req.Stop)
	if err != nil {
		return g, badRequest{err.Error()}
	}
	g.stop = stop
	g.maxTokens = req.MaxTokens
	if k == kindChat && req.MaxCompletionTokens != nil {
		g.maxTokens = req.MaxCompletionTokens
	}
	prompt, mml := g.in.tokens, e.maxModelLen
	if prompt >= mml { // no room left for a single output token
		return g, badf("This model's maximum context length is %d tokens. However, your request has %d input tokens. Please reduce the length of the input messages.", mml, prompt)
	}
	limit := mml - prompt
	switch mt := g.maxTokens; {
	case mt != nil && *mt < 1:
		return g, badf("max_tokens must be at least 1, got %d.", *mt)
	case mt != nil && *mt > limit:
		return g, badf("This model's maximum context length is %d tokens. However, you requested %d tokens (%d in the messages, %d in the completion). Please reduce the length of the messages or completion.", mml, prompt+*mt, prompt, *mt)
	case mt != nil:
		g.tokens = *mt
	case k == kindCompletion:
		g.tokens = min(16, limit) // the OpenAI completions default, as vLLM
	default:
		g.tokens = limit
	}
	return g, nil
}

func (e *Engine) handleGenerate(w http.ResponseWriter, r *http.Request, k kind) {
	var req generateRequest
	if !decode(w, r, &req) || !e.checkModel(w, req.Model) {
		return
	}
	g, err := e.parseGeneration(req, k, r.URL.Path)
	if err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	in := g.in
	n := e.arrivals.Add(1) - 1
	f := e.cfg.Faults
	if e.draw(n, 1, f.ErrorRate) {
		writeError(w, http.StatusInternalServerError, "simulated engine error (fault injection)")
		return
	}
	prefix := "cmpl-"
	if k == kindChat {
		prefix = "chatcmpl-"
	}
	q := &request{
		kind: k, id: e.newID(prefix, n), created: e.cfg.Clock().Unix(), prompt: in.tokens,
		plan:   makePlan(in.key(e.cfg.Seed), g.tokens, req.IgnoreEOS, e.cfg.OutputLenMedian, e.cfg.OutputLenSigma, g.stop),
		notify: make(chan struct{}, 1), cutCh: make(chan struct{}),
	}
	if g.maxTokens != nil {
		q.maxTokens = *g.maxTokens
	}
	if req.Stream {
		q.stall = e.draw(n, 2, f.StallRate) && f.StallAfter < q.plan.n
		q.drop = e.draw(n, 3, f.DropRate) && f.DropAfter < q.plan.n
		q.malformed = e.draw(n, 4, f.MalformedRate) && f.MalformedAfter < q.plan.n
	}
	q.seq = newSeq(q, in.tokens, q.plan.n)
	if e.sc.PrefixCaching {
		q.seq.BlockHashes = in.blockHashes(e.sc.BlockSize, e.cfg.Seed)
	}
	if err := e.submit(q); err != nil {
		writeError(w, http.StatusServiceUnavailable, "%v", err)
		return
	}
	defer e.finish(q)
	if req.Stream {
		so := streamOptions{}
		if req.StreamOptions != nil {
			so = *req.StreamOptions
		}
		e.stream(r.Context(), w, q, so.IncludeUsage, so.ContinuousUsageStats)
		return
	}
	due, err := q.wait(r.Context())
	if err != nil {
		if errors.Is(err, ErrClosed) || errors.Is(err, ErrCrashed) {
			panic(http.ErrAbortHandler)
		}
		return
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	if len(due) > 0 && !q.sleepUntil(r.Context(), timer, due[len(due)-1]) {
		if _, _, cut := q.state(); cut != nil {
			panic(http.ErrAbortHandler)
		}
		return
	}
	writeJSON(w, http.StatusOK, e.fullResponse(q))
}

// finish releases q and fires the crash fault when q was the last request
// the engine was allowed to serve.
func (e *Engine) finish(q *request) {
	e.release(q)
	if q.crashAfter {
		e.crash()
	}
}

type usage struct {
	PromptTokens        int  `json:"prompt_tokens"`
	TotalTokens         int  `json:"total_tokens"`
	CompletionTokens    int  `json:"completion_tokens"`
	PromptTokensDetails *int `json:"prompt_tokens_details"`
}

type completionChoice struct {
	Index        int     `json:"index"`
	Text         string  `json:"text"`
	Logprobs     *int    `json:"logprobs"`
	FinishReason string  `json:"finish_reason"`
	StopReason   *string `json:"stop_reason"`
}

type chatChoice struct {
	Index        int            `json:"index"`
	Message      chatMessageOut `json:"message"`
	Logprobs     *int           `json:"logprobs"`
	FinishReason string         `json:"finish_reason"`
	StopReason   *string        `json:"stop_reason"`
}

type chatMessageOut struct {
	Role      string `json:"role"`
	Content   string `json:"content"`
	ToolCalls []any  `json:"tool_calls"`
}

type fullResponse struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	Model   string `json:"model"`
	Choices any    `json:"choices"`
	Usage   usage  `json:"usage"`
}

func (e *Engine) fullResponse(q *request) fullResponse {
	var stop *string
	if q.plan.stopReason != "" {
		s := q.plan.stopReason
		stop = &s
	}
	resp := fullResponse{ID: q.id, Created: q.created, Model: e.cfg.ServedModelName,
		Usage: usage{PromptTokens: q.prompt, CompletionTokens: q.plan.n, TotalTokens: q.prompt + q.plan.n}}
	if q.kind == kindChat {
		resp.Object = "chat.completion"
		resp.Choices = []chatChoice{{Message: chatMessageOut{Role: "assistant", Content: q.plan.text(), ToolCalls: []any{}},
			FinishReason: q.plan.reason, StopReason: stop}}
	} else {
		resp.Object = "text_completion"
		resp.Choices = []completionChoice{{Text: q.plan.text(), FinishReason: q.plan.reason, StopReason: stop}}
	}
	return resp
}

type embeddingsRequest struct {
	Model          string          `json:"model"`
	Input          json.RawMessage `json:"input"`
	EncodingFormat string          `json:"encoding_format"`
	Dimensions     *int            `json:"dimensions"`
}

// embeddingData is one vector: a list of floats, or with encoding_format
// base64 the little-endian float32 bytes in base64, as vLLM encodes them.
type embeddingData struct {
	Index     int    `json:"index"`
	Object    string `json:"object"`
	Embedding any    `json:"embedding"`
}

// embeddingDims checks a request's "dimensions" the way vLLM's pooling
// parameters do and returns the vector length to answer with.
func (e *Engine) embeddingDims(req embeddingsRequest) (int, error) {
	p := e.sc.Profile
	if req.Dimensions == nil {
		return p.EmbedDim, nil
	}
	d := *req.Dimensions
	switch {
	case !p.Matryoshka:
		return 0, badf("Model %q does not support matryoshka representation, changing output dimensions will lead to poor results.", e.cfg.ServedModelName)
	case len(p.MatryoshkaDims) > 0 && !slices.Contains(p.MatryoshkaDims, d):
		return 0, badf("Model %q only supports %v matryoshka dimensions, use other output dimensions will lead to poor results.", e.cfg.ServedModelName, p.MatryoshkaDims)
	case d < 1:
		return 0, badf("Dimensions must be greater than 0")
	case d > p.EmbedDim:
		return 0, badf("dimensions %d is larger than the model's %d", d, p.EmbedDim)
	}
	return d, nil
}

func (e *Engine) handleEmbeddings(w http.ResponseWriter, r *http.Request) {
	var req embeddingsRequest
	if !decode(w, r, &req) || !e.checkModel(w, req.Model) {
		return
	}
	if !e.sc.Profile.Embedding {
		writeError(w, http.StatusBadRequest, "The model %s is a generative model and does not support the Embeddings API", e.cfg.ServedModelName)
		return
	}
	b64 := false
	switch req.EncodingFormat {
	case "", "float":
	case "base64":
		b64 = true
	default:
		writeError(w, http.StatusBadRequest, "encoding_format: %q is not one of 'float', 'base64'", req.EncodingFormat)
		return
	}
	dims, err := e.embeddingDims(req)
	if err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	ins, err := parsePrompts("input", req.Input)
	if err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	for i, in := range ins {
		if in.tokens > e.maxModelLen {
			writeError(w, http.StatusBadRequest, "input[%d]: This model's maximum context length is %d tokens. However, your request has %d input tokens. Please reduce the length of the input.", i, e.maxModelLen, in.tokens)
			return
		}
		if in.tokens == 0 {
			writeError(w, http.StatusBadRequest, "input[%d] is empty", i)
			return
		}
	}
	n := e.arrivals.Add(1) - 1
	if e.draw(n, 1, e.cfg.Faults.ErrorRate) {
		writeError(w, http.StatusInternalServerError, "simulated engine error (fault injection)")
		return
	}
	qs := make([]*request, len(ins))
	total := 0
	for i, in := range ins {
		q := &request{kind: kindEmbedding, prompt: in.tokens, plan: plan{reason: reasonStop}, notify: make(chan struct{}, 1), cutCh: make(chan struct{})}
		q.seq = newSeq(q, in.tokens, 0)
		if err := e.submit(q); err != nil {
			writeError(w, http.StatusServiceUnavailable, "%v", err)
			return
		}
		defer e.finish(q)
		qs[i] = q
		total += in.tokens
	}
	data := make([]embeddingData, len(ins))
	for i, q := range qs {
		if _, err := q.wait(r.Context()); err != nil {
			if errors.Is(err, ErrClosed) || errors.Is(err, ErrCrashed) {
				panic(http.ErrAbortHandler)
			}
			return
		}
		v := embedding(ins[i].key(e.cfg.Seed), e.sc.Profile.EmbedDim, dims)
		data[i] = embeddingData{Index: i, Object: "embedding", Embedding: v}
		if b64 {
			data[i].Embedding = base64Float32(v)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": e.newID("embd-", n), "object": "list", "created": e.cfg.Clock().Unix(), "model": e.cfg.ServedModelName,
		"data": data, "usage": usage{PromptTokens: total, TotalTokens: total},
	})
}

type tokenizeRequest struct {
	Model               string        `json:"model"`
	Prompt              *string       `json:"prompt"`
	Messages            []chatMessage `json:"messages"`
	AddGenerationPrompt *bool         `json:"add_generation_prompt"`
	ReturnTokenStrs     bool          `json:"return_token_strs"`
}

func (e *Engine) handleTokenize(w http.ResponseWriter, r *http.Request) {
	var req tokenizeRequest
	if !decode(w, r, &req) || !e.checkModel(w, req.Model) {
		return
	}
	var text string
	switch {
	case req.Prompt != nil:
		text = *req.Prompt
	case req.Messages != nil:
		add := req.AddGenerationPrompt == nil || *req.AddGenerationPrompt
		t, err := renderChat(req.Messages, add)
		if err != nil {
			writeError(w, http.StatusBadRequest, "%v", err)
			return
		}
		text = t
	default:
		writeError(w, http.StatusBadRequest, "prompt or messages is required")
		return
	}
	toks := tokenizer.Encode(text)
	ids := make([]int64, len(toks))
	var strs []string
	for i, t := range toks {
		ids[i] = t.ID
		if req.ReturnTokenStrs {
			strs = append(strs, t.Text)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"count": len(ids), "max_model_len": e.maxModelLen, "tokens": ids, "token_strs": strs})
}

func (e *Engine) handleDetokenize(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Model  string  `json:"model"`
		Tokens []int64 `json:"tokens"`
	}
	if !decode(w, r, &req) || !e.checkModel(w, req.Model) {
		return
	}
	text, err := tokenizer.Decode(req.Tokens)
	if err != nil {
		writeError(w, http.StatusBadRequest, "tokens: %v", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"prompt": text})
}
