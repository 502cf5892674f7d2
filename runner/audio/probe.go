package audio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// Info is what Probe reads from an audio file's headers.
type Info struct {
	Container  string // wav, flac, mp3
	Codec      string // pcm_s16le, pcm_f32le, pcm_mulaw, pcm_alaw, flac, mp3
	SampleRate int
	Channels   int
	Samples    int64   // per channel
	Seconds    float64 // Samples / SampleRate
	// Transcript is the text the file carries in its metadata (a WAV
	// LIST/INFO ICMT chunk, a FLAC Vorbis comment COMMENT or TRANSCRIPT, an
	// ID3v2 COMM frame); "" when it carries none.
	Transcript string
}

// ErrUnsupported is returned for a file Probe cannot read; vLLM answers such
// an upload "Invalid or unsupported audio file."
var ErrUnsupported = errors.New("invalid or unsupported audio file")

// Probe reads the container headers of an audio file (WAV, FLAC or MP3) and
// returns its format and duration without decoding the audio.
func Probe(b []byte) (Info, error) {
	switch {
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WAVE":
		return probeWAV(b)
	case len(b) >= 4 && string(b[:4]) == "fLaC":
		return probeFLAC(b)
	case len(b) >= 3 && string(b[:3]) == "ID3", len(b) >= 2 && b[0] == 0xff && b[1]&0xe0 == 0xe0:
		return probeMP3(b)
	}
	return Info{}, fmt.Errorf("%w: not WAV, FLAC or MP3", ErrUnsupported)
}

func finish(in Info) (Info, error) {
	if in.SampleRate <= 0 || in.Channels <= 0 {
		return in, fmt.Errorf("%w: %s without a sample rate or channels", ErrUnsupported, in.Container)
	}
	if in.Samples <= 0 {
		return in, fmt.Errorf("%w: %s holds no audio", ErrUnsupported, in.Container)
	}
	in.Seconds = float64(in.Samples) / float64(in.SampleRate)
	return in, nil
}

// WAV format tags.
const (
	wavPCM        = 1
	wavFloat      = 3
	wavALaw       = 6
	wavMuLaw      = 7
	wavExtensible = 0xfffe
)

func probeWAV(b []byte) (Info, error) {
	in := Info{Container: "wav"}
	var blockAlign int
	var dataBytes int64 = -1
	for off := 12; off+8 <= len(b); {
		id, size := string(b[off:off+4]), int64(binary.LittleEndian.Uint32(b[off+4:]))
		body := b[off+8:]
		if size < int64(len(body)) {
			body = body[:size]
		}
		switch id {
		case "fmt ":
			if len(body) < 16 {
				return in, fmt.Errorf("%w: wav fmt chunk of %d bytes", ErrUnsupported, len(body))
			}
			tag := binary.LittleEndian.Uint16(body)
			in.Channels = int(binary.LittleEndian.Uint16(body[2:]))
			in.SampleRate = int(binary.LittleEndian.Uint32(body[4:]))
			blockAlign = int(binary.LittleEndian.Uint16(body[12:]))
			bits := int(binary.LittleEndian.Uint16(body[14:]))
			if tag == wavExtensible && len(body) >= 26 {
				tag = binary.LittleEndian.Uint16(body[24:])
			}
			switch tag {
			case wavPCM:
				in.Codec = fmt.Sprintf("pcm_s%dle", bits)
				if bits == 8 {
					in.Codec = "pcm_u8"
				}
			case wavFloat:
				in.Codec = fmt.Sprintf("pcm_f%dle", bits)
			case wavALaw:
				in.Codec = "pcm_alaw"
			case wavMuLaw:
				in.Codec = "pcm_mulaw"
			default:
				return in, fmt.Errorf("%w: wav format tag %#x", ErrUnsupported, tag)
			}
		case "data":
			dataBytes = size // a streamed file may claim more than it holds
			if avail := int64(len(b) - off - 8); dataBytes > avail {
				dataBytes = avail
			}
		case "LIST":
			if len(body) >= 4 && string(body[:4]) == "INFO" {
				in.Transcript = infoComment(body[4:])
			}
		}
		off += 8 + int(size) + int(size&1) // chunks are padded to even sizes
		if size > int64(len(b)) {
			break
		}
	}
	if blockAlign <= 0 || dataBytes < 0 {
		return in, fmt.Errorf("%w: wav without fmt or data chunk", ErrUnsupported)
	}
	in.Samples = dataBytes / int64(blockAlign)
	return finish(in)
}

// infoComment returns the ICMT sub-chunk of a LIST/INFO chunk.
func infoComment(b []byte) string {
	for off := 0; off+8 <= len(b); {
		id, size := string(b[off:off+4]), int(binary.LittleEndian.Uint32(b[off+4:]))
		if off+8+size > len(b) {
			return ""
		}
		if id == "ICMT" {
			return strings.TrimRight(string(b[off+8:off+8+size]), "\x00")
		}
		off += 8 + size + size&1
	}
	return ""
}

