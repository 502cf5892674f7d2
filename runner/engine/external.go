package engine

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// External adopts a server someone else runs: it probes and records it but
// never starts or stops it. Its instances never report a death of their own;
// failures show up as request errors.
type External struct {
	client *http.Client
	log    *slog.Logger
}

// NewExternal returns the external driver. client may be nil (http.DefaultClient).
func NewExternal(client *http.Client, log *slog.Logger) *External {
	if client == nil {
		client = http.DefaultClient
	}
	return &External{client: client, log: log}
}

// Name implements Driver.
func (*External) Name() string { return "external" }

// Start validates spec.URL and returns the instance; the model is
// auto-detected by Ready when spec.ServedName and spec.Model are empty.
func (d *External) Start(_ context.Context, spec Spec) (Instance, error) {
	base, err := NormalizeURL(spec.URL)
	if err != nil {
		return nil, err
	}
	model := spec.ServedName
	if model == "" {
		model = spec.Model
	}
	return &externalInstance{d: d, spec: spec, url: base, died: make(chan error), model: model}, nil
}

// NormalizeURL checks an engine base URL and strips a trailing "/" or "/v1",
// which users often paste from OpenAI client settings.
func NormalizeURL(raw string) (string, error) {
	if raw == "" {
		return "", fmt.Errorf("url: empty; give the server's base URL, e.g. http://127.0.0.1:8000")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("url %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return "", fmt.Errorf("url %q: want http(s)://host:port", raw)
	}
	s := strings.TrimRight(u.String(), "/")
	s = strings.TrimSuffix(s, "/v1")
	return strings.TrimRight(s, "/"), nil
}

type externalInstance struct {
	d    *External
	spec Spec
	url  string
	died chan error

	mu     sync.Mutex
	model  string
	probed Probed
	once   sync.Once
}

func (i *externalInstance) URL() string { return i.url }

func (i *externalInstance) Model() string {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.model
}

func (i *externalInstance) Info() Info {
	i.mu.Lock()
	defer i.mu.Unlock()
	return Info{
		Driver: "external", URL: i.url, Model: i.model, ModelRoot: i.probed.Root,
		MaxModelLen: i.probed.MaxModelLen, EngineVersion: i.probed.Version, Labels: i.spec.Labels,
	}
}

func (i *externalInstance) Ready(ctx context.Context) error {
	p, err := Probe(ctx, i.d.client, i.d.log, ProbeConfig{
		URL: i.url, APIKey: i.spec.APIKey, Model: i.Model(), Task: i.spec.Task,
		Timeout: i.spec.ReadyTimeout, Died: i.died,
	})
	if err != nil {
		return fmt.Errorf("external engine %s: %w", i.url, err)
	}
	i.mu.Lock()
	i.model, i.probed = p.Model, p
	i.mu.Unlock()
	return nil
}

func (i *externalInstance) Stop(context.Context) error {
	i.once.Do(func() { close(i.died) })
	return nil
}

func (i *externalInstance) Died() <-chan error { return i.died }
