package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"
)

// healthcheck implements `vllm-sim healthcheck [--timeout D] URL`: the image
// is FROM scratch, with no shell or curl for a container HEALTHCHECK, so the
// binary probes the server itself. Exit 0 when URL answers 2xx (the
// simulator's /health does once the simulated model load is over).
func healthcheck(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("vllm-sim healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	timeout := fs.Duration("timeout", 5*time.Second, "time allowed for the answer")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: vllm-sim healthcheck [--timeout 5s] URL")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() != 1 || *timeout <= 0 {
		fs.Usage()
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fs.Arg(0), nil)
	if err != nil {
		fmt.Fprintf(stderr, "vllm-sim healthcheck: %v\n", err)
		return exitUsage
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "vllm-sim healthcheck: %v\n", err)
		return exitFailure
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		fmt.Fprintf(stderr, "vllm-sim healthcheck: %s: status %d\n", fs.Arg(0), resp.StatusCode)
		return exitFailure
	}
	return exitOK
}
