package main

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/servebench/servebench/runner/engine"
	"github.com/servebench/servebench/runner/loadgen"
	"github.com/servebench/servebench/runner/orchestrate"
	"github.com/servebench/servebench/runner/simulator"
	"github.com/servebench/servebench/runner/suite"
)

// newSimDriver is the in-process engine simulator with its defaults.
func newSimDriver(log *slog.Logger) (engine.Driver, func(), error) {
	return engine.NewSim(simulator.DefaultConfig(), loadgen.NewClient(), log), func() {}, nil
}

// newLoadGenerator returns the configured load generator.
func newLoadGenerator(cfg suite.Config, log *slog.Logger, progress io.Writer) (orchestrate.LoadGenerator, error) {
	switch cfg.Loadgen {
	case "native":
		return orchestrate.NewNative(log), nil
	}
	return nil, usagef("loadgen: %s is not available to runner start in this build; use --loadgen native", cfg.Loadgen)
}

// describeLoad says, for --dry-run, what runs the load.
func describeLoad(name, api string) string {
	switch name {
	case "native":
		return fmt.Sprintf("native load generator in-process (%s API, streaming, latency from the scheduled send)", api)
	}
	return name + ": not available to runner start in this build"
}
