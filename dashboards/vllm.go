package dashboards

import "github.com/servebench/servebench/exporter/contract"

// vllmSel selects a vLLM series (contract.VLLM) of the board's model: vLLM
// labels the served model name model_name, which is servebench's model label.
func vllmSel(m contract.Metric, suffix string) string {
	return m.Name + suffix + `{` + contract.VLLMModelLabel + `=~"$` + varModel + `"}`
}
