package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/internal/netstamp"
	"github.com/servebench/servebench/internal/redact"
	"github.com/servebench/servebench/runner/audio"
	"github.com/servebench/servebench/runner/workload"
)

// NewClient returns an HTTP client tuned for load generation: keep-alive,
// no limit on connections per host and enough idle ones kept that an open
// loop never waits for a connection slot (no client-side queueing), no
// compression (it would hide chunk timing), no proxy from the environment.
// Timeouts are per request, through the request's context. Its TCP
// connections carry the kernel's receive timestamps (internal/netstamp), so
// chunks are timed by when they reached the host even when the client is
// slow to read them.
func NewClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:                 nil,
		DialContext:           netstamp.DialContext(&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}),
		MaxIdleConns:          0,
		MaxIdleConnsPerHost:   65536,
		MaxConnsPerHost:       0,
		IdleConnTimeout:       90 * time.Second,
		DisableCompression:    true,
		ForceAttemptHTTP2:     false,
		ExpectContinueTimeout: 0,
		// The defaults (4 KiB each): with ten thousand open streams,
		// every KiB per connection is ten MiB.
		WriteBufferSize: 0,
		ReadBufferSize:  0,
	}}
}

// Headers builds the headers every request carries: Config.Header, the
// API key as a bearer token, the JSON content type.
func (c *Config) Headers() http.Header {
	h := http.Header{}
	for k, v := range c.Header {
		h[http.CanonicalHeaderKey(k)] = append([]string(nil), v...)
	}
	if c.APIKey != "" {
		h.Set("Authorization", "Bearer "+c.APIKey)
	}
	h.Set("Content-Type", "application/json")
	if c.API == measure.APITranscriptions {
		h.Set("Content-Type", audioContentType())
	}
	return h
}

// DefaultProbeTimeout bounds each request Run makes before the first
// benchmark (the model list, every /tokenize call) when
// Config.ProbeTimeout is zero.
const DefaultProbeTimeout = 10 * time.Second

// ErrProbeTimeout is wrapped by the error of a start-up request that got
// no complete answer within the probe timeout.
var ErrProbeTimeout = errors.New("no answer within the probe timeout")

// probeContext bounds one start-up request by d.
func probeContext(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		d = DefaultProbeTimeout
	}
	return context.WithTimeoutCause(ctx, d, fmt.Errorf("%w (%s)", ErrProbeTimeout, d))
}

// probeError names what was waited for when ctx's probe deadline ended
// the request; other errors pass through.
func probeError(ctx context.Context, what string, err error) error {
	if err == nil {
		return nil
	}
	if cause := context.Cause(ctx); errors.Is(cause, ErrProbeTimeout) {
		return fmt.Errorf("%s: %w", what, cause)
	}
	return err
}

// Redactor masks the configuration's secrets (the API key, the credential
// headers and SecretHeaders) in server text; nil when there are none.
func (c *Config) Redactor() *redact.Redactor {
	return redact.New(append(redact.HeaderSecrets(c.Headers(), c.SecretHeaders...), c.APIKey)...)
}

// ResolveModel asks the server at base for the first model /v1/models
// lists; Run does this when Config.Model is empty. h is sent as is (API
// key). The request and its answer are bounded by timeout
// (DefaultProbeTimeout when zero): a server that accepts the connection
// and never answers fails with ErrProbeTimeout, naming the URL.
func ResolveModel(ctx context.Context, client *http.Client, base string, h http.Header, timeout time.Duration) (model string, err error) {
	url := trimBase(base) + "/v1/models"
	ctx, cancel := probeContext(ctx, timeout)
	defer cancel()
	defer func() {
		if err != nil {
			err = fmt.Errorf("list models: %w", probeError(ctx, "GET "+url, err))
		}
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	req.Header = h.Clone()
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: HTTP %d: %.200s", url, resp.StatusCode, redact.New(redact.HeaderSecrets(h)...).Bytes(b))
	}
	var out struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return "", fmt.Errorf("GET %s: %w", url, err)
	}
	if len(out.Data) == 0 || out.Data[0].ID == "" {
		return "", fmt.Errorf("GET %s: the server lists no model", url)
	}
	return out.Data[0].ID, nil
}

// probedTokenizer bounds every /tokenize call by the probe timeout.
type probedTokenizer struct {
	workload.Tokenizer
	url     string
	timeout time.Duration
}

func (t probedTokenizer) Count(ctx context.Context, prompt string) (int, error) {
	ctx, cancel := probeContext(ctx, t.timeout)
	defer cancel()
	n, err := t.Tokenizer.Count(ctx, prompt)
	return n, probeError(ctx, "POST "+t.url, err)
}

// prepared is one prompt's request body, built once per run.
type prepared struct {
	body   []byte
	prompt int         // prompt tokens known to the client (0 = unknown)
	expect int         // output tokens demanded with ignore_eos (0 = none)
	max    int         // output tokens asked for (0 = no limit sent)
	hint   int         // chunk list pre-size
	audio  *audio.Clip // the recording a transcription request uploads
}

// buildBodies renders every item's JSON body. The extra body's top-level
// keys override ours, so users can set sampling parameters or drop a field
// with null.
func buildBodies(c *Config, model string, items []workload.Item) ([]prepared, error) {
	out := make([]prepared, len(items))
	for i, it := range items {
		m := map[string]any{"model": model}
		switch c.API {
		case measure.APIEmbeddings:
			m["input"] = it.Prompt
		case measure.APICompletions:
			m["prompt"] = it.Prompt
		default:
			m["messages"] = []map[string]string{{"role": "user", "content": it.Prompt}}
		}
		if c.API != measure.APIEmbeddings {
			if it.OutputTokens > 0 {
				// OpenAI's chat API reads max_completion_tokens, vLLM,
				// llama.cpp and Ollama read max_tokens: send both.
				m["max_tokens"] = it.OutputTokens
				if c.API == measure.APIChat {
					m["max_completion_tokens"] = it.OutputTokens
				}
				if c.IgnoreEOS {
					m["ignore_eos"] = true
				}
			}
			m["stream"] = c.Stream
			if c.Stream {
				m["stream_options"] = map[string]bool{"include_usage": true, "continuous_usage_stats": true}
			}
		}
		for k, v := range c.ExtraBody {
			if v == nil {
				delete(m, k)
				continue
			}
			m[k] = v
		}
		b, err := json.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("request body %d: %w", i, err)
		}
		p := prepared{body: b, prompt: it.PromptTokens, hint: it.OutputTokens + 2, max: askedTokens(m)}
		if c.IgnoreEOS && c.API != measure.APIEmbeddings {
			p.expect = it.OutputTokens
		}
		out[i] = p
	}
	return out, nil
}

func trimBase(u string) string {
	u = strings.TrimRight(u, "/")
	return strings.TrimSuffix(u, "/v1")
}

// askedTokens is the output length a body asks for: the larger of its
// max_tokens and max_completion_tokens (after --extra-body), 0 when it sets
// neither. A server may honour either, so only more than the larger is an
// overrun.
func askedTokens(body map[string]any) int {
	n := 0
	for _, k := range []string{"max_tokens", "max_completion_tokens"} {
		switch v := body[k].(type) {
		case int:
			n = max(n, v)
		case float64:
			n = max(n, int(v))
		}
	}
	return n
}
