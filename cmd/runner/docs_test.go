package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/servebench/servebench/internal/doccmd"
)

// TestDocumentedCommands runs every runner command line of README.md,
// DEVELOPERS.md and docs/: a suite listing or description for real, a
// start in --dry-run form (planned and placed on a fixture machine of 2 x
// 24 cores), anything else in -h form, which still parses every flag and its
// value. A placeholder standing for a typed flag's value gets the flag's
// default.
func TestDocumentedCommands(t *testing.T) {
	cmds, err := doccmd.Find("../..")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range cmds {
		if c.Program != "runner" {
			continue
		}
		n++
		args := c.Args
		switch {
		case len(args) > 0 && (args[0] == "suites" || args[0] == "show" && len(args) == 2) && !c.HasPlaceholder():
		case len(args) > 0 && args[0] == "start" && slices.Contains(args, "--suite") && !c.HasPlaceholder():
			if !slices.Contains(args, "--dry-run") {
				args = append(args, "--dry-run")
			}
		default:
			args = c.HelpForm(newRoot(&env{}))
		}
		code, out, errOut := runCLIOn(t, c.Env, "../../runner/topology/testdata/two-socket-24", args...)
		if code != exitOK {
			t.Errorf("%s\n  ran as runner %s: exit %d\n%s", c, strings.Join(args, " "), code, errOut)
		} else if out == "" {
			t.Errorf("%s: no output", c)
		}
	}
	if n < 50 {
		t.Errorf("found only %d documented runner commands", n)
	}
}
