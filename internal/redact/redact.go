// Package redact removes secrets (API keys, credential headers, tokens)
// from text a server or an engine sent back, before servebench stores or
// logs it: a server that echoes the Authorization header in an error body
// must not put the key into requests.jsonl, a log line or a summary.
//
// A Redactor replaces each secret as it was sent and in the forms a server
// is likely to echo it in: JSON-escaped (with "\/" too) and URL-escaped. It
// is immutable and safe for concurrent use; a nil *Redactor redacts nothing.
package redact

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
)

// Mask replaces every secret.
const Mask = "<redacted>"

// Redactor removes a fixed set of secrets from text. Its replacer is built
// on first use, so a Redactor made per request costs little until a
// server's error text has to be masked.
type Redactor struct {
	secrets []string
	once    sync.Once
	forms   []string // every form of every secret, longest first
	r       *strings.Replacer
}

// New returns a Redactor for the non-empty secrets, or nil when there is
// none (a nil Redactor is a no-op).
func New(secrets ...string) *Redactor {
	var keep []string
	for _, s := range secrets {
		if s = strings.TrimSpace(s); s != "" {
			keep = append(keep, s)
		}
	}
	if len(keep) == 0 {
		return nil
	}
	return &Redactor{secrets: keep}
}

func (r *Redactor) build() {
	seen := map[string]bool{}
	add := func(s string) {
		if s != "" && !seen[s] {
			seen[s] = true
			r.forms = append(r.forms, s)
		}
	}
	for _, s := range r.secrets {
		add(s)
		if b, err := json.Marshal(s); err == nil {
			j := string(b[1 : len(b)-1])
			add(j)
			add(strings.ReplaceAll(j, "/", `\/`))
		}
		add(url.QueryEscape(s))
		add(url.PathEscape(s))
	}
	// Longest first: a form that contains another is replaced whole.
	sort.SliceStable(r.forms, func(i, j int) bool { return len(r.forms[i]) > len(r.forms[j]) })
	pairs := make([]string, 0, 2*len(r.forms))
	for _, f := range r.forms {
		pairs = append(pairs, f, Mask)
	}
	r.r = strings.NewReplacer(pairs...)
}

// String returns s with every secret masked.
func (r *Redactor) String(s string) string {
	if r == nil || s == "" {
		return s
	}
	r.once.Do(r.build)
	return r.r.Replace(s)
}

// Bytes returns b with every secret masked; b itself is returned (not
// copied) when it holds none.
func (r *Redactor) Bytes(b []byte) []byte {
	if r == nil || len(b) == 0 {
		return b
	}
	r.once.Do(r.build)
	for _, f := range r.forms {
		if bytes.Contains(b, []byte(f)) {
			return []byte(r.r.Replace(string(b)))
		}
	}
	return b
}

// Lines lists every line of text with secrets masked (engine log tails).
func (r *Redactor) Lines(lines []string) []string {
	if r == nil {
		return lines
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = r.String(l)
	}
	return out
}

// credentialHeaders are request headers whose values are credentials
// whatever the user says.
var credentialHeaders = []string{"Authorization", "Proxy-Authorization", "X-Api-Key", "Api-Key", "Cookie", "X-Auth-Token"}

// HeaderSecrets returns the credential values in h: those of the
// well-known credential headers (Authorization, X-Api-Key, Cookie, ...)
// and of the headers named in secret. A bearer or basic token is returned
// both whole and without its scheme.
func HeaderSecrets(h http.Header, secret ...string) []string {
	var out []string
	names := credentialHeaders
	if len(secret) > 0 {
		names = append(append([]string(nil), credentialHeaders...), secret...)
	}
	for _, n := range names {
		for _, v := range h.Values(n) {
			out = append(out, v)
			if scheme, tok, ok := strings.Cut(v, " "); ok && (strings.EqualFold(scheme, "Bearer") || strings.EqualFold(scheme, "Basic")) {
				out = append(out, tok)
			}
		}
	}
	return out
}

// LineWriter masks secrets in a stream of text (an engine's log) line by
// line, so that a secret split across two writes is still found. Write
// passes complete lines on; Flush passes the partial last line. It is used
// by one goroutine at a time.
type LineWriter struct {
	w       io.Writer
	r       *Redactor
	partial []byte
}

// maxPartial bounds a line without a newline kept back; beyond it the line
// is passed on in pieces (a secret is far shorter).
const maxPartial = 64 << 10

// NewLineWriter masks r's secrets in what is written to w.
func NewLineWriter(w io.Writer, r *Redactor) *LineWriter { return &LineWriter{w: w, r: r} }

// Write implements io.Writer.
func (l *LineWriter) Write(p []byte) (int, error) {
	if l.r == nil {
		return l.w.Write(p)
	}
	l.partial = append(l.partial, p...)
	end := bytes.LastIndexByte(l.partial, '\n') + 1
	if end == 0 && len(l.partial) > maxPartial {
		end = len(l.partial) - 256 // keep a secret's length back
	}
	if end > 0 {
		if _, err := l.w.Write(l.r.Bytes(l.partial[:end])); err != nil {
			return 0, err
		}
		l.partial = append(l.partial[:0], l.partial[end:]...)
	}
	return len(p), nil
}

// Flush writes out the partial last line.
func (l *LineWriter) Flush() error {
	if len(l.partial) == 0 {
		return nil
	}
	_, err := l.w.Write(l.r.Bytes(l.partial))
	l.partial = l.partial[:0]
	return err
}
