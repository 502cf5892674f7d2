package simulator

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/servebench/servebench/runner/simulator/tokenizer"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

const tinyID = "TinyLlama/TinyLlama-1.1B-Chat-v1.0"

// fast is a config that runs the model a hundred times faster than modelled,
// with no load time and a fixed "created" clock.
func fast() Config {
	c := DefaultConfig()
	c.LoadTime = 0
	c.Slowdown = 0.01
	c.Seed = 42
	c.Clock = func() time.Time { return time.Unix(1767225600, 0) }
	return c
}

type testLogWriter struct{ t testing.TB }

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// serve starts an engine on an httptest server (127.0.0.1) for the test.
func serve(t testing.TB, cfg Config) (*Engine, string) {
	t.Helper()
	e, err := New(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	e.Start()
	srv := httptest.NewServer(e.Handler())
	t.Cleanup(func() {
		e.Close()
		srv.Close()
	})
	return e, srv.URL
}

func post(t testing.TB, url, body string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("POST %s: reading body: %v", url, err)
	}
	return resp, b
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run with -update if intended)\n got:\n%s\nwant:\n%s", name, got, want)
	}
}

func TestGoldenTranscripts(t *testing.T) {
	chat := `"model":"` + tinyID + `","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Name three colours."}]`
	comp := `"model":"` + tinyID + `","prompt":"The capital of France is"`
	cases := []struct{ name, path, body string }{
		{"completions_stream.sse", "/v1/completions", `{` + comp + `,"max_tokens":4,"ignore_eos":true,"stream":true}`},
		{"completions_stream_usage.sse", "/v1/completions", `{` + comp + `,"max_tokens":3,"ignore_eos":true,"stream":true,"stream_options":{"include_usage":true}}`},
		{"completions_stream_continuous.sse", "/v1/completions", `{` + comp + `,"max_tokens":3,"ignore_eos":true,"stream":true,"stream_options":{"include_usage":true,"continuous_usage_stats":true}}`},
		{"completions_stream_stop.sse", "/v1/completions", `{` + comp + `,"max_tokens":40,"ignore_eos":true,"stream":true,"stop":[" on"," with"]}`},
		{"completions.json", "/v1/completions", `{` + comp + `,"max_tokens":5,"ignore_eos":true}`},
		{"chat_stream.sse", "/v1/chat/completions", `{` + chat + `,"max_completion_tokens":4,"ignore_eos":true,"stream":true}`},
		{"chat_stream_usage.sse", "/v1/chat/completions", `{` + chat + `,"max_tokens":3,"ignore_eos":true,"stream":true,"stream_options":{"include_usage":true}}`},
		{"chat_stream_continuous.sse", "/v1/chat/completions", `{` + chat + `,"max_tokens":3,"ignore_eos":true,"stream":true,"stream_options":{"include_usage":true,"continuous_usage_stats":true}}`},
		{"chat.json", "/v1/chat/completions", `{` + chat + `,"max_tokens":5,"ignore_eos":true}`},
		{"tokenize.json", "/tokenize", `{"model":"` + tinyID + `","prompt":"Hello, tokenizers!","return_token_strs":true}`},
		{"models.json", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, url := serve(t, fast()) // a fresh engine: ids depend on the arrival number
			var b []byte
			if c.path == "" {
				resp, err := http.Get(url + "/v1/models")
				if err != nil {
					t.Fatal(err)
				}
				b, _ = io.ReadAll(resp.Body)
				resp.Body.Close()
			} else {
				var resp *http.Response
				resp, b = post(t, url+c.path, c.body)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("status %d: %s", resp.StatusCode, b)
				}
				if strings.HasSuffix(c.name, ".sse") && resp.Header.Get("Content-Type") != "text/event-stream; charset=utf-8" {
					t.Errorf("content type %q", resp.Header.Get("Content-Type"))
				}
			}
			golden(t, c.name, b)
		})
	}
}

// sseEvents splits an SSE body into its data payloads.
func sseEvents(t testing.TB, body []byte) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		if !strings.HasPrefix(line, "data: ") {
			t.Fatalf("non-data SSE line %q", line)
		}
		out = append(out, strings.TrimPrefix(line, "data: "))
	}
	return out
}

type chunk struct {
	Choices []struct {
		Text         string  `json:"text"`
		FinishReason *string `json:"finish_reason"`
		Delta        struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"delta"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
		TotalTokens      int `json:"total_tokens"`
	} `json:"usage"`
}

