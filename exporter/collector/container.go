package collector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/servebench/servebench/exporter/contract"
)

// DockerAPI is the part of the Docker Engine client the container collector
// uses; *client.Client from github.com/docker/docker/client implements it.
type DockerAPI interface {
	ContainerList(ctx context.Context, options container.ListOptions) ([]container.Summary, error)
	ContainerStatsOneShot(ctx context.Context, containerID string) (container.StatsResponseReader, error)
}

// Container reports CPU, throttling and memory of the running containers
// carrying contract.ContainerRoleLabel, with their role and run.
type Container struct {
	api                                       DockerAPI
	cpu, periods, throttledPeriods, throttled *prometheus.Desc
	workingSet, limit                         *prometheus.Desc
}

// NewContainer returns the container collector. Create the client with
// client.WithAPIVersionNegotiation() so that older engines answer.
func NewContainer(api DockerAPI) *Container {
	return &Container{api: api,
		cpu: desc(contract.ContainerCPU), periods: desc(contract.ContainerCPUPeriods),
		throttledPeriods: desc(contract.ContainerCPUThrottledPeriods), throttled: desc(contract.ContainerCPUThrottled),
		workingSet: desc(contract.ContainerMemoryWorkingSet), limit: desc(contract.ContainerMemoryLimit)}
}

// Update implements Collector. Stats are read concurrently, at most 8 at a
// time; a container that vanished between list and stats is skipped.
func (c *Container) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	list, err := c.api.ContainerList(ctx, container.ListOptions{
		Filters: filters.NewArgs(filters.Arg("label", contract.ContainerRoleLabel)),
	})
	if err != nil {
		return fmt.Errorf("list containers: %w", err)
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		sem  = make(chan struct{}, 8)
	)
	for _, s := range list {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := c.one(ctx, s, ch); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (c *Container) one(ctx context.Context, s container.Summary, ch chan<- prometheus.Metric) error {
	name := s.ID
	if len(name) > 12 {
		name = name[:12]
	}
	if len(s.Names) > 0 {
		name = strings.TrimPrefix(s.Names[0], "/")
	}
	role := contract.Role(s.Labels[contract.ContainerRoleLabel])
	switch role {
	case contract.RoleEngine, contract.RoleLoadgen:
	default:
		role = contract.RoleOther // the label is set by us, but keep the value set closed
	}
	lv := []string{name, string(role), s.Labels[contract.ContainerRunIDLabel]}

	r, err := c.api.ContainerStatsOneShot(ctx, s.ID)
	if err != nil {
		if ctx.Err() == nil && strings.Contains(strings.ToLower(err.Error()), "no such container") {
			return nil
		}
		return fmt.Errorf("stats of container %s: %w", name, err)
	}
	defer r.Body.Close()
	var st container.StatsResponse
	if err := json.NewDecoder(r.Body).Decode(&st); err != nil {
		return fmt.Errorf("decode stats of container %s: %w", name, err)
	}
	if st.Read.IsZero() {
		return nil // stopped between list and stats: docker answers with an empty sample
	}
	cpu := st.CPUStats
	ch <- prometheus.MustNewConstMetric(c.cpu, prometheus.CounterValue, float64(cpu.CPUUsage.TotalUsage)/1e9, lv...)
	ch <- prometheus.MustNewConstMetric(c.periods, prometheus.CounterValue, float64(cpu.ThrottlingData.Periods), lv...)
	ch <- prometheus.MustNewConstMetric(c.throttledPeriods, prometheus.CounterValue, float64(cpu.ThrottlingData.ThrottledPeriods), lv...)
	ch <- prometheus.MustNewConstMetric(c.throttled, prometheus.CounterValue, float64(cpu.ThrottlingData.ThrottledTime)/1e9, lv...)
	ch <- prometheus.MustNewConstMetric(c.workingSet, prometheus.GaugeValue, float64(WorkingSet(st.MemoryStats)), lv...)
	ch <- prometheus.MustNewConstMetric(c.limit, prometheus.GaugeValue, float64(st.MemoryStats.Limit), lv...)
	return nil
}

// WorkingSet is memory usage minus inactive file cache, as docker stats and
// cAdvisor compute it: total_inactive_file on cgroup v1, inactive_file on v2.
func WorkingSet(m container.MemoryStats) uint64 {
	inactive, ok := m.Stats["total_inactive_file"]
	if !ok {
		inactive = m.Stats["inactive_file"]
	}
	if inactive < m.Usage {
		return m.Usage - inactive
	}
	return m.Usage
}
