package collector

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/procfs"

	"github.com/servebench/servebench/exporter/contract"
)

// userHZ is the kernel's clock tick for /proc/PID/stat times; 100 on every
// Linux architecture servebench runs on (procfs assumes the same).
const userHZ = 100

// Process reports one process's CPU, memory and threads, and goroutines when
// given a counter for them: servebench's own health.
type Process struct {
	fs         procfs.FS
	pid        int
	goroutines func() int
	cpu, rss   *prometheus.Desc
	threads    *prometheus.Desc
	gor        *prometheus.Desc
}

// NewProcess returns the process collector for pid; goroutines (may be nil)
// is runtime.NumGoroutine when pid is the calling process.
func NewProcess(fs procfs.FS, pid int, goroutines func() int) *Process {
	return &Process{fs: fs, pid: pid, goroutines: goroutines,
		cpu: desc(contract.ProcessCPU), rss: desc(contract.ProcessResidentMemory),
		threads: desc(contract.ProcessThreads), gor: desc(contract.ProcessGoroutines)}
}

// Update implements Collector.
func (p *Process) Update(_ context.Context, ch chan<- prometheus.Metric) error {
	proc, err := p.fs.Proc(p.pid)
	if err != nil {
		return fmt.Errorf("open process %d: %w", p.pid, err)
	}
	st, err := proc.Stat()
	if err != nil {
		return fmt.Errorf("read process %d stat: %w", p.pid, err)
	}
	ch <- prometheus.MustNewConstMetric(p.cpu, prometheus.CounterValue, float64(st.UTime)/userHZ, "user")
	ch <- prometheus.MustNewConstMetric(p.cpu, prometheus.CounterValue, float64(st.STime)/userHZ, "system")
	ch <- prometheus.MustNewConstMetric(p.rss, prometheus.GaugeValue, float64(st.ResidentMemory()))
	ch <- prometheus.MustNewConstMetric(p.threads, prometheus.GaugeValue, float64(st.NumThreads))
	if p.goroutines != nil {
		ch <- prometheus.MustNewConstMetric(p.gor, prometheus.GaugeValue, float64(p.goroutines()))
	}
	return nil
}
