package audio

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
)

// Format is how a clip is encoded for upload: a WAV file of 16-bit PCM (or
// 8-bit mu-law, the clips' own encoding) at a sample rate and channel
// count. The format-comparison scenario sends the same speech in several.
type Format struct {
	Name       string
	SampleRate int
	Channels   int
	MuLaw      bool
}

// Formats are the encodings a dataset can be sent in; "pcm16k" (16 kHz mono
// 16-bit PCM, Whisper's own input rate) is the default.
var Formats = []Format{
	{Name: "pcm16k", SampleRate: 16000, Channels: 1},
	{Name: "mulaw8k", SampleRate: 8000, Channels: 1, MuLaw: true},
	{Name: "pcm8k", SampleRate: 8000, Channels: 1},
	{Name: "pcm48k", SampleRate: 48000, Channels: 1},
	{Name: "stereo16k", SampleRate: 16000, Channels: 2},
}

// LookupFormat returns a format by name.
func LookupFormat(name string) (Format, error) {
	for _, f := range Formats {
		if f.Name == name {
			return f, nil
		}
	}
	names := make([]string, len(Formats))
	for i, f := range Formats {
		names[i] = f.Name
	}
	return Format{}, fmt.Errorf("audio format %q: want one of %s", name, strings.Join(names, ", "))
}

// pcm decodes a clip's samples (mono or interleaved) as floats in [-1, 1];
// the clip must be a mu-law or 16-bit PCM WAV file.
func pcm(c Clip) (samples []float64, rate, channels int, err error) {
	in, err := Probe(c.Data)
	if err != nil {
		return nil, 0, 0, err
	}
	data, err := wavData(c.Data)
	if err != nil {
		return nil, 0, 0, err
	}
	switch in.Codec {
	case "pcm_mulaw":
		samples = make([]float64, len(data))
		for i, b := range data {
			samples[i] = float64(muLawDecode(b)) / 32768
		}
	case "pcm_s16le":
		samples = make([]float64, len(data)/2)
		for i := range samples {
			samples[i] = float64(int16(binary.LittleEndian.Uint16(data[2*i:]))) / 32768
		}
	default:
		return nil, 0, 0, fmt.Errorf("%s: cannot re-encode %s audio", c.Name, in.Codec)
	}
	return samples, in.SampleRate, in.Channels, nil
}

func wavData(b []byte) ([]byte, error) {
	for off := 12; off+8 <= len(b); {
		id, size := string(b[off:off+4]), int(binary.LittleEndian.Uint32(b[off+4:]))
		if id == "data" {
			end := min(off+8+size, len(b))
			return b[off+8 : end], nil
		}
		off += 8 + size + size&1
	}
	return nil, fmt.Errorf("%w: no data chunk", ErrUnsupported)
}

// muLawDecode is G.711 mu-law to 16-bit linear.
func muLawDecode(u byte) int16 {
	u = ^u
	t := (int(u&0x0f) << 3) + 0x84
	t <<= (u & 0x70) >> 4
	if u&0x80 != 0 {
		return int16(0x84 - t)
	}
	return int16(t - 0x84)
}

// muLawEncode is 16-bit linear to G.711 mu-law.
func muLawEncode(s int16) byte {
	const bias, clip = 0x84, 32635
	x := int(s)
	sign := byte(0)
	if x < 0 {
		x, sign = -x, 0x80
	}
	x = min(x, clip) + bias
	exp := byte(7)
	for mask := 0x4000; x&mask == 0 && exp > 0; mask >>= 1 {
		exp--
	}
	mant := byte(x>>(exp+3)) & 0x0f
	return ^(sign | exp<<4 | mant)
}

