package simulator

import (
	"bytes"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/servebench/servebench/runner/audio"
	"github.com/servebench/servebench/runner/simulator/tokenizer"
)

// Speech-to-text as vLLM serves Whisper: POST /v1/audio/transcriptions,
// multipart form data (file, model, language, prompt, response_format,
// stream, stream_include_usage, stream_continuous_usage_stats,
// max_completion_tokens). Audio longer than the model's window (30 s) is
// cut into windows that run as separate engine requests, side by side, as
// vLLM splits it; their texts are joined.

// maxAudioFileBytes is vLLM's VLLM_MAX_AUDIO_CLIP_FILESIZE_MB default.
const maxAudioFileBytes = 25 << 20

// whisperPromptTokens is the decoder prompt:
// <|startoftranscript|><|lang|><|transcribe|><|notimestamps|>.
const whisperPromptTokens = 4

// speechWordsPerSecond is how fast the synthetic transcript of a file that
// carries none is spoken (conversational English).
const speechWordsPerSecond = 2.5

// whisperLanguages are the ISO 639-1 codes Whisper accepts (OpenAI's
// speech-to-text language list, as vLLM checks "language").
var whisperLanguages = strings.Fields(`af ar hy az be bs bg ca zh hr cs da nl en et fi fr gl de el he hi hu is id
it ja kn kk ko lv lt mk ms mr mi ne no fa pl pt ro ru sr sk sl es sw sv tl ta th tr uk ur vi cy`)

// transcriptionForm is a parsed transcription request.
type transcriptionForm struct {
	fileName                 string
	model, language, prompt  string
	format                   string
	stream, usage, continual bool
	maxTokens                *int
	data                     []byte
}

// formError is a request validation failure: status and message.
type formError struct {
	status int
	msg    string
}

func (f formError) Error() string { return f.msg }

func formBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "", "false", "0":
		return false, nil
	case "true", "1":
		return true, nil
	}
	return false, fmt.Errorf("%q is not a boolean", v)
}

func (e *Engine) parseTranscription(w http.ResponseWriter, r *http.Request) (transcriptionForm, error) {
	var f transcriptionForm
	r.Body = http.MaxBytesReader(w, r.Body, 2*maxAudioFileBytes)
	if err := r.ParseMultipartForm(8 << 20); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return f, formError{http.StatusBadRequest, "Maximum file size exceeded"}
		}
		return f, formError{http.StatusBadRequest, fmt.Sprintf("expected multipart/form-data with a file: %v", err)}
	}
	defer r.MultipartForm.RemoveAll()
	fhs := r.MultipartForm.File["file"]
	if len(fhs) == 0 {
		if _, isText := r.MultipartForm.Value["file"]; isText {
			return f, formError{http.StatusUnprocessableEntity, "Expected 'file' to be a file-like object, not 'str'."}
		}
		return f, formError{http.StatusUnprocessableEntity, "file: Field required"}
	}
	if fhs[0].Size > maxAudioFileBytes {
		return f, formError{http.StatusBadRequest, "Maximum file size exceeded"}
	}
	fh, err := fhs[0].Open()
	if err != nil {
		return f, formError{http.StatusBadRequest, err.Error()}
	}
	f.data, err = io.ReadAll(fh)
	fh.Close()
	if err != nil {
		return f, formError{http.StatusBadRequest, err.Error()}
	}
	f.fileName = fhs[0].Filename
	val := func(k string) string {
		if v := r.MultipartForm.Value[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	f.model, f.language, f.prompt = val("model"), val("language"), val("prompt")
	f.format = val("response_format")
	if f.format == "" {
		f.format = "json"
	}
	for _, b := range []struct {
		k   string
		dst *bool
	}{{"stream", &f.stream}, {"stream_include_usage", &f.usage}, {"stream_continuous_usage_stats", &f.continual}} {
		v, err := formBool(val(b.k))
		if err != nil {
			return f, formError{http.StatusUnprocessableEntity, b.k + ": " + err.Error()}
		}
		*b.dst = v
	}
	if (f.usage || f.continual) && !f.stream {
		return f, formError{http.StatusBadRequest, "Stream options can only be defined when `stream=True`."}
	}
	if v := val("max_completion_tokens"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return f, formError{http.StatusBadRequest, fmt.Sprintf("max_completion_tokens: %q is not a positive integer", v)}
		}
		f.maxTokens = &n
	}
	return f, nil
}

// window is one engine request of a transcription: a stretch of the audio
// of at most the model's window.
type window struct {
	q          *request
	start, end float64 // seconds into the audio
	text       string
}

