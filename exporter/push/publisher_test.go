package push

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/exporter/recorder"
)

func benchmark(run, level string, fin time.Time) recorder.BenchmarkSummary {
	return recorder.BenchmarkSummary{RunID: run, Finished: fin, RequestsPerSecond: 2, Valid: true,
		Labels: measure.BenchmarkLabels{Suite: "bench", Model: "m", Workload: "chat", Loadgen: "native", Level: level}}
}

// Each publication is pushed at once, its timestamped samples once; a
// Pushgateway gets every configuration's latest results without
// timestamps; a target that fails is retried with the next publication and
// by Flush, which names it.
func TestPublisherPushesAsItPublishes(t *testing.T) {
	vm, pgw, bad := &sink{}, &sink{}, &sink{status: http.StatusServiceUnavailable}
	vmSrv, pgwSrv, badSrv := httptest.NewServer(vm), httptest.NewServer(pgw), httptest.NewServer(bad)
	defer vmSrv.Close()
	defer pgwSrv.Close()
	defer badSrv.Close()
	sums := recorder.NewSummaries()
	p, err := NewPublisher(sums, []string{vmSrv.URL + "/api/v1/import/prometheus", pgwSrv.URL + "/metrics/job/servebench",
		badSrv.URL + "/api/v1/import/prometheus"}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	fin := time.UnixMilli(1_767_000_000_000)
	if err := p.Publish(benchmark("r1", "concurrent-1", fin)); err != nil {
		t.Fatal(err)
	}
	if err := p.Publish(benchmark("r1", "concurrent-8", fin.Add(time.Minute))); err != nil {
		t.Fatal(err)
	}
	if len(vm.bodies) != 2 || len(pgw.bodies) != 2 {
		t.Fatalf("pushes: %d to VictoriaMetrics, %d to the Pushgateway; want one per publication", len(vm.bodies), len(pgw.bodies))
	}
	if !strings.Contains(vm.bodies[0], `level="concurrent-1"`) || strings.Contains(vm.bodies[1], `level="concurrent-1"`) ||
		!strings.Contains(vm.bodies[1], `level="concurrent-8",loadgen="native",model="m",run_id="r1",suite="bench",workload="chat"} 2 1767000060000`) {
		t.Errorf("VictoriaMetrics pushes: each benchmark once, with its finish time:\n%s\n---\n%s", vm.bodies[0], vm.bodies[1])
	}
	last := pgw.last()
	if !strings.Contains(last, `level="concurrent-1"`) || !strings.Contains(last, `level="concurrent-8"`) || strings.Contains(last, " 1767000") {
		t.Errorf("Pushgateway push: both benchmarks, no timestamps:\n%s", last)
	}
	if err := p.PublishRun(recorder.RunCompletion{RunID: "r1", Suite: "bench", Models: []string{"m"}, Status: contract.RunComplete,
		Started: fin.Add(-time.Minute), Finished: fin.Add(2 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(vm.last(), `servebench_run_finished_timestamp_seconds{model="m",run_id="r1",status="complete",suite="bench"} 1.76700012e+09 1767000120000`) {
		t.Errorf("run completion not pushed:\n%s", vm.last())
	}
	err = p.Flush(context.Background())
	if !errors.Is(err, ErrNotDelivered) || !strings.Contains(err.Error(), badSrv.URL) || strings.Contains(err.Error(), vmSrv.URL) {
		t.Errorf("Flush = %v, want ErrNotDelivered naming the failing target only", err)
	}
	bad.mu.Lock()
	bad.status = 0
	bad.mu.Unlock()
	if err := p.Flush(context.Background()); err != nil {
		t.Errorf("Flush after the target recovered: %v", err)
	}
	if b := bad.last(); !strings.Contains(b, `level="concurrent-1"`) || !strings.Contains(b, "servebench_run_finished_timestamp_seconds") {
		t.Errorf("the recovered target did not get everything it missed:\n%s", b)
	}
}

func TestIsPushgateway(t *testing.T) {
	if !IsPushgateway("http://pgw:9091/metrics/job/servebench/instance/a") || IsPushgateway("http://vm:8428/api/v1/import/prometheus") {
		t.Error("IsPushgateway misreads the path")
	}
}