// As re-encodes a clip (a mu-law or PCM WAV, mono) in format f: resampled
// linearly, copied to every channel, its transcript kept.
func (c Clip) As(f Format) (Clip, error) {
	samples, rate, channels, err := pcm(c)
	if err != nil {
		return Clip{}, err
	}
	if channels != 1 {
		return Clip{}, fmt.Errorf("%s: only mono clips are re-encoded", c.Name)
	}
	out := resample(samples, rate, f.SampleRate)
	name := strings.TrimSuffix(c.Name, ".wav") + "-" + f.Name + ".wav"
	return Clip{Name: name, Text: c.Text, Seconds: float64(len(out)) / float64(f.SampleRate), Data: EncodeWAV(out, f, c.Text)}, nil
}

// resample converts a mono signal between rates by linear interpolation.
func resample(s []float64, from, to int) []float64 {
	if from == to {
		return s
	}
	n := int(math.Round(float64(len(s)) * float64(to) / float64(from)))
	out := make([]float64, n)
	for i := range out {
		x := float64(i) * float64(from) / float64(to)
		j := int(x)
		if j+1 >= len(s) {
			out[i] = s[len(s)-1]
			continue
		}
		fr := x - float64(j)
		out[i] = s[j]*(1-fr) + s[j+1]*fr
	}
	return out
}

// EncodeWAV writes mono samples in [-1, 1] as a WAV file of format f (every
// channel the same), with transcript as its LIST/INFO ICMT comment when not
// empty.
func EncodeWAV(mono []float64, f Format, transcript string) []byte {
	width := 2
	tag := uint16(wavPCM)
	if f.MuLaw {
		width, tag = 1, wavMuLaw
	}
	ch := max(f.Channels, 1)
	data := make([]byte, 0, len(mono)*width*ch)
	for _, x := range mono {
		v := int16(max(-32768, min(32767, math.Round(x*32768))))
		for range ch {
			if f.MuLaw {
				data = append(data, muLawEncode(v))
			} else {
				data = binary.LittleEndian.AppendUint16(data, uint16(v))
			}
		}
	}
	b := []byte("RIFF\x00\x00\x00\x00WAVEfmt ")
	b = binary.LittleEndian.AppendUint32(b, 16)
	b = binary.LittleEndian.AppendUint16(b, tag)
	b = binary.LittleEndian.AppendUint16(b, uint16(ch))
	b = binary.LittleEndian.AppendUint32(b, uint32(f.SampleRate))
	b = binary.LittleEndian.AppendUint32(b, uint32(f.SampleRate*width*ch))
	b = binary.LittleEndian.AppendUint16(b, uint16(width*ch))
	b = binary.LittleEndian.AppendUint16(b, uint16(8*width))
	b = append(b, "data"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
	b = append(b, data...)
	if len(data)%2 == 1 {
		b = append(b, 0)
	}
	if transcript != "" {
		icmt := append([]byte(transcript), 0)
		if len(icmt)%2 == 1 {
			icmt = append(icmt, 0)
		}
		b = append(b, "LIST"...)
		b = binary.LittleEndian.AppendUint32(b, uint32(4+8+len(icmt)))
		b = append(b, "INFOICMT"...)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(icmt)))
		b = append(b, icmt...)
	}
	binary.LittleEndian.PutUint32(b[4:], uint32(len(b)-8))
	return b
}

// Concat joins clips (mono mu-law or PCM WAV) into one recording in format
// f, with gap seconds of silence between them; its transcript is theirs,
// in order.
func Concat(name string, clips []Clip, f Format, gap float64) (Clip, error) {
	var all []float64
	var text []string
	silence := make([]float64, int(gap*float64(f.SampleRate)))
	for i, c := range clips {
		s, rate, channels, err := pcm(c)
		if err != nil {
			return Clip{}, err
		}
		if channels != 1 {
			return Clip{}, fmt.Errorf("%s: only mono clips are joined", c.Name)
		}
		if i > 0 {
			all = append(all, silence...)
		}
		all = append(all, resample(s, rate, f.SampleRate)...)
		text = append(text, c.Text)
	}
	t := strings.Join(text, " ")
	return Clip{Name: name, Text: t, Seconds: float64(len(all)) / float64(f.SampleRate), Data: EncodeWAV(all, f, t)}, nil
}
