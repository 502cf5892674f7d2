package tokenizer

import (
	"reflect"
	"testing"
)

func TestEncode(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"Hello, world!", []string{"Hello", ",", " world", "!"}},
		{" tokenizers", []string{" token", "izers"}},
		{"a  b", []string{"a", " ", " b"}},
		{"line\nnext", []string{"line", "\n", "next"}},
		{"x = 42;", []string{"x", " ", "=", " 42", ";"}},
		{"héllo wörld", []string{"héllo", " wörl", "d"}},
		{"日本語のテキスト", []string{"日本", "語の", "テキ", "スト"}},
		{"<|user|>", []string{"<", "|", "user", "|", ">"}},
		{"trailing ", []string{"traili", "ng", " "}},
	}
	for _, c := range cases {
		var got []string
		for _, tok := range Encode(c.in) {
			got = append(got, tok.Text)
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("Encode(%q) = %q, want %q", c.in, got, c.want)
		}
		if n := Count(c.in); n != len(c.want) {
			t.Errorf("Count(%q) = %d, want %d", c.in, n, len(c.want))
		}
	}
}

func TestRoundTrip(t *testing.T) {
	for _, s := range []string{"Hello, world!", "  spaced   out\t\n", "émoji 🎉 ok", "a1b2c3d4e5f6g7", "\x00nul"} {
		ids := IDs(s)
		back, err := Decode(ids)
		if err != nil {
			t.Fatalf("Decode(IDs(%q)): %v", s, err)
		}
		if back != s {
			t.Errorf("round trip %q -> %q", s, back)
		}
		if Count(back) != len(ids) {
			t.Errorf("Count(%q) = %d, want %d", back, Count(back), len(ids))
		}
	}
}

func TestPieceErrors(t *testing.T) {
	for _, id := range []int64{-1, 1 << 48, 0xff} {
		if _, err := Piece(id); err == nil {
			t.Errorf("Piece(%d): want error", id)
		}
	}
}

func BenchmarkCount(b *testing.B) {
	s := "The quick brown fox jumps over the lazy dog, again and again; 12345 times.\n"
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		Count(s)
	}
}
