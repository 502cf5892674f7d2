package results

// CrossCheck is a third-party load generator's level checked against the
// metering proxy that carried its traffic: the figures both have, side by
// side, each with the tolerance it was judged by. A level whose report
// disagrees with the proxy is invalid, the disagreeing rows naming both
// numbers in its invalid reasons.
type CrossCheck struct {
	Tool    string          `json:"tool"`    // the load generator whose report was checked
	Against string          `json:"against"` // "proxy": the metering proxy's records
	Agree   bool            `json:"agree"`   // every row agrees
	Rows    []CrossCheckRow `json:"rows"`
	// Notes say what the check could not compare, or the cut-off effects
	// its tolerances allowed for.
	Notes []string `json:"notes,omitempty"`
}

// CrossCheckRow is one figure as the tool and the proxy have it. A row
// exists only when both sides have the figure.
type CrossCheckRow struct {
	Figure    string  `json:"figure"` // requests, successful, requests_per_second, ttft_p50_ms
	Tool      float64 `json:"tool"`
	Proxy     float64 `json:"proxy"`
	Tolerance string  `json:"tolerance"` // e.g. "exact", "±2 (requests at the window's edges)", "10% or 25 ms"
	Agree     bool    `json:"agree"`
}
