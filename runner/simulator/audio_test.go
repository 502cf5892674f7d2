package simulator

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/servebench/servebench/runner/audio"
	"github.com/servebench/servebench/runner/simulator/perfmodel"
)

// postAudio sends a transcription request: fields, then the file (omitted
// when file is nil).
func postAudio(t testing.TB, url string, fields map[string]string, name string, file []byte) (*http.Response, []byte) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	if file != nil {
		fw, err := mw.CreateFormFile("file", name)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = fw.Write(file)
	}
	_ = mw.Close()
	resp, err := http.Post(url+"/v1/audio/transcriptions", mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func whisperConfig(model string) Config {
	c := fast()
	c.Model = model
	c.KVCacheSpaceGiB = 1
	return c
}

func clip(t testing.TB, workload string, i int) audio.Clip {
	t.Helper()
	w, err := audio.LookupWorkload(workload)
	if err != nil {
		t.Fatal(err)
	}
	clips, err := w.Clips()
	if err != nil {
		t.Fatal(err)
	}
	return clips[i%len(clips)]
}

// TestTranscriptionJSON: the answer is vLLM's {"text","usage":{"type":
// "duration","seconds"}}; the text is the clip's transcript through the
// model's word error rate, so a larger model makes fewer errors.
func TestTranscriptionJSON(t *testing.T) {
	clips, err := audio.Speech()
	if err != nil {
		t.Fatal(err)
	}
	wer := map[string]float64{}
	for _, model := range []string{"openai/whisper-tiny", "openai/whisper-large-v3"} {
		_, url := serve(t, whisperConfig(model))
		var score audio.Score
		for _, c := range clips {
			resp, b := postAudio(t, url, map[string]string{"model": model, "language": "en"}, c.Name, c.Data)
			if resp.StatusCode != 200 {
				t.Fatalf("%s: %d %s", c.Name, resp.StatusCode, b)
			}
			var r struct {
				Text  string `json:"text"`
				Usage struct {
					Type    string `json:"type"`
					Seconds int    `json:"seconds"`
				} `json:"usage"`
			}
			if err := json.Unmarshal(b, &r); err != nil {
				t.Fatal(err)
			}
			if r.Usage.Type != "duration" || r.Usage.Seconds != int(math.Ceil(c.Seconds)) {
				t.Errorf("%s: usage %+v, want duration %d s", c.Name, r.Usage, int(math.Ceil(c.Seconds)))
			}
			if !strings.HasPrefix(r.Text, " ") {
				t.Errorf("%s: Whisper's text starts with a space: %q", c.Name, r.Text)
			}
			score.Add(audio.Compare(c.Text, r.Text))
		}
		wer[model], _ = score.WER()
		t.Logf("%s: WER %.3f over %d words", model, wer[model], score.Words)
	}
	if wer["openai/whisper-tiny"] < 0.02 || wer["openai/whisper-tiny"] > 0.16 {
		t.Errorf("whisper-tiny WER %.3f, want about its 7.5%%", wer["openai/whisper-tiny"])
	}
	if wer["openai/whisper-large-v3"] >= wer["openai/whisper-tiny"] {
		t.Errorf("large-v3 WER %.3f not below tiny's %.3f", wer["openai/whisper-large-v3"], wer["openai/whisper-tiny"])
	}
}

// TestTranscriptionStream: transcription.chunk events with the delta's
// content, finish_reason on each window's last chunk, the usage chunk, then
// [DONE]; a recording longer than 30 s is two windows (two finish reasons).
func TestTranscriptionStream(t *testing.T) {
	_, url := serve(t, whisperConfig("openai/whisper-tiny"))
	long := clip(t, "speech_long", 0)
	resp, b := postAudio(t, url, map[string]string{"stream": "true", "stream_include_usage": "true"}, long.Name, long.Data)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("%d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	events := strings.Split(strings.TrimSpace(string(b)), "\n\n")
	if events[len(events)-1] != "data: [DONE]" {
		t.Fatalf("last event %q", events[len(events)-1])
	}
	var text strings.Builder
	finishes, completion := 0, 0
	var usage struct{ PromptTokens, CompletionTokens, TotalTokens int }
	for _, ev := range events[:len(events)-1] {
		var c struct {
			ID      string `json:"id"`
			Object  string `json:"object"`
			Choices []struct {
				Delta        map[string]string `json:"delta"`
				FinishReason *string           `json:"finish_reason"`
			} `json:"choices"`
			Usage *struct {
				PromptTokens     int `json:"prompt_tokens"`
				CompletionTokens int `json:"completion_tokens"`
				TotalTokens      int `json:"total_tokens"`
			} `json:"usage"`
		}
		if err := json.Unmarshal([]byte(strings.TrimPrefix(ev, "data: ")), &c); err != nil {
			t.Fatalf("%q: %v", ev, err)
		}
		if c.Object != "transcription.chunk" || !strings.HasPrefix(c.ID, "transcribe-") {
			t.Errorf("chunk %q", ev)
		}
		if c.Usage != nil {
			usage.PromptTokens, usage.CompletionTokens, usage.TotalTokens = c.Usage.PromptTokens, c.Usage.CompletionTokens, c.Usage.TotalTokens
			continue
		}
		completion++
		for _, ch := range c.Choices {
			text.WriteString(ch.Delta["content"])
			if ch.FinishReason != nil {
				finishes++
			}
		}
	}
	if finishes != 2 {
		t.Errorf("%.1f s of audio: %d finish reasons, want 2 (two 30 s windows)", long.Seconds, finishes)
	}
	if usage.CompletionTokens != completion || usage.PromptTokens != 4 || usage.TotalTokens != 4+completion {
		t.Errorf("usage %+v, %d token chunks", usage, completion)
	}
	if s := audio.Compare(long.Text, text.String()); s.Words < 100 {
		t.Errorf("streamed text %q is not the recording's", text.String())
	}
}

// TestTranscriptionTiming: the answer comes no sooner than the model's time
// for its window (the encoder over the padded 30 s, then the decoder), and
// the engine's metrics count the request.
func TestTranscriptionTiming(t *testing.T) {
	cfg := whisperConfig("openai/whisper-small")
	cfg.Slowdown = 0.5
	e, url := serve(t, cfg)
	c := clip(t, "speech", 0)
	start := time.Now()
	resp, b := postAudio(t, url, map[string]string{"response_format": "verbose_json"}, c.Name, c.Data)
	took := time.Since(start)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	var v struct {
		Duration string `json:"duration"`
		Language string `json:"language"`
		Text     string `json:"text"`
		Segments []struct {
			Start, End float64
			Text       string
			Tokens     []int64
		} `json:"segments"`
	}
	if err := json.Unmarshal(b, &v); err != nil || v.Language != "en" || len(v.Segments) != 1 || v.Segments[0].End != c.Seconds {
		t.Fatalf("verbose_json %s (%v)", b, err)
	}
	p, h := e.Profile(), e.sc.Hardware
	out := len(v.Segments[0].Tokens) + 1
	model := perfmodel.StepCost(p, h, []perfmodel.Work{{NewTokens: 4, Encoder: 1500, Cross: 1500}}).Total
	for i := 1; i < out; i++ {
		model += perfmodel.StepCost(p, h, []perfmodel.Work{{NewTokens: 1, Context: 3 + i, Cross: 1500}}).Total
	}
	model = time.Duration(float64(model) * cfg.Slowdown)
	t.Logf("%.2f s clip: %s, modelled %s", c.Seconds, took, model)
	if took < model {
		t.Errorf("answered in %s, faster than the model's %s", took, model)
	}
	s := scrape(t, e)
	if s.value["vllm:prompt_tokens_total"] != 4 || s.value["vllm:generation_tokens_total"] != float64(out) {
		t.Errorf("prompt %g, generation %g tokens; want 4 and %d", s.value["vllm:prompt_tokens_total"], s.value["vllm:generation_tokens_total"], out)
	}
}

func TestTranscriptionErrors(t *testing.T) {
	_, url := serve(t, whisperConfig("openai/whisper-tiny"))
	c := clip(t, "speech", 1)
	cases := []struct {
		name   string
		fields map[string]string
		file   []byte
		status int
		want   string
	}{
		{"no file", map[string]string{"model": "openai/whisper-tiny"}, nil, 422, "file"},
		{"file as text", map[string]string{"file": "clip.wav"}, nil, 422, "Expected 'file' to be a file-like object"},
		{"unknown model", map[string]string{"model": "nobody/asr"}, c.Data, 404, "does not exist"},
		{"srt", map[string]string{"response_format": "srt"}, c.Data, 400, "only support response_format"},
		{"verbose stream", map[string]string{"response_format": "verbose_json", "stream": "true"}, c.Data, 400, "doesn't support streaming"},
		{"usage without stream", map[string]string{"stream_include_usage": "true"}, c.Data, 400, "stream=True"},
		{"language", map[string]string{"language": "xx"}, c.Data, 400, "Unsupported language"},
		{"not audio", nil, []byte("this is not audio at all"), 400, "Invalid or unsupported audio file."},
	}
	for _, cs := range cases {
		resp, b := postAudio(t, url, cs.fields, "clip.wav", cs.file)
		if resp.StatusCode != cs.status || !strings.Contains(string(b), cs.want) {
			t.Errorf("%s: %d %s, want %d with %q", cs.name, resp.StatusCode, b, cs.status, cs.want)
		}
	}
	if resp, b := post(t, url+"/v1/completions", `{"prompt":"hi"}`); resp.StatusCode != 400 || !strings.Contains(string(b), "speech-to-text") {
		t.Errorf("completions on Whisper: %d %s", resp.StatusCode, b)
	}
	_, gen := serve(t, fast())
	if resp, b := postAudio(t, gen, nil, c.Name, c.Data); resp.StatusCode != 400 || !strings.Contains(string(b), "Transcriptions API") {
		t.Errorf("transcription on a text model: %d %s", resp.StatusCode, b)
	}
}

// TestTranscriptionTokenLimit: max_completion_tokens caps each window's
// output, finish reason length.
func TestTranscriptionTokenLimit(t *testing.T) {
	_, url := serve(t, whisperConfig("openai/whisper-tiny"))
	c := clip(t, "speech", 12)
	resp, b := postAudio(t, url, map[string]string{"max_completion_tokens": "3", "stream": "true"}, c.Name, c.Data)
	if resp.StatusCode != 200 || strings.Count(string(b), `"content"`) != 3 || !strings.Contains(string(b), `"finish_reason":"length"`) {
		t.Errorf("%d %s", resp.StatusCode, b)
	}
}
