package measure

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/servebench/servebench/exporter/contract"
)

func fuzzSeeds(f *testing.F) {
	for _, s := range []string{
		roleChunk + chat("a") + chat("b") + usage3 + done,
		"data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\r\n\r\ndata: [DONE]\r\n\r\n",
		`data: {"choices":[{"delta":{"reasoning_content":"r","tool_calls":[{"id":"1"}]}}],"usage":{"completion_tokens":2}}` + "\n\n",
		`data: {"error":{"message":"boom","code":503}}` + "\n\n" + done,
		`data: {"object":"error","message":"bad","code":400}` + "\n\n",
		"data: {\"choices\":[{\"text\":\"\\u00e9\"}]}\n\n: keepalive\n\nevent: x\ndata: [DONE]\n",
		"data: {\"choices\":[{\"delta\":\ndata: {\"content\":\"multi\"}}]}\n\n",
		"data: {\"choices\":[\n\ndata:\n\n" + done,
		"",
	} {
		f.Add([]byte(s), uint16(3), uint16(40))
	}
}

// FuzzTracker: any body, split anywhere into three writes, gives the same
// Result as one write, never panics, and keeps the Result's invariants.
func FuzzTracker(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte, a, b uint16) {
		now := t0.Add(time.Second)
		opt := TrackOptions{Stream: true, API: APIChat, ExpectTokens: 2}
		run := func(parts ...[]byte) *Result {
			tr := NewTracker(1, t0, t0, opt)
			tr.Header(200, t0)
			for _, p := range parts {
				tr.Write(p, now)
			}
			return tr.Finish(now, nil)
		}
		i, j := int(a)%(len(body)+1), int(b)%(len(body)+1)
		if i > j {
			i, j = j, i
		}
		whole := run(body)
		split := run(body[:i], body[i:j], body[j:])
		if !reflect.DeepEqual(whole, split) {
			t.Fatalf("split at %d,%d changed the result:\nwhole %+v\nsplit %+v", i, j, whole, split)
		}
		switch whole.Outcome {
		case contract.OutcomeSuccess:
			if whole.ErrorKind != "" {
				t.Fatalf("success with kind %q", whole.ErrorKind)
			}
		case contract.OutcomeError:
			if whole.ErrorKind == "" {
				t.Fatal("error without kind")
			}
		default:
			t.Fatalf("outcome %q", whole.Outcome)
		}
		sum := 0
		for _, c := range whole.Chunks {
			if c.Tokens < 1 {
				t.Fatalf("chunk with %d tokens", c.Tokens)
			}
			sum += c.Tokens
		}
		if whole.TokenSource == TokensFromChunks && sum != whole.OutputTokens {
			t.Fatalf("chunk tokens %d, output %d", sum, whole.OutputTokens)
		}
		if (len(whole.Chunks) > 0) == whole.FirstTok.IsZero() {
			t.Fatalf("first token %v with %d chunks", whole.FirstTok, len(whole.Chunks))
		}
	})
}

// FuzzParseChunk: whatever the reader accepts is valid JSON, and the reader
// never panics.
func FuzzParseChunk(f *testing.F) {
	for _, s := range []string{`{"choices":[{"delta":{"content":"a"}}]}`, `{"usage":{"prompt_tokens":1,"completion_tokens":2}}`,
		`{"a":[1,-0.5e+3,true,false,null,"\ud83d\ude00"]}`, `{"error":"x"}`, `{}`, `[`, `{"a":"\u12"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var ci chunkInfo
		for _, api := range []API{APIChat, APIEmbeddings} {
			if parseChunk(b, api, &ci) && !json.Valid(b) {
				t.Fatalf("accepted invalid JSON %q", b)
			}
		}
	})
}

// refSkipString is the plain byte-by-byte string scan skipString must match.
func refSkipString(b []byte, i int) int {
	for i++; i < len(b); {
		switch c := b[i]; {
		case c == '"':
			return i + 1
		case c == '\\':
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
		case c < 0x20:
			return -1
		default:
			i++
		}
	}
	return -1
}

// FuzzSkipString: the word-at-a-time scan agrees with the byte scan.
func FuzzSkipString(f *testing.F) {
	for _, s := range []string{`"abc"`, `"0123456789abcdef\"x"`, "\"a\x01b\"", `"\u00e9 long enough to use words\n"`, `"unterminated`, "\"\xff\xfe\"", `"ab\q"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		b = append([]byte{'"'}, b...)
		if got, want := skipString(b, 0), refSkipString(b, 0); got != want {
			t.Fatalf("%q: %d, want %d", b, got, want)
		}
	})
}