// TestStreamShapes checks the structure behind the golden files: role chunk
// first for chat, one token per content chunk, the finish reason on the last
// token, usage (cumulative with continuous_usage_stats), then [DONE].
func TestStreamShapes(t *testing.T) {
	_, url := serve(t, fast())
	for _, path := range []string{"/v1/completions", "/v1/chat/completions"} {
		for _, opts := range []string{``, `,"stream_options":{"include_usage":true}`, `,"stream_options":{"include_usage":true,"continuous_usage_stats":true}`} {
			input := `"prompt":"one two three"`
			if strings.Contains(path, "chat") {
				input = `"messages":[{"role":"user","content":"one two three"}]`
			}
			_, body := post(t, url+path, `{`+input+`,"max_tokens":6,"ignore_eos":true,"stream":true`+opts+`}`)
			ev := sseEvents(t, body)
			if ev[len(ev)-1] != "[DONE]" {
				t.Fatalf("%s%s: last event %q", path, opts, ev[len(ev)-1])
			}
			ev = ev[:len(ev)-1]
			var chunks []chunk
			for _, e := range ev {
				var c chunk
				if err := json.Unmarshal([]byte(e), &c); err != nil {
					t.Fatalf("%s: bad chunk %q: %v", path, e, err)
				}
				chunks = append(chunks, c)
			}
			if strings.Contains(path, "chat") {
				if chunks[0].Choices[0].Delta.Role != "assistant" || chunks[0].Choices[0].Delta.Content != "" {
					t.Errorf("%s: first chunk is not role-only: %s", path, ev[0])
				}
				chunks = chunks[1:]
			}
			wantUsage := strings.Contains(opts, "include_usage")
			if wantUsage {
				last := chunks[len(chunks)-1]
				if len(last.Choices) != 0 || last.Usage == nil || last.Usage.CompletionTokens != 6 {
					t.Errorf("%s%s: bad usage chunk", path, opts)
				}
				chunks = chunks[:len(chunks)-1]
			}
			if len(chunks) != 6 {
				t.Fatalf("%s%s: %d content chunks, want 6", path, opts, len(chunks))
			}
			for i, c := range chunks {
				fr := c.Choices[0].FinishReason
				if (i == 5) != (fr != nil) {
					t.Errorf("%s%s: chunk %d finish_reason %v", path, opts, i, fr)
				}
				if strings.Contains(opts, "continuous") && (c.Usage == nil || c.Usage.CompletionTokens != i+1) {
					t.Errorf("%s%s: chunk %d lacks cumulative usage", path, opts, i)
				}
			}
		}
	}
}

