package audio

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Workload is a set of recordings to transcribe: the embedded speech clips
// in one format, alone or joined into longer recordings of a duration
// range (the seed's audio-duration-scaling and format-comparison scenarios).
type Workload struct {
	Name        string
	Format      string  // a Formats name
	MinSeconds  float64 // join clips until a recording lasts at least this; 0 = clips alone
	MaxSeconds  float64 // keep recordings no longer than this; 0 = no bound
	Description string
}

// Workloads is the catalogue of audio workloads.
var Workloads = []Workload{
	{Name: "speech", Format: "pcm16k", Description: "the 16 speech clips (1.6-8.2 s), 16 kHz 16-bit mono WAV"},
	{Name: "speech_5s", Format: "pcm16k", MaxSeconds: 5, Description: "clips of at most 5 s"},
	{Name: "speech_15s", Format: "pcm16k", MinSeconds: 8, MaxSeconds: 15, Description: "clips joined into recordings of 8-15 s"},
	{Name: "speech_30s", Format: "pcm16k", MinSeconds: 20, MaxSeconds: 30, Description: "clips joined into recordings of 20-30 s (one Whisper window)"},
	{Name: "speech_long", Format: "pcm16k", MinSeconds: 45, Description: "clips joined into recordings of 45 s or more (cut into 30 s windows by the server)"},
	{Name: "speech_mulaw8k", Format: "mulaw8k", Description: "the clips as 8 kHz mu-law WAV (telephone audio)"},
	{Name: "speech_pcm8k", Format: "pcm8k", Description: "the clips as 8 kHz 16-bit WAV"},
	{Name: "speech_pcm48k", Format: "pcm48k", Description: "the clips as 48 kHz 16-bit WAV"},
	{Name: "speech_stereo", Format: "stereo16k", Description: "the clips as 16 kHz 16-bit stereo WAV"},
}

// WorkloadNames lists the audio workloads.
func WorkloadNames() []string {
	out := make([]string, len(Workloads))
	for i, w := range Workloads {
		out[i] = w.Name
	}
	return out
}

// LookupWorkload returns an audio workload by name.
func LookupWorkload(name string) (Workload, error) {
	for _, w := range Workloads {
		if w.Name == name {
			return w, nil
		}
	}
	return Workload{}, fmt.Errorf("audio workload %q: want one of %s", name, strings.Join(WorkloadNames(), ", "))
}

// Clips builds the workload's recordings.
func (w Workload) Clips() ([]Clip, error) {
	f, err := LookupFormat(w.Format)
	if err != nil {
		return nil, err
	}
	src, err := Speech()
	if err != nil {
		return nil, err
	}
	var out []Clip
	if w.MinSeconds <= 0 {
		for _, c := range src {
			if w.MaxSeconds > 0 && c.Seconds > w.MaxSeconds {
				continue
			}
			v, err := c.As(f)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	}
	// One recording starting at each clip: the clips that follow it (in a
	// circle) until it is long enough, skipping any that would make it
	// longer than allowed.
	const gap = 0.4
	for i := range src {
		var group []Clip
		total := 0.0
		for k := 0; k < len(src) && total < w.MinSeconds; k++ {
			c := src[(i+k)%len(src)]
			add := c.Seconds
			if len(group) > 0 {
				add += gap
			}
			if w.MaxSeconds > 0 && total+add > w.MaxSeconds {
				continue
			}
			group, total = append(group, c), total+add
		}
		if total < w.MinSeconds {
			continue
		}
		r, err := Concat(fmt.Sprintf("%s-%02d.wav", w.Name, i+1), group, f, gap)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("audio workload %s: no recording fits %g-%g s", w.Name, w.MinSeconds, w.MaxSeconds)
	}
	return out, nil
}

// ReadManifest reads a dataset of one's own: a JSONL file whose lines name
// an audio file ("file", relative to the manifest) and its reference
// transcript ("text", optional: without it no error rate is computed). Any
// format the server decodes may be sent; the duration comes from Probe, so
// the file must be WAV, FLAC or MP3.
func ReadManifest(path string) ([]Clip, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("audio manifest: %w", err)
	}
	defer f.Close()
	var out []Clip
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		b := strings.TrimSpace(sc.Text())
		if b == "" {
			continue
		}
		var ml ManifestLine
		dec := json.NewDecoder(strings.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ml); err != nil {
			return nil, fmt.Errorf("%s line %d: %w", path, line, err)
		}
		if ml.File == "" {
			return nil, fmt.Errorf("%s line %d: file is required", path, line)
		}
		p := ml.File
		if !filepath.IsAbs(p) {
			p = filepath.Join(filepath.Dir(path), p)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", path, line, err)
		}
		in, err := Probe(data)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %s: %w", path, line, ml.File, err)
		}
		out = append(out, Clip{Name: filepath.Base(p), Text: ml.Text, Seconds: in.Seconds, Data: data})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no audio files", path)
	}
	return out, nil
}

// Recordings resolves what a speech benchmark sends: a catalogue workload
// by name, or a manifest file of one's own (ReadManifest); exactly one of
// them. label names it for the series and summaries.
func Recordings(workload, manifest string) (clips []Clip, label string, err error) {
	switch {
	case workload != "" && manifest != "":
		return nil, "", fmt.Errorf("give an audio workload or a manifest, not both")
	case workload != "":
		w, err := LookupWorkload(workload)
		if err != nil {
			return nil, "", err
		}
		clips, err := w.Clips()
		return clips, w.Name, err
	case manifest != "":
		clips, err := ReadManifest(manifest)
		return clips, strings.TrimSuffix(filepath.Base(manifest), filepath.Ext(manifest)), err
	}
	return nil, "", fmt.Errorf("transcriptions need an audio workload (%s) or a manifest.jsonl", strings.Join(WorkloadNames(), ", "))
}
