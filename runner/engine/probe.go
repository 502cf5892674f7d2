package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"strings"
	"time"

	"github.com/servebench/servebench/internal/redact"
	"github.com/servebench/servebench/runner/audio"
)

// ProbeConfig says how to probe one server for readiness.
type ProbeConfig struct {
	URL    string // base URL without /v1
	APIKey string // bearer token, sent on every probe; empty = none
	// Model is the served id that /v1/models must list; empty = take the
	// first listed model (auto-detection).
	Model    string
	Task     Task          // which 1-token request proves the engine works
	Timeout  time.Duration // overall bound; DefaultReadyTimeout when zero
	Interval time.Duration // between polls; 500ms when zero
	// Died, when set, ends the wait early with the error it delivers.
	Died <-chan error
}

// Probed is what readiness probing learnt about the server.
type Probed struct {
	Model       string // served id
	Root        string // /v1/models "root": the path or id loaded
	MaxModelLen int
	Version     string // GET /version, empty when the server has none
	Elapsed     time.Duration
}

var errProbeTimeout = errors.New("readiness timeout")

// errFatalProbe marks answers that waiting will not fix (bad key, wrong model).
var errFatalProbe = errors.New("probe refused")

// Probe waits until the server at cfg.URL is ready: GET /health answers 200,
// GET /v1/models lists the model, and one real request generating a single
// token (or one embedding) succeeds. Every request carries the API key. A
// 401/403 or a model the server does not list fails at once; anything else is
// retried until the timeout. Progress is logged every 10 seconds.
func Probe(ctx context.Context, client *http.Client, log *slog.Logger, cfg ProbeConfig) (Probed, error) {
	if client == nil {
		client = http.DefaultClient
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultReadyTimeout
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 500 * time.Millisecond
	}
	if cfg.Task == "" {
		cfg.Task = TaskGenerate
	}
	start := time.Now()
	ctx, cancel := context.WithTimeoutCause(ctx, cfg.Timeout, errProbeTimeout)
	defer cancel()
	p := prober{client: client, cfg: cfg}

	stage := "health"
	var last error
	lastLog := start
	var out Probed
	for {
		var err error
		switch stage {
		case "health":
			err = p.health(ctx)
			if err == nil {
				stage = "models"
				continue
			}
		case "models":
			out, err = p.models(ctx)
			if err == nil {
				stage = "request"
				continue
			}
		case "request":
			err = p.request(ctx, out.Model)
			if err == nil {
				out.Version = p.version(ctx)
				out.Elapsed = time.Since(start)
				log.Info("engine ready", "url", cfg.URL, "model", out.Model, "version", out.Version, "elapsed", out.Elapsed.Round(time.Millisecond))
				return out, nil
			}
		}
		if errors.Is(err, errFatalProbe) {
			return out, fmt.Errorf("readiness %s: %w", stage, err)
		}
		if ctx.Err() == nil || last == nil {
			last = err // an error caused by our own deadline says nothing
		}
		if time.Since(lastLog) >= 10*time.Second {
			lastLog = time.Now()
			log.Info("waiting for engine", "url", cfg.URL, "stage", stage, "elapsed", time.Since(start).Round(time.Second), "timeout", cfg.Timeout, "last", last)
		}
		t := time.NewTimer(cfg.Interval)
		select {
		case <-ctx.Done():
			t.Stop()
			if context.Cause(ctx) == errProbeTimeout {
				return out, fmt.Errorf("%w after %s at stage %s: %v", ErrNotReady, cfg.Timeout, stage, last)
			}
			return out, fmt.Errorf("readiness %s: %w", stage, ctx.Err())
		case derr, ok := <-cfg.Died:
			t.Stop()
			if ok && derr != nil {
				return out, derr
			}
			cfg.Died = nil // closed: Stop was called elsewhere; keep waiting for ctx
		case <-t.C:
		}
	}
}

type prober struct {
	client *http.Client
	cfg    ProbeConfig
}

// do sends one probe request bounded by d and returns status and body. An
// answer that did not come within d is an error naming the request and d.
func (p prober) do(ctx context.Context, d time.Duration, method, path string, body any) (code int, b []byte, err error) {
	if body == nil {
		return p.send(ctx, d, method, path, "", nil)
	}
	enc, err := json.Marshal(body)
	if err != nil {
		return 0, nil, err
	}
	return p.send(ctx, d, method, path, "application/json", enc)
}

