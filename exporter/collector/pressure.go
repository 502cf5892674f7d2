package collector

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/procfs"

	"github.com/servebench/servebench/exporter/contract"
)

// pressureResources are the PSI files read, in /proc/pressure.
var pressureResources = []string{"cpu", "memory", "io"}

// Pressure reports pressure stall information: how long tasks waited for
// CPU, memory and I/O. A kernel without PSI yields no series, not a failure.
type Pressure struct {
	fs               procfs.FS
	waiting, stalled *prometheus.Desc
}

// NewPressure returns the pressure collector reading fs.
func NewPressure(fs procfs.FS) *Pressure {
	return &Pressure{fs: fs, waiting: desc(contract.HostPressureWaiting), stalled: desc(contract.HostPressureStalled)}
}

// Update implements Collector.
func (p *Pressure) Update(_ context.Context, ch chan<- prometheus.Metric) error {
	for _, r := range pressureResources {
		st, err := p.fs.PSIStatsForResource(r)
		if errors.Is(err, fs.ErrNotExist) {
			continue // PSI disabled (psi=0) or a kernel before 4.20
		}
		if err != nil {
			return fmt.Errorf("read %s pressure: %w", r, err)
		}
		if st.Some != nil {
			ch <- prometheus.MustNewConstMetric(p.waiting, prometheus.CounterValue, float64(st.Some.Total)/1e6, r)
		}
		// System-wide "full" CPU pressure is undefined (the kernel reports 0).
		if st.Full != nil && r != "cpu" {
			ch <- prometheus.MustNewConstMetric(p.stalled, prometheus.CounterValue, float64(st.Full.Total)/1e6, r)
		}
	}
	return nil
}