func TestErrors(t *testing.T) {
	cfg := fast()
	cfg.MaxModelLen = 64
	_, url := serve(t, cfg)
	long := strings.Repeat("word ", 80)
	cases := []struct {
		name, path, body string
		status           int
		msg              string
	}{
		{"malformed json", "/v1/completions", `{"prompt": "hi",`, 400, "malformed JSON"},
		{"wrong type", "/v1/completions", `{"prompt":"hi","max_tokens":"ten"}`, 400, "max_tokens"},
		{"unknown model", "/v1/completions", `{"model":"nobody/none","prompt":"hi"}`, 404, "The model `nobody/none` does not exist."},
		{"unknown model chat", "/v1/chat/completions", `{"model":"x","messages":[{"role":"user","content":"hi"}]}`, 404, "does not exist"},
		{"prompt too long", "/v1/completions", `{"prompt":"` + long + `","max_tokens":1}`, 400, "maximum context length is 64 tokens"},
		{"prompt plus completion too long", "/v1/completions", `{"prompt":"hi there","max_tokens":63}`, 400, "you requested 65 tokens"},
		{"max tokens zero", "/v1/completions", `{"prompt":"hi","max_tokens":0}`, 400, "max_tokens must be at least 1"},
		{"missing prompt", "/v1/completions", `{"max_tokens":3}`, 400, "prompt is required"},
		{"bad prompt", "/v1/completions", `{"prompt":{"a":1}}`, 400, "prompt must be"},
		{"bad token id", "/v1/completions", `{"prompt":[72,-5]}`, 400, "prompt[1]"},
		{"empty messages", "/v1/chat/completions", `{"messages":[]}`, 400, "messages must not be empty"},
		{"stream options without stream", "/v1/completions", `{"prompt":"hi","stream_options":{"include_usage":true}}`, 400, "stream=True"},
		{"n", "/v1/completions", `{"prompt":"hi","n":2}`, 400, "n must be 1"},
		{"bad stop", "/v1/completions", `{"prompt":"hi","stop":3}`, 400, "stop must be"},
		{"embeddings on a generative model", "/v1/embeddings", `{"input":"hi"}`, 400, "does not support the Embeddings API"},
		{"detokenize bad id", "/detokenize", `{"tokens":[-1]}`, 400, "tokens: token 0"},
		{"tokenize nothing", "/tokenize", `{}`, 400, "prompt or messages is required"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := post(t, url+c.path, c.body)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, body)
			}
			var e struct {
				Error *struct {
					Message string  `json:"message"`
					Type    string  `json:"type"`
					Param   *string `json:"param"`
					Code    int     `json:"code"`
				} `json:"error"`
			}
			if err := json.Unmarshal(body, &e); err != nil || e.Error == nil {
				t.Fatalf("not an OpenAI error body: %s", body)
			}
			if e.Error.Code != c.status || e.Error.Type == "" || !strings.Contains(e.Error.Message, c.msg) {
				t.Errorf("error %+v, want code %d and a message containing %q", *e.Error, c.status, c.msg)
			}
			if resp.Header.Get("Content-Type") != "application/json" {
				t.Errorf("content type %q", resp.Header.Get("Content-Type"))
			}
		})
	}
	resp, err := http.Get(url + "/no/such/path")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("unknown path: status %d", resp.StatusCode)
	}
}

