package collector

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/procfs"

	"github.com/servebench/servebench/exporter/contract"
)

func fixtureFS(t *testing.T) procfs.FS {
	t.Helper()
	fs, err := procfs.NewFS("testdata/proc")
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

// only wraps one Collector as a prometheus.Collector for testutil.
type only struct{ c Collector }

func (o only) Describe(chan<- *prometheus.Desc) {}
func (o only) Collect(ch chan<- prometheus.Metric) {
	if err := o.c.Update(context.Background(), ch); err != nil {
		panic(err)
	}
}

func compare(t *testing.T, c Collector, want string, names ...string) {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(only{c})
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
}

func TestCPU(t *testing.T) {
	roles, err := NewRoles("0-1", "2")
	if err != nil {
		t.Fatal(err)
	}
	compare(t, NewCPU(fixtureFS(t), roles), `
# HELP servebench_host_cpu_busy_seconds_total Seconds each CPU spent neither idle nor waiting for I/O, with the CPU's role from the configured cpusets.
# TYPE servebench_host_cpu_busy_seconds_total counter
servebench_host_cpu_busy_seconds_total{cpu="0",role="engine"} 15.2
servebench_host_cpu_busy_seconds_total{cpu="1",role="engine"} 16.15
servebench_host_cpu_busy_seconds_total{cpu="2",role="loadgen"} 15.15
servebench_host_cpu_busy_seconds_total{cpu="3",role="other"} 15.1
# HELP servebench_host_cpus Logical CPUs per role; divide the busy rate by it for a utilisation ratio.
# TYPE servebench_host_cpus gauge
servebench_host_cpus{role="engine"} 2
servebench_host_cpus{role="loadgen"} 1
servebench_host_cpus{role="other"} 1
`)
}

func TestMemoryWithNUMA(t *testing.T) {
	compare(t, NewMemory(fixtureFS(t), "testdata/sys"), `
# HELP servebench_host_memory_available_bytes Memory available for new work without swapping (MemAvailable).
# TYPE servebench_host_memory_available_bytes gauge
servebench_host_memory_available_bytes 8.388608e+09
# HELP servebench_host_memory_total_bytes Total usable memory of the host (MemTotal).
# TYPE servebench_host_memory_total_bytes gauge
servebench_host_memory_total_bytes 1.6777216e+10
# HELP servebench_host_numa_memory_free_bytes Free memory of each NUMA node (nodes have no MemAvailable; page cache is not counted as free).
# TYPE servebench_host_numa_memory_free_bytes gauge
servebench_host_numa_memory_free_bytes{node="0"} 5.24288e+08
servebench_host_numa_memory_free_bytes{node="1"} 1.048576e+09
# HELP servebench_host_numa_memory_total_bytes Total memory of each NUMA node, where the host exposes nodes.
# TYPE servebench_host_numa_memory_total_bytes gauge
servebench_host_numa_memory_total_bytes{node="0"} 8.388608e+09
servebench_host_numa_memory_total_bytes{node="1"} 8.388608e+09
`)
}

// Without NUMA nodes in sysfs only the host totals are exposed.
func TestMemoryWithoutNUMA(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(only{NewMemory(fixtureFS(t), t.TempDir())})
	n, err := testutil.GatherAndCount(reg)
	if err != nil || n != 2 {
		t.Errorf("series = %d (%v), want 2", n, err)
	}
}

func TestNetwork(t *testing.T) {
	compare(t, NewNetwork(fixtureFS(t), regexp.MustCompile(`^lo$|`+DefaultNetworkExclude)), `
# HELP servebench_host_network_receive_bytes_total Bytes received per network interface.
# TYPE servebench_host_network_receive_bytes_total counter
servebench_host_network_receive_bytes_total{device="eth0"} 1.23456789e+08
# HELP servebench_host_network_transmit_bytes_total Bytes sent per network interface.
# TYPE servebench_host_network_transmit_bytes_total counter
servebench_host_network_transmit_bytes_total{device="eth0"} 9.8765432e+07
`)
	// Without an exclusion every interface is there, Docker's veth pairs too.
	compare(t, NewNetwork(fixtureFS(t), nil), `
# HELP servebench_host_network_receive_bytes_total Bytes received per network interface.
# TYPE servebench_host_network_receive_bytes_total counter
servebench_host_network_receive_bytes_total{device="eth0"} 1.23456789e+08
servebench_host_network_receive_bytes_total{device="lo"} 5e+06
servebench_host_network_receive_bytes_total{device="vethab12cd"} 777000
# HELP servebench_host_network_transmit_bytes_total Bytes sent per network interface.
# TYPE servebench_host_network_transmit_bytes_total counter
servebench_host_network_transmit_bytes_total{device="eth0"} 9.8765432e+07
servebench_host_network_transmit_bytes_total{device="lo"} 5e+06
servebench_host_network_transmit_bytes_total{device="vethab12cd"} 888000
`)
}

func TestProcess(t *testing.T) {
	page := float64(os.Getpagesize())
	c := NewProcess(fixtureFS(t), 4242, func() int { return 7 })
	reg := prometheus.NewRegistry()
	reg.MustRegister(only{c})
	for name, want := range map[string]float64{
		contract.ProcessResidentMemory.Name: 2560 * page,
		contract.ProcessThreads.Name:        12,
		contract.ProcessGoroutines.Name:     7,
	} {
		mfs, _ := reg.Gather()
		if got := value(mfs, name, ""); got != want {
			t.Errorf("%s = %g, want %g", name, got, want)
		}
	}
	mfs, _ := reg.Gather()
	if u, s := value(mfs, contract.ProcessCPU.Name, "user"), value(mfs, contract.ProcessCPU.Name, "system"); u != 2.5 || s != 0.75 {
		t.Errorf("cpu user/system = %g/%g, want 2.5/0.75", u, s)
	}
}

// The real /proc of this test process: its own CPU time moves as it works.
func TestProcessSelfMoves(t *testing.T) {
	fs, err := procfs.NewDefaultFS()
	if err != nil {
		t.Skip("no /proc")
	}
	c := NewProcess(fs, os.Getpid(), nil)
	read := func() float64 {
		reg := prometheus.NewRegistry()
		reg.MustRegister(only{c})
		mfs, _ := reg.Gather()
		return value(mfs, contract.ProcessCPU.Name, "user") + value(mfs, contract.ProcessCPU.Name, "system")
	}
	before := read()
	x := 0
	for before == read() && x < 1e10 {
		for i := range 10_000_000 {
			x += i & 1
		}
	}
	if read() <= before {
		t.Errorf("cpu seconds did not move")
	}
}

func TestParseCPUSetAndRoles(t *testing.T) {
	got, err := ParseCPUSet("0-2, 5,7-8")
	if err != nil || len(got) != 6 || got[3] != 5 || got[5] != 8 {
		t.Errorf("ParseCPUSet = %v, %v", got, err)
	}
	for _, bad := range []string{"a", "3-1", "1-", "-1"} {
		if _, err := ParseCPUSet(bad); err == nil {
			t.Errorf("ParseCPUSet(%q) accepted", bad)
		}
	}
	if _, err := NewRoles("0-3", "3-4"); err == nil || !strings.Contains(err.Error(), "cpu 3") {
		t.Errorf("overlapping cpusets: err = %v, want one naming cpu 3", err)
	}
	if _, err := NewRoles("x", ""); err == nil || !strings.Contains(err.Error(), "engine") {
		t.Errorf("bad engine cpuset: err = %v, want one naming engine", err)
	}
}

type failing struct{}

func (failing) Update(context.Context, chan<- prometheus.Metric) error { return errors.New("boom") }

// A failing collector is reported as 0 and the scrape still carries the
// others' series.
func TestSetReportsFailureWithoutFailingScrape(t *testing.T) {
	broken := t.TempDir()
	if err := os.MkdirAll(filepath.Join(broken, "devices/system/node/node0"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(broken, "devices/system/node/node0/meminfo"), []byte("Node 0 MemTotal: x kB\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	set := NewSet(slog.New(slog.NewTextHandler(io.Discard, nil)), 0, map[string]Collector{
		"cpu":    NewCPU(fixtureFS(t), nil),
		"memory": NewMemory(fixtureFS(t), broken),
		"fail":   failing{},
	})
	reg := prometheus.NewRegistry()
	reg.MustRegister(set)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("scrape failed: %v", err)
	}
	for name, want := range map[string]float64{"cpu": 1, "memory": 0, "fail": 0} {
		if got := value(mfs, contract.ScrapeCollectorSuccess.Name, name); got != want {
			t.Errorf("success{collector=%s} = %g, want %g", name, got, want)
		}
		if got := value(mfs, contract.ScrapeCollectorDuration.Name, name); got < 0 || got > 5 {
			t.Errorf("duration{collector=%s} = %g", name, got)
		}
	}
	if got := value(mfs, contract.HostCPUs.Name, "other"); got != 4 {
		t.Errorf("cpu series missing next to failing collectors: cpus{other} = %g", got)
	}
	// The memory collector sent its host totals before failing on the node.
	if got := value(mfs, contract.HostMemoryTotal.Name, ""); got == -1 {
		t.Errorf("host memory total missing")
	}
}

// value returns the value of the first series of name whose only (or no)
// label value is lv, -1 when absent.
func value(mfs []*dtoFamily, name, lv string) float64 {
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if lv != "" && (len(m.GetLabel()) == 0 || m.GetLabel()[len(m.GetLabel())-1].GetValue() != lv && m.GetLabel()[0].GetValue() != lv) {
				continue
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			}
		}
	}
	return -1
}

func TestBuild(t *testing.T) {
	got, err := Build([]string{"cpu", "memory", "network", "process"}, Options{ProcFS: "testdata/proc", SysFS: "testdata/sys",
		EngineCPUs: "0", PID: 4242})
	if err != nil || len(got) != 4 {
		t.Fatalf("Build = %v, %v", got, err)
	}
	for _, c := range []struct {
		names []string
		o     Options
		want  string
	}{
		{[]string{"gpu"}, Options{}, "unknown collector"},
		{[]string{"container"}, Options{}, "Docker"},
		{[]string{"process"}, Options{ProcFS: "testdata/proc"}, "pid"},
		{[]string{"cpu"}, Options{ProcFS: "testdata/proc", EngineCPUs: "0-1", LoadgenCPUs: "1"}, "cpu 1"},
		{[]string{"memory"}, Options{ProcFS: "/nonexistent"}, "procfs /nonexistent"},
	} {
		if _, err := Build(c.names, c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Build(%v) error %v, want one mentioning %q", c.names, err, c.want)
		}
	}
}
