// Command mkclips makes servebench's speech clips (runner/audio/clips): each
// sentence of sentences.txt is spoken by espeak-ng, converted by sox to
// 8 kHz mono mu-law WAV, and given its text as a LIST/INFO ICMT chunk (the
// transcript the engine simulator reads back; a real Whisper hears it);
// manifest.jsonl lists file, text and duration. Needs the Debian packages
// espeak-ng and sox. Run from runner/audio: go generate.
package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/servebench/servebench/runner/audio"
)

func main() {
	if err := run("clips"); err != nil {
		fmt.Fprintln(os.Stderr, "mkclips:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	f, err := os.Open(filepath.Join(dir, "sentences.txt"))
	if err != nil {
		return err
	}
	defer f.Close()
	var manifest bytes.Buffer
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		n++
		name := fmt.Sprintf("clip%02d.wav", n)
		speech, err := exec.Command("espeak-ng", "-v", "en-us", "-s", "160", "--stdout", text).Output()
		if err != nil {
			return fmt.Errorf("espeak-ng: %w", err)
		}
		sox := exec.Command("sox", "-t", "wav", "-", "-t", "wav", "-r", "8000", "-c", "1", "-e", "mu-law", "-")
		sox.Stdin = bytes.NewReader(speech)
		wav, err := sox.Output()
		if err != nil {
			return fmt.Errorf("sox: %w", err)
		}
		wav = withComment(wav, text)
		info, err := audio.Probe(wav)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if info.Transcript != text {
			return fmt.Errorf("%s: transcript %q did not survive", name, info.Transcript)
		}
		if err := os.WriteFile(filepath.Join(dir, name), wav, 0o644); err != nil {
			return err
		}
		line, _ := json.Marshal(audio.ManifestLine{File: name, Text: text, Seconds: round3(info.Seconds)})
		manifest.Write(append(line, '\n'))
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "manifest.jsonl"), manifest.Bytes(), 0o644)
}

func round3(x float64) float64 { return float64(int64(x*1000+0.5)) / 1000 }

// withComment appends a LIST/INFO chunk holding text as ICMT to a RIFF WAV
// file and fixes the RIFF size. sox streams a WAV to a pipe with a data size
// it cannot know; the size is set from what it wrote.
func withComment(wav []byte, text string) []byte {
	// sox writes fmt, (fact), then data last.
	if i := bytes.Index(wav, []byte("data")); i >= 0 {
		binary.LittleEndian.PutUint32(wav[i+4:], uint32(len(wav)-i-8))
		if (len(wav)-i-8)%2 == 1 {
			wav = append(wav, 0)
		}
	}
	icmt := append([]byte(text), 0)
	if len(icmt)%2 == 1 {
		icmt = append(icmt, 0)
	}
	var list bytes.Buffer
	list.WriteString("INFO")
	list.WriteString("ICMT")
	binary.Write(&list, binary.LittleEndian, uint32(len(icmt)))
	list.Write(icmt)
	wav = append(wav, "LIST"...)
	wav = binary.LittleEndian.AppendUint32(wav, uint32(list.Len()))
	wav = append(wav, list.Bytes()...)
	binary.LittleEndian.PutUint32(wav[4:], uint32(len(wav)-8))
	return wav
}