// TestTokenCountsAgree: /tokenize, usage.prompt_tokens and the generated
// text's own token count agree exactly.
func TestTokenCountsAgree(t *testing.T) {
	_, url := serve(t, fast())
	prompt := "Explain, in one sentence: why is the sky blue? Answer plainly."
	_, tb := post(t, url+"/tokenize", `{"prompt":`+string(jsonString(prompt))+`}`)
	var tok struct {
		Count       int     `json:"count"`
		Tokens      []int64 `json:"tokens"`
		MaxModelLen int     `json:"max_model_len"`
	}
	if err := json.Unmarshal(tb, &tok); err != nil {
		t.Fatal(err)
	}
	if tok.Count != tokenizer.Count(prompt) || len(tok.Tokens) != tok.Count || tok.MaxModelLen != 2048 {
		t.Fatalf("tokenize: %s", tb)
	}
	_, db := post(t, url+"/detokenize", fmt.Sprintf(`{"tokens":%s}`, mustJSON(tok.Tokens)))
	if !strings.Contains(string(db), `"prompt":`+string(jsonString(prompt))) {
		t.Errorf("detokenize: %s", db)
	}
	for _, ignore := range []bool{true, false} {
		_, cb := post(t, url+"/v1/completions", fmt.Sprintf(`{"prompt":%s,"max_tokens":50,"ignore_eos":%v}`, jsonString(prompt), ignore))
		var r struct {
			Choices []struct {
				Text string `json:"text"`
			} `json:"choices"`
			Usage usage `json:"usage"`
		}
		if err := json.Unmarshal(cb, &r); err != nil {
			t.Fatal(err)
		}
		if r.Usage.PromptTokens != tok.Count {
			t.Errorf("usage.prompt_tokens %d, /tokenize %d", r.Usage.PromptTokens, tok.Count)
		}
		if n := tokenizer.Count(r.Choices[0].Text); n != r.Usage.CompletionTokens {
			t.Errorf("generated text has %d tokens, usage says %d", n, r.Usage.CompletionTokens)
		}
		if ignore && r.Usage.CompletionTokens != 50 {
			t.Errorf("ignore_eos: %d tokens, want 50", r.Usage.CompletionTokens)
		}
	}
	// Chat: /tokenize with messages counts the rendered template.
	msgs := `[{"role":"user","content":"Hello there, how are you?"}]`
	_, tb = post(t, url+"/tokenize", `{"messages":`+msgs+`}`)
	_ = json.Unmarshal(tb, &tok)
	_, cb := post(t, url+"/v1/chat/completions", `{"messages":`+msgs+`,"max_tokens":2}`)
	var r struct{ Usage usage }
	_ = json.Unmarshal(cb, &r)
	if r.Usage.PromptTokens != tok.Count {
		t.Errorf("chat usage.prompt_tokens %d, /tokenize %d", r.Usage.PromptTokens, tok.Count)
	}
	// Token-id prompts count one token per id.
	_, cb = post(t, url+"/v1/completions", `{"prompt":[72,101,108],"max_tokens":2}`)
	_ = json.Unmarshal(cb, &r)
	if r.Usage.PromptTokens != 3 {
		t.Errorf("token-id prompt: %d prompt tokens, want 3", r.Usage.PromptTokens)
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// TestOutputLengths: without ignore_eos, lengths follow the seeded
// distribution capped by max_tokens, and the same seed repeats them.
func TestOutputLengths(t *testing.T) {
	lengths := func(seed uint64) ([]int, map[string]int) {
		cfg := fast()
		cfg.Seed = seed
		cfg.OutputLenMedian = 20
		_, url := serve(t, cfg)
		var out []int
		reasons := map[string]int{}
		for i := range 30 {
			_, b := post(t, url+"/v1/completions", fmt.Sprintf(`{"prompt":"request number %d","max_tokens":30}`, i))
			var r struct {
				Choices []struct {
					FinishReason string `json:"finish_reason"`
				}
				Usage usage
			}
			if err := json.Unmarshal(b, &r); err != nil {
				t.Fatal(err)
			}
			n := r.Usage.CompletionTokens
			if n < 1 || n > 30 {
				t.Fatalf("length %d outside [1, 30]", n)
			}
			fr := r.Choices[0].FinishReason
			if (n == 30) != (fr == "length") {
				t.Errorf("length %d with finish_reason %q", n, fr)
			}
			reasons[fr]++
			out = append(out, n)
		}
		return out, reasons
	}
	a, reasons := lengths(1)
	b, _ := lengths(1)
	c, _ := lengths(2)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("same seed, different lengths:\n%v\n%v", a, b)
	}
	if fmt.Sprint(a) == fmt.Sprint(c) {
		t.Errorf("different seeds, same lengths: %v", a)
	}
	if reasons["stop"] == 0 || reasons["length"] == 0 {
		t.Errorf("median 20 capped at 30 should give both finish reasons, got %v", reasons)
	}
}

func TestEmbeddings(t *testing.T) {
	cfg := fast()
	cfg.Model = "sentence-transformers/all-MiniLM-L6-v2"
	cfg.BlockSize = 16
	_, url := serve(t, cfg)
	for _, input := range []string{`"one sentence here"`, `["first one","second, longer sentence"]`, `[[72,101],[108]]`} {
		resp, b := post(t, url+"/v1/embeddings", `{"input":`+input+`}`)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", input, resp.StatusCode, b)
		}
		var r struct {
			Object string `json:"object"`
			Data   []struct {
				Index     int       `json:"index"`
				Embedding []float64 `json:"embedding"`
			} `json:"data"`
			Usage usage `json:"usage"`
		}
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		if r.Object != "list" || len(r.Data) == 0 || len(r.Data[0].Embedding) != 384 || r.Usage.PromptTokens == 0 {
			t.Errorf("%s: unexpected response %.200s", input, b)
		}
	}
	resp, _ := post(t, url+"/v1/completions", `{"prompt":"hi"}`)
	if resp.StatusCode != 400 {
		t.Errorf("completions on an embedding model: %d", resp.StatusCode)
	}
}

