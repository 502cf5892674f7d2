package results

import "time"

// EngineMetricsFile is the cell file holding the engine's own /metrics
// sampled while the cell ran.
const EngineMetricsFile = "engine-metrics.jsonl"

// EngineSample is one line of engine-metrics.jsonl: one scrape of one
// engine instance. Metrics maps a series (its name and labels, vLLM's
// constant model_name label left out) to its value; histograms and
// summaries keep only their _sum and _count, which is what rates and means
// over the run need and keeps a line to a few hundred bytes.
type EngineSample struct {
	Time     time.Time          `json:"time"`
	Instance int                `json:"instance"` // 1-based, as in the manifest
	Metrics  map[string]float64 `json:"metrics,omitempty"`
	Error    string             `json:"error,omitempty"` // the scrape failed; Metrics is empty
}