func (e *Engine) handleTranscription(w http.ResponseWriter, r *http.Request) {
	p := e.sc.Profile
	if !p.EncoderDecoder() {
		writeError(w, http.StatusBadRequest, "The model %s does not support the Transcriptions API", e.cfg.ServedModelName)
		return
	}
	f, err := e.parseTranscription(w, r)
	if err != nil {
		var fe formError
		errors.As(err, &fe)
		writeError(w, fe.status, "%s", fe.msg)
		return
	}
	if !e.checkModel(w, f.model) {
		return
	}
	switch {
	case f.format != "json" && f.format != "text" && f.format != "verbose_json":
		writeError(w, http.StatusBadRequest, "Currently only support response_format `text`, `json` or `verbose_json`")
		return
	case f.format == "verbose_json" && f.stream:
		writeError(w, http.StatusBadRequest, "verbose_json format doesn't support streaming case")
		return
	}
	lang := f.language
	if lang == "" {
		lang = "en" // vLLM's Whisper default, with a warning
	}
	if !whisperLanguage(strings.ToLower(lang)) {
		writeError(w, http.StatusBadRequest, "Unsupported language: %q. Language should be one of: %s", lang, strings.Join(whisperLanguages, ", "))
		return
	}
	info, err := audio.Probe(f.data)
	if err != nil {
		writeError(w, http.StatusBadRequest, "Invalid or unsupported audio file.")
		return
	}
	n := e.arrivals.Add(1) - 1
	if e.draw(n, 1, e.cfg.Faults.ErrorRate) {
		writeError(w, http.StatusInternalServerError, "simulated engine error (fault injection)")
		return
	}
	key := hashString(e.cfg.Seed, string(f.data))
	texts := e.transcript(key, info)
	prompt := whisperPromptTokens + tokenizer.Count(f.prompt)
	limit := e.maxModelLen - prompt
	if f.maxTokens != nil {
		limit = min(limit, *f.maxTokens)
	}
	id := e.newID("transcribe-", n)
	created := e.cfg.Clock().Unix()
	wins := make([]window, len(texts))
	for i, text := range texts {
		pieces := tokenizer.Encode(text)
		pl := plan{reason: reasonStop}
		for _, t := range pieces {
			pl.pieces = append(pl.pieces, t.Text)
		}
		pl.pieces = append(pl.pieces, "") // the end-of-text token
		if len(pl.pieces) > limit {
			pl.pieces, pl.reason = pl.pieces[:limit], reasonLength
		}
		pl.n = len(pl.pieces)
		q := &request{kind: kindTranscription, id: id, created: created, prompt: prompt, plan: pl,
			notify: make(chan struct{}, 1), cutCh: make(chan struct{})}
		if f.maxTokens != nil {
			q.maxTokens = *f.maxTokens
		}
		q.seq = newSeq(q, prompt, pl.n)
		q.seq.Encoder = p.EncoderPositions
		start := float64(i) * p.WindowSeconds
		wins[i] = window{q: q, start: start, end: min(info.Seconds, start+p.WindowSeconds), text: pl.text()}
		if err := e.submit(q); err != nil {
			writeError(w, http.StatusServiceUnavailable, "%v", err)
			return
		}
		defer e.finish(q)
	}
	if f.stream {
		e.streamTranscription(r.Context(), w, wins, f.usage, f.continual)
		return
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var parts []string
	for _, win := range wins {
		due, err := win.q.wait(r.Context())
		if err == nil && len(due) > 0 && !win.q.sleepUntil(r.Context(), timer, due[len(due)-1]) {
			err = context.Canceled
		}
		if err != nil {
			if _, _, cut := win.q.state(); cut != nil {
				panic(http.ErrAbortHandler)
			}
			return
		}
		parts = append(parts, win.text)
	}
	text := strings.Join(parts, "")
	if f.format == "verbose_json" {
		writeJSON(w, http.StatusOK, verboseTranscription(info, lang, text, wins))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"text": text,
		"usage": map[string]any{"type": "duration", "seconds": int(math.Ceil(info.Seconds))}})
}

func whisperLanguage(s string) bool {
	i := sort.SearchStrings(sortedLanguages, s)
	return i < len(sortedLanguages) && sortedLanguages[i] == s
}

var sortedLanguages = func() []string {
	s := append([]string(nil), whisperLanguages...)
	sort.Strings(s)
	return s
}()

