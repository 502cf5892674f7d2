package audio

import (
	"math"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestSpeechClips(t *testing.T) {
	clips, err := Speech()
	if err != nil {
		t.Fatal(err)
	}
	if len(clips) != 16 {
		t.Fatalf("%d clips, want 16", len(clips))
	}
	for _, c := range clips {
		in, err := Probe(c.Data)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		if in.Codec != "pcm_mulaw" || in.SampleRate != 8000 || in.Channels != 1 || math.Abs(in.Seconds-c.Seconds) > 0.001 {
			t.Errorf("%s: %+v, manifest says %g s", c.Name, in, c.Seconds)
		}
		if in.Transcript != c.Text {
			t.Errorf("%s: embedded transcript %q, manifest %q", c.Name, in.Transcript, c.Text)
		}
	}
}

func TestWorkloads(t *testing.T) {
	for _, w := range Workloads {
		clips, err := w.Clips()
		if err != nil {
			t.Fatalf("%s: %v", w.Name, err)
		}
		f, _ := LookupFormat(w.Format)
		for _, c := range clips {
			in, err := Probe(c.Data)
			if err != nil {
				t.Fatalf("%s %s: %v", w.Name, c.Name, err)
			}
			if in.SampleRate != f.SampleRate || in.Channels != f.Channels || in.Transcript != c.Text {
				t.Errorf("%s %s: %+v, want %+v", w.Name, c.Name, in, f)
			}
			if math.Abs(in.Seconds-c.Seconds) > 0.01 || c.Seconds < w.MinSeconds || (w.MaxSeconds > 0 && c.Seconds > w.MaxSeconds+0.01) {
				t.Errorf("%s %s: %.2f s (clip says %.2f), want %g-%g", w.Name, c.Name, in.Seconds, c.Seconds, w.MinSeconds, w.MaxSeconds)
			}
		}
		t.Logf("%s: %d recordings", w.Name, len(clips))
	}
}

// TestMuLawRoundTrip: every mu-law code decodes to a value that encodes
// back to the same sample (0x7f and 0xff are both zero), and encoding is
// monotonic.
func TestMuLawRoundTrip(t *testing.T) {
	for u := 0; u < 256; u++ {
		v := muLawDecode(byte(u))
		if got := muLawDecode(muLawEncode(v)); got != v {
			t.Fatalf("code %#x: %d re-encodes to %d", u, v, got)
		}
	}
	prev := muLawDecode(muLawEncode(-32768))
	for v := -32768; v < 32768; v += 3 {
		d := muLawDecode(muLawEncode(int16(v)))
		if d < prev {
			t.Fatalf("%d decodes below the previous sample", v)
		}
		if diff := math.Abs(float64(d) - float64(v)); diff > 1100 {
			t.Fatalf("%d comes back as %d", v, d)
		}
		prev = d
	}
}

// TestProbeAgreesWithSox checks durations against sox's own reading of
// files sox writes in every container Probe reads, when sox is here.
func TestProbeAgreesWithSox(t *testing.T) {
	sox, err := exec.LookPath("sox")
	if err != nil {
		t.Skip("sox not installed: the embedded clips are checked above")
	}
	clips, _ := Speech()
	dir := t.TempDir()
	src := filepath.Join(dir, "src.wav")
	if err := writeFile(src, clips[12].Data); err != nil {
		t.Fatal(err)
	}
	for _, out := range []struct {
		name string
		args []string
	}{
		{"a.flac", []string{"--comment", "hello there", "-r", "16000"}},
		{"a.mp3", []string{"-C", "64", "-r", "16000"}},
		{"b.mp3", []string{"-C", "128", "-r", "44100", "-c", "2"}},
		{"a.wav", []string{"-r", "48000", "-c", "2", "-b", "16"}},
		{"f.wav", []string{"-r", "16000", "-e", "floating-point", "-b", "32"}},
	} {
		path := filepath.Join(dir, out.name)
		args := append([]string{src}, out.args...)
		if b, err := exec.Command(sox, append(args, path)...).CombinedOutput(); err != nil {
			t.Logf("sox cannot write %s here: %v %s", out.name, err, b)
			continue
		}
		want, err := exec.Command("soxi", "-D", path).Output()
		if err != nil {
			t.Fatal(err)
		}
		var sec float64
		if _, err := fmtSscan(string(want), &sec); err != nil {
			t.Fatal(err)
		}
		data, _ := readFile(path)
		in, err := Probe(data)
		if err != nil {
			t.Errorf("%s: %v", out.name, err)
			continue
		}
		// MP3 encoders pad the stream with a frame or two.
		tol := 0.001
		if in.Container == "mp3" {
			tol = 0.12
		}
		if math.Abs(in.Seconds-sec) > tol {
			t.Errorf("%s: Probe %.4f s, soxi %.4f s", out.name, in.Seconds, sec)
		}
		if out.name == "a.flac" && in.Transcript != "hello there" {
			t.Errorf("flac comment: %q", in.Transcript)
		}
		t.Logf("%s: %+v (soxi %.3f s)", out.name, in, sec)
	}
}
