package report

import (
	"cmp"
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
)

// Chart geometry, in SVG user units. Charts are drawn this wide and scale to
// the page's width through their viewBox; the legend sits under the plot, in
// as many columns as its longest name allows, so that names are not cut.
const (
	chartW                             = 1000
	marginL, marginR, marginT, marginB = 72, 24, 40, 56
	plotW, plotH                       = chartW - marginL - marginR, 320
	fontFamily                         = "DejaVu Sans, Helvetica, Arial, sans-serif"
	axisColour, gridColour, textColour = "#444", "#e3e3e3", "#222"
	legendSwatch, legendLine           = 12, 18
	legendChar                         = 6.6 // px per character at 11 px, generous
	maxLegendName                      = 60  // longer names are cut in the middle
	maxLegendRows                      = 8
)

// palette is colour-blind friendly (Okabe-Ito), then greys.
var palette = []string{"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000", "#777777"}

func colour(i int) string { return palette[i%len(palette)] }

// Series is one line of a line chart.
type Series struct {
	Name   string
	X, Y   []float64
	Dashed bool   // reference lines (the linear ideal), tails (p99)
	Marker bool   // draw a dot at each point
	NoLine bool   // points only (percentile marks)
	Colour string // "" picks by position; set it to pair a line with its ideal or tail
}

// Axis describes one axis of a line chart.
type Axis struct {
	Label string
	Log   bool // log10 scale; non-positive values are dropped
	Zero  bool // include zero in the range
}

// LineChart is an XY chart of one or more series.
type LineChart struct {
	Title  string
	X, Y   Axis
	Series []Series
}

// BarChart is a grouped bar chart: one group per category, one bar per series.
type BarChart struct {
	Title  string
	YLabel string
	Groups []string
	Bars   []string
	Values [][]float64 // [group][bar]; NaN leaves a gap
}

type scale struct {
	lo, hi   float64
	log      bool
	from, to float64 // pixel range
}

func (s scale) at(v float64) float64 {
	if s.log {
		v, lo, hi := math.Log10(v), math.Log10(s.lo), math.Log10(s.hi)
		return s.from + (v-lo)/(hi-lo)*(s.to-s.from)
	}
	return s.from + (v-s.lo)/(s.hi-s.lo)*(s.to-s.from)
}

func (s scale) ticks() []float64 {
	if s.log {
		var out []float64
		for e := math.Floor(math.Log10(s.lo)); e <= math.Ceil(math.Log10(s.hi)); e++ {
			if v := math.Pow(10, e); v >= s.lo*(1-1e-9) && v <= s.hi*(1+1e-9) {
				out = append(out, v)
			}
		}
		return out
	}
	step := niceStep((s.hi - s.lo) / 5)
	var out []float64
	for v := math.Ceil(s.lo/step) * step; v <= s.hi+step*1e-9; v += step {
		out = append(out, v)
	}
	return out
}

// niceStep rounds a raw tick step to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if raw <= 0 || math.IsNaN(raw) || math.IsInf(raw, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	switch f := raw / p; {
	case f <= 1:
		return p
	case f <= 2:
		return 2 * p
	case f <= 5:
		return 5 * p
	default:
		return 10 * p
	}
}

// span returns a padded, nice range for values.
func span(vals []float64, a Axis, from, to float64) scale {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range vals {
		if math.IsNaN(v) || math.IsInf(v, 0) || (a.Log && v <= 0) {
			continue
		}
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	if math.IsInf(lo, 1) {
		lo, hi = 0, 1
		if a.Log {
			lo, hi = 1, 10
		}
	}
	if a.Log {
		lo = math.Pow(10, math.Floor(math.Log10(lo)))
		hi = math.Pow(10, math.Ceil(math.Log10(hi)))
		if lo == hi {
			hi = lo * 10
		}
		return scale{lo: lo, hi: hi, log: true, from: from, to: to}
	}
	if a.Zero {
		lo, hi = math.Min(lo, 0), math.Max(hi, 0)
	}
	if lo == hi {
		d := math.Max(math.Abs(lo)*0.1, 1)
		lo, hi = lo-d, hi+d
	}
	step := niceStep((hi - lo) / 5)
	lo = math.Floor(lo/step) * step
	hi = math.Ceil(hi/step) * step
	return scale{lo: lo, hi: hi, from: from, to: to}
}

// fmtTick prints a tick value compactly (1.5k, 20, 0.25).
func fmtTick(v float64) string {
	av := math.Abs(v)
	switch {
	case av >= 1e6:
		return strconv.FormatFloat(v/1e6, 'g', 3, 64) + "M"
	case av >= 1e4:
		return strconv.FormatFloat(v/1e3, 'g', 3, 64) + "k"
	case av == 0:
		return "0"
	}
	// Three significant digits, printed without an exponent (1500, 0.25).
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 3, 64), 64)
	return strconv.FormatFloat(r, 'f', -1, 64)
}

