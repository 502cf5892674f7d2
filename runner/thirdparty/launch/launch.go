// Package launch runs third-party load generators (GuideLLM, vllm bench
// serve) as a host process or a container and streams their output live:
// every line of stdout and stderr goes, prefixed with the tool's name, to a
// console writer and to the run log as it arrives. Tools are given a prompt
// end: a cancelled context interrupts a host process (SIGINT, then SIGKILL
// after a grace period) or stops the container, and containers are always
// removed.
//
// Secrets (API keys, HF_TOKEN) are passed through the environment only and
// never appear in String, in logs or in errors.
package launch

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// Output is where a tool's output goes. Nil writers discard.
type Output struct {
	Console io.Writer // e.g. the runner's stderr
	Log     io.Writer // the run log file
	Prefix  string    // e.g. "guidellm"; lines read "guidellm | ..."
}

// ExitError reports a tool that exited non-zero.
type ExitError struct {
	Tool      string
	ExitCode  int
	LastLines []string
}

func (e *ExitError) Error() string {
	s := fmt.Sprintf("%s exited with code %d", e.Tool, e.ExitCode)
	if len(e.LastLines) > 0 {
		s += "; last lines:\n  " + strings.Join(e.LastLines, "\n  ")
	}
	return s
}

// lineWriter splits what it is given into lines (on \n and on the \r that
// progress bars use), prefixes each, writes it to every sink and keeps the
// last few. Safe for concurrent use: stdout and stderr share one.
type lineWriter struct {
	mu      sync.Mutex
	prefix  string
	sinks   []io.Writer
	partial []byte
	tail    []string
	keep    int
}

func newLineWriter(o Output, keep int) *lineWriter {
	w := &lineWriter{prefix: o.Prefix, keep: keep}
	for _, s := range []io.Writer{o.Console, o.Log} {
		if s != nil {
			w.sinks = append(w.sinks, s)
		}
	}
	return w
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	data := append(w.partial, p...)
	for {
		k := bytes.IndexAny(data, "\r\n")
		if k < 0 {
			break
		}
		w.emit(string(data[:k]))
		data = data[k+1:]
	}
	if len(data) > 64<<10 { // a runaway line: emit it rather than grow
		w.emit(string(data))
		data = nil
	}
	w.partial = slices.Clone(data)
	return len(p), nil
}

func (w *lineWriter) emit(line string) {
	if strings.TrimSpace(line) == "" {
		return
	}
	out := line + "\n"
	if w.prefix != "" {
		out = w.prefix + " | " + out
	}
	for _, s := range w.sinks {
		_, _ = io.WriteString(s, out) // a full console must not kill the run
	}
	w.tail = append(w.tail, line)
	if len(w.tail) > w.keep {
		w.tail = w.tail[len(w.tail)-w.keep:]
	}
}

// Flush emits a final line without newline.
func (w *lineWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.partial) > 0 {
		w.emit(string(w.partial))
		w.partial = nil
	}
}

func (w *lineWriter) lines() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.tail)
}

var versionRE = regexp.MustCompile(`\b(\d+\.\d+(?:\.\d+)?[0-9A-Za-z.+-]*)`)

// ParseVersion finds the first version number in a tool's --version output
// ("guidellm, version 0.7.3", "0.11.0", "vllm 0.25.1+cpu").
func ParseVersion(out string) (string, error) {
	m := versionRE.FindStringSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("no version number in %q", strings.TrimSpace(out))
	}
	return m[1], nil
}

// AtLeast compares dotted numeric versions: AtLeast("0.7.3", "0.7") is true.
// Pre-release and build suffixes are ignored.
func AtLeast(version, min string) bool {
	num := func(s string) []int {
		s, _, _ = strings.Cut(s, "+")
		s, _, _ = strings.Cut(s, "-")
		var out []int
		for _, p := range strings.Split(s, ".") {
			n := 0
			for _, c := range p {
				if c < '0' || c > '9' {
					break
				}
				n = n*10 + int(c-'0')
			}
			out = append(out, n)
		}
		return out
	}
	a, b := num(version), num(min)
	for i := 0; i < max(len(a), len(b)); i++ {
		var x, y int
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			return x > y
		}
	}
	return true
}

// shellQuote renders argv for humans (dry runs, logs): words with shell
// metacharacters are single-quoted.
func shellQuote(argv []string) string {
	var b strings.Builder
	for i, a := range argv {
		if i > 0 {
			b.WriteByte(' ')
		}
		if a != "" && !strings.ContainsAny(a, " \t\n'\"\\$`!*?[]{}()<>|&;#~") {
			b.WriteString(a)
			continue
		}
		b.WriteString("'" + strings.ReplaceAll(a, "'", `'\''`) + "'")
	}
	return b.String()
}

func envList(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}

var errNoArgs = errors.New("launch: empty command")

// redact replaces every occurrence of a secret inside argv's words.
func redact(argv, secrets []string) []string {
	out := slices.Clone(argv)
	for i := range out {
		for _, s := range secrets {
			if s != "" {
				out[i] = strings.ReplaceAll(out[i], s, "<redacted>")
			}
		}
	}
	return out
}