func probeFLAC(b []byte) (Info, error) {
	in := Info{Container: "flac", Codec: "flac"}
	for off := 4; off+4 <= len(b); {
		last, typ := b[off]&0x80 != 0, b[off]&0x7f
		size := int(b[off+1])<<16 | int(b[off+2])<<8 | int(b[off+3])
		body := b[off+4:]
		if size > len(body) {
			return in, fmt.Errorf("%w: truncated flac metadata", ErrUnsupported)
		}
		body = body[:size]
		switch typ {
		case 0: // STREAMINFO
			if size < 18 {
				return in, fmt.Errorf("%w: flac streaminfo of %d bytes", ErrUnsupported, size)
			}
			x := binary.BigEndian.Uint64(body[10:18])
			in.SampleRate = int(x >> 44)
			in.Channels = int(x>>41&0x7) + 1
			in.Samples = int64(x & (1<<36 - 1))
		case 4: // VORBIS_COMMENT, little-endian lengths
			in.Transcript = vorbisComment(body)
		}
		off += 4 + size
		if last {
			break
		}
	}
	return finish(in)
}

func vorbisComment(b []byte) string {
	if len(b) < 8 {
		return ""
	}
	vendor := int(binary.LittleEndian.Uint32(b))
	off := 4 + vendor
	if off+4 > len(b) {
		return ""
	}
	n := int(binary.LittleEndian.Uint32(b[off:]))
	off += 4
	var comment string
	for i := 0; i < n && off+4 <= len(b); i++ {
		l := int(binary.LittleEndian.Uint32(b[off:]))
		off += 4
		if off+l > len(b) {
			break
		}
		k, v, _ := strings.Cut(string(b[off:off+l]), "=")
		switch strings.ToUpper(k) {
		case "TRANSCRIPT":
			return v
		case "COMMENT", "DESCRIPTION":
			comment = v
		}
		off += l
	}
	return comment
}

// mp3 tables: bitrates (kbit/s) by [mpeg1?][layer-1][index], sample rates by
// [version][index].
var (
	mp3Bitrates = [2][3][16]int{
		{ // MPEG-2 and 2.5
			{0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256, 0},
			{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0},
			{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0},
		},
		{ // MPEG-1
			{0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448, 0},
			{0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 0},
			{0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0},
		},
	}
	mp3Rates = map[int][3]int{3: {44100, 48000, 32000}, 2: {22050, 24000, 16000}, 0: {11025, 12000, 8000}}
)

func probeMP3(b []byte) (Info, error) {
	in := Info{Container: "mp3", Codec: "mp3"}
	off := 0
	if len(b) >= 10 && string(b[:3]) == "ID3" {
		size := int(b[6]&0x7f)<<21 | int(b[7]&0x7f)<<14 | int(b[8]&0x7f)<<7 | int(b[9]&0x7f)
		if 10+size > len(b) {
			return in, fmt.Errorf("%w: truncated ID3 tag", ErrUnsupported)
		}
		in.Transcript = id3Comment(b[10:10+size], b[3])
		off = 10 + size
	}
	frames := 0
	for off+4 <= len(b) {
		h := binary.BigEndian.Uint32(b[off:])
		if h>>21 != 0x7ff {
			if frames > 0 {
				break // trailing tags (ID3v1, APE)
			}
			off++ // junk before the first frame
			continue
		}
		version, layer := int(h>>19&3), int(h>>17&3)
		bi, ri, pad := int(h>>12&0xf), int(h>>10&3), int(h>>9&1)
		rates, ok := mp3Rates[version]
		if version == 1 || !ok || layer == 0 || bi == 0 || bi == 15 || ri == 3 {
			if frames > 0 {
				break
			}
			off++
			continue
		}
		mpeg1 := 0
		if version == 3 {
			mpeg1 = 1
		}
		kbps, rate := mp3Bitrates[mpeg1][3-layer][bi], rates[ri]
		var length, samples int
		switch layer {
		case 3: // layer I
			length, samples = (12*kbps*1000/rate+pad)*4, 384
		case 2: // layer II
			length, samples = 144*kbps*1000/rate+pad, 1152
		default: // layer III
			samples = 1152
			if mpeg1 == 0 {
				samples = 576
			}
			length = samples/8*kbps*1000/rate + pad
		}
		if length < 4 {
			break
		}
		in.SampleRate = rate
		in.Channels = 2
		if h>>6&3 == 3 {
			in.Channels = 1
		}
		in.Samples += int64(samples)
		frames++
		off += length
	}
	if frames == 0 {
		return in, fmt.Errorf("%w: no mp3 frame", ErrUnsupported)
	}
	return finish(in)
}

// id3Comment returns the text of the first COMM frame of an ID3v2.3/2.4 tag.
func id3Comment(b []byte, major byte) string {
	for off := 0; off+10 <= len(b); {
		id := string(b[off : off+4])
		if id[0] == 0 {
			return ""
		}
		var size int
		if major >= 4 { // synchsafe sizes
			size = int(b[off+4]&0x7f)<<21 | int(b[off+5]&0x7f)<<14 | int(b[off+6]&0x7f)<<7 | int(b[off+7]&0x7f)
		} else {
			size = int(binary.BigEndian.Uint32(b[off+4:]))
		}
		body := b[off+10:]
		if size > len(body) {
			return ""
		}
		body = body[:size]
		if id == "COMM" && len(body) > 4 {
			// encoding, language (3), short description, NUL, text
			enc, rest := body[0], body[4:]
			if enc == 0 || enc == 3 { // ISO-8859-1 or UTF-8
				if i := bytes.IndexByte(rest, 0); i >= 0 {
					return strings.TrimRight(string(rest[i+1:]), "\x00")
				}
			}
		}
		off += 10 + size
	}
	return ""
}
