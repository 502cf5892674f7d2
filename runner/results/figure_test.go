package results

import (
	"encoding/json"
	"fmt"
	"math"
	"testing"
)

func TestFigureJSON(t *testing.T) {
	for _, tc := range []struct {
		f    Figure
		json string
	}{{Of(2.5), "2.5"}, {Of(0), "0"}, {Figure{}, "null"}, {Of(math.NaN()), "null"}, {Of(math.Inf(1)), "null"}} {
		b, err := json.Marshal(tc.f)
		if err != nil || string(b) != tc.json {
			t.Errorf("marshal %v: %s %v, want %s", tc.f, b, err, tc.json)
		}
		var back Figure
		if err := json.Unmarshal(b, &back); err != nil || back != tc.f {
			t.Errorf("unmarshal %s: %v %v", b, back, err)
		}
	}
	var f Figure
	if err := json.Unmarshal([]byte(`"3"`), &f); err == nil {
		t.Error("a string read as a figure")
	}
	// Absent in a struct: null by default, left out with omitzero.
	v := struct {
		A Figure `json:"a"`
		B Figure `json:"b,omitzero"`
		C Figure `json:"c,omitzero"`
	}{C: Of(0)}
	if b, _ := json.Marshal(v); string(b) != `{"a":null,"c":0}` {
		t.Errorf("struct: %s", b)
	}
}

func TestFigureFormat(t *testing.T) {
	for _, tc := range []struct {
		format string
		f      Figure
		want   string
	}{
		{"%.2f", Of(3.14159), "3.14"},
		{"%.2f", Figure{}, "—"},
		{"%8.1f|", Of(2.25), "     2.2|"},
		{"%8.1f|", Figure{}, "       —|"},
		{"%-6.1f|", Figure{}, "—     |"},
		{"%v", Of(0.5), "0.5"},
		{"%v", Figure{}, "—"},
		{"%g", Of(1e6), "1e+06"},
		{"%s", Of(7), "7"},
	} {
		if got := fmt.Sprintf(tc.format, tc.f); got != tc.want {
			t.Errorf("Sprintf(%q, %v) = %q, want %q", tc.format, tc.f, got, tc.want)
		}
	}
	if Of(1.5).String() != "1.5" || Absent.String() != Dash || Absent.Text("%.1f") != Dash || Of(2).Text("%.1f") != "2.0" {
		t.Error("String/Text")
	}
	if Of(1).CSV() != "1" || Absent.CSV() != "" {
		t.Error("CSV")
	}
}

func TestFigureArithmetic(t *testing.T) {
	if Ratio(Of(3), Of(2)) != Of(1.5) || Ratio(Of(3), Of(0)).Present() || Ratio(Absent, Of(2)).Present() || Ratio(Of(2), Absent).Present() {
		t.Error("Ratio")
	}
	if Of(250).Scale(0.001) != Of(0.25) || Absent.Scale(2).Present() {
		t.Error("Scale")
	}
	if MaxOf(Absent, Of(1), Of(3), Absent) != Of(3) || MaxOf().Present() || MaxOf(Absent).Present() {
		t.Error("MaxOf")
	}
	if Absent.Or(-1) != -1 || Of(2).Or(-1) != 2 || OfIf(2, false).Present() || OfIf(2, true) != Of(2) {
		t.Error("Or/OfIf")
	}
}
