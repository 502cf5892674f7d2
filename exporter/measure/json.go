package measure

import "encoding/binary"

// A minimal, validating, non-allocating JSON reader for the few fields of an
// OpenAI response chunk that timing needs. encoding/json would allocate per
// chunk (reflection, strings, maps); at tens of thousands of chunks per second
// per core that allocation is the cost that matters, so we walk the bytes.

const maxDepth = 64

func isWS(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipWS(b []byte, i int) int {
	for i < len(b) && isWS(b[i]) {
		i++
	}
	return i
}

// strPlain marks the bytes a JSON string may hold as they are: not a quote,
// not a backslash, not a control character.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// special reports whether any byte of the little-endian word w is a quote,
// a backslash or a control character (exact, by the has-zero-byte and
// has-less-than word tricks).
func special(w uint64) bool {
	q := w ^ (ones * '"')
	s := w ^ (ones * '\\')
	return ((q-ones)&^q|(s-ones)&^s|(w-ones*0x20)&^w)&highs != 0
}

// skipString returns the index after the string starting at b[i] == '"',
// or -1 when it is malformed. Plain runs are skipped eight bytes at a time.
func skipString(b []byte, i int) int {
	i++
	for {
		for i+8 <= len(b) && !special(binary.LittleEndian.Uint64(b[i:])) {
			i += 8
		}
		for i < len(b) && strPlain[b[i]] {
			i++
		}
		if i >= len(b) {
			return -1
		}
		switch b[i] {
		case '"':
			return i + 1
		case '\\':
			if i+1 >= len(b) {
				return -1
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) {
					return -1
				}
				for _, h := range b[i+2 : i+6] {
					if !isHex(h) {
						return -1
					}
				}
				i += 6
			default:
				return -1
			}
		default: // a control character
			return -1
		}
	}
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// skipNumber returns the index after the number starting at b[i], or -1.
func skipNumber(b []byte, i int) int {
	start := i
	if i < len(b) && b[i] == '-' {
		i++
	}
	d := i
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	if i == d || (b[d] == '0' && i-d > 1) {
		return -1
	}
	if i < len(b) && b[i] == '.' {
		i++
		f := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == f {
			return -1
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		e := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == e {
			return -1
		}
	}
	if i == start {
		return -1
	}
	return i
}

func hasLit(b []byte, i int, lit string) bool {
	return len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit
}

// skipValue returns the index after the value starting at or after b[i]
// (leading whitespace allowed), or -1 when it is malformed.
func skipValue(b []byte, i, depth int) int {
	i = skipWS(b, i)
	if i >= len(b) || depth > maxDepth {
		return -1
	}
	switch c := b[i]; {
	case c == '"':
		return skipString(b, i)
	case c == '{':
		i = skipWS(b, i+1)
		if i < len(b) && b[i] == '}' {
			return i + 1
		}
		for {
			i = skipWS(b, i)
			if i >= len(b) || b[i] != '"' {
				return -1
			}
			if i = skipString(b, i); i < 0 {
				return -1
			}
			i = skipWS(b, i)
			if i >= len(b) || b[i] != ':' {
				return -1
			}
			if i = skipValue(b, i+1, depth+1); i < 0 {
				return -1
			}
			i = skipWS(b, i)
			if i >= len(b) {
				return -1
			}
			if b[i] == '}' {
				return i + 1
			}
			if b[i] != ',' {
				return -1
			}
			i++
		}
	case c == '[':
		i = skipWS(b, i+1)
		if i < len(b) && b[i] == ']' {
			return i + 1
		}
		for {
			if i = skipValue(b, i, depth+1); i < 0 {
				return -1
			}
			i = skipWS(b, i)
			if i >= len(b) {
				return -1
			}
			if b[i] == ']' {
				return i + 1
			}
			if b[i] != ',' {
				return -1
			}
			i++
		}
	case c == 't':
		if hasLit(b, i, "true") {
			return i + 4
		}
	case c == 'f':
		if hasLit(b, i, "false") {
			return i + 5
		}
	case c == 'n':
		if hasLit(b, i, "null") {
			return i + 4
		}
	case c == '-' || c >= '0' && c <= '9':
		return skipNumber(b, i)
	}
	return -1
}

// objIter walks the members of an object without allocating.
type objIter struct {
	b     []byte
	i     int
	depth int
	first bool
	bad   bool
}

// openObject starts iterating the object at or after b[i]; ok is false when
// the value there is not an object.
func openObject(b []byte, i, depth int) (objIter, bool) {
	i = skipWS(b, i)
	if i >= len(b) || b[i] != '{' || depth > maxDepth {
		return objIter{}, false
	}
	return objIter{b: b, i: i + 1, depth: depth, first: true}, true
}

// next returns the next member's raw key (without quotes, escapes left as
// they are) and the index where its value starts. ok is false at the end of
// the object or when it is malformed (then it.bad is set).
func (it *objIter) next() (key []byte, val int, ok bool) {
	b := it.b
	i := skipWS(b, it.i)
	if i >= len(b) {
		it.bad = true
		return nil, 0, false
	}
	if it.first {
		it.first = false
		if b[i] == '}' {
			it.i = i + 1
			return nil, 0, false
		}
	} else {
		if b[i] == '}' {
			it.i = i + 1
			return nil, 0, false
		}
		if b[i] != ',' {
			it.bad = true
			return nil, 0, false
		}
		i = skipWS(b, i+1)
	}
	if i >= len(b) || b[i] != '"' {
		it.bad = true
		return nil, 0, false
	}
	end := skipString(b, i)
	if end < 0 {
		it.bad = true
		return nil, 0, false
	}
	key = b[i+1 : end-1]
	i = skipWS(b, end)
	if i >= len(b) || b[i] != ':' {
		it.bad = true
		return nil, 0, false
	}
	val = skipWS(b, i+1)
	if val >= len(b) {
		it.bad = true
		return nil, 0, false
	}
	return key, val, true
}

// skip moves past a value the caller did not read; it returns false and sets
// it.bad when the value is malformed.
func (it *objIter) skip(val int) bool {
	end := skipValue(it.b, val, it.depth+1)
	if end < 0 {
		it.bad = true
		return false
	}
	it.i = end
	return true
}

// done records that the caller consumed the value up to end.
func (it *objIter) done(end int) bool {
	if end < 0 {
		it.bad = true
		return false
	}
	it.i = end
	return true
}

// arrIter walks the elements of an array.
type arrIter struct {
	b     []byte
	i     int
	depth int
	first bool
	bad   bool
}

func openArray(b []byte, i, depth int) (arrIter, bool) {
	i = skipWS(b, i)
	if i >= len(b) || b[i] != '[' || depth > maxDepth {
		return arrIter{}, false
	}
	return arrIter{b: b, i: i + 1, depth: depth, first: true}, true
}

// next returns the index where the next element starts.
func (it *arrIter) next() (val int, ok bool) {
	b := it.b
	i := skipWS(b, it.i)
	if i >= len(b) {
		it.bad = true
		return 0, false
	}
	if it.first {
		it.first = false
		if b[i] == ']' {
			it.i = i + 1
			return 0, false
		}
		return i, true
	}
	if b[i] == ']' {
		it.i = i + 1
		return 0, false
	}
	if b[i] != ',' {
		it.bad = true
		return 0, false
	}
	i = skipWS(b, i+1)
	if i >= len(b) || b[i] == ']' {
		it.bad = true
		return 0, false
	}
	return i, true
}

func (it *arrIter) done(end int) bool {
	if end < 0 {
		it.bad = true
		return false
	}
	it.i = end
	return true
}

// readInt reads a JSON number at b[i] as an integer (fraction dropped); ok is
// false when the value is not a number.
func readInt(b []byte, i int) (v int64, end int, ok bool) {
	end = skipNumber(b, i)
	if end < 0 {
		return 0, -1, false
	}
	neg := false
	j := i
	if b[j] == '-' {
		neg = true
		j++
	}
	for ; j < end && b[j] >= '0' && b[j] <= '9'; j++ {
		if v < 1<<53 {
			v = v*10 + int64(b[j]-'0')
		}
	}
	// Fractions and exponents are legal JSON but never used for counts;
	// they are read as the integer mantissa rather than reject the chunk.
	if neg {
		v = -v
	}
	return v, end, true
}

// stringNonEmpty reports whether the value at b[i] is a non-empty string,
// and returns its end (-1 when malformed). Non-string values end normally
// and report false.
func stringNonEmpty(b []byte, i, depth int) (bool, int) {
	if i < len(b) && b[i] == '"' {
		end := skipString(b, i)
		return end > i+2, end
	}
	return false, skipValue(b, i, depth)
}
