package redact

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
)

func TestRedactor(t *testing.T) {
	r := New("sk-abc/def+ghi", "", "  ")
	for _, in := range []string{
		"Authorization: Bearer sk-abc/def+ghi",
		`{"header":"Bearer sk-abc\/def+ghi"}`,
		"https://x/v1?key=sk-abc%2Fdef%2Bghi",
		"path /sk-abc%2Fdef+ghi/",
	} {
		out := r.String(in)
		if strings.Contains(out, "sk-abc") || !strings.Contains(out, Mask) {
			t.Errorf("%q -> %q", in, out)
		}
	}
	if got := r.String("nothing here"); got != "nothing here" {
		t.Errorf("clean text changed: %q", got)
	}
	b := []byte("nothing here")
	if got := r.Bytes(b); &got[0] != &b[0] {
		t.Error("Bytes copied clean text")
	}
	if got := string(r.Bytes([]byte("x sk-abc/def+ghi y"))); got != "x "+Mask+" y" {
		t.Errorf("Bytes: %q", got)
	}
	if got := r.Lines([]string{"a", "api_key='sk-abc/def+ghi'"}); !reflect.DeepEqual(got, []string{"a", "api_key='" + Mask + "'"}) {
		t.Errorf("Lines: %q", got)
	}
}

func TestNilRedactor(t *testing.T) {
	var r *Redactor
	if New() != nil || New("") != nil {
		t.Error("New without secrets is not nil")
	}
	if r.String("a") != "a" || string(r.Bytes([]byte("b"))) != "b" || r.Lines([]string{"c"})[0] != "c" {
		t.Error("nil redactor changed text")
	}
}

func TestHeaderSecrets(t *testing.T) {
	h := http.Header{}
	h.Set("Authorization", "Bearer tok123")
	h.Set("X-Team", "perf")
	h.Set("X-Tenant-Token", "tenant-secret")
	h.Set("Cookie", "session=abc")
	got := HeaderSecrets(h, "X-Tenant-Token")
	want := []string{"Bearer tok123", "tok123", "session=abc", "tenant-secret"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("secrets %q, want %q", got, want)
	}
}

func TestLineWriter(t *testing.T) {
	var out strings.Builder
	w := NewLineWriter(&out, New("hf_SECRETTOKEN"))
	for _, p := range []string{"INFO args: token=hf_SEC", "RETTOKEN ok\nnext ", "line hf_SECRETTOKEN"} {
		if n, err := w.Write([]byte(p)); err != nil || n != len(p) {
			t.Fatalf("write %d %v", n, err)
		}
	}
	if strings.Contains(out.String(), "next") {
		t.Errorf("a partial line was passed on before its end: %q", out.String())
	}
	w.Flush()
	want := "INFO args: token=" + Mask + " ok\nnext line " + Mask
	if out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
	var plain strings.Builder
	NewLineWriter(&plain, nil).Write([]byte("as is"))
	if plain.String() != "as is" {
		t.Errorf("nil redactor: %q", plain.String())
	}
}
