package audio

import (
	"math"
	"testing"
)

func TestCompare(t *testing.T) {
	cases := []struct {
		ref, hyp         string
		wordEdits, words int
		charEdits, chars int
	}{
		{"The quick brown fox.", "the quick brown fox", 0, 4, 0, 19},
		{"the quick brown fox", "the quack brown fox", 1, 4, 1, 19},       // substitution
		{"the quick brown fox", "the brown fox", 1, 4, 6, 19},             // deletion
		{"the quick brown fox", "the quick brown fox jumps", 1, 4, 6, 19}, // insertion
		{"It's a dog's life!", "its a dogs life", 2, 4, 2, 17},            // apostrophes are kept
		{"hello", "", 1, 1, 5, 5},
		{"", "", 0, 0, 0, 0},
		{"Kitten sitting", "sitting kitten", 2, 2, 6, 14},
	}
	for _, c := range cases {
		s := Compare(c.ref, c.hyp)
		if s.WordEdits != c.wordEdits || s.Words != c.words || s.CharEdits != c.charEdits || s.Chars != c.chars {
			t.Errorf("Compare(%q, %q) = %+v, want words %d/%d chars %d/%d", c.ref, c.hyp, s, c.wordEdits, c.words, c.charEdits, c.chars)
		}
	}
	if edits([]rune("kitten"), []rune("sitting")) != 3 {
		t.Error("kitten -> sitting is 3 edits")
	}
}

func TestScoreRates(t *testing.T) {
	var s Score
	if _, ok := s.WER(); ok {
		t.Error("WER of no reference words must be absent")
	}
	s.Add(Compare("one two three four", "one two three four"))
	s.Add(Compare("five six", "five seven"))
	wer, ok := s.WER()
	if !ok || math.Abs(wer-1.0/6) > 1e-12 {
		t.Errorf("corpus WER = %v %v, want 1/6 (edits over all reference words, not a mean of ratios)", wer, ok)
	}
	cer, ok := s.CER()
	if !ok || cer <= 0 || cer >= wer {
		t.Errorf("CER %v: one word of five letters wrong in 27 characters", cer)
	}
}
