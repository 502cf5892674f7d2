package orchestrate

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// sseUpstream streams three chunks with gap between them and records the
// most requests it served at once.
func sseUpstream(t testing.TB, gap time.Duration) (*httptest.Server, func() int) {
	var mu sync.Mutex
	now, peak := 0, 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		now++
		peak = max(peak, now)
		mu.Unlock()
		defer func() { mu.Lock(); now--; mu.Unlock() }()
		w.Header().Set("Content-Type", "text/event-stream")
		for i := 0; i < 3; i++ {
			fmt.Fprintf(w, "data: {\"i\":%d}\n\n", i)
			w.(http.Flusher).Flush()
			time.Sleep(gap)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, func() int { mu.Lock(); defer mu.Unlock(); return peak }
}

// Requests in flight at once go to different instances, and a request
// leaves the count once its body has been read.
func TestLeastOutstandingSpreads(t *testing.T) {
	a, peakA := sseUpstream(t, 100*time.Millisecond)
	b, peakB := sseUpstream(t, 100*time.Millisecond)
	lo, err := newLeastOutstanding([]string{a.URL, b.URL}, http.DefaultTransport)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: lo}
	post := func() {
		// The URL's host is rewritten: any instance's base works.
		resp, err := client.Post(a.URL+"/v1/chat/completions", "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Error(err)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), `{"i":2}`) {
			t.Errorf("body %q", body)
		}
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); post() }()
	}
	wg.Wait()
	if got := lo.Served(); got[0] != 1 || got[1] != 1 || peakA() != 1 || peakB() != 1 {
		t.Errorf("served %v, peak in flight %d and %d: want one request on each instance", got, peakA(), peakB())
	}
	lo.mu.Lock()
	inFlight := fmt.Sprint(lo.inFlight)
	lo.mu.Unlock()
	if inFlight != "[0 0]" {
		t.Errorf("in flight after every body was read: %s", inFlight)
	}
	// A model listing is balanced but not counted as served.
	resp, err := client.Get(b.URL + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := lo.Served(); got[0]+got[1] != 2 {
		t.Errorf("a model listing counted as served: %v", got)
	}
	if _, err := newLeastOutstanding([]string{"http://127.0.0.1:1/v1", "http://127.0.0.1:2"}, http.DefaultTransport); err == nil {
		t.Error("URLs with different paths accepted")
	}
}
