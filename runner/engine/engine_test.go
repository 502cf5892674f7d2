package engine

import (
	"errors"
	"strings"
	"testing"
)

func TestFormatCPUSet(t *testing.T) {
	for _, tc := range []struct {
		in   []int
		want string
	}{
		{nil, ""},
		{[]int{0}, "0"},
		{[]int{3, 1, 2, 0}, "0-3"},
		{[]int{0, 1, 2, 3, 8, 10, 11}, "0-3,8,10-11"},
		{[]int{5, 5, 6}, "5-6"},
		{[]int{0, 2, 4}, "0,2,4"},
	} {
		if got := FormatCPUSet(tc.in); got != tc.want {
			t.Errorf("FormatCPUSet(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

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
