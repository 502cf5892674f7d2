package engine

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeServer is an OpenAI-compatible server that insists on a bearer token
// on every path and becomes healthy after unhealthy /health answers.
type fakeServer struct {
	key       string
	unhealthy int // /health answers 503 this many times first
	models    []string

	mu    sync.Mutex
	paths []string
	auth  []string
	body  map[string]any
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.paths = append(f.paths, r.Method+" "+r.URL.Path)
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	f.mu.Unlock()
	if f.key != "" && r.Header.Get("Authorization") != "Bearer "+f.key {
		http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
		return
	}
	switch r.URL.Path {
	case "/health":
		f.mu.Lock()
		sick := f.unhealthy > 0
		f.unhealthy--
		f.mu.Unlock()
		if sick {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	case "/v1/models":
		var data []map[string]any
		for _, m := range f.models {
			data = append(data, map[string]any{"id": m, "object": "model", "root": "/models/" + m, "max_model_len": 2048})
		}
		json.NewEncoder(w).Encode(map[string]any{"object": "list", "data": data})
	case "/v1/completions":
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		json.Unmarshal(b, &f.body)
		f.mu.Unlock()
		io.WriteString(w, `{"choices":[{"text":" world","index":0}],"usage":{"completion_tokens":1}}`)
	case "/v1/embeddings":
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		json.Unmarshal(b, &f.body)
		f.mu.Unlock()
		io.WriteString(w, `{"data":[{"embedding":[0.1,0.2],"index":0}]}`)
	case "/version":
		io.WriteString(w, `{"version":"0.11.0"}`)
	default:
		http.NotFound(w, r)
	}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestProbeSendsKeyOnEveryRequestAndAutoDetects(t *testing.T) {
	f := &fakeServer{key: "sekret", unhealthy: 2, models: []string{"qwen3-0.6b", "other"}}
	srv := httptest.NewServer(f)
	defer srv.Close()

	p, err := Probe(context.Background(), srv.Client(), quiet(), ProbeConfig{URL: srv.URL, APIKey: "sekret", Interval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if p.Model != "qwen3-0.6b" || p.Root != "/models/qwen3-0.6b" || p.MaxModelLen != 2048 || p.Version != "0.11.0" {
		t.Errorf("probed %+v", p)
	}
	want := []string{"GET /health", "GET /health", "GET /health", "GET /v1/models", "POST /v1/completions", "GET /version"}
	if strings.Join(f.paths, "|") != strings.Join(want, "|") {
		t.Errorf("paths %v, want %v", f.paths, want)
	}
	for i, a := range f.auth {
		if a != "Bearer sekret" {
			t.Errorf("request %d (%s) carried Authorization %q", i, f.paths[i], a)
		}
	}
	if f.body["max_tokens"] != float64(1) || f.body["model"] != "qwen3-0.6b" {
		t.Errorf("completion body %v", f.body)
	}
}

func TestProbeEmbedTask(t *testing.T) {
	f := &fakeServer{models: []string{"all-MiniLM-L6-v2"}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	if _, err := Probe(context.Background(), srv.Client(), quiet(), ProbeConfig{URL: srv.URL, Task: TaskEmbed, Model: "all-MiniLM-L6-v2"}); err != nil {
		t.Fatal(err)
	}
	if f.paths[2] != "POST /v1/embeddings" || f.body["input"] != "Hello" {
		t.Errorf("paths %v body %v", f.paths, f.body)
	}
}

func TestProbeFailures(t *testing.T) {
	for _, tc := range []struct {
		name    string
		srv     *fakeServer
		cfg     ProbeConfig
		want    string
		notRdy  bool
		maxWait time.Duration
	}{
		{name: "wrong key fails at once", srv: &fakeServer{key: "right", models: []string{"m"}}, cfg: ProbeConfig{APIKey: "wrong"},
			want: "readiness health: probe refused: GET /health answered 401: check the API key"},
		{name: "model not served", srv: &fakeServer{models: []string{"a", "b"}}, cfg: ProbeConfig{Model: "c"},
			want: `readiness models: probe refused: model "c" is not served; /v1/models lists a, b`},
		{name: "never healthy", srv: &fakeServer{unhealthy: 1 << 30, models: []string{"m"}}, cfg: ProbeConfig{Timeout: 150 * time.Millisecond},
			want: "engine not ready after 150ms at stage health: GET /health answered 503", notRdy: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.srv)
			defer srv.Close()
			tc.cfg.URL, tc.cfg.Interval = srv.URL, 10*time.Millisecond
			_, err := Probe(context.Background(), srv.Client(), quiet(), tc.cfg)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("err = %v\nwant %s", err, tc.want)
			}
			if errors.Is(err, ErrNotReady) != tc.notRdy {
				t.Errorf("errors.Is(ErrNotReady) = %v", !tc.notRdy)
			}
		})
	}
}

func TestProbeReturnsWhenEngineDies(t *testing.T) {
	srv := httptest.NewServer(&fakeServer{unhealthy: 1 << 30})
	defer srv.Close()
	died := make(chan error, 1)
	exit := &ExitError{Name: "e", ExitCode: 9}
	died <- exit
	_, err := Probe(context.Background(), srv.Client(), quiet(), ProbeConfig{URL: srv.URL, Died: died, Interval: time.Second})
	if !errors.Is(err, exit) {
		t.Fatalf("err = %v, want the exit error", err)
	}
}

func TestExternalDriver(t *testing.T) {
	f := &fakeServer{key: "k", models: []string{"served"}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	d := NewExternal(srv.Client(), quiet())
	inst, err := d.Start(context.Background(), Spec{URL: srv.URL + "/v1/", APIKey: "k", Labels: map[string]string{"a": "b"}})
	if err != nil {
		t.Fatal(err)
	}
	if inst.URL() != srv.URL {
		t.Errorf("URL %q, want %q", inst.URL(), srv.URL)
	}
	if err := inst.Ready(context.Background()); err != nil {
		t.Fatal(err)
	}
	info := inst.Info()
	if inst.Model() != "served" || info.Model != "served" || info.EngineVersion != "0.11.0" || info.Driver != "external" || info.Labels["a"] != "b" {
		t.Errorf("model %q info %+v", inst.Model(), info)
	}
	if err := inst.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := inst.Stop(context.Background()); err != nil {
		t.Fatal("second Stop:", err)
	}
	if err, ok := <-inst.Died(); ok || err != nil {
		t.Errorf("Died after Stop yielded %v, %v", err, ok)
	}
}

func TestNormalizeURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://h:8000":      "http://h:8000",
		"http://h:8000/":     "http://h:8000",
		"http://h:8000/v1":   "http://h:8000",
		"https://h/api/v1/":  "https://h/api",
		"http://h:8000/base": "http://h:8000/base",
	} {
		got, err := NormalizeURL(in)
		if err != nil || got != want {
			t.Errorf("NormalizeURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "h:8000", "ftp://h", "http://"} {
		if _, err := NormalizeURL(bad); err == nil {
			t.Errorf("NormalizeURL(%q) accepted", bad)
		}
	}
}
