package dashboards

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/servebench/servebench/internal/e2e"
)

// simImage is this test's own tag of the engine simulator image, so a
// concurrent `make sim-image` or another test's build is never disturbed.
const simImage = "servebench/vllm-sim:obs-e2e"

// TestE2EDockerEnginePanelsHaveData covers what an external engine cannot:
// the runner starts the simulator image as a pinned container through
// dockerd (so the engine's cores are known and its container is labelled
// io.servebench.role), and the per-core, scaling and container panels must
// show data too. Only the error panel (no fault injection here) and the
// prefix cache (the smoke suite's engine runs with --no-enable-prefix-caching,
// the seed's baseline) may stay empty.
func TestE2EDockerEnginePanelsHaveData(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds an image and does a real run under dockerd")
	}
	goBin := e2e.Require(t, "go")
	e2e.Require(t, "prometheus")
	e2e.RequireDocker(t)

	bin := buildBinaries(t, goBin, "runner", "exporter")
	buildSimImage(t, goBin)

	work := t.TempDir()
	enginePort, exporterPort, runnerPort := e2e.FreePort(t), e2e.FreePort(t), e2e.FreePort(t)
	e2e.Start(t, work, filepath.Join(bin, "exporter"), fmt.Sprintf("--web.listen-address=127.0.0.1:%d", exporterPort))
	e2e.WaitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/metrics", exporterPort), 30*time.Second)
	prom := e2e.StartPrometheus(t, work, scrapeConfig(t, work, runnerPort, exporterPort, enginePort))

	// A 10 s window: a request at 2 cores takes ~9 s, and a rate needs a
	// completion inside the window.
	start := time.Now()
	out, runID := runSmoke(t, filepath.Join(bin, "runner"), work, runnerPort, "--engine=docker", "--image="+simImage,
		fmt.Sprintf("--engine-port=%d", enginePort), "--cores=2", "--force-overlap", "--max-seconds=10")
	end := time.Now()
	t.Logf("run %s under dockerd: %s", runID, end.Sub(start).Round(time.Second))

	eval := time.Now()
	noData := map[string]string{
		"Errors by kind":        "no request fails without fault injection",
		"Prefix cache hit rate": "the smoke suite's engine runs with --no-enable-prefix-caching",
	}
	// At 2 cores a request takes ~9 s: each level completes fewer than the
	// 20 requests a p95 needs, so it is absent (no series), not 0.
	// TestE2EEveryPanelHasData shows these panels with data.
	fewSamples := map[string]string{`quantile="0.95"`: "a p95 needs 20 samples and this run's levels have fewer"}
	if !checkEveryPanel(t, prom.URL, start, eval, runID, noData, fewSamples) {
		logTail(t, out)
	}
}

// buildSimImage builds simImage as make sim-image does.
func buildSimImage(t *testing.T, goBin string) {
	e2e.SimImage{Root: "..", Tag: simImage, Go: goBin}.Build(t)
}
