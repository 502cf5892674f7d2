package orchestrate

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/servebench/servebench/runner/topology"
)

func TestStress(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("linux only")
	}
	cpus, err := topology.Affinity()
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"cpu", "membw"} {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		start := time.Now()
		if err := Stress(ctx, kind, cpus[:1]); err != nil {
			t.Errorf("%s: %v", kind, err)
		}
		cancel()
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s stressor took %s to stop", kind, d)
		}
	}
	if err := Stress(context.Background(), "io", []int{0}); err == nil {
		t.Error("unknown kind accepted")
	}
	if err := Stress(context.Background(), "cpu", []int{4095}); err == nil {
		t.Error("pinning to a CPU that does not exist must fail")
	}
}
