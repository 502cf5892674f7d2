package proxy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/exporter/recorder"
	"github.com/servebench/servebench/internal/netstamp/netstamptest"
)

// capture is a Recorder keeping every Result with its labels.
type capture struct {
	mu      sync.Mutex
	results []*measure.Result
	labels  []measure.BenchmarkLabels
	started int
	closed  int
	// firstTokens counts FirstToken calls.
	firstTokens int
	done        chan struct{}
}

func newCapture() *capture { return &capture{done: make(chan struct{}, 1000)} }

func (c *capture) Benchmark(l measure.BenchmarkLabels) measure.BenchmarkRecorder {
	return &captureBench{c: c, l: l}
}

type captureBench struct {
	c *capture
	l measure.BenchmarkLabels
}

func (b *captureBench) SetTarget(float64, contract.TargetUnit) {}
func (b *captureBench) Started() {
	b.c.mu.Lock()
	b.c.started++
	b.c.mu.Unlock()
}
func (b *captureBench) FirstToken(time.Duration) {
	b.c.mu.Lock()
	b.c.firstTokens++
	b.c.mu.Unlock()
}
func (b *captureBench) Finished(r *measure.Result) {
	b.c.mu.Lock()
	b.c.results = append(b.c.results, r)
	b.c.labels = append(b.c.labels, b.l)
	b.c.mu.Unlock()
	b.c.done <- struct{}{}
}
func (b *captureBench) Close() {
	b.c.mu.Lock()
	b.c.closed++
	b.c.mu.Unlock()
}

