package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

func TestHealthcheck(t *testing.T) {
	var loading atomic.Bool
	loading.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if loading.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	getenv := func(string) string { return "" }
	probe := func(args ...string) int {
		var out, errb bytes.Buffer
		return run(context.Background(), append([]string{"healthcheck"}, args...), &out, &errb, getenv)
	}
	if code := probe(srv.URL + "/health"); code != exitFailure {
		t.Errorf("while loading (503): exit %d, want %d", code, exitFailure)
	}
	loading.Store(false)
	if code := probe(srv.URL + "/health"); code != exitOK {
		t.Errorf("healthy: exit %d, want 0", code)
	}
	if code := probe(); code != exitUsage {
		t.Errorf("no URL: exit %d, want %d", code, exitUsage)
	}
	if code := probe("--timeout", "0s", srv.URL); code != exitUsage {
		t.Errorf("zero timeout: exit %d, want %d", code, exitUsage)
	}
}
