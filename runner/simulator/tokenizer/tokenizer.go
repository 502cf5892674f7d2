// Package tokenizer is the engine simulator's deterministic tokenizer. It has
// no vocabulary file: a text's tokens follow from one fixed rule, and a
// token's id is its UTF-8 bytes read as a big-endian integer, so ids decode
// back to text without a table.
//
// The rule, applied left to right:
//
//  1. A word is a maximal run of letters and digits (Unicode), together with
//     one ASCII space directly before it, if there is one. A word is cut into
//     pieces of at most MaxPieceBytes bytes at rune boundaries; each piece is
//     one token (the space stays with the first piece).
//  2. Every other rune (punctuation, symbols, newlines, a space not followed
//     by a letter or digit) is one token.
//
// So "Hello, world!" is ["Hello" "," " world" "!"] and " tokenizers" is
// [" token" "izers"]. Encode, Count and Decode agree exactly: Count(Decode(ids))
// == len(ids) whenever ids came from Encode, which is what lets /tokenize,
// usage counts and generated lengths agree. All functions are pure and safe
// for concurrent use.
package tokenizer

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// MaxPieceBytes is the longest token in bytes. Six keeps ids below 2^48, so
// they survive JSON numbers (float64) exactly.
const MaxPieceBytes = 6

// Token is one piece of text and its id.
type Token struct {
	ID   int64
	Text string
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// each calls fn with every token's byte range in s, in order.
func each(s string, fn func(start, end int)) {
	i := 0
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		start := i
		wordStart := i
		if r == ' ' && i+1 < len(s) {
			if r2, _ := utf8.DecodeRuneInString(s[i+1:]); isWordRune(r2) {
				wordStart = i + 1
			}
		}
		if wordStart == i && !isWordRune(r) {
			fn(i, i+size)
			i += size
			continue
		}
		// A word: consume its runes, cutting a piece whenever the next rune
		// would push it past MaxPieceBytes.
		j := wordStart
		for j < len(s) {
			r, sz := utf8.DecodeRuneInString(s[j:])
			if !isWordRune(r) {
				break
			}
			if j+sz-start > MaxPieceBytes && j > start {
				fn(start, j)
				start = j
			}
			j += sz
		}
		fn(start, j)
		i = j
	}
}

// Count returns the number of tokens in s without allocating.
func Count(s string) int {
	n := 0
	each(s, func(int, int) { n++ })
	return n
}

// Encode returns the tokens of s.
func Encode(s string) []Token {
	var out []Token
	each(s, func(a, b int) { out = append(out, Token{ID: pieceID(s[a:b]), Text: s[a:b]}) })
	return out
}

// IDs returns the token ids of s.
func IDs(s string) []int64 {
	var out []int64
	each(s, func(a, b int) { out = append(out, pieceID(s[a:b])) })
	return out
}

func pieceID(p string) int64 {
	var id int64
	for i := 0; i < len(p); i++ {
		id = id<<8 | int64(p[i])
	}
	return id
}

// Piece returns the text of one token id, or an error naming the id when it
// is not a valid token (negative, too long, or not UTF-8).
func Piece(id int64) (string, error) {
	if id < 0 || id >= 1<<(8*MaxPieceBytes) {
		return "", fmt.Errorf("token id %d out of range [0, 2^%d)", id, 8*MaxPieceBytes)
	}
	var b [MaxPieceBytes]byte
	n := 0
	for v := id; ; v >>= 8 {
		b[MaxPieceBytes-1-n] = byte(v)
		n++
		if v>>8 == 0 {
			break
		}
	}
	p := string(b[MaxPieceBytes-n:])
	if !utf8.ValidString(p) {
		return "", fmt.Errorf("token id %d is not valid UTF-8", id)
	}
	return p, nil
}

// Decode returns the text of ids.
func Decode(ids []int64) (string, error) {
	var buf []byte
	for i, id := range ids {
		p, err := Piece(id)
		if err != nil {
			return "", fmt.Errorf("token %d: %w", i, err)
		}
		buf = append(buf, p...)
	}
	return string(buf), nil
}
