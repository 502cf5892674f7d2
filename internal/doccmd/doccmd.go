// Package doccmd finds the servebench command lines written in the
// repository's documentation (README.md, DEVELOPERS.md, docs/**.md), so
// that each binary's tests can run every one of them: a documented command
// that no longer parses fails a test, not a reader.
//
// A command line is a line of a fenced shell block, or an inline code span,
// that invokes a servebench binary: runner, exporter, vllm-sim or obsgen,
// as a bare name, bin/NAME, go run ./cmd/NAME, or a servebench image's
// entrypoint in docker run. Continuations are joined, comments dropped, and
// a line holding several commands (&&, ;, |) gives one command each;
// export VAR=value in a fenced block sets VAR for the block's commands.
// Synopsis notation is undone: [--flag V] keeps its flag, "..." and
// alternatives ("a|b" keeps a) are dropped.
package doccmd

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/spf13/cobra"
)

// Programs are the binaries whose command lines are found.
var Programs = []string{"runner", "exporter", "vllm-sim", "obsgen"}

// Command is one documented command line.
type Command struct {
	File    string            // relative to the repository root
	Line    int               // 1-based
	Program string            // one of Programs
	Env     map[string]string // VAR=value assignments before it
	Args    []string          // after the program
	Text    string            // as written
}

func (c Command) String() string { return fmt.Sprintf("%s:%d: %s", c.File, c.Line, c.Text) }

// Find returns every command line of the documentation under root.
func Find(root string) ([]Command, error) {
	files := []string{"README.md", "DEVELOPERS.md"}
	err := filepath.WalkDir(filepath.Join(root, "docs"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".md") {
			rel, _ := filepath.Rel(root, p)
			files = append(files, rel)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(files[2:])
	var out []Command
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			return nil, err
		}
		out = append(out, findIn(f, string(b))...)
	}
	return out, nil
}

var (
	fence  = regexp.MustCompile("^\\s*(```|~~~)\\s*([a-z]*)")
	inline = regexp.MustCompile("`([^`]+)`")
)

// shellBlocks are the fence languages read as shell.
var shellBlocks = map[string]bool{"": true, "sh": true, "bash": true, "shell": true, "console": true}

func findIn(file, text string) []Command {
	var out []Command
	lines := strings.Split(text, "\n")
	inBlock, shell := false, false
	var blockEnv map[string]string // export VAR=value earlier in the block
	var pending, prose string
	pendingLine, proseLine := 0, 0
	// Inline spans may run over a line break within a paragraph.
	flushProse := func() {
		for _, m := range inline.FindAllStringSubmatchIndex(prose, -1) {
			span := strings.ReplaceAll(prose[m[2]:m[3]], "\n", " ")
			n := proseLine + strings.Count(prose[:m[0]], "\n")
			for _, c := range parseLine(file, n, span) {
				if len(c.Args) > 0 { // a bare name is a mention, not a command
					out = append(out, c)
				}
			}
		}
		prose = ""
	}
	for i, line := range lines {
		n := i + 1
		if m := fence.FindStringSubmatch(line); m != nil {
			flushProse()
			inBlock = !inBlock
			shell = inBlock && shellBlocks[m[2]]
			blockEnv = map[string]string{}
			continue
		}
		if !inBlock {
			if strings.TrimSpace(line) == "" {
				flushProse()
				continue
			}
			if prose == "" {
				proseLine = n
			}
			prose += line + "\n"
			continue
		}
		if !shell {
			continue
		}
		if pending == "" {
			pendingLine = n
		}
		if s, ok := strings.CutSuffix(strings.TrimRight(line, " "), "\\"); ok {
			pending += s + " "
			continue
		}
		full := strings.TrimSpace(pending + line)
		pending = ""
		if rest, ok := strings.CutPrefix(full, "export "); ok {
			for _, words := range split(rest) {
				for _, w := range words {
					if m := envAssign.FindStringSubmatch(w); m != nil {
						blockEnv[m[1]] = m[2]
					}
				}
			}
			continue
		}
		for _, c := range parseLine(file, pendingLine, full) {
			for k, v := range blockEnv {
				if _, ok := c.Env[k]; !ok {
					c.Env[k] = v
				}
			}
			out = append(out, c)
		}
	}
	flushProse()
	return out
}

var (
	envAssign = regexp.MustCompile(`^([A-Z_][A-Z0-9_]*)=(.*)$`)
	image     = regexp.MustCompile(`^(docker\.io/)?servebench/(servebench|vllm-sim):[A-Za-z0-9._-]+$`)
)

// parseLine returns the servebench commands of one shell line.
func parseLine(file string, n int, line string) []Command {
	line = strings.TrimPrefix(strings.TrimSpace(line), "$ ")
	if strings.Contains(line, "->") {
		return nil // a dependency arrow, not a command
	}
	var out []Command
	for _, words := range split(line) {
		c := Command{File: file, Line: n, Text: strings.TrimSpace(line), Env: map[string]string{}}
		for len(words) > 0 {
			m := envAssign.FindStringSubmatch(words[0])
			if m == nil {
				break
			}
			c.Env[m[1]] = m[2]
			words = words[1:]
		}
		if len(words) == 0 {
			continue
		}
		prog, rest := program(words)
		if prog == "" {
			continue
		}
		c.Program, c.Args = prog, unSynopsis(rest)
		out = append(out, c)
	}
	return out
}

