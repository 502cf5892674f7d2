// Package simtest serves the engine simulator to tests in other packages.
package simtest

import (
	"context"
	"testing"
	"time"

	"github.com/servebench/servebench/runner/engine"
	"github.com/servebench/servebench/runner/simulator"
)

// Start serves the simulator configured by cfg on 127.0.0.1 through the sim
// engine driver, waits until it has answered a request (at most 30 s) and
// stops it when the test ends. It returns the base URL, http://host:port.
func Start(tb testing.TB, cfg simulator.Config) string {
	tb.Helper()
	in, err := engine.NewSim(cfg, nil, nil).Start(context.Background(), engine.Spec{ReadyTimeout: 30 * time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { in.Stop(context.Background()) })
	if err := in.Ready(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return in.URL()
}
