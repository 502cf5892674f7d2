package audio

import (
	"strings"
	"unicode"
)

// Normalize prepares a transcript for scoring, as jiwer's usual transform
// does: lower case, punctuation removed (apostrophes inside words kept),
// runs of white space collapsed.
func Normalize(s string) string {
	var b strings.Builder
	space := true
	rs := []rune(strings.ToLower(s))
	for i, r := range rs {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
			space = false
		case r == '\'' && i > 0 && i+1 < len(rs) && unicode.IsLetter(rs[i-1]) && unicode.IsLetter(rs[i+1]):
			b.WriteRune(r)
		default:
			if !space {
				b.WriteByte(' ')
				space = true
			}
		}
	}
	return strings.TrimSpace(b.String())
}

// Score counts the edits (substitutions, deletions, insertions) that turn
// a reference transcript into a hypothesis, over words and over characters,
// after Normalize. Word and character error rates of a set of transcripts
// are the sums of the edits over the sums of the reference lengths.
type Score struct {
	WordEdits, Words int
	CharEdits, Chars int
}

// Add accumulates another score.
func (s *Score) Add(o Score) {
	s.WordEdits += o.WordEdits
	s.Words += o.Words
	s.CharEdits += o.CharEdits
	s.Chars += o.Chars
}

// WER is the word error rate; ok is false with no reference word.
func (s Score) WER() (float64, bool) {
	if s.Words == 0 {
		return 0, false
	}
	return float64(s.WordEdits) / float64(s.Words), true
}

// CER is the character error rate (spaces count as characters, as in
// jiwer); ok is false with no reference character.
func (s Score) CER() (float64, bool) {
	if s.Chars == 0 {
		return 0, false
	}
	return float64(s.CharEdits) / float64(s.Chars), true
}

// Compare scores hypothesis against reference.
func Compare(reference, hypothesis string) Score {
	ref, hyp := Normalize(reference), Normalize(hypothesis)
	rw, hw := strings.Fields(ref), strings.Fields(hyp)
	rc, hc := []rune(ref), []rune(hyp)
	return Score{WordEdits: edits(rw, hw), Words: len(rw), CharEdits: edits(rc, hc), Chars: len(rc)}
}

// edits is the Levenshtein distance between two sequences, in O(len(b))
// memory.
func edits[T comparable](a, b []T) int {
	row := make([]int, len(b)+1)
	for j := range row {
		row[j] = j
	}
	for i := 1; i <= len(a); i++ {
		diag := row[0]
		row[0] = i
		for j := 1; j <= len(b); j++ {
			up := row[j]
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			row[j] = min(row[j]+1, row[j-1]+1, diag+cost)
			diag = up
		}
	}
	return row[len(b)]
}