// transcript is what the model "hears" in each window: the transcript the
// file carries in its metadata (servebench's clips do), else words spoken
// at speechWordsPerSecond; with the model's word error rate applied
// (substitutions, deletions, insertions drawn from key). Each text starts
// with a space, as Whisper's output does.
func (e *Engine) transcript(key uint64, info audio.Info) []string {
	p := e.sc.Profile
	nw := max(1, int(math.Ceil(info.Seconds/p.WindowSeconds)))
	var ref []string
	if info.Transcript != "" {
		ref = strings.Fields(info.Transcript)
	} else {
		n := max(1, int(math.Round(info.Seconds*speechWordsPerSecond)))
		for i := range n {
			ref = append(ref, strings.TrimSpace(words[splitmix64(key+uint64(i)*0x9e3779b97f4a7c15)%uint64(len(words))]))
		}
	}
	var heard []string
	for i, wd := range ref {
		u := unit(splitmix64(key ^ uint64(i)*0xa24baed4963ee407))
		other := strings.TrimSpace(words[splitmix64(key^uint64(i))%uint64(len(words))])
		switch wer := p.TranscribeWER; {
		case u < 0.6*wer:
			heard = append(heard, other) // substitution
		case u < 0.85*wer:
			// deletion
		case u < wer:
			heard = append(heard, wd, other) // insertion
		default:
			heard = append(heard, wd)
		}
	}
	// Words go to windows in proportion to time.
	out := make([]string, nw)
	for i, wd := range heard {
		k := min(nw-1, i*nw/max(len(heard), 1))
		out[k] += " " + wd
	}
	return out
}

type transcriptionSegment struct {
	ID               int      `json:"id"`
	AvgLogprob       float64  `json:"avg_logprob"`
	CompressionRatio float64  `json:"compression_ratio"`
	End              float64  `json:"end"`
	NoSpeechProb     *float64 `json:"no_speech_prob"`
	Seek             float64  `json:"seek"`
	Start            float64  `json:"start"`
	Temperature      float64  `json:"temperature"`
	Text             string   `json:"text"`
	Tokens           []int64  `json:"tokens"`
}

// verboseTranscription is vLLM's verbose_json: one segment per window.
func verboseTranscription(info audio.Info, lang, text string, wins []window) map[string]any {
	segs := make([]transcriptionSegment, len(wins))
	for i, win := range wins {
		var z bytes.Buffer
		zw := zlib.NewWriter(&z)
		_, _ = zw.Write([]byte(win.text))
		_ = zw.Close()
		ratio := 0.0
		if z.Len() > 0 {
			ratio = float64(len(win.text)) / float64(z.Len())
		}
		segs[i] = transcriptionSegment{ID: i, AvgLogprob: -0.25, CompressionRatio: ratio, End: win.end, Seek: win.start,
			Start: win.start, Text: win.text, Tokens: tokenizer.IDs(win.text)}
	}
	return map[string]any{"duration": strconv.FormatFloat(info.Seconds, 'f', -1, 64), "language": lang, "text": text,
		"segments": segs, "words": nil}
}

// streamTranscription writes the windows' tokens in order, each chunk at
// its token's time: vLLM streams one window after another, so a later
// window's tokens, computed meanwhile, come as a burst. Each window's last
// chunk carries finish_reason; with stream_include_usage a usage chunk
// follows, then [DONE].
func (e *Engine) streamTranscription(ctx context.Context, w http.ResponseWriter, wins []window, usage, continuous bool) {
	fl := startSSE(w)
	first := wins[0].q
	head := `data: {"id":"` + first.id + `","object":"transcription.chunk","created":` + strconv.FormatInt(first.created, 10) +
		`,"model":` + string(jsonString(e.cfg.ServedModelName))
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var buf []byte
	completion := 0
	for _, win := range wins {
		q := win.q
		sent := 0
		for {
			due, final, cut := q.state()
			if cut != nil {
				panic(http.ErrAbortHandler)
			}
			for ; sent < len(due); sent++ {
				if !q.sleepUntil(ctx, timer, due[sent]) {
					return
				}
				completion++
				last := final && sent == len(due)-1
				buf = append(buf[:0], head...)
				buf = append(buf, `,"choices":[{"delta":{"content":"`...)
				buf = appendEscaped(buf, q.plan.pieces[sent])
				buf = append(buf, `"}`...)
				if last {
					buf = append(buf, `,"finish_reason":"`+q.plan.reason+`","stop_reason":null`...)
				}
				buf = append(buf, "}]"...)
				if continuous && usage {
					buf = appendUsage(buf, q.prompt, completion)
				}
				buf = append(buf, "}\n\n"...)
				if _, err := w.Write(buf); err != nil {
					return
				}
				if fl != nil {
					fl.Flush()
				}
			}
			if final && sent == len(due) {
				break
			}
			select {
			case <-q.notify:
			case <-ctx.Done():
				return
			}
		}
	}
	buf = buf[:0]
	if usage {
		buf = append(buf, head...)
		buf = append(buf, `,"choices":[]`...)
		buf = appendUsage(buf, first.prompt, completion)
		buf = append(buf, "}\n\n"...)
	}
	buf = append(buf, doneChunk...)
	if _, err := w.Write(buf); err == nil && fl != nil {
		fl.Flush()
	}
}
