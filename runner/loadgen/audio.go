package loadgen

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"mime/multipart"
	"net/textproto"
	"slices"
	"strconv"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/runner/audio"
)

// Speech to text is the load generator's second request kind: with API
// transcriptions each request uploads one recording of Config.Audio to
// /v1/audio/transcriptions as multipart form data (file, model, language,
// response_format json, stream and stream_include_usage when streaming).
// The answer's text is scored against the recording's reference transcript
// (word and character edits) and the Result carries the recording's
// duration, from which the level's real-time factor and audio-hours per
// hour are computed.

// audioBoundary separates the form's parts; bodies are built once, so one
// boundary (checked against every file) serves every request.
const audioBoundary = "servebench-audio-2f0c8d94e1b7a6"

// buildAudioBodies renders one multipart body per recording.
func buildAudioBodies(c *Config, model string) ([]prepared, error) {
	lang := c.Language
	if lang == "" {
		lang = "en"
	}
	out := make([]prepared, len(c.Audio))
	for i := range c.Audio {
		clip := &c.Audio[i]
		if bytes.Contains(clip.Data, []byte(audioBoundary)) {
			return nil, fmt.Errorf("audio %s: contains the form boundary", clip.Name)
		}
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		if err := mw.SetBoundary(audioBoundary); err != nil {
			return nil, err
		}
		fields := map[string]string{"model": model, "language": lang, "response_format": "json"}
		if c.Stream {
			fields["stream"], fields["stream_include_usage"] = "true", "true"
		}
		for k, v := range c.ExtraBody { // form fields: values as text; nil removes one
			if v == nil {
				delete(fields, k)
				continue
			}
			fields[k] = fmt.Sprint(v)
		}
		for _, k := range slices.Sorted(maps.Keys(fields)) {
			if err := mw.WriteField(k, fields[k]); err != nil {
				return nil, err
			}
		}
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="file"; filename=`+strconv.Quote(clip.Name))
		h.Set("Content-Type", "audio/wav")
		fw, err := mw.CreatePart(h)
		if err != nil {
			return nil, err
		}
		if _, err := fw.Write(clip.Data); err != nil {
			return nil, err
		}
		if err := mw.Close(); err != nil {
			return nil, err
		}
		out[i] = prepared{body: b.Bytes(), hint: 64, audio: clip}
	}
	return out, nil
}

// audioContentType is the Content-Type of every transcription request.
func audioContentType() string { return "multipart/form-data; boundary=" + audioBoundary }

// scoreAudio records what a transcription request uploaded and, for a
// success whose recording has a reference, the edits between the text in
// body (a JSON answer or an SSE stream) and the reference.
func scoreAudio(res *measure.Result, clip *audio.Clip, body []byte, stream bool) {
	res.Audio = &measure.Audio{Seconds: clip.Seconds}
	if res.Outcome != contract.OutcomeSuccess || clip.Text == "" {
		return
	}
	text, err := transcriptText(body, stream)
	if err != nil {
		return // the tracker has judged the body; an unreadable text is simply not scored
	}
	s := audio.Compare(clip.Text, text)
	res.Audio.Scored = true
	res.Audio.WordEdits, res.Audio.Words, res.Audio.CharEdits, res.Audio.Chars = s.WordEdits, s.Words, s.CharEdits, s.Chars
}

// transcriptText returns the text of a transcription answer: "text" of a
// JSON body, or the delta contents of a stream's events joined.
func transcriptText(body []byte, stream bool) (string, error) {
	if !stream {
		var r struct {
			Text *string `json:"text"`
		}
		if err := json.Unmarshal(body, &r); err != nil || r.Text == nil {
			return "", errors.New("no text in the answer")
		}
		return *r.Text, nil
	}
	var text bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 64<<10), 8<<20)
	for sc.Scan() {
		line, ok := bytes.CutPrefix(sc.Bytes(), []byte("data:"))
		if !ok {
			continue
		}
		line = bytes.TrimSpace(line)
		if bytes.Equal(line, []byte("[DONE]")) {
			break
		}
		var ev struct {
			Choices []struct {
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
		}
		if err := json.Unmarshal(line, &ev); err != nil {
			return "", err
		}
		for _, c := range ev.Choices {
			text.WriteString(c.Delta.Content)
		}
	}
	return text.String(), sc.Err()
}
