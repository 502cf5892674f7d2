package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/units"

	"github.com/servebench/servebench/exporter/contract"
)

// hostBoard shows the machine under the benchmark: CPU busy time by role
// (engine cpuset, load generator cpuset, the rest), memory, network, the
// containers the runner started and the load generator's own health. Host
// series carry no benchmark labels; they are split by instance (host).
func hostBoard() *dashboard.DashboardBuilder {
	return board(hostUID, "servebench / Host and containers",
		"CPU by role, memory, network, containers and the load generator's health during runs.",
		[]string{"host", "containers"}, liveVars(), []cog.Builder[dashboard.AnnotationQuery]{runAnnotation()},
		newRow("CPU",
			cpuByRolePanel(), perCPUPanel()),
		newRow("Memory and network",
			memoryPanel(), numaMemoryPanel(), networkPanel(), collectorHealthPanel()),
		newRow("Containers",
			containerCPUPanel(), containerMemoryPanel(), containerThrottlingPanel(), containerThrottledTimePanel()),
		newRow("Load generator process",
			processCPUPanel(), processMemoryPanel()),
	).Refresh("10s")
}

func plain(m contract.Metric) string { return m.Name }

// ofRunContainers selects a container series of the chosen runs; with All,
// containers without a run label too.
func ofRunContainers(m contract.Metric) string {
	return m.Name + "{" + eq(contract.LabelRunID, varRun) + "}"
}

func cpuByRolePanel() cog.Builder[dashboard.Panel] {
	expr := fmt.Sprintf("sum by (instance, role) (rate(%s[$__rate_interval])) / on (instance, role) sum by (instance, role) (%s)",
		plain(contract.HostCPUBusy), plain(contract.HostCPUs))
	return timeseriesPanel("CPU busy by role", "Busy fraction of the engine's CPUs, the load generator's CPUs and the rest; a busy load-generator set means a client-bound run.", units.PercentUnit, half).
		Min(0).Max(1).
		WithTarget(query(expr, "{{role}} {{instance}}"))
}

func perCPUPanel() cog.Builder[dashboard.Panel] {
	expr := fmt.Sprintf("sum by (instance, cpu, role) (rate(%s[$__rate_interval]))", plain(contract.HostCPUBusy))
	return timeseriesPanel("Busy time per CPU", "Busy fraction of every logical CPU, labelled with its role; look for engine CPUs idling or other CPUs busy.", units.PercentUnit, half).
		Min(0).Max(1).
		WithTarget(query(expr, "cpu {{cpu}} ({{role}})"))
}

func memoryPanel() cog.Builder[dashboard.Panel] {
	return timeseriesPanel("Host memory", "Memory in use (total minus available) against the total.", units.BytesIEC, half).
		WithTarget(query(fmt.Sprintf("%s - %s", plain(contract.HostMemoryTotal), plain(contract.HostMemoryAvailable)), "used {{instance}}")).
		WithTarget(query(plain(contract.HostMemoryTotal), "total {{instance}}"))
}

func numaMemoryPanel() cog.Builder[dashboard.Panel] {
	return timeseriesPanel("NUMA node memory free", "Free memory per NUMA node; a model split across nodes is slower on CPU.", units.BytesIEC, half).
		WithTarget(query(plain(contract.HostNUMAMemoryFree), "node {{node}} {{instance}}"))
}

func networkPanel() cog.Builder[dashboard.Panel] {
	return timeseriesPanel("Network", "Bytes per second received (positive) and sent (negative) per interface.", units.BytesPerSecondSI, half).
		WithTarget(query(fmt.Sprintf("sum by (instance, device) (rate(%s[$__rate_interval]))", plain(contract.HostNetworkReceive)), "rx {{device}} {{instance}}")).
		WithTarget(query(fmt.Sprintf("-sum by (instance, device) (rate(%s[$__rate_interval]))", plain(contract.HostNetworkTransmit)), "tx {{device}} {{instance}}"))
}

func collectorHealthPanel() cog.Builder[dashboard.Panel] {
	return timeseriesPanel("Collector health", "1 when a collector worked in the last scrape; 0 marks a gap in the panels above, not a quiet host.", units.Short, half).
		Min(0).Max(1).
		WithTarget(query(fmt.Sprintf("min by (instance, collector) (%s)", plain(contract.ScrapeCollectorSuccess)), "{{collector}} {{instance}}"))
}

func containerCPUPanel() cog.Builder[dashboard.Panel] {
	return timeseriesPanel("Container CPU", "Cores used by each container the runner started.", coresUnit, half).
		WithTarget(query(fmt.Sprintf("sum by (container, role, run_id) (rate(%s[$__rate_interval]))", ofRunContainers(contract.ContainerCPU)), "{{container}} ({{role}})"))
}

func containerMemoryPanel() cog.Builder[dashboard.Panel] {
	return timeseriesPanel("Container memory", "Working set of each container against its limit.", units.BytesIEC, half).
		WithTarget(query(fmt.Sprintf("max by (container, role) (%s)", ofRunContainers(contract.ContainerMemoryWorkingSet)), "{{container}} ({{role}})")).
		WithTarget(query(fmt.Sprintf("max by (container, role) (%s)", ofRunContainers(contract.ContainerMemoryLimit)), "limit {{container}}"))
}

func containerThrottlingPanel() cog.Builder[dashboard.Panel] {
	expr := fmt.Sprintf("sum by (container, role) (rate(%s[$__rate_interval])) / sum by (container, role) (rate(%s[$__rate_interval]))",
		ofRunContainers(contract.ContainerCPUThrottledPeriods), ofRunContainers(contract.ContainerCPUPeriods))
	return timeseriesPanel("Throttled periods", "Share of CFS periods in which the container hit its CPU quota; above a few percent the quota, not the cores, limits the engine.", units.PercentUnit, half).
		Min(0).Max(1).
		WithTarget(query(expr, "{{container}} ({{role}})"))
}

func containerThrottledTimePanel() cog.Builder[dashboard.Panel] {
	return timeseriesPanel("Throttled time", "Seconds per second each container spent throttled.", units.Seconds, half).
		WithTarget(query(fmt.Sprintf("sum by (container, role) (rate(%s[$__rate_interval]))", ofRunContainers(contract.ContainerCPUThrottled)), "{{container}} ({{role}})"))
}

func processCPUPanel() cog.Builder[dashboard.Panel] {
	return timeseriesPanel("servebench CPU", "Cores used by the servebench process by mode; near its cpuset size the load generator is the bottleneck.", coresUnit, half).
		Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal)).
		WithTarget(query(fmt.Sprintf("sum by (instance, mode) (rate(%s[$__rate_interval]))", plain(contract.ProcessCPU)), "{{mode}} {{instance}}"))
}

func processMemoryPanel() cog.Builder[dashboard.Panel] {
	return timeseriesPanel("servebench memory and goroutines", "Resident memory (left) and goroutines (right) of the servebench process.", units.BytesIEC, half).
		WithTarget(query(plain(contract.ProcessResidentMemory), "resident {{instance}}")).
		WithTarget(query(plain(contract.ProcessGoroutines), "goroutines {{instance}}")).
		OverrideByRegexp("^goroutines.*", []dashboard.DynamicConfigValue{
			{Id: "unit", Value: units.Short}, {Id: "custom.axisPlacement", Value: "right"},
		})
}
