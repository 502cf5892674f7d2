package runlog

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestTerminalAndFile(t *testing.T) {
	var term bytes.Buffer
	info := slog.LevelInfo
	l := New(&term, Logfmt, slog.LevelWarn, &info)
	log := l.Logger().With("run", "r1")
	log.Debug("not kept")
	log.Info("engine starting", "cell", "c1")
	log.WithGroup("g").Warn("slow", "n", 1)
	if got := term.String(); strings.Contains(got, "engine starting") || !strings.Contains(got, `level=WARN msg=slow run=r1 g.n=1`) {
		t.Errorf("terminal:\n%s", got)
	}
	path := filepath.Join(t.TempDir(), "run", "runner.log")
	if err := l.Attach(path); err != nil {
		t.Fatal(err)
	}
	log.Info("after", "k", "v")
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() { defer wg.Done(); log.Info("concurrent", "i", i) }()
	}
	wg.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	log.Info("after close") // terminal only, and below its level
	b, _ := os.ReadFile(path)
	got := string(b)
	for _, want := range []string{`msg="engine starting" run=r1 cell=c1`, `msg=slow run=r1 g.n=1`, `msg=after run=r1 k=v`} {
		if !strings.Contains(got, want) {
			t.Errorf("file lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "not kept") || strings.Contains(got, "after close") || strings.Count(got, "concurrent") != 20 {
		t.Errorf("file:\n%s", got)
	}
	if strings.Index(got, "engine starting") > strings.Index(got, "msg=after") {
		t.Error("held records must come first")
	}
}

func TestNoFile(t *testing.T) {
	var term bytes.Buffer
	l := New(&term, JSON, slog.LevelInfo, nil)
	l.Logger().Info("hello")
	if err := l.Attach(filepath.Join(t.TempDir(), "x.log")); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(term.String(), `"msg":"hello"`) {
		t.Errorf("terminal %q", term.String())
	}
	if _, err := ParseLevel("loud"); err == nil {
		t.Error("bad level accepted")
	}
	if _, err := ParseFormat("xml"); err == nil {
		t.Error("bad format accepted")
	}
}
