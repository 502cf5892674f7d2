package simulator_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/servebench/servebench/runner/simulator"
)

// An in-process engine: create it, serve it on a listener it owns, wait for
// /health, send one request, and shut it down with nothing left running.
func Example() {
	cfg := simulator.DefaultConfig()
	cfg.LoadTime = 50 * time.Millisecond
	cfg.Slowdown = 0.01 // a hundred times faster than the modelled CPU, for a quick example
	eng, err := simulator.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		fmt.Println(err)
		return
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	url := "http://" + l.Addr().String()
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- eng.Run(ctx, l) }()
	defer func() {
		stop()
		fmt.Println(<-done) // Run has closed the engine and the server
	}()

	for {
		resp, err := http.Get(url + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	resp, err := http.Post(url+"/v1/completions", "application/json",
		strings.NewReader(`{"model":"TinyLlama/TinyLlama-1.1B-Chat-v1.0","prompt":"Hello, world!","max_tokens":4,"ignore_eos":true}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, strings.Contains(string(body), `"completion_tokens":4`))
	// Output:
	// 200 true
	// <nil>
}
