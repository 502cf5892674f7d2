package workload

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"

	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/internal/redact"
)

// words are common English words that nearly every BPE vocabulary holds as a
// single token when preceded by a space, so a prompt of n words is close to
// n tokens before calibration; that is also the estimate used when the
// server has no /tokenize.
var words = strings.Fields(`the of and to in is it that was for on are with as be at by this had not
but from or have an they which one you were her all she there would their we him been has when who will
more no if out so said what up its about into than them can only other new some could time these two may
then do first any my now such like our over man me even most made after also did many before must through
back years where much your way well down should because each just those people how too little state good
very make world still own see men work long get here between both life being under never day same another
know while last might us great old year off come since against go came right used take three states
himself few house use during without again place around however home small found thought went say part
once general high upon school every does got united left number course war until always away something
fact though water less public put think almost hand enough far took head yet government system better set
told nothing night end why called did eyes find going look asked later knew point next program city
business give group toward young days let room president side social given present several order national
possible rather second per face among form important often things looked early white case john become
large big need four within felt along children saw best church ever least power development light thought`)

// ErrNoTokenizer means the server has no usable /tokenize endpoint.
var ErrNoTokenizer = errors.New("server has no /tokenize")

// Tokenizer counts the tokens a prompt takes as the server sees it (chat
// prompts with the chat template applied).
type Tokenizer interface {
	Count(ctx context.Context, prompt string) (int, error)
}

// ServerTokenizer counts through vLLM's POST /tokenize.
type ServerTokenizer struct {
	Client  *http.Client
	BaseURL string // e.g. http://127.0.0.1:8000
	Model   string
	API     measure.API
	Header  http.Header // sent with every request (API key, custom headers)
	// Redact masks secrets in the server text an error quotes; nil = none.
	Redact *redact.Redactor
}

