package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/servebench/servebench/runner/engine"
	"github.com/servebench/servebench/runner/simulator"
)

// runVLLM is the simulator answering as the `vllm` command (the image
// installs the binary under that name too), so that the docker driver runs
// the command lines it would run with vLLM's image:
//
//	vllm serve MODEL [vLLM flags]           the simulator's server; vLLM flags it does not model are ignored
//	vllm bench throughput [vLLM flags]      the offline benchmark from the performance model
//	vllm --version
//
// Exit codes as vLLM: 0, 1 on a failure, 2 on a usage error.
func runVLLM(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	switch {
	case len(args) > 0 && (args[0] == "--version" || args[0] == "-v"):
		fmt.Fprintln(stdout, newOptions().cfg.Version)
		return exitOK
	case len(args) > 0 && args[0] == "serve":
		kept, dropped := engine.SimArgs(args[1:])
		if len(dropped) > 0 {
			fmt.Fprintf(stderr, "vllm-sim: vLLM flags without a simulated meaning, ignored: %s\n", strings.Join(dropped, " "))
		}
		return run(ctx, kept, stdout, stderr, getenv)
	case len(args) > 1 && args[0] == "bench" && args[1] == "throughput":
		if err := simulator.BenchThroughput(args[2:], getenv, affinityCores(), stdout, stderr); err != nil {
			fmt.Fprintf(stderr, "vllm bench throughput: %v\n", err)
			return exitFailure
		}
		return exitOK
	}
	fmt.Fprintln(stderr, "usage: vllm serve MODEL [flags] | vllm bench throughput [flags] | vllm --version (the servebench engine simulator)")
	return exitUsage
}