// wait returns the next n finished results, in finishing order.
func (c *capture) wait(t *testing.T, n int) []*measure.Result {
	t.Helper()
	for range n {
		select {
		case <-c.done:
		case <-time.After(5 * time.Second):
			t.Fatalf("request not recorded within 5 s")
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*measure.Result(nil), c.results[len(c.results)-n:]...)
}

func start(t *testing.T, upstream string, rec measure.Recorder) *httptest.Server {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(Config{Upstream: u, Recorder: rec,
		Labels: measure.BenchmarkLabels{Suite: "bench", Loadgen: "guidellm", Level: "l1"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return srv
}

func sseChunk(i int) string {
	return fmt.Sprintf("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"tok%d \"}}]}\n\n", i)
}

const chatBody = `{"model":"tiny-llm","stream":true,"messages":[{"role":"user","content":"hello"}]}`

func post(t *testing.T, url, path, body string) *http.Response {
	t.Helper()
	resp, err := http.Post(url+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestPassThroughIsByteExact(t *testing.T) {
	var chunks []string
	for i := range 20 {
		chunks = append(chunks, sseChunk(i))
	}
	chunks = append(chunks, "data: [DONE]\n\n")
	want := strings.Join(chunks, "")
	var gotBody, gotPath, gotCT, gotAE string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		gotBody, gotPath, gotCT, gotAE = string(b), r.URL.Path, r.Header.Get("Content-Type"), r.Header.Get("Accept-Encoding")
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("X-Upstream", "yes")
		// Split writes mid-line to check the proxy neither adds nor drops bytes.
		for i := 0; i < len(want); i += 37 {
			w.Write([]byte(want[i:min(i+37, len(want))]))
			w.(http.Flusher).Flush()
		}
	}))
	defer up.Close()
	rec := newCapture()
	px := start(t, up.URL, rec)

	req, _ := http.NewRequest(http.MethodPost, px.URL+"/v1/chat/completions", strings.NewReader(chatBody))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if gotAE != "" {
		t.Errorf("upstream was offered Accept-Encoding %q; timed bodies must come plain", gotAE)
	}
	if string(got) != want {
		t.Fatalf("body through the proxy differs:\n got %q\nwant %q", got, want)
	}
	if gotBody != chatBody || gotPath != "/v1/chat/completions" || gotCT != "application/json" {
		t.Errorf("upstream saw body %q path %q content-type %q", gotBody, gotPath, gotCT)
	}
	if resp.Header.Get("X-Upstream") != "yes" {
		t.Errorf("response headers not passed through: %v", resp.Header)
	}
	r := rec.wait(t, 1)[0]
	if r.Outcome != contract.OutcomeSuccess || r.OutputTokens != 20 || len(r.Chunks) != 20 {
		t.Errorf("recorded %s/%s with %d tokens, %d chunks; want success, 20, 20 (%s)", r.Outcome, r.ErrorKind, r.OutputTokens, len(r.Chunks), r.Error)
	}
	if l := rec.labels[0]; l.Model != "tiny-llm" || l.Loadgen != "guidellm" || l.Level != "l1" {
		t.Errorf("labels = %+v, want model from the body and the configured loadgen", l)
	}
	if r.FirstTok.Before(r.Sent) || r.Sent.Before(r.Scheduled) || r.End.Before(r.FirstTok) {
		t.Errorf("times out of order: %+v", r)
	}
	if rec.firstTokens != 1 {
		t.Errorf("first tokens told to the recorder = %d, want 1 (live TTFT)", rec.firstTokens)
	}
}

func TestNonStreamingEmbeddingsAndOtherPaths(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/completions":
			io.WriteString(w, `{"id":"x","object":"text_completion","choices":[{"index":0,"text":"hi there","finish_reason":"length"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}`)
		case "/v1/embeddings":
			io.WriteString(w, `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,0.2]}],"usage":{"prompt_tokens":4,"total_tokens":4}}`)
		case "/v1/models":
			io.WriteString(w, `{"object":"list","data":[{"id":"tiny-llm"}]}`)
		}
	}))
	defer up.Close()
	rec := newCapture()
	px := start(t, up.URL, rec)

	for _, c := range []struct{ path, body, want string }{
		{"/v1/completions", `{"model":"tiny-llm","prompt":"x","max_tokens":2}`, `"completion_tokens":2`},
		{"/v1/embeddings", `{"model":"emb","input":"x"}`, `"embedding":[0.1,0.2]`},
	} {
		resp := post(t, px.URL, c.path, c.body)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(b), c.want) {
			t.Errorf("%s: body %q", c.path, b)
		}
		r := rec.wait(t, 1)[0]
		if r.Outcome != contract.OutcomeSuccess {
			t.Errorf("%s: outcome %s/%s (%s)", c.path, r.Outcome, r.ErrorKind, r.Error)
		}
	}
	resp, err := http.Get(px.URL + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "tiny-llm") {
		t.Errorf("/v1/models body %q", b)
	}
	time.Sleep(50 * time.Millisecond)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.results) != 2 || rec.started != 2 {
		t.Errorf("recorded %d requests (%d started), want 2: /v1/models is not timed", len(rec.results), rec.started)
	}
}

// Each chunk reaches the client before the upstream sends the next: the
// upstream waits for the client's acknowledgement, so any buffering in the
// proxy would deadlock and time out.
func TestFlushesEveryChunk(t *testing.T) {
	ack := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 5 {
			io.WriteString(w, sseChunk(i))
			w.(http.Flusher).Flush()
			select {
			case <-ack:
			case <-time.After(3 * time.Second):
				t.Errorf("chunk %d never reached the client", i)
				return
			}
		}
		io.WriteString(w, "data: [DONE]\n\n")
	}))
	defer up.Close()
	rec := newCapture()
	px := start(t, up.URL, rec)
	resp := post(t, px.URL, "/v1/chat/completions", chatBody)
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	for i := 0; i < 5; {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if strings.HasPrefix(line, "data: {") {
			if !strings.Contains(line, fmt.Sprintf("tok%d", i)) {
				t.Fatalf("chunk %d: %q", i, line)
			}
			ack <- struct{}{}
			i++
		}
	}
	io.Copy(io.Discard, resp.Body)
	r := rec.wait(t, 1)[0]
	if r.Outcome != contract.OutcomeSuccess || len(r.Chunks) != 5 {
		t.Errorf("recorded %s with %d chunks", r.Outcome, len(r.Chunks))
	}
}

