package proxy

import (
	"bytes"
	"mime/multipart"
	"testing"
)

// A transcription upload is a multipart form: the proxy reads its model
// (the label) and stream fields, whatever their order around the file.
func TestFormHead(t *testing.T) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	fw, _ := mw.CreateFormFile("file", "a.wav")
	fw.Write([]byte("RIFF....WAVE"))
	mw.WriteField("stream", "True")
	mw.WriteField("model", "openai/whisper-tiny")
	mw.Close()
	if m, s := formHead(b.Bytes(), mw.FormDataContentType()); m != "openai/whisper-tiny" || !s {
		t.Errorf("got %q %v", m, s)
	}
	if m, s := formHead(b.Bytes(), "application/json"); m != "" || s {
		t.Errorf("not a form: %q %v", m, s)
	}
}
