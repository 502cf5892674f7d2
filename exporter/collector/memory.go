package collector

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/procfs"

	"github.com/servebench/servebench/exporter/contract"
)

// Memory reports host memory from /proc/meminfo and, where the host has NUMA
// nodes in sysfs, each node's total and free memory.
type Memory struct {
	fs        procfs.FS
	sysfs     string // sysfs mount point, e.g. /sys
	total     *prometheus.Desc
	available *prometheus.Desc
	numaTotal *prometheus.Desc
	numaFree  *prometheus.Desc
}

// NewMemory returns the memory collector reading fs and the sysfs tree at sysfs.
func NewMemory(fs procfs.FS, sysfs string) *Memory {
	return &Memory{fs: fs, sysfs: sysfs,
		total: desc(contract.HostMemoryTotal), available: desc(contract.HostMemoryAvailable),
		numaTotal: desc(contract.HostNUMAMemoryTotal), numaFree: desc(contract.HostNUMAMemoryFree)}
}

// Update implements Collector.
func (m *Memory) Update(_ context.Context, ch chan<- prometheus.Metric) error {
	mi, err := m.fs.Meminfo()
	if err != nil {
		return fmt.Errorf("read meminfo: %w", err)
	}
	if mi.MemTotalBytes == nil || mi.MemAvailableBytes == nil {
		return errors.New("meminfo lacks MemTotal or MemAvailable")
	}
	ch <- prometheus.MustNewConstMetric(m.total, prometheus.GaugeValue, float64(*mi.MemTotalBytes))
	ch <- prometheus.MustNewConstMetric(m.available, prometheus.GaugeValue, float64(*mi.MemAvailableBytes))

	files, err := filepath.Glob(filepath.Join(m.sysfs, "devices", "system", "node", "node*", "meminfo"))
	if err != nil {
		return fmt.Errorf("list numa nodes: %w", err)
	}
	for _, f := range files {
		node := strings.TrimPrefix(filepath.Base(filepath.Dir(f)), "node")
		total, free, err := nodeMeminfo(f)
		if err != nil {
			return err
		}
		ch <- prometheus.MustNewConstMetric(m.numaTotal, prometheus.GaugeValue, total, node)
		ch <- prometheus.MustNewConstMetric(m.numaFree, prometheus.GaugeValue, free, node)
	}
	return nil
}

// nodeMeminfo reads MemTotal and MemFree, in bytes, from a node's meminfo
// ("Node 0 MemTotal:       16333380 kB").
func nodeMeminfo(path string) (total, free float64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, fmt.Errorf("read numa meminfo: %w", err)
	}
	defer f.Close()
	var seen int
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || (fields[2] != "MemTotal:" && fields[2] != "MemFree:") {
			continue
		}
		v, err := strconv.ParseFloat(fields[3], 64)
		if err != nil {
			return 0, 0, fmt.Errorf("%s line %d: bad value %q", path, line, fields[3])
		}
		if len(fields) > 4 && fields[4] == "kB" {
			v *= 1024
		}
		if fields[2] == "MemTotal:" {
			total = v
		} else {
			free = v
		}
		seen++
	}
	if err := sc.Err(); err != nil {
		return 0, 0, fmt.Errorf("read %s: %w", path, err)
	}
	if seen < 2 {
		return 0, 0, fmt.Errorf("%s: MemTotal or MemFree missing", path)
	}
	return total, free, nil
}
