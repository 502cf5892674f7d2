package results

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Figure is one figure of a benchmark, or its absence. A figure that does
// not exist — a distribution with no sample, a percentile its samples cannot
// support, a rate with nothing to rate, a field a source file lacks — is
// absent, never 0: a zero Figure made by Of is a measured zero.
//
// The zero value is absent. In JSON a Figure is a number, or null when
// absent; reading accepts both. Printed with fmt's float verbs (%f, %.2f,
// %8.1f, %g, %v) an absent Figure is "—", padded to the width asked for; in
// CSV it is an empty cell. A Figure is a small value: copy it freely.
type Figure struct {
	v  float64
	ok bool
}

// Absent is the figure that does not exist (the zero Figure), for readers
// who prefer a name to Figure{}.
var Absent = Figure{}

// Dash is how tables and reports print an absent figure.
const Dash = "—"

// Of is the present figure v; NaN and ±Inf, which no measurement yields,
// are absent.
func Of(v float64) Figure {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return Figure{}
	}
	return Figure{v: v, ok: true}
}

// OfIf is Of(v) when ok, else absent.
func OfIf(v float64, ok bool) Figure {
	if !ok {
		return Figure{}
	}
	return Of(v)
}

// Get returns the value and whether it is present.
func (f Figure) Get() (float64, bool) { return f.v, f.ok }

// Present reports whether the figure exists.
func (f Figure) Present() bool { return f.ok }

// Or returns the value, or def when absent. Use it only where a default is
// part of the arithmetic (a sum over figures), never to print or compare.
func (f Figure) Or(def float64) float64 {
	if !f.ok {
		return def
	}
	return f.v
}

// Scale is the figure times k (a unit conversion); absent stays absent.
func (f Figure) Scale(k float64) Figure {
	if !f.ok {
		return f
	}
	return Of(f.v * k)
}

// Ratio is a/b: absent when either is absent or b is 0.
func Ratio(a, b Figure) Figure {
	if !a.ok || !b.ok || b.v == 0 {
		return Figure{}
	}
	return Of(a.v / b.v)
}

// MaxOf is the largest present figure, absent when none is.
func MaxOf(fs ...Figure) Figure {
	var m Figure
	for _, f := range fs {
		if f.ok && (!m.ok || f.v > m.v) {
			m = f
		}
	}
	return m
}

// String is the shortest decimal that reads back as the value, or Dash.
func (f Figure) String() string {
	if !f.ok {
		return Dash
	}
	return strconv.FormatFloat(f.v, 'g', -1, 64)
}

// Text is the value formatted with a float verb (format such as "%.2f"),
// or Dash when absent.
func (f Figure) Text(format string) string {
	if !f.ok {
		return Dash
	}
	return fmt.Sprintf(format, f.v)
}

// Format implements fmt.Formatter: a present figure prints as its float64
// would with the same verb, flags, width and precision; an absent one as
// Dash in the same width.
func (f Figure) Format(s fmt.State, verb rune) {
	var spec strings.Builder
	spec.WriteByte('%')
	for _, fl := range "+-# 0" {
		if s.Flag(int(fl)) && (fl != '+' || verb != 'v') { // %+v asks for field names, not signs
			spec.WriteRune(fl)
		}
	}
	if w, ok := s.Width(); ok {
		spec.WriteString(strconv.Itoa(w))
	}
	if !f.ok {
		// Only width and left-justification apply to the dash.
		just := ""
		if s.Flag('-') {
			just = "-"
		}
		w, _ := s.Width()
		fmt.Fprintf(s, "%"+just+"*s", w, Dash)
		return
	}
	if p, ok := s.Precision(); ok {
		spec.WriteByte('.')
		spec.WriteString(strconv.Itoa(p))
	}
	switch verb {
	case 'v', 's':
		verb = 'g'
	}
	spec.WriteRune(verb)
	fmt.Fprintf(s, spec.String(), f.v)
}

// MarshalJSON writes the number, or null when absent.
func (f Figure) MarshalJSON() ([]byte, error) {
	if !f.ok {
		return []byte("null"), nil
	}
	return json.Marshal(f.v)
}

// UnmarshalJSON reads a number or null.
func (f *Figure) UnmarshalJSON(b []byte) error {
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		*f = Figure{}
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("figure: want a number or null, got %s", b)
	}
	*f = Of(v)
	return nil
}

// CSV is the figure as a CSV cell: the shortest decimal, or empty when absent.
func (f Figure) CSV() string {
	if !f.ok {
		return ""
	}
	return strconv.FormatFloat(f.v, 'g', 10, 64)
}