// send sends one probe request with a body of contentType ("" = none).
func (p prober) send(ctx context.Context, d time.Duration, method, path, contentType string, body []byte) (code int, b []byte, err error) {
	silent := fmt.Errorf("%s %s%s: no answer within %s", method, p.cfg.URL, path, d)
	ctx, cancel := context.WithTimeoutCause(ctx, d, silent)
	defer cancel()
	defer func() {
		if err != nil && context.Cause(ctx) == silent {
			err = silent
		}
	}()
	var rd io.Reader
	if contentType != "" {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.cfg.URL+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if p.cfg.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+p.cfg.APIKey)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return resp.StatusCode, nil, err
	}
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		return resp.StatusCode, b, fmt.Errorf("%w: %s %s answered %d: check the API key", errFatalProbe, method, path, resp.StatusCode)
	}
	return resp.StatusCode, b, nil
}

func (p prober) health(ctx context.Context) error {
	code, _, err := p.do(ctx, 5*time.Second, http.MethodGet, "/health", nil)
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("GET /health answered %d", code)
	}
	return nil
}

func (p prober) models(ctx context.Context) (Probed, error) {
	code, b, err := p.do(ctx, 10*time.Second, http.MethodGet, "/v1/models", nil)
	if err != nil {
		return Probed{}, err
	}
	if code != http.StatusOK {
		return Probed{}, fmt.Errorf("GET /v1/models answered %d", code)
	}
	var list struct {
		Data []struct {
			ID          string `json:"id"`
			Root        string `json:"root"`
			MaxModelLen int    `json:"max_model_len"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &list); err != nil {
		return Probed{}, fmt.Errorf("GET /v1/models: %w", err)
	}
	if len(list.Data) == 0 {
		return Probed{}, errors.New("GET /v1/models lists no model yet")
	}
	var ids []string
	for _, m := range list.Data {
		if p.cfg.Model == "" || m.ID == p.cfg.Model {
			return Probed{Model: m.ID, Root: m.Root, MaxModelLen: m.MaxModelLen}, nil
		}
		ids = append(ids, m.ID)
	}
	return Probed{}, fmt.Errorf("%w: model %q is not served; /v1/models lists %s", errFatalProbe, p.cfg.Model, strings.Join(ids, ", "))
}

// request sends the one real request. Generous bound: the first request on
// CPU may trigger compilation.
func (p prober) request(ctx context.Context, model string) error {
	path, body := "/v1/completions", any(map[string]any{
		"model": model, "prompt": "Hello", "max_tokens": 1, "temperature": 0, "stream": false,
	})
	var code int
	var b []byte
	var err error
	switch p.cfg.Task {
	case TaskEmbed:
		path = "/v1/embeddings"
		code, b, err = p.do(ctx, 5*time.Minute, http.MethodPost, path, map[string]any{"model": model, "input": "Hello"})
	case TaskTranscribe:
		path = "/v1/audio/transcriptions"
		ct, form := silenceForm(model)
		code, b, err = p.send(ctx, 5*time.Minute, http.MethodPost, path, ct, form)
	default:
		code, b, err = p.do(ctx, 5*time.Minute, http.MethodPost, path, body)
	}
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		err := fmt.Errorf("POST %s answered %d: %s", path, code, p.snippet(b))
		if code >= 400 && code < 500 && code != http.StatusTooManyRequests && code != http.StatusRequestTimeout {
			return fmt.Errorf("%w: %w", errFatalProbe, err)
		}
		return err
	}
	var r struct {
		Choices []json.RawMessage `json:"choices"`
		Data    []json.RawMessage `json:"data"`
		Text    *string           `json:"text"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("POST %s: %w", path, err)
	}
	if p.cfg.Task == TaskTranscribe && r.Text == nil {
		return fmt.Errorf("POST %s answered 200 with no text: %s", path, p.snippet(b))
	}
	if p.cfg.Task != TaskTranscribe && len(r.Choices) == 0 && len(r.Data) == 0 {
		return fmt.Errorf("POST %s answered 200 with no choices or data: %s", path, p.snippet(b))
	}
	return nil
}

// silenceForm is a transcription request of one second of 16 kHz silence.
func silenceForm(model string) (contentType string, body []byte) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("model", model)
	fw, _ := mw.CreateFormFile("file", "probe.wav")
	_, _ = fw.Write(audio.EncodeWAV(make([]float64, 16000), audio.Format{SampleRate: 16000, Channels: 1}, ""))
	_ = mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

func (p prober) version(ctx context.Context) string {
	code, b, err := p.do(ctx, 5*time.Second, http.MethodGet, "/version", nil)
	if err != nil || code != http.StatusOK {
		return ""
	}
	var v struct {
		Version string `json:"version"`
	}
	if json.Unmarshal(b, &v) != nil {
		return ""
	}
	return v.Version
}

// snippet is the start of a server's answer for an error message, with the
// API key masked should the server echo it.
func (p prober) snippet(b []byte) string {
	s := strings.TrimSpace(redact.New(p.cfg.APIKey).String(string(b)))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}
