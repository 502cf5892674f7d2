package main

import (
	"bytes"
	"io"
	"testing"

	"github.com/servebench/servebench/internal/doccmd"
)

// TestDocumentedCommands parses every obsgen command line of the docs in
// -h form.
func TestDocumentedCommands(t *testing.T) {
	cmds, err := doccmd.Find("../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cmds {
		if c.Program != "obsgen" {
			continue
		}
		var out, errb bytes.Buffer
		getenv := func(k string) string { return c.Env[k] }
		if code := run(c.HelpForm(newRoot(io.Discard, getenv)), &out, &errb, getenv); code != 0 || out.Len() == 0 {
			t.Errorf("%s: exit %d\n%s", c, code, errb.String())
		}
	}
}