type svgBuilder struct{ strings.Builder }

func (b *svgBuilder) f(format string, a ...any) { fmt.Fprintf(&b.Builder, format, a...) }

func esc(s string) string { return html.EscapeString(s) }

func (b *svgBuilder) open(id, title string, h int) {
	b.f(`<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="%s" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s" font-family="%s" font-size="12">`,
		esc(id), chartW, h, chartW, h, esc(title), fontFamily)
	b.f(`<title>%s</title><rect width="%d" height="%d" fill="#fff"/>`, esc(title), chartW, h)
	b.f(`<text x="%d" y="24" font-size="15" font-weight="bold" fill="%s">%s</text>`, marginL, textColour, esc(title))
}

func (b *svgBuilder) axes(xs, ys scale, xLabel, yLabel string, xTicks []float64, xNames []string) {
	x0, y0 := float64(marginL), float64(marginT+plotH)
	for _, t := range ys.ticks() {
		y := ys.at(t)
		b.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s"/>`, x0, y, x0+plotW, y, gridColour)
		b.f(`<text x="%.1f" y="%.1f" text-anchor="end" fill="%s">%s</text>`, x0-6, y+4, textColour, fmtTick(t))
	}
	if xNames == nil {
		xTicks = xs.ticks()
	}
	for i, t := range xTicks {
		x := xs.at(t)
		if xNames != nil {
			// Category names slant so that long "cell level" names fit.
			b.f(`<text transform="translate(%.1f %.1f) rotate(-20)" text-anchor="end" font-size="10" fill="%s">%s</text>`, x+4, y0+14, textColour, esc(xNames[i]))
			continue
		}
		b.f(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%.1f" stroke="%s"/>`, x, marginT, x, y0, gridColour)
		b.f(`<text x="%.1f" y="%.1f" text-anchor="middle" fill="%s">%s</text>`, x, y0+18, textColour, esc(fmtTick(t)))
	}
	b.f(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%.1f" stroke="%s"/>`, x0, marginT, x0, y0, axisColour)
	b.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s"/>`, x0, y0, x0+plotW, y0, axisColour)
	b.f(`<text x="%.1f" y="%d" text-anchor="middle" fill="%s">%s</text>`, x0+plotW/2, marginT+plotH+marginB-14, textColour, esc(xLabel))
	b.f(`<text transform="translate(18 %.1f) rotate(-90)" text-anchor="middle" fill="%s">%s</text>`, float64(marginT)+plotH/2, textColour, esc(yLabel))
}

// legendLayout places n legend entries under the plot: columns as wide as
// the longest name needs, rows top to bottom. shown is how many entries are
// drawn (the last slot says how many more there are when they do not fit).
type legendLayout struct {
	cols, rows, shown int
	colW              float64
}

func layoutLegend(names []string) legendLayout {
	if len(names) == 0 {
		return legendLayout{}
	}
	longest := 0
	for _, n := range names {
		longest = max(longest, len([]rune(trim(n, maxLegendName))))
	}
	colW := float64(legendSwatch*2+8) + legendChar*float64(longest) + 16
	cols := max(1, min(len(names), int(float64(plotW)/colW)))
	rows := (len(names) + cols - 1) / cols
	l := legendLayout{cols: cols, rows: min(rows, maxLegendRows), shown: len(names), colW: float64(plotW) / float64(cols)}
	if rows > maxLegendRows {
		l.shown = cols*maxLegendRows - 1
	}
	return l
}

// height is the chart's height with its legend.
func (l legendLayout) height() int {
	if l.rows == 0 {
		return marginT + plotH + marginB
	}
	return marginT + plotH + marginB + l.rows*legendLine + 8
}

// legend draws the entries; dots marks those drawn as points only.
func (b *svgBuilder) legend(l legendLayout, names []string, dashed, dots []bool, colours []string) {
	top := float64(marginT + plotH + marginB + 4)
	for i, n := range names {
		x := float64(marginL) + float64(i%l.cols)*l.colW
		y := top + float64(i/l.cols)*legendLine + 6
		if i == l.shown {
			b.f(`<text class="legend" x="%.1f" y="%.1f" font-size="11" fill="%s">+%d more</text>`, x, y+4, textColour, len(names)-i)
			break
		}
		dash := ""
		if dashed != nil && dashed[i] {
			dash = ` stroke-dasharray="6 4"`
		}
		if dots != nil && dots[i] {
			b.f(`<circle cx="%.1f" cy="%.1f" r="4" fill="%s"/>`, x+legendSwatch, y, colours[i])
		} else {
			b.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="3"%s/>`, x, y, x+legendSwatch*2, y, colours[i], dash)
		}
		b.f(`<text class="legend" x="%.1f" y="%.1f" font-size="11" fill="%s">%s</text>`, x+legendSwatch*2+6, y+4, textColour, esc(trim(n, maxLegendName)))
	}
}

// trim shortens s to n runes by cutting its middle, so that both the cell
// name's start and a suffix such as " p99" stay readable.
func trim(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	head := (n - 1) / 2
	tail := n - 1 - head
	return string(r[:head]) + "…" + string(r[len(r)-tail:])
}

// SVG renders the chart as a standalone SVG document fragment with the
// given element id.
func (c LineChart) SVG(id string) string {
	var xv, yv []float64
	for _, s := range c.Series {
		xv = append(xv, s.X...)
		yv = append(yv, s.Y...)
	}
	xs := span(xv, c.X, marginL, marginL+plotW)
	ys := span(yv, c.Y, marginT+plotH, marginT)
	names := make([]string, len(c.Series))
	for i, s := range c.Series {
		names[i] = s.Name
	}
	lay := layoutLegend(names)
	var b svgBuilder
	b.open(id, c.Title, lay.height())
	b.axes(xs, ys, c.X.Label, c.Y.Label, nil, nil)
	b.f(`<g class="plot">`)
	dashed := make([]bool, len(c.Series))
	dots := make([]bool, len(c.Series))
	colours := make([]string, len(c.Series))
	for i, s := range c.Series {
		dashed[i], dots[i], colours[i] = s.Dashed, s.NoLine, cmp.Or(s.Colour, colour(i))
		var pts []string
		for j := range s.X {
			if j >= len(s.Y) || bad(s.X[j], c.X.Log) || bad(s.Y[j], c.Y.Log) {
				continue
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", xs.at(s.X[j]), ys.at(s.Y[j])))
		}
		dash := ""
		if s.Dashed {
			dash = ` stroke-dasharray="6 4"`
		}
		if len(pts) > 1 && !s.NoLine {
			b.f(`<polyline class="series" fill="none" stroke="%s" stroke-width="2"%s points="%s"><title>%s</title></polyline>`, colours[i], dash, strings.Join(pts, " "), esc(s.Name))
		}
		if s.Marker || s.NoLine || len(pts) == 1 {
			for _, p := range pts {
				xy := strings.Split(p, ",")
				b.f(`<circle class="series" cx="%s" cy="%s" r="3.5" fill="%s"/>`, xy[0], xy[1], colours[i])
			}
		}
	}
	b.f(`</g>`)
	b.legend(lay, names, dashed, dots, colours)
	b.f(`</svg>`)
	return b.String()
}

func bad(v float64, log bool) bool { return math.IsNaN(v) || math.IsInf(v, 0) || (log && v <= 0) }

// SVG renders the bar chart with the given element id.
func (c BarChart) SVG(id string) string {
	var vals []float64
	for _, g := range c.Values {
		vals = append(vals, g...)
	}
	ys := span(vals, Axis{Zero: true}, marginT+plotH, marginT)
	lay := layoutLegend(c.Bars)
	var b svgBuilder
	b.open(id, c.Title, lay.height())
	n := len(c.Groups)
	groupW := float64(plotW) / math.Max(1, float64(n))
	barW := groupW * 0.8 / math.Max(1, float64(len(c.Bars)))
	xs := scale{lo: 0, hi: math.Max(1, float64(n)), from: marginL, to: marginL + plotW}
	centres := make([]float64, n)
	for i := range centres {
		centres[i] = float64(i) + 0.5
	}
	names := make([]string, n)
	for i, g := range c.Groups {
		names[i] = trim(g, 28)
	}
	b.axes(xs, ys, "", c.YLabel, centres, names)
	b.f(`<g class="plot">`)
	base := ys.at(math.Max(ys.lo, 0))
	for gi, g := range c.Values {
		x0 := float64(marginL) + float64(gi)*groupW + groupW*0.1
		for bi, v := range g {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			y := ys.at(v)
			top, h := math.Min(y, base), math.Abs(base-y)
			b.f(`<rect class="series" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %s</title></rect>`,
				x0+float64(bi)*barW, top, math.Max(barW-1, 1), math.Max(h, 0.5), colour(bi), esc(c.Groups[gi]), esc(c.Bars[bi]), fmtTick(v))
		}
	}
	b.f(`</g>`)
	bc := make([]string, len(c.Bars))
	for i := range bc {
		bc[i] = colour(i)
	}
	b.legend(lay, c.Bars, nil, nil, bc)
	b.f(`</svg>`)
	return b.String()
}
