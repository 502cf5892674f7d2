package compare

import (
	"encoding/json"
	"io"
	"math"
)

// MarshalJSON writes NaN and infinite figures (a change from zero, an
// absent figure) as null.
func (m MetricVerdict) MarshalJSON() ([]byte, error) {
	type plain MetricVerdict
	return json.Marshal(struct {
		plain
		A         *float64 `json:"a"`
		B         *float64 `json:"b"`
		Change    *float64 `json:"change"`
		PAdjusted *float64 `json:"p_adjusted,omitempty"`
	}{plain(m), finite(m.A), finite(m.B), finite(m.Change), finitePtr(m.PAdjusted)})
}

func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

func finitePtr(p *float64) *float64 {
	if p == nil {
		return nil
	}
	return finite(*p)
}

// WriteJSON writes a report as indented JSON.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