func TestClientCancellationReachesUpstream(t *testing.T) {
	upstreamGone := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, sseChunk(0))
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
			close(upstreamGone)
		case <-time.After(5 * time.Second):
		}
	}))
	defer up.Close()
	rec := newCapture()
	px := start(t, up.URL, rec)

	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, px.URL+"/v1/chat/completions", strings.NewReader(chatBody))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	cancel()
	resp.Body.Close()
	select {
	case <-upstreamGone:
	case <-time.After(3 * time.Second):
		t.Fatal("upstream request not canceled after the client went away")
	}
	r := rec.wait(t, 1)[0]
	if r.Outcome != contract.OutcomeError || r.ErrorKind != contract.ErrCanceled || r.OutputTokens != 1 {
		t.Errorf("recorded %s/%s with %d tokens (%s), want error/canceled after 1 token", r.Outcome, r.ErrorKind, r.OutputTokens, r.Error)
	}
}

// A client that hangs up once it has the end of the response, before the
// upstream body formally ends, leaves a successful request; one that hangs
// up before the end leaves a canceled one. The upstream here holds every
// body open after its last byte until its request is canceled, so only the
// client's hang-up ends the exchange.
func TestHangUpAfterEndIsSuccess(t *testing.T) {
	const stream = 3 // token chunks before [DONE]
	jsonBody := `{"id":"c","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"hi there"}}],"usage":{"prompt_tokens":5,"completion_tokens":2}}`
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if strings.Contains(string(b), `"stream":true`) {
			w.Header().Set("Content-Type", "text/event-stream")
			for i := range stream {
				io.WriteString(w, sseChunk(i))
				w.(http.Flusher).Flush()
			}
			if !strings.Contains(string(b), "early") {
				io.WriteString(w, "data: [DONE]\n\n")
			}
		} else {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, jsonBody) // chunked: the body's end is not known from a length
		}
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer up.Close()
	rec := newCapture()
	px := start(t, up.URL, rec)

	// do sends body and reads until stop says the client has what it wants,
	// then hangs up.
	do := func(body string, stop func(read string) bool) {
		t.Helper()
		resp, err := http.Post(px.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var read strings.Builder
		buf := make([]byte, 4096)
		for !stop(read.String()) {
			n, err := resp.Body.Read(buf)
			read.Write(buf[:n])
			if err != nil {
				t.Fatalf("read: %v after %q", err, read.String())
			}
		}
		resp.Body.Close()
	}
	do(chatBody, func(s string) bool { return strings.Contains(s, "[DONE]\n\n") })
	if r := rec.wait(t, 1)[0]; r.Outcome != contract.OutcomeSuccess || r.OutputTokens != stream {
		t.Errorf("hang-up after [DONE]: recorded %s/%s with %d tokens (%s), want success with %d", r.Outcome, r.ErrorKind, r.OutputTokens, r.Error, stream)
	}
	do(`{"model":"m","messages":[]}`, func(s string) bool { return strings.HasSuffix(s, "}") && len(s) == len(jsonBody) })
	if r := rec.wait(t, 1)[0]; r.Outcome != contract.OutcomeSuccess || r.OutputTokens != 2 || r.FirstTok.IsZero() {
		t.Errorf("hang-up after a whole JSON body: recorded %s/%s with %d tokens (%s), want success with 2", r.Outcome, r.ErrorKind, r.OutputTokens, r.Error)
	}
	// The upstream sends no [DONE] here: the client leaves with every token
	// but not the end of the stream.
	do(`{"model":"m","stream":true,"early":1}`, func(s string) bool { return strings.Count(s, "data:") == stream })
	if r := rec.wait(t, 1)[0]; r.Outcome != contract.OutcomeError || r.ErrorKind != contract.ErrCanceled {
		t.Errorf("hang-up before [DONE]: recorded %s/%s (%s), want error/canceled", r.Outcome, r.ErrorKind, r.Error)
	}
}

