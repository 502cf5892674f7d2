// Package simtest serves the engine simulator to tests in other packages.
// It depends on nothing above runner/simulator, so any package may use it.
package simtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/servebench/servebench/runner/simulator"
)

// Start serves the simulator configured by cfg on 127.0.0.1, waits until it
// has answered a request, as the runner's readiness check demands (at most
// 30 s), and stops it when the test ends. It returns the base URL,
// http://host:port.
func Start(tb testing.TB, cfg simulator.Config) string {
	tb.Helper()
	eng, err := simulator.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		tb.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- eng.Run(ctx, l) }()
	tb.Cleanup(func() { cancel(); <-done })
	url := "http://" + l.Addr().String()
	if err := ready(url, eng, time.Now().Add(30*time.Second)); err != nil {
		tb.Fatal(err)
	}
	return url
}

// ready waits for /health, then lists the model and has it complete one
// token, or embed one input (a speech model's listing is enough).
func ready(url string, eng *simulator.Engine, deadline time.Time) error {
	client := &http.Client{Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	for {
		resp, err := client.Get(url + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("simulator at %s not healthy: %v", url, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	resp, err := client.Get(url + "/v1/models")
	if err != nil {
		return err
	}
	var models struct {
		Data []struct{ ID string } `json:"data"`
	}
	err = json.NewDecoder(resp.Body).Decode(&models)
	resp.Body.Close()
	if err != nil || len(models.Data) == 0 {
		return fmt.Errorf("simulator at %s lists no model: %v", url, err)
	}
	path, body := "/v1/completions", fmt.Sprintf(`{"model":%q,"prompt":"Hello","max_tokens":1}`, models.Data[0].ID)
	switch p := eng.Profile(); {
	case p.Embedding:
		path, body = "/v1/embeddings", fmt.Sprintf(`{"model":%q,"input":"Hello"}`, models.Data[0].ID)
	case p.EncoderDecoder():
		return nil
	}
	resp, err = client.Post(url+path, "application/json", strings.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return fmt.Errorf("simulator at %s: first request (%s): status %d: %s %v", url, path, resp.StatusCode, b, err)
	}
	return nil
}