// TestEmbeddingFormats checks encoding_format base64 (what the OpenAI SDKs
// ask for by default) against the float answer, and "dimensions", which
// vLLM honours only for matryoshka models.
func TestEmbeddingFormats(t *testing.T) {
	vector := func(t *testing.T, url, body string) []float64 {
		t.Helper()
		resp, b := post(t, url+"/v1/embeddings", body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", body, resp.StatusCode, b)
		}
		var r struct {
			Data []struct {
				Embedding json.RawMessage `json:"embedding"`
			} `json:"data"`
		}
		if err := json.Unmarshal(b, &r); err != nil || len(r.Data) != 1 {
			t.Fatalf("%s: %v %.200s", body, err, b)
		}
		var v []float64
		if json.Unmarshal(r.Data[0].Embedding, &v) == nil {
			return v
		}
		var s string
		if err := json.Unmarshal(r.Data[0].Embedding, &s); err != nil {
			t.Fatalf("embedding is neither floats nor a string: %s", r.Data[0].Embedding)
		}
		raw, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(raw)%4 != 0 {
			t.Fatalf("base64 embedding: %v (%d bytes)", err, len(raw))
		}
		for i := 0; i < len(raw); i += 4 {
			v = append(v, float64(math.Float32frombits(binary.LittleEndian.Uint32(raw[i:]))))
		}
		return v
	}
	norm := func(v []float64) float64 {
		var n float64
		for _, x := range v {
			n += x * x
		}
		return math.Sqrt(n)
	}

	cfg := fast()
	cfg.Model = "sentence-transformers/all-MiniLM-L6-v2"
	cfg.BlockSize = 16
	_, url := serve(t, cfg)
	f := vector(t, url, `{"input":"the same text"}`)
	b := vector(t, url, `{"input":"the same text","encoding_format":"base64"}`)
	if len(f) != 384 || len(b) != 384 {
		t.Fatalf("lengths: float %d, base64 %d; want 384", len(f), len(b))
	}
	for i := range f {
		if math.Abs(f[i]-b[i]) > 1e-6 {
			t.Fatalf("component %d: float %g, base64 %g", i, f[i], b[i])
		}
	}
	for _, c := range []struct{ body, want string }{
		{`{"input":"x","encoding_format":"int8"}`, `encoding_format: \"int8\" is not one of`},
		{`{"input":"x","dimensions":128}`, "does not support matryoshka representation"},
	} {
		resp, body := post(t, url+"/v1/embeddings", c.body)
		if resp.StatusCode != 400 || !strings.Contains(string(body), c.want) {
			t.Errorf("%s: %d %s, want 400 with %q", c.body, resp.StatusCode, body, c.want)
		}
	}

	cfg.Model = "jinaai/jina-embeddings-v3"
	_, url = serve(t, cfg)
	full := vector(t, url, `{"input":"the same text"}`)
	short := vector(t, url, `{"input":"the same text","dimensions":256,"encoding_format":"base64"}`)
	if len(full) != 1024 || len(short) != 256 {
		t.Fatalf("lengths: %d and %d, want 1024 and 256", len(full), len(short))
	}
	if n := norm(short); math.Abs(n-1) > 1e-5 {
		t.Errorf("a truncated embedding is normalised again; norm %g", n)
	}
	// The first components keep their direction (truncation, not a new vector).
	if ratio := short[0] / full[0]; ratio <= 1 || math.Abs(short[1]/full[1]-ratio) > 1e-3 {
		t.Errorf("truncated vector is not a rescaled prefix: %g/%g, %g/%g", short[0], full[0], short[1], full[1])
	}
	resp, body := post(t, url+"/v1/embeddings", `{"input":"x","dimensions":100}`)
	if resp.StatusCode != 400 || !strings.Contains(string(body), "only supports [32 64 128 256 512 768 1024] matryoshka dimensions") {
		t.Errorf("dimensions 100: %d %s", resp.StatusCode, body)
	}
}

func TestHealthWaitsForLoad(t *testing.T) {
	cfg := fast()
	// Long enough that a busy machine still probes inside the load window.
	cfg.LoadTime = 600 * time.Millisecond
	cfg.Faults.SlowLoad = 600 * time.Millisecond
	e, err := New(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e.Handler())
	defer srv.Close()
	defer e.Close()
	status := func() int {
		resp, err := http.Get(srv.URL + "/health")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := status(); s != 503 {
		t.Errorf("before Start: %d, want 503", s)
	}
	start := time.Now()
	e.Start()
	if s := status(); s != 503 {
		t.Errorf("while loading: %d, want 503", s)
	}
	if resp, b := post(t, srv.URL+"/v1/completions", `{"prompt":"early"}`); resp.StatusCode != 503 || !strings.Contains(string(b), "still loading") {
		t.Errorf("completion while loading: %d %s", resp.StatusCode, b)
	}
	for status() != 200 {
		if time.Since(start) > 5*time.Second {
			t.Fatal("never became healthy")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if d := time.Since(start); d < 1200*time.Millisecond {
		t.Errorf("healthy after %s, want >= load time + slow load (1.2s)", d)
	}
	resp, err := http.Get(srv.URL + "/version")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `"version":"0.11.0+sim"`) {
		t.Errorf("/version: %s", b)
	}
}
