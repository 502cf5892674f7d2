package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHealthcheck(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("# HELP x\n"))
	}))
	defer ok.Close()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "loading", http.StatusServiceUnavailable)
	}))
	defer down.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()

	for _, tc := range []struct {
		name    string
		args    []string
		code    int
		errText string
	}{
		{"healthy", []string{ok.URL + "/metrics"}, exitOK, ""},
		{"every url must answer", []string{ok.URL, down.URL + "/health"}, exitFailure, "status 503"},
		{"refused", []string{"--timeout", "1s", closedURL}, exitFailure, "healthcheck: " + closedURL},
		{"no url", nil, exitUsage, "no URL given"},
		{"not http", []string{"127.0.0.1:9464"}, exitUsage, `URL "127.0.0.1:9464"`},
		{"bad timeout", []string{"--timeout", "0s", ok.URL}, exitUsage, "--timeout must be positive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"healthcheck"}, tc.args...), &stdout, &stderr, func(string) string { return "" })
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tc.code, stderr.String())
			}
			if tc.errText != "" && !strings.Contains(stderr.String(), tc.errText) {
				t.Errorf("stderr %q does not contain %q", stderr.String(), tc.errText)
			}
		})
	}
}
