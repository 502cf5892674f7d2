package simulator

import (
	"encoding/base64"
	"encoding/binary"
	"math"
	"strings"
)

// words are the simulator's output tokens, each " word": a space and at most
// five ASCII letters, so exactly one token under the tokenizer's rule and no
// JSON escaping. They are built once, so a plan's pieces share them.
var words = spaced(strings.Fields(`the of and to in is it that for on with as was at by this be from or
have an are not but had his they you which one all were we her can there their has been if more
when will would who so no out up into do time only some could them other than then its also new
two may first like over any my these our such even most made after what many must well back way
just where years how much good being work day great place right three since house small world
last long under never might while found still state large again power water both those each case
hand part high point given group light order early local sound field black young cause force
heart voice watch green river plant paper north south human ready music child leave clear start
model token batch cache layer speed core queue block query`))

func spaced(ws []string) []string {
	for i, w := range ws {
		ws[i] = " " + w
	}
	return ws
}

// splitmix64 is a fast, well-mixed hash step; the simulator draws every
// pseudo-random choice from it so that choices depend only on their inputs.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func hashString(seed uint64, s string) uint64 {
	h := splitmix64(seed ^ 0x6a09e667f3bcc909)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * 0x100000001b3
	}
	return splitmix64(h)
}

// unit maps a hash to [0, 1).
func unit(h uint64) float64 { return float64(h>>11) / (1 << 53) }

// normal turns two hashes into a standard normal draw (Box-Muller).
func normal(h1, h2 uint64) float64 {
	u1 := math.Max(unit(h1), 1e-12)
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*unit(h2))
}

// plan is a request's whole output, fixed when it arrives.
type plan struct {
	n          int      // completion tokens
	pieces     []string // text of each token (the last may be cut by a stop string)
	reason     string   // reasonStop or reasonLength
	stopReason string   // the matched stop string, "" when none
}

func (p *plan) text() string { return strings.Join(p.pieces, "") }

// naturalLength is the output length a request would reach by itself (its
// "EOS"): lognormal around median, drawn from the prompt so that the same
// prompt always ends at the same place.
func naturalLength(key uint64, median int, sigma float64) int {
	z := normal(splitmix64(key^0x1), splitmix64(key^0x2))
	return max(1, int(math.Round(float64(median)*math.Exp(sigma*z))))
}

// makePlan decides the output of a request keyed by key (seed and prompt).
// With ignoreEOS the length is maxTokens; otherwise the natural length capped
// by maxTokens. Stop strings end it early at their first occurrence; the
// token containing one still counts, and its text is cut before the match.
func makePlan(key uint64, maxTokens int, ignoreEOS bool, median int, sigma float64, stop []string) plan {
	p := plan{n: maxTokens, reason: reasonLength}
	if !ignoreEOS {
		if l := naturalLength(key, median, sigma); l < maxTokens {
			p.n, p.reason = l, reasonStop
		}
	}
	p.pieces = make([]string, p.n)
	for i := range p.pieces {
		p.pieces[i] = words[splitmix64(key+uint64(i)*0x9e3779b97f4a7c15)%uint64(len(words))]
	}
	if len(stop) == 0 {
		return p
	}
	var sb strings.Builder
	for i, piece := range p.pieces {
		before := sb.Len()
		sb.WriteString(piece)
		text := sb.String()
		best, match := -1, ""
		for _, s := range stop {
			if s == "" {
				continue
			}
			from := max(0, before-len(s)+1)
			if j := strings.Index(text[from:], s); j >= 0 && (best < 0 || from+j < best) {
				best, match = from+j, s
			}
		}
		if best < 0 {
			continue
		}
		p.n, p.reason, p.stopReason = i+1, reasonStop, match
		p.pieces = p.pieces[:i+1]
		// Earlier pieces were already streamed; only the last one is cut.
		p.pieces[i] = text[before:max(before, best)]
		return p
	}
	return p
}

// embedding is a deterministic unit vector for a text.
func embedding(key uint64, dim, keep int) []float64 {
	v := make([]float64, dim)
	for i := range v {
		v[i] = normal(splitmix64(key+uint64(2*i)), splitmix64(key+uint64(2*i+1)))
	}
	// A matryoshka model's shorter output is the first components of the
	// full one, normalised again (as vLLM truncates, then normalises).
	v = v[:keep]
	var norm float64
	for _, x := range v {
		norm += x * x
	}
	norm = math.Sqrt(norm)
	for i := range v {
		v[i] = math.Round(v[i]/norm*1e6) / 1e6
	}
	return v
}

// base64Float32 encodes v as vLLM's encoding_format "base64" does: the
// little-endian float32 bytes, standard base64.
func base64Float32(v []float64) string {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(float32(x)))
	}
	return base64.StdEncoding.EncodeToString(b)
}
