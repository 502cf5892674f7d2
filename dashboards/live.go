package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/units"

	"github.com/servebench/servebench/exporter/contract"
)

// liveBoard follows a run while it is measured: load, latency percentiles
// and distributions, errors, client lateness and token throughput, from the
// per-request series, broken down by load level.
func liveBoard() *dashboard.DashboardBuilder {
	return board(liveUID, "servebench / Live run",
		"A run while it is measured: client-side latency, load and errors by load level.",
		[]string{"live"}, liveVars(), []cog.Builder[dashboard.AnnotationQuery]{runAnnotation()},
		newRow("Load",
			targetRateStat(), achievedRateStat(), inFlightStat(), errorRatioStat(),
			targetVsAchievedPanel(), inFlightPanel()),
		newRow("Latency percentiles",
			latencyPanel("Time to first token", "From the scheduled send to the first token-carrying chunk.", contract.RequestTTFT),
			latencyPanel("Inter-token latency", "One sample per gap between token-carrying chunks.", contract.RequestITL),
			latencyPanel("Time per output token", "One sample per request: (e2e - ttft) / (output tokens - 1).", contract.RequestTPOT),
			latencyPanel("End-to-end latency", "From the scheduled send to the last byte.", contract.RequestE2E)),
		newRow("Latency distributions",
			heatmapPanel("TTFT distribution", "Requests per TTFT bucket over time.", contract.RequestTTFT, half),
			heatmapPanel("ITL distribution", "Inter-chunk gaps per bucket over time.", contract.RequestITL, half)),
		newRow("Errors and client",
			errorsByKindPanel(), sendLatenessPanel()),
		newRow("Tokens",
			outputTokensPanel(), promptTokensPanel()),
	).Refresh("10s")
}

var byLevel = []string{contract.LabelLevel}

func targetRateStat() cog.Builder[dashboard.Panel] {
	return statPanel("Target rate", "Requested load of the current level: req/s (open loop) or streams (closed loop), as its unit says.", units.Short, quarter).
		WithTarget(query(fmt.Sprintf("sum by (%s) (%s)", contract.LabelUnit, sel(contract.TargetRate, "")), "{{unit}}"))
}

func achievedRateStat() cog.Builder[dashboard.Panel] {
	return statPanel("Achieved send rate", "Requests actually sent per second (one lateness sample per send).", units.RequestsPerSecond, quarter).
		WithTarget(query(fmt.Sprintf("sum(rate(%s[$__rate_interval]))", sel(contract.SendLateness, "_count")), "sent"))
}

func inFlightStat() cog.Builder[dashboard.Panel] {
	return statPanel("In flight", "Requests sent and not yet finished.", units.Short, quarter).
		WithTarget(query(fmt.Sprintf("sum(%s)", sel(contract.RequestsInFlight, "")), "in flight"))
}

func errorRatioStat() cog.Builder[dashboard.Panel] {
	// No error series exists until a request fails: 0, not "No data".
	expr := fmt.Sprintf("(sum(rate(%s[$__rate_interval])) or vector(0)) / sum(rate(%s[$__rate_interval]))",
		sel(contract.Requests, "", contract.LabelOutcome+`="`+string(contract.OutcomeError)+`"`), sel(contract.Requests, ""))
	return statPanel("Error ratio", "Failed over finished requests.", units.PercentUnit, quarter).
		Thresholds(thresholds(0.01, 0.05)).ColorMode(common.BigValueColorModeBackground).
		WithTarget(query(expr, "errors"))
}

func targetVsAchievedPanel() cog.Builder[dashboard.Panel] {
	return timeseriesPanel("Target vs achieved rate", "Requested load against requests sent and finished per second; a gap means the client or the server cannot keep up.", units.Short, half).
		WithTarget(query(fmt.Sprintf("sum by (level, %s) (%s)", contract.LabelUnit, sel(contract.TargetRate, "")), "target {{level}} ({{unit}})")).
		WithTarget(query(fmt.Sprintf("sum by (level) (rate(%s[$__rate_interval]))", sel(contract.SendLateness, "_count")), "sent {{level}}")).
		WithTarget(query(rate(contract.Requests, byLevel, contract.LabelOutcome+`="`+string(contract.OutcomeSuccess)+`"`), "succeeded {{level}}"))
}

func inFlightPanel() cog.Builder[dashboard.Panel] {
	return timeseriesPanel("Requests in flight", "Requests sent and not yet finished, by level, and those of them still waiting for their first token (queued or in prefill).", units.Short, half).
		WithTarget(query(fmt.Sprintf("sum by (level) (%s)", sel(contract.RequestsInFlight, "")), "{{level}}")).
		WithTarget(query(fmt.Sprintf("sum by (level) (%s)", sel(contract.RequestsAwaitingFirstToken, "")), "awaiting first token {{level}}"))
}

// latencyPanel plots the summary quantiles (p50, p95, p99) of a live latency
// histogram by level.
func latencyPanel(title, desc string, m contract.Metric) cog.Builder[dashboard.Panel] {
	p := timeseriesPanel(title, desc, units.Seconds, half)
	for _, q := range contract.SummaryQuantiles {
		p.WithTarget(query(quantile(q, m, contract.LabelLevel), quantileLabel(q)+" {{level}}"))
	}
	return p
}

func errorsByKindPanel() cog.Builder[dashboard.Panel] {
	return timeseriesPanel("Errors by kind", "Failed requests per second by error kind.", units.RequestsPerSecond, half).
		Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal)).
		WithTarget(query(rate(contract.RequestErrors, []string{contract.LabelKind}), "{{kind}}"))
}

func sendLatenessPanel() cog.Builder[dashboard.Panel] {
	return timeseriesPanel("Send lateness", "Actual minus scheduled send time; a p99 above 1 ms means the client, not the server, is the bottleneck.", units.Seconds, half).
		WithTarget(query(quantile("0.5", contract.SendLateness, contract.LabelLevel), "p50 {{level}}")).
		WithTarget(query(quantile("0.99", contract.SendLateness, contract.LabelLevel), "p99 {{level}}"))
}

func outputTokensPanel() cog.Builder[dashboard.Panel] {
	return timeseriesPanel("Output tokens/s", "Output tokens received per second.", tokensUnit, half).
		WithTarget(query(rate(contract.OutputTokens, byLevel), "{{level}}"))
}

func promptTokensPanel() cog.Builder[dashboard.Panel] {
	return timeseriesPanel("Prompt tokens/s", "Prompt tokens sent per second.", tokensUnit, half).
		WithTarget(query(rate(contract.PromptTokens, byLevel), "{{level}}"))
}
