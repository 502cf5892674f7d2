// Package pyjson reads JSON written by Python's json.dumps, which by default
// emits the non-standard tokens NaN, Infinity and -Infinity (numpy's mean of
// no samples, an unbounded rate). Clean turns each such token outside a
// string into null, so encoding/json reads the value as absent instead of
// failing the whole file; everything else is left byte for byte.
package pyjson

import "bytes"

var tokens = [][]byte{[]byte("-Infinity"), []byte("Infinity"), []byte("NaN")}

// Clean returns b with NaN, Infinity and -Infinity outside strings replaced by
// null. It returns b itself when there is nothing to replace.
func Clean(b []byte) []byte {
	if !bytes.Contains(b, []byte("NaN")) && !bytes.Contains(b, []byte("Infinity")) {
		return b
	}
	out := make([]byte, 0, len(b))
	inString, escaped := false, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inString {
			out = append(out, c)
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		if c == '"' {
			inString = true
			out = append(out, c)
			continue
		}
		matched := false
		for _, t := range tokens {
			if bytes.HasPrefix(b[i:], t) {
				out = append(out, "null"...)
				i += len(t) - 1
				matched = true
				break
			}
		}
		if !matched {
			out = append(out, c)
		}
	}
	return out
}
