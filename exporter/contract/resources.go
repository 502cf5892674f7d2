package contract

// Resource labels: the machine's and the containers' state, next to the
// request series.
const (
	LabelCPU       = "cpu"       // logical CPU number as in /proc/stat
	LabelRole      = "role"      // one of Roles
	LabelNode      = "node"      // NUMA node number
	LabelDevice    = "device"    // network interface name
	LabelMode      = "mode"      // user or system
	LabelContainer = "container" // container name without the leading slash
	LabelRunID     = "run_id"    // the run a container belongs to, "" when unlabelled
	LabelCollector = "collector" // collector name, e.g. "cpu"
)

// Role is what a CPU or a container is used for during a run.
type Role string

// Roles: every CPU and every labelled container has exactly one.
const (
	RoleEngine  Role = "engine"  // the inference server's cpuset or container
	RoleLoadgen Role = "loadgen" // the load generator's cpuset or container
	RoleOther   Role = "other"   // everything else
)

// Roles lists the values of the role label.
var Roles = []Role{RoleEngine, RoleLoadgen, RoleOther}

// Docker labels the runner sets on the containers it starts; the container
// collector only reports containers carrying ContainerRoleLabel.
const (
	ContainerRoleLabel  = "io.servebench.role"   // a Role value
	ContainerRunIDLabel = "io.servebench.run_id" // the run's id
)

// Host series (procfs, sysfs).
var (
	HostCPUBusy = Metric{Name: "servebench_host_cpu_busy_seconds_total", Type: Counter, Unit: "seconds", Labels: []string{LabelCPU, LabelRole},
		Help: "Seconds each CPU spent neither idle nor waiting for I/O, with the CPU's role from the configured cpusets."}
	HostCPUs = Metric{Name: "servebench_host_cpus", Type: Gauge, Unit: "cpus", Labels: []string{LabelRole},
		Help: "Logical CPUs per role; divide the busy rate by it for a utilisation ratio."}
	HostMemoryTotal = Metric{Name: "servebench_host_memory_total_bytes", Type: Gauge, Unit: "bytes",
		Help: "Total usable memory of the host (MemTotal)."}
	HostMemoryAvailable = Metric{Name: "servebench_host_memory_available_bytes", Type: Gauge, Unit: "bytes",
		Help: "Memory available for new work without swapping (MemAvailable)."}
	HostNUMAMemoryTotal = Metric{Name: "servebench_host_numa_memory_total_bytes", Type: Gauge, Unit: "bytes", Labels: []string{LabelNode},
		Help: "Total memory of each NUMA node, where the host exposes nodes."}
	HostNUMAMemoryFree = Metric{Name: "servebench_host_numa_memory_free_bytes", Type: Gauge, Unit: "bytes", Labels: []string{LabelNode},
		Help: "Free memory of each NUMA node (nodes have no MemAvailable; page cache is not counted as free)."}
	HostNetworkReceive = Metric{Name: "servebench_host_network_receive_bytes_total", Type: Counter, Unit: "bytes", Labels: []string{LabelDevice},
		Help: "Bytes received per network interface."}
	HostNetworkTransmit = Metric{Name: "servebench_host_network_transmit_bytes_total", Type: Counter, Unit: "bytes", Labels: []string{LabelDevice},
		Help: "Bytes sent per network interface."}
)

// Process series: the health of the servebench process itself. Served by the
// runner they are the load generator's health (is the client the bottleneck?);
// served by the standalone exporter they are the exporter's own cost.
var (
	ProcessCPU = Metric{Name: "servebench_process_cpu_seconds_total", Type: Counter, Unit: "seconds", Labels: []string{LabelMode},
		Help: "CPU seconds used by the servebench process, by mode (user, system)."}
	ProcessResidentMemory = Metric{Name: "servebench_process_resident_memory_bytes", Type: Gauge, Unit: "bytes",
		Help: "Resident memory of the servebench process."}
	ProcessGoroutines = Metric{Name: "servebench_process_goroutines", Type: Gauge, Unit: "goroutines",
		Help: "Goroutines of the servebench process."}
	ProcessThreads = Metric{Name: "servebench_process_threads", Type: Gauge, Unit: "threads",
		Help: "OS threads of the servebench process."}
	BuildInfo = Metric{Name: "servebench_build_info", Type: Gauge, Labels: []string{"version", "revision", "goversion", "goos", "goarch"},
		Help: "Always 1, labelled with the servebench build serving it, as its --version prints it."}
)

