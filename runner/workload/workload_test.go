package workload

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/servebench/servebench/exporter/measure"
)

func TestCatalogue(t *testing.T) {
	for name, want := range map[string]Spec{
		"chat":              {Name: "chat", API: measure.APIChat, Prompt: Length{Mean: 512}, Output: Length{Mean: 512}},
		"rag":               {Name: "rag", API: measure.APICompletions, Prompt: Length{Mean: 7680}, Output: Length{Mean: 512}},
		"summarization_var": {Name: "summarization_var", API: measure.APICompletions, Prompt: Length{1024, 256, 512, 2048}, Output: Length{256, 64, 128, 512}},
		"embedding":         {Name: "embedding", API: measure.APIEmbeddings, Prompt: Length{Mean: 512}},
	} {
		got, err := Lookup(name)
		if err != nil || got != want {
			t.Errorf("%s: %+v %v", name, got, err)
		}
	}
	if len(Names()) != 13 {
		t.Errorf("catalogue has %d workloads", len(Names()))
	}
	if _, err := Lookup("chatt"); err == nil || !strings.Contains(err.Error(), `"chatt"`) {
		t.Errorf("error %v", err)
	}
}

func TestParseData(t *testing.T) {
	got, err := ParseData("prompt_tokens=512,output_tokens=128,prompt_tokens_stdev=64,prompt_tokens_min=256,prompt_tokens_max=1024")
	if err != nil || got.Prompt != (Length{512, 64, 256, 1024}) || got.Output != (Length{Mean: 128}) {
		t.Fatalf("%+v %v", got, err)
	}
	for in, want := range map[string]string{
		"prompt_tokens=512,outptu_tokens=3": `unknown key "outptu_tokens"`,
		"prompt_tokens=abc":                 `prompt_tokens="abc" is not a whole number`,
		"output_tokens=5":                   "prompt_tokens must be at least 1",
		"prompt_tokens":                     "is not key=value",
		"prompt_tokens=5,output_tokens_min=9,output_tokens_max=3": "output_tokens_min 9 above output_tokens_max 3",
	} {
		if _, err := ParseData(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", in, err, want)
		}
	}
}

// fakeTok counts words, two tokens for long words, plus a template overhead.
type fakeTok struct {
	overhead int
	calls    atomic.Int64
}

func (f *fakeTok) Count(_ context.Context, s string) (int, error) {
	f.calls.Add(1)
	n := f.overhead
	for _, w := range strings.Fields(s) {
		n++
		if len(w) > 8 {
			n++
		}
	}
	return n, nil
}

func TestSynthesizeCalibrated(t *testing.T) {
	spec := Spec{Prompt: Length{Mean: 200, Stdev: 50, Min: 100, Max: 300}, Output: Length{Mean: 64, Stdev: 16, Min: 32, Max: 96}}
	tok := &fakeTok{overhead: 7}
	set, err := Synthesize(context.Background(), spec, SynthOptions{N: 50, Seed: 1, Prefix: "run 1a2b3c", Tokenizer: tok})
	if err != nil {
		t.Fatal(err)
	}
	if set.Calibration != "tokenize" || set.Inexact != 0 {
		t.Fatalf("calibration %q inexact %d", set.Calibration, set.Inexact)
	}
	distinct := map[int]bool{}
	for i, it := range set.Items {
		n, _ := tok.Count(context.Background(), it.Prompt)
		if n != it.PromptTokens || n < 100 || n > 300 || it.OutputTokens < 32 || it.OutputTokens > 96 {
			t.Fatalf("item %d: %d tokens (recorded %d), output %d", i, n, it.PromptTokens, it.OutputTokens)
		}
		if !strings.HasPrefix(it.Prompt, "run 1a2b3c ") {
			t.Fatalf("item %d lacks the run prefix", i)
		}
		distinct[it.PromptTokens] = true
	}
	if len(distinct) < 10 {
		t.Fatalf("only %d distinct lengths", len(distinct))
	}
	if c := tok.calls.Load(); c > 50*3+1+50 {
		t.Fatalf("%d tokenize calls for 50 prompts", c)
	}
}

func TestSynthesizeSeeded(t *testing.T) {
	spec := Spec{Prompt: Length{Mean: 30, Stdev: 5}, Output: Length{Mean: 10}}
	a, _ := Synthesize(context.Background(), spec, SynthOptions{N: 5, Seed: 3, Prefix: "x"})
	b, _ := Synthesize(context.Background(), spec, SynthOptions{N: 5, Seed: 3, Prefix: "x"})
	c, _ := Synthesize(context.Background(), spec, SynthOptions{N: 5, Seed: 4, Prefix: "x"})
	if !reflect.DeepEqual(a, b) || reflect.DeepEqual(a, c) {
		t.Fatal("seeding broken")
	}
	if a.Calibration != "estimate" {
		t.Fatalf("calibration %q", a.Calibration)
	}
	for _, it := range a.Items {
		if got := len(strings.Fields(it.Prompt)); got != it.PromptTokens {
			t.Fatalf("estimate: %d words for %d tokens", got, it.PromptTokens)
		}
	}
}

