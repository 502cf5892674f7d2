package collector

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
)

// fakeDocker answers ContainerList and ContainerStatsOneShot from fixtures.
type fakeDocker struct {
	list  []container.Summary
	stats map[string]string
}

func (f fakeDocker) ContainerList(_ context.Context, o container.ListOptions) ([]container.Summary, error) {
	if !o.Filters.Contains("label") {
		return nil, errors.New("list without a label filter")
	}
	return f.list, nil
}

func (f fakeDocker) ContainerStatsOneShot(_ context.Context, id string) (container.StatsResponseReader, error) {
	s, ok := f.stats[id]
	if !ok {
		return container.StatsResponseReader{}, errors.New("Error response from daemon: No such container: " + id)
	}
	return container.StatsResponseReader{Body: io.NopCloser(strings.NewReader(s))}, nil
}

func TestContainerFromStats(t *testing.T) {
	f := fakeDocker{
		list: []container.Summary{
			{ID: "aaa", Names: []string{"/vllm-r1"}, Labels: map[string]string{"io.servebench.role": "engine", "io.servebench.run_id": "r1"}},
			{ID: "bbb", Names: []string{"/guidellm-r1"}, Labels: map[string]string{"io.servebench.role": "surprise"}},
			{ID: "gone", Names: []string{"/gone"}, Labels: map[string]string{"io.servebench.role": "engine"}},
		},
		stats: map[string]string{
			// cgroup v2: inactive_file
			"aaa": `{"read":"2026-11-27T03:00:00Z","cpu_stats":{"cpu_usage":{"total_usage":12500000000},"throttling_data":{"periods":100,"throttled_periods":7,"throttled_time":350000000}},
				"memory_stats":{"usage":1000000,"limit":4000000,"stats":{"inactive_file":250000}}}`,
			// cgroup v1: total_inactive_file
			"bbb": `{"read":"2026-11-27T03:00:00Z","cpu_stats":{"cpu_usage":{"total_usage":500000000}},
				"memory_stats":{"usage":2000000,"limit":8000000,"stats":{"total_inactive_file":500000,"inactive_file":1}}}`,
		},
	}
	compare(t, NewContainer(f), `
# HELP servebench_container_cpu_seconds_total CPU seconds used by the container (cgroup total usage).
# TYPE servebench_container_cpu_seconds_total counter
servebench_container_cpu_seconds_total{container="guidellm-r1",role="other",run_id=""} 0.5
servebench_container_cpu_seconds_total{container="vllm-r1",role="engine",run_id="r1"} 12.5
# HELP servebench_container_cpu_throttled_periods_total CFS periods in which the container was throttled by its CPU quota.
# TYPE servebench_container_cpu_throttled_periods_total counter
servebench_container_cpu_throttled_periods_total{container="guidellm-r1",role="other",run_id=""} 0
servebench_container_cpu_throttled_periods_total{container="vllm-r1",role="engine",run_id="r1"} 7
# HELP servebench_container_cpu_throttled_seconds_total Time the container was throttled by its CPU quota.
# TYPE servebench_container_cpu_throttled_seconds_total counter
servebench_container_cpu_throttled_seconds_total{container="guidellm-r1",role="other",run_id=""} 0
servebench_container_cpu_throttled_seconds_total{container="vllm-r1",role="engine",run_id="r1"} 0.35
# HELP servebench_container_memory_working_set_bytes Container memory usage minus inactive file cache, as docker stats shows it.
# TYPE servebench_container_memory_working_set_bytes gauge
servebench_container_memory_working_set_bytes{container="guidellm-r1",role="other",run_id=""} 1.5e+06
servebench_container_memory_working_set_bytes{container="vllm-r1",role="engine",run_id="r1"} 750000
`, "servebench_container_cpu_seconds_total", "servebench_container_cpu_throttled_periods_total",
		"servebench_container_cpu_throttled_seconds_total", "servebench_container_memory_working_set_bytes")
}

func TestWorkingSetNeverNegative(t *testing.T) {
	if got := WorkingSet(container.MemoryStats{Usage: 10, Stats: map[string]uint64{"inactive_file": 20}}); got != 10 {
		t.Errorf("WorkingSet = %d, want usage 10 when inactive exceeds it", got)
	}
}