// Container series (Docker Engine API), for containers carrying
// ContainerRoleLabel.
var (
	ContainerLabels = []string{LabelContainer, LabelRole, LabelRunID}

	ContainerCPU = Metric{Name: "servebench_container_cpu_seconds_total", Type: Counter, Unit: "seconds", Labels: ContainerLabels,
		Help: "CPU seconds used by the container (cgroup total usage)."}
	ContainerCPUPeriods = Metric{Name: "servebench_container_cpu_periods_total", Type: Counter, Unit: "periods", Labels: ContainerLabels,
		Help: "CFS enforcement periods that elapsed while the container was runnable (0 without a CPU quota)."}
	ContainerCPUThrottledPeriods = Metric{Name: "servebench_container_cpu_throttled_periods_total", Type: Counter, Unit: "periods", Labels: ContainerLabels,
		Help: "CFS periods in which the container was throttled by its CPU quota."}
	ContainerCPUThrottled = Metric{Name: "servebench_container_cpu_throttled_seconds_total", Type: Counter, Unit: "seconds", Labels: ContainerLabels,
		Help: "Time the container was throttled by its CPU quota."}
	ContainerMemoryWorkingSet = Metric{Name: "servebench_container_memory_working_set_bytes", Type: Gauge, Unit: "bytes", Labels: ContainerLabels,
		Help: "Container memory usage minus inactive file cache, as docker stats shows it."}
	ContainerMemoryLimit = Metric{Name: "servebench_container_memory_limit_bytes", Type: Gauge, Unit: "bytes", Labels: ContainerLabels,
		Help: "Memory limit of the container (the host's memory when unlimited)."}
)

// Scrape series: every collector reports whether it worked and how long it
// took, so a failing collector shows as 0 rather than failing the scrape.
var (
	ScrapeCollectorSuccess = Metric{Name: "servebench_scrape_collector_success", Type: Gauge, Labels: []string{LabelCollector},
		Help: "1 when the collector succeeded in this scrape, 0 when it failed."}
	ScrapeCollectorDuration = Metric{Name: "servebench_scrape_collector_duration_seconds", Type: Gauge, Unit: "seconds", Labels: []string{LabelCollector},
		Help: "How long the collector took in this scrape."}
)

// Host lists the host series in documentation order.
func Host() []Metric {
	return []Metric{HostCPUBusy, HostCPUs, HostMemoryTotal, HostMemoryAvailable, HostNUMAMemoryTotal, HostNUMAMemoryFree,
		HostNetworkReceive, HostNetworkTransmit}
}

// Process lists the process (load-generator health) series in documentation order.
func Process() []Metric {
	return []Metric{ProcessCPU, ProcessResidentMemory, ProcessGoroutines, ProcessThreads, BuildInfo}
}

// Container lists the container series in documentation order.
func Container() []Metric {
	return []Metric{ContainerCPU, ContainerCPUPeriods, ContainerCPUThrottledPeriods, ContainerCPUThrottled,
		ContainerMemoryWorkingSet, ContainerMemoryLimit}
}

// Scrape lists the collector health series in documentation order.
func Scrape() []Metric {
	return []Metric{ScrapeCollectorSuccess, ScrapeCollectorDuration}
}

// Group is a documented set of series.
type Group struct {
	Title   string
	Intro   string
	Metrics []Metric
}

// Groups lists every series servebench publishes, grouped as docs/metrics.md
// shows them.
func Groups() []Group {
	return []Group{
		{Title: "Per-request series", Metrics: Core(),
			Intro: "Published live by the recorder while a benchmark runs (runner, metering proxy). Every series carries the benchmark labels."},
		{Title: "Benchmark summary series", Metrics: Summary(),
			Intro: "One sample per finished benchmark, with its finish time as the sample timestamp, labelled by run and configuration: about thirty series per finished benchmark (one per figure and quantile), so a nightly run of ten load levels adds some 300 series a night, 110,000 a year. Read them with `last_over_time` over a range and aggregate across runs; `servebench_benchmark_finished_timestamp_seconds` tells the latest run of a configuration. A figure that does not exist has no series."},
		{Title: "Run completion series", Metrics: RunCompletion(),
			Intro: "One sample per finished run, published when it ends (complete, interrupted or failed), stamped with its finish time: what the run-finished notification reads."},
		{Title: "Host series", Metrics: Host(),
			Intro: "Read from procfs and sysfs by the host collectors (`cpu`, `memory`, `network`)."},
		{Title: "Process series", Metrics: Process(),
			Intro: "The servebench process's own cost (collector `process`): the load generator's health when served by the runner."},
		{Title: "Container series", Metrics: Container(),
			Intro: "Read from the Docker Engine API (collector `container`) for containers labelled `" + ContainerRoleLabel + "`; `run_id` comes from `" + ContainerRunIDLabel + "`."},
		{Title: "Collector health", Metrics: Scrape(),
			Intro: "Reported per collector in every scrape; a failing collector never fails the scrape."},
	}
}

// All lists every series in documentation order.
func All() []Metric {
	var out []Metric
	for _, g := range Groups() {
		out = append(out, g.Metrics...)
	}
	return out
}
