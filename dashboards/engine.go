package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/units"

	"github.com/servebench/servebench/exporter/contract"
)

// engineBoard shows the engine from its own /metrics (vLLM's series, or the
// simulator's, which speaks the same names) next to the client's view.
func engineBoard() *dashboard.DashboardBuilder {
	return board(engineUID, "servebench / Engine",
		"The engine's own view: scheduler, KV cache, token rates and server-side latency, with the client's TTFT beside the server's.",
		[]string{"engine", "vllm"}, liveVars(), []cog.Builder[dashboard.AnnotationQuery]{runAnnotation()},
		newRow("Scheduler",
			schedulerPanel(), kvCachePanel(), preemptionsPanel(), finishReasonPanel()),
		newRow("Tokens",
			engineTokensPanel(), requestLengthPanel(), prefixCachePanel()),
		newRow("Server-side latency",
			ttftClientVsServerPanel(), serverITLPanel(), phaseTimePanel(), e2eClientVsServerPanel()),
	).Refresh("10s")
}

func schedulerPanel() cog.Builder[dashboard.Panel] {
	return timeseriesPanel("Running and waiting requests", "Requests in the running batch and in the queue.", units.Short, half).
		WithTarget(query(fmt.Sprintf("sum(%s)", vllmSel(contract.VLLMRequestsRunning, "")), "running")).
		WithTarget(query(fmt.Sprintf("sum(%s)", vllmSel(contract.VLLMRequestsWaiting, "")), "waiting"))
}

func kvCachePanel() cog.Builder[dashboard.Panel] {
	return timeseriesPanel("KV cache use", "Fraction of KV cache blocks in use.", units.PercentUnit, half).Min(0).Max(1).
		WithTarget(query(fmt.Sprintf("max by (engine) (%s)", vllmSel(contract.VLLMKVCacheUsage, "")), "engine {{engine}}"))
}

func preemptionsPanel() cog.Builder[dashboard.Panel] {
	return timeseriesPanel("Preemptions", "Requests preempted per second (KV cache exhausted).", units.Short, half).
		WithTarget(query(fmt.Sprintf("sum(rate(%s[$__rate_interval]))", vllmSel(contract.VLLMPreemptions, "")), "preemptions/s"))
}

func finishReasonPanel() cog.Builder[dashboard.Panel] {
	return timeseriesPanel("Finished requests by reason", "Requests finished per second by finish reason (stop, length, abort...).", units.RequestsPerSecond, half).
		Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal)).
		WithTarget(query(fmt.Sprintf("sum by (finished_reason) (rate(%s[$__rate_interval]))", vllmSel(contract.VLLMRequestSuccess, "")), "{{finished_reason}}"))
}

func engineTokensPanel() cog.Builder[dashboard.Panel] {
	return timeseriesPanel("Engine token rates", "Prompt (prefill) and generation tokens processed per second by the engine, against output tokens the client received.", tokensUnit, third).
		WithTarget(query(fmt.Sprintf("sum(rate(%s[$__rate_interval]))", vllmSel(contract.VLLMPromptTokens, "")), "prompt (engine)")).
		WithTarget(query(fmt.Sprintf("sum(rate(%s[$__rate_interval]))", vllmSel(contract.VLLMGenerationTokens, "")), "generation (engine)")).
		WithTarget(query(fmt.Sprintf("sum(rate(%s[$__rate_interval]))", sel(contract.OutputTokens, "")), "output (client)"))
}

func prefixCachePanel() cog.Builder[dashboard.Panel] {
	return timeseriesPanel("Prefix cache hit rate", "Prompt tokens served from the prefix cache over prompt tokens looked up (vLLM, and the simulator; empty with --no-enable-prefix-caching).", units.PercentUnit, third).Min(0).Max(1).
		WithTarget(query(fmt.Sprintf("sum(rate(%s[$__rate_interval])) / sum(rate(%s[$__rate_interval]))",
			vllmSel(contract.VLLMPrefixCacheHits, ""), vllmSel(contract.VLLMPrefixCacheQueries, "")), "hit rate"))
}

func requestLengthPanel() cog.Builder[dashboard.Panel] {
	return timeseriesPanel("Request lengths", "Mean prompt and output tokens of the requests the engine finished.", units.Short, third).
		WithTarget(query(serverMean(contract.VLLMPromptLength), "prompt")).
		WithTarget(query(serverMean(contract.VLLMGenerationLength), "output"))
}

// serverQuantile is a quantile of a vLLM histogram over the board's model.
func serverQuantile(q string, m contract.Metric) string {
	return fmt.Sprintf("histogram_quantile(%s, sum by (le) (rate(%s[$__rate_interval])))", q, vllmSel(m, "_bucket"))
}

// serverMean is the mean of a vLLM histogram over the board's model.
func serverMean(m contract.Metric) string {
	return fmt.Sprintf("sum(rate(%s[$__rate_interval])) / sum(rate(%s[$__rate_interval]))", vllmSel(m, "_sum"), vllmSel(m, "_count"))
}

func ttftClientVsServerPanel() cog.Builder[dashboard.Panel] {
	return timeseriesPanel("TTFT: client vs server", "p50 and p95 TTFT as the client measured it (from the scheduled send) and as the engine did (from arrival); the gap is network, queueing in the HTTP server and client lateness.", units.Seconds, half).
		WithTarget(query(quantile("0.5", contract.RequestTTFT), "client p50")).
		WithTarget(query(quantile("0.95", contract.RequestTTFT), "client p95")).
		WithTarget(query(serverQuantile("0.5", contract.VLLMTTFT), "server p50")).
		WithTarget(query(serverQuantile("0.95", contract.VLLMTTFT), "server p95"))
}

func serverITLPanel() cog.Builder[dashboard.Panel] {
	p := timeseriesPanel("Inter-token latency: client vs server", "Engine step gaps (server) against gaps between chunks the client received.", units.Seconds, half)
	for _, q := range contract.SummaryQuantiles {
		p.WithTarget(query(serverQuantile(q, contract.VLLMITL), "server "+quantileLabel(q)))
	}
	return p.WithTarget(query(quantile("0.95", contract.RequestITL), "client p95"))
}

func phaseTimePanel() cog.Builder[dashboard.Panel] {
	return timeseriesPanel("Queue, prefill and decode time", "Mean time a request spent waiting, in prefill and in decode.", units.Seconds, half).
		WithTarget(query(serverMean(contract.VLLMQueueTime), "queue")).
		WithTarget(query(serverMean(contract.VLLMPrefillTime), "prefill")).
		WithTarget(query(serverMean(contract.VLLMDecodeTime), "decode"))
}

func e2eClientVsServerPanel() cog.Builder[dashboard.Panel] {
	return timeseriesPanel("End-to-end latency: client vs server", "p95 end-to-end latency from both sides.", units.Seconds, half).
		WithTarget(query(quantile("0.95", contract.RequestE2E), "client p95")).
		WithTarget(query(serverQuantile("0.95", contract.VLLME2E), "server p95"))
}
