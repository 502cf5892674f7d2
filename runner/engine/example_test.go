package engine_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/servebench/servebench/runner/engine"
	"github.com/servebench/servebench/runner/simulator"
)

// The lifecycle every driver shares, here with the in-process simulator:
// Start, Ready (health, model listed, one real request), watch Died while
// the load runs, Stop (always, also on error or interrupt).
func Example() {
	cfg := simulator.DefaultConfig()
	cfg.LoadTime, cfg.Slowdown = 20*time.Millisecond, 0.01
	drv := engine.NewSim(cfg, nil, slog.New(slog.DiscardHandler))

	ctx := context.Background()
	inst, err := drv.Start(ctx, engine.Spec{Name: "example", CPUs: []int{0, 1, 2, 3}, ReadyTimeout: 30 * time.Second})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer inst.Stop(context.WithoutCancel(ctx))
	if err := inst.Ready(ctx); err != nil {
		fmt.Println(err)
		return
	}
	info := inst.Info()
	fmt.Println(info.Driver, info.Model, info.CPUSet, info.EngineVersion)

	select {
	case err := <-inst.Died():
		fmt.Println("engine died:", err)
	default: // still serving: run the load here
	}
	fmt.Println(inst.Stop(ctx))
	// Output:
	// sim TinyLlama/TinyLlama-1.1B-Chat-v1.0 0-3 0.11.0+sim
	// <nil>
}
