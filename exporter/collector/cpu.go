package collector

import (
	"context"
	"fmt"
	"math"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/procfs"

	"github.com/servebench/servebench/exporter/contract"
)

// CPU reports each CPU's busy seconds with its role, from /proc/stat.
type CPU struct {
	fs    procfs.FS
	roles Roles
	busy  *prometheus.Desc
	cpus  *prometheus.Desc
}

// NewCPU returns the cpu collector reading fs.
func NewCPU(fs procfs.FS, roles Roles) *CPU {
	return &CPU{fs: fs, roles: roles, busy: desc(contract.HostCPUBusy), cpus: desc(contract.HostCPUs)}
}

// Update implements Collector.
func (c *CPU) Update(_ context.Context, ch chan<- prometheus.Metric) error {
	st, err := c.fs.Stat()
	if err != nil {
		return fmt.Errorf("read cpu stat: %w", err)
	}
	count := map[contract.Role]int{}
	for n, s := range st.CPU {
		role := c.roles.Of(int(n))
		count[role]++
		// Guest time is already inside User and Nice; idle and iowait are not busy.
		// Round to µs: the fields are whole ticks, so this only drops float noise.
		busy := math.Round((s.User+s.Nice+s.System+s.IRQ+s.SoftIRQ+s.Steal)*1e6) / 1e6
		ch <- prometheus.MustNewConstMetric(c.busy, prometheus.CounterValue, busy, strconv.FormatInt(n, 10), string(role))
	}
	for _, role := range contract.Roles {
		ch <- prometheus.MustNewConstMetric(c.cpus, prometheus.GaugeValue, float64(count[role]), string(role))
	}
	return nil
}