func TestUpstreamFailures(t *testing.T) {
	// A port nothing listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + l.Addr().String()
	l.Close()

	fiveHundred := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":{"message":"overloaded","code":503}}`, http.StatusServiceUnavailable)
	}))
	defer fiveHundred.Close()
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, sseChunk(0))
		w.(http.Flusher).Flush()
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close() // the stream dies without [DONE] nor a clean chunked end
		}
	}))
	defer broken.Close()

	for _, c := range []struct {
		name, upstream string
		kind           contract.ErrorKind
		status         int
	}{
		{"connect refused", refused, contract.ErrConnect, http.StatusBadGateway},
		{"5xx", fiveHundred.URL, contract.ErrHTTP5xx, http.StatusServiceUnavailable},
		{"broken stream", broken.URL, contract.ErrStreamBroken, http.StatusOK},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := newCapture()
			px := start(t, c.upstream, rec)
			resp, err := http.Post(px.URL+"/v1/chat/completions", "application/json", strings.NewReader(chatBody))
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != c.status {
					t.Errorf("client saw status %d, want %d", resp.StatusCode, c.status)
				}
			}
			r := rec.wait(t, 1)[0]
			if r.Outcome != contract.OutcomeError || r.ErrorKind != c.kind {
				t.Errorf("recorded %s/%s (%s), want error/%s", r.Outcome, r.ErrorKind, r.Error, c.kind)
			}
		})
	}
}

func TestModelLabelsAreBounded(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"choices":[{"index":0,"message":{"content":"x"}}]}`)
	}))
	defer up.Close()
	rec := newCapture()
	px := start(t, up.URL, rec)
	for i := range MaxModels + 5 {
		resp := post(t, px.URL, "/v1/chat/completions", fmt.Sprintf(`{"model":"m%d"}`, i))
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	rec.wait(t, MaxModels+5)
	models := map[string]bool{}
	for _, l := range rec.labels {
		models[l.Model] = true
	}
	if len(models) != MaxModels+1 || !models[OtherModel] {
		t.Errorf("%d distinct model labels, want %d including %q", len(models), MaxModels+1, OtherModel)
	}
}

func TestConfigErrors(t *testing.T) {
	if _, err := New(Config{Recorder: measure.Discard}); err == nil || !strings.Contains(err.Error(), "upstream") {
		t.Errorf("missing upstream: %v", err)
	}
	u, _ := url.Parse("http://127.0.0.1:1")
	if _, err := New(Config{Upstream: u}); err == nil || !strings.Contains(err.Error(), "recorder") {
		t.Errorf("missing recorder: %v", err)
	}
}

// Through the real recorder, proxied requests move the contract's series
// under the proxy's loadgen label.
func TestRecordsIntoContractSeries(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 3 {
			io.WriteString(w, sseChunk(i))
		}
		io.WriteString(w, "data: [DONE]\n\n")
	}))
	defer up.Close()
	reg := prometheus.NewRegistry()
	rec, err := recorder.New(reg, recorder.Options{})
	if err != nil {
		t.Fatal(err)
	}
	px := start(t, up.URL, rec)
	for range 4 {
		resp := post(t, px.URL, "/v1/chat/completions", chatBody)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	want := `