func TestServerTokenizer(t *testing.T) {
	var gotBody map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/tokenize" || r.Header.Get("Authorization") != "Bearer k" {
			http.NotFound(w, r)
			return
		}
		_ = json.NewDecoder(r.Body).Decode(&gotBody)
		_, _ = w.Write([]byte(`{"count":42,"max_model_len":4096,"tokens":[1]}`))
	}))
	defer srv.Close()
	tok := &ServerTokenizer{Client: srv.Client(), BaseURL: srv.URL + "/", Model: "m", API: measure.APIChat, Header: http.Header{"Authorization": {"Bearer k"}}}
	n, err := tok.Count(context.Background(), "hello")
	if err != nil || n != 42 {
		t.Fatalf("%d %v", n, err)
	}
	if gotBody["messages"] == nil || gotBody["model"] != "m" {
		t.Fatalf("body %v", gotBody)
	}
	tok.Header = nil
	if _, err := tok.Count(context.Background(), "x"); !errors.Is(err, ErrNoTokenizer) {
		t.Fatalf("error %v", err)
	}
	// A server without /tokenize falls back to the estimate.
	set, err := Synthesize(context.Background(), Spec{Prompt: Length{Mean: 10}}, SynthOptions{N: 2, Tokenizer: tok})
	if err != nil || set.Calibration != "estimate" {
		t.Fatalf("%+v %v", set, err)
	}
}

func TestReadFile(t *testing.T) {
	set, err := ReadFile(strings.NewReader(`{"prompt":"a b","output_tokens":5,"timestamp":0.5}` + "\n\n" + `{"prompt":"c","timestamp":1.25}` + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Items) != 2 || set.Items[0].OutputTokens != 5 || set.Items[1].At != 1250*time.Millisecond {
		t.Fatalf("%+v", set)
	}
	if tr := set.Trace(); len(tr) != 2 || tr[0] != 500*time.Millisecond {
		t.Fatalf("trace %v", tr)
	}
	for in, want := range map[string]string{
		`{"prompt":"a"}` + "\n" + `{"promt":"b"}`:                              `line 2: json: unknown field "promt"`,
		`{"output_tokens":3}`:                                                  "line 1: prompt missing",
		`{"prompt":"a","timestamp":2}` + "\n" + `{"prompt":"b","timestamp":1}`: "line 2: timestamp goes back",
		`{"prompt":"a","timestamp":2}` + "\n" + `{"prompt":"b"}`:               "1 of 2 lines have a timestamp",
		"":  "no prompts",
		"{": "line 1:",
	} {
		if _, err := ReadFile(strings.NewReader(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", in, err, want)
		}
	}
}

func TestSharedPrefixes(t *testing.T) {
	spec, err := ParseData("prompt_tokens=40,output_tokens=4,prefix_tokens=20,prefix_count=2")
	if err != nil || spec.PrefixTokens != 20 || spec.PrefixCount != 2 {
		t.Fatalf("%+v %v", spec, err)
	}
	tok := &fakeTok{}
	set, err := Synthesize(context.Background(), spec, SynthOptions{N: 6, Seed: 1, Prefix: "run x:", Tokenizer: tok})
	if err != nil {
		t.Fatal(err)
	}
	head := func(s string) string { return strings.Join(strings.Fields(s)[:22], " ") }
	if head(set.Items[0].Prompt) != head(set.Items[2].Prompt) || head(set.Items[0].Prompt) == head(set.Items[1].Prompt) {
		t.Fatalf("prefixes:\n%s\n%s\n%s", set.Items[0].Prompt, set.Items[1].Prompt, set.Items[2].Prompt)
	}
	for _, it := range set.Items {
		if n, _ := tok.Count(context.Background(), it.Prompt); n != 40 || !strings.HasPrefix(it.Prompt, "run x: ") {
			t.Fatalf("%d tokens: %q", n, it.Prompt)
		}
	}
	// Without shared prefixes the bodies are the same draw.
	plain, _ := Synthesize(context.Background(), Spec{Prompt: Length{Mean: 40}, Output: Length{Mean: 4}}, SynthOptions{N: 6, Seed: 1, Prefix: "run x:"})
	with, _ := Synthesize(context.Background(), Spec{Prompt: Length{Mean: 40}, Output: Length{Mean: 4}, PrefixTokens: 5}, SynthOptions{N: 6, Seed: 1, Prefix: "run x:"})
	if strings.Fields(plain.Items[0].Prompt)[2] != strings.Fields(with.Items[0].Prompt)[7] {
		t.Fatalf("bodies differ:\n%s\n%s", plain.Items[0].Prompt, with.Items[0].Prompt)
	}
	if _, err := ParseData("prompt_tokens=10,prefix_tokens=10"); err == nil {
		t.Fatal("a prefix as long as the prompt")
	}
}