// program recognises the invocation at the start of words.
func program(words []string) (string, []string) {
	name := func(w string) string {
		base := strings.TrimPrefix(strings.TrimPrefix(w, "./"), "bin/")
		base = strings.TrimPrefix(base, "/usr/local/bin/")
		for _, p := range Programs {
			if base == p {
				return p
			}
		}
		return ""
	}
	switch {
	case len(words) >= 3 && words[0] == "go" && words[1] == "run" && strings.HasPrefix(words[2], "./cmd/"):
		if p := name(strings.TrimPrefix(words[2], "./cmd/")); p != "" {
			return p, words[3:]
		}
	case words[0] == "docker" && len(words) > 1 && words[1] == "run":
		for i, w := range words {
			if w == "--entrypoint" || strings.HasPrefix(w, "--entrypoint=") {
				return "", nil // another program of the image
			}
			if m := image.FindStringSubmatch(w); m != nil {
				if m[2] == "servebench" {
					return "runner", words[i+1:]
				}
				return "vllm-sim", words[i+1:]
			}
		}
	default:
		if p := name(words[0]); p != "" {
			return p, words[1:]
		}
	}
	return "", nil
}

// split cuts a shell line into commands of words: quotes are honoured,
// and &&, ||, ;, | and a comment end a command; redirections are dropped.
func split(line string) [][]string {
	var cmds [][]string
	var words []string
	var w strings.Builder
	inWord, quote := false, rune(0)
	flush := func() {
		if inWord {
			words = append(words, w.String())
			w.Reset()
			inWord = false
		}
	}
	end := func() {
		flush()
		if len(words) > 0 {
			cmds = append(cmds, words)
		}
		words = nil
	}
	rs := []rune(line)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				w.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			flush()
		case r == '#' && !inWord:
			end()
			return cmds
		case r == '&' || r == '|' || r == ';':
			end()
			for i+1 < len(rs) && (rs[i+1] == '&' || rs[i+1] == '|') {
				i++
			}
		case r == '<' && !inWord && strings.ContainsRune(string(rs[i:]), '>') && !strings.ContainsAny(string(rs[i+1:i+strings.IndexRune(string(rs[i:]), '>')]), " \t"):
			// a <placeholder>: one word
			j := i + strings.IndexRune(string(rs[i:]), '>')
			w.WriteString(string(rs[i : j+1]))
			inWord, i = true, j
		case r == '>' || r == '<' && !inWord:
			// a redirection: drop it and its target
			flush()
			if len(words) > 0 && (words[len(words)-1] == "2" || words[len(words)-1] == "1") {
				words = words[:len(words)-1]
			}
			for i+1 < len(rs) && (rs[i+1] == '>' || rs[i+1] == '&' || rs[i+1] == ' ') {
				i++
			}
			for i+1 < len(rs) && rs[i+1] != ' ' {
				i++
			}
		default:
			w.WriteRune(r)
			inWord = true
		}
	}
	end()
	return cmds
}

// unSynopsis undoes synopsis notation: brackets are dropped around what
// they hold, "..." is dropped, and "a|b" keeps a.
func unSynopsis(words []string) []string {
	var out []string
	for _, w := range words {
		w = strings.Trim(w, "[]()")
		w = strings.TrimSuffix(w, "...")
		w = strings.TrimSuffix(w, "…")
		if i := strings.Index(w, "|"); i > 0 && !strings.Contains(w, "=") {
			w = w[:i]
		}
		if w != "" {
			out = append(out, w)
		}
	}
	return out
}

// placeholder is a documented value standing for the reader's own: RUN_ID,
// N, <suite>, $URL.
var placeholder = regexp.MustCompile(`^([A-Z][A-Z0-9_]*|<[^>]+>|\$\{?[A-Za-z_]+\}?)$`)

// IsPlaceholder reports whether a documented word stands for the reader's
// own value.
func IsPlaceholder(word string) bool { return placeholder.MatchString(word) }

// HasPlaceholder reports whether any argument is a placeholder.
func (c Command) HasPlaceholder() bool {
	for _, a := range c.Args {
		if IsPlaceholder(a) {
			return true
		}
	}
	return false
}

// Typed returns the arguments with a placeholder standing for a typed
// flag's value (--repeat N) replaced by the flag's default, so that they
// parse; root is the program's command tree.
func (c Command) Typed(root *cobra.Command) []string {
	out := append([]string(nil), c.Args...)
	sub, _, err := root.Find(out)
	if err != nil {
		return out
	}
	for i := 0; i+1 < len(out); i++ {
		name, ok := strings.CutPrefix(out[i], "--")
		if !ok || !IsPlaceholder(out[i+1]) {
			continue
		}
		f := sub.Flags().Lookup(name)
		if f == nil {
			f = sub.InheritedFlags().Lookup(name)
		}
		if f != nil && f.Value.Type() != "string" && f.Value.Type() != "stringArray" {
			out[i+1] = f.DefValue
		}
	}
	// A flag named without its value (`runner bench --push.url` in prose)
	// is a mention of the flag: give it a value of its type.
	if n := len(out); n > 0 {
		if name, ok := strings.CutPrefix(out[n-1], "--"); ok && !strings.Contains(name, "=") {
			f := sub.Flags().Lookup(name)
			if f == nil {
				f = sub.InheritedFlags().Lookup(name)
			}
			if f != nil && f.NoOptDefVal == "" {
				v := f.DefValue
				if v == "" || v == "[]" {
					v = "x"
				}
				out = append(out, v)
			}
		}
	}
	return out
}

// HelpForm is Typed with -h appended: the program parses every flag and
// value and prints its help instead of running.
func (c Command) HelpForm(root *cobra.Command) []string { return append(c.Typed(root), "-h") }
