package engine

import (
	"errors"
	"strings"
	"testing"
)

func TestExitErrorMessage(t *testing.T) {
	cause := errors.New("container gone")
	e := &ExitError{Name: "cell-1", ExitCode: 137, OOMKilled: true, LastLines: []string{"loading", "Killed"}, Err: cause}
	want := "engine cell-1 died with exit code 137 (OOM killed): container gone; last log lines:\n  loading\n  Killed"
	if e.Error() != want {
		t.Errorf("got %q\nwant %q", e.Error(), want)
	}
	if !errors.Is(e, cause) {
		t.Error("ExitError does not unwrap to its cause")
	}
	unknown := &ExitError{Name: "x", ExitCode: -1}
	if strings.Contains(unknown.Error(), "exit code") {
		t.Errorf("unknown exit code printed: %q", unknown.Error())
	}
}
