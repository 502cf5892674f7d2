package push

import (
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/encoding/protowire"
)

type sink struct {
	mu     sync.Mutex
	bodies []string
	method string
	header http.Header
	status int
}

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var rd io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		rd = zr
	}
	b, _ := io.ReadAll(rd)
	s.mu.Lock()
	s.bodies = append(s.bodies, string(b))
	s.method, s.header = r.Method, r.Header.Clone()
	status := s.status
	s.mu.Unlock()
	if status != 0 {
		http.Error(w, "cannot parse line 3", status)
	}
}

func (s *sink) last() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.bodies) == 0 {
		return ""
	}
	return s.bodies[len(s.bodies)-1]
}

func registry() (*prometheus.Registry, prometheus.Counter) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "servebench_test_total", Help: "t"})
	reg.MustRegister(c)
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "servebench_test_stamped", Help: "t"}, []string{"k"})
	reg.MustRegister(stamped{g})
	return reg, c
}

// stamped exposes one gauge with an explicit timestamp, like the summaries.
type stamped struct{ g *prometheus.GaugeVec }

func (s stamped) Describe(ch chan<- *prometheus.Desc) { s.g.Describe(ch) }
func (s stamped) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.NewMetricWithTimestamp(time.UnixMilli(1767000000123), prometheus.MustNewConstMetric(
		prometheus.NewDesc("servebench_test_stamped", "t", []string{"k"}, nil), prometheus.GaugeValue, 7, "v"))
}

func TestRunPushesOnIntervalAndAtTheEnd(t *testing.T) {
	s := &sink{}
	srv := httptest.NewServer(s)
	defer srv.Close()
	reg, c := registry()
	p, err := New(Config{URL: srv.URL + "/api/v1/import/prometheus", Gatherer: reg, Interval: 20 * time.Millisecond,
		Header: http.Header{"Authorization": {"Bearer x"}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	c.Add(1)
	deadline := time.Now().Add(3 * time.Second)
	for !strings.Contains(s.last(), "servebench_test_total 1\n") {
		if time.Now().After(deadline) {
			t.Fatalf("no interval push seen; last body %q", s.last())
		}
		time.Sleep(5 * time.Millisecond)
	}
	c.Add(41)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("final push: %v", err)
	}
	body := s.last()
	if !strings.Contains(body, "servebench_test_total 42\n") {
		t.Errorf("final push lacks the last value:\n%s", body)
	}
	if !strings.Contains(s.bodies[0], `servebench_test_stamped{k="v"} 7 1767000000123`) {
		t.Errorf("timestamp not kept in the first push:\n%s", s.bodies[0])
	}
	if n := strings.Count(strings.Join(s.bodies, ""), "servebench_test_stamped{"); n != 1 {
		t.Errorf("timestamped sample pushed %d times, want once", n)
	}
	if s.method != http.MethodPost || s.header.Get("Authorization") != "Bearer x" || s.header.Get("Content-Encoding") != "gzip" {
		t.Errorf("method %s headers %v", s.method, s.header)
	}
}

func TestPushgatewayOptions(t *testing.T) {
	s := &sink{}
	srv := httptest.NewServer(s)
	defer srv.Close()
	reg, _ := registry()
	p, err := New(Config{URL: srv.URL + "/metrics/job/servebench", Gatherer: reg, Method: http.MethodPut,
		DropTimestamps: true, DisableCompression: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Push(context.Background()); err != nil {
		t.Fatal(err)
	}
	if body := s.last(); !strings.Contains(body, "servebench_test_stamped{k=\"v\"} 7\n") {
		t.Errorf("timestamp not dropped:\n%s", body)
	}
	if s.method != http.MethodPut || s.header.Get("Content-Encoding") != "" {
		t.Errorf("method %s, encoding %q", s.method, s.header.Get("Content-Encoding"))
	}
}

func TestPushErrors(t *testing.T) {
	s := &sink{status: http.StatusBadRequest}
	srv := httptest.NewServer(s)
	defer srv.Close()
	reg, _ := registry()
	p, _ := New(Config{URL: "http://user:secret@" + strings.TrimPrefix(srv.URL, "http://"), Gatherer: reg})
	err := p.Push(context.Background())
	if err == nil || !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), "cannot parse line 3") {
		t.Errorf("err = %v, want status and server message", err)
	}
	if err != nil && strings.Contains(err.Error(), "secret") {
		t.Errorf("error leaks the password: %v", err)
	}
	for _, cfg := range []Config{{URL: "ftp://x", Gatherer: reg}, {URL: "http://x"}, {URL: "http://x", Gatherer: reg, Interval: -1},
		{URL: "http://x", Gatherer: reg, Method: "GET"}, {URL: "http://x/api/v1/write", Gatherer: reg, Method: "PUT"},
		{URL: "http://x", Gatherer: reg, Protocol: "influx"}} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}

func TestProtocolOf(t *testing.T) {
	for u, want := range map[string]Protocol{
		"http://prom:9090/api/v1/write":                  ProtocolRemoteWrite,
		"http://vm:8428/api/v1/write":                    ProtocolRemoteWrite,
		"http://mimir/api/v1/push":                       ProtocolRemoteWrite,
		"http://vm:8428/api/v1/import/prometheus":        ProtocolText,
		"http://pushgateway:9091/metrics/job/servebench": ProtocolText,
	} {
		if got := ProtocolOf(u); got != want {
			t.Errorf("ProtocolOf(%s) = %s, want %s", u, got, want)
		}
	}
}

// A remote-write Pusher sends a snappy-framed WriteRequest with the
// protocol's headers, and each timestamped sample once.
func TestRemoteWritePusher(t *testing.T) {
	var bodies [][]byte
	var header http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies, header = append(bodies, b), r.Header.Clone()
	}))
	defer srv.Close()
	reg, c := registry()
	c.Add(3)
	p, err := New(Config{URL: srv.URL + "/api/v1/write", Gatherer: reg, Header: http.Header{"Authorization": {"Bearer x"}}})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := p.Push(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if len(bodies) != 2 || header.Get("Content-Encoding") != "snappy" || header.Get("X-Prometheus-Remote-Write-Version") != "0.1.0" ||
		header.Get("Authorization") != "Bearer x" {
		t.Fatalf("%d bodies, headers %v", len(bodies), header)
	}
	first, second := decodeWriteRequest(t, unsnappy(t, bodies[0])), decodeWriteRequest(t, unsnappy(t, bodies[1]))
	if s := first[`__name__=servebench_test_stamped,k=v`]; len(s) != 1 || s[0] != "7@1767000000123" {
		t.Errorf("stamped sample in the first write: %v", s)
	}
	if _, ok := second[`__name__=servebench_test_stamped,k=v`]; ok {
		t.Error("the stamped sample was written twice")
	}
	if s := second[`__name__=servebench_test_total`]; len(s) != 1 || !strings.HasPrefix(s[0], "3@") {
		t.Errorf("counter in the second write: %v", s)
	}
}

// unsnappy undoes snappyLiteral's framing (literal blocks only).
func unsnappy(t *testing.T, b []byte) []byte {
	t.Helper()
	_, n := protowire.ConsumeVarint(b)
	b = b[n:]
	var out []byte
	for len(b) > 0 {
		if b[0] != 61<<2 {
			t.Fatalf("tag %x is not a literal", b[0])
		}
		l := int(b[1]) | int(b[2])<<8 + 1
		out = append(out, b[3:3+l]...)
		b = b[3+l:]
	}
	return out
}
