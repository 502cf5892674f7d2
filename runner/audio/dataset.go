package audio

//go:generate go run ./internal/mkclips

import (
	"bufio"
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"path"
)

//go:embed clips/*.wav clips/manifest.jsonl
var clipFS embed.FS

// ManifestLine is one line of a dataset's manifest.jsonl.
type ManifestLine struct {
	File    string  `json:"file"`
	Text    string  `json:"text"`
	Seconds float64 `json:"seconds"`
}

// Clip is one audio file with its reference transcript.
type Clip struct {
	Name    string  // file name, sent as the upload's file name
	Text    string  // reference transcript
	Seconds float64 // duration
	Data    []byte  // the file
}

// Speech returns the embedded clips: short English sentences spoken by
// espeak-ng, 8 kHz mono mu-law WAV files carrying their transcript.
func Speech() ([]Clip, error) {
	b, err := clipFS.ReadFile("clips/manifest.jsonl")
	if err != nil {
		return nil, err
	}
	var out []Clip
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		var ml ManifestLine
		if err := json.Unmarshal(sc.Bytes(), &ml); err != nil {
			return nil, fmt.Errorf("clips manifest: %w", err)
		}
		data, err := clipFS.ReadFile(path.Join("clips", ml.File))
		if err != nil {
			return nil, err
		}
		out = append(out, Clip{Name: ml.File, Text: ml.Text, Seconds: ml.Seconds, Data: data})
	}
	return out, sc.Err()
}
