package report

import (
	"strconv"
	"strings"
	"testing"
)

func TestTicks(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 1500: "1500", 0.25: "0.25", 2e4: "20k", 3.5e6: "3.5M", 1234.5: "1230", -50: "-50"} {
		if got := fmtTick(v); got != want {
			t.Errorf("fmtTick(%v) = %q, want %q", v, got, want)
		}
	}
	for raw, want := range map[float64]float64{0.7: 1, 1.3: 2, 3: 5, 7: 10, 240: 500, 0: 1} {
		if got := niceStep(raw); got != want {
			t.Errorf("niceStep(%v) = %v, want %v", raw, got, want)
		}
	}
	s := span([]float64{3, 870}, Axis{Log: true}, 0, 100)
	if s.lo != 1 || s.hi != 1000 || len(s.ticks()) != 4 {
		t.Errorf("log span %+v ticks %v", s, s.ticks())
	}
}

func TestLegendFitsUnderThePlot(t *testing.T) {
	// Short names share rows; every one is drawn, whole.
	var ch LineChart
	for i := 0; i < 30; i++ {
		ch.Series = append(ch.Series, Series{Name: "s" + strconv.Itoa(i), X: []float64{0, 1}, Y: []float64{0, float64(i)}})
	}
	svg := ch.SVG("x")
	if strings.Contains(svg, "more</text>") || strings.Count(svg, `stroke-width="3"`) != 30 {
		t.Errorf("legend of 30 short names: %d entries drawn", strings.Count(svg, `stroke-width="3"`))
	}
	// Long names (cell and level, as comparisons name their series) get
	// their own columns, uncut; past eight rows the rest is counted.
	ch.Series = nil
	for i := 0; i < 30; i++ {
		name := "results/scaling/20261206T190000Z/Qwen__Qwen3-0.6B_chat_lite_16c r" + strconv.Itoa(i)
		ch.Series = append(ch.Series, Series{Name: name, X: []float64{0, 1}, Y: []float64{0, float64(i)}})
	}
	svg = ch.SVG("x")
	// 60 characters (the name's middle cut) fit twice across.
	if !strings.Contains(svg, "+15 more</text>") || strings.Count(svg, `stroke-width="3"`) != 2*maxLegendRows-1 {
		t.Errorf("legend of 30 long names: %d entries drawn", strings.Count(svg, `stroke-width="3"`))
	}
	if strings.Count(svg, "<polyline") != 30 {
		t.Error("every series must still be drawn")
	}
	if !strings.Contains(svg, `viewBox="0 0 1000 `) {
		t.Error("charts are drawn 1000 units wide")
	}
}

func TestTrimKeepsBothEnds(t *testing.T) {
	if got := trim("Qwen__Qwen3-0.6B_chat_lite_16c p99", 24); got != "Qwen__Qwen3…lite_16c p99" || len([]rune(got)) != 24 {
		t.Errorf("trim = %q", got)
	}
	if got := trim("short", 24); got != "short" {
		t.Errorf("trim = %q", got)
	}
}