# HELP servebench_requests_total Requests finished, by outcome.
# TYPE servebench_requests_total counter
servebench_requests_total{cores="",level="l1",loadgen="guidellm",model="tiny-llm",outcome="error",suite="bench",workload=""} 0
servebench_requests_total{cores="",level="l1",loadgen="guidellm",model="tiny-llm",outcome="incomplete",suite="bench",workload=""} 0
servebench_requests_total{cores="",level="l1",loadgen="guidellm",model="tiny-llm",outcome="success",suite="bench",workload=""} 4
# HELP servebench_output_tokens_total Output tokens received, incomplete requests included.
# TYPE servebench_output_tokens_total counter
servebench_output_tokens_total{cores="",level="l1",loadgen="guidellm",model="tiny-llm",suite="bench",workload=""} 12
`
	deadline := time.Now().Add(3 * time.Second)
	for {
		err := testutil.GatherAndCompare(reg, strings.NewReader(want), contract.Requests.Name, contract.OutputTokens.Name)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestServeStopsWithContext(t *testing.T) {
	u, _ := url.Parse("http://127.0.0.1:1")
	p, err := New(Config{Upstream: u, Recorder: measure.Discard})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Serve(ctx, l) }()
	resp, err := http.Get("http://" + l.Addr().String() + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("unreachable upstream: status %d, want 502", resp.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve returned %v", err)
		}
	case <-time.After(6 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
}

// Switching benchmarks cuts the requests in flight: they end as incomplete
// under the old labels, and new requests carry the new ones.
func TestSetBenchmarkCutsInFlight(t *testing.T) {
	release := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, sseChunk(0))
		w.(http.Flusher).Flush()
		if r.URL.Query().Get("hold") != "" {
			<-release
		}
		io.WriteString(w, "data: [DONE]\n\n")
	}))
	defer up.Close()
	defer close(release)
	rec := newCapture()
	u, _ := url.Parse(up.URL)
	p, err := New(Config{Upstream: u, Recorder: rec, Labels: measure.BenchmarkLabels{Level: "l1"}})
	if err != nil {
		t.Fatal(err)
	}
	px := httptest.NewServer(p)
	defer px.Close()

	resp := post(t, px.URL, "/v1/chat/completions?hold=1", chatBody)
	if _, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	p.SetBenchmark(measure.BenchmarkLabels{Level: "l2"})
	resp.Body.Close() // the client gives up, as a load generator does at its window's end
	r := rec.wait(t, 1)[0]
	if r.Outcome != contract.OutcomeIncomplete || rec.labels[0].Level != "l1" {
		t.Errorf("cut request: %s/%s at level %s, want incomplete at l1", r.Outcome, r.ErrorKind, rec.labels[0].Level)
	}
	resp = post(t, px.URL, "/v1/chat/completions", chatBody)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	r = rec.wait(t, 1)[0]
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if r.Outcome != contract.OutcomeSuccess || rec.labels[1].Level != "l2" || rec.closed != 1 {
		t.Errorf("next request: %s at %s, %d recorders closed; want success at l2, 1 closed", r.Outcome, rec.labels[1].Level, rec.closed)
	}
	p.mu.Lock()
	n := len(p.inFlight)
	p.mu.Unlock()
	if n != 0 {
		t.Errorf("%d requests left in the in-flight set", n)
	}
}

// The proxy dates chunks by their arrival from the upstream, not by when it
// got round to reading them, where the connection has receive timestamps;
// without them (the control) a 20 ms late read shows in TTFT.
func TestChunksDatedByArrival(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("receive timestamps are read on Linux only")
	}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		w.(http.Flusher).Flush() // headers at once
		time.Sleep(30 * time.Millisecond)
		io.WriteString(w, sseChunk(0))
		w.(http.Flusher).Flush()
		time.Sleep(60 * time.Millisecond)
		io.WriteString(w, sseChunk(1)+"data: [DONE]\n\n")
	}))
	defer up.Close()
	u, _ := url.Parse(up.URL)
	for _, stamped := range []bool{true, false} {
		tr := &http.Transport{DialContext: netstamptest.LateDialer(20*time.Millisecond, stamped)}
		rec := newCapture()
		p, err := New(Config{Upstream: u, Recorder: rec, Transport: tr})
		if err != nil {
			t.Fatal(err)
		}
		px := httptest.NewServer(p)
		resp := post(t, px.URL, "/v1/chat/completions", chatBody)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		r := rec.wait(t, 1)[0]
		px.Close()
		tr.CloseIdleConnections()
		ttft, ok := r.TTFT()
		if !ok || len(r.Chunks) != 2 {
			t.Fatalf("stamped=%v: result %+v", stamped, r)
		}
		gap := r.Chunks[1].At - r.Chunks[0].At
		if stamped && (ttft < 29*time.Millisecond || ttft > 40*time.Millisecond || gap < 55*time.Millisecond || gap > 65*time.Millisecond) {
			t.Fatalf("with timestamps: TTFT %v (upstream: 30 ms), gap %v (upstream: 60 ms)", ttft, gap)
		}
		if !stamped && ttft < 48*time.Millisecond {
			t.Fatalf("without timestamps: TTFT %v; a 20 ms late read should show", ttft)
		}
	}
}