// Count implements Tokenizer. A 404 or 405 answer is ErrNoTokenizer.
func (t *ServerTokenizer) Count(ctx context.Context, prompt string) (int, error) {
	body := map[string]any{"model": t.Model}
	if t.API == measure.APIChat {
		body["messages"] = []map[string]string{{"role": "user", "content": prompt}}
		body["add_generation_prompt"] = true
	} else {
		body["prompt"] = prompt
	}
	b, err := json.Marshal(body)
	if err != nil {
		return 0, fmt.Errorf("tokenize: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(t.BaseURL, "/")+"/tokenize", bytes.NewReader(b))
	if err != nil {
		return 0, fmt.Errorf("tokenize: %w", err)
	}
	for k, v := range t.Header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := t.Client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("tokenize: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return 0, fmt.Errorf("tokenize: %w", err)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed:
		return 0, ErrNoTokenizer
	case resp.StatusCode != http.StatusOK:
		return 0, fmt.Errorf("tokenize: HTTP %d: %.200s", resp.StatusCode, t.Redact.Bytes(data))
	}
	var out struct {
		Count  *int  `json:"count"`
		Tokens []int `json:"tokens"`
	}
	if err := json.Unmarshal(data, &out); err != nil {
		return 0, fmt.Errorf("tokenize: %w", err)
	}
	if out.Count != nil {
		return *out.Count, nil
	}
	if out.Tokens != nil {
		return len(out.Tokens), nil
	}
	return 0, errors.New("tokenize: answer has neither count nor tokens")
}

// SynthOptions control Synthesize.
type SynthOptions struct {
	N      int    // prompts to make
	Seed   uint64 // same seed, same bodies and output lengths
	Prefix string // put before every prompt (the run's nonce); counted in its length
	// Tokenizer calibrates exact lengths; nil or ErrNoTokenizer falls back
	// to the estimate.
	Tokenizer Tokenizer
	// Parallel calibration requests (default 8).
	Parallel int
}

// calibrationRounds bounds the /tokenize round trips per prompt.
const calibrationRounds = 10

// Synthesize makes opt.N prompts of spec's lengths.
func Synthesize(ctx context.Context, spec Spec, opt SynthOptions) (Set, error) {
	if opt.N < 1 {
		return Set{}, errors.New("synthesize: need at least one prompt")
	}
	r := rand.New(rand.NewPCG(opt.Seed, 0x3011))
	set := Set{Items: make([]Item, opt.N), Calibration: "estimate"}
	bodies := make([][]string, opt.N)
	for i := range set.Items {
		target := max(spec.Prompt.sample(r), 1)
		set.Items[i] = Item{PromptTokens: target, OutputTokens: spec.Output.sample(r)}
		// Draw more words than needed: calibration may add some, and the
		// same draw keeps bodies independent of the tokenizer.
		body := make([]string, target+16)
		for j := range body {
			body[j] = words[r.IntN(len(words))]
		}
		bodies[i] = body
	}
	// Shared prefixes come from their own stream, so asking for them
	// leaves the bodies as they were.
	heads := []string{opt.Prefix}
	if spec.PrefixTokens > 0 {
		pr := rand.New(rand.NewPCG(opt.Seed, 0x9ef1))
		heads = make([]string, max(spec.PrefixCount, 1))
		for h := range heads {
			ws := make([]string, spec.PrefixTokens)
			for j := range ws {
				ws[j] = words[pr.IntN(len(words))]
			}
			heads[h] = strings.TrimSpace(opt.Prefix + " " + strings.Join(ws, " "))
		}
	}
	head := func(i int) string { return heads[i%len(heads)] }
	headWords := func(i int) int { return len(strings.Fields(head(i))) }
	// render writes prompt i's head, then n body words from word shift.
	render := func(i, n, shift int) string {
		var sb strings.Builder
		sb.WriteString(head(i))
		body := bodies[i]
		for j := 0; j < n; j++ {
			if sb.Len() > 0 {
				sb.WriteByte(' ')
			}
			sb.WriteString(body[(j+shift)%len(body)])
		}
		return sb.String()
	}
	if opt.Tokenizer != nil {
		// Probe once: no tokenizer means the estimate for every prompt.
		_, err := opt.Tokenizer.Count(ctx, "probe")
		switch {
		case errors.Is(err, ErrNoTokenizer):
			opt.Tokenizer = nil
		case err != nil:
			return Set{}, fmt.Errorf("synthesize: %w", err)
		}
	}
	if opt.Tokenizer == nil {
		for i := range set.Items {
			n := max(set.Items[i].PromptTokens-headWords(i), 1)
			set.Items[i].Prompt = render(i, n, 0)
		}
		return set, nil
	}
	set.Calibration = "tokenize"
	par := opt.Parallel
	if par <= 0 {
		par = 8
	}
	// The first failed calibration ends the others: a server that stopped
	// answering must not be waited for once per prompt.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		inexact  int
		next     = make(chan int)
	)
	for w := 0; w < par; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				it := &set.Items[i]
				text, got, err := calibrate(ctx, opt.Tokenizer, it.PromptTokens, max(it.PromptTokens-headWords(i), 1), func(n, shift int) string { return render(i, n, shift) })
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
					cancel()
				}
				if got != it.PromptTokens {
					inexact++
				}
				mu.Unlock()
				it.Prompt, it.PromptTokens = text, got
			}
		}()
	}
dispatch:
	for i := range set.Items {
		select {
		case next <- i:
		case <-ctx.Done():
			break dispatch
		}
	}
	close(next)
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = context.Cause(ctx)
	}
	if firstErr != nil {
		return Set{}, fmt.Errorf("synthesize: %w", firstErr)
	}
	set.Inexact = inexact
	return set, nil
}

// calibrate adjusts the word count n until the rendered prompt is target
// tokens long, returning the closest prompt found and its count. When the
// count oscillates around the target (a multi-token word at the boundary),
// it shifts to other words.
func calibrate(ctx context.Context, tok Tokenizer, target, n int, render func(n, shift int) string) (string, int, error) {
	bestText, bestCount, bestDiff := "", 0, -1
	shift := 0
	seen := map[int]bool{}
	for round := 0; round < calibrationRounds; round++ {
		text := render(n, shift)
		c, err := tok.Count(ctx, text)
		if err != nil {
			return "", 0, err
		}
		diff := c - target
		if diff < 0 {
			diff = -diff
		}
		if bestDiff < 0 || diff < bestDiff {
			bestText, bestCount, bestDiff = text, c, diff
		}
		if c == target {
			break
		}
		seen[n] = true
		// Step by the words the gap needs at this prompt's tokens per
		// word, so long words do not make the search overshoot.
		perWord := max(float64(c)/float64(n), 0.25)
		step := int(math.Round(float64(target-c) / perWord))
		if step == 0 {
			step = target - c
		}
		n = max(n+step, 1)
		if seen[n] {
			shift++
			clear(seen)
		}
	}
	return bestText, bestCount, nil
}
